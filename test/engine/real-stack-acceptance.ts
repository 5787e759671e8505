/**
 * HomeIQ's REAL services under the program's own container specs, on a real Docker engine
 * (engine/real-homeiq/README.md). The tests take a HomeIQ checkout as an input,
 * HOMEIQ_UPSTREAM_CHECKOUT (unset: they say they did not run); the engine project's globalSetup
 * builds the local bases and writes a buildable copy of it (REAL_CHECKOUT), and the program builds
 * every image from that copy through its own Image inputs, as it builds a user's checkout. InfluxDB
 * is the stand-in (engine/README.md), which answers the parts of InfluxDB's HTTP API the services call.
 *
 * calendar is disabled here, as a stack without Google credentials must (its code calls Google's
 * token endpoint at start, and these machines have no internet); every other service runs.
 */
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { ApplyError, applyStack, destroyStack, type ApplyResult, type ApplyState } from "../../engine/apply/applyStack";
import { REAL_CHECKOUT, REAL_CHECKOUT_ENV } from "../../engine/real-homeiq/realCheckout";
import { ALL_SERVICES, type ServiceKey } from "../../catalog/services";
import { isErrorLine } from "../../operate/status";
import type { SynthResource } from "../../synth/synthesize";
import { docker, influxChecksumOfBackup, waitFor } from "./helpers";
import {
    containersOf,
    httpGet,
    influxChecksumIn,
    inspect,
    nameOf,
    portOf,
    removeTestStack,
    serviceContainersOf,
    serviceOf,
    sqliteDigestIn,
    sqliteDigestOfFile,
    testOverrides,
    testProject,
    TEST_SECRET_KEYS,
    type TestProject,
} from "./stack-helpers";

const DISABLED = new Map<ServiceKey, string>([["calendar", "needs Google's token endpoint at start; no internet here"]]);

/**
 * Every error line (operate/status.ts isErrorLine, the gate's rule) these tests let HomeIQ's real services
 * write, each with why. Any other error line fails the test. The first four are caused by this test
 * environment alone (a user with Home Assistant and internet gets none of them); the last two are
 * HomeIQ's own, at the commit the catalog models, and a user gets them too.
 * Because of all six, the stack runs the gate with homeiq:validationErrorLines=report; a user's stack
 * keeps the default, fail (the review's criterion).
 */
const EXPLAINED_ERROR_LINES: ReadonlyArray<{ readonly service: ServiceKey; readonly line: RegExp; readonly why: string }> = [
    { service: "websocket-ingestion", line: /Cannot connect to host homeassistant\.local:8123/, why: "test environment: no Home Assistant (the default URL does not resolve); it retries and logs each failure" },
    { service: "carbon-intensity", line: /Cannot connect to host api\.watttime\.org:443/, why: "test environment: no internet (WattTime's URL is fixed in its code, no stand-in can be named)" },
    { service: "electricity-pricing", line: /Cannot connect to host api\.awattar\.de:443/, why: "test environment: no internet (aWATTar's URL is fixed in its code)" },
    { service: "air-quality", line: /Cannot connect to host www\.airnowapi\.org:443/, why: "test environment: no internet (AirNow's URL is fixed in its code)" },
    {
        service: "admin-api",
        line: /Failed to start WebSocket broadcast loop: 'AdminAPIService' object has no attribute 'websocket_endpoints'/,
        why: "HomeIQ's own, every start: its startup calls an attribute its service object never sets",
    },
    {
        service: "sports-data",
        line: / - ERROR - INFLUXDB_TOKEN not set$/,
        why: "HomeIQ's own, every start: its InfluxDB 3 query client wants a token that HomeIQ's compose file never gives it (the program turns its InfluxDB writes off)",
    },
];

/** An HTTP request with a JSON body and headers; the answer's status and body. */
function request(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = http.request(url, { method, timeout: 15_000, headers: { ...headers, ...(payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}) } }, (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (text += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on("timeout", () => req.destroy(new Error(`${method} ${url}: no answer in 15 s`)));
        req.on("error", reject);
        if (payload) req.write(payload);
        req.end();
    });
}

function envOf(container: string, name: string): string {
    const env = (JSON.parse(docker(["inspect", "--format", "{{json .Config.Env}}", container]).stdout) as string[]).find((e) => e.startsWith(`${name}=`));
    if (env === undefined) throw new Error(`${container} has no ${name}`);
    return env.slice(name.length + 1);
}

/** Devices rows written the way data-api's models define them (its real schema), as the user data-api runs as. */
function addDevices(container: string, tag: string, n: number): void {
    const code = `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
c.executemany("INSERT INTO devices (device_id, name, manufacturer, model, integration) VALUES (?, ?, 'itest', 'real', 'itest')",
              [("%s-%d" % (sys.argv[2], i), "Device %s %d" % (sys.argv[2], i)) for i in range(int(sys.argv[3]))])
c.commit()
`;
    docker(["exec", container, "python3", "-c", code, "/app/data/metadata.db", tag, String(n)]);
}

export const realCheckoutGiven = (): boolean => (process.env[REAL_CHECKOUT_ENV] ?? "") !== "";

export function realStackAcceptance(base: "prod" | "dev"): void {
    if (!realCheckoutGiven()) {
        describe(`HomeIQ's real services, ${base} stack`, () => {
            it.skip(`did not run: ${REAL_CHECKOUT_ENV} is not set (point it at a HomeIQ checkout to run them; engine/real-homeiq/README.md)`, () => undefined);
        });
        return;
    }
    describe(`HomeIQ's real services under the ${base} stack's own specs, on a real engine`, () => {
        let project: TestProject;
        let first: ApplyResult;
        let state: ApplyState | undefined;
        const log: string[] = [];
        // Ports of their own (a stand-in stack may run beside it): the catalog's ports + 20000 (prod) or + 30000 (dev).
        const offset = base === "prod" ? 20000 : 30000;
        const hostPorts = ALL_SERVICES.filter((s) => !DISABLED.has(s.key)).map((s) => `${s.key}=${s.defaultHostPort + offset}`);
        const overrides = (p: TestProject, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> =>
            testOverrides(
                p,
                // Error lines reported, not failed: EXPLAINED_ERROR_LINES says why; the test below fails on any other.
                { "homeiq:homeiqCheckoutPath": REAL_CHECKOUT, "homeiq:hostPorts": JSON.stringify(hostPorts), "homeiq:validationErrorLines": "report", ...extra },
                DISABLED,
            );
        const byService = (): Map<string, SynthResource> => new Map(containersOf(first).map((c) => [serviceOf(c), c]));
        const url = (service: string, p: string): string => `http://127.0.0.1:${portOf(byService().get(service)!).external}${p}`;

        beforeAll(async () => {
            project = testProject(base, `real-${base}`);
            removeTestStack(project.stack);
            try {
                first = await applyStack(project.stack, { projectDir: project.projectDir, configOverrides: overrides(project), secretOverrides: TEST_SECRET_KEYS, log: (l) => log.push(l) });
                state = first.state;
            } catch (err) {
                if (err instanceof ApplyError) state = err.state;
                throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- apply log ---\n${log.slice(-80).join("\n")}`);
            }
        }, 20 * 60_000);

        afterAll(async () => {
            if (state) await destroyStack(state, { log: (l) => log.push(l) }).catch(() => undefined);
            if (project) {
                removeTestStack(project.stack);
                fs.rmSync(project.projectDir, { recursive: true, force: true });
            }
        }, 5 * 60_000);

        it("runs every deployed service healthy, as the user and with the root filesystem its spec gives, from images built from the checkout", () => {
            const services = serviceContainersOf(first).map(serviceOf).sort();
            expect(services).toEqual(ALL_SERVICES.filter((s) => !DISABLED.has(s.key)).map((s) => s.key).sort());
            for (const c of containersOf(first)) {
                const info = inspect(nameOf(c));
                const image = JSON.parse(docker(["image", "inspect", "--format", "{{json .Config}}", String(c.inputs.image)]).stdout) as { User?: string };
                expect({ name: nameOf(c), status: info.State.Status, health: info.State.Health?.Status }).toEqual({ name: nameOf(c), status: "running", health: "healthy" });
                // The user it runs as: the spec's, else the image's own (HomeIQ's Dockerfile USER).
                expect({ name: nameOf(c), user: info.Config.User }).toEqual({ name: nameOf(c), user: c.inputs.user === undefined ? (image.User ?? "") : String(c.inputs.user) });
                expect({ name: nameOf(c), readOnly: info.HostConfig.ReadonlyRootfs }).toEqual({ name: nameOf(c), readOnly: c.inputs.readOnly === true });
            }
            // Not the stand-ins: every built image came from the rewritten HomeIQ Dockerfiles (the real python base).
            const dataApiImage = String(byService().get("data-api")!.inputs.image);
            expect(docker(["run", "--rm", "--entrypoint", "cat", dataApiImage, "/HOMEIQ-TEST-BASE.txt"]).stdout).toContain("homeiq-real/python:trixie");
            expect(log.join("\n")).toContain(`validation passed: ${services.length} of ${services.length} services`);
        });

        it("writes no error line but the explained ones (no Home Assistant, no internet, two of HomeIQ's own); the gate counted them by the same rule and reported them without failing", () => {
            const unexplained: string[] = [];
            const gateCounts: string[] = [];
            const gate = log.join("\n");
            for (const c of containersOf(first)) {
                const logs = docker(["logs", nameOf(c)]);
                const errorLines = `${logs.stdout}\n${logs.stderr}`.split("\n").filter(isErrorLine);
                for (const l of errorLines) {
                    if (!EXPLAINED_ERROR_LINES.some((e) => e.service === serviceOf(c) && e.line.test(l))) unexplained.push(`${serviceOf(c)}: ${l.slice(0, 300)}`);
                }
                // The gate ran earlier: it saw at most the error lines there are now.
                const counted = new RegExp(`error lines: ${nameOf(c)}: (\\d+) since it started`).exec(gate);
                if (!counted || Number(counted[1]) > errorLines.length) gateCounts.push(`${nameOf(c)}: gate ${counted?.[1] ?? "no count"}, log now ${errorLines.length}`);
            }
            expect(unexplained).toEqual([]);
            expect(gateCounts).toEqual([]);
            // Home Assistant is retried from the start, so the gate always saw some; reported, and the gate passed.
            expect(gate).toMatch(/error lines \(reported, not a failure\): .*websocket-ingestion \(\d+\)/);
        });

        it("logs no write refused by a read-only root or a permission, from any service", () => {
            const refused: string[] = [];
            for (const c of containersOf(first)) {
                const logs = docker(["logs", nameOf(c)]);
                for (const line of `${logs.stdout}\n${logs.stderr}`.split("\n")) {
                    if (/Read-only file system|Permission denied|EROFS|EACCES/.test(line)) refused.push(`${serviceOf(c)}: ${line.slice(0, 200)}`);
                }
            }
            expect(refused).toEqual([]);
        });

        it("writes nothing into a container's own layer outside the paths prod mounts writable (tmpfs and volumes)", () => {
            // In dev the roots are writable, so `docker diff` shows every path the real code writes; each must be
            // one prod gives it (a tmpfs or a volume of the catalog), or prod's read-only root would refuse it.
            const outside: string[] = [];
            for (const c of serviceContainersOf(first)) {
                const def = ALL_SERVICES.find((s) => s.key === serviceOf(c))!;
                // Paths prod mounts over the root: tmpfs, volumes, host binds (their mount points show as added).
                // /var/run is a link to /run in these images: the engine mounts there.
                const norm = (p: string): string => p.replace(/^\/var\/run(?=\/|$)/, "/run");
                const mounted = [
                    ...def.security.tmpfsPaths,
                    ...def.volumes.map((v) => v.containerPath),
                    ...def.hostMounts.map((m) => m.containerPath),
                    ...(def.containerLogs ? [def.containerLogs.hostFolder] : []),
                ].map(norm);
                const changed = docker(["diff", nameOf(c)]).stdout.split("\n").filter((l) => /^[AC] /.test(l)).map((l) => norm(l.slice(2)));
                // What was written is the leaves: a folder shows as changed because of what changed inside it.
                const leaves = changed.filter((p) => !changed.some((q) => q.startsWith(`${p}/`)));
                for (const p of leaves) {
                    const covered = mounted.some((w) => p === w || p.startsWith(`${w}/`));
                    // Python's bytecode cache: written when it can be, skipped silently on a read-only root.
                    if (!covered && !/\/__pycache__(\/|$)/.test(p)) outside.push(`${def.key}: ${p}`);
                }
            }
            expect(outside).toEqual([]);
        });

        it("serves the real dashboard, and its real nginx.conf reaches admin-api, data-api and sports-data", async () => {
            const page = await httpGet(url("health-dashboard", "/"));
            expect(page.status).toBe(200);
            const script = /src="(\/assets\/js\/main-[^"]+\.js)"/.exec(page.body);
            expect(script).not.toBeNull();
            expect((await httpGet(url("health-dashboard", script![1]))).status).toBe(200);
            const admin = await httpGet(url("health-dashboard", "/api/v1/health"));
            expect({ status: admin.status, service: (JSON.parse(admin.body) as { service?: string }).service }).toEqual({ status: 200, service: "admin-api" });
            const devices = await httpGet(url("health-dashboard", "/api/devices"));
            expect(devices.status).toBe(200);
            expect(JSON.parse(devices.body)).toHaveProperty("devices");
            const teams = await httpGet(url("health-dashboard", "/api/sports/teams"));
            expect(teams.status).toBe(200);
            expect((JSON.parse(teams.body) as { teams: unknown[] }).teams.length).toBeGreaterThan(0);
        });

        it("lets data-api serve its SQLite database, written on its volume as the user it runs as", async () => {
            const dataApi = nameOf(byService().get("data-api")!);
            addDevices(dataApi, `${base}-served`, 3);
            const answer = await httpGet(url("health-dashboard", "/api/devices?limit=100"));
            const names = (JSON.parse(answer.body) as { devices: Array<{ name: string }> }).devices.map((d) => d.name).sort();
            expect(names).toEqual([0, 1, 2].map((i) => `Device ${base}-served ${i}`));
            const runningAs = docker(["exec", dataApi, "id", "-u"]).stdout.trim();
            expect(docker(["exec", dataApi, "stat", "-c", "%u", "/app/data/metadata.db"]).stdout.trim()).toBe(runningAs);
        });

        it("lets sports-data register a webhook through its API into its SQLite database", async () => {
            const registered = await request("POST", url("sports-data", "/api/v1/webhooks/register"), { url: "http://example.invalid/hook", events: ["game_started"], secret: "itest-webhook-secret-0123", team: "sf" });
            expect(registered.status).toBe(201);
            const id = (JSON.parse(registered.body) as { webhook_id: string }).webhook_id;
            const rows = docker(["exec", nameOf(byService().get("sports-data")!), "python3", "-c", "import sqlite3,sys; print([r[0] for r in sqlite3.connect(sys.argv[1]).execute('select webhook_id from webhooks')])", "/app/data/webhooks.db"]).stdout;
            expect(rows).toContain(id);
        });

        it("gets the real services' writes into the InfluxDB stand-in, with the stack's token", () => {
            const influx = nameOf(byService().get("influxdb")!);
            // smart-meter writes its readings (influxdb_client_3, line protocol over /api/v2/write) at start.
            const lines = waitFor("smart-meter's points in the bucket", () => {
                const text = docker(["exec", influx, "sh", "-c", "cat /var/lib/influxdb2/engine/data/*.lp 2>/dev/null || true"]).stdout;
                return /^smart_meter,/m.test(text) ? text : undefined;
            }, { timeoutMs: 60_000, intervalMs: 1000 });
            expect(lines).toMatch(/^smart_meter,meter_type=generic \S+ \d{19}$/m);
        });

        it(`answers admin-api's protected routes ${base === "prod" ? "only with its API key (auth on)" : "without a key (auth off)"}`, async () => {
            const admin = nameOf(byService().get("admin-api")!);
            const anonymous = await httpGet(url("admin-api", "/api/v1/stats"));
            const withKey = await request("GET", url("admin-api", "/api/v1/stats"), undefined, { authorization: `Bearer ${envOf(admin, "API_KEY")}` });
            expect({ anonymous: anonymous.status, withKey: withKey.status }).toEqual({ anonymous: base === "prod" ? 401 : 200, withKey: 200 });
        });

        it("takes a pre-change backup of the real databases before replacing data-api, and a restore brings them back byte for byte", async () => {
            const services = byService();
            const dataApi = nameOf(services.get("data-api")!);
            const sports = nameOf(services.get("sports-data")!);
            const influx = nameOf(services.get("influxdb")!);
            addDevices(dataApi, `${base}-before`, 200);
            for (let i = 0; i < 5; i++) {
                const r = await request("POST", url("sports-data", "/api/v1/webhooks/register"), { url: `http://example.invalid/before/${i}`, events: ["game_ended"], secret: "itest-webhook-secret-0123" });
                expect(r.status).toBe(201);
            }
            const before = { dataApi: sqliteDigestIn(dataApi, "/app/data/metadata.db"), sports: sqliteDigestIn(sports, "/app/data/webhooks.db") };
            expect(before.dataApi.tables.devices.rows).toBeGreaterThanOrEqual(200);
            expect(before.sports.tables.webhooks.rows).toBeGreaterThanOrEqual(5);

            const moved = hostPorts.map((e) => (e.startsWith("data-api=") ? `data-api=${8006 + offset + 100}` : e));
            const changed = overrides(project, { "homeiq:hostPorts": JSON.stringify(moved) });
            const update = await applyStack(project.stack, { projectDir: project.projectDir, configOverrides: changed, secretOverrides: TEST_SECRET_KEYS, previous: state, log: (l) => log.push(l) });
            state = update.state;
            const backupStep = update.events.find((e) => e.name.endsWith("-pre-change-backup"))!;
            const replaced = update.events.find((e) => e.name === services.get("data-api")!.name)!;
            expect([backupStep.op, replaced.op]).toEqual(["replace", "replace"]);
            expect(backupStep.end).toBeLessThanOrEqual(replaced.start);

            const stackBackups = path.join(project.backupRoot, project.stack);
            const folders = fs.readdirSync(stackBackups).filter((f) => !f.endsWith(".partial")).sort();
            const backupDir = path.join(stackBackups, folders[folders.length - 1]);
            expect(sqliteDigestOfFile(path.join(backupDir, "sqlite", "data-api", "metadata.db"))).toEqual(before.dataApi);
            expect(sqliteDigestOfFile(path.join(backupDir, "sqlite", "sports-data", "webhooks.db"))).toEqual(before.sports);

            // What is written after the backup is what the restore must take back.
            addDevices(dataApi, `${base}-after`, 20);
            const token = envOf(influx, "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN");
            const late = await new Promise<number>((resolve, reject) => {
                const req = http.request(url("influxdb", "/api/v2/write?bucket=home_assistant_events"), { method: "POST", headers: { authorization: `Token ${token}` } }, (res) => {
                    res.resume();
                    res.on("end", () => resolve(res.statusCode ?? 0));
                });
                req.on("error", reject);
                req.end("itest_after_backup,run=late v=1 1800000000000000000\n");
            });
            expect(late).toBe(204);
            expect(docker(["exec", influx, "sh", "-c", "cat /var/lib/influxdb2/engine/data/*.lp"]).stdout).toContain("itest_after_backup");
            expect(sqliteDigestIn(dataApi, "/app/data/metadata.db")).not.toEqual(before.dataApi);
            const restored = await applyStack(project.stack, {
                projectDir: project.projectDir,
                configOverrides: { ...changed, "homeiq:restoreFrom": backupDir },
                secretOverrides: TEST_SECRET_KEYS,
                previous: state,
                log: (l) => log.push(l),
            });
            state = restored.state;
            expect(restored.events.find((e) => e.name.endsWith("-restore"))?.op).toBe("create");
            expect(sqliteDigestIn(dataApi, "/app/data/metadata.db")).toEqual(before.dataApi);
            expect(sqliteDigestIn(sports, "/app/data/webhooks.db")).toEqual(before.sports);
            // InfluxDB holds exactly what the backup holds (smart-meter writes every 5 minutes: what it wrote
            // before the backup is in both), and not what was written after it.
            expect(influxChecksumIn(influx)).toBe(influxChecksumOfBackup(path.join(backupDir, "influxdb")));
            expect(docker(["exec", influx, "sh", "-c", "cat /var/lib/influxdb2/engine/data/*.lp"]).stdout).not.toContain("itest_after_backup");
            for (const c of [dataApi, sports, influx]) expect(inspect(c).State.Health?.Status).toBe("healthy");
        }, 15 * 60_000);
    });
}
