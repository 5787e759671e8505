/**
 * The group that owns the Docker socket on the Docker host, found at deploy time when
 * `homeiq:dockerSocketGroupId` is not set: admin-api runs as uid 1001 with the socket mounted
 * read-only, and can use it only as a member of that group (root on some hosts, `docker` on others).
 * A Command (scripts/docker/socket-group.sh) asks the engine itself, through a one-off container of
 * the probing image, so it works for local and ssh:// engines alike. It runs again when that image
 * changes.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { scriptCommand, SCRIPTS } from "./scriptCommand";

/** The line socket-group.sh ends with. */
export const SOCKET_GID_LINE = /^HOMEIQ_DOCKER_SOCKET_GID=(\S+)$/m;

export interface DockerSocketGroupArgs {
    /** An image on the engine with `stat` (the image of the service that mounts the socket). */
    readonly probeImage: pulumi.Input<string>;
    readonly dockerHost: string;
}

export class DockerSocketGroup extends pulumi.ComponentResource {
    /** The socket's group id, for the container's `groupAdds`. */
    readonly groupId: pulumi.Output<string>;

    constructor(name: string, args: DockerSocketGroupArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:DockerSocketGroup", name, {}, opts);
        const probe = new command.local.Command(
            name,
            {
                create: scriptCommand(SCRIPTS.socketGroup),
                environment: { DOCKER_HOST: args.dockerHost, HOMEIQ_PROBE_IMAGE: args.probeImage },
                logging: "stdoutAndStderr",
            },
            { parent: this },
        );
        this.groupId = probe.stdout.apply((out) => {
            const found = SOCKET_GID_LINE.exec(out ?? "");
            if (!found) throw new pulumi.ResourceError(`${SCRIPTS.socketGroup} printed no HOMEIQ_DOCKER_SOCKET_GID line`, this);
            return found[1];
        });
        this.registerOutputs({ groupId: this.groupId });
    }
}
