/**
 * Restores a stack's data from the backup folder named in `homeiq:restoreFrom`. It runs after
 * InfluxDB is up and before the services that read the SQLite volumes start; its trigger is the
 * folder, so it runs once per folder named, not on every update. scripts/backup/restore-stack.sh
 * verifies every checksum first: a missing or corrupt backup is refused and nothing is changed.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { RestoreStep } from "../plan/plan";
import { scriptCommand, SCRIPTS, SECRET_COMMAND_OUTPUTS } from "./scriptCommand";

export interface RestoreFromBackupArgs {
    readonly step: RestoreStep;
    readonly influxToken: pulumi.Output<string>;
    /**
     * The image of `step.helperImageOf` (sh and python3), which writes the SQLite files into their
     * volumes; needed exactly when the stack deploys a SQLite service.
     */
    readonly helperImage?: pulumi.Input<string>;
    /** InfluxDB running (when deployed), and the pre-change backup of the current data taken. */
    readonly after: pulumi.Input<pulumi.Resource>[];
}

export class RestoreFromBackup extends pulumi.ComponentResource {
    readonly command: command.local.Command;

    constructor(name: string, args: RestoreFromBackupArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:RestoreFromBackup", name, {}, opts);
        const { step } = args;
        if (step.sqliteRestores.length > 0 && args.helperImage === undefined) {
            throw new pulumi.ResourceError(`restoring ${step.stopContainers.join(", ")} needs a helper image`, this);
        }
        this.command = new command.local.Command(
            name,
            {
                // On swarm the services are scaled to 0 through the manager instead of their containers stopped.
                create: scriptCommand(step.swarmManager ? SCRIPTS.swarmRestore : SCRIPTS.restore),
                // Without this, @pulumi/command reruns `create` when any input changes: a restore must never repeat.
                // A constant: the folder is read from the environment by the shell, never pasted in.
                update: `echo "restore from $HOMEIQ_RESTORE_DIR was already done; not repeated"`,
                environment: {
                    DOCKER_HOST: step.dockerHost,
                    HOMEIQ_RESTORE_DIR: step.folder,
                    HOMEIQ_STACK: step.stack,
                    // Empty when the stack does not deploy influxdb: restore.sh then leaves InfluxDB data alone and says so.
                    HOMEIQ_INFLUX_CONTAINER: step.influxContainer ?? "",
                    HOMEIQ_INFLUX_TOKEN: args.influxToken,
                    HOMEIQ_INFLUX_TMPDIR: step.influxStagingDir ?? "",
                    HOMEIQ_SQLITE_RESTORES: step.sqliteRestores.map((r) => `${r.service}=${r.volume}:${r.pathInVolume}:${r.owner}`).join(" "),
                    HOMEIQ_RESTORE_HELPER_IMAGE: args.helperImage ?? "",
                    ...(step.swarmManager
                        ? { HOMEIQ_SWARM_MANAGER: step.swarmManager, HOMEIQ_STOP_SERVICES: step.stopContainers.join(" ") }
                        : { HOMEIQ_STOP_CONTAINERS: step.stopContainers.join(" ") }),
                },
                triggers: [step.folder],
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: args.after, additionalSecretOutputs: SECRET_COMMAND_OUTPUTS },
        );
        this.registerOutputs({});
    }
}
