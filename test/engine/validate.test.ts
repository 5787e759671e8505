/**
 * The post-deploy validation gate (scripts/validate/validate.sh) against real
 * containers on the real engine: busybox httpd stand-ins for the HTTP services and
 * the dashboard, the python stand-in as data-api (its /health status can be
 * flipped while it runs), and the InfluxDB STAND-IN (not InfluxDB) for /health on
 * 8086. Every run's table is printed with console.log so it can be quoted.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { docker, Resources } from "./helpers";
import {
  parseTable, Row, runValidate, setStatus, startBusyboxHttp, startInfluxStandin, startStatusServer, tableText,
  waitFor200,
} from "./validate-helpers";

const DASHBOARD_HTML = "<!DOCTYPE html>\n<html lang=\"en\"><head><title>HomeIQ</title></head><body><div id=\"root\"></div></body></html>";

/** Fast retry settings for the tests; the bound the script promises is checked against them. */
const FAST = { HOMEIQ_VALIDATE_ATTEMPTS: "3", HOMEIQ_VALIDATE_TIMEOUT_SECONDS: "2", HOMEIQ_VALIDATE_INTERVAL_SECONDS: "1" };
/**
 * Process start-up and a loaded CI machine add time the script does not control: the check is that
 * the run ends (no unbounded retry loop), not a speed goal, so it allows this much over the bound.
 */
const SLACK_MS = 10_000;
/** attempts x (timeout + interval), the brief's bound, in ms. */
const FAST_BOUND_MS = 3 * (2 + 1) * 1000;

function show(title: string, stdout: string): void {
  console.log(`${title}\n${tableText(stdout)}`);
}

function byService(rows: Row[]): Record<string, Row> {
  return Object.fromEntries(rows.map((r) => [r.service, r]));
}

describe("validate.sh (post-deploy validation gate) on a real engine", () => {
  const res = new Resources();
  let influx: { container: string; base: string };
  let websocket: { container: string; base: string };
  let adminApi: { container: string; base: string };
  let dataApi: { container: string; base: string };
  let dashboard: { container: string; base: string };
  let plainDashboard: { container: string; base: string };
  let targets: Record<string, string>;

  const targetsEnv = (t: Record<string, string>): string => Object.entries(t).map(([svc, spec]) => `${svc}=${spec}`).join(" ");

  beforeAll(() => {
    influx = startInfluxStandin(res, "influxdb");
    websocket = startBusyboxHttp(res, "websocket", { health: '{"status":"healthy","service":"websocket-ingestion"}' });
    adminApi = startBusyboxHttp(res, "admin-api", { "api/v1/health": '{"status":"healthy","service":"admin-api"}' });
    dataApi = startStatusServer(res, "data-api");
    dashboard = startBusyboxHttp(res, "dashboard", { "index.html": DASHBOARD_HTML });
    plainDashboard = startBusyboxHttp(res, "dashboard-plain", { "index.html": "HomeIQ dashboard: starting" });
    targets = {
      influxdb: `influx-ready:${influx.base}/health`,
      "websocket-ingestion": `http200:${websocket.base}/health`,
      "admin-api": `http200:${adminApi.base}/api/v1/health`,
      "data-api": `http200:${dataApi.base}/health`,
      "health-dashboard": `html:${dashboard.base}/`,
    };
    for (const url of [`${influx.base}/health`, `${websocket.base}/health`, `${adminApi.base}/api/v1/health`, `${dataApi.base}/health`, `${dashboard.base}/`]) {
      waitFor200(url);
    }
  }, 180_000);

  afterAll(() => res.cleanup());

  it("case 1: all healthy -> exit 0, every service `ok` in an aligned table", () => {
    const r = runValidate({ HOMEIQ_VALIDATE_TARGETS: targetsEnv(targets), ...FAST });
    show(`healthy run: exit ${r.code} in ${r.ms} ms`, r.stdout);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const rows = parseTable(r.stdout);
    expect(rows.map((x) => x.service)).toEqual(Object.keys(targets));
    for (const row of rows) {
      expect(row.status).toBe("ok");
      expect(row.url).toBe(targets[row.service]!.replace(/^[a-z0-9-]+:/, ""));
      expect(row.latency).toMatch(/^\d+ ms$/);
    }
    expect(r.stdout).toContain("validation passed: 5 of 5 services");
    expect(r.stdout).toMatch(/^\[homeiq-validate\] data-api: ok \(attempt 1\/3, \d+ ms\)$/m);
  }, 60_000);

  it("case 2: data-api's /health answers 500 -> exit 1 within attempts x (timeout + interval), table shows HTTP 500, others ok", () => {
    setStatus(dataApi.container, "500");
    try {
      const r = runValidate({ HOMEIQ_VALIDATE_TARGETS: targetsEnv(targets), ...FAST });
      show(`failing run (data-api /health -> 500): exit ${r.code} in ${r.ms} ms (bound ${FAST_BOUND_MS} ms)`, r.stdout);
      expect(r.code).toBe(1);
      const rows = byService(parseTable(r.stdout));
      expect(rows["data-api"]!.status).toBe("HTTP 500");
      for (const svc of ["influxdb", "websocket-ingestion", "admin-api", "health-dashboard"]) expect(rows[svc]!.status).toBe("ok");
      expect(r.stdout).toContain("validation failed: 1 of 5 services");
      expect(r.stderr).toContain("validation failed: 1 of 5 services: data-api (HTTP 500)");
      // Retried exactly ATTEMPTS times, then gave up.
      expect(r.stdout.match(/data-api: attempt \d\/3: HTTP 500/g)).toHaveLength(3);
      expect(r.stdout).toContain("data-api: attempt 3/3: HTTP 500");
      // 3 attempts, 2 pauses of 1 s: at least 2 s, and within the bound.
      expect(r.ms).toBeGreaterThanOrEqual(2000);
      expect(r.ms).toBeLessThanOrEqual(FAST_BOUND_MS + SLACK_MS);
    } finally {
      setStatus(dataApi.container, "200");
    }
  }, 60_000);

  it("case 2b: a stopped container -> `connection refused`; a hung endpoint -> `timeout`, still within the bound", () => {
    const stopped = startBusyboxHttp(res, "stopped", { health: "ok" });
    waitFor200(`${stopped.base}/health`);
    docker(["stop", "-t", "5", stopped.container], { timeoutMs: 30_000 });
    setStatus(dataApi.container, "hang");
    try {
      const r = runValidate({
        HOMEIQ_VALIDATE_TARGETS: targetsEnv({ ...targets, "sports-data": `http200:${stopped.base}/health` }),
        ...FAST,
      });
      show(`failing run (data-api hangs, sports-data stopped): exit ${r.code} in ${r.ms} ms (bound ${FAST_BOUND_MS} ms)`, r.stdout);
      expect(r.code).toBe(1);
      const rows = byService(parseTable(r.stdout));
      expect(rows["data-api"]!.status).toBe("timeout");
      expect(Number(rows["data-api"]!.latency.replace(" ms", ""))).toBeGreaterThanOrEqual(1900);
      expect(rows["sports-data"]!.status).toBe("connection refused");
      for (const svc of ["influxdb", "websocket-ingestion", "admin-api", "health-dashboard"]) expect(rows[svc]!.status).toBe("ok");
      expect(r.stdout).toContain("validation failed: 2 of 6 services");
      // Timeouts are the slow case: 3 x 2 s + 2 x 1 s = 8 s, inside the bound 3 x (2 + 1) s = 9 s.
      expect(r.ms).toBeGreaterThanOrEqual(7500);
      expect(r.ms).toBeLessThanOrEqual(FAST_BOUND_MS + SLACK_MS);
    } finally {
      setStatus(dataApi.container, "200");
    }
  }, 60_000);

  it("retries until a service becomes healthy (503 to its first two checks, then 200) -> exit 0", () => {
    // The server itself turns healthy after answering two checks: no timer racing the script's retries.
    setStatus(dataApi.container, "503x2");
    try {
      const r = runValidate({ HOMEIQ_VALIDATE_TARGETS: targetsEnv(targets), HOMEIQ_VALIDATE_ATTEMPTS: "10", HOMEIQ_VALIDATE_TIMEOUT_SECONDS: "2", HOMEIQ_VALIDATE_INTERVAL_SECONDS: "1" });
      show(`recovering run: exit ${r.code} in ${r.ms} ms`, r.stdout);
      expect(r.code).toBe(0);
      expect(r.stdout.match(/data-api: attempt \d+\/10: HTTP 503/g)).toEqual(["data-api: attempt 1/10: HTTP 503", "data-api: attempt 2/10: HTTP 503"]);
      expect(r.stdout).toMatch(/data-api: ok \(attempt 3\/10/);
      expect(byService(parseTable(r.stdout))["data-api"]!.status).toBe("ok");
    } finally {
      setStatus(dataApi.container, "200");
    }
  }, 60_000);

  it("case 3: the dashboard URL serving plain text fails `not HTML`; a /health that is not InfluxDB's fails `not ready`", () => {
    const r = runValidate({
      HOMEIQ_VALIDATE_TARGETS: targetsEnv({
        ...targets,
        "health-dashboard": `html:${plainDashboard.base}/`,
        influxdb: `influx-ready:${websocket.base}/health`,
      }),
      ...FAST,
      HOMEIQ_VALIDATE_ATTEMPTS: "2",
    });
    show(`failing run (plain-text dashboard, non-InfluxDB /health): exit ${r.code} in ${r.ms} ms`, r.stdout);
    expect(r.code).toBe(1);
    const rows = byService(parseTable(r.stdout));
    expect(rows["health-dashboard"]!.status).toBe("not HTML");
    expect(rows.influxdb!.status).toBe("not ready");
    for (const svc of ["websocket-ingestion", "admin-api", "data-api"]) expect(rows[svc]!.status).toBe("ok");
    expect(r.stdout).toContain("validation failed: 2 of 5 services");
  }, 60_000);

  it("latency criterion: an endpoint whose p95 is over HOMEIQ_VALIDATE_MAX_LATENCY_MS fails the gate as `slow`; the others pass with their p95", () => {
    // 150 ms per answer against a 100 ms criterion; the python server sleeps, so the answer cannot be faster.
    setStatus(dataApi.container, "slow150");
    try {
      const env = { HOMEIQ_VALIDATE_TARGETS: targetsEnv(targets), ...FAST, HOMEIQ_VALIDATE_ATTEMPTS: "2", HOMEIQ_VALIDATE_MAX_LATENCY_MS: "100", HOMEIQ_VALIDATE_LATENCY_REQUESTS: "5" };
      const r = runValidate(env);
      show(`slow run (data-api answers in 150 ms): exit ${r.code} in ${r.ms} ms`, r.stdout);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("latency criterion: p95 of 5 requests under 100 ms for each service");
      const rows = byService(parseTable(r.stdout));
      // p95 of 5 is the slowest of 5: the first slow answer decides, and sampling stops there.
      expect(rows["data-api"]!.status).toBe("slow (p95 >= 100 ms: 1 of 1 requests)");
      expect(Number(rows["data-api"]!.latency.replace(" ms", ""))).toBeGreaterThanOrEqual(150);
      expect(r.stdout.match(/data-api: attempt \d\/2: slow/g)).toHaveLength(2);
      expect(r.stderr).toContain("validation failed: 1 of 5 services: data-api (slow (p95 >= 100 ms: 1 of 1 requests))");
      // The same endpoint at 150 ms passes a 1000 ms criterion, its p95 in the table.
      const relaxed = runValidate({ ...env, HOMEIQ_VALIDATE_MAX_LATENCY_MS: "1000" });
      expect(relaxed.code).toBe(0);
      const p95 = Number(byService(parseTable(relaxed.stdout))["data-api"]!.latency.replace(" ms", ""));
      expect(p95).toBeGreaterThanOrEqual(150);
      expect(p95).toBeLessThan(1000);
    } finally {
      setStatus(dataApi.container, "200");
    }
  }, 60_000);

  it("error lines since start: `fail` fails the gate naming the container and the count, `report` only reports; memory and CPU are reported, never a failure", () => {
    const noisy = startBusyboxHttp(res, "noisy", { health: "ok" });
    waitFor200(`${noisy.base}/health`);
    // Two error lines and one that only mentions errors in passing (not an error level).
    docker(["exec", noisy.container, "sh", "-c", 'echo "2026-12-06 04:00:00 - ERROR - cannot reach Home Assistant" >/proc/1/fd/1; echo \'{"level": "error", "message": "x"}\' >/proc/1/fd/2; echo "0 errors so far" >/proc/1/fd/1']);
    const env = {
      HOMEIQ_VALIDATE_TARGETS: targetsEnv({ "data-api": targets["data-api"]! }),
      HOMEIQ_VALIDATE_CONTAINERS: `${noisy.container} ${websocket.container}`,
      HOMEIQ_VALIDATE_REPORT_USAGE: "true",
      ...FAST,
    };
    const failing = runValidate({ ...env, HOMEIQ_VALIDATE_ERROR_LINES: "fail" });
    console.log(failing.stdout);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(new RegExp(`^error lines: ${noisy.container}: 2 since it started at \\d{4}-`, "m"));
    expect(failing.stdout).toMatch(new RegExp(`^error lines: ${websocket.container}: 0 since it started at `, "m"));
    expect(failing.stdout).toContain(`validation failed: 1 container(s) wrote error lines since they started: ${noisy.container} (2)`);
    for (const c of [noisy.container, websocket.container]) {
      expect(failing.stdout).toMatch(new RegExp(`^usage: ${c}  memory [\\d.]+% \\([\\d.]+[KMG]?i?B / 32MiB\\)  CPU [\\d.]+% of one CPU$`, "m"));
    }
    // A container that started before this deploy (here: more than 0 s ago) is not judged by the gate: the watch judges it.
    const older = runValidate({ ...env, HOMEIQ_VALIDATE_ERROR_LINES: "fail", HOMEIQ_VALIDATE_ERROR_LINES_WINDOW_SECONDS: "0" });
    expect(older.code).toBe(0);
    expect(older.stdout).toMatch(new RegExp(`^error lines: ${noisy.container}: 2 since it started at \\S+ \\(before this deploy: not judged here\\)$`, "m"));
    const reported = runValidate({ ...env, HOMEIQ_VALIDATE_ERROR_LINES: "report" });
    expect(reported.code).toBe(0);
    expect(reported.stdout).toContain(`error lines (reported, not a failure): ${noisy.container} (2)`);
    expect(reported.stdout).toContain("validation passed: 1 of 1 services");
  }, 60_000);

  it("reports the AppArmor profile in force: on an engine without AppArmor, one line saying so, and the gate still passes", () => {
    const engineOptions = JSON.parse(docker(["info", "--format", "{{json .SecurityOptions}}"]).stdout) as string[];
    const containers = [influx.container, websocket.container];
    const r = runValidate({ HOMEIQ_VALIDATE_TARGETS: targetsEnv(targets), HOMEIQ_VALIDATE_CONTAINERS: containers.join(" "), ...FAST });
    expect(r.code).toBe(0);
    if (engineOptions.includes("name=apparmor")) {
      for (const c of containers) expect(r.stdout).toMatch(new RegExp(`AppArmor: ${c} runs under \\S+`));
    } else {
      expect(r.stdout).toContain(`AppArmor: not available on this Docker host (engine security options: ${engineOptions.join(" ")}); the 2 containers run without an AppArmor profile`);
    }
  }, 60_000);

  it("on an engine with AppArmor lists each container's profile, and fails the gate on an unconfined one", () => {
    // A docker CLI that answers as an engine on an AppArmor host would (this machine has no AppArmor).
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-validate-apparmor-"));
    fs.writeFileSync(
      path.join(bin, "docker"),
      `#!/bin/sh
case "$1" in
  info) echo "name=apparmor name=seccomp,profile=builtin " ;;
  inspect) for last; do :; done; case "$last" in *-unconfined) echo unconfined ;; *-none) echo ;; *) echo docker-default ;; esac ;;
  *) exit 1 ;;
esac
`,
      { mode: 0o755 },
    );
    try {
      const env = { HOMEIQ_VALIDATE_TARGETS: targetsEnv(targets), ...FAST, PATH: `${bin}:${process.env.PATH ?? ""}` };
      const confined = runValidate({ ...env, HOMEIQ_VALIDATE_CONTAINERS: "prod-influxdb prod-admin-api" });
      expect(confined.code).toBe(0);
      expect(confined.stdout).toContain("AppArmor: prod-influxdb runs under docker-default\nAppArmor: prod-admin-api runs under docker-default");
      const unconfined = runValidate({ ...env, HOMEIQ_VALIDATE_CONTAINERS: "prod-influxdb prod-x-unconfined prod-y-none" });
      expect(unconfined.code).toBe(1);
      expect(unconfined.stdout).toContain("AppArmor: prod-x-unconfined runs under unconfined");
      expect(unconfined.stdout).toContain("AppArmor: prod-y-none runs under no profile");
      expect(unconfined.stdout).toContain("validation failed: 2 container(s) run without an AppArmor profile on a host that has AppArmor: prod-x-unconfined, prod-y-none");
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  }, 60_000);

  it.each([
    ["missing", {}, "environment variable HOMEIQ_VALIDATE_TARGETS is required"],
    ["blank", { HOMEIQ_VALIDATE_TARGETS: "   " }, "environment variable HOMEIQ_VALIDATE_TARGETS is required"],
    ["no check", { HOMEIQ_VALIDATE_TARGETS: "data-api=http://127.0.0.1:8006/health" }, "HOMEIQ_VALIDATE_TARGETS entry 'data-api=http://127.0.0.1:8006/health': unknown check 'http'"],
    ["no service", { HOMEIQ_VALIDATE_TARGETS: "http200:http://127.0.0.1:8006/health" }, "HOMEIQ_VALIDATE_TARGETS entry 'http200:http://127.0.0.1:8006/health' is not service=check:url"],
    ["unknown check", { HOMEIQ_VALIDATE_TARGETS: "influxdb=influx-ready:http://127.0.0.1:8086/health data-api=json:http://127.0.0.1:8006/health" }, "HOMEIQ_VALIDATE_TARGETS entry 'data-api=json:http://127.0.0.1:8006/health': unknown check 'json'"],
    ["bad URL", { HOMEIQ_VALIDATE_TARGETS: "data-api=http200:127.0.0.1:8006/health" }, "HOMEIQ_VALIDATE_TARGETS entry 'data-api=http200:127.0.0.1:8006/health': URL '127.0.0.1:8006/health' is not an http:// or https:// URL"],
    ["bad service", { HOMEIQ_VALIDATE_TARGETS: "Data_API=http200:http://127.0.0.1:8006/health" }, "HOMEIQ_VALIDATE_TARGETS entry 'Data_API=http200:http://127.0.0.1:8006/health': service 'Data_API' must match"],
    ["duplicate", { HOMEIQ_VALIDATE_TARGETS: "data-api=http200:http://127.0.0.1:1/a data-api=http200:http://127.0.0.1:1/b" }, "HOMEIQ_VALIDATE_TARGETS entry 'data-api=http200:http://127.0.0.1:1/b': service 'data-api' is listed twice"],
    ["attempts", { HOMEIQ_VALIDATE_TARGETS: "data-api=http200:http://127.0.0.1:1/", HOMEIQ_VALIDATE_ATTEMPTS: "0" }, "environment variable HOMEIQ_VALIDATE_ATTEMPTS='0' is malformed"],
    ["timeout", { HOMEIQ_VALIDATE_TARGETS: "data-api=http200:http://127.0.0.1:1/", HOMEIQ_VALIDATE_TIMEOUT_SECONDS: "5s" }, "environment variable HOMEIQ_VALIDATE_TIMEOUT_SECONDS='5s' is malformed"],
    ["container", { HOMEIQ_VALIDATE_TARGETS: "data-api=http200:http://127.0.0.1:1/", HOMEIQ_VALIDATE_CONTAINERS: "prod-data-api Prod_X" }, "HOMEIQ_VALIDATE_CONTAINERS entry 'Prod_X' is not a container name"],
    ["max latency", { HOMEIQ_VALIDATE_TARGETS: "data-api=http200:http://127.0.0.1:1/", HOMEIQ_VALIDATE_MAX_LATENCY_MS: "0.1" }, "environment variable HOMEIQ_VALIDATE_MAX_LATENCY_MS='0.1' is malformed"],
    ["error lines", { HOMEIQ_VALIDATE_TARGETS: "data-api=http200:http://127.0.0.1:1/", HOMEIQ_VALIDATE_ERROR_LINES: "warn" }, "environment variable HOMEIQ_VALIDATE_ERROR_LINES='warn' is malformed: expected fail or report"],
    ["error window", { HOMEIQ_VALIDATE_TARGETS: "data-api=http200:http://127.0.0.1:1/", HOMEIQ_VALIDATE_ERROR_LINES_WINDOW_SECONDS: "1h" }, "environment variable HOMEIQ_VALIDATE_ERROR_LINES_WINDOW_SECONDS='1h' is malformed"],
  ])("case 3: malformed environment (%s) -> exit 2 naming the variable and the bad entry, nothing checked", (_name, env, message) => {
    const r = runValidate(env as Record<string, string>, 20_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe("");
  }, 30_000);
});
