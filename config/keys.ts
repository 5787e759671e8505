/**
 * Every config key of the `homeiq` namespace: its type as Pulumi.yaml declares it, whether it is a
 * secret, and what it means. Pulumi.yaml's `config:` block must match this list (a unit test checks),
 * so the CLI type-checks the same keys the zod schema validates.
 *
 * Pulumi project config can only declare string, integer, boolean and array types, so per-service
 * settings are arrays of `service=value` entries rather than nested objects. Pulumi also rejects a
 * default on a key declared `secret: true`, so only the required secret is declared secret there;
 * optional credentials default to "" and are still handled as secrets by the program (set them
 * with `pulumi config set --secret`).
 *
 * This is the one list of secret keys: the schema, the resolved plan, PlatformSecrets and the error
 * messages all read `secret` (and `generatedLength`) from here. Pulumi.yaml's `config:` block is
 * written from it (`npm run write:project-file`; `npm run check:project-file` in `npm test`).
 */
import { SERVICE_CATALOG, SERVICE_KEYS } from "../catalog/services";
export type ConfigKeyType = "string" | "integer" | "boolean" | "array";

export type ConfigDefault = string | number | boolean | readonly string[];

export interface ConfigKeyDeclaration {
    readonly type: ConfigKeyType;
    /** The program treats the value as a secret (wrapped with pulumi.secret, redacted in errors). */
    readonly secret: boolean;
    readonly description: string;
    /**
     * The value a stack gets when it does not set the key; absent for required keys. Pulumi requires
     * a default for every optional declared key, and "" or [] here means "not set".
     */
    readonly default?: ConfigDefault;
    /** A credential the program generates when unset (letters and digits, this long) and keeps in the stack's state. */
    readonly generatedLength?: number;
}

interface SecretDeclaration extends ConfigKeyDeclaration {
    readonly secret: true;
}

export const CONFIG_NAMESPACE = "homeiq";

const required = (type: ConfigKeyType, description: string): ConfigKeyDeclaration & { secret: false } => ({ type, secret: false, description });
const plain = (type: ConfigKeyType, defaultValue: ConfigDefault, description: string): ConfigKeyDeclaration & { secret: false } => ({
    type,
    secret: false,
    description,
    default: defaultValue,
});
const requiredSecret = (description: string): SecretDeclaration => ({ type: "string", secret: true, description });
const secret = (description: string): SecretDeclaration => ({ type: "string", secret: true, description, default: "" });
const generated = (length: number, description: string): SecretDeclaration & { generatedLength: number } => ({
    ...secret(description),
    generatedLength: length,
});

/** How many services are built from a HomeIQ checkout (the rest are pulled stock images). */
const BUILT = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].image.kind === "built").length;

export const CONFIG_KEYS = {
    profile: required("string", "Which stack profile to use: dev or prod (stacks/<profile>.ts)."),
    dockerHost: plain("string", "unix:///var/run/docker.sock", "Docker host: unix:///path, ssh://user@host or tcp://host:port."),
    imageSource: plain("string", "build", `build: build the ${BUILT} services from a HomeIQ checkout; registry: pull images pinned by digest.`),
    homeiqCheckoutPath: plain("string", "", "Absolute path of the HomeIQ checkout to build from (required when imageSource is build)."),
    imageReferences: plain(
        "array",
        [],
        `imageSource=registry: one 'service=repository@sha256:<64 hex>' entry for each of the ${BUILT} built services.`,
    ),
    influxdbImage: plain("string", "influxdb:2.7", "InfluxDB image; pin a digest with influxdb:2.7@sha256:... (required with imageSource=registry)."),
    rebuildGeneration: plain(
        "integer",
        0,
        "Raise by one for a clean rebuild: build cache pruned, every image rebuilt, every container replaced; volumes kept.",
    ),
    homeAssistantUrl: required("string", "Home Assistant URL (http, https, ws or wss)."),
    homeAssistantToken: requiredSecret("Home Assistant long-lived access token."),
    influxdbUsername: plain("string", "admin", "InfluxDB admin user created on first start."),
    influxdbOrg: plain("string", "homeiq", "InfluxDB organisation shared by every service."),
    influxdbBucket: plain("string", "home_assistant_events", "InfluxDB bucket shared by every service."),
    influxdbRetentionDays: plain("integer", 0, "Retention of the bucket in days; 0 keeps data forever. Applied at creation and to the running bucket on change."),
    influxdbAdminPassword: generated(32, "InfluxDB admin password; generated and kept in state when unset."),
    influxdbAdminToken: generated(64, "InfluxDB admin token; generated and kept in state when unset."),
    acceptPlaceholderInfluxdbToken: plain(
        "boolean",
        false,
        "Accept an old placeholder (or short) influxdbAdminToken carried over from a compose deployment (scripts/migrate); rotate it, then remove this key.",
    ),
    jwtSecret: generated(64, "admin-api JWT signing key; generated when unset."),
    adminPassword: generated(24, "admin-api's API key (Bearer token, API_KEY) and admin password; generated when unset."),
    dataApiKey: generated(48, "data-api API key; generated when unset."),
    weatherApiKey: secret("OpenWeatherMap API key (optional)."),
    wattTimeApiToken: secret("WattTime token for carbon-intensity (optional)."),
    pricingApiKey: secret("Electricity pricing provider key (optional)."),
    airnowApiKey: secret("AirNow key for air-quality (optional)."),
    googleClientSecret: secret("Google OAuth client secret for calendar (optional)."),
    googleRefreshToken: secret("Google OAuth refresh token for calendar (optional)."),
    meterApiToken: secret("Smart meter API token (optional)."),
    sportsApiKey: secret("Sports data API key (optional)."),
    weatherLocation: plain("string", "Las Vegas,NV,US", "Default weather location."),
    gridRegion: plain("string", "CAISO_NORTH", "WattTime grid region."),
    pricingProvider: plain("string", "awattar", "Electricity pricing provider."),
    latitude: plain("string", "36.1699", "Latitude for air quality, decimal degrees."),
    longitude: plain("string", "-115.1398", "Longitude for air quality, decimal degrees."),
    googleClientId: plain("string", "", "Google OAuth client id for calendar (optional)."),
    meterType: plain("string", "generic", "Smart meter type."),
    meterDeviceId: plain("string", "", "Smart meter device id (optional)."),
    sportsApiProvider: plain("string", "espn", "Sports data provider."),
    hostPorts: plain("array", [], "Host port overrides: 'service=port' entries (otherwise the profile's port plan)."),
    dashboardBindAddress: plain("string", "", "Host address the dashboard's port binds to (otherwise the profile's)."),
    corsOrigins: plain("array", [], "Origins allowed by admin-api and data-api CORS (otherwise the profile's)."),
    resourceOverrides: plain(
        "array",
        [],
        "Resource overrides: 'service:memoryMiB=N', 'service:memoryReservationMiB=N' or 'service:cpus=N' entries.",
    ),
    disabledServices: plain("array", [], "Services this stack does not deploy: 'service=reason' entries; the reason is required."),
    backupRoot: plain("string", "", "Folder on the machine running Pulumi where backups go (default: ~/homeiq-backups); absolute."),
    backupKeep: plain("integer", 7, "How many complete backups of this stack to keep."),
    backupRequest: plain("integer", 0, "Raise by one to take a backup now, on the next `pulumi up`."),
    restoreFrom: plain("string", "", "A backup folder to restore (verified first); runs once per folder named."),
    postDeployValidation: plain(
        "boolean",
        true,
        "After every change, check each published health URL from this machine and fail the update if one does not answer.",
    ),
    healthWaitTimeoutSeconds: plain("integer", 180, "Seconds `pulumi up` waits for each container to become healthy."),
    dockerSocketGroupId: plain("string", "", "Group id owning the Docker socket, given to admin-api so it can use it; unset: asked of the engine at deploy time."),
    dockerApiProxyBaseImage: plain(
        "string",
        "debian:bookworm-slim",
        "The Debian 12 image the Docker API proxy (images/docker-api-proxy: Debian's nginx) is built FROM; pin a digest with @sha256:... if you like.",
    ),
    maxOpenFiles: plain(
        "string",
        "",
        "The most open files the Docker engine can give a container (its own hard limit, e.g. rootless Docker); the catalog's nofile ulimits are lowered to it. Unset: no cap.",
    ),
} as const satisfies Record<string, ConfigKeyDeclaration>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

/** Keys whose values are secrets. */
export type SecretKey = { [K in ConfigKey]: (typeof CONFIG_KEYS)[K] extends { secret: true } ? K : never }[ConfigKey];
/** Secrets generated when unset. */
export type GeneratedSecretKey = { [K in ConfigKey]: (typeof CONFIG_KEYS)[K] extends { generatedLength: number } ? K : never }[ConfigKey];

export const SECRET_CONFIG_KEYS = (Object.keys(CONFIG_KEYS) as ConfigKey[]).filter((k): k is SecretKey => CONFIG_KEYS[k].secret);

export function isSecretKey(key: string): key is SecretKey {
    return (SECRET_CONFIG_KEYS as string[]).includes(key);
}

/** The generated secrets and their lengths, in key order. */
export const GENERATED_SECRETS = Object.fromEntries(
    (Object.keys(CONFIG_KEYS) as ConfigKey[]).flatMap((k) => {
        const length = (CONFIG_KEYS[k] as ConfigKeyDeclaration).generatedLength;
        return length === undefined ? [] : [[k, length]];
    }),
) as Readonly<Record<GeneratedSecretKey, number>>;

/** The values a stack gets for keys it does not set, as the Pulumi CLI applies them from Pulumi.yaml. */
export function configDefaults(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, d] of Object.entries(CONFIG_KEYS) as Array<[string, ConfigKeyDeclaration]>) {
        if (d.default !== undefined) out[key] = d.default;
    }
    return out;
}
