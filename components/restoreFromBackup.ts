/**
 * Restores a stack's data from the backup folder named in `homeiq:restoreFrom`. It runs after
 * InfluxDB is up and before the services that read the SQLite volumes start; its trigger is the
 * folder, so it runs once per folder named, not on every update. scripts/backup/restore-stack.sh
 * verifies every checksum first: a missing or corrupt backup is refused and nothing is changed.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { sqliteRestoreTargets, sqliteServices, type BackupTarget } from "./backupScripts";
import { scriptCommand, SCRIPTS } from "./scriptCommand";
import { containerName } from "./naming";

export interface RestoreFromBackupArgs {
    readonly folder: string;
    readonly target: BackupTarget;
    /**
     * A local image with sh and python3 that writes the SQLite files into their volumes; needed
     * exactly when the stack deploys a SQLite service (whose image it is).
     */
    readonly helperImage?: pulumi.Input<string>;
    /** InfluxDB running (when deployed), and the pre-change backup of the current data taken. */
    readonly after: pulumi.Input<pulumi.Resource>[];
}

export class RestoreFromBackup extends pulumi.ComponentResource {
    readonly command: command.local.Command;

    constructor(name: string, args: RestoreFromBackupArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:RestoreFromBackup", name, {}, opts);
        const { stack, config } = args.target;
        const sqlite = sqliteServices(config);
        if (sqlite.length > 0 && args.helperImage === undefined) {
            throw new pulumi.ResourceError(`restoring ${sqlite.join(", ")} needs a helper image`, this);
        }
        this.command = new command.local.Command(
            name,
            {
                create: scriptCommand(SCRIPTS.restore),
                // Without this, @pulumi/command reruns `create` when any input changes: a restore must never repeat.
                // A constant: the folder is read from the environment by the shell, never pasted in.
                update: `echo "restore from $HOMEIQ_RESTORE_DIR was already done; not repeated"`,
                environment: {
                    DOCKER_HOST: args.target.dockerHost,
                    HOMEIQ_RESTORE_DIR: args.folder,
                    HOMEIQ_STACK: stack,
                    // Empty when the stack does not deploy influxdb: restore.sh then leaves InfluxDB data alone and says so.
                    HOMEIQ_INFLUX_CONTAINER: config.services.influxdb.enabled ? containerName(stack, "influxdb") : "",
                    HOMEIQ_INFLUX_TOKEN: args.target.influxToken,
                    HOMEIQ_SQLITE_RESTORES: sqliteRestoreTargets(stack, config),
                    HOMEIQ_RESTORE_HELPER_IMAGE: args.helperImage ?? "",
                    HOMEIQ_STOP_CONTAINERS: sqlite
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
