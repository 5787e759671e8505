/**
 * Helpers for the real-engine tests: spawn docker and the backup scripts, make
 * uniquely named containers and volumes (all prefixed `homeiq-test-`), and read
 * SQLite / InfluxDB-stand-in content digests through containers, so nothing on
 * the host needs python or sqlite.
 */
import { spawn, spawnSync, SpawnSyncReturns } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const SCRIPTS = path.join(REPO_ROOT, "scripts", "backup");

export const IMAGES = {
  busybox: "homeiq-standin/busybox:test",
  python: "homeiq-standin/python:test",
  /**
   * A STAND-IN for influxdb:2.7 (engine/stack-standins/images/influxdb, engine/standins/influxdb/influx); not InfluxDB.
   * HOMEIQ_TEST_INFLUXDB_IMAGE names another build of it: two checkouts whose stand-ins differ, testing on one
   * engine at once, would otherwise rebuild the one tag under each other.
   */
  influxStandin: process.env.HOMEIQ_TEST_INFLUXDB_IMAGE || "homeiq-standin/influxdb:stack",
} as const;

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Extra environment, merged over process.env. */
  readonly env?: Record<string, string>;
  /** Bytes or text written to stdin. */
  readonly input?: string | Buffer;
  /** Do not throw on a non-zero exit. */
  readonly allowFail?: boolean;
  readonly timeoutMs?: number;
}

function toResult(cmd: string, args: readonly string[], r: SpawnSyncReturns<Buffer>, allowFail: boolean): RunResult {
  if (r.error) {
    throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  }
  const res = { code: r.status ?? 128, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
  if (!allowFail && res.code !== 0) {
    throw new Error(`${cmd} ${args.slice(0, 6).join(" ")} exited ${res.code}\nstdout:\n${res.stdout.slice(-3000)}\nstderr:\n${res.stderr.slice(-3000)}`);
  }
  return res;
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(cmd, args, {
    env: { ...process.env, ...(opts.env ?? {}) },
    input: opts.input,
    maxBuffer: 1024 * 1024 * 1024,
    // spawnSync blocks jest's own test timeout, so every call has its own bound:
    // a hung docker CLI becomes a failure naming the command, not a hung run.
    timeout: opts.timeoutMs ?? 180_000,
    killSignal: "SIGKILL",
  });
  return toResult(cmd, args, r, opts.allowFail ?? false);
}

/** Like run() but stdout is kept as bytes (for binary streams). */
export function runBinary(cmd: string, args: readonly string[], opts: RunOptions = {}): Buffer {
  const r = spawnSync(cmd, args, {
    env: { ...process.env, ...(opts.env ?? {}) },
    input: opts.input,
    maxBuffer: 2 * 1024 * 1024 * 1024,
    timeout: opts.timeoutMs ?? 180_000,
    killSignal: "SIGKILL",
  });
  toResult(cmd, args, r, false);
  return r.stdout;
}

export function docker(args: readonly string[], opts: RunOptions = {}): RunResult {
  return run("docker", args, opts);
}

/**
 * Like run(), without blocking: for docker calls that do not depend on each other, started together
 * and awaited once (Promise.all). Same bound per call and same error on a non-zero exit.
 */
export function runAsync(cmd: string, args: readonly string[], opts: RunOptions = {}, baseEnv: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...baseEnv, ...(opts.env ?? {}) }, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const timeoutMs = opts.timeoutMs ?? 180_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(" ")}: ${e.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new Error(`${cmd} ${args.slice(0, 6).join(" ")}: not finished within ${timeoutMs} ms`));
        return;
      }
      const res = { code: code ?? 128, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
      if (!(opts.allowFail ?? false) && res.code !== 0) {
        reject(new Error(`${cmd} ${args.slice(0, 6).join(" ")} exited ${res.code}\nstdout:\n${res.stdout.slice(-3000)}\nstderr:\n${res.stderr.slice(-3000)}`));
        return;
      }
      resolve(res);
    });
    child.stdin.end(opts.input ?? "");
  });
}

export function dockerAsync(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runAsync("docker", args, opts);
}

/**
 * Runs one of scripts/backup/*.sh with exactly the HOMEIQ_* environment given
 * (HOMEIQ_* variables inherited from the test process are removed first), as a
 * Pulumi Command resource would.
 */
export function runScript(
  script: "backup.sh" | "restore.sh" | "chown-volume.sh",
  env: Record<string, string>,
  timeoutMs = 240_000,
  runAs?: HostUser,
): RunResult {
  const base = envWithoutHomeiq();
  const bash = ["bash", path.join(SCRIPTS, script)];
  // As another host user: setpriv (util-linux) drops to it, keeping the groups given (the socket's).
  const [cmd, ...args] = runAs
    ? ["setpriv", `--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, `--groups=${runAs.groups.join(",")}`, "--inh-caps=-all", ...bash]
    : bash;
  const r = spawnSync(cmd!, args, {
    env: { ...base, ...env },
    maxBuffer: 256 * 1024 * 1024,
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  if (r.error || r.signal) {
    throw new Error(`${script} did not finish within ${timeoutMs} ms (${r.error?.message ?? r.signal})\nstdout:\n${r.stdout?.toString().slice(-3000)}\nstderr:\n${r.stderr?.toString().slice(-3000)}`);
  }
  return toResult(script, [], r, true);
}

/** runScript as the test process's user, without blocking (to overlap independent setup steps); exit code in the result. */
export function runScriptAsync(script: "backup.sh" | "restore.sh" | "chown-volume.sh", env: Record<string, string>, timeoutMs = 240_000): Promise<RunResult> {
  return runAsync("bash", [path.join(SCRIPTS, script)], { env, allowFail: true, timeoutMs }, envWithoutHomeiq());
}

/** process.env without the HOMEIQ_* variables (a script gets exactly the ones a test gives it). */
function envWithoutHomeiq(): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("HOMEIQ_")) base[k] = v;
  }
  return base;
}

/** A host user (not root) for runScript: uid, gid and supplementary groups. */
export interface HostUser {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

/**
 * A `docker` first on PATH that appends each command line it gets to `argvLog` and then runs the
 * real docker CLI, optionally: with `from` replaced by `to` in every argument; with the source of
 * every `--mount type=bind,...` replaced by `bindSource` (an engine that has another folder at that
 * path). (A remote engine is a real one behind a real sshd: test/engine/sshd.ts.)
 */
export function dockerShim(
  res: Resources,
  opts: { readonly replace?: readonly [string, string]; readonly bindSource?: string } = {},
): { readonly env: Record<string, string>; readonly argvLog: string } {
  const dir = res.tmpDir("docker-shim");
  const argvLog = path.join(dir, "argv.log");
  const realDocker = run("sh", ["-c", "command -v docker"]).stdout.trim();
  const [from, to] = opts.replace ?? ["", ""];
  fs.writeFileSync(
    path.join(dir, "docker"),
    [
      "#!/usr/bin/env bash",
      `printf '%s\\n' "$*" >>'${argvLog}'`,
      from ? `args=(); for a in "$@"; do args+=("\${a//'${from}'/'${to}'}"); done; set -- "\${args[@]}"` : "",
      opts.bindSource
        ? `args=(); for a in "$@"; do [[ $a == type=bind,src=* ]] && a="type=bind,src=${opts.bindSource},dst=\${a#*,dst=}"; args+=("$a"); done; set -- "\${args[@]}"`
        : "",
      `exec '${realDocker}' "$@"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return { env: { PATH: `${dir}:${process.env["PATH"] ?? ""}` }, argvLog };
}

/** The folder backup.sh reported on its last `HOMEIQ_BACKUP_DIR=` line ("" when it backed up nothing). */
export function backupDirOf(r: RunResult): string {
  const m = /^HOMEIQ_BACKUP_DIR=(.*)$/m.exec(r.stdout.trimEnd().split("\n").slice(-1)[0] ?? "");
  if (!m) throw new Error(`backup.sh printed no HOMEIQ_BACKUP_DIR line\n${r.stdout}\n${r.stderr}`);
  return m[1] ?? "";
}

let counter = 0;
/** A fresh name `homeiq-test-<tag>-<pid>-<n>`. */
export function uniqueName(tag: string): string {
  counter += 1;
  return `homeiq-test-${tag}-${process.pid}-${counter}`;
}

/** Tracks what a test created and removes it (containers with their anonymous volumes, named volumes, folders). */
export class Resources {
  private readonly containers: string[] = [];
  private readonly volumes: string[] = [];
  private readonly dirs: string[] = [];

  container(name: string): string {
    this.containers.push(name);
    return name;
  }

  volume(name: string): string {
    this.volumes.push(name);
    docker(["volume", "create", name]);
    return name;
  }

  tmpDir(tag: string): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `homeiq-test-${tag}-`));
    this.dirs.push(d);
    return d;
  }

  cleanup(): void {
    if (this.containers.length) docker(["rm", "-f", "-v", ...this.containers], { allowFail: true });
    if (this.volumes.length) docker(["volume", "rm", "-f", ...this.volumes], { allowFail: true });
    for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
    this.containers.length = 0;
    this.volumes.length = 0;
    this.dirs.length = 0;
  }
}

/**
 * Runs python code in the python stand-in with the volume mounted at /d. The
 * code goes in argv (`python3 -c`): no `docker run -i`, whose stdin attach the
 * 20.10 CLI can hang in (docker/cli#2542; seen here once).
 */
export function pythonOnVolume(volume: string, code: string, args: readonly string[] = [], user = "0:0"): string {
  return docker(pythonOnVolumeArgs(volume, code, args, user)).stdout;
}

function pythonOnVolumeArgs(volume: string, code: string, args: readonly string[] = [], user = "0:0"): string[] {
  return ["run", "--rm", "--network", "none", "--user", user, "-v", `${volume}:/d`, IMAGES.python, "python3", "-c", code, ...args];
}

/** Runs python code in a running container (`docker exec`, code in argv). */
export function pythonInContainer(container: string, code: string, args: readonly string[] = []): string {
  return docker(["exec", container, "python3", "-c", code, ...args]).stdout;
}

/**
 * Runs python code in a throwaway python stand-in container with the given host
 * files copied into its /tmp first (docker create + docker cp + docker start -a:
 * no stdin attach).
 */
export function pythonWithFiles(files: Record<string, string>, code: string, args: readonly string[] = []): string {
  const name = uniqueName("py");
  docker(["create", "--name", name, "--network", "none", IMAGES.python, "python3", "-c", code, ...args]);
  try {
    for (const [inContainer, hostFile] of Object.entries(files)) {
      docker(["cp", hostFile, `${name}:/tmp/${inContainer}`]);
    }
    return docker(["start", "-a", name]).stdout;
  } finally {
    docker(["rm", "-f", "-v", name], { allowFail: true });
  }
}

export interface TableDigest {
  readonly rows: number;
  readonly sha256: string;
}
export interface DbDigest {
  readonly integrity: string;
  readonly journalMode: string;
  readonly tables: Record<string, TableDigest>;
}

/** Row count and a sha256 over every row (ordered by rowid) per table, plus PRAGMA integrity_check. */
export const DIGEST_PY = `
import hashlib, json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
out = {"integrity": c.execute("PRAGMA integrity_check").fetchone()[0],
       "journalMode": c.execute("PRAGMA journal_mode").fetchone()[0], "tables": {}}
for (t,) in c.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").fetchall():
    h = hashlib.sha256(); n = 0
    for row in c.execute('SELECT * FROM "%s" ORDER BY rowid' % t.replace('"', '""')):
        h.update(repr(row).encode()); n += 1
    out["tables"][t] = {"rows": n, "sha256": h.hexdigest()}
print(json.dumps(out))
`;

export function sqliteDigestOnVolume(volume: string, relPath: string): DbDigest {
  return JSON.parse(pythonOnVolume(volume, DIGEST_PY, [`/d/${relPath}`])) as DbDigest;
}

/** sha256 of every file (path, mode, owner, content) in a volume: changes if anything in it changes. */
export function volumeChecksum(volume: string): string {
  return volumeChecksums([volume])[0]!;
}

/**
 * volumeChecksum of each volume, in the same order, from one container with each volume mounted
 * read-only at its own path (/v0, /v1, ...): paths are summed relative to each mount, so a volume's
 * checksum is the same as volumeChecksum's.
 */
export function volumeChecksums(volumes: readonly string[]): string[] {
  const mounts = volumes.flatMap((v, i) => ["-v", `${v}:/v${i}:ro`]);
  const sums = volumes.map((_, i) =>
    `(cd /v${i} && find . -print | sort | while read -r f; do stat -c '%n %a %u:%g %s' "$f"; [ -f "$f" ] && sha256sum "$f"; done | sha256sum)`,
  );
  const stdout = docker(["run", "--rm", "--network", "none", ...mounts, IMAGES.busybox, "sh", "-ec", sums.join("\n")]).stdout;
  const lines = stdout.trim().split("\n").map((l) => l.trim());
  if (lines.length !== volumes.length) throw new Error(`volume checksums: expected ${volumes.length} lines, got:\n${stdout}`);
  return lines;
}

export function sha256File(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** All files under a folder, relative paths, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

export function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Polls `ready` every `intervalMs` until it returns a value (anything but undefined or false), for at
 * most `timeoutMs` of wall time; then throws, saying what never happened. How the engine tests wait
 * for something: a condition with a bound, never a fixed sleep.
 */
export function waitFor<T>(what: string, ready: () => T | undefined | false, { timeoutMs = 30_000, intervalMs = 100 } = {}): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = ready();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    sleep(intervalMs);
  }
}

/** Until the InfluxDB stand-in in `container` has finished its first-run setup and answers `influx ping`. */
export function waitForInflux(container: string, timeoutMs = 60_000): void {
  waitFor(`${container}: influx ping after its setup`, () => docker(["exec", container, "influx", "ping"], { allowFail: true, timeoutMs: 30_000 }).code === 0, { timeoutMs });
}

/** waitFor without blocking: other awaited work (e.g. dockerAsync calls) goes on between the polls. */
export async function waitForAsync<T>(what: string, ready: () => Promise<T | undefined | false>, { timeoutMs = 30_000, intervalMs = 100 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await ready();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** waitForInflux without blocking. */
export async function waitForInfluxAsync(container: string, timeoutMs = 60_000): Promise<void> {
  await waitForAsync(
    `${container}: influx ping after its setup`,
    async () => (await dockerAsync(["exec", container, "influx", "ping"], { allowFail: true, timeoutMs: 30_000 })).code === 0,
    { timeoutMs },
  );
}

// --- a small HomeIQ-like stack on the real engine ------------------------------------------

export const SERVICE_UID = "1001:1001";

export interface Stack {
  readonly stack: string;
  readonly token: string;
  readonly influx: { readonly container: string; readonly volume: string };
  readonly dataApi: { readonly container: string; readonly volume: string; readonly db: string };
  readonly sportsData: { readonly container: string; readonly volume: string; readonly db: string };
}

/** Names only; nothing created. */
export function stackNames(res: Resources, tag: string, token: string): Stack {
  const stack = uniqueName(tag);
  return {
    stack,
    token,
    influx: { container: res.container(`${stack}-influxdb`), volume: `${stack}-influxdb-data` },
    dataApi: { container: res.container(`${stack}-data-api`), volume: `${stack}-sqlite-data`, db: "metadata.db" },
    sportsData: { container: res.container(`${stack}-sports-data`), volume: `${stack}-sports-data`, db: "webhooks.db" },
  };
}

/**
 * `docker run` arguments for the InfluxDB stand-in's first-run setup: the variables the influxdb:2.7
 * entrypoint requires (USERNAME, PASSWORD, ORG, BUCKET) and the operator token, which is named here
 * and passed in the docker CLI's environment (see influxSetupEnv).
 */
export function influxSetupArgs(org = "homeiq", bucket = "home_assistant_events"): string[] {
  return [
    "-e", "DOCKER_INFLUXDB_INIT_MODE=setup", "-e", "DOCKER_INFLUXDB_INIT_USERNAME=admin",
    "-e", "DOCKER_INFLUXDB_INIT_PASSWORD", "-e", `DOCKER_INFLUXDB_INIT_ORG=${org}`,
    "-e", `DOCKER_INFLUXDB_INIT_BUCKET=${bucket}`, "-e", "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN",
  ];
}

/** The docker CLI environment for influxSetupArgs. */
export function influxSetupEnv(token: string): Record<string, string> {
  return { DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: token, DOCKER_INFLUXDB_INIT_PASSWORD: "homeiq-test-influx-password" };
}

export function startInflux(s: Stack): void {
  docker(influxRunArgs(s), { env: influxSetupEnv(s.token) });
  waitForInflux(s.influx.container);
}

/** startInflux without blocking. */
export async function startInfluxAsync(s: Stack): Promise<void> {
  await dockerAsync(influxRunArgs(s), { env: influxSetupEnv(s.token) });
  await waitForInfluxAsync(s.influx.container);
}

function influxRunArgs(s: Stack): string[] {
  return ["run", "-d", "--name", s.influx.container, "--network", "none", "-v", `${s.influx.volume}:/var/lib/influxdb2`, ...influxSetupArgs(), IMAGES.influxStandin];
}

export function writeInflux(s: Stack, lines: string): void {
  docker(writeInfluxArgs(s, lines), { env: { INFLUX_TOKEN: s.token } });
}

function writeInfluxArgs(s: Stack, lines: string): string[] {
  // Lines in argv (under 128 KiB), piped inside the container: no stdin attach.
  if (Buffer.byteLength(lines) > 120 * 1024) throw new Error("writeInflux: keep a batch under 120 KiB");
  return ["exec", "-e", "INFLUX_TOKEN", s.influx.container, "sh", "-c", 'printf "%s" "$1" | influx write -b home_assistant_events', "sh", lines];
}

export function influxChecksum(s: Stack): string {
  return docker(["exec", s.influx.container, "influx", "standin-checksum"]).stdout.trim();
}

/**
 * What `influx standin-checksum` would say of the data an InfluxDB backup holds, computed here from the
 * backup's own files (the engine tar its newest manifest names, unpacked with the host's tar), with the
 * stand-in's formula: sha256 over the `sha256sum` lines of every file under engine/, sorted by path.
 * An expected value for a restore that does not come from the server being restored.
 */
export function influxChecksumOfBackup(influxDir: string): string {
  const manifests = fs.readdirSync(influxDir).filter((f) => f.endsWith(".manifest")).sort();
  if (manifests.length === 0) throw new Error(`${influxDir}: no InfluxDB backup manifest`);
  const tar = path.join(influxDir, `${manifests[manifests.length - 1]!.replace(/\.manifest$/, "")}.engine.tar`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-test-influx-backup-"));
  try {
    run("tar", ["-C", tmp, "-xf", tar]);
    const files = listFiles(tmp);
    if (!files.every((f) => f.startsWith("engine/"))) throw new Error(`${tar}: holds files outside engine/: ${files.join(", ")}`);
    const lines = files.map((f) => `${sha256File(path.join(tmp, f))}  ${f}\n`).join("");
    return crypto.createHash("sha256").update(lines).digest("hex");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A data service container (python stand-in, non-root) that keeps running with its volume at /app/data. */
export function startService(container: string, volume: string, extraArgs: readonly string[] = [], cmd: readonly string[] = ["sleep", "infinity"]): void {
  docker(serviceRunArgs(container, volume, extraArgs, cmd));
}

function serviceRunArgs(container: string, volume: string, extraArgs: readonly string[] = [], cmd: readonly string[] = ["sleep", "infinity"]): string[] {
  return ["run", "-d", "--init", "--name", container, "--network", "none", "--user", SERVICE_UID, "-v", `${volume}:/app/data`, ...extraArgs, IMAGES.python, ...cmd];
}

/** Makes a SQLite database in a (stopped-service) volume, as the service user. */
export function seedSqlite(volume: string, db: string, journalMode: "wal" | "delete", rows: number): void {
  docker(seedSqliteArgs(volume, db, journalMode, rows));
}

/** seedSqlite without blocking. */
export async function seedSqliteAsync(volume: string, db: string, journalMode: "wal" | "delete", rows: number): Promise<void> {
  await dockerAsync(seedSqliteArgs(volume, db, journalMode, rows));
}

function seedSqliteArgs(volume: string, db: string, journalMode: "wal" | "delete", rows: number): string[] {
  return pythonOnVolumeArgs(
    volume,
    `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA journal_mode=${journalMode}")
c.execute("CREATE TABLE devices (id INTEGER PRIMARY KEY, name TEXT NOT NULL, attrs TEXT)")
c.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, device_id INTEGER, ts REAL, payload BLOB)")
with c:
    c.executemany("INSERT INTO devices (name, attrs) VALUES (?, ?)", [("device-%d" % i, '{"room": %d}' % (i % 13)) for i in range(200)])
    c.executemany("INSERT INTO events (device_id, ts, payload) VALUES (?, ?, randomblob(64))", [(i % 200, 1700000000 + i) for i in range(${rows})])
c.close()
`,
    [`/d/${db}`],
    SERVICE_UID,
  );
}

/**
 * A two-service, one-InfluxDB stack with data: volumes handed to uid 1001 with
 * chown-volume.sh (as the program does before non-root services start), SQLite
 * databases (data-api in WAL mode, sports-data in rollback-journal mode), and
 * points in the InfluxDB stand-in. Containers are left running.
 */
export async function createStack(res: Resources, tag: string, token: string): Promise<Stack> {
  const s = stackNames(res, tag, token);
  for (const v of [s.influx.volume, s.dataApi.volume, s.sportsData.volume]) res.volume(v);
  // The SQLite volumes (hand-over, then seeding) and InfluxDB (setup, then points) share nothing,
  // so they are prepared side by side; each chain keeps its own order.
  const sqlite = async (): Promise<void> => {
    const chown = await runScriptAsync("chown-volume.sh", {
      HOMEIQ_CHOWN_VOLUMES: `${s.dataApi.volume}=${SERVICE_UID} ${s.sportsData.volume}=${SERVICE_UID}`,
      HOMEIQ_HELPER_IMAGE: IMAGES.busybox,
    });
    if (chown.code !== 0) throw new Error(`chown-volume.sh failed: ${chown.stderr}`);
    await Promise.all([seedSqliteAsync(s.dataApi.volume, s.dataApi.db, "wal", 3000), seedSqliteAsync(s.sportsData.volume, s.sportsData.db, "delete", 500)]);
  };
  const influx = async (): Promise<void> => {
    await startInfluxAsync(s);
    const lines = Array.from({ length: 2000 }, (_, i) => `ha,e=t${i % 17} v=${i} ${1700000000 + i}`).join("\n") + "\n";
    await dockerAsync(writeInfluxArgs(s, lines), { env: { INFLUX_TOKEN: s.token } });
  };
  await Promise.all([sqlite(), influx()]);
  // The services start on their seeded volumes (as a deploy starts them after the hand-over).
  await Promise.all([dockerAsync(serviceRunArgs(s.dataApi.container, s.dataApi.volume)), dockerAsync(serviceRunArgs(s.sportsData.container, s.sportsData.volume))]);
  return s;
}

/** The environment the program gives backup.sh for this stack. */
export function backupEnv(s: Stack, root: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOMEIQ_STACK: s.stack,
    HOMEIQ_BACKUP_ROOT: root,
    HOMEIQ_BACKUP_KEEP: "5",
    HOMEIQ_BACKUP_REASON: "test",
    HOMEIQ_INFLUX_CONTAINER: s.influx.container,
    HOMEIQ_INFLUX_TOKEN: s.token,
    HOMEIQ_SQLITE_DBS: `data-api=${s.dataApi.container}:/app/data/${s.dataApi.db} sports-data=${s.sportsData.container}:/app/data/${s.sportsData.db}`,
    HOMEIQ_STACK_CONFIG_JSON: JSON.stringify({ stack: s.stack, influx: { org: "homeiq", bucket: "home_assistant_events" } }),
    HOMEIQ_IMAGES_JSON: JSON.stringify({ influxdb: IMAGES.influxStandin, "data-api": IMAGES.python, "sports-data": IMAGES.python }),
    ...extra,
  };
}

/** The environment the program gives restore.sh for this stack. */
export function restoreEnv(s: Stack, dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOMEIQ_RESTORE_DIR: dir,
    HOMEIQ_STACK: s.stack,
    HOMEIQ_INFLUX_CONTAINER: s.influx.container,
    HOMEIQ_INFLUX_TOKEN: s.token,
    HOMEIQ_SQLITE_RESTORES: `data-api=${s.dataApi.volume}:${s.dataApi.db}:${SERVICE_UID} sports-data=${s.sportsData.volume}:${s.sportsData.db}:${SERVICE_UID}`,
    HOMEIQ_RESTORE_HELPER_IMAGE: IMAGES.python,
    ...extra,
  };
}
