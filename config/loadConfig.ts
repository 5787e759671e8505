/**
 * Reads the stack's `homeiq:*` config from the Pulumi runtime, validates it with the one schema,
 * and stops the program before any resource is registered when it is invalid.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./keys";
import { formatProblems, withStack, type ConfigProblem } from "./problems";
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
function configSecretKeys(): string[] {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { getStore } = require("@pulumi/pulumi/runtime/state") as { getStore: () => { config?: Record<string, string | undefined> } };
    try {
        const keys: unknown = JSON.parse(getStore().config?.PULUMI_CONFIG_SECRET_KEYS ?? process.env.PULUMI_CONFIG_SECRET_KEYS ?? "[]");
        return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : [];
    } catch {
        return [];
    }
}

/** Parses this stack's config or throws ConfigValidationError listing every problem. */
export function loadStackConfig(stack: string = pulumi.getStack()): StackConfig {
    const { values, otherValues } = readRawConfig();
    const result = parseStackConfig(values, { stack, otherValues, secretKeys: configSecretKeys() });
    if (!result.ok) throw new ConfigValidationError(stack, result.problems);
    return result.config;
}
