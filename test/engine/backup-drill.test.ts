/**
 * The restore drill (scripts/backup/drill.sh) on a real engine: the newest local backup and the newest
 * off-host copy (a local restic repository) are restored into scratch containers and volumes of the
 * services' own images on no network, and checked (manifest hashes, SQLite integrity_check and row counts,
 * InfluxDB answering with the stack's token), with the live stack untouched and no scratch object left; a
 * damaged local backup and a damaged repository make the scheduled drill fail, and the failure reaches the
 * stand-in HTTP server as a Home Assistant notification. InfluxDB is the STAND-IN.
 */
import * as fs from "fs";
import * as path from "path";
import { backupDirOf, backupEnv, createStack, docker, influxChecksum, Resources, run, runScript, Stack, volumeChecksums } from "./helpers";
import { Recorder, runRepoScript, startRecorder } from "./notify-helpers";

const TOKEN = "i17-influx-token-drill-51ab";
const HA_TOKEN = "i17-ha-token-drill-77aa1b";
const PASSPHRASE = "i17-drill-passphrase-9d1c";

/** Every object the drill labels as its scratch. */
const drillScratch = (): string[] =>
  [
    ...docker(["ps", "-a", "--filter", "label=com.homeiq.scratch=homeiq-drill", "--format", "{{.Names}}"]).stdout.split("\n"),
    ...docker(["volume", "ls", "--filter", "label=com.homeiq.scratch=homeiq-drill", "--format", "{{.Name}}"]).stdout.split("\n"),
  ].filter(Boolean);

/**
 * The volumes the engine mounted into the drill's scratch containers since `since` (epoch seconds), from
 * its own event log: [destination, volume name] per mount. Anonymous ones included, which no label finds.
 */
const drillMounts = (since: number): Array<[string, string]> => {
  const until = String(Math.ceil(Date.now() / 1000) + 1);
  const drillContainers = new Set(
    docker(["events", "--since", String(since), "--until", until, "--filter", "type=container", "--filter", "event=create", "--filter", "label=com.homeiq.scratch=homeiq-drill", "--format", "{{.Actor.ID}}"])
      .stdout.split("\n")
      .filter(Boolean),
  );
  return docker(["events", "--since", String(since), "--until", until, "--filter", "type=volume", "--filter", "event=mount", "--format", "{{json .Actor}}"])
    .stdout.split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { ID: string; Attributes: { container: string; destination: string } })
    .filter((a) => drillContainers.has(a.Attributes.container))
    .map((a) => [a.Attributes.destination, a.ID]);
};

describe("restore drill", () => {
  const res = new Resources();
  let s: Stack;
  let root: string;
  let repo: string;
  let newest: string;
  let rec: Recorder;

  beforeAll(async () => {
    rec = startRecorder(res, "i17-drill");
    s = await createStack(res, "i17-drill", TOKEN);
    root = res.tmpDir("i17-drill-root");
    repo = path.join(res.tmpDir("i17-drill-nas"), "restic");
    const b = runScript("backup.sh", backupEnv(s, root, { HOMEIQ_BACKUP_REASON: "scheduled" }));
    expect(b.code).toBe(0);
    newest = backupDirOf(b);
    const c = runRepoScript("backup/copy.sh", { HOMEIQ_STACK: s.stack, HOMEIQ_BACKUP_ROOT: root, HOMEIQ_COPY_REPO: repo, HOMEIQ_COPY_PASSWORD: PASSPHRASE });
    expect(c.code).toBe(0);
  }, 300_000);
  afterAll(() => res.cleanup());

  const drillEnv = (): Record<string, string> => ({
    HOMEIQ_STACK: s.stack,
    HOMEIQ_BACKUP_ROOT: root,
    HOMEIQ_INFLUX_TOKEN: TOKEN,
    HOMEIQ_COPY_REPO: repo,
    HOMEIQ_COPY_PASSWORD: PASSPHRASE,
  });
  const live = () => ({ influx: influxChecksum(s), volumes: volumeChecksums([s.influx.volume, s.dataApi.volume, s.sportsData.volume]) });

  it("restores the newest local backup and the newest copy into scratch containers off the network, checks them, records it, and leaves the live stack alone", () => {
    const before = live();
    const scratchBefore = drillScratch();
    const since = Math.floor(Date.now() / 1000) - 1;
    const r = runRepoScript("backup/drill.sh", drillEnv());
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    for (const source of ["local", "copy"]) {
      expect(r.stdout).toContain(`[homeiq-drill] ${source}: influxdb: restored, answers with the stack's token`);
      expect(r.stdout).toContain(`[homeiq-drill] ${source}: sqlite data-api: integrity_check ok, rows: devices=200 events=3000`);
      expect(r.stdout).toContain(`[homeiq-drill] ${source}: sqlite sports-data: integrity_check ok, rows: devices=200 events=500`);
    }
    // It restored into scratch InfluxDB and volumes, never the live ones.
    expect(r.stdout).toMatch(/restore complete from .*: influxdb sqlite:data-api sqlite:sports-data/);
    expect(r.stdout).not.toContain(s.influx.container);
    const log = fs.readFileSync(path.join(root, s.stack, "drill.log"), "utf8").trim().split("\n");
    expect(log.map((l) => l.split(" ").slice(1).join(" "))).toEqual([`local ${path.basename(newest)} ok`, `copy ${path.basename(newest)} ok`]);
    expect(live()).toEqual(before);
    expect(drillScratch()).toEqual(scratchBefore);
    // Not one volume of its scratch InfluxDB outlives it, anonymous ones included: its /etc/influxdb2
    // (a VOLUME of the image) holds influx-configs with the stack's token.
    const mounts = drillMounts(since);
    expect(mounts.map(([dest]) => dest)).toEqual(expect.arrayContaining(["/var/lib/influxdb2", "/etc/influxdb2"]));
    const left = mounts.filter(([, vol]) => run("docker", ["volume", "inspect", vol], { allowFail: true }).code === 0);
    expect(left).toEqual([]);
  }, 300_000);

  it("a damaged local backup and a damaged repository fail the scheduled drill, which is reported to Home Assistant", () => {
    // One flipped byte in the newest local backup's SQLite copy; one in every tree pack of the repository.
    const db = path.join(newest, "sqlite", "data-api", "metadata.db");
    const buf = fs.readFileSync(db);
    buf[4096] = (buf[4096] ?? 0) ^ 0x01;
    fs.writeFileSync(db, buf);
    const packs = fs.readdirSync(path.join(repo, "data")).flatMap((d) => fs.readdirSync(path.join(repo, "data", d)).map((f) => path.join(repo, "data", d, f)));
    for (const p of packs.filter((f) => fs.statSync(f).size < 64 * 1024)) {
      const b = fs.readFileSync(p);
      b[10] = (b[10] ?? 0) ^ 0xff;
      fs.writeFileSync(p, b);
    }
    const before = live();
    const dir = path.join(root, s.stack, ".schedule", "drill");
    const inst = runRepoScript("schedule/install.sh", {
      ...drillEnv(),
      HOMEIQ_SCHEDULE_DIR: dir,
      HOMEIQ_SCHEDULE_JOB: "drill",
      HOMEIQ_SCHEDULE_STACK: s.stack,
      HOMEIQ_SCHEDULE_WHEN: "monthly 1 03:00",
      HOMEIQ_SCHEDULE_COMMAND: "backup/drill.sh",
      HOMEIQ_HA_URL: `${rec.base}/i17-drill`,
      HOMEIQ_HA_TOKEN: HA_TOKEN,
    });
    try {
      expect(inst.code).toBe(0);
      // The next month's first day, 03:01 UTC.
      const now = new Date();
      const due = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1, 3, 1) / 1000;
      const t = runRepoScript("schedule/tick.sh", { HOMEIQ_SCHEDULE_DIR: dir, HOMEIQ_NOW: String(due), TZ: "UTC" });
      expect(t.code).toBe(1);
      const runLog = fs.readFileSync(JSON.parse(fs.readFileSync(path.join(dir, "last-run.json"), "utf8")).log, "utf8");
      expect(runLog).toContain("file sqlite/data-api/metadata.db does not match its sha256 in manifest.json");
      expect(runLog).toContain(`restore drill FAILED for: local:${path.basename(newest)} copy:`);
      const ha = rec.requests().filter((q) => q.path === "/i17-drill/api/services/persistent_notification/create");
      expect(ha).toHaveLength(1);
      const body = JSON.parse(ha[0]!.body) as { title: string; message: string };
      expect(body.title).toBe(`HomeIQ drill of stack '${s.stack}' failed`);
      expect(body.message).toContain(`restore drill FAILED for: local:${path.basename(newest)} copy:`);
      expect(body.message).not.toContain(TOKEN);
      expect(body.message).not.toContain(PASSPHRASE);
      expect(fs.readFileSync(path.join(root, s.stack, "drill-last.txt"), "utf8")).toMatch(/ local \S+ FAILED\n.* copy \S+ FAILED\n$/);
      expect(live()).toEqual(before);
    } finally {
      runRepoScript("schedule/remove.sh", { HOMEIQ_SCHEDULE_DIR: dir });
    }
  }, 300_000);
});
