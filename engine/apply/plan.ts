/**
 * How a `pulumi up` decides each resource's step, as the providers and the engine do, from the
 * state the provider read back (not from the program's previous inputs):
 * - a container's state is what resourceDockerContainerRead made of the running container
 *   (containerInputs.ts, the `readBack` of each row); its diff against the new inputs follows the
 *   SDKv2 schema (computed fields, sets, the `user` suppression) and each changed input's `change`;
 * - `replaceOnChanges` turns a change on those paths into a replacement, and `*` also replaces a
 *   resource left with init errors (pulumi pkg/resource/deploy/step_generator.go:3169-3258);
 * - a resource with init errors (a create that failed after the provider had an id, e.g. a health
 *   wait that timed out) and no change gets an empty update step (step_generator.go:2180-2194).
 * Steps: create, same, update (the provider changes the resource in place), state-only (the
 * provider's update leaves the resource as it is and only the state changes), replace, delete.
 */
import { isDeepStrictEqual } from "util";
import { CONTAINER_INPUTS, type ChangeKind, type ContainerInspect, type ContainerPlan, type InputMapping } from "./containerInputs";

export type Props = Record<string, unknown>;
export type StepOp = "create" | "same" | "update" | "state-only" | "replace" | "delete";

export interface InputChange {
    readonly key: string;
    readonly kind: ChangeKind;
    readonly source: string;
}

export interface PlannedStep {
    readonly op: Exclude<StepOp, "create" | "delete">;
    readonly changes: readonly InputChange[];
    /** Why a replacement: the inputs (or `#initerror`) that force it. */
    readonly replaceKeys: readonly string[];
}

/** The top-level rows of the container table, by input key (`envs`, `tmpfs`, `healthcheck`, ...). */
export const CONTAINER_ROWS: ReadonlyMap<string, InputMapping> = new Map(
    CONTAINER_INPUTS.filter((r) => r.apply !== undefined).map((r) => {
        // A row that sends an input must also say how it reads back and what a change does, with a source.
        if (!r.readBack?.source || !r.change?.source) {
            throw new Error(`engine/apply/containerInputs.ts: row ${r.input} has no readBack or change (each with its provider source line)`);
        }
        return [r.input.replace(/(\[\]|\.\*)$/, ""), r];
    }),
);

/**
 * The state the provider records after creating a container: every read row from the container
 * (whether the program set it or not), every kept row as given. A read that finds nothing keeps
 * the given value (the provider then leaves the planned value in state).
 */
export function containerReadBack(inputs: Props, inspect: ContainerInspect): Props {
    const state: Props = {};
    for (const [key, row] of CONTAINER_ROWS) {
        const rb = row.readBack!;
        const value = rb.kind === "read" ? (rb.read(inspect, inputs[key]) ?? inputs[key]) : inputs[key];
        if (value !== undefined) state[key] = value;
    }
    return state;
}

/**
 * What the engine stores for a create request, for planning without an engine (unit tests). Only
 * what differs from the request is modelled: MemorySwap defaults to twice the memory (moby v26.1.5
 * daemon/daemon_unix.go:319); everything else the program sends reads back as sent (measured on
 * Engine 26.1, docs/provider-behaviour.md). Capabilities arrive already normalised by the client.
 */
export function engineModel(plan: ContainerPlan): ContainerInspect {
    const host: Props = { ...plan.hostConfig };
    if (Number(host.Memory ?? 0) > 0 && !host.MemorySwap) host.MemorySwap = 2 * Number(host.Memory);
    return {
        Name: `/${plan.name}`,
        Image: String(plan.config.Image),
        Config: { ...plan.config, User: plan.config.User ?? "" },
        HostConfig: host,
        NetworkSettings: { Ports: (plan.hostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }>> },
    };
}

const isZero = (v: unknown): boolean =>
    v === undefined || v === null || v === 0 || v === "" || v === false || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && Object.keys(v).length === 0);

const sorted = (v: unknown): unknown[] => (Array.isArray(v) ? [...v].map(String).sort() : []);

/** A value in the shape the provider's state holds it, so equal meanings compare equal. */
function normalised(key: string, row: InputMapping, value: unknown): unknown {
    if (value === undefined || value === null) return value;
    const rb = row.readBack!;
    if (key === "capabilities") {
        const c = value as Props;
        return { adds: sorted(c.adds), drops: sorted(c.drops) };
    }
    if (key === "healthcheck") {
        // Schema defaults (container.go:1052-1104): durations "0s", retries 0.
        const h = value as Props;
        return { tests: (h.tests as unknown[] | undefined) ?? [], interval: h.interval ?? "0s", timeout: h.timeout ?? "0s", startPeriod: h.startPeriod ?? "0s", startInterval: h.startInterval ?? "0s", retries: Number(h.retries ?? 0) };
    }
    if (key === "ports") {
        // Defaults ip 0.0.0.0 and protocol tcp (container.go:505-528); order does not count.
        const ports = (value as Props[]).map((p) => ({ internal: Number(p.internal), external: Number(p.external ?? 0), ip: String(p.ip ?? "0.0.0.0"), protocol: String(p.protocol ?? "tcp") }));
        return ports.sort((a, b) => a.internal - b.internal || a.protocol.localeCompare(b.protocol) || a.ip.localeCompare(b.ip));
    }
    if (rb.kind === "read" && rb.set) return sorted(value);
    return value;
}

/** The inputs whose new value differs from the state, each with what its change does. */
export function containerChanges(state: Props, inputs: Props): InputChange[] {
    const changes: InputChange[] = [];
    const keys = new Set([...Object.keys(state), ...Object.keys(inputs)]);
    for (const key of [...keys].sort()) {
        const row = CONTAINER_ROWS.get(key);
        if (!row) throw new Error(`container input ${key} has no row in engine/apply/containerInputs.ts`);
        const rb = row.readBack!;
        const given = inputs[key];
        const had = state[key];
        if (given === undefined) {
            // Unset: a computed field keeps what was read; another field changes only from a non-empty value.
            if ((rb.kind === "read" && rb.computed) || isZero(had)) continue;
        } else if (key === "user" && given === "") {
            continue; // DiffSuppressFunc: "" is Docker's default (container.go:187-193)
        } else if (isDeepStrictEqual(normalised(key, row, given), normalised(key, row, had))) {
            continue;
        }
        changes.push({ key, kind: row.change!.kind, source: row.change!.source });
    }
    return changes;
}

/** Whether a `replaceOnChanges` entry covers a top-level input (`tmpfs`, `healthcheck.tests`, `*`). */
const covers = (entries: readonly string[], key: string): boolean => entries.some((e) => e === "*" || e.replace(/[[.].*$/, "") === key);

/** The engine's step for a resource, from its input changes, `replaceOnChanges` and init errors. */
export function planStep(changes: readonly InputChange[], replaceOnChanges: readonly string[], hasInitErrors: boolean): PlannedStep {
    const replaceKeys = changes.filter((c) => c.kind === "replace" || covers(replaceOnChanges, c.key)).map((c) => c.key);
    // An init error is a replacement only where replaceOnChanges covers "#initerror", i.e. "*" (step_generator.go:3231-3246).
    if (hasInitErrors && replaceOnChanges.includes("*")) replaceKeys.push("#initerror");
    if (replaceKeys.length > 0) return { op: "replace", changes, replaceKeys };
    if (changes.some((c) => c.kind === "update")) return { op: "update", changes, replaceKeys };
    if (changes.length > 0) return { op: "state-only", changes, replaceKeys };
    // No change but init errors: an empty update "to continue awaiting initialization" (step_generator.go:2180-2194).
    return { op: hasInitErrors ? "update" : "same", changes, replaceKeys };
}

/**
 * The state after the provider's update: it does not read back (funcs.go:991-1076 ends without a
 * read), so the state is the planned one: the new inputs, a computed field the program leaves unset
 * keeping what was read, any other unset field cleared.
 */
export function containerStateAfterUpdate(old: Props, inputs: Props): Props {
    const state: Props = {};
    for (const [key, row] of CONTAINER_ROWS) {
        const rb = row.readBack!;
        const value = inputs[key] !== undefined ? inputs[key] : rb.kind === "read" && rb.computed ? old[key] : undefined;
        if (value !== undefined) state[key] = value;
    }
    return state;
}

/**
 * Changes of a resource whose state is its inputs (everything but containers here): each top-level
 * input that differs, with what the type's provider does about it (`kinds`: input -> change).
 */
export function inputChanges(type: string, old: Props, inputs: Props, kinds: Readonly<Record<string, { kind: ChangeKind; source: string }>>): InputChange[] {
    const keys = new Set([...Object.keys(old), ...Object.keys(inputs)]);
    const changes: InputChange[] = [];
    for (const key of [...keys].sort()) {
        if (isDeepStrictEqual(old[key], inputs[key])) continue;
        const k = kinds[key];
        if (!k) throw new Error(`${type}: input ${key} changed and engine/apply has no row saying what its provider does about it`);
        changes.push({ key, kind: k.kind, source: k.source });
    }
    return changes;
}
