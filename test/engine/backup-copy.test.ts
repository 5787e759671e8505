/**
 * Off-host copies (scripts/backup/copy.sh, fetch-copy.sh, scheduled.sh) into real restic repositories: a
 * local path (a mounted NAS) and sftp: to a real OpenSSH server (Debian's openssh-server in a container,
 * engine/build-sftp-standin.sh). Backups are copied once, the local retention's deletions are applied there,
 * a backup comes back byte for byte and restores; an unreachable target, a wrong passphrase and a damaged
 * repository fail loudly (and a scheduled run reports it) while every local backup stays as it was.
 * InfluxDB is the STAND-IN (homeiq-standin/influxdb:stack).
 */
import * as fs from "fs";
import * as path from "path";
import {
  backupDirOf, backupEnv, createStack, docker, influxChecksum, listFiles, pythonInContainer, REPO_ROOT, Resources, restoreEnv, run, runScript, sha256File,
  sqliteDigestOnVolume, Stack, uniqueName,
} from "./helpers";
import { Recorder, runRepoScript, startRecorder } from "./notify-helpers";

const TOKEN = "i17-influx-token-copy-3e8a";
const PASSPHRASE = "i17-restic-passphrase-c0ffee-not-printed";

/** Every file of a backup folder with its sha256. */
const contentOf = (dir: string): Record<string, string> => Object.fromEntries(listFiles(dir).map((f) => [f, sha256File(path.join(dir, f))]));

describe("off-host copies to restic repositories", () => {
  const res = new Resources();
  let s: Stack;
  let root: string;
  let first: string;
  let sftp: { repo: string; command: string; container: string };
  let localRepo: string;
  let rec: Recorder;

  beforeAll(async () => {
    run("bash", [path.join(REPO_ROOT, "engine", "build-sftp-standin.sh")], { timeoutMs: 600_000 });
    rec = startRecorder(res, "i17-copy");
    const keyDir = res.tmpDir("i17-copy-key");
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(keyDir, "key")]);
    const container = res.container(uniqueName("i17-sftp"));
    docker(["run", "-d", "--name", container, "-e", "AUTHORIZED_KEY", "homeiq-standin/sftp:stack"], { env: { AUTHORIZED_KEY: fs.readFileSync(path.join(keyDir, "key.pub"), "utf8").trim() } });
    const ip = docker(["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container]).stdout.trim();
    sftp = {
      container,
      repo: `sftp:copies@${ip}:/home/copies/homeiq`,
      command: `ssh -i ${path.join(keyDir, "key")} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR copies@${ip} -s sftp`,
    };
    s = await createStack(res, "i17-copy", TOKEN);
    root = res.tmpDir("i17-copy-root");
    localRepo = path.join(res.tmpDir("i17-copy-nas"), "homeiq-restic");
    const b = runScript("backup.sh", backupEnv(s, root, { HOMEIQ_BACKUP_REASON: "pre-change" }));
    expect(b.code).toBe(0);
    first = backupDirOf(b);
  }, 600_000);
  afterAll(() => res.cleanup());

  const copyEnv = (target: "local" | "sftp", extra: Record<string, string> = {}): Record<string, string> => ({
    HOMEIQ_STACK: s.stack,
    HOMEIQ_BACKUP_ROOT: root,
    HOMEIQ_COPY_PASSWORD: PASSPHRASE,
    ...(target === "local" ? { HOMEIQ_COPY_REPO: localRepo } : { HOMEIQ_COPY_REPO: sftp.repo, HOMEIQ_COPY_SFTP_COMMAND: sftp.command }),
    ...extra,
  });
  const snapshotsOf = (env: Record<string, string>, folder: string): string =>
    run("restic", ["--repo", env.HOMEIQ_COPY_REPO!, "--no-cache", ...(env.HOMEIQ_COPY_SFTP_COMMAND ? ["-o", `sftp.command=${env.HOMEIQ_COPY_SFTP_COMMAND}`] : []), "snapshots", "--json", "--tag", `stack=${s.stack},folder=${folder}`], {
      env: { RESTIC_PASSWORD: PASSPHRASE },
    }).stdout.trim();
  /** Every local backup folder with its content: what no copy failure may change. */
  const localState = (): Record<string, Record<string, string>> =>
    Object.fromEntries(fs.readdirSync(path.join(root, s.stack)).filter((n) => /^\d{8}T\d{6}Z$/.test(n)).map((n) => [n, contentOf(path.join(root, s.stack, n))]));

  it.each(["local", "sftp"] as const)("copies each backup once into a %s repository (encrypted with the passphrase), and brings it back byte for byte", (target) => {
    const env = copyEnv(target);
    const r = runRepoScript("backup/copy.sh", env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain("no restic repository there yet: initialising one");
    expect(r.stdout).toContain(`${path.basename(first)}: copied`);
    expect(r.stdout).toContain("restic check (structure): no errors");
    expect(JSON.parse(snapshotsOf(env, path.basename(first)))).toHaveLength(1);
    // Nothing new: nothing copied.
    const again = runRepoScript("backup/copy.sh", env);
    expect(again.stdout).toContain("0 copied, 1 already there, 0 deleted there");
    // The passphrase is needed: a wrong one is refused and changes nothing.
    const wrong = runRepoScript("backup/copy.sh", { ...env, HOMEIQ_COPY_PASSWORD: "not-the-passphrase" });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain("cannot be used (unreachable, wrong passphrase or damaged)");

    const elsewhere = res.tmpDir(`i17-copy-fetch-${target}`);
    const f = runRepoScript("backup/fetch-copy.sh", { ...env, HOMEIQ_BACKUP_ROOT: elsewhere });
    expect(f.code).toBe(0);
    const fetched = backupDirOf(f);
    expect(fetched).toBe(path.join(elsewhere, s.stack, path.basename(first)));
    expect(contentOf(fetched)).toEqual(contentOf(first));
    for (const o of [r, again, wrong, f]) expect(o.stdout + o.stderr).not.toContain(PASSPHRASE);
  }, 240_000);

  it("a backup fetched from the sftp copy restores the data as it was backed up", () => {
    const before = { dataApi: sqliteDigestOnVolume(s.dataApi.volume, s.dataApi.db), influx: influxChecksum(s) };
    const elsewhere = res.tmpDir("i17-copy-restore");
    const dir = backupDirOf(runRepoScript("backup/fetch-copy.sh", { ...copyEnv("sftp"), HOMEIQ_BACKUP_ROOT: elsewhere, HOMEIQ_COPY_FOLDER: path.basename(first) }));
    // The data changes after the backup; the restore must bring back the backed-up state.
    pythonInContainer(s.dataApi.container, "import sqlite3\nc = sqlite3.connect('/app/data/metadata.db')\nwith c: c.execute('DELETE FROM events')\nc.execute('PRAGMA wal_checkpoint(TRUNCATE)')\n");
    expect(sqliteDigestOnVolume(s.dataApi.volume, s.dataApi.db)).not.toEqual(before.dataApi);
    docker(["stop", s.dataApi.container, s.sportsData.container]);
    try {
      const r = runScript("restore.sh", restoreEnv(s, dir));
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    } finally {
      docker(["start", s.dataApi.container, s.sportsData.container]);
    }
    expect(sqliteDigestOnVolume(s.dataApi.volume, s.dataApi.db)).toEqual(before.dataApi);
    expect(influxChecksum(s)).toBe(before.influx);
  }, 240_000);

  it("applies the local retention's deletions there, and only those", () => {
    // A newer backup; retention (0 days, keep 1) then deletes the first locally and logs it.
    const b = runScript("backup.sh", backupEnv(s, root, { HOMEIQ_BACKUP_KEEP: "1", HOMEIQ_BACKUP_KEEP_DAYS: "0", HOMEIQ_BACKUP_REASON: "scheduled" }));
    expect(b.code).toBe(0);
    const second = path.basename(backupDirOf(b));
    expect(fs.existsSync(first)).toBe(false);
    const env = copyEnv("local");
    const r = runRepoScript("backup/copy.sh", env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain(`${second}: copied`);
    expect(r.stdout).toContain(`${path.basename(first)}: deleted from the repository too (local retention deleted it)`);
    expect(snapshotsOf(env, path.basename(first))).toBe("[]");
    expect(JSON.parse(snapshotsOf(env, second))).toHaveLength(1);
    // A local disk lost (no folders, no retention.log) deletes nothing there.
    const emptyRoot = res.tmpDir("i17-copy-lost-disk");
    const lost = runRepoScript("backup/copy.sh", { ...env, HOMEIQ_BACKUP_ROOT: emptyRoot });
    expect(lost.stdout).toContain("0 copied, 0 already there, 0 deleted there");
    expect(JSON.parse(snapshotsOf(env, second))).toHaveLength(1);
  }, 240_000);

  it("a damaged repository is reported (exit 5) and the local backups are untouched", () => {
    const env = copyEnv("local");
    const before = localState();
    // One flipped byte in every tree pack of the repository (a bad disk sector on the NAS): the smallest
    // packs hold the trees, which `restic check` decrypts and verifies.
    const packs = fs.readdirSync(path.join(localRepo, "data")).flatMap((d) => fs.readdirSync(path.join(localRepo, "data", d)).map((f) => path.join(localRepo, "data", d, f)));
    const trees = packs.filter((p) => fs.statSync(p).size < 64 * 1024);
    expect(trees.length).toBeGreaterThan(0);
    for (const p of trees) {
      const buf = fs.readFileSync(p);
      buf[10] = (buf[10] ?? 0) ^ 0xff;
      fs.writeFileSync(p, buf);
    }
    const r = runRepoScript("backup/copy.sh", env);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`restic check (structure) found the repository ${localRepo} damaged (see above); the local backups are untouched`);
    expect(r.stderr).toMatch(/restic: .*ciphertext verification failed/);
    expect(localState()).toEqual(before);
  }, 240_000);

  it("an unreachable target fails the scheduled run, which is reported; the new local backup is kept", () => {
    docker(["stop", "-t", "1", sftp.container]);
    const dir = path.join(root, s.stack, ".schedule", "backup");
    const inst = runRepoScript("schedule/install.sh", {
      ...backupEnv(s, root, { HOMEIQ_BACKUP_REASON: "scheduled" }),
      ...copyEnv("sftp"),
      HOMEIQ_SCHEDULE_DIR: dir,
      HOMEIQ_SCHEDULE_JOB: "backup",
      HOMEIQ_SCHEDULE_STACK: s.stack,
      HOMEIQ_SCHEDULE_WHEN: "daily 02:00",
      HOMEIQ_SCHEDULE_COMMAND: "backup/scheduled.sh",
      HOMEIQ_NOTIFY_WEBHOOK_URL: `${rec.base}/i17-copy-alerts`,
    });
    try {
      expect(inst.code).toBe(0);
      const before = Object.keys(localState());
      const day = Math.floor(Date.now() / 86400_000) * 86400 + 86400;
      const t = runRepoScript("schedule/tick.sh", { HOMEIQ_SCHEDULE_DIR: dir, HOMEIQ_NOW: String(day + 7260), TZ: "UTC" });
      expect(t.code).toBe(1);
      const after = Object.keys(localState());
      expect(after.length).toBe(before.length + 1); // the backup itself was made and kept
      const hook = rec.requests().filter((q) => q.path === "/i17-copy-alerts");
      expect(hook).toHaveLength(1);
      expect(hook[0]!.headers["title"]).toBe(`HomeIQ backup of stack '${s.stack}' failed`);
      expect(hook[0]!.body).toContain("cannot be used (unreachable, wrong passphrase or damaged)");
      expect(hook[0]!.body).toContain("no backup was copied, the local backups are untouched");
      expect(hook[0]!.body).not.toContain(PASSPHRASE);
    } finally {
      runRepoScript("schedule/remove.sh", { HOMEIQ_SCHEDULE_DIR: dir });
    }
  }, 240_000);
});
