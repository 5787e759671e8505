/**
 * HomeIQ on one Docker host: provider, network, volumes, credentials, images and the 14 service
 * containers in health-gated dependency order. dev and prod both construct exactly this; they
 * differ only in the StackConfig they pass.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { SERVICE_CATALOG, startOrder, type ServiceKey, type VolumeKey } from "../catalog/services";
import type { StackConfig } from "../config/schema";
import { CleanRebuild } from "./cleanRebuild";
import { HomeIQService, mountsDockerSocket } from "./homeiqService";
import type { InfluxDbConnection } from "./influxDbConnection";
import { containerHardening } from "./homeiqService";
import { dockerLabels, LABEL_DEPENDENCY_IDS, LABEL_RESTORED_FROM, LABEL_STACK, networkName, volumeName } from "./naming";
import { DockerSocketGroup } from "./dockerSocketGroup";
import { PlatformSecrets } from "./platformSecrets";
import { PlatformVolumes } from "./platformVolumes";
import { createHash } from "crypto";
import { DeploymentValidation, validationTargets } from "./deploymentValidation";
import { HostPortsCheck } from "./hostPortsCheck";
import { InfluxRetention } from "./influxRetention";
import { dataOwner, sqliteServices, type BackupTarget } from "./backupScripts";
import { RestoreFromBackup } from "./restoreFromBackup";
import { serviceEnvironment, toDockerEnvs } from "./serviceEnvironment";
import { ServiceImage } from "./serviceImage";
import { StackBackup } from "./stackBackup";
import { VolumeHandover } from "./volumeHandover";

export interface HomeIQPlatformArgs {
    readonly stack: string;
    readonly config: StackConfig;
}

export class HomeIQPlatform extends pulumi.ComponentResource {
    readonly provider: docker.Provider;
    readonly network: docker.Network;
    readonly volumes: PlatformVolumes;
    readonly secrets: PlatformSecrets;
    readonly services: Readonly<Partial<Record<ServiceKey, HomeIQService>>>;
    /** Base URL of every published service, by service key. */
    readonly serviceUrls: Readonly<Partial<Record<ServiceKey, string>>>;
    /** The URL each service answers 200 on when healthy (the dashboard's is its HTML page). */
    readonly healthUrls: Readonly<Partial<Record<ServiceKey, string>>>;
    readonly dashboardUrl: string | undefined;
    /** Absent when the stack deploys no stateful service. */
    readonly preChangeBackup?: StackBackup;
    readonly finalBackup?: StackBackup;
    readonly onDemandBackup?: StackBackup;
    readonly restore?: RestoreFromBackup;
    readonly volumeHandover?: VolumeHandover;
    readonly validation?: DeploymentValidation;
    readonly influxRetention?: InfluxRetention;
    readonly hostPorts: HostPortsCheck;

    constructor(name: string, args: HomeIQPlatformArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:HomeIQPlatform", name, {}, opts);
        const { stack, config } = args;
        const enabled = startOrder().filter((k) => config.services[k].enabled);

        this.provider = new docker.Provider(`${name}-docker`, { host: config.dockerHost }, { parent: this });
        const inProvider = { parent: this, provider: this.provider };

        this.network = new docker.Network(
            `${name}-network`,
            { name: networkName(stack), driver: "bridge", labels: dockerLabels({ [LABEL_STACK]: stack }) },
            inProvider,
        );

        const neededVolumes = [...new Set(enabled.flatMap((k) => SERVICE_CATALOG[k].volumes.map((v) => v.volume)))] as VolumeKey[];
        this.volumes = new PlatformVolumes(
            `${name}-volumes`,
            { stack, volumes: neededVolumes, retainDataVolumes: config.profile.retainDataVolumes, provider: this.provider },
            { parent: this },
        );

        this.secrets = new PlatformSecrets(`${name}-secrets`, { settings: config.secrets }, { parent: this });
        const influxdb: InfluxDbConnection = {
            url: "http://influxdb:8086",
            org: config.influxdb.org,
            bucket: config.influxdb.bucket,
            token: this.secrets.get("influxdbAdminToken"),
        };

        const rebuild =
            config.rebuildGeneration > 0 && config.images.source === "build"
                ? new CleanRebuild(`${name}-clean-rebuild`, { generation: config.rebuildGeneration, dockerHost: config.dockerHost }, { parent: this })
                : undefined;

        const images: Partial<Record<ServiceKey, ServiceImage>> = {};
        for (const key of enabled) {
            const service = SERVICE_CATALOG[key];
            images[key] = new ServiceImage(
                `${name}-${key}-image`,
                {
                    service,
                    stack,
                    images: config.images,
                    rebuildGeneration: config.rebuildGeneration,
                    nonRootAdapter: config.profile.hardening.runAsNonRoot && service.security.needsNonRootAdapter,
                    nonRootUser: service.security.nonRootUser ?? undefined,
                    provider: this.provider,
                    buildAfter: rebuild ? [rebuild.prune] : undefined,
                },
                { parent: this },
            );
        }
        const imageRefs = Object.fromEntries(enabled.map((k) => [k, images[k]!.reference])) as Partial<Record<ServiceKey, pulumi.Output<string>>>;
        const environments = Object.fromEntries(
            enabled.map((k) => [k, serviceEnvironment(SERVICE_CATALOG[k], { config, secrets: this.secrets, influxdb })]),
        ) as Partial<Record<ServiceKey, Record<string, pulumi.Input<string>>>>;

        // Backups: taken before any stateful container is replaced, and at destroy. A stack that deploys no
        // stateful service has nothing to back up (the schema refuses restoreFrom and backupRequest for it).
        const stateful = enabled.filter((k) => SERVICE_CATALOG[k].stateful);
        const backupTarget: BackupTarget = { stack, config, influxToken: influxdb.token, dockerHost: config.dockerHost, images: imageRefs };
        const restoredFrom = config.backups.restoreFrom;
        const preChange =
            stateful.length > 0
                ? new StackBackup(
                      `${name}-pre-change-backup`,
                      { moment: "pre-change", target: backupTarget, triggers: [statefulSpecDigest(stateful, config, imageRefs, environments)] },
                      { parent: this },
                  )
                : undefined;
        this.preChangeBackup = preChange;

        // No container is created or replaced while another container holds one of the stack's host ports.
        this.hostPorts = new HostPortsCheck(`${name}-host-ports`, { stack, config, services: enabled }, { parent: this });

        const services: Partial<Record<ServiceKey, HomeIQService>> = {};
        const extraStartAfter: Partial<Record<ServiceKey, pulumi.Resource[]>> = {};
        for (const key of enabled) extraStartAfter[key] = [this.hostPorts.command];
        if (preChange) for (const key of stateful) extraStartAfter[key] = [...(extraStartAfter[key] ?? []), preChange.command];
        const sqliteKeys = sqliteServices(config);
        const nonRootVolumes = Object.fromEntries(
            sqliteKeys
                .filter((k) => dataOwner(config, k) !== "0:0")
                .map((k) => [volumeName(stack, SERVICE_CATALOG[k].sqliteDatabase!.volume), dataOwner(config, k)]),
        );
        // The image of a deployed SQLite service: it has sh and python3 for the volume helpers.
        const helperImage = sqliteKeys.length > 0 ? imageRefs[sqliteKeys[0]] : undefined;
        if (Object.keys(nonRootVolumes).length > 0 && helperImage && preChange) {
            this.volumeHandover = new VolumeHandover(
                `${name}-volume-handover`,
                { owners: nonRootVolumes, helperImage, dockerHost: config.dockerHost, after: [preChange.command] },
                { parent: this },
            );
            for (const k of sqliteKeys) extraStartAfter[k] = [...(extraStartAfter[k] ?? []), this.volumeHandover.command];
        }

        /**
         * The restore, once: after influxdb (when deployed) is up and the current data is backed up,
         * before any SQLite service starts. influxdb has no dependencies and comes first in start
         * order, so it exists by the time the first SQLite service asks for the restore.
         */
        let restoreStep: RestoreFromBackup | undefined;
        const restore = (): RestoreFromBackup | undefined => {
            if (!restoredFrom) return undefined;
            if (!preChange) throw new pulumi.ResourceError(`nothing stateful to restore ${restoredFrom} into (the config schema refuses this)`, this);
            if (restoreStep) return restoreStep;
            if (config.services.influxdb.enabled && !services.influxdb) {
                throw new pulumi.ResourceError(`the restore of ${restoredFrom} must come after influxdb, which is not created yet`, this);
            }
            restoreStep = new RestoreFromBackup(
                `${name}-restore`,
                {
                    folder: restoredFrom,
                    target: backupTarget,
                    helperImage,
                    after: [...(services.influxdb ? [services.influxdb.container] : []), preChange.command],
                },
                { parent: this },
            );
            return restoreStep;
        };

        // The Docker socket's group for a service that mounts the socket: from config, else asked of the engine once.
        let socketGroupId: pulumi.Input<string> | undefined = config.dockerSocketGroupId === undefined ? undefined : String(config.dockerSocketGroupId);
        const socketGroup = (probeImage: pulumi.Input<string>): pulumi.Input<string> => {
            socketGroupId ??= new DockerSocketGroup(`${name}-docker-socket-group`, { probeImage, dockerHost: config.dockerHost }, { parent: this }).groupId;
            return socketGroupId;
        };

        // Services that read the other containers' logs start last, with those containers' ids.
        const logReaders = enabled.filter((k) => SERVICE_CATALOG[k].containerLogs);
        const creationOrder = [...enabled.filter((k) => !logReaders.includes(k)), ...logReaders];
        for (const key of creationOrder) {
            const service = SERVICE_CATALOG[key];
            const env = environments[key]!;
            const logSources = service.containerLogs
                ? creationOrder.filter((k) => !logReaders.includes(k)).map((k) => services[k]!.container)
                : [];
            const isSqlite = sqliteKeys.includes(key);
            const restoreFirst = isSqlite ? restore() : undefined;
            services[key] = new HomeIQService(
                `${name}-${key}`,
                {
                    service,
                    settings: config.services[key],
                    config,
                    stack,
                    image: imageRefs[key]!,
                    environment: toDockerEnvs(env),
                    hasSecretEnvironment: Object.values(env).some((v) => typeof v !== "string"),
                    networkName: this.network.name,
                    volumeNames: this.volumes.names,
                    startAfter: [
                        ...service.dependsOn.map((dep) => {
                            const container = services[dep]?.container;
                            if (!container) throw new pulumi.ResourceError(`${key} depends on ${dep}, which is not deployed`, this);
                            return container;
                        }),
                        ...(extraStartAfter[key] ?? []),
                        ...(restoreFirst ? [restoreFirst.command] : []),
                        ...logSources,
                    ],
                    logSourceIds: logSources.map((c) => c.id),
                    dockerSocketGroup: mountsDockerSocket(service) ? socketGroup(imageRefs[key]!) : undefined,
                    provider: this.provider,
                    extraLabels: {
                        // A restore replaces the containers that read the restored files, so they start on them.
                        ...(isSqlite && restoredFrom ? { [LABEL_RESTORED_FROM]: restoredFrom } : {}),
                        ...(service.replaceWithDependencies
                            ? { [LABEL_DEPENDENCY_IDS]: pulumi.all(service.dependsOn.map((d) => services[d]!.container.id)).apply((ids) => ids.join(",")) }
                            : {}),
                    },
                },
                { parent: this },
            );
            if (key === "influxdb") {
                const restored = restore();
                this.influxRetention = new InfluxRetention(
                    `${name}-influxdb-retention`,
                    {
                        container: services.influxdb!.containerName,
                        token: influxdb.token,
                        org: influxdb.org,
                        bucket: influxdb.bucket,
                        retentionDays: config.influxdb.retentionDays,
                        dockerHost: config.dockerHost,
                        restoredFrom,
                        // After a restore, the restored bucket is the one to set.
                        after: [services.influxdb!.container, ...(restored ? [restored.command] : [])],
                    },
                    { parent: this },
                );
            }
        }
        this.restore = restore();
        const statefulContainers = stateful.map((k) => services[k]!.container);
        if (stateful.length > 0) {
            this.finalBackup = new StackBackup(`${name}-final-backup`, { moment: "final", target: backupTarget, after: statefulContainers }, { parent: this });
        }
        if (config.backups.request > 0 && stateful.length > 0) {
            this.onDemandBackup = new StackBackup(
                `${name}-on-demand-backup`,
                { moment: "on-demand", target: backupTarget, triggers: [config.backups.request], after: statefulContainers },
                { parent: this },
            );
        }
        this.services = services;

        const remoteHost = /^ssh:\/\/[^@]+@(\[[^\]]+\]|[^:/]+)/.exec(config.dockerHost)?.[1];
        const urlHost = (bind: string): string =>
            bind === "0.0.0.0" || bind === "::" ? (remoteHost ?? "localhost") : bind.includes(":") ? `[${bind}]` : bind;
        const serviceUrls: Partial<Record<ServiceKey, string>> = {};
        const healthUrls: Partial<Record<ServiceKey, string>> = {};
        for (const key of enabled) {
            const s = config.services[key];
            serviceUrls[key] = `http://${urlHost(s.bindAddress)}:${s.hostPort}`;
            healthUrls[key] = `${serviceUrls[key]}${SERVICE_CATALOG[key].healthCheck.httpPath}`;
        }
        this.serviceUrls = serviceUrls;
        this.healthUrls = healthUrls;
        this.dashboardUrl = serviceUrls["health-dashboard"];

        if (config.postDeployValidation) {
            const containers = enabled.map((k) => services[k]!.container);
            this.validation = new DeploymentValidation(
                `${name}-validation`,
                {
                    targets: validationTargets(healthUrls, serviceUrls),
                    containers,
                    dependsOn: containers,
                    requestTimeoutSeconds: 5,
                    attempts: 10,
                },
                { parent: this },
            );
        }
        this.registerOutputs({ serviceUrls, healthUrls, dashboardUrl: this.dashboardUrl });
    }
}

/**
 * A digest of everything that replaces a stateful container when it changes: its settings,
 * hardening, image and environment (secret, so the digest is too), plus the rebuild generation and
 * any restore. The pre-change backup is triggered by it, so it runs exactly before such a change.
 */
function statefulSpecDigest(
    keys: readonly ServiceKey[],
    config: StackConfig,
    images: Readonly<Partial<Record<ServiceKey, pulumi.Input<string>>>>,
    environments: Readonly<Partial<Record<ServiceKey, Record<string, pulumi.Input<string>>>>>,
): pulumi.Output<string> {
    const plain = keys.map((k) => ({
        k,
        settings: config.services[k],
        hardening: containerHardening(SERVICE_CATALOG[k], config),
        generation: config.rebuildGeneration,
        restoreFrom: config.backups.restoreFrom ?? null,
        health: config.healthWaitTimeoutSeconds,
        restart: config.profile.restartPolicy,
        logs: config.profile.logRotation,
    }));
    return pulumi
        .all([pulumi.all(keys.map((k) => images[k] ?? "")), pulumi.all(keys.map((k) => pulumi.all(environments[k] ?? {})))])
        .apply(([imgs, envs]) => createHash("sha256").update(JSON.stringify([plain, imgs, envs])).digest("hex"));
}
