/**
 * The PIDs limit of every container (CIS Docker Benchmark 5.29): how many processes and threads it
 * may hold, so a fork bomb in one service cannot exhaust the host's PIDs.
 *
 * @pulumi/docker 5.x cannot set it: its Container has no such input, because the bridged
 * terraform-provider-docker v4.5.0 never sets HostConfig.PidsLimit (resource_docker_container_funcs.go
 * builds the HostConfig at lines 255-330 without it). So each container carries its limit in the
 * com.homeiq.pids-limit label (the policy pack checks it), and this Command applies the labels' values
 * through the Engine API's container update (scripts/docker/pids-limits.sh), which the engine keeps
 * across restarts. Its triggers are the containers' ids and the limits: it runs again when a container
 * is replaced (a new one starts without a limit until then) or a limit changes, not on a no-op update.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { scriptCommand, SCRIPTS } from "./scriptCommand";

export interface PidsLimitsArgs {
    readonly dockerHost: string;
    /** Each container, with its name and limit. */
    readonly containers: ReadonlyArray<{ readonly name: string; readonly limit: number; readonly container: { id: pulumi.Output<string> } & pulumi.Resource }>;
}

export class PidsLimits extends pulumi.ComponentResource {
    readonly command: command.local.Command;

    constructor(name: string, args: PidsLimitsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:PidsLimits", name, {}, opts);
        const limits = args.containers.map((c) => `${c.name}=${c.limit}`).join(" ");
        this.command = new command.local.Command(
            name,
            {
                create: scriptCommand(SCRIPTS.pidsLimits),
                environment: { DOCKER_HOST: args.dockerHost, HOMEIQ_PIDS_LIMITS: limits },
                triggers: [limits, ...args.containers.map((c) => c.container.id)],
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: args.containers.map((c) => c.container) },
        );
        this.registerOutputs({});
    }
}
