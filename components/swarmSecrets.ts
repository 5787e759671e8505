/**
 * Credentials of a swarm task as swarm secrets mounted as files (plan/swarm.ts secretFilesOf), for the
 * images that read `<VAR>_FILE` (InfluxDB). A task's environment is part of its service spec, which
 * `docker service inspect` shows to anyone with the manager's API; a secret's value is not.
 *
 * A swarm secret is immutable (tf-docker resource_docker_secret.go:23-45: name, data and labels are all
 * ForceNew) and the manager refuses a second secret of the same name, so a new value is a new secret
 * with a new name: Pulumi creates it and the service's update moves the task to it. The name ends in a
 * random suffix that is drawn again whenever the value's digest changes (RandomPassword keepers), so it
 * says nothing about the value, and no two secrets ever share a name, not even after going back to an
 * earlier value. The digest is an HMAC under a random key kept in the stack's state: nothing in plain
 * text (state, previews) lets anyone test a guess of the value.
 *
 * The manager refuses to remove a secret a service still uses. Pulumi deletes a replaced resource at
 * the end of the update, or, when the update failed before that (a refused pre-change backup, a rolled
 * back service), at the start of the next one, while the service still uses it: that `up` would fail,
 * and every one after it. So the secrets are `retainOnDelete` (Pulumi forgets them, never removes them)
 * and a Command after every service removes the stack's secrets that no longer belong to it and that
 * no service uses (scripts/swarm/prune-secrets.sh); one still in use waits for the next `up`.
 */
import { createHmac } from "crypto";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SwarmSecretFile, SwarmServicePlan } from "../plan/swarm";
import { LABEL_STACK } from "../plan/naming";
import type { PlatformSecrets } from "./platformSecrets";
import { scriptCommand, SCRIPTS } from "./scriptCommand";

/** The label naming which config key a swarm secret holds (never its value); the prune takes only secrets with it. */
export const LABEL_SECRET_KEY = "com.homeiq.secret";

/** 16 hex characters of HMAC-SHA256(key, value): changes with the value, and tests no guess without the key. */
export function secretDigest(key: string, value: string): string {
    return createHmac("sha256", key).update(value, "utf8").digest("hex").slice(0, 16);
}

export interface SwarmSecretRef {
    readonly file: SwarmSecretFile;
    readonly secret: docker.Secret;
}

export interface SwarmSecretsArgs {
    readonly stack: string;
    readonly secrets: PlatformSecrets;
}

export class SwarmSecrets extends pulumi.ComponentResource {
    private readonly nameKey: random.RandomPassword;
    private readonly args: SwarmSecretsArgs;
    private readonly provider: docker.Provider;
    private readonly baseName: string;
    private readonly created: docker.Secret[] = [];

    constructor(name: string, args: SwarmSecretsArgs, opts: pulumi.ComponentResourceOptions & { provider: docker.Provider }) {
        super("homeiq:index:SwarmSecrets", name, {}, opts);
        this.args = args;
        this.baseName = name;
        this.provider = opts.provider;
        this.nameKey = new random.RandomPassword(`${name}-digest-key`, { length: 32, special: false }, { parent: this });
        this.registerOutputs({});
    }

    /** One swarm secret per secret file of `s`. */
    of(s: SwarmServicePlan): SwarmSecretRef[] {
        return s.secretFiles.map((file) => {
            const resourceName = `${this.baseName}-${s.key}-${file.secret}`;
            const value = this.args.secrets.value(file.secret);
            const digest = pulumi.unsecret(pulumi.all([this.nameKey.result, value]).apply(([key, v]) => secretDigest(key, v)));
            const suffix = new random.RandomPassword(`${resourceName}-suffix`, { length: 10, special: false, upper: false, keepers: { digest } }, { parent: this });
            const secret = new docker.Secret(
                resourceName,
                {
                    // `<stack>-<config key>-<random>`: a random suffix is no secret (the provider marks every RandomPassword result as one).
                    name: pulumi.interpolate`${this.args.stack}-${file.secret}-${pulumi.unsecret(suffix.result)}`,
                    data: pulumi.secret(value.apply((v) => Buffer.from(v, "utf8").toString("base64"))),
                    labels: [
                        { label: LABEL_STACK, value: this.args.stack },
                        { label: LABEL_SECRET_KEY, value: file.secret },
                    ],
                },
                { parent: this, provider: this.provider, retainOnDelete: true },
            );
            this.created.push(secret);
            return { file, secret };
        });
    }

    /** The Command that removes the stack's swarm secrets no service uses any longer; after every service (`after`). */
    prune(dockerHost: string, after: pulumi.Resource[]): command.local.Command {
        const keep = pulumi.all(this.created.map((s) => s.name)).apply((names) => [...names].sort().join(" "));
        return new command.local.Command(
            `${this.baseName}-prune`,
            {
                create: scriptCommand(SCRIPTS.swarmPruneSecrets),
                environment: { DOCKER_HOST: dockerHost, HOMEIQ_STACK: this.args.stack, HOMEIQ_KEEP_SECRETS: keep },
                triggers: [keep],
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: [...after, ...this.created] },
        );
    }
}
