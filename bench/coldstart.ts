/**
 * `npm run bench:coldstart`: how long a cold start of the whole stack takes on this machine's engine,
 * from the first container create to the last container healthy, with the program's own specs
 * applied as `pulumi up` would (engine/apply), 3 runs (HOMEIQ_BENCH_RUNS), beside the same graph
 * with the old compose files' health settings (interval 30s, no start interval), and beside the
 * engine's floor.
 *
 * The floor, per run: the longest path through the containers' dependency graph where each
 * container costs what the engine itself needs before a dependent may start: its create+start
 * (measured) plus one health probe (the duration of its first passing probe, from the engine's
 * health log). An orchestrator that started each container the moment its dependencies passed one
 * probe, and probed the instant a container started, would take exactly this long.
 *
 * Uses the prod stack file under the test name itest-bench (nothing of a real stack is touched)
 * and the stand-in images, which boot instantly (engine/README.md). Run `npm run test:engine` once
 * first, or let this build the stand-ins (engine/build-stack-standins.sh).
 *
 * `-- --target swarm`: also the same stack with homeiq:target swarm on a single-node swarm of its own
 * (engine/swarm-nodes.sh; the shared engine never enters swarm mode), from the first service create to
 * the last service converged healthy, each run on a node without the stack's volumes (a cold start, as
 * each host run is). Beside it the swarm floor: the longest dependency path where each service costs
 * its create → its task running (swarm marks a task with a health check running once its first probe
 * passes). Per dependency level, where the time goes: from each service's create to its container
 * started (scheduling, volumes, network, start), to its task healthy (the health interval: services
 * have no start interval), and to the convergence poll that saw it (the provider polls at the converge
 * delay, then +5 s, +15 s …: docs/provider-behaviour.md, Swarm).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SERVICE_CATALOG, SERVICE_KEYS } from "../catalog/services";
import { HEALTH_CHECK_TIMING } from "../components/homeiqService";
import { CONVERGE_DELAY, SWARM_HEALTH_INTERVAL } from "../components/swarmPlatform";
import { convergePollOffsets, parseGoDuration } from "../engine/apply/swarmResources";
import { applyStack, destroyStack, ApplyError, type ApplyResult } from "../engine/apply/applyStack";
import type { Props } from "../engine/apply/liveResources";
import { docker } from "../test/engine/helpers";
import { inspect, removeTestStack, testOverrides, TEST_SECRET_KEYS, TEST_STACK_PREFIX, type TestProject } from "../test/engine/stack-helpers";

const RUNS = Number(process.env.HOMEIQ_BENCH_RUNS ?? 3);
const CONTAINER = "docker:index/container:Container";
const SERVICE = "docker:index/service:Service";
/** HOMEIQ_BENCH_PORT_BASE: host ports base, base+1, … instead of each default port + 20000 (when another stack holds those). */
const PORT_BASE = Number(process.env.HOMEIQ_BENCH_PORT_BASE ?? 0);
const SWARM = process.argv.includes("--target") && process.argv[process.argv.indexOf("--target") + 1] === "swarm";
const REPO = path.resolve(__dirname, "..");
/** The provider's convergence polls after a service create, in seconds (docs/provider-behaviour.md, Swarm). */
const POLLS = convergePollOffsets(parseGoDuration(CONVERGE_DELAY) / 1e6, 300_000).map((ms) => ms / 1000);

/** The old compose files' health settings: interval 30s, timeout 10s, retries 3, no start interval. */
function oldComposeHealth(type: string, _name: string, inputs: Props): Props {
    if (type !== CONTAINER) return inputs;
    const health = inputs.healthcheck as Props;
    const { startInterval: _dropped, ...rest } = health;
    return { ...inputs, healthcheck: { ...rest, interval: "30s", timeout: "10s", retries: 3 } };
}

interface RunFigures {
    readonly seconds: number;
    readonly floorSeconds: number;
    readonly levels: number;
}

const parseTime = (t: string): number => Date.parse(t);

/**
 * The resources of `type` that `urn` depends on, through resources of other types (a Command between two
 * containers or services, e.g. swarm's limits Command, is passed through, not a level of its own).
 */
function dependsOnTyped(result: ApplyResult, type: string): (urn: string) => string[] {
    const all = new Map(result.synth.resources.map((r) => [r.urn, r]));
    const memo = new Map<string, string[]>();
    const through = (urn: string): string[] => {
        const known = memo.get(urn);
        if (known) return known;
        memo.set(urn, []);
        const out = new Set<string>();
        for (const d of all.get(urn)?.dependencies ?? []) {
            if (all.get(d)?.type === type) out.add(d);
            else for (const x of through(d)) out.add(x);
        }
        const value = [...out];
        memo.set(urn, value);
        return value;
    };
    return through;
}

function figures(result: ApplyResult): RunFigures {
    const containers = result.synth.resources.filter((r) => r.type === CONTAINER);
    const containerDeps = dependsOnTyped(result, CONTAINER);
    const created = new Map(result.events.filter((e) => e.type === CONTAINER).map((e) => [e.name, e]));
    const first = Math.min(...[...created.values()].map((e) => e.start));
    const last = Math.max(...[...created.values()].map((e) => e.report!.healthyAt!));

    // Per container: create+start as measured, plus its first passing probe's duration.
    const cost = new Map<string, number>();
    for (const c of containers) {
        const e = created.get(c.name)!;
        const info = inspect(String(c.inputs.name));
        const passing = (info.State.Health?.Log ?? []).find((l) => l.ExitCode === 0);
        const probeMs = passing ? parseTime(passing.End) - parseTime(passing.Start) : 0;
        cost.set(c.urn, e.report!.startedAt! - e.start + probeMs);
    }
    const memo = new Map<string, { ms: number; levels: number }>();
    const longest = (urn: string): { ms: number; levels: number } => {
        const known = memo.get(urn);
        if (known) return known;
        const deps = containerDeps(urn).map(longest);
        const before = deps.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0, levels: 0 });
        const value = { ms: before.ms + cost.get(urn)!, levels: before.levels + 1 };
        memo.set(urn, value);
        return value;
    };
    const critical = containers.map((c) => longest(c.urn)).reduce((a, b) => (b.ms > a.ms ? b : a));
    return { seconds: (last - first) / 1000, floorSeconds: critical.ms / 1000, levels: critical.levels };
}

function project(): TestProject {
    const stack = `${TEST_STACK_PREFIX}bench`;
    const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-bench-"));
    fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(projectDir, "Pulumi.yaml"));
    fs.copyFileSync(path.join(REPO, "Pulumi.prod.yaml"), path.join(projectDir, `Pulumi.${stack}.yaml`));
    const backupRoot = path.join(projectDir, "backups");
    fs.mkdirSync(backupRoot);
    return { stack, projectDir, backupRoot };
}

async function once(p: TestProject, oldHealth: boolean): Promise<RunFigures> {
    removeTestStack(p.stack);
    let result: ApplyResult | undefined;
    try {
        result = await applyStack(p.stack, {
            projectDir: p.projectDir,
            configOverrides: testOverrides(p, {
                "homeiq:postDeployValidation": "false",
                "homeiq:healthWaitTimeoutSeconds": "300",
                // Ports of their own, so the benchmark can run beside the acceptance test's itest-prod.
                "homeiq:hostPorts": JSON.stringify(SERVICE_KEYS.map((k, i) => `${k}=${PORT_BASE ? PORT_BASE + i : SERVICE_CATALOG[k].defaultHostPort + 20000}`)),
            }),
            secretOverrides: TEST_SECRET_KEYS,
            transformInputs: oldHealth ? oldComposeHealth : undefined,
            log: () => undefined,
        });
        return figures(result);
    } catch (err) {
        if (err instanceof ApplyError) await destroyStack(err.state, { log: () => undefined });
        throw err;
    } finally {
        if (result) await destroyStack(result.state, { log: () => undefined });
        removeTestStack(p.stack);
    }
}

const stats = (xs: number[]): { min: number; median: number; max: number } => {
    const s = [...xs].sort((a, b) => a - b);
    return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};
const fmt = (x: { min: number; median: number; max: number }, unit = "s"): string =>
    `min ${x.min.toFixed(2)}${unit}  median ${x.median.toFixed(2)}${unit}  max ${x.max.toFixed(2)}${unit}`;

/** One service of a swarm run: seconds from its create request to each point of its way to converged. */
interface SwarmService {
    readonly name: string;
    /** create request → its task's container started (scheduling, volumes, network, container start). */
    readonly started: number;
    /** → its first task's first passing health probe (the health interval: no start interval on swarm). */
    readonly healthy: number;
    /** → the provider's convergence poll saw it running (create returned). */
    readonly seen: number;
    /** → ready for its dependents: its limits Command (scripts/swarm/limits.sh, a rolling update of the service) done. */
    readonly ready: number;
}

interface SwarmFigures {
    readonly seconds: number;
    /** Longest dependency path where each service costs create → first task healthy: what swarm itself needs for one task per service. */
    readonly floorSeconds: number;
    /** Per dependency level: its services and wall seconds from the level's first create to its last converged. */
    readonly levels: ReadonlyArray<{ services: SwarmService[]; seconds: number }>;
}

/** The swarm run's figures: services by dependency level (their longest path of Service dependencies). */
function swarmFigures(result: ApplyResult, dockerHost: string): SwarmFigures {
    const services = result.synth.resources.filter((r) => r.type === SERVICE);
    const serviceDeps = dependsOnTyped(result, SERVICE);
    const events = new Map(result.events.filter((e) => e.type === SERVICE).map((e) => [e.name, e]));
    // From the node: the service's first task's container (the limits Command then replaces the task: ps -a lists
    // newest first), when it started and passed its first probe (a short-lived container: its health log, which
    // keeps the last 5 probes, still has the first). Same clock: one machine.
    const limits = new Map(result.events.filter((e) => e.type === "command:local:Command" && e.name.endsWith("-limits")).map((e) => [e.name, e]));
    const timing = new Map<string, SwarmService>();
    for (const r of services) {
        const e = events.get(r.name)!;
        const service = String(r.inputs.name);
        const ids = docker(["-H", dockerHost, "ps", "-a", "-q", "--filter", `label=com.docker.swarm.service.name=${service}`]).stdout.trim().split("\n");
        const first = JSON.parse(docker(["-H", dockerHost, "inspect", ids[ids.length - 1]]).stdout)[0] as { State: { StartedAt: string; Health?: { Log: Array<{ End: string; ExitCode: number }> } } };
        const passing = (first.State.Health?.Log ?? []).find((l) => l.ExitCode === 0);
        if (!passing) throw new Error(`${service}: no passing probe in its first task's health log`);
        const limited = limits.get(`${r.name}-limits`);
        const s = (t: number): number => (t - e.start) / 1000;
        timing.set(r.urn, {
            name: r.name.replace(/^homeiq-/, ""),
            started: s(parseTime(first.State.StartedAt)),
            healthy: s(parseTime(passing.End)),
            seen: s(e.end),
            ready: s(limited ? limited.end : e.end),
        });
    }
    const depth = new Map<string, number>();
    const levelOf = (urn: string): number => {
        const known = depth.get(urn);
        if (known !== undefined) return known;
        const deps = serviceDeps(urn).map(levelOf);
        const value = deps.length === 0 ? 0 : Math.max(...deps) + 1;
        depth.set(urn, value);
        return value;
    };
    const floor = new Map<string, number>();
    const floorOf = (urn: string): number => {
        const known = floor.get(urn);
        if (known !== undefined) return known;
        const value = Math.max(0, ...serviceDeps(urn).map(floorOf)) + timing.get(urn)!.healthy;
        floor.set(urn, value);
        return value;
    };
    const levels: Array<{ services: SwarmService[]; seconds: number }> = [];
    const spans: Array<{ start: number; end: number }> = [];
    for (const r of services) {
        const l = levelOf(r.urn);
        levels[l] ??= { services: [], seconds: 0 };
        levels[l].services.push(timing.get(r.urn)!);
        const e = events.get(r.name)!;
        spans[l] = { start: Math.min(spans[l]?.start ?? Infinity, e.start), end: Math.max(spans[l]?.end ?? 0, e.end) };
    }
    levels.forEach((level, i) => (level.seconds = (spans[i].end - spans[i].start) / 1000));
    const all = [...events.values()];
    return {
        seconds: (Math.max(...all.map((e) => e.end)) - Math.min(...all.map((e) => e.start))) / 1000,
        floorSeconds: Math.max(...services.map((r) => floorOf(r.urn))),
        levels,
    };
}

/** Removes the bench stack's volumes from the node: each swarm run is a cold start on an empty node, as each host run is (removeTestStack). */
function removeNodeVolumes(dockerHost: string, stack: string, allowFail = false): void {
    const volumes = docker(["-H", dockerHost, "volume", "ls", "-q", "--filter", `name=${stack}-`]).stdout.split("\n").filter((v) => v.startsWith(`${stack}-`));
    if (volumes.length) docker(["-H", dockerHost, "volume", "rm", ...volumes], { allowFail });
}

async function swarmOnce(p: TestProject, dockerHost: string, hostname: string): Promise<SwarmFigures> {
    // Without this, a run would find the previous run's InfluxDB volume, set up with the previous run's generated
    // operator token (homeiq:influxdbAdminToken is generated per stack, and destroy keeps the data volumes).
    removeNodeVolumes(dockerHost, p.stack);
    let result: ApplyResult | undefined;
    try {
        result = await applyStack(p.stack, {
            projectDir: p.projectDir,
            configOverrides: testOverrides(p, {
                "homeiq:postDeployValidation": "false",
                "homeiq:healthWaitTimeoutSeconds": "300",
                "homeiq:dockerHost": dockerHost,
                "homeiq:target": "swarm",
                "homeiq:swarmNodes": JSON.stringify([`${hostname}=data+apps`]),
                // Clear of the swarm's own address pool (engine/swarm-nodes.sh: 10.243.0.0/16, ingress included).
                "homeiq:swarmSubnet": "10.244.99.0/24",
            }),
            secretOverrides: TEST_SECRET_KEYS,
            log: () => undefined,
        });
        return swarmFigures(result, dockerHost);
    } catch (err) {
        if (err instanceof ApplyError) await destroyStack(err.state, { log: () => undefined });
        throw err;
    } finally {
        if (result) await destroyStack(result.state, { log: () => undefined });
        removeNodeVolumes(dockerHost, p.stack, true); // best effort: the next run's own removal must succeed
    }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The swarm runs on a single-node swarm of their own; their report. */
async function swarmRuns(p: TestProject): Promise<string[]> {
    const nodes = path.join(REPO, "engine", "swarm-nodes.sh");
    const name = "bench-swarm";
    spawnSync("bash", [nodes, "down", name], { stdio: "ignore" });
    const images = ["homeiq-standin/python-appuser:stack", "homeiq-standin/python-root:stack", "homeiq-standin/nginx:stack", "homeiq-standin/influxdb:stack", "homeiq-standin/debian:stack"];
    const up = spawnSync("bash", [nodes, "up", name, "1", "10.242.99", ...images], { encoding: "utf8" });
    if (up.status !== 0) throw new Error(`engine/swarm-nodes.sh up failed: ${up.stderr}`);
    const [, , hostname, , dockerHost] = up.stdout.trim().split("\n")[0].split(" ");
    try {
        process.stdout.write(`swarm: single-node swarm ${hostname}; warm-up apply (builds images on the node)…\n`);
        await swarmOnce(p, dockerHost, hostname);
        const runs: SwarmFigures[] = [];
        for (let i = 1; i <= RUNS; i++) {
            runs.push(await swarmOnce(p, dockerHost, hostname));
            process.stdout.write(`swarm run ${i}/${RUNS}: ${runs[i - 1].seconds.toFixed(2)} s (floor ${runs[i - 1].floorSeconds.toFixed(2)} s)\n`);
        }
        const median = [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
        const services = runs.flatMap((r) => r.levels.flatMap((l) => l.services));
        const seenAt = (s: SwarmService): number => POLLS.reduce((best, at) => (Math.abs(s.seen - at) < Math.abs(s.seen - best) ? at : best));
        const polls = POLLS.map((at) => [at, services.filter((s) => seenAt(s) === at).length] as const).filter(([, n]) => n > 0);
        const f = (x: number): string => x.toFixed(1).padStart(4);
        return [
            `  swarm target (1 node, health interval ${SWARM_HEALTH_INTERVAL}, converge delay ${CONVERGE_DELAY}, polls at +${POLLS.slice(0, 4).join("/+")} s): ${fmt(stats(runs.map((r) => r.seconds)))}`,
            `  swarm floor (create → first task healthy, per level):  ${fmt(stats(runs.map((r) => r.floorSeconds)))}`,
            `  swarm / floor:  ${fmt(stats(runs.map((r) => r.seconds / r.floorSeconds)), "×")}`,
            `  where the time goes (median run), per dependency level: wall s; mean s from each service's create to its container started, its first task healthy, the poll that saw it, its limits set (task replaced):`,
            ...median.levels.map(
                (l, i) =>
                    `    level ${i}: ${l.seconds.toFixed(2).padStart(5)} s  started ${f(mean(l.services.map((s) => s.started)))}  healthy ${f(mean(l.services.map((s) => s.healthy)))}  seen ${f(mean(l.services.map((s) => s.seen)))}  limits ${f(mean(l.services.map((s) => s.ready)))}  ${l.services.map((s) => s.name).join(", ")}`,
            ),
            `  which poll saw each service healthy (all ${runs.length} runs, ${services.length} services): ${polls.map(([at, n]) => `+${at} s: ${n}`).join(", ")}`,
        ];
    } finally {
        spawnSync("bash", [nodes, "down", name], { stdio: "ignore" });
    }
}

async function main(): Promise<void> {
    const setup = spawnSync("bash", [path.join(REPO, "engine", "build-stack-standins.sh")], { stdio: "inherit" });
    if (setup.status !== 0) throw new Error("engine/build-stack-standins.sh failed");
    const engine = docker(["version", "--format", "{{.Server.Version}}"]).stdout.trim();
    const p = project();
    try {
        // Warm-up: builds the images through the program's Image inputs (not timed).
        process.stdout.write(`engine ${engine}; warm-up apply (builds images)…\n`);
        await once(p, false);
        const program: RunFigures[] = [];
        const old: RunFigures[] = [];
        for (let i = 1; i <= RUNS; i++) {
            program.push(await once(p, false));
            process.stdout.write(`run ${i}/${RUNS} program specs: ${program[i - 1].seconds.toFixed(2)} s (floor ${program[i - 1].floorSeconds.toFixed(2)} s)\n`);
            old.push(await once(p, true));
            process.stdout.write(`run ${i}/${RUNS} old compose health settings: ${old[i - 1].seconds.toFixed(2)} s\n`);
        }
        const swarmLines = SWARM ? await swarmRuns(p) : [];
        const ratioFloor = program.map((r) => r.seconds / r.floorSeconds);
        const ratioOld = program.map((r, i) => old[i].seconds / r.seconds);
        process.stdout.write(
            [
                "",
                `cold start, first container create → all ${RUNS > 0 ? "containers" : ""} healthy (prod specs, stand-in images, ${RUNS} runs, dependency depth ${program[0].levels}):`,
                `  program's specs (interval 30s, start interval ${HEALTH_CHECK_TIMING.startInterval}): ${fmt(stats(program.map((r) => r.seconds)))}`,
                `  old compose health (interval 30s, no start int.): ${fmt(stats(old.map((r) => r.seconds)))}`,
                `  engine floor (create+start + one probe per level):  ${fmt(stats(program.map((r) => r.floorSeconds)))}`,
                `  program / floor:  ${fmt(stats(ratioFloor), "×")}   (target ≤ 1.5×)`,
                `  old / program:    ${fmt(stats(ratioOld), "×")}`,
                ...swarmLines,
                "",
            ].join("\n"),
        );
    } finally {
        fs.rmSync(p.projectDir, { recursive: true, force: true });
    }
}

main().catch((err) => {
    process.stderr.write(`bench:coldstart failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
});
