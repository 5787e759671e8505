/**
 * Keeps the bucket's retention equal to `homeiq:influxdbRetentionDays`. The influxdb image applies
 * DOCKER_INFLUXDB_INIT_RETENTION only when it first creates the bucket; this Command
 * (scripts/influxdb/set-retention.sh) applies a later change to the running InfluxDB, once per
 * change of the setting.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { scriptCommand, SCRIPTS } from "./scriptCommand";

/** InfluxDB's retention notation: 0 is forever. */
export const retentionValue = (days: number): string => (days === 0 ? "0" : `${days}d`);

export interface InfluxRetentionArgs {
    readonly container: string;
    readonly token: pulumi.Output<string>;
    readonly org: string;
    readonly bucket: string;
    readonly retentionDays: number;
    readonly dockerHost: string;
    /** The backup folder restored (a restore brings back the bucket's old retention), if any. */
    readonly restoredFrom?: string;
    readonly after: pulumi.Input<pulumi.Resource>[];
}

export class InfluxRetention extends pulumi.ComponentResource {
    readonly command: command.local.Command;

    constructor(name: string, args: InfluxRetentionArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:InfluxRetention", name, {}, opts);
        this.command = new command.local.Command(
            name,
            {
                create: scriptCommand(SCRIPTS.setRetention),
                environment: {
                    DOCKER_HOST: args.dockerHost,
                    HOMEIQ_INFLUX_CONTAINER: args.container,
                    HOMEIQ_INFLUX_TOKEN: args.token,
                    HOMEIQ_INFLUX_ORG: args.org,
                    HOMEIQ_INFLUX_BUCKET: args.bucket,
                    HOMEIQ_INFLUX_RETENTION: retentionValue(args.retentionDays),
                },
                triggers: [args.retentionDays, args.restoredFrom ?? ""],
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: args.after },
        );
        this.registerOutputs({});
    }
}
