/**
 * Disaster recovery, following docs/keeping-your-data.md, on a real engine: a stack with data is backed up
 * and copied to an sftp restic repository (Debian's openssh-server in a container); then the host is lost:
 * containers, volumes and every local backup are removed. From nothing but the repository, its passphrase and
 * the stack's config (its names and InfluxDB token), fetch-copy.sh brings the newest backup back into an empty
 * backup root, and restore.sh puts it into fresh volumes and a freshly set-up InfluxDB (the new host's empty
 * engine): SQLite tables and InfluxDB data are byte-identical to what was backed up. The program's own
 * `restoreFrom` step runs this same restore.sh (stack.dev.test.ts). InfluxDB is the STAND-IN.
 */
import * as fs from "fs";
import * as path from "path";
import {
  backupDirOf, backupEnv, createStack, docker, influxChecksum, IMAGES, REPO_ROOT, Resources, restoreEnv, run, runScript, SERVICE_UID, sqliteDigestOnVolume, startInflux, startService,
  uniqueName,
} from "./helpers";
import { runRepoScript } from "./notify-helpers";

const TOKEN = "i17-influx-token-dr-4f2e";
const PASSPHRASE = "i17-dr-passphrase-b7e1c0";

describe("disaster recovery onto an empty engine from the off-host copy", () => {
  const res = new Resources();
  afterAll(() => res.cleanup());

  it("brings back byte-identical SQLite tables and InfluxDB data from nothing but the repository, its passphrase and the config", async () => {
    run("bash", [path.join(REPO_ROOT, "engine", "build-sftp-standin.sh")], { timeoutMs: 600_000 });
    const keyDir = res.tmpDir("i17-dr-key");
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(keyDir, "key")]);
    const sftp = res.container(uniqueName("i17-dr-sftp"));
    docker(["run", "-d", "--name", sftp, "-e", "AUTHORIZED_KEY", "homeiq-standin/sftp:stack"], { env: { AUTHORIZED_KEY: fs.readFileSync(path.join(keyDir, "key.pub"), "utf8").trim() } });
    const ip = docker(["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", sftp]).stdout.trim();
    const copy = {
      HOMEIQ_COPY_REPO: `sftp:copies@${ip}:/home/copies/dr`,
      HOMEIQ_COPY_SFTP_COMMAND: `ssh -i ${path.join(keyDir, "key")} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR copies@${ip} -s sftp`,
      HOMEIQ_COPY_PASSWORD: PASSPHRASE,
    };

    // The old host: data, a scheduled backup with its copy.
    const s = await createStack(res, "i17-dr", TOKEN);
    const oldRoot = res.tmpDir("i17-dr-old-root");
    const b = runRepoScript("backup/scheduled.sh", { ...backupEnv(s, oldRoot, { HOMEIQ_BACKUP_REASON: "scheduled" }), ...copy });
    expect({ code: b.code, stderr: b.stderr }).toEqual({ code: 0, stderr: "" });
    const backedUp = path.basename(/^HOMEIQ_BACKUP_DIR=(.*)$/m.exec(b.stdout)![1]!);
    const before = {
      dataApi: sqliteDigestOnVolume(s.dataApi.volume, s.dataApi.db),
      sportsData: sqliteDigestOnVolume(s.sportsData.volume, s.sportsData.db),
      influx: influxChecksum(s),
    };
    expect(before.dataApi.tables["events"]?.rows).toBe(3000);

    // The disaster: the host and its disk are gone.
    docker(["rm", "-f", "-v", s.influx.container, s.dataApi.container, s.sportsData.container]);
    docker(["volume", "rm", s.influx.volume, s.dataApi.volume, s.sportsData.volume]);
    fs.rmSync(oldRoot, { recursive: true, force: true });

    // The new host: an empty backup root; the newest backup fetched from the repository, verified.
    const newRoot = res.tmpDir("i17-dr-new-root");
    const f = runRepoScript("backup/fetch-copy.sh", { HOMEIQ_STACK: s.stack, HOMEIQ_BACKUP_ROOT: newRoot, ...copy });
    expect({ code: f.code, stderr: f.stderr }).toEqual({ code: 0, stderr: "" });
    const dir = backupDirOf(f);
    expect(path.basename(dir)).toBe(backedUp);

    // The stack as a first deploy creates it (fresh volumes, InfluxDB set up with the config's token), the
    // SQLite services not started before the restore, as `restoreFrom` orders it.
    for (const v of [s.influx.volume, s.dataApi.volume, s.sportsData.volume]) docker(["volume", "create", v]);
    runScript("chown-volume.sh", { HOMEIQ_CHOWN_VOLUMES: `${s.dataApi.volume}=${SERVICE_UID} ${s.sportsData.volume}=${SERVICE_UID}`, HOMEIQ_HELPER_IMAGE: IMAGES.busybox });
    startInflux(s);
    expect(influxChecksum(s)).not.toBe(before.influx);
    const r = runScript("restore.sh", restoreEnv(s, dir));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    startService(s.dataApi.container, s.dataApi.volume);
    startService(s.sportsData.container, s.sportsData.volume);

    expect(sqliteDigestOnVolume(s.dataApi.volume, s.dataApi.db)).toEqual(before.dataApi);
    expect(sqliteDigestOnVolume(s.sportsData.volume, s.sportsData.db)).toEqual(before.sportsData);
    expect(influxChecksum(s)).toBe(before.influx);
    for (const o of [b, f, r]) expect(o.stdout + o.stderr).not.toContain(PASSPHRASE);
  }, 600_000);
});
