/**
 * Keys that are plainly meant for this project but would be silently ignored: a misspelt key in the
 * homeiq namespace (`homeiq:hostport`), or any key in a namespace that looks like homeiq
 * (`homeIQ:`, `home-iq:`, `hoemiq:`, `homeiq.profile`). Each becomes a problem naming the key this
 * project has, and a fix that moves the value there.
 */
import { CONFIG_KEYS, CONFIG_NAMESPACE, isSecretKey, type ConfigKey } from "./keys";
import { fixCommand, Problems } from "./problems";

const KEYS = Object.keys(CONFIG_KEYS) as ConfigKey[];
const squash = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, "");

/** Optimal string alignment distance (edits, with adjacent transpositions). */
function distance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}

/** A namespace that is not homeiq but plainly means it: other case or punctuation, a typo, or homeiq inside it. */
export function looksLikeOurNamespace(namespace: string): boolean {
    if (namespace === CONFIG_NAMESPACE) return false;
    const n = squash(namespace);
    return n.includes(CONFIG_NAMESPACE) || (n.length >= 4 && distance(n, CONFIG_NAMESPACE) <= 2);
}

/** The declared key a name most plausibly means, if any. */
export function closestKey(name: string): ConfigKey | undefined {
    const n = squash(name);
    const exact = KEYS.find((k) => squash(k) === n);
    if (exact) return exact;
    let best: { key: ConfigKey; d: number } | undefined;
    for (const k of KEYS) {
        const d = distance(n, squash(k));
        if (d <= Math.min(2, Math.floor(k.length / 4)) && (!best || d < best.d)) best = { key: k, d };
    }
    return best?.key;
}

/** The name of `names` that `name` most plausibly means (case, punctuation, a typo or two), if any. */
export function nearestName(name: string, names: readonly string[]): string | undefined {
    const n = squash(name);
    const exact = names.find((k) => squash(k) === n);
    if (exact) return exact;
    let best: { name: string; d: number } | undefined;
    for (const k of names) {
        const d = distance(n, squash(k));
        if (d <= Math.max(1, Math.min(2, Math.floor(k.length / 3))) && (!best || d < best.d)) best = { name: k, d };
    }
    return best?.name;
}

/** `homeiq.profile`, `homeIQ:profile` as one name: the namespace part that looks like ours, and the rest. */
function splitLookAlikePrefix(name: string): string | undefined {
    const m = /^([A-Za-z0-9_-]+)[.:/](.+)$/.exec(name);
    return m && (m[1] === CONFIG_NAMESPACE || looksLikeOurNamespace(m[1])) ? m[2] : undefined;
}

/**
 * The fix for a value stored under `wrongKey` that belongs in `target`: remove it there, and set
 * it here (the same value when it is valid and not secret, else a prompt or an example).
 */
function moveFix(wrongKey: string, target: ConfigKey | undefined, alreadySet: boolean, reuse: (key: ConfigKey) => string | undefined): string {
    const rm = fixCommand.rm(wrongKey);
    if (target === undefined || alreadySet) return rm;
    if (isSecretKey(target)) return `${rm} && ${fixCommand.setSecret(target)}`;
    const value = reuse(target);
    if (value === undefined) return rm;
    return `${rm} && ${CONFIG_KEYS[target].type === "array" ? fixCommand.setAt(target, 0, value) : fixCommand.set(target, value)}`;
}

export interface KeyNameContext {
    /** Keys the stack sets in the homeiq namespace. */
    readonly ownKeys: readonly string[];
    /** Whether the stack gives `key` a value other than its default. */
    readonly isSet: (key: ConfigKey) => boolean;
    /** Full keys of every other namespace (`docker:host`, `homeIQ:profile`, ...). */
    readonly otherKeys: readonly string[];
    /** A value for `key` that passes validation: the one given under the wrong name if valid, else an example. */
    readonly valueFor: (key: ConfigKey, wrongKey: string) => string | undefined;
}

/** Reports unknown homeiq keys and look-alike namespaces. */
export function checkKeyNames(problems: Problems, ctx: KeyNameContext): void {
    for (const name of ctx.ownKeys) {
        if (Object.hasOwn(CONFIG_KEYS, name)) continue;
        const wrong = `${CONFIG_NAMESPACE}:${name}`;
        const inner = splitLookAlikePrefix(name);
        const target = closestKey(inner ?? name);
        problems.addOther(
            wrong,
            target ? `is not a config key of this project; did you mean homeiq:${target}?` : "is not a config key of this project",
            "a key declared in Pulumi.yaml's config: block (its name is case-sensitive)",
            moveFix(wrong, target, target !== undefined && ctx.isSet(target), (k) => ctx.valueFor(k, wrong)),
        );
    }
    for (const full of ctx.otherKeys) {
        const colon = full.indexOf(":");
        const namespace = colon < 0 ? full : full.slice(0, colon);
        if (!looksLikeOurNamespace(namespace)) continue;
        const name = colon < 0 ? "" : full.slice(colon + 1);
        const target = closestKey(splitLookAlikePrefix(name) ?? name);
        problems.addOther(
            full,
            `is in the namespace '${namespace}', which this program never reads; its keys are homeiq:<key>${target ? `, so homeiq:${target}` : ""}`,
            "keys of the homeiq namespace (the project name in Pulumi.yaml)",
            moveFix(full, target, target !== undefined && ctx.isSet(target), (k) => ctx.valueFor(k, full)),
        );
    }
}
