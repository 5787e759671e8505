/**
 * Scheduled backups (scripts/schedule) on a real engine and a real cron daemon (Debian's, started by
 * engine/start-cron.sh), with failures reported to a stand-in HTTP server that records requests:
 * - cron runs the stack's backup.sh on its own (no pulumi, no test process involved), and a run missed
 *   while the host was off runs once at the next tick;
 * - a scheduled run and a deploy-time backup never run at once (backup.sh's per-stack lock);
 * - a failed run is recorded and reported to Home Assistant and the webhook, and retried only after
 *   retry_minutes (controlled clock: HOMEIQ_NOW);
 * - remove.sh takes the crontab line and the folder (with its secrets) away and leaves the backups.
 * InfluxDB is the STAND-IN (homeiq-standin/influxdb:stack).
 */
import * as fs from "fs";
import * as path from "path";
import { backupEnv, createStack, docker, IMAGES, listFiles, Resources, Stack, uniqueName, waitFor, waitForAsync } from "./helpers";
import { crontab, ensureCron, Recorder, runRepoScript, runRepoScriptAsync, startRecorder, tickIdle } from "./notify-helpers";

const TOKEN = "i17-influx-token-schedule-7c1e";
const HA_TOKEN = "i17-ha-token-schedule-5b2d9e";

interface LastRun {
  job: string;
  due: string;
  started: string;
  result: "ok" | "failed";
  exitCode: number;
  log: string;
}
const lastRun = (dir: string): LastRun | undefined => {
  const f = path.join(dir, "last-run.json");
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as LastRun) : undefined;
};
const runsLog = (dir: string): string[] => {
  const f = path.join(dir, "runs.log");
  return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n") : [];
};
/** Complete backups of the stack under root, oldest first. */
const backupsOf = (root: string, stack: string): string[] =>
  fs.existsSync(path.join(root, stack)) ? fs.readdirSync(path.join(root, stack)).filter((n) => /^\d{8}T\d{6}Z$/.test(n)).sort() : [];
const reasonOf = (root: string, stack: string, name: string): string =>
  (JSON.parse(fs.readFileSync(path.join(root, stack, name, "manifest.json"), "utf8")) as { reason: string }).reason;
const hhmm = (d: Date): string => `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;

describe("scheduled backups", () => {
  const res = new Resources();
  let s: Stack;
  let rec: Recorder;
  const installed: string[] = [];

  beforeAll(async () => {
    ensureCron();
    rec = startRecorder(res, "i17-sched");
    s = await createStack(res, "i17-sched", TOKEN);
  }, 300_000);
  afterAll(() => {
    for (const dir of installed) runRepoScript("schedule/remove.sh", { HOMEIQ_SCHEDULE_DIR: dir });
    res.cleanup();
  });

  /** install.sh for the stack's backup, as the program's BackupSchedule runs it; the folder is removed after the file. */
  function install(tag: string, when: string, extra: Record<string, string> = {}): { root: string; dir: string } {
    const root = res.tmpDir(tag);
    const dir = path.join(root, s.stack, ".schedule", "backup");
    const r = runRepoScript("schedule/install.sh", {
      ...backupEnv(s, root, { HOMEIQ_BACKUP_REASON: "scheduled" }),
      HOMEIQ_SCHEDULE_DIR: dir,
      HOMEIQ_SCHEDULE_JOB: "backup",
      HOMEIQ_SCHEDULE_STACK: s.stack,
      HOMEIQ_SCHEDULE_WHEN: when,
      HOMEIQ_SCHEDULE_COMMAND: "backup/backup.sh",
      HOMEIQ_HA_URL: `${rec.base}/${tag}`,
      HOMEIQ_HA_TOKEN: HA_TOKEN,
      HOMEIQ_NOTIFY_WEBHOOK_URL: `${rec.base}/${tag}-webhook`,
      TZ: "UTC",
      ...extra,
    });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    installed.push(dir);
    return { root, dir };
  }

  it("cron runs the backup at its time with nothing else running, and a time missed while the host was off runs once at the next tick", async () => {
    // "every 1": due at the next minute. And a daily time two hours ago whose state says the last run was
    // three days ago, as after a host that was off: due now, once.
    const near = install("i17-near", "every 1");
    const missedAt = new Date(Date.now() - 2 * 3600_000);
    const missed = install("i17-missed", `daily ${hhmm(missedAt)}`);
    const slotToday = Math.floor(Date.UTC(missedAt.getUTCFullYear(), missedAt.getUTCMonth(), missedAt.getUTCDate(), missedAt.getUTCHours(), missedAt.getUTCMinutes()) / 1000);
    fs.writeFileSync(path.join(missed.dir, "state"), `last_slot=${slotToday - 3 * 86400}\nlast_failure=0\n`);

    const lines = crontab().split("\n");
    for (const d of [near.dir, missed.dir]) {
      expect(lines.filter((l) => l.endsWith(`# homeiq-schedule ${d}`))).toEqual([
        `* * * * * HOMEIQ_SCHEDULE_DIR=${d} /bin/bash ${d}/scripts/schedule/tick.sh >>${d}/tick.log 2>&1 # homeiq-schedule ${d}`,
      ]);
    }
    // Secrets stay in the owner-only env file: not in the crontab line, not in the settings.
    expect(crontab()).not.toContain(TOKEN);
    expect(fs.statSync(near.dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(near.dir, "env")).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(near.dir, "env"), "utf8")).toContain(`export HOMEIQ_INFLUX_TOKEN=${TOKEN}`);
    expect(fs.readFileSync(path.join(near.dir, "schedule"), "utf8")).not.toContain(TOKEN);
    expect(backupsOf(near.root, s.stack)).toEqual([]);

    // Up to a minute for cron's next tick, then the backup itself.
    const done = (d: string) => waitForAsync(`a scheduled run in ${d}`, async () => lastRun(d), { timeoutMs: 150_000, intervalMs: 500 });
    const [nearRun, missedRun] = await Promise.all([done(near.dir), done(missed.dir)]);
    // The run is recorded before its notification is sent: wait for the missed run's tick to end (its lock
    // free; it is due no more, so no later tick runs a job). The near one ("every 1") is checked after remove.sh.
    await waitForAsync(`the tick in ${missed.dir} to end`, async () => tickIdle(missed.dir), { timeoutMs: 60_000, intervalMs: 200 });
    for (const [run, where] of [[nearRun, near], [missedRun, missed]] as const) {
      expect({ result: run.result, exitCode: run.exitCode }).toEqual({ result: "ok", exitCode: 0 });
      // Started by cron: only the crontab line writes tick.log.
      expect(fs.readFileSync(path.join(where.dir, "tick.log"), "utf8")).toContain(`backup of stack '${s.stack}': running the run due at ${run.due}`);
      const made = backupsOf(where.root, s.stack);
      expect(made).toHaveLength(1);
      expect(reasonOf(where.root, s.stack, made[0]!)).toBe("scheduled");
      expect(listFiles(path.join(where.root, s.stack, made[0]!))).toEqual(expect.arrayContaining(["sqlite/data-api/metadata.db", "sqlite/sports-data/webhooks.db", "manifest.json"]));
      expect(fs.readFileSync(run.log, "utf8")).not.toContain(TOKEN);
    }
    // The missed run is the newest missed time, run once, and reported as late (not as failed).
    expect(missedRun.due).toBe(new Date(slotToday * 1000).toISOString().replace(".000", ""));
    const late = rec.requests().filter((q) => q.path === "/i17-missed/api/services/persistent_notification/create");
    expect(late).toHaveLength(1);
    expect(JSON.parse(late[0]!.body).title).toBe(`HomeIQ backup of stack '${s.stack}' ran late`);
    expect(late[0]!.headers["authorization"]).toBe(`Bearer ${HA_TOKEN}`);
    // A later tick within the same time does nothing more.
    const again = runRepoScript("schedule/tick.sh", { HOMEIQ_SCHEDULE_DIR: missed.dir, TZ: "UTC" });
    expect({ code: again.code, stdout: again.stdout }).toEqual({ code: 0, stdout: "" });
    expect(runsLog(missed.dir)).toHaveLength(1);

    // remove.sh: the crontab line and the folder (its env file holds the tokens) go; the backup stays.
    const removed = runRepoScript("schedule/remove.sh", { HOMEIQ_SCHEDULE_DIR: near.dir });
    expect(removed.code).toBe(0);
    expect(crontab()).not.toContain(near.dir);
    expect(crontab()).toContain(missed.dir);
    expect(fs.existsSync(near.dir)).toBe(false);
    expect(backupsOf(near.root, s.stack)).toHaveLength(1);
    // remove.sh waited for any tick of it to end: the run on time notified nobody.
    expect(rec.requests().filter((q) => q.path.startsWith("/i17-near"))).toEqual([]);
  }, 300_000);

  it("a failed run is recorded and reported to Home Assistant and the webhook, then retried only after retry_minutes (controlled clock)", () => {
    // The InfluxDB container exists but is stopped: backup.sh refuses (exit 4).
    const stopped = res.container(uniqueName("i17-sched-stopped-influx"));
    docker(["create", "--name", stopped, IMAGES.influxStandin]);
    const { root, dir } = install("i17-fail", "daily 02:00", { HOMEIQ_INFLUX_CONTAINER: stopped, HOMEIQ_SCHEDULE_RETRY_MINUTES: "30" });
    const day = Math.floor(Date.now() / 86400_000) * 86400 + 86400; // tomorrow 00:00 UTC, after the install
    // As if today's 02:00 run had succeeded (install.sh's own start depends on the hour the test runs at).
    fs.writeFileSync(path.join(dir, "state"), `last_slot=${day - 86400 + 7200}\nlast_failure=0\n`);
    const tick = (at: number) => runRepoScript("schedule/tick.sh", { HOMEIQ_SCHEDULE_DIR: dir, HOMEIQ_NOW: String(at), TZ: "UTC" });

    expect(tick(day + 3600).stdout).toBe(""); // 01:00: not due yet
    const first = tick(day + 2 * 3600 + 60); // 02:01
    expect(first.code).toBe(1);
    expect(first.stdout).toContain(`backup of stack '${s.stack}' FAILED (exit 4)`);
    expect(lastRun(dir)).toMatchObject({ result: "failed", exitCode: 4, due: new Date((day + 7200) * 1000).toISOString().replace(".000", "") });
    expect(backupsOf(root, s.stack)).toEqual([]);

    const ha = rec.requests().filter((q) => q.path === "/i17-fail/api/services/persistent_notification/create");
    expect(ha).toHaveLength(1);
    const body = JSON.parse(ha[0]!.body) as { title: string; message: string; notification_id: string };
    expect(body.title).toBe(`HomeIQ backup of stack '${s.stack}' failed`);
    expect(body.message).toContain(`influxdb container ${stopped} exists but is not running`);
    expect(body.notification_id).toBe(`homeiq_backup_${s.stack.replace(/[^A-Za-z0-9]/g, "_")}`);
    expect(ha[0]!.headers["authorization"]).toBe(`Bearer ${HA_TOKEN}`);
    const hook = rec.requests().filter((q) => q.path === "/i17-fail-webhook");
    expect(hook).toHaveLength(1);
    expect(hook[0]!.body).toContain("failed (exit 4)");
    for (const q of [...ha, ...hook]) expect(q.body).not.toContain(TOKEN);

    // 29 minutes later: still within the retry interval, no run. 31 minutes later: retried (and fails again).
    expect(tick(day + 2 * 3600 + 60 + 29 * 60).stdout).toBe("");
    expect(runsLog(dir)).toHaveLength(1);
    expect(tick(day + 2 * 3600 + 60 + 31 * 60).code).toBe(1);
    expect(runsLog(dir)).toHaveLength(2);
    expect(rec.requests().filter((q) => q.path === "/i17-fail-webhook")).toHaveLength(2);
  }, 120_000);

  it("a scheduled run waits for a deploy-time backup of the stack to finish: never two at once", async () => {
    const { root, dir } = install("i17-lock", "daily 02:00");
    const pauseDir = res.tmpDir("i17-lock-pause");
    // The deploy-time backup stops while its steps run, holding the stack's lock.
    const deploy = runRepoScriptAsync("backup/backup.sh", {
      ...backupEnv(s, root, { HOMEIQ_BACKUP_REASON: "pre-change" }),
      HOMEIQ_TEST_PAUSE_AT: "backup-steps-running",
      HOMEIQ_TEST_PAUSE_DIR: pauseDir,
    });
    waitFor("the deploy-time backup holding its lock mid-run", () => fs.existsSync(path.join(pauseDir, "backup-steps-running.reached")), { timeoutMs: 120_000 });
    const day = Math.floor(Date.now() / 86400_000) * 86400 + 86400;
    const scheduled = runRepoScriptAsync("schedule/tick.sh", { HOMEIQ_SCHEDULE_DIR: dir, HOMEIQ_NOW: String(day + 2 * 3600 + 60), TZ: "UTC" });
    const runLog = (): string => {
      const runs = path.join(dir, "runs");
      const logs = fs.existsSync(runs) ? fs.readdirSync(runs) : [];
      return logs.length ? fs.readFileSync(path.join(runs, logs[0]!), "utf8") : "";
    };
    await waitForAsync("the scheduled run waiting for the lock", async () => /another backup of stack '.*' is running \(.*reason pre-change since .*\); waiting up to 3600 s/.test(runLog()), { timeoutMs: 60_000 });
    // While it waits, only the deploy-time backup's folder exists.
    const partials = fs.readdirSync(path.join(root, s.stack)).filter((n) => n.endsWith(".partial"));
    expect(partials).toHaveLength(1);
    expect(runLog()).not.toContain("writing ");

    fs.writeFileSync(path.join(pauseDir, "backup-steps-running.go"), "");
    const [d, t] = await Promise.all([deploy, scheduled]);
    expect({ code: d.code, stderr: d.stderr }).toEqual({ code: 0, stderr: "" });
    expect(t.code).toBe(0);
    const made = backupsOf(root, s.stack);
    expect(made.map((n) => reasonOf(root, s.stack, n))).toEqual(["pre-change", "scheduled"]);
    expect(lastRun(dir)).toMatchObject({ result: "ok" });
  }, 240_000);
});
