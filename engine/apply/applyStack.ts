/**
 * Applies a stack of the program to the real Docker engine on this machine, as `pulumi up` with
 * @pulumi/docker, @pulumi/command and @pulumi/random would: the program runs under Pulumi's mock
 * runtime (no CLI can be had here), and each registration is carried out by the driver of its type
 * (liveResources.ts) before the registration returns. The SDK registers a resource only once
 * everything it depends on has been registered, so the engine sees the synthesized dependency
 * order, and `wait: true` blocks dependents until the container is healthy, as with the CLI.
 *
 * A second apply with the previous state does what an update does: unchanged inputs are left
 * alone; a change updates in place where the provider can, otherwise replaces (honouring
 * `replaceOnChanges` and `deleteBeforeReplace`); resources no longer registered are deleted
 * afterwards in reverse order. `destroyStack` deletes everything in reverse order, keeping
 * `retainOnDelete` volumes, as `pulumi destroy` does.
 */
import * as path from "path";
import { isDeepStrictEqual } from "util";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime/mocks";
import type { RecordedRegistration } from "../../synth/recordingMonitor";
import { synthesize, type SynthResult } from "../../synth/synthesize";
import { dockerApi } from "./dockerApi";
import { DRIVERS, type DriverContext, type Outputs, type Props, type StepReport } from "./liveResources";

export interface AppliedResource {
    readonly key: string;
    readonly type: string;
    readonly name: string;
    readonly id: string;
    readonly inputs: Props;
    readonly state: Props;
    readonly retainOnDelete: boolean;
    readonly dependencies: readonly string[];
}

/** What the "state file" holds between applies: resources in the order they were created. */
export interface ApplyState {
    readonly stack: string;
    readonly resources: AppliedResource[];
}

export type StepOp = "create" | "update" | "replace" | "delete" | "same";

export interface StepEvent {
    readonly key: string;
    readonly type: string;
    readonly name: string;
    readonly op: StepOp;
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

function changedInputs(before: Props, after: Props): string[] {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].filter((k) => !isDeepStrictEqual(before[k], after[k])).sort();
}

/** `replaceOnChanges` entries such as `triggers[*]` name a top-level input. */
const replaceOnChangesKeys = (entries: readonly string[]): string[] => entries.map((e) => e.replace(/[[.].*$/, ""));

// A failed step rejects promises that the program never handles (the CLI reports them as the
// step's error). They are recorded as failures of the running apply instead of ending the process;
// late ones, after an apply has ended, are dropped (that apply has already reported its failure).
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
    const previous = new Map((options.previous?.resources ?? []).map((r) => [r.key, r]));
    const applied: AppliedResource[] = [];
    const events: StepEvent[] = [];
    const failures: Error[] = [];
    const replacedLater: AppliedResource[] = [];

    const step = async <T>(r: { key: string; type: string; name: string }, op: StepOp, run: () => Promise<T>, report?: (t: T) => StepReport | undefined): Promise<T> => {
        const start = Date.now();
        log(`${op.padEnd(7)} ${r.type} ${r.name}`);
        const result = await run();
        events.push({ key: r.key, type: r.type, name: r.name, op, start, end: Date.now(), report: report?.(result) });
        return result;
    };

    const inflight = new Set<Promise<MockResourceResult>>();
    const newResource = (args: MockResourceArgs, registration: RecordedRegistration): Promise<MockResourceResult> => {
        const p = carryOut(args, registration);
        inflight.add(p);
        void p.then(
            () => inflight.delete(p),
            () => inflight.delete(p),
        );
        return p;
    };
    const carryOut = async (args: MockResourceArgs, registration: RecordedRegistration): Promise<MockResourceResult> => {
        const type = args.type;
        // Component resources are the program's own grouping: nothing to do on the engine.
        if (args.custom === false) return { id: undefined, state: args.inputs };
        const key = keyOf(type, args.name);
        const driver = DRIVERS[type];
        const ref = { key, type, name: args.name };
        try {
            if (!driver) throw new Error(`no driver for resource type ${type} (engine/apply/liveResources.ts)`);
            const given = plainInputs(args.inputs) as Props;
            const inputs = options.transformInputs ? options.transformInputs(type, args.name, given) : given;
            const old = previous.get(key);
            previous.delete(key);
            let outputs: Outputs;
            if (old && isDeepStrictEqual(old.inputs, inputs)) {
                outputs = await step(ref, "same", async () => ({ id: old.id, state: old.state }));
                if (type === "pulumi:providers:docker") await driver.create(ctx, args.name, inputs);
            } else if (old) {
                const changed = changedInputs(old.inputs, inputs);
                const forced = replaceOnChangesKeys(registration.options.replaceOnChanges);
                const inPlace = driver.update && driver.updatable && changed.every((k) => driver.updatable!.includes(k) && !forced.includes(k));
                if (inPlace) {
                    outputs = await step(ref, "update", () => driver.update!(ctx, args.name, inputs, old), (o) => o.report);
                } else if (registration.options.deleteBeforeReplace) {
                    outputs = await step(ref, "replace", async () => {
                        await driver.delete(ctx, args.name, old);
                        return driver.create(ctx, args.name, inputs);
                    }, (o) => o.report);
                } else {
                    outputs = await step(ref, "replace", () => driver.create(ctx, args.name, inputs), (o) => o.report);
                    replacedLater.push(old);
                }
            } else {
                outputs = await step(ref, "create", () => driver.create(ctx, args.name, inputs), (o) => o.report);
            }
            applied.push({
                key,
                type,
                name: args.name,
                id: outputs.id,
                inputs,
                state: outputs.state,
                retainOnDelete: registration.options.retainOnDelete,
                dependencies: registration.dependencies,
            });
            return { id: outputs.id, state: outputs.state };
        } catch (err) {
            const error = err instanceof Error ? err : new Error(String(err));
            failures.push(new Error(`${type} ${args.name}: ${error.message}`));
            throw error;
        }
    };

    activeFailures = failures;
    listenForUnhandledRejections();
    let synth: SynthResult;
    try {
        synth = await synthesize(stack, {
            projectDir: options.projectDir,
            configOverrides: options.configOverrides,
            secretOverrides: options.secretOverrides,
            newResource,
        });
    } catch (err) {
        // Like the CLI after a failed step: let the operations already running finish.
        while (inflight.size > 0) await Promise.allSettled([...inflight]);
        const why = failures.length > 0 ? failures.map((f) => f.message).join("\n") : err instanceof Error ? err.message : String(err);
        throw new ApplyError(`apply of ${stack} failed:\n${why}`, { stack, resources: applied }, events);
    }
    if (failures.length > 0) {
        throw new ApplyError(`apply of ${stack} failed:\n${failures.map((f) => f.message).join("\n")}`, { stack, resources: applied }, events);
    }

    // Replaced (create-before-delete) and no-longer-registered resources go last, newest first.
    const gone = [...replacedLater, ...[...previous.values()].reverse()];
    for (const old of gone) {
        await step(old, "delete", () => DRIVERS[old.type].delete(ctx, old.name, old), (r) => r ?? undefined);
    }
    return { state: { stack, resources: applied }, events, synth };
}

/** `pulumi destroy`: every resource deleted, newest first; `retainOnDelete` volumes are kept. */
export async function destroyStack(state: ApplyState, options: Pick<ApplyOptions, "cwd" | "log"> = {}): Promise<StepEvent[]> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const provider = state.resources.find((r) => r.type === "pulumi:providers:docker");
    const dockerHost = String(provider?.inputs.host ?? "unix:///var/run/docker.sock");
    const ctx: DriverContext = { api: dockerApi(dockerHost), dockerHost, cwd: options.cwd ?? PROJECT_DIR, log };
    const events: StepEvent[] = [];
    for (const r of [...state.resources].reverse()) {
        const start = Date.now();
        log(`delete  ${r.type} ${r.name}`);
        const report = await DRIVERS[r.type].delete(ctx, r.name, r);
        events.push({ key: r.key, type: r.type, name: r.name, op: "delete", start, end: Date.now(), report: report ?? undefined });
    }
    return events;
}
