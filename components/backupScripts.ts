/**
 * How the program describes a stack to the backup scripts (scripts/backup/README.md has their
 * contract): the environment of backup.sh. Secrets travel only in `environment`, never in a
 * command string.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ServiceKey } from "../catalog/services";
import type { SecretKey } from "../config/keys";
import type { BackupTargetPlan } from "../plan/plan";

/** What a backup needs that only exists at deploy time. */
export interface BackupWiring {
    /** The InfluxDB admin token; a secret. */
    readonly influxToken: pulumi.Output<string>;
    /** Image references by service, recorded in each manifest. */
    readonly images: Readonly<Partial<Record<ServiceKey, pulumi.Input<string>>>>;
    /** Any secret config value, as a Pulumi secret ("" when unset): the schedule's credentials. */
    readonly secret: (key: SecretKey) => pulumi.Output<string>;
}

/** The environment backup.sh needs for this stack, in its wire format (the one place it is written); `reason` lands in the manifest. */
export function backupEnvironment(target: BackupTargetPlan, wiring: BackupWiring, reason: string): Record<string, pulumi.Input<string>> {
    return {
        DOCKER_HOST: target.dockerHost,
        HOMEIQ_STACK: target.stack,
        HOMEIQ_BACKUP_ROOT: target.root,
        HOMEIQ_BACKUP_KEEP: String(target.keep),
        HOMEIQ_BACKUP_KEEP_DAYS: String(target.keepDays),
        HOMEIQ_BACKUP_REASON: reason,
        // Empty: the stack deploys no InfluxDB; the script's own /tmp.
        HOMEIQ_INFLUX_CONTAINER: target.influxContainer ?? "",
        HOMEIQ_INFLUX_TOKEN: wiring.influxToken,
        HOMEIQ_INFLUX_TMPDIR: target.influxStagingDir ?? "",
        HOMEIQ_SQLITE_DBS: target.sqliteDatabases.map((d) => `${d.service}=${d.container}:${d.path}`).join(" "),
        HOMEIQ_STACK_CONFIG_JSON: JSON.stringify(target.config),
        HOMEIQ_IMAGES_JSON: pulumi.output(wiring.images).apply((images) => JSON.stringify(images)),
        // On swarm: where the scripts/swarm/ wrappers ask which node runs a service.
        ...(target.swarmManager ? { HOMEIQ_SWARM_MANAGER: target.swarmManager } : {}),
    };
}
