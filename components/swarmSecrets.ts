/**
 * Credentials of a swarm task as swarm secrets mounted as files (plan/swarm.ts secretFilesOf), for the
 * images that read `<VAR>_FILE` (InfluxDB). A task's environment is part of its service spec, which
 * `docker service inspect` shows to anyone with the manager's API; a secret's value is not.
 *
 * A swarm secret is immutable (tf-docker resource_docker_secret.go: name, data and labels are all
 * ForceNew), and the manager refuses a second secret of the same name. So the name carries a digest of
 * the value: a new value is a new name, Pulumi creates the new secret, updates the service to it, and
 * only then deletes the old one (which the manager refuses while a service still uses it). The digest
 * is an HMAC under a random key kept in the stack's state, so neither the name nor anything else in
 * plain text (previews, `docker secret ls`) lets anyone test a guess of the value.
 */
import { createHmac } from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SwarmSecretFile, SwarmServicePlan } from "../plan/swarm";
import type { PlatformSecrets } from "./platformSecrets";

/** The label naming which config key a swarm secret holds (never its value). */
export const LABEL_SECRET_KEY = "com.homeiq.secret";

/** 12 hex characters of HMAC-SHA256(key, value): what distinguishes one value's secret from the next. */
export function secretDigest(key: string, value: string): string {
    return createHmac("sha256", key).update(value, "utf8").digest("hex").slice(0, 12);
}

/** The swarm secret's name: service, config key, digest (`prod-influxdb-influxdbAdminToken-1a2b3c4d5e6f`). */
export function swarmSecretName(serviceName: string, file: SwarmSecretFile, digest: string): string {
    return `${serviceName}-${file.secret}-${digest}`;
}

export interface SwarmSecretRef {
    readonly file: SwarmSecretFile;
    readonly secret: docker.Secret;
}

export interface SwarmSecretsArgs {
    readonly secrets: PlatformSecrets;
    readonly labels: Readonly<Record<string, string>>;
}

export class SwarmSecrets extends pulumi.ComponentResource {
    private readonly nameKey: random.RandomPassword;
    private readonly args: SwarmSecretsArgs;
    private readonly providerOpts: pulumi.CustomResourceOptions;
    private readonly baseName: string;

    constructor(name: string, args: SwarmSecretsArgs, opts: pulumi.ComponentResourceOptions & { provider: docker.Provider }) {
        super("homeiq:index:SwarmSecrets", name, {}, opts);
        this.args = args;
        this.baseName = name;
        this.providerOpts = { parent: this, provider: opts.provider };
        this.nameKey = new random.RandomPassword(`${name}-name-key`, { length: 32, special: false }, { parent: this });
        this.registerOutputs({});
    }

    /** One swarm secret per secret file of `s`, named after its value's digest. */
    of(s: SwarmServicePlan): SwarmSecretRef[] {
        return s.secretFiles.map((file) => {
            const value = this.args.secrets.value(file.secret);
            // A digest is not the value: the name need not be hidden (and a hidden name would hide the replacement in a preview).
            const digestName = pulumi.unsecret(pulumi.all([this.nameKey.result, value]).apply(([key, v]) => swarmSecretName(s.name, file, secretDigest(key, v))));
            const secret = new docker.Secret(
                `${this.baseName}-${s.key}-${file.secret}`,
                {
                    name: digestName,
                    data: pulumi.secret(value.apply((v) => Buffer.from(v, "utf8").toString("base64"))),
                    labels: Object.entries({ ...this.args.labels, [LABEL_SECRET_KEY]: file.secret }).map(([label, v]) => ({ label, value: v })),
                },
                this.providerOpts,
            );
            return { file, secret };
        });
    }
}
