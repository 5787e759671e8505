/**
 * One HomeIQ service: its container, exactly as its ServicePlan says (health check, limits,
 * logging, exposure, hardening, mounts), with what only exists at deploy time wired in: the image,
 * the secrets, the network and volumes, the Docker socket's group, the other containers' ids.
 *
 * containerSpec builds the container's inputs; the platform builds each spec once and hands the
 * same object to the container and, for a stateful service, to the pre-change backup's trigger.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { VolumeKey } from "../catalog/services";
import type { EnvValue, ServicePlan } from "../plan/plan";
import { cpusAsRead } from "../catalog/rules";
import { capabilitiesAsRead, dockerLabels, goSeconds } from "./dockerForms";
import { LABEL_DEPENDENCY_IDS, LABEL_PIDS_LIMIT } from "../plan/naming";
import type { PlatformSecrets } from "./platformSecrets";

/**
 * Health-check timing: a 30 s steady interval, but a 250 ms start interval (Docker Engine >= 25), so a
 * service that is up is seen healthy within one of @pulumi/docker's once-a-second `wait` polls instead of
 * two (measured by `npm run bench:coldstart`: 1 s cost a second per dependency level). It only applies
 * until the first passing check.
 */
export const HEALTH_CHECK_TIMING = { interval: "30s", timeout: "10s", retries: 3, startInterval: "250ms" } as const;

/** The container's relative CPU weight: 1000 per core of its limit (at least 2, the kernel's minimum). */
export const cpuSharesOf = (cpus: number): number => Math.max(2, Math.round(cpus * 1000));

/** Container inputs that the provider writes to state only, which the program replaces on instead. */
export const REPLACE_ON_CHANGES = ["healthcheck", "tmpfs"] as const;

/** What the container gets that only exists at deploy time. */
export interface ServiceWiring {
    readonly image: pulumi.Input<string>;
    readonly secrets: PlatformSecrets;
    readonly networkName: pulumi.Input<string>;
    readonly volumeNames: Readonly<Partial<Record<VolumeKey, pulumi.Input<string>>>>;
    /** The Docker socket's group on the Docker host, for a service that mounts the socket. */
    readonly dockerSocketGroup?: pulumi.Input<string>;
    /** The Docker API proxy's network, for a service that reads the engine through it. */
    readonly dockerApiNetworkName?: pulumi.Input<string>;
    /** The container id of a service, for the plan's `readsLogsOf` and `replacedWith`. */
    readonly containerId: (service: ServicePlan["key"]) => pulumi.Input<string>;
}

/** A container's inputs, and whether its environment holds a secret (its `envs` output is then kept secret). */
export interface ContainerSpec {
    readonly containerName: string;
    readonly args: docker.ContainerArgs;
    readonly hasSecretEnvironment: boolean;
}

/** The docker provider's `envs` form, sorted by name. A secret value keeps its entry secret (pulumi.concat propagates it). */
export function toDockerEnvs(env: Readonly<Record<string, EnvValue>>, secrets: PlatformSecrets): pulumi.Input<string>[] {
    return Object.keys(env)
        .sort()
        .map((name) => {
            const value = env[name];
            return typeof value === "string" ? `${name}=${value}` : pulumi.concat(name, "=", secrets.value(value.secret));
        });
}

function dockerApiNetwork(plan: ServicePlan, wiring: ServiceWiring): pulumi.Input<string> {
    if (wiring.dockerApiNetworkName === undefined) throw new Error(`${plan.key} reads the Docker engine but the stack has no Docker API proxy`);
    return wiring.dockerApiNetworkName;
}

/** The container inputs of `plan`, wired. */
export function containerSpec(plan: ServicePlan, wiring: ServiceWiring): ContainerSpec {
    const volumes: docker.types.input.ContainerVolume[] = [
        ...plan.volumes.map((m) => {
            const volumeName = wiring.volumeNames[m.volume];
            if (volumeName === undefined) throw new Error(`${plan.key}: volume ${m.volume} was not created`);
            return { volumeName, containerPath: m.containerPath, readOnly: false };
        }),
        ...plan.hostMounts.map((m) => ({ hostPath: m.hostPath, containerPath: m.containerPath, readOnly: true })),
        // One read-only mount per container whose json-file log it reads, at the host's own path.
        ...(plan.readsLogsOf?.services ?? []).map((k) => {
            const folder = pulumi.interpolate`${plan.readsLogsOf!.hostFolder}/${wiring.containerId(k)}`;
            return { hostPath: folder, containerPath: folder, readOnly: true };
        }),
    ];
    const groups = plan.groups.map((g) => {
        if (!("dockerSocket" in g)) return g.gid;
        if (wiring.dockerSocketGroup === undefined) throw new Error(`${plan.key} mounts the Docker socket but was given no socket group`);
        return wiring.dockerSocketGroup;
    });
    const cpus = cpusAsRead(plan.resources.cpus);
    // config/schema.ts refuses such values with the config key; this guards other callers.
    if (cpus === undefined) throw new Error(`${plan.key}: cpus ${plan.resources.cpus} is read back by the docker provider as another value`);
    const labels: Record<string, pulumi.Input<string>> = { ...plan.labels, [LABEL_PIDS_LIMIT]: String(plan.hardening.pidsLimit) };
    if (plan.replacedWith.length > 0) {
        labels[LABEL_DEPENDENCY_IDS] = pulumi.all(plan.replacedWith.map((k) => wiring.containerId(k))).apply((ids) => ids.join(","));
    }
    return {
        containerName: plan.containerName,
        hasSecretEnvironment: Object.values(plan.environment).some((v) => typeof v !== "string"),
        args: {
            name: plan.containerName,
            image: wiring.image,
            labels: dockerLabels(labels),
            envs: toDockerEnvs(plan.environment, wiring.secrets),
            restart: plan.restart,
            memory: plan.resources.memoryMiB,
            // No swap beyond the limit. Unset, the engine stores twice the memory and the provider reads
            // that back into state (`memory_swap` is not computed): a diff on every preview after a create.
            memorySwap: plan.resources.memoryMiB,
            memoryReservation: plan.resources.memoryReservationMiB,
            // Written as the provider reads NanoCpus back ("1.0", not "1"): `cpus` forces replacement.
            cpus,
            // CPU priority under contention (CIS 5.12), proportional to the limit: 1000 per core, so no service
            // lands on the engine's default weight of 1024 (which the benchmark reads as "not set").
            cpuShares: cpuSharesOf(plan.resources.cpus),
            healthcheck: {
                tests: [...plan.healthCheck.tests],
                ...HEALTH_CHECK_TIMING,
                startPeriod: goSeconds(plan.healthCheck.startPeriodSeconds),
            },
            // Health-gated start: `pulumi up` waits until this container is healthy before starting dependents.
            wait: true,
            waitTimeout: plan.healthWaitSeconds,
            ports: [{ ...plan.port, protocol: "tcp" }],
            networksAdvanced: [
                { name: wiring.networkName, aliases: [...plan.networkAliases] },
                ...(plan.usesDockerApi ? [{ name: dockerApiNetwork(plan, wiring), aliases: [plan.key] }] : []),
            ],
            volumes,
            logDriver: "json-file",
            logOpts: { "max-size": `${plan.logRotation.maxSizeMiB}m`, "max-file": String(plan.logRotation.maxFiles) },
            user: plan.hardening.user,
            readOnly: plan.hardening.readOnly,
            tmpfs: plan.hardening.tmpfs ? { ...plan.hardening.tmpfs } : undefined,
            securityOpts: [...plan.hardening.securityOpts],
            // In the docker client's form (CAP_CHOWN): the provider reads back what the client sent, and
            // `capabilities` forces replacement.
            capabilities: plan.hardening.capabilities
                ? { drops: capabilitiesAsRead(plan.hardening.capabilities.drops), adds: capabilitiesAsRead(plan.hardening.capabilities.adds) }
                : undefined,
            groupAdds: groups.length > 0 ? groups : undefined,
            ulimits: plan.hardening.ulimits.length > 0 ? plan.hardening.ulimits.map((u) => ({ ...u })) : undefined,
            // A clean stop for databases (the old deploy script allowed 30 s).
            destroyGraceSeconds: 30,
        },
    };
}

export interface HomeIQServiceArgs {
    readonly spec: ContainerSpec;
    /** Containers (and lifecycle steps) that must be healthy or done before this one starts. */
    readonly startAfter: pulumi.Input<pulumi.Resource>[];
    readonly provider: docker.Provider;
}

export class HomeIQService extends pulumi.ComponentResource {
    readonly container: docker.Container;
    readonly containerName: string;

    constructor(name: string, args: HomeIQServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:HomeIQService", name, {}, opts);
        this.containerName = args.spec.containerName;
        this.container = new docker.Container(name, args.spec.args, {
            parent: this,
            provider: args.provider,
            dependsOn: args.startAfter,
            // Names are fixed per stack, so the old container must go before its replacement starts.
            deleteBeforeReplace: true,
            // The provider neither replaces nor updates a container for these (state only): replacing is
            // how a change reaches the running container (docs/provider-behaviour.md, finding 3).
            replaceOnChanges: [...REPLACE_ON_CHANGES],
            additionalSecretOutputs: args.spec.hasSecretEnvironment ? ["envs"] : [],
        });
        this.registerOutputs({ containerName: this.containerName });
    }
}
