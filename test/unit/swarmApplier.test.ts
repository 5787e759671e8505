/**
 * The engine applier after a swarm update that failed (rolled back): Pulumi keeps a partially failed
 * update as the old inputs with the new values as outputs and init errors (docs/provider-behaviour.md,
 * Swarm; engine/apply/partialUpdateError.ts). What the next `up` then does is pure logic, tested here;
 * test/engine/stack.swarm.test.ts shows it on a real swarm.
 */
import { planResource, type AppliedResource } from "../../engine/apply/applyStack";
import type { DriverContext, Props } from "../../engine/apply/liveResources";
import { serviceDriver, serviceReadBack } from "../../engine/apply/swarmResources";

const SERVICE = "docker:index/service:Service";

function service(healthTest: string[]): Props {
    return {
        name: "prod-calendar",
        taskSpec: {
            containerSpec: { image: "homeiq-calendar:local", healthcheck: { tests: healthTest, interval: "5s", timeout: "10s", retries: 3, startPeriod: "30s" } },
            restartPolicy: { condition: "any", delay: "5s", maxAttempts: 0, window: "0s" },
        },
        mode: { replicated: { replicas: 1 } },
        updateConfig: { parallelism: 1, order: "stop-first", failureAction: "rollback", monitor: "10s", delay: "0s", maxFailureRatio: "0.0" },
        convergeConfig: { delay: "1s", timeout: "90s" },
    };
}
const good = service(["CMD", "curl", "-f", "http://localhost:8013/health"]);
const broken = service(["CMD", "false"]);

/** The service as the applier keeps it after the broken update was rolled back. */
const afterRollback: AppliedResource = {
    key: `${SERVICE}::homeiq-calendar`,
    type: SERVICE,
    name: "homeiq-calendar",
    id: "svc-1",
    inputs: good,
    state: serviceReadBack(broken),
    retainOnDelete: false,
    dependencies: [],
    replaceOnChanges: [],
    deleteBeforeReplace: true,
    secretOutputs: [],
    initErrors: ["service rollback completed: update rolled back due to failure or early termination of task"],
};

const noEngine: DriverContext = {
    api: {
        request: () => {
            throw new Error("the engine was called");
        },
    } as unknown as DriverContext["api"],
    dockerHost: "unix:///nowhere.sock",
    cwd: ".",
    log: () => undefined,
};

describe("the next up after a rolled-back swarm update", () => {
    it("with the same program: no diff, an empty update for the init errors, which never reaches the engine", async () => {
        const planned = planResource(SERVICE, serviceDriver, afterRollback, broken, []);
        expect([planned.op, planned.changes]).toEqual(["update", []]);
        // pulumi-terraform-bridge provider.go:1725-1731: no diff, the old state back without calling the provider.
        await expect(serviceDriver.update!(noEngine, "homeiq-calendar", broken, afterRollback)).resolves.toEqual({ id: "svc-1", state: afterRollback.state });
    });

    it("with the fixed program: the outputs (the rolled-back values) differ from its inputs, so the service is updated", () => {
        const planned = planResource(SERVICE, serviceDriver, afterRollback, good, []);
        expect([planned.op, planned.changes.map((c) => c.key)]).toEqual(["update", ["taskSpec"]]);
    });
});
