/**
 * The platform's credentials. Each is the user's own `pulumi config set --secret` value or, when
 * unset, a @pulumi/random value kept in the stack's state, so it is stable across updates. Every
 * value leaves this component as a Pulumi secret, never as plain text.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SecretSettings } from "../config/schema";

/** Credentials that are generated when not configured, and their generated lengths. */
export const GENERATED_SECRETS = {
    influxdbAdminPassword: 32,
    influxdbAdminToken: 64,
    jwtSecret: 64,
    adminPassword: 24,
    dataApiKey: 48,
} as const;

export type GeneratedSecretName = keyof typeof GENERATED_SECRETS;

/** Third-party keys: optional, passed as an empty value when unset (as the old files did). */
export type OptionalSecretName = Exclude<keyof SecretSettings, GeneratedSecretName | "homeAssistantToken">;

export interface PlatformSecretsArgs {
    readonly settings: SecretSettings;
}

export class PlatformSecrets extends pulumi.ComponentResource {
    readonly homeAssistantToken: pulumi.Output<string>;
    private readonly generated: Record<GeneratedSecretName, pulumi.Output<string>>;
    private readonly settings: SecretSettings;

    constructor(name: string, args: PlatformSecretsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:PlatformSecrets", name, {}, opts);
        this.settings = args.settings;
        this.homeAssistantToken = pulumi.secret(args.settings.homeAssistantToken ?? "");

        const generated = {} as Record<GeneratedSecretName, pulumi.Output<string>>;
        for (const [key, length] of Object.entries(GENERATED_SECRETS) as Array<[GeneratedSecretName, number]>) {
            const configured = args.settings[key];
            if (configured !== undefined) {
                generated[key] = pulumi.secret(configured);
                continue;
            }
            // Letters and digits only: these values travel through env files, URLs and shell-free exec.
            const value = new random.RandomPassword(`${name}-${key}`, { length, special: false }, { parent: this });
            generated[key] = pulumi.secret(value.result);
        }
        this.generated = generated;
        this.registerOutputs({});
    }

    /** A generated-or-configured credential, always secret. */
    get(name: GeneratedSecretName): pulumi.Output<string> {
        return this.generated[name];
    }

    /** A third-party key: secret when set, an empty plain string when not. */
    optional(name: OptionalSecretName): pulumi.Input<string> {
        const value = this.settings[name];
        return value === undefined ? "" : pulumi.secret(value);
    }

    /** Whether a third-party key was configured (for feature toggles such as weather enrichment). */
    has(name: OptionalSecretName): boolean {
        return this.settings[name] !== undefined;
    }
}
