/**
 * The one schema of a stack's configuration.
 *
 * `parseStackConfig` takes the raw `homeiq:*` values exactly as Pulumi hands them to a program
 * (strings; arrays as JSON text), parses every key with its zod schema, then runs the checks that
 * span keys (port collisions, CORS against the profile, memory against reservation, dependencies on
 * disabled services, values no enabled service reads). It returns every problem at once, or a fully
 * resolved config.
 *
 * Every bound comes from config/rules.ts, where each names the consumer it mirrors (a script, the
 * docker provider, the engine). A value is normalised first (where a normal form exists: trimmed
 * text, a tidy path), then checked, and the normalised value is what gets deployed; values with no
 * normal form (URLs, tokens, paths) are refused when they have spaces around them.
 */
import * as path from "path";
import { z } from "zod";
import { isPlaceholderCredential } from "../catalog/placeholderCredentials";
import { SERVICE_CATALOG, SERVICE_KEYS, isServiceKey, startOrder, type EnvironmentGroup, type ServiceKey } from "../catalog/services";
import { PROFILES } from "../stacks";
import type { ServiceResources, StackProfile } from "../stacks/profile";
import { checkKeyNames } from "./keyNames";
import { CONFIG_KEYS, configDefaults, isSecretKey, type ConfigKey } from "./keys";
import { fixCommand, Problems, shellQuote, showValue, type ConfigProblem } from "./problems";
import {
    BACKUP_KEEP_MAX,
    COUNTER_MAX,
    CPUS,
    forbiddenCharacter,
    GROUP_ID_MAX,
    HEALTH_WAIT_SECONDS,
    HOST,
    HOSTNAME,
    IPV6_BRACKETED,
    LIST_MAX,
    MEMORY_MIB,
    MEMORY_RESERVATION_MIB,
    parseImageReference,
    PATH_MAX,
    PORT,
    RE_BACKUP_PATH,
    RE_INFLUX_NAME,
    RE_STACK_NAME,
    RE_URL_PASSWORD,
    RETENTION_DAYS_MAX,
    SECRET_MAX,
    STACK_NAME_MAX,
    TEXT_MAX,
    UNIX_SOCKET_PATH_MAX,
    URL_MAX,
} from "./rules";

export { formatProblems, type ConfigProblem } from "./problems";

/** A secret value is refused when it is an old placeholder, or an unfilled `<…>` from an example command. */
export function isPlaceholderSecret(value: string): boolean {
    return isPlaceholderCredential(value) || /^<.*>$/.test(value.trim());
}

/** The shortest influxdbAdminToken accepted (scripts/migrate/from-compose.sh uses the same bound). */
export const MIN_TOKEN_LENGTH = 24;
const BUILT_SERVICES = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].image.kind === "built");
const RESOURCE_FIELDS = ["memoryMiB", "memoryReservationMiB", "cpus"] as const;
type ResourceField = (typeof RESOURCE_FIELDS)[number];

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

const withPort = (port: string | undefined): string | undefined =>
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
} satisfies Record<ConfigKey, z.ZodType>;

/** The whole stack config as one zod object (field level); cross-key checks run in parseStackConfig. */
export const StackConfigSchema = z.object(CONFIG_FIELDS).strict();
type Fields = { [K in ConfigKey]: z.output<(typeof CONFIG_FIELDS)[K]> };

/** What each key accepts. */
const ALLOWED: Record<ConfigKey, string> = {
    profile: `one of: ${Object.keys(PROFILES).join(", ")}`,
    dockerHost: `unix:///path (at most ${UNIX_SOCKET_PATH_MAX} characters), ssh://user@host[:port] (no password: use an SSH key) or tcp://host:port`,
    imageSource: "build or registry",
    homeiqCheckoutPath: `the absolute path of your HomeIQ checkout, without '..' (at most ${PATH_MAX} characters)`,
    imageReferences: "one 'service=repository@sha256:<64 hex>' entry for each of the 13 built services, repository in lower case",
    influxdbImage: "an image reference such as influxdb:2.7, pinned with @sha256:<64 hex> for imageSource=registry",
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
};

/**
 * A value that passes validation, for each key's fix command. Secrets have none: their fix
 * prompts for the value. Array keys give one entry.
 */
const EXAMPLE: Record<ConfigKey, string | undefined> = {
    profile: "prod",
    dockerHost: "unix:///var/run/docker.sock",
    imageSource: "build",
    homeiqCheckoutPath: "/srv/homeiq",
    imageReferences: "data-api=registry.example/homeiq/data-api@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    influxdbImage: "influxdb:2.7",
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
};

/** The fix for a key whose value is wrong as a whole. */
function setExample(key: ConfigKey): string {
    if (isSecretKey(key)) return fixCommand.setSecret(key);
    if (CONFIG_KEYS[key].type === "array") return fixCommand.rm(key);
    if (key === "dockerSocketGroupId") return `pulumi config set homeiq:dockerSocketGroupId "${EXAMPLE.dockerSocketGroupId}"`;
    return fixCommand.set(key, EXAMPLE[key] ?? "");
}

// ---- resolved config ------------------------------------------------------------------------

export type ImageSettings =
    | { readonly source: "build"; readonly checkoutPath: string; readonly influxdbImage: string }
    | {
          readonly source: "registry";
          readonly references: Readonly<Partial<Record<ServiceKey, string>>>;
          readonly influxdbImage: string;
      };

export interface ResolvedService {
    readonly key: ServiceKey;
    readonly enabled: boolean;
    readonly disabledReason?: string;
    readonly hostPort: number;
    readonly bindAddress: string;
    readonly resources: ServiceResources;
}

/** Secret config values, still plain here; components wrap them with pulumi.secret before use. */
export type SecretSettings = Readonly<Partial<Record<
    | "homeAssistantToken"
    | "influxdbAdminPassword"
    | "influxdbAdminToken"
    | "jwtSecret"
    | "adminPassword"
    | "dataApiKey"
    | "weatherApiKey"
    | "wattTimeApiToken"
    | "pricingApiKey"
    | "airnowApiKey"
    | "googleClientSecret"
    | "googleRefreshToken"
    | "meterApiToken"
    | "sportsApiKey",
    string
>>>;

export interface StackConfig {
    readonly profileName: string;
    readonly profile: StackProfile;
    readonly dockerHost: string;
    readonly images: ImageSettings;
    readonly rebuildGeneration: number;
    readonly homeAssistantUrl: string;
    readonly influxdb: {
        readonly username: string;
        readonly org: string;
        readonly bucket: string;
        readonly retentionDays: number;
        /** influxdbAdminToken is an old placeholder (or short) carried over on purpose: warn on every run. */
        readonly placeholderTokenAccepted: boolean;
    };
    readonly secrets: SecretSettings;
    readonly integrations: {
        readonly weatherLocation: string;
        readonly gridRegion: string;
        readonly pricingProvider: string;
        readonly latitude: string;
        readonly longitude: string;
        readonly googleClientId: string;
        readonly meterType: string;
        readonly meterDeviceId: string;
        readonly sportsApiProvider: string;
    };
    readonly services: Readonly<Record<ServiceKey, ResolvedService>>;
    readonly corsOrigins: readonly string[];
    readonly healthWaitTimeoutSeconds: number;
    readonly postDeployValidation: boolean;
    readonly dockerSocketGroupId?: number;
    readonly backups: {
        /** Absolute folder or `~/…` (the backup script resolves `~` where it runs); undefined for the default. */
        readonly root?: string;
        readonly keep: number;
        readonly request: number;
        readonly restoreFrom?: string;
    };
}

export type ParseResult = { ok: true; config: StackConfig } | { ok: false; problems: ConfigProblem[] };

export interface ParseOptions {
    /** The stack's name, checked as Docker names need it (every name this program makes starts with it). */
    readonly stack?: string;
    /** Config of other namespaces (`docker:host`, `homeIQ:profile`, ...): look-alikes of homeiq are refused. */
    readonly otherValues?: Readonly<Record<string, unknown>>;
    /** Full keys whose values are secrets: never repeated in a fix command. */
    readonly secretKeys?: readonly string[];
}

// ---- parsing --------------------------------------------------------------------------------

function parseFields(raw: Readonly<Record<string, unknown>>, problems: Problems): Partial<Fields> {
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

function asList(value: unknown): unknown[] {
    if (Array.isArray(value)) return value;
    try {
        const parsed: unknown = typeof value === "string" ? JSON.parse(value) : undefined;
        return Array.isArray(parsed) ? parsed : [];
    } catch {
        return [];
    }
}

interface Entry {
    readonly index: number;
    readonly service: ServiceKey;
    readonly field?: string;
    readonly value: string;
    readonly raw: string;
}

/**
 * Splits the `service=value` (or `service:field=value`) entries of a list key, spaces around the
 * parts removed. Malformed entries, unknown services and a second entry for the same service (and
 * field) are reported; with `disabled`, so is an entry for a service the stack does not deploy.
 */
function entries(problems: Problems, key: ConfigKey, list: readonly string[], disabled?: ReadonlyMap<ServiceKey, string>): Entry[] {
    const out: Entry[] = [];
    const seen = new Map<string, number>();
    list.forEach((raw, index) => {
        const m = /^([a-z0-9-]+)\s*(?::\s*([A-Za-z]+)\s*)?=\s*(.*)$/.exec(raw);
        if (!m) {
            problems.add(key, index, raw, `is not of the form ${key === "resourceOverrides" ? "service:field=value" : "service=value"}`, ALLOWED[key], fixCommand.setAt(key, index, EXAMPLE[key]!));
            return;
        }
        const [, service, field, value] = m;
        if (field !== undefined && key !== "resourceOverrides") {
            problems.add(key, index, raw, "is not of the form service=value", ALLOWED[key], fixCommand.setAt(key, index, EXAMPLE[key]!));
            return;
        }
        if (!isServiceKey(service)) {
            problems.add(key, index, raw, `names a service that does not exist: '${service}'`, `one of: ${SERVICE_KEYS.join(", ")}`, fixCommand.setAt(key, index, EXAMPLE[key]!));
            return;
        }
        const id = field === undefined ? service : `${service}:${field}`;
        const first = seen.get(id);
        if (first !== undefined) {
            problems.add(key, index, raw, `gives ${id} a second time (first in entry ${first}); the last one would silently win`, `one entry per ${field === undefined ? "service" : "service and field"}`, fixCommand.rmAt(key, index));
            return;
        }
        seen.set(id, index);
        if (disabled?.has(service)) {
            problems.add(key, index, raw, `sets ${service}, which this stack disables (homeiq:disabledServices): it would be silently ignored`, "entries for deployed services only", fixCommand.rmAt(key, index));
            return;
        }
        out.push({ index, service, field, value: value.trim(), raw });
    });
    return out;
}

/**
 * Keys that only some services read: set to anything but the default while none of them is
 * deployed, the value would be silently ignored.
 */
const READERS: Partial<Record<ConfigKey, ReadonlyArray<EnvironmentGroup | ServiceKey>>> = {
    weatherApiKey: ["weather"],
    weatherLocation: ["weather"],
    wattTimeApiToken: ["carbon-intensity"],
    gridRegion: ["carbon-intensity"],
    pricingApiKey: ["electricity-pricing"],
    pricingProvider: ["electricity-pricing"],
    airnowApiKey: ["air-quality"],
    latitude: ["air-quality"],
    longitude: ["air-quality"],
    googleClientId: ["calendar"],
    googleClientSecret: ["calendar"],
    googleRefreshToken: ["calendar"],
    meterType: ["smart-meter"],
    meterApiToken: ["smart-meter"],
    meterDeviceId: ["smart-meter"],
    sportsApiKey: ["sports"],
    sportsApiProvider: ["sports"],
    corsOrigins: ["cors"],
    jwtSecret: ["admin-auth"],
    adminPassword: ["admin-auth"],
    dataApiKey: ["data-api-auth"],
    influxdbUsername: ["influxdb-server"],
    influxdbAdminPassword: ["influxdb-server"],
    influxdbRetentionDays: ["influxdb-server"],
    influxdbOrg: ["influxdb-server", "influxdb-client"],
    influxdbBucket: ["influxdb-server", "influxdb-client"],
    influxdbAdminToken: ["influxdb-server", "influxdb-client"],
    dashboardBindAddress: ["health-dashboard"],
    dockerSocketGroupId: ["admin-api"],
};

const readBy = (key: ConfigKey, service: ServiceKey): boolean =>
    (READERS[key] ?? []).some((r) => r === service || (SERVICE_CATALOG[service].environmentGroups as readonly string[]).includes(r));

/** The problem with a stack name that cannot start Docker names, with a suggestion; undefined when it can. */
export function stackNameProblem(stack: string): ConfigProblem | undefined {
    if (RE_STACK_NAME.test(stack) && stack.length <= STACK_NAME_MAX) return undefined;
    const suggestion =
        stack
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, "-")
            .replace(/^-+|-+$/g, "")
            .slice(0, STACK_NAME_MAX)
            .replace(/-+$/, "") || "homeiq";
    return {
        key: "stack name",
        value: showValue("stack name", stack),
        problem: "cannot start Docker names: every container, volume and image name of the stack starts with it",
        allowed: `1-${STACK_NAME_MAX} lower-case letters and digits, single '.', '_' or '-' between them`,
        fix: `pulumi stack rename ${shellQuote(suggestion)}`,
    };
}

/** Parses and cross-checks the raw `homeiq:*` config. Never throws for bad input. */
export function parseStackConfig(stackValues: Readonly<Record<string, unknown>>, options: ParseOptions = {}): ParseResult {
    const problems = new Problems();
    const badStackName = options.stack === undefined ? undefined : stackNameProblem(options.stack);
    if (badStackName) problems.list.push(badStackName);
    const defaults = configDefaults();
    const raw: Record<string, unknown> = { ...defaults, ...stackValues };
    const isSet = (key: ConfigKey): boolean => stackValues[key] !== undefined && comparable(stackValues[key]) !== comparable(defaults[key] ?? "");
    checkKeyNames(problems, {
        ownKeys: Object.keys(stackValues),
        otherKeys: Object.keys(options.otherValues ?? {}),
        isSet,
        valueFor: (key, wrongKey) => {
            if (options.secretKeys?.includes(wrongKey)) return EXAMPLE[key];
            const given = wrongKey.startsWith("homeiq:") ? stackValues[wrongKey.slice("homeiq:".length)] : options.otherValues?.[wrongKey];
            const v = CONFIG_KEYS[key].type === "array" ? asList(given)[0] : given;
            return typeof v === "string" && CONFIG_FIELDS[key].safeParse(CONFIG_KEYS[key].type === "array" ? JSON.stringify([v]) : v).success ? v : EXAMPLE[key];
        },
    });
    const f = parseFields(raw, problems);
    const profile = f.profile !== undefined ? PROFILES[f.profile] : undefined;

    // Images.
    let images: ImageSettings | undefined;
    if (f.imageSource === "build") {
        if (raw.homeiqCheckoutPath === undefined || raw.homeiqCheckoutPath === "") {
            problems.add("homeiqCheckoutPath", undefined, undefined, "is required when imageSource is build", ALLOWED.homeiqCheckoutPath, fixCommand.set("homeiqCheckoutPath", EXAMPLE.homeiqCheckoutPath!));
        } else if (f.homeiqCheckoutPath !== undefined && f.influxdbImage !== undefined) {
            images = { source: "build", checkoutPath: f.homeiqCheckoutPath, influxdbImage: f.influxdbImage };
        }
    } else if (f.imageSource === "registry" && f.influxdbImage !== undefined) {
        images = registryImages(problems, f.imageReferences ?? [], f.influxdbImage);
    }

    // The InfluxDB admin token. A full restore of an old compose deployment brings back its token, often the
    // placeholder `ha-ingestor-token`: accepted only when the stack says so explicitly (scripts/migrate).
    const token = f.influxdbAdminToken;
    const acceptPlaceholder = f.acceptPlaceholderInfluxdbToken === true;
    const tokenWeakness =
        token === undefined ? undefined : isPlaceholderSecret(token) ? "is a placeholder credential from the old compose files" : token.length < MIN_TOKEN_LENGTH ? `must be at least ${MIN_TOKEN_LENGTH} characters` : undefined;
    if (tokenWeakness !== undefined && !acceptPlaceholder) {
        problems.add(
            "influxdbAdminToken",
            undefined,
            token,
            tokenWeakness,
            `a token of at least ${MIN_TOKEN_LENGTH} characters that is not an old placeholder, or unset (generated); an old one carried over from the compose files only with homeiq:acceptPlaceholderInfluxdbToken=true`,
            fixCommand.setSecret("influxdbAdminToken"),
        );
    }
    if (acceptPlaceholder && tokenWeakness === undefined) {
        problems.add(
            "acceptPlaceholderInfluxdbToken",
            undefined,
            raw.acceptPlaceholderInfluxdbToken,
            token === undefined ? "is true, but homeiq:influxdbAdminToken is not set" : "is true, but homeiq:influxdbAdminToken is no longer a placeholder (rotated?)",
            "false (the default); true only while influxdbAdminToken is a placeholder carried over from a compose deployment",
            "pulumi config rm homeiq:acceptPlaceholderInfluxdbToken",
        );
    }

    // Services: disabled entries, resources, ports.
    const disabled = new Map<ServiceKey, string>();
    const disabledIndex = new Map<ServiceKey, number>();
    for (const e of entries(problems, "disabledServices", f.disabledServices ?? [])) {
        if (e.value.length === 0) {
            problems.add("disabledServices", e.index, e.raw, "disables a service without a reason", "'service=reason' with a non-empty reason", fixCommand.setAt("disabledServices", e.index, `${e.service}=<why this stack does not run it>`));
        } else {
            disabled.set(e.service, e.value);
            disabledIndex.set(e.service, e.index);
        }
    }
    for (const key of SERVICE_KEYS) {
        if (disabled.has(key)) continue;
        for (const dep of SERVICE_CATALOG[key].dependsOn) {
            if (disabled.has(dep)) {
                const index = disabledIndex.get(dep)!;
                problems.add("disabledServices", index, (f.disabledServices ?? [])[index], `disables ${dep}, which ${key} depends on`, `disable ${key} too, or keep ${dep}`, fixCommand.rmAt("disabledServices", index));
            }
        }
    }
    const enabled = SERVICE_KEYS.filter((k) => !disabled.has(k));
    if (enabled.length === 0) {
        const keep = startOrder().find((k) => SERVICE_CATALOG[k].dependsOn.length === 0)!;
        problems.add("disabledServices", undefined, f.disabledServices, "disables every service: there would be nothing to deploy, back up or validate", "leave at least one service deployed", fixCommand.rmAt("disabledServices", disabledIndex.get(keep)!));
    }

    const resources = new Map<ServiceKey, ServiceResources>();
    if (profile) for (const key of SERVICE_KEYS) resources.set(key, { ...profile.resources[key] });
    const resourceIndex = new Map<string, number>();
    for (const e of entries(problems, "resourceOverrides", f.resourceOverrides ?? [], disabled)) {
        const field = e.field as ResourceField | undefined;
        if (!field || !(RESOURCE_FIELDS as readonly string[]).includes(field)) {
            problems.add("resourceOverrides", e.index, e.raw, `has no known field (${e.field ?? "none"})`, `'service:field=value' with field one of ${RESOURCE_FIELDS.join(", ")}`, fixCommand.setAt("resourceOverrides", e.index, `${e.service}:memoryMiB=${resources.get(e.service)?.memoryMiB ?? 512}`));
            continue;
        }
        const bounds = field === "cpus" ? CPUS : field === "memoryMiB" ? MEMORY_MIB : MEMORY_RESERVATION_MIB;
        const shape = field === "cpus" ? new RegExp(`^\\d{1,2}(\\.\\d{1,${CPUS.decimals}})?$`) : /^\d{1,7}$/;
        const n = Number(e.value);
        if (!shape.test(e.value) || n < bounds.min || n > bounds.max) {
            const what = field === "cpus" ? `cores from ${CPUS.min} to ${CPUS.max}, at most ${CPUS.decimals} decimals` : `whole MiB from ${bounds.min} to ${bounds.max}`;
            problems.add("resourceOverrides", e.index, e.raw, `sets ${field} to ${JSON.stringify(e.value)}, which is not ${what}`, what, fixCommand.setAt("resourceOverrides", e.index, `${e.service}:${field}=${profile?.resources[e.service][field] ?? bounds.min}`));
            continue;
        }
        resourceIndex.set(`${e.service}:${field}`, e.index);
        const r = resources.get(e.service);
        if (r) resources.set(e.service, { ...r, [field]: n });
    }
    for (const [key, r] of resources) {
        if (disabled.has(key) || r.memoryReservationMiB <= r.memoryMiB) continue;
        const limitAt = resourceIndex.get(`${key}:memoryMiB`);
        const reservationAt = resourceIndex.get(`${key}:memoryReservationMiB`);
        const index = limitAt ?? reservationAt;
        const fix =
            limitAt !== undefined
                ? fixCommand.setAt("resourceOverrides", limitAt, `${key}:memoryMiB=${Math.min(Math.max(r.memoryReservationMiB * 2, MEMORY_MIB.min), MEMORY_MIB.max)}`)
                : fixCommand.setAt("resourceOverrides", reservationAt ?? 0, `${key}:memoryReservationMiB=${r.memoryMiB}`);
        problems.add("resourceOverrides", index, index === undefined ? undefined : (f.resourceOverrides ?? [])[index], `gives ${key} a memory limit of ${r.memoryMiB} MiB, below its reservation of ${r.memoryReservationMiB} MiB`, "memoryMiB >= memoryReservationMiB", fix);
    }

    const hostPorts = new Map<ServiceKey, number>();
    if (profile) for (const key of SERVICE_KEYS) hostPorts.set(key, SERVICE_CATALOG[key].defaultHostPort + profile.hostPortOffset);
    const portIndex = new Map<ServiceKey, number>();
    const portEntries = entries(problems, "hostPorts", f.hostPorts ?? [], disabled);
    const freePort = (): number => {
        const used = new Set(enabled.map((k) => hostPorts.get(k)));
        let p = 20000;
        while (used.has(p)) p++;
        return p;
    };
    for (const e of portEntries) {
        const n = Number(e.value);
        if (!/^\d{1,5}$/.test(e.value) || n < PORT.min || n > PORT.max) {
            problems.add("hostPorts", e.index, e.raw, `sets a port outside ${PORT.min}-${PORT.max}`, `a whole number ${PORT.min}-${PORT.max}`, fixCommand.setAt("hostPorts", e.index, `${e.service}=${freePort()}`));
        } else {
            hostPorts.set(e.service, n);
            portIndex.set(e.service, e.index);
        }
    }
    const owner = new Map<number, ServiceKey>();
    for (const key of enabled) {
        if (!hostPorts.has(key)) continue;
        const port = hostPorts.get(key) as number;
        const first = owner.get(port);
        if (first === undefined) {
            owner.set(port, key);
            continue;
        }
        const culprit = portIndex.has(key) ? key : first;
        const index = portIndex.get(culprit);
        problems.add("hostPorts", index, index === undefined ? undefined : (f.hostPorts ?? [])[index], `puts ${first} and ${key} on the same host port ${port}`, "a distinct host port for each service", fixCommand.setAt("hostPorts", index ?? (f.hostPorts?.length ?? 0), `${culprit}=${freePort()}`));
    }

    // CORS: one origin per entry, as browsers send it, against the profile.
    const corsSeen = new Set<string>();
    const freeOrigin = (): string => {
        let n = 3000;
        while ((f.corsOrigins ?? []).includes(`http://homeiq.lan:${n}`)) n++;
        return `http://homeiq.lan:${n}`;
    };
    (f.corsOrigins ?? []).forEach((origin, index) => {
        const problem = corsProblem(origin, profile, f.profile);
        if (problem) {
            problems.add("corsOrigins", index, origin, problem, ALLOWED.corsOrigins, fixCommand.setAt("corsOrigins", index, freeOrigin()));
        } else if (corsSeen.has(origin)) {
            problems.add("corsOrigins", index, origin, "lists the same origin a second time", "each origin once", fixCommand.rmAt("corsOrigins", index));
        }
        corsSeen.add(origin);
    });
    const corsOrigins = f.corsOrigins && f.corsOrigins.length > 0 ? f.corsOrigins : (profile?.cors.origins ?? []);

    // Values no deployed service would read.
    if (disabled.size > 0) {
        for (const key of Object.keys(READERS) as ConfigKey[]) {
            if (!isSet(key) || enabled.some((s) => readBy(key, s))) continue;
            const readers = SERVICE_KEYS.filter((s) => readBy(key, s));
            problems.add(key, undefined, raw[key], `is set, but only ${readers.join(", ")} read${readers.length === 1 ? "s" : ""} it and this stack disables ${readers.length === 1 ? "it" : "them"}: it would be silently ignored`, "keys of deployed services only", fixCommand.rm(key));
        }
    }
    // Validation checks the published URLs from this machine: a port bound to loopback on a remote engine is out of its reach.
    const remote = f.dockerHost !== undefined && !f.dockerHost.startsWith("unix://") && !/^[a-z]+:\/\/(?:[^@/]*@)?(localhost|127\.0\.0\.1|\[::1\])(?::\d+)?$/.test(f.dockerHost);
    const loopback = (ip: string): boolean => ip.startsWith("127.") || ip === "::1";
    const unreachable = profile ? enabled.filter((k) => loopback(k === "health-dashboard" ? (f.dashboardBindAddress ?? profile.dashboardBindAddress) : profile.publishBindAddress)) : [];
    if (remote && f.postDeployValidation === true && unreachable.length > 0) {
        problems.add("postDeployValidation", undefined, raw.postDeployValidation, `would check ${unreachable.join(", ")} on loopback addresses of this machine, while homeiq:dockerHost runs them on another host: the checks would fail, or reach something else`, "false for a remote Docker host whose ports are bound to 127.0.0.1", fixCommand.set("postDeployValidation", "false"));
    }

    const stateful = enabled.filter((k) => SERVICE_CATALOG[k].stateful);
    if (stateful.length === 0) {
        if (f.restoreFrom !== undefined) problems.add("restoreFrom", undefined, raw.restoreFrom, "names a backup, but this stack deploys no stateful service (influxdb, data-api, sports-data) to restore it into", "a restore for a stack that deploys influxdb, data-api or sports-data", fixCommand.rm("restoreFrom"));
        if ((f.backupRequest ?? 0) > 0) problems.add("backupRequest", undefined, raw.backupRequest, "asks for a backup, but this stack deploys no stateful service (influxdb, data-api, sports-data) to back up", "a backup request for a stack that deploys influxdb, data-api or sports-data", fixCommand.rm("backupRequest"));
    }

    if (problems.list.length > 0 || !profile || !images) {
        if (problems.list.length === 0) {
            throw new Error("internal error: config failed to resolve without a reported problem");
        }
        return { ok: false, problems: problems.list };
    }

    const dashboardBind = f.dashboardBindAddress ?? profile.dashboardBindAddress;
    const services = Object.fromEntries(
        SERVICE_KEYS.map((key): [ServiceKey, ResolvedService] => [
            key,
            {
                key,
                enabled: !disabled.has(key),
                disabledReason: disabled.get(key),
                hostPort: hostPorts.get(key) as number,
                bindAddress: key === "health-dashboard" ? dashboardBind : profile.publishBindAddress,
                resources: resources.get(key) as ServiceResources,
            },
        ]),
    ) as Record<ServiceKey, ResolvedService>;

    const secretKeys = [
        "homeAssistantToken",
        "influxdbAdminPassword",
        "influxdbAdminToken",
        "jwtSecret",
        "adminPassword",
        "dataApiKey",
        "weatherApiKey",
        "wattTimeApiToken",
        "pricingApiKey",
        "airnowApiKey",
        "googleClientSecret",
        "googleRefreshToken",
        "meterApiToken",
        "sportsApiKey",
    ] as const;
    const secrets: Partial<Record<(typeof secretKeys)[number], string>> = {};
    for (const k of secretKeys) {
        const v = f[k];
        if (typeof v === "string" && v.length > 0) secrets[k] = v;
    }

    return {
        ok: true,
        config: {
            profileName: f.profile as string,
            profile,
            dockerHost: f.dockerHost as string,
            images,
            rebuildGeneration: f.rebuildGeneration as number,
            homeAssistantUrl: f.homeAssistantUrl as string,
            influxdb: {
                username: f.influxdbUsername as string,
                org: f.influxdbOrg as string,
                bucket: f.influxdbBucket as string,
                retentionDays: f.influxdbRetentionDays as number,
                placeholderTokenAccepted: acceptPlaceholder,
            },
            secrets,
            integrations: {
                weatherLocation: f.weatherLocation as string,
                gridRegion: f.gridRegion as string,
                pricingProvider: f.pricingProvider as string,
                latitude: f.latitude as string,
                longitude: f.longitude as string,
                googleClientId: f.googleClientId as string,
                meterType: f.meterType as string,
                meterDeviceId: f.meterDeviceId as string,
                sportsApiProvider: f.sportsApiProvider as string,
            },
            services,
            corsOrigins,
            healthWaitTimeoutSeconds: f.healthWaitTimeoutSeconds as number,
            postDeployValidation: f.postDeployValidation as boolean,
            dockerSocketGroupId: f.dockerSocketGroupId,
            backups: {
                root: f.backupRoot,
                keep: f.backupKeep as number,
                request: f.backupRequest as number,
                restoreFrom: f.restoreFrom,
            },
        },
    };
}

/** A value as Pulumi passes it: "7" and 7 alike, an array as JSON text or as an array. */
function comparable(value: unknown): string {
    if (Array.isArray(value)) return JSON.stringify(value);
    if (typeof value === "string" && value.startsWith("[")) {
        try {
            return JSON.stringify(JSON.parse(value));
        } catch {
            return value;
        }
    }
    return String(value);
}

const RE_ORIGIN = new RegExp(`^(https?)://(${HOSTNAME}|${IPV6_BRACKETED})(?::(\\d{1,5}))?$`, "i");

/** What is wrong with one corsOrigins entry, if anything. */
function corsProblem(origin: string, profile: StackProfile | undefined, profileName: string | undefined): string | undefined {
    if (origin === "*") return profile && !profile.cors.allowWildcard ? `allows every origin ('*'), which the ${profileName} profile forbids` : undefined;
    if (origin.includes(",")) return "holds a comma: the services receive the list comma-joined, so one entry would smuggle in several origins; give one origin per entry";
    const m = RE_ORIGIN.exec(origin);
    if (!m) return "is not an origin";
    if (origin !== origin.toLowerCase()) return "has capital letters: browsers send origins in lower case, so this one would never match";
    if ((m[1] === "http" && m[3] === "80") || (m[1] === "https" && m[3] === "443")) return `names the default port ${m[3]}, which browsers leave out of the Origin header: it would never match`;
    return withPort(m[3]);
}

/** imageSource=registry: one pinned reference for each built service; influxdbImage pinned too. */
function registryImages(problems: Problems, list: readonly string[], influxdbImage: string): ImageSettings | undefined {
    const references: Partial<Record<ServiceKey, string>> = {};
    let ok = true;
    const pinFix = (index: number, service: ServiceKey, repository: string): string =>
        fixCommand.setAtWord("imageReferences", index, `"${service}=$(docker image inspect --format '{{index .RepoDigests 0}}' ${shellQuote(`${repository}:latest`)})"`);
    const parsed = entries(problems, "imageReferences", list);
    if (parsed.length < list.length) ok = false;
    for (const e of parsed) {
        const ref = parseImageReference(e.value);
        if (e.service === "influxdb") {
            problems.add("imageReferences", e.index, e.raw, "sets influxdb here; influxdb's image is its own key (homeiq:influxdbImage)", "the 13 built services", fixCommand.rmAt("imageReferences", e.index));
            ok = false;
        } else if (!ref?.digest) {
            problems.add("imageReferences", e.index, e.raw, ref ? "is not pinned by digest" : "is not an image reference Docker accepts", "repository@sha256:<64 lowercase hex digits>, repository in lower case", pinFix(e.index, e.service, ref?.name ?? `registry.example/homeiq/${e.service}`));
            ok = false;
        } else {
            references[e.service] = e.value;
        }
    }
    const missing = BUILT_SERVICES.filter((s) => references[s] === undefined && !parsed.some((e) => e.service === s));
    if (missing.length > 0) {
        // The registry of the references given, if any, else an example.
        const known = Object.values(references)[0];
        const prefix = known ? parseImageReference(known)!.name.replace(/\/[^/]*$/, "") : "registry.example/homeiq";
        problems.add("imageReferences", undefined, list, `has no image for: ${missing.join(", ")}`, ALLOWED.imageReferences, pinFix(list.length, missing[0], `${prefix}/${missing[0]}`));
        ok = false;
    }
    if (!parseImageReference(influxdbImage)?.digest) {
        problems.add("influxdbImage", undefined, influxdbImage, "is not pinned by digest (imageSource is registry)", "influxdb:2.7@sha256:<64 hex digits>", `pulumi config set homeiq:influxdbImage "$(docker image inspect --format '{{index .RepoDigests 0}}' influxdb:2.7)"`);
        ok = false;
    }
    return ok ? { source: "registry", references, influxdbImage } : undefined;
}
