/**
 * Every config key of the `homeiq` namespace, one record each: its type as Pulumi.yaml declares
 * it, its zod schema (how a value is normalised and checked), its default, whether it is a secret,
 * what it accepts in words, an example, and the plan fields it feeds. Everything else is derived
 * from these records: the schema that parses a stack (config/schema.ts), Pulumi.yaml's `config:`
 * block and the key reference in docs/config-keys.md (`npm run write:config-docs`, checked in
 * `npm test`), the error messages and their fix commands.
 *
 * Adding a key: add its record here, read `config.values.<key>` where the plan uses it
 * (plan/resolve.ts or plan/environment.ts), run `npm run write:config-docs`. test/unit/keyRecords.test.ts
 * fails while no plan field listed in `feeds` changes for its example.
 *
 * Pulumi project config can only declare string, integer, boolean and array types, so per-service
 * settings are arrays of `service=value` entries rather than nested objects. Pulumi also rejects a
 * default on a key declared `secret: true`, so only the required secret is declared secret there;
 * optional credentials default to "" (Pulumi's "not set"; their schema turns it into absent) and are
 * still handled as secrets by the program (set them with `pulumi config set --secret`).
 */
import { z } from "zod";
import { mountsDockerSocket, type EnvironmentGroup, type ServiceDefinition } from "../catalog/services";
import { PROFILES } from "../stacks";
import {
    BACKUP_KEEP_DAYS_MAX,
    BACKUP_KEEP_MAX,
    COUNTER_MAX,
    CPUS,
    GROUP_ID_MAX,
    HEALTH_WAIT_SECONDS,
    MAX_OPEN_FILES,
    MEMORY_MIB,
    MEMORY_RESERVATION_MIB,
    PATH_MAX,
    PORT,
    RETENTION_DAYS_MAX,
    SECRET_MAX,
    TEXT_MAX,
    UNIX_SOCKET_PATH_MAX,
    URL_MAX,
} from "../catalog/rules";
import {
    apiKey,
    backupPath,
    checkoutPath,
    cidrProblem,
    bool,
    BUILT_SERVICES,
    decimal,
    dockerHostProblem,
    freeText,
    homeAssistantUrlProblem,
    imageReference,
    influxName,
    integer,
    ipAddress,
    list,
    resticRepository,
    restorePath,
    schedule,
    SCHEDULE_ALLOWED,
    secretText,
    text,
    unsetIfEmpty,
    webhookUrl,
    wholeNumber,
} from "./values";

export type ConfigKeyType = "string" | "integer" | "boolean" | "array";

export type ConfigDefault = string | number | boolean | readonly string[];

/** A service that reads a key: one of its environment groups, or what its catalog entry says of it. */
export type Reader = EnvironmentGroup | ((s: ServiceDefinition) => boolean);

/** What Pulumi.yaml declares of a key. */
export interface ConfigKeyDeclaration {
    readonly type: ConfigKeyType;
    /** The program treats the value as a secret (wrapped with pulumi.secret, redacted in errors). */
    readonly secret: boolean;
    readonly description: string;
    /** The value a stack gets when it does not set the key; absent for required keys. */
    readonly default?: ConfigDefault;
    /** A credential the program generates when unset (letters and digits, this long) and keeps in the stack's state. */
    readonly generatedLength?: number;
}

/** One config key, everything about it. */
export interface KeyRecord<S extends z.ZodType = z.ZodType> extends ConfigKeyDeclaration {
    /** Normalises and checks one value (as Pulumi passes it: text, arrays as JSON text). */
    readonly schema: S;
    /** What the key accepts, in words (every error about it says this). */
    readonly allowed: string;
    /**
     * A value that passes and differs from the default (arrays: the whole list; fixes use its first
     * entry). Absent for secrets: their fix prompts for the value.
     */
    readonly example?: string | readonly string[];
    /** Other keys a stack sets for the example to take effect (the test and the docs use them). */
    readonly exampleWith?: Readonly<Record<string, string | readonly string[]>>;
    /** The fix for a value that is wrong as a whole, when `pulumi config set <key> <example>` is not it. */
    readonly fix?: string;
    /** The plan fields the value lands in: dotted paths of PlatformPlan, list items named by key or kind, `*` for any. */
    readonly feeds: readonly string[];
    /** The services that read it: set while none of them is deployed, it is refused as silently ignored. */
    readonly readers?: readonly Reader[];
}

export const CONFIG_NAMESPACE = "homeiq";

/** Keeps each record's own types (its schema's output, `secret: true`) for the derived types below. */
const key = <const R extends KeyRecord>(record: R): R => record;

const BUILT = BUILT_SERVICES.length;
const DIGEST = "0".repeat(64);
const NOT_SET = ""; // Pulumi's default for an optional key: its schema reads it as absent.

/** A third-party credential a service reads when set (its environment variable is empty otherwise). */
const providerSecret = (what: string, allowedWhat: string, variable: string, group: EnvironmentGroup) =>
    key({
        type: "string",
        secret: true,
        default: NOT_SET,
        description: `${what} (optional).`,
        schema: apiKey,
        allowed: `${allowedWhat} (one word, at most ${SECRET_MAX} characters), or unset`,
        feeds: [`services.*.environment.${variable}`],
        readers: [group],
    });

/** A credential generated (this long) and kept in state when unset. */
const generatedSecret = <S extends z.ZodType>(length: number, description: string, schema: S, allowed: string, feeds: readonly string[], readers: readonly Reader[]) =>
    key({ type: "string", secret: true, default: NOT_SET, generatedLength: length, description, schema, allowed: `${allowed}; or unset to generate one`, feeds, readers });

const INFLUX_NAME_ALLOWED = "1-63 letters, digits, '_', '.' or '-', starting with a letter or digit";

export const CONFIG_KEYS = {
    profile: key({
        type: "string",
        secret: false,
        description: "Which stack profile to use: dev or prod (stacks/<profile>.ts).",
        schema: text(TEXT_MAX, [(v) => (Object.hasOwn(PROFILES, v) ? undefined : "is not a known profile")]),
        allowed: `one of: ${Object.keys(PROFILES).join(", ")}`,
        example: "prod",
        feeds: ["profileName"],
    }),
    dockerHost: key({
        type: "string",
        secret: false,
        default: "unix:///var/run/docker.sock",
        description: "Docker host: unix:///path, ssh://user@host or tcp://host:port.",
        schema: text(URL_MAX, [dockerHostProblem]),
        allowed: `unix:///path (at most ${UNIX_SOCKET_PATH_MAX} characters), ssh://user@host[:port] (no password: use an SSH key) or tcp://host:port`,
        example: "unix:///run/user/1000/docker.sock",
        feeds: ["dockerHost"],
    }),
    imageSource: key({
        type: "string",
        secret: false,
        default: "build",
        description: `build: build the ${BUILT} services from a HomeIQ checkout; registry: pull images pinned by digest.`,
        schema: z.enum(["build", "registry"], { error: "must be build or registry" }),
        allowed: "build or registry",
        example: "registry",
        exampleWith: {
            imageReferences: BUILT_SERVICES.map((s) => `${s}=registry.example/homeiq/${s}@sha256:${DIGEST}`),
            influxdbImage: `influxdb:2.7@sha256:${DIGEST}`,
        },
        feeds: ["services.*.image.base"],
    }),
    homeiqCheckoutPath: key({
        type: "string",
        secret: false,
        default: NOT_SET,
        description: "Absolute path of the HomeIQ checkout to build from (required when imageSource is build).",
        schema: unsetIfEmpty(checkoutPath),
        allowed: `the absolute path (or ~/...) of your HomeIQ checkout, without '..' (at most ${PATH_MAX} characters)`,
        example: "/srv/homeiq",
        feeds: ["services.*.image.base.build.context", "services.*.image.base.build.dockerfile"],
    }),
    imageReferences: key({
        type: "array",
        secret: false,
        default: [],
        description: `imageSource=registry: one 'service=repository@sha256:<64 hex>' entry for each of the ${BUILT} built services.`,
        schema: list(512),
        allowed: `one 'service=repository@sha256:<64 hex>' entry for each of the ${BUILT} built services, repository in lower case`,
        example: ["data-api", ...BUILT_SERVICES.filter((s) => s !== "data-api")].map((s) => `${s}=registry.example/homeiq/${s}@sha256:${DIGEST}`),
        exampleWith: { imageSource: "registry", influxdbImage: `influxdb:2.7@sha256:${DIGEST}` },
        feeds: ["services.*.image.base.pull"],
    }),
    influxdbImage: key({
        type: "string",
        secret: false,
        default: "influxdb:2.7",
        description: "InfluxDB image; pin a digest with influxdb:2.7@sha256:... (required with imageSource=registry).",
        schema: imageReference,
        allowed: "an image reference such as influxdb:2.7, pinned with @sha256:<64 hex> for imageSource=registry",
        example: "influxdb:2.7.11",
        feeds: ["services.influxdb.image.base.pull"],
    }),
    rebuildGeneration: key({
        type: "integer",
        secret: false,
        default: 0,
        description: "Raise by one for a clean rebuild: build cache pruned, every image rebuilt, every container replaced; volumes kept.",
        schema: integer(0, COUNTER_MAX),
        allowed: `a whole number from 0 to ${COUNTER_MAX}, raised by one for each clean rebuild`,
        example: "1",
        feeds: ["cleanRebuild", "services.*.image.base.build.args.HOMEIQ_REBUILD_GENERATION"],
    }),
    homeAssistantUrl: key({
        type: "string",
        secret: false,
        description: "Home Assistant URL (http, https, ws or wss).",
        schema: text(URL_MAX, [homeAssistantUrlProblem]),
        allowed: "the http://, https://, ws:// or wss:// base URL of your Home Assistant, without user, password, query or fragment",
        example: "http://homeassistant.local:8123",
        feeds: ["services.*.environment.HOME_ASSISTANT_URL"],
    }),
    homeAssistantToken: key({
        type: "string",
        secret: true,
        description: "Home Assistant long-lived access token.",
        schema: secretText(20, "token", "is a placeholder, not a real token"),
        allowed: `a long-lived access token from your Home Assistant profile page (20-${SECRET_MAX} characters, one word)`,
        feeds: ["services.*.environment.HOME_ASSISTANT_TOKEN"],
    }),
    influxdbUsername: key({
        type: "string",
        secret: false,
        default: "admin",
        description: "InfluxDB admin user created on first start.",
        schema: influxName,
        allowed: INFLUX_NAME_ALLOWED,
        example: "homeiq-admin",
        feeds: ["services.influxdb.environment.DOCKER_INFLUXDB_INIT_USERNAME"],
        readers: ["influxdb-server"],
    }),
    influxdbOrg: key({
        type: "string",
        secret: false,
        default: "homeiq",
        description: "InfluxDB organisation shared by every service.",
        schema: influxName,
        allowed: INFLUX_NAME_ALLOWED,
        example: "home",
        feeds: ["services.*.environment.INFLUXDB_ORG", "services.influxdb.environment.DOCKER_INFLUXDB_INIT_ORG", "lifecycle.influxdb-retention.org"],
        readers: ["influxdb-server", "influxdb-client"],
    }),
    influxdbBucket: key({
        type: "string",
        secret: false,
        default: "home_assistant_events",
        description: "InfluxDB bucket shared by every service.",
        schema: influxName,
        allowed: INFLUX_NAME_ALLOWED,
        example: "home_events",
        feeds: ["services.*.environment.INFLUXDB_BUCKET", "services.influxdb.environment.DOCKER_INFLUXDB_INIT_BUCKET", "lifecycle.influxdb-retention.bucket"],
        readers: ["influxdb-server", "influxdb-client"],
    }),
    influxdbRetentionDays: key({
        type: "integer",
        secret: false,
        default: 0,
        description: "Retention of the bucket in days; 0 keeps data forever. Applied at creation and to the running bucket on change.",
        schema: integer(0, RETENTION_DAYS_MAX, "must be 0 (forever) or more"),
        allowed: `0 (keep forever) or 1-${RETENTION_DAYS_MAX} days`,
        example: "365",
        feeds: ["lifecycle.influxdb-retention.retention", "services.influxdb.environment.DOCKER_INFLUXDB_INIT_RETENTION"],
        readers: ["influxdb-server"],
    }),
    influxdbAdminPassword: generatedSecret(
        32,
        "InfluxDB admin password; generated and kept in state when unset.",
        unsetIfEmpty(secretText(12, "password", "is a placeholder credential from the old compose files")),
        `12-${SECRET_MAX} characters, not an old placeholder`,
        ["services.influxdb.environment.DOCKER_INFLUXDB_INIT_PASSWORD"],
        ["influxdb-server"],
    ),
    influxdbAdminToken: generatedSecret(
        64,
        "InfluxDB admin token; generated and kept in state when unset.",
        // Its placeholder and length rules depend on acceptPlaceholderInfluxdbToken: checked in parseStackConfig.
        unsetIfEmpty(text(SECRET_MAX, [(v) => (/\s/.test(v) ? "contains a space; a token or key is one word" : undefined)])),
        `24-${SECRET_MAX} characters in one word, not an old placeholder`,
        ["services.*.environment.INFLUXDB_TOKEN", "services.influxdb.environment.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"],
        ["influxdb-server", "influxdb-client"],
    ),
    acceptPlaceholderInfluxdbToken: key({
        type: "boolean",
        secret: false,
        default: false,
        description:
            "Accept an old placeholder (or short) influxdbAdminToken carried over from a compose deployment (scripts/migrate); rotate it, then remove this key.",
        schema: bool,
        allowed: "true or false (true only while influxdbAdminToken is a placeholder carried over from a compose deployment)",
        example: "true",
        exampleWith: { influxdbAdminToken: "ha-ingestor-token" },
        feeds: ["warnings"],
    }),
    jwtSecret: generatedSecret(
        64,
        "admin-api JWT signing key; generated when unset.",
        unsetIfEmpty(secretText(32, "token", "is a placeholder credential from the old compose files")),
        `32-${SECRET_MAX} characters in one word`,
        ["services.admin-api.environment.JWT_SECRET_KEY"],
        ["admin-auth"],
    ),
    adminPassword: generatedSecret(
        24,
        "admin-api's API key (Bearer token, API_KEY) and admin password; generated when unset.",
        unsetIfEmpty(secretText(12, "password", "is a placeholder credential from the old compose files")),
        `12-${SECRET_MAX} characters, not an old placeholder`,
        ["services.admin-api.environment.API_KEY", "services.admin-api.environment.ADMIN_PASSWORD"],
        ["admin-auth"],
    ),
    dataApiKey: generatedSecret(
        48,
        "data-api API key; generated when unset.",
        unsetIfEmpty(secretText(24, "token", "is a placeholder credential from the old compose files")),
        `24-${SECRET_MAX} characters in one word`,
        ["services.data-api.environment.API_KEY"],
        ["data-api-auth"],
    ),
    weatherApiKey: providerSecret("OpenWeatherMap API key", "the provider's key", "WEATHER_API_KEY", "weather"),
    wattTimeApiToken: providerSecret("WattTime token for carbon-intensity", "the provider's token", "WATTTIME_API_TOKEN", "carbon-intensity"),
    pricingApiKey: providerSecret("Electricity pricing provider key", "the provider's key", "PRICING_API_KEY", "electricity-pricing"),
    airnowApiKey: providerSecret("AirNow key for air-quality", "the provider's key", "AIRNOW_API_KEY", "air-quality"),
    googleClientSecret: providerSecret("Google OAuth client secret for calendar", "the OAuth client secret", "GOOGLE_CLIENT_SECRET", "calendar"),
    googleRefreshToken: providerSecret("Google OAuth refresh token for calendar", "the OAuth refresh token", "GOOGLE_REFRESH_TOKEN", "calendar"),
    meterApiToken: providerSecret("Smart meter API token", "the meter's API token", "METER_API_TOKEN", "smart-meter"),
    sportsApiKey: providerSecret("Sports data API key", "the provider's key", "SPORTS_API_KEY", "sports"),
    weatherLocation: key({
        type: "string",
        secret: false,
        default: "Las Vegas,NV,US",
        description: "Default weather location.",
        schema: freeText(true),
        allowed: `a place name (1-${TEXT_MAX} characters)`,
        example: "Berlin,DE",
        feeds: ["services.*.environment.WEATHER_DEFAULT_LOCATION"],
        readers: ["weather"],
    }),
    gridRegion: key({
        type: "string",
        secret: false,
        default: "CAISO_NORTH",
        description: "WattTime grid region.",
        schema: freeText(true),
        allowed: `a WattTime region (1-${TEXT_MAX} characters)`,
        example: "PJM_DC",
        feeds: ["services.*.environment.GRID_REGION"],
        readers: ["carbon-intensity"],
    }),
    pricingProvider: key({
        type: "string",
        secret: false,
        default: "awattar",
        description: "Electricity pricing provider.",
        schema: freeText(true),
        allowed: `a provider name (1-${TEXT_MAX} characters)`,
        example: "tibber",
        feeds: ["services.*.environment.PRICING_PROVIDER"],
        readers: ["electricity-pricing"],
    }),
    latitude: key({
        type: "string",
        secret: false,
        default: "36.1699",
        description: "Latitude for air quality, decimal degrees.",
        schema: decimal(-90, 90),
        allowed: "decimal degrees between -90 and 90",
        example: "52.52",
        feeds: ["services.*.environment.LATITUDE"],
        readers: ["air-quality"],
    }),
    longitude: key({
        type: "string",
        secret: false,
        default: "-115.1398",
        description: "Longitude for air quality, decimal degrees.",
        schema: decimal(-180, 180),
        allowed: "decimal degrees between -180 and 180",
        example: "13.405",
        feeds: ["services.*.environment.LONGITUDE"],
        readers: ["air-quality"],
    }),
    googleClientId: key({
        type: "string",
        secret: false,
        default: NOT_SET,
        description: "Google OAuth client id for calendar (optional).",
        schema: freeText(false),
        allowed: `the OAuth client id (at most ${TEXT_MAX} characters), or unset`,
        example: "1234-abcd.apps.googleusercontent.com",
        feeds: ["services.*.environment.GOOGLE_CLIENT_ID"],
        readers: ["calendar"],
    }),
    meterType: key({
        type: "string",
        secret: false,
        default: "generic",
        description: "Smart meter type.",
        schema: freeText(true),
        allowed: `a meter type (1-${TEXT_MAX} characters)`,
        example: "emporia",
        feeds: ["services.*.environment.METER_TYPE"],
        readers: ["smart-meter"],
    }),
    meterDeviceId: key({
        type: "string",
        secret: false,
        default: NOT_SET,
        description: "Smart meter device id (optional).",
        schema: freeText(false),
        allowed: `the meter's device id (at most ${TEXT_MAX} characters), or unset`,
        example: "meter-1",
        feeds: ["services.*.environment.METER_DEVICE_ID"],
        readers: ["smart-meter"],
    }),
    sportsApiProvider: key({
        type: "string",
        secret: false,
        default: "espn",
        description: "Sports data provider.",
        schema: freeText(true),
        allowed: `a provider name (1-${TEXT_MAX} characters)`,
        example: "thesportsdb",
        feeds: ["services.*.environment.SPORTS_API_PROVIDER"],
        readers: ["sports"],
    }),
    hostPorts: key({
        type: "array",
        secret: false,
        default: [],
        description: "Host port overrides: 'service=port' entries (otherwise the profile's port plan).",
        schema: list(TEXT_MAX),
        allowed: `'service=port' entries, one per deployed service, port ${PORT.min}-${PORT.max}`,
        example: ["health-dashboard=3000"],
        feeds: ["services.*.port.external", "lifecycle.host-ports-check.ports"],
    }),
    dashboardBindAddress: key({
        type: "string",
        secret: false,
        default: NOT_SET,
        description: "Host address the dashboard's port binds to (otherwise the profile's).",
        schema: unsetIfEmpty(ipAddress),
        allowed: "an IPv4 or IPv6 address of the Docker host, such as 127.0.0.1 or 0.0.0.0",
        example: "0.0.0.0",
        feeds: ["services.*.port.ip"],
        readers: [(s) => s.dashboard === true],
    }),
    lanAccess: key({
        type: "array",
        secret: false,
        default: [],
        description:
            "Services published on a LAN address on purpose, for a client on another machine (InfluxDB for a Grafana elsewhere): 'service@address=reason' entries; the policy pack allows exactly these.",
        schema: list(TEXT_MAX),
        allowed: "'service@address=reason' entries, one per deployed service: an IPv4 or IPv6 address of the Docker host (0.0.0.0 for every interface, not loopback) and why it must be reachable",
        example: ["influxdb@0.0.0.0=Grafana on the NAS reads it"],
        feeds: ["services.*.port.ip", "services.*.labels"],
    }),
    corsOrigins: key({
        type: "array",
        secret: false,
        default: [],
        description: "Origins allowed by admin-api and data-api CORS (otherwise the profile's).",
        schema: list(TEXT_MAX),
        allowed: "lower-case origins scheme://host[:port], one per entry, no path, no default port",
        example: ["http://homeiq.lan:3000"],
        feeds: ["services.*.environment.CORS_ORIGINS"],
        readers: ["cors"],
    }),
    resourceOverrides: key({
        type: "array",
        secret: false,
        default: [],
        description: "Resource overrides: 'service:memoryMiB=N', 'service:memoryReservationMiB=N' or 'service:cpus=N' entries.",
        schema: list(TEXT_MAX),
        allowed: `'service:memoryMiB=N' (${MEMORY_MIB.min}-${MEMORY_MIB.max}), 'service:memoryReservationMiB=N' (${MEMORY_RESERVATION_MIB.min}-${MEMORY_RESERVATION_MIB.max}) or 'service:cpus=N' (${CPUS.min}-${CPUS.max}) entries, one per service and field`,
        example: ["data-api:memoryMiB=768"],
        feeds: ["services.*.resources"],
    }),
    disabledServices: key({
        type: "array",
        secret: false,
        default: [],
        description: "Services this stack does not deploy: 'service=reason' entries; the reason is required.",
        schema: list(TEXT_MAX),
        allowed: `'service=reason' entries with a reason of 1-${TEXT_MAX} characters, one per service`,
        example: ["calendar=no Google account in this home"],
        // A disabled service's keys must be unset (set, they would be silently ignored).
        exampleWith: { googleClientId: "", googleClientSecret: "", googleRefreshToken: "" },
        feeds: ["services", "outputs.disabledServices"],
    }),
    backupRoot: key({
        type: "string",
        secret: false,
        default: NOT_SET,
        description: "Folder on the machine running Pulumi where backups go (default: ~/homeiq-backups); absolute, or ~/...",
        schema: unsetIfEmpty(backupPath()),
        allowed: "an absolute path (or ~/...) of letters, digits and _ . / + - only, without '..'",
        example: "/srv/homeiq-backups",
        feeds: ["lifecycle.*.target.root"],
    }),
    backupKeep: key({
        type: "integer",
        secret: false,
        default: 7,
        description: "Retention never deletes the newest this many good backups of this stack, however old they are.",
        schema: integer(1, BACKUP_KEEP_MAX, "must keep at least 1 backup"),
        allowed: `a whole number from 1 to ${BACKUP_KEEP_MAX}`,
        example: "14",
        feeds: ["lifecycle.*.target.keep"],
    }),
    backupKeepDays: key({
        type: "integer",
        secret: false,
        default: 30,
        description: "Backups older than this many days are deleted after each backup (never the newest backupKeep good ones, a migration's, or one marked with a .keep file); the off-host copy follows.",
        schema: integer(0, BACKUP_KEEP_DAYS_MAX),
        allowed: `a whole number of days from 0 to ${BACKUP_KEEP_DAYS_MAX}`,
        example: "90",
        feeds: ["lifecycle.*.target.keepDays"],
    }),
    backupSchedule: key({
        type: "string",
        secret: false,
        default: "daily 02:00",
        description: "When the Docker host (on swarm: the manager, reaching the data node's engine) backs the stack up on its own, with no Pulumi running (the user's crontab; host time): 'daily HH:MM', 'monthly D HH:MM', 'every N' (minutes), or 'off'.",
        schema: text(40, [schedule]),
        allowed: SCHEDULE_ALLOWED,
        example: "daily 03:30",
        feeds: ["lifecycle.backup-schedule.backupWhen"],
    }),
    backupDrillSchedule: key({
        type: "string",
        secret: false,
        default: "monthly 1 03:00",
        description: "When the restore drill runs (the newest backup, and the newest off-host copy, restored into scratch containers and checked): same forms as backupSchedule, or 'off'.",
        schema: text(40, [schedule]),
        allowed: SCHEDULE_ALLOWED,
        example: "monthly 15 04:00",
        feeds: ["lifecycle.backup-schedule.drillWhen"],
    }),
    backupCopyRepository: key({
        type: "string",
        secret: false,
        default: NOT_SET,
        description: "A restic repository every backup is copied to by the scheduled run (a mounted NAS path, sftp:user@host:/path, rest:https://..., s3:...); unset: backups stay on this machine.",
        schema: unsetIfEmpty(text(PATH_MAX, [resticRepository])),
        allowed: "an absolute path, or a restic repository starting sftp:, rest:, s3:, b2:, azure:, gs: or rclone: (no spaces; credentials in the backend's own variables, not in the URL)",
        example: "sftp:homeiq@nas.local:/volume1/homeiq-restic",
        exampleWith: { backupCopyPassphrase: "Zq7rT2mW9xK4pL8vN3bY6cH1dF5gJ0sA" },
        feeds: ["lifecycle.backup-schedule.copyRepository"],
    }),
    backupCopyPassphrase: key({
        type: "string",
        secret: true,
        default: NOT_SET,
        description: "The passphrase that encrypts the off-host restic repository (required with backupCopyRepository). Keep a copy away from this machine: without it the copies cannot be read.",
        schema: unsetIfEmpty(secretText(12, "password", "is a placeholder, not a real passphrase")),
        allowed: `a passphrase of 12-${SECRET_MAX} characters, one word`,
        exampleWith: { backupCopyRepository: "/mnt/nas/homeiq-restic" },
        feeds: ["lifecycle.backup-schedule.copyPassphrase"],
    }),
    notifyWebhookUrl: key({
        type: "string",
        secret: true,
        default: NOT_SET,
        description: "Optional webhook (e.g. an ntfy topic URL) that gets a POST when a scheduled backup, copy or drill fails or runs late, and when the watch finds a problem or sees it clear; Home Assistant gets a persistent notification either way.",
        schema: unsetIfEmpty(text(URL_MAX, [webhookUrl])),
        allowed: "an http:// or https:// URL without spaces, e.g. https://ntfy.sh/<your topic>",
        feeds: ["lifecycle.backup-schedule.webhookUrl", "watch.webhookUrl"],
    }),
    backupRequest: key({
        type: "integer",
        secret: false,
        default: 0,
        description: "Raise by one to take a backup now, on the next `pulumi up`.",
        schema: integer(0, COUNTER_MAX),
        allowed: `a whole number from 0 to ${COUNTER_MAX}, raised by one for each backup`,
        example: "1",
        feeds: ["lifecycle.on-demand-backup"],
    }),
    restoreFrom: key({
        type: "string",
        secret: false,
        default: NOT_SET,
        description: "A backup folder to restore (verified first); runs once per folder named.",
        schema: unsetIfEmpty(restorePath.refine((v) => !v.endsWith(".partial"), { error: "names an unfinished (.partial) backup" })),
        allowed: "the absolute path (or ~/...) of a complete backup folder (letters, digits and _ . / + - only)",
        example: "/srv/homeiq-backups/prod/20261127T101500Z",
        feeds: ["lifecycle.restore.folder"],
    }),
    postDeployValidation: key({
        type: "boolean",
        secret: false,
        default: true,
        description: "After every change, check each published health URL from this machine and fail the update if one does not answer.",
        schema: bool,
        allowed: "true or false",
        example: "false",
        feeds: ["validation"],
    }),
    validationErrorLines: key({
        type: "string",
        secret: false,
        default: "fail",
        description: "What the post-deploy check does with error lines (an error log level) that a container it just started wrote: fail the update (the review's criterion), or only report them.",
        schema: z.enum(["fail", "report"], { error: "must be fail or report" }),
        allowed: "fail or report",
        example: "report",
        feeds: ["validation.errorLines"],
    }),
    watchEveryMinutes: key({
        type: "integer",
        secret: false,
        default: 5,
        description: "How often the watch checks the running stack between deploys (minutes; 0: no watch). Runs on this machine from the user's crontab; a local Docker engine (on swarm: the manager) only.",
        schema: integer(0, 1440, "must be 0 (no watch) or more"),
        allowed: "a whole number of minutes from 1 to 1440, or 0 for no watch",
        example: "15",
        feeds: ["watch"],
    }),
    watchDownMinutes: key({
        type: "integer",
        secret: false,
        default: 5,
        description: "How long a container stays stopped or unhealthy (or its endpoint failing) before the watch sends a notice (minutes).",
        schema: integer(0, 10080),
        allowed: "a whole number of minutes from 0 to 10080",
        example: "15",
        feeds: ["watch.downMinutes"],
    }),
    watchCriterionMinutes: key({
        type: "integer",
        secret: false,
        default: 30,
        description: "How long one of the review's criteria (latency, error lines, memory, CPU) stays broken before the watch sends a notice (minutes).",
        schema: integer(0, 10080),
        allowed: "a whole number of minutes from 0 to 10080",
        example: "60",
        feeds: ["watch.criterionMinutes"],
    }),
    watchDiskPercent: key({
        type: "integer",
        secret: false,
        default: 90,
        description: "How full (in %) the filesystem of the backup folder may get before the watch sends a notice.",
        schema: integer(1, 100, "must be 1 or more"),
        allowed: "a whole number from 1 to 100",
        example: "80",
        feeds: ["watch.diskPercent"],
    }),
    healthWaitTimeoutSeconds: key({
        type: "integer",
        secret: false,
        default: 180,
        description: "Seconds `pulumi up` waits for each container to become healthy.",
        schema: integer(HEALTH_WAIT_SECONDS.min, HEALTH_WAIT_SECONDS.max, "must be a positive number of seconds"),
        allowed: `whole seconds from ${HEALTH_WAIT_SECONDS.min} to ${HEALTH_WAIT_SECONDS.max}`,
        example: "300",
        feeds: ["services.*.healthWaitSeconds", "dockerApiProxy.healthWaitSeconds"],
    }),
    dockerSocketGroupId: key({
        type: "string",
        secret: false,
        default: NOT_SET,
        description: "Group id owning the Docker socket, given to the container that holds it; unset: asked of the engine at deploy time.",
        schema: unsetIfEmpty(wholeNumber(10, 0, GROUP_ID_MAX, `must be a numeric group id from 0 to ${GROUP_ID_MAX}`)),
        allowed: `the numeric group id (0-${GROUP_ID_MAX}) owning the Docker socket on the Docker host`,
        example: "999",
        // The group owning the socket, found on the Docker host with getent.
        fix: `pulumi config set homeiq:dockerSocketGroupId "$(getent group docker | cut -d: -f3)"`,
        feeds: ["dockerSocketGroup.configured"],
        // The Docker API proxy, which holds the socket, exists for the services that read the engine.
        readers: [(s) => s.dockerApi !== undefined || mountsDockerSocket(s)],
    }),
    dockerApiProxyBaseImage: key({
        type: "string",
        secret: false,
        default: "debian:bookworm-slim",
        description:
            "The Debian 12 image the Docker API proxy (images/docker-api-proxy: Debian's nginx) is built FROM; pin a digest with @sha256:... if you like.",
        schema: imageReference,
        allowed: "a Debian 12 (bookworm) image reference such as debian:bookworm-slim",
        example: "debian:12-slim",
        feeds: ["dockerApiProxy.image.args.BASE_IMAGE"],
        readers: [(s) => s.dockerApi !== undefined],
    }),
    maxOpenFiles: key({
        type: "string",
        secret: false,
        default: NOT_SET,
        description:
            "The most open files the Docker engine can give a container (its own hard limit, e.g. rootless Docker); the catalog's nofile ulimits are lowered to it. Unset: no cap.",
        schema: unsetIfEmpty(wholeNumber(8, MAX_OPEN_FILES.min, MAX_OPEN_FILES.max, `must be a whole number from ${MAX_OPEN_FILES.min} to ${MAX_OPEN_FILES.max}`)),
        allowed: `a whole number from ${MAX_OPEN_FILES.min} to ${MAX_OPEN_FILES.max}: the engine's own hard limit for open files (ulimit -Hn of dockerd)`,
        example: "4096",
        feeds: ["services.*.hardening.ulimits"],
        readers: [(s) => (s.ulimits ?? []).some((u) => u.name === "nofile")],
    }),
    target: key({
        type: "string",
        secret: false,
        default: "host",
        description: "Where the stack runs: host (one Docker host, homeiq:dockerHost) or swarm (a Docker Swarm whose manager is homeiq:dockerHost).",
        schema: z.enum(["host", "swarm"], { error: "must be host or swarm" }),
        allowed: "host or swarm",
        example: "swarm",
        exampleWith: { swarmNodes: ["nas=data", "minipc=apps"] },
        fix: "pulumi config set homeiq:target host",
        feeds: ["swarm"],
    }),
    swarmNodes: key({
        type: "array",
        secret: false,
        default: [],
        description:
            "target=swarm: the swarm's nodes, 'hostname=role[+role][@dockerHost]' each: data runs InfluxDB and the SQLite services (pinned to the first data node), apps the rest; dockerHost is the node's own engine (default: homeiq:dockerHost).",
        schema: list(TEXT_MAX),
        allowed: "'hostname=role[+role][@dockerHost]' entries, roles data and apps, at least one node with each; only with target=swarm",
        example: ["nas=data@ssh://admin@nas", "minipc=apps"],
        exampleWith: { target: "swarm" },
        feeds: ["swarm.nodes", "swarm.services"],
    }),
    swarmSubnet: key({
        type: "string",
        secret: false,
        default: "10.243.0.0/24",
        description: "target=swarm: the overlay network's subnet; pick one no machine of the home LAN uses.",
        schema: text(TEXT_MAX, [cidrProblem]),
        allowed: "an IPv4 subnet from /8 to /28 written as its network address, e.g. 10.243.0.0/24, that the home LAN does not use",
        example: "10.250.0.0/24",
        exampleWith: { target: "swarm", swarmNodes: ["nas=data", "minipc=apps"] },
        feeds: ["swarm.network.subnet"],
    }),
} as const satisfies Record<string, KeyRecord>;

export type ConfigKey = keyof typeof CONFIG_KEYS;
export const CONFIG_KEY_NAMES = Object.keys(CONFIG_KEYS) as ConfigKey[];

/** Each key's value after its schema: normalised, absent (undefined) when an optional key is not set. */
export type Fields = { [K in ConfigKey]: z.output<(typeof CONFIG_KEYS)[K]["schema"]> };

/** Keys whose values are secrets. */
export type SecretKey = { [K in ConfigKey]: (typeof CONFIG_KEYS)[K] extends { secret: true } ? K : never }[ConfigKey];
/** Secrets generated when unset. */
export type GeneratedSecretKey = { [K in ConfigKey]: (typeof CONFIG_KEYS)[K] extends { generatedLength: number } ? K : never }[ConfigKey];

/** Each key's schema, by key. */
export const CONFIG_FIELDS = Object.fromEntries(CONFIG_KEY_NAMES.map((k) => [k, CONFIG_KEYS[k].schema])) as { readonly [K in ConfigKey]: (typeof CONFIG_KEYS)[K]["schema"] };

/** A key's record, as the common shape. */
export const recordOf = (k: ConfigKey): KeyRecord => CONFIG_KEYS[k];

export const SECRET_CONFIG_KEYS = CONFIG_KEY_NAMES.filter((k): k is SecretKey => CONFIG_KEYS[k].secret);

export function isSecretKey(key: string): key is SecretKey {
    return (SECRET_CONFIG_KEYS as string[]).includes(key);
}

/** The generated secrets and their lengths, in key order. */
export const GENERATED_SECRETS = Object.fromEntries(
    CONFIG_KEY_NAMES.flatMap((k) => {
        const length = recordOf(k).generatedLength;
        return length === undefined ? [] : [[k, length]];
    }),
) as Readonly<Record<GeneratedSecretKey, number>>;

/** The values a stack gets for keys it does not set, as the Pulumi CLI applies them from Pulumi.yaml. */
export function configDefaults(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of CONFIG_KEY_NAMES) {
        const d = recordOf(k).default;
        if (d !== undefined) out[k] = d;
    }
    return out;
}

/** One entry of a key's example (a list key's first), for fix commands; undefined for secrets. */
export function exampleEntry(k: ConfigKey): string | undefined {
    const e = recordOf(k).example;
    return typeof e === "string" || e === undefined ? e : e[0];
}

/** Whether `service` reads key `k` (keys without readers are read by the platform itself). */
export function readBy(k: ConfigKey, service: ServiceDefinition): boolean {
    return (recordOf(k).readers ?? []).some((r) => (typeof r === "function" ? r(service) : service.environmentGroups.includes(r)));
}
