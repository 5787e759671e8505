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
import { evaluateSwarm, expectedSwarmLabels, SWARM_LOOP_FAILURES, SWARM_LOOP_MINUTES, type SwarmServiceStatus } from "../../operate/swarm";
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
    ...over,
});
const kinds = (s: SwarmServiceStatus) => evaluateSwarm([s]).map((f) => [f.id, f.message]);

describe("evaluateSwarm: a service's facts → findings, as the watch judges services (scripts/watch/swarm.sh)", () => {
    it("all well: no finding, exit 0", () => {
        expect(evaluateSwarm([healthy()])).toEqual([]);
        expect(exitCodeOf(evaluateSwarm([healthy()]))).toBe(0);
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
        expect(exitCodeOf(evaluateSwarm([healthy({ desired: 0, running: 0 }), healthy({ name: "prod-x", labelDiffs: [{ label: "service com.homeiq.stack", expected: "prod", actual: null }] })]))).toBe(10);
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
        expect(exitCodeOf(evaluateSwarm([labels]))).toBe(11);
        // A missing service is down, not drift as well.
        expect(evaluateSwarm([healthy({ desired: null, running: 0, image: { ...healthy().image, onNodes: [{ node: "minipc" }] } })]).map((f) => f.kind)).toEqual(["down"]);
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

describe("swarmReport", () => {
    it("one row per service (replicas, node, health, failures, last error), the services swarm does not run, the findings", () => {
        const down = healthy({ name: "prod-influxdb", running: 0, node: undefined, health: "-", failedRecently: 1, lastError: "failed: task: non-zero exit (1)" });
        const drifted = healthy({ name: "prod-enrichment-pipeline", image: { ...healthy().image, runningId: "sha256:ccc" } });
        const findings = evaluateSwarm([healthy(), down, drifted]);
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
        expect(lines.find((l) => l.startsWith("prod-data-api"))!.split(/\s{2,}/)).toEqual(["prod-data-api", "1/1", "minipc", "healthy", "0", "-", "ok", "-"]);
        expect(lines.find((l) => l.startsWith("prod-influxdb"))!.split(/\s{2,}/)).toEqual(["prod-influxdb", "0/1", "-", "-", "1", "-", "ok", "failed: task: non-zero exit (1)"]);
        expect(lines.find((l) => l.startsWith("prod-enrichment-pipeline"))!.split(/\s{2,}/)[6]).toBe("DIFFERS");
        expect(lines).toContain("not on swarm: log-aggregator: reads the Docker API");
        expect(lines).toContain("  [down] prod-influxdb runs 0 of 1 replicas; its last task ended failed: task: non-zero exit (1) (1 task failures in the last 15 minutes)");
    });
});
