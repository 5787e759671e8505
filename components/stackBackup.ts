/**
 * One moment at which the stack's data is backed up, as a Command resource running
 * scripts/backup/backup.sh:
 * - "pre-change": the stateful containers depend on it and its triggers follow their specs and
 *   images, so Pulumi takes the backup before it replaces any of them (a first deploy finds
 *   nothing to back up and says so);
 * - "final": it depends on the stateful containers and backs up in its `delete`, so on
 *   `pulumi destroy` it runs while they are still up;
 * - "on-demand": runs whenever `homeiq:backupRequest` is raised.
 * None of them runs on a no-op `pulumi up`: nothing they depend on changes.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { BackupTargetPlan } from "../plan/plan";
import { backupEnvironment, type BackupWiring } from "./backupScripts";
import { scriptCommand, SCRIPTS, SECRET_COMMAND_OUTPUTS } from "./scriptCommand";

export type BackupMoment = "pre-change" | "final" | "on-demand";

export interface StackBackupArgs {
    readonly moment: BackupMoment;
    readonly target: BackupTargetPlan;
    readonly wiring: BackupWiring;
    /** What, when it changes, makes the backup run again (pre-change: the stateful containers' specs and images). */
    readonly triggers?: pulumi.Input<unknown>[];
    /** Resources that must exist first (final and on-demand: the stateful containers). */
    readonly after?: pulumi.Input<pulumi.Resource>[];
}

export class StackBackup extends pulumi.ComponentResource {
    readonly command: command.local.Command;

    constructor(name: string, args: StackBackupArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:StackBackup", name, {}, opts);
        // On swarm, through the wrapper that finds the stateful tasks' containers on the data node.
        const run = scriptCommand(args.target.swarmManager ? SCRIPTS.swarmBackup : SCRIPTS.backup);
        const environment = {
            ...backupEnvironment(args.target, args.wiring, args.moment),
            // Only the pre-change backup can run before the stack exists (a first deploy): there, finding
            // nothing is expected. Every other moment fails loudly when it finds nothing.
            HOMEIQ_BACKUP_IF_NOTHING: args.moment === "pre-change" ? "skip" : "fail",
        };
        this.command = new command.local.Command(
            name,
            args.moment === "final"
                ? // Only the delete runs a backup; create records nothing.
                  { delete: run, environment, logging: "stdoutAndStderr" }
                : {
                      create: run,
                      // A changed setting alone (say backupKeep) is no reason to back up: only the triggers are.
                      update: `echo "backup settings updated; no backup taken"`,
                      environment,
                      triggers: args.triggers,
                      logging: "stdoutAndStderr",
                  },
            { parent: this, dependsOn: args.after, additionalSecretOutputs: SECRET_COMMAND_OUTPUTS },
        );
        this.registerOutputs({});
    }
}
