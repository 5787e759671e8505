/**
 * Each config key on its own: its zod schema (how a value is normalised and checked), what it
 * accepts in words, and an example value for fix commands. parseFields runs every key's schema and
 * reports each failure as a problem; the checks that span keys are config/schema.ts's.
 *
 * Every bound comes from config/rules.ts, where each names the consumer it mirrors (a script, the
 * docker provider, the engine). A value is normalised first (where a normal form exists: trimmed
 * text, a tidy path), then checked, and the normalised value is what gets deployed; values with no
 * normal form (URLs, tokens, paths) are refused when they have spaces around them.
 */
import * as path from "path";
import { z } from "zod";
import { isPlaceholderCredential } from "../catalog/placeholderCredentials";
import { SERVICE_CATALOG, SERVICE_KEYS } from "../catalog/services";
import { PROFILES } from "../stacks";
import { CONFIG_KEYS, isSecretKey, type ConfigKey } from "./keys";
import { fixCommand, Problems } from "./problems";
import {
    BACKUP_KEEP_MAX,
    COUNTER_MAX,
    CPUS,
    forbiddenCharacter,
    GROUP_ID_MAX,
    MAX_OPEN_FILES,
    HEALTH_WAIT_SECONDS,
    HOST,
    LIST_MAX,
    MEMORY_MIB,
    MEMORY_RESERVATION_MIB,
    parseImageReference,
    PATH_MAX,
    PORT,
    RE_URL_PASSWORD,
    RE_BACKUP_PATH,
    RE_INFLUX_NAME,
    RETENTION_DAYS_MAX,
    SECRET_MAX,
    TEXT_MAX,
    UNIX_SOCKET_PATH_MAX,
    URL_MAX,
} from "./rules";

/** A secret value is refused when it is an old placeholder, or an unfilled `<…>` from an example command. */
export function isPlaceholderSecret(value: string): boolean {
    return isPlaceholderCredential(value) || /^<.*>$/.test(value.trim());
}

/** The shortest influxdbAdminToken accepted (scripts/migrate/from-compose.sh uses the same bound). */
export const MIN_TOKEN_LENGTH = 24;
export const BUILT_SERVICES = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].image.kind === "built");
export const RESOURCE_FIELDS = ["memoryMiB", "memoryReservationMiB", "cpus"] as const;
export type ResourceField = (typeof RESOURCE_FIELDS)[number];

// ---- field schemas --------------------------------------------------------------------------

/** A rule on a (normalised) string: the problem, or undefined when the value passes. */
type Rule = (value: string) => string | undefined;

/**
 * A string key: no control or invisible character, at most `max` characters, then `rules` in
 * order (the first failure is reported). With `trim`, surrounding spaces are removed first (and the
 * trimmed value is what deploys); without it they are refused.
 */
function text(max: number, rules: readonly Rule[], options: { trim?: boolean } = {}) {
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
const integer = (min: number, max: number, belowMin = `must be ${min} or more`) =>
    z.preprocess(
        (v) => (typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
        z
            .number({ error: "must be a whole number" })
            .min(min, { error: belowMin, abort: true })
            .max(max, { error: `must be at most ${max}`, abort: true })
            .int({ error: "must be a whole number" }),
    );

/** Pulumi passes arrays as JSON text. Entries are trimmed (and deployed trimmed). */
const list = (entryMax: number) =>
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

const nonEmpty: Rule = (v) => (v.length === 0 ? "must not be empty" : undefined);

/** A password (spaces inside allowed) or a token (one word). */
const secretText = (minLength: number, kind: "password" | "token", placeholderMessage: string) =>
    text(SECRET_MAX, [
        (v) => (v.length < minLength ? `must be at least ${minLength} characters` : undefined),
        (v) => (kind === "token" && /\s/.test(v) ? "contains a space; a token or key is one word" : undefined),
        (v) => (isPlaceholderSecret(v) ? placeholderMessage : undefined),
    ]);

export const withPort = (port: string | undefined): string | undefined =>
    port !== undefined && (Number(port) < PORT.min || Number(port) > PORT.max) ? `has port ${port}, outside ${PORT.min}-${PORT.max}` : undefined;

function dockerHostProblem(v: string): string | undefined {
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

function homeAssistantUrlProblem(v: string): string | undefined {
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
const tidyPath = (v: string): string => (v === "/" ? v : path.posix.normalize(v).replace(/\/+$/, ""));
const noDotDot: Rule = (v) => (v.split("/").includes("..") ? "must not contain '..'" : undefined);

/** A folder the backup scripts accept (RE_BACKUP_PATH); with `home`, also `~` or `~/…` (resolved by the script). */
function backupPath(home: boolean) {
    return text(
        PATH_MAX,
        [
            (v) => {
                const rest = home && (v === "~" || v.startsWith("~/")) ? `/${v.slice(2)}` : v;
                if (RE_BACKUP_PATH.test(rest)) return undefined;
                return home
                    ? "must be an absolute path (or ~/...) of letters, digits and _ . / + - only"
                    : "must be an absolute path of letters, digits and _ . / + - only";
            },
            noDotDot,
        ],
    ).transform((v) => (v === "~" ? v : v.startsWith("~/") ? `~${tidyPath(v.slice(1))}` : tidyPath(v)));
}

const decimal = (min: number, max: number) =>
    text(32, [(v) => (/^-?\d{1,3}(\.\d{1,10})?$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `must be a decimal number between ${min} and ${max}`)], {
        trim: true,
    });

/** "" means "not set" for optional keys (Pulumi needs a default for them; config/keys.ts gives ""). */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

const influxName = text(63, [(v) => (RE_INFLUX_NAME.test(v) ? undefined : "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit")]);
const apiKey = unsetIfEmpty(secretText(1, "token", "is a placeholder, not a real key"));
const freeText = (required: boolean) => text(TEXT_MAX, required ? [nonEmpty] : [], { trim: true });
const imageReference = text(512, [(v) => (parseImageReference(v) ? undefined : "is not an image reference Docker accepts (lower-case repository[:tag][@sha256:digest])")]);

/**
 * Every key's schema. Defaults are not here: they live in config/keys.ts (and Pulumi.yaml), and
 * parseStackConfig applies them first, as the Pulumi CLI does.
 */
export const CONFIG_FIELDS = {
    profile: text(TEXT_MAX, [(v) => (Object.hasOwn(PROFILES, v) ? undefined : "is not a known profile")]),
    dockerHost: text(URL_MAX, [dockerHostProblem]),
    imageSource: z.enum(["build", "registry"], { error: "must be build or registry" }),
    homeiqCheckoutPath: unsetIfEmpty(text(PATH_MAX, [(v) => (v.startsWith("/") ? undefined : "must be an absolute path"), noDotDot]).transform(tidyPath)),
    imageReferences: list(512),
    influxdbImage: imageReference,
    dockerApiProxyBaseImage: imageReference,
    rebuildGeneration: integer(0, COUNTER_MAX),
    homeAssistantUrl: text(URL_MAX, [homeAssistantUrlProblem]),
    homeAssistantToken: secretText(20, "token", "is a placeholder, not a real token"),
    influxdbUsername: influxName,
    influxdbOrg: influxName,
    influxdbBucket: influxName,
    influxdbRetentionDays: integer(0, RETENTION_DAYS_MAX, "must be 0 (forever) or more"),
    influxdbAdminPassword: unsetIfEmpty(secretText(12, "password", "is a placeholder credential from the old compose files")),
    // Its placeholder and length rules depend on acceptPlaceholderInfluxdbToken: checked in parseStackConfig.
    influxdbAdminToken: unsetIfEmpty(text(SECRET_MAX, [(v) => (/\s/.test(v) ? "contains a space; a token or key is one word" : undefined)])),
    acceptPlaceholderInfluxdbToken: z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean({ error: "must be true or false" })),
    jwtSecret: unsetIfEmpty(secretText(32, "token", "is a placeholder credential from the old compose files")),
    adminPassword: unsetIfEmpty(secretText(12, "password", "is a placeholder credential from the old compose files")),
    dataApiKey: unsetIfEmpty(secretText(24, "token", "is a placeholder credential from the old compose files")),
    weatherApiKey: apiKey,
    wattTimeApiToken: apiKey,
    pricingApiKey: apiKey,
    airnowApiKey: apiKey,
    googleClientSecret: apiKey,
    googleRefreshToken: apiKey,
    meterApiToken: apiKey,
    sportsApiKey: apiKey,
    weatherLocation: freeText(true),
    gridRegion: freeText(true),
    pricingProvider: freeText(true),
    latitude: decimal(-90, 90),
    longitude: decimal(-180, 180),
    googleClientId: freeText(false),
    meterType: freeText(true),
    meterDeviceId: freeText(false),
    sportsApiProvider: freeText(true),
    hostPorts: list(TEXT_MAX),
    dashboardBindAddress: unsetIfEmpty(z.union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address such as 127.0.0.1 or 0.0.0.0" })),
    corsOrigins: list(TEXT_MAX),
    resourceOverrides: list(TEXT_MAX),
    disabledServices: list(TEXT_MAX),
    backupRoot: unsetIfEmpty(backupPath(true)),
    backupKeep: integer(1, BACKUP_KEEP_MAX, "must keep at least 1 backup"),
    backupRequest: integer(0, COUNTER_MAX),
    restoreFrom: unsetIfEmpty(backupPath(false).refine((v) => !v.endsWith(".partial"), { error: "names an unfinished (.partial) backup" })),
    postDeployValidation: z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean({ error: "must be true or false" })),
    healthWaitTimeoutSeconds: integer(HEALTH_WAIT_SECONDS.min, HEALTH_WAIT_SECONDS.max, "must be a positive number of seconds"),
    dockerSocketGroupId: unsetIfEmpty(text(10, [(v) => (/^\d+$/.test(v) && Number(v) <= GROUP_ID_MAX ? undefined : `must be a numeric group id from 0 to ${GROUP_ID_MAX}`)]).transform(Number)),
    maxOpenFiles: unsetIfEmpty(
        text(8, [(v) => (/^\d+$/.test(v) && Number(v) >= MAX_OPEN_FILES.min && Number(v) <= MAX_OPEN_FILES.max ? undefined : `must be a whole number from ${MAX_OPEN_FILES.min} to ${MAX_OPEN_FILES.max}`)]).transform(Number),
    ),
} satisfies Record<ConfigKey, z.ZodType>;

/** The whole stack config as one zod object (field level); cross-key checks run in parseStackConfig. */
export const StackConfigSchema = z.object(CONFIG_FIELDS).strict();
export type Fields = { [K in ConfigKey]: z.output<(typeof CONFIG_FIELDS)[K]> };

/** What each key accepts. */
export const ALLOWED: Record<ConfigKey, string> = {
    profile: `one of: ${Object.keys(PROFILES).join(", ")}`,
    dockerHost: `unix:///path (at most ${UNIX_SOCKET_PATH_MAX} characters), ssh://user@host[:port] (no password: use an SSH key) or tcp://host:port`,
    imageSource: "build or registry",
    homeiqCheckoutPath: `the absolute path of your HomeIQ checkout, without '..' (at most ${PATH_MAX} characters)`,
    imageReferences: `one 'service=repository@sha256:<64 hex>' entry for each of the ${BUILT_SERVICES.length} built services, repository in lower case`,
    influxdbImage: "an image reference such as influxdb:2.7, pinned with @sha256:<64 hex> for imageSource=registry",
    dockerApiProxyBaseImage: "a Debian 12 (bookworm) image reference such as debian:bookworm-slim",
    rebuildGeneration: `a whole number from 0 to ${COUNTER_MAX}, raised by one for each clean rebuild`,
    homeAssistantUrl: "the http://, https://, ws:// or wss:// base URL of your Home Assistant, without user, password, query or fragment",
    homeAssistantToken: `a long-lived access token from your Home Assistant profile page (20-${SECRET_MAX} characters, one word)`,
    influxdbUsername: "1-63 letters, digits, '_', '.' or '-', starting with a letter or digit",
    influxdbOrg: "1-63 letters, digits, '_', '.' or '-', starting with a letter or digit",
    influxdbBucket: "1-63 letters, digits, '_', '.' or '-', starting with a letter or digit",
    influxdbRetentionDays: `0 (keep forever) or 1-${RETENTION_DAYS_MAX} days`,
    influxdbAdminPassword: `12-${SECRET_MAX} characters, not an old placeholder; or unset to generate one`,
    influxdbAdminToken: `24-${SECRET_MAX} characters in one word, not an old placeholder; or unset to generate one`,
    jwtSecret: `32-${SECRET_MAX} characters in one word; or unset to generate one`,
    adminPassword: `12-${SECRET_MAX} characters, not an old placeholder; or unset to generate one`,
    dataApiKey: `24-${SECRET_MAX} characters in one word; or unset to generate one`,
    weatherApiKey: `the provider's key (one word, at most ${SECRET_MAX} characters), or unset`,
    wattTimeApiToken: `the provider's token (one word, at most ${SECRET_MAX} characters), or unset`,
    pricingApiKey: `the provider's key (one word, at most ${SECRET_MAX} characters), or unset`,
    airnowApiKey: `the provider's key (one word, at most ${SECRET_MAX} characters), or unset`,
    googleClientSecret: `the OAuth client secret (one word, at most ${SECRET_MAX} characters), or unset`,
    googleRefreshToken: `the OAuth refresh token (one word, at most ${SECRET_MAX} characters), or unset`,
    meterApiToken: `the meter's API token (one word, at most ${SECRET_MAX} characters), or unset`,
    sportsApiKey: `the provider's key (one word, at most ${SECRET_MAX} characters), or unset`,
    weatherLocation: `a place name (1-${TEXT_MAX} characters)`,
    gridRegion: `a WattTime region (1-${TEXT_MAX} characters)`,
    pricingProvider: `a provider name (1-${TEXT_MAX} characters)`,
    latitude: "decimal degrees between -90 and 90",
    longitude: "decimal degrees between -180 and 180",
    googleClientId: `the OAuth client id (at most ${TEXT_MAX} characters), or unset`,
    meterType: `a meter type (1-${TEXT_MAX} characters)`,
    meterDeviceId: `the meter's device id (at most ${TEXT_MAX} characters), or unset`,
    sportsApiProvider: `a provider name (1-${TEXT_MAX} characters)`,
    hostPorts: `'service=port' entries, one per deployed service, port ${PORT.min}-${PORT.max}`,
    dashboardBindAddress: "an IPv4 or IPv6 address of the Docker host, such as 127.0.0.1 or 0.0.0.0",
    corsOrigins: "lower-case origins scheme://host[:port], one per entry, no path, no default port",
    resourceOverrides: `'service:memoryMiB=N' (${MEMORY_MIB.min}-${MEMORY_MIB.max}), 'service:memoryReservationMiB=N' (${MEMORY_RESERVATION_MIB.min}-${MEMORY_RESERVATION_MIB.max}) or 'service:cpus=N' (${CPUS.min}-${CPUS.max}) entries, one per service and field`,
    disabledServices: `'service=reason' entries with a reason of 1-${TEXT_MAX} characters, one per service`,
    backupRoot: "an absolute path (or ~/...) of letters, digits and _ . / + - only, without '..'",
    backupKeep: `a whole number from 1 to ${BACKUP_KEEP_MAX}`,
    backupRequest: `a whole number from 0 to ${COUNTER_MAX}, raised by one for each backup`,
    restoreFrom: "the absolute path of a complete backup folder (letters, digits and _ . / + - only)",
    postDeployValidation: "true or false",
    acceptPlaceholderInfluxdbToken: "true or false (true only while influxdbAdminToken is a placeholder carried over from a compose deployment)",
    healthWaitTimeoutSeconds: `whole seconds from ${HEALTH_WAIT_SECONDS.min} to ${HEALTH_WAIT_SECONDS.max}`,
    dockerSocketGroupId: `the numeric group id (0-${GROUP_ID_MAX}) owning the Docker socket on the Docker host`,
    maxOpenFiles: `a whole number from ${MAX_OPEN_FILES.min} to ${MAX_OPEN_FILES.max}: the engine's own hard limit for open files (ulimit -Hn of dockerd)`,
};

/**
 * A value that passes validation, for each key's fix command. Secrets have none: their fix
 * prompts for the value. Array keys give one entry.
 */
export const EXAMPLE: Record<ConfigKey, string | undefined> = {
    profile: "prod",
    dockerHost: "unix:///var/run/docker.sock",
    imageSource: "build",
    homeiqCheckoutPath: "/srv/homeiq",
    imageReferences: "data-api=registry.example/homeiq/data-api@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    influxdbImage: "influxdb:2.7",
    dockerApiProxyBaseImage: "debian:bookworm-slim",
    rebuildGeneration: "1",
    homeAssistantUrl: "http://homeassistant.local:8123",
    homeAssistantToken: undefined,
    influxdbUsername: "admin",
    influxdbOrg: "homeiq",
    influxdbBucket: "home_assistant_events",
    influxdbRetentionDays: "365",
    influxdbAdminPassword: undefined,
    influxdbAdminToken: undefined,
    jwtSecret: undefined,
    adminPassword: undefined,
    dataApiKey: undefined,
    weatherApiKey: undefined,
    wattTimeApiToken: undefined,
    pricingApiKey: undefined,
    airnowApiKey: undefined,
    googleClientSecret: undefined,
    googleRefreshToken: undefined,
    meterApiToken: undefined,
    sportsApiKey: undefined,
    weatherLocation: "Las Vegas,NV,US",
    gridRegion: "CAISO_NORTH",
    pricingProvider: "awattar",
    latitude: "36.1699",
    longitude: "-115.1398",
    googleClientId: "",
    meterType: "generic",
    meterDeviceId: "",
    sportsApiProvider: "espn",
    hostPorts: "health-dashboard=3000",
    dashboardBindAddress: "0.0.0.0",
    corsOrigins: "http://homeiq.lan:3000",
    resourceOverrides: "data-api:memoryMiB=768",
    disabledServices: "calendar=no Google account in this home",
    backupRoot: "/srv/homeiq-backups",
    backupKeep: "7",
    backupRequest: "1",
    restoreFrom: "/srv/homeiq-backups/prod/20261127T101500Z",
    postDeployValidation: "false",
    acceptPlaceholderInfluxdbToken: "false",
    healthWaitTimeoutSeconds: "180",
    // Empty means "not set"; the group owning the socket is found on the Docker host with getent.
    dockerSocketGroupId: "$(getent group docker | cut -d: -f3)",
    maxOpenFiles: "65536",
};

/** The fix for a key whose value is wrong as a whole. */
function setExample(key: ConfigKey): string {
    if (isSecretKey(key)) return fixCommand.setSecret(key);
    if (CONFIG_KEYS[key].type === "array") return fixCommand.rm(key);
    if (key === "dockerSocketGroupId") return `pulumi config set homeiq:dockerSocketGroupId "${EXAMPLE.dockerSocketGroupId}"`;
    return fixCommand.set(key, EXAMPLE[key] ?? "");
}

export function parseFields(raw: Readonly<Record<string, unknown>>, problems: Problems): Partial<Fields> {
    const parsed: Partial<Fields> = {};
    for (const key of Object.keys(CONFIG_FIELDS) as ConfigKey[]) {
        const result = CONFIG_FIELDS[key].safeParse(raw[key]);
        if (result.success) {
            (parsed as Record<string, unknown>)[key] = result.data;
            continue;
        }
        // zod still runs length checks on a value of the wrong type: the type is the one problem then.
        const wrongType = result.error.issues.find((i) => i.code === "invalid_type" && i.path.length === 0);
        for (const issue of wrongType ? [wrongType] : result.error.issues) {
            const index = typeof issue.path[0] === "number" ? issue.path[0] : undefined;
            const value = index === undefined ? raw[key] : asList(raw[key])[index];
            const message = raw[key] === undefined && issue.code === "invalid_type" ? "is required but not set" : issue.message;
            const fix =
                index !== undefined
                    ? fixCommand.rmAt(key, index)
                    : issue.code === "too_big" && CONFIG_KEYS[key].type === "array"
                      ? fixCommand.rmAt(key, asList(raw[key]).length - 1)
                      : setExample(key);
            problems.add(key, index, value, message, ALLOWED[key], fix);
        }
    }
    return parsed;
}

export function asList(value: unknown): unknown[] {
    if (Array.isArray(value)) return value;
    try {
        const parsed: unknown = typeof value === "string" ? JSON.parse(value) : undefined;
        return Array.isArray(parsed) ? parsed : [];
    } catch {
        return [];
    }
}
