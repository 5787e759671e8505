/**
 * The platform's credentials. Each is the user's own `pulumi config set --secret` value or, for the
 * keys config/keys.ts marks as generated, a @pulumi/random value kept in the stack's state when
 * unset, so it is stable across updates. Every value leaves this component as a Pulumi secret,
 * never as plain text.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { GENERATED_SECRETS, type GeneratedSecretKey, type SecretKey } from "../config/keys";
import type { SecretSettings } from "../config/schema";

export interface PlatformSecretsArgs {
    readonly settings: SecretSettings;
}

export class PlatformSecrets extends pulumi.ComponentResource {
    private readonly generated: Record<GeneratedSecretKey, pulumi.Output<string>>;
    private readonly settings: SecretSettings;

    constructor(name: string, args: PlatformSecretsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("homeiq:index:PlatformSecrets", name, {}, opts);
        this.settings = args.settings;
        const generated = {} as Record<GeneratedSecretKey, pulumi.Output<string>>;
        for (const [key, length] of Object.entries(GENERATED_SECRETS) as Array<[GeneratedSecretKey, number]>) {
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
    get(name: GeneratedSecretKey): pulumi.Output<string> {
        return this.generated[name];
    }

    /** Any secret key's value as a secret (the generated one where it was generated; "" when unset). */
    value(name: SecretKey): pulumi.Output<string> {
        return Object.hasOwn(this.generated, name) ? this.generated[name as GeneratedSecretKey] : pulumi.secret(this.settings[name] ?? "");
    }
}
