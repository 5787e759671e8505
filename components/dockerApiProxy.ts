/**
 * The stack's Docker API proxy (catalog DOCKER_API_PROXY): the one container that mounts the Docker
 * socket. Its image is built by the program from images/docker-api-proxy (Debian's nginx with an
 * allow-list of read-only Engine API calls), it joins only the stack's internal Docker API network,
 * where its clients (admin-api) reach it as DOCKER_HOST=tcp://docker-api-proxy:2375, and it publishes
 * no port. It gets the socket's group: homeiq:dockerSocketGroupId, or asked of the engine through its
 * own image at deploy time (components/dockerSocketGroup.ts).
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DockerApiProxyPlan } from "../plan/plan";
import { DockerSocketGroup } from "./dockerSocketGroup";
import { cpusAsRead } from "../catalog/rules";
import { capabilitiesAsRead, dockerLabels, goSeconds } from "./dockerForms";
import { HEALTH_CHECK_TIMING, REPLACE_ON_CHANGES, cpuSharesOf } from "./homeiqService";
import { LABEL_PIDS_LIMIT } from "../plan/naming";

export interface DockerApiProxyArgs {
    readonly plan: DockerApiProxyPlan;
    readonly provider: docker.Provider;
    readonly dockerHost: string;
    /** homeiq:dockerSocketGroupId; unset: asked of the engine. */
    readonly configuredSocketGroup?: string;
    /** Resources a build must wait for (the clean-rebuild cache prune). */
    readonly buildAfter?: pulumi.Input<pulumi.Resource>[];
    /** Containers and steps it starts after (the host-ports check). */
    readonly startAfter: pulumi.Input<pulumi.Resource>[];
}

export class DockerApiProxy extends pulumi.ComponentResource {
    readonly network: docker.Network;
    readonly image: docker.Image;
    readonly container: docker.Container;

    constructor(name: string, args: DockerApiProxyArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:DockerApiProxy", name, {}, opts);
        const { plan } = args;
        const childOpts = { parent: this, provider: args.provider };
        // internal: no route out of it; only the proxy and its clients are attached.
        this.network = new docker.Network(
            `${name}-network`,
            { name: plan.network.name, driver: "bridge", internal: true, labels: dockerLabels(plan.network.labels) },
            childOpts,
        );
        this.image = new docker.Image(
            `${name}-image`,
            {
                imageName: plan.image.imageName,
                skipPush: true,
                buildOnPreview: false,
                // No dockerfile: the provider takes <context>/Dockerfile, as for the non-root adapter.
                build: { context: plan.image.context, args: { ...plan.image.args } },
            },
            { ...childOpts, dependsOn: args.buildAfter },
        );
        const socketGroup =
            args.configuredSocketGroup ??
            new DockerSocketGroup(`${name}-socket-group`, { probeImage: this.image.repoDigest, dockerHost: args.dockerHost }, { parent: this }).groupId;
        const h = plan.hardening;
        // Written as the provider reads them back (docs/provider-behaviour.md), as for every service.
        const cpus = cpusAsRead(plan.resources.cpus);
        if (cpus === undefined) throw new Error(`docker-api-proxy: cpus ${plan.resources.cpus} is read back by the docker provider as another value`);
        this.container = new docker.Container(
            name,
            {
                name: plan.containerName,
                image: this.image.repoDigest,
                labels: dockerLabels({ ...plan.labels, [LABEL_PIDS_LIMIT]: String(h.pidsLimit) }),
                restart: plan.restart,
                memory: plan.resources.memoryMiB,
                memorySwap: plan.resources.memoryMiB,
                memoryReservation: plan.resources.memoryReservationMiB,
                cpus,
                cpuShares: cpuSharesOf(plan.resources.cpus),
                healthcheck: { tests: [...plan.healthCheck.tests], ...HEALTH_CHECK_TIMING, startPeriod: goSeconds(plan.healthCheck.startPeriodSeconds) },
                wait: true,
                waitTimeout: plan.healthWaitSeconds,
                networksAdvanced: [{ name: this.network.name, aliases: [plan.key] }],
                // Read-only does not limit what a client of the socket can ask: the allow-list in nginx.conf does.
                volumes: [{ hostPath: plan.socket.hostPath, containerPath: plan.socket.containerPath, readOnly: true }],
                logDriver: "json-file",
                logOpts: { "max-size": `${plan.logRotation.maxSizeMiB}m`, "max-file": String(plan.logRotation.maxFiles) },
                user: h.user,
                readOnly: h.readOnly,
                tmpfs: h.tmpfs ? { ...h.tmpfs } : undefined,
                securityOpts: [...h.securityOpts],
                capabilities: h.capabilities ? { drops: capabilitiesAsRead(h.capabilities.drops), adds: capabilitiesAsRead(h.capabilities.adds) } : undefined,
                groupAdds: [socketGroup],
                destroyGraceSeconds: 10,
            },
            { ...childOpts, dependsOn: args.startAfter, deleteBeforeReplace: true, replaceOnChanges: [...REPLACE_ON_CHANGES] },
        );
        this.registerOutputs({ containerName: plan.containerName });
    }
}
