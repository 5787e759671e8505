/**
 * The one place where exceptions to the homeiq-security policy pack live.
 *
 * Each entry names the policy it relaxes, the service it applies to (the value of the container's
 * `com.homeiq.service` label) and the reason, and it allows only what it names: a capability
 * exception lists the capabilities, a Docker-host-path exception lists the paths (which must still
 * be mounted read-only). A service not named here gets no exception, whatever its container looks
 * like.
 *
 * Facts: ../../shared/homeiq-services.md §1b (mounts), §3 (Dockerfile users), §9 (admin-api's Docker SDK).
 * The program's catalog carries the same facts for the containers it builds; if the two ever
 * disagree, the disagreement is a finding to reconcile, not something to paper over here.
 *
 * Keep this list small. Adding an entry is a security decision: say why the service cannot work
 * without it, and what would let the entry be removed.
 */
import type { PolicyName } from "./policies";

/** An exception that lets a service start as root. */
export interface NonRootUserException {
    readonly policy: Extract<PolicyName, "container-non-root-user">;
    readonly service: string;
    readonly reason: string;
}

/** An exception that lets a service add the listed Linux capabilities (after dropping ALL). */
export interface CapabilityException {
    readonly policy: Extract<PolicyName, "container-capabilities-restricted">;
    readonly service: string;
    /** Capability names without the `CAP_` prefix, e.g. `NET_BIND_SERVICE`. */
    readonly capabilities: readonly string[];
    readonly reason: string;
}

/** An exception that lets a service mount the listed Docker host paths, read-only. */
export interface DockerHostPathException {
    readonly policy: Extract<PolicyName, "container-docker-host-paths">;
    readonly service: string;
    /** Host paths the service may bind-mount (the path itself or anything below it), always read-only. */
    readonly hostPaths: readonly string[];
    readonly reason: string;
}

export type PolicyException = NonRootUserException | CapabilityException | DockerHostPathException;

export const POLICY_EXCEPTIONS: readonly PolicyException[] = [
    {
        policy: "container-docker-host-paths",
        service: "admin-api",
        hostPaths: ["/var/run/docker.sock"],
        reason:
            "admin-api lists and inspects the HomeIQ containers through the Docker SDK (docker==6.1.3), " +
            "which talks to /var/run/docker.sock. Read-only is required; note that a read-only bind of the " +
            "socket still lets a client send API calls, so this is the single most sensitive mount in the stack.",
    },
    {
        policy: "container-docker-host-paths",
        service: "log-aggregator",
        hostPaths: ["/var/lib/docker/containers"],
        reason:
            "log-aggregator reads the containers' json-file logs under /var/lib/docker/containers on the host. " +
            "It gets only the folder of each of the stack's other containers (/var/lib/docker/containers/<id>), " +
            "read-only, and the group that owns the logs (gid 0); never the whole folder, nothing writable.",
    },
    {
        policy: "container-non-root-user",
        service: "health-dashboard",
        reason:
            "The image is nginx:alpine, whose master process must start as root to bind port 80 and switch its " +
            "workers to the nginx user (the Dockerfile creates appuser 1001 but never switches to it). Remove " +
            "this entry when the dashboard moves to an unprivileged nginx image (e.g. nginxinc/nginx-unprivileged, " +
            "uid 101, listening on 8080).",
    },
    {
        policy: "container-capabilities-restricted",
        service: "health-dashboard",
        capabilities: ["CHOWN", "SETUID", "SETGID", "NET_BIND_SERVICE"],
        reason:
            "nginx's root master chowns its cache and temp directories (CHOWN), switches its workers to the " +
            "nginx user (SETUID, SETGID) and binds port 80 (NET_BIND_SERVICE). All four go away with an " +
            "unprivileged nginx image.",
    },
];

/** The exceptions for one policy and service (an empty list when there are none or the service is unknown). */
export function exceptionsFor<P extends PolicyException["policy"]>(
    policy: P,
    service: string | undefined,
    exceptions: readonly PolicyException[] = POLICY_EXCEPTIONS,
): Extract<PolicyException, { policy: P }>[] {
    if (service === undefined) {
        return [];
    }
    return exceptions.filter(
        (e): e is Extract<PolicyException, { policy: P }> => e.policy === policy && e.service === service,
    );
}
