/**
 * Migration benchmark (prints figures; not a test).
 *
 *   npm run bench:migrate                                   # defaults: 150 + 150 + 30 MiB
 *   BENCH_INFLUX_MB=300 BENCH_SQLITE_MB=200 BENCH_LAYER_MB=50 npm run bench:migrate
 *
 * Brings up an old-style compose deployment (test/engine/fixtures/compose-v1, stand-in images) and fills
 * it: BENCH_INFLUX_MB of points in the InfluxDB STAND-IN, a BENCH_SQLITE_MB data-api database (WAL mode,
 * on its volume) and a BENCH_LAYER_MB sports-data database in its container layer. Then times
 * scripts/migrate/from-compose.sh twice, as a user runs it:
 *   - on the STOPPED deployment (the cut-over: read-only copies, scratch InfluxDB, backup.sh, verification),
 *   - on the RUNNING deployment (the rehearsal: backup.sh online in the old containers, verification),
 * and the program's restore of the stopped run's backup into a fresh stack (restore-stack.sh with the
 * restore Command's environment). The InfluxDB side is the stand-in's `influx backup`/`restore` (tar),
 * not InfluxDB's.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { docker, IMAGES } from "../test/engine/helpers";
import {
  FreshStack, migrate, migrateName, OldDeployment, printedCommands, restoreAsProgram, runPrintedCommands, tmpDir,
} from "../test/engine/migrate-helpers";

const INFLUX_MB = Number(process.env["BENCH_INFLUX_MB"] ?? 150);
const SQLITE_MB = Number(process.env["BENCH_SQLITE_MB"] ?? 150);
const LAYER_MB = Number(process.env["BENCH_LAYER_MB"] ?? 30);
const TOKEN = "homeiq-bench-operator-token-not-secret";
const MiB = 1024 * 1024;

function engineUp(): void {
  for (const s of ["start.sh", "build-standins.sh"]) {
    const r = spawnSync("bash", [path.join(__dirname, "..", "engine", s)], { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`engine/${s} failed; the benchmark needs a real Docker engine`);
  }
}

const bigDb = (mb: number, wal: boolean): string => `
import os, sqlite3, sys
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA journal_mode=${wal ? "wal" : "delete"}")
c.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, entity TEXT, ts REAL, attrs BLOB)")
c.execute("CREATE INDEX events_entity ON events (entity, ts)")
rows = int(${mb} * 1024 * 1024 / 1100)
with c:
    c.executemany("INSERT INTO events (entity, ts, attrs) VALUES (?, ?, randomblob(1000))",
                  (("sensor.e%d" % (i % 500), 1700000000 + i) for i in range(rows)))
${wal ? 'c.execute("PRAGMA wal_checkpoint(TRUNCATE)")' : ""}
c.close()
`;

function bytesOf(args: string[]): number {
  return Number(docker(["run", "--rm", ...args, IMAGES.busybox, "du", "-sb", "/v"]).stdout.split(/\s/)[0]);
}

function timed<T>(what: string, f: () => T): { value: T; ms: number } {
  const t = Date.now();
  const value = f();
  const ms = Date.now() - t;
  process.stdout.write(`${what}: ${(ms / 1000).toFixed(1)} s\n`);
  return { value, ms };
}

async function main(): Promise<void> {
  engineUp();
  const old = new OldDeployment("bench", TOKEN);
  const fresh = new FreshStack(migrateName("bench-new"));
  const work = tmpDir("bench");
  try {
    old.up();
    timed(`filling: ${INFLUX_MB} MiB of points into the InfluxDB stand-in`, () => old.writeInflux(Math.round((INFLUX_MB * MiB) / 62)));
    timed(`filling: ${SQLITE_MB} MiB data-api metadata.db (WAL, volume)`, () => old.python("data-api", bigDb(SQLITE_MB, true), ["/app/data/metadata.db"]));
    timed(`filling: ${LAYER_MB} MiB sports-data webhooks.db (container layer)`, () => old.python("sports-data", bigDb(LAYER_MB, false), ["/app/data/webhooks.db"]));
    const sources = {
      influx: bytesOf(["-v", `${old.volume("influxdb_data")}:/v:ro`]),
      sqlite: bytesOf(["-v", `${old.volume("sqlite-data")}:/v:ro`]),
      layer: Number(docker(["exec", old.container("sports-data"), "stat", "-c", "%s", "/app/data/webhooks.db"]).stdout.trim()),
    };
    const total = sources.influx + sources.sqlite + sources.layer;
    process.stdout.write(
      `old deployment holds ${(total / MiB).toFixed(1)} MiB: influxdb_data ${(sources.influx / MiB).toFixed(1)}, ` +
        `sqlite-data ${(sources.sqlite / MiB).toFixed(1)}, sports-data layer ${(sources.layer / MiB).toFixed(1)} MiB\n`,
    );

    const args = (root: string) => ["--stack", fresh.stack, "--backup-root", path.join(work, root), "--project-glob", old.project];
    const mbps = (ms: number) => `${(total / MiB / (ms / 1000)).toFixed(1)} MiB/s`;

    old.compose(["stop"]);
    const stopped = timed("migrate, STOPPED deployment (cut-over)", () => migrate(args("stopped")));
    if (stopped.value.code !== 0) throw new Error(`from-compose.sh failed: ${stopped.value.stderr}`);
    old.up();
    const running = timed("migrate, RUNNING deployment (rehearsal)", () => migrate(args("running")));
    if (running.value.code !== 0) throw new Error(`from-compose.sh failed: ${running.value.stderr}`);

    const { config, secretKeys } = runPrintedCommands(printedCommands(stopped.value.stdout), work);
    const folder = config["homeiq:restoreFrom"]!;
    const backupBytes = Number(spawnSync("du", ["-sb", folder]).stdout.toString().split(/\s/)[0]);
    const t = Date.now();
    const { restore } = await restoreAsProgram(fresh, "prod", config, secretKeys, work);
    const restoreMs = Date.now() - t;
    if (restore.code !== 0) throw new Error(`restore failed: ${restore.stderr}`);
    if (old.influxChecksum(fresh.influx) !== old.influxChecksum()) throw new Error("restored InfluxDB data differs");

    process.stdout.write("\n--- migration of an old compose deployment (2 cores shared; stand-in InfluxDB) ---\n");
    process.stdout.write(`data: ${(total / MiB).toFixed(1)} MiB; backup folder ${(backupBytes / MiB).toFixed(1)} MiB\n`);
    process.stdout.write(`from-compose.sh, stopped deployment: ${(stopped.ms / 1000).toFixed(1)} s (${mbps(stopped.ms)})\n`);
    process.stdout.write(`from-compose.sh, running deployment: ${(running.ms / 1000).toFixed(1)} s (${mbps(running.ms)})\n`);
    process.stdout.write(`restore into a fresh stack (synth + new InfluxDB + restore-stack.sh + retention): ${(restoreMs / 1000).toFixed(1)} s\n`);
    for (const line of stopped.value.stdout.split("\n").filter((l) => /ready in|copied|backup complete|MiB in/.test(l))) {
      process.stdout.write(`  stopped run: ${line.trim()}\n`);
    }
  } finally {
    old.remove();
    fresh.remove();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
