/**
 * Reads the stack's `homeiq:*` config from the Pulumi runtime, validates it with the one schema,
 * and stops the program before any resource is registered when it is invalid.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./keys";
import { formatProblems, withStack, type ConfigProblem } from "./problems";
import { SERVICE_KEYS } from "../catalog/services";
import { checkoutProblems, isLocalEngine } from "./checkout";
import { REPOSITORY_ROOT } from "./repositoryRoot";
import { parseStackConfig, type StackConfig } from "./schema";

/**
 * Invalid stack config. A RunError, so the Pulumi CLI prints the message without a stack trace.
 * The message never contains a secret value (the schema redacts them).
 */
export class ConfigValidationError extends pulumi.RunError {
    readonly stackName: string;
    readonly problems: readonly ConfigProblem[];

    constructor(stack: string, problems: readonly ConfigProblem[]) {
        const named = problems.map((p) => ({ ...p, fix: withStack(p.fix, stack) }));
        super(formatProblems(stack, named));
        this.name = "ConfigValidationError";
        this.stackName = stack;
        this.problems = named;
    }
}

/** The raw `homeiq:*` values as the engine passed them (strings; arrays as JSON), and every other namespace's. */
export function readRawConfig(): { values: Record<string, string>; otherValues: Record<string, string> } {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const values: Record<string, string> = {};
    const otherValues: Record<string, string> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) values[key.slice(prefix.length)] = value;
        else otherValues[key] = value;
    }
    return { values, otherValues };
}

/**
 * The full keys the engine marked secret (PULUMI_CONFIG_SECRET_KEYS, which the SDK keeps in its
 * runtime store; internal, not in its typings), so a misplaced secret is never repeated in a fix.
 */
function configSecretKeys(): string[] | undefined {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { getStore } = require("@pulumi/pulumi/runtime/state") as { getStore: () => { config?: Record<string, string | undefined> } };
    const text = getStore().config?.PULUMI_CONFIG_SECRET_KEYS ?? process.env.PULUMI_CONFIG_SECRET_KEYS;
    // Not said: then nothing is known to be plain text (no secret is refused for it).
    if (text === undefined) return undefined;
    try {
        const keys: unknown = JSON.parse(text);
        return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : undefined;
    } catch {
        return undefined;
    }
}

/**
 * The host ports the stack's policy pack (policy/config/<stack>.json) lets a container publish on every
 * interface, or undefined when the stack has no pack config.
 */
export function policyPublicPorts(stack: string, root: string = REPOSITORY_ROOT): number[] | undefined {
    const file = path.join(root, "policy", "config", `${stack}.json`);
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(stack) || !fs.existsSync(file)) return undefined;
    const pack = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, { allowedPublicPorts?: unknown } | string | undefined>;
    const rule = pack["container-no-public-ports"];
    const ports = typeof rule === "object" ? rule.allowedPublicPorts : undefined;
    return Array.isArray(ports) ? ports.filter((p): p is number => typeof p === "number") : [];
}

export interface LoadOptions {
    /**
     * Check that the HomeIQ checkout of a `build` stack with a local engine exists on this machine with
     * every catalog Dockerfile (default true; `npm run synth -- <stack> --skip-checkout-check` for a machine
     * that only validates).
     */
    readonly verifyCheckout?: boolean;
}

/** Parses this stack's config or throws ConfigValidationError listing every problem. */
export function loadStackConfig(stack: string = pulumi.getStack(), options: LoadOptions = {}): StackConfig {
    const { values, otherValues } = readRawConfig();
    const result = parseStackConfig(values, { stack, otherValues, secretKeys: configSecretKeys(), allowedPublicPorts: policyPublicPorts(stack) });
    if (!result.ok) throw new ConfigValidationError(stack, result.problems);
    const { config } = result;
    if (options.verifyCheckout !== false && config.images.source === "build" && isLocalEngine(config.values.dockerHost)) {
        const deployed = SERVICE_KEYS.filter((k) => config.services[k].enabled);
        const problems = checkoutProblems(config.images.checkoutPath, deployed);
        if (problems.length > 0) throw new ConfigValidationError(stack, problems);
    }
    return config;
}
