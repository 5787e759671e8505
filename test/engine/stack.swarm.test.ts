/**
 * The prod stack with homeiq:target swarm, applied by the engine applier (engine/apply: every
 * registration carried out as the providers would, docker.Service converging health-gated) on a
 * single-node swarm of its own (engine/swarm-nodes.sh: a dedicated dockerd with its own data root,
 * socket and network namespace; the shared engine never enters swarm mode). The images are built on
 * the node from the stand-in HomeIQ checkout, as the program builds them. Proven: every service the
 * swarm target runs converges healthy in dependency order with its prod hardening on the running
 * task; the dashboard answers on its host-mode port and proxies through its three upstreams over
 * the overlay; a second `up` changes nothing; `destroy` takes the final backup from the node and
 * keeps the data volumes.
 */
import * as fs from "fs";
import * as path from "path";
import { applyStack, destroyStack, ApplyError, type ApplyResult } from "../../engine/apply/applyStack";
import { SERVICE_CATALOG, SERVICE_KEYS } from "../../catalog/services";
import { IMAGES } from "./helpers";
import { STANDIN_DEBIAN_IMAGE, testOverrides, testProject, TEST_SECRET_KEYS } from "./stack-helpers";
import { startSwarm, type Swarm } from "./swarm-nodes";

const SERVICE = "docker:index/service:Service";
const BASES = ["homeiq-standin/python-appuser:stack", "homeiq-standin/python-root:stack", "homeiq-standin/nginx:stack", IMAGES.influxStandin, STANDIN_DEBIAN_IMAGE];

let swarm: Swarm;
const project = testProject("prod", "swarm18");
let first: ApplyResult | undefined;
let overrides: Record<string, string | undefined>;

const onNode = (args: string[]) => swarm.docker(swarm.manager, args).stdout.trim();
const taskOf = (service: string) => onNode(["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${service}`]).split("\n")[0];

beforeAll(async () => {
    swarm = startSwarm("i18-sw1", 1, "10.242.13", [IMAGES.busybox, ...BASES]);
    overrides = {
        ...testOverrides(project),
        "homeiq:dockerHost": swarm.manager.dockerHost,
        "homeiq:target": "swarm",
        "homeiq:swarmNodes": JSON.stringify([`${swarm.manager.hostname}=data+apps`]),
        "homeiq:swarmSubnet": "10.244.13.0/24",
        "homeiq:healthWaitTimeoutSeconds": "90",
    };
    try {
        first = await applyStack(project.stack, { projectDir: project.projectDir, configOverrides: overrides, secretOverrides: TEST_SECRET_KEYS, log: () => undefined });
    } catch (err) {
        if (err instanceof ApplyError) {
            await destroyStack(err.state, { log: () => undefined }).catch(() => undefined);
            throw new Error(err.message);
        }
        throw err;
    }
}, 600_000);

afterAll(() => {
    swarm?.down();
    fs.rmSync(project.projectDir, { recursive: true, force: true });
});

test("every service the swarm target runs converges healthy, in dependency order, hardened as in prod", () => {
    const services = first!.synth.resources.filter((r) => r.type === SERVICE);
    const onSwarm = SERVICE_KEYS.filter((k) => !SERVICE_CATALOG[k].containerLogs);
    expect(services.map((s) => String(s.inputs.name).replace(`${project.stack}-`, "")).sort()).toEqual([...onSwarm].sort());
    const replicas = onNode(["service", "ls", "--format", "{{.Name}} {{.Replicas}}"]).replace(/ \(max 1 per node\)/g, "").split("\n").sort();
    expect(replicas).toEqual(onSwarm.map((k) => `${project.stack}-${k} 1/1`).sort());
    // Health-gated order: a service's create began only after each upstream's create returned (converged healthy).
    const events = new Map(first!.events.filter((e) => e.type === SERVICE).map((e) => [e.name.replace(/^homeiq-/, ""), e]));
    for (const k of onSwarm) {
        for (const dep of SERVICE_CATALOG[k].dependsOn.filter((d) => onSwarm.includes(d))) {
            expect({ k, dep, after: events.get(k)!.start >= events.get(dep)!.end }).toEqual({ k, dep, after: true });
        }
    }
    const status = onNode(["exec", taskOf(`${project.stack}-data-api`), "cat", "/proc/1/status"]);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^CapEff:\s+0000000000000000$/m);
    expect(status).toMatch(/^Uid:\s+1001\s/m);
    expect(onNode(["inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", taskOf(`${project.stack}-data-api`)])).toBe("true");
});

test("the dashboard answers on its host-mode port and proxies through its three upstreams over the overlay", () => {
    const url = String((first!.synth.outputs as Record<string, unknown>).dashboardUrl);
    const port = new URL(url).port;
    const base = `http://${swarm.manager.ip}:${port}`;
    expect(swarm.onNodeNetwork(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `${base}/`]).stdout).toBe("200");
    const routes: Array<[string, string, string]> = [
        ["/api/v1/events/recent", "data-api", "/api/v1/events/recent"],
        ["/api/v1/system/status", "admin-api", "/api/v1/system/status"],
        ["/api/sports/games/live", "sports-data", "/api/v1/games/live"],
    ];
    for (const [route, service, upstreamPath] of routes) {
        const answer = swarm.onNodeNetwork(["curl", "-s", "-m", "5", `${base}${route}`]).stdout;
        expect({ route, answer: JSON.parse(answer || "{}") }).toMatchObject({ route, answer: { service, path: upstreamPath } });
    }
});

test("a second up changes nothing", async () => {
    const second = await applyStack(project.stack, {
        projectDir: project.projectDir,
        configOverrides: overrides,
        secretOverrides: TEST_SECRET_KEYS,
        previous: first!.state,
        log: () => undefined,
    });
    first = second;
    expect(second.events.filter((e) => e.op !== "same").map((e) => `${e.op} ${e.type} ${e.name} ${JSON.stringify(e.changes)}`)).toEqual([]);
}, 300_000);

test("destroy takes the final backup from the data node and keeps the data volumes there", async () => {
    await destroyStack(first!.state, { log: () => undefined });
    expect(onNode(["service", "ls", "-q"])).toBe("");
    const backups = fs.readdirSync(path.join(project.backupRoot, project.stack));
    expect(backups.length).toBeGreaterThanOrEqual(1);
    const manifest = JSON.parse(fs.readFileSync(path.join(project.backupRoot, project.stack, backups.sort().at(-1)!, "manifest.json"), "utf8"));
    expect(manifest.reason).toBe("final");
    expect(manifest.influxdb.status).toBe("backed-up");
    // The volumes the stateful tasks created on the node: never deleted by the services' removal.
    const volumes = onNode(["volume", "ls", "--format", "{{.Name}}"]).split("\n").sort();
    const named = Object.values(first!.synth.outputs.volumeNames as Record<string, string>).sort();
    expect(named.length).toBeGreaterThan(0);
    expect(volumes).toEqual(expect.arrayContaining(named));
}, 300_000);
