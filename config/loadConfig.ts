/**
 * Reads the stack's `homeiq:*` config from the Pulumi runtime, validates it with the one schema,
 * and stops the program before any resource is registered when it is invalid.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./keys";
import { formatProblems, type ConfigProblem } from "./problems";
import { parseStackConfig, type StackConfig } from "./schema";

/**
 * Invalid stack config. A RunError, so the Pulumi CLI prints the message without a stack trace.
 * The message never contains a secret value (the schema redacts them).
 */
export class ConfigValidationError extends pulumi.RunError {
    readonly stackName: string;
    readonly problems: readonly ConfigProblem[];

    constructor(stack: string, problems: readonly ConfigProblem[]) {
        super(formatProblems(stack, problems));
        this.name = "ConfigValidationError";
        this.stackName = stack;
        this.problems = problems;
    }
}

/** The raw `homeiq:*` values as the engine passed them (strings; arrays as JSON), and the keys of every other namespace. */
export function readRawConfig(): { values: Record<string, string>; otherKeys: string[] } {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const values: Record<string, string> = {};
    const otherKeys: string[] = [];
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) values[key.slice(prefix.length)] = value;
        else otherKeys.push(key);
    }
    return { values, otherKeys };
}

/** Parses this stack's config or throws ConfigValidationError listing every problem. */
export function loadStackConfig(stack: string = pulumi.getStack()): StackConfig {
    const { values, otherKeys } = readRawConfig();
    const result = parseStackConfig(values, { stack, otherKeys });
    if (!result.ok) throw new ConfigValidationError(stack, result.problems);
    return result.config;
}
