/**
 * HomeIQ on one Docker host, as its PlatformPlan says (plan/resolve.ts): provider, network,
 * volumes, credentials and images; the service containers in health-gated dependency order, inside
 * the data lifecycle (backups, handover, restore, retention); then the validation gate. dev and
 * prod both construct exactly this; they differ only in the plan they pass.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerLabels } from "./dockerForms";
import type { ServiceKey } from "../catalog/services";
import type { PlatformPlan } from "../plan/plan";
import { CleanRebuild } from "./cleanRebuild";
import { ContainerHealthGate } from "./containerHealthGate";
import { DataLifecycle } from "./dataLifecycle";
import { DeploymentValidation } from "./deploymentValidation";
import { StackWatch } from "./stackWatch";
import { DockerApiProxy } from "./dockerApiProxy";
import { DockerSocketGroup } from "./dockerSocketGroup";
import { containerSpec, HomeIQService, type ContainerSpec } from "./homeiqService";
import { PlatformSecrets } from "./platformSecrets";
import { PidsLimits } from "./pidsLimits";
import { PlatformVolumes } from "./platformVolumes";
import { ServiceImage } from "./serviceImage";

export interface HomeIQPlatformArgs {
    readonly plan: PlatformPlan;
}

export class HomeIQPlatform extends pulumi.ComponentResource {
    readonly provider: docker.Provider;
    readonly network: docker.Network;
    readonly volumes: PlatformVolumes;
    readonly secrets: PlatformSecrets;
    readonly services: Readonly<Partial<Record<ServiceKey, HomeIQService>>>;
    readonly pidsLimits: PidsLimits;
    readonly dockerApiProxy?: DockerApiProxy;
    readonly healthGate: ContainerHealthGate;
    readonly validation?: DeploymentValidation;
    readonly watch?: StackWatch;

    constructor(name: string, args: HomeIQPlatformArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:HomeIQPlatform", name, {}, opts);
        const { plan } = args;

        // The ground: where containers run, what they share, their credentials and images.
        this.provider = new docker.Provider(`${name}-docker`, { host: plan.dockerHost }, { parent: this });
        this.network = new docker.Network(
            `${name}-network`,
            { name: plan.network.name, driver: "bridge", labels: dockerLabels(plan.network.labels) },
            { parent: this, provider: this.provider },
        );
        this.volumes = new PlatformVolumes(`${name}-volumes`, { volumes: plan.volumes, provider: this.provider }, { parent: this });
        this.secrets = new PlatformSecrets(`${name}-secrets`, { settings: plan.secrets }, { parent: this });
        const rebuild = plan.cleanRebuild
            ? new CleanRebuild(`${name}-clean-rebuild`, { generation: plan.cleanRebuild.generation, dockerHost: plan.dockerHost }, { parent: this })
            : undefined;
        const images: Partial<Record<ServiceKey, pulumi.Output<string>>> = {};
        for (const s of plan.services) {
            const image = new ServiceImage(
                `${name}-${s.key}-image`,
                { plan: s.image, provider: this.provider, buildAfter: rebuild ? [rebuild.prune] : undefined },
                { parent: this },
            );
            images[s.key] = image.reference;
        }
        // The Docker API proxy holds the socket for the services that read the engine; it gets the socket's group.
        const configuredGroup = plan.dockerSocketGroup && "configured" in plan.dockerSocketGroup ? plan.dockerSocketGroup.configured : undefined;
        if (plan.dockerApiProxy) {
            this.dockerApiProxy = new DockerApiProxy(
                `${name}-docker-api-proxy`,
                {
                    plan: plan.dockerApiProxy,
                    provider: this.provider,
                    dockerHost: plan.dockerHost,
                    configuredSocketGroup: configuredGroup,
                    buildAfter: rebuild ? [rebuild.prune] : undefined,
                    startAfter: [],
                },
                { parent: this },
            );
        }
        // A service that mounts the socket itself (none in the catalog; the proxy does instead) gets its group too.
        const probeService = plan.dockerSocketGroup && "probeImageOf" in plan.dockerSocketGroup ? plan.dockerSocketGroup.probeImageOf : undefined;
        const socketGroup =
            configuredGroup ??
            (probeService !== undefined && probeService !== "docker-api-proxy"
                ? new DockerSocketGroup(`${name}-docker-socket-group`, { probeImage: images[probeService]!, dockerHost: plan.dockerHost }, { parent: this }).groupId
                : undefined);
        const proxy = this.dockerApiProxy;

        // Each container's inputs, built once: the container gets this object, and a stateful one's is
        // what the pre-change backup's trigger hashes.
        const services: Partial<Record<ServiceKey, HomeIQService>> = {};
        const specs = new Map<ServiceKey, ContainerSpec>();
        const specOf = (key: ServiceKey): ContainerSpec => {
            const known = specs.get(key);
            if (known) return known;
            const servicePlan = plan.services.find((s) => s.key === key)!;
            const spec = containerSpec(servicePlan, {
                image: images[key]!,
                secrets: this.secrets,
                networkName: this.network.name,
                volumeNames: this.volumes.names,
                dockerSocketGroup: socketGroup,
                dockerApiNetworkName: proxy?.network.name,
                containerId: (other) => {
                    const container = services[other]?.container;
                    if (!container) throw new pulumi.ResourceError(`${key} needs the container of ${other}, which is not created yet`, this);
                    return container.id;
                },
            });
            specs.set(key, spec);
            return spec;
        };

        // The services, inside the data lifecycle: each starts after its upstreams and the steps that guard it.
        const influxToken = this.secrets.get("influxdbAdminToken");
        const lifecycle = new DataLifecycle(name, this, { steps: plan.lifecycle, wiring: { influxToken, images, secret: (key) => this.secrets.value(key) }, specOf });
        for (const s of plan.services) {
            services[s.key] = new HomeIQService(
                `${name}-${s.key}`,
                {
                    spec: specOf(s.key),
                    startAfter: [
                        ...s.startAfter.map((dep) => services[dep]!.container),
                        ...(s.usesDockerApi && proxy ? [proxy.container] : []),
                        ...lifecycle.gatesOf(s.key),
                    ],
                    provider: this.provider,
                },
                { parent: this },
            );
            lifecycle.started(s.key, services[s.key]!.container);
        }
        lifecycle.finish();
        this.services = services;

        // Each container's PIDs limit, which the docker provider cannot set (components/pidsLimits.ts).
        this.pidsLimits = new PidsLimits(
            `${name}-pids-limits`,
            {
                dockerHost: plan.dockerHost,
                containers: [
                    ...plan.services.map((s) => ({ name: s.containerName, limit: s.hardening.pidsLimit, container: services[s.key]!.container })),
                    ...(proxy && plan.dockerApiProxy
                        ? [{ name: plan.dockerApiProxy.containerName, limit: plan.dockerApiProxy.hardening.pidsLimit, container: proxy.container }]
                        : []),
                ],
            },
            { parent: this },
        );

        // The gates: every container healthy in Docker's own state, then every published URL answers as a
        // healthy service would.
        this.healthGate = new ContainerHealthGate(
            `${name}-container-health`,
            { containers: [...plan.services.map((s) => services[s.key]!.container), ...(proxy ? [proxy.container] : [])], dockerHost: plan.dockerHost },
            { parent: this },
        );
        if (plan.validation) {
            const containers = [...plan.validation.after.map((k) => services[k]!.container), ...(proxy ? [proxy.container] : [])];
            this.validation = new DeploymentValidation(
                `${name}-validation`,
                { plan: plan.validation, containers, dependsOn: [...containers, this.healthGate.command, this.pidsLimits.command] },
                { parent: this },
            );
        }
        // The watch between deploys, once every container and gate is in place.
        if (plan.watch) {
            const containers = [...plan.services.map((s) => services[s.key]!.container), ...(proxy ? [proxy.container] : [])];
            this.watch = new StackWatch(
                `${name}-watch`,
                {
                    plan: plan.watch,
                    homeAssistantToken: this.secrets.value("homeAssistantToken"),
                    webhookUrl: plan.watch.webhookUrl ? this.secrets.value(plan.watch.webhookUrl.secret) : undefined,
                    dependsOn: [...containers, this.healthGate.command, ...(this.validation ? [this.validation.command] : [])],
                },
                { parent: this },
            );
        }
        this.registerOutputs({ serviceUrls: plan.outputs.serviceUrls, healthUrls: plan.outputs.healthUrls, dashboardUrl: plan.outputs.dashboardUrl });
    }
}
