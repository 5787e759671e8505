/**
 * The environment of each service, built from the catalog's fixed values and its environment
 * groups. Secret values are named by their config key (EnvValue), never copied here: the service's
 * component gives it the Pulumi secret.
 */
import type { EnvironmentGroup, ServiceDefinition } from "../catalog/services";
import type { EnvValue } from "./plan";
import type { StackConfig } from "../config/schema";

type Env = Record<string, EnvValue>;

/**
 * A retention in days as InfluxDB writes durations: 0s is forever. The one encoding: the image's
 * DOCKER_INFLUXDB_INIT_RETENTION and scripts/influxdb/set-retention.sh both take it.
 */
export const influxRetention = (days: number): string => (days === 0 ? "0s" : `${days}d`);

/** Where the InfluxDB clients reach the server, on the platform network. */
export interface InfluxDbEndpoint {
    readonly url: string;
}

/** A third-party key: the secret when set, an empty value when not (as the old files did). */
const optional = (config: StackConfig, key: keyof StackConfig["secrets"]): EnvValue => (config.secrets[key] === undefined ? "" : { secret: key });

function groupEnvironment(group: EnvironmentGroup, config: StackConfig, influxdb: InfluxDbEndpoint): Env {
    const i = config.values;
    switch (group) {
        case "influxdb-server":
            return {
                DOCKER_INFLUXDB_INIT_USERNAME: config.values.influxdbUsername,
                DOCKER_INFLUXDB_INIT_PASSWORD: { secret: "influxdbAdminPassword" },
                DOCKER_INFLUXDB_INIT_ORG: config.values.influxdbOrg,
                DOCKER_INFLUXDB_INIT_BUCKET: config.values.influxdbBucket,
                DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: { secret: "influxdbAdminToken" },
                // Applies when the bucket is first created; InfluxDB keeps it after that.
                DOCKER_INFLUXDB_INIT_RETENTION: influxRetention(config.values.influxdbRetentionDays),
            };
        case "influxdb-client":
            // The one connection every client uses: websocket-ingestion once read other values from an untracked file.
            return {
                INFLUXDB_URL: influxdb.url,
                INFLUXDB_TOKEN: { secret: "influxdbAdminToken" },
                INFLUXDB_ORG: config.values.influxdbOrg,
                INFLUXDB_BUCKET: config.values.influxdbBucket,
            };
        case "log-level":
            return { LOG_LEVEL: config.profile.logLevel };
        case "home-assistant":
            return { HOME_ASSISTANT_URL: config.values.homeAssistantUrl, HOME_ASSISTANT_TOKEN: { secret: "homeAssistantToken" } };
        case "weather":
            return {
                WEATHER_API_KEY: optional(config, "weatherApiKey"),
                WEATHER_API_URL: "https://api.openweathermap.org/data/2.5",
                WEATHER_DEFAULT_LOCATION: i.weatherLocation,
                WEATHER_ENRICHMENT_ENABLED: String(config.secrets.weatherApiKey !== undefined),
                WEATHER_CACHE_MINUTES: "15",
                WEATHER_RATE_LIMIT_PER_MINUTE: "50",
                WEATHER_RATE_LIMIT_PER_DAY: "900",
                WEATHER_REQUEST_TIMEOUT: "10",
            };
        case "admin-auth":
            return {
                ENABLE_AUTH: String(config.profile.enableAuth),
                // The version the catalog models authenticates with a Bearer key read from API_KEY alone; with
                // ENABLE_AUTH and no API_KEY every protected route answers 401 (docs/homeiq.md).
                API_KEY: { secret: "adminPassword" },
                JWT_SECRET_KEY: { secret: "jwtSecret" },
                ADMIN_PASSWORD: { secret: "adminPassword" },
            };
        case "data-api-auth":
            return { ENABLE_AUTH: String(config.profile.enableAuth), API_KEY: { secret: "dataApiKey" } };
        case "cors":
            return { CORS_ORIGINS: config.corsOrigins.join(",") };
        case "carbon-intensity":
            return { WATTTIME_API_TOKEN: optional(config, "wattTimeApiToken"), GRID_REGION: i.gridRegion };
        case "electricity-pricing":
            return { PRICING_PROVIDER: i.pricingProvider, PRICING_API_KEY: optional(config, "pricingApiKey") };
        case "air-quality":
            return { AIRNOW_API_KEY: optional(config, "airnowApiKey"), LATITUDE: i.latitude, LONGITUDE: i.longitude };
        case "calendar":
            return {
                GOOGLE_CLIENT_ID: i.googleClientId,
                GOOGLE_CLIENT_SECRET: optional(config, "googleClientSecret"),
                GOOGLE_REFRESH_TOKEN: optional(config, "googleRefreshToken"),
            };
        case "smart-meter":
            return { METER_TYPE: i.meterType, METER_API_TOKEN: optional(config, "meterApiToken"), METER_DEVICE_ID: i.meterDeviceId };
        case "sports":
            return { SPORTS_API_KEY: optional(config, "sportsApiKey"), SPORTS_API_PROVIDER: i.sportsApiProvider };
    }
}

/** The service's variables, name → value; a group's value wins over a fixed one of the same name. */
export function serviceEnvironment(service: ServiceDefinition, config: StackConfig, influxdb: InfluxDbEndpoint): Env {
    const env: Env = { ...service.fixedEnvironment };
    for (const group of service.environmentGroups) Object.assign(env, groupEnvironment(group, config, influxdb));
    return env;
}
