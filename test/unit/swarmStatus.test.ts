/**
 * `npm run status` on a swarm stack, the pure parts (operate/swarm.ts): the findings a service's facts
 * give and their exit code, the labels the status expects against those the program registers, the
 * restart-loop rule against the watch's, and the report's lines. The real engine: test/engine/swarm-operate.test.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { swarmReport } from "../../operate/report";
import { loadStackPlan } from "../../operate/stackPlan";
import { CRITERIA, exitCodeOf } from "../../operate/status";
import { evaluateSwarm, expectedSwarmLabels, limitsFixCommand, missingLimits, overlayUrlOf, SWARM_LOOP_FAILURES, SWARM_LOOP_MINUTES, type SwarmServiceStatus } from "../../operate/swarm";
import { SERVICE_TYPE } from "../../policy/policies";
import { ofType, synthOf } from "./helpers";

const ROOT = path.resolve(__dirname, "..", "..");
const NODES = ["nas=data@ssh://admin@nas", "minipc=apps"];

/** A healthy service of one replica on minipc, as the stack deploys it. */
const healthy = (over: Partial<SwarmServiceStatus> = {}): SwarmServiceStatus => ({
    service: "data-api",
    name: "prod-data-api",
    desired: 1,
    running: 1,
    node: "minipc",
    health: "healthy",
    failedRecently: 0,
    image: { expected: "homeiq-prod-data-api:local", labelled: ["sha256:aaa"], onNodes: [{ node: "minipc", id: "sha256:aaa" }], runningId: "sha256:aaa" },
    labelDiffs: [],
    endpoint: { url: "http://data-api:8006/health", requests: 20, failed: 0, p95Ms: 4, maxMs: 6 },
    memory: { usedBytes: 32 * 1024 * 1024, limitBytes: 256 * 1024 * 1024, percent: 12.5 },
    cpu: { percentOfOneCpu: 2, limitCpus: 1, percentOfLimit: 2 },
    errorLines: { count: 0, since: "2026-12-06T07:00:00.000000000Z" },
    missingLimits: { missing: [], fix: "DOCKER_HOST=ssh://admin@nas HOMEIQ_SERVICE=prod-data-api HOMEIQ_PIDS_LIMIT=256 HOMEIQ_ULIMITS='' bash scripts/swarm/limits.sh" },
    ...over,
});
const kinds = (s: SwarmServiceStatus) => evaluateSwarm([s], CRITERIA).map((f) => [f.id, f.message]);

describe("evaluateSwarm: a service's facts → findings, as the watch judges services (scripts/watch/swarm.sh)", () => {
    it("all well: no finding, exit 0", () => {
        expect(evaluateSwarm([healthy()], CRITERIA)).toEqual([]);
        expect(exitCodeOf(evaluateSwarm([healthy()], CRITERIA))).toBe(0);
    });

    it("missing, scaled to 0, fewer tasks than asked (with why the last ended), unhealthy, a restart loop: down, exit 10", () => {
        expect(kinds(healthy({ desired: null, running: 0 }))).toEqual([["down:prod-data-api", "prod-data-api does not exist"]]);
        expect(kinds(healthy({ desired: 0, running: 0, node: undefined }))).toEqual([["down:prod-data-api", "prod-data-api is scaled to 0 replicas: it runs nothing"]]);
        expect(kinds(healthy({ running: 0, failedRecently: 2, lastError: "failed: task: non-zero exit (1)" }))).toEqual([
            ["down:prod-data-api", "prod-data-api runs 0 of 1 replicas; its last task ended failed: task: non-zero exit (1) (2 task failures in the last 15 minutes)"],
        ]);
        expect(kinds(healthy({ health: "starting" }))).toEqual([["down:prod-data-api", "prod-data-api's task on minipc is running but starting"]]);
        expect(kinds(healthy({ failedRecently: 3, lastError: "failed: unhealthy container" }))).toEqual([
            ["down:prod-data-api", "prod-data-api is restarting in a loop: 3 of its tasks failed in the last 15 minutes; the last ended failed: unhealthy container"],
        ]);
        // Two failures and running healthy again: not yet a loop.
        expect(kinds(healthy({ failedRecently: 2 }))).toEqual([]);
        expect(exitCodeOf(evaluateSwarm([healthy({ desired: 0, running: 0 }), healthy({ name: "prod-x", labelDiffs: [{ label: "service com.homeiq.stack", expected: "prod", actual: null }] })], CRITERIA))).toBe(10);
    });

    it("drift, exit 11: the image not on a node, rebuilt but not deployed, a task running another image, labels", () => {
        expect(kinds(healthy({ image: { ...healthy().image, onNodes: [{ node: "minipc" }, { node: "tv", id: "sha256:aaa" }] } }))).toEqual([
            ["drift:prod-data-api image", "prod-data-api: the stack's image homeiq-prod-data-api:local is not on minipc"],
        ]);
        expect(kinds(healthy({ image: { ...healthy().image, onNodes: [{ node: "minipc", id: "sha256:bbbbbbbbbbbbbbbb" }] } }))).toEqual([
            ["drift:prod-data-api image", "prod-data-api: its task is labelled with image aaa, the stack's homeiq-prod-data-api:local is bbbbbbbbbbbb on minipc (rebuilt, not deployed: pulumi up)"],
        ]);
        expect(kinds(healthy({ image: { ...healthy().image, runningId: "sha256:ccc" } }))).toEqual([
            ["drift:prod-data-api image", "prod-data-api's task on minipc runs image ccc, the stack's homeiq-prod-data-api:local is aaa there"],
        ]);
        const labels = healthy({ labelDiffs: [{ label: "service com.homeiq.rebuild-generation", expected: "1", actual: "2" }, { label: "task com.homeiq.pids-limit", expected: "256", actual: null }] });
        expect(kinds(labels)).toEqual([
            ["drift:prod-data-api labels", `prod-data-api: labels differ from the stack's: service com.homeiq.rebuild-generation="2" (the stack's: "1"), task com.homeiq.pids-limit=(none) (the stack's: "256")`],
        ]);
        expect(exitCodeOf(evaluateSwarm([labels], CRITERIA))).toBe(11);
        // A missing service is down, not drift as well.
        expect(evaluateSwarm([healthy({ desired: null, running: 0, image: { ...healthy().image, onNodes: [{ node: "minipc" }] } })], CRITERIA).map((f) => f.kind)).toEqual(["down"]);
    });

    it("its running task's endpoint: a failed request is down (10), a p95 at the criterion slow (12), under it nothing", () => {
        expect(kinds(healthy({ endpoint: { url: "http://data-api:8006/health", requests: 20, failed: 20, failure: "connection refused" } }))).toEqual([
            ["down:prod-data-api endpoint", "http://data-api:8006/health (in prod-data-api's task on minipc): 20 of 20 requests failed (connection refused)"],
        ]);
        expect(exitCodeOf(evaluateSwarm([healthy({ endpoint: { url: "u", requests: 20, failed: 1, failure: "HTTP 500", p95Ms: 3 } })], CRITERIA))).toBe(10);
        const slow = healthy({ endpoint: { url: "http://data-api:8006/health", requests: 20, failed: 0, p95Ms: CRITERIA.latencyP95Ms, maxMs: 300 } });
        expect(kinds(slow)).toEqual([["slow:prod-data-api endpoint", `http://data-api:8006/health (in prod-data-api's task): p95 ${CRITERIA.latencyP95Ms} ms over 20 requests (criterion: under ${CRITERIA.latencyP95Ms} ms)`]]);
        expect(exitCodeOf(evaluateSwarm([slow], CRITERIA))).toBe(12);
        expect(kinds(healthy({ endpoint: { url: "u", requests: 20, failed: 0, p95Ms: CRITERIA.latencyP95Ms - 1 } }))).toEqual([]);
        // A criterion given on the command line.
        expect(evaluateSwarm([slow], { ...CRITERIA, latencyP95Ms: 60000 })).toEqual([]);
    });

    it("its running task's error lines (13), memory (14) and CPU (15) against its limits, as on a host", () => {
        const errors = healthy({ errorLines: { count: 2, since: "2026-12-06T07:00:00Z" } });
        expect(kinds(errors)).toEqual([["errors:prod-data-api", "prod-data-api: 2 error line(s) in its task's log since it started at 2026-12-06T07:00:00Z (see: docker service logs --since 2026-12-06T07:00:00Z prod-data-api, on the manager)"]]);
        expect(exitCodeOf(evaluateSwarm([errors], CRITERIA))).toBe(13);
        const memory = healthy({ memory: { usedBytes: 180 * 1024 * 1024, limitBytes: 256 * 1024 * 1024, percent: 70.3 } });
        expect(kinds(memory)).toEqual([["memory:prod-data-api", "prod-data-api: its task on minipc uses memory 70.3 % of its 256.0 MiB limit (criterion: under 70 %)"]]);
        expect(exitCodeOf(evaluateSwarm([memory], CRITERIA))).toBe(14);
        expect(kinds(healthy({ memory: { usedBytes: 1, limitBytes: 256, percent: 69.9 } }))).toEqual([]);
        const cpu = healthy({ cpu: { percentOfOneCpu: 30, limitCpus: 0.5, percentOfLimit: 60 } });
        expect(kinds(cpu)).toEqual([["cpu:prod-data-api", "prod-data-api: its task on minipc uses CPU 60.0 % of its 0.5 CPU limit (criterion: under 50 %)"]]);
        expect(exitCodeOf(evaluateSwarm([cpu], CRITERIA))).toBe(15);
        // No limit: nothing to judge against.
        expect(kinds(healthy({ cpu: { percentOfOneCpu: 90, limitCpus: 0, percentOfLimit: 90 }, memory: { usedBytes: 1, limitBytes: 0, percent: 95 } }))).toEqual([]);
        // The most severe decides the exit code: errors before memory before CPU.
        expect(exitCodeOf(evaluateSwarm([cpu, memory, errors], CRITERIA))).toBe(13);
    });

    it("a running task without the limits scripts/swarm/limits.sh sets: drift (11), with the command that sets them again", () => {
        const fix = "DOCKER_HOST=ssh://admin@nas HOMEIQ_SERVICE=prod-influxdb HOMEIQ_PIDS_LIMIT=512 HOMEIQ_ULIMITS=nofile=65536:65536 bash scripts/swarm/limits.sh";
        const lost = healthy({ name: "prod-influxdb", missingLimits: { missing: ["the PIDs limit 512 (it has none)"], fix } });
        expect(kinds(lost)).toEqual([
            ["drift:prod-influxdb limits", `prod-influxdb's task on minipc runs without the PIDs limit 512 (it has none), which the stack sets (its spec lost them, e.g. by docker service rollback); set them again: ${fix}`],
        ]);
        expect(exitCodeOf(evaluateSwarm([lost], CRITERIA))).toBe(11);
    });

    it("counts a loop as the watch does", () => {
        const watch = fs.readFileSync(path.join(ROOT, "scripts/watch/swarm.sh"), "utf8");
        expect(/readonly SWARM_LOOP_FAILURES=(\d+) SWARM_LOOP_MINUTES=(\d+)/.exec(watch)?.slice(1).map(Number)).toEqual([SWARM_LOOP_FAILURES, SWARM_LOOP_MINUTES]);
    });
});

describe("the labels the status expects are those the program registers on swarm", () => {
    it("on each service and its task (the image ids aside), read from the stack file as the status reads it", async () => {
        for (const extra of [{}, { "homeiq:rebuildGeneration": "7" }] as Array<Record<string, string>>) {
            const overrides = { "homeiq:target": "swarm", "homeiq:swarmNodes": JSON.stringify(NODES), ...extra };
            const result = await synthOf({ stack: "prod", overrides });
            const { plan } = loadStackPlan(ROOT, "prod", overrides);
            const registered = ofType(result, SERVICE_TYPE);
            expect(plan.swarm!.services.length).toBeGreaterThan(5);
            for (const s of plan.swarm!.services) {
                const r = registered.find((x) => x.inputs.name === s.name);
                if (!r) throw new Error(`the program registers no service ${s.name}`);
                const asMap = (l: unknown) => Object.fromEntries((l as Array<{ label: string; value: string }>).map((x) => [x.label, x.value]));
                const task = asMap((r.inputs.taskSpec as { containerSpec: { labels: unknown } }).containerSpec.labels);
                delete task["com.homeiq.image-ids"];
                const want = expectedSwarmLabels(plan.services.find((p) => p.key === s.key)!, plan.swarm!);
                expect({ service: asMap(r.inputs.labels), task }).toEqual(want);
                expect(task["com.homeiq.rebuild-generation"]).toBe(extra["homeiq:rebuildGeneration"] ?? "0");
            }
        }
    });
});

describe("what the status measures a task against, from the plan", () => {
    const { plan } = loadStackPlan(ROOT, "prod", { "homeiq:target": "swarm", "homeiq:swarmNodes": JSON.stringify(NODES) });
    const sp = (key: string) => plan.services.find((p) => p.key === key)!;

    it("each endpoint at the name its peers use on the overlay (a network alias the program gives its task), its container port, the host probe's path", async () => {
        expect(overlayUrlOf(sp("influxdb"))).toBe("http://influxdb:8086/ready");
        expect(overlayUrlOf(sp("data-api"))).toBe("http://data-api:8006/health");
        expect(overlayUrlOf(sp("health-dashboard"))).toBe("http://health-dashboard:80/");
        const result = await synthOf({ stack: "prod", overrides: { "homeiq:target": "swarm", "homeiq:swarmNodes": JSON.stringify(NODES) } });
        expect(plan.swarm!.services.length).toBeGreaterThan(5);
        for (const s of plan.swarm!.services) {
            const r = ofType(result, SERVICE_TYPE).find((x) => x.inputs.name === s.name);
            if (!r) throw new Error(`the program registers no service ${s.name}`);
            const aliases = (r.inputs.taskSpec as { networksAdvanceds: Array<{ aliases: string[] }> }).networksAdvanceds[0]!.aliases;
            expect({ service: s.key, has: aliases.includes(new URL(overlayUrlOf(sp(s.key))).hostname) }).toEqual({ service: s.key, has: true });
        }
    });

    it("the limits a task lacks: the PIDs limit and each ulimit of the plan", () => {
        const influx = sp("influxdb");
        const nofile = influx.hardening.ulimits.find((u) => u.name === "nofile")!;
        expect(nofile).toBeDefined();
        const full = { Memory: 0, NanoCpus: 0, PidsLimit: influx.hardening.pidsLimit, Ulimits: [{ Name: "nofile", Soft: nofile.soft, Hard: nofile.hard }] };
        expect(missingLimits(influx, full)).toEqual([]);
        expect(missingLimits(influx, { ...full, PidsLimit: null, Ulimits: null })).toEqual([
            `the PIDs limit ${influx.hardening.pidsLimit} (it has none)`,
            `the ulimit nofile=${nofile.soft}:${nofile.hard} (it has none)`,
        ]);
        expect(missingLimits(influx, { ...full, PidsLimit: 100, Ulimits: [{ Name: "nofile", Soft: 1024, Hard: 1024 }] })).toEqual([
            `the PIDs limit ${influx.hardening.pidsLimit} (it has 100)`,
            `the ulimit nofile=${nofile.soft}:${nofile.hard} (it has 1024:1024)`,
        ]);
    });

    it("the fix is the program's own limits Command, with its environment", async () => {
        const overrides = { "homeiq:target": "swarm", "homeiq:swarmNodes": JSON.stringify(NODES) };
        const result = await synthOf({ stack: "prod", overrides });
        const { plan: p } = loadStackPlan(ROOT, "prod", overrides);
        expect(p.swarm!.services.length).toBeGreaterThan(5);
        for (const s of p.swarm!.services) {
            const c = result.resources.find((r) => r.type === "command:local:Command" && (r.inputs.environment as Record<string, string> | undefined)?.HOMEIQ_SERVICE === s.name);
            if (!c) throw new Error(`the program registers no limits Command for ${s.name}`);
            const env = c.inputs.environment as Record<string, string>;
            const quote = (v: string) => (/^[A-Za-z0-9_.,:=/@%+-]+$/.test(v) ? v : `'${v}'`);
            expect(limitsFixCommand(p.dockerHost, s.name, p.services.find((x) => x.key === s.key)!)).toBe(
                `DOCKER_HOST=${quote(env.DOCKER_HOST!)} HOMEIQ_SERVICE=${env.HOMEIQ_SERVICE} HOMEIQ_PIDS_LIMIT=${env.HOMEIQ_PIDS_LIMIT} HOMEIQ_ULIMITS=${quote(env.HOMEIQ_ULIMITS!)} bash scripts/swarm/limits.sh`,
            );
        }
    });
});

describe("swarmReport", () => {
    it("one row per service (replicas, node, health, failures, last error), the services swarm does not run, the findings", () => {
        const down = healthy({ name: "prod-influxdb", running: 0, node: undefined, health: "-", failedRecently: 1, lastError: "failed: task: non-zero exit (1)", endpoint: undefined, memory: undefined, cpu: undefined, errorLines: undefined, missingLimits: undefined });
        const drifted = healthy({ name: "prod-enrichment-pipeline", image: { ...healthy().image, runningId: "sha256:ccc" } });
        const findings = evaluateSwarm([healthy(), down, drifted], CRITERIA);
        const text = swarmReport({
            stack: "prod",
            target: "swarm",
            dockerHost: "ssh://admin@nas",
            checkedAt: "2026-12-06T08:00:00.000Z",
            criteria: { ...CRITERIA },
            services: [healthy(), down, drifted],
            notOnSwarm: [{ service: "log-aggregator", reason: "reads the Docker API" }],
            disk: { volumes: [] },
            findings,
            exitCode: exitCodeOf(findings),
        });
        const lines = text.split("\n");
        expect(lines[0]).toBe("stack prod on swarm, manager ssh://admin@nas, 2026-12-06T08:00:00.000Z");
        expect(lines[2]!.split(/\s{2,}/)).toEqual(["SERVICE", "REPLICAS", "NODE", "HEALTH", "FAILED (15m)", "UP", "P95 (<100ms)", "MEMORY (<70%)", "CPU (<50%)", "ERRORS", "IMAGE/LABELS", "LAST ERROR"]);
        expect(lines.find((l) => l.startsWith("prod-data-api"))!.split(/\s{2,}/)).toEqual(["prod-data-api", "1/1", "minipc", "healthy", "0", "-", "4 ms", "12.5% of 256.0 MiB", "2.0% of 1", "0", "ok", "-"]);
        expect(lines.find((l) => l.startsWith("prod-influxdb"))!.split(/\s{2,}/)).toEqual(["prod-influxdb", "0/1", "-", "-", "1", "-", "-", "-", "-", "-", "ok", "failed: task: non-zero exit (1)"]);
        expect(lines.find((l) => l.startsWith("prod-enrichment-pipeline"))!.split(/\s{2,}/)[10]).toBe("DIFFERS");
        expect(lines).toContain("not on swarm: log-aggregator: reads the Docker API");
        expect(lines).toContain("  [down] prod-influxdb runs 0 of 1 replicas; its last task ended failed: task: non-zero exit (1) (1 task failures in the last 15 minutes)");
    });
});
