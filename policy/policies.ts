/**
 * The homeiq-security policies, as data and functions.
 *
 * This module never constructs a `PolicyPack` (doing so starts the analyzer's gRPC server), so it can
 * be imported by tests and by `evaluatePolicies`, which runs the very same `validateResource`
 * functions against plain resource inputs (for example the offline synth's output). `index.ts`
 * hands the same `policies` array to the `PolicyPack`.
 *
 * The policies encode a security checklist for HomeIQ's containers and the defects of its old compose
 * files (docs/homeiq.md at the repository's root): every main-compose port bound on all interfaces, root
 * containers, no-new-privileges only in the old prod file, placeholder credentials as defaults, the
 * Docker socket mounted into admin-api, no resource limits on CPU.
 */
import type {
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPackConfig,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
} from "@pulumi/policy";
import { PLACEHOLDER_CREDENTIALS, PLACEHOLDER_PATTERN } from "../catalog/placeholderCredentials";
import { POLICY_EXCEPTIONS, exceptionsFor } from "./exceptions";

// ---------------------------------------------------------------------------------------------
// Names and constants
// ---------------------------------------------------------------------------------------------

/** The pack's name, as given to `new PolicyPack(...)` in index.ts. */
export const PACK_NAME = "homeiq-security";

/** Every policy is mandatory unless the pack config (e.g. policy/config/dev.json) says otherwise. */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

export const CONTAINER_TYPE = "docker:index/container:Container";
export const VOLUME_TYPE = "docker:index/volume:Volume";
/** A swarm service (homeiq:target swarm): each container policy applies to the container its tasks run. */
export const SERVICE_TYPE = "docker:index/service:Service";
/**
 * Label of a swarm service's tasks saying that no-new-privileges comes from the nodes' daemons, which the
 * program's swarm preflight requires (swarm services cannot ask for it: docs/provider-behaviour.md, Swarm).
 */
export const NODE_NO_NEW_PRIVILEGES_LABEL = "com.homeiq.no-new-privileges";

/** Label carrying the catalog key of the service a container runs; exceptions are keyed on it. */
export const SERVICE_LABEL = "com.homeiq.service";
/**
 * Label carrying a container's PIDs limit (on swarm, a service task's). @pulumi/docker 5.x has no input for
 * HostConfig.PidsLimit nor for a service's Resources.Limits.Pids, so the program declares the limit here and
 * applies it after create (components/pidsLimits.ts; on swarm after each create or update, components/swarmLimits.ts).
 */
export const PIDS_LIMIT_LABEL = "com.homeiq.pids-limit";
/** Label that marks a Docker volume as holding data that must survive `pulumi destroy`. */
export const DATA_LABEL = "com.homeiq.data";
/** homeiq:lanAccess: the reason a container's port is published on the LAN on purpose (plan/naming.ts LABEL_LAN_ACCESS). */
export const LAN_ACCESS_LABEL = "com.homeiq.lan-access";

export const POLICY_NAMES = [
    "container-non-root-user",
    "container-no-new-privileges",
    "container-capabilities-restricted",
    "container-not-privileged",
    "container-resource-limits",
    "container-pids-limit",
    "container-healthcheck",
    "container-log-rotation",
    "container-restart-policy",
    "container-no-public-ports",
    "container-docker-host-paths",
    "container-no-placeholder-credentials",
    "data-volume-retained",
] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

// The old placeholder credentials: one list, shared with the program's config schema.
export { PLACEHOLDER_CREDENTIALS };

/** Restart policies that bring a container back after a crash or a host reboot. */
export const ACCEPTED_RESTART_POLICIES: readonly string[] = ["unless-stopped", "always", "on-failure"];
/** Log drivers whose rotation is controlled by `max-size` and `max-file`. */
export const ROTATING_LOG_DRIVERS: readonly string[] = ["json-file", "local"];
/** Where the program keeps each fix (named in the messages). */
const CATALOG = "catalog/services.ts";
const PROFILE = "the stack profile (stacks/<profile>.ts, chosen by homeiq:profile)";

/** Host paths whose bind mount hands a container the Docker daemon or other containers' files. */
export const DOCKER_HOST_PATHS: readonly string[] = ["/var/run/docker.sock", "/run/docker.sock", "/var/lib/docker"];

// ---------------------------------------------------------------------------------------------
// Pack configuration
// ---------------------------------------------------------------------------------------------

/** Settings of `container-no-public-ports`. */
export interface PublicPortsConfig {
    /** External (host) ports that may be published on every interface (0.0.0.0 / ::). @default [] */
    readonly allowedPublicPorts?: readonly number[];
}
/** Settings of `container-capabilities-restricted`. */
export interface CapabilitiesConfig {
    /** Capabilities any container may add, on top of the per-service exceptions. @default [] */
    readonly allowedCapabilities?: readonly string[];
}
/** Settings of `container-docker-host-paths`. */
export interface DockerHostPathsConfig {
    /**
     * Services (com.homeiq.service values) that may mount any Docker host path read-only, on top of
     * the per-path exceptions in exceptions.ts. @default []
     */
    readonly dockerSocketServices?: readonly string[];
}

/** The pack config as given to `pulumi preview --policy-pack-config <file>`. */
export type PackConfig = PolicyPackConfig;

// ---------------------------------------------------------------------------------------------
// Reading resource inputs
// ---------------------------------------------------------------------------------------------

/** The engine throws this class (from @pulumi/policy's proxy) when a policy reads a value unknown during preview. */
function isUnknownValueError(e: unknown): boolean {
    return e instanceof Error && e.constructor.name === "UnknownValueError";
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
    return typeof value === "object" && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;
}

function asArray(value: unknown): unknown[] {
    return Array.isArray(value) ? value : [];
}

function asString(value: unknown): string | undefined {
    return typeof value === "string" ? value : undefined;
}

function asNumber(value: unknown): number | undefined {
    if (typeof value === "number" && Number.isFinite(value)) {
        return value;
    }
    if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) {
        return Number(value);
    }
    return undefined;
}

/** Docker labels as `{label, value}` pairs (docker provider) or, defensively, a plain map. */
function labelValue(labels: unknown, key: string): string | undefined {
    if (Array.isArray(labels)) {
        for (const l of labels) {
            const rec = asRecord(l);
            if (rec && rec.label === key) {
                return asString(rec.value);
            }
        }
        return undefined;
    }
    const map = asRecord(labels);
    return map ? asString(map[key]) : undefined;
}

/** What every container message starts from: which container, which service. */
interface ContainerView {
    readonly props: Record<string, unknown>;
    /** The container's `name` input (the real Docker name), or the Pulumi resource name when unset. */
    readonly containerName: string;
    /** The `com.homeiq.service` label, when present. */
    readonly service: string | undefined;
}

function viewContainer(args: ResourceValidationArgs): ContainerView {
    const props = args.props;
    return {
        props,
        containerName: asString(props.name) ?? args.name,
        service: labelValue(props.labels, SERVICE_LABEL),
    };
}

/** `container "prod-admin-api" (com.homeiq.service=admin-api)`. */
function describeContainer(c: ContainerView): string {
    const service = c.service === undefined ? `no ${SERVICE_LABEL} label` : `${SERVICE_LABEL}=${c.service}`;
    return `container "${c.containerName}" (${service})`;
}

/** The service's name for use in a fix hint. */
function serviceRef(c: ContainerView): string {
    return c.service === undefined ? "this service" : `"${c.service}"`;
}

function normalizeCapability(cap: string): string {
    const upper = cap.trim().toUpperCase();
    return upper.startsWith("CAP_") ? upper.slice(4) : upper;
}

/** Collapse duplicate and trailing slashes so `/var/run//docker.sock/` compares equal to `/var/run/docker.sock`. */
function normalizePath(p: string): string {
    const collapsed = p.trim().replace(/\/+/g, "/");
    return collapsed.length > 1 ? collapsed.replace(/\/$/, "") : collapsed;
}

/** True if `path` is `base` or lies below it. */
function isAtOrBelow(path: string, base: string): boolean {
    return path === base || path.startsWith(base === "/" ? "/" : `${base}/`);
}

/**
 * True if mounting host `path` exposes a Docker host path: the path itself, anything below it, or
 * a parent directory that contains it (mounting /var/run hands over the socket just the same).
 */
function exposesDockerHostPath(path: string): boolean {
    return DOCKER_HOST_PATHS.some((d) => isAtOrBelow(path, d) || isAtOrBelow(d, path));
}

/** The Docker socket itself, or a folder that holds it (mounting /var/run hands over the socket just the same). */
export const DOCKER_SOCKETS: readonly string[] = ["/var/run/docker.sock", "/run/docker.sock"];
function exposesDockerSocket(path: string): boolean {
    return DOCKER_SOCKETS.some((d) => isAtOrBelow(path, d) || isAtOrBelow(d, path));
}

/** A host bind mount in either of the docker provider's forms (`volumes` or `mounts`). */
interface HostMount {
    readonly hostPath: string;
    readonly containerPath: string;
    readonly readOnly: boolean;
    readonly via: "volumes" | "mounts";
}

function hostMounts(props: Record<string, unknown>): HostMount[] {
    const result: HostMount[] = [];
    for (const v of asArray(props.volumes)) {
        const rec = asRecord(v);
        const hostPath = rec && asString(rec.hostPath);
        if (rec && hostPath) {
            result.push({
                hostPath: normalizePath(hostPath),
                containerPath: asString(rec.containerPath) ?? hostPath,
                readOnly: rec.readOnly === true,
                via: "volumes",
            });
        }
    }
    for (const m of asArray(props.mounts)) {
        const rec = asRecord(m);
        const source = rec && asString(rec.source);
        if (rec && source && (rec.type === "bind" || source.startsWith("/"))) {
            result.push({
                hostPath: normalizePath(source),
                containerPath: asString(rec.target) ?? source,
                readOnly: rec.readOnly === true,
                via: "mounts",
            });
        }
    }
    return result;
}

/** True if the `user` input runs the container as root (uid 0 or the name root, with any group). */
export function isRootUser(user: string | undefined): boolean {
    if (user === undefined || user.trim() === "") {
        return true; // unset: the image's USER applies, which is root for data-api, sports-data, nginx, influxdb
    }
    const uid = user.trim().split(":")[0]?.trim() ?? "";
    return uid === "" || uid === "root" || /^0+$/.test(uid);
}

/** True if a `securityOpts` entry turns no-new-privileges on. */
export function isNoNewPrivileges(opt: string): boolean {
    const o = opt.trim().toLowerCase();
    return o === "no-new-privileges" || o === "no-new-privileges=true" || o === "no-new-privileges:true";
}

/** The placeholder a value equals, if any. `[secret]` (the synth's stand-in for secrets) is never one. */
export function placeholderIn(value: string): string | undefined {
    const v = value.trim();
    const known = PLACEHOLDER_CREDENTIALS.find((p) => p === v.toLowerCase());
    if (known !== undefined) {
        return known;
    }
    return PLACEHOLDER_PATTERN.test(v) ? v : undefined;
}

// ---------------------------------------------------------------------------------------------
// Policy helpers
// ---------------------------------------------------------------------------------------------

/** A validation that applies only to docker containers; every other resource is "not applicable". */
function forContainers(
    check: (c: ContainerView, args: ResourceValidationArgs, report: ReportViolation) => void,
): ResourceValidation {
    return (args, report) => {
        if (args.type === SERVICE_TYPE) {
            check(viewContainer({ ...args, props: serviceAsContainer(args.props) }), args, report);
            return;
        }
        if (args.type !== CONTAINER_TYPE) {
            args.notApplicable(`applies only to ${CONTAINER_TYPE} and ${SERVICE_TYPE}`);
        }
        check(viewContainer(args), args, report);
    };
}

/** Swarm's restart conditions in the container's words. */
const SWARM_RESTART: Readonly<Record<string, string>> = { any: "always", "on-failure": "on-failure", none: "no" };

/**
 * A docker.Service's inputs as the inputs of the container each of its tasks runs, so every container
 * policy checks a service as it checks a container: its task's user, capabilities, limits (bytes and
 * nano-CPUs as MiB and CPUs), health check, log driver, restart condition, bind mounts, environment and
 * labels. A published port binds every interface on swarm (no host IP exists), so it counts as public.
 * no-new-privileges counts only where the service declares that its nodes' daemons enforce it.
 */
export function serviceAsContainer(props: Record<string, unknown>): Record<string, unknown> {
    const task = asRecord(props.taskSpec) ?? {};
    const spec = asRecord(task.containerSpec) ?? {};
    const limits = asRecord(asRecord(task.resources)?.limits) ?? {};
    const memoryBytes = asNumber(limits.memoryBytes);
    const nanoCpus = asNumber(limits.nanoCpus);
    const log = asRecord(task.logDriver);
    const condition = asString(asRecord(task.restartPolicy)?.condition);
    const env = asRecord(spec.env) ?? {};
    const labels = spec.labels;
    return {
        name: props.name,
        labels,
        user: spec.user,
        securityOpts: labelValue(labels, NODE_NO_NEW_PRIVILEGES_LABEL) === "node-daemon" ? ["no-new-privileges=true"] : [],
        capabilities: { drops: asArray(spec.capDrops), adds: asArray(spec.capAdds) },
        memory: memoryBytes === undefined ? undefined : memoryBytes / (1024 * 1024),
        cpus: nanoCpus === undefined ? undefined : nanoCpus / 1e9,
        healthcheck: spec.healthcheck,
        logDriver: log?.name,
        logOpts: log?.options,
        restart: condition === undefined ? undefined : (SWARM_RESTART[condition] ?? condition),
        ports: asArray(asRecord(props.endpointSpec)?.ports).map((p) => ({ internal: asRecord(p)?.targetPort, external: asRecord(p)?.publishedPort, ip: "" })),
        mounts: asArray(spec.mounts),
        envs: Object.entries(env).map(([k, v]) => `${k}=${String(v)}`),
    };
}

function stringList(schemaItems: "string" | "integer", description: string, extra: object = {}) {
    return { type: "array" as const, items: { type: schemaItems, ...extra }, uniqueItems: true, default: [], description };
}

const PORTS_SCHEMA: PolicyConfigSchema = {
    properties: {
        allowedPublicPorts: stringList(
            "integer",
            "External (host) ports that may be published on every interface (0.0.0.0 or ::), e.g. the dashboard's.",
            { minimum: 1, maximum: 65535 },
        ),
    },
};
const CAPABILITIES_SCHEMA: PolicyConfigSchema = {
    properties: {
        allowedCapabilities: stringList(
            "string",
            "Linux capabilities (without CAP_) any container may add, on top of the exceptions in policy/exceptions.ts.",
            { pattern: "^[A-Za-z_]+$" },
        ),
    },
};
const DOCKER_PATHS_SCHEMA: PolicyConfigSchema = {
    properties: {
        dockerSocketServices: stringList(
            "string",
            "Services (com.homeiq.service values) that may mount Docker host paths read-only, on top of the exceptions in policy/exceptions.ts.",
        ),
    },
};

// ---------------------------------------------------------------------------------------------
// The policies
// ---------------------------------------------------------------------------------------------

const nonRootUser: ResourceValidationPolicy = {
    name: "container-non-root-user",
    description: "Containers run as a non-root user (the `user` input is set and is not root, 0 or 0:0) unless excepted.",
    severity: "high",
    validateResource: forContainers((c, _args, report) => {
        const user = asString(c.props.user);
        if (!isRootUser(user)) {
            return;
        }
        if (exceptionsFor("container-non-root-user", c.service).length > 0) {
            return;
        }
        const what = user === undefined || user.trim() === "" ? "has no `user`, so it runs as its image's default user (root for data-api, sports-data and nginx)" : `runs as root (user "${user}")`;
        report(
            `${describeContainer(c)} ${what}. Fix: give ${serviceRef(c)} a non-root security.nonRootUser (e.g. "1001:1001", the ` +
                `appuser of the HomeIQ images) in its catalog entry (${CATALOG}) and turn on hardening.runAsNonRoot in ${PROFILE}; if its image ` +
                `cannot run unprivileged, add { policy: "container-non-root-user", service, reason } to policy/exceptions.ts.`,
        );
    }),
};

const noNewPrivileges: ResourceValidationPolicy = {
    name: "container-no-new-privileges",
    description: "Containers set `securityOpts` no-new-privileges=true, so no process can gain privileges through setuid binaries.",
    severity: "high",
    validateResource: forContainers((c, _args, report) => {
        const opts = asArray(c.props.securityOpts).map(asString).filter((o): o is string => o !== undefined);
        if (opts.some(isNoNewPrivileges)) {
            return;
        }
        report(
            `${describeContainer(c)} does not set no-new-privileges (securityOpts: ${JSON.stringify(opts)}). Fix: set ` +
                `hardening.noNewPrivileges: true in ${PROFILE}, which gives the container securityOpts ["no-new-privileges=true"].`,
        );
    }),
};

const capabilitiesRestricted: ResourceValidationPolicy = {
    name: "container-capabilities-restricted",
    description:
        "Containers drop ALL Linux capabilities and add back only those on the allow-list (pack config allowedCapabilities plus policy/exceptions.ts).",
    severity: "high",
    configSchema: CAPABILITIES_SCHEMA,
    validateResource: forContainers((c, args, report) => {
        const caps = asRecord(c.props.capabilities);
        const drops = asArray(caps?.drops).map(asString).filter((d): d is string => d !== undefined).map(normalizeCapability);
        const adds = asArray(caps?.adds).map(asString).filter((a): a is string => a !== undefined).map(normalizeCapability);
        if (!drops.includes("ALL")) {
            report(
                `${describeContainer(c)} does not drop all capabilities (capabilities.drops: ${JSON.stringify(drops)}). ` +
                    `Fix: set hardening.dropAllCapabilities: true in ${PROFILE}, which gives the container ` +
                    `capabilities.drops ["ALL"] plus the catalog's capabilityAdditions for ${serviceRef(c)}.`,
            );
        }
        const config = args.getConfig<CapabilitiesConfig>();
        const allowed = new Set<string>((config.allowedCapabilities ?? []).map(normalizeCapability));
        for (const e of exceptionsFor("container-capabilities-restricted", c.service)) {
            e.capabilities.forEach((cap) => allowed.add(normalizeCapability(cap)));
        }
        const denied = adds.filter((a) => !allowed.has(a));
        if (denied.length > 0) {
            const allowedText = allowed.size > 0 ? [...allowed].sort().join(", ") : "none";
            report(
                `${describeContainer(c)} adds capabilities that are not allowed for it: ${denied.join(", ")} ` +
                    `(allowed: ${allowedText}). Fix: remove them from security.capabilityAdditions of ${serviceRef(c)} in ${CATALOG}, or, if ` +
                    `the service cannot work without them, add a { policy: "container-capabilities-restricted", service, ` +
                    `capabilities, reason } entry to policy/exceptions.ts (or list them under allowedCapabilities in ` +
                    `policy/config/<stack>.json).`,
            );
        }
    }),
};

const notPrivileged: ResourceValidationPolicy = {
    name: "container-not-privileged",
    description: "No container runs privileged (which grants every capability and every host device).",
    severity: "critical",
    validateResource: forContainers((c, _args, report) => {
        if (c.props.privileged === true) {
            report(
                `${describeContainer(c)} is privileged. Fix: remove privileged from the container of ${serviceRef(c)} ` +
                    `(${CATALOG}, components/homeiqService.ts); if it needs one specific capability, add that instead ` +
                    `(see container-capabilities-restricted).`,
            );
        }
    }),
};

const resourceLimits: ResourceValidationPolicy = {
    name: "container-resource-limits",
    description: "Containers have a memory limit (`memory` > 0 MiB) and a CPU limit (`cpus`, or `cpuQuota`).",
    severity: "medium",
    validateResource: forContainers((c, _args, report) => {
        const missing: string[] = [];
        const memory = asNumber(c.props.memory);
        if (memory === undefined || memory <= 0) {
            missing.push("memory limit (`memory`, in MiB)");
        }
        const cpus = asNumber(c.props.cpus);
        const cpuQuota = asNumber(c.props.cpuQuota);
        if (!((cpus !== undefined && cpus > 0) || (cpuQuota !== undefined && cpuQuota > 0))) {
            missing.push("CPU limit (`cpus` or `cpuQuota`)");
        }
        if (missing.length > 0) {
            report(
                `${describeContainer(c)} has no ${missing.join(" and no ")}. Fix: set resources.${c.service ?? "<service>"} ` +
                    `(memoryMiB, cpus) in ${PROFILE}, or override it with homeiq:resourceOverrides ("service:cpus=N").`,
            );
        }
    }),
};

const pidsLimit: ResourceValidationPolicy = {
    name: "container-pids-limit",
    description:
        `Every container has a PIDs limit (CIS Docker Benchmark 5.29): its ${PIDS_LIMIT_LABEL} label is a whole number from 1, ` +
        "which the program applies with the Engine API's container update, or on swarm its service update (@pulumi/docker has no input for it).",
    severity: "medium",
    validateResource: forContainers((c, _args, report) => {
        const value = labelValue(c.props.labels, PIDS_LIMIT_LABEL);
        if (value !== undefined && /^[1-9]\d{0,6}$/.test(value.trim())) {
            return;
        }
        const what = value === undefined ? `has no ${PIDS_LIMIT_LABEL} label` : `has ${PIDS_LIMIT_LABEL}=${JSON.stringify(value)}, not a whole number from 1`;
        report(
            `${describeContainer(c)} ${what}, so nothing bounds how many processes it may start (a fork bomb takes the host). ` +
                `Fix: set pidsLimit in ${PROFILE}, or security.pidsLimit ({ limit, reason }) of ${serviceRef(c)} in ${CATALOG}; ` +
                `the program labels each container (each swarm service's task) with its limit and applies it (components/pidsLimits.ts, components/swarmLimits.ts).`,
        );
    }),
};

const healthcheck: ResourceValidationPolicy = {
    name: "container-healthcheck",
    description: "Every container has a health check (`healthcheck.tests` non-empty and not NONE).",
    severity: "medium",
    validateResource: forContainers((c, _args, report) => {
        const tests = asArray(asRecord(c.props.healthcheck)?.tests);
        if (tests.length > 0 && tests[0] !== "NONE") {
            return;
        }
        report(
            `${describeContainer(c)} has no health check${tests[0] === "NONE" ? " (its test is NONE)" : ""}. Fix: give ` +
                `${serviceRef(c)} a healthCheck in its catalog entry (${CATALOG}), using a command that exists in its ` +
                `image (data-api and sports-data have python but no curl).`,
        );
    }),
};

const logRotation: ResourceValidationPolicy = {
    name: "container-log-rotation",
    description: "Container logs rotate: `logDriver` json-file or local, with `logOpts` max-size and max-file.",
    severity: "medium",
    validateResource: forContainers((c, _args, report) => {
        const driver = asString(c.props.logDriver);
        const opts = asRecord(c.props.logOpts) ?? {};
        const problems: string[] = [];
        if (driver === undefined || !ROTATING_LOG_DRIVERS.includes(driver)) {
            problems.push(`logDriver is ${driver === undefined ? "not set" : `"${driver}"`} (expected json-file or local)`);
        }
        for (const key of ["max-size", "max-file"]) {
            const v = opts[key];
            if (v === undefined || v === null || String(v).trim() === "") {
                problems.push(`logOpts has no ${key}`);
            }
        }
        if (problems.length > 0) {
            report(
                `${describeContainer(c)} does not rotate its logs: ${problems.join("; ")}. Fix: set logRotation ` +
                    `(maxSizeMiB, maxFiles) in ${PROFILE}; the container gets logDriver json-file with max-size and max-file.`,
            );
        }
    }),
};

const restartPolicy: ResourceValidationPolicy = {
    name: "container-restart-policy",
    description: "Containers set `restart` to unless-stopped, always or on-failure, so they come back after a crash or a reboot.",
    severity: "low",
    validateResource: forContainers((c, _args, report) => {
        const restart = asString(c.props.restart);
        if (restart !== undefined && ACCEPTED_RESTART_POLICIES.includes(restart)) {
            return;
        }
        report(
            `${describeContainer(c)} has restart ${restart === undefined ? "unset (Docker's default is no)" : `"${restart}"`}. ` +
                `Fix: set restartPolicy to "unless-stopped" (or always / on-failure) in ${PROFILE}.`,
        );
    }),
};

const noPublicPorts: ResourceValidationPolicy = {
    name: "container-no-public-ports",
    description:
        "No host port is published on every interface (ip unset, 0.0.0.0 or ::) unless the pack config's allowedPublicPorts lists it or the container carries the com.homeiq.lan-access label with a reason (homeiq:lanAccess); publishAllPorts is never set.",
    severity: "high",
    configSchema: PORTS_SCHEMA,
    validateResource: forContainers((c, args, report) => {
        const allowed = new Set<number>(args.getConfig<PublicPortsConfig>().allowedPublicPorts ?? []);
        if (c.props.publishAllPorts === true) {
            report(
                `${describeContainer(c)} sets publishAllPorts, which publishes every exposed port on every interface. ` +
                    `Fix: remove publishAllPorts and publish each port on publishBindAddress (127.0.0.1) from ${PROFILE}.`,
            );
        }
        for (const p of asArray(c.props.ports)) {
            const port = asRecord(p);
            if (!port) {
                continue;
            }
            const ip = (asString(port.ip) ?? "").trim();
            if (!(ip === "" || ip === "0.0.0.0" || ip === "::" || ip === "[::]")) {
                continue;
            }
            const internal = asNumber(port.internal);
            const external = asNumber(port.external);
            if (external !== undefined && allowed.has(external)) {
                continue;
            }
            // Published on purpose, for this container alone, with the reason on it (homeiq:lanAccess).
            if ((labelValue(c.props.labels, LAN_ACCESS_LABEL) ?? "").trim() !== "") {
                continue;
            }
            const hostPort = external === undefined ? "a random host port" : `host port ${external}`;
            report(
                `${describeContainer(c)} publishes container port ${internal ?? "?"} on ${hostPort} on all interfaces ` +
                    `(ip ${ip === "" ? "unset" : `"${ip}"`}). Fix: bind it to 127.0.0.1 (publishBindAddress in ${PROFILE}; ` +
                    `homeiq:dashboardBindAddress for the dashboard), or, if it must be reachable from the network, publish it on purpose ` +
                    `with homeiq:lanAccess ('service@address=reason': allowed for that service alone), or add ${external ?? "its host port"} ` +
                    `to allowedPublicPorts under container-no-public-ports in policy/config/<stack>.json.`,
            );
        }
    }),
};

const dockerHostPaths: ResourceValidationPolicy = {
    name: "container-docker-host-paths",
    description:
        "The raw Docker socket is bind-mounted only into the typed Docker API proxy (a docker-socket-proxy exception), and /var/lib/docker only into services on the allow-list (policy/exceptions.ts plus the pack config's dockerSocketServices); always read-only.",
    severity: "critical",
    configSchema: DOCKER_PATHS_SCHEMA,
    validateResource: forContainers((c, args, report) => {
        const configured = args.getConfig<DockerHostPathsConfig>().dockerSocketServices ?? [];
        const exceptions = exceptionsFor("container-docker-host-paths", c.service);
        const excepted = exceptions.filter((e) => !("kind" in e)).flatMap((e) => e.hostPaths.map(normalizePath));
        const proxySockets = exceptions.filter((e) => "kind" in e && e.kind === "docker-socket-proxy").flatMap((e) => e.hostPaths.map(normalizePath));
        for (const m of hostMounts(c.props)) {
            if (!exposesDockerHostPath(m.hostPath)) {
                continue;
            }
            // The raw socket (or a folder holding it) only ever goes to the typed socket proxy: no plain exception
            // and no pack config lets any other service hold it.
            if (exposesDockerSocket(m.hostPath)) {
                if (!proxySockets.some((allowedPath) => m.hostPath === allowedPath)) {
                    const proxies = POLICY_EXCEPTIONS.filter((e) => "kind" in e && e.kind === "docker-socket-proxy").map((e) => e.service);
                    report(
                        `${describeContainer(c)} mounts the Docker socket (${m.hostPath} at ${m.containerPath}, via ${m.via}): the raw socket is ` +
                            `root on the host, read-only or not. Only the stack's Docker API proxy (${proxies.join(", ") || "none"}) may hold it. ` +
                            `Fix: give ${serviceRef(c)} \`dockerApi\` in ${CATALOG} (it then reaches the engine through the proxy, ` +
                            `DOCKER_HOST=tcp://docker-api-proxy:2375) and remove the socket from its hostMounts.`,
                    );
                }
            } else if (
                !(
                    (c.service !== undefined && configured.includes(c.service)) ||
                    excepted.some((allowedPath) => isAtOrBelow(m.hostPath, allowedPath))
                )
            ) {
                const who = [...new Set(POLICY_EXCEPTIONS.filter((e) => e.policy === "container-docker-host-paths" && !("kind" in e)).map((e) => e.service))];
                report(
                    `${describeContainer(c)} mounts the Docker host path ${m.hostPath} (at ${m.containerPath}, via ${m.via}), ` +
                        `which only ${[...new Set([...who, ...configured])].join(" and ")} may do, each only the path named in ` +
                        `its exception. Fix: remove it from hostMounts of ${serviceRef(c)} in ${CATALOG}, or add a ` +
                        `{ policy: "container-docker-host-paths", service, hostPaths, reason } entry to policy/exceptions.ts.`,
                );
            }
            if (!m.readOnly) {
                report(
                    `${describeContainer(c)} mounts the Docker host path ${m.hostPath} (at ${m.containerPath}, via ${m.via}) ` +
                        `read-write. Fix: mount it read-only (readOnly: true; the catalog's hostMounts are ` +
                        `read-only binds, see components/homeiqService.ts).`,
                );
            }
        }
    }),
};

const noPlaceholderCredentials: ResourceValidationPolicy = {
    name: "container-no-placeholder-credentials",
    description:
        "No environment variable holds one of HomeIQ's old placeholder credentials (admin123, ha-ingestor-token, super-secret-jwt-key, adminpass, dev_simulator_token, your_*_here, changeme).",
    severity: "critical",
    validateResource: forContainers((c, _args, report) => {
        const envs = c.props.envs;
        const count = Array.isArray(envs) ? envs.length : 0;
        for (let i = 0; i < count; i++) {
            let entry: unknown;
            try {
                entry = (envs as unknown[])[i];
            } catch (e) {
                // A value unknown during preview (e.g. a generated password) cannot be a placeholder literal.
                if (isUnknownValueError(e)) {
                    continue;
                }
                throw e;
            }
            const text = asString(entry);
            const eq = text?.indexOf("=") ?? -1;
            if (text === undefined || eq <= 0) {
                continue;
            }
            const key = text.slice(0, eq);
            const placeholder = placeholderIn(text.slice(eq + 1));
            if (placeholder !== undefined) {
                report(
                    `${describeContainer(c)} sets ${key} to the placeholder credential "${placeholder}". Fix: set a real ` +
                        `value as a secret (\`pulumi config set --secret homeiq:<key>\` for the key that feeds ${key}) or leave it unset so ` +
                        `the program generates it with @pulumi/random; never fall back to the old defaults.`,
                );
            }
        }
    }),
};

/**
 * Resource options as seen by a policy, plus `retainOnDelete`.
 *
 * What the engine shows: `PolicyResourceOptions` in @pulumi/policy 1.21 carries `protect` but no
 * `retainOnDelete`; the analyzer protocol (pulumirpc.AnalyzerResourceOptions in @pulumi/pulumi
 * 3.276) has no such field either, so under `pulumi preview --policy-pack` a volume's retainOnDelete
 * is invisible. `evaluatePolicies` passes it (from the offline synth's `options`), and a future
 * engine that adds it to the options will be read the same way.
 */
type OptionsWithRetain = PolicyResourceOptions & { readonly retainOnDelete?: boolean };

const dataVolumeRetained: ResourceValidationPolicy = {
    name: "data-volume-retained",
    description:
        "Docker volumes labelled com.homeiq.data=true survive `pulumi destroy` and replacement: retainOnDelete (or protect) is set. " +
        "The engine does not show retainOnDelete to policies, so there the check sees only protect and otherwise reports not-applicable; " +
        "the offline check (evaluatePolicies over the synth) sees both.",
    severity: "critical",
    validateResource: (args, report) => {
        if (args.type !== VOLUME_TYPE) {
            args.notApplicable(`applies only to ${VOLUME_TYPE}`);
        }
        const props = args.props;
        if (labelValue(props.labels, DATA_LABEL) !== "true") {
            args.notApplicable(`applies only to volumes labelled ${DATA_LABEL}=true`);
        }
        const opts = args.opts as OptionsWithRetain;
        if (opts.protect === true || opts.retainOnDelete === true) {
            return;
        }
        const volumeName = asString(props.name) ?? args.name;
        if (opts.retainOnDelete === undefined) {
            args.notApplicable(
                `volume "${volumeName}" is not protected and its retainOnDelete cannot be seen by a policy pack ` +
                    `(the analyzer protocol does not carry it); the offline check over the synth verifies it`,
            );
        }
        report(
            `data volume "${volumeName}" (${DATA_LABEL}=true) would be deleted by \`pulumi destroy\` or a replacement: ` +
                `neither retainOnDelete nor protect is set. Fix: set retainDataVolumes: true in ${PROFILE} ` +
                `(retainOnDelete on every data volume), or set protect on the volume.`,
        );
    },
};

/** Every policy of the pack, in the order of the security checklist. */
export const policies: ResourceValidationPolicy[] = [
    nonRootUser,
    noNewPrivileges,
    capabilitiesRestricted,
    notPrivileged,
    resourceLimits,
    pidsLimit,
    healthcheck,
    logRotation,
    restartPolicy,
    noPublicPorts,
    dockerHostPaths,
    noPlaceholderCredentials,
    dataVolumeRetained,
];

// ---------------------------------------------------------------------------------------------
// Offline evaluation
// ---------------------------------------------------------------------------------------------

/** A resource as the offline synth (or a test) gives it. */
export interface ResourceInput {
    readonly type: string;
    /** The Pulumi resource name (the last part of the URN). */
    readonly name: string;
    readonly urn?: string;
    /** The resource's inputs as the engine would give them; secrets may be the string "[secret]". */
    readonly inputs: Record<string, unknown>;
    /** Resource options known offline; `retainOnDelete` here is something the real engine cannot show. */
    readonly options?: { readonly protect?: boolean; readonly retainOnDelete?: boolean };
}

export interface Violation {
    readonly policy: PolicyName;
    readonly resourceName: string;
    readonly urn: string;
    readonly message: string;
    readonly enforcementLevel: "advisory" | "mandatory";
}

export interface NotApplicable {
    readonly policy: PolicyName;
    readonly resourceName: string;
    readonly reason: string;
}

export interface Evaluation {
    readonly violations: Violation[];
    readonly notApplicable: NotApplicable[];
}

class NotApplicableSignal extends Error {
    constructor(readonly reason: string) {
        super(reason);
    }
}

const ENFORCEMENT_LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

function levelOf(entry: PackConfig[string] | undefined): EnforcementLevel | undefined {
    if (entry === undefined) {
        return undefined;
    }
    return typeof entry === "string" ? entry : entry.enforcementLevel;
}

/** Checks a pack config against the policies' names and config schemas, the way the CLI would, and throws listing every problem. */
export function validatePackConfig(config: PackConfig): void {
    const problems: string[] = [];
    const byName = new Map(policies.map((p) => [p.name, p]));
    for (const [key, entry] of Object.entries(config)) {
        const policy = byName.get(key);
        if (key !== "all" && policy === undefined) {
            problems.push(`"${key}" is not a policy of ${PACK_NAME} (policies: ${POLICY_NAMES.join(", ")})`);
            continue;
        }
        const level = levelOf(entry);
        if (level !== undefined && !ENFORCEMENT_LEVELS.includes(level)) {
            problems.push(`${key}: enforcementLevel "${String(level)}" is not one of ${ENFORCEMENT_LEVELS.join(", ")}`);
        }
        if (typeof entry === "string" || policy === undefined) {
            if (key === "all" && typeof entry !== "string") {
                problems.push(`all: must be an enforcement level (${ENFORCEMENT_LEVELS.join(", ")})`);
            }
            continue;
        }
        const properties = policy.configSchema?.properties ?? {};
        for (const [prop, value] of Object.entries(entry)) {
            if (prop === "enforcementLevel") {
                continue;
            }
            const schema = properties[prop];
            if (schema === undefined) {
                const known = Object.keys(properties);
                problems.push(`${key}.${prop} is not a setting of ${key} (settings: ${known.length > 0 ? known.join(", ") : "none"})`);
                continue;
            }
            const itemType = typeof schema.items === "object" && !Array.isArray(schema.items) ? schema.items.type : undefined;
            const itemOk = (v: unknown) =>
                itemType === "integer" ? Number.isInteger(v) : itemType === "string" ? typeof v === "string" : true;
            if (schema.type === "array" && !(Array.isArray(value) && value.every(itemOk))) {
                problems.push(`${key}.${prop} must be an array of ${itemType ?? "values"}s, got ${JSON.stringify(value)}`);
            }
        }
    }
    if (problems.length > 0) {
        throw new Error(`invalid ${PACK_NAME} pack config:\n  - ${problems.join("\n  - ")}`);
    }
}

/** Each policy's settings with the schema's defaults filled in (what the CLI hands the pack). */
function configFor(policy: ResourceValidationPolicy, config: PackConfig): Record<string, unknown> {
    const defaults: Record<string, unknown> = {};
    for (const [prop, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
        if (schema.default !== undefined) {
            defaults[prop] = schema.default;
        }
    }
    const entry = config[policy.name];
    if (entry === undefined || typeof entry === "string") {
        return defaults;
    }
    const { enforcementLevel: _ignored, ...props } = entry;
    return { ...defaults, ...props };
}

/** The level a policy runs at: its own config entry, then `all`, then the policy's, then the pack's. */
export function enforcementLevelFor(policy: ResourceValidationPolicy, config: PackConfig): EnforcementLevel {
    return levelOf(config[policy.name]) ?? levelOf(config.all) ?? policy.enforcementLevel ?? PACK_ENFORCEMENT_LEVEL;
}

/**
 * Runs every policy's `validateResource` against plain resource inputs, as the engine would, and
 * returns the violations and the "not applicable" results. Throws if the config is invalid.
 */
export function evaluatePoliciesDetailed(resources: readonly ResourceInput[], config: PackConfig = {}): Evaluation {
    validatePackConfig(config);
    const violations: Violation[] = [];
    const notApplicable: NotApplicable[] = [];
    for (const policy of policies) {
        const level = enforcementLevelFor(policy, config);
        if (level === "disabled") {
            continue;
        }
        const reported: "advisory" | "mandatory" = level === "advisory" ? "advisory" : "mandatory";
        const settings = configFor(policy, config);
        const validations = policy.validateResource === undefined ? [] : ([] as ResourceValidation[]).concat(policy.validateResource);
        for (const r of resources) {
            const urn = r.urn ?? `urn:pulumi:offline::homeiq::${r.type}::${r.name}`;
            const opts: OptionsWithRetain = {
                protect: r.options?.protect === true,
                ignoreChanges: [],
                aliases: [],
                customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
                additionalSecretOutputs: [],
                // Offline, an options object means the options are known: a missing retainOnDelete is false.
                ...(r.options !== undefined ? { retainOnDelete: r.options.retainOnDelete === true } : {}),
            };
            const args: ResourceValidationArgs = {
                type: r.type,
                props: r.inputs,
                urn,
                name: r.name,
                opts,
                stackTags: new Map<string, string>(),
                isType: () => {
                    throw new Error("isType is not available offline; compare args.type with the type token");
                },
                asType: () => {
                    throw new Error("asType is not available offline; read args.props");
                },
                getConfig: <T extends object>() => settings as T,
                notApplicable: (reason?: string): never => {
                    throw new NotApplicableSignal(reason ?? "not applicable");
                },
            };
            const report: ReportViolation = (message) => {
                violations.push({ policy: policy.name as PolicyName, resourceName: r.name, urn, message, enforcementLevel: reported });
            };
            for (const validate of validations) {
                try {
                    const result = validate(args, report);
                    if (result instanceof Promise) {
                        throw new Error(`policy ${policy.name} is asynchronous; evaluatePolicies only runs synchronous validations`);
                    }
                } catch (e) {
                    if (e instanceof NotApplicableSignal) {
                        notApplicable.push({ policy: policy.name as PolicyName, resourceName: r.name, reason: e.reason });
                        continue;
                    }
                    throw e;
                }
            }
        }
    }
    return { violations, notApplicable };
}

/** Runs every policy against plain resource inputs and returns the violations (see evaluatePoliciesDetailed). */
export function evaluatePolicies(resources: readonly ResourceInput[], config: PackConfig = {}): Violation[] {
    return evaluatePoliciesDetailed(resources, config).violations;
}

