/**
 * The rules of `npm run status` without an engine: which finding each measurement gives, the exit
 * code of the worst one, the docker CLI's units, the p95, the arguments, and what the stack deploys.
 */
import { parseStatusArgs, UsageError } from "../../operate/statusCli";
import { CRITERIA, evaluate, exitCodeOf, expectedContainers, parseSize, percentile, type ContainerStatus, type DiskStatus } from "../../operate/status";
import { loadStackPlan } from "../../operate/stackPlan";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const MiB = 1024 * 1024;

/** A running, healthy container that meets every criterion; each test changes one thing. */
function healthy(name: string, changes: Partial<ContainerStatus> = {}): ContainerStatus {
    return {
        service: name,
        container: `prod-${name}`,
        state: "running",
        health: "healthy",
        restarts: 0,
        startedAt: "2026-12-06T03:00:00Z",
        uptimeSeconds: 600,
        image: { expected: `homeiq-prod-${name}:local`, expectedId: "sha256:aaaa", runningId: "sha256:aaaa" },
        labelDiffs: [],
        memory: { usedBytes: 10 * MiB, limitBytes: 100 * MiB, percent: 10 },
        cpu: { percentOfLimit: 5, limitCpus: 1, percentOfOneCpu: 5 },
        endpoint: { url: `http://127.0.0.1:8000/health`, requests: 20, failed: 0, p95Ms: 12, maxMs: 20 },
        errorLines: { count: 0, since: "2026-12-06T03:00:00Z" },
        ...changes,
    };
}
const DISK: DiskStatus = { volumes: [], backup: { folder: "/b/prod", exists: true, filesystem: { usedPercent: 40, availableBytes: 10 * 1024 * MiB } } };
const ids = (cs: ContainerStatus[], disk: DiskStatus = DISK): string[] => evaluate(cs, disk, { ...CRITERIA }).map((f) => f.id);

describe("status findings", () => {
    it("a stack that meets every criterion has none, and exits 0", () => {
        const f = evaluate([healthy("a"), healthy("b")], DISK, { ...CRITERIA });
        expect({ f, code: exitCodeOf(f) }).toEqual({ f: [], code: 0 });
    });

    it.each([
        ["missing", { state: "missing" }, ["down:prod-a"], 10],
        ["exited", { state: "exited" }, ["down:prod-a"], 10],
        ["unhealthy", { health: "unhealthy" }, ["down:prod-a"], 10],
        ["no health check", { health: "none" }, ["down:prod-a"], 10],
        ["endpoint failing", { endpoint: { url: "u", requests: 20, failed: 3, failure: "HTTP 500", p95Ms: 5, maxMs: 5 } }, ["down:prod-a endpoint"], 10],
        ["another image", { image: { expected: "x", expectedId: "sha256:bbbb", runningId: "sha256:aaaa" } }, ["drift:prod-a image"], 11],
        ["image gone", { image: { expected: "x", runningId: "sha256:aaaa" } }, ["drift:prod-a image"], 11],
        ["labels", { labelDiffs: [{ label: "com.homeiq.stack", expected: "prod", actual: null }] }, ["drift:prod-a labels"], 11],
        ["p95 at 100 ms", { endpoint: { url: "u", requests: 20, failed: 0, p95Ms: 100, maxMs: 130 } }, ["slow:prod-a endpoint"], 12],
        ["an error line", { errorLines: { count: 1, since: "t" } }, ["errors:prod-a"], 13],
        ["memory at 70 %", { memory: { usedBytes: 70 * MiB, limitBytes: 100 * MiB, percent: 70 } }, ["memory:prod-a"], 14],
        ["CPU at 50 % of its limit", { cpu: { percentOfLimit: 50, limitCpus: 0.5, percentOfOneCpu: 25 } }, ["cpu:prod-a"], 15],
    ] as Array<[string, Partial<ContainerStatus>, string[], number]>)("%s: its finding, and the exit code of its kind", (_what, change, expected, code) => {
        const f = evaluate([healthy("a", change), healthy("b")], DISK, { ...CRITERIA });
        expect({ ids: f.map((x) => x.id), code: exitCodeOf(f) }).toEqual({ ids: expected, code });
    });

    it("just under each threshold is no finding", () => {
        expect(ids([healthy("a", {
            endpoint: { url: "u", requests: 20, failed: 0, p95Ms: 99, maxMs: 300 },
            memory: { usedBytes: 69 * MiB, limitBytes: 100 * MiB, percent: 69.9 },
            cpu: { percentOfLimit: 49.9, limitCpus: 1, percentOfOneCpu: 49.9 },
        })], { volumes: [], backup: { folder: "/b", exists: true, filesystem: { usedPercent: 89.9, availableBytes: 1 } } })).toEqual([]);
    });

    it("a stopped container's endpoint is not a second finding; a full backup disk exits 16", () => {
        expect(ids([healthy("a", { state: "exited", endpoint: { url: "u", requests: 20, failed: 20, failure: "connection refused" } })])).toEqual(["down:prod-a"]);
        const full = evaluate([healthy("a")], { volumes: [], backup: { folder: "/b", exists: true, filesystem: { usedPercent: 95, availableBytes: 5 * MiB } } }, { ...CRITERIA });
        expect({ ids: full.map((f) => f.id), code: exitCodeOf(full), message: full[0]!.message }).toEqual({
            ids: ["disk:backup filesystem"], code: 16, message: "the filesystem of /b is 95 % full, 5.0 MiB free (threshold: 90 %)",
        });
    });

    it("exits with the most severe kind when several apply, and lists them all", () => {
        const f = evaluate([healthy("a", { errorLines: { count: 2, since: "t" } }), healthy("b", { health: "unhealthy" }), healthy("c", { cpu: { percentOfLimit: 90, limitCpus: 1, percentOfOneCpu: 90 } })], DISK, { ...CRITERIA });
        expect({ ids: f.map((x) => x.id), code: exitCodeOf(f) }).toEqual({ ids: ["down:prod-b", "errors:prod-a", "cpu:prod-c"], code: 10 });
    });
});

describe("status parsing", () => {
    it.each([
        ["240B", 240], ["1.5kB", 1500], ["12.5MiB", 13107200], ["2GiB", 2147483648], ["1.2GB", 1.2e9], ["0B", 0], ["n/a", null], ["12 MiB", 12 * MiB],
    ] as Array<[string, number | null]>)("docker's size %s is %p bytes", (text, bytes) => {
        expect(parseSize(text)).toBe(bytes);
    });

    it("p95 is nearest-rank: the 19th of 20, the 5th of 5", () => {
        const twenty = Array.from({ length: 20 }, (_, i) => 20 - i); // 20..1, unsorted on purpose
        expect(percentile(twenty, 95)).toBe(19);
        expect(percentile([5, 1, 3, 2, 4], 95)).toBe(5);
        expect(percentile([7], 95)).toBe(7);
    });

    it("takes the stack, --json and numbers in range; refuses the rest naming the option and the value", () => {
        expect(parseStatusArgs(["prod", "--json", "--requests", "5", "--latency-ms", "250"])).toEqual({
            stack: "prod", json: true, requests: 5, criteria: { ...CRITERIA, latencyP95Ms: 250 },
        });
        expect(() => parseStatusArgs([])).toThrow(UsageError);
        expect(() => parseStatusArgs([])).toThrow(/^which stack\? \(e\.g\. prod\)\nusage: npm run -s status -- <stack>/);
        expect(() => parseStatusArgs(["prod", "--memory-percent", "170"])).toThrow(/--memory-percent "170": expected a whole number from 1 to 100/);
        expect(() => parseStatusArgs(["prod", "--requests"])).toThrow(/--requests \(missing\)/);
        expect(() => parseStatusArgs(["prod", "--watch"])).toThrow(/unknown option "--watch"/);
        expect(() => parseStatusArgs(["prod", "dev"])).toThrow(/one stack at a time \(got "prod" and "dev"\)/);
    });
});

describe("what the stack deploys, per container", () => {
    it("prod: each service's container, image tag, labels and endpoint, and the Docker API proxy without an endpoint", () => {
        const { plan } = loadStackPlan(ROOT, "prod");
        const expected = new Map(expectedContainers(plan).map((e) => [e.service, e]));
        expect(expected.get("data-api")).toEqual({
            service: "data-api",
            container: "prod-data-api",
            image: "homeiq-prod-data-api-non-root:local",
            labels: { "com.homeiq.service": "data-api", "com.homeiq.stack": "prod", "com.homeiq.rebuild-generation": "0", "com.homeiq.pids-limit": "256" },
            dependencyIdsOf: [],
            endpoint: { url: "http://127.0.0.1:8006/health", check: "http200" },
        });
        expect([...expected.get("health-dashboard")!.dependencyIdsOf].sort()).toEqual(["prod-admin-api", "prod-data-api", "prod-sports-data"]);
        expect(expected.get("docker-api-proxy")!.endpoint).toBeUndefined();
        expect(expected.has("calendar")).toBe(false); // disabled in Pulumi.prod.yaml
    });
});
