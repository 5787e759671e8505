/**
 * The one place where exceptions to the homeiq-security policy pack live.
 *
 * Each entry names the policy it relaxes, the service it applies to (the value of the container's
 * `com.homeiq.service` label) and the reason, and it allows only what it names: a capability
 * exception lists the capabilities, a Docker-host-path exception lists the paths (which must still
 * be mounted read-only). A service not named here gets no exception, whatever its container looks
 * like.
 *
 * Facts (mounts, Dockerfile users, admin-api's Docker SDK use): docs/homeiq.md at the repository's root.
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

/**
 * The one service that may mount the Docker socket itself: the stack's Docker API proxy, which passes on
 * only an allow-list of read-only Engine API calls. A plain DockerHostPathException can never name the
 * socket (container-docker-host-paths refuses it): only an entry of this type can.
 */
export interface DockerSocketProxyException {
    readonly policy: Extract<PolicyName, "container-docker-host-paths">;
    readonly kind: "docker-socket-proxy";
    readonly service: string;
    /** The socket paths it may bind-mount (read-only still required). */
    readonly hostPaths: readonly string[];
    readonly reason: string;
}

export type PolicyException = NonRootUserException | CapabilityException | DockerHostPathException | DockerSocketProxyException;

export const POLICY_EXCEPTIONS: readonly PolicyException[] = [
    {
        policy: "container-docker-host-paths",
        kind: "docker-socket-proxy",
        service: "docker-api-proxy",
        hostPaths: ["/var/run/docker.sock"],
        reason:
            "The stack's Docker API proxy (images/docker-api-proxy: Debian's nginx) is the only process that talks to " +
            "the engine: it passes on only the read-only calls admin-api's Docker SDK makes (GET /_ping, /version, " +
            "/containers/json, /containers/<id>/json|stats|logs, /images/sha256:<id>/json) and answers everything " +
            "else 403. A read-only bind of the socket does not limit the API; the allow-list does. admin-api reaches " +
            "it on an internal network and never holds the socket.",
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
