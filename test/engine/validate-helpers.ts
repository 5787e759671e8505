/**
 * Helpers for validate.test.ts: run scripts/validate/validate.sh with exactly the
 * HOMEIQ_* environment a Command resource would give it, parse its table, and
 * start the stand-in HTTP services it checks (containers `homeiq-test-validate-*`,
 * published on 127.0.0.1 on ports Docker picks from its free high range).
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { docker, IMAGES, influxSetupArgs, influxSetupEnv, REPO_ROOT, Resources, run, uniqueName, waitFor } from "./helpers";

export const VALIDATE_SH = path.join(REPO_ROOT, "scripts", "validate", "validate.sh");

export interface ValidateResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock duration of the run. */
  readonly ms: number;
}

/** Runs validate.sh with the given HOMEIQ_* variables only (inherited HOMEIQ_* are dropped). */
export function runValidate(env: Record<string, string>, timeoutMs = 120_000): ValidateResult {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("HOMEIQ_")) base[k] = v;
  }
  const started = Date.now();
  const r = spawnSync("bash", [VALIDATE_SH], {
    env: { ...base, ...env },
    maxBuffer: 16 * 1024 * 1024,
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  const ms = Date.now() - started;
  if (r.error || r.signal) {
    throw new Error(`validate.sh did not finish within ${timeoutMs} ms (${r.error?.message ?? r.signal})\nstdout:\n${r.stdout?.toString()}\nstderr:\n${r.stderr?.toString()}`);
  }
  return { code: r.status ?? 128, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8"), ms };
}

export interface Row {
  readonly service: string;
  readonly url: string;
  readonly status: string;
  readonly latency: string;
}

/** The table's text (header to last row), exactly as printed. */
export function tableText(stdout: string): string {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => /^SERVICE\s+URL\s+STATUS\s+LATENCY$/.test(l));
  if (start < 0) throw new Error(`validate.sh printed no table\n${stdout}`);
  let end = start + 1;
  while (end < lines.length && lines[end] !== "") end += 1;
  return lines.slice(start, end).join("\n");
}

/**
 * Parses the table by the header's column positions, and checks that every row
 * is aligned to them (each cell starts where its header starts).
 */
export function parseTable(stdout: string): Row[] {
  const [header, ...rows] = tableText(stdout).split("\n");
  const cols = ["SERVICE", "URL", "STATUS", "LATENCY"].map((h) => header!.indexOf(h));
  return rows.map((line) => {
    const cell = (i: number): string => line.slice(cols[i], i + 1 < cols.length ? cols[i + 1] : undefined);
    for (let i = 1; i < cols.length; i++) {
      // Aligned: the cell before ends in padding (two spaces at least) and this one starts with a non-space.
      if (!/ {2}$/.test(line.slice(0, cols[i])) || line[cols[i]!] === " ") {
        throw new Error(`table row not aligned with the header:\n${header}\n${line}`);
      }
    }
    return { service: cell(0).trim(), url: cell(1).trim(), status: cell(2).trim(), latency: cell(3).trim() };
  });
}

/** The host port Docker published for a container's port on 127.0.0.1. */
export function publishedPort(container: string, port: number): number {
  const out = docker(["port", container, `${port}/tcp`], { timeoutMs: 20_000 }).stdout;
  const m = /^127\.0\.0\.1:(\d+)$/m.exec(out);
  if (!m) throw new Error(`${container}: port ${port} not published on 127.0.0.1:\n${out}`);
  return Number(m[1]);
}

/** Polls the URL with curl (bounded) until it answers 200. */
export function waitFor200(url: string, seconds = 20): void {
  const ok = () => run("curl", ["-q", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1", url], { allowFail: true, timeoutMs: 5_000 }).stdout === "200";
  waitFor(`${url} answering 200`, ok, { timeoutMs: seconds * 1000, intervalMs: 250 });
}

/**
 * busybox httpd (the busybox stand-in) serving the given files (path under the
 * web root -> content), on 127.0.0.1; `--init` so it stops at once.
 * Files go in argv: no stdin attach (docker/cli#2542).
 */
export function startBusyboxHttp(res: Resources, tag: string, files: Record<string, string>): { container: string; base: string } {
  const container = res.container(uniqueName(`validate-${tag}`));
  const script =
    'while [ $# -gt 1 ]; do mkdir -p "/www/$(dirname "$1")"; printf "%s\\n" "$2" >"/www/$1"; shift 2; done; exec httpd -f -p 8080 -h /www';
  docker([
    "run", "-d", "--init", "--name", container, "-p", "127.0.0.1::8080", "--memory", "32m",
    IMAGES.busybox, "sh", "-c", script, "sh", ...Object.entries(files).flat(),
  ], { timeoutMs: 60_000 });
  return { container, base: `http://127.0.0.1:${publishedPort(container, 8080)}` };
}

/**
 * A data-api stand-in (the python stand-in image): GET /health answers with the
 * status code in /tmp/status (200 if absent), or never answers if it says `hang`;
 * `<code>x<n>` answers <code> to the next n requests, then 200 (a service that
 * recovers after being asked n times, whatever the timing); `slow<ms>` answers 200 after <ms> ms.
 * `docker exec <c> sh -c 'echo 500 >/tmp/status'` makes it unhealthy while it runs.
 */
export const STATUS_SERVER_PY = `
import http.server, re, threading, time
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with lock:
            try:
                s = open("/tmp/status").read().strip()
            except OSError:
                s = "200"
            m = re.match(r"^(\\d+)x(\\d+)$", s)
            if m and self.path == "/health":
                s, left = m.group(1), int(m.group(2)) - 1
                open("/tmp/status", "w").write("%sx%d\\n" % (s, left) if left > 0 else "200\\n")
        if s == "hang":
            time.sleep(3600)
        if s.startswith("slow"):
            time.sleep(int(s[4:]) / 1000)
            s = "200"
        code = int(s) if self.path == "/health" else 404
        body = b'{"status":"ok"}\\n' if code == 200 else b'{"status":"unhealthy"}\\n'
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8006), H).serve_forever()
`;

export function startStatusServer(res: Resources, tag: string): { container: string; base: string } {
  const container = res.container(uniqueName(`validate-${tag}`));
  docker([
    "run", "-d", "--init", "--name", container, "-p", "127.0.0.1::8006", "--user", "1001:1001", "--memory", "128m",
    IMAGES.python, "python3", "-c", STATUS_SERVER_PY,
  ], { timeoutMs: 60_000 });
  return { container, base: `http://127.0.0.1:${publishedPort(container, 8006)}` };
}

export function setStatus(container: string, status: string): void {
  docker(["exec", container, "sh", "-c", 'printf "%s\\n" "$1" >/tmp/status', "sh", status], { timeoutMs: 20_000 });
}

/** The InfluxDB STAND-IN (not InfluxDB): GET /health on 8086 answers {"status":"pass",...}. */
export function startInfluxStandin(res: Resources, tag: string): { container: string; base: string } {
  const container = res.container(uniqueName(`validate-${tag}`));
  docker([
    "run", "-d", "--init", "--name", container, "-p", "127.0.0.1::8086", "--memory", "64m",
    ...influxSetupArgs(), IMAGES.influxStandin,
  ], { env: influxSetupEnv("homeiq-test-validate-not-a-secret"), timeoutMs: 60_000 });
  return { container, base: `http://127.0.0.1:${publishedPort(container, 8086)}` };
}
