/**
 * Helpers for the migration tests (migrate*.test.ts): an old-style HomeIQ compose deployment brought up
 * with real `docker compose` from test/engine/fixtures/compose-v1 (stand-in images, old container and
 * volume names), scripts/migrate/from-compose.sh run as a user runs it, a fake `pulumi` that records the
 * printed config commands, the program's restore environment for a fresh stack (from the synth), and
 * strict checksums of volumes and container layers read on the engine's host.
 *
 * Every compose project is named `itest-migrate-<pid>-<n>-…` and every fresh stack `itest-migrate-<pid>-<n>`;
 * cleanup removes only those.
 */
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { synthesize } from "../../synth/synthesize";
import { docker, IMAGES, influxSetupArgs, influxSetupEnv, REPO_ROOT, runAsync, RunResult, waitForInflux, waitForInfluxAsync } from "./helpers";

export const FIXTURE = path.join(REPO_ROOT, "test", "engine", "fixtures", "compose-v1");
export const MIGRATE = path.join(REPO_ROOT, "scripts", "migrate", "from-compose.sh");
export const PREFIX = `itest-migrate-${process.pid}-`;

let counter = 0;
/** A fresh name `itest-migrate-<pid>-<n>[-tag]`. */
export function migrateName(tag = ""): string {
  counter += 1;
  return `${PREFIX}${counter}${tag ? `-${tag}` : ""}`;
}

/** A host port unlikely to be taken on the shared engine. */
export function freePort(): number {
  return 30000 + ((process.pid * 7 + counter * 131 + Math.floor(Math.random() * 1000)) % 25000);
}

/**
 * Row count and sha256 over the rows of each table, and PRAGMA integrity_check (python in the container).
 * argv[2] "live" reads a database in use (its WAL included); otherwise the file alone, immutable (a read-only mount).
 */
const DIGEST_PY = `
import hashlib, json, sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro%s" % (sys.argv[1], "" if sys.argv[2:] == ["live"] else "&immutable=1"), uri=True)
out = {"integrity": c.execute("PRAGMA integrity_check").fetchone()[0], "tables": {}}
for (t,) in c.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").fetchall():
    h = hashlib.sha256(); n = 0
    for row in c.execute('SELECT * FROM "%s" ORDER BY rowid' % t):
        h.update(repr(row).encode()); n += 1
    out["tables"][t] = {"rows": n, "sha256": h.hexdigest()}
print(json.dumps(out))
`;
export interface Digest {
  readonly integrity: string;
  readonly tables: Record<string, { rows: number; sha256: string }>;
}

/** The old deployment: one compose project on the fixture file. */
export class OldDeployment {
  readonly project: string;
  readonly token: string;
  readonly influxPort: number;
  private readonly env: Record<string, string>;

  /** `extraEnv`: more of the fixture's variables (INFLUXDB_ORG, SPORTS_DATA_COMMAND, SPORTS_DATA_RESTART, …). */
  constructor(tag: string, token: string, extraEnv: Record<string, string> = {}) {
    this.project = migrateName(tag);
    this.token = token;
    this.influxPort = freePort();
    this.env = { OLD_NAME_PREFIX: `${this.project}-`, INFLUXDB_HOST_PORT: String(this.influxPort), INFLUXDB_TOKEN: token, ...extraEnv };
  }

  /** `ha-ingestor-influxdb` and friends, behind this test's prefix. */
  container(service: "influxdb" | "data-api" | "sports-data" | "data-retention"): string {
    return `${this.project}-ha-ingestor-${service}`;
  }

  /** Compose prefixes the old file's volume names with the project: `<project>_influxdb_data`. */
  volume(name: "influxdb_data" | "influxdb_config" | "sqlite-data" | "data_retention_backups" | "ha_ingestor_logs"): string {
    return `${this.project}_${name}`;
  }

  compose(args: readonly string[], allowFail = false): RunResult {
    const r = spawnSync("docker", this.composeArgs(args), {
      env: { ...process.env, ...this.env },
      timeout: 180_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const res = { code: r.status ?? 128, stdout: r.stdout?.toString() ?? "", stderr: r.stderr?.toString() ?? "" };
    if (!allowFail && res.code !== 0) throw new Error(`docker compose ${args.join(" ")} exited ${res.code}: ${res.stderr.slice(-2000)}`);
    return res;
  }

  private composeArgs(args: readonly string[]): string[] {
    return ["compose", "-f", path.join(FIXTURE, "docker-compose.yml"), "-p", this.project, ...args];
  }

  /** Brings the old deployment up (all services, or the ones named) and waits for InfluxDB's setup. */
  up(services: readonly string[] = []): void {
    this.compose(["up", "-d", "--quiet-pull", ...services]);
    if (services.length === 0 || services.includes("influxdb")) {
      waitForInflux(this.container("influxdb"));
    }
  }

  /** up() without blocking: several deployments come up side by side (each its own project, names and port). */
  async upAsync(services: readonly string[] = []): Promise<void> {
    await runAsync("docker", this.composeArgs(["up", "-d", "--quiet-pull", ...services]), { env: this.env });
    if (services.length === 0 || services.includes("influxdb")) {
      await waitForInfluxAsync(this.container("influxdb"));
    }
  }

  /** Removes the project's containers, network and volumes (test cleanup only; never part of the procedure). */
  remove(): void {
    this.compose(["down", "--timeout", "1"], true);
    const volumes = docker(["volume", "ls", "-q", "--filter", `label=com.docker.compose.project=${this.project}`]).stdout.split("\n").filter(Boolean);
    if (volumes.length) docker(["volume", "rm", "-f", ...volumes], { allowFail: true });
  }

  writeInflux(lines: number, offset = 0): void {
    // Generated inside the container: nothing large crosses the docker CLI.
    docker(
      ["exec", "-e", "INFLUX_TOKEN", this.container("influxdb"), "sh", "-c",
        `awk 'BEGIN { for (i = ${offset}; i < ${offset + lines}; i++) printf "ha_event,entity=sensor.t%d value=%d %d\\n", i % 17, i, 1700000000000000000 + i }' | influx write -b "$1"`,
        "sh", "home_assistant_events"],
      { env: { INFLUX_TOKEN: this.token } },
    );
  }

  influxChecksum(container = this.container("influxdb")): string {
    return docker(["exec", container, "influx", "standin-checksum"]).stdout.trim();
  }

  /** Python in a running old container (the old images ran as root). */
  python(service: "data-api" | "sports-data", code: string, args: readonly string[] = []): string {
    return docker(["exec", this.container(service), "python3", "-c", code, ...args]).stdout;
  }

  digest(service: "data-api" | "sports-data", db: string): Digest {
    return JSON.parse(this.python(service, DIGEST_PY, [db, "live"])) as Digest;
  }
}

/** A SQLite database as the old services made it: devices and events. */
export function seedSql(journalMode: "wal" | "delete", events: number, blobBytes = 64): string {
  return `
import os, sqlite3, sys
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA journal_mode=${journalMode}")
c.execute("CREATE TABLE devices (id INTEGER PRIMARY KEY, name TEXT NOT NULL, attrs TEXT)")
c.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, batch INTEGER, device_id INTEGER, ts REAL, payload BLOB)")
with c:
    c.executemany("INSERT INTO devices (name, attrs) VALUES (?, ?)", [("device-%d" % i, '{"room": %d}' % (i % 13)) for i in range(200)])
for start in range(0, ${events}, 5000):
    with c:
        c.executemany("INSERT INTO events (batch, device_id, ts, payload) VALUES (-1, ?, ?, randomblob(${blobBytes}))",
                      [(i % 200, 1700000000 + i) for i in range(start, min(start + 5000, ${events}))])
c.close()
`;
}

export function digestOfFile(file: string): Digest {
  const name = `${PREFIX}digest-${Math.floor(Math.random() * 1e9)}`;
  docker(["create", "--name", name, "--network", "none", IMAGES.python, "python3", "-c", DIGEST_PY, "/tmp/db"]);
  try {
    docker(["cp", file, `${name}:/tmp/db`]);
    return JSON.parse(docker(["start", "-a", name]).stdout) as Digest;
  } finally {
    docker(["rm", "-f", name], { allowFail: true });
  }
}

export function digestOnVolume(volume: string, rel: string): Digest {
  return JSON.parse(
    docker(["run", "--rm", "--network", "none", "-v", `${volume}:/d:ro`, IMAGES.python, "python3", "-c", DIGEST_PY, `/d/${rel}`]).stdout,
  ) as Digest;
}

/**
 * Every entry of a folder on the engine's host, strictly: path, type, mode, owner, size, mtime and ctime in
 * nanoseconds, and the sha256 of each file. Any write, chmod, chown, create or delete changes it (reads do not).
 */
export function treeChecksum(root: string, strict = true): string {
  const lines: string[] = [];
  const walk = (rel: string): void => {
    const full = path.join(root, rel);
    const st = fs.lstatSync(full, { bigint: true });
    const times = strict ? ` ${st.mtimeNs} ${st.ctimeNs}` : "";
    let line = `${rel || "."} ${st.mode.toString(8)} ${st.uid}:${st.gid}${st.isDirectory() ? "" : ` ${st.size}`}${times}`;
    if (st.isFile()) line += ` ${crypto.createHash("sha256").update(fs.readFileSync(full)).digest("hex")}`;
    lines.push(line);
    if (st.isDirectory()) for (const e of fs.readdirSync(full).sort()) walk(path.join(rel, e));
  };
  walk("");
  return crypto.createHash("sha256").update(lines.join("\n")).digest("hex");
}

/** Where a volume's files are on the engine's host (the engine the tests install is local). */
export function volumeDir(volume: string): string {
  const dir = docker(["volume", "inspect", "--format", "{{.Mountpoint}}", volume]).stdout.trim();
  if (!fs.existsSync(dir)) throw new Error(`volume ${volume}: ${dir} is not readable here (the migration tests need the engine on this host)`);
  return dir;
}

/** A container's own writable layer on the engine's host (overlay2's upper dir). */
export function layerDir(container: string): string {
  const dir = docker(["container", "inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", container]).stdout.trim();
  if (!dir || !fs.existsSync(dir)) throw new Error(`container ${container}: its layer (${dir}) is not readable here (overlay2 on this host needed)`);
  return dir;
}

export interface ContainerState {
  readonly status: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly restartCount: number;
}
export function containerState(container: string): ContainerState {
  const [status, startedAt, finishedAt, restarts] = docker([
    "container", "inspect", "--format", "{{.State.Status}}|{{.State.StartedAt}}|{{.State.FinishedAt}}|{{.RestartCount}}", container,
  ]).stdout.trim().split("|");
  return { status: status ?? "", startedAt: startedAt ?? "", finishedAt: finishedAt ?? "", restartCount: Number(restarts) };
}

/** Runs the migration script as a user does: arguments, the user's environment (HOMEIQ_* from the test process removed). */
export function migrate(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 600_000): RunResult {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HOMEIQ_")) base[k] = v;
  const r = spawnSync("bash", [MIGRATE, ...args], { env: { ...base, ...env }, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 256 * 1024 * 1024 });
  if (r.error || r.signal) throw new Error(`from-compose.sh did not finish within ${timeoutMs} ms\n${r.stdout?.toString().slice(-3000)}\n${r.stderr?.toString().slice(-3000)}`);
  return { code: r.status ?? 128, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** The commands between the script's `----- pulumi config -----` and `----- end -----` lines. */
export function printedCommands(stdout: string): string[] {
  const m = /^----- pulumi config -----\n([\s\S]*?)\n----- end -----$/m.exec(stdout);
  if (!m) throw new Error(`from-compose.sh printed no config commands\n${stdout.slice(-3000)}`);
  return (m[1] ?? "").split("\n");
}

export interface PulumiCall {
  readonly args: string[];
  /** What `pulumi config set` would store: stdin without its trailing newline, as Pulumi reads a piped value. */
  readonly stdin: string;
}

/**
 * Runs each printed command with a fake `pulumi` first on PATH that records its argv and stdin, and returns
 * the calls and the config they set (`homeiq:key` -> value, secret or not).
 */
export function runPrintedCommands(
  commands: readonly string[],
  workDir: string,
  env: Record<string, string> = {},
): { calls: PulumiCall[]; config: Record<string, string>; secretKeys: string[] } {
  const bin = fs.mkdtempSync(path.join(workDir, "fake-pulumi-"));
  fs.writeFileSync(
    path.join(bin, "pulumi"),
    '#!/usr/bin/env bash\nn=$(ls "$FAKE_PULUMI_DIR" | grep -c "\\.args$" || true)\nprintf \'%s\\0\' "$@" > "$FAKE_PULUMI_DIR/$n.args"\ncat > "$FAKE_PULUMI_DIR/$n.stdin"\n',
    { mode: 0o755 },
  );
  const record = fs.mkdtempSync(path.join(workDir, "pulumi-calls-"));
  for (const c of commands) {
    const r = spawnSync("bash", ["-c", c], { env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH ?? ""}`, FAKE_PULUMI_DIR: record }, timeout: 60_000 });
    if (r.status !== 0) throw new Error(`printed command failed (${r.status}): ${c}\n${r.stderr?.toString()}`);
  }
  const calls: PulumiCall[] = [];
  for (let i = 0; fs.existsSync(path.join(record, `${i}.args`)); i++) {
    const args = fs.readFileSync(path.join(record, `${i}.args`), "utf8").split("\0").slice(0, -1);
    calls.push({ args, stdin: fs.readFileSync(path.join(record, `${i}.stdin`), "utf8").replace(/\r?\n$/, "") });
  }
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const call of calls) {
    const words = call.args.filter((a, i, all) => a !== "--secret" && a !== "--stack" && all[i - 1] !== "--stack");
    if (words[0] !== "config" || words[1] !== "set") throw new Error(`unexpected pulumi call: ${call.args.join(" ")}`);
    const key = words[2] ?? "";
    config[key] = words.length > 3 ? (words[3] ?? "") : call.stdin;
    if (call.args.includes("--secret")) secretKeys.push(key);
  }
  return { calls, config, secretKeys };
}

/** Pulumi.yaml plus a copy of Pulumi.<base>.yaml as Pulumi.<stack>.yaml, in a fresh folder (for the synth). */
export function projectFor(stack: string, base: "dev" | "prod", workDir: string): string {
  const dir = fs.mkdtempSync(path.join(workDir, "project-"));
  fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  fs.copyFileSync(path.join(REPO_ROOT, `Pulumi.${base}.yaml`), path.join(dir, `Pulumi.${stack}.yaml`));
  return dir;
}

export interface ProgramCommands {
  /** The environment of the `restore` Command (secrets as "[secret]"). */
  readonly restore: Record<string, string>;
  readonly retention: Record<string, string>;
  readonly hostPorts: Record<string, string>;
}

/** The program's Commands for `stack` with the config the migration printed, from the offline synth. */
export async function programCommands(stack: string, projectDir: string, config: Record<string, string>, secretKeys: readonly string[]): Promise<ProgramCommands> {
  const result = await synthesize(stack, { projectDir, configOverrides: config, secretOverrides: secretKeys, verifyCheckout: false });
  const env = (name: string): Record<string, string> => {
    const c = result.resources.find((r) => r.type === "command:local:Command" && r.name === name);
    if (!c) throw new Error(`the program registered no ${name} Command`);
    return c.inputs.environment as Record<string, string>;
  };
  return { restore: env("homeiq-restore"), retention: env("homeiq-influxdb-retention"), hostPorts: env("homeiq-host-ports") };
}

/** Runs a repository script with exactly the given environment (as a Command resource does). */
export function runRepoScript(script: string, env: Record<string, string>, timeoutMs = 300_000): RunResult {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HOMEIQ_")) base[k] = v;
  const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts", script)], { env: { ...base, ...env }, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 });
  if (r.error || r.signal) throw new Error(`${script} did not finish within ${timeoutMs} ms`);
  return { code: r.status ?? 128, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Scratch containers and volumes of the migration run whose output this is (it must leave none). */
export function migrationLeftovers(output: string): string[] {
  const prefixes = [...new Set(output.match(/homeiq-migrate-\d+-\d+/g) ?? [])];
  return prefixes.flatMap((p) => [
    ...docker(["ps", "-a", "--filter", `name=${p}`, "--format", "{{.Names}}"]).stdout.split("\n").filter(Boolean),
    ...docker(["volume", "ls", "-q", "--filter", `name=${p}`]).stdout.split("\n").filter(Boolean),
    ...docker(["image", "ls", "--filter", `reference=${p}-*`, "--format", "{{.Repository}}:{{.Tag}}"]).stdout.split("\n").filter(Boolean),
  ]);
}

export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${tag}-`));
}

/** What a fresh stack's first `pulumi up` creates before its restore Command runs: empty volumes and a new InfluxDB. */
export class FreshStack {
  readonly stack: string;
  private readonly volumes: string[];

  constructor(stack: string) {
    this.stack = stack;
    this.volumes = ["influxdb-data", "influxdb-config", "sqlite-data", "sports-data"].map((v) => `${stack}-${v}`);
  }

  get influx(): string {
    return `${this.stack}-influxdb`;
  }

  volume(key: "sqlite-data" | "sports-data" | "influxdb-data"): string {
    return `${this.stack}-${key}`;
  }

  /** Volumes, and InfluxDB set up from the stack's config (org, bucket, admin token), as the program's influxdb container is. */
  create(config: Record<string, string>): void {
    for (const v of this.volumes) docker(["volume", "create", "--label", `com.homeiq.stack=${this.stack}`, v]);
    // The four setup variables the influxdb:2.7 entrypoint (and so its stand-in) requires, and the stack's token.
    docker(
      ["run", "-d", "--name", this.influx, "--network", "none", "--label", `com.homeiq.stack=${this.stack}`,
        "-v", `${this.stack}-influxdb-data:/var/lib/influxdb2`, "-v", `${this.stack}-influxdb-config:/etc/influxdb2`,
        ...influxSetupArgs(config["homeiq:influxdbOrg"], config["homeiq:influxdbBucket"]), IMAGES.influxStandin],
      { env: influxSetupEnv(config["homeiq:influxdbAdminToken"] ?? "") },
    );
    waitForInflux(this.influx);
  }

  /** `influx bucket list` with a token: the bucket's row, or the error. */
  bucketRow(token: string, org: string, bucket: string): RunResult {
    return docker(["exec", "-e", "INFLUX_TOKEN", this.influx, "influx", "bucket", "list", "--org", org, "--name", bucket, "--hide-headers"], {
      env: { INFLUX_TOKEN: token },
      allowFail: true,
    });
  }

  remove(): void {
    docker(["rm", "-f", "-v", this.influx], { allowFail: true });
    docker(["volume", "rm", "-f", ...this.volumes], { allowFail: true });
  }
}

/**
 * The restore as `pulumi up` runs it for `stack` with the migration's config: the program's restore Command
 * environment (from the synth), with the token's value for "[secret]" and the python stand-in as the helper
 * image (the program's own is the data-api image it builds), then its influx-retention Command.
 */
export async function restoreAsProgram(
  fresh: FreshStack, base: "dev" | "prod", config: Record<string, string>, secretKeys: readonly string[], workDir: string,
  /** Runs after the fresh stack is created, before its restore (to record or prepare its volumes). */
  beforeRestore: () => void = () => undefined,
) {
  const cmds = await programCommands(fresh.stack, projectFor(fresh.stack, base, workDir), config, secretKeys);
  fresh.create(config);
  beforeRestore();
  const token = config["homeiq:influxdbAdminToken"] ?? "";
  const restore = runRepoScript("backup/restore-stack.sh", { ...cmds.restore, HOMEIQ_INFLUX_TOKEN: token, HOMEIQ_RESTORE_HELPER_IMAGE: IMAGES.python });
  const retention = runRepoScript("influxdb/set-retention.sh", { ...cmds.retention, HOMEIQ_INFLUX_TOKEN: token });
  return { cmds, restore, retention };
}

export function sha256(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** An old deployment, a fresh stack and a work folder for one describe block, removed after it. */
export function migrationScene(tag: string, token: string): { old: OldDeployment; fresh: FreshStack; work: string } {
  const scene = { old: new OldDeployment(tag, token), fresh: new FreshStack(migrateName("new")), work: tmpDir(tag) };
  afterAll(() => {
    scene.old.remove();
    scene.fresh.remove();
    fs.rmSync(scene.work, { recursive: true, force: true });
  });
  return scene;
}

/** The first line of the migration guide (docs/migration.md) that starts with `prefix` (its commands are run by the tests as written). */
export function readmeLine(prefix: string): string {
  const line = fs.readFileSync(path.join(REPO_ROOT, "docs", "migration.md"), "utf8").split("\n").find((l) => l.trim().startsWith(prefix));
  if (!line) throw new Error(`docs/migration.md has no line starting with ${prefix}`);
  return line.trim();
}

/**
 * A `docker` first on PATH that records every argv it is called with (NUL-separated, one file) and runs the
 * real CLI: to prove a secret never reaches a command line, from-compose.sh's or backup.sh's.
 */
export function dockerArgvRecorder(workDir: string): { env: Record<string, string>; argv: () => string } {
  const real = spawnSync("bash", ["-c", "command -v docker"]).stdout.toString().trim();
  const bin = fs.mkdtempSync(path.join(workDir, "docker-argv-"));
  const log = path.join(bin, "argv.log");
  fs.writeFileSync(path.join(bin, "docker"), `#!/usr/bin/env bash\nprintf '%s\\0' "$@" >> "${log}"\nprintf '\\n' >> "${log}"\nexec "${real}" "$@"\n`, { mode: 0o755 });
  return { env: { PATH: `${bin}:${process.env.PATH ?? ""}` }, argv: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "") };
}

// --- interruptions ------------------------------------------------------------------------------------

/** A script run in its own process group (as a terminal or `timeout` starts it), to be signalled mid-way. */
export interface Interruptible {
  readonly pid: number;
  /** Exit code, or 128 + n when bash was killed by signal n without handling it (what a shell reports). */
  readonly done: Promise<RunResult & { signal: NodeJS.Signals | null }>;
  /** `<step>.reached` exists: the script waits at HOMEIQ_TEST_PAUSE_AT (test_pause in scripts/backup/lib.sh). */
  reached(step: string): boolean;
  release(step: string): void;
}

/** Starts `bash <script> args` with the user's environment plus `env`, pausing at `pauseAt` (if given). */
export function startInterruptible(script: string, args: readonly string[], env: Record<string, string>, pauseAt?: string): Interruptible {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HOMEIQ_")) base[k] = v;
  const pauseDir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}pause-`));
  const pause = pauseAt ? { HOMEIQ_TEST_PAUSE_AT: pauseAt, HOMEIQ_TEST_PAUSE_DIR: pauseDir } : {};
  const child = spawn("bash", [script, ...args], { env: { ...base, ...env, ...pause }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => out.push(c));
  child.stderr.on("data", (c: Buffer) => err.push(c));
  const done = new Promise<RunResult & { signal: NodeJS.Signals | null }>((resolve) => {
    child.on("close", (code, signal) => {
      fs.rmSync(pauseDir, { recursive: true, force: true });
      resolve({ code: code ?? 128 + (signal ? os.constants.signals[signal] : 0), signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
  return {
    pid: child.pid!,
    done,
    reached: (step) => fs.existsSync(path.join(pauseDir, `${step}.reached`)),
    release: (step) => fs.writeFileSync(path.join(pauseDir, `${step}.go`), ""),
  };
}

/** Containers, volumes and images labelled as scratch of the run with this pid (lib.sh's owner label ends in /<pid>). */
export function scratchOf(pid: number): string[] {
  const owned = (lines: string): string[] => lines.split("\n").filter((l) => l.endsWith(`/${pid}`)).map((l) => l.split("\t")[0]!);
  const images = docker(["image", "ls", "-q", "--no-trunc", "--filter", "label=com.homeiq.scratch.owner"]).stdout.split("\n").filter(Boolean);
  const imageOwners = [...new Set(images)].map((id) => `${id}\t${docker(["image", "inspect", "--format", '{{index .Config.Labels "com.homeiq.scratch.owner"}}', id], { allowFail: true }).stdout.trim()}`);
  return [
    ...owned(docker(["ps", "-a", "--filter", "label=com.homeiq.scratch.owner", "--format", '{{.Names}}\t{{.Label "com.homeiq.scratch.owner"}}']).stdout).map((n) => `container ${n}`),
    ...owned(docker(["volume", "ls", "--filter", "label=com.homeiq.scratch.owner", "--format", '{{.Name}}\t{{.Label "com.homeiq.scratch.owner"}}']).stdout).map((n) => `volume ${n}`),
    ...owned(imageOwners.join("\n")).map((n) => `image ${n}`),
  ];
}

/** Every `.partial` folder and `.partial.owner` record under a backup root. */
export function partialsUnder(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).flatMap((stack) => fs.readdirSync(path.join(root, stack)).filter((f) => f.includes(".partial")).map((f) => `${stack}/${f}`));
}
