/**
 * Backup throughput benchmark (prints figures; not a test).
 *
 *   npm run bench:backup                      # defaults: 200 MiB SQLite + 150 MiB plain volume
 *   BENCH_SQLITE_MB=400 BENCH_VOLUME_MB=300 BENCH_ROUNDS=3 npm run bench:backup
 *
 * Generates a SQLite database in a volume (used by a running non-root service
 * container, WAL mode) and a plain data volume (the InfluxDB STAND-IN's data
 * volume, filled with incompressible shard-like files), then, in the same run
 * and alternating, times:
 *   - scripts/backup/backup.sh on that stack (influx backup + SQLite online
 *     backup + quick_check + checksums + manifest verification), and
 *   - a raw `tar` of the same two volumes to the same host folder, twice: streamed
 *     out of a one-off busybox container mounting both read-only (works with a
 *     remote engine), and GNU tar on the host over the volumes' mount points
 *     (local engine only; the floor for copying these bytes at all).
 * Prints MiB/s of source data for each and the ratios. The InfluxDB side runs
 * the stand-in `influx backup` (a tar inside the container), not InfluxDB.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import {
  backupDirOf, docker, IMAGES, pythonOnVolume, Resources, runScript, SERVICE_UID, startInflux, startService, stackNames,
} from "../test/engine/helpers";

const SQLITE_MB = Number(process.env["BENCH_SQLITE_MB"] ?? 200);
const VOLUME_MB = Number(process.env["BENCH_VOLUME_MB"] ?? 150);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 2);
const MiB = 1024 * 1024;

function engineUp(): void {
  for (const s of ["start.sh", "build-standins.sh", "build-stack-standins.sh"]) {
    const r = spawnSync("bash", [path.join(__dirname, "..", "engine", s)], { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`engine/${s} failed; the benchmark needs a real Docker engine`);
  }
}

function dirBytes(d: string): number {
  let n = 0;
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    n += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return n;
}

function volumeBytes(volume: string): number {
  return Number(docker(["run", "--rm", "-v", `${volume}:/v:ro`, IMAGES.busybox, "du", "-sb", "/v"]).stdout.split(/\s/)[0]);
}

function fmt(bytes: number, ms: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB in ${(ms / 1000).toFixed(2)} s = ${(bytes / MiB / (ms / 1000)).toFixed(1)} MiB/s`;
}

function main(): void {
  engineUp();
  const res = new Resources();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-bench-"));
  try {
    const s = stackNames(res, "bench", "homeiq-bench-token-not-secret");
    for (const v of [s.influx.volume, s.dataApi.volume]) res.volume(v);
    runScript("chown-volume.sh", { HOMEIQ_CHOWN_VOLUMES: `${s.dataApi.volume}=${SERVICE_UID}`, HOMEIQ_HELPER_IMAGE: IMAGES.busybox });

    let t = Date.now();
    process.stdout.write(`generating a ${SQLITE_MB} MiB SQLite database (WAL mode) in volume ${s.dataApi.volume} ... `);
    pythonOnVolume(
      s.dataApi.volume,
      `
import sqlite3, sys
c = sqlite3.connect("/d/metadata.db")
c.execute("PRAGMA journal_mode=wal")
c.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, entity TEXT, ts REAL, attrs BLOB)")
c.execute("CREATE INDEX events_entity ON events (entity, ts)")
rows = int(${SQLITE_MB} * 1024 * 1024 / 1100)
with c:
    c.executemany("INSERT INTO events (entity, ts, attrs) VALUES (?, ?, randomblob(1000))",
                  (("sensor.e%d" % (i % 500), 1700000000 + i) for i in range(rows)))
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
`,
      [],
      SERVICE_UID,
    );
    console.log(`${((Date.now() - t) / 1000).toFixed(1)} s`);

    startInflux(s);
    t = Date.now();
    process.stdout.write(`generating ${VOLUME_MB} MiB of shard files in the InfluxDB stand-in's volume ${s.influx.volume} ... `);
    const files = Math.max(1, Math.round(VOLUME_MB / 10));
    docker(["run", "--rm", "-v", `${s.influx.volume}:/v`, IMAGES.busybox, "sh", "-c",
      `mkdir -p /v/engine/data && for i in $(seq 1 ${files}); do head -c $((${VOLUME_MB} * 1048576 / ${files})) /dev/urandom > /v/engine/data/shard-$i.tsm; done`]);
    console.log(`${((Date.now() - t) / 1000).toFixed(1)} s`);
    startService(s.dataApi.container, s.dataApi.volume);

    const source = volumeBytes(s.dataApi.volume) + volumeBytes(s.influx.volume);
    console.log(`source data: ${(source / MiB).toFixed(1)} MiB (SQLite volume + plain volume); ${ROUNDS} round(s), alternating\n`);

    const root = path.join(work, "backups");
    // Two raw-tar baselines of the same data, written to the same disk:
    //  - "tar via docker": a one-off busybox container mounting both volumes
    //    read-only, its stdout streamed to a host file (works with a remote engine too);
    //  - "host tar": GNU tar straight over the volumes' mount points (local engine
    //    only: the lower bound for copying these bytes at all).
    const mounts = [s.dataApi.volume, s.influx.volume].map((v) => docker(["volume", "inspect", "-f", "{{.Mountpoint}}", v]).stdout.trim());
    const hostTarPossible = mounts.every((m) => fs.existsSync(m));
    type Row = { round: number; backupMs: number; dockerTarMs: number; hostTarMs?: number; backupBytes: number; tarBytes: number };
    const rows: Row[] = [];
    const timeTar = (file: string, cmd: string, args: string[]): number => {
      const t0 = Date.now();
      const fd = fs.openSync(file, "w");
      const tr = spawnSync(cmd, args, { stdio: ["ignore", fd, "inherit"] });
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      if (tr.status !== 0) throw new Error(`${cmd} tar failed`);
      return Date.now() - t0;
    };
    for (let round = 1; round <= ROUNDS; round++) {
      const tarFile = path.join(work, `raw-${round}.tar`);
      const dockerTarMs = timeTar(tarFile, "docker", ["run", "--rm", "-v", `${s.dataApi.volume}:/data/sqlite:ro`, "-v", `${s.influx.volume}:/data/influx:ro`,
        IMAGES.busybox, "tar", "-C", "/data", "-cf", "-", "."]);
      const tarBytes = fs.statSync(tarFile).size;
      fs.rmSync(tarFile);
      let hostTarMs: number | undefined;
      if (hostTarPossible) {
        hostTarMs = timeTar(tarFile, "tar", ["-C", "/", "-cf", "-", ...mounts.map((m) => m.replace(/^\//, ""))]);
        fs.rmSync(tarFile);
      }

      const t0 = Date.now();
      const b = runScript("backup.sh", {
        HOMEIQ_STACK: s.stack,
        HOMEIQ_BACKUP_ROOT: root,
        HOMEIQ_BACKUP_KEEP: "1",
        HOMEIQ_BACKUP_REASON: `bench-${round}`,
        HOMEIQ_INFLUX_CONTAINER: s.influx.container,
        HOMEIQ_INFLUX_TOKEN: s.token,
        HOMEIQ_SQLITE_DBS: `data-api=${s.dataApi.container}:/app/data/metadata.db`,
      });
      spawnSync("sync");
      const backupMs = Date.now() - t0;
      if (b.code !== 0) throw new Error(`backup.sh failed:\n${b.stdout}\n${b.stderr}`);
      const backupBytes = dirBytes(backupDirOf(b));
      console.log(`round ${round}, backup.sh steps:\n${b.stdout.split("\n").filter((l) => / MiB in \d+ ms/.test(l)).map((l) => `  ${l}`).join("\n")}`);
      rows.push({ round, backupMs, dockerTarMs, hostTarMs, backupBytes, tarBytes });
    }

    const col = (ms: number | undefined): string => (ms === undefined ? "n/a (remote engine)" : fmt(source, ms)).padEnd(36);
    console.log(`\nthroughput = source MiB / wall time; ratio = backup.sh throughput / tar throughput`);
    console.log(`round | ${"backup.sh".padEnd(36)} | ${"tar via docker".padEnd(36)} | ${"host tar".padEnd(36)} | ratio vs docker tar | ratio vs host tar`);
    for (const r of rows) {
      console.log(`${String(r.round).padEnd(5)} | ${col(r.backupMs)} | ${col(r.dockerTarMs)} | ${col(r.hostTarMs)} | ${(r.dockerTarMs / r.backupMs).toFixed(2).padEnd(19)} | ${r.hostTarMs === undefined ? "n/a" : (r.hostTarMs / r.backupMs).toFixed(2)}`);
    }
    const best = (k: "backupMs" | "dockerTarMs" | "hostTarMs"): number | undefined => {
      const v = rows.map((r) => r[k]).filter((x): x is number => x !== undefined);
      return v.length ? Math.min(...v) : undefined;
    };
    const bb = best("backupMs")!, bd = best("dockerTarMs")!, bh = best("hostTarMs");
    console.log(`best of ${ROUNDS}: backup.sh ${fmt(source, bb)}; tar via docker ${fmt(source, bd)} (ratio ${(bd / bb).toFixed(2)})` +
      (bh === undefined ? "" : `; host tar ${fmt(source, bh)} (ratio ${(bh / bb).toFixed(2)})`));
    console.log(`bytes written: backup folder ${(rows[0]!.backupBytes / MiB).toFixed(1)} MiB, tar ${(rows[0]!.tarBytes / MiB).toFixed(1)} MiB`);
  } finally {
    res.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main();
