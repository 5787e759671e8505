/**
 * The program as a function, so the offline synth and the tests can run it more than once in a
 * process. index.ts calls it once and exports what it returns as the stack outputs.
 *
 * Top to bottom: the config is validated (invalid config throws here, before any resource is
 * registered), resolved into the platform's plan, and the plan is deployed.
 */
import * as pulumi from "@pulumi/pulumi";
import { HomeIQPlatform } from "./components/homeiqPlatform";
import { SwarmPlatform } from "./components/swarmPlatform";
import type { PlatformPlan } from "./plan/plan";
import { loadStackConfig, type LoadOptions } from "./config/loadConfig";
import { resolvePlatform } from "./plan/resolve";

export function main(stack: string = pulumi.getStack(), options: LoadOptions = {}) {
    const config = loadStackConfig(stack, options);
    const plan = resolvePlatform(stack, config);
    for (const warning of plan.warnings) pulumi.log.warn(warning);
    if (plan.swarm) return swarmOutputs(plan, new SwarmPlatform("homeiq", { plan, swarm: plan.swarm }));
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

/**
 * The same outputs on swarm: only the dashboard is reachable from outside (every other service talks
 * over the overlay), its URL is on the apps node it is pinned to; the services the swarm target does
 * not run are listed with the disabled ones.
 */
function swarmOutputs(plan: PlatformPlan, platform: SwarmPlatform) {
    const swarm = plan.swarm!;
    for (const limitation of swarm.limitations) pulumi.log.warn(limitation);
    const dashboard = swarm.services.find((s) => s.publish);
    return {
        profile: plan.profileName,
        serviceUrls: dashboard && swarm.dashboardUrl ? { [dashboard.key]: swarm.dashboardUrl } : {},
        healthUrls: dashboard && swarm.dashboardUrl ? { [dashboard.key]: `${swarm.dashboardUrl}${new URL(plan.outputs.healthUrls[dashboard.key] ?? "http://x/").pathname}` } : {},
        dashboardUrl: swarm.dashboardUrl,
        networkName: platform.network.name,
        /** Created by the tasks on their nodes (the stateful ones on the data node); those of services not on swarm are not. */
        volumeNames: Object.fromEntries(
            plan.volumes
                .filter((v) => plan.services.some((s) => swarm.services.some((w) => w.key === s.key) && s.volumes.some((m) => m.volume === v.key)))
                .map((v) => [v.key, v.name]),
        ),
        disabledServices: [...plan.outputs.disabledServices, ...swarm.notOnSwarm],
        influxdbAdminToken: platform.secrets.get("influxdbAdminToken"),
        adminPassword: platform.secrets.get("adminPassword"),
    };
}
