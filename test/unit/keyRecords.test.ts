/**
 * Every config key is read: for each record of config/keys.ts, setting the key to its example (with
 * the other keys its record says the example needs) changes one of the plan fields the record names
 * in `feeds`. A key declared and validated but never read by the plan (no consumer) fails here, and
 * so does a record whose `feeds` names the wrong place. A secret is read when one of its plan fields
 * holds a reference to it (the component gives the container the Pulumi secret in its place).
 */
import { CONFIG_KEY_NAMES, isSecretKey, recordOf, type ConfigKey } from "../../config/keys";
import { parseStackConfig, type StackConfig } from "../../config/schema";
import type { PlatformPlan } from "../../plan/plan";
import { resolvePlatform } from "../../plan/resolve";
import { requiredValuesWithout } from "./synthCases";

type Raw = Record<string, unknown>;
type Resolve = (config: StackConfig) => PlatformPlan;

/** Every service deployed; values that differ from every record's example, so each example is a change. */
const BASE: Raw = { ...requiredValuesWithout(), profile: "dev", homeiqCheckoutPath: "/opt/homeiq", homeAssistantUrl: "http://192.168.1.5:8123" };
/** A value every secret's schema accepts. */
const SECRET_PROBE = "Zq7rT2mW9xK4pL8vN3bY6cH1dF5gJ0sA";
/** The secrets whose schema wants more than one word: a value of that form. */
const SECRET_PROBES: Partial<Record<ConfigKey, string>> = { notifyWebhookUrl: `https://ntfy.sh/${SECRET_PROBE}` };

const asRaw = (v: string | readonly string[]): unknown => (typeof v === "string" ? v : JSON.stringify(v));

function planOf(values: Raw, resolve: Resolve): PlatformPlan {
    const result = parseStackConfig(values);
    if (!result.ok) throw new Error(result.problems.map((p) => `${p.key} = ${p.value}: ${p.problem}`).join("; "));
    return resolve(result.config);
}

/** A list item's name in a path: its key (services, volumes) or kind (lifecycle steps), else its index. */
function children(value: unknown): Map<string, unknown> {
    if (Array.isArray(value)) {
        return new Map(
            value.map((item: unknown, i) => {
                const o = item as { key?: unknown; kind?: unknown } | null;
                const name = typeof o?.key === "string" ? o.key : typeof o?.kind === "string" ? o.kind : String(i);
                return [name, item];
            }),
        );
    }
    return value !== null && typeof value === "object" ? new Map(Object.entries(value)) : new Map();
}

const isNode = (v: unknown): boolean => v !== null && typeof v === "object";

/** The paths at which two plans differ (where one has a field the other has not, that field). */
function differences(a: unknown, b: unknown, at: readonly string[] = []): string[][] {
    if (JSON.stringify(a) === JSON.stringify(b)) return [];
    if (!isNode(a) || !isNode(b) || Array.isArray(a) !== Array.isArray(b)) return [[...at]];
    const ca = children(a);
    const cb = children(b);
    return [...new Set([...ca.keys(), ...cb.keys()])].flatMap((k) => differences(ca.get(k), cb.get(k), [...at, k]));
}

/** Whether a difference at `path` lies on the plan field `pattern` (one inside the other; `*` is any one name). */
const onField = (pattern: string, path: readonly string[]): boolean => pattern.split(".").every((seg, i) => i >= path.length || seg === "*" || seg === path[i]);

/** The values at `pattern` in a plan. */
function valuesAt(node: unknown, segments: readonly string[]): unknown[] {
    if (segments.length === 0) return [node];
    const [first, ...rest] = segments;
    const c = children(node);
    return (first === "*" ? [...c.values()] : c.has(first) ? [c.get(first)] : []).flatMap((v) => valuesAt(v, rest));
}

/** What is wrong with key `k`'s record and its consumer, if anything. */
function unread(k: ConfigKey, resolve: Resolve): string | undefined {
    const record = recordOf(k);
    if (record.feeds.length === 0) return "names no plan field in feeds";
    const withExtras: Raw = { ...BASE, ...Object.fromEntries(Object.entries(record.exampleWith ?? {}).map(([key, v]) => [key, asRaw(v)])) };
    if (isSecretKey(k)) {
        const plan = planOf({ ...withExtras, [k]: SECRET_PROBES[k] ?? SECRET_PROBE }, resolve);
        const refs = record.feeds.flatMap((f) => valuesAt(plan, f.split(".")));
        return refs.some((v) => JSON.stringify(v) === JSON.stringify({ secret: k })) ? undefined : `no plan field of feeds (${record.feeds.join(", ")}) refers to the secret`;
    }
    if (record.example === undefined) return "has no example";
    if (JSON.stringify(asRaw(record.example)) === JSON.stringify(record.default === undefined ? undefined : asRaw(typeof record.default === "string" || Array.isArray(record.default) ? record.default : String(record.default)))) {
        return "has an example equal to its default: give one that changes something";
    }
    const base = planOf(BASE, resolve);
    const probe = planOf({ ...withExtras, [k]: asRaw(record.example) }, resolve);
    const changed = differences(base, probe);
    if (changed.length === 0) return `changes nothing in the plan when set to its example ${JSON.stringify(record.example)}: nothing reads it`;
    return changed.some((p) => record.feeds.some((f) => onField(f, p)))
        ? undefined
        : `changes ${changed.map((p) => p.join(".")).slice(0, 5).join(", ")}, none of its feeds (${record.feeds.join(", ")})`;
}

describe("every config key's record (config/keys.ts)", () => {
    it.each(CONFIG_KEY_NAMES)("homeiq:%s feeds the plan fields its record names", (k) => {
        expect(unread(k, (c) => resolvePlatform("keys", c))).toBeUndefined();
    });

    it.each(CONFIG_KEY_NAMES.filter((k) => recordOf(k).example !== undefined))("homeiq:%s: its example passes its own schema", (k) => {
        expect(recordOf(k).schema.safeParse(asRaw(recordOf(k).example!)).success).toBe(true);
    });

    it("secrets have no example (their fix prompts) and everything else has one", () => {
        expect(CONFIG_KEY_NAMES.filter((k) => isSecretKey(k) === (recordOf(k).example !== undefined))).toEqual([]);
    });
});

describe("the check above catches a key nothing reads", () => {
    it("a plan that ignores weatherLocation fails it, naming the key's example", () => {
        const ignoring: Resolve = (c) => resolvePlatform("keys", { ...c, values: { ...c.values, weatherLocation: "Las Vegas,NV,US" } });
        expect(unread("weatherLocation", ignoring)).toMatch(/^changes nothing in the plan when set to its example "Berlin,DE": nothing reads it$/);
    });

    it("a plan that drops a secret's reference fails it", () => {
        const dropping: Resolve = (c) => {
            const plan = resolvePlatform("keys", c);
            return { ...plan, services: plan.services.map((s) => ({ ...s, environment: { ...s.environment, WEATHER_API_KEY: "" } })) };
        };
        expect(unread("weatherApiKey", dropping)).toMatch(/refers to the secret$/);
    });

    it("a record whose feeds name the wrong field fails it", () => {
        // backupKeep read into the validation's attempts instead of the backup targets.
        const elsewhere: Resolve = (c) => {
            const plan = resolvePlatform("keys", { ...c, values: { ...c.values, backupKeep: 7 } });
            return { ...plan, validation: plan.validation && { ...plan.validation, attempts: c.values.backupKeep } };
        };
        expect(unread("backupKeep", elsewhere)).toBe("changes validation.attempts, none of its feeds (lifecycle.*.target.keep)");
    });
});
