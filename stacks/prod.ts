/**
 * The prod profile: prod compose's limits where it had them (main's memory plus a CPU cap where it
 * did not), every port on 127.0.0.1 but the dashboard, full hardening, auth on, explicit CORS
 * origins, and data volumes that outlive `pulumi destroy`.
 */
import type { StackProfile } from "./profile";

export const prodProfile: StackProfile = {
    description: "Production: hardened, authenticated, loopback-only ports except the dashboard",
    logLevel: "INFO",
    logRotation: { maxSizeMiB: 10, maxFiles: 3 },
    restartPolicy: "unless-stopped",
    hostPortOffset: 0,
    publishBindAddress: "127.0.0.1",
    dashboardBindAddress: "127.0.0.1",
    hardening: {
        noNewPrivileges: true,
        dropAllCapabilities: true,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        appArmorProfile: "docker-default",
    },
    enableAuth: true,
    cors: { origins: ["http://localhost:3000"], allowWildcard: false },
    // Python services run one process with a few dozen threads; nginx a master and a worker per core.
    pidsLimit: 256,
    retainDataVolumes: true,
    dockerApiProxyResources: { memoryMiB: 64, memoryReservationMiB: 16, cpus: 0.25 },
    resources: {
        influxdb: { memoryMiB: 2048, memoryReservationMiB: 1024, cpus: 2 },
        "websocket-ingestion": { memoryMiB: 512, memoryReservationMiB: 256, cpus: 0.5 },
        "enrichment-pipeline": { memoryMiB: 1024, memoryReservationMiB: 512, cpus: 1 },
        "admin-api": { memoryMiB: 512, memoryReservationMiB: 256, cpus: 0.5 },
        "data-api": { memoryMiB: 512, memoryReservationMiB: 256, cpus: 1 },
        "data-retention": { memoryMiB: 1024, memoryReservationMiB: 512, cpus: 1 },
        "carbon-intensity": { memoryMiB: 128, memoryReservationMiB: 64, cpus: 0.25 },
        "electricity-pricing": { memoryMiB: 128, memoryReservationMiB: 64, cpus: 0.25 },
        "air-quality": { memoryMiB: 128, memoryReservationMiB: 64, cpus: 0.25 },
        calendar: { memoryMiB: 128, memoryReservationMiB: 64, cpus: 0.25 },
        "smart-meter": { memoryMiB: 128, memoryReservationMiB: 64, cpus: 0.25 },
        "sports-data": { memoryMiB: 256, memoryReservationMiB: 128, cpus: 0.5 },
        "health-dashboard": { memoryMiB: 256, memoryReservationMiB: 128, cpus: 0.25 },
        "log-aggregator": { memoryMiB: 128, memoryReservationMiB: 64, cpus: 0.25 },
    },
};
