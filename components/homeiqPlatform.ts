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
import { HomeIQService } from "./homeiqService";
import type { InfluxDbConnection } from "./influxDbConnection";
import { containerHardening } from "./homeiqService";
import { dockerLabels, LABEL_RESTORED_FROM, LABEL_STACK, networkName, volumeName } from "./naming";
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
    readonly preChangeBackup: StackBackup;
    readonly finalBackup: StackBackup;
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

        // Backups: taken before any stateful container is replaced, and at destroy.
        const stateful = enabled.filter((k) => SERVICE_CATALOG[k].stateful);
        const backupTarget: BackupTarget = { stack, config, influxToken: influxdb.token, dockerHost: config.dockerHost, images: imageRefs };
        const restoredFrom = config.backups.restoreFrom;
        const preChange = new StackBackup(
            `${name}-pre-change-backup`,
            { moment: "pre-change", target: backupTarget, triggers: [statefulSpecDigest(stateful, config, imageRefs, environments)] },
            { parent: this },
        );
        this.preChangeBackup = preChange;

        // No container is created or replaced while another container holds one of the stack's host ports.
        this.hostPorts = new HostPortsCheck(`${name}-host-ports`, { stack, config, services: enabled }, { parent: this });

        const services: Partial<Record<ServiceKey, HomeIQService>> = {};
        const extraStartAfter: Partial<Record<ServiceKey, pulumi.Resource[]>> = {};
        for (const key of enabled) extraStartAfter[key] = [this.hostPorts.command];
        for (const key of stateful) extraStartAfter[key] = [...(extraStartAfter[key] ?? []), preChange.command];
        const sqliteKeys = sqliteServices(config);
        const nonRootVolumes = Object.fromEntries(
            sqliteKeys
                .filter((k) => dataOwner(config, k) !== "0:0")
                .map((k) => [volumeName(stack, SERVICE_CATALOG[k].sqliteDatabase!.volume), dataOwner(config, k)]),
        );
        const helperImage = imageRefs["data-api"] ?? imageRefs["sports-data"];
        if (Object.keys(nonRootVolumes).length > 0 && helperImage) {
            this.volumeHandover = new VolumeHandover(
                `${name}-volume-handover`,
                { owners: nonRootVolumes, helperImage, dockerHost: config.dockerHost, after: [preChange.command] },
                { parent: this },
            );
            for (const k of sqliteKeys) extraStartAfter[k] = [...(extraStartAfter[k] ?? []), this.volumeHandover.command];
        }

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
            if (isSqlite && restoredFrom && !this.restore) {
                throw new pulumi.ResourceError(`${key} would start before the restore of ${restoredFrom}; influxdb must come first`, this);
            }
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
                        ...(isSqlite && this.restore ? [this.restore.command] : []),
                        ...logSources,
                    ],
                    logSourceIds: logSources.map((c) => c.id),
                    provider: this.provider,
                    // A restore replaces the containers that read the restored files, so they start on them.
                    extraLabels: isSqlite && restoredFrom ? { [LABEL_RESTORED_FROM]: restoredFrom } : undefined,
                },
                { parent: this },
            );
            if (key === "influxdb" && restoredFrom && helperImage) {
                this.restore = new RestoreFromBackup(
                    `${name}-restore`,
                    { folder: restoredFrom, target: backupTarget, helperImage, after: [services.influxdb!.container, preChange.command] },
                    { parent: this },
                );
            }
            if (key === "influxdb") {
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
                        after: [services.influxdb!.container, ...(this.restore ? [this.restore.command] : [])],
                    },
                    { parent: this },
                );
            }
        }
        const statefulContainers = stateful.map((k) => services[k]!.container);
        this.finalBackup = new StackBackup(`${name}-final-backup`, { moment: "final", target: backupTarget, after: statefulContainers }, { parent: this });
        if (config.backups.request > 0) {
            this.onDemandBackup = new StackBackup(
                `${name}-on-demand-backup`,
                { moment: "on-demand", target: backupTarget, triggers: [config.backups.request], after: statefulContainers },
                { parent: this },
            );
        }
        this.services = services;

        const remoteHost = /^ssh:\/\/[^@]+@([^:/]+)/.exec(config.dockerHost)?.[1];
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
