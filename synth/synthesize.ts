/**
 * Offline synth: runs the program under Pulumi's mocks, with the config of Pulumi.yaml and
 * Pulumi.<stack>.yaml, and returns the resource graph the engine would receive: every resource's
 * inputs, dependencies and options, and the stack outputs. Secret values are replaced by
 * "[secret]" (a secret container env entry by "NAME=[secret]"). Image digests are mock values that
 * start with MOCK_DIGEST_MARKER. No Pulumi CLI and no Docker are needed.
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime/mocks";
import { setMockOptions } from "@pulumi/pulumi/runtime/settings";
import { REPOSITORY_ROOT } from "../config/repositoryRoot";
import { CONFIG_NAMESPACE } from "../config/keys";
import { ConfigValidationError } from "../config/loadConfig";
import { parseStackConfig } from "../config/schema";
import { RecordingMonitor, type RecordedOptions, type RecordedRegistration } from "./recordingMonitor";
import { sharedHostProblems } from "./sharedHost";
import { readStackFiles, type StackFileConfig } from "./stackFiles";
import { scriptCommand, SCRIPTS } from "../components/scriptCommand";

import { MOCK_DIGEST_MARKER, MOCK_SOCKET_GROUP, SECRET_MARK, UNKNOWN_MARK } from "./marks";

export { MOCK_DIGEST_MARKER, MOCK_SOCKET_GROUP, SECRET_MARK, UNKNOWN_MARK } from "./marks";

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
    /** Check the HomeIQ checkout on this machine, as `pulumi up` does (config/checkout.ts); default true. */
    readonly verifyCheckout?: boolean;
    /** Refuse a host port another stack file here uses on the same Docker host (synth/sharedHost.ts); default true. */
    readonly checkOtherStacks?: boolean;
    /** Called with the monitor before the program runs (tests use it to count registrations). */
    readonly onMonitor?: (monitor: RecordingMonitor) => void;
    /**
     * Replaces the offline mocks: what a registered resource becomes (engine/apply uses it to
     * create each resource on a real Docker engine). Receives the recorded registration (its options).
     */
    readonly newResource?: (args: MockResourceArgs, registration: RecordedRegistration) => Promise<MockResourceResult>;
}

/** Values of the wrong shape in the stack file, with every other config problem of the stack (none is deployed). */
function stackFileProblems(stack: string, files: StackFileConfig): ConfigValidationError {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const values: Record<string, string> = {};
    const otherValues: Record<string, string> = {};
    for (const [k, v] of Object.entries(files.config)) {
        if (k.startsWith(prefix)) values[k.slice(prefix.length)] = v;
        else otherValues[k] = v;
    }
    const shaped = new Set(files.problems.map((p) => p.key.replace(/\[\d+\]$/, "")));
    const parsed = parseStackConfig(values, { stack, otherValues, secretKeys: files.secretKeys });
    const more = parsed.ok ? [] : parsed.problems.filter((p) => !shaped.has(p.key.replace(/\[\d+\]$/, "")));
    return withLocations(new ConfigValidationError(stack, [...files.problems, ...more]), files, {});
}

/** The same problems, each saying which stack-file line its value comes from (when it comes from one). */
function withLocations(error: ConfigValidationError, files: StackFileConfig, options: SynthOptions): ConfigValidationError {
    const overridden = new Set(Object.keys(options.configOverrides ?? {}));
    const located = error.problems.map((p) => {
        const base = p.key.replace(/\[\d+\]$/, "");
        const where = overridden.has(base) ? undefined : (files.locations[p.key] ?? files.locations[base]);
        return p.where || !where ? p : { ...p, where };
    });
    return new ConfigValidationError(error.stackName, located);
}

/**
 * A secret entry of a container's `envs` list shows its variable name: the program writes each entry
 * as NAME=value, so the text before the first "=" is the name, never part of the value. Anything
 * else (not a string, no "=", not a variable name) stays a bare "[secret]".
 */
function secretMark(plain: unknown, envEntry: boolean): string {
    if (!envEntry || typeof plain !== "string") return SECRET_MARK;
    const name = plain.slice(0, plain.indexOf("="));
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `${name}=${SECRET_MARK}` : SECRET_MARK;
}

/**
 * Replaces Pulumi's wire sentinels: secrets by "[secret]" ("NAME=[secret]" in an `envs` list),
 * unknowns by "[unknown]", references by their URN.
 */
export function redact(value: unknown, envEntry = false): unknown {
    if (value === UNKNOWN) return UNKNOWN_MARK;
    if (Array.isArray(value)) return value.map((v) => redact(v, envEntry));
    if (value !== null && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        if (obj[SIG_KEY] === SIG_SECRET) return secretMark(obj.value, envEntry);
        if (obj[SIG_KEY] === SIG_RESOURCE) return obj.urn;
        if (obj[SIG_KEY] === SIG_OUTPUT) {
            if (obj.secret) return secretMark(obj.value, envEntry);
            return "value" in obj ? redact(obj.value, envEntry) : UNKNOWN_MARK;
        }
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, redact(v, k === "envs")]));
    }
    return value;
}

/** Values a provider would compute, so dependent inputs are readable offline. */
export function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    // Fake on sight: the marker, then 32 hex of the name's hash so each resource's digest differs.
    const digest = `sha256:${MOCK_DIGEST_MARKER}${createHash("sha256").update(name).digest("hex").slice(0, 32)}`;
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: `mock-random-${name}-value` };
        case "docker:index/image:Image":
            // A local image (skipPush) reports its image id as repoDigest (pulumi-docker provider/image.go:287-294).
            return { ...inputs, repoDigest: inputs.skipPush === true ? digest : `${String(inputs.imageName).replace(/:[^:/]*$/, "")}@${digest}` };
        case "docker:index/remoteImage:RemoteImage":
            return { ...inputs, imageId: digest, repoDigest: `${String(inputs.name)}` };
        case "command:local:Command":
            // What the socket-group probe prints, with a value nobody can take for a real group id.
            return { ...inputs, stdout: inputs.create === scriptCommand(SCRIPTS.socketGroup) ? `HOMEIQ_DOCKER_SOCKET_GID=${MOCK_SOCKET_GROUP}` : "", stderr: "" };
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
    if (files.problems.length > 0) throw stackFileProblems(stack, files);
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
    if (options.checkOtherStacks !== false) {
        const clashes = sharedHostProblems(stack, config, projectDir);
        if (clashes.length > 0) throw withLocations(new ConfigValidationError(stack, clashes), files, options);
    }

    const live = options.newResource;
    const monitor: RecordingMonitor = new RecordingMonitor({
        newResource: (args) =>
            live ? live(args, monitor.registrationOf(args.type, args.name)) : { id: `${args.name}-id`, state: mockState(args.type, args.name, args.inputs) },
        call: () => ({}),
    });
    useMonitor(monitor, files.project, stack);
    options.onMonitor?.(monitor);
    pulumi.runtime.setAllConfig(config, [...secretKeys]);

    // Loaded here, not at the top, so the program's modules see this run's runtime settings.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { main } = require("../program") as typeof import("../program");
    let exported: ReturnType<typeof main>;
    try {
        exported = main(stack, { verifyCheckout: options.verifyCheckout });
    } catch (error) {
        throw error instanceof ConfigValidationError ? withLocations(error, files, options) : error;
    }
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
