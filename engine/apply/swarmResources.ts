/**
 * The swarm resource types as @pulumi/docker's provider carries them out
 * (kreuzwerker/terraform-provider-docker v4.5.0, "tf-docker" below, internal/provider/…):
 * `docker:index/service:Service` and `docker:index/secret:Secret`. The overlay network is the
 * Network driver (liveResources.ts) with `attachable` and `ipamConfigs`.
 *
 * What is modelled, each with its source line:
 * - the service spec is built from the inputs field by field as createServiceSpec does
 *   (resource_docker_service_structures.go:589-633, createContainerSpec :708-1000); an input the
 *   provider has no field for cannot be written (there is none for a health check's start interval,
 *   no-new-privileges, ulimits, a PIDs limit or a published port's host IP: docs/provider-behaviour.md);
 * - convergence: with `convergeConfig`, create waits `delay`, then polls the tasks at 0 s, 5 s,
 *   15 s, 25 s … (retry.StateChangeConf with MinTimeout 5 s, resource_docker_service_funcs.go:56-63;
 *   terraform-plugin-sdk v2.40.1 helper/retry/state.go:96-110, 186-200) until as many tasks run as
 *   there are replicas (:510-560). A task with a health check reports `running` only once healthy,
 *   so this is the health gate. A create that does not converge deletes the service and fails
 *   without an id (:64-75): nothing stays in state;
 * - update: ServiceUpdate with the service's version (:192), then a fixed 7 s delay before polling
 *   (:204-211) until the update status is `completed`; a rollback fails the step with "service
 *   rollback completed" (:434-467, :214-221) as a partial failure: the state keeps the old inputs with
 *   the new values as outputs and init errors (PartialUpdateError says why), so the next `up` of the
 *   same program finds no diff and its empty update changes nothing on the swarm;
 * - read-back: durations in the provider's shortDur form (:1341-1350), the restart policy's `delay`
 *   and `window` always sent (as 0 when unset, :1084-1109) and read back, networks read back by
 *   `id` only (:526-541), so a network given by `name` differs on every plan and `name` forces a
 *   replacement (resource_docker_service.go:707-713);
 * - delete: ServiceRemove, then, with a `stopGracePeriod`, wait for each of its containers on the
 *   provider's engine to be removed (:261-336).
 */
import { DockerApiError, type DockerApi } from "./dockerApi";
import { runProcess } from "./process";
import { refuseUnmapped } from "./unmappedInputs";
import type { ChangeKind } from "./containerInputs";
import type { DriverContext, Outputs, Props, ResourceDriver } from "./liveResources";
import type { InputChange } from "./plan";
import { PartialUpdateError } from "./partialUpdateError";

const asRecord = (v: unknown): Props => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Props) : {});
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const labelsMap = (v: unknown): Record<string, string> => Object.fromEntries(asList(v).map((l) => [String(asRecord(l).label), String(asRecord(l).value)]));

const NS: Record<string, number> = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6, us: 1e3, µs: 1e3, ns: 1 };

/** Go's time.ParseDuration for the forms the program writes ("250ms", "1m30s"); "" parses as an error, read as 0 (as the provider ignores it). */
export function parseGoDuration(text: unknown): number {
    const s = String(text ?? "");
    if (s === "" || s === "0") return 0;
    let total = 0;
    const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;
    let m: RegExpExecArray | null;
    let consumed = 0;
    while ((m = re.exec(s)) !== null) {
        total += Number(m[1]) * NS[m[2]];
        consumed = re.lastIndex;
    }
    return consumed === s.length ? Math.round(total) : 0;
}

/** Go's Duration.String in the provider's shortDur form ("5m", not "5m0s"; resource_docker_service_structures.go:1341-1350). */
export function shortDur(ns: number): string {
    if (ns === 0) return "0s";
    let s: string;
    if (ns < 1e3) s = `${ns}ns`;
    else if (ns < 1e6) s = `${trim(ns / 1e3)}µs`;
    else if (ns < 1e9) s = `${trim(ns / 1e6)}ms`;
    else {
        const h = Math.floor(ns / 3600e9);
        const mins = Math.floor((ns % 3600e9) / 60e9);
        const secs = `${trim((ns % 60e9) / 1e9)}s`;
        s = h > 0 ? `${h}h${mins}m${secs}` : mins > 0 ? `${mins}m${secs}` : secs;
    }
    if (s.endsWith("m0s")) s = s.slice(0, -2);
    if (s.endsWith("h0m")) s = s.slice(0, -2);
    return s;
}
const trim = (x: number): string => x.toFixed(9).replace(/\.?0+$/, "");

// ---------------------------------------------------------------------------------------------
// The service spec, as createServiceSpec builds it.

const SERVICE_INPUTS = ["name", "labels", "taskSpec", "mode", "updateConfig", "rollbackConfig", "endpointSpec", "convergeConfig"] as const;
const TASK_INPUTS = ["containerSpec", "resources", "restartPolicy", "placement", "networksAdvanceds", "logDriver", "forceUpdate"];
const CONTAINER_SPEC_INPUTS = ["image", "labels", "commands", "args", "env", "user", "groups", "readOnly", "mounts", "stopGracePeriod", "healthcheck", "secrets", "capAdds", "capDrops", "init", "sysctl"];

function refuse(what: string, given: Props, known: readonly string[]): void {
    refuseUnmapped(what, given, known, "engine/apply/swarmResources.ts");
}

function updateOrRollbackConfig(v: unknown): Props | undefined {
    if (v === undefined) return undefined;
    const c = asRecord(v);
    // createUpdateOrRollbackConfig (structures.go:1293-1320): every field of the block is sent.
    return {
        Parallelism: Number(c.parallelism ?? 1),
        Delay: parseGoDuration(c.delay),
        FailureAction: String(c.failureAction ?? "pause"),
        Monitor: parseGoDuration(c.monitor ?? "5s"),
        MaxFailureRatio: Number(c.maxFailureRatio ?? "0.0"),
        Order: String(c.order ?? "stop-first"),
    };
}

/** The Engine API ServiceSpec for `inputs` (and the secret and network ids they name). */
export function serviceSpec(name: string, inputs: Props): Props {
    refuse(`Service ${name}`, inputs, SERVICE_INPUTS);
    const task = asRecord(inputs.taskSpec);
    refuse(`Service ${name} taskSpec`, task, TASK_INPUTS);
    const c = asRecord(task.containerSpec);
    refuse(`Service ${name} taskSpec.containerSpec`, c, CONTAINER_SPEC_INPUTS);
    const health = c.healthcheck === undefined ? undefined : asRecord(c.healthcheck);
    const restart = task.restartPolicy === undefined ? undefined : asRecord(task.restartPolicy);
    const limits = asRecord(asRecord(task.resources).limits);
    const reservation = asRecord(asRecord(task.resources).reservation);
    const placement = asRecord(task.placement);
    const endpoint = asRecord(inputs.endpointSpec);
    const replicated = asRecord(asRecord(inputs.mode).replicated);
    return {
        Name: inputs.name,
        Labels: labelsMap(inputs.labels),
        TaskTemplate: {
            ContainerSpec: {
                Image: c.image,
                Labels: labelsMap(c.labels),
                ...(c.commands !== undefined ? { Command: asList(c.commands) } : {}),
                ...(c.args !== undefined ? { Args: asList(c.args) } : {}),
                Env: Object.entries(asRecord(c.env)).map(([k, v]) => `${k}=${String(v)}`),
                ...(c.user !== undefined ? { User: c.user } : {}),
                ...(c.groups !== undefined ? { Groups: asList(c.groups) } : {}),
                ReadOnly: c.readOnly === true,
                Mounts: asList(c.mounts).map((raw) => {
                    const m = asRecord(raw);
                    const vo = m.volumeOptions === undefined ? undefined : asRecord(m.volumeOptions);
                    const to = m.tmpfsOptions === undefined ? undefined : asRecord(m.tmpfsOptions);
                    return {
                        Type: m.type,
                        Target: m.target,
                        Source: m.source ?? "",
                        ReadOnly: m.readOnly === true,
                        ...(vo ? { VolumeOptions: { NoCopy: vo.noCopy === true, Labels: labelsMap(vo.labels) } } : {}),
                        ...(to ? { TmpfsOptions: { SizeBytes: Number(to.sizeBytes ?? 0), Mode: Number(to.mode ?? 0) } } : {}),
                    };
                }),
                ...(c.stopGracePeriod !== undefined ? { StopGracePeriod: parseGoDuration(c.stopGracePeriod) } : {}),
                // structures.go:884-905: test, interval, timeout, start_period, retries; nothing else (no StartInterval).
                ...(health
                    ? {
                          Healthcheck: {
                              Test: asList(health.tests),
                              Interval: parseGoDuration(health.interval),
                              Timeout: parseGoDuration(health.timeout),
                              StartPeriod: parseGoDuration(health.startPeriod),
                              Retries: Number(health.retries ?? 0),
                          },
                      }
                    : {}),
                Secrets: asList(c.secrets).map((raw) => {
                    const s = asRecord(raw);
                    return {
                        SecretID: s.secretId,
                        SecretName: s.secretName,
                        File: { Name: s.fileName, UID: String(s.fileUid ?? "0"), GID: String(s.fileGid ?? "0"), Mode: Number(s.fileMode ?? 0o444) },
                    };
                }),
                ...(c.capAdds !== undefined ? { CapabilityAdd: asList(c.capAdds) } : {}),
                ...(c.capDrops !== undefined ? { CapabilityDrop: asList(c.capDrops) } : {}),
                ...(c.init !== undefined ? { Init: c.init === true } : {}),
                ...(c.sysctl !== undefined ? { Sysctls: asRecord(c.sysctl) } : {}),
            },
            Resources: {
                Limits: { NanoCPUs: Number(limits.nanoCpus ?? 0), MemoryBytes: Number(limits.memoryBytes ?? 0) },
                Reservations: { NanoCPUs: Number(reservation.nanoCpus ?? 0), MemoryBytes: Number(reservation.memoryBytes ?? 0) },
            },
            // structures.go:1084-1109: delay and window are always sent; unset they parse as 0.
            ...(restart
                ? {
                      RestartPolicy: {
                          Condition: restart.condition,
                          Delay: parseGoDuration(restart.delay),
                          MaxAttempts: Number(restart.maxAttempts ?? 0),
                          Window: parseGoDuration(restart.window),
                      },
                  }
                : {}),
            Placement: { Constraints: asList(placement.constraints), MaxReplicas: Number(placement.maxReplicas ?? 0) },
            Networks: asList(task.networksAdvanceds).map((raw) => {
                const n = asRecord(raw);
                // structures.go:1140-1158: the id, else the name.
                return { Target: n.id ?? n.name, Aliases: asList(n.aliases) };
            }),
            ...(task.logDriver !== undefined
                ? { LogDriver: { Name: asRecord(task.logDriver).name, Options: asRecord(asRecord(task.logDriver).options) } }
                : {}),
            ForceUpdate: Number(task.forceUpdate ?? 0),
        },
        Mode: { Replicated: { Replicas: Number(replicated.replicas ?? 1) } },
        ...(inputs.updateConfig !== undefined ? { UpdateConfig: updateOrRollbackConfig(inputs.updateConfig) } : {}),
        ...(inputs.rollbackConfig !== undefined ? { RollbackConfig: updateOrRollbackConfig(inputs.rollbackConfig) } : {}),
        EndpointSpec: {
            ...(endpoint.mode !== undefined ? { Mode: endpoint.mode } : {}),
            Ports: asList(endpoint.ports).map((raw) => {
                const p = asRecord(raw);
                // structures.go:1262-1287: no host IP: swarm publishes on every interface.
                return { Protocol: p.protocol ?? "tcp", TargetPort: p.targetPort, PublishedPort: p.publishedPort ?? 0, PublishMode: p.publishMode ?? "ingress" };
            }),
        },
    };
}

// ---------------------------------------------------------------------------------------------
// Convergence

interface Task {
    ID: string;
    Slot?: number;
    NodeID?: string;
    DesiredState: string;
    Status: { State: string; Err?: string; Message?: string; ContainerStatus?: { ContainerID?: string } };
    ServiceID: string;
}
interface ServiceInspect {
    ID: string;
    Version: { Index: number };
    Spec: Props;
    UpdateStatus?: { State: string; Message?: string };
}

// The task states in order (numberedStates, resource_docker_service_funcs.go:668-686).
const TASK_STATES = ["new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running", "complete", "shutdown", "failed", "rejected", "remove", "orphaned"];
const stateNo = (s: string): number => TASK_STATES.indexOf(s) + 1;

/** Tasks running in their slots on nodes that are not down, against the replicas (funcs.go:510-597). */
async function runningReplicas(api: DockerApi, serviceId: string): Promise<{ running: number; replicas: number; tasks: Task[] }> {
    const service = await api.request<ServiceInspect>("GET", `/services/${serviceId}`);
    const filters = encodeURIComponent(JSON.stringify({ service: [serviceId], "desired-state": ["running"] }));
    const tasks = await api.request<Task[]>("GET", `/tasks?filters=${filters}`);
    const nodes = await api.request<Array<{ ID: string; Status: { State: string } }>>("GET", "/nodes");
    const active = new Set(nodes.filter((n) => n.Status.State !== "down").map((n) => n.ID));
    const bySlot = new Map<number, Task>();
    for (const t of tasks) {
        if (stateNo(t.DesiredState) === 0 || stateNo(t.Status.State) === 0) continue;
        const had = bySlot.get(t.Slot ?? 0);
        if (had && (stateNo(had.DesiredState) < stateNo(t.DesiredState) || (had.DesiredState === t.DesiredState && stateNo(had.Status.State) <= stateNo(t.Status.State)))) continue;
        if (t.NodeID && !active.has(t.NodeID)) continue;
        bySlot.set(t.Slot ?? 0, t);
    }
    const running = [...bySlot.values()].filter((t) => stateNo(t.DesiredState) <= stateNo("running") && t.Status.State === "running").length;
    const replicas = Number(asRecord(asRecord(service.Spec.Mode).Replicated).Replicas ?? 0);
    return { running, replicas, tasks };
}

/** The polls of retry.StateChangeConf with MinTimeout 5 s: after `delayMs`, at 0, 5, 15, 25 … s (state.go:96-110, 186-200). */
export function convergePollOffsets(delayMs: number, timeoutMs: number): number[] {
    const at: number[] = [];
    let t = delayMs;
    let wait = 0;
    while (t <= timeoutMs) {
        at.push(t);
        wait = wait === 0 ? 200 : wait * 2;
        wait = wait < 5000 ? 5000 : Math.min(wait, 10_000);
        t += wait;
    }
    return at;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Polls `check` at the provider's offsets; resolves with the first value it returns, or undefined at the timeout. */
async function pollAsProvider<T>(delayMs: number, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T | undefined> {
    const start = Date.now();
    for (const offset of convergePollOffsets(delayMs, timeoutMs)) {
        await sleep(start + offset - Date.now());
        const v = await check();
        if (v !== undefined) return v;
    }
    return undefined;
}

/** Why the tasks did not run: what `docker service ps --no-trunc` shows a user. */
function taskErrors(tasks: readonly Task[]): string {
    return tasks.map((t) => `${t.Status.State}${t.Status.Err ? `: ${t.Status.Err}` : ""}`).join("; ");
}

async function allTasksEver(api: DockerApi, serviceId: string): Promise<Task[]> {
    const filters = encodeURIComponent(JSON.stringify({ service: [serviceId] }));
    return api.request<Task[]>("GET", `/tasks?filters=${filters}`);
}

// ---------------------------------------------------------------------------------------------
// Read-back: the state as the provider flattens the service (the parts a plan compares).

/** The service's state after a create or update: the inputs as the provider reads them back. */
export function serviceReadBack(inputs: Props): Props {
    const task = asRecord(inputs.taskSpec);
    const c = asRecord(task.containerSpec);
    const readTask: Props = { ...task };
    if (c.healthcheck !== undefined) {
        const h = asRecord(c.healthcheck);
        // flattenServiceHealthcheck (structures.go:289-305): every duration and the retries, always.
        readTask.containerSpec = {
            ...c,
            healthcheck: {
                ...h,
                interval: shortDur(parseGoDuration(h.interval)),
                timeout: shortDur(parseGoDuration(h.timeout)),
                startPeriod: shortDur(parseGoDuration(h.startPeriod)),
                retries: Number(h.retries ?? 0),
            },
        };
    }
    if (task.restartPolicy !== undefined) {
        const r = asRecord(task.restartPolicy);
        // flattenTaskRestartPolicy (structures.go:456-477): delay and window come back, 0 as "0s".
        readTask.restartPolicy = { ...r, delay: shortDur(parseGoDuration(r.delay)), window: shortDur(parseGoDuration(r.window)), maxAttempts: Number(r.maxAttempts ?? 0) };
    }
    if (task.networksAdvanceds !== undefined) {
        // flattenTaskNetworksAdvanced (structures.go:526-541): the target as `id`, no `name`.
        readTask.networksAdvanceds = asList(task.networksAdvanceds).map((raw) => {
            const n = asRecord(raw);
            return { id: n.id ?? n.name, aliases: n.aliases };
        });
    }
    const state: Props = { ...inputs, taskSpec: readTask };
    for (const key of ["updateConfig", "rollbackConfig"]) {
        if (inputs[key] === undefined) continue;
        const c2 = asRecord(inputs[key]);
        // flattenServiceUpdateOrRollbackConfig (structures.go:78-93).
        state[key] = {
            parallelism: Number(c2.parallelism ?? 1),
            delay: shortDur(parseGoDuration(c2.delay)),
            failureAction: String(c2.failureAction ?? "pause"),
            monitor: shortDur(parseGoDuration(c2.monitor ?? "5s")),
            maxFailureRatio: Number(c2.maxFailureRatio ?? "0").toFixed(1),
            order: String(c2.order ?? "stop-first"),
        };
    }
    return state;
}

/** What a change to each top-level Service input does (resource_docker_service.go). */
export const SERVICE_CHANGES: Readonly<Record<string, { kind: ChangeKind; source: string }>> = {
    name: { kind: "replace", source: "tf-docker resource_docker_service.go:54-59 (ForceNew)" },
    labels: { kind: "update", source: "tf-docker resource_docker_service.go:60-66 (not ForceNew: ServiceUpdate, funcs.go:192)" },
    taskSpec: { kind: "update", source: "tf-docker resource_docker_service.go:67-761 (not ForceNew but sysctl :502-507 and networks: ServiceUpdate, funcs.go:192)" },
    "taskSpec.networksAdvanceds": { kind: "replace", source: "tf-docker resource_docker_service.go:707-732 (name, id, aliases ForceNew)" },
    mode: { kind: "replace", source: "tf-docker resource_docker_service.go:762-768 (ForceNew)" },
    updateConfig: { kind: "update", source: "tf-docker resource_docker_service.go:800-851" },
    rollbackConfig: { kind: "update", source: "tf-docker resource_docker_service.go:853-904" },
    endpointSpec: { kind: "update", source: "tf-docker resource_docker_service.go:906-961" },
    convergeConfig: { kind: "state", source: "tf-docker resource_docker_service.go:963-990 (used only while waiting)" },
};

/** Key order does not matter to the provider's diff (objects are schema maps); nor does the order of a set's items. */
function canonical(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(canonical);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Props)[k])]));
    return v;
}
const same = (a: unknown, b: unknown): boolean => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
/** networks_advanced is a set of {id, aliases (a set), driver_opts (a set, empty when unset)} (service.go:701-738). */
const networkSet = (v: unknown): string[] =>
    asList(v)
        .map((raw) => {
            const n = asRecord(raw);
            return JSON.stringify([n.id ?? null, n.name ?? null, [...asList(n.aliases)].map(String).sort(), [...asList(n.driverOpts)].map(String).sort()]);
        })
        .sort();

/** The changes of a service: its read-back state against the new inputs, as the provider's diff sees them. */
export function serviceChanges(state: Props, inputs: Props): InputChange[] {
    const changes: InputChange[] = [];
    const wanted = serviceReadBack(inputs);
    for (const key of [...new Set([...Object.keys(state), ...Object.keys(inputs)])].sort()) {
        if (key === "taskSpec") {
            const had = asRecord(state.taskSpec);
            const given = asRecord(inputs.taskSpec);
            // The networks as given against the networks as read back: a `name` never matches the read `id`.
            if (!same(networkSet(had.networksAdvanceds), networkSet(given.networksAdvanceds))) {
                const row = SERVICE_CHANGES["taskSpec.networksAdvanceds"];
                changes.push({ key: "taskSpec.networksAdvanceds", kind: row.kind, source: row.source });
            }
            const rest = (t: Props): Props => ({ ...t, networksAdvanceds: undefined });
            if (!same(rest(had), rest(asRecord(wanted.taskSpec)))) changes.push({ key, ...SERVICE_CHANGES.taskSpec });
            continue;
        }
        if (same(state[key], wanted[key])) continue;
        const row = SERVICE_CHANGES[key];
        if (!row) throw new Error(`Service: input ${key} changed and engine/apply has no row saying what the provider does about it`);
        changes.push({ key, kind: row.kind, source: row.source });
    }
    return changes;
}

// ---------------------------------------------------------------------------------------------
// Drivers

export class ServiceDidNotConverge extends Error {}

async function createService(ctx: DriverContext, name: string, inputs: Props): Promise<Outputs> {
    const spec = serviceSpec(name, inputs);
    const created = await ctx.api.request<{ ID: string }>("POST", "/services/create", spec);
    const converge = inputs.convergeConfig === undefined ? undefined : asRecord(inputs.convergeConfig);
    const startedAt = Date.now();
    let healthyAt: number | undefined;
    if (converge) {
        // Defaults 7s and 3m (resource_docker_service.go:971-984).
        const delay = parseGoDuration(converge.delay ?? "7s") / 1e6;
        const timeout = parseGoDuration(converge.timeout ?? "3m") / 1e6;
        const ok = await pollAsProvider(delay, timeout, async () => {
            const r = await runningReplicas(ctx.api, created.ID);
            return r.running === r.replicas ? true : undefined;
        });
        if (!ok) {
            const tasks = await allTasksEver(ctx.api, created.ID);
            // What a user would look at before it is gone (not part of the provider's message).
            const logs = await runProcess("docker", ["service", "logs", "--raw", "--tail", "15", created.ID], { env: { ...process.env, DOCKER_HOST: ctx.dockerHost } });
            // funcs.go:64-75: the service is deleted, the create fails, no id is set.
            await removeService(ctx, created.ID, inputs);
            throw new ServiceDidNotConverge(
                `Service with ID (${created.ID}) did not converge after ${shortDur(timeout * 1e6)} (tasks: ${taskErrors(tasks)}); the provider deleted it` +
                    `\n--- its tasks' log (last lines) ---\n${(logs.stdout + logs.stderr).trim().slice(-2000)}`,
            );
        }
        healthyAt = Date.now();
    }
    return { id: created.ID, state: serviceReadBack(inputs), report: { startedAt, healthyAt } };
}

async function removeService(ctx: DriverContext, id: string, inputs: Props): Promise<void> {
    const grace = parseGoDuration(asRecord(asRecord(inputs.taskSpec).containerSpec).stopGracePeriod);
    const containers: string[] = [];
    if (grace > 0) {
        for (const t of await allTasksEver(ctx.api, id).catch(() => [] as Task[])) {
            const cid = t.Status.ContainerStatus?.ContainerID;
            if (cid && t.Status.State !== "shutdown") containers.push(cid);
        }
    }
    try {
        await ctx.api.request("DELETE", `/services/${id}`);
    } catch (err) {
        if (!(err instanceof DockerApiError && err.status === 404)) throw err;
    }
    // funcs.go:292-333: each container is awaited on the provider's engine (a task on another node is "No such container": ignored).
    const deadline = Date.now() + grace / 1e6;
    for (const cid of containers) {
        while (Date.now() < deadline) {
            try {
                await ctx.api.request("GET", `/containers/${cid}/json`);
            } catch (err) {
                if (err instanceof DockerApiError && err.status === 404) break;
                throw err;
            }
            await sleep(250);
        }
    }
}

async function updateService(ctx: DriverContext, name: string, inputs: Props, old: { id: string; state: Props }): Promise<Outputs> {
    // The engine's empty update of a service with init errors and no diff: the bridge answers with the
    // old state and never calls the provider (pulumi-terraform-bridge pkg/tfbridge/provider.go:1725-1731).
    if (serviceChanges(old.state, inputs).length === 0) return { id: old.id, state: old.state };
    const current = await ctx.api.request<ServiceInspect>("GET", `/services/${old.id}`);
    const spec = serviceSpec(name, inputs);
    await ctx.api.request("POST", `/services/${old.id}/update?version=${current.Version.Index}`, spec);
    const converge = inputs.convergeConfig === undefined ? undefined : asRecord(inputs.convergeConfig);
    if (converge) {
        const timeout = parseGoDuration(converge.timeout ?? "3m") / 1e6;
        // funcs.go:204-211: a fixed 7 s delay (not converge_config.delay), then the same backoff; each poll
        // as resourceDockerServiceUpdateRefreshFunc (:405-477): the update status first, then the tasks.
        const outcome = await pollAsProvider<{ error?: string }>(7000, timeout, async () => {
            const s = await ctx.api.request<ServiceInspect>("GET", `/services/${old.id}`);
            const st = s.UpdateStatus?.State;
            const message = s.UpdateStatus?.Message ?? "";
            if (st === "completed") return {};
            if (st === "rollback_completed") return { error: `service rollback completed: ${message}` };
            if (st === "paused") return { error: `service update paused: ${message}` };
            if (st === "rollback_paused") return { error: `service rollback paused: ${message}` };
            const r = await runningReplicas(ctx.api, old.id);
            if (r.running !== r.replicas) return undefined;
            return st === "rollback_started" ? { error: `service rollback completed: ${message}` } : {};
        });
        // funcs.go:214-221: the step fails; the state gets the new values as outputs with init errors, beside
        // the old inputs (PartialUpdateError): the next up with the same program has no diff and changes nothing.
        if (outcome === undefined) throw new PartialUpdateError(`Service with ID (${old.id}) did not converge after ${shortDur(timeout * 1e6)}`, old.id, serviceReadBack(inputs));
        if (outcome.error !== undefined) throw new PartialUpdateError(outcome.error, old.id, serviceReadBack(inputs));
    }
    return { id: old.id, state: serviceReadBack(inputs) };
}

export const serviceDriver: ResourceDriver = {
    inputs: [...SERVICE_INPUTS],
    changes: SERVICE_CHANGES,
    create: createService,
    update: updateService,
    stateOnly: (old, inputs) => ({ ...old.state, convergeConfig: inputs.convergeConfig }),
    async delete(ctx, _name, old) {
        await removeService(ctx, old.id, old.state);
        return undefined;
    },
};

/** docker.Secret: data is base64 (resource_docker_secret.go:30-37, decoded at :96); every input forces a new secret (:23-45 ForceNew). */
export const secretDriver: ResourceDriver = {
    inputs: ["name", "data", "labels"],
    changes: {
        name: { kind: "replace", source: "tf-docker resource_docker_secret.go:23-28 (ForceNew)" },
        data: { kind: "replace", source: "tf-docker resource_docker_secret.go:30-37 (ForceNew)" },
        labels: { kind: "replace", source: "tf-docker resource_docker_secret.go:39-45 (ForceNew)" },
    },
    async create(ctx, name, inputs) {
        refuse(`Secret ${name}`, inputs, this.inputs);
        const data = String(inputs.data ?? "");
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw new Error(`Secret ${name}: data must be base64 encoded (validateStringIsBase64Encoded)`);
        const created = await ctx.api.request<{ ID: string }>("POST", "/secrets/create", { Name: inputs.name, Data: data, Labels: labelsMap(inputs.labels) });
        return { id: created.ID, state: { ...inputs } };
    },
    async delete(ctx, _name, old) {
        // retainOnDelete: the Pulumi engine drops it from the state without calling the provider.
        if (old.retainOnDelete) return { message: `secret ${old.id} retained (retainOnDelete)` };
        try {
            await ctx.api.request("DELETE", `/secrets/${old.id}`);
        } catch (err) {
            if (!(err instanceof DockerApiError && err.status === 404)) throw err;
        }
        return undefined;
    },
};
