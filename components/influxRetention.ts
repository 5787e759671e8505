/**
 * Keeps the bucket's retention equal to `homeiq:influxdbRetentionDays`. The influxdb image applies
 * DOCKER_INFLUXDB_INIT_RETENTION only when it first creates the bucket; this Command
 * (scripts/influxdb/set-retention.sh) applies a later change to the running InfluxDB, once per
 * change of the setting.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { RetentionStep } from "../plan/plan";
import { scriptCommand, SCRIPTS, SECRET_COMMAND_OUTPUTS } from "./scriptCommand";


export interface InfluxRetentionArgs {
    readonly step: RetentionStep;
    readonly token: pulumi.Output<string>;
    readonly after: pulumi.Input<pulumi.Resource>[];
}

export class InfluxRetention extends pulumi.ComponentResource {
    readonly command: command.local.Command;

    constructor(name: string, args: InfluxRetentionArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:InfluxRetention", name, {}, opts);
        const { step } = args;
        this.command = new command.local.Command(
            name,
            {
                create: scriptCommand(step.swarmManager ? SCRIPTS.swarmSetRetention : SCRIPTS.setRetention),
                environment: {
                    DOCKER_HOST: step.dockerHost,
                    HOMEIQ_INFLUX_CONTAINER: step.container,
                    HOMEIQ_INFLUX_TOKEN: args.token,
                    HOMEIQ_INFLUX_ORG: step.org,
                    HOMEIQ_INFLUX_BUCKET: step.bucket,
                    HOMEIQ_INFLUX_RETENTION: step.retention,
                    ...(step.swarmManager ? { HOMEIQ_SWARM_MANAGER: step.swarmManager } : {}),
                },
                // A restore brings back the bucket's old retention: set it again after each one.
                triggers: [step.retention, step.restoredFrom ?? ""],
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: args.after, additionalSecretOutputs: SECRET_COMMAND_OUTPUTS },
        );
        this.registerOutputs({});
    }
}
