/**
 * The whole stack on a real Docker engine (Engine >= 25), from the program's own specs: for dev and
 * prod, the program runs under the engine applier (engine/apply), which builds every image from the
 * stand-in HomeIQ checkout through the program's Image inputs and creates the network, volumes, the
 * 14 containers and the Commands exactly as the providers would, in the synthesized dependency
 * order, waiting for health where the spec says `wait`. Then the running stack is probed.
 *
 * Each stack runs under a test name (itest-dev, itest-prod) with a copy of its stack file, so a
 * real dev or prod stack on the same engine is never touched. InfluxDB is a stand-in (engine/README.md).
 * stack.prod.test.ts and stack.dev.test.ts run it, one stack each: their names and host ports
 * differ, so jest may run them side by side.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ApplyError, applyStack, destroyStack, type ApplyResult, type ApplyState, type StepEvent } from "../../engine/apply/applyStack";
import type { Props } from "../../engine/apply/liveResources";
import type { SynthResource } from "../../synth/synthesize";
import { cisSection5, cisTable } from "./cis-section5";
import { docker, influxChecksumOfBackup, type DbDigest } from "./helpers";
import {
    containersOf,
    httpGet,
    httpPost,
    influxChecksumIn,
    inspect,
    nameOf,
    nonLoopbackAddress,
    portOf,
    removeTestStack,
    serviceOf,
    sqliteDigestIn,
    sqliteDigestOfFile,
    STANDIN_CHECKOUT,
    tcpConnects,
    testOverrides,
    testProject,
    TEST_SECRET_KEYS,
    type PublishedPort,
    type TestProject,
} from "./stack-helpers";

const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/image:Image";
const SECRETS = TEST_SECRET_KEYS;

const PROXY = "docker-api-proxy";
/** The catalog services' containers (each publishes its port; the proxy publishes none). */
const serviceContainersOf = (r: ApplyResult): SynthResource[] => containersOf(r).filter((c) => serviceOf(c) !== PROXY);

function byService(r: ApplyResult): Map<string, SynthResource> {
    return new Map(containersOf(r).map((c) => [serviceOf(c), c]));
}

/**
 * An Engine API request from inside `container` to its DOCKER_HOST (tcp://host:port), made by the
 * container's own python: the status, and the body's first 200 bytes.
 */
function dockerApiFrom(container: string, method: string, apiPath: string): { status: number; body: string } {
    const code = `
import os, sys, urllib.request, urllib.error, json
host = os.environ["DOCKER_HOST"].replace("tcp://", "http://")
req = urllib.request.Request(host + sys.argv[2], method=sys.argv[1], data=b"{}" if sys.argv[1] in ("POST", "PUT") else None, headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(json.dumps({"status": r.status, "body": r.read(200).decode("latin-1")}))
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code, "body": e.read(200).decode("latin-1")}))
`;
    return JSON.parse(docker(["exec", container, "python3", "-c", code, method, apiPath]).stdout) as { status: number; body: string };
}

/**
 * The test's own table of a digest. The stand-in services add a row to their own table each time
 * they start, so after a restart (a restore replaces them) only the data the test wrote is comparable.
 */
const testRows = (d: DbDigest): { integrity: string; rows: DbDigest["tables"][string] } => ({ integrity: d.integrity, rows: d.tables.itest_rows });

/** Adds `rows` rows to a table `itest_rows` of a SQLite file, inside the running service, as its user. */
function addRows(container: string, file: string, rows: number, tag: string): void {
    const code = `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
c.execute("CREATE TABLE IF NOT EXISTS itest_rows (id INTEGER PRIMARY KEY, tag TEXT, payload BLOB)")
c.executemany("INSERT INTO itest_rows (tag, payload) VALUES (?, randomblob(200))", [(sys.argv[2],)] * int(sys.argv[3]))
c.commit()
`;
    docker(["exec", container, "python3", "-c", code, file, tag, String(rows)]);
}

function writeInfluxIn(container: string, token: string, lines: string): void {
    docker(["exec", "-e", "INFLUX_TOKEN", container, "sh", "-c", 'printf "%s" "$1" | influx write -b home_assistant_events', "sh", lines], {
        env: { INFLUX_TOKEN: token },
    });
}

const eventsFor = (events: StepEvent[], name: string): StepEvent[] => events.filter((e) => e.name === name);
/** The image id a container runs. */
const imageOf = (container: string): string => docker(["inspect", "--format", "{{.Image}}", container]).stdout.trim();

/**
 * The user a container must run as, from a source other than the container itself: the spec's user, or,
 * when the spec sets none, the image's own Config.User (what its Dockerfile's USER left; "" is root).
 */
function expectedUser(c: SynthResource): string {
    if (c.inputs.user !== undefined) return String(c.inputs.user);
    return docker(["image", "inspect", "--format", "{{.Config.User}}", String(c.inputs.image)]).stdout.trim();
}

/** The uid that user resolves to in the image (a name such as appuser is looked up in the image's passwd). */
function expectedUid(c: SynthResource): string {
    const user = expectedUser(c);
    if (user === "") return "0";
    const name = user.split(":")[0]!;
    if (/^\d+$/.test(name)) return name;
    return docker(["run", "--rm", "--network", "none", "--entrypoint", "id", String(c.inputs.image), "-u", name]).stdout.trim();
}

/** The whole acceptance of one stack (each in its own test file, so jest can run the two at the same time). */
export function stackAcceptance(base: "prod" | "dev"): void {
    describe(`the ${base} stack on a real Docker engine, from the program's own specs`, () => {
        let project: TestProject;
        let first: ApplyResult;
        let state: ApplyState | undefined;
        const log: string[] = [];
        const cleanups: Array<() => void> = [];
        const logLine = (line: string): void => {
            log.push(line);
        };

        beforeAll(async () => {
            project = testProject(base);
            removeTestStack(project.stack);
            try {
                first = await applyStack(project.stack, {
                    projectDir: project.projectDir,
                    configOverrides: testOverrides(project),
                    secretOverrides: SECRETS,
                    log: logLine,
                });
                state = first.state;
            } catch (err) {
                if (err instanceof ApplyError) state = err.state;
                throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- apply log ---\n${log.slice(-80).join("\n")}`);
            }
        }, 20 * 60_000);

        afterAll(async () => {
            if (state) await destroyStack(state, { log: logLine }).catch(() => undefined);
            for (const c of cleanups) c();
            if (project) {
                removeTestStack(project.stack);
                fs.rmSync(project.projectDir, { recursive: true, force: true });
            }
        }, 5 * 60_000);

        it("creates all the stack's containers, each only after every container it depends on is healthy", () => {
            const containers = containersOf(first);
            const enabled = Object.keys(first.synth.outputs.serviceUrls as Record<string, string>);
            expect(serviceContainersOf(first).map(serviceOf).sort()).toEqual(enabled.sort());
            expect(containers.map(serviceOf)).toContain(PROXY);
            // A test stack turns every service on (testOverrides): the checks below run over all 14, and the proxy.
            expect(serviceContainersOf(first)).toHaveLength(14);
            const created = new Map(first.events.filter((e) => e.type === CONTAINER && e.op === "create").map((e) => [e.name, e]));
            const byUrn = new Map(containers.map((c) => [c.urn, c]));
            for (const c of containers) {
                const mine = created.get(c.name)!;
                expect(mine.report?.healthyAt).toBeGreaterThanOrEqual(mine.report!.startedAt!);
                for (const dep of c.dependencies.filter((u) => byUrn.has(u))) {
                    const theirs = created.get(byUrn.get(dep)!.name)!;
                    expect({ container: c.name, after: theirs.name, ok: theirs.report!.healthyAt! <= mine.start }).toEqual({
                        container: c.name,
                        after: theirs.name,
                        ok: true,
                    });
                }
            }
        });

        it("leaves every container running and healthy, with the user, root filesystem, capabilities and limits of its spec", () => {
            for (const c of containersOf(first)) {
                const info = inspect(nameOf(c));
                expect({ name: nameOf(c), status: info.State.Status, health: info.State.Health?.Status }).toEqual({
                    name: nameOf(c),
                    status: "running",
                    health: "healthy",
                });
                expect({ name: nameOf(c), user: info.Config.User }).toEqual({ name: nameOf(c), user: expectedUser(c) });
                expect(info.HostConfig.ReadonlyRootfs).toBe(c.inputs.readOnly === true);
                expect(info.HostConfig.CapDrop ?? []).toEqual((c.inputs.capabilities as { drops?: string[] } | undefined)?.drops ?? []);
                expect(info.HostConfig.SecurityOpt ?? []).toEqual(c.inputs.securityOpts ?? []);
                expect(info.HostConfig.Memory).toBe(Number(c.inputs.memory) * 1024 * 1024);
                expect(info.HostConfig.NanoCpus).toBe(Math.round(Number(c.inputs.cpus) * 1e9));
            }
        });

        // The dev profile keeps images as built (writable, with their capabilities): the benchmark is prod's.
        if (base === "prod") it("passes every CIS Docker Benchmark section-5 check but the accepted warnings (docs/security.md, CIS Docker Benchmark)", () => {
            const containers = containersOf(first).map((c) => ({ name: nameOf(c), service: serviceOf(c), ports: (c.inputs.ports ?? []) as PublishedPort[] }));
            const rows = cisSection5(containers);
            logLine(`CIS Docker Benchmark section 5 on ${project.stack}:\n${cisTable(rows)}`);
            const dashboard = nameOf(byService(first).get("health-dashboard")!);
            const hasAppArmor = (JSON.parse(docker(["info", "--format", "{{json .SecurityOptions}}"]).stdout) as string[]).includes("name=apparmor");
            // Accepted: the dashboard faces the home network in prod (homeiq:dashboardBindAddress 0.0.0.0, the user's
            // choice); AppArmor where the host has none; the Docker API proxy, the one container that holds the socket
            // (by design: it passes on only admin-api's read-only calls, tested below), which docker-bench's 5.32 flags.
            const accepted: Record<string, string> = {
                "5.14": `${dashboard}: binds 0.0.0.0:${portOf(byService(first).get("health-dashboard")!).external}`,
                "5.32": `${nameOf(byService(first).get(PROXY)!)}: mounts /var/run/docker.sock`,
            };
            const warnings = Object.fromEntries(rows.filter((r) => r.status === "warn" && !(r.id === "5.2" && !hasAppArmor)).map((r) => [r.id, r.detail]));
            expect(warnings).toEqual(accepted);
            // Without AppArmor on the host, every container still asks for docker-default, so a host with it enforces it.
            if (!hasAppArmor) expect(rows.find((r) => r.id === "5.2")?.detail).toContain("every container asks for apparmor=docker-default");
            expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 32 }, (_, i) => `5.${i + 1}`));
            // The ulimits in force are exactly the catalog's (InfluxDB's open files), lowered to the engine's own limit.
            expect(rows.find((r) => r.id === "5.19")?.detail).toMatch(/^itest-\w+-influxdb: \[\{"Name":"nofile","Hard":\d+,"Soft":\d+\}\]$/);
        });

        it("passes the post-deploy validation gate", () => {
            const validation = first.synth.resources.find((r) => r.type === "command:local:Command" && r.name.endsWith("-validation"));
            expect(validation).toBeDefined();
            const ran = eventsFor(first.events, validation!.name);
            expect(ran.map((e) => e.op)).toEqual(["create"]);
            const services = serviceContainersOf(first).length;
            expect(log.join("\n")).toContain(`validation passed: ${services} of ${services} services`);
            // It says which AppArmor profile is in force: none on a host without AppArmor (as on the build machines).
            const hasAppArmor = (JSON.parse(docker(["info", "--format", "{{json .SecurityOptions}}"]).stdout) as string[]).includes("name=apparmor");
            expect(log.join("\n")).toMatch(
                hasAppArmor
                    ? /AppArmor: itest-\w+-influxdb runs under docker-default/
                    : new RegExp(`AppArmor: not available on this Docker host .*the ${containersOf(first).length} containers run without an AppArmor profile`),
            );
        });

        it("serves the dashboard, and proxies through each of its three upstreams by their old container names", async () => {
            const dashboard = byService(first).get("health-dashboard")!;
            const base = `http://127.0.0.1:${portOf(dashboard).external}`;
            const page = await httpGet(`${base}/`);
            expect(page.status).toBe(200);
            expect(page.body).toMatch(/<html/i);
            const routes: Array<[string, string, string]> = [
                ["/api/v1/events/recent", "data-api", "/api/v1/events/recent"],
                ["/api/v1/system/status", "admin-api", "/api/v1/system/status"],
                ["/api/sports/games/live", "sports-data", "/api/v1/games/live"],
            ];
            for (const [route, service, upstreamPath] of routes) {
                const answer = await httpGet(`${base}${route}`);
                expect({ route, status: answer.status }).toEqual({ route, status: 200 });
                expect(JSON.parse(answer.body)).toMatchObject({ service, path: upstreamPath });
            }
        });

        it("publishes on a non-loopback address exactly the ports its spec binds to every interface", async () => {
            const address = nonLoopbackAddress();
            const reachable: number[] = [];
            for (const c of serviceContainersOf(first)) {
                const port = portOf(c);
                const open = await tcpConnects(address, port.external);
                expect({ container: nameOf(c), port: port.external, open }).toEqual({
                    container: nameOf(c),
                    port: port.external,
                    open: port.ip === "0.0.0.0",
                });
                if (open) reachable.push(port.external);
                // Every port answers on loopback.
                expect(await tcpConnects("127.0.0.1", port.external)).toBe(true);
            }
            const dashboardPort = portOf(byService(first).get("health-dashboard")!).external;
            expect(reachable).toEqual(base === "prod" ? [dashboardPort] : []);
        });

        it("lets data-api and sports-data write their SQLite databases on their volumes as the user they run as", () => {
            for (const [service, file] of [
                ["data-api", "/app/data/metadata.db"],
                ["sports-data", "/app/data/webhooks.db"],
            ] as const) {
                const c = byService(first).get(service)!;
                const info = inspect(nameOf(c));
                const runningAs = docker(["exec", nameOf(c), "id", "-u"]).stdout.trim();
                const owner = docker(["exec", nameOf(c), "stat", "-c", "%u", file]).stdout.trim();
                expect({ service, owner }).toEqual({ service, owner: runningAs });
                expect({ service, runningAs }).toEqual({ service, runningAs: expectedUid(c) });
                expect(info.Config.User).toBe(expectedUser(c));
                addRows(nameOf(c), file, 5, "written-by-service-user");
                expect(sqliteDigestIn(nameOf(c), file).integrity).toBe("ok");
            }
        });

        it("gives the Docker socket to the Docker API proxy alone, with the socket's group found on the engine at deploy time", () => {
            const proxy = byService(first).get(PROXY)!;
            const socketGroup = docker(["run", "--rm", "--entrypoint", "stat", "-v", "/var/run/docker.sock:/s:ro", String(proxy.inputs.image), "-c", "%g", "/s"]).stdout.trim();
            expect(inspect(nameOf(proxy)).HostConfig.GroupAdd).toEqual([socketGroup]);
            for (const c of containersOf(first)) {
                const mounts = (JSON.parse(docker(["inspect", "--format", "{{json .Mounts}}", nameOf(c)]).stdout) as Array<{ Source: string }>).map((m) => m.Source);
                expect({ container: nameOf(c), socket: mounts.includes("/var/run/docker.sock") }).toEqual({ container: nameOf(c), socket: serviceOf(c) === PROXY });
            }
            // Only admin-api shares the proxy's network: no other service even resolves its name.
            const adminApi = nameOf(byService(first).get("admin-api")!);
            expect(Object.keys(inspect(nameOf(proxy)).NetworkSettings.Networks)).toEqual([`${project.stack}-docker-api`]);
            const fromDataApi = docker(["exec", nameOf(byService(first).get("data-api")!), "python3", "-c", "import socket; socket.getaddrinfo('docker-api-proxy', 2375)"], { allowFail: true });
            expect(fromDataApi.code).not.toBe(0);
            expect(docker(["exec", adminApi, "sh", "-c", 'echo "$DOCKER_HOST"']).stdout.trim()).toBe("tcp://docker-api-proxy:2375");
        });

        it("passes admin-api's own Engine API calls through the proxy, and refuses every call that creates, execs, changes or copies", () => {
            const adminApi = nameOf(byService(first).get("admin-api")!);
            const influx = inspect(nameOf(byService(first).get("influxdb")!));
            const filters = encodeURIComponent(JSON.stringify({ label: [`com.homeiq.stack=${project.stack}`] }));
            // What docker==6.1.3 sends for admin-api's list, inspect, image, stats and logs (services/admin-api/src/docker_service.py).
            const allowed: Array<[string, string]> = [
                ["GET", "/_ping"],
                ["GET", "/version"],
                ["GET", `/v1.44/containers/json?all=1&limit=-1&size=0&trunc_cmd=0&filters=${filters}`],
                ["GET", `/v1.44/containers/${influx.Id}/json`],
                ["GET", `/v1.44/containers/${project.stack}-influxdb/json`],
                ["GET", `/v1.44/images/${docker(["inspect", "--format", "{{.Image}}", influx.Id]).stdout.trim()}/json`],
                ["GET", `/v1.44/containers/${influx.Id}/stats?stream=0`],
                ["GET", `/v1.44/containers/${influx.Id}/logs?stderr=1&stdout=1&timestamps=1&follow=0&tail=5`],
            ];
            for (const [method, apiPath] of allowed) {
                expect({ method, apiPath, status: dockerApiFrom(adminApi, method, apiPath).status }).toEqual({ method, apiPath, status: 200 });
            }
            // The list answers with the stack's own containers (the body's start: the first one's id).
            expect(dockerApiFrom(adminApi, "GET", `/containers/json?all=1&filters=${filters}`).body).toMatch(/^\[\{"Id":"[0-9a-f]{64}"/);
            const stackContainers = (): string[] => docker(["ps", "-aq", "--filter", `label=com.homeiq.stack=${project.stack}`]).stdout.trim().split("\n").sort();
            const before = stackContainers();
            const refused: Array<[string, string]> = [
                ["POST", "/v1.44/containers/create?name=itest-proxy-escape"],
                ["POST", `/v1.44/containers/${influx.Id}/exec`],
                ["POST", `/v1.44/containers/${influx.Id}/restart`],
                ["POST", `/v1.44/containers/${influx.Id}/stop`],
                ["DELETE", `/v1.44/containers/${influx.Id}?force=1`],
                ["PUT", `/v1.44/containers/${influx.Id}/archive?path=/tmp`],
                ["GET", `/v1.44/containers/${influx.Id}/archive?path=/etc`],
                ["GET", `/v1.44/containers/${influx.Id}/export`],
                ["GET", "/v1.44/images/json"],
                ["POST", `/v1.44/containers/${influx.Id}/json`],
                ["GET", `/v1.44/containers/${influx.Id}/json/../../create`],
            ];
            for (const [method, apiPath] of refused) {
                const answer = dockerApiFrom(adminApi, method, apiPath);
                expect({ method, apiPath, status: answer.status }).toEqual({ method, apiPath, status: 403 });
            }
            // Nothing was created, stopped or removed by any of them.
            expect(stackContainers()).toEqual(before);
            expect(docker(["ps", "-aq", "--filter", "name=^itest-proxy-escape$"]).stdout.trim()).toBe("");
            expect(inspect(influx.Id).State.StartedAt).toBe(influx.State.StartedAt);
        });

        it("lets log-aggregator read the json-file logs of the stack's other containers", async () => {
            const aggregator = byService(first).get("log-aggregator")!;
            const base = `http://127.0.0.1:${portOf(aggregator).external}`;
            const collected = await httpPost(`${base}/api/v1/logs/collect`);
            expect(collected.status).toBe(200);
            const stats = JSON.parse((await httpGet(`${base}/api/v1/logs/stats`)).body) as { containers_seen: number; files_read: number; lines: number; errors: string[] };
            const others = serviceContainersOf(first).length - 1;
            expect(stats.errors).toEqual([]);
            expect(stats.containers_seen).toBe(others);
            expect(stats.files_read).toBe(others);
            expect(stats.lines).toBeGreaterThan(0);
        });

        it("changes nothing on a second apply with the same config, planned from the providers' read-back (zero steps)", async () => {
            const again = await applyStack(project.stack, {
                projectDir: project.projectDir,
                configOverrides: testOverrides(project),
                secretOverrides: SECRETS,
                previous: state,
                log: logLine,
            });
            state = again.state;
            const changed = again.events.filter((e) => e.op !== "same").map((e) => `${e.op} ${e.name} ${JSON.stringify(e.changes ?? [])}`);
            expect(changed).toEqual([]);
            // Every resource was reached, none left with init errors.
            expect(again.events.length).toBe(state.resources.length);
            expect(state.resources.filter((r) => (r.initErrors ?? []).length > 0).map((r) => r.name)).toEqual([]);
        }, 10 * 60_000);

        it("keeps every secret out of the Commands' stdout and stderr in state, and marks those outputs secret where the environment holds one", () => {
            const secrets = first.secretValues.filter((v) => v.length >= 8);
            expect(secrets.length).toBeGreaterThanOrEqual(3);
            const commands = state!.resources.filter((r) => r.type === "command:local:Command");
            expect(commands.length).toBeGreaterThanOrEqual(5);
            for (const c of commands) {
                const outputs = `${String(c.state.stdout ?? "")}\n${String(c.state.stderr ?? "")}`;
                expect({ command: c.name, leaked: secrets.filter((v) => outputs.includes(v)).length }).toEqual({ command: c.name, leaked: 0 });
            }
            const ran = commands.filter((c) => String(c.state.stdout ?? "").length > 0).map((c) => c.name);
            expect(ran.length).toBeGreaterThanOrEqual(3);
            const secretEnv = commands.filter((c) => Object.values((c.inputs.environment ?? {}) as Record<string, string>).some((v) => secrets.includes(v)));
            expect(secretEnv.map((c) => [c.name, [...c.secretOutputs].sort()])).toEqual(secretEnv.map((c) => [c.name, ["stderr", "stdout"]]));
            expect(secretEnv.length).toBeGreaterThanOrEqual(1);
        });

        it("after a failed health wait, the rerun does not wait again but the container health gate fails it; a fix then passes", async () => {
            // A leaf service (only log-aggregator and the gates depend on it), whichever of them the stack deploys.
            const leaf = ["calendar", "smart-meter", "electricity-pricing", "air-quality", "carbon-intensity"].find((k) => byService(first).has(k))!;
            const target = byService(first).get(leaf)!;
            const failing = { tests: ["CMD", "false"], interval: "1s", timeout: "1s", retries: 1, startPeriod: "0s", startInterval: "250ms" };
            const breakTarget = (type: string, name: string, inputs: Props): Props =>
                type === CONTAINER && name === target.name ? { ...inputs, healthcheck: failing, waitTimeout: 5 } : inputs;
            const attempt = async (transformInputs?: (type: string, name: string, inputs: Props) => Props): Promise<ApplyError | ApplyResult> => {
                try {
                    return await applyStack(project.stack, { projectDir: project.projectDir, configOverrides: testOverrides(project), secretOverrides: SECRETS, previous: state, transformInputs, log: logLine });
                } catch (err) {
                    if (!(err instanceof ApplyError)) throw err;
                    return err;
                }
            };
            const ops = (events: StepEvent[], name: string): string[] => eventsFor(events, name).map((e) => e.op);
            const gate = first.synth.resources.find((r) => r.name.endsWith("-container-health"))!.name;

            // 1. The health check change replaces it (replaceOnChanges); the new container never gets healthy.
            const failed = await attempt(breakTarget);
            expect(failed).toBeInstanceOf(ApplyError);
            const failedErr = failed as ApplyError;
            state = failedErr.state;
            expect(failedErr.message).toMatch(/failed to be in healthy state within 5s/);
            expect(ops(failedErr.events, target.name)).toEqual(["replace"]);
            // The gate (its triggers hold the container's id) was deleted before it, as a delete-before-replace does, and never ran.
            expect(ops(failedErr.events, gate)).toEqual(["delete"]);
            const kept = state.resources.find((r) => r.name === target.name)!;
            expect(kept.initErrors?.[0]).toMatch(/failed to be in healthy state/);

            // 2. The rerun: the container gets an empty update (no wait), and the health gate, whose trigger is its new id, fails.
            const rerun = await attempt(breakTarget);
            expect(rerun).toBeInstanceOf(ApplyError);
            const rerunErr = rerun as ApplyError;
            state = rerunErr.state;
            expect(ops(rerunErr.events, target.name)).toEqual(["update"]);
            expect(ops(rerunErr.events, gate)).toEqual(["create"]);
            expect(rerunErr.message).toContain(`not healthy: ${nameOf(target)} (running, health unhealthy)`);
            expect(inspect(nameOf(target)).State.Health?.Status).toBe("unhealthy");

            // 3. The fix (the program's own health check again) replaces it, and both gates pass.
            const fixed = (await attempt()) as ApplyResult;
            expect(fixed).not.toBeInstanceOf(ApplyError);
            state = fixed.state;
            expect(ops(fixed.events, target.name)).toEqual(["replace"]);
            expect(ops(fixed.events, gate)).toEqual(["create"]);
            expect(inspect(nameOf(target)).State.Health?.Status).toBe("healthy");
            expect(state.resources.filter((r) => (r.initErrors ?? []).length > 0)).toEqual([]);
        }, 15 * 60_000);

        it("upgrades from a changed HomeIQ checkout, rebuilding only the images whose build context changed, and rolls back with restoreFrom to identical data", async () => {
            const services = byService(first);
            const checkout = fs.mkdtempSync(path.join(os.tmpdir(), `homeiq-checkout-${base}-`));
            cleanups.push(() => fs.rmSync(checkout, { recursive: true, force: true }));
            fs.cpSync(STANDIN_CHECKOUT, checkout, { recursive: true });
            const apply = async (extra: Record<string, string> = {}): Promise<ApplyResult> => {
                const r = await applyStack(project.stack, {
                    projectDir: project.projectDir,
                    configOverrides: testOverrides(project, { "homeiq:homeiqCheckoutPath": checkout, ...extra }),
                    secretOverrides: SECRETS,
                    previous: state,
                    log: logLine,
                });
                state = r.state;
                return r;
            };
            const summary = (r: ApplyResult) => ({
                rebuilt: r.events.filter((e) => e.type === IMAGE && e.op === "update").map((e) => e.name).sort(),
                replaced: r.events.filter((e) => e.type === CONTAINER && e.op === "replace").map((e) => e.name).sort(),
                backups: r.events.filter((e) => e.name.endsWith("-pre-change-backup") && e.op !== "same").map((e) => `${e.op}: ${e.report?.message ?? ""}`),
            });
            const show = (step: string, r: ApplyResult): void => console.log(`[${base} upgrade] ${step}: ${JSON.stringify(summary(r), null, 1)}`);

            /**
             * The containers an apply must replace: those whose image changed (a rebuild that yields the same id
             * leaves the container alone), and, transitively, those whose inputs hold a replaced one's id.
             */
            const expectedReplacements = (before: ApplyState, after: ApplyState): string[] => {
                const containersBefore = before.resources.filter((r) => r.type === CONTAINER);
                const imageAfter = new Map(after.resources.filter((r) => r.type === CONTAINER).map((r) => [r.name, r.inputs.image]));
                const out = new Set(containersBefore.filter((r) => imageAfter.get(r.name) !== r.inputs.image).map((r) => r.name));
                for (let grew = true; grew; ) {
                    grew = false;
                    const ids = containersBefore.filter((r) => out.has(r.name)).map((r) => r.id);
                    for (const r of containersBefore) {
                        if (!out.has(r.name) && ids.some((id) => JSON.stringify(r.inputs).includes(id))) {
                            out.add(r.name);
                            grew = true;
                        }
                    }
                }
                return [...out].sort();
            };

            // Version A at a new path: every image is rebuilt (its context path changed); a container is replaced only
            // if its rebuilt image id differs (the build cache is shared with other tests, which may prune it).
            const atStart = state!;
            const moved = await apply();
            show("checkout A", moved);
            expect(summary(moved).rebuilt.length).toBeGreaterThan(0);
            expect(summary(moved).replaced).toEqual(expectedReplacements(atStart, state!));

            const dataApi = services.get("data-api")!;
            addRows(nameOf(dataApi), "/app/data/metadata.db", 300, "version-a");
            const beforeB = sqliteDigestIn(nameOf(dataApi), "/app/data/metadata.db");
            const imageBefore = imageOf(nameOf(dataApi));
            const stateBefore = state!;

            // Version B: one service's source and a stateful service's Dockerfile.
            const changed = ["services/websocket-ingestion/src/main.py", "services/data-api/Dockerfile"];
            const originals = new Map(changed.map((f) => [f, fs.readFileSync(path.join(checkout, f))]));
            fs.appendFileSync(path.join(checkout, changed[0]), "\n# version B\n");
            fs.appendFileSync(path.join(checkout, changed[1]), "\nLABEL com.homeiq.itest.version=B\n");
            const upgrade = await apply();
            show("checkout B", upgrade);
            const done = summary(upgrade);
            // Rebuilt: exactly the images whose context holds a changed file, plus adapters on a rebuilt base.
            const images = upgrade.synth.resources.filter((r) => r.type === IMAGE);
            const holdsChange = (r: SynthResource): boolean => {
                const dir = path.resolve(String((r.inputs.build as Props).context));
                return changed.some((f) => path.join(checkout, f).startsWith(dir + path.sep));
            };
            const contextChanged = images.filter(holdsChange).map((r) => r.name);
            expect(contextChanged.length).toBeGreaterThanOrEqual(2);
            expect(done.rebuilt.filter((n) => !contextChanged.includes(n) && !n.endsWith("-non-root"))).toEqual([]);
            expect(done.rebuilt).toEqual(expect.arrayContaining(contextChanged));
            // Replaced: the containers whose image id changed (the two changed services among them) and their id-dependents.
            const changedServices = [services.get("websocket-ingestion")!.name, dataApi.name];
            expect(done.replaced).toEqual(expectedReplacements(stateBefore, state!));
            expect(done.replaced).toEqual(expect.arrayContaining(changedServices));
            // The pre-change backup ran before data-api was replaced.
            const backupStep = upgrade.events.find((e) => e.name.endsWith("-pre-change-backup"))!;
            expect(backupStep.op).toBe("replace");
            expect(backupStep.end).toBeLessThanOrEqual(upgrade.events.find((e) => e.name === dataApi.name && e.op === "replace")!.start);
            expect(imageOf(nameOf(dataApi))).not.toBe(imageBefore);
            const stackBackups = path.join(project.backupRoot, project.stack);
            const preB = path.join(stackBackups, fs.readdirSync(stackBackups).filter((f) => !f.endsWith(".partial")).sort().at(-1)!);

            // Data written under B is what the roll-back discards.
            addRows(nameOf(dataApi), "/app/data/metadata.db", 50, "version-b");
            for (const [f, bytes] of originals) fs.writeFileSync(path.join(checkout, f), bytes);
            const rollback = await apply({ "homeiq:restoreFrom": preB });
            show("roll back to A", rollback);
            expect(summary(rollback).replaced).toEqual(expect.arrayContaining(changedServices));
            expect(rollback.events.find((e) => e.name.endsWith("-restore"))?.op).toBe("create");
            expect(testRows(sqliteDigestIn(nameOf(dataApi), "/app/data/metadata.db"))).toEqual(testRows(beforeB));
            for (const c of containersOf(first)) expect({ c: nameOf(c), health: inspect(nameOf(c)).State.Health?.Status }).toEqual({ c: nameOf(c), health: "healthy" });
        }, 20 * 60_000);

        it("takes a pre-change backup before replacing data-api, and a restore from it brings every byte back", async () => {
            const services = byService(first);
            const dataApi = nameOf(services.get("data-api")!);
            const sports = nameOf(services.get("sports-data")!);
            const influx = nameOf(services.get("influxdb")!);
            const token = docker(["exec", influx, "sh", "-c", "echo \"$DOCKER_INFLUXDB_INIT_ADMIN_TOKEN\""]).stdout.trim();
            addRows(dataApi, "/app/data/metadata.db", 500, "before-change");
            addRows(sports, "/app/data/webhooks.db", 300, "before-change");
            writeInfluxIn(influx, token, Array.from({ length: 200 }, (_, i) => `temp,room=r${i % 7} v=${i} ${1_700_000_000 + i}`).join("\n"));
            const before = {
                dataApi: sqliteDigestIn(dataApi, "/app/data/metadata.db"),
                sports: sqliteDigestIn(sports, "/app/data/webhooks.db"),
                influx: influxChecksumIn(influx),
            };

            // A change that replaces data-api: its published port.
            const dataApiPort = portOf(services.get("data-api")!).external;
            const changedConfig = testOverrides(project, { "homeiq:hostPorts": JSON.stringify([`data-api=${dataApiPort + 100}`]) });
            const update = await applyStack(project.stack, {
                projectDir: project.projectDir,
                configOverrides: changedConfig,
                secretOverrides: SECRETS,
                previous: state,
                log: logLine,
            });
            state = update.state;
            const backupStep = update.events.find((e) => e.name.endsWith("-pre-change-backup"))!;
            const replaced = update.events.find((e) => e.name === services.get("data-api")!.name)!;
            expect(backupStep.op).toBe("replace");
            expect(replaced.op).toBe("replace");
            expect(backupStep.end).toBeLessThanOrEqual(replaced.start);

            const stackBackups = path.join(project.backupRoot, project.stack);
            const folders = fs.readdirSync(stackBackups).filter((f) => !f.endsWith(".partial")).sort();
            expect(folders.length).toBeGreaterThanOrEqual(1);
            const backupDir = path.join(stackBackups, folders[folders.length - 1]);
            // The backup holds exactly what the databases held before the change, every table.
            expect(sqliteDigestOfFile(path.join(backupDir, "sqlite", "data-api", "metadata.db"))).toEqual(before.dataApi);
            expect(sqliteDigestOfFile(path.join(backupDir, "sqlite", "sports-data", "webhooks.db"))).toEqual(before.sports);

            // ... and InfluxDB's, read from the backup's own files (not from the server it will be restored into).
            const influxInBackup = influxChecksumOfBackup(path.join(backupDir, "influxdb"));
            expect(influxInBackup).toBe(before.influx);

            // Data written after the backup is what a restore must roll back.
            addRows(dataApi, "/app/data/metadata.db", 50, "after-backup");
            addRows(sports, "/app/data/webhooks.db", 50, "after-backup");
            writeInfluxIn(influx, token, "temp,room=late v=1 1800000000");
            expect(sqliteDigestIn(dataApi, "/app/data/metadata.db")).not.toEqual(before.dataApi);
            expect(sqliteDigestIn(sports, "/app/data/webhooks.db")).not.toEqual(before.sports);
            expect(influxChecksumIn(influx)).not.toBe(influxInBackup);

            const restored = await applyStack(project.stack, {
                projectDir: project.projectDir,
                configOverrides: { ...changedConfig, "homeiq:restoreFrom": backupDir },
                secretOverrides: SECRETS,
                previous: state,
                log: logLine,
            });
            state = restored.state;
            expect(restored.events.find((e) => e.name.endsWith("-restore"))?.op).toBe("create");
            // Every row the test wrote before the backup is back, and none written after it.
            expect(testRows(sqliteDigestIn(dataApi, "/app/data/metadata.db"))).toEqual(testRows(before.dataApi));
            expect(testRows(sqliteDigestIn(sports, "/app/data/webhooks.db"))).toEqual(testRows(before.sports));
            expect(influxChecksumIn(influx)).toBe(influxInBackup);
            for (const c of [dataApi, sports, influx]) expect(inspect(c).State.Health?.Status).toBe("healthy");
        }, 15 * 60_000);

        it("sets up the scheduled backup and drill in the deploying user's crontab, whose job backs the deployed stack up with no pulumi running", () => {
            const schedule = path.join(project.backupRoot, project.stack, ".schedule");
            const crontab = spawnSync("crontab", ["-l"], { encoding: "utf8" }).stdout;
            for (const job of ["backup", "drill"]) expect(crontab).toContain(`# homeiq-schedule ${schedule}/${job}`);
            expect(fs.readFileSync(path.join(schedule, "backup", "schedule"), "utf8")).toContain("when=daily 02:00\n");
            expect(fs.readFileSync(path.join(schedule, "drill", "schedule"), "utf8")).toContain("when=monthly 1 03:00\n");
            expect(fs.statSync(path.join(schedule, "backup", "env")).mode & 0o777).toBe(0o600);
            // The job as cron runs it, at tomorrow's 02:01 (the clock set; nothing else from the test).
            const tomorrow = Math.floor(Date.now() / 86_400_000) * 86_400 + 86_400;
            const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", HOMEIQ_SCHEDULE_DIR: path.join(schedule, "backup"), HOMEIQ_NOW: String(tomorrow + 7260), TZ: "UTC" };
            const tick = spawnSync("bash", [path.join(schedule, "backup", "scripts", "schedule", "tick.sh")], { env, encoding: "utf8", timeout: 300_000 });
            const lastRun = JSON.parse(fs.readFileSync(path.join(schedule, "backup", "last-run.json"), "utf8")) as { result: string; log: string };
            expect({ code: tick.status, result: lastRun.result, log: lastRun.result === "ok" ? "" : fs.readFileSync(lastRun.log, "utf8") }).toEqual({ code: 0, result: "ok", log: "" });
            const made = /^HOMEIQ_BACKUP_DIR=(.*)$/m.exec(fs.readFileSync(lastRun.log, "utf8"))![1]!;
            const manifest = JSON.parse(fs.readFileSync(path.join(made, "manifest.json"), "utf8")) as { reason: string; sqlite: Array<{ status: string }>; influxdb: { status: string } };
            expect(manifest.reason).toBe("scheduled");
            expect(manifest.influxdb.status).toBe("backed-up");
            expect(manifest.sqlite.map((e) => e.status)).toEqual(["backed-up", "backed-up"]);
        }, 5 * 60_000);

        it("takes a final backup on destroy, while the containers are up, and keeps the data volumes", async () => {
            const schedule = path.join(project.backupRoot, project.stack, ".schedule");
            const destroyed = await destroyStack(state!, { log: logLine });
            // destroy removes the scheduled jobs: their crontab lines and folders (with the env files' secrets).
            expect(spawnSync("crontab", ["-l"], { encoding: "utf8" }).stdout).not.toContain(`# homeiq-schedule ${schedule}/`);
            expect(fs.existsSync(path.join(schedule, "backup"))).toBe(false);
            state = undefined;
            const finalBackup = destroyed.find((e) => e.name.endsWith("-final-backup"))!;
            // It backs up while the containers holding the data are still there (a destroy deletes
            // dependents first; the backup depends on exactly those containers).
            const stateful = ["influxdb", "data-api", "sports-data"].map((k) => byService(first).get(k)!.name);
            const firstStatefulGone = Math.min(...destroyed.filter((e) => stateful.includes(e.name)).map((e) => e.start));
            expect(finalBackup.report?.message).toMatch(/^HOMEIQ_BACKUP_DIR=\/.+/);
            expect(finalBackup.end).toBeLessThanOrEqual(firstStatefulGone);
            const volumes = docker(["volume", "ls", "-q", "--filter", `label=com.homeiq.stack=${project.stack}`, "--filter", "label=com.homeiq.data=true"]).stdout.trim().split("\n");
            expect(volumes.length).toBeGreaterThanOrEqual(4);
            expect(docker(["ps", "-aq", "--filter", `label=com.homeiq.stack=${project.stack}`]).stdout.trim()).toBe("");
        }, 10 * 60_000);
    });
}
