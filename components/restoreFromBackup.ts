/**
 * Restores a stack's data from the backup folder named in `homeiq:restoreFrom`. It runs after
 * InfluxDB is up and before the services that read the SQLite volumes start; its trigger is the
 * folder, so it runs once per folder named, not on every update. scripts/backup/restore-stack.sh
 * verifies every checksum first: a missing or corrupt backup is refused and nothing is changed.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { sqliteRestoreTargets, sqliteServices, type BackupTarget } from "./backupScripts";
import { scriptCommand } from "./scriptCommand";
import { containerName } from "./naming";

export interface RestoreFromBackupArgs {
    readonly folder: string;
    readonly target: BackupTarget;
    /** A local image with sh and python3 that writes the SQLite files into their volumes. */
    readonly helperImage: pulumi.Input<string>;
    /** InfluxDB running, and the pre-change backup of the current data taken. */
    readonly after: pulumi.Input<pulumi.Resource>[];
}

export class RestoreFromBackup extends pulumi.ComponentResource {
    readonly command: command.local.Command;

    constructor(name: string, args: RestoreFromBackupArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:RestoreFromBackup", name, {}, opts);
        const { stack, config } = args.target;
        this.command = new command.local.Command(
            name,
            {
                create: scriptCommand("backup/restore-stack.sh"),
                // Without this, @pulumi/command reruns `create` when any input changes: a restore must never repeat.
                update: `echo "restore from ${args.folder} was already done; not repeated"`,
                environment: {
                    DOCKER_HOST: args.target.dockerHost,
                    HOMEIQ_RESTORE_DIR: args.folder,
                    HOMEIQ_STACK: stack,
                    HOMEIQ_INFLUX_CONTAINER: containerName(stack, "influxdb"),
                    HOMEIQ_INFLUX_TOKEN: args.target.influxToken,
                    HOMEIQ_SQLITE_RESTORES: sqliteRestoreTargets(stack, config),
                    HOMEIQ_RESTORE_HELPER_IMAGE: args.helperImage,
                    HOMEIQ_STOP_CONTAINERS: sqliteServices(config)
                        .map((k) => containerName(stack, k))
                        .join(" "),
                },
                triggers: [args.folder],
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: args.after },
        );
        this.registerOutputs({});
    }
}
