/**
 * The swarm target: the same PlatformPlan carried out on a Docker Swarm instead of one host
 * (homeiq:target swarm). Pure, like the resolve step: the plan and the target's nodes in, where each
 * service runs and how it is reached out. Nothing here is a second catalog: every service keeps its
 * ServicePlan (image, environment, health check, limits, hardening, volumes); this only adds what a
 * swarm needs on top (placement, the overlay, what is published, which node builds which image).
 */
import { SERVICE_CATALOG, type ServiceKey } from "../catalog/services";
import type { LifecycleStep, PlatformPlan, ServicePlan, WatchPlan } from "./plan";
import type { SecretKey } from "../config/keys";

import type { SwarmNodeRole } from "../config/values";

export type SwarmRole = SwarmNodeRole;

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

/** HOMEIQ_ULIMITS of scripts/swarm/limits.sh (components/swarmLimits.ts, and the fix npm run status gives): `name=soft:hard` words, sorted by name (the form scripts/swarm/limits.sh compares). */
export function ulimitsWords(sp: ServicePlan): string {
    return sp.hardening.ulimits
        .map((u) => `${u.name}=${u.soft}:${u.hard}`)
        .sort()
        .join(" ");
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
    /** Environment variables of its ServicePlan it does not get on swarm (DOCKER_HOST of a Docker API reader, a secret it reads from a file). */
    readonly withoutEnvironment: readonly string[];
    /** Secret variables the image reads from files (`<VAR>_FILE`): each a swarm secret mounted at `path`, readable only by the image's user. */
    readonly secretFiles: readonly SwarmSecretFile[];
}

/** One credential given to a task as a swarm secret file instead of an environment variable. */
export interface SwarmSecretFile {
    /** The variable the image reads from the file named by `<variable>_FILE`. */
    readonly variable: string;
    readonly secret: SecretKey;
    /** Where the file is mounted in the task (under swarm's /run/secrets). */
    readonly path: string;
    /** The image's own user, which owns the file (mode 0400): it reads it whether the profile starts the task as root or as that user. */
    readonly uid: string;
    readonly gid: string;
}

/**
 * The secret variables of `s` that its image reads from files (catalog readsSecretFiles). A variable
 * with a fixed value stays in the environment: only a credential is worth a swarm secret.
 */
export function secretFilesOf(s: ServicePlan): SwarmSecretFile[] {
    const [uid, gid] = (SERVICE_CATALOG[s.key]?.security.nonRootUser ?? "0:0").split(":");
    return (SERVICE_CATALOG[s.key]?.readsSecretFiles ?? []).flatMap((variable) => {
        const value = s.environment[variable];
        return value !== undefined && typeof value !== "string" ? [{ variable, secret: value.secret, path: `/run/secrets/${value.secret}`, uid, gid }] : [];
    });
}

export interface SwarmPlan {
    readonly nodes: ReadonlyArray<Required<SwarmNodeConfig>>;
    readonly network: { readonly name: string; readonly subnet: string; readonly labels: Readonly<Record<string, string>> };
    readonly services: readonly SwarmServicePlan[];
    /** `service: reason` of each deployed-on-a-host service that the swarm target does not run. */
    readonly notOnSwarm: readonly string[];
    /** What the stack loses on swarm, said on every run (`service: what`). */
    readonly limitations: readonly string[];
    readonly requireNoNewPrivileges: boolean;
    /** The engine version a node must run at least (health checks as the program writes them; API 1.44). */
    readonly minEngineMajor: number;
    /** The data lifecycle of the plan, carried out on the data node (swarmLifecycle). */
    readonly lifecycle: readonly LifecycleStep[];
    /** The dashboard's URL: published on the first apps node, which it is pinned to. */
    readonly dashboardUrl?: string;
    /** The plan's watch, reading the swarm's services through the manager (swarmWatch); absent when the plan has none. */
    readonly watch?: WatchPlan;
}

/**
 * The plan's data lifecycle on swarm: every step runs against the engine of the data node, where the
 * stateful tasks are pinned; the scripts find each service's task container there (scripts/swarm/);
 * a restore scales the services whose files it replaces to 0 through the manager. The host-ports check
 * is dropped: only the dashboard publishes a port, and swarm itself refuses a taken host-mode port.
 * The backup schedule stays in the crontab of the machine that runs `pulumi up` (its settings keep
 * whether there is one: plan/resolve.ts), and its jobs reach the data node as the deploy-time backups do.
 */
export function swarmLifecycle(steps: readonly LifecycleStep[], dataHost: string, managerHost: string, onSwarm: ReadonlySet<string>): LifecycleStep[] {
    const out: LifecycleStep[] = [];
    for (const step of steps) {
        const before = step.before.filter((k) => onSwarm.has(k));
        switch (step.kind) {
            case "host-ports-check":
                continue;
            case "backup-schedule":
            case "pre-change-backup":
            case "final-backup":
            case "on-demand-backup":
                out.push({ ...step, before, target: { ...step.target, dockerHost: dataHost, swarmManager: managerHost } });
                continue;
            case "volume-handover":
                out.push({ ...step, before, dockerHost: dataHost });
                continue;
            case "restore":
                out.push({ ...step, before, dockerHost: dataHost, swarmManager: managerHost });
                continue;
            case "influxdb-retention":
                out.push({ ...step, before, dockerHost: dataHost, swarmManager: managerHost });
                continue;
        }
    }
    return out;
}

/** Why a service is left out on swarm, from what its catalog entry needs of the one host. */
export function notPortableReason(s: ServicePlan): string | undefined {
    if (s.readsLogsOf) return "reads each container's json-file log from its host's /var/lib/docker/containers; on swarm the containers are on other nodes";
    return undefined;
}

/**
 * What a service that reads the Docker engine does without it on swarm: the API proxy would show one
 * node's containers as if they were the stack's, so it is not deployed and the service runs without
 * DOCKER_HOST (the dashboard needs it as an upstream).
 */
export const WITHOUT_DOCKER_API =
    "runs without the Docker engine view on swarm (its Docker API proxy would show one node's containers, not the swarm's): its container pages stay empty";

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
    const hostOf = (hostname: string): string => target.nodes.find((n) => n.hostname === hostname)?.dockerHost ?? plan.dockerHost;
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
        // Pinned by hostname: a stateful service to its data (its volumes live on that node), the dashboard to its URL,
        // any other service with a named volume (data-retention's exports) to the first apps node: a volume is
        // node-local, and a task moved to another node would start on a new, empty one.
        const pinned = role === "data" ? dataNode : dashboard || s.volumes.length > 0 ? appsNodes[0] : undefined;
        services.push({
            key: s.key,
            name: s.containerName,
            role,
            constraints: pinned ? [`node.hostname==${pinned}`] : [`node.labels.${roleLabel("apps")}==true`],
            nodes: pinned ? [pinned] : appsNodes,
            publish: dashboard ? { published: s.port.external, target: s.port.internal } : undefined,
            updateOrder: "stop-first",
            withoutEnvironment: [...(s.usesDockerApi ? ["DOCKER_HOST"] : []), ...secretFilesOf(s).map((f) => f.variable)],
            secretFiles: secretFilesOf(s),
        });
    }
    const deployed = new Set(services.map((s) => s.key));
    const published = services.find((s) => s.publish);
    const dashboardUrl = published ? `http://${appsNodes[0]}:${published.publish!.published}` : undefined;
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
        limitations: plan.services.filter((s) => s.usesDockerApi && deployed.has(s.key)).map((s) => `${s.key}: ${WITHOUT_DOCKER_API}`),
        requireNoNewPrivileges: target.requireNoNewPrivileges,
        minEngineMajor: 25,
        lifecycle: swarmLifecycle(plan.lifecycle, hostOf(dataNode), plan.dockerHost, deployed),
        dashboardUrl,
        watch: plan.watch && swarmWatch(plan, services, { dataNode, dataDockerHost: hostOf(dataNode), dashboardUrl, nodes: target.nodes.map((n) => `${n.hostname}=${hostOf(n.hostname)}`) }),
    };
}

/**
 * The plan's watch on swarm: the same schedule, graces and thresholds, reading the swarm services
 * through the manager (plan.dockerHost) instead of containers on one host, each running task's memory
 * and CPU on its node's engine; the disk of the data node's volumes measured in its stateful tasks; the
 * backup folder on this machine as before; of the endpoints only the dashboard's, the one published, at
 * its URL on its node.
 */
export function swarmWatch(
    plan: PlatformPlan,
    services: readonly SwarmServicePlan[],
    where: { readonly dataNode: string; readonly dataDockerHost: string; readonly dashboardUrl?: string; readonly nodes: readonly string[] },
): WatchPlan | undefined {
    if (!plan.watch) return undefined;
    const dashboard = services.find((s) => s.publish);
    const target = dashboard && where.dashboardUrl ? plan.watch.targets.find((t) => t.service === dashboard.key) : undefined;
    const volumeMounts = services
        .filter((s) => s.role === "data")
        .flatMap((s) => plan.services.find((p) => p.key === s.key)!.volumes.map((v) => `${s.name}:${v.containerPath}`));
    return {
        ...plan.watch,
        containers: [],
        targets: target ? [{ ...target, url: `${where.dashboardUrl}${new URL(target.url).pathname}${new URL(target.url).search}` }] : [],
        swarm: { services: services.map((s) => s.name), dataNode: where.dataNode, dataDockerHost: where.dataDockerHost, volumeMounts, nodes: where.nodes },
    };
}
