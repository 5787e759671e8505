/**
 * HomeIQ's old teardown-and-rebuild procedure as one config change: raising `homeiq:rebuildGeneration`
 * prunes the Docker build cache before any image builds, so every image is rebuilt from scratch.
 * The generation is also a build argument and a container label, so every image is rebuilt and
 * every container replaced (in dependency order). Volumes are untouched.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

export interface CleanRebuildArgs {
    readonly generation: number;
    readonly dockerHost: string;
}

export class CleanRebuild extends pulumi.ComponentResource {
    readonly prune: command.local.Command;

    constructor(name: string, args: CleanRebuildArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:CleanRebuild", name, {}, opts);
        this.prune = new command.local.Command(
            `${name}-prune-build-cache`,
            {
                create: "docker builder prune --all --force",
                environment: { DOCKER_HOST: args.dockerHost },
                triggers: [args.generation],
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
