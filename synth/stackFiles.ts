/**
 * Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI would hand their config to the
 * program: project defaults applied, keys namespaced, values as strings (arrays as JSON). A
 * `secure:` value cannot be decrypted offline, and a required secret may be unset: both become a
 * placeholder secret, and their names are reported so the caller can say so on stderr.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

export interface StackFileConfig {
    readonly project: string;
    /** `namespace:key` → string value, as in PULUMI_CONFIG. */
    readonly config: Record<string, string>;
    readonly secretKeys: string[];
    /** Keys whose value is a placeholder because it was encrypted or a required secret was unset. */
    readonly placeholders: Array<{ key: string; reason: string }>;
}

interface ProjectConfigDeclaration {
    type?: string;
    secret?: boolean;
    default?: unknown;
}

const asConfigString = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

/** A placeholder long enough to pass every length rule, and recognisable in a leak check. */
export const placeholderFor = (key: string): string => `synth-placeholder-for-${key.replace(/[^A-Za-z0-9]/g, "-")}-0000000000`;

export function readStackFiles(projectDir: string, stack: string): StackFileConfig {
    const projectFile = path.join(projectDir, "Pulumi.yaml");
    const stackFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(stackFile)) {
        throw new Error(`no stack file ${stackFile}; stacks here: ${listStacks(projectDir).join(", ") || "none"}`);
    }
    const project = parse(fs.readFileSync(projectFile, "utf8")) as { name: string; config?: Record<string, ProjectConfigDeclaration> };
    const stackDoc = (parse(fs.readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const ns = project.name;
    const fullKey = (k: string): string => (k.includes(":") ? k : `${ns}:${k}`);

    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const placeholders: Array<{ key: string; reason: string }> = [];

    for (const [key, raw] of Object.entries(stackDoc.config ?? {})) {
        const k = fullKey(key);
        if (raw !== null && typeof raw === "object" && !Array.isArray(raw) && "secure" in raw) {
            config[k] = placeholderFor(k);
            secretKeys.push(k);
            placeholders.push({ key: k, reason: "encrypted (secure:) value cannot be decrypted offline" });
            continue;
        }
        config[k] = asConfigString(raw);
    }
    for (const [key, decl] of Object.entries(project.config ?? {})) {
        const k = fullKey(key);
        if (k in config) continue;
        if (decl.default !== undefined) {
            config[k] = asConfigString(decl.default);
        } else if (decl.secret) {
            config[k] = placeholderFor(k);
            secretKeys.push(k);
            placeholders.push({ key: k, reason: "required secret is not set in the stack file" });
        }
    }
    return { project: ns, config, secretKeys, placeholders };
}

export function listStacks(projectDir: string): string[] {
    return fs
        .readdirSync(projectDir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined);
}
