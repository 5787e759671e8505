/**
 * The stack's jobs on the Docker host, with no Pulumi running: the scheduled backup (then the off-host
 * copy, scripts/backup/scheduled.sh) and the restore drill (scripts/backup/drill.sh). Each is a Command
 * whose create (and, as any input changes, its re-run) installs the job into the deploying user's crontab
 * through scripts/schedule/install.sh ("off" removes it), and whose delete, on `pulumi destroy`, removes it
 * (scripts/schedule/remove.sh). The user already has Docker access: no new privilege, no socket mounted.
 * Every credential travels in `environment`; install.sh keeps them in an owner-only file for the job.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { BackupScheduleStep, EnvValue } from "../plan/plan";
import { backupEnvironment, type BackupWiring } from "./backupScripts";
import { scriptCommand, SCRIPTS, SECRET_COMMAND_OUTPUTS } from "./scriptCommand";

export interface BackupScheduleArgs {
    readonly step: BackupScheduleStep;
    readonly wiring: BackupWiring;
    /** The stateful containers: the jobs are set up once they exist. */
    readonly after: pulumi.Input<pulumi.Resource>[];
}

export class BackupSchedule extends pulumi.ComponentResource {
    /** The backup job's Command (the drill's follows it). */
    readonly command: command.local.Command;
    readonly drill: command.local.Command;

    constructor(name: string, args: BackupScheduleArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:BackupSchedule", name, {}, opts);
        const { step, wiring } = args;
        const value = (v: EnvValue): pulumi.Input<string> => (typeof v === "string" ? v : wiring.secret(v.secret));
        const common: Record<string, pulumi.Input<string>> = {
            HOMEIQ_SCHEDULE_STACK: step.target.stack,
            HOMEIQ_COPY_REPO: step.copyRepository,
            HOMEIQ_COPY_PASSWORD: value(step.copyPassphrase),
            HOMEIQ_HA_URL: step.homeAssistantUrl,
            HOMEIQ_HA_TOKEN: value(step.homeAssistantToken),
            HOMEIQ_NOTIFY_WEBHOOK_URL: value(step.webhookUrl),
        };
        const job = (jobName: "backup" | "drill", when: string, script: string, parent: pulumi.Input<pulumi.Resource>[]): command.local.Command =>
            new command.local.Command(
                `${name}-${jobName}`,
                {
                    create: scriptCommand(SCRIPTS.scheduleInstall),
                    delete: scriptCommand(SCRIPTS.scheduleRemove),
                    environment: {
                        ...backupEnvironment(step.target, wiring, "scheduled"),
                        // A deployed stack: a scheduled backup that finds nothing fails (and is reported).
                        HOMEIQ_BACKUP_IF_NOTHING: "fail",
                        ...common,
                        HOMEIQ_SCHEDULE_DIR: `${step.folder}/${jobName}`,
                        HOMEIQ_SCHEDULE_JOB: jobName,
                        HOMEIQ_SCHEDULE_WHEN: when,
                        HOMEIQ_SCHEDULE_COMMAND: script,
                    },
                    logging: "stdoutAndStderr",
                },
                { parent: this, dependsOn: parent, additionalSecretOutputs: SECRET_COMMAND_OUTPUTS },
            );
        this.command = job("backup", step.backupWhen, "backup/scheduled.sh", args.after);
        this.drill = job("drill", step.drillWhen, "backup/drill.sh", [this.command]);
        this.registerOutputs({});
    }
}
