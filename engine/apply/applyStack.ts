/**
 * Applies a stack of the program to the real Docker engine on this machine, as `pulumi up` with
 * @pulumi/docker, @pulumi/command and @pulumi/random would: the program runs under Pulumi's mock
 * runtime (no CLI can be had here), and each registration is carried out by the driver of its type
 * (liveResources.ts) before the registration returns. The SDK registers a resource only once
 * everything it depends on has been registered, so the engine sees the synthesized dependency
 * order, and `wait: true` blocks dependents until the container is healthy, as with the CLI.
 *
 * A second apply with the previous state is an update, planned as the providers plan it (plan.ts):
 * each resource's step (same / update / state-only / replace) comes from its state as the provider
 * read it back and the table of what each input's change does (containerInputs.ts for containers,
 * each driver's `changes` for the rest), honouring `replaceOnChanges` and `deleteBeforeReplace`.
 * What the engine also does is modelled: a container whose health wait timed out stays in state
 * with init errors and gets an empty update next time; after the first failure no new step starts
 * and resources not reached keep their old state; a delete-before-replace first deletes the
 * dependents that its replacement replaces; an Image's inputs carry the digest of its build context;
 * a Command whose environment holds a secret must keep its stdout/stderr secret. Resources no
 * longer registered are deleted afterwards in reverse order. `destroyStack` deletes everything in
 * reverse order, keeping `retainOnDelete` volumes, as `pulumi destroy` does.
 */
import * as path from "path";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime/mocks";
import type { RecordedRegistration } from "../../synth/recordingMonitor";
import { synthesize, type SynthResult } from "../../synth/synthesize";
import { contextDigest } from "./contextDigest";
import { dockerApi } from "./dockerApi";
import { DRIVERS, PartialCreateError, type DriverContext, type Outputs, type Props, type ResourceDriver, type StepReport } from "./liveResources";
import { PartialUpdateError } from "./partialUpdateError";
import { serviceChanges } from "./swarmResources";
import { containerChanges, inputChanges, planStep, type InputChange, type PlannedStep, type StepOp } from "./plan";

export type { StepOp } from "./plan";

export interface AppliedResource {
    readonly key: string;
    readonly type: string;
    readonly name: string;
    readonly id: string;
    readonly inputs: Props;
    readonly state: Props;
    readonly retainOnDelete: boolean;
    readonly dependencies: readonly string[];
    readonly replaceOnChanges: readonly string[];
    readonly deleteBeforeReplace: boolean;
    /** Outputs stored as secrets (`additionalSecretOutputs`). */
    readonly secretOutputs: readonly string[];
    /** Set when the create failed after the resource existed (a partially created resource). */
    readonly initErrors?: readonly string[];
    /** The docker provider (its resource name) the resource was created with; the first one when unset. */
    readonly provider?: string;
}

/** What the "state file" holds between applies: resources in the order they were created. */
export interface ApplyState {
    readonly stack: string;
    readonly resources: AppliedResource[];
}

export interface StepEvent {
    readonly key: string;
    readonly type: string;
    readonly name: string;
    readonly op: StepOp;
    /** What changed, and what each change does (update, state-only and replace steps). */
    readonly changes?: readonly InputChange[];
    /** Set when the step failed: its error. */
    readonly failed?: string;
    /** ms since the epoch */
    readonly start: number;
    readonly end: number;
    readonly report?: StepReport;
}

export interface ApplyOptions {
    /** Folder holding Pulumi.yaml and Pulumi.<stack>.yaml (the repository by default). */
    readonly projectDir?: string;
    readonly configOverrides?: Readonly<Record<string, string | undefined>>;
    readonly secretOverrides?: readonly string[];
    /** The state of the previous apply: this apply is then an update. */
    readonly previous?: ApplyState;
    /** Where Commands run; the project directory by default (the Pulumi CLI runs providers there). */
    readonly cwd?: string;
    /** Changes a resource's inputs before it is applied (the cold-start benchmark swaps health settings). */
    readonly transformInputs?: (type: string, name: string, inputs: Props) => Props;
    readonly log?: (line: string) => void;
}

/** A failed apply: what was created before the failure is in `state`, so it can be destroyed. */
export class ApplyError extends Error {
    constructor(
        message: string,
        readonly state: ApplyState,
        readonly events: StepEvent[],
    ) {
        super(message);
    }
}

export interface ApplyResult {
    readonly state: ApplyState;
    readonly events: StepEvent[];
    readonly synth: SynthResult;
    /** The stack's secrets: the secret config values and every generated password (for tests that look for leaks). */
    readonly secretValues: readonly string[];
}

const PROJECT_DIR = path.resolve(__dirname, "..", "..");
const keyOf = (type: string, name: string): string => `${type}::${name}`;

// Pulumi's wire sentinel of a secret (sdk/nodejs/runtime/rpc.ts): the mock runtime hands inputs over
// with secret maps still wrapped. The engine gets the plain values, as a provider does.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270";
const UNKNOWN_KEY = "__pulumiUnknown";

function plainInputs(value: unknown, path = ""): unknown {
    if (Array.isArray(value)) return value.map((v, i) => plainInputs(v, `${path}[${i}]`));
    if (value !== null && typeof value === "object") {
        const obj = value as Props;
        if (obj[SIG_KEY] === SIG_SECRET) return plainInputs(obj.value, path);
        if (obj[UNKNOWN_KEY] === true) throw new Error(`input ${path} is unknown when the resource is created`);
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, plainInputs(v, path ? `${path}.${k}` : k)]));
    }
    return value;
}

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
const IMAGE = "docker:index/image:Image";
const SERVICE = "docker:index/service:Service";

/** The step a `pulumi up` takes for a resource that exists, from its state and its new inputs. */
export function planResource(type: string, driver: ResourceDriver, old: AppliedResource, inputs: Props, replaceOnChanges: readonly string[]): PlannedStep {
    const changes =
        type === CONTAINER
            ? containerChanges(old.state, inputs)
            : type === SERVICE
              ? serviceChanges(old.state, inputs)
              : inputChanges(type, old.inputs, inputs, driver.changes ?? {});
    return planStep(changes, replaceOnChanges, (old.initErrors ?? []).length > 0);
}

/** Whether a secret reached the inputs: the wire form keeps the sentinel (environment values, envs). */
function holdsSecret(value: unknown): boolean {
    if (Array.isArray(value)) return value.some(holdsSecret);
    if (value !== null && typeof value === "object") {
        const obj = value as Props;
        return obj[SIG_KEY] === SIG_SECRET || Object.values(obj).some(holdsSecret);
    }
    return false;
}

// A failed step never settles its registration (nor any later one): in the CLI the engine stops
// and the program's remaining promises are abandoned. Rejecting instead would leave rejected
// promises that the program never handles (each dependent's input serialization), which end the
// process or fail the test that runs the apply. applyStack returns as soon as the steps that were
// running have finished. A rejection the program itself leaves unhandled is recorded as a failure.
let activeFailures: Error[] = [];
let listening = false;
function listenForUnhandledRejections(): void {
    if (listening) return;
    listening = true;
    process.on("unhandledRejection", (reason: unknown) => {
        if (activeFailures.length === 0) activeFailures.push(reason instanceof Error ? reason : new Error(String(reason)));
    });
}

export async function applyStack(stack: string, options: ApplyOptions = {}): Promise<ApplyResult> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const ctx: DriverContext = { api: dockerApi(undefined), dockerHost: "unix:///var/run/docker.sock", cwd: options.cwd ?? PROJECT_DIR, log };
    // Each docker provider's engine (the swarm target has one per node): a resource is carried out on its provider's.
    const providerContexts = new Map<string, DriverContext>();
    const ctxOf = (provider: string | undefined): DriverContext => (provider && providerContexts.get(provider)) || ctx;
    // The state as the engine keeps it: every resource of the previous apply, replaced as steps complete.
    const previousList = options.previous?.resources ?? [];
    const previous = new Map(previousList.map((r) => [r.key, r]));
    const current = new Map(previousList.map((r) => [r.key, r]));
    const registered: string[] = [];
    const events: StepEvent[] = [];
    const failures: Error[] = [];
    const replacedLater: AppliedResource[] = [];
    const deletedEarly = new Set<string>();
    const secretValues: string[] = (options.secretOverrides ?? []).map((k) => options.configOverrides?.[k] ?? "").filter((v) => v.length > 0);

    const step = async <T>(r: { key: string; type: string; name: string }, op: StepOp, run: () => Promise<T>, report?: (t: T) => StepReport | undefined, changes?: readonly InputChange[]): Promise<T> => {
        const start = Date.now();
        log(`${op.padEnd(10)} ${r.type} ${r.name}${changes && changes.length > 0 ? ` (${changes.map((c) => `${c.key}: ${c.kind}`).join(", ")})` : ""}`);
        let result: T;
        try {
            result = await run();
        } catch (err) {
            events.push({ key: r.key, type: r.type, name: r.name, op, changes, start, end: Date.now(), failed: err instanceof Error ? err.message : String(err) });
            throw err;
        }
        events.push({ key: r.key, type: r.type, name: r.name, op, changes, start, end: Date.now(), report: report?.(result) });
        return result;
    };

    /**
     * Before a delete-before-replace, the engine deletes the dependents that the replacement replaces
     * (pulumi step_generator.go:2041-2070, calculateDependentReplacements :3268): here, the resources
     * not yet reached whose inputs hold the old id in an input whose change replaces them. Newest first.
     */
    const deleteDependentsOf = async (root: AppliedResource): Promise<void> => {
        const doomed: AppliedResource[] = [];
        const ids = [root.id];
        for (let i = 0; i < ids.length; i++) {
            for (const r of current.values()) {
                if (r.key === root.key || doomed.includes(r) || registered.includes(r.key)) continue;
                const keys = Object.keys(r.inputs).filter((k) => ids[i].length >= 12 && JSON.stringify(r.inputs[k]).includes(ids[i]));
                if (keys.length === 0) continue;
                const driver = DRIVERS[r.type];
                const replaces = keys.some((k) =>
                    r.type === CONTAINER
                        ? containerChanges({ [k]: r.inputs[k] }, { [k]: "<replaced>" }).some((c) => c.kind === "replace") || r.replaceOnChanges.some((e) => e === "*" || e.startsWith(k))
                        : driver.changes?.[k]?.kind === "replace" || r.replaceOnChanges.some((e) => e === "*" || e.startsWith(k)),
                );
                if (replaces) {
                    doomed.push(r);
                    ids.push(r.id);
                }
            }
        }
        const order = [...current.keys()];
        // All marked before any delete runs: another replacement looking for its dependents meanwhile no
        // longer sees them, and their own registrations wait for their delete, then create.
        let chain: Promise<void> = Promise.resolve();
        for (const r of doomed.sort((a, b) => order.indexOf(b.key) - order.indexOf(a.key))) {
            current.delete(r.key);
            deletedEarly.add(r.key);
            chain = chain.then(async () => {
                await step(r, "delete", () => DRIVERS[r.type].delete(ctxOf(r.provider), r.name, r), (x) => x ?? undefined);
            });
            pendingDeletes.set(r.key, chain.catch(() => undefined));
        }
        await chain;
    };
    const pendingDeletes = new Map<string, Promise<void>>();

    const inflight = new Set<Promise<unknown>>();
    let signalFailure = (): void => undefined;
    const failed = new Promise<void>((resolve) => (signalFailure = resolve));
    const newResource = (args: MockResourceArgs, registration: RecordedRegistration): Promise<MockResourceResult> => {
        const work = carryOut(args, registration).then(
            (result) => ({ result }),
            () => {
                signalFailure();
                return undefined;
            },
        );
        inflight.add(work);
        void work.then(() => inflight.delete(work));
        return work.then((done) => done?.result ?? new Promise<MockResourceResult>(() => undefined));
    };
    const carryOut = async (args: MockResourceArgs, registration: RecordedRegistration): Promise<MockResourceResult> => {
        const type = args.type;
        // Component resources are the program's own grouping: nothing to do on the engine.
        if (args.custom === false) return { id: undefined, state: args.inputs };
        const key = keyOf(type, args.name);
        const driver = DRIVERS[type];
        const ref = { key, type, name: args.name };
        // After the first failure the engine starts no new step (pulumi step_executor.go:435-460).
        if (failures.length > 0) throw new Error(`${type} ${args.name}: not started, an earlier step failed`);
        const opts = registration.options;
        const providerName = providerNameOf(args.provider);
        const isProvider = type === "pulumi:providers:docker";
        const rctx: DriverContext = isProvider ? { ...ctx } : ctxOf(providerName);
        const record = (id: string, inputs: Props, state: Props, initErrors?: string[]): AppliedResource => ({
            key,
            type,
            name: args.name,
            id,
            inputs,
            state,
            retainOnDelete: opts.retainOnDelete,
            dependencies: registration.dependencies,
            replaceOnChanges: opts.replaceOnChanges,
            deleteBeforeReplace: opts.deleteBeforeReplace,
            secretOutputs: opts.additionalSecretOutputs,
            ...(initErrors ? { initErrors } : {}),
            ...(providerName ? { provider: providerName } : {}),
        });
        let inputs: Props = {};
        try {
            if (!driver) throw new Error(`no driver for resource type ${type} (engine/apply/liveResources.ts)`);
            const given = plainInputs(args.inputs) as Props;
            inputs = options.transformInputs ? options.transformInputs(type, args.name, given) : given;
            if (type === IMAGE) {
                // The provider's Check adds the build context's digest to the inputs (provider.go:202-207).
                const build = (inputs.build ?? {}) as Props;
                const digest = contextDigest(rctx.cwd, String(build.context ?? "."), build.dockerfile === undefined ? undefined : String(build.dockerfile));
                inputs = { ...inputs, build: { ...build, contextDigest: digest } };
            }
            if (type === COMMAND && holdsSecret(args.inputs.environment)) {
                const plain = ["stdout", "stderr"].filter((o) => !opts.additionalSecretOutputs.includes(o));
                if (plain.length > 0) {
                    throw new Error(
                        `its environment holds a secret, but ${plain.join(" and ")} would be stored in state in plain text ` +
                            "(@pulumi/command marks them secret only through additionalSecretOutputs: components/scriptCommand.ts SECRET_COMMAND_OUTPUTS)",
                    );
                }
            }
            const old = previous.get(key);
            registered.push(key);
            await pendingDeletes.get(key);
            let outputs: Outputs;
            if (!old || deletedEarly.has(key)) {
                outputs = await step(ref, old ? "replace" : "create", () => driver.create(rctx, args.name, inputs), (o) => o.report);
            } else {
                const planned = planResource(type, driver, old, inputs, opts.replaceOnChanges);
                if (planned.op === "same") {
                    outputs = await step(ref, "same", async () => ({ id: old.id, state: old.state }));
                    if (type === "pulumi:providers:docker") await driver.create(rctx, args.name, inputs);
                } else if (planned.op === "state-only") {
                    const state = (driver.stateOnly ?? ((o: { state: Props }, i: Props) => ({ ...o.state, ...i })))(old, inputs);
                    outputs = await step(ref, "state-only", async () => ({ id: old.id, state }), undefined, planned.changes);
                } else if (planned.op === "update") {
                    if (!driver.update) throw new Error(`${type} has no in-place update, but ${planned.changes.map((c) => c.key).join(", ")} planned one`);
                    outputs = await step(ref, "update", () => driver.update!(rctx, args.name, inputs, old), (o) => o.report, planned.changes);
                } else if (opts.deleteBeforeReplace) {
                    outputs = await step(
                        ref,
                        "replace",
                        async () => {
                            await deleteDependentsOf(old);
                            await driver.delete(rctx, args.name, old);
                            current.delete(key);
                            return driver.create(rctx, args.name, inputs);
                        },
                        (o) => o.report,
                        planned.changes,
                    );
                } else {
                    outputs = await step(ref, "replace", () => driver.create(rctx, args.name, inputs), (o) => o.report, planned.changes);
                    replacedLater.push(old);
                }
            }
            current.delete(key);
            current.set(key, record(outputs.id, inputs, outputs.state));
            if (isProvider) {
                // The first provider is also the default (resources registered without one).
                if (providerContexts.size === 0) Object.assign(ctx, rctx);
                providerContexts.set(args.name, rctx);
            }
            if (type === "random:index/randomPassword:RandomPassword") secretValues.push(String(outputs.state.result));
            return { id: outputs.id, state: outputs.state };
        } catch (err) {
            const error = err instanceof Error ? err : new Error(String(err));
            if (err instanceof PartialCreateError || err instanceof PartialUpdateError) {
                // Kept in state with init errors: the next update gives it an empty update step (plan.ts). A partially
                // failed update keeps the old inputs with the new outputs (pulumi pkg/engine/update.go:1398-1414).
                const kept = err instanceof PartialUpdateError ? (current.get(key)?.inputs ?? inputs) : inputs;
                current.delete(key);
                current.set(key, record(err.id, kept, err.state as Props, [err.message]));
            }
            failures.push(new Error(`${type} ${args.name}: ${error.message}`));
            throw error;
        }
    };

    // The state after this apply: what was reached, in the order reached, then what was not (kept as it was).
    const stateNow = (): ApplyState => {
        const reached = registered.filter((k) => current.has(k)).map((k) => current.get(k)!);
        const rest = [...current.values()].filter((r) => !registered.includes(r.key));
        return { stack, resources: [...reached, ...rest] };
    };

    activeFailures = failures;
    listenForUnhandledRejections();
    let synth: SynthResult | undefined;
    try {
        const program = synthesize(stack, {
            projectDir: options.projectDir,
            configOverrides: options.configOverrides,
            secretOverrides: options.secretOverrides,
            newResource,
        });
        synth = await Promise.race([program, failed.then(() => undefined)]);
        // Like the CLI after a failed step: let the operations already running finish.
        while (inflight.size > 0) await Promise.allSettled([...inflight]);
    } catch (err) {
        while (inflight.size > 0) await Promise.allSettled([...inflight]);
        const why = failures.length > 0 ? failures.map((f) => f.message).join("\n") : err instanceof Error ? err.message : String(err);
        throw new ApplyError(`apply of ${stack} failed:\n${why}`, stateNow(), events);
    }
    if (failures.length > 0 || synth === undefined) {
        throw new ApplyError(`apply of ${stack} failed:\n${failures.map((f) => f.message).join("\n")}`, stateNow(), events);
    }

    // Replaced (create-before-delete) and no-longer-registered resources go last, newest first.
    const gone = [...replacedLater, ...[...current.values()].filter((r) => !registered.includes(r.key)).reverse()];
    for (const old of gone) {
        await step(old, "delete", () => DRIVERS[old.type].delete(ctxOf(old.provider), old.name, old), (r) => r ?? undefined);
        if (!registered.includes(old.key)) current.delete(old.key);
    }
    return { state: stateNow(), events, synth, secretValues: [...new Set(secretValues)] };
}

/** The name of the provider resource a provider reference (`<urn>::<id>`) points at. */
function providerNameOf(reference: string | undefined): string | undefined {
    if (!reference) return undefined;
    const parts = reference.split("::");
    return parts.length >= 2 ? parts[parts.length - 2] : undefined;
}

/** `pulumi destroy`: every resource deleted, newest first; `retainOnDelete` volumes are kept. */
export async function destroyStack(state: ApplyState, options: Pick<ApplyOptions, "cwd" | "log"> = {}): Promise<StepEvent[]> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const contextOf = (host: unknown): DriverContext => {
        const dockerHost = String(host ?? "unix:///var/run/docker.sock");
        return { api: dockerApi(dockerHost), dockerHost, cwd: options.cwd ?? PROJECT_DIR, log };
    };
    const providers = state.resources.filter((r) => r.type === "pulumi:providers:docker");
    const byProvider = new Map(providers.map((p) => [p.name, contextOf(p.inputs.host)]));
    const first = contextOf(providers[0]?.inputs.host);
    const events: StepEvent[] = [];
    for (const r of [...state.resources].reverse()) {
        const start = Date.now();
        log(`delete  ${r.type} ${r.name}`);
        const report = await DRIVERS[r.type].delete((r.provider && byProvider.get(r.provider)) || first, r.name, r);
        events.push({ key: r.key, type: r.type, name: r.name, op: "delete", start, end: Date.now(), report: report ?? undefined });
    }
    return events;
}
