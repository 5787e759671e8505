/**
 * Backup and restore throughput beside the raw speed of the same machine (prints figures; not a test).
 *
 *   npm run bench:backup                      # defaults: 200 MiB SQLite + 150 MiB InfluxDB-volume data, 3 rounds
 *   BENCH_SQLITE_MB=400 BENCH_VOLUME_MB=300 BENCH_ROUNDS=5 npm run bench:backup
 *   BENCH_COMPARE_REF=<git commit> npm run bench:backup   # adds backup.sh as it was at that commit
 *
 * Generates a SQLite database (WAL mode) in a volume used by a running non-root service container, and
 * incompressible shard-like files in the InfluxDB STAND-IN's data volume. Then, for the same data in the
 * same run, each round times, one after the other:
 *   - host tar     GNU tar of both volumes' folders into one file, fsynced (local engine only)
 *   - sha256sum    coreutils sha256sum of every file in both volumes (local engine only)
 *   - openssl      `openssl dgst -sha256` of the same files, the hasher backup.sh uses when present
 *   - sqlite3      the sqlite3 CLI's `.backup` of the database into a file, fsynced (local engine only)
 *   - docker tar   tar in a one-off busybox container mounting both volumes read-only, its stdout
 *                  (logging off: --log-driver none) into a host file, fsynced
 *   - stand-in     the InfluxDB stand-in's own `influx backup` in its container: part of every
 *                  backup.sh row (it tars its data and hashes it with busybox sha256sum for its own
 *                  manifest), and not a measure of the real influx CLI
 *   - backup.sh    DIRECT transfer (what a local engine gets)
 *   - backup.sh    STREAM transfer (what a remote ssh:// engine gets, run here on the local engine)
 *   - restore.sh   of that round's DIRECT backup onto the same volumes (the service stopped): SQLite DIRECT (one
 *                  helper copies each file from the backup folder into its volume, hashing it in the same pass)
 * and prints MiB/s (min / median / max over the rounds), each median's ratio to host tar's, the ratio of
 * backup.sh to host tar taken round by round, and what a pre-change backup of 1 GiB adds to a deploy,
 * extrapolated from the measured throughput. All reads come from a hot page cache (the data was just
 * written, and the machine is not asked to drop its caches): the ratios compare like with like.
 * The InfluxDB side runs the stand-in `influx backup` (a tar inside the container), not InfluxDB.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import {
  backupDirOf, docker, IMAGES, pythonOnVolume, REPO_ROOT, Resources, runScript, SERVICE_UID, startInflux, startService, stackNames,
} from "../test/engine/helpers";

const SQLITE_MB = Number(process.env["BENCH_SQLITE_MB"] ?? 200);
const VOLUME_MB = Number(process.env["BENCH_VOLUME_MB"] ?? 150);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const COMPARE_REF = process.env["BENCH_COMPARE_REF"] ?? "";
const MiB = 1024 * 1024;
const TARGET_RATIO = 0.25;

function engineUp(): void {
  for (const s of ["start.sh", "build-standins.sh", "build-stack-standins.sh"]) {
    const r = spawnSync("bash", [path.join(REPO_ROOT, "engine", s)], { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`engine/${s} failed; the benchmark needs a real Docker engine`);
  }
}

function filesUnder(d: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function bytesOf(files: string[]): number {
  return files.reduce((n, f) => n + fs.statSync(f).size, 0);
}

function volumeBytes(volume: string): number {
  return Number(docker(["run", "--rm", "-v", `${volume}:/v:ro`, IMAGES.busybox, "du", "-sb", "/v"]).stdout.split(/\s/)[0]);
}

/** Runs a command and returns its wall time in ms; its stdout goes into `outFile` (fsynced, then removed) or nowhere. */
function timed(cmd: string, args: string[], outFile?: string, env?: Record<string, string>): number {
  const t0 = process.hrtime.bigint();
  const fd = outFile ? fs.openSync(outFile, "w") : "ignore";
  const r = spawnSync(cmd, args, { stdio: ["ignore", fd, "pipe"], env: { ...process.env, ...(env ?? {}) }, maxBuffer: 64 * MiB });
  if (typeof fd === "number") {
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 4).join(" ")} failed (exit ${r.status}): ${r.stderr?.toString().slice(-2000)}`);
  if (outFile) fs.rmSync(outFile);
  return ms;
}

/** Runs one of the backup scripts (this checkout's or an older copy), returns wall ms and its output. */
function timedScript(scriptPath: string, env: Record<string, string>): { ms: number; stdout: string } {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HOMEIQ_")) base[k] = v;
  const t0 = process.hrtime.bigint();
  const r = spawnSync("bash", [scriptPath], { env: { ...base, ...env }, maxBuffer: 64 * MiB, timeout: 900_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${scriptPath} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { ms, stdout: r.stdout.toString() };
}

/** scripts/backup as it was at a git commit, in a temporary folder. */
function scriptsAt(ref: string, into: string): string {
  const dir = path.join(into, "scripts-at-ref");
  fs.mkdirSync(dir);
  const list = spawnSync("git", ["-C", REPO_ROOT, "ls-tree", "--name-only", `${ref}:scripts/backup`]);
  if (list.status !== 0) throw new Error(`BENCH_COMPARE_REF=${ref}: git ls-tree failed: ${list.stderr}`);
  for (const f of list.stdout.toString().split("\n").filter(Boolean)) {
    const r = spawnSync("git", ["-C", REPO_ROOT, "show", `${ref}:scripts/backup/${f}`]);
    if (r.status !== 0) throw new Error(`BENCH_COMPARE_REF=${ref}: git show ${ref}:scripts/backup/${f} failed: ${r.stderr}`);
    fs.writeFileSync(path.join(dir, f), r.stdout);
  }
  return path.join(dir, "backup.sh");
}

interface Row {
  readonly name: string;
  readonly bytes: number;
  readonly ms: number[];
}

function stats(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0]!, median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, max: s[s.length - 1]! };
}

const rate = (bytes: number, ms: number): number => bytes / MiB / (ms / 1000);
const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(" ");

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
    const shards = Math.max(1, Math.round(VOLUME_MB / 10));
    docker(["run", "--rm", "-v", `${s.influx.volume}:/v`, IMAGES.busybox, "sh", "-c",
      `mkdir -p /v/engine/data && for i in $(seq 1 ${shards}); do head -c $((${VOLUME_MB} * 1048576 / ${shards})) /dev/urandom > /v/engine/data/shard-$i.tsm; done`]);
    console.log(`${((Date.now() - t) / 1000).toFixed(1)} s`);
    startService(s.dataApi.container, s.dataApi.volume);

    const influxBytes = volumeBytes(s.influx.volume);
    const source = volumeBytes(s.dataApi.volume) + influxBytes;
    const mounts = [s.dataApi.volume, s.influx.volume].map((v) => docker(["volume", "inspect", "-f", "{{.Mountpoint}}", v]).stdout.trim());
    const local = mounts.every((m) => fs.existsSync(m));
    const hostFiles = local ? mounts.flatMap(filesUnder) : [];
    const dbFile = local ? path.join(mounts[0]!, "metadata.db") : "";
    const dbBytes = local ? fs.statSync(dbFile).size : 0;
    const hasSqlite3 = spawnSync("sqlite3", ["-version"]).status === 0;
    const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;
    const oldBackup = COMPARE_REF ? scriptsAt(COMPARE_REF, work) : "";
    // A fresh backup root per run, removed after it (untimed): retention has nothing to delete.
    let runs = 0;
    const freshRoot = (): string => path.join(work, `backups-${++runs}`);
    const dropRoot = (dir: string): void => fs.rmSync(path.dirname(path.dirname(dir)), { recursive: true, force: true });
    const backupEnv = (rootDir: string, extra: Record<string, string>): Record<string, string> => ({
      HOMEIQ_STACK: s.stack,
      HOMEIQ_BACKUP_ROOT: rootDir,
      HOMEIQ_BACKUP_KEEP: "1",
      HOMEIQ_BACKUP_REASON: "bench",
      HOMEIQ_INFLUX_CONTAINER: s.influx.container,
      HOMEIQ_INFLUX_TOKEN: s.token,
      HOMEIQ_SQLITE_DBS: `data-api=${s.dataApi.container}:/app/data/metadata.db`,
      ...extra,
    });

    console.log(`source data: ${(source / MiB).toFixed(1)} MiB (SQLite ${(dbBytes / MiB).toFixed(1)} MiB + InfluxDB volume); ` +
      `${ROUNDS} rounds; engine ${local ? "local" : "remote"}; load average ${load()} (1, 5, 15 min); ${os.cpus().length} CPUs\n`);

    const rows = new Map<string, Row>();
    const add = (name: string, bytes: number, ms: number): void => {
      const row = rows.get(name) ?? { name, bytes, ms: [] };
      row.ms.push(ms);
      rows.set(name, row);
    };
    const steps = (out: string): string =>
      out.split("\n").filter((l) => /(MiB|restored|in place|same pass,) in \d+ ms|^\[homeiq-restore\] \+/.test(l)).map((l) => l.replace(/^\[homeiq-(backup|restore)\] /, "")).join("; ");
    const HOST_TAR = "host tar (fsync)";
    const DIRECT = "backup.sh (DIRECT, local engine)";
    const STREAM = "backup.sh (STREAM, as for ssh://)";
    const OLD = `backup.sh at ${COMPARE_REF.slice(0, 12)}`;
    const RESTORE = "restore.sh";
    const STANDIN = "stand-in influx backup alone";

    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round} (load ${load()})`);
      const out = path.join(work, "out");
      if (local) {
        add(HOST_TAR, source, timed("tar", ["-C", "/", "-cf", "-", ...mounts.map((m) => m.replace(/^\//, ""))], out));
        add("sha256sum (coreutils)", bytesOf(hostFiles), timed("sha256sum", hostFiles));
        if (hasOpenssl) add("openssl dgst -sha256", bytesOf(hostFiles), timed("openssl", ["dgst", "-sha256", ...hostFiles]));
        if (hasSqlite3) {
          add("sqlite3 .backup (fsync)", dbBytes, timed("sh", ["-c", 'sqlite3 "$1" ".backup $2" && sync "$2" && rm "$2"', "sh", dbFile, out]));
        }
      }
      add("docker tar (--log-driver none)", source, timed("docker", ["run", "--rm", "--log-driver", "none", "--network", "none",
        "-v", `${s.dataApi.volume}:/data/sqlite:ro`, "-v", `${s.influx.volume}:/data/influx:ro`, IMAGES.busybox, "tar", "-C", "/data", "-cf", "-", "."], out));

      // The stand-in's `influx backup` alone (a tar, then busybox sha256sum for its own manifest):
      // part of every backup.sh row below.
      const influxTmp = `/tmp/homeiq-bench-${round}`;
      add(STANDIN, influxBytes, timed("docker", ["exec", "-e", "INFLUX_TOKEN", s.influx.container, "influx", "backup", influxTmp], undefined,
        { INFLUX_TOKEN: s.token }));
      docker(["exec", s.influx.container, "rm", "-rf", influxTmp]);

      // The backup.sh variants in turn, each round starting with the next one: none always runs first.
      const variants: Array<[string, string, Record<string, string>]> = [
        [DIRECT, path.join(REPO_ROOT, "scripts", "backup", "backup.sh"), { HOMEIQ_BACKUP_TRANSFER: "direct" }],
        [STREAM, path.join(REPO_ROOT, "scripts", "backup", "backup.sh"), { HOMEIQ_BACKUP_TRANSFER: "stream" }],
        ...(oldBackup ? [[OLD, oldBackup, {}] as [string, string, Record<string, string>]] : []),
      ];
      let direct = "";
      for (let v = 0; v < variants.length; v++) {
        const [name, script, extra] = variants[(v + round - 1) % variants.length]!;
        const b = timedScript(script, backupEnv(freshRoot(), extra));
        add(name, source, b.ms);
        console.log(`  ${name}: ${steps(b.stdout)}`);
        const dir = backupDirOf({ code: 0, stdout: b.stdout, stderr: "" });
        if (name === DIRECT) direct = dir;
        else dropRoot(dir);
      }

      // restore.sh of this round's DIRECT backup onto the same volumes, as `pulumi up` runs it:
      // InfluxDB running, the SQLite service stopped.
      const dir = direct;
      const backupBytes = bytesOf(filesUnder(dir));
      docker(["stop", "-t", "2", s.dataApi.container]);
      const restore = timedScript(path.join(REPO_ROOT, "scripts", "backup", "restore.sh"), {
        HOMEIQ_RESTORE_DIR: dir,
        HOMEIQ_STACK: s.stack,
        HOMEIQ_INFLUX_CONTAINER: s.influx.container,
        HOMEIQ_INFLUX_TOKEN: s.token,
        HOMEIQ_SQLITE_RESTORES: `data-api=${s.dataApi.volume}:metadata.db:${SERVICE_UID}`,
        HOMEIQ_RESTORE_HELPER_IMAGE: IMAGES.python,
        HOMEIQ_RESTORE_TIMINGS: "1",
      });
      docker(["start", s.dataApi.container]);
      add(RESTORE, backupBytes, restore.ms);
      console.log(`  ${RESTORE}: ${steps(restore.stdout)}`);
      dropRoot(dir);
    }

    const hostTar = rows.get(HOST_TAR);
    const hostMedian = hostTar ? rate(hostTar.bytes, stats(hostTar.ms).median) : undefined;
    console.log(`\nthroughput in MiB/s over ${ROUNDS} rounds (MiB of data the row reads: source data, or the SQLite file, or the backup folder)`);
    console.log(`${"".padEnd(36)} ${"MiB".padStart(7)} ${"min".padStart(8)} ${"median".padStart(8)} ${"max".padStart(8)}   median / host tar median`);
    for (const row of rows.values()) {
      const st = stats(row.ms);
      // The slowest run has the lowest rate.
      const [lo, med, hi] = [rate(row.bytes, st.max), rate(row.bytes, st.median), rate(row.bytes, st.min)];
      const ratio = hostMedian === undefined ? "n/a (remote engine)" : `${(med / hostMedian).toFixed(2)}x`;
      console.log(`${row.name.padEnd(36)} ${(row.bytes / MiB).toFixed(1).padStart(7)} ${lo.toFixed(1).padStart(8)} ${med.toFixed(1).padStart(8)} ${hi.toFixed(1).padStart(8)}   ${ratio}`);
    }
    if (hostTar) {
      console.log(`\nratio to host tar, round by round (same data, same round):`);
      // Throughput against host tar's in the same round (restore.sh reads the backup folder, a few bytes more or less than the source).
      const ratios = (row: Row): number[] => row.ms.map((ms, i) => rate(row.bytes, ms) / rate(hostTar.bytes, hostTar.ms[i]!));
      for (const name of [DIRECT, STREAM, OLD, RESTORE]) {
        const row = rows.get(name);
        if (!row) continue;
        const st = stats(ratios(row));
        console.log(`  ${name.padEnd(36)} min ${st.min.toFixed(2)}x  median ${st.median.toFixed(2)}x  max ${st.max.toFixed(2)}x`);
      }
      for (const name of [DIRECT, RESTORE]) {
        const ratio = stats(ratios(rows.get(name)!)).median;
        console.log(`target: ${name} >= ${TARGET_RATIO}x host tar (median of the round-by-round ratios): ` +
          (ratio >= TARGET_RATIO ? `met (${ratio.toFixed(2)}x)` : `missed by ${(TARGET_RATIO - ratio).toFixed(2)}x (${ratio.toFixed(2)}x)`));
      }
    }
    console.log(`\nwhat a pre-change backup of 1 GiB adds to a deploy (EXTRAPOLATED linearly from the median throughput above, not measured at 1 GiB):`);
    for (const name of [DIRECT, STREAM, OLD]) {
      const row = rows.get(name);
      if (row) console.log(`  ${name.padEnd(36)} ${(1024 / rate(row.bytes, stats(row.ms).median)).toFixed(1)} s`);
    }
    console.log(`\nload average at the end: ${load()} (1, 5, 15 min)`);
  } finally {
    res.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main();
