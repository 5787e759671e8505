/**
 * THE table: how each input of a `docker:index/container:Container` becomes a Docker Engine API
 * field, the way @pulumi/docker's provider (the bridged kreuzwerker terraform-provider-docker,
 * `resourceDockerContainerCreate`) builds its ContainerCreate request. Each row quotes the input's
 * documented meaning from @pulumi/docker's own SDK docs (container.d.ts, types/input.d.ts).
 *
 * `containerPlan` refuses any input that no row maps: a new container setting in the program
 * cannot be skipped silently by the engine acceptance test; it must get a row here first.
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

export interface InputMapping {
    /** Input path: `a`, `a.b`, `a[]` (list), `a[].b`, `a.*` (map entries). */
    readonly input: string;
    /** The provider's documented meaning of the input (quoted from @pulumi/docker's SDK docs). */
    readonly documented: string;
    /** Where it lands in the engine. */
    readonly engine: string;
    /** Applies the input's whole value (for a nested path, the parent row applies it; the row documents it). */
    readonly apply?: (plan: MutablePlan, value: unknown) => void;
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

export const CONTAINER_INPUTS: readonly InputMapping[] = [
    {
        input: "name",
        documented: "The name of the container.",
        engine: "POST /containers/create?name=<name>",
        apply: (p, v) => (p.name = asString(v)),
    },
    {
        input: "image",
        documented: "The ID of the image to back this container.",
        engine: "Config.Image",
        apply: (p, v) => (p.config.Image = asString(v)),
    },
    {
        input: "envs[]",
        documented: "Environment variables to set in the form of `KEY=VALUE`, e.g. `DEBUG=0`",
        engine: "Config.Env",
        apply: (p, v) => (p.config.Env = asStrings(v)),
    },
    {
        input: "labels[]",
        documented: "User-defined key/value metadata",
        engine: "Config.Labels (map label → value)",
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
        apply: (p, v) => (p.config.User = asString(v)),
    },
    {
        input: "restart",
        documented: "The restart policy for the container. Must be one of 'no', 'on-failure', 'always', 'unless-stopped'. Defaults to `no`.",
        engine: "HostConfig.RestartPolicy.Name",
        apply: (p, v) => (p.hostConfig.RestartPolicy = { Name: asString(v), MaximumRetryCount: 0 }),
    },
    {
        input: "memory",
        documented: "The memory limit for the container in MBs.",
        engine: "HostConfig.Memory = MB × 1024 × 1024 (bytes)",
        apply: (p, v) => (p.hostConfig.Memory = Number(v) * MIB),
    },
    {
        input: "memorySwap",
        documented: "The total memory limit (memory + swap) for the container in MBs. This setting may compute to `-1` after `terraform apply` if the target host doesn't support memory swap, when that is the case docker will use a soft limitation.",
        engine: "HostConfig.MemorySwap = MB × 1024 × 1024 (bytes; -1 stays -1)",
        apply: (p, v) => (p.hostConfig.MemorySwap = Number(v) > 0 ? Number(v) * MIB : Number(v)),
    },
    {
        input: "memoryReservation",
        documented: "The memory-resveration for the container in MBs. … a soft limit smaller than `memory`",
        engine: "HostConfig.MemoryReservation = MB × 1024 × 1024 (bytes)",
        apply: (p, v) => (p.hostConfig.MemoryReservation = Number(v) * MIB),
    },
    {
        input: "cpus",
        documented: "Specify how much of the available CPU resources a container can use. e.g a value of 1.5 means the container is guaranteed at most one and a half of the CPUs.",
        engine: "HostConfig.NanoCpus = cpus × 10^9 (docker's opts.ParseCPUs)",
        apply: (p, v) => {
            const cpus = Number(v);
            if (!Number.isFinite(cpus) || cpus <= 0) throw new Error(`cpus must be a positive number, got ${JSON.stringify(v)}`);
            p.hostConfig.NanoCpus = Math.round(cpus * 1e9);
        },
    },
    {
        input: "healthcheck",
        documented: "A test to perform to check that the container is healthy",
        engine: "Config.Healthcheck (durations parsed with Go's time.ParseDuration into nanoseconds)",
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
        apply: (p, v) => (p.wait = v === true),
    },
    {
        input: "waitTimeout",
        documented: "The timeout in seconds to wait the container to be healthy after creation. Defaults to `60`.",
        engine: "not sent: the bound of that wait; exceeding it fails the create",
        apply: (p, v) => (p.waitTimeoutSeconds = Number(v)),
    },
    {
        input: "ports[]",
        documented: "Publish a container's port(s) to the host.",
        engine: "Config.ExposedPorts[\"<internal>/<protocol>\"] and HostConfig.PortBindings[\"<internal>/<protocol>\"] = [{HostIp, HostPort}]",
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
        apply: (p, v) => (p.hostConfig.LogConfig = { ...asRecord(p.hostConfig.LogConfig), Type: asString(v) }),
    },
    {
        input: "logOpts.*",
        documented: "Key/value pairs to use as options for the logging driver.",
        engine: "HostConfig.LogConfig.Config",
        apply: (p, v) => {
            const opts = Object.fromEntries(Object.entries(asRecord(v)).map(([k, x]) => [k, asString(x)]));
            p.hostConfig.LogConfig = { ...asRecord(p.hostConfig.LogConfig), Config: opts };
        },
    },
    {
        input: "readOnly",
        documented: "If `true`, the container will be started as readonly. Defaults to `false`.",
        engine: "HostConfig.ReadonlyRootfs",
        apply: (p, v) => (p.hostConfig.ReadonlyRootfs = v === true),
    },
    {
        input: "tmpfs.*",
        documented: "A map of container directories which should be replaced by `tmpfs mounts`, and their corresponding mount options.",
        engine: "HostConfig.Tmpfs (path → mount options)",
        apply: (p, v) => (p.hostConfig.Tmpfs = Object.fromEntries(Object.entries(asRecord(v)).map(([k, x]) => [k, asString(x)]))),
    },
    {
        input: "securityOpts[]",
        documented: "List of string values to customize labels for MLS systems, such as SELinux. See https://docs.docker.com/engine/reference/run/#security-configuration.",
        engine: "HostConfig.SecurityOpt",
        apply: (p, v) => (p.hostConfig.SecurityOpt = asStrings(v)),
    },
    {
        input: "capabilities",
        documented: "Add or drop certain linux capabilities.",
        engine: "HostConfig.CapAdd / HostConfig.CapDrop",
        apply: (p, v) => {
            const c = asRecord(v);
            p.hostConfig.CapAdd = asStrings(c.adds);
            p.hostConfig.CapDrop = asStrings(c.drops);
        },
    },
    { input: "capabilities.adds[]", documented: "List of linux capabilities to add.", engine: "HostConfig.CapAdd" },
    { input: "capabilities.drops[]", documented: "List of linux capabilities to drop.", engine: "HostConfig.CapDrop" },
    {
        input: "groupAdds[]",
        documented: "Additional groups for the container user",
        engine: "HostConfig.GroupAdd",
        apply: (p, v) => (p.hostConfig.GroupAdd = asStrings(v)),
    },
    {
        input: "destroyGraceSeconds",
        documented: "If defined will attempt to stop the container before destroying. Container will be destroyed after `n` seconds or on successful stop.",
        engine: "not sent: POST /containers/<id>/stop?t=<n> on delete, then DELETE /containers/<id>?force=true",
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
    const plan: MutablePlan = { name: "", config: {}, hostConfig: {}, networks: [], wait: false, waitTimeoutSeconds: 60, stopGraceSeconds: 0 };
    for (const [key, value] of Object.entries(inputs)) {
        const row = ROWS.get(key) ?? ROWS.get(`${key}[]`) ?? ROWS.get(`${key}.*`);
        if (!row?.apply) throw new Error(`container input ${key}: its row has no apply`);
        row.apply(plan, value);
    }
    return plan;
}
