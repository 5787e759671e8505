/**
 * The host-ports check: before the first container of a deployment is created, scripts/preflight/
 * ports-free.sh refuses to go on while a running container outside the stack publishes one of the
 * stack's host ports (typically the old compose deployment, still up after a migration), or a process
 * on the Docker host listens on one (a native influxd on 8086, Grafana on 3000). Every
 * container depends on it, so a taken port stops `pulumi up` before anything is created or replaced,
 * instead of Docker failing halfway through. It runs on the first deployment, when the port plan
 * changes, and with every new `homeiq:restoreFrom`; a no-op `pulumi up` runs nothing.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { HostPortsCheckStep } from "../plan/plan";
import { scriptCommand, SCRIPTS } from "./scriptCommand";

export interface HostPortsCheckArgs {
    readonly step: HostPortsCheckStep;
    /** The image of `step.helperImageOf`: a one-off container of it on the host's network lists its listening sockets. */
    readonly helperImage: pulumi.Input<string>;
}

export class HostPortsCheck extends pulumi.ComponentResource {
    readonly command: command.local.Command;

    constructor(name: string, args: HostPortsCheckArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:HostPortsCheck", name, {}, opts);
        const { step } = args;
        const check = scriptCommand(SCRIPTS.hostPortsFree);
        this.command = new command.local.Command(
            name,
            {
                create: check,
                // A changed port plan is an update: check the new ports too.
                update: check,
                environment: {
                    DOCKER_HOST: step.dockerHost,
                    HOMEIQ_STACK: step.stack,
                    HOMEIQ_HOST_PORTS: Object.entries(step.ports)
                        .map(([service, port]) => `${service}=${port}`)
                        .join(" "),
                    HOMEIQ_HELPER_IMAGE: args.helperImage,
                },
                // A restore is how a migration from the compose files arrives: check again, whatever else changed.
                triggers: [step.restoreFrom ?? ""],
                logging: "stdoutAndStderr",
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
