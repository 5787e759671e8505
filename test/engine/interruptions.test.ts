/**
 * Interruptions, property style: scripts/migrate/from-compose.sh, scripts/backup/backup.sh and
 * scripts/backup/restore.sh are stopped at every step they have (HOMEIQ_TEST_PAUSE_AT makes the step
 * observable: the script waits there), by each of SIGINT, SIGTERM and SIGHUP, sent to the script alone or
 * to its whole process group (a terminal's Ctrl-C or closed ssh session, `timeout`, a service manager).
 * After every one: the exit code is 128 + n, no container, volume or image labelled as that run's scratch
 * is left, and no `.partial` folder. A run killed outright (SIGKILL: no cleanup can run) leaves its scratch
 * to the next run, which removes exactly that and never what a live run is using. Real `docker compose`
 * deployments of fixtures/compose-v1 on the stand-in images (InfluxDB is the STAND-IN).
 */
import * as fs from "fs";
import * as path from "path";
import { docker, IMAGES, REPO_ROOT, waitFor, waitForAsync } from "./helpers";
import {
  digestOnVolume, migrate, MIGRATE, migrateName, migrationScene, partialsUnder, printedCommands, runPrintedCommands, scratchOf, seedSql,
  startInterruptible, treeChecksum, volumeDir,
} from "./migrate-helpers";

const TOKEN = "itest-old-influx-operator-token-5e0c44";
const ORG = "ha-ingestor";
const BUCKET = "home_assistant_events";
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
type Sig = (typeof SIGNALS)[number];
const EXIT: Record<Sig, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
const BACKUP_SH = path.join(REPO_ROOT, "scripts", "backup", "backup.sh");
const RESTORE_SH = path.join(REPO_ROOT, "scripts", "backup", "restore.sh");

/** steps × signals, one run each; the target (script alone, or its process group) alternates, so each signal meets both. */
function plan(steps: readonly string[]): Array<[string, Sig, "script" | "group"]> {
  return steps.flatMap((step, i) => SIGNALS.map((sig, j): [string, Sig, "script" | "group"] => [step, sig, (i + j) % 2 === 0 ? "group" : "script"]));
}

/** Runs the script to `step`, signals it there, and returns its result once it has exited. */
async function interruptAt(script: string, args: readonly string[], env: Record<string, string>, step: string, sig: Sig, target: "script" | "group") {
  const run = startInterruptible(script, args, env, step);
  const exited = run.done.then(() => true);
  await waitForAsync(`${path.basename(script)} reaching step ${step}`, async () => run.reached(step) || (await Promise.race([exited, Promise.resolve(false)])), { timeoutMs: 120_000, intervalMs: 50 });
  if (!run.reached(step)) {
    const r = await run.done;
    throw new Error(`${path.basename(script)} exited (${r.code}) before step ${step}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  }
  process.kill(target === "group" ? -run.pid : run.pid, sig);
  return { pid: run.pid, result: await run.done };
}

describe("from-compose.sh on a stopped deployment, interrupted at each of its steps (and backup.sh's inside it)", () => {
  const { old, work } = migrationScene("interrupt-migrate", TOKEN);
  const stack = migrateName("new");
  let before = "";
  const oldVolumes = (): string => ["influxdb_data", "influxdb_config", "sqlite-data"].map((v) => treeChecksum(volumeDir(old.volume(v as "influxdb_data")))).join(" ");

  beforeAll(() => {
    old.up();
    old.writeInflux(2000);
    old.python("data-api", seedSql("wal", 2000), ["/app/data/metadata.db"]);
    old.python("sports-data", seedSql("delete", 500), ["/app/data/webhooks.db"]);
    old.compose(["stop"]);
    before = oldVolumes();
  }, 180_000);

  const STEPS = [
    "migrate-discovered", // scratch space set up, nothing made yet
    "migrate-influx-copied", // scratch volumes hold copies of InfluxDB's volumes
    "migrate-influx-started", // the scratch InfluxDB runs on them
    "migrate-layer-committed", // sports-data's layer is a scratch image
    "migrate-sources-ready", // scratch SQLite copies and containers
    "backup-partial-created", // backup.sh (its own process group) has its .partial folder
    "backup-steps-running", // ... and its steps run
    "backup-manifest-written", // ... the folder is complete but not yet renamed
    "migrate-backed-up", // the backup is complete; the config is not printed yet
  ];

  // Each step: SIGINT, SIGTERM and SIGHUP in three runs side by side (one to the script, the others to its
  // process group, alternating by step), so each run's start-up sweep also meets two live runs' scratch.
  it.each(STEPS.map((step, i) => [step, i] as const))("at %s: SIGINT, SIGTERM, SIGHUP each exit 128+n, leave no scratch container, volume or image and no .partial folder", async (step, i) => {
    const runs = await Promise.all(
      SIGNALS.map(async (sig, j) => {
        const target = (i + j) % 2 === 0 ? "group" : "script";
        const root = path.join(work, `${step}-${sig}`);
        return { sig, target, root, ...(await interruptAt(MIGRATE, ["--stack", stack, "--backup-root", root, "--project-glob", old.project], {}, step, sig, target)) };
      }),
    );
    for (const { sig, target, root, pid, result } of runs) {
      const what = `${sig} to the ${target}`;
      expect({ what, code: result.code, signal: result.signal }).toEqual({ what, code: EXIT[sig], signal: null });
      expect(result.stderr).toContain(`[homeiq-migrate] interrupted by ${sig}: cleaning up`);
      expect({ what, left: scratchOf(pid), partial: partialsUnder(root) }).toEqual({ what, left: [], partial: [] });
      expect(result.stdout).not.toContain("----- pulumi config -----");
      if (step.startsWith("backup-")) expect(result.stderr).toMatch(/\[homeiq-backup\] removed the incomplete backup folder .*\.partial/);
      if (step === "migrate-backed-up") expect(result.stderr).toMatch(/interrupted after the backup \S+ was complete; .* run this again/);
      expect(result.stdout + result.stderr).not.toContain(TOKEN);
    }
  }, 300_000);

  it("left the old deployment as it was: volumes byte for byte, every container still stopped", () => {
    expect(oldVolumes()).toBe(before);
    expect(docker(["ps", "-a", "--filter", `label=com.docker.compose.project=${old.project}`, "--format", "{{.State}}"]).stdout.split("\n").filter(Boolean)).toEqual(["exited", "exited", "exited", "exited"]);
  });

  it("a run killed outright (SIGKILL, as a power loss) leaves its scratch and .partial to the next run, which removes them and nothing of a live run", async () => {
    const root = path.join(work, "killed");
    // A live run (paused with its scratch InfluxDB up) must keep everything through the other runs' sweeps.
    const live = startInterruptible(MIGRATE, ["--stack", stack, "--backup-root", path.join(work, "live"), "--project-glob", old.project], {}, "migrate-influx-started");
    try {
      await waitForAsync("the live run reaching migrate-influx-started", async () => live.reached("migrate-influx-started"), { timeoutMs: 120_000, intervalMs: 50 });
      const liveScratch = scratchOf(live.pid);
      expect(liveScratch.length).toBeGreaterThan(0);

      // Killed while backup.sh has its .partial folder: from-compose.sh's process group and backup.sh (its own group).
      const killed = startInterruptible(MIGRATE, ["--stack", stack, "--backup-root", root, "--project-glob", old.project], {}, "backup-partial-created");
      await waitForAsync("the run to be killed reaching backup-partial-created", async () => killed.reached("backup-partial-created"), { timeoutMs: 120_000, intervalMs: 50 });
      const [record] = partialsUnder(root).filter((p) => p.endsWith(".partial.owner"));
      const backupPid = Number(fs.readFileSync(path.join(root, record!), "utf8").trim().split("/").pop());
      process.kill(-killed.pid, "SIGKILL");
      process.kill(backupPid, "SIGKILL");
      expect((await killed.done).signal).toBe("SIGKILL");
      const left = scratchOf(killed.pid);
      expect(left.filter((o) => o.startsWith("container ")).length).toBeGreaterThanOrEqual(3); // scratch InfluxDB, 2 SQLite sources
      expect(left.filter((o) => o.startsWith("volume ")).length).toBeGreaterThanOrEqual(4);
      expect(left.filter((o) => o.startsWith("image ")).length).toBe(1); // sports-data's layer
      expect(partialsUnder(root).length).toBe(2); // <ts>.partial and .<ts>.partial.owner

      const next = migrate(["--stack", stack, "--backup-root", root, "--project-glob", old.project]);
      expect({ code: next.code, stderr: next.stderr }).toEqual({ code: 0, stderr: "" });
      for (const kind of ["container", "volume", "image"]) {
        expect(next.stdout).toMatch(new RegExp(`removed \\d+ scratch ${kind}\\(s\\) left by an interrupted run \\(pid [0-9 ]*\\b${killed.pid}\\b[0-9 ]*, no longer running\\)`));
      }
      expect(next.stdout).toMatch(new RegExp(`removed ${root}/${stack}/\\d{8}T\\d{6}Z\\.partial, left by an interrupted backup \\(pid ${backupPid}, no longer running\\)`));
      expect(scratchOf(killed.pid)).toEqual([]);
      expect(partialsUnder(root)).toEqual([]);
      expect(scratchOf(live.pid)).toEqual(liveScratch);
      // The sweeping run's own backup is complete and usable.
      const folder = runPrintedCommands(printedCommands(next.stdout), work).config["homeiq:restoreFrom"]!;
      expect(fs.existsSync(path.join(folder, "manifest.json"))).toBe(true);
    } finally {
      process.kill(-live.pid, "SIGTERM");
    }
    expect((await live.done).code).toBe(143);
    expect(scratchOf(live.pid)).toEqual([]);
  }, 300_000);
});

describe("backup.sh and restore.sh on a running stack, interrupted at each of their steps", () => {
  const { old, fresh, work } = migrationScene("interrupt-backup", TOKEN);
  const stack = fresh.stack;
  const root = path.join(work, "backups");
  let backupEnv: Record<string, string> = {};
  let folder = "";
  let dataApi: ReturnType<typeof digestOnVolume> | undefined;

  beforeAll(() => {
    old.up();
    old.writeInflux(2000);
    old.python("data-api", seedSql("wal", 2000), ["/app/data/metadata.db"]);
    old.python("sports-data", seedSql("delete", 500), ["/app/data/webhooks.db"]);
    backupEnv = {
      HOMEIQ_STACK: stack,
      HOMEIQ_BACKUP_ROOT: root,
      HOMEIQ_INFLUX_CONTAINER: old.container("influxdb"),
      HOMEIQ_INFLUX_TOKEN: TOKEN,
      HOMEIQ_SQLITE_DBS: `data-api=${old.container("data-api")}:/app/data/metadata.db sports-data=${old.container("sports-data")}:/app/data/webhooks.db`,
    };
  }, 180_000);

  it.each(["backup-partial-created", "backup-steps-running", "backup-manifest-written"].map((step, i) => [step, i] as const))(
    "backup.sh at %s: SIGINT, SIGTERM, SIGHUP (side by side) each exit 128+n, leave no one-off container, no .partial folder, no backup",
    async (step, i) => {
      const runs = await Promise.all(
        SIGNALS.map(async (sig, j) => {
          const target = (i + j) % 2 === 0 ? "group" : "script";
          const own = path.join(work, `backup-${step}-${sig}`);
          return { sig, target, own, ...(await interruptAt(BACKUP_SH, [], { ...backupEnv, HOMEIQ_BACKUP_ROOT: own }, step, sig, target)) };
        }),
      );
      for (const { sig, target, own, pid, result } of runs) {
        const what = `${sig} to the ${target}`;
        expect({ what, code: result.code }).toEqual({ what, code: EXIT[sig] });
        expect(result.stderr).toContain(`[homeiq-backup] interrupted by ${sig}: cleaning up`);
        expect(result.stderr).toMatch(/removed the incomplete backup folder .*\.partial/);
        expect({ what, left: scratchOf(pid), partial: partialsUnder(own), backups: fs.existsSync(path.join(own, stack)) ? fs.readdirSync(path.join(own, stack)) : [] }).toEqual({
          what,
          left: [],
          partial: [],
          backups: [],
        });
      }
    },
    120_000,
  );

  it.each(SIGNALS.map((s, i) => [s, i % 2 ? "script" : "group"] as const))(
    "backup.sh while its one-off InfluxDB container waits (the server's lock held), %s to the %s: the container is removed",
    async (sig, target) => {
      // A live holder (the stand-in's lock outlives no holder): a one-off container of the same image on its volumes.
      const holder = `${old.container("influxdb")}-lockholder`;
      const image = docker(["inspect", "--format", "{{.Config.Image}}", old.container("influxdb")]).stdout.trim();
      docker(["run", "-d", "--name", holder, "--network", "none", "--volumes-from", old.container("influxdb"), "--entrypoint", "influx", image, "standin-hold-lock"]);
      try {
        waitFor(`${holder} holding the lock`, () => docker(["logs", holder]).stdout.includes("holding the data lock"));
        const run = startInterruptible(BACKUP_SH, [], backupEnv);
        const name = await waitForAsync("backup.sh's one-off influx container", async () => {
          const r = docker(["ps", "--filter", "label=com.homeiq.scratch=homeiq-backup", "--filter", "name=homeiq-backup-influxdb-", "--format", '{{.Names}}\t{{.Label "com.homeiq.scratch.owner"}}']);
          return r.stdout.split("\n").find((l) => l.endsWith(`/${run.pid}`));
        }, { timeoutMs: 30_000, intervalMs: 50 });
        expect(name).toMatch(/^homeiq-backup-influxdb-/);
        process.kill(target === "group" ? -run.pid : run.pid, sig);
        const result = await run.done;
        expect(result.code).toBe(EXIT[sig]);
        expect(scratchOf(run.pid)).toEqual([]);
        expect(partialsUnder(root)).toEqual([]);
      } finally {
        docker(["rm", "-f", "-v", holder], { allowFail: true });
      }
    },
    60_000,
  );

  describe("restore.sh", () => {
    let restoreEnv: Record<string, string> = {};
    beforeAll(() => {
      const r = startInterruptible(BACKUP_SH, [], backupEnv);
      return r.done.then((res) => {
        if (res.code !== 0) throw new Error(`backup.sh failed: ${res.stderr}`);
        folder = /^HOMEIQ_BACKUP_DIR=(.*)$/m.exec(res.stdout)![1]!;
        dataApi = digestOnVolume(old.volume("sqlite-data"), "metadata.db");
        fresh.create({ "homeiq:influxdbOrg": ORG, "homeiq:influxdbBucket": BUCKET, "homeiq:influxdbAdminToken": TOKEN });
        restoreEnv = {
          HOMEIQ_RESTORE_DIR: folder,
          HOMEIQ_STACK: stack,
          HOMEIQ_INFLUX_CONTAINER: fresh.influx,
          HOMEIQ_INFLUX_TOKEN: TOKEN,
          HOMEIQ_SQLITE_RESTORES: `data-api=${fresh.volume("sqlite-data")}:metadata.db sports-data=${fresh.volume("sports-data")}:webhooks.db`,
          HOMEIQ_RESTORE_HELPER_IMAGE: IMAGES.python,
        };
      });
    }, 120_000);

    it.each(plan(["restore-verified", "restore-influx-copied", "restore-sqlite-copied"]))(
      "at %s, %s to the %s: exit 128+n, says what was restored, no helper container, no temporary copy in InfluxDB",
      async (step, sig, target) => {
        const { pid, result } = await interruptAt(RESTORE_SH, [], restoreEnv, step, sig, target);
        expect(result.code).toBe(EXIT[sig]);
        expect(result.stderr).toContain(
          step === "restore-verified" ? `interrupted by ${sig} before anything was changed` : `interrupted by ${sig} -- restore INCOMPLETE; already restored: `,
        );
        expect(scratchOf(pid)).toEqual([]);
        expect(docker(["exec", fresh.influx, "ls", "-A", "/tmp"]).stdout.split("\n").filter((f) => f.startsWith("homeiq-restore"))).toEqual([]);
        // DIRECT staged the SQLite files into their volumes under temporary names: none is left behind.
        const volumes = [fresh.volume("sqlite-data"), fresh.volume("sports-data")];
        const left = docker(["run", "--rm", ...volumes.flatMap((v, i) => ["-v", `${v}:/v${i}:ro`]), IMAGES.busybox, "find", "/v0", "/v1", "-name", "*.homeiq-restore-tmp"]).stdout.trim();
        expect(left).toBe("");
      },
      60_000,
    );

    it("then runs to the end, and the data is identical to what was backed up", async () => {
      const r = await startInterruptible(RESTORE_SH, [], restoreEnv).done;
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(old.influxChecksum(fresh.influx)).toBe(old.influxChecksum());
      expect(digestOnVolume(fresh.volume("sqlite-data"), "metadata.db")).toEqual(dataApi);
    }, 60_000);
  });
});
