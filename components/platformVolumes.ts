/**
 * The platform's named volumes. Data volumes carry `retainOnDelete` when the profile asks, so
 * `pulumi destroy` (or a replacement) never deletes a home's history from Docker.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { VOLUME_CATALOG, VOLUME_KEYS, type VolumeKey } from "../catalog/services";
import { dockerLabels, LABEL_DATA, LABEL_STACK, LABEL_VOLUME, volumeName } from "./naming";

export interface PlatformVolumesArgs {
    readonly stack: string;
    readonly volumes: readonly VolumeKey[];
    readonly retainDataVolumes: boolean;
    readonly provider: docker.Provider;
}

export class PlatformVolumes extends pulumi.ComponentResource {
    readonly volumes: Readonly<Partial<Record<VolumeKey, docker.Volume>>>;
    readonly names: Readonly<Partial<Record<VolumeKey, pulumi.Output<string>>>>;

    constructor(name: string, args: PlatformVolumesArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:PlatformVolumes", name, {}, opts);
        const volumes: Partial<Record<VolumeKey, docker.Volume>> = {};
        const names: Partial<Record<VolumeKey, pulumi.Output<string>>> = {};
        for (const key of VOLUME_KEYS.filter((k) => args.volumes.includes(k))) {
            const def = VOLUME_CATALOG[key];
            const volume = new docker.Volume(
                `${name}-${key}`,
                {
                    name: volumeName(args.stack, key),
                    driver: "local",
                    labels: dockerLabels({
                        [LABEL_STACK]: args.stack,
                        [LABEL_VOLUME]: key,
                        [LABEL_DATA]: String(def.holdsData),
                    }),
                },
                {
                    parent: this,
                    provider: args.provider,
                    retainOnDelete: def.holdsData && args.retainDataVolumes,
                },
            );
            volumes[key] = volume;
            names[key] = volume.name;
        }
        this.volumes = volumes;
        this.names = names;
        this.registerOutputs({ names });
    }
}
