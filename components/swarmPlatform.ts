/**
 * HomeIQ on a Docker Swarm (homeiq:target swarm): the same PlatformPlan as HomeIQPlatform, carried
 * out as swarm resources (plan/swarm.ts says where each service runs): a preflight that refuses a
 * swarm the stack cannot run on, an attachable overlay network with an explicit subnet, each image
 * built on every node that may run it (no registry), and one docker.Service per service with its
 * ServicePlan's environment, health check, limits and hardening, placed by constraint, health-gated
 * through convergence in dependency order, updated stop-first and rolled back when unhealthy.
 *
 * What swarm services cannot carry (docs/provider-behaviour.md, "Swarm"): a health check's start
 * interval, no-new-privileges (the nodes' daemons enforce it; the preflight checks), ulimits and a PIDs
 * limit (a Command sets them after the provider: components/swarmLimits.ts), tmpfs mount options other
 * than size and mode, a published port's host IP.
 */
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceKey } from "../catalog/services";
import type { PlatformPlan, ServicePlan } from "../plan/plan";
import type { SwarmPlan, SwarmServicePlan } from "../plan/swarm";
import { HEALTH_CHECK_TIMING, toDockerEnvs } from "./homeiqService";
import { LABEL_IMAGE_IDS, LABEL_NODE_NO_NEW_PRIVILEGES, LABEL_PIDS_LIMIT, volumeName } from "../plan/naming";
import { dockerLabels } from "./dockerForms";
import { PlatformSecrets } from "./platformSecrets";
import { scriptCommand, SCRIPTS } from "./scriptCommand";
import { ServiceImage } from "./serviceImage";
import { DataLifecycle } from "./dataLifecycle";
import { SwarmSecrets, type SwarmSecretRef } from "./swarmSecrets";
import { swarmLimitsCommand } from "./swarmLimits";
import { StackWatch } from "./stackWatch";


/**
 * A swarm task's health-check interval. Services have no start interval (docs/provider-behaviour.md,
 * Swarm), so the first check runs one interval after start: at the host target's 30 s every dependency
 * level would wait 30 s.
 */
export const SWARM_HEALTH_INTERVAL = "5s";

/**
 * The provider's first convergence poll after a create (converge_config.delay); it then polls at +5 s,
 * +15 s, +25 s … A task cannot be healthy before its first probe, one health interval after its container
 * starts, so a poll earlier than that is wasted: one second after it, the polls fall at 6 s and 11 s
 * instead of 1 s, 6 s and 16 s. Measured (npm run bench:coldstart -- --target swarm, docs/swarm.md): with
 * 1 s, 29 of 39 services were healthy between 6 s and 9 s after their create and seen only at 16 s.
 */
export const CONVERGE_DELAY = "6s";

export interface SwarmPlatformArgs {
    readonly plan: PlatformPlan;
    readonly swarm: SwarmPlan;
}

/** The profile's restart policy in swarm's words (swarm has no "unless-stopped": a service is scaled to 0 instead). */
export function swarmRestartCondition(restart: ServicePlan["restart"]): "on-failure" | "any" {
    return restart === "on-failure" ? "on-failure" : "any";
}

/** A tmpfs of the host target as a swarm tmpfs mount: only its size and mode carry over (mode 1777 so a non-root user can write). */
export function tmpfsMount(target: string, options: string): docker.types.input.ServiceTaskSpecContainerSpecMount {
    const size = /(?:^|,)size=(\d+)([kmg]?)/.exec(options);
    const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[size?.[2] ?? ""] ?? 1;
    return { type: "tmpfs", target, tmpfsOptions: { sizeBytes: size ? Number(size[1]) * unit : undefined, mode: 0o1777 } };
}

/**
 * A node-local volume instead of a tmpfs, for a writable path other than /tmp under a read-only root.
 * A swarm tmpfs mount over a folder the image has takes that folder's mode but not its owner (root,
 * 755 for HomeIQ's /app/logs, owned by appuser in the image) and the provider cannot pass tmpfs
 * `uid`: the non-root service could not write there. A new volume is filled from the image's folder,
 * owner included. It holds no data (logs, caches).
 */
export function scratchVolumeName(stack: string, service: string, path: string): string {
    return `${stack}-${service}-${path.replace(/^\/+/, "").replace(/[^A-Za-z0-9]+/g, "-")}`;
}

export class SwarmPlatform extends pulumi.ComponentResource {
    readonly provider: docker.Provider;
    readonly network: docker.Network;
    readonly secrets: PlatformSecrets;
    readonly preflight: command.local.Command;
    readonly services: Readonly<Partial<Record<ServiceKey, docker.Service>>>;
    readonly watch?: StackWatch;

    constructor(name: string, args: SwarmPlatformArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:SwarmPlatform", name, {}, opts);
        const { plan, swarm } = args;
        this.provider = new docker.Provider(`${name}-docker`, { host: plan.dockerHost }, { parent: this });
        this.preflight = new command.local.Command(
            `${name}-swarm-preflight`,
            {
                create: scriptCommand(SCRIPTS.swarmPreflight),
                update: scriptCommand(SCRIPTS.swarmPreflight),
                environment: {
                    DOCKER_HOST: plan.dockerHost,
                    HOMEIQ_SWARM_NODES: swarm.nodes.map((n) => `${n.hostname}=${n.roles.join("+")}@${n.dockerHost}`).join(" "),
                    HOMEIQ_SWARM_MIN_ENGINE: String(swarm.minEngineMajor),
                    HOMEIQ_SWARM_REQUIRE_NNP: swarm.requireNoNewPrivileges ? "1" : "0",
                },
                logging: "stdoutAndStderr",
            },
            { parent: this },
        );
        this.network = new docker.Network(
            `${name}-overlay`,
            { name: swarm.network.name, driver: "overlay", attachable: true, ipamConfigs: [{ subnet: swarm.network.subnet }], labels: dockerLabels(swarm.network.labels) },
            { parent: this, provider: this.provider, dependsOn: [this.preflight] },
        );
        this.secrets = new PlatformSecrets(`${name}-secrets`, { settings: plan.secrets }, { parent: this });
        const swarmSecrets = new SwarmSecrets(`${name}-swarm-secrets`, { stack: plan.stack, secrets: this.secrets }, { parent: this, provider: this.provider, dependsOn: [this.preflight] });

        // One provider per node engine; each node that may run a service builds its image.
        const providers = new Map<string, docker.Provider>([[plan.dockerHost, this.provider]]);
        const providerOf = (host: string): docker.Provider => {
            let p = providers.get(host);
            if (!p) {
                p = new docker.Provider(`${name}-docker-${providers.size}`, { host }, { parent: this });
                providers.set(host, p);
            }
            return p;
        };
        const hostOf = (hostname: string): string => swarm.nodes.find((n) => n.hostname === hostname)!.dockerHost;

        const services: Partial<Record<ServiceKey, docker.Service>> = {};
        // A service is ready for its dependents once it has its limits (components/swarmLimits.ts): setting them replaces its task.
        const limited: Partial<Record<ServiceKey, command.local.Command>> = {};
        const builds = new Map<ServiceKey, ServiceImage[]>();
        const argsOf = new Map<ServiceKey, docker.ServiceArgs>();
        for (const s of swarm.services) {
            const sp = plan.services.find((p) => p.key === s.key)!;
            builds.set(
                s.key,
                [...new Set(s.nodes.map(hostOf))].map(
                    // After the preflight: nothing is built on the nodes of a swarm that cannot run the stack.
                    (host, i) => new ServiceImage(`${name}-${s.key}-image${i === 0 ? "" : `-${i}`}`, { plan: sp.image, provider: providerOf(host), buildAfter: [this.preflight] }, { parent: this }),
                ),
            );
            argsOf.set(
                s.key,
                serviceArgs(sp, s, {
                    stack: plan.stack,
                    image: imageNameOf(sp),
                    imageIds: builds.get(s.key)!.map((b) => b.reference),
                    networkId: this.network.id,
                    secrets: this.secrets,
                    nodeNoNewPrivileges: swarm.requireNoNewPrivileges,
                    secretFiles: swarmSecrets.of(s),
                }),
            );
        }

        // The data lifecycle of the host target, on the data node (plan/swarm.ts swarmLifecycle).
        const influxToken = this.secrets.get("influxdbAdminToken");
        const images = Object.fromEntries(swarm.services.map((s) => [s.key, imageNameOf(plan.services.find((p) => p.key === s.key)!)]));
        const lifecycle = new DataLifecycle(name, this, { steps: swarm.lifecycle, wiring: { influxToken, images, secret: (key) => this.secrets.value(key) }, specOf: (key) => ({ args: argsOf.get(key)! }) });
        for (const s of swarm.services) {
            const sp = plan.services.find((p) => p.key === s.key)!;
            services[s.key] = new docker.Service(`${name}-${s.key}`, argsOf.get(s.key)!, {
                parent: this,
                provider: this.provider,
                // Converged (healthy) upstreams first, after the lifecycle steps that guard it: the host target's order.
                dependsOn: [
                    this.preflight,
                    ...builds.get(s.key)!,
                    ...sp.startAfter.map((d) => limited[d]).filter((x): x is command.local.Command => x !== undefined),
                    ...lifecycle.gatesOf(s.key),
                ],
                deleteBeforeReplace: true,
            });
            limited[s.key] = swarmLimitsCommand(
                `${name}-${s.key}-limits`,
                { dockerHost: plan.dockerHost, plan: sp, serviceName: s.name, service: services[s.key]! },
                { parent: this },
            );
            lifecycle.started(s.key, limited[s.key]!);
        }
        if (swarm.services.some((s) => s.secretFiles.length > 0)) swarmSecrets.prune(plan.dockerHost, Object.values(limited));
        lifecycle.finish();
        this.services = services;
        // The watch between deploys, reading the services through the manager (plan/swarm.ts swarmWatch).
        if (swarm.watch) {
            this.watch = new StackWatch(
                `${name}-watch`,
                {
                    plan: swarm.watch,
                    homeAssistantToken: this.secrets.value("homeAssistantToken"),
                    webhookUrl: swarm.watch.webhookUrl ? this.secrets.value(swarm.watch.webhookUrl.secret) : undefined,
                    // After each service's limits too: setting them restarts its task.
                    dependsOn: [...Object.values(services), ...Object.values(limited)],
                },
                { parent: this },
            );
        }
        this.registerOutputs({});
    }
}

/** The image a task runs: the local tag of the build (no registry), or the pulled reference. */
function imageNameOf(s: ServicePlan): string {
    if (s.image.nonRootAdapter) return s.image.nonRootAdapter.imageName;
    return "build" in s.image.base ? s.image.base.build.imageName : s.image.base.pull;
}

interface SwarmWiring {
    readonly stack: string;
    readonly image: string;
    /** The built image ids (one per node): a label of the task, so a rebuild rolls the service. */
    readonly imageIds: pulumi.Input<string>[];
    readonly networkId: pulumi.Input<string>;
    readonly secrets: PlatformSecrets;
    /** The nodes' daemons enforce no-new-privileges (the preflight requires it): said on each task for the policy pack. */
    readonly nodeNoNewPrivileges: boolean;
    /** The swarm secrets of the service's secret files (SwarmServicePlan.secretFiles), mounted in the task. */
    readonly secretFiles?: readonly SwarmSecretRef[];
}

/** The docker.Service inputs of one ServicePlan on swarm. */
export function serviceArgs(sp: ServicePlan, s: SwarmServicePlan, w: SwarmWiring): docker.ServiceArgs {
    const environment = Object.fromEntries(Object.entries(sp.environment).filter(([k]) => !s.withoutEnvironment.includes(k)));
    const envs = toDockerEnvs(environment, w.secrets);
    const env = pulumi.all(envs).apply((list) => ({
        ...Object.fromEntries(list.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
        // The image reads each of these variables from the file (influxdata-docker influxdb/2.7/entrypoint.sh:196,198).
        ...Object.fromEntries(s.secretFiles.map((f) => [`${f.variable}_FILE`, f.path])),
    }));
    const h = sp.hardening;
    return {
        name: s.name,
        labels: dockerLabels(sp.labels),
        taskSpec: {
            containerSpec: {
                image: w.image,
                labels: [
                    ...dockerLabels(sp.labels),
                    { label: LABEL_IMAGE_IDS, value: pulumi.all(w.imageIds).apply((ids) => ids.join(",")) },
                    ...(w.nodeNoNewPrivileges ? [{ label: LABEL_NODE_NO_NEW_PRIVILEGES, value: "node-daemon" }] : []),
                    // Applied after the provider's create and each update (components/swarmLimits.ts); the policy pack checks it.
                    { label: LABEL_PIDS_LIMIT, value: String(h.pidsLimit) },
                ],
                env,
                user: h.user,
                readOnly: h.readOnly,
                mounts: [
                    // A named volume is created on the node that runs the task (the stateful ones are pinned to theirs).
                    ...sp.volumes.map((v) => ({ type: "volume", source: volumeName(w.stack, v.volume), target: v.containerPath })),
                    ...Object.entries(h.tmpfs ?? {}).map(([path, options]) =>
                        path === "/tmp" ? tmpfsMount(path, options) : { type: "volume", source: scratchVolumeName(w.stack, sp.key, path), target: path },
                    ),
                ],
                healthcheck: {
                    tests: [...sp.healthCheck.tests],
                    interval: SWARM_HEALTH_INTERVAL,
                    timeout: HEALTH_CHECK_TIMING.timeout,
                    retries: HEALTH_CHECK_TIMING.retries,
                    startPeriod: `${sp.healthCheck.startPeriodSeconds}s`,
                },
                capDrops: h.capabilities ? [...h.capabilities.drops] : undefined,
                capAdds: h.capabilities && h.capabilities.adds.length > 0 ? [...h.capabilities.adds] : undefined,
                groups: sp.groups.flatMap((g) => ("gid" in g ? [g.gid] : [])),
                // Unset without secret files: the provider reads an empty set back as no attribute.
                secrets: (w.secretFiles ?? []).length === 0 ? undefined : w.secretFiles!.map(({ file, secret }) => ({
                    secretId: secret.id,
                    secretName: secret.name,
                    fileName: file.path,
                    fileUid: file.uid,
                    fileGid: file.gid,
                    fileMode: 0o400,
                })),
                stopGracePeriod: "30s",
            },
            resources: {
                limits: { nanoCpus: Math.round(sp.resources.cpus * 1e9), memoryBytes: sp.resources.memoryMiB * 1024 * 1024 },
                reservation: sp.resources.memoryReservationMiB ? { memoryBytes: sp.resources.memoryReservationMiB * 1024 * 1024 } : undefined,
            },
            // delay and window written as the provider reads them back (shortDur): otherwise a diff on every plan.
            restartPolicy: { condition: swarmRestartCondition(sp.restart), delay: "5s", maxAttempts: 0, window: "0s" },
            placement: { constraints: [...s.constraints], maxReplicas: 1 },
            // By id: a network given by name is read back as an id and replaced on every plan.
            networksAdvanceds: [{ id: w.networkId, aliases: [...sp.networkAliases] }],
            logDriver: { name: "json-file", options: { "max-size": `${sp.logRotation.maxSizeMiB}m`, "max-file": String(sp.logRotation.maxFiles) } },
        },
        mode: { replicated: { replicas: 1 } },
        updateConfig: { parallelism: 1, order: s.updateOrder, failureAction: "rollback", monitor: "10s", delay: "0s", maxFailureRatio: "0.0" },
        rollbackConfig: { parallelism: 1, order: s.updateOrder, failureAction: "pause", monitor: "10s", delay: "0s", maxFailureRatio: "0.0" },
        // dnsrr: no VIP (IPVS), name resolution gives the task's address; host mode: no ingress routing mesh.
        endpointSpec: {
            mode: "dnsrr",
            ports: s.publish ? [{ targetPort: s.publish.target, publishedPort: s.publish.published, publishMode: "host", protocol: "tcp" }] : undefined,
        },
        convergeConfig: { delay: CONVERGE_DELAY, timeout: `${sp.healthWaitSeconds}s` },
    };
}
