/**
 * The watch between deploys: a Command that installs, through the host scheduler (issue 17's
 * scripts/schedule: one line in the crontab of the user who runs `pulumi up`, no new privilege),
 * scripts/watch/watch.sh every `everyMinutes` minutes, and removes it on `pulumi destroy`. The watch
 * checks the running stack as `npm run status` does and notifies through Home Assistant (the stack's
 * URL and token, and the notify webhook when set) when a problem outlasts its grace, and once more when it clears.
 *
 * The token reaches the schedule's env file (0600, owner only) through this Command's environment;
 * the Command's stdout and stderr are kept secret in state (SECRET_COMMAND_OUTPUTS).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { REVIEW_CRITERIA } from "../catalog/criteria";
import type { WatchPlan } from "../plan/plan";
import { scriptCommand, SCRIPTS, SECRET_COMMAND_OUTPUTS } from "./scriptCommand";

export interface StackWatchArgs {
    readonly plan: WatchPlan;
    readonly homeAssistantToken: pulumi.Input<string>;
    /** The notify webhook (a secret: an ntfy topic is as good as a password), when the stack sets one. */
    readonly webhookUrl?: pulumi.Input<string>;
    /** The containers: the watch starts after them, and `pulumi destroy` removes it before them. */
    readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** The watch's environment, as scripts/schedule/install.sh and scripts/watch/watch.sh read it. */
export function watchEnvironment(plan: WatchPlan): Record<string, string> {
    return {
        DOCKER_HOST: plan.dockerHost,
        HOMEIQ_SCHEDULE_DIR: plan.scheduleDir,
        HOMEIQ_SCHEDULE_JOB: "watch",
        HOMEIQ_SCHEDULE_STACK: plan.stack,
        HOMEIQ_SCHEDULE_WHEN: `every ${plan.everyMinutes}`,
        HOMEIQ_SCHEDULE_COMMAND: "watch/watch.sh",
        // A watch that missed its runs while the host was off has nothing to catch up: no "late" notice.
        HOMEIQ_SCHEDULE_LATE_MINUTES: "10080",
        HOMEIQ_WATCH_STACK: plan.stack,
        HOMEIQ_WATCH_STATE_FILE: `${plan.scheduleDir}/watch.state`,
        HOMEIQ_WATCH_CONTAINERS: plan.containers.join(" "),
        HOMEIQ_WATCH_TARGETS: plan.targets.map((t) => `${t.service}=${t.check}:${t.url}`).join(" "),
        HOMEIQ_WATCH_DOWN_MINUTES: String(plan.downMinutes),
        HOMEIQ_WATCH_CRITERION_MINUTES: String(plan.criterionMinutes),
        HOMEIQ_WATCH_DISK_PERCENT: String(plan.diskPercent),
        HOMEIQ_WATCH_DISK_PATHS: plan.diskPaths.join(" "),
        HOMEIQ_WATCH_MAX_LATENCY_MS: String(REVIEW_CRITERIA.latencyP95Ms),
        HOMEIQ_WATCH_MEMORY_PERCENT: String(REVIEW_CRITERIA.memoryPercent),
        HOMEIQ_WATCH_CPU_PERCENT: String(REVIEW_CRITERIA.cpuPercent),
        HOMEIQ_HA_URL: plan.homeAssistantUrl,
        // On swarm: services read through the manager (DOCKER_HOST), the volumes' disk on the data node.
        ...(plan.swarm
            ? {
                  HOMEIQ_WATCH_SWARM_SERVICES: plan.swarm.services.join(" "),
                  HOMEIQ_WATCH_SWARM_DATA_NODE: plan.swarm.dataNode,
                  HOMEIQ_WATCH_SWARM_DATA_HOST: plan.swarm.dataDockerHost,
                  HOMEIQ_WATCH_SWARM_VOLUME_MOUNTS: plan.swarm.volumeMounts.join(" "),
                  HOMEIQ_WATCH_SWARM_NODES: plan.swarm.nodes.join(" "),
              }
            : {}),
    };
}

export class StackWatch extends pulumi.ComponentResource {
    readonly command: command.local.Command;

    constructor(name: string, args: StackWatchArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:StackWatch", name, {}, opts);
        this.command = new command.local.Command(
            name,
            {
                // install.sh run again updates the schedule in place (and keeps its state when `when` is unchanged).
                create: scriptCommand(SCRIPTS.scheduleInstall),
                update: scriptCommand(SCRIPTS.scheduleInstall),
                delete: scriptCommand(SCRIPTS.scheduleRemove),
                environment: {
                    ...watchEnvironment(args.plan),
                    HOMEIQ_HA_TOKEN: args.homeAssistantToken,
                    ...(args.webhookUrl !== undefined ? { HOMEIQ_NOTIFY_WEBHOOK_URL: args.webhookUrl } : {}),
                },
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: args.dependsOn, additionalSecretOutputs: SECRET_COMMAND_OUTPUTS },
        );
        this.registerOutputs({});
    }
}
