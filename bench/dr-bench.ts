/**
 * Disaster recovery, phase by phase (prints figures; not a test): how long it takes to get a stack's data
 * back onto an empty engine from nothing but its off-host restic repository, as docs/keeping-your-data.md
 * describes it.
 *
 *   npm run bench:dr                                   # 200 MiB SQLite + 150 MiB InfluxDB-volume data
 *   BENCH_SQLITE_MB=400 BENCH_VOLUME_MB=300 npm run bench:dr
 *
 * Untimed set-up: a SQLite database (WAL mode) in a running non-root service's volume and incompressible
 * shard-like files in the InfluxDB STAND-IN's volume; one backup (backup.sh) copied into a restic repository
 * on a local path (copy.sh, timed for information). Then the disaster (containers, volumes and local backups
 * removed) and, timed: fetching the newest backup from the repository (fetch-copy.sh: restic restore, then
 * restore.sh's full verification), bringing up empty volumes and a fresh InfluxDB (what a first deploy does
 * before its restore), restore.sh, and checking the data against what was backed up (SQLite per-table digests,
 * the InfluxDB stand-in's checksum). The InfluxDB side is the stand-in, not InfluxDB.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import {
  docker, IMAGES, influxChecksum, pythonOnVolume, REPO_ROOT, Resources, restoreEnv, runScript, SERVICE_UID, sqliteDigestOnVolume, stackNames, startInflux, startService,
} from "../test/engine/helpers";

const SQLITE_MB = Number(process.env["BENCH_SQLITE_MB"] ?? 200);
const VOLUME_MB = Number(process.env["BENCH_VOLUME_MB"] ?? 150);
const MiB = 1024 * 1024;
const PASSPHRASE = "bench-dr-passphrase-not-secret";

function engineUp(): void {
  for (const s of ["start.sh", "build-standins.sh", "build-stack-standins.sh"]) {
    const r = spawnSync("bash", [path.join(REPO_ROOT, "engine", s)], { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`engine/${s} failed; the benchmark needs a real Docker engine`);
  }
  if (spawnSync("restic", ["version"]).status !== 0) throw new Error("restic is not installed (engine/install.sh installs it)");
}

function script(rel: string, env: Record<string, string>): string {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HOMEIQ_")) base[k] = v;
  const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts", rel)], { env: { ...base, ...env }, maxBuffer: 64 * MiB, timeout: 1_800_000 });
  if (r.status !== 0) throw new Error(`${rel} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout.toString();
}

function timed<T>(what: string, bytes: number, phases: Array<[string, number, number]>, fn: () => T): T {
  const t0 = process.hrtime.bigint();
  const out = fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  phases.push([what, ms, bytes]);
  console.log(`  ${what}: ${(ms / 1000).toFixed(1)} s${bytes ? ` (${(bytes / MiB / (ms / 1000)).toFixed(1)} MiB/s)` : ""}`);
  return out;
}

function main(): void {
  engineUp();
  const res = new Resources();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-bench-dr-"));
  try {
    const s = stackNames(res, "bench-dr", "homeiq-bench-dr-token-not-secret");
    for (const v of [s.influx.volume, s.dataApi.volume, s.sportsData.volume]) res.volume(v);
    runScript("chown-volume.sh", { HOMEIQ_CHOWN_VOLUMES: `${s.dataApi.volume}=${SERVICE_UID} ${s.sportsData.volume}=${SERVICE_UID}`, HOMEIQ_HELPER_IMAGE: IMAGES.busybox });
    console.log(`set-up: ${SQLITE_MB} MiB SQLite database, ${VOLUME_MB} MiB of InfluxDB stand-in shard files (untimed)`);
    pythonOnVolume(s.dataApi.volume, `
import sqlite3
c = sqlite3.connect("/d/metadata.db")
c.execute("PRAGMA journal_mode=wal")
c.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, entity TEXT, ts REAL, attrs BLOB)")
with c:
    c.executemany("INSERT INTO events (entity, ts, attrs) VALUES (?, ?, randomblob(1000))", (("sensor.e%d" % (i % 500), 1700000000 + i) for i in range(int(${SQLITE_MB} * 1024 * 1024 / 1100))))
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
`, [], SERVICE_UID);
    startInflux(s);
    const shards = Math.max(1, Math.round(VOLUME_MB / 10));
    docker(["run", "--rm", "-v", `${s.influx.volume}:/v`, IMAGES.busybox, "sh", "-c",
      `mkdir -p /v/engine/data && for i in $(seq 1 ${shards}); do head -c $((${VOLUME_MB} * 1048576 / ${shards})) /dev/urandom > /v/engine/data/shard-$i.tsm; done`]);
    startService(s.dataApi.container, s.dataApi.volume);
    const env = (root: string): Record<string, string> => ({
      HOMEIQ_STACK: s.stack, HOMEIQ_BACKUP_ROOT: root, HOMEIQ_INFLUX_CONTAINER: s.influx.container, HOMEIQ_INFLUX_TOKEN: s.token,
      HOMEIQ_SQLITE_DBS: `data-api=${s.dataApi.container}:/app/data/metadata.db`, HOMEIQ_STACK_CONFIG_JSON: "{}",
    });
    const copy = { HOMEIQ_COPY_REPO: path.join(work, "restic"), HOMEIQ_COPY_PASSWORD: PASSPHRASE };
    const oldRoot = path.join(work, "old-host");
    script("backup/backup.sh", { ...env(oldRoot), HOMEIQ_BACKUP_REASON: "bench" });
    const before = { dataApi: sqliteDigestOnVolume(s.dataApi.volume, "metadata.db"), influx: influxChecksum(s) };
    const phases: Array<[string, number, number]> = [];
    const dirOld = path.join(oldRoot, s.stack, fs.readdirSync(path.join(oldRoot, s.stack)).find((n) => /^\d{8}T\d{6}Z$/.test(n))!);
    const bytes = Number(spawnSync("du", ["-sb", dirOld]).stdout.toString().split("\t")[0]);
    console.log(`backup: ${(bytes / MiB).toFixed(1)} MiB; load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${os.cpus().length} CPUs\n`);
    console.log("on the old host (for information):");
    timed("copy.sh into the restic repository (first copy, with restic check)", bytes, [], () => script("backup/copy.sh", { HOMEIQ_STACK: s.stack, HOMEIQ_BACKUP_ROOT: oldRoot, ...copy }));

    // The disaster.
    docker(["rm", "-f", "-v", s.influx.container, s.dataApi.container]);
    docker(["volume", "rm", s.influx.volume, s.dataApi.volume, s.sportsData.volume]);
    fs.rmSync(oldRoot, { recursive: true, force: true });

    console.log("\non the new host, from the repository and its passphrase:");
    const newRoot = path.join(work, "new-host");
    const fetched = timed("1. fetch-copy.sh (restic restore + full verification)", bytes, phases, () =>
      /^HOMEIQ_BACKUP_DIR=(.*)$/m.exec(script("backup/fetch-copy.sh", { HOMEIQ_STACK: s.stack, HOMEIQ_BACKUP_ROOT: newRoot, ...copy }))![1]!);
    timed("2. empty volumes, hand-over, a fresh InfluxDB up", 0, phases, () => {
      for (const v of [s.influx.volume, s.dataApi.volume]) docker(["volume", "create", v]);
      runScript("chown-volume.sh", { HOMEIQ_CHOWN_VOLUMES: `${s.dataApi.volume}=${SERVICE_UID}`, HOMEIQ_HELPER_IMAGE: IMAGES.busybox });
      startInflux(s);
    });
    timed("3. restore.sh", bytes, phases, () => {
      const r = runScript("restore.sh", restoreEnv(s, fetched, { HOMEIQ_SQLITE_RESTORES: `data-api=${s.dataApi.volume}:metadata.db:${SERVICE_UID}` }));
      if (r.code !== 0) throw new Error(`restore.sh failed:\n${r.stdout}\n${r.stderr}`);
    });
    const same = timed("4. check: SQLite per-table digests, InfluxDB checksum", 0, phases, () => {
      startService(s.dataApi.container, s.dataApi.volume);
      return JSON.stringify(sqliteDigestOnVolume(s.dataApi.volume, "metadata.db")) === JSON.stringify(before.dataApi) && influxChecksum(s) === before.influx;
    });
    const total = phases.reduce((n, [, ms]) => n + ms, 0);
    console.log(`\ntotal, phases 1-4: ${(total / 1000).toFixed(1)} s for ${(bytes / MiB).toFixed(1)} MiB; data identical to the backup: ${same ? "yes" : "NO"}`);
    if (!same) process.exitCode = 1;
  } finally {
    res.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main();
