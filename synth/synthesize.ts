/**
 * Offline synth: runs the program under Pulumi's mocks, with the config of Pulumi.yaml and
 * Pulumi.<stack>.yaml, and returns the resource graph the engine would receive: every resource's
 * inputs, dependencies and options, and the stack outputs. Secret values are replaced by
 * "[secret]". No Pulumi CLI and no Docker are needed.
 */
import * as pulumi from "@pulumi/pulumi";
import { setMockOptions } from "@pulumi/pulumi/runtime/settings";
import { REPOSITORY_ROOT } from "../components/repositoryRoot";
import { RecordingMonitor, type RecordedOptions } from "./recordingMonitor";
import { readStackFiles } from "./stackFiles";

export const SECRET_MARK = "[secret]";
export const UNKNOWN_MARK = "[unknown]";

// Sentinels of Pulumi's wire format (sdk/nodejs/runtime/rpc.ts).
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270";
const SIG_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e";
const SIG_OUTPUT = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface SynthResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly parent: string;
    readonly inputs: Record<string, unknown>;
    readonly dependencies: string[];
    readonly options: RecordedOptions;
}

export interface SynthResult {
    readonly stack: string;
    readonly resources: SynthResource[];
    readonly outputs: Record<string, unknown>;
    /** Config values replaced by placeholders (encrypted or unset required secrets). */
    readonly placeholders: Array<{ key: string; reason: string }>;
}

export interface SynthOptions {
    /** Folder holding Pulumi.yaml and Pulumi.<stack>.yaml; the repository root by default. */
    readonly projectDir?: string;
    /** Config to change after reading the stack file: `homeiq:key` → value, or undefined to remove it. */
    readonly configOverrides?: Readonly<Record<string, string | undefined>>;
    /** Extra keys to mark secret (for overrides that carry secrets). */
    readonly secretOverrides?: readonly string[];
    /** Called with the monitor before the program runs (tests use it to count registrations). */
    readonly onMonitor?: (monitor: RecordingMonitor) => void;
}

/** Replaces Pulumi's wire sentinels: secrets by "[secret]", unknowns by "[unknown]", references by their URN. */
export function redact(value: unknown): unknown {
    if (value === UNKNOWN) return UNKNOWN_MARK;
    if (Array.isArray(value)) return value.map(redact);
    if (value !== null && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        if (obj[SIG_KEY] === SIG_SECRET) return SECRET_MARK;
        if (obj[SIG_KEY] === SIG_RESOURCE) return obj.urn;
        if (obj[SIG_KEY] === SIG_OUTPUT) {
            if (obj.secret) return SECRET_MARK;
            return "value" in obj ? redact(obj.value) : UNKNOWN_MARK;
        }
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, redact(v)]));
    }
    return value;
}

/** Values a provider would compute, so dependent inputs are readable offline. */
function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    const digest = `sha256:${Buffer.from(name).toString("hex").padEnd(64, "0").slice(0, 64)}`;
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: `mock-random-${name}-value` };
        case "docker:index/image:Image":
            return { ...inputs, repoDigest: `${String(inputs.imageName).replace(/:[^:/]*$/, "")}@${digest}` };
        case "docker:index/remoteImage:RemoteImage":
            return { ...inputs, imageId: digest, repoDigest: `${String(inputs.name)}` };
        default:
            return inputs;
    }
}

async function resolveOutputs(value: unknown): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) {
        const output = value as pulumi.Output<unknown>;
        const secret = await pulumi.isSecret(output);
        const inner = await new Promise<unknown>((resolve) => output.apply((v) => resolve(v)));
        return secret ? SECRET_MARK : resolveOutputs(inner);
    }
    if (Array.isArray(value)) return Promise.all(value.map(resolveOutputs));
    if (value !== null && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
        const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveOutputs(v)] as const));
        return Object.fromEntries(entries);
    }
    return value;
}

// Internal to the SDK (not in its typings): waitForRPCs is what `disconnect` waits on; getStore
// holds the feature flags that pulumi.runtime.setMocks sets.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { getStore } = require("@pulumi/pulumi/runtime/state") as { getStore: () => Record<string, unknown> };

/**
 * Installs our recording monitor the way pulumi.runtime.setMocks installs its own: setMockOptions
 * resets the runtime's feature flags, so they are set again afterwards, as setMocks does. Without
 * this, secrets would be serialized as plain values.
 */
function useMonitor(monitor: RecordingMonitor, project: string, stack: string): void {
    setMockOptions(monitor, project, stack, true);
    const store = getStore();
    store.supportsSecrets = true;
    store.supportsResourceReferences = true;
    store.supportsOutputValues = false;
    store.supportsDeletedWith = true;
    store.supportsAliasSpecs = true;
    store.supportsTransforms = true;
}

/**
 * Runs the program for `stack`. Throws the program's own error (ConfigValidationError for bad
 * config) without registering anything in that case.
 */
export async function synthesize(stack: string, options: SynthOptions = {}): Promise<SynthResult> {
    const projectDir = options.projectDir ?? REPOSITORY_ROOT;
    const files = readStackFiles(projectDir, stack);
    const config = { ...files.config };
    const secretKeys = new Set(files.secretKeys);
    for (const [k, v] of Object.entries(options.configOverrides ?? {})) {
        if (v === undefined) {
            delete config[k];
            secretKeys.delete(k);
        } else {
            config[k] = v;
        }
    }
    for (const k of options.secretOverrides ?? []) secretKeys.add(k);

    const monitor = new RecordingMonitor({
        newResource: (args) => ({ id: `${args.name}-id`, state: mockState(args.type, args.name, args.inputs) }),
        call: () => ({}),
    });
    useMonitor(monitor, files.project, stack);
    options.onMonitor?.(monitor);
    pulumi.runtime.setAllConfig(config, [...secretKeys]);

    // Loaded here, not at the top, so the program's modules see this run's runtime settings.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { main } = require("../program") as typeof import("../program");
    const exported = main(stack);
    const outputs = (await resolveOutputs(exported)) as Record<string, unknown>;
    await waitForRPCs();

    const resources: SynthResource[] = monitor.registrations.map((r) => ({
        urn: r.urn ?? "",
        type: r.type,
        name: r.name,
        parent: r.parent,
        inputs: redact(r.inputs) as Record<string, unknown>,
        dependencies: [...new Set(r.dependencies)].sort(),
        options: r.options,
    }));
    return { stack, resources, outputs, placeholders: files.placeholders };
}
