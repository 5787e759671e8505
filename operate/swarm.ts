/**
 * `npm run status -- <stack>` on a swarm stack (homeiq:target swarm): the stack's services read through
 * the manager (homeiq:dockerHost), each running task's container on the engine of its node
 * (homeiq:swarmNodes). A task has no container name of its own and swarm replaces a task whose container
 * stops or turns unhealthy, so "down" is about services, by the watch's rules (scripts/watch/swarm.sh):
 * missing, scaled to 0, fewer tasks running than asked for (with why the newest one ended), or
 * SWARM_LOOP_FAILURES failed tasks within SWARM_LOOP_MINUTES (a restart loop). Drift on swarm: the
 * service's labels and its task's (components/swarmPlatform.ts serviceArgs), the image ids its task is
 * labelled with against the ids of the stack's image on each of its nodes now (a rebuild not deployed),
 * and the image its running task runs, and the PIDs limit and ulimits its running task lacks (the spec lost
 * what scripts/swarm/limits.sh set: a `docker service rollback`). Each running task's endpoint, memory,
 * CPU and error lines as on a host (see probeInTask for where the endpoint is asked from). Same
 * findings, ids and exit codes as on a host (operate/status.ts).
 *
 * collectSwarmStatus gathers the facts, evaluateSwarm (pure) judges them.
 */
import type { PlatformPlan, ServicePlan } from "../plan/plan";
import { LABEL_IMAGE_IDS, LABEL_NODE_NO_NEW_PRIVILEGES, LABEL_PIDS_LIMIT } from "../plan/naming";
import { ulimitsWords, type SwarmPlan, type SwarmServicePlan } from "../plan/swarm";
import { DockerHost, shQuote } from "./host";
import {
    backupStatus, countErrorLines, curlProbeArgs, EngineUnreachable, evaluate, exitCodeOf, inParallel, mib, probeOutcome, usageOf,
    type ContainerStatus, type Criteria, type DiskStatus, type Finding, type FindingKind, type StatsRow,
} from "./status";

/** The watch's restart-loop rule (scripts/watch/swarm.sh SWARM_LOOP_FAILURES, SWARM_LOOP_MINUTES; a unit test checks they agree). */
export const SWARM_LOOP_FAILURES = 3;
export const SWARM_LOOP_MINUTES = 15;

export interface LabelDiff {
    readonly label: string;
    readonly expected: string;
    readonly actual: string | null;
}

export interface SwarmServiceStatus {
    readonly service: string;
    /** The swarm service's name (`<stack>-<service>`). */
    readonly name: string;
    /** Replicas the service asks for; null when there is no such service. */
    readonly desired: number | null;
    /** Its tasks running (and meant to). */
    readonly running: number;
    /** The hostname of the node its newest running task runs on. */
    readonly node?: string;
    /** That task's container, read on its node's engine: healthy, unhealthy, starting, none (no health check), or - (no running task, or its node's engine not reachable). */
    readonly health: string;
    readonly startedAt?: string;
    readonly uptimeSeconds?: number;
    /** Its tasks that failed (or were rejected) within the last SWARM_LOOP_MINUTES. */
    readonly failedRecently: number;
    /** How its newest ended task ended (`failed: task: non-zero exit (1)`, `... unhealthy container`). */
    readonly lastError?: string;
    readonly image: {
        readonly expected: string;
        /** The ids its task spec is labelled with (com.homeiq.image-ids). */
        readonly labelled: readonly string[];
        /** The id of the stack's image on each node that may run it now (undefined: not there). */
        readonly onNodes: ReadonlyArray<{ readonly node: string; readonly id?: string }>;
        /** The image its running task's container runs, and the node's id of the stack's image. */
        readonly runningId?: string;
    };
    readonly labelDiffs: readonly LabelDiff[];
    /** Its running task's endpoint, asked from inside that task's container (probeInTask). */
    readonly endpoint?: ContainerStatus["endpoint"];
    /** Its running task's memory and CPU against the limits of its container (docker stats on its node's engine). */
    readonly memory?: ContainerStatus["memory"];
    readonly cpu?: ContainerStatus["cpu"];
    /** Error lines in its running task's log since its container started (docker logs on its node's engine). */
    readonly errorLines?: ContainerStatus["errorLines"];
    /**
     * The limits scripts/swarm/limits.sh gives the service that its running task lacks (empty: none), and the
     * command that sets them again. Unset when no task runs.
     */
    readonly missingLimits?: { readonly missing: readonly string[]; readonly fix: string };
}

export interface SwarmStackStatus {
    readonly stack: string;
    readonly target: "swarm";
    readonly dockerHost: string;
    readonly checkedAt: string;
    readonly criteria: Criteria;
    readonly services: readonly SwarmServiceStatus[];
    /** The services the stack runs on a host and the swarm target does not, with why (plan/swarm.ts notOnSwarm). */
    readonly notOnSwarm: ReadonlyArray<{ readonly service: string; readonly reason: string }>;
    readonly disk: DiskStatus;
    readonly findings: readonly Finding[];
    readonly exitCode: number;
}

/** The image a task runs (components/swarmPlatform.ts imageNameOf): the local tag of the build, or the pulled reference. */
export const swarmImageOf = (sp: ServicePlan): string => sp.image.nonRootAdapter?.imageName ?? ("build" in sp.image.base ? sp.image.base.build.imageName : sp.image.base.pull);

/** The labels the stack sets on a service, and on its task's container (components/swarmPlatform.ts serviceArgs), the image ids aside. */
export function expectedSwarmLabels(sp: ServicePlan, swarm: Pick<SwarmPlan, "requireNoNewPrivileges">): { service: Record<string, string>; task: Record<string, string> } {
    return {
        service: { ...sp.labels },
        task: {
            ...sp.labels,
            ...(swarm.requireNoNewPrivileges ? { [LABEL_NODE_NO_NEW_PRIVILEGES]: "node-daemon" } : {}),
            [LABEL_PIDS_LIMIT]: String(sp.hardening.pidsLimit),
        },
    };
}

/** Each label of `want` that differs, and each other com.homeiq.* label present (the stand-ins' own labels aside, as on a host). */
export function labelDiffs(want: Readonly<Record<string, string>>, actual: Readonly<Record<string, string>>, where: string, ignore: readonly string[] = []): LabelDiff[] {
    const out: LabelDiff[] = Object.entries(want)
        .filter(([k, v]) => actual[k] !== v)
        .map(([k, v]) => ({ label: `${where}${k}`, expected: v, actual: actual[k] ?? null }));
    for (const [k, v] of Object.entries(actual)) {
        if (k.startsWith("com.homeiq.") && !(k in want) && !ignore.includes(k) && !k.startsWith("com.homeiq.standin")) out.push({ label: `${where}${k}`, expected: "(none)", actual: v });
    }
    return out;
}

const short = (id: string | undefined): string => (id ? id.replace(/^sha256:/, "").slice(0, 12) : "(none)");

/** The findings of a swarm status, in the order of the exit codes (pure). */
export function evaluateSwarm(services: readonly SwarmServiceStatus[], criteria: Criteria): Finding[] {
    const findings: Finding[] = [];
    const add = (kind: FindingKind, subject: string, message: string): void => {
        findings.push({ kind, id: `${kind}:${subject}`, subject, message });
    };
    for (const s of services) {
        const loop = s.failedRecently > 0 ? ` (${s.failedRecently} task failures in the last ${SWARM_LOOP_MINUTES} minutes)` : "";
        if (s.desired === null) add("down", s.name, `${s.name} does not exist`);
        else if (s.desired === 0) add("down", s.name, `${s.name} is scaled to 0 replicas: it runs nothing`);
        else if (s.running < s.desired) add("down", s.name, `${s.name} runs ${s.running} of ${s.desired} replicas${s.lastError ? `; its last task ended ${s.lastError}` : ""}${loop}`);
        else if (s.health !== "healthy") add("down", s.name, `${s.name}'s task on ${s.node ?? "?"} is running but ${s.health === "none" ? "has no health check" : s.health === "-" ? "its node's engine did not say how it is" : s.health}`);
        else if (s.failedRecently >= SWARM_LOOP_FAILURES) add("down", s.name, `${s.name} is restarting in a loop: ${s.failedRecently} of its tasks failed in the last ${SWARM_LOOP_MINUTES} minutes; the last ended ${s.lastError ?? "(no error given)"}`);
        // Only a running task is probed: a service with none has its finding above.
        if (s.endpoint && s.endpoint.failed > 0) add("down", `${s.name} endpoint`, `${s.endpoint.url} (in ${s.name}'s task on ${s.node ?? "?"}): ${s.endpoint.failed} of ${s.endpoint.requests} requests failed (${s.endpoint.failure ?? "failed"})`);
    }
    for (const s of services) {
        if (s.desired === null) continue;
        const missing = s.image.onNodes.filter((n) => n.id === undefined).map((n) => n.node);
        const notDeployed = s.image.onNodes.filter((n) => n.id !== undefined && !s.image.labelled.includes(n.id));
        if (missing.length > 0) add("drift", `${s.name} image`, `${s.name}: the stack's image ${s.image.expected} is not on ${missing.join(", ")}`);
        else if (notDeployed.length > 0) {
            add("drift", `${s.name} image`, `${s.name}: its task is labelled with image ${s.image.labelled.map(short).join(",") || "(none)"}, the stack's ${s.image.expected} is ${notDeployed.map((n) => `${short(n.id)} on ${n.node}`).join(", ")} (rebuilt, not deployed: pulumi up)`);
        } else if (s.image.runningId !== undefined && s.node !== undefined) {
            const want = s.image.onNodes.find((n) => n.node === s.node)?.id;
            if (want !== undefined && want !== s.image.runningId) add("drift", `${s.name} image`, `${s.name}'s task on ${s.node} runs image ${short(s.image.runningId)}, the stack's ${s.image.expected} is ${short(want)} there`);
        }
        if (s.labelDiffs.length > 0) {
            const what = s.labelDiffs.map((d) => `${d.label}=${d.actual === null ? "(none)" : JSON.stringify(d.actual)} (the stack's: ${JSON.stringify(d.expected)})`);
            add("drift", `${s.name} labels`, `${s.name}: labels differ from the stack's: ${what.join(", ")}`);
        }
        if (s.missingLimits && s.missingLimits.missing.length > 0) {
            // A plain `pulumi up` does not set them again: the provider reads no such fields back, so it sees no change and the limits Command does not run (components/swarmLimits.ts).
            add("drift", `${s.name} limits`, `${s.name}'s task on ${s.node ?? "?"} runs without ${s.missingLimits.missing.join(", ")}, which the stack sets (its spec lost them, e.g. by docker service rollback); set them again: ${s.missingLimits.fix}`);
        }
    }
    for (const s of services) {
        const p95 = s.endpoint?.p95Ms;
        if (p95 !== undefined && s.endpoint!.failed === 0 && p95 >= criteria.latencyP95Ms) {
            add("slow", `${s.name} endpoint`, `${s.endpoint!.url} (in ${s.name}'s task): p95 ${p95} ms over ${s.endpoint!.requests} requests (criterion: under ${criteria.latencyP95Ms} ms)`);
        }
    }
    for (const s of services) {
        if (s.errorLines && s.errorLines.count > criteria.errorLines) {
            add("errors", s.name, `${s.name}: ${s.errorLines.count} error line(s) in its task's log since it started at ${s.errorLines.since} (see: docker service logs --since ${s.errorLines.since} ${s.name}, on the manager)`);
        }
    }
    for (const s of services) {
        if (s.memory && s.memory.limitBytes > 0 && s.memory.percent >= criteria.memoryPercent) {
            add("memory", s.name, `${s.name}: its task on ${s.node ?? "?"} uses memory ${s.memory.percent.toFixed(1)} % of its ${mib(s.memory.limitBytes)} limit (criterion: under ${criteria.memoryPercent} %)`);
        }
    }
    for (const s of services) {
        if (s.cpu && s.cpu.limitCpus > 0 && s.cpu.percentOfLimit >= criteria.cpuPercent) {
            add("cpu", s.name, `${s.name}: its task on ${s.node ?? "?"} uses CPU ${s.cpu.percentOfLimit.toFixed(1)} % of its ${s.cpu.limitCpus} CPU limit (criterion: under ${criteria.cpuPercent} %)`);
        }
    }
    return findings;
}

// ---- collection ------------------------------------------------------------------------------

interface InspectedService {
    ID: string;
    Spec: {
        Name: string;
        Labels?: Record<string, string> | null;
        Mode: { Replicated?: { Replicas?: number } };
        TaskTemplate: { ContainerSpec: { Image: string; Labels?: Record<string, string> | null } };
    };
}

interface InspectedTask {
    ServiceID: string;
    NodeID?: string;
    CreatedAt: string;
    DesiredState: string;
    Status: { Timestamp: string; State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

interface InspectedContainer {
    Image: string;
    State: { StartedAt: string; Health?: { Status: string } };
    HostConfig: { Memory: number; NanoCpus: number; PidsLimit?: number | null; Ulimits?: Array<{ Name: string; Soft: number; Hard: number }> | null };
}

function parseJson<T>(text: string, what: string): T {
    try {
        return JSON.parse(text.trim() || "[]") as T;
    } catch {
        throw new EngineUnreachable(`${what} gave no JSON: ${text.slice(0, 200)}`);
    }
}

/**
 * The python form of the curl probe (operate/status.ts curlProbeArgs), for an image with python and no curl:
 * the same lines (`<http code> <seconds>`, `000` on a transfer error, then it stops as --fail-early does)
 * and curl's exit codes for a timeout (28), a refused connection (7), a name not resolved (6), a reset (56).
 */
export const PYTHON_PROBE = [
    "import socket,sys,time,urllib.error,urllib.request",
    "url,n,t=sys.argv[1],int(sys.argv[2]),float(sys.argv[3])",
    "for _ in range(n):",
    "    s=time.monotonic()",
    "    try:",
    "        with urllib.request.urlopen(urllib.request.Request(url,headers={'Connection':'close'}),timeout=t) as r: r.read(); code=r.status",
    "    except urllib.error.HTTPError as e: code=e.code",
    "    except Exception as e:",
    "        why=getattr(e,'reason',e)",
    "        print('000 %.6f'%(time.monotonic()-s))",
    "        sys.exit(28 if isinstance(why,TimeoutError) else 7 if isinstance(why,ConnectionRefusedError) else 6 if isinstance(why,socket.gaierror) else 56 if isinstance(why,ConnectionResetError) else 1)",
    "    print('%03d %.6f'%(code,time.monotonic()-s))",
].join("\n");

/** The URL a service's peers ask it at on the stack's overlay: its key (a network alias of its task), its container port, the path the host's probe asks. */
export function overlayUrlOf(sp: ServicePlan): string {
    const u = new URL(sp.validation.url);
    return `http://${sp.key}:${sp.port.internal}${u.pathname}${u.search}`;
}

/**
 * A running task's endpoint: `requests` GETs from inside the task's own container (docker exec on its
 * node's engine) of the URL its peers use on the overlay (overlayUrlOf: the name resolved by swarm's DNS
 * to the task's overlay address). Why there: on swarm only the dashboard is published, the rest answer
 * only on the overlay, which no node's own shell is on; and the task's image is the one image sure to be
 * on its node with an HTTP client: the one its health check runs (the catalog's: curl, or python in the
 * images without curl). A probe container of our own would need an image with curl on every node and
 * would add a container to the user's swarm at every status. What it does not measure: a hop between
 * two nodes (the host's probe crosses no network either).
 */
async function probeInTask(engine: DockerHost, cid: string, sp: ServicePlan, requests: number, timeoutSeconds: number): Promise<NonNullable<SwarmServiceStatus["endpoint"]>> {
    const url = overlayUrlOf(sp);
    const [form, tool] = sp.healthCheck.tests;
    if (form !== "CMD" || (tool !== "curl" && tool !== "python" && tool !== "python3")) {
        return { url, requests, failed: requests, failure: `cannot probe in the task: its health check runs ${JSON.stringify(sp.healthCheck.tests.slice(0, 2).join(" "))}, neither curl nor python` };
    }
    const argv = tool === "curl" ? curlProbeArgs(url, requests, timeoutSeconds) : [tool, "-c", PYTHON_PROBE, url, String(requests), String(timeoutSeconds)];
    const r = await engine.docker(["exec", cid, ...argv], (requests * timeoutSeconds + 30) * 1000);
    const daemon = /Error response from daemon: .*/.exec(r.stderr)?.[0];
    if (daemon || r.code === 126 || r.code === 127) {
        return { url, requests, failed: requests, failure: `cannot run ${tool} in the task's container: ${daemon ?? r.stderr.trim().split("\n").pop() ?? ""}` };
    }
    return probeOutcome(url, requests, r.stdout, r.code, tool);
}

/** The limits scripts/swarm/limits.sh sets that the container lacks, as `PIDs limit 256 (it has none)`. */
export function missingLimits(sp: ServicePlan, host: InspectedContainer["HostConfig"]): string[] {
    const out: string[] = [];
    const pids = host.PidsLimit ?? 0;
    if (pids !== sp.hardening.pidsLimit) out.push(`the PIDs limit ${sp.hardening.pidsLimit} (it has ${pids > 0 ? pids : "none"})`);
    for (const u of sp.hardening.ulimits) {
        const has = (host.Ulimits ?? []).find((x) => x.Name === u.name);
        if (!has || has.Soft !== u.soft || has.Hard !== u.hard) out.push(`the ulimit ${u.name}=${u.soft}:${u.hard} (it has ${has ? `${has.Soft}:${has.Hard}` : "none"})`);
    }
    return out;
}

/** The command that gives the service its limits again, as the limits Command runs it (from the project folder). */
export function limitsFixCommand(manager: string, serviceName: string, sp: ServicePlan): string {
    const env = { DOCKER_HOST: manager || "unix:///var/run/docker.sock", HOMEIQ_SERVICE: serviceName, HOMEIQ_PIDS_LIMIT: String(sp.hardening.pidsLimit), HOMEIQ_ULIMITS: ulimitsWords(sp) };
    return `${Object.entries(env).map(([k, v]) => `${k}=${shQuote(v)}`).join(" ")} bash scripts/swarm/limits.sh`;
}

export interface SwarmCollectOptions {
    /** HTTP requests per endpoint (the p95 is over these). */
    readonly requests: number;
    readonly requestTimeoutSeconds: number;
    readonly criteria: Criteria;
    readonly backupFolder?: string;
    readonly now?: () => Date;
}

/** Reads the swarm stack's services through the manager and each running task's container on its node. */
export async function collectSwarmStatus(plan: PlatformPlan, options: SwarmCollectOptions): Promise<SwarmStackStatus> {
    const swarm = plan.swarm;
    if (!swarm) throw new Error(`stack ${plan.stack} is not a swarm stack`);
    const now = options.now ?? (() => new Date());
    const manager = new DockerHost(plan.dockerHost);
    const engineOf = new Map(swarm.nodes.map((n) => [n.hostname, new DockerHost(n.dockerHost)]));

    const ping = await manager.docker(["info", "--format", "{{.Swarm.ControlAvailable}}"], 60_000);
    if (ping.code !== 0) throw new EngineUnreachable(`the swarm manager at ${plan.dockerHost || "the default socket"} does not answer: ${(ping.stderr || ping.stdout).trim()}`);
    if (ping.stdout.trim() !== "true") throw new EngineUnreachable(`the engine at ${plan.dockerHost || "the default socket"} is not a swarm manager (homeiq:dockerHost must name the manager)`);

    const names = swarm.services.map((s) => s.name);
    // A missing service is left out of the array (and named on stderr): the others are still read.
    const inspected = parseJson<InspectedService[]>((await manager.docker(["service", "inspect", ...names])).stdout, "docker service inspect");
    const byName = new Map(inspected.map((i) => [i.Spec.Name, i]));
    const nodes = await manager.docker(["node", "ls", "--format", "{{.ID}}\t{{.Hostname}}"]);
    const hostnameOf = new Map(nodes.stdout.split("\n").filter(Boolean).map((l) => l.split("\t") as [string, string]));
    const found = names.filter((n) => byName.has(n));
    const ids = found.length ? (await manager.docker(["service", "ps", "-q", "--no-trunc", ...found])).stdout.split("\n").filter(Boolean) : [];
    const tasks = ids.length ? parseJson<InspectedTask[]>((await manager.docker(["inspect", "--type", "task", ...new Set(ids)])).stdout, "docker inspect --type task") : [];
    const at = now();
    const newestFirst = (a: InspectedTask, b: InspectedTask): number => Date.parse(b.Status.Timestamp) - Date.parse(a.Status.Timestamp);
    const runningOf = (svc: InspectedService): InspectedTask[] => tasks.filter((t) => t.ServiceID === svc.ID && t.Status.State === "running" && t.DesiredState === "running").sort(newestFirst);

    // Memory and CPU of every running task at once per node (docker stats samples for a second or two), on that node's engine.
    const cidsOn = new Map<string, string[]>();
    for (const svc of inspected) {
        const t = runningOf(svc)[0];
        const node = t?.NodeID ? hostnameOf.get(t.NodeID) : undefined;
        const cid = t?.Status.ContainerStatus?.ContainerID;
        if (node && cid) cidsOn.set(node, [...(cidsOn.get(node) ?? []), cid]);
    }
    const statsOn = new Map(
        [...cidsOn].map(([node, cids]) => [
            node,
            (engineOf.get(node) ?? manager).docker(["stats", "--no-stream", "--no-trunc", "--format", "{{json .}}", ...cids], 120_000).then((r) => {
                const rows = r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as StatsRow);
                return new Map(rows.map((row) => [row.Container, row]));
            }),
        ]),
    );

    const services = await inParallel(swarm.services, 4, async (s: SwarmServicePlan): Promise<SwarmServiceStatus> => {
        const sp = plan.services.find((p) => p.key === s.key)!;
        const expected = swarmImageOf(sp);
        const onNodes = await Promise.all(
            s.nodes.map(async (node) => {
                const r = await (engineOf.get(node) ?? manager).docker(["image", "inspect", "--format", "{{.Id}}", expected]);
                return { node, id: r.code === 0 ? r.stdout.trim() : undefined };
            }),
        );
        const svc = byName.get(s.name);
        if (!svc) return { service: s.key, name: s.name, desired: null, running: 0, health: "-", failedRecently: 0, image: { expected, labelled: [], onNodes }, labelDiffs: [] };
        const mine = tasks.filter((t) => t.ServiceID === svc.ID).sort(newestFirst);
        const running = runningOf(svc);
        const ended = mine.filter((t) => t.Status.State === "failed" || t.Status.State === "rejected");
        const failedRecently = ended.filter((t) => at.getTime() - Date.parse(t.Status.Timestamp) <= SWARM_LOOP_MINUTES * 60_000).length;
        const lastEnded = ended[0];
        let lastError = lastEnded ? `${lastEnded.Status.State}: ${lastEnded.Status.Err || "no error given"}` : undefined;
        if (lastError?.includes("unhealthy container")) lastError = `unhealthy (swarm stopped it: ${lastError})`;

        const task = running[0];
        const node = task?.NodeID ? hostnameOf.get(task.NodeID) : undefined;
        let health = "-";
        let runningId: string | undefined;
        let startedAt: string | undefined;
        let measured: Pick<SwarmServiceStatus, "endpoint" | "memory" | "cpu" | "errorLines" | "missingLimits"> = {};
        const cid = task?.Status.ContainerStatus?.ContainerID;
        if (cid && node) {
            const engine = engineOf.get(node) ?? manager;
            const r = await engine.docker(["inspect", "--type", "container", cid]);
            const c = r.code === 0 ? parseJson<InspectedContainer[]>(r.stdout, "docker inspect")[0] : undefined;
            if (c) {
                health = c.State.Health?.Status ?? "none";
                runningId = c.Image;
                startedAt = c.State.StartedAt;
                const [endpoint, count, stats] = await Promise.all([
                    probeInTask(engine, cid, sp, options.requests, options.requestTimeoutSeconds),
                    countErrorLines(engine, cid, c.State.StartedAt),
                    statsOn.get(node)?.then((rows) => rows.get(cid)),
                ]);
                measured = {
                    endpoint,
                    errorLines: count === undefined ? undefined : { count, since: c.State.StartedAt },
                    ...usageOf(stats, c.HostConfig),
                    missingLimits: { missing: missingLimits(sp, c.HostConfig), fix: limitsFixCommand(plan.dockerHost, s.name, sp) },
                };
            }
        }
        const want = expectedSwarmLabels(sp, swarm);
        const taskLabels = svc.Spec.TaskTemplate.ContainerSpec.Labels ?? {};
        const started = startedAt ? Date.parse(startedAt) : NaN;
        return {
            service: s.key,
            name: s.name,
            desired: svc.Spec.Mode.Replicated ? (svc.Spec.Mode.Replicated.Replicas ?? 1) : 1,
            running: running.length,
            node,
            health,
            startedAt,
            uptimeSeconds: Number.isNaN(started) ? undefined : Math.max(0, Math.round((at.getTime() - started) / 1000)),
            failedRecently,
            lastError,
            image: { expected, labelled: (taskLabels[LABEL_IMAGE_IDS] ?? "").split(",").filter(Boolean), onNodes, runningId },
            labelDiffs: [...labelDiffs(want.service, svc.Spec.Labels ?? {}, "service "), ...labelDiffs(want.task, taskLabels, "task ", [LABEL_IMAGE_IDS])],
            ...measured,
        };
    });
    const notOnSwarm = swarm.notOnSwarm.map((line) => ({ service: line.slice(0, line.indexOf(":")), reason: line.slice(line.indexOf(":") + 1).trim() }));
    const disk: DiskStatus = { volumes: [], backup: options.backupFolder ? await backupStatus(options.backupFolder, at) : undefined };
    // The backup folder's filesystem, judged as on a host (evaluate with no containers judges the disk alone).
    const findings = [...evaluateSwarm(services, options.criteria), ...evaluate([], disk, options.criteria)];
    return { stack: plan.stack, target: "swarm", dockerHost: plan.dockerHost, checkedAt: at.toISOString(), criteria: options.criteria, services, notOnSwarm, disk, findings, exitCode: exitCodeOf(findings) };
}
