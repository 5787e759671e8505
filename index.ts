/**
 * HomeIQ on Docker: the stack's config is validated, then one HomeIQPlatform is built from it.
 * Everything `main` returns becomes a stack output (secrets stay secrets).
 */
import { main } from "./program";

export const {
    profile,
    serviceUrls,
    healthUrls,
    dashboardUrl,
    networkName,
    volumeNames,
    disabledServices,
    influxdbAdminToken,
    adminPassword,
} = main();
