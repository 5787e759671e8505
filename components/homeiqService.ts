/**
 * One HomeIQ service: its container, with health check, limits, logging, exposure and hardening
 * read from the catalog and the resolved profile. No stack-name branches: every difference comes
 * in through `config`.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceDefinition, VolumeKey } from "../catalog/services";
import type { ResolvedService, StackConfig } from "../config/schema";
import {
    containerName,
    dockerLabels,
    LABEL_REBUILD_GENERATION,
    LABEL_SERVICE,
    LABEL_STACK,
} from "./naming";

/**
 * Health-check timing: a 30 s steady interval, but a 250 ms start interval (Docker Engine >= 25), so a
 * service that is up is seen healthy within one of @pulumi/docker's once-a-second `wait` polls instead of
 * two (measured by `npm run bench:coldstart`: 1 s cost a second per dependency level). It only applies
 * until the first passing check.
 */
export const HEALTH_CHECK_TIMING = { interval: "30s", timeout: "10s", retries: 3, startInterval: "250ms" } as const;

export interface HomeIQServiceArgs {
    readonly service: ServiceDefinition;
    readonly settings: ResolvedService;
    readonly config: StackConfig;
    readonly stack: string;
    readonly image: pulumi.Input<string>;
    readonly environment: pulumi.Input<string>[];
    /** Whether any environment entry is a secret: the container's `envs` output is then kept secret too. */
    readonly hasSecretEnvironment: boolean;
    readonly networkName: pulumi.Input<string>;
    readonly volumeNames: Readonly<Partial<Record<VolumeKey, pulumi.Input<string>>>>;
    /** Containers (and backup or restore steps) that must be healthy or done before this one starts. */
    readonly startAfter: pulumi.Input<pulumi.Resource>[];
    readonly provider: docker.Provider;
    /** Labels beyond the standard ones (a change replaces the container). */
    readonly extraLabels?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Ids of the containers whose logs this service reads (catalog `containerLogs`). */
    readonly logSourceIds?: pulumi.Input<string>[];
    /** The Docker socket's group on the Docker host (config, or found at deploy time), for a service that mounts the socket. */
    readonly dockerSocketGroup?: pulumi.Input<string>;
}

/** The container settings that hardening decides, as plain data (also used by tests and docs). */
export interface ContainerHardening {
    readonly user?: string;
    readonly readOnly: boolean;
    readonly tmpfs?: Record<string, string>;
    readonly securityOpts: string[];
    readonly capabilities?: { drops: string[]; adds: string[] };
}

export function containerHardening(service: ServiceDefinition, config: StackConfig): ContainerHardening {
    const h = config.profile.hardening;
    const s = service.security;
    const user = h.runAsNonRoot && s.nonRootUser !== null ? s.nonRootUser : undefined;
    const readOnly = h.readOnlyRootFilesystem && s.readOnlyRootFilesystem;
    let tmpfs: Record<string, string> | undefined;
    if (readOnly) {
        const [uid, gid] = user ? user.split(":") : [undefined, undefined];
        const owner = uid ? `,uid=${uid},gid=${gid}` : "";
        tmpfs = Object.fromEntries(s.tmpfsPaths.map((p) => [p, `rw,noexec,nosuid,size=64m${owner}`]));
    }
    return {
        user,
        readOnly,
        tmpfs,
        securityOpts: h.noNewPrivileges ? ["no-new-privileges=true"] : [],
        capabilities: h.dropAllCapabilities
            ? { drops: ["ALL"], adds: s.capabilityAdditions.map((c) => c.capability) }
            : undefined,
    };
}

/** One read-only mount per container whose json-file log the service reads, at the host's own path. */
function containerLogMounts(service: ServiceDefinition, ids: pulumi.Input<string>[]): docker.types.input.ContainerVolume[] {
    const access = service.containerLogs;
    if (!access) return [];
    return ids.map((id) => {
        const folder = pulumi.interpolate`${access.hostFolder}/${id}`;
        return { hostPath: folder, containerPath: folder, readOnly: true };
    });
}

/** Whether a service mounts the Docker socket (and so needs the socket's group). */
export const mountsDockerSocket = (service: ServiceDefinition): boolean => service.hostMounts.some((m) => m.hostPath === DOCKER_SOCKET);
export const DOCKER_SOCKET = "/var/run/docker.sock";

/** Groups a service needs beyond its user's own: the Docker socket's, the engine's log files'. */
function supplementaryGroups(service: ServiceDefinition, socketGroup: pulumi.Input<string> | undefined): pulumi.Input<string>[] | undefined {
    const groups: pulumi.Input<string>[] = [];
    if (mountsDockerSocket(service)) {
        if (socketGroup === undefined) throw new Error(`${service.key} mounts ${DOCKER_SOCKET} but was given no socket group`);
        groups.push(socketGroup);
    }
    if (service.containerLogs) groups.push(service.containerLogs.readGroup);
    return groups.length > 0 ? groups : undefined;
}

export class HomeIQService extends pulumi.ComponentResource {
    readonly container: docker.Container;
    readonly containerName: string;

    constructor(name: string, args: HomeIQServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:HomeIQService", name, {}, opts);
        const { service, settings, config, stack } = args;
        const hardening = containerHardening(service, config);
        this.containerName = containerName(stack, service.key);

        const volumes: docker.types.input.ContainerVolume[] = [
            ...service.volumes.map((m) => {
                const volumeName = args.volumeNames[m.volume];
                if (volumeName === undefined) throw new pulumi.ResourceError(`volume ${m.volume} was not created`, this);
                return { volumeName, containerPath: m.containerPath, readOnly: false };
            }),
            ...service.hostMounts.map((m) => ({ hostPath: m.hostPath, containerPath: m.containerPath, readOnly: true })),
            ...containerLogMounts(service, args.logSourceIds ?? []),
        ];

        this.container = new docker.Container(
            name,
            {
                name: this.containerName,
                image: args.image,
                labels: dockerLabels({
                    [LABEL_SERVICE]: service.key,
                    [LABEL_STACK]: stack,
                    [LABEL_REBUILD_GENERATION]: String(config.rebuildGeneration),
                    ...args.extraLabels,
                }),
                envs: args.environment,
                restart: config.profile.restartPolicy,
                memory: settings.resources.memoryMiB,
                memoryReservation: settings.resources.memoryReservationMiB,
                cpus: String(settings.resources.cpus),
                healthcheck: {
                    tests: [...service.healthCheck.test],
                    ...HEALTH_CHECK_TIMING,
                    startPeriod: `${service.healthCheck.startPeriodSeconds}s`,
                },
                // Health-gated start: `pulumi up` waits until this container is healthy before starting dependents.
                wait: true,
                waitTimeout: config.healthWaitTimeoutSeconds,
                ports: [
                    {
                        internal: service.containerPort,
                        external: settings.hostPort,
                        ip: settings.bindAddress,
                        protocol: "tcp",
                    },
                ],
                networksAdvanced: [{ name: args.networkName, aliases: [service.key, service.legacyName] }],
                volumes,
                logDriver: "json-file",
                logOpts: {
                    "max-size": `${config.profile.logRotation.maxSizeMiB}m`,
                    "max-file": String(config.profile.logRotation.maxFiles),
                },
                user: hardening.user,
                readOnly: hardening.readOnly,
                tmpfs: hardening.tmpfs,
                securityOpts: hardening.securityOpts,
                capabilities: hardening.capabilities,
                groupAdds: supplementaryGroups(service, args.dockerSocketGroup),
                // A clean stop for databases (the old deploy script allowed 30 s).
                destroyGraceSeconds: 30,
            },
            {
                parent: this,
                provider: args.provider,
                dependsOn: args.startAfter,
                // Names are fixed per stack, so the old container must go before its replacement starts.
                deleteBeforeReplace: true,
                additionalSecretOutputs: args.hasSecretEnvironment ? ["envs"] : [],
            },
        );
        this.registerOutputs({ containerName: this.containerName });
    }
}
