/**
 * The one schema of a stack's configuration.
 *
 * `parseStackConfig` takes the raw `homeiq:*` values exactly as Pulumi hands them to a program
 * (strings; arrays as JSON text), parses every key with its own schema (its record, config/keys.ts), then runs
 * the checks that span keys (port collisions, CORS against the profile, memory against reservation,
 * dependencies on disabled services, values no enabled service reads). It returns every problem at
 * once, or the validated StackConfig: each service's settings with the profile's defaults filled in.
 * What the platform does with it is the resolve step's (plan/resolve.ts).
 */
import { SERVICE_CATALOG, SERVICE_KEYS, isServiceKey, startOrder, type ServiceKey } from "../catalog/services";
import { PROFILES } from "../stacks";
import type { ServiceResources, StackProfile } from "../stacks/profile";
import { checkKeyNames } from "./keyNames";
import { CONFIG_KEY_NAMES, configDefaults, exampleEntry, isSecretKey, readBy, recordOf, SECRET_CONFIG_KEYS, type ConfigKey, type Fields, type SecretKey } from "./keys";
import { fixCommand, Problems, shellQuote, showValue, withStack, type ConfigProblem } from "./problems";
import { CPUS, cpusAsRead, HOSTNAME, IPV6_BRACKETED, MEMORY_MIB, MEMORY_RESERVATION_MIB, parseImageReference, PORT, RE_STACK_NAME, STACK_NAME_MAX } from "../catalog/rules";

import { BUILT_SERVICES, ipAddress, isPlaceholderSecret, MIN_TOKEN_LENGTH, parseSwarmNode, RESOURCE_FIELDS, SWARM_NODE_ROLES, withPort, type ResourceField } from "./values";

export { isPlaceholderSecret, MIN_TOKEN_LENGTH } from "./values";
export { formatProblems, type ConfigProblem } from "./problems";

// ---- the validated config -------------------------------------------------------------------

export type ImageSettings =
    | { readonly source: "build"; readonly checkoutPath: string; readonly influxdbImage: string }
    | {
          readonly source: "registry";
          readonly references: Readonly<Partial<Record<ServiceKey, string>>>;
          readonly influxdbImage: string;
      };

export interface ResolvedService {
    readonly key: ServiceKey;
    readonly enabled: boolean;
    readonly disabledReason?: string;
    readonly hostPort: number;
    readonly bindAddress: string;
    /** homeiq:lanAccess: published on a LAN address on purpose, for this reason (the policy pack allows exactly these). */
    readonly lanAccess?: { readonly reason: string };
    readonly resources: ServiceResources;
}

/** Secret config values, still plain here; components wrap them with pulumi.secret before use. */
export type SecretSettings = Readonly<Partial<Record<SecretKey, string>>>;

/**
 * The validated config. `values` holds every key's value after its schema (defaults applied,
 * optional keys absent when unset): the plan reads keys from there. The rest is what the checks that
 * span keys decide: the images, each service's settings with the profile's defaults filled in, the
 * CORS origins in effect, the secrets that are set, and warnings for every run.
 */
export interface StackConfig {
    readonly values: Fields;
    readonly profile: StackProfile;
    readonly images: ImageSettings;
    readonly services: Readonly<Record<ServiceKey, ResolvedService>>;
    /** homeiq:corsOrigins, else the profile's. */
    readonly corsOrigins: readonly string[];
    readonly secrets: SecretSettings;
    /** Said on every run (pulumi.log.warn), e.g. a placeholder token accepted on purpose. */
    readonly warnings: readonly string[];
}

export type ParseResult = { ok: true; config: StackConfig } | { ok: false; problems: ConfigProblem[] };

export interface ParseOptions {
    /** The stack's name, checked as Docker names need it (every name this program makes starts with it). */
    readonly stack?: string;
    /** Config of other namespaces (`docker:host`, `homeIQ:profile`, ...): look-alikes of homeiq are refused. */
    readonly otherValues?: Readonly<Record<string, unknown>>;
    /**
     * The host ports the stack's policy pack lets a container publish on every interface
     * (policy/config/<stack>.json, container-no-public-ports); a port it would refuse is refused here.
     * Undefined: the stack has no pack config, nothing to check against.
     */
    readonly allowedPublicPorts?: readonly number[];
    /**
     * Full keys whose values are secrets (encrypted in the stack file): never repeated in a fix command. When
     * given, a secret key set in plain text is refused. Unknown (undefined) when the engine did not say.
     */
    readonly secretKeys?: readonly string[];
}

// ---- checks ---------------------------------------------------------------------------------

interface Entry {
    readonly index: number;
    readonly service: ServiceKey;
    readonly field?: string;
    readonly value: string;
    readonly raw: string;
}

/**
 * Splits the `service=value` (or `service:field=value`) entries of a list key, spaces around the
 * parts removed. Malformed entries, unknown services and a second entry for the same service (and
 * field) are reported; with `disabled`, so is an entry for a service the stack does not deploy.
 */
function entries(problems: Problems, key: ConfigKey, list: readonly string[], disabled?: ReadonlyMap<ServiceKey, string>): Entry[] {
    const out: Entry[] = [];
    const seen = new Map<string, number>();
    list.forEach((raw, index) => {
        const m = /^([a-z0-9-]+)\s*(?::\s*([A-Za-z]+)\s*)?=\s*(.*)$/.exec(raw);
        if (!m) {
            problems.add(key, index, raw, `is not of the form ${key === "resourceOverrides" ? "service:field=value" : "service=value"}`, recordOf(key).allowed, fixCommand.setAt(key, index, exampleEntry(key)!));
            return;
        }
        const [, service, field, value] = m;
        if (field !== undefined && key !== "resourceOverrides") {
            problems.add(key, index, raw, "is not of the form service=value", recordOf(key).allowed, fixCommand.setAt(key, index, exampleEntry(key)!));
            return;
        }
        if (!isServiceKey(service)) {
            problems.add(key, index, raw, `names a service that does not exist: '${service}'`, `one of: ${SERVICE_KEYS.join(", ")}`, fixCommand.setAt(key, index, exampleEntry(key)!));
            return;
        }
        const id = field === undefined ? service : `${service}:${field}`;
        const first = seen.get(id);
        if (first !== undefined) {
            problems.add(key, index, raw, `gives ${id} a second time (first in entry ${first}); the last one would silently win`, `one entry per ${field === undefined ? "service" : "service and field"}`, fixCommand.rmAt(key, index));
            return;
        }
        seen.set(id, index);
        if (disabled?.has(service)) {
            problems.add(key, index, raw, `sets ${service}, which this stack disables (homeiq:disabledServices): it would be silently ignored`, "entries for deployed services only", fixCommand.rmAt(key, index));
            return;
        }
        out.push({ index, service, field, value: value.trim(), raw });
    });
    return out;
}

/** The host address a service's port binds to: the dashboard's, or the profile's publish address. */
function bindAddressOf(key: ServiceKey, profile: StackProfile, dashboardBindAddress: string | undefined): string {
    return SERVICE_CATALOG[key].dashboard ? (dashboardBindAddress ?? profile.dashboardBindAddress) : profile.publishBindAddress;
}

/** The problem with a stack name that cannot start Docker names, with a suggestion; undefined when it can. */
export function stackNameProblem(stack: string): ConfigProblem | undefined {
    if (RE_STACK_NAME.test(stack) && stack.length <= STACK_NAME_MAX) return undefined;
    const suggestion =
        stack
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, "-")
            .replace(/^-+|-+$/g, "")
            .slice(0, STACK_NAME_MAX)
            .replace(/-+$/, "") || "homeiq";
    return {
        key: "stack name",
        value: showValue("stack name", stack),
        problem: "cannot start Docker names: every container, volume and image name of the stack starts with it",
        allowed: `1-${STACK_NAME_MAX} lower-case letters and digits, single '.', '_' or '-' between them`,
        fix: `pulumi stack rename ${shellQuote(suggestion)}`,
    };
}

/** What the checks that span keys read: the parsed fields, the raw values and where problems go. */
interface Checking {
    readonly problems: Problems;
    readonly f: Partial<Fields>;
    readonly raw: Readonly<Record<string, unknown>>;
    readonly profile?: StackProfile;
}

/** Parses and cross-checks the raw `homeiq:*` config. Never throws for bad input. */
export function parseStackConfig(stackValues: Readonly<Record<string, unknown>>, options: ParseOptions = {}): ParseResult {
    const problems = new Problems();
    const badStackName = options.stack === undefined ? undefined : stackNameProblem(options.stack);
    if (badStackName) problems.list.push(badStackName);
    const defaults = configDefaults();
    const raw: Record<string, unknown> = { ...defaults, ...stackValues };
    const isSet = (key: ConfigKey): boolean => stackValues[key] !== undefined && comparable(stackValues[key]) !== comparable(defaults[key] ?? "");
    checkKeyNames(problems, {
        ownKeys: Object.keys(stackValues),
        otherKeys: Object.keys(options.otherValues ?? {}),
        isSet,
        valueFor: (key, wrongKey) => {
            if (options.secretKeys?.includes(wrongKey)) return exampleEntry(key);
            const given = wrongKey.startsWith("homeiq:") ? stackValues[wrongKey.slice("homeiq:".length)] : options.otherValues?.[wrongKey];
            const v = recordOf(key).type === "array" ? asList(given)[0] : given;
            return typeof v === "string" && recordOf(key).schema.safeParse(recordOf(key).type === "array" ? JSON.stringify([v]) : v).success ? v : exampleEntry(key);
        },
    });
    if (options.secretKeys !== undefined) checkSecretsEncrypted(problems, stackValues, options.secretKeys);
    const f = parseFields(raw, problems);
    const profile = f.profile !== undefined ? PROFILES[f.profile] : undefined;
    const c: Checking = { problems, f, raw, profile };

    const images = checkImages(c);
    const placeholderTokenAccepted = checkInfluxdbToken(c);
    const { disabled, enabled } = checkDisabledServices(c);
    const resources = checkResources(c, disabled);
    const hostPorts = checkHostPorts(c, disabled, enabled);
    const lan = checkLanAccess(c, disabled);
    const bind = (k: ServiceKey): string => lan.get(k)?.address ?? (profile ? bindAddressOf(k, profile, f.dashboardBindAddress) : "127.0.0.1");
    if (options.allowedPublicPorts !== undefined) checkPublicPorts(c, enabled, hostPorts, bind, lan, options.allowedPublicPorts, options.stack);
    checkCorsOrigins(c);
    checkRequiredConfig(c, enabled, isSet);
    if (disabled.size > 0) checkUnreadKeys(c, enabled, isSet);
    checkValidationReach(c, enabled, bind);
    checkSomethingStateful(c, enabled);
    checkSwarm(c);
    checkBackupCopy(c);

    if (problems.list.length > 0 || !profile || !images) {
        if (problems.list.length === 0) {
            throw new Error("internal error: config failed to resolve without a reported problem");
        }
        return { ok: false, problems: problems.list.map((p) => ({ ...p, fix: withStack(p.fix, options.stack) })) };
    }
    // Every key parsed (no problem was reported), so every field is there.
    return { ok: true, config: validatedConfig(f as Fields, profile, images, placeholderTokenAccepted, disabled, resources, hostPorts, bind, lan) };
}

/**
 * A secret key's value in plain text in the stack file (`homeiq:homeAssistantToken: eyJ...` rather than
 * `secure: ...`): anyone who reads the file, or the repository it is committed to, has it.
 */
function checkSecretsEncrypted(problems: Problems, stackValues: Readonly<Record<string, unknown>>, secretKeys: readonly string[]): void {
    for (const key of SECRET_CONFIG_KEYS) {
        const value = stackValues[key];
        if (typeof value !== "string" || value === "" || secretKeys.includes(`homeiq:${key}`)) continue;
        problems.add(
            key,
            undefined,
            value,
            "is stored in plain text in the stack file: anyone who can read the file (or the repository it is committed to) has it",
            "a secret, encrypted in the stack file (secure: ...)",
            // Prompts for the value (never in the shell's history) and stores it encrypted in its place.
            fixCommand.setSecret(key),
        );
    }
}

/** The image settings: a checkout to build from, or pinned registry references. */
function checkImages({ problems, f, raw }: Checking): ImageSettings | undefined {
    let images: ImageSettings | undefined;
    if (f.imageSource === "build") {
        if (raw.homeiqCheckoutPath === undefined || raw.homeiqCheckoutPath === "") {
            problems.add("homeiqCheckoutPath", undefined, undefined, "is required when imageSource is build", recordOf("homeiqCheckoutPath").allowed, fixCommand.set("homeiqCheckoutPath", exampleEntry("homeiqCheckoutPath")!));
        } else if (f.homeiqCheckoutPath !== undefined && f.influxdbImage !== undefined) {
            images = { source: "build", checkoutPath: f.homeiqCheckoutPath, influxdbImage: f.influxdbImage };
        }
    } else if (f.imageSource === "registry" && f.influxdbImage !== undefined) {
        images = registryImages(problems, f.imageReferences ?? [], f.influxdbImage);
    }
    return images;
}

/**
 * The InfluxDB admin token. A full restore of an old compose deployment brings back its token, often the
 * placeholder `ha-ingestor-token`: accepted only when the stack says so explicitly (scripts/migrate).
 * Returns whether a placeholder is accepted.
 */
function checkInfluxdbToken({ problems, f, raw }: Checking): boolean {
    const token = f.influxdbAdminToken;
    const acceptPlaceholder = f.acceptPlaceholderInfluxdbToken === true;
    const tokenWeakness =
        token === undefined ? undefined : isPlaceholderSecret(token) ? "is a placeholder credential from the old compose files" : token.length < MIN_TOKEN_LENGTH ? `must be at least ${MIN_TOKEN_LENGTH} characters` : undefined;
    if (tokenWeakness !== undefined && !acceptPlaceholder) {
        problems.add(
            "influxdbAdminToken",
            undefined,
            token,
            tokenWeakness,
            `a token of at least ${MIN_TOKEN_LENGTH} characters that is not an old placeholder, or unset (generated); an old one carried over from the compose files only with homeiq:acceptPlaceholderInfluxdbToken=true`,
            fixCommand.setSecret("influxdbAdminToken"),
        );
    }
    if (acceptPlaceholder && tokenWeakness === undefined) {
        problems.add(
            "acceptPlaceholderInfluxdbToken",
            undefined,
            raw.acceptPlaceholderInfluxdbToken,
            token === undefined ? "is true, but homeiq:influxdbAdminToken is not set" : "is true, but homeiq:influxdbAdminToken is no longer a placeholder (rotated?)",
            "false (the default); true only while influxdbAdminToken is a placeholder carried over from a compose deployment",
            "pulumi config rm homeiq:acceptPlaceholderInfluxdbToken",
        );
    }
    return acceptPlaceholder;
}

/** The services the stack does not deploy, each with its reason; none that a deployed one depends on. */
function checkDisabledServices({ problems, f }: Checking): { disabled: Map<ServiceKey, string>; enabled: ServiceKey[] } {
    const disabled = new Map<ServiceKey, string>();
    const disabledIndex = new Map<ServiceKey, number>();
    for (const e of entries(problems, "disabledServices", f.disabledServices ?? [])) {
        if (e.value.length === 0) {
            problems.add("disabledServices", e.index, e.raw, "disables a service without a reason", "'service=reason' with a non-empty reason", fixCommand.setAt("disabledServices", e.index, `${e.service}=<why this stack does not run it>`));
        } else {
            disabled.set(e.service, e.value);
            disabledIndex.set(e.service, e.index);
        }
    }
    // One problem per disabled service that others need (one cause), naming all of them.
    for (const [dep, index] of disabledIndex) {
        const needing = SERVICE_KEYS.filter((key) => !disabled.has(key) && SERVICE_CATALOG[key].dependsOn.includes(dep));
        if (needing.length === 0) continue;
        const them = needing.length === 1 ? needing[0] : `${needing.slice(0, -1).join(", ")} and ${needing[needing.length - 1]}`;
        problems.add("disabledServices", index, (f.disabledServices ?? [])[index], `disables ${dep}, which ${them} depend${needing.length === 1 ? "s" : ""} on`, `disable ${them} too, or keep ${dep}`, fixCommand.rmAt("disabledServices", index));
    }
    const enabled = SERVICE_KEYS.filter((k) => !disabled.has(k));
    if (enabled.length === 0) {
        const keep = startOrder().find((k) => SERVICE_CATALOG[k].dependsOn.length === 0)!;
        problems.add("disabledServices", undefined, f.disabledServices, "disables every service: there would be nothing to deploy, back up or validate", "leave at least one service deployed", fixCommand.rmAt("disabledServices", disabledIndex.get(keep)!));
    }
    return { disabled, enabled };
}

/** Each service's memory and CPU: the profile's, with the stack's overrides. */
function checkResources({ problems, f, profile }: Checking, disabled: ReadonlyMap<ServiceKey, string>): Map<ServiceKey, ServiceResources> {
    const resources = new Map<ServiceKey, ServiceResources>();
    if (profile) for (const key of SERVICE_KEYS) resources.set(key, { ...profile.resources[key] });
    const resourceIndex = new Map<string, number>();
    for (const e of entries(problems, "resourceOverrides", f.resourceOverrides ?? [], disabled)) {
        const field = e.field as ResourceField | undefined;
        if (!field || !(RESOURCE_FIELDS as readonly string[]).includes(field)) {
            problems.add("resourceOverrides", e.index, e.raw, `has no known field (${e.field ?? "none"})`, `'service:field=value' with field one of ${RESOURCE_FIELDS.join(", ")}`, fixCommand.setAt("resourceOverrides", e.index, `${e.service}:memoryMiB=${resources.get(e.service)?.memoryMiB ?? 512}`));
            continue;
        }
        const bounds = field === "cpus" ? CPUS : field === "memoryMiB" ? MEMORY_MIB : MEMORY_RESERVATION_MIB;
        const shape = field === "cpus" ? new RegExp(`^\\d{1,2}(\\.\\d{1,${CPUS.decimals}})?$`) : /^\d{1,7}$/;
        const n = Number(e.value);
        if (!shape.test(e.value) || n < bounds.min || n > bounds.max) {
            const what = field === "cpus" ? `cores from ${CPUS.min} to ${CPUS.max}, at most ${CPUS.decimals} decimals` : `whole MiB from ${bounds.min} to ${bounds.max}`;
            problems.add("resourceOverrides", e.index, e.raw, `sets ${field} to ${JSON.stringify(e.value)}, which is not ${what}`, what, fixCommand.setAt("resourceOverrides", e.index, `${e.service}:${field}=${profile?.resources[e.service][field] ?? bounds.min}`));
            continue;
        }
        if (field === "cpus" && cpusAsRead(n) === undefined) {
            // The provider reads NanoCpus back in a form that is not this value ("0.0", "10."): the
            // container would be replaced on every `pulumi up` (docs/provider-behaviour.md).
            problems.add("resourceOverrides", e.index, e.raw, `sets cpus to ${e.value}, which the docker provider reads back as another value, so every pulumi up would replace the container`, "a CPU count the provider reads back unchanged, e.g. 0.25, 1, 1.5, 9.5 (not 10, 20, ... nor 10.01-10.09, 20.01-20.09, ...)", fixCommand.setAt("resourceOverrides", e.index, `${e.service}:cpus=${(Math.round(n * 100) - 50) / 100}`));
            continue;
        }
        resourceIndex.set(`${e.service}:${field}`, e.index);
        const r = resources.get(e.service);
        if (r) resources.set(e.service, { ...r, [field]: n });
    }
    for (const [key, r] of resources) {
        if (disabled.has(key) || r.memoryReservationMiB <= r.memoryMiB) continue;
        const limitAt = resourceIndex.get(`${key}:memoryMiB`);
        const reservationAt = resourceIndex.get(`${key}:memoryReservationMiB`);
        const index = limitAt ?? reservationAt;
        const fix =
            limitAt !== undefined
                ? fixCommand.setAt("resourceOverrides", limitAt, `${key}:memoryMiB=${Math.min(Math.max(r.memoryReservationMiB * 2, MEMORY_MIB.min), MEMORY_MIB.max)}`)
                : fixCommand.setAt("resourceOverrides", reservationAt ?? 0, `${key}:memoryReservationMiB=${r.memoryMiB}`);
        problems.add("resourceOverrides", index, index === undefined ? undefined : (f.resourceOverrides ?? [])[index], `gives ${key} a memory limit of ${r.memoryMiB} MiB, below its reservation of ${r.memoryReservationMiB} MiB`, "memoryMiB >= memoryReservationMiB", fix);
    }
    return resources;
}

/** Each service's host port: the catalog's plus the profile's offset, or the stack's override; no two alike. */
function checkHostPorts({ problems, f, profile }: Checking, disabled: ReadonlyMap<ServiceKey, string>, enabled: readonly ServiceKey[]): Map<ServiceKey, number> {
    const hostPorts = new Map<ServiceKey, number>();
    if (profile) for (const key of SERVICE_KEYS) hostPorts.set(key, SERVICE_CATALOG[key].defaultHostPort + profile.hostPortOffset);
    const portIndex = new Map<ServiceKey, number>();
    const portEntries = entries(problems, "hostPorts", f.hostPorts ?? [], disabled);
    const freePort = (): number => {
        const used = new Set(enabled.map((k) => hostPorts.get(k)));
        let p = 20000;
        while (used.has(p)) p++;
        return p;
    };
    for (const e of portEntries) {
        const n = Number(e.value);
        if (!/^\d{1,5}$/.test(e.value) || n < PORT.min || n > PORT.max) {
            problems.add("hostPorts", e.index, e.raw, `sets a port outside ${PORT.min}-${PORT.max}`, `a whole number ${PORT.min}-${PORT.max}`, fixCommand.setAt("hostPorts", e.index, `${e.service}=${freePort()}`));
        } else {
            hostPorts.set(e.service, n);
            portIndex.set(e.service, e.index);
        }
    }
    const owner = new Map<number, ServiceKey>();
    for (const key of enabled) {
        if (!hostPorts.has(key)) continue;
        const port = hostPorts.get(key) as number;
        const first = owner.get(port);
        if (first === undefined) {
            owner.set(port, key);
            continue;
        }
        const culprit = portIndex.has(key) ? key : first;
        const index = portIndex.get(culprit);
        problems.add("hostPorts", index, index === undefined ? undefined : (f.hostPorts ?? [])[index], `puts ${first} and ${key} on the same host port ${port}`, "a distinct host port for each service", fixCommand.setAt("hostPorts", index ?? (f.hostPorts?.length ?? 0), `${culprit}=${freePort()}`));
    }
    return hostPorts;
}

interface LanAccess {
    readonly address: string;
    readonly reason: string;
}

/** homeiq:lanAccess: `service@address=reason`, one per deployed service, a real address and a reason. */
function checkLanAccess({ problems, f }: Checking, disabled: ReadonlyMap<ServiceKey, string>): Map<ServiceKey, LanAccess> {
    const out = new Map<ServiceKey, LanAccess>();
    const example = exampleEntry("lanAccess")!;
    (f.lanAccess ?? []).forEach((entry, index) => {
        const m = /^([a-z0-9-]+)@([^=\s]+)\s*=\s*(.*)$/.exec(entry);
        const add = (problem: string, allowed: string, fix: string): void => problems.add("lanAccess", index, entry, problem, allowed, fix);
        if (!m) return add("is not of the form service@address=reason", recordOf("lanAccess").allowed, fixCommand.setAt("lanAccess", index, example));
        const [, service, address, reason] = m;
        if (!isServiceKey(service)) return add(`names a service that does not exist: '${service}'`, `one of: ${SERVICE_KEYS.join(", ")}`, fixCommand.setAt("lanAccess", index, `influxdb@${address}=${reason}`));
        if (disabled.has(service)) return add(`publishes ${service}, which this stack disables (homeiq:disabledServices): it would be silently ignored`, "entries for deployed services only", fixCommand.rmAt("lanAccess", index));
        if (out.has(service)) return add(`publishes ${service} a second time; the last one would silently win`, "one entry per service", fixCommand.rmAt("lanAccess", index));
        const ip = ipAddress.safeParse(address.replace(/^\[(.*)\]$/, "$1"));
        if (!ip.success || ip.data.startsWith("127.") || ip.data === "::1") {
            return add(`has the address '${address}', which is not a LAN address of the Docker host`, "an IPv4 or IPv6 address of the Docker host on your LAN (0.0.0.0 for every interface), not a loopback one", fixCommand.setAt("lanAccess", index, `${service}@0.0.0.0=${reason || "why it is reachable"}`));
        }
        if (reason.trim().length === 0) return add(`publishes ${service} without a reason`, "'service@address=reason' with the reason it must be reachable", fixCommand.setAt("lanAccess", index, `${service}@${address}=<who reaches it, from where>`));
        out.set(service, { address: ip.data, reason: reason.trim() });
    });
    return out;
}

/**
 * A port published on every interface that the stack's policy pack would refuse at `pulumi preview`
 * (policy/config/<stack>.json, container-no-public-ports), refused here first; the fix keeps the user's
 * choice: the service given LAN access with a reason, which the pack allows for that service alone.
 */
function checkPublicPorts(
    { problems, f }: Checking,
    enabled: readonly ServiceKey[],
    hostPorts: ReadonlyMap<ServiceKey, number>,
    bind: (k: ServiceKey) => string,
    lan: ReadonlyMap<ServiceKey, LanAccess>,
    allowed: readonly number[],
    stack: string | undefined,
): void {
    const everyInterface = (ip: string): boolean => ip === "0.0.0.0" || ip === "::";
    for (const key of enabled) {
        const port = hostPorts.get(key);
        if (port === undefined || !everyInterface(bind(key)) || lan.has(key) || allowed.includes(port)) continue;
        const entry = (f.hostPorts ?? []).findIndex((e) => e.replace(/\s/g, "").startsWith(`${key}=`));
        problems.add(
            entry >= 0 ? "hostPorts" : "dashboardBindAddress",
            entry >= 0 ? entry : undefined,
            entry >= 0 ? (f.hostPorts ?? [])[entry] : f.dashboardBindAddress,
            `publishes ${key} on every interface on host port ${port}, which the policy pack would refuse at preview: policy/config/${stack ?? "<stack>"}.json allows ${allowed.length > 0 ? allowed.join(", ") : "no port"} there`,
            `a host port the pack allows on every interface (${allowed.join(", ") || "none"}), or the service published on purpose with homeiq:lanAccess (the pack allows it for that service alone)`,
            fixCommand.setAt("lanAccess", (f.lanAccess ?? []).length, `${key}@${bind(key)}=<who reaches it, from where>`),
        );
    }
}

/** CORS: one origin per entry, as browsers send it, against the profile. */
function checkCorsOrigins({ problems, f, profile }: Checking): void {
    const corsSeen = new Set<string>();
    const freeOrigin = (): string => {
        let n = 3000;
        while ((f.corsOrigins ?? []).includes(`http://homeiq.lan:${n}`)) n++;
        return `http://homeiq.lan:${n}`;
    };
    const list = f.corsOrigins ?? [];
    let appended = 0;
    list.forEach((origin, index) => {
        const problem = corsProblem(origin, profile, f.profile);
        // Several origins joined by commas: the fix keeps them, one per entry (the first in place, the others appended).
        const parts = origin.split(",").map((o) => o.trim()).filter((o) => o.length > 0);
        const split = problem !== undefined && parts.length > 1 && parts.every((o) => corsProblem(o, profile, f.profile) === undefined);
        if (problem && split) {
            const fix = [fixCommand.setAt("corsOrigins", index, parts[0]), ...parts.slice(1).map((o) => fixCommand.setAt("corsOrigins", list.length + appended++, o))].join(" && ");
            problems.add("corsOrigins", index, origin, problem, recordOf("corsOrigins").allowed, fix);
        } else if (problem) {
            problems.add("corsOrigins", index, origin, problem, recordOf("corsOrigins").allowed, fixCommand.setAt("corsOrigins", index, freeOrigin()));
        } else if (corsSeen.has(origin)) {
            problems.add("corsOrigins", index, origin, "lists the same origin a second time", "each origin once", fixCommand.rmAt("corsOrigins", index));
        }
        corsSeen.add(origin);
    });
}

/**
 * A deployed service whose code exits at start without some keys (the catalog's requiredConfig): one
 * problem per service, naming the first missing key, the service, and both ways out.
 */
function checkRequiredConfig({ problems, f, raw }: Checking, enabled: readonly ServiceKey[], isSet: (key: ConfigKey) => boolean): void {
    const disableAt = (f.disabledServices ?? []).length;
    for (const key of enabled) {
        const required = SERVICE_CATALOG[key].requiredConfig;
        if (!required) continue;
        const missing = (required.keys as readonly ConfigKey[]).filter((k) => !isSet(k));
        if (missing.length === 0) continue;
        const names = missing.map((k) => `homeiq:${k}`).join(", ");
        const disable = fixCommand.setAt("disabledServices", disableAt, `${key}=not configured: needs ${names}`);
        problems.add(
            missing[0],
            undefined,
            raw[missing[0]],
            `${key} cannot start without ${names}: ${required.reason}; it would restart forever and \`pulumi up\` would fail waiting for it`,
            `${names} set, or ${key} disabled (${disable})`,
            missing.map((k) => (isSecretKey(k) ? fixCommand.setSecret(k) : fixCommand.set(k, `<your ${k}>`))).join(" && "),
        );
    }
}

/** Values no deployed service would read. */
function checkUnreadKeys({ problems, raw }: Checking, enabled: readonly ServiceKey[], isSet: (key: ConfigKey) => boolean): void {
    for (const key of CONFIG_KEY_NAMES.filter((k) => recordOf(k).readers !== undefined)) {
        if (!isSet(key) || enabled.some((s) => readBy(key, SERVICE_CATALOG[s]))) continue;
        const readers = SERVICE_KEYS.filter((s) => readBy(key, SERVICE_CATALOG[s]));
        problems.add(key, undefined, raw[key], `is set, but only ${readers.join(", ")} read${readers.length === 1 ? "s" : ""} it and this stack disables ${readers.length === 1 ? "it" : "them"}: it would be silently ignored`, "keys of deployed services only", fixCommand.rm(key));
    }
}

/** Validation checks the published URLs from this machine: a port bound to loopback on a remote engine is out of its reach. */
function checkValidationReach({ problems, f, raw, profile }: Checking, enabled: readonly ServiceKey[], bind: (k: ServiceKey) => string): void {
    const remote = f.dockerHost !== undefined && !f.dockerHost.startsWith("unix://") && !/^[a-z]+:\/\/(?:[^@/]*@)?(localhost|127\.0\.0\.1|\[::1\])(?::\d+)?$/.test(f.dockerHost);
    const loopback = (ip: string): boolean => ip.startsWith("127.") || ip === "::1";
    const unreachable = profile ? enabled.filter((k) => loopback(bind(k))) : [];
    if (remote && f.postDeployValidation === true && unreachable.length > 0) {
        problems.add("postDeployValidation", undefined, raw.postDeployValidation, `would check ${unreachable.join(", ")} on loopback addresses of this machine, while homeiq:dockerHost runs them on another host: the checks would fail, or reach something else`, "false for a remote Docker host whose ports are bound to 127.0.0.1", fixCommand.set("postDeployValidation", "false"));
    }

}

/** A restore or a backup request needs something stateful to work on. */
function checkSomethingStateful({ problems, f, raw }: Checking, enabled: readonly ServiceKey[]): void {
    const stateful = enabled.filter((k) => SERVICE_CATALOG[k].stateful);
    if (stateful.length > 0) return;
    const all = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].stateful);
    const named = `(${all.join(", ")})`;
    const either = all.length > 1 ? `${all.slice(0, -1).join(", ")} or ${all[all.length - 1]}` : all.join("");
    if (f.restoreFrom !== undefined) problems.add("restoreFrom", undefined, raw.restoreFrom, `names a backup, but this stack deploys no stateful service ${named} to restore it into`, `a restore for a stack that deploys ${either}`, fixCommand.rm("restoreFrom"));
    if ((f.backupRequest ?? 0) > 0) problems.add("backupRequest", undefined, raw.backupRequest, `asks for a backup, but this stack deploys no stateful service ${named} to back up`, `a backup request for a stack that deploys ${either}`, fixCommand.rm("backupRequest"));
}

/**
 * The swarm target's keys: each homeiq:swarmNodes entry parses, names each node once, and together they
 * give at least one node of each role; nodes set for the host target would be silently ignored.
 */
function checkSwarm({ problems, f }: Checking): void {
    const nodes = f.swarmNodes ?? [];
    if (f.target !== "swarm") {
        if (nodes.length > 0) problems.add("swarmNodes", undefined, nodes, "names swarm nodes, but homeiq:target is host: they would be silently ignored", "nodes only with target=swarm", fixCommand.rm("swarmNodes"));
        return;
    }
    const seen = new Set<string>();
    const roles = new Set<string>();
    nodes.forEach((entry, index) => {
        const node = parseSwarmNode(entry);
        if ("problem" in node) {
            problems.add("swarmNodes", index, entry, node.problem, recordOf("swarmNodes").allowed, fixCommand.setAt("swarmNodes", index, `node${index + 1}=apps`));
            return;
        }
        if (seen.has(node.hostname)) {
            problems.add("swarmNodes", index, entry, `names ${node.hostname} a second time`, "each node once, with all its roles (nas=data+apps)", fixCommand.rmAt("swarmNodes", index));
        }
        seen.add(node.hostname);
        node.roles.forEach((r) => roles.add(r));
    });
    for (const role of SWARM_NODE_ROLES) {
        if (roles.has(role)) continue;
        const what = role === "data" ? "InfluxDB and the SQLite services" : "the other services and the dashboard";
        problems.add("swarmNodes", undefined, nodes, `has no node with the role ${role} (${what} run there)`, recordOf("swarmNodes").allowed, fixCommand.setAt("swarmNodes", nodes.length, `node${nodes.length + 1}=${role}`));
    }
}

/** The validated config: every key's normal form, each service's settings with the profile's defaults filled in. */
function validatedConfig(
    values: Fields,
    profile: StackProfile,
    images: ImageSettings,
    placeholderTokenAccepted: boolean,
    disabled: ReadonlyMap<ServiceKey, string>,
    resources: ReadonlyMap<ServiceKey, ServiceResources>,
    hostPorts: ReadonlyMap<ServiceKey, number>,
    bind: (k: ServiceKey) => string,
    lan: ReadonlyMap<ServiceKey, LanAccess>,
): StackConfig {
    const services = Object.fromEntries(
        SERVICE_KEYS.map((key): [ServiceKey, ResolvedService] => [
            key,
            {
                key,
                enabled: !disabled.has(key),
                disabledReason: disabled.get(key),
                hostPort: hostPorts.get(key) as number,
                bindAddress: bind(key),
                ...(lan.has(key) ? { lanAccess: { reason: lan.get(key)!.reason } } : {}),
                resources: resources.get(key) as ServiceResources,
            },
        ]),
    ) as Record<ServiceKey, ResolvedService>;
    const secrets: Partial<Record<SecretKey, string>> = {};
    for (const k of SECRET_CONFIG_KEYS) {
        const v = values[k];
        if (typeof v === "string" && v.length > 0) secrets[k] = v;
    }
    return {
        values,
        profile,
        images,
        services,
        corsOrigins: values.corsOrigins.length > 0 ? values.corsOrigins : profile.cors.origins,
        secrets,
        warnings: [...(placeholderTokenAccepted ? [PLACEHOLDER_TOKEN_WARNING] : []), ...scheduleWarnings(values)],
    };
}

/** Whether the Docker engine is on the machine that runs Pulumi (where the schedule's crontab lives). */
export const isLocalDockerHost = (dockerHost: string | undefined): boolean => dockerHost === undefined || dockerHost === "" || dockerHost.startsWith("unix://");

/** A schedule asked for where none can run: said on every run (the plan sets none up). */
function scheduleWarnings(values: Fields): string[] {
    if (isLocalDockerHost(values.dockerHost)) return [];
    // On swarm homeiq:dockerHost is the manager: the jobs run there and reach the data node's engine.
    const engine = values.target === "swarm" ? "the swarm manager (homeiq:dockerHost)" : "the Docker engine";
    const host = values.target === "swarm" ? "the swarm manager" : "the Docker host";
    const remote = `${engine} is remote (${values.dockerHost?.split("://")[0]}://...), and scheduled jobs run from the crontab of the machine that runs pulumi`;
    return [
        ...(values.backupSchedule === "off" && values.backupDrillSchedule === "off"
            ? []
            : [
                  `homeiq:backupSchedule and homeiq:backupDrillSchedule: ${remote}, ` +
                      `so no scheduled backup, copy or drill is set up: run pulumi on ${host}, or set both keys to off to silence this`,
              ]),
        ...(values.watchEveryMinutes === 0
            ? []
            : [`homeiq:watchEveryMinutes: ${remote}, so no watch is set up: run pulumi on ${host}, or set it to 0 to silence this`]),
    ];
}

/** The off-host copy needs its passphrase, and a passphrase without a repository would be silently ignored. */
function checkBackupCopy({ problems, f, raw }: Checking): void {
    if (f.backupCopyRepository !== undefined && f.backupCopyPassphrase === undefined) {
        problems.add("backupCopyPassphrase", undefined, undefined, "is required when backupCopyRepository is set (restic encrypts the copies with it)", recordOf("backupCopyPassphrase").allowed, fixCommand.setSecret("backupCopyPassphrase"));
    }
    if (f.backupCopyPassphrase !== undefined && f.backupCopyRepository === undefined) {
        problems.add("backupCopyPassphrase", undefined, raw.backupCopyPassphrase, "is set, but backupCopyRepository is not: it would be silently ignored", "set it together with backupCopyRepository", fixCommand.rm("backupCopyPassphrase"));
    }
}

const PLACEHOLDER_TOKEN_WARNING =
    "homeiq:influxdbAdminToken is an old placeholder credential, carried over from the compose files and accepted only because " +
    "homeiq:acceptPlaceholderInfluxdbToken is true. Anyone who knows those files can use InfluxDB with it. Rotate it " +
    "(docs/migration.md, 'A placeholder token': rotate the carried token) and remove that key.";

/** A value as Pulumi passes it: "7" and 7 alike, an array as JSON text or as an array. */
function comparable(value: unknown): string {
    if (Array.isArray(value)) return JSON.stringify(value);
    if (typeof value === "string" && value.startsWith("[")) {
        try {
            return JSON.stringify(JSON.parse(value));
        } catch {
            return value;
        }
    }
    return String(value);
}

const RE_ORIGIN = new RegExp(`^(https?)://(${HOSTNAME}|${IPV6_BRACKETED})(?::(\\d{1,5}))?$`, "i");

/** What is wrong with one corsOrigins entry, if anything. */
function corsProblem(origin: string, profile: StackProfile | undefined, profileName: string | undefined): string | undefined {
    if (origin === "*") return profile && !profile.cors.allowWildcard ? `allows every origin ('*'), which the ${profileName} profile forbids` : undefined;
    if (origin.includes(",")) return "holds a comma: the services receive the list comma-joined, so one entry would smuggle in several origins; give one origin per entry";
    const m = RE_ORIGIN.exec(origin);
    if (!m) return "is not an origin";
    if (origin !== origin.toLowerCase()) return "has capital letters: browsers send origins in lower case, so this one would never match";
    if ((m[1] === "http" && m[3] === "80") || (m[1] === "https" && m[3] === "443")) return `names the default port ${m[3]}, which browsers leave out of the Origin header: it would never match`;
    return withPort(m[3]);
}

/** imageSource=registry: one pinned reference for each built service; influxdbImage pinned too. */
function registryImages(problems: Problems, list: readonly string[], influxdbImage: string): ImageSettings | undefined {
    const references: Partial<Record<ServiceKey, string>> = {};
    let ok = true;
    const pinFix = (index: number, service: ServiceKey, repository: string): string =>
        fixCommand.setAtWord("imageReferences", index, `"${service}=$(docker image inspect --format '{{index .RepoDigests 0}}' ${shellQuote(`${repository}:latest`)})"`);
    const parsed = entries(problems, "imageReferences", list);
    if (parsed.length < list.length) ok = false;
    for (const e of parsed) {
        const ref = parseImageReference(e.value);
        if (SERVICE_CATALOG[e.service].image.kind === "stock") {
            // A stock image (InfluxDB's) is pinned by its own key.
            problems.add("imageReferences", e.index, e.raw, `sets ${e.service} here; ${e.service}'s image is its own key (homeiq:influxdbImage)`, `the ${BUILT_SERVICES.length} built services`, fixCommand.rmAt("imageReferences", e.index));
            ok = false;
        } else if (!ref?.digest) {
            problems.add("imageReferences", e.index, e.raw, ref ? "is not pinned by digest" : "is not an image reference Docker accepts", "repository@sha256:<64 lowercase hex digits>, repository in lower case", pinFix(e.index, e.service, ref?.name ?? `registry.example/homeiq/${e.service}`));
            ok = false;
        } else {
            references[e.service] = e.value;
        }
    }
    const missing = BUILT_SERVICES.filter((s) => references[s] === undefined && !parsed.some((e) => e.service === s));
    if (missing.length > 0) {
        // The registry of the references given, if any, else an example.
        const known = Object.values(references)[0];
        const prefix = known ? parseImageReference(known)!.name.replace(/\/[^/]*$/, "") : "registry.example/homeiq";
        problems.add("imageReferences", undefined, list, `has no image for: ${missing.join(", ")}`, recordOf("imageReferences").allowed, pinFix(list.length, missing[0], `${prefix}/${missing[0]}`));
        ok = false;
    }
    if (!parseImageReference(influxdbImage)?.digest) {
        problems.add("influxdbImage", undefined, influxdbImage, "is not pinned by digest (imageSource is registry)", "influxdb:2.7@sha256:<64 hex digits>", `pulumi config set homeiq:influxdbImage "$(docker image inspect --format '{{index .RepoDigests 0}}' influxdb:2.7)"`);
        ok = false;
    }
    return ok ? { source: "registry", references, influxdbImage } : undefined;
}

// ---- each key on its own ------------------------------------------------------------------------

/**
 * What the user most plausibly meant by a value that fails as a whole, when it can be told: the value
 * trimmed, `yes`/`no` as true/false, `30d` as 30, lower case; only a reading that passes the schema.
 */
function intendedValue(key: ConfigKey, raw: unknown): string | undefined {
    if (typeof raw !== "string" || raw.trim() === "") return undefined;
    const v = raw.trim();
    const word = v.toLowerCase();
    const candidates = [
        v,
        /^(yes|y|on|enabled?|1)$/.test(word) ? "true" : /^(no|n|off|disabled?|0)$/.test(word) ? "false" : undefined,
        /^\d+\s*[a-z]+$/.test(word) ? word.replace(/\D+$/, "").trim() : undefined,
        word,
    ];
    return candidates.find((c): c is string => c !== undefined && c !== raw && recordOf(key).schema.safeParse(c).success);
}

/** A list given as one comma-separated string, as its entries. */
function intendedList(key: ConfigKey, raw: unknown): string[] | undefined {
    if (typeof raw !== "string" || !raw.includes(",") || raw.trim().startsWith("[")) return undefined;
    const entries = raw.split(",").map((e) => e.trim()).filter((e) => e.length > 0);
    return entries.length > 0 && recordOf(key).schema.safeParse(JSON.stringify(entries)).success ? entries : undefined;
}

/** The fix for a key whose value is wrong as a whole: what the user meant when that can be told, else the default or an example. */
function wholeValueFix(key: ConfigKey, raw: unknown): string {
    const record = recordOf(key);
    if (record.fix !== undefined) return record.fix;
    if (isSecretKey(key)) return fixCommand.setSecret(key);
    if (record.type === "array") {
        const list = intendedList(key, raw);
        return list ? [fixCommand.rm(key), ...list.map((e, i) => fixCommand.setAt(key, i, e))].join(" && ") : fixCommand.rm(key);
    }
    const meant = intendedValue(key, raw);
    if (meant !== undefined) return fixCommand.set(key, meant);
    const fallback = record.default !== undefined && record.default !== "" ? String(record.default) : exampleEntry(key);
    return fixCommand.set(key, fallback ?? "");
}

export function parseFields(raw: Readonly<Record<string, unknown>>, problems: Problems): Partial<Fields> {
    const parsed: Partial<Fields> = {};
    for (const key of CONFIG_KEY_NAMES) {
        const result = recordOf(key).schema.safeParse(raw[key]);
        if (result.success) {
            (parsed as Record<string, unknown>)[key] = result.data;
            continue;
        }
        // zod still runs length checks on a value of the wrong type: the type is the one problem then.
        const wrongType = result.error.issues.find((i) => i.code === "invalid_type" && i.path.length === 0);
        for (const issue of wrongType ? [wrongType] : result.error.issues) {
            const index = typeof issue.path[0] === "number" ? issue.path[0] : undefined;
            const value = index === undefined ? raw[key] : asList(raw[key])[index];
            const message = raw[key] === undefined && issue.code === "invalid_type" ? "is required but not set" : issue.message;
            const fix =
                index !== undefined
                    ? fixCommand.rmAt(key, index)
                    : issue.code === "too_big" && recordOf(key).type === "array"
                      ? fixCommand.rmAt(key, asList(raw[key]).length - 1)
                      : wholeValueFix(key, raw[key]);
            problems.add(key, index, value, message, recordOf(key).allowed, fix);
        }
    }
    return parsed;
}

export function asList(value: unknown): unknown[] {
    if (Array.isArray(value)) return value;
    try {
        const parsed: unknown = typeof value === "string" ? JSON.parse(value) : undefined;
        return Array.isArray(parsed) ? parsed : [];
    } catch {
        return [];
    }
}
