/**
 * The swarm target: the same PlatformPlan carried out on a Docker Swarm instead of one host
 * (homeiq:target swarm). Pure, like the resolve step: the plan and the target's nodes in, where each
 * service runs and how it is reached out. Nothing here is a second catalog: every service keeps its
 * ServicePlan (image, environment, health check, limits, hardening, volumes); this only adds what a
 * swarm needs on top (placement, the overlay, what is published, which node builds which image).
 */
import { SERVICE_CATALOG, type ServiceKey } from "../catalog/services";
import type { PlatformPlan, ServicePlan } from "./plan";

export const SWARM_ROLES = ["data", "apps"] as const;
export type SwarmRole = (typeof SWARM_ROLES)[number];

/** One swarm node, as homeiq:swarmNodes names it. */
export interface SwarmNodeConfig {
    /** The node's hostname, as `docker node ls` shows it. */
    readonly hostname: string;
    readonly roles: readonly SwarmRole[];
    /** The node's own engine (images are built there, backups reach its tasks there); the manager's (homeiq:dockerHost) when unset. */
    readonly dockerHost?: string;
}

export interface SwarmTargetConfig {
    readonly nodes: readonly SwarmNodeConfig[];
    /** The overlay network's subnet (homeiq:swarmSubnet): must not overlap the home LAN. */
    readonly subnet: string;
    /** The profile asks for no-new-privileges: every node's daemon must enforce it (swarm services cannot ask for it). */
    readonly requireNoNewPrivileges: boolean;
}

/** The label the preflight puts on each node for each of its roles (`homeiq.role.apps=true`). */
export const roleLabel = (role: SwarmRole): string => `homeiq.role.${role}`;

export interface SwarmServicePlan {
    readonly key: ServiceKey;
    /** The swarm service's name (the container name of the host target: one name per stack and service). */
    readonly name: string;
    readonly role: SwarmRole;
    /** Placement constraints: a stateful service is pinned to one node by hostname; the rest go where their role is. */
    readonly constraints: readonly string[];
    /** The nodes that may run it, each of which builds (or holds) its image. */
    readonly nodes: readonly string[];
    /** Published in host mode on the node that runs it (the dashboard only): every published port binds all interfaces. */
    readonly publish?: { readonly published: number; readonly target: number };
    /** stop-first: one replica, fixed host ports and volumes never shared by two tasks. */
    readonly updateOrder: "stop-first";
}

export interface SwarmPlan {
    readonly nodes: ReadonlyArray<Required<SwarmNodeConfig>>;
    readonly network: { readonly name: string; readonly subnet: string; readonly labels: Readonly<Record<string, string>> };
    readonly services: readonly SwarmServicePlan[];
    /** `service: reason` of each deployed-on-a-host service that the swarm target does not run. */
    readonly notOnSwarm: readonly string[];
    readonly requireNoNewPrivileges: boolean;
    /** The engine version a node must run at least (health checks as the program writes them; API 1.44). */
    readonly minEngineMajor: number;
}

/** Why a service is left out on swarm, from what its catalog entry needs of the one host. */
export function notPortableReason(s: ServicePlan): string | undefined {
    if (s.readsLogsOf) return "reads each container's json-file log from its host's /var/lib/docker/containers; on swarm the containers are on other nodes";
    if (s.usesDockerApi) return "reads the Docker engine (through the API proxy), which shows one node's containers, not the swarm's";
    return undefined;
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** The swarm form of `plan` on `target`. Throws, naming the config key, for a target it cannot be carried out on. */
export function resolveSwarm(plan: PlatformPlan, target: SwarmTargetConfig): SwarmPlan {
    const fix = "e.g. `pulumi config set --path 'homeiq:swarmNodes[0]' nas=data` and `... [1]' minipc=apps`";
    const seen = new Set<string>();
    for (const n of target.nodes) {
        if (seen.has(n.hostname)) throw new Error(`homeiq:swarmNodes names ${n.hostname} twice; each node once, with all its roles (nas=data+apps)`);
        seen.add(n.hostname);
    }
    const withRole = (role: SwarmRole) => target.nodes.filter((n) => n.roles.includes(role));
    if (withRole("data").length === 0) throw new Error(`homeiq:swarmNodes has no node with the role data (InfluxDB and the SQLite services run there): ${fix}`);
    if (withRole("apps").length === 0) throw new Error(`homeiq:swarmNodes has no node with the role apps (the other services and the dashboard run there): ${fix}`);
    const m = CIDR.exec(target.subnet);
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 28 || Number(m[5]) < 8) {
        throw new Error(`homeiq:swarmSubnet is ${JSON.stringify(target.subnet)}; allowed: an IPv4 CIDR from /8 to /28 that no machine of the home LAN uses, e.g. 10.243.0.0/24`);
    }
    const dataNode = withRole("data")[0].hostname;
    const appsNodes = withRole("apps").map((n) => n.hostname);
    const notOnSwarm: string[] = [];
    const services: SwarmServicePlan[] = [];
    for (const s of plan.services) {
        const reason = notPortableReason(s);
        if (reason) {
            notOnSwarm.push(`${s.key}: ${reason}`);
            continue;
        }
        const role: SwarmRole = s.backup.stateful ? "data" : "apps";
        const dashboard = SERVICE_CATALOG[s.key]?.dashboard === true;
        services.push({
            key: s.key,
            name: s.containerName,
            role,
            constraints: role === "data" ? [`node.hostname==${dataNode}`] : [`node.labels.${roleLabel("apps")}==true`],
            nodes: role === "data" ? [dataNode] : appsNodes,
            publish: dashboard ? { published: s.port.external, target: s.port.internal } : undefined,
            updateOrder: "stop-first",
        });
    }
    const deployed = new Set(services.map((s) => s.key));
    for (const s of plan.services) {
        for (const dep of s.startAfter) {
            if (deployed.has(s.key) && !deployed.has(dep)) throw new Error(`${s.key} starts after ${dep}, which the swarm target does not run`);
        }
    }
    return {
        nodes: target.nodes.map((n) => ({ hostname: n.hostname, roles: n.roles, dockerHost: n.dockerHost ?? plan.dockerHost })),
        network: { name: `${plan.network.name}-overlay`, subnet: target.subnet, labels: plan.network.labels },
        services,
        notOnSwarm,
        requireNoNewPrivileges: target.requireNoNewPrivileges,
        minEngineMajor: 25,
    };
}
