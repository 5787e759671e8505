/**
 * The host-ports check: before the first container of a deployment is created, scripts/preflight/
 * ports-free.sh refuses to go on while a running container outside the stack publishes one of the
 * stack's host ports (typically the old compose deployment, still up after a migration). Every
 * container depends on it, so a taken port stops `pulumi up` before anything is created or replaced,
 * instead of Docker failing halfway through. It runs on the first deployment, when the port plan
 * changes, and with every new `homeiq:restoreFrom`; a no-op `pulumi up` runs nothing.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceKey } from "../catalog/services";
import type { StackConfig } from "../config/schema";
import { scriptCommand, SCRIPTS } from "./scriptCommand";

export interface HostPortsCheckArgs {
    readonly stack: string;
    readonly config: StackConfig;
    readonly services: readonly ServiceKey[];
}

/** HOMEIQ_HOST_PORTS: `service=port` for every deployed service. */
export function hostPortsEntries(config: StackConfig, services: readonly ServiceKey[]): string {
    return services.map((k) => `${k}=${config.services[k].hostPort}`).join(" ");
}

export class HostPortsCheck extends pulumi.ComponentResource {
    readonly command: command.local.Command;

    constructor(name: string, args: HostPortsCheckArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:HostPortsCheck", name, {}, opts);
        const check = scriptCommand(SCRIPTS.hostPortsFree);
        this.command = new command.local.Command(
            name,
            {
                create: check,
                // A changed port plan is an update: check the new ports too.
                update: check,
                environment: {
                    DOCKER_HOST: args.config.dockerHost,
                    HOMEIQ_STACK: args.stack,
                    HOMEIQ_HOST_PORTS: hostPortsEntries(args.config, args.services),
                },
                // A restore is how a migration from the compose files arrives: check again, whatever else changed.
                triggers: [args.config.backups.restoreFrom ?? ""],
                logging: "stdoutAndStderr",
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
