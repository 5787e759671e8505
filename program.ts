/**
 * The program as a function, so the offline synth and the tests can run it more than once in a
 * process. index.ts calls it once and exports what it returns as the stack outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { HomeIQPlatform } from "./components/homeiqPlatform";
import { loadStackConfig } from "./config/loadConfig";

export function main(stack: string = pulumi.getStack()) {
    // Config first: invalid config throws here, before any resource is registered.
    const config = loadStackConfig(stack);
    if (config.influxdb.placeholderTokenAccepted) {
        pulumi.log.warn(
            "homeiq:influxdbAdminToken is an old placeholder credential, carried over from the compose files and accepted only because " +
                "homeiq:acceptPlaceholderInfluxdbToken is true. Anyone who knows those files can use InfluxDB with it. Rotate it " +
                "(README, 'Coming from the compose files': rotate the carried token) and remove that key.",
        );
    }
    const platform = new HomeIQPlatform("homeiq", { stack, config });
    return {
        profile: config.profileName,
        serviceUrls: platform.serviceUrls,
        healthUrls: platform.healthUrls,
        dashboardUrl: platform.dashboardUrl,
        networkName: platform.network.name,
        volumeNames: platform.volumes.names,
        disabledServices: Object.values(config.services)
            .filter((s) => !s.enabled)
            .map((s) => `${s.key}: ${s.disabledReason}`),
        /** Needed to sign in to InfluxDB's UI; a secret. */
        influxdbAdminToken: platform.secrets.get("influxdbAdminToken"),
        /** admin-api's admin password; a secret. */
        adminPassword: platform.secrets.get("adminPassword"),
    };
}
