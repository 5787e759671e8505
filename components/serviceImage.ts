/**
 * The image of one service, as its ImagePlan says: built from the HomeIQ checkout (never pushed,
 * never built on preview) or pulled by reference (a stock image, or a registry image pinned by
 * digest), with a thin derived image (images/non-root-python) on top when the service runs
 * non-root in an image that cannot.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ImagePlan } from "../plan/plan";

export interface ServiceImageArgs {
    readonly plan: ImagePlan;
    readonly provider: docker.Provider;
    /** Resources a build must wait for (the clean-rebuild cache prune). */
    readonly buildAfter?: pulumi.Input<pulumi.Resource>[];
}

export class ServiceImage extends pulumi.ComponentResource {
    /** Immutable reference for the container: a digest or image id, so a new build replaces the container. */
    readonly reference: pulumi.Output<string>;

    constructor(name: string, args: ServiceImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:ServiceImage", name, {}, opts);
        const { plan } = args;
        const childOpts = { parent: this, provider: args.provider, dependsOn: args.buildAfter };

        let base: pulumi.Output<string>;
        let baseName: pulumi.Output<string>;
        if ("pull" in plan.base) {
            const pulled = new docker.RemoteImage(name, { name: plan.base.pull, keepLocally: true }, childOpts);
            base = pulled.imageId;
            baseName = pulled.name;
        } else {
            const b = plan.base.build;
            const built = new docker.Image(
                name,
                {
                    imageName: b.imageName,
                    skipPush: true,
                    buildOnPreview: false,
                    build: { context: b.context, dockerfile: b.dockerfile, args: { ...b.args } },
                },
                childOpts,
            );
            base = built.repoDigest;
            baseName = built.imageName;
        }

        const adapter = plan.nonRootAdapter;
        if (adapter) {
            const adapted = new docker.Image(
                `${name}-non-root`,
                {
                    imageName: adapter.imageName,
                    skipPush: true,
                    buildOnPreview: false,
                    build: {
                        context: adapter.context,
                        // BASE_DIGEST changes with every new base build, so the layer is rebuilt on top of it.
                        args: { BASE_IMAGE: baseName, BASE_DIGEST: base, APP_UID: adapter.uid, APP_GID: adapter.gid },
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
