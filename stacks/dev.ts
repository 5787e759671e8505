/**
 * The dev profile: main compose's memory limits with modest CPU caps, debug logs, ports offset
 * by 10000 so dev can share a Docker host with prod, and the images' own users.
 */
import type { StackProfile } from "./profile";

export const devProfile: StackProfile = {
    description: "Development: debug logging, ports offset by 10000, images run as built",
    logLevel: "DEBUG",
    logRotation: { maxSizeMiB: 10, maxFiles: 3 },
    restartPolicy: "unless-stopped",
    hostPortOffset: 10000,
    publishBindAddress: "127.0.0.1",
    dashboardBindAddress: "127.0.0.1",
    hardening: {
        noNewPrivileges: true,
        dropAllCapabilities: false,
        readOnlyRootFilesystem: false,
        runAsNonRoot: false,
        appArmorProfile: "docker-default",
    },
    enableAuth: false,
    cors: { origins: ["http://localhost:13000", "http://127.0.0.1:13000"], allowWildcard: true },
    // Dev history is test data, but losing it by accident still costs a rebuild's worth of time.
    // Python services run one process with a few dozen threads; nginx a master and a worker per core.
    pidsLimit: 256,
    retainDataVolumes: true,
    dockerApiProxyResources: { memoryMiB: 64, memoryReservationMiB: 16, cpus: 0.25 },
    resources: {
        influxdb: { memoryMiB: 512, memoryReservationMiB: 256, cpus: 1 },
        "websocket-ingestion": { memoryMiB: 512, memoryReservationMiB: 256, cpus: 0.5 },
        "enrichment-pipeline": { memoryMiB: 256, memoryReservationMiB: 128, cpus: 0.5 },
        "admin-api": { memoryMiB: 256, memoryReservationMiB: 128, cpus: 0.5 },
        "data-api": { memoryMiB: 512, memoryReservationMiB: 256, cpus: 0.5 },
        "data-retention": { memoryMiB: 256, memoryReservationMiB: 128, cpus: 0.5 },
        "carbon-intensity": { memoryMiB: 128, memoryReservationMiB: 64, cpus: 0.25 },
        "electricity-pricing": { memoryMiB: 128, memoryReservationMiB: 64, cpus: 0.25 },
        "air-quality": { memoryMiB: 128, memoryReservationMiB: 64, cpus: 0.25 },
        calendar: { memoryMiB: 128, memoryReservationMiB: 64, cpus: 0.25 },
        "smart-meter": { memoryMiB: 128, memoryReservationMiB: 64, cpus: 0.25 },
        "sports-data": { memoryMiB: 256, memoryReservationMiB: 128, cpus: 0.25 },
        "health-dashboard": { memoryMiB: 256, memoryReservationMiB: 128, cpus: 0.25 },
        "log-aggregator": { memoryMiB: 128, memoryReservationMiB: 64, cpus: 0.25 },
    },
};
