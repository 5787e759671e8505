/**
 * HomeIQ on Docker. The stack's config is validated first, so invalid config stops the program
 * before any resource is registered; then one HomeIQPlatform is built from it.
 */
import * as pulumi from "@pulumi/pulumi";
import { HomeIQPlatform } from "./components/homeiqPlatform";
import { loadStackConfig } from "./config/loadConfig";

const stack = pulumi.getStack();
const config = loadStackConfig(stack);
const platform = new HomeIQPlatform("homeiq", { stack, config });

export const profile = config.profileName;
export const serviceUrls = platform.serviceUrls;
export const healthUrls = platform.healthUrls;
export const dashboardUrl = platform.dashboardUrl;
export const networkName = platform.network.name;
export const volumeNames = platform.volumes.names;
export const disabledServices = Object.values(config.services)
    .filter((s) => !s.enabled)
    .map((s) => `${s.key}: ${s.disabledReason}`);
/** Needed to sign in to InfluxDB's UI; a secret. */
export const influxdbAdminToken = platform.secrets.get("influxdbAdminToken");
/** admin-api's admin password; a secret. */
export const adminPassword = platform.secrets.get("adminPassword");
