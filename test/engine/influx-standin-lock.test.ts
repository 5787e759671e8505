/**
 * The InfluxDB STAND-IN's data lock (engine/standins/influxdb/influx; not InfluxDB): like a real server's
 * lock, it must not outlive its holder. backup.sh removes its one-off `influx backup` container with
 * `docker rm -f` when interrupted (SIGKILL: no trap runs), so a lock that only its holder removed blocked
 * every later backup, restore and write of that InfluxDB (the cascade seen in interruptions.test.ts).
 * Both builds of the stand-in: :stack (Debian) and :test (busybox, the compose fixtures' InfluxDB).
 */
import { docker, IMAGES, influxSetupArgs, influxSetupEnv, Resources, uniqueName, waitFor, waitForInflux } from "./helpers";

const TOKEN = "itest-standin-lock-operator-token-0123456789";
const LOCK = "/var/lib/influxdb2/.standin-lock";

describe.each([IMAGES.influxStandin, "homeiq-standin/influxdb:test"])("the stand-in's data lock (%s)", (image) => {
  const res = new Resources();
  let influx = "";

  beforeAll(() => {
    influx = res.container(uniqueName("lock-influx"));
    docker(["run", "-d", "--name", influx, "--network", "none", ...influxSetupArgs(), image], { env: influxSetupEnv(TOKEN), timeoutMs: 60_000 });
    waitForInflux(influx);
  }, 90_000);
  afterAll(() => res.cleanup());

  /** A one-off container of the image on the server's volumes that takes the lock and holds it until killed. */
  function holdLock(): string {
    const holder = res.container(uniqueName("lock-holder"));
    docker(["run", "-d", "--name", holder, "--network", "none", "--volumes-from", influx, "--user", "0:0", "--entrypoint", "influx", image, "standin-hold-lock"]);
    waitFor(`${holder} holding the lock`, () => docker(["logs", holder]).stdout.includes("holding the data lock"), { timeoutMs: 30_000 });
    return holder;
  }
  const lockExists = (): boolean => docker(["exec", influx, "test", "-d", LOCK], { allowFail: true }).code === 0;
  const backup = (seconds: number) =>
    docker(["exec", "-e", "INFLUX_TOKEN", influx, "timeout", String(seconds), "influx", "backup", `/tmp/${uniqueName("b")}`], { env: { INFLUX_TOKEN: TOKEN }, allowFail: true, timeoutMs: 60_000 });

  it("a live holder keeps it: a backup still waits after more than the 5 s a dead holder's lock lasts", () => {
    const holder = holdLock();
    try {
      const waited = backup(8);
      // timeout(1) ended the waiting backup (124 coreutils, 143 busybox): it never got the lock, and the holder's lock is still there.
      expect([124, 143]).toContain(waited.code);
      expect(waited.stdout).not.toContain("backing up");
      expect(lockExists()).toBe(true);
    } finally {
      docker(["rm", "-f", "-v", holder]);
    }
  }, 60_000);

  it("a holder killed outright (docker rm -f, as backup.sh's cleanup does) leaves it, and the next backup removes it and runs", () => {
    const holder = holdLock();
    docker(["rm", "-f", "-v", holder]);
    // Nothing of the holder ran at its death: the lock is left.
    expect(lockExists()).toBe(true);
    const started = Date.now();
    const next = backup(25);
    expect({ code: next.code, stderr: next.stderr }).toEqual({ code: 0, stderr: expect.stringContaining("removed the data lock of a holder that died") });
    expect(next.stdout).toContain("backup complete");
    // Well within the 30 s a taker waits before it gives up.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(lockExists()).toBe(false);
  }, 60_000);
});
