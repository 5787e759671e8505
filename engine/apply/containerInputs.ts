/**
 * THE table: for every input of a `docker:index/container:Container`, what @pulumi/docker's provider
 * (the bridged kreuzwerker terraform-provider-docker v4.5.0) does with it, each with the source line:
 * - sent: how it becomes the Engine API's ContainerCreate request (`resourceDockerContainerCreate`),
 *   including what the docker client rewrites on the way (capabilities);
 * - readBack: what the provider reads back into state after the create (`resourceDockerContainerRead`,
 *   which Create ends with, funcs.go:673), or that it keeps the input as given;
 * - change: what a change to it does: replace (`ForceNew`), an in-place `ContainerUpdate`
 *   (`resourceDockerContainerUpdate`), or state only (neither: the provider's update ignores it).
 * Source paths: `tf-docker` = internal/provider/ at v4.5.0; `container.go` and `funcs.go` are
 * resource_docker_container.go and resource_docker_container_funcs.go (docs/provider-behaviour.md).
 *
 * `containerPlan` refuses any input that no row maps, and plan.ts plans each step from these rows:
 * a new container setting in the program cannot be skipped silently; it must get a row here first.
 */

/** The Engine API body of POST /containers/create, plus what the provider does around it. */
export interface ContainerPlan {
    readonly name: string;
    /** Config (top level of the create body). */
    readonly config: Record<string, unknown>;
    /** HostConfig. */
    readonly hostConfig: Record<string, unknown>;
    /** Networks connected after create (the provider first disconnects the default bridge). */
    readonly networks: Array<{ name: string; aliases: string[] }>;
    /** `wait`: poll inspect once a second until Health.Status is healthy, for `waitTimeoutSeconds`. */
    readonly wait: boolean;
    readonly waitTimeoutSeconds: number;
    /** `destroyGraceSeconds`: the stop timeout used on delete. */
    readonly stopGraceSeconds: number;
}

interface MutablePlan {
    name: string;
    config: Record<string, unknown>;
    hostConfig: Record<string, unknown>;
    networks: Array<{ name: string; aliases: string[] }>;
    wait: boolean;
    waitTimeoutSeconds: number;
    stopGraceSeconds: number;
}

/** The parts of GET /containers/<id>/json the provider reads back. */
export interface ContainerInspect {
    readonly Name: string;
    readonly Image: string;
    readonly Config: Record<string, unknown>;
    readonly HostConfig: Record<string, unknown>;
    readonly NetworkSettings?: { readonly Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> };
}

/** How the provider fills the state of one input after a create. */
export type ReadBack =
    /** Not read: the state keeps the value the program gave. */
    | { readonly kind: "kept"; readonly source: string }
    /**
     * Read from the container. `computed`: an unset input takes the read value without a diff;
     * otherwise an unset input against a non-empty read value is a change (SDKv2 schema diff).
     * `set`: a TypeSet, compared without order.
     */
    | {
          readonly kind: "read";
          readonly source: string;
          readonly computed: boolean;
          readonly set?: boolean;
          readonly read: (c: ContainerInspect, given: unknown) => unknown;
      };

/** What a change to the input does. */
export type ChangeKind =
    /** `ForceNew`: delete and create again (the docker bridge sets deleteBeforeReplace for containers). */
    | "replace"
    /** One `POST /containers/<id>/update` with the resources and restart policy (funcs.go:1016-1068). */
    | "update"
    /** Written to state only: the provider's update does nothing with it; the container keeps the old value. */
    | "state";

export interface InputMapping {
    /** Input path: `a`, `a.b`, `a[]` (list), `a[].b`, `a.*` (map entries). */
    readonly input: string;
    /** The provider's documented meaning of the input (quoted from @pulumi/docker's SDK docs). */
    readonly documented: string;
    /** Where it lands in the engine. */
    readonly engine: string;
    /** Applies the input's whole value (for a nested path, the parent row applies it; the row documents it). */
    readonly apply?: (plan: MutablePlan, value: unknown) => void;
    /** Top-level rows: how it is read back into state. */
    readonly readBack?: ReadBack;
    /** Top-level rows: what a change does, and the schema line that says so. */
    readonly change?: { readonly kind: ChangeKind; readonly source: string };
}

const GO_DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, as the provider parses healthcheck durations: "1m30s", "500ms", "1s". */
export function parseGoDurationNs(text: string): number {
    if (text === "0") return 0;
    const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
    let total = 0;
    let consumed = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
        total += Number(m[1]) * GO_DURATION_UNITS[m[2]];
        consumed = re.lastIndex;
    }
    if (consumed !== text.length || text.length === 0) throw new Error(`not a Go duration: ${JSON.stringify(text)}`);
    return Math.round(total);
}

const MIB = 1024 * 1024;
const asString = (v: unknown): string => String(v);
const asStrings = (v: unknown): string[] => (Array.isArray(v) ? v.map(asString) : []);
const asRecord = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" ? (v as Record<string, unknown>) : {});

/**
 * The docker client's normalizeCapabilities (moby v28.5.2 client/container_create.go:72-73, 134-167),
 * applied to every ContainerCreate the provider sends: upper case, `CAP_` prefix (not on `ALL`),
 * no duplicates, sorted.
 */
export function clientCapabilities(names: readonly string[]): string[] {
    const norm = names.map((n) => {
        const up = n.toUpperCase();
        return up === "ALL" || up.startsWith("CAP_") ? up : `CAP_${up}`;
    });
    return [...new Set(norm)].sort();
}

/** tf-docker helpers.go:133-149 nanoInt64ToDecimalString, as the provider reads NanoCpus back into `cpus`. */
export function nanoInt64ToDecimalString(nanos: number): string {
    if (nanos === 0) return "0";
    const whole = Math.trunc(nanos / 1e9);
    const frac = String(nanos % 1e9).padStart(9, "0");
    const nine = `${whole}.${frac}`; // big.Rat FloatString(9)
    if ((nine.match(/0/g) ?? []).length === 9) {
        // FloatString(1): rounded to one decimal, halves away from zero.
        const tenths = Math.round(nanos / 1e8);
        return `${Math.trunc(tenths / 10)}.${tenths % 10}`;
    }
    return nine.replace(/0+$/, "");
}

/** Go's time.Duration.String, as the provider reads health-check durations back (funcs.go:960-970). */
export function goDurationString(ns: number): string {
    if (ns === 0) return "0s";
    const trim = (x: string): string => x.replace(/\.?0+$/, "");
    if (ns < 1e3) return `${ns}ns`;
    if (ns < 1e6) return `${trim((ns / 1e3).toFixed(3))}µs`;
    if (ns < 1e9) return `${trim((ns / 1e6).toFixed(6))}ms`;
    const h = Math.floor(ns / 3600e9);
    const m = Math.floor((ns % 3600e9) / 60e9);
    const sec = `${trim(((ns % 60e9) / 1e9).toFixed(9))}s`;
    return h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
}

/** tf-docker structures.go:35-59 flattenContainerPorts: one entry per binding, ordered by port and protocol. */
function flattenPorts(ports: ContainerInspect["NetworkSettings"]): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    const keys = Object.keys(ports?.Ports ?? {}).sort((a, b) => {
        const [pa, ra] = a.split("/");
        const [pb, rb] = b.split("/");
        return Number(pa) - Number(pb) || ra.localeCompare(rb);
    });
    for (const key of keys) {
        const [internal, protocol] = key.split("/");
        for (const b of ports?.Ports?.[key] ?? []) out.push({ internal: Number(internal), external: Number(b.HostPort) || 0, ip: b.HostIp, protocol });
    }
    return out;
}

const hc = (c: ContainerInspect): Record<string, unknown> => c.HostConfig;
const TF = "tf-docker";

export const CONTAINER_INPUTS: readonly InputMapping[] = [
    {
        input: "name",
        documented: "The name of the container.",
        engine: "POST /containers/create?name=<name>",
        readBack: { kind: "read", computed: false, source: `${TF} funcs.go:828`, read: (c) => c.Name.replace(/^\/+/, "") },
        change: { kind: "replace", source: `${TF} container.go:50-55 (ForceNew)` },
        apply: (p, v) => (p.name = asString(v)),
    },
    {
        input: "image",
        documented: "The ID of the image to back this container.",
        engine: "Config.Image",
        // An image id (sha256:…) is read back as the container's image id, a name as Config.Image.
        readBack: { kind: "read", computed: false, source: `${TF} funcs.go:838-845`, read: (c, given) => (String(given).startsWith("sha256:") ? c.Image : c.Config.Image) },
        change: { kind: "replace", source: `${TF} container.go:141-146 (ForceNew)` },
        apply: (p, v) => (p.config.Image = asString(v)),
    },
    {
        input: "envs[]",
        documented: "Environment variables to set in the form of `KEY=VALUE`, e.g. `DEBUG=0`",
        engine: "Config.Env",
        readBack: { kind: "kept", source: `${TF} funcs.go:893-899 (env and labels are not read back)` },
        change: { kind: "replace", source: `${TF} container.go:590-597 (ForceNew)` },
        apply: (p, v) => (p.config.Env = asStrings(v)),
    },
    {
        input: "labels[]",
        documented: "User-defined key/value metadata",
        engine: "Config.Labels (map label → value)",
        readBack: { kind: "kept", source: `${TF} funcs.go:893-899 (env and labels are not read back)` },
        change: { kind: "replace", source: `${TF} container.go:833-840 (ForceNew)` },
        apply: (p, v) => {
            const labels: Record<string, string> = {};
            for (const l of Array.isArray(v) ? v : []) labels[asString(asRecord(l).label)] = asString(asRecord(l).value);
            p.config.Labels = labels;
        },
    },
    { input: "labels[].label", documented: "Name of the label", engine: "a key of Config.Labels" },
    { input: "labels[].value", documented: "Value of the label", engine: "its value in Config.Labels" },
    {
        input: "user",
        documented: "User used for run the first process. Format is `user` or `user:group` which user and group can be passed literally or by name.",
        engine: "Config.User",
        // DiffSuppressFunc: an empty new value is no change (container.go:187-193).
        readBack: { kind: "read", computed: true, source: `${TF} funcs.go:851`, read: (c) => c.Config.User ?? "" },
        change: { kind: "replace", source: `${TF} container.go:181-194 (ForceNew)` },
        apply: (p, v) => (p.config.User = asString(v)),
    },
    {
        input: "restart",
        documented: "The restart policy for the container. Must be one of 'no', 'on-failure', 'always', 'unless-stopped'. Defaults to `no`.",
        engine: "HostConfig.RestartPolicy.Name",
        readBack: { kind: "read", computed: false, source: `${TF} funcs.go:857`, read: (c) => asRecord(hc(c).RestartPolicy).Name ?? "no" },
        change: { kind: "update", source: `${TF} funcs.go:1016-1068 (ContainerUpdate RestartPolicy)` },
        apply: (p, v) => (p.hostConfig.RestartPolicy = { Name: asString(v), MaximumRetryCount: 0 }),
    },
    {
        input: "memory",
        documented: "The memory limit for the container in MBs.",
        engine: "HostConfig.Memory = MB × 1024 × 1024 (bytes)",
        readBack: { kind: "read", computed: false, source: `${TF} funcs.go:932`, read: (c) => Math.trunc(Number(hc(c).Memory ?? 0) / MIB) },
        change: { kind: "update", source: `${TF} funcs.go:1016-1068 (ContainerUpdate Memory)` },
        apply: (p, v) => (p.hostConfig.Memory = Number(v) * MIB),
    },
    {
        input: "memorySwap",
        documented: "The total memory limit (memory + swap) for the container in MBs. This setting may compute to `-1` after `terraform apply` if the target host doesn't support memory swap, when that is the case docker will use a soft limitation.",
        engine: "HostConfig.MemorySwap = MB × 1024 × 1024 (bytes; -1 stays -1)",
        // Not computed (container.go:856-861): unset, the engine's default (2 × memory, moby daemon_unix.go:319) is a diff.
        readBack: { kind: "read", computed: false, source: `${TF} funcs.go:940-944`, read: (c) => (Number(hc(c).MemorySwap ?? 0) > 0 ? Math.trunc(Number(hc(c).MemorySwap) / MIB) : Number(hc(c).MemorySwap ?? 0)) },
        change: { kind: "update", source: `${TF} funcs.go:1016-1068 (ContainerUpdate MemorySwap)` },
        apply: (p, v) => (p.hostConfig.MemorySwap = Number(v) > 0 ? Number(v) * MIB : Number(v)),
    },
    {
        input: "memoryReservation",
        documented: "The memory-resveration for the container in MBs. … a soft limit smaller than `memory`",
        engine: "HostConfig.MemoryReservation = MB × 1024 × 1024 (bytes)",
        readBack: { kind: "read", computed: false, source: `${TF} funcs.go:933-938`, read: (c) => Math.trunc(Number(hc(c).MemoryReservation ?? 0) / MIB) },
        change: { kind: "update", source: `${TF} funcs.go:1016-1068 (ContainerUpdate MemoryReservation)` },
        apply: (p, v) => (p.hostConfig.MemoryReservation = Number(v) * MIB),
    },
    {
        input: "cpus",
        documented: "Specify how much of the available CPU resources a container can use. e.g a value of 1.5 means the container is guaranteed at most one and a half of the CPUs.",
        engine: "HostConfig.NanoCpus = cpus × 10^9 (docker's opts.ParseCPUs)",
        // Read back as "1.0" for one CPU: a program that writes "1" is replaced on every up (no DiffSuppressFunc).
        readBack: { kind: "read", computed: false, source: `${TF} funcs.go:945-948, helpers.go:133-149`, read: (c) => (Number(hc(c).NanoCpus ?? 0) > 0 ? nanoInt64ToDecimalString(Number(hc(c).NanoCpus)) : undefined) },
        change: { kind: "replace", source: `${TF} container.go:1158-1163 (ForceNew)` },
        apply: (p, v) => {
            const cpus = Number(v);
            if (!Number.isFinite(cpus) || cpus <= 0) throw new Error(`cpus must be a positive number, got ${JSON.stringify(v)}`);
            p.hostConfig.NanoCpus = Math.round(cpus * 1e9);
        },
    },
    {
        input: "cpuShares",
        documented: "CPU shares (relative weight) for the container.",
        engine: "HostConfig.CpuShares (terraform-provider-docker v4.5.0 resource_docker_container_funcs.go:379-380)",
        readBack: { kind: "read", computed: false, source: `${TF} funcs.go:949`, read: (c) => Number(hc(c).CpuShares ?? 0) },
        change: { kind: "update", source: `${TF} funcs.go:1016-1068 (ContainerUpdate CPUShares)` },
        apply: (p, v) => (p.hostConfig.CpuShares = Number(v)),
    },
    {
        input: "healthcheck",
        documented: "A test to perform to check that the container is healthy",
        engine: "Config.Healthcheck (durations parsed with Go's time.ParseDuration into nanoseconds)",
        readBack: {
            kind: "read",
            computed: true,
            source: `${TF} funcs.go:960-970 (durations as Go's Duration.String)`,
            read: (c) => {
                const h = c.Config.Healthcheck === undefined || c.Config.Healthcheck === null ? undefined : asRecord(c.Config.Healthcheck);
                if (!h) return undefined;
                const d = (k: string): string => goDurationString(Number(h[k] ?? 0));
                return { tests: asStrings(h.Test), interval: d("Interval"), timeout: d("Timeout"), startPeriod: d("StartPeriod"), startInterval: d("StartInterval"), retries: Number(h.Retries ?? 0) };
            },
        },
        // Optional+Computed, not ForceNew (container.go:1045-1050), and not in the update's list.
        change: { kind: "state", source: `${TF} container.go:1045-1050, funcs.go:1016-1019` },
        apply: (p, v) => {
            const h = asRecord(v);
            const hc: Record<string, unknown> = { Test: asStrings(h.tests) };
            if (h.interval !== undefined) hc.Interval = parseGoDurationNs(asString(h.interval));
            if (h.timeout !== undefined) hc.Timeout = parseGoDurationNs(asString(h.timeout));
            if (h.startPeriod !== undefined) hc.StartPeriod = parseGoDurationNs(asString(h.startPeriod));
            if (h.startInterval !== undefined) hc.StartInterval = parseGoDurationNs(asString(h.startInterval));
            if (h.retries !== undefined) hc.Retries = Number(h.retries);
            p.config.Healthcheck = hc;
        },
    },
    {
        input: "healthcheck.tests[]",
        documented: "Command to run to check health. For example … `[\"CMD\", \"curl\", \"-f\", \"localhost/health\"]`.",
        engine: "Config.Healthcheck.Test",
    },
    { input: "healthcheck.interval", documented: "Time between running the check (ms|s|m|h). Defaults to `0s`.", engine: "Config.Healthcheck.Interval (ns)" },
    { input: "healthcheck.timeout", documented: "Maximum time to allow one check to run (ms|s|m|h). Defaults to `0s`.", engine: "Config.Healthcheck.Timeout (ns)" },
    {
        input: "healthcheck.startPeriod",
        documented: "Start period for the container to initialize before counting retries towards unstable (ms|s|m|h). Defaults to `0s`.",
        engine: "Config.Healthcheck.StartPeriod (ns)",
    },
    {
        input: "healthcheck.startInterval",
        documented: "Interval before the healthcheck starts (ms|s|m|h). Defaults to `0s`.",
        engine: "Config.Healthcheck.StartInterval (ns; API 1.44, Engine ≥ 25: the check's period during the start period)",
    },
    { input: "healthcheck.retries", documented: "Consecutive failures needed to report unhealthy. Defaults to `0`.", engine: "Config.Healthcheck.Retries" },
    {
        input: "wait",
        documented: "If `true`, then the Docker container is waited for being healthy state after creation.",
        engine: "not sent: after start, the provider inspects the container once a second until State.Health.Status is healthy",
        readBack: { kind: "kept", source: `${TF} container.go:79-84 (create-time only; not read)` },
        change: { kind: "state", source: `${TF} container.go:79-84 (not ForceNew), funcs.go:1016-1019` },
        apply: (p, v) => (p.wait = v === true),
    },
    {
        input: "waitTimeout",
        documented: "The timeout in seconds to wait the container to be healthy after creation. Defaults to `60`.",
        engine: "not sent: the bound of that wait; exceeding it fails the create",
        readBack: { kind: "kept", source: `${TF} container.go:86-91 (create-time only; not read)` },
        change: { kind: "state", source: `${TF} container.go:86-91 (not ForceNew), funcs.go:1016-1019` },
        apply: (p, v) => (p.waitTimeoutSeconds = Number(v)),
    },
    {
        input: "ports[]",
        documented: "Publish a container's port(s) to the host.",
        engine: "Config.ExposedPorts[\"<internal>/<protocol>\"] and HostConfig.PortBindings[\"<internal>/<protocol>\"] = [{HostIp, HostPort}]",
        // One entry per binding the engine reports (an engine that adds a `::` binding would read back two).
        readBack: { kind: "read", computed: false, source: `${TF} funcs.go:799-805, structures.go:35-59`, read: (c) => flattenPorts(c.NetworkSettings) },
        change: { kind: "replace", source: `${TF} container.go:487-535 (ForceNew; suppressIfPortsDidNotChangeForMigrationV0ToV1 ignores order only)` },
        apply: (p, v) => {
            const exposed: Record<string, object> = {};
            const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
            for (const raw of Array.isArray(v) ? v : []) {
                const port = asRecord(raw);
                const key = `${Number(port.internal)}/${port.protocol === undefined ? "tcp" : asString(port.protocol)}`;
                exposed[key] = {};
                (bindings[key] ??= []).push({
                    HostIp: port.ip === undefined ? "0.0.0.0" : asString(port.ip),
                    HostPort: port.external === undefined ? "" : String(port.external),
                });
            }
            p.config.ExposedPorts = exposed;
            p.hostConfig.PortBindings = bindings;
        },
    },
    { input: "ports[].internal", documented: "Port within the container.", engine: "the port of the ExposedPorts/PortBindings key" },
    {
        input: "ports[].external",
        documented: "Port exposed out of the container. If not given a free random port `>= 32768` will be used.",
        engine: "PortBindings[…].HostPort",
    },
    { input: "ports[].ip", documented: "IP address/mask that can access this port. Defaults to `0.0.0.0`.", engine: "PortBindings[…].HostIp" },
    { input: "ports[].protocol", documented: "Protocol that can be used over this port. Defaults to `tcp`.", engine: "the protocol of the ExposedPorts/PortBindings key" },
    {
        input: "networksAdvanced[]",
        documented: "The networks the container is attached to. This is the equivalent to the `--network` option of `docker run`",
        engine: "after create: POST /networks/bridge/disconnect, then POST /networks/<name>/connect {EndpointConfig: {Aliases}}",
        readBack: { kind: "kept", source: `${TF} funcs.go:783-797 (read only when the state has none, for import)` },
        change: { kind: "replace", source: `${TF} container.go:909-915 (ForceNew)` },
        apply: (p, v) => {
            p.networks = (Array.isArray(v) ? v : []).map((raw) => ({ name: asString(asRecord(raw).name), aliases: asStrings(asRecord(raw).aliases) }));
        },
    },
    {
        input: "networksAdvanced[].name",
        documented: "The name or id of the network to use.",
        engine: "the network connected",
    },
    {
        input: "networksAdvanced[].aliases[]",
        documented: "The network aliases of the container in the specific network.",
        engine: "EndpointConfig.Aliases (DNS names on that network)",
    },
    {
        input: "volumes[]",
        documented: "Spec for mounting volumes in the container.",
        engine: "HostConfig.Binds: \"<volumeName or hostPath>:<containerPath>:ro|rw\"",
        readBack: { kind: "kept", source: `${TF} funcs.go:882 (volumes are not read back)` },
        change: { kind: "replace", source: `${TF} container.go:434-438 (ForceNew)` },
        apply: (p, v) => {
            p.hostConfig.Binds = (Array.isArray(v) ? v : []).map((raw) => {
                const vol = asRecord(raw);
                const source = vol.hostPath !== undefined ? asString(vol.hostPath) : asString(vol.volumeName);
                return `${source}:${asString(vol.containerPath)}:${vol.readOnly === true ? "ro" : "rw"}`;
            });
        },
    },
    { input: "volumes[].volumeName", documented: "The name of the docker volume which should be mounted. Ignored when `hostPath` is set.", engine: "Binds source (a named volume)" },
    {
        input: "volumes[].hostPath",
        documented: "The path on the host where the volume is coming from. If `hostPath` is set, it takes precedence over `volumeName`.",
        engine: "Binds source (a host path)",
    },
    { input: "volumes[].containerPath", documented: "The path in the container where the volume will be mounted.", engine: "Binds target" },
    { input: "volumes[].readOnly", documented: "If `true`, this volume will be readonly. Defaults to `false`.", engine: "Binds mode ro (else rw)" },
    {
        input: "logDriver",
        documented: "The logging driver to use for the container.",
        engine: "HostConfig.LogConfig.Type",
        readBack: { kind: "read", computed: true, source: `${TF} funcs.go:951`, read: (c) => asRecord(hc(c).LogConfig).Type },
        change: { kind: "replace", source: `${TF} container.go:886-892 (ForceNew)` },
        apply: (p, v) => (p.hostConfig.LogConfig = { ...asRecord(p.hostConfig.LogConfig), Type: asString(v) }),
    },
    {
        input: "logOpts.*",
        documented: "Key/value pairs to use as options for the logging driver.",
        engine: "HostConfig.LogConfig.Config",
        readBack: { kind: "read", computed: false, source: `${TF} funcs.go:952, 983-989 (read when set)`, read: (c, given) => (given === undefined ? undefined : (asRecord(hc(c).LogConfig).Config ?? {})) },
        change: { kind: "replace", source: `${TF} container.go:894-899 (ForceNew)` },
        apply: (p, v) => {
            const opts = Object.fromEntries(Object.entries(asRecord(v)).map(([k, x]) => [k, asString(x)]));
            p.hostConfig.LogConfig = { ...asRecord(p.hostConfig.LogConfig), Config: opts };
        },
    },
    {
        input: "readOnly",
        documented: "If `true`, the container will be started as readonly. Defaults to `false`.",
        engine: "HostConfig.ReadonlyRootfs",
        readBack: { kind: "read", computed: false, source: `${TF} funcs.go:830`, read: (c) => hc(c).ReadonlyRootfs === true },
        change: { kind: "replace", source: `${TF} container.go:64-70 (ForceNew)` },
        apply: (p, v) => (p.hostConfig.ReadonlyRootfs = v === true),
    },
    {
        input: "tmpfs.*",
        documented: "A map of container directories which should be replaced by `tmpfs mounts`, and their corresponding mount options.",
        engine: "HostConfig.Tmpfs (path → mount options)",
        readBack: { kind: "read", computed: false, source: `${TF} funcs.go:883`, read: (c) => hc(c).Tmpfs ?? undefined },
        // Optional, not ForceNew (container.go:482-486), and not in the update's list: state only.
        change: { kind: "state", source: `${TF} container.go:482-486, funcs.go:1016-1019` },
        apply: (p, v) => (p.hostConfig.Tmpfs = Object.fromEntries(Object.entries(asRecord(v)).map(([k, x]) => [k, asString(x)]))),
    },
    {
        input: "securityOpts[]",
        documented: "List of string values to customize labels for MLS systems, such as SELinux. See https://docs.docker.com/engine/reference/run/#security-configuration.",
        engine: "HostConfig.SecurityOpt",
        readBack: { kind: "read", computed: true, set: true, source: `${TF} funcs.go:854`, read: (c) => hc(c).SecurityOpt ?? [] },
        change: { kind: "replace", source: `${TF} container.go:291-299 (ForceNew)` },
        apply: (p, v) => (p.hostConfig.SecurityOpt = asStrings(v)),
    },
    {
        input: "capabilities",
        documented: "Add or drop certain linux capabilities.",
        engine: "HostConfig.CapAdd / HostConfig.CapDrop, as the docker client normalises them (clientCapabilities)",
        // Read back as the client sent them (CAP_CHOWN), with no DiffSuppressFunc (funcs.go:871).
        readBack: {
            kind: "read",
            computed: false,
            set: true,
            source: `${TF} funcs.go:870-878`,
            read: (c) => (asStrings(hc(c).CapAdd).length > 0 || asStrings(hc(c).CapDrop).length > 0 ? { adds: asStrings(hc(c).CapAdd), drops: asStrings(hc(c).CapDrop) } : undefined),
        },
        change: { kind: "replace", source: `${TF} container.go:262-290 (ForceNew)` },
        apply: (p, v) => {
            const c = asRecord(v);
            p.hostConfig.CapAdd = clientCapabilities(asStrings(c.adds));
            p.hostConfig.CapDrop = clientCapabilities(asStrings(c.drops));
        },
    },
    { input: "capabilities.adds[]", documented: "List of linux capabilities to add.", engine: "HostConfig.CapAdd" },
    { input: "capabilities.drops[]", documented: "List of linux capabilities to drop.", engine: "HostConfig.CapDrop" },
    {
        input: "groupAdds[]",
        documented: "Additional groups for the container user",
        engine: "HostConfig.GroupAdd",
        readBack: { kind: "read", computed: false, set: true, source: `${TF} funcs.go:974`, read: (c) => hc(c).GroupAdd ?? [] },
        change: { kind: "replace", source: `${TF} container.go:1118-1124 (ForceNew)` },
        apply: (p, v) => (p.hostConfig.GroupAdd = asStrings(v)),
    },
    {
        input: "ulimits[]",
        documented: "Ulimit options to add.",
        engine:
            "HostConfig.Ulimits = [{Name, Soft, Hard}] (terraform-provider-docker v4.5.0 resource_docker_container_funcs.go:119 " +
            "ulimitsToDockerUlimits, :283 hostConfig.Ulimits; resource_docker_container_structures.go:260-273)",
        readBack: {
            kind: "read",
            computed: false,
            set: true,
            source: `${TF} funcs.go:887-888 (flattenUlimits)`,
            read: (c) => ((hc(c).Ulimits ?? []) as Array<{ Name: string; Soft: number; Hard: number }>).map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard })),
        },
        change: { kind: "replace", source: `${TF} container.go:561-565 (ForceNew)` },
        apply: (p, v) =>
            (p.hostConfig.Ulimits = (Array.isArray(v) ? v : []).map((raw) => {
                const u = asRecord(raw);
                return { Name: asString(u.name), Soft: Number(u.soft), Hard: Number(u.hard) };
            })),
    },
    { input: "ulimits[].name", documented: "The name of the ulimit", engine: "HostConfig.Ulimits[].Name" },
    { input: "ulimits[].soft", documented: "The soft limit", engine: "HostConfig.Ulimits[].Soft" },
    { input: "ulimits[].hard", documented: "The hard limit", engine: "HostConfig.Ulimits[].Hard" },
    {
        input: "destroyGraceSeconds",
        documented: "If defined will attempt to stop the container before destroying. Container will be destroyed after `n` seconds or on successful stop.",
        engine: "not sent: POST /containers/<id>/stop?t=<n> on delete, then DELETE /containers/<id>?force=true&v=true (remove_volumes, default true: container.go:256-261, funcs.go:1100-1103)",
        readBack: { kind: "kept", source: `${TF} funcs.go:931 ("destroy_grace_seconds" can't be imported)` },
        change: { kind: "state", source: `${TF} container.go:827-831 (not ForceNew; used on delete, funcs.go:1084-1088)` },
        apply: (p, v) => (p.stopGraceSeconds = Number(v)),
    },
];

const ROWS = new Map(CONTAINER_INPUTS.map((r) => [r.input, r]));

/** Every leaf path of an input value, in the table's notation (`a[].b`, `a.*`). */
export function inputPaths(inputs: Record<string, unknown>): string[] {
    const paths = new Set<string>();
    const walk = (value: unknown, path: string): void => {
        if (Array.isArray(value)) {
            if (value.length === 0) paths.add(`${path}[]`);
            for (const item of value) walk(item, `${path}[]`);
        } else if (value !== null && typeof value === "object") {
            const mapRow = ROWS.get(`${path}.*`);
            if (mapRow) {
                paths.add(`${path}.*`);
                return;
            }
            for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
        } else {
            paths.add(path);
        }
    };
    walk(inputs, "");
    return [...paths].sort();
}

/**
 * The engine request for a container's inputs. Throws, naming every path, if an input has no row:
 * nothing the program sets may be silently skipped.
 */
export function containerPlan(inputs: Record<string, unknown>): ContainerPlan {
    const unmapped = inputPaths(inputs).filter((p) => !ROWS.has(p));
    if (unmapped.length > 0) {
        throw new Error(
            `container ${JSON.stringify(inputs.name)}: ${unmapped.length} input(s) with no row in engine/apply/containerInputs.ts: ` +
                `${unmapped.join(", ")}. Add a row citing the provider's documented meaning before the acceptance test can apply it.`,
        );
    }
    // Sent whatever the inputs: `init` (funcs.go:447-448, Init false unless set) and `network_mode`'s
    // default "bridge" (container.go:901-907, funcs.go:389-398); the restart default "no" (container.go:230-236).
    const plan: MutablePlan = {
        name: "",
        config: {},
        hostConfig: { Init: false, NetworkMode: "bridge", RestartPolicy: { Name: "no", MaximumRetryCount: 0 } },
        networks: [],
        wait: false,
        waitTimeoutSeconds: 60,
        stopGraceSeconds: 0,
    };
    for (const [key, value] of Object.entries(inputs)) {
        const row = ROWS.get(key) ?? ROWS.get(`${key}[]`) ?? ROWS.get(`${key}.*`);
        if (!row?.apply) throw new Error(`container input ${key}: its row has no apply`);
        row.apply(plan, value);
    }
    return plan;
}
