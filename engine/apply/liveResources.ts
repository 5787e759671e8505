/**
 * What each resource type of the program does on a real engine, as its provider would:
 * @pulumi/docker (provider, network, volume, image build, remote image, container),
 * @pulumi/command (local.Command) and @pulumi/random (RandomPassword). Container inputs go through
 * the table in containerInputs.ts; the other types' inputs are listed here, and an input that is
 * not listed is refused rather than ignored.
 */
import * as crypto from "crypto";
import { containerPlan, type ChangeKind, type ContainerInspect, type ContainerPlan } from "./containerInputs";
import { DockerApiError, dockerApi, type DockerApi } from "./dockerApi";
import { containerReadBack, containerStateAfterUpdate } from "./plan";
import { runProcess } from "./process";
import { refuseUnmapped } from "./unmappedInputs";
import { secretDriver, serviceDriver } from "./swarmResources";

export type Props = Record<string, unknown>;

/** What a step reports to its caller (for the log and the cold-start timeline). */
export interface StepReport {
    readonly message?: string;
    /** Container only: when it was started and when it was first seen healthy (ms since the epoch). */
    readonly startedAt?: number;
    readonly healthyAt?: number;
}

export interface Outputs {
    readonly id: string;
    readonly state: Props;
    readonly report?: StepReport;
}

/** What a change to each input of a type does, with the provider's source line (containers: containerInputs.ts). */
export type ChangeTable = Readonly<Record<string, { readonly kind: ChangeKind; readonly source: string }>>;

export interface ResourceDriver {
    /** Top-level inputs this driver understands (anything else is refused). */
    readonly inputs: readonly string[];
    /** What a change to each input does (every type but the container, whose rows are in containerInputs.ts). */
    readonly changes?: ChangeTable;
    create(ctx: DriverContext, name: string, inputs: Props): Promise<Outputs>;
    /** The provider's update, for an `update` step (absent: the type has no in-place change). */
    update?(ctx: DriverContext, name: string, inputs: Props, old: { id: string; state: Props }): Promise<Outputs>;
    /** The state after a `state-only` step: the provider's update changes nothing but the state. */
    stateOnly?(old: { state: Props }, inputs: Props): Props;
    delete(ctx: DriverContext, name: string, old: { id: string; state: Props; retainOnDelete: boolean }): Promise<StepReport | undefined>;
}

/**
 * A create that failed after the resource existed (a health wait that timed out): the provider has
 * set the id, so the bridge keeps it as a partially created resource with init errors
 * (pulumi-terraform-bridge pkg/tfbridge/provider.go:1362-1376, 1413 initializationError). Its state
 * is what the provider had before reading back (funcs.go:614-621 returns before the read at :673).
 */
export class PartialCreateError extends Error {
    constructor(
        message: string,
        readonly id: string,
        readonly state: Props,
    ) {
        super(message);
    }
}

export interface DriverContext {
    api: DockerApi;
    dockerHost: string;
    /** Where Commands run (the project directory, as the Pulumi CLI runs providers). */
    readonly cwd: string;
    readonly log: (line: string) => void;
}

const asRecord = (v: unknown): Props => (v !== null && typeof v === "object" ? (v as Props) : {});
const labelsMap = (v: unknown): Record<string, string> =>
    Object.fromEntries((Array.isArray(v) ? v : []).map((l) => [String(asRecord(l).label), String(asRecord(l).value)]));

function refuseUnknown(type: string, name: string, inputs: Props, known: readonly string[]): void {
    refuseUnmapped(`${type} ${name}`, inputs, known, "engine/apply/liveResources.ts");
}

// ---------------------------------------------------------------------------------------------
// pulumi:providers:docker

const providerDriver: ResourceDriver = {
    inputs: ["host", "version"],
    // Inferred: a provider's configuration change is not modelled beyond the state (no test changes it).
    changes: { host: { kind: "state", source: "inferred" }, version: { kind: "state", source: "inferred" } },
    stateOnly: (_old, inputs) => inputs,
    async create(ctx, name, inputs) {
        refuseUnknown("docker provider", name, inputs, this.inputs);
        ctx.dockerHost = String(inputs.host ?? "unix:///var/run/docker.sock");
        ctx.api = dockerApi(ctx.dockerHost);
        return { id: name, state: inputs };
    },
    async delete() {
        return undefined;
    },
};

// ---------------------------------------------------------------------------------------------
// random:index/randomPassword:RandomPassword (length, special, …): a fresh random value, as the
// provider generates once and keeps in state.

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = LOWER.toUpperCase();
const DIGITS = "0123456789";
const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

const RANDOM_REPLACE = { kind: "replace", source: "inferred: every argument of random_password forces a new password" } as const;
const randomPasswordDriver: ResourceDriver = {
    inputs: ["length", "special", "overrideSpecial", "upper", "lower", "numeric", "keepers"],
    changes: Object.fromEntries(["length", "special", "overrideSpecial", "upper", "lower", "numeric", "keepers"].map((k) => [k, RANDOM_REPLACE])),
    async create(_ctx, name, inputs) {
        refuseUnknown("RandomPassword", name, inputs, this.inputs);
        const alphabet =
            (inputs.lower === false ? "" : LOWER) +
            (inputs.upper === false ? "" : UPPER) +
            (inputs.numeric === false ? "" : DIGITS) +
            (inputs.special === false ? "" : String(inputs.overrideSpecial ?? DEFAULT_SPECIAL));
        const length = Number(inputs.length);
        let result = "";
        while (result.length < length) result += alphabet[crypto.randomInt(alphabet.length)];
        return { id: "none", state: { ...inputs, result } };
    },
    async delete() {
        return undefined;
    },
};

// ---------------------------------------------------------------------------------------------
// docker:index/network:Network and docker:index/volume:Volume

const networkDriver: ResourceDriver = {
    inputs: ["name", "driver", "labels", "internal", "attachable", "ipamConfigs"],
    changes: {
        name: { kind: "replace", source: "tf-docker resource_docker_network.go:25-30 (ForceNew)" },
        labels: { kind: "replace", source: "tf-docker resource_docker_network.go:32-37 (ForceNew)" },
        driver: { kind: "replace", source: "tf-docker resource_docker_network.go:40-45 (ForceNew)" },
        internal: { kind: "replace", source: "tf-docker resource_docker_network.go:56-61 (ForceNew)" },
        attachable: { kind: "replace", source: "tf-docker resource_docker_network.go:64-69 (ForceNew)" },
        ipamConfigs: { kind: "replace", source: "tf-docker resource_docker_network.go:99-135 (ForceNew)" },
    },
    async create(ctx, name, inputs) {
        refuseUnknown("Network", name, inputs, this.inputs);
        const created = await ctx.api.request<{ Id: string }>("POST", "/networks/create", {
            Name: inputs.name,
            Driver: inputs.driver ?? "bridge",
            Labels: labelsMap(inputs.labels),
            // `internal` (no route out): terraform-provider-docker v4.5.0 resource_docker_network_funcs.go:42-43.
            Internal: inputs.internal === true,
            // An overlay for swarm services: attachable and its subnet (resource_docker_network_funcs.go:45-72).
            Attachable: inputs.attachable === true,
            ...(Array.isArray(inputs.ipamConfigs)
                ? { IPAM: { Driver: "default", Config: inputs.ipamConfigs.map((c) => ({ Subnet: asRecord(c).subnet, ...(asRecord(c).gateway ? { Gateway: asRecord(c).gateway } : {}) })) } }
                : {}),
            CheckDuplicate: true,
        });
        return { id: created.Id, state: { ...inputs } };
    },
    async delete(ctx, _name, old) {
        await ignoreMissing(ctx.api.request("DELETE", `/networks/${old.id}`));
        return undefined;
    },
};

const volumeDriver: ResourceDriver = {
    inputs: ["name", "driver", "labels"],
    changes: {
        name: { kind: "replace", source: "tf-docker resource_docker_volume.go:41-46 (ForceNew)" },
        labels: { kind: "replace", source: "tf-docker resource_docker_volume.go:48-53 (ForceNew)" },
        driver: { kind: "replace", source: "tf-docker resource_docker_volume.go:55-60 (ForceNew)" },
    },
    async create(ctx, name, inputs) {
        refuseUnknown("Volume", name, inputs, this.inputs);
        const created = await ctx.api.request<{ Name: string; Mountpoint: string }>("POST", "/volumes/create", {
            Name: inputs.name,
            Driver: inputs.driver ?? "local",
            Labels: labelsMap(inputs.labels),
        });
        return { id: created.Name, state: { ...inputs, mountpoint: created.Mountpoint } };
    },
    async delete(ctx, _name, old) {
        if (old.retainOnDelete) return { message: `volume ${old.id} retained (retainOnDelete)` };
        await ignoreMissing(ctx.api.request("DELETE", `/volumes/${encodeURIComponent(old.id)}`));
        return undefined;
    },
};

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
    try {
        await p;
    } catch (err) {
        if (!(err instanceof DockerApiError && err.status === 404)) throw err;
    }
}

// ---------------------------------------------------------------------------------------------
// Images. docker.Image builds with BuildKit and, for a local image (skipPush), reports the image
// ID as `repoDigest` (documented: "For local images, this field is the image ID of the built local
// image"). docker.RemoteImage uses a local image of that name if there is one, else pulls; its
// `imageId` is the image ID. Neither deletes the image when destroyed (keepLocally / provider note).

async function imageId(ctx: DriverContext, reference: string): Promise<{ Id: string; RepoDigests?: string[] } | undefined> {
    try {
        return await ctx.api.request<{ Id: string; RepoDigests?: string[] }>("GET", `/images/${encodeURIComponent(reference)}/json`);
    } catch (err) {
        if (err instanceof DockerApiError && err.status === 404) return undefined;
        throw err;
    }
}

const buildImage = async (ctx: DriverContext, name: string, inputs: Props): Promise<Outputs> => {
    refuseUnknown("Image", name, inputs, imageDriver.inputs);
    const build = asRecord(inputs.build);
    // contextDigest: added by the provider's Check (provider.go:202-207); applyStack computes it (contextDigest.ts).
    const knownBuild = ["context", "dockerfile", "args", "contextDigest"];
    const unknownBuild = Object.keys(build).filter((k) => !knownBuild.includes(k));
    if (unknownBuild.length > 0) throw new Error(`Image ${name}: build input(s) ${unknownBuild.join(", ")} not mapped`);
    if (inputs.skipPush !== true) throw new Error(`Image ${name}: only local images (skipPush: true) can be applied here (no registry)`);
    const args = ["build", "--quiet", "--tag", String(inputs.imageName)];
    if (build.dockerfile !== undefined) args.push("--file", String(build.dockerfile));
    for (const [k, v] of Object.entries(asRecord(build.args))) args.push("--build-arg", `${k}=${String(v)}`);
    args.push(String(build.context ?? "."));
    const env = { ...process.env, DOCKER_HOST: ctx.dockerHost, DOCKER_BUILDKIT: "1" };
    // Relative contexts resolve from the project folder, where the CLI runs the provider.
    const r = await runProcess("docker", args, { env, cwd: ctx.cwd });
    if (r.code !== 0) throw new Error(`Image ${name}: docker build failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
    const built = await imageId(ctx, String(inputs.imageName));
    if (!built) throw new Error(`Image ${name}: built, but ${String(inputs.imageName)} is not in the engine`);
    return { id: built.Id, state: { ...inputs, imageName: inputs.imageName, repoDigest: built.Id } };
};

// pulumi-docker provider/provider.go: Diff reports any change of the inputs (build.contextDigest
// included) as an update (:271-330), and Update builds again (:428-488).
const IMAGE_UPDATE = { kind: "update", source: "pulumi-docker provider/provider.go:271-330, 428-488 (rebuild)" } as const;
const imageDriver: ResourceDriver = {
    inputs: ["imageName", "build", "skipPush", "buildOnPreview"],
    changes: { imageName: IMAGE_UPDATE, build: IMAGE_UPDATE, skipPush: IMAGE_UPDATE, buildOnPreview: IMAGE_UPDATE },
    create: buildImage,
    update: (ctx, name, inputs) => buildImage(ctx, name, inputs),
    async delete() {
        return undefined;
    },
};

const remoteImageDriver: ResourceDriver = {
    inputs: ["name", "keepLocally"],
    changes: {
        name: { kind: "replace", source: "tf-docker resource_docker_image.go:36-40 (ForceNew)" },
        keepLocally: { kind: "state", source: "tf-docker resource_docker_image.go:55-60 (not ForceNew; used on delete)" },
    },
    stateOnly: (old, inputs) => ({ ...old.state, ...inputs }),
    async create(ctx, name, inputs) {
        refuseUnknown("RemoteImage", name, inputs, this.inputs);
        const found = await imageId(ctx, String(inputs.name));
        if (!found) {
            throw new Error(`RemoteImage ${name}: ${String(inputs.name)} is not in the engine and nothing can be pulled here`);
        }
        return { id: found.Id, state: { ...inputs, imageId: found.Id, repoDigest: found.RepoDigests?.[0] ?? "" } };
    },
    async delete() {
        return undefined;
    },
};

// ---------------------------------------------------------------------------------------------
// docker:index/container:Container: create, connect networks, start, wait until healthy.

const HEALTH_POLL_MS = 1000; // the provider's waitForHealthyState sleeps one second between inspects

interface Inspect extends ContainerInspect {
    Id: string;
    State: { Running: boolean; Status: string; ExitCode: number; StartedAt: string; Health?: { Status: string; Log?: Array<{ ExitCode: number; Output: string; End: string }> } };
}

interface Created {
    readonly id: string;
    readonly inspect: Inspect;
    readonly report: StepReport;
}

async function createContainer(ctx: DriverContext, plan: ContainerPlan, inputs: Props): Promise<Created> {
    const created = await ctx.api.request<{ Id: string }>("POST", `/containers/create?name=${encodeURIComponent(plan.name)}`, {
        ...plan.config,
        HostConfig: plan.hostConfig,
    });
    const id = created.Id;
    if (plan.networks.length > 0) {
        try {
            await ctx.api.request("POST", "/networks/bridge/disconnect", { Container: id, Force: false });
        } catch (err) {
            if (!(err instanceof DockerApiError && /not connected/.test(err.body))) throw err;
        }
        for (const n of plan.networks) {
            await ctx.api.request("POST", `/networks/${encodeURIComponent(n.name)}/connect`, {
                Container: id,
                EndpointConfig: { Aliases: n.aliases },
            });
        }
    }
    await ctx.api.request("POST", `/containers/${id}/start`);
    const startedAt = Date.now();
    let healthyAt: number | undefined;
    if (plan.wait) {
        const deadline = startedAt + plan.waitTimeoutSeconds * 1000;
        for (;;) {
            const info = await ctx.api.request<Inspect>("GET", `/containers/${id}/json`);
            if (info.State.Health?.Status === "healthy") {
                healthyAt = Date.now();
                break;
            }
            if (Date.now() + HEALTH_POLL_MS > deadline) {
                // funcs.go:614-621: the id is set (:460), so the container stays in state, not read back.
                throw new PartialCreateError(
                    `container ${plan.name} failed to be in healthy state within ${plan.waitTimeoutSeconds}s: ${await describe(ctx, id, info)}`,
                    id,
                    { ...inputs },
                );
            }
            await new Promise((r) => setTimeout(r, HEALTH_POLL_MS));
        }
    }
    // The provider's read then requires the container to be running (must_run defaults to true).
    const info = await ctx.api.request<Inspect>("GET", `/containers/${id}/json`);
    if (!info.State.Running) throw new Error(`container ${plan.name} is not running: ${await describe(ctx, id, info)}`);
    return { id, inspect: info, report: { startedAt, healthyAt } };
}

/** State, last health-check output and the log's tail: what a user would look at. */
async function describe(ctx: DriverContext, id: string, info: Inspect): Promise<string> {
    const health = info.State.Health?.Log?.at(-1);
    const logs = await runProcess("docker", ["logs", "--tail", "30", id], { env: { ...process.env, DOCKER_HOST: ctx.dockerHost } });
    return (
        `status ${info.State.Status} (exit ${info.State.ExitCode}), health ${info.State.Health?.Status ?? "none"}` +
        (health ? `; last check exit ${health.ExitCode}: ${health.Output.trim().slice(0, 500)}` : "") +
        `\n--- container log (last 30 lines) ---\n${(logs.stdout + logs.stderr).trim()}`
    );
}

// resourceDockerContainerDelete (funcs.go:1084-1103): stop with the grace period, then remove with force and
// RemoveVolumes = remove_volumes, which defaults to true (container.go:256-261) and the program never sets: the
// container's anonymous volumes go with it (a named volume never does).
async function removeContainer(ctx: DriverContext, id: string, graceSeconds: number): Promise<void> {
    await ignoreMissing(ctx.api.request("POST", `/containers/${id}/stop?t=${graceSeconds}`));
    await ignoreMissing(ctx.api.request("DELETE", `/containers/${id}?force=true&v=true`));
}

const containerDriver: ResourceDriver = {
    inputs: [], // checked by containerPlan against the table
    async create(ctx, _name, inputs) {
        const created = await createContainer(ctx, containerPlan(inputs), inputs);
        // Create ends with the read (funcs.go:673): the state is what the provider reads back.
        return { id: created.id, state: containerReadBack(inputs, created.inspect), report: created.report };
    },
    // resourceDockerContainerUpdate (funcs.go:1015-1072): when any of its attributes changed, one
    // ContainerUpdate with the restart policy and all resources; no read back afterwards.
    async update(ctx, _name, inputs, old) {
        const plan = containerPlan(inputs);
        const updated = containerStateAfterUpdate(old.state, inputs);
        const inPlace = ["restart", "memory", "memoryReservation", "memorySwap"];
        if (inPlace.some((k) => JSON.stringify(old.state[k]) !== JSON.stringify(updated[k]))) {
            await ctx.api.request("POST", `/containers/${old.id}/update`, {
                RestartPolicy: plan.hostConfig.RestartPolicy,
                Memory: plan.hostConfig.Memory ?? 0,
                MemoryReservation: plan.hostConfig.MemoryReservation ?? 0,
                ...(plan.hostConfig.MemorySwap !== undefined ? { MemorySwap: plan.hostConfig.MemorySwap } : {}),
            });
        }
        return { id: old.id, state: updated };
    },
    stateOnly: (old, inputs) => containerStateAfterUpdate(old.state, inputs),
    async delete(ctx, _name, old) {
        await removeContainer(ctx, old.id, Number(old.state.destroyGraceSeconds ?? 0));
        return undefined;
    },
};

// ---------------------------------------------------------------------------------------------
// command:local:Command: `create` on create, `update` (else `create`) on update, `delete` on delete,
// run by the interpreter (default /bin/sh -c) with the process environment plus `environment`.
// A non-zero exit fails the step with its output.

// @pulumi/command 1.2.1: `triggers` is replaceOnChanges (common/inputs.go:10); any other change is an
// update, which runs `update`, else `create` (local/commandController.go:67-90).
const COMMAND_UPDATE = { kind: "update", source: "pulumi-command local/commandController.go:67-90" } as const;
const commandDriver: ResourceDriver = {
    inputs: ["create", "update", "delete", "environment", "triggers", "logging", "dir", "interpreter", "stdin", "addPreviousOutputInEnv"],
    changes: {
        ...Object.fromEntries(["create", "update", "delete", "environment", "logging", "dir", "interpreter", "stdin", "addPreviousOutputInEnv"].map((k) => [k, COMMAND_UPDATE])),
        triggers: { kind: "replace", source: "pulumi-command common/inputs.go:10 (provider:\"replaceOnChanges\")" },
    },
    async create(ctx, name, inputs) {
        refuseUnknown("Command", name, inputs, this.inputs);
        const result = inputs.create === undefined ? { stdout: "", stderr: "" } : await runCommand(ctx, name, "create", String(inputs.create), inputs, {});
        return { id: `${name}-${crypto.randomBytes(4).toString("hex")}`, state: { ...inputs, ...result }, report: { message: result.stdout.trim().split("\n").at(-1) } };
    },
    async update(ctx, name, inputs, old) {
        refuseUnknown("Command", name, inputs, this.inputs);
        const script = inputs.update ?? inputs.create;
        const result = script === undefined ? { stdout: "", stderr: "" } : await runCommand(ctx, name, "update", String(script), inputs, old.state);
        return { id: old.id, state: { ...inputs, ...result }, report: { message: result.stdout.trim().split("\n").at(-1) } };
    },
    async delete(ctx, name, old) {
        if (old.state.delete === undefined) return undefined;
        const result = await runCommand(ctx, name, "delete", String(old.state.delete), old.state, old.state);
        return { message: result.stdout.trim().split("\n").at(-1) };
    },
};

async function runCommand(ctx: DriverContext, name: string, step: string, script: string, inputs: Props, previous: Props): Promise<{ stdout: string; stderr: string }> {
    const interpreter = Array.isArray(inputs.interpreter) ? inputs.interpreter.map(String) : ["/bin/sh", "-c"];
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [k, v] of Object.entries(asRecord(inputs.environment))) env[k] = String(v);
    if (inputs.addPreviousOutputInEnv !== false && previous.stdout !== undefined) {
        env.PULUMI_COMMAND_STDOUT = String(previous.stdout);
        env.PULUMI_COMMAND_STDERR = String(previous.stderr ?? "");
    }
    const [file, ...args] = interpreter;
    const r = await runProcess(file, [...args, script], {
        env,
        cwd: inputs.dir === undefined ? ctx.cwd : String(inputs.dir),
        stdin: inputs.stdin === undefined ? undefined : String(inputs.stdin),
    });
    if (inputs.logging !== "none") {
        for (const line of `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.length > 0)) ctx.log(`  [${name} ${step}] ${line}`);
    }
    if (r.code !== 0) {
        throw new Error(`Command ${name} ${step} failed with exit ${r.code}:\n${(r.stdout + r.stderr).trim().slice(-4000)}`);
    }
    // Stored without the final newline (local/commandOutputs.go:142-143).
    return { stdout: r.stdout.replace(/\n$/, ""), stderr: r.stderr.replace(/\n$/, "") };
}

export const DRIVERS: Readonly<Record<string, ResourceDriver>> = {
    "pulumi:providers:docker": providerDriver,
    "random:index/randomPassword:RandomPassword": randomPasswordDriver,
    "docker:index/network:Network": networkDriver,
    "docker:index/volume:Volume": volumeDriver,
    "docker:index/image:Image": imageDriver,
    "docker:index/remoteImage:RemoteImage": remoteImageDriver,
    "docker:index/container:Container": containerDriver,
    "command:local:Command": commandDriver,
    "docker:index/service:Service": serviceDriver,
    "docker:index/secret:Secret": secretDriver,
};
