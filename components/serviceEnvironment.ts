/**
 * The environment of each service, built from the catalog's fixed values and its environment
 * groups. Secret values stay Pulumi secrets inside the `KEY=value` entries.
 */
import * as pulumi from "@pulumi/pulumi";
import type { EnvironmentGroup, ServiceDefinition } from "../catalog/services";
import type { StackConfig } from "../config/schema";
import { influxDbClientEnvironment, type InfluxDbConnection } from "./influxDbConnection";
import type { PlatformSecrets } from "./platformSecrets";

export interface EnvironmentContext {
    readonly config: StackConfig;
    readonly secrets: PlatformSecrets;
    readonly influxdb: InfluxDbConnection;
}

type Env = Record<string, pulumi.Input<string>>;

function groupEnvironment(group: EnvironmentGroup, ctx: EnvironmentContext): Env {
    const { config, secrets, influxdb } = ctx;
    const i = config.integrations;
    switch (group) {
        case "influxdb-server":
            return {
                DOCKER_INFLUXDB_INIT_USERNAME: config.influxdb.username,
                DOCKER_INFLUXDB_INIT_PASSWORD: secrets.get("influxdbAdminPassword"),
                DOCKER_INFLUXDB_INIT_ORG: influxdb.org,
                DOCKER_INFLUXDB_INIT_BUCKET: influxdb.bucket,
                DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: influxdb.token,
                // Applies when the bucket is first created; InfluxDB keeps it after that.
                DOCKER_INFLUXDB_INIT_RETENTION: config.influxdb.retentionDays === 0 ? "0s" : `${config.influxdb.retentionDays}d`,
            };
        case "influxdb-client":
            return influxDbClientEnvironment(influxdb);
        case "home-assistant":
            return { HOME_ASSISTANT_URL: config.homeAssistantUrl, HOME_ASSISTANT_TOKEN: secrets.homeAssistantToken };
        case "weather":
            return {
                WEATHER_API_KEY: secrets.optional("weatherApiKey"),
                WEATHER_API_URL: "https://api.openweathermap.org/data/2.5",
                WEATHER_DEFAULT_LOCATION: i.weatherLocation,
                WEATHER_ENRICHMENT_ENABLED: String(secrets.has("weatherApiKey")),
                WEATHER_CACHE_MINUTES: "15",
                WEATHER_RATE_LIMIT_PER_MINUTE: "50",
                WEATHER_RATE_LIMIT_PER_DAY: "900",
                WEATHER_REQUEST_TIMEOUT: "10",
            };
        case "admin-auth":
            return {
                ENABLE_AUTH: String(config.profile.enableAuth),
                JWT_SECRET_KEY: secrets.get("jwtSecret"),
                ADMIN_PASSWORD: secrets.get("adminPassword"),
            };
        case "data-api-auth":
            return { ENABLE_AUTH: String(config.profile.enableAuth), API_KEY: secrets.get("dataApiKey") };
        case "cors":
            return { CORS_ORIGINS: config.corsOrigins.join(",") };
        case "carbon-intensity":
            return { WATTTIME_API_TOKEN: secrets.optional("wattTimeApiToken"), GRID_REGION: i.gridRegion };
        case "electricity-pricing":
            return { PRICING_PROVIDER: i.pricingProvider, PRICING_API_KEY: secrets.optional("pricingApiKey") };
        case "air-quality":
            return { AIRNOW_API_KEY: secrets.optional("airnowApiKey"), LATITUDE: i.latitude, LONGITUDE: i.longitude };
        case "calendar":
            return {
                GOOGLE_CLIENT_ID: i.googleClientId,
                GOOGLE_CLIENT_SECRET: secrets.optional("googleClientSecret"),
                GOOGLE_REFRESH_TOKEN: secrets.optional("googleRefreshToken"),
            };
        case "smart-meter":
            return { METER_TYPE: i.meterType, METER_API_TOKEN: secrets.optional("meterApiToken"), METER_DEVICE_ID: i.meterDeviceId };
        case "sports":
            return { SPORTS_API_KEY: secrets.optional("sportsApiKey"), SPORTS_API_PROVIDER: i.sportsApiProvider };
    }
}

/** The service's variables as a name → value map (values may be secret Outputs). */
export function serviceEnvironment(service: ServiceDefinition, ctx: EnvironmentContext): Env {
    const env: Env = { ...service.fixedEnvironment };
    if (service.key !== "influxdb" && service.key !== "health-dashboard") env.LOG_LEVEL = ctx.config.profile.logLevel;
    for (const group of service.environmentGroups) Object.assign(env, groupEnvironment(group, ctx));
    return env;
}

/** The docker provider's `envs` form. A secret value keeps its entry secret (pulumi.concat propagates it). */
export function toDockerEnvs(env: Env): pulumi.Input<string>[] {
    return Object.keys(env)
        .sort()
        .map((name) => {
            const value = env[name];
            return typeof value === "string" ? `${name}=${value}` : pulumi.concat(name, "=", value);
        });
}
