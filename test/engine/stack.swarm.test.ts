/**
 * The whole prod program with homeiq:target swarm on THREE nodes, applied by the engine applier
 * (engine/apply: every registration carried out as the providers would, docker.Service converging
 * health-gated), on a swarm of its own (engine/swarm-nodes.sh: three dockerds in three network
 * namespaces joined by a bridge, node 1 the manager; the shared engine never enters swarm mode):
 * node 1 manager and apps (the dashboard is pinned there), node 2 data, node 3 apps. Each node gets
 * only the stand-in bases of the images it builds; the program builds every image on each node that
 * may run it, from the stand-in HomeIQ checkout. Proven:
 * - every service converges healthy in dependency order; placement (InfluxDB and the SQLite services
 *   on the data node with their volumes, apps services only on apps nodes, both used, the dashboard
 *   on node 1); each image exists on exactly the nodes that may run it; the preflight's role labels;
 * - prod hardening on running tasks on the two nodes that are not the manager;
 * - cross-node traffic over the overlay: a task on node 3 reaches InfluxDB on node 2; the dashboard
 *   on its host-mode port on node 1 proxies to its three upstreams wherever they run;
 * - a second `up` changes nothing;
 * - a service update whose new task never gets healthy is rolled back by swarm, and the apply fails
 *   the way the provider does ("service rollback completed"), its state kept as Pulumi keeps a
 *   partially failed update (so the same program's next `up` changes nothing; the fixed one's updates);
 * - an on-demand backup and a restore through homeiq:restoreFrom, both on the data node: the restore
 *   scales the SQLite services to 0 through the manager, puts the database back byte for byte, and
 *   the same `up` brings them back; InfluxDB's data comes back byte for byte;
 * - `destroy` takes the final backup from the data node and keeps the data volumes there;
 * - then the program refuses a swarm that lacks a node named in homeiq:swarmNodes, building and
 *   creating nothing on it.
 * Needs no IPVS (dnsrr endpoints, host-mode port).
 */
import * as fs from "fs";
import * as path from "path";
import { applyStack, destroyStack, ApplyError, type ApplyOptions, type ApplyResult, type ApplyState } from "../../engine/apply/applyStack";
import type { Props } from "../../engine/apply/liveResources";
import { SERVICE_CATALOG, SERVICE_KEYS, type ServiceKey } from "../../catalog/services";
import { DIGEST_PY, IMAGES, influxChecksumOfBackup, REPO_ROOT, runAsync, sha256File, waitFor, type DbDigest } from "./helpers";
import { sqliteDigestOfFile, testOverrides, testProject, TEST_SECRET_KEYS } from "./stack-helpers";
import { startSwarm, type Swarm, type SwarmNode } from "./swarm-nodes";

const SERVICE = "docker:index/service:Service";
const NAME = "i18a-sw3";
const APPUSER = "homeiq-standin/python-appuser:stack";
const ROOT = "homeiq-standin/python-root:stack";
const NGINX = "homeiq-standin/nginx:stack";
const STATEFUL: readonly ServiceKey[] = ["influxdb", "data-api", "sports-data"];
const DASHBOARD = "health-dashboard";

let swarm: Swarm;
let n1: SwarmNode, n2: SwarmNode, n3: SwarmNode;
const project = testProject("prod", NAME);
let first: ApplyResult;
let state: ApplyState;
let overrides: Record<string, string | undefined>;
const quiet = (): undefined => undefined;

const onNode = (node: SwarmNode, args: string[]) => swarm.docker(node, args).stdout.trim();
const svc = (key: string) => `${project.stack}-${key}`;
/** The running container of a service's task on `node` ("" when none runs there). */
const taskOn = (node: SwarmNode, key: string) => onNode(node, ["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${svc(key)}`, "--filter", "status=running"]).split("\n")[0];
/** The hostname of the node that runs the service's task. */
const nodeOf = (key: string) => onNode(n1, ["service", "ps", svc(key), "--filter", "desired-state=running", "--format", "{{.Node}} {{.CurrentState}}"]).split(" ")[0];
const replicasOf = (key: string) => onNode(n1, ["service", "ls", "--filter", `name=${svc(key)}`, "--format", "{{.Replicas}}"]).replace(/ \(max 1 per node\)/, "");
const serviceInputs = (r: ApplyResult, key: string): Props => r.synth.resources.find((x) => x.type === SERVICE && x.inputs.name === svc(key))!.inputs as Props;
const containerSpec = (inputs: Props): Props => (inputs.taskSpec as Props).containerSpec as Props;
const onSwarm = SERVICE_KEYS.filter((k) => !SERVICE_CATALOG[k].containerLogs);
const apply = (extra: Partial<ApplyOptions> & { config?: Record<string, string> } = {}) =>
    applyStack(project.stack, {
        projectDir: project.projectDir,
        configOverrides: { ...overrides, ...(extra.config ?? {}) },
        secretOverrides: TEST_SECRET_KEYS,
        previous: state,
        log: quiet,
        transformInputs: extra.transformInputs,
    });

/** The SQLite digest (rows and a hash per table) of a file inside a running task on `node`. */
const sqliteDigestOn = (node: SwarmNode, key: string, file: string): DbDigest => JSON.parse(onNode(node, ["exec", taskOn(node, key), "python3", "-c", DIGEST_PY, file])) as DbDigest;
const testRows = (d: DbDigest) => ({ integrity: d.integrity, rows: d.tables.itest_rows });
function addRows(node: SwarmNode, key: string, file: string, rows: number, tag: string): void {
    const code =
        "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], timeout=30)\n" +
        'c.execute("CREATE TABLE IF NOT EXISTS itest_rows (id INTEGER PRIMARY KEY, tag TEXT, payload BLOB)")\n' +
        'c.executemany("INSERT INTO itest_rows (tag, payload) VALUES (?, randomblob(200))", [(sys.argv[2],)] * int(sys.argv[3]))\nc.commit()\n';
    onNode(node, ["exec", taskOn(node, key), "python3", "-c", code, file, tag, String(rows)]);
}
/** Writes points into InfluxDB's task on the data node with the token the task was given (it never leaves the task). */
function writeInflux(lines: string): void {
    const script = 't=${DOCKER_INFLUXDB_INIT_ADMIN_TOKEN:-$(cat "$DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE")}; printf "%s" "$1" | INFLUX_TOKEN="$t" influx write -b home_assistant_events';
    onNode(n2, ["exec", taskOn(n2, "influxdb"), "sh", "-c", script, "sh", lines]);
}
const influxChecksum = () => onNode(n2, ["exec", taskOn(n2, "influxdb"), "influx", "standin-checksum"]);

beforeAll(async () => {
    swarm = startSwarm(NAME, 3, "10.242.20", []);
    [n1, n2, n3] = swarm.nodes;
    // Each node gets only the bases of the images it builds (busybox: the test's own look into a volume).
    const load = (n: SwarmNode, images: string[]) => runAsync("bash", [path.join(REPO_ROOT, "engine", "swarm-nodes.sh"), "load", NAME, String(n.index), ...images], { timeoutMs: 240_000 });
    await Promise.all([load(n1, [APPUSER, NGINX]), load(n2, [ROOT, IMAGES.influxStandin, IMAGES.busybox]), load(n3, [APPUSER])]);
    const nodes = [`${n1.hostname}=apps@${n1.dockerHost}`, `${n2.hostname}=data@${n2.dockerHost}`, `${n3.hostname}=apps@${n3.dockerHost}`];
    overrides = {
        ...testOverrides(project),
        "homeiq:dockerHost": n1.dockerHost,
        "homeiq:target": "swarm",
        "homeiq:swarmNodes": JSON.stringify(nodes),
        "homeiq:swarmSubnet": "10.244.20.0/24",
        "homeiq:healthWaitTimeoutSeconds": "90",
        // No crontab lines: the user's crontab is shared by every test on this machine (the schedule on swarm: swarm-operate.test.ts).
        "homeiq:backupSchedule": "off",
        "homeiq:backupDrillSchedule": "off",
    };
    try {
        first = await applyStack(project.stack, {
            projectDir: project.projectDir,
            configOverrides: overrides,
            secretOverrides: TEST_SECRET_KEYS,
            log: quiet,
        });
        state = first.state;
    } catch (err) {
        if (err instanceof ApplyError) {
            await destroyStack(err.state, { log: quiet }).catch(() => undefined);
            throw new Error(err.message);
        }
        throw err;
    }
}, 900_000);

afterAll(() => {
    swarm?.down();
    fs.rmSync(project.projectDir, { recursive: true, force: true });
});

test("every service converges healthy in dependency order, placed by role, with each image on exactly the nodes that may run it", () => {
    const services = first.synth.resources.filter((r) => r.type === SERVICE);
    expect(services.map((s) => String(s.inputs.name).replace(`${project.stack}-`, "")).sort()).toEqual([...onSwarm].sort());
    const replicas = onNode(n1, ["service", "ls", "--format", "{{.Name}} {{.Replicas}}"]).replace(/ \(max 1 per node\)/g, "").split("\n").sort();
    expect(replicas).toEqual(onSwarm.map((k) => `${svc(k)} 1/1`).sort());
    // Health-gated order: a service's create began only after each upstream's create returned (converged healthy).
    const events = new Map(first.events.filter((e) => e.type === SERVICE).map((e) => [e.name.replace(/^homeiq-/, ""), e]));
    for (const k of onSwarm) {
        for (const dep of SERVICE_CATALOG[k].dependsOn.filter((d) => onSwarm.includes(d))) {
            expect({ k, dep, after: events.get(k)!.start >= events.get(dep)!.end }).toEqual({ k, dep, after: true });
        }
    }

    // The preflight labelled each node with its roles.
    const labels = (n: SwarmNode) => JSON.parse(onNode(n1, ["node", "inspect", n.hostname, "--format", "{{json .Spec.Labels}}"]));
    expect([labels(n1), labels(n2), labels(n3)]).toEqual([{ "homeiq.role.apps": "true" }, { "homeiq.role.data": "true" }, { "homeiq.role.apps": "true" }]);

    const placed = Object.fromEntries(onSwarm.map((k) => [k, nodeOf(k)]));
    for (const k of STATEFUL) expect({ k, node: placed[k] }).toEqual({ k, node: n2.hostname });
    expect(placed[DASHBOARD]).toBe(n1.hostname);
    const apps = onSwarm.filter((k) => !STATEFUL.includes(k));
    for (const k of apps) expect({ k, apps: [n1.hostname, n3.hostname].includes(placed[k]) }).toEqual({ k, apps: true });
    // Both apps nodes run tasks (swarm spreads them): both need every apps image.
    expect(apps.filter((k) => placed[k] === n3.hostname).length).toBeGreaterThan(0);

    // Each image was built on the nodes that may run its service, and only there.
    const has = (n: SwarmNode, image: string) => swarm.docker(n, ["image", "inspect", "--format", "{{.Id}}", image], true).code === 0;
    for (const k of onSwarm) {
        const image = String(containerSpec(serviceInputs(first, k)).image);
        // data-retention's exports volume pins it to the first apps node (plan/swarm.ts resolveSwarm).
        const may = STATEFUL.includes(k) ? [n2] : k === DASHBOARD || k === "data-retention" ? [n1] : [n1, n3];
        expect({ k, on: swarm.nodes.filter((n) => has(n, image)).map((n) => n.index) }).toEqual({ k, on: may.map((n) => n.index) });
    }

    // Each named volume was created on the node that runs its service, and only there: the stateful
    // services' on the data node, data-retention's exports on node 1.
    const named = Object.values(first.synth.outputs.volumeNames as Record<string, string>);
    expect(named.length).toBeGreaterThanOrEqual(4);
    const volumesOf = (n: SwarmNode) => onNode(n, ["volume", "ls", "--format", "{{.Name}}"]).split("\n");
    for (const k of onSwarm) {
        const mounts = (containerSpec(serviceInputs(first, k)).mounts as Props[]).filter((m) => m.type === "volume" && named.includes(String(m.source)));
        for (const m of mounts) {
            const on = swarm.nodes.filter((n) => volumesOf(n).includes(String(m.source))).map((n) => n.hostname);
            expect({ k, volume: m.source, on }).toEqual({ k, volume: m.source, on: [placed[k]] });
        }
    }
    expect(placed["data-retention"]).toBe(n1.hostname);
});

test("the tasks on the two nodes that are not the manager run hardened as in prod", () => {
    // data-api on the data node, and a Python service on node 3 that adds no capability.
    const onN3 = onSwarm.find((k) => nodeOf(k) === n3.hostname && k !== DASHBOARD && containerSpec(serviceInputs(first, k)).capAdds === undefined)!;
    for (const [node, key] of [
        [n2, "data-api"],
        [n3, onN3],
    ] as const) {
        const task = taskOn(node, key);
        const status = onNode(node, ["exec", task, "cat", "/proc/1/status"]);
        expect({ key, nnp: /^NoNewPrivs:\s+1$/m.test(status), capEff: /^CapEff:\s+0000000000000000$/m.test(status), uid: /^Uid:\s+1001\s/m.test(status) }).toEqual({
            key,
            nnp: true,
            capEff: true,
            uid: true,
        });
        expect({ key, readOnly: onNode(node, ["inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", task]) }).toEqual({ key, readOnly: "true" });
    }
});

test("traffic crosses nodes over the overlay: node 3 reaches InfluxDB on node 2; the dashboard on node 1 proxies to its three upstreams wherever they run", () => {
    const onN3 = onSwarm.find((k) => nodeOf(k) === n3.hostname && k !== DASHBOARD)!;
    const health = onNode(n3, ["exec", taskOn(n3, onN3), "python3", "-c", "import urllib.request; print(urllib.request.urlopen('http://influxdb:8086/health', timeout=5).read().decode())"]);
    expect(JSON.parse(health)).toMatchObject({ status: "pass" });
    // The services on node 3 given InfluxDB's URL checked it over the overlay at start (the stand-in exits if it cannot).
    // (The applied inputs: the synthesized env is wrapped as a secret.)
    const envOf = (k: string) => containerSpec(first.state.resources.find((r) => r.type === SERVICE && r.inputs.name === svc(k))!.inputs).env as Record<string, string>;
    const influxClients = onSwarm.filter((k) => nodeOf(k) === n3.hostname && envOf(k).INFLUXDB_URL !== undefined);
    expect(influxClients.length).toBeGreaterThan(0);
    for (const k of influxClients) expect({ k, url: envOf(k).INFLUXDB_URL, replicas: replicasOf(k) }).toEqual({ k, url: "http://influxdb:8086", replicas: "1/1" });

    const url = String((first.synth.outputs as Record<string, unknown>).dashboardUrl);
    expect(new URL(url).hostname).toBe(n1.hostname);
    const base = `http://${n1.ip}:${new URL(url).port}`;
    expect(swarm.onNodeNetwork(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `${base}/`]).stdout).toBe("200");
    const routes: Array<[string, string, string]> = [
        ["/api/v1/events/recent", "data-api", "/api/v1/events/recent"],
        ["/api/v1/system/status", "admin-api", "/api/v1/system/status"],
        ["/api/sports/games/live", "sports-data", "/api/v1/games/live"],
    ];
    // Two of them run on the data node; admin-api on whichever apps node swarm chose.
    expect([nodeOf("data-api"), nodeOf("sports-data")]).toEqual([n2.hostname, n2.hostname]);
    for (const [route, service, upstreamPath] of routes) {
        const answer = swarm.onNodeNetwork(["curl", "-s", "-m", "5", `${base}${route}`]).stdout;
        expect({ route, answer: JSON.parse(answer || "{}") }).toMatchObject({ route, answer: { service, path: upstreamPath } });
    }
});

test("a second up changes nothing", async () => {
    const second = await apply();
    state = second.state;
    expect(second.events.filter((e) => e.op !== "same").map((e) => `${e.op} ${e.type} ${e.name} ${JSON.stringify(e.changes)}`)).toEqual([]);
}, 300_000);

const labelOf = (labels: Record<string, string>): string => labels["com.homeiq.pids-limit"];

test("an update whose new task never gets healthy is rolled back by swarm; the apply fails as the provider does, and the state is what Pulumi would keep", async () => {
    // A leaf service (nothing else waits for it), on node 3 when one runs there.
    const leaves = onSwarm.filter((k) => !STATEFUL.includes(k) && k !== DASHBOARD && !onSwarm.some((o) => SERVICE_CATALOG[o].dependsOn.includes(k)));
    const leaf = leaves.find((k) => nodeOf(k) === n3.hostname) ?? leaves[0];
    const resource = `homeiq-${leaf}`;
    const good = containerSpec(serviceInputs(first, leaf)).healthcheck as Props;
    const taskBefore = onNode(n1, ["service", "ps", "-q", "--filter", "desired-state=running", svc(leaf)]);
    // What a new program version with a broken health check would register for it.
    const failing = { tests: ["CMD", "false"], interval: "1s", timeout: "1s", retries: 1, startPeriod: "0s" };
    const breakLeaf = (type: string, name: string, inputs: Props): Props =>
        type === SERVICE && name === resource ? { ...inputs, taskSpec: { ...(inputs.taskSpec as Props), containerSpec: { ...containerSpec(inputs), healthcheck: failing } } } : inputs;
    const inspectLeaf = () => JSON.parse(onNode(n1, ["service", "inspect", "--format", "{{json .}}", svc(leaf)]));

    const failed = await apply({ transformInputs: breakLeaf }).then(
        () => undefined,
        (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(ApplyError);
    const err = failed as ApplyError;
    // tf-docker resource_docker_service_funcs.go:434-467 (engine/apply/swarmResources.ts updateService).
    expect(err.message).toContain(`${resource}: service rollback completed`);
    expect(err.events.filter((e) => e.name === resource).map((e) => [e.op, e.failed !== undefined])).toEqual([["update", true]]);
    // Swarm rolled the spec back (the provider returns at rollback_completed, or once the rollback's task runs).
    const spec = waitFor("the rollback marked completed", () => inspectLeaf().UpdateStatus.State === "rollback_completed" && inspectLeaf(), { timeoutMs: 60_000, intervalMs: 500 });
    expect(spec.Spec.TaskTemplate.ContainerSpec.Healthcheck.Test).toEqual(good.tests);
    // The provider does not wait for the rolled-back task: its first health check comes later.
    waitFor("the rolled-back task running healthy", () => replicasOf(leaf) === "1/1", { timeoutMs: 90_000, intervalMs: 500 });
    const rolledBackTask = onNode(n1, ["service", "ps", "-q", "--filter", "desired-state=running", svc(leaf)]);
    expect(rolledBackTask).not.toBe(taskBefore);
    // A partially failed update: the old inputs, the new values as outputs, an init error (swarmResources.ts PartialUpdateError).
    state = err.state;
    const kept = state.resources.find((r) => r.name === resource)!;
    expect(containerSpec(kept.inputs).healthcheck).toEqual(good);
    expect(containerSpec(kept.state).healthcheck).toEqual(failing);
    expect(kept.initErrors?.[0]).toContain("service rollback completed");

    // The same program again: no diff, so the engine's empty update never reaches the swarm, and the apply
    // passes while the swarm still runs the old spec (`pulumi refresh` shows it; docs/swarm.md says so).
    const version = inspectLeaf().Version.Index;
    const again = await apply({ transformInputs: breakLeaf });
    state = again.state;
    expect(again.events.filter((e) => e.name === resource).map((e) => [e.op, e.changes])).toEqual([["update", []]]);
    expect([inspectLeaf().Version.Index, inspectLeaf().Spec.TaskTemplate.ContainerSpec.Healthcheck.Test]).toEqual([version, good.tests]);

    // The fixed program (its own health check): an update to the spec the swarm already runs but for the PIDs
    // limit, which the provider's spec never has (components/swarmLimits.ts): the task is replaced, and the
    // limits Command (its trigger follows the service's outputs, which the update changed back) sets it again.
    const fixed = await apply();
    state = fixed.state;
    expect(fixed.events.filter((e) => e.op !== "same" && e.op !== "delete").map((e) => [e.name, e.op])).toEqual([
        [resource, "update"],
        [`${resource}-limits`, "replace"],
    ]);
    expect([replicasOf(leaf), inspectLeaf().Spec.TaskTemplate.ContainerSpec.Healthcheck.Test]).toEqual(["1/1", good.tests]);
    expect(onNode(n1, ["service", "ps", "-q", "--filter", "desired-state=running", svc(leaf)])).not.toBe(rolledBackTask);
    expect(inspectLeaf().Spec.TaskTemplate.Resources.Limits.Pids).toBe(Number(labelOf(inspectLeaf().Spec.TaskTemplate.ContainerSpec.Labels)));
}, 420_000);

test("an on-demand backup and a restore through homeiq:restoreFrom on the data node bring both databases back byte for byte", async () => {
    const db = "/app/data/metadata.db";
    const sportsDb = "/app/data/webhooks.db";
    addRows(n2, "data-api", db, 200, "before-backup");
    addRows(n2, "sports-data", sportsDb, 100, "before-backup");
    writeInflux(Array.from({ length: 50 }, (_, i) => `temp,room=r${i % 5} v=${i} ${1_700_000_000 + i}`).join("\n"));
    const before = { dataApi: sqliteDigestOn(n2, "data-api", db), sports: sqliteDigestOn(n2, "sports-data", sportsDb), influx: influxChecksum() };

    const root = path.join(project.backupRoot, project.stack);
    const backups = () => (fs.existsSync(root) ? fs.readdirSync(root) : []).filter((f) => /^\d/.test(f) && !f.endsWith(".partial")).sort();
    const had = backups();
    const backedUp = await apply({ config: { "homeiq:backupRequest": "1" } });
    state = backedUp.state;
    // One backup was taken; no service or image changed (the rolled-back service included): the other backup
    // steps only record the new setting (StackBackup's update takes no backup).
    const changed = backedUp.events.filter((e) => e.op !== "same");
    expect(changed.filter((e) => e.type === SERVICE || e.type === "docker:index/image:Image").map((e) => e.name)).toEqual([]);
    expect(changed.find((e) => e.name === "homeiq-on-demand-backup")?.op).toMatch(/^(create|replace)$/);
    const added = backups().filter((f) => !had.includes(f));
    expect(added.length).toBe(1);
    const folder = path.join(root, added[0]);
    expect(JSON.parse(fs.readFileSync(path.join(folder, "manifest.json"), "utf8")).reason).toBe("on-demand");
    const backupFile = path.join(folder, "sqlite", "data-api", "metadata.db");
    expect(testRows(sqliteDigestOfFile(backupFile))).toEqual(testRows(before.dataApi));
    expect(testRows(sqliteDigestOfFile(path.join(folder, "sqlite", "sports-data", "webhooks.db")))).toEqual(testRows(before.sports));
    expect(influxChecksumOfBackup(path.join(folder, "influxdb"))).toBe(before.influx);

    // Written after the backup: what the restore must take back.
    addRows(n2, "data-api", db, 50, "after-backup");
    addRows(n2, "sports-data", sportsDb, 50, "after-backup");
    writeInflux("temp,room=late v=1 1800000000");
    expect(influxChecksum()).not.toBe(before.influx);

    // When the program registers data-api again, its restore has run: the file in the volume as restore left it,
    // with the service still at 0 replicas (data-api's own start adds a row once it is back).
    const volume = (containerSpec(serviceInputs(first, "data-api")).mounts as Props[]).find((m) => m.target === "/app/data")!.source as string;
    let atRegistration: { replicas: string; sha: string; files: string } | undefined;
    const look = (type: string, name: string, inputs: Props): Props => {
        if (type === SERVICE && name === "homeiq-data-api" && atRegistration === undefined) {
            atRegistration = {
                replicas: onNode(n1, ["service", "inspect", "--format", "{{.Spec.Mode.Replicated.Replicas}}", svc("data-api")]),
                sha: onNode(n2, ["run", "--rm", "-v", `${volume}:/d:ro`, IMAGES.busybox, "sha256sum", "/d/metadata.db"]).split(" ")[0],
                files: onNode(n2, ["run", "--rm", "-v", `${volume}:/d:ro`, IMAGES.busybox, "ls", "/d"]),
            };
        }
        return inputs;
    };
    const restored = await apply({ config: { "homeiq:backupRequest": "1", "homeiq:restoreFrom": folder }, transformInputs: look });
    state = restored.state;
    const restoreStep = restored.events.find((e) => e.name === "homeiq-restore")!;
    expect(restoreStep.op).toBe("create");
    expect(String(state.resources.find((r) => r.name === "homeiq-restore")!.state.stdout)).toContain(`scaling ${svc("data-api")} to 0`);
    expect(atRegistration).toEqual({ replicas: "0", sha: sha256File(backupFile), files: "metadata.db" });
    const update = restored.events.find((e) => e.name === "homeiq-data-api")!;
    expect(update.op).toBe("update");
    expect(update.start).toBeGreaterThanOrEqual(restoreStep.end);
    // Back at one replica on the data node, every row of before the backup and none written after it.
    expect(nodeOf("data-api")).toBe(n2.hostname);
    expect(replicasOf("data-api")).toBe("1/1");
    expect(testRows(sqliteDigestOn(n2, "data-api", db))).toEqual(testRows(before.dataApi));
    expect([nodeOf("sports-data"), replicasOf("sports-data")]).toEqual([n2.hostname, "1/1"]);
    expect(testRows(sqliteDigestOn(n2, "sports-data", sportsDb))).toEqual(testRows(before.sports));
    expect(influxChecksum()).toBe(before.influx);
}, 600_000);

test("destroy takes the final backup from the data node and keeps the data volumes there", async () => {
    await destroyStack(state, { log: quiet });
    expect(onNode(n1, ["service", "ls", "-q"])).toBe("");
    const root = path.join(project.backupRoot, project.stack);
    const latest = fs.readdirSync(root).filter((f) => /^\d/.test(f) && !f.endsWith(".partial")).sort().at(-1)!;
    const manifest = JSON.parse(fs.readFileSync(path.join(root, latest, "manifest.json"), "utf8"));
    expect(manifest.reason).toBe("final");
    expect(manifest.influxdb.status).toBe("backed-up");
    expect(manifest.sqlite.map((e: { service: string; status: string }) => `${e.service} ${e.status}`)).toEqual(["data-api backed-up", "sports-data backed-up"]);
    // Every named volume is still on the node that ran its service.
    const named = Object.values(first.synth.outputs.volumeNames as Record<string, string>);
    const nodeOfVolume = (v: string) => (v.includes("data-retention") ? n1 : n2);
    for (const v of named) expect({ v, kept: onNode(nodeOfVolume(v), ["volume", "ls", "--format", "{{.Name}}"]).split("\n").includes(v) }).toEqual({ v, kept: true });
}, 300_000);

test("a swarm without a node named in homeiq:swarmNodes is refused by the preflight before anything is built or created on it", async () => {
    // The stack again, after destroy, with one more apps node that is not in the swarm (on node 3's engine).
    const nodes = [...(JSON.parse(overrides["homeiq:swarmNodes"]!) as string[]), `${NAME}-nas=apps@${n3.dockerHost}`];
    const refused = await applyStack(project.stack, {
        projectDir: project.projectDir,
        configOverrides: { ...overrides, "homeiq:swarmNodes": JSON.stringify(nodes) },
        secretOverrides: TEST_SECRET_KEYS,
        log: quiet,
    }).then(
        () => undefined,
        (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ApplyError);
    const err = refused as ApplyError;
    expect(err.message).toContain(`node ${NAME}-nas (homeiq:swarmNodes) is not in the swarm`);
    expect(err.events.filter((e) => e.failed !== undefined).map((e) => e.name)).toEqual(["homeiq-swarm-preflight"]);
    // Nothing that waits for the preflight was started: no image build, no overlay network, no service.
    const types = ["docker:index/image:Image", "docker:index/network:Network", SERVICE];
    expect(err.events.filter((e) => types.includes(e.type)).map((e) => e.name)).toEqual([]);
    expect(onNode(n1, ["service", "ls", "-q"])).toBe("");
    expect(onNode(n1, ["network", "ls", "--filter", "driver=overlay", "--format", "{{.Name}}"])).toBe("ingress");
}, 120_000);
