/**
 * The image of one service: built from the HomeIQ checkout (never pushed, never built on
 * preview) or pulled from a registry pinned by digest. Services that cannot run as non-root in
 * their own image get a thin derived image (images/non-root-python) when the profile asks for it.
 */
import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceDefinition } from "../catalog/services";
import type { ImageSettings } from "../config/schema";
import { builtImageName } from "./naming";
import { REPOSITORY_ROOT } from "./repositoryRoot";

const NON_ROOT_ADAPTER_CONTEXT = path.join(REPOSITORY_ROOT, "images", "non-root-python");

export interface ServiceImageArgs {
    readonly service: ServiceDefinition;
    readonly stack: string;
    readonly images: ImageSettings;
    /** Part of every build's arguments, so raising it rebuilds every image. */
    readonly rebuildGeneration: number;
    /** Add the non-root adapter layer (the profile runs services as non-root and the service needs it). */
    readonly nonRootAdapter: boolean;
    /** uid:gid the adapter prepares the data folder for. */
    readonly nonRootUser?: string;
    readonly provider: docker.Provider;
    /** Resources a build must wait for (the clean-rebuild cache prune). */
    readonly buildAfter?: pulumi.Input<pulumi.Resource>[];
}

export class ServiceImage extends pulumi.ComponentResource {
    /** Immutable reference for the container: a digest or image id, so a new build replaces the container. */
    readonly reference: pulumi.Output<string>;

    constructor(name: string, args: ServiceImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:ServiceImage", name, {}, opts);
        const { service, images } = args;
        const childOpts = { parent: this, provider: args.provider, dependsOn: args.buildAfter };

        let base: pulumi.Output<string>;
        let baseName: pulumi.Output<string>;
        if (service.image.kind === "stock") {
            const pulled = new docker.RemoteImage(name, { name: images.influxdbImage, keepLocally: true }, childOpts);
            base = pulled.imageId;
            baseName = pulled.name;
        } else if (images.source === "build") {
            const built = new docker.Image(
                name,
                {
                    imageName: builtImageName(args.stack, service.key),
                    skipPush: true,
                    buildOnPreview: false,
                    build: {
                        context: path.join(images.checkoutPath, service.image.context),
                        dockerfile: path.join(images.checkoutPath, service.image.context, service.image.dockerfile),
                        args: { HOMEIQ_REBUILD_GENERATION: String(args.rebuildGeneration) },
                    },
                },
                childOpts,
            );
            base = built.repoDigest;
            baseName = built.imageName;
        } else {
            const reference = images.references[service.key];
            if (reference === undefined) {
                throw new pulumi.ResourceError(`no registry image configured for ${service.key} (homeiq:imageReferences)`, this);
            }
            const pulled = new docker.RemoteImage(name, { name: reference, keepLocally: true }, childOpts);
            base = pulled.imageId;
            baseName = pulled.name;
        }

        if (args.nonRootAdapter) {
            const [uid, gid] = (args.nonRootUser ?? "1001:1001").split(":");
            const adapted = new docker.Image(
                `${name}-non-root`,
                {
                    imageName: builtImageName(args.stack, service.key).replace(/:local$/, "-non-root:local"),
                    skipPush: true,
                    buildOnPreview: false,
                    build: {
                        context: NON_ROOT_ADAPTER_CONTEXT,
                        dockerfile: path.join(NON_ROOT_ADAPTER_CONTEXT, "Dockerfile"),
                        // BASE_DIGEST changes with every new base build, so the layer is rebuilt on top of it.
                        args: { BASE_IMAGE: baseName, BASE_DIGEST: base, APP_UID: uid, APP_GID: gid },
                    },
                },
                { ...childOpts, dependsOn: undefined },
            );
            this.reference = adapted.repoDigest;
        } else {
            this.reference = base;
        }
        this.registerOutputs({ reference: this.reference });
    }
}
