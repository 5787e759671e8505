/**
 * The one schema of a stack's configuration.
 *
 * `parseStackConfig` takes the raw `homeiq:*` values exactly as Pulumi hands them to a program
 * (strings; arrays as JSON text), parses every key with its zod schema, then runs the checks that
 * span keys (port collisions, CORS against the profile, memory against reservation, dependencies on
 * disabled services). It returns every problem at once, or a fully resolved config.
 */
import { z } from "zod";
import { isPlaceholderCredential } from "../catalog/placeholderCredentials";
import { SERVICE_CATALOG, SERVICE_KEYS, isServiceKey, type ServiceKey } from "../catalog/services";
import { PROFILES } from "../stacks";
import type { ServiceResources, StackProfile } from "../stacks/profile";
import { CONFIG_KEYS, configDefaults, type ConfigKey } from "./keys";

/** A secret value is refused when it is an old placeholder, or an unfilled `<…>` from an example command. */
export function isPlaceholderSecret(value: string): boolean {
    return isPlaceholderCredential(value) || /^<.*>$/.test(value.trim());
}

/** One configuration problem, ready to print. `value` is already redacted for secret keys. */
export interface ConfigProblem {
    /** Full config path, e.g. `homeiq:hostPorts[1]`. */
    readonly key: string;
    readonly value: string;
    readonly problem: string;
    readonly allowed: string;
    readonly fix: string;
}

/** The shortest influxdbAdminToken accepted (scripts/migrate/from-compose.sh uses the same bound). */
export const MIN_TOKEN_LENGTH = 24;
const BUILT_SERVICES = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].image.kind === "built");
const RESOURCE_FIELDS = ["memoryMiB", "memoryReservationMiB", "cpus"] as const;
type ResourceField = (typeof RESOURCE_FIELDS)[number];

// ---- field schemas --------------------------------------------------------------------------

/** Pulumi passes integers as strings; accept "42" and 42, nothing else. */
const integer = (check: (n: z.ZodNumber) => z.ZodNumber) =>
    z.preprocess((v) => (typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v), check(z.number({ error: "must be a whole number" }).int({ error: "must be a whole number" })));

/** Pulumi passes arrays as JSON text. */
const stringArray = z.preprocess(
    (v) => {
        if (typeof v !== "string") return v;
        try {
            return JSON.parse(v);
        } catch {
            return v;
        }
    },
    z.array(z.string({ error: "each entry must be a string" }), { error: "must be a list (YAML sequence) of strings" }),
);

const nonEmpty = (what: string) => z.string().trim().min(1, { error: `must not be empty (${what})` });

const secretValue = (minLength: number) =>
    z
        .string()
        .min(minLength, { error: `must be at least ${minLength} characters` })
        .refine((v) => !isPlaceholderSecret(v), { error: "is a placeholder credential from the old compose files" });

const apiKey = z.string().refine((v) => !isPlaceholderSecret(v), { error: "is a placeholder, not a real key" });

const dockerHost = z
    .string()
    .regex(/^(unix:\/\/\/\S+|ssh:\/\/[^@\s/]+@[^\s/:]+(:\d+)?|tcp:\/\/[^\s/:]+:\d+)$/, {
        error: "must be unix:///path, ssh://user@host[:port] or tcp://host:port",
    });

const ipAddress = z.union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address such as 127.0.0.1 or 0.0.0.0" });

const homeAssistantUrl = z.string().refine(
    (v) => {
        try {
            return ["http:", "https:", "ws:", "wss:"].includes(new URL(v).protocol);
        } catch {
            return false;
        }
    },
    { error: "must be an http(s):// or ws(s):// URL" },
);

const decimal = (min: number, max: number) =>
    z.string().refine((v) => /^-?\d+(\.\d+)?$/.test(v.trim()) && Number(v) >= min && Number(v) <= max, {
        error: `must be a decimal number between ${min} and ${max}`,
    });

/** Paths the backup scripts accept: absolute, no spaces, ':' or '..'. */
const safePath = z.string().regex(/^\/[^\s:]*$/, { error: "must be an absolute path without spaces or ':'" }).refine((v) => !v.split("/").includes(".."), {
    error: "must not contain '..'",
});

const influxName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
    error: "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit",
});

/** "" means "not set" for optional keys (Pulumi needs a default for them; config/keys.ts gives ""). */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

/**
 * Every key's schema. Defaults are not here: they live in config/keys.ts (and Pulumi.yaml), and
 * parseStackConfig applies them first, as the Pulumi CLI does.
 */
export const CONFIG_FIELDS = {
    profile: z.string({ error: "is required" }).refine((v) => v in PROFILES, { error: "is not a known profile" }),
    dockerHost: dockerHost,
    imageSource: z.enum(["build", "registry"], { error: "must be build or registry" }),
    homeiqCheckoutPath: unsetIfEmpty(z.string().regex(/^\//, { error: "must be an absolute path" })),
    imageReferences: stringArray,
    influxdbImage: z.string().regex(/^[^\s]+$/, { error: "must be an image reference" }),
    rebuildGeneration: integer((n) => n.min(0, { error: "must be 0 or more" })),
    homeAssistantUrl: homeAssistantUrl,
    homeAssistantToken: z
        .string()
        .min(20, { error: "is too short for a Home Assistant long-lived token" })
        .refine((v) => !isPlaceholderSecret(v), { error: "is a placeholder, not a real token" }),
    influxdbUsername: influxName,
    influxdbOrg: influxName,
    influxdbBucket: influxName,
    influxdbRetentionDays: integer((n) => n.min(0, { error: "must be 0 (forever) or more" })),
    influxdbAdminPassword: unsetIfEmpty(secretValue(12)),
    // Its placeholder and length rules depend on acceptPlaceholderInfluxdbToken: checked in parseStackConfig.
    influxdbAdminToken: unsetIfEmpty(z.string()),
    acceptPlaceholderInfluxdbToken: z.preprocess(
        (v) => (v === "true" ? true : v === "false" ? false : v),
        z.boolean({ error: "must be true or false" }),
    ),
    jwtSecret: unsetIfEmpty(secretValue(32)),
    adminPassword: unsetIfEmpty(secretValue(12)),
    dataApiKey: unsetIfEmpty(secretValue(24)),
    weatherApiKey: unsetIfEmpty(apiKey),
    wattTimeApiToken: unsetIfEmpty(apiKey),
    pricingApiKey: unsetIfEmpty(apiKey),
    airnowApiKey: unsetIfEmpty(apiKey),
    googleClientSecret: unsetIfEmpty(apiKey),
    googleRefreshToken: unsetIfEmpty(apiKey),
    meterApiToken: unsetIfEmpty(apiKey),
    sportsApiKey: unsetIfEmpty(apiKey),
    weatherLocation: nonEmpty("a place name"),
    gridRegion: nonEmpty("a WattTime region"),
    pricingProvider: nonEmpty("a provider name"),
    latitude: decimal(-90, 90),
    longitude: decimal(-180, 180),
    googleClientId: z.string(),
    meterType: nonEmpty("a meter type"),
    meterDeviceId: z.string(),
    sportsApiProvider: nonEmpty("a provider name"),
    hostPorts: stringArray,
    dashboardBindAddress: unsetIfEmpty(ipAddress),
    corsOrigins: stringArray,
    resourceOverrides: stringArray,
    disabledServices: stringArray,
    backupRoot: unsetIfEmpty(safePath),
    backupKeep: integer((n) => n.min(1, { error: "must keep at least 1 backup" })),
    backupRequest: integer((n) => n.min(0, { error: "must be 0 or more" })),
    restoreFrom: unsetIfEmpty(
        safePath.refine((v) => !v.endsWith(".partial"), { error: "names an unfinished (.partial) backup" }),
    ),
    postDeployValidation: z.preprocess(
        (v) => (v === "true" ? true : v === "false" ? false : v),
        z.boolean({ error: "must be true or false" }),
    ),
    healthWaitTimeoutSeconds: integer((n) => n.positive({ error: "must be a positive number of seconds" })),
    dockerSocketGroupId: unsetIfEmpty(z.string().regex(/^\d+$/, { error: "must be a numeric group id" }).transform(Number)),
} satisfies Record<ConfigKey, z.ZodType>;

/** The whole stack config as one zod object (field level); cross-key checks run in parseStackConfig. */
export const StackConfigSchema = z.object(CONFIG_FIELDS).strict();
type Fields = { [K in ConfigKey]: z.output<(typeof CONFIG_FIELDS)[K]> };

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
        /** Absolute folder, or undefined for the default under the user's home. */
        readonly root?: string;
        readonly keep: number;
        readonly request: number;
        readonly restoreFrom?: string;
    };
}

export type ParseResult = { ok: true; config: StackConfig } | { ok: false; problems: ConfigProblem[] };

// ---- parsing --------------------------------------------------------------------------------

const SECRET_KEYS = new Set<string>(
    (Object.keys(CONFIG_KEYS) as ConfigKey[]).filter((k) => CONFIG_KEYS[k].secret),
);

function show(key: string, value: unknown): string {
    if (SECRET_KEYS.has(key)) return value === undefined ? "(not set)" : "[secret]";
    if (value === undefined) return "(not set)";
    return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
}

function setCommand(key: ConfigKey, index: number | undefined, value: string): string {
    const flag = CONFIG_KEYS[key].secret ? " --secret" : "";
    if (index === undefined) return `pulumi config set${flag} homeiq:${key} ${value}`;
    return `pulumi config set --path 'homeiq:${key}[${index}]' ${value}`;
}

/** What a key accepts, where its description alone does not say it plainly. */
const ALLOWED: Partial<Record<ConfigKey, () => string>> = {
    profile: () => `one of: ${Object.keys(PROFILES).join(", ")}`,
    homeAssistantUrl: () => "an http://, https://, ws:// or wss:// URL of your Home Assistant",
    homeAssistantToken: () => "a long-lived access token from your Home Assistant profile page",
};

/** A realistic value for the fix command of each key. */
const EXAMPLE: Partial<Record<ConfigKey, string>> = {
    profile: "prod",
    dockerHost: "unix:///var/run/docker.sock",
    imageSource: "build",
    homeiqCheckoutPath: "/srv/homeiq",
    homeAssistantUrl: "http://homeassistant.local:8123",
    homeAssistantToken: "<token>",
    rebuildGeneration: "1",
    influxdbRetentionDays: "365",
    healthWaitTimeoutSeconds: "180",
    postDeployValidation: "false",
    backupRoot: "/srv/homeiq-backups",
    backupKeep: "7",
    backupRequest: "1",
    restoreFrom: "/srv/homeiq-backups/prod/20261127T101500Z",
    dashboardBindAddress: "0.0.0.0",
    latitude: "36.1699",
    longitude: "-115.1398",
    dockerSocketGroupId: "$(getent group docker | cut -d: -f3)",
};

function allowedFor(key: ConfigKey): string {
    return ALLOWED[key]?.() ?? CONFIG_KEYS[key].description;
}

class Problems {
    readonly list: ConfigProblem[] = [];
    add(key: ConfigKey, index: number | undefined, value: unknown, problem: string, allowed: string, fix: string): void {
        const full = index === undefined ? `homeiq:${key}` : `homeiq:${key}[${index}]`;
        this.list.push({ key: full, value: show(key, value), problem, allowed, fix });
    }
}

/** Splits `name=value` (or `name:field=value`) entries of an array key, reporting malformed ones. */
function entries(
    problems: Problems,
    key: ConfigKey,
    list: readonly string[],
    example: string,
): Array<{ index: number; service: ServiceKey; field?: string; value: string; raw: string }> {
    const out: Array<{ index: number; service: ServiceKey; field?: string; value: string; raw: string }> = [];
    list.forEach((raw, index) => {
        const m = /^\s*([a-z-]+)(?::([A-Za-z]+))?\s*=\s*(.*?)\s*$/.exec(raw);
        if (!m) {
            problems.add(key, index, raw, "is not of the form service=value", `entries like '${example}'`, setCommand(key, index, example));
            return;
        }
        const [, service, field, value] = m;
        if (!isServiceKey(service)) {
            problems.add(
                key,
                index,
                raw,
                `names a service that does not exist: '${service}'`,
                `one of: ${SERVICE_KEYS.join(", ")}`,
                setCommand(key, index, example),
            );
            return;
        }
        out.push({ index, service, field, value, raw });
    });
    return out;
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

function parseFields(raw: Readonly<Record<string, unknown>>, problems: Problems): Partial<Fields> {
    const parsed: Partial<Fields> = {};
    for (const key of Object.keys(raw)) {
        if (!(key in CONFIG_FIELDS)) {
            const known = Object.keys(CONFIG_FIELDS).join(", ");
            problems.list.push({
                key: `homeiq:${key}`,
                value: "(set)",
                problem: "is not a config key of this project",
                allowed: `one of: ${known}`,
                fix: `pulumi config rm homeiq:${key}`,
            });
        }
    }
    for (const key of Object.keys(CONFIG_FIELDS) as ConfigKey[]) {
        const result = CONFIG_FIELDS[key].safeParse(raw[key]);
        if (result.success) {
            (parsed as Record<string, unknown>)[key] = result.data;
            continue;
        }
        for (const issue of result.error.issues) {
            const index = typeof issue.path[0] === "number" ? issue.path[0] : undefined;
            const value = index === undefined ? raw[key] : asList(raw[key])[index];
            const message = raw[key] === undefined && issue.code === "invalid_type" ? "is required but not set" : issue.message;
            problems.add(key, index, value, message, allowedFor(key), setCommand(key, index, EXAMPLE[key] ?? `<${CONFIG_KEYS[key].type === "array" ? "string" : CONFIG_KEYS[key].type}>`));
        }
    }
    return parsed;
}

/** Parses and cross-checks the raw `homeiq:*` config. Never throws for bad input. */
export function parseStackConfig(stackValues: Readonly<Record<string, unknown>>): ParseResult {
    const problems = new Problems();
    const raw: Record<string, unknown> = { ...configDefaults(), ...stackValues };
    const f = parseFields(raw, problems);
    const profile = f.profile !== undefined ? PROFILES[f.profile] : undefined;

    // Images.
    let images: ImageSettings | undefined;
    if (f.imageSource === "build") {
        if (raw.homeiqCheckoutPath === undefined || raw.homeiqCheckoutPath === "") {
            problems.add("homeiqCheckoutPath", undefined, undefined, "is required when imageSource is build", "the absolute path of your HomeIQ checkout", setCommand("homeiqCheckoutPath", undefined, "/srv/homeiq"));
        } else if (f.homeiqCheckoutPath !== undefined && f.influxdbImage !== undefined) {
            images = { source: "build", checkoutPath: f.homeiqCheckoutPath, influxdbImage: f.influxdbImage };
        }
    } else if (f.imageSource === "registry" && f.influxdbImage !== undefined) {
        const references: Partial<Record<ServiceKey, string>> = {};
        const example = "data-api=registry.example/homeiq/data-api@sha256:<64 hex digits>";
        let ok = true;
        for (const e of entries(problems, "imageReferences", f.imageReferences ?? [], example)) {
            if (!/^[^\s@]+@sha256:[a-f0-9]{64}$/.test(e.value)) {
                problems.add("imageReferences", e.index, e.raw, "is not pinned by digest", "repository@sha256:<64 lowercase hex digits>", setCommand("imageReferences", e.index, example));
                ok = false;
            } else if (references[e.service] !== undefined) {
                problems.add("imageReferences", e.index, e.raw, `gives a second image for ${e.service}`, "one entry per service", `pulumi config rm --path 'homeiq:imageReferences[${e.index}]'`);
                ok = false;
            } else if (e.service === "influxdb") {
                problems.add("imageReferences", e.index, e.raw, "sets influxdb here; influxdb's image is its own key", "the 13 built services", setCommand("influxdbImage", undefined, "influxdb:2.7@sha256:<digest>"));
                ok = false;
            } else {
                references[e.service] = e.value;
            }
        }
        const missing = BUILT_SERVICES.filter((s) => references[s] === undefined);
        if (missing.length > 0 && (f.imageReferences?.length ?? 0) >= 0) {
            problems.add("imageReferences", undefined, f.imageReferences, `has no image for: ${missing.join(", ")}`, "one 'service=repository@sha256:...' entry for each of the 13 built services", setCommand("imageReferences", missing.length === BUILT_SERVICES.length ? 0 : (f.imageReferences?.length ?? 0), `${missing[0]}=<repository>@sha256:<digest>`));
            ok = false;
        }
        if (!/@sha256:[a-f0-9]{64}$/.test(f.influxdbImage)) {
            problems.add("influxdbImage", undefined, f.influxdbImage, "is not pinned by digest (imageSource is registry)", "influxdb:2.7@sha256:<64 hex digits>", setCommand("influxdbImage", undefined, "influxdb:2.7@sha256:<digest>"));
            ok = false;
        }
        if (ok) images = { source: "registry", references, influxdbImage: f.influxdbImage };
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
            setCommand("influxdbAdminToken", undefined, "<token>"),
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
    for (const e of entries(problems, "disabledServices", f.disabledServices ?? [], "calendar=no Google account in this home")) {
        if (e.value.length === 0) {
            problems.add("disabledServices", e.index, e.raw, "disables a service without a reason", "'service=reason' with a non-empty reason", setCommand("disabledServices", e.index, `'${e.service}=<why this stack does not run it>'`));
        } else {
            disabled.set(e.service, e.value);
        }
    }
    for (const key of SERVICE_KEYS) {
        if (disabled.has(key)) continue;
        for (const dep of SERVICE_CATALOG[key].dependsOn) {
            if (disabled.has(dep)) {
                const index = (f.disabledServices ?? []).findIndex((x) => x.trim().startsWith(`${dep}=`));
                problems.add("disabledServices", index, (f.disabledServices ?? [])[index], `disables ${dep}, which ${key} depends on`, `disable ${key} too, or keep ${dep}`, `pulumi config rm --path 'homeiq:disabledServices[${index}]'`);
            }
        }
    }

    const resources = new Map<ServiceKey, ServiceResources>();
    if (profile) for (const key of SERVICE_KEYS) resources.set(key, { ...profile.resources[key] });
    for (const e of entries(problems, "resourceOverrides", f.resourceOverrides ?? [], "data-api:memoryMiB=768")) {
        const field = e.field as ResourceField | undefined;
        const n = Number(e.value);
        if (!field || !(RESOURCE_FIELDS as readonly string[]).includes(field)) {
            problems.add("resourceOverrides", e.index, e.raw, `has no known field (${e.field ?? "none"})`, `'service:field=value' with field one of ${RESOURCE_FIELDS.join(", ")}`, setCommand("resourceOverrides", e.index, `${e.service}:memoryMiB=512`));
        } else if (!Number.isFinite(n) || n <= 0 || (field !== "cpus" && !Number.isInteger(n))) {
            problems.add("resourceOverrides", e.index, e.raw, `sets ${field} to a value that is not a positive ${field === "cpus" ? "number" : "whole number"}`, field === "cpus" ? "cores > 0, e.g. 0.5" : "MiB, a whole number > 0", setCommand("resourceOverrides", e.index, `${e.service}:${field}=${field === "cpus" ? "0.5" : "512"}`));
        } else {
            const r = resources.get(e.service);
            if (r) resources.set(e.service, { ...r, [field]: n });
        }
    }
    for (const [key, r] of resources) {
        if (r.memoryReservationMiB > r.memoryMiB) {
            const index = (f.resourceOverrides ?? []).findIndex((x) => x.trim().startsWith(`${key}:memory`));
            problems.add("resourceOverrides", index < 0 ? undefined : index, index < 0 ? undefined : (f.resourceOverrides ?? [])[index], `gives ${key} a memory limit of ${r.memoryMiB} MiB, below its reservation of ${r.memoryReservationMiB} MiB`, "memoryMiB >= memoryReservationMiB", setCommand("resourceOverrides", index < 0 ? 0 : index, `${key}:memoryMiB=${r.memoryReservationMiB * 2}`));
        }
        if (r.memoryMiB < 16) {
            const index = (f.resourceOverrides ?? []).findIndex((x) => x.trim().startsWith(`${key}:memoryMiB`));
            problems.add("resourceOverrides", index, (f.resourceOverrides ?? [])[index], `gives ${key} ${r.memoryMiB} MiB, below Docker's minimum`, "memoryMiB >= 16", setCommand("resourceOverrides", index, `${key}:memoryMiB=128`));
        }
    }

    const hostPorts = new Map<ServiceKey, number>();
    if (profile) for (const key of SERVICE_KEYS) hostPorts.set(key, SERVICE_CATALOG[key].defaultHostPort + profile.hostPortOffset);
    const portIndex = new Map<ServiceKey, number>();
    for (const e of entries(problems, "hostPorts", f.hostPorts ?? [], "health-dashboard=3000")) {
        const n = Number(e.value);
        if (!/^\d+$/.test(e.value) || n < 1 || n > 65535) {
            problems.add("hostPorts", e.index, e.raw, "sets a port outside 1-65535", "a whole number 1-65535", setCommand("hostPorts", e.index, `${e.service}=${SERVICE_CATALOG[e.service].defaultHostPort}`));
        } else {
            hostPorts.set(e.service, n);
            portIndex.set(e.service, e.index);
        }
    }
    const owner = new Map<number, ServiceKey>();
    for (const key of SERVICE_KEYS) {
        if (disabled.has(key) || !hostPorts.has(key)) continue;
        const port = hostPorts.get(key) as number;
        const first = owner.get(port);
        if (first === undefined) {
            owner.set(port, key);
            continue;
        }
        const index = portIndex.get(key) ?? portIndex.get(first);
        const culprit = portIndex.has(key) ? key : first;
        problems.add("hostPorts", index, index === undefined ? undefined : (f.hostPorts ?? [])[index], `puts ${first} and ${key} on the same host port ${port}`, "a distinct host port for each service", setCommand("hostPorts", index ?? (f.hostPorts?.length ?? 0), `${culprit}=<a free port>`));
    }

    // CORS against the profile.
    const corsOrigins = f.corsOrigins && f.corsOrigins.length > 0 ? f.corsOrigins : (profile?.cors.origins ?? []);
    (f.corsOrigins ?? []).forEach((origin, index) => {
        if (origin === "*") {
            if (profile && !profile.cors.allowWildcard) {
                problems.add("corsOrigins", index, origin, `allows every origin ('*'), which the ${f.profile} profile forbids`, "explicit origins such as http://homeiq.lan:3000", setCommand("corsOrigins", index, "http://homeiq.lan:3000"));
            }
            return;
        }
        if (!/^https?:\/\/[^\s/]+$/.test(origin)) {
            problems.add("corsOrigins", index, origin, "is not an origin", "scheme://host[:port] with no path, e.g. http://homeiq.lan:3000", setCommand("corsOrigins", index, "http://homeiq.lan:3000"));
        }
    });

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

/** Renders problems for a person: key, shown value, what is wrong, what is allowed, the command that fixes it. */
export function formatProblems(stack: string, problems: readonly ConfigProblem[]): string {
    const lines = [
        `Invalid configuration for stack "${stack}": ${problems.length} problem${problems.length === 1 ? "" : "s"}. Nothing was deployed.`,
    ];
    for (const p of problems) {
        lines.push(`  - ${p.key} = ${p.value}: ${p.problem}`);
        lines.push(`      allowed: ${p.allowed}`);
        lines.push(`      fix:     ${p.fix}`);
    }
    return lines.join("\n");
}
