/**
 * A configuration problem as a person reads it: the key, the value (secrets and passwords masked,
 * control characters escaped, long values cut), what is wrong, what is allowed, and a command that
 * fixes it. Fix commands are built from our own examples and key names, each argument shell-quoted,
 * so pasting one never runs anything a config value smuggled in.
 */
import { CONFIG_KEYS, isSecretKey, type ConfigKey } from "./keys";
import { maskPassword } from "../catalog/rules";

export interface ConfigProblem {
    /** Full config path, e.g. `homeiq:hostPorts[1]`, or the file a stack-file problem is in. */
    readonly key: string;
    /** The value as shown: redacted for secrets. */
    readonly value: string;
    readonly problem: string;
    readonly allowed: string;
    readonly fix: string;
    /** Where the value comes from, when known: `Pulumi.prod.yaml line 14`. */
    readonly where?: string;
}

/** Quotes one shell word only when it needs it. */
export function shellQuote(word: string): string {
    return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const fullKey = (key: string, index?: number): string => (index === undefined ? `homeiq:${key}` : `homeiq:${key}[${index}]`);

/** The `pulumi config` commands a fix may use. */
export const fixCommand = {
    set: (key: ConfigKey, value: string): string =>
        isSecretKey(key) ? fixCommand.setSecret(key) : `pulumi config set ${fullKey(key)} ${shellQuote(value)}`,
    /** Prompts for the value: a secret stays out of the shell's history. */
    setSecret: (key: ConfigKey): string => `pulumi config set --secret ${fullKey(key)}`,
    /** `value` may be a ready shell word (e.g. with a command substitution); else pass it through shellQuote. */
    setAtWord: (key: ConfigKey, index: number, word: string): string => `pulumi config set --path ${shellQuote(fullKey(key, index))} ${word}`,
    setAt: (key: ConfigKey, index: number, value: string): string => fixCommand.setAtWord(key, index, shellQuote(value)),
    rm: (key: string): string => `pulumi config rm ${shellQuote(key.includes(":") ? key : fullKey(key))}`,
    rmAt: (key: ConfigKey, index: number): string => `pulumi config rm --path ${shellQuote(fullKey(key, index))}`,
};

/**
 * `fix` with `--stack <stack>` on each of its pulumi commands, so a fix pasted while another stack is
 * selected changes the stack that has the problem. Commands that already name a stack are kept.
 */
export function withStack(fix: string, stack: string | undefined): string {
    if (stack === undefined) return fix;
    return fix
        .split(" && ")
        .map((command) => (/^pulumi (config|stack rename) /.test(command) && !/ --stack /.test(command) ? `${command} --stack ${shellQuote(stack)}` : command))
        .join(" && ");
}

const SHOW_MAX = 80;

/** A value as an error shows it. */
export function showValue(key: string, value: unknown): string {
    if (isSecretKey(key)) return value === undefined || value === "" ? "(not set)" : "[secret]";
    if (value === undefined) return "(not set)";
    const text = typeof value === "string" ? maskPassword(value) : (JSON.stringify(Array.isArray(value) ? value.map((v) => (typeof v === "string" ? maskPassword(v) : v)) : value) ?? String(value));
    const cut = text.length > SHOW_MAX ? `${text.slice(0, SHOW_MAX - 3)}...` : text;
    const shown = (typeof value === "string" ? JSON.stringify(cut) : cut)
        // JSON escapes C0 controls; escape what a terminal would still act on or hide.
        .replace(/[\u007f-\u009f\p{Cf}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    return text.length > SHOW_MAX ? `${shown} (${text.length} characters)` : shown;
}

/** Collects problems; `key` is a config key of the homeiq namespace. */
export class Problems {
    readonly list: ConfigProblem[] = [];

    add(key: ConfigKey, index: number | undefined, value: unknown, problem: string, allowed: string, fix: string): void {
        this.list.push({ key: fullKey(key, index), value: showValue(key, value), problem, allowed, fix });
    }

    /** A problem with a key that is not one of ours (a misspelt key or namespace); its value is never shown. */
    addOther(key: string, problem: string, allowed: string, fix: string): void {
        this.list.push({ key, value: "(set)", problem, allowed, fix });
    }
}

/** Renders problems for a person: key, shown value, what is wrong, what is allowed, the command that fixes it. */
export function formatProblems(stack: string, problems: readonly ConfigProblem[]): string {
    const lines = [
        `Invalid configuration for stack ${JSON.stringify(stack)}: ${problems.length} problem${problems.length === 1 ? "" : "s"}. Nothing was deployed.`,
    ];
    for (const p of problems) {
        lines.push(`  - ${p.key} = ${p.value}: ${p.problem}`);
        if (p.where) lines.push(`      where:   ${p.where}`);
        lines.push(`      allowed: ${p.allowed}`);
        lines.push(`      fix:     ${p.fix}`);
    }
    return lines.join("\n");
}

/** Whether a key name is declared (for callers outside the schema). */
export const isConfigKey = (name: string): name is ConfigKey => Object.hasOwn(CONFIG_KEYS, name);
