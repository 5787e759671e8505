/**
 * The plan of a stack as the program would deploy it, read offline from Pulumi.yaml and
 * Pulumi.<stack>.yaml (the synth's reader; no Pulumi CLI, no passphrase: an encrypted value becomes
 * a placeholder, which nothing the status reads depends on).
 */
import { CONFIG_NAMESPACE } from "../config/keys";
import { ConfigValidationError } from "../config/loadConfig";
import type { PlatformPlan } from "../plan/plan";
import { resolvePlatform } from "../plan/resolve";
import { parseStackConfig, type StackConfig } from "../config/schema";
import { readStackFiles } from "../synth/stackFiles";

export interface LoadedStack {
    readonly plan: PlatformPlan;
    readonly config: StackConfig;
}

/** Throws ConfigValidationError (every problem, with its stack-file line) when the stack's config is invalid. */
export function loadStackPlan(projectDir: string, stack: string, overrides: Readonly<Record<string, string>> = {}): LoadedStack {
    const files = readStackFiles(projectDir, stack);
    const prefix = `${CONFIG_NAMESPACE}:`;
    const values: Record<string, string> = {};
    const otherValues: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...files.config, ...overrides })) {
        if (k.startsWith(prefix)) values[k.slice(prefix.length)] = v;
        else otherValues[k] = v;
    }
    if (files.problems.length > 0) throw new ConfigValidationError(stack, files.problems);
    const parsed = parseStackConfig(values, { stack, otherValues, secretKeys: files.secretKeys });
    if (!parsed.ok) {
        const located = parsed.problems.map((p) => (p.where ? p : { ...p, where: files.locations[p.key] ?? files.locations[p.key.replace(/\[\d+\]$/, "")] }));
        throw new ConfigValidationError(stack, located);
    }
    return { plan: resolvePlatform(stack, parsed.config), config: parsed.config };
}
