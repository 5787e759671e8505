/**
 * The container health gate: once every container is created, a Command asks the engine that each
 * one is running and `healthy` in Docker's own health state (scripts/validate/containers-healthy.sh).
 * Its triggers are the containers' ids, so it runs whenever a container is created or replaced and
 * never on a no-op update. That includes the `pulumi up` after a container failed @pulumi/docker's
 * health wait: the provider keeps that container in state and its next update does not wait again
 * (docs/provider-behaviour.md, finding 4), but its id is new to this gate, which never ran with it
 * (the update stopped at the failure). Present whatever homeiq:postDeployValidation says: that key
 * turns off the HTTP checks from this machine, not Docker's own verdict.
 */
import * as command from "@pulumi/command";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { scriptCommand, SCRIPTS } from "./scriptCommand";

export interface ContainerHealthGateArgs {
    readonly containers: readonly docker.Container[];
    readonly dockerHost: string;
}

export class ContainerHealthGate extends pulumi.ComponentResource {
    readonly command: command.local.Command;

    constructor(name: string, args: ContainerHealthGateArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:ContainerHealthGate", name, {}, opts);
        const containers = args.containers.map((c) => c.name);
        this.command = new command.local.Command(
            name,
            {
                create: scriptCommand(SCRIPTS.containersHealthy),
                environment: {
                    DOCKER_HOST: args.dockerHost,
                    HOMEIQ_HEALTH_CONTAINERS: pulumi.all(containers).apply((names) => names.join(" ")),
                    HOMEIQ_HEALTH_WAIT_SECONDS: "60",
                },
                triggers: args.containers.map((c) => c.id),
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: [...args.containers] },
        );
        this.registerOutputs({});
    }
}
