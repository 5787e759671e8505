/**
 * engine/apply's docker.Service and docker.Secret drivers (engine/apply/swarmResources.ts) on a
 * single-node swarm of its own (engine/swarm-nodes.sh: a dedicated dockerd with its own data root,
 * socket and network namespace, started with --no-new-privileges; the shared engine never enters
 * swarm mode). What the provider does, checked on the real engine:
 * - create returns only once the task runs, and a task with a health check runs only once healthy
 *   (the health gate), with the hardening the spec asks for on the running task;
 * - a create that does not converge deletes the service and fails (resource_docker_service_funcs.go:64-75);
 * - an update whose health check fails is rolled back by swarm and fails the step (:434-467), the old
 *   task still serving;
 * - a secret reaches the task as a file, never in its environment.
 */
import { dockerApi } from "../../engine/apply/dockerApi";
import type { DriverContext, Props } from "../../engine/apply/liveResources";
import { secretDriver, serviceChanges, serviceDriver } from "../../engine/apply/swarmResources";
import { IMAGES } from "./helpers";
import { startSwarm, type Swarm } from "./swarm-nodes";

const NAME = "i18-swsvc";
let swarm: Swarm;
let ctx: DriverContext;

beforeAll(() => {
    swarm = startSwarm(NAME, 1, "10.242.11", [IMAGES.busybox]);
    ctx = { api: dockerApi(swarm.manager.dockerHost), dockerHost: swarm.manager.dockerHost, cwd: process.cwd(), log: () => undefined };
});
afterAll(() => swarm?.down());

/** A hardened busybox web server whose health check is `health`, as the program writes a service. */
function webService(name: string, marker: string, health = "wget -q -O- http://127.0.0.1:8080/ >/dev/null", extra: Props = {}): Props {
    return {
        name,
        taskSpec: {
            containerSpec: {
                image: IMAGES.busybox,
                commands: ["sh", "-c", `echo ${marker} > /www/index.html && exec httpd -f -p 8080 -h /www`],
                env: { MARKER: marker },
                user: "1001:1001",
                readOnly: true,
                capDrops: ["ALL"],
                mounts: [{ type: "tmpfs", target: "/www", tmpfsOptions: { sizeBytes: 1048576, mode: 0o1777 } }],
                healthcheck: { tests: ["CMD-SHELL", health], interval: "1s", timeout: "2s", startPeriod: "0s", retries: 1 },
                stopGracePeriod: "2s",
                ...extra,
            },
            restartPolicy: { condition: "any", delay: "1s", maxAttempts: 0, window: "0s" },
            placement: { constraints: [`node.hostname==${NAME}-n1`], maxReplicas: 1 },
        },
        mode: { replicated: { replicas: 1 } },
        updateConfig: { parallelism: 1, order: "stop-first", failureAction: "rollback", monitor: "3s", delay: "0s" },
        rollbackConfig: { parallelism: 1, order: "stop-first", failureAction: "pause", monitor: "3s", delay: "0s" },
        endpointSpec: { mode: "dnsrr" },
        convergeConfig: { delay: "1s", timeout: "40s" },
    };
}

const tasksOf = (service: string): string[] =>
    swarm.docker(swarm.manager, ["service", "ps", service, "--no-trunc", "--format", "{{.DesiredState}} {{.CurrentState}}"]).stdout.trim().split("\n");
const containerOf = (service: string): string => swarm.taskContainer(swarm.manager, service);

test("create returns once the task is healthy, and the running task is hardened as specified", async () => {
    const created = await serviceDriver.create(ctx, "hardened", webService("i18-hardened", "first"));
    const id = containerOf("i18-hardened");
    // The health gate: by the time create returns, the container's own health is healthy.
    expect(swarm.docker(swarm.manager, ["inspect", "--format", "{{.State.Health.Status}}", id]).stdout.trim()).toBe("healthy");
    expect(created.report?.healthyAt).toBeGreaterThanOrEqual(created.report!.startedAt!);
    const status = swarm.docker(swarm.manager, ["exec", id, "cat", "/proc/1/status"]).stdout;
    // From the node's daemon (--no-new-privileges): the provider cannot ask for it per service.
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^CapEff:\s+0000000000000000$/m);
    expect(status).toMatch(/^Uid:\s+1001\s/m);
    const write = swarm.docker(swarm.manager, ["exec", id, "touch", "/probe"], true);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    // A second plan with the same inputs changes nothing (the state is what the provider reads back).
    expect(serviceChanges(created.state, webService("i18-hardened", "first"))).toEqual([]);
});

test("a health check that fails at create: the provider deletes the service and the step fails", async () => {
    const inputs = webService("i18-neverhealthy", "x", "false", {});
    (inputs.convergeConfig as Props).timeout = "8s";
    await expect(serviceDriver.create(ctx, "never", inputs)).rejects.toThrow(/did not converge after 8s .*the provider deleted it/);
    expect(swarm.docker(swarm.manager, ["service", "inspect", "i18-neverhealthy"], true).code).not.toBe(0);
});

test("an update whose health check fails is rolled back by swarm: the step fails, the old task serves", async () => {
    const first = await serviceDriver.create(ctx, "rollback", webService("i18-rollback", "old"));
    const broken = webService("i18-rollback", "new", "test -f /nonexistent");
    // Time for swarm's own steps under load (new task, failed checks, the update's monitor, the rollback's task):
    // the provider waits this long for the update's end state; 40 s was once too little on a loaded 2-core machine.
    (broken.convergeConfig as Props).timeout = "180s";
    await expect(serviceDriver.update!(ctx, "rollback", broken, { id: first.id, state: first.state })).rejects.toThrow(/service rollback completed/);
    const id = containerOf("i18-rollback");
    expect(swarm.docker(swarm.manager, ["exec", id, "sh", "-c", "echo $MARKER"]).stdout.trim()).toBe("old");
    expect(tasksOf("i18-rollback")[0]).toMatch(/^Running Running/);
});

test("a secret reaches the task as a file with its owner and mode, not in the environment", async () => {
    const value = "s3cr3t-i18-value";
    const secret = await secretDriver.create(ctx, "token", { name: "i18-token", data: Buffer.from(value).toString("base64") });
    const inputs = webService("i18-secret", "s", undefined, {
        secrets: [{ secretId: secret.id, secretName: "i18-token", fileName: "/run/secrets/token", fileUid: "1001", fileGid: "1001", fileMode: 0o400 }],
    });
    await serviceDriver.create(ctx, "with-secret", inputs);
    const id = containerOf("i18-secret");
    expect(swarm.docker(swarm.manager, ["exec", id, "cat", "/run/secrets/token"]).stdout).toBe(value);
    expect(swarm.docker(swarm.manager, ["exec", id, "stat", "-c", "%u:%g %a", "/run/secrets/token"]).stdout.trim()).toBe("1001:1001 400");
    expect(swarm.docker(swarm.manager, ["exec", id, "env"]).stdout).not.toContain(value);
    // Immutable: a change of the data is a replacement (a new secret), never an update.
    expect(secretDriver.changes?.data.kind).toBe("replace");
});
