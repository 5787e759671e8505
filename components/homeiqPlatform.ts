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
import { dockerLabels, LABEL_STACK, networkName } from "./naming";
import { PlatformSecrets } from "./platformSecrets";
import { PlatformVolumes } from "./platformVolumes";
import { serviceEnvironment, toDockerEnvs } from "./serviceEnvironment";
import { ServiceImage } from "./serviceImage";

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

        const services: Partial<Record<ServiceKey, HomeIQService>> = {};
        for (const key of enabled) {
            const service = SERVICE_CATALOG[key];
            const image = new ServiceImage(
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
            const env = serviceEnvironment(service, { config, secrets: this.secrets, influxdb });
            services[key] = new HomeIQService(
                `${name}-${key}`,
                {
                    service,
                    settings: config.services[key],
                    config,
                    stack,
                    image: image.reference,
                    environment: toDockerEnvs(env),
                    hasSecretEnvironment: Object.values(env).some((v) => typeof v !== "string"),
                    networkName: this.network.name,
                    volumeNames: this.volumes.names,
                    startAfter: service.dependsOn.map((dep) => {
                        const container = services[dep]?.container;
                        if (!container) throw new pulumi.ResourceError(`${key} depends on ${dep}, which is not deployed`, this);
                        return container;
                    }),
                    provider: this.provider,
                },
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
        this.registerOutputs({ serviceUrls, healthUrls, dashboardUrl: this.dashboardUrl });
    }
}
