/**
 * A stand-in HTTP server that records the requests it gets (fixtures/http-recorder/recorder.py in the
 * python stand-in image), for the notifier's tests: it plays Home Assistant's REST API and an ntfy-like
 * webhook. The host reaches it on its bridge address (no published port); its answer is 200, or NNN for
 * paths under /status/NNN/. And the scripts that schedule and notify, run as a test runs them.
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { docker, IMAGES, REPO_ROOT, Resources, run, RunResult, runAsync, uniqueName, waitFor } from "./helpers";

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface Recorder {
  /** http://<address>:8080 */
  readonly base: string;
  /** Every request received so far, in order. */
  requests(): RecordedRequest[];
}

export function startRecorder(res: Resources, tag: string): Recorder {
  const dir = res.tmpDir(`${tag}-rec`);
  fs.chmodSync(dir, 0o777);
  const name = res.container(uniqueName(`${tag}-recorder`));
  const code = fs.readFileSync(path.join(__dirname, "fixtures", "http-recorder", "recorder.py"), "utf8");
  docker(["run", "-d", "--name", name, "--user", "1001:1001", "-v", `${dir}:/rec`, IMAGES.python, "python3", "-c", code, "/rec"]);
  const ip = docker(["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name]).stdout.trim();
  const base = `http://${ip}:8080`;
  const file = path.join(dir, "requests.jsonl");
  waitFor(`${name} answering on ${base}`, () => run("curl", ["-s", "-o", "/dev/null", "-X", "POST", `${base}/ready`], { allowFail: true }).code === 0, { timeoutMs: 30_000 });
  return {
    base,
    requests: () =>
      fs.existsSync(file)
        ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as RecordedRequest).filter((r) => r.path !== "/ready")
        : [],
  };
}

const SCRIPTS_DIR = path.join(REPO_ROOT, "scripts");

/** process.env without HOMEIQ_* (a script gets exactly the variables a test gives it). */
function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HOMEIQ_")) out[k] = v;
  return out;
}

/** Runs scripts/<rel> with the given environment; the exit code is in the result. */
export function runRepoScript(rel: string, env: Record<string, string>, timeoutMs = 240_000): RunResult {
  const r = spawnSync("bash", [path.join(SCRIPTS_DIR, rel)], { env: { ...baseEnv(), ...env }, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${rel}: ${r.error.message}`);
  return { code: r.status ?? 128, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** runRepoScript without blocking. */
export function runRepoScriptAsync(rel: string, env: Record<string, string>, timeoutMs = 240_000): Promise<RunResult> {
  return runAsync("bash", [path.join(SCRIPTS_DIR, rel)], { env, allowFail: true, timeoutMs }, baseEnv());
}

/** The user's crontab, "" when there is none. */
export function crontab(): string {
  return run("crontab", ["-l"], { allowFail: true }).stdout;
}

/** Starts Debian's cron daemon unless one runs (engine/start-cron.sh). */
export function ensureCron(): void {
  run("bash", [path.join(REPO_ROOT, "engine", "start-cron.sh")]);
}

/**
 * True once no tick of the schedule in dir runs: tick.sh holds tick.lock from its start to its last
 * notification, and last-run.json is written before that notification is sent.
 */
export function tickIdle(dir: string): boolean {
  return run("flock", ["-n", path.join(dir, "tick.lock"), "true"], { allowFail: true }).code === 0;
}
