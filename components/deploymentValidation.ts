/**
 * HomeIQ's old post-rebuild checklist, run by itself: once every container is healthy, a Command
 * checks from the host what a person would (scripts/validate/validate.sh): each published health
 * endpoint answers 200, the dashboard serves HTML, InfluxDB reports ready; and it says which AppArmor
 * profile each container runs under (none where the host has no AppArmor); and the review's criteria
 * that can be judged at deploy time: each endpoint's p95 under 100 ms, no error lines in a log since
 * the container started (memory and CPU are reported). It retries within a
 * bound, prints a table of service, URL, status and latency, and fails the update with that table
 * when anything fails. Its triggers are the containers' ids, so it reruns whenever a container is
 * replaced, and not on a no-op update.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { REVIEW_CRITERIA } from "../catalog/criteria";
import type { ValidationPlan } from "../plan/plan";
import { scriptCommand, SCRIPTS } from "./scriptCommand";

export interface DeploymentValidationArgs {
    /** What to check and how patiently (the catalog says what a healthy answer is for each service). */
    readonly plan: ValidationPlan;
    /** The containers to wait for; their ids are the triggers. */
    readonly containers: readonly { id: pulumi.Output<string> }[];
    readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

export class DeploymentValidation extends pulumi.ComponentResource {
    readonly command: command.local.Command;

    constructor(name: string, args: DeploymentValidationArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:DeploymentValidation", name, {}, opts);
        this.command = new command.local.Command(
            name,
            {
                create: scriptCommand(SCRIPTS.validate),
                environment: {
                    HOMEIQ_VALIDATE_TARGETS: args.plan.targets.map((t) => `${t.service}=${t.check}:${t.url}`).join(" "),
                    HOMEIQ_VALIDATE_CONTAINERS: args.plan.containers.join(" "),
                    DOCKER_HOST: args.plan.dockerHost,
                    HOMEIQ_VALIDATE_TIMEOUT_SECONDS: String(args.plan.requestTimeoutSeconds),
                    HOMEIQ_VALIDATE_ATTEMPTS: String(args.plan.attempts),
                    HOMEIQ_VALIDATE_INTERVAL_SECONDS: "2",
                    // The review's criteria that can be judged at deploy time fail the update (an endpoint's
                    // p95, error lines since start); memory and CPU are only reported: every service has
                    // just started, so they say nothing of its steady state (npm run status judges those).
                    HOMEIQ_VALIDATE_MAX_LATENCY_MS: String(REVIEW_CRITERIA.latencyP95Ms),
                    HOMEIQ_VALIDATE_LATENCY_REQUESTS: String(REVIEW_CRITERIA.latencyRequests),
                    HOMEIQ_VALIDATE_ERROR_LINES: "fail",
                    HOMEIQ_VALIDATE_REPORT_USAGE: "true",
                },
                triggers: args.containers.map((c) => c.id),
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: args.dependsOn },
        );
        this.registerOutputs({});
    }
}
