/**
 * The building blocks of the config keys' zod schemas (config/keys.ts gives each key one): how a
 * value is normalised and checked.
 *
 * Every bound comes from catalog/rules.ts, where each names the consumer it mirrors (a script, the
 * docker provider, the engine). A value is normalised first (where a normal form exists: trimmed
 * text, a tidy path), then checked, and the normalised value is what gets deployed; values with no
 * normal form (URLs, tokens, paths) are refused when they have spaces around them.
 */
import * as os from "os";
import * as path from "path";
import { z } from "zod";
import { isPlaceholderCredential } from "../catalog/placeholderCredentials";
import { SERVICE_CATALOG, SERVICE_KEYS } from "../catalog/services";
import {
    forbiddenCharacter,
    HOST,
    LIST_MAX,
    parseImageReference,
    PATH_MAX,
    PORT,
    RE_URL_PASSWORD,
    RE_BACKUP_PATH,
    RE_INFLUX_NAME,
    SECRET_MAX,
    TEXT_MAX,
    UNIX_SOCKET_PATH_MAX,
} from "../catalog/rules";

/** A secret value is refused when it is an old placeholder, or an unfilled `<…>` from an example command. */
export function isPlaceholderSecret(value: string): boolean {
    return isPlaceholderCredential(value) || /^<.*>$/.test(value.trim());
}

/** The shortest influxdbAdminToken accepted (scripts/migrate/from-compose.sh uses the same bound). */
export const MIN_TOKEN_LENGTH = 24;
export const BUILT_SERVICES = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].image.kind === "built");
export const RESOURCE_FIELDS = ["memoryMiB", "memoryReservationMiB", "cpus"] as const;
export type ResourceField = (typeof RESOURCE_FIELDS)[number];

/** A rule on a (normalised) string: the problem, or undefined when the value passes. */
export type Rule = (value: string) => string | undefined;

/**
 * A string key: no control or invisible character, at most `max` characters, then `rules` in
 * order (the first failure is reported). With `trim`, surrounding spaces are removed first (and the
 * trimmed value is what deploys); without it they are refused.
 */
export function text(max: number, rules: readonly Rule[], options: { trim?: boolean } = {}) {
    return z.string({ error: "must be a string" }).transform((raw, ctx): string => {
        const value = options.trim ? raw.trim() : raw;
        const bad = forbiddenCharacter(raw);
        const problem = bad
            ? `contains ${bad}; control and invisible characters are not allowed`
            : value.length > max
              ? `is ${value.length} characters long; at most ${max} are allowed`
              : !options.trim && raw !== raw.trim()
                ? "has spaces at its start or end"
                : rules.map((rule) => rule(value)).find((p) => p !== undefined);
        if (problem !== undefined) {
            ctx.addIssue({ code: "custom", message: problem });
            return z.NEVER;
        }
        return value;
    });
}

/** Pulumi passes integers as strings; accept "42" and 42 within [min, max], nothing else. */
export const integer = (min: number, max: number, belowMin = `must be ${min} or more`) =>
    z.preprocess(
        (v) => (typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
        z
            .number({ error: "must be a whole number" })
            .min(min, { error: belowMin, abort: true })
            .max(max, { error: `must be at most ${max}`, abort: true })
            .int({ error: "must be a whole number" }),
    );

/** Pulumi passes arrays as JSON text. Entries are trimmed (and deployed trimmed). */
export const list = (entryMax: number) =>
    z.preprocess(
        (v) => {
            if (typeof v !== "string") return v;
            try {
                return JSON.parse(v);
            } catch {
                return v;
            }
        },
        z
            .array(text(entryMax, [], { trim: true }), { error: "must be a list (YAML sequence) of strings" })
            .max(LIST_MAX, { error: `has more than ${LIST_MAX} entries` }),
    );

export const nonEmpty: Rule = (v) => (v.length === 0 ? "must not be empty" : undefined);

/** A password (spaces inside allowed) or a token (one word). */
export const secretText = (minLength: number, kind: "password" | "token", placeholderMessage: string) =>
    text(SECRET_MAX, [
        (v) => (v.length < minLength ? `must be at least ${minLength} characters` : undefined),
        (v) => (kind === "token" && /\s/.test(v) ? "contains a space; a token or key is one word" : undefined),
        (v) => (isPlaceholderSecret(v) ? placeholderMessage : undefined),
    ]);

export const withPort = (port: string | undefined): string | undefined =>
    port !== undefined && (Number(port) < PORT.min || Number(port) > PORT.max) ? `has port ${port}, outside ${PORT.min}-${PORT.max}` : undefined;

export function dockerHostProblem(v: string): string | undefined {
    if (RE_URL_PASSWORD.test(v)) return "holds a password; use ssh://user@host and an SSH key (ssh-agent) instead";
    const unix = /^unix:\/\/(\/.*)$/.exec(v);
    if (unix) {
        if (!/^\/[A-Za-z0-9_./-]+$/.test(unix[1]) || unix[1].split("/").includes("..")) return "has a socket path with characters other than letters, digits and _ . / -, or '..'";
        if (unix[1].length > UNIX_SOCKET_PATH_MAX) return `has a socket path longer than ${UNIX_SOCKET_PATH_MAX} characters (the kernel's limit)`;
        return undefined;
    }
    const ssh = new RegExp(`^ssh://([A-Za-z0-9._][A-Za-z0-9._-]{0,31})@(${HOST})(?::(\\d{1,5}))?$`).exec(v);
    if (ssh) return withPort(ssh[3]);
    const tcp = new RegExp(`^tcp://(${HOST}):(\\d{1,5})$`).exec(v);
    if (tcp) return withPort(tcp[2]);
    return "must be unix:///path, ssh://user@host[:port] or tcp://host:port";
}

export function homeAssistantUrlProblem(v: string): string | undefined {
    if (RE_URL_PASSWORD.test(v) || /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*@/.test(v)) {
        return "holds a user name or password; Home Assistant authenticates with homeiq:homeAssistantToken (a secret)";
    }
    const m = new RegExp(`^(https?|wss?)://(${HOST})(?::(\\d{1,5}))?(/[^?#\\s]*)?$`).exec(v);
    if (!m) {
        return /^(https?|wss?):\/\//.test(v) && /[?#]/.test(v)
            ? "must be the base URL, with no query or fragment"
            : "must be an http(s):// or ws(s):// URL";
    }
    return withPort(m[3]);
}

/** `/a//b/./c/` as `/a/b/c`; '..' is refused before this, never resolved. */
export const tidyPath = (v: string): string => path.posix.normalize(v).replace(/(.)\/+$/, "$1");
export const noDotDot: Rule = (v) => (v.split("/").includes("..") ? "must not contain '..'" : undefined);

/**
 * `~` and `~/…` mean the home folder of the user running Pulumi in every path key. homeiqCheckoutPath
 * and restoreFrom are expanded here (the docker provider and restore.sh take absolute paths);
 * backupRoot keeps it, and backup.sh, which runs on that machine as that user, expands it.
 */
export const expandHome = (v: string, home: string = os.homedir()): string => (v === "~" ? home : v.startsWith("~/") ? path.posix.join(home, v.slice(2)) : v);

const isHomePath = (v: string): boolean => v === "~" || v.startsWith("~/");

/** An absolute path, or `~/…`: the HomeIQ checkout, expanded and tidied. */
export const checkoutPath = text(PATH_MAX, [(v) => (v.startsWith("/") || isHomePath(v) ? undefined : "must be an absolute path (or ~/...)"), noDotDot]).transform((v) => tidyPath(expandHome(v)));

/** A folder the backup scripts accept (RE_BACKUP_PATH), or `~`/`~/…` (see expandHome). */
export function backupPath() {
    return text(
        PATH_MAX,
        [
            (v) => {
                const rest = isHomePath(v) ? `/${v.slice(2)}` : v;
                return RE_BACKUP_PATH.test(rest) ? undefined : "must be an absolute path (or ~/...) of letters, digits and _ . / + - only";
            },
            noDotDot,
        ],
    ).transform((v) => (v === "~" ? v : v.startsWith("~/") ? `~${tidyPath(v.slice(1))}` : tidyPath(v)));
}

/** A backup folder to restore: as backupPath, with `~` expanded (restore.sh takes an absolute path). */
export const restorePath = backupPath()
    .transform((v) => expandHome(v))
    .refine((v) => RE_BACKUP_PATH.test(v), { error: "is in a home folder whose path has characters the backup scripts refuse; give the absolute path" });

export const decimal = (min: number, max: number) =>
    text(32, [(v) => (/^-?\d{1,3}(\.\d{1,10})?$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `must be a decimal number between ${min} and ${max}`)], {
        trim: true,
    });

/** "" means "not set" for optional keys (Pulumi needs a default for them; config/keys.ts gives ""). */
export const unsetIfEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

/** Pulumi passes booleans as "true"/"false". */
export const bool = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean({ error: "must be true or false" }));

/** A whole number given as text (keys Pulumi declares as strings, so that "" can mean unset). */
export const wholeNumber = (maxChars: number, min: number, max: number, problem: string) =>
    text(maxChars, [(v) => (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : problem)]).transform(Number);

export const ipAddress = z.union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address such as 127.0.0.1 or 0.0.0.0" });

export const influxName = text(63, [(v) => (RE_INFLUX_NAME.test(v) ? undefined : "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit")]);
export const apiKey = unsetIfEmpty(secretText(1, "token", "is a placeholder, not a real key"));
export const freeText = (required: boolean) => text(TEXT_MAX, required ? [nonEmpty] : [], { trim: true });
export const imageReference = text(512, [(v) => (parseImageReference(v) ? undefined : "is not an image reference Docker accepts (lower-case repository[:tag][@sha256:digest])")]);

/** Swarm node roles (homeiq:swarmNodes): `data` runs InfluxDB and the SQLite services, `apps` the rest and the dashboard. */
export const SWARM_NODE_ROLES = ["data", "apps"] as const;
export type SwarmNodeRole = (typeof SWARM_NODE_ROLES)[number];

/** One homeiq:swarmNodes entry, `hostname=role[+role][@dockerHost]`, parsed; or why it is not one. */
export function parseSwarmNode(entry: string): { hostname: string; roles: SwarmNodeRole[]; dockerHost?: string } | { problem: string } {
    const m = /^([A-Za-z0-9][A-Za-z0-9.-]{0,62})=([a-z+]+)(?:@(.+))?$/.exec(entry);
    if (!m) return { problem: "is not of the form hostname=role[+role][@dockerHost]" };
    const roles = m[2].split("+");
    const unknown = roles.filter((r) => !(SWARM_NODE_ROLES as readonly string[]).includes(r));
    if (unknown.length > 0 || roles.length === 0) return { problem: `names the role(s) ${unknown.join(", ") || "(none)"}; roles are ${SWARM_NODE_ROLES.join(" and ")}` };
    if (new Set(roles).size !== roles.length) return { problem: "names a role twice" };
    if (m[3] !== undefined) {
        const bad = dockerHostProblem(m[3]);
        if (bad) return { problem: `has a dockerHost that ${bad}` };
    }
    return { hostname: m[1], roles: roles as SwarmNodeRole[], ...(m[3] !== undefined ? { dockerHost: m[3] } : {}) };
}

/** An IPv4 subnet from /8 to /28 (the swarm overlay's), or why not. */
export function cidrProblem(v: string): string | undefined {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
    if (!m) return "is not an IPv4 subnet such as 10.243.0.0/24";
    if (m.slice(1, 5).some((o) => Number(o) > 255)) return "has an octet above 255";
    if (Number(m[5]) < 8 || Number(m[5]) > 28) return "has a prefix length outside /8 to /28";
    const ip = m.slice(1, 5).reduce((a, o) => a * 256 + Number(o), 0);
    if (ip % 2 ** (32 - Number(m[5])) !== 0) return "has host bits set (write the network address)";
    return undefined;
}
/** What scripts/schedule/lib.sh valid_when accepts, and "off" (test/unit/scriptRules.test.ts holds them together). */
export const RE_SCHEDULE = /^(off|daily ([01][0-9]|2[0-3]):[0-5][0-9]|monthly ([1-9]|1[0-9]|2[0-8]) ([01][0-9]|2[0-3]):[0-5][0-9]|every ([1-9][0-9]{0,2}|1[0-3][0-9]{2}|14[0-3][0-9]|1440))$/;
export const SCHEDULE_ALLOWED = "'daily HH:MM', 'monthly D HH:MM' (D from 1 to 28), 'every N' (minutes, 1-1440), all in the Docker host's time, or 'off'";
export const schedule: Rule = (v) => (RE_SCHEDULE.test(v) ? undefined : "is not a schedule");
/** A restic repository as scripts/backup/copy.sh accepts it. */
export const resticRepository: Rule = (v) =>
    /^(\/|sftp:|rest:|s3:|b2:|azure:|gs:|rclone:)\S+$/.test(v) ? (v.startsWith("/") && v.split("/").includes("..") ? "must not contain '..'" : undefined) : "is not a restic repository";
export const webhookUrl: Rule = (v) => (/^https?:\/\/\S+$/.test(v) ? undefined : "is not an http:// or https:// URL without spaces");
