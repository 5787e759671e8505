/**
 * HomeIQ's old post-rebuild checklist, run by itself: once every container is healthy, a Command
 * checks from the host what a person would (scripts/validate/validate.sh): each published health
 * endpoint answers 200, the dashboard serves HTML, InfluxDB reports ready. It retries within a
 * bound, prints a table of service, URL, status and latency, and fails the update with that table
 * when anything fails. Its triggers are the containers' ids, so it reruns whenever a container is
 * replaced, and not on a no-op update.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceKey } from "../catalog/services";
import { scriptCommand, SCRIPTS } from "./scriptCommand";

/** What a healthy answer looks like for each service. */
export type ValidationCheck = "http200" | "html" | "influx-ready";

/**
 * `service=check:url` for each service: InfluxDB must report ready on /ready, the dashboard must
 * serve HTML on its page, every other service must answer 200 on its health URL.
 */
export function validationTargets(healthUrls: Readonly<Partial<Record<ServiceKey, string>>>, serviceUrls: Readonly<Partial<Record<ServiceKey, string>>>): string {
    return (Object.entries(healthUrls) as Array<[ServiceKey, string]>)
        .map(([service, url]) => {
            if (service === "influxdb") return `${service}=influx-ready:${serviceUrls.influxdb}/ready`;
            if (service === "health-dashboard") return `${service}=html:${url}`;
            return `${service}=http200:${url}`;
        })
        .join(" ");
}

export interface DeploymentValidationArgs {
    /** `service=check:url` entries (validationTargets). */
    readonly targets: string;
    /** The containers to wait for; their ids are the triggers. */
    readonly containers: readonly { id: pulumi.Output<string> }[];
    readonly dependsOn: pulumi.Input<pulumi.Resource>[];
    readonly requestTimeoutSeconds: number;
    readonly attempts: number;
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
                    HOMEIQ_VALIDATE_TARGETS: args.targets,
                    HOMEIQ_VALIDATE_TIMEOUT_SECONDS: String(args.requestTimeoutSeconds),
                    HOMEIQ_VALIDATE_ATTEMPTS: String(args.attempts),
                    HOMEIQ_VALIDATE_INTERVAL_SECONDS: "2",
                },
                triggers: args.containers.map((c) => c.id),
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: args.dependsOn },
        );
        this.registerOutputs({});
    }
}
