/**
 * The program as a function, so the offline synth and the tests can run it more than once in a
 * process. index.ts calls it once and exports what it returns as the stack outputs.
 *
 * Top to bottom: the config is validated (invalid config throws here, before any resource is
 * registered), resolved into the platform's plan, and the plan is deployed.
 */
import * as pulumi from "@pulumi/pulumi";
import { HomeIQPlatform } from "./components/homeiqPlatform";
import { loadStackConfig } from "./config/loadConfig";
import { resolvePlatform } from "./plan/resolve";

export function main(stack: string = pulumi.getStack()) {
    const config = loadStackConfig(stack);
    const plan = resolvePlatform(stack, config);
    for (const warning of plan.warnings) pulumi.log.warn(warning);
    const platform = new HomeIQPlatform("homeiq", { plan });
    return {
        profile: plan.profileName,
        serviceUrls: plan.outputs.serviceUrls,
        healthUrls: plan.outputs.healthUrls,
        dashboardUrl: plan.outputs.dashboardUrl,
        networkName: platform.network.name,
        volumeNames: platform.volumes.names,
        disabledServices: plan.outputs.disabledServices,
        /** Needed to sign in to InfluxDB's UI; a secret. */
        influxdbAdminToken: platform.secrets.get("influxdbAdminToken"),
        /** admin-api's admin password; a secret. */
        adminPassword: platform.secrets.get("adminPassword"),
    };
}
