/**
 * The platform's named volumes. Data volumes carry `retainOnDelete` when the profile asks, so
 * `pulumi destroy` (or a replacement) never deletes a home's history from Docker.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerLabels } from "./dockerForms";
import type { VolumeKey } from "../catalog/services";
import type { VolumePlan } from "../plan/plan";

export interface PlatformVolumesArgs {
    readonly volumes: readonly VolumePlan[];
    readonly provider: docker.Provider;
}

export class PlatformVolumes extends pulumi.ComponentResource {
    readonly volumes: Readonly<Partial<Record<VolumeKey, docker.Volume>>>;
    readonly names: Readonly<Partial<Record<VolumeKey, pulumi.Output<string>>>>;

    constructor(name: string, args: PlatformVolumesArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:PlatformVolumes", name, {}, opts);
        const volumes: Partial<Record<VolumeKey, docker.Volume>> = {};
        const names: Partial<Record<VolumeKey, pulumi.Output<string>>> = {};
        for (const v of args.volumes) {
            const volume = new docker.Volume(
                `${name}-${v.key}`,
                { name: v.name, driver: "local", labels: dockerLabels(v.labels) },
                { parent: this, provider: args.provider, retainOnDelete: v.retainOnDelete },
            );
            volumes[v.key] = volume;
            names[v.key] = volume.name;
        }
        this.volumes = volumes;
        this.names = names;
        this.registerOutputs({ names });
    }
}
