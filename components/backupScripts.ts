/**
 * How the program calls the backup scripts (scripts/backup/README.md has their contract): the
 * command strings, and the environment that describes a stack to them. Secrets travel only in
 * `environment`, never in a command string.
 */
import * as pulumi from "@pulumi/pulumi";
import { SERVICE_CATALOG, type ServiceKey } from "../catalog/services";
import type { StackConfig } from "../config/schema";
import { containerName, volumeName } from "./naming";

/**
 * Where backups go. The default stays `~/homeiq-backups` here: backup.sh resolves `~` to the home
 * folder of the machine that runs it, so the Command's inputs do not depend on who synthesized them.
 */
export function backupRoot(config: StackConfig): string {
    return config.backups.root ?? "~/homeiq-backups";
}

/** Services whose SQLite database a backup copies, among those this stack deploys. */
export function sqliteServices(config: StackConfig): ServiceKey[] {
    return (Object.keys(SERVICE_CATALOG) as ServiceKey[]).filter((k) => SERVICE_CATALOG[k].sqliteDatabase && config.services[k].enabled);
}

/** The non-secret part of the stack config, stored beside each backup as config.json. */
export function nonSecretConfig(config: StackConfig): string {
    return JSON.stringify({
        profile: config.profileName,
        dockerHost: config.dockerHost,
        images: config.images,
        rebuildGeneration: config.rebuildGeneration,
        homeAssistantUrl: config.homeAssistantUrl,
        influxdb: config.influxdb,
        integrations: config.integrations,
        services: config.services,
        corsOrigins: config.corsOrigins,
    });
}

export interface BackupTarget {
    readonly stack: string;
    readonly config: StackConfig;
    readonly influxToken: pulumi.Output<string>;
    readonly dockerHost: string;
    /** Image references by service, recorded in each manifest. */
    readonly images: Readonly<Partial<Record<ServiceKey, pulumi.Input<string>>>>;
}

/** The environment backup.sh needs for this stack; `reason` lands in the manifest. */
export function backupEnvironment(target: BackupTarget, reason: string): Record<string, pulumi.Input<string>> {
    const { stack, config } = target;
    return {
        DOCKER_HOST: target.dockerHost,
        HOMEIQ_STACK: stack,
        HOMEIQ_BACKUP_ROOT: backupRoot(config),
        HOMEIQ_BACKUP_KEEP: String(config.backups.keep),
        HOMEIQ_BACKUP_REASON: reason,
        HOMEIQ_INFLUX_CONTAINER: config.services.influxdb.enabled ? containerName(stack, "influxdb") : "",
        HOMEIQ_INFLUX_TOKEN: target.influxToken,
        HOMEIQ_SQLITE_DBS: sqliteServices(config)
            .map((k) => `${k}=${containerName(stack, k)}:${SERVICE_CATALOG[k].sqliteDatabase?.containerPath}`)
            .join(" "),
        HOMEIQ_STACK_CONFIG_JSON: nonSecretConfig(config),
        HOMEIQ_IMAGES_JSON: pulumi.output(target.images).apply((images) => JSON.stringify(images)),
    };
}

/** uid:gid that owns a service's files: its non-root user when the profile runs it so, else root. */
export function dataOwner(config: StackConfig, service: ServiceKey): string {
    const user = SERVICE_CATALOG[service].security.nonRootUser;
    return config.profile.hardening.runAsNonRoot && user !== null ? user : "0:0";
}

/** HOMEIQ_SQLITE_RESTORES: where each database goes, relative to its volume, and who owns it. */
export function sqliteRestoreTargets(stack: string, config: StackConfig): string {
    return sqliteServices(config)
        .map((k) => {
            const db = SERVICE_CATALOG[k].sqliteDatabase!;
            return `${k}=${volumeName(stack, db.volume)}:${db.pathInVolume}:${dataOwner(config, k)}`;
        })
        .join(" ");
}
