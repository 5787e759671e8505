/**
 * scripts/influxdb/set-retention.sh on a real Docker engine, against the
 * InfluxDB STAND-IN image (homeiq-standin/influxdb:stack, not InfluxDB: its shell
 * `influx` implements `bucket list --org O --name B --hide-headers` and
 * `bucket update --id ID --retention R` for the one bucket its setup creates).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { docker, IMAGES, influxSetupArgs, influxSetupEnv, REPO_ROOT, Resources, run, RunResult, uniqueName, waitForInflux } from "./helpers";

const SCRIPT = path.join(REPO_ROOT, "scripts", "influxdb", "set-retention.sh");
const ORG = "homeiq";
const BUCKET = "home_assistant_events";

/** Runs set-retention.sh with exactly the HOMEIQ_* environment given (inherited HOMEIQ_* removed), bounded. */
function setRetention(env: Record<string, string>, timeoutMs = 60_000): RunResult {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("HOMEIQ_")) base[k] = v;
  }
  const r = spawnSync("bash", [SCRIPT], { env: { ...base, ...env }, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 });
  if (r.error || r.signal) {
    throw new Error(`set-retention.sh did not finish within ${timeoutMs} ms (${r.error?.message ?? r.signal})`);
  }
  return { code: r.status ?? 128, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

/** Starts an influx stand-in container (setup mode, anonymous data volume) and waits until `influx ping` answers. */
function startInfluxStandin(res: Resources, token: string): string {
  const name = res.container(uniqueName("retention-influx"));
  docker([
    "run", "-d", "--name", name, "--network", "none", ...influxSetupArgs(ORG, BUCKET), IMAGES.influxStandin,
  ], { env: influxSetupEnv(token), timeoutMs: 60_000 });
  waitForInflux(name);
  return name;
}

/** The stand-in's own `bucket list` row for the bucket: [id, name, retention, ...]. */
function bucketRow(container: string, token: string): string[] {
  const out = docker(["exec", "-e", "INFLUX_TOKEN", container, "influx", "bucket", "list", "--org", ORG, "--name", BUCKET, "--hide-headers"], {
    env: { INFLUX_TOKEN: token },
    timeoutMs: 30_000,
  }).stdout;
  const lines = out.trim().split("\n");
  expect(lines).toHaveLength(1);
  return (lines[0] ?? "").split("\t");
}

describe("set-retention.sh (InfluxDB stand-in)", () => {
  const res = new Resources();
  const token = `FAKE-SECRET-${uniqueName("rtok").replace(/\W/g, "")}-do-not-print`;
  const outputs: string[] = [];
  let container = "";
  let env: Record<string, string> = {};
  let argvLog = "";

  beforeAll(() => {
    container = startInfluxStandin(res, token);
    // A `docker` shim first in PATH records every docker command line the script runs.
    const shimDir = res.tmpDir("retention-shim");
    argvLog = path.join(shimDir, "argv.log");
    const realDocker = run("sh", ["-c", "command -v docker"]).stdout.trim();
    fs.writeFileSync(path.join(shimDir, "docker"), `#!/bin/sh\nprintf '%s\\n' "$*" >>'${argvLog}'\nexec '${realDocker}' "$@"\n`, { mode: 0o755 });
    env = {
      PATH: `${shimDir}:${process.env["PATH"] ?? ""}`,
      HOMEIQ_INFLUX_CONTAINER: container,
      HOMEIQ_INFLUX_TOKEN: token,
      HOMEIQ_INFLUX_ORG: ORG,
      HOMEIQ_INFLUX_BUCKET: BUCKET,
    };
  }, 120_000);
  afterAll(() => res.cleanup());

  const go = (extra: Record<string, string>): RunResult => {
    const r = setRetention({ ...env, ...extra });
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  it("changes an infinite retention to 30d, and the bucket then lists 720h0m0s", () => {
    expect(bucketRow(container, token)[2]).toBe("infinite");
    const id = bucketRow(container, token)[0];
    const r = go({ HOMEIQ_INFLUX_RETENTION: "30d" });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`bucket '${BUCKET}' (id ${id}) in org '${ORG}', container ${container}: current retention infinite, wanted 30d (720h0m0s)`);
    expect(r.stdout).toContain("retention changed: infinite -> 720h0m0s");
    expect(bucketRow(container, token)[2]).toBe("720h0m0s");
  }, 60_000);

  it("a rerun with the same setting changes nothing and says so", () => {
    const r = go({ HOMEIQ_INFLUX_RETENTION: "30d" });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("retention unchanged: already 720h0m0s");
    expect(r.stdout).not.toContain("updating retention");
    expect(bucketRow(container, token)[2]).toBe("720h0m0s");
  }, 60_000);

  it("0s sets it back to infinite", () => {
    const r = go({ HOMEIQ_INFLUX_RETENTION: "0s" });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("retention changed: 720h0m0s -> infinite");
    expect(bucketRow(container, token)[2]).toBe("infinite");
  }, 60_000);

  it("a wrong bucket name exits 3 naming bucket and org, and changes nothing", () => {
    const r = go({ HOMEIQ_INFLUX_BUCKET: "no_such_bucket", HOMEIQ_INFLUX_RETENTION: "30d" });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`bucket 'no_such_bucket' not found in org '${ORG}' (container ${container}); nothing changed`);
    expect(bucketRow(container, token)[2]).toBe("infinite");
  }, 60_000);

  it("a wrong token, a stopped or missing container exit 3; a malformed variable exits 2 naming it", () => {
    const wrong = go({ HOMEIQ_INFLUX_TOKEN: `${token}-wrong`, HOMEIQ_INFLUX_RETENTION: "30d" });
    expect(wrong.code).toBe(3);
    // Says what a refused token means (a volume kept from an earlier deployment keeps its first token) and the fix, never the token.
    expect(wrong.stderr).toContain(`InfluxDB in container ${container} refused HOMEIQ_INFLUX_TOKEN: it is not the operator token its data was set up with`);
    expect(wrong.stderr).toContain("set homeiq:influxdbAdminToken to that token");
    expect(wrong.stderr).not.toContain(token);
    const missing = go({ HOMEIQ_INFLUX_CONTAINER: uniqueName("retention-absent"), HOMEIQ_INFLUX_RETENTION: "30d" });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("does not exist");
    const bad = go({ HOMEIQ_INFLUX_RETENTION: "30" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("environment variable HOMEIQ_INFLUX_RETENTION is malformed");
    const noToken = go({ HOMEIQ_INFLUX_TOKEN: "", HOMEIQ_INFLUX_RETENTION: "30d" });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain("environment variable HOMEIQ_INFLUX_TOKEN is required");
    docker(["stop", "-t", "1", container], { timeoutMs: 60_000 });
    try {
      const stopped = go({ HOMEIQ_INFLUX_RETENTION: "30d" });
      expect(stopped.code).toBe(3);
      expect(stopped.stderr).toContain(`influxdb container ${container} is not running`);
    } finally {
      docker(["start", container], { timeoutMs: 60_000 });
    }
    expect(bucketRow(container, token)[2]).toBe("infinite");
  }, 120_000);

  it("an update the server reports done but did not apply exits 4: the script reads the retention back", () => {
    // A docker whose `influx bucket update` answers success and changes nothing.
    const shimDir = res.tmpDir("retention-noop-update");
    const realDocker = run("sh", ["-c", "command -v docker"]).stdout.trim();
    fs.writeFileSync(path.join(shimDir, "docker"), `#!/bin/sh\ncase "$*" in *"influx bucket update"*) exit 0 ;; esac\nexec '${realDocker}' "$@"\n`, { mode: 0o755 });
    const r = go({ PATH: `${shimDir}:${process.env["PATH"] ?? ""}`, HOMEIQ_INFLUX_RETENTION: "30d" });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`after 'influx bucket update', bucket '${BUCKET}' in org '${ORG}' shows retention infinite, not 720h0m0s`);
    expect(bucketRow(container, token)[2]).toBe("infinite");
  }, 60_000);

  it("the token appears in no output and in no docker argv (it travels as -e INFLUX_TOKEN)", () => {
    expect(outputs.length).toBeGreaterThanOrEqual(16);
    for (const o of outputs) expect(o).not.toContain(token);
    const argv = fs.readFileSync(argvLog, "utf8");
    expect(argv).toMatch(/^exec -e INFLUX_TOKEN \S+ influx bucket list --org homeiq --name home_assistant_events --hide-headers$/m);
    expect(argv).toMatch(/^exec -e INFLUX_TOKEN \S+ influx bucket update --id [0-9a-f]+ --retention 30d$/m);
    expect(argv).not.toContain(token);
  }, 30_000);
});
