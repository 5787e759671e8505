/**
 * Hands volumes that older deployments filled as root to the non-root user a service now runs as
 * (data-api and sports-data), once, before that service starts (scripts/backup/chown-volume.sh).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { VolumeHandoverStep } from "../plan/plan";
import { scriptCommand, SCRIPTS } from "./scriptCommand";

export interface VolumeHandoverArgs {
    readonly step: VolumeHandoverStep;
    /** The image of `step.helperImageOf`. */
    readonly helperImage: pulumi.Input<string>;
    readonly after: pulumi.Input<pulumi.Resource>[];
}

export class VolumeHandover extends pulumi.ComponentResource {
    readonly command: command.local.Command;

    constructor(name: string, args: VolumeHandoverArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:VolumeHandover", name, {}, opts);
        const owners = Object.entries(args.step.owners)
            .map(([volume, owner]) => `${volume}=${owner}`)
            .join(" ");
        this.command = new command.local.Command(
            name,
            {
                create: scriptCommand(SCRIPTS.chownVolume),
                update: `echo "volume ownership unchanged"`,
                environment: { DOCKER_HOST: args.step.dockerHost, HOMEIQ_CHOWN_VOLUMES: owners, HOMEIQ_HELPER_IMAGE: args.helperImage },
                // Once per owner change; chown-volume.sh is a no-op when ownership is already right.
                triggers: [owners],
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: args.after },
        );
        this.registerOutputs({});
    }
}
