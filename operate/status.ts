/**
 * `npm run status -- <stack>`: the stack's `docker compose ps` and the review's success criteria
 * measured now (rebuild-plan "Success Criteria"): every service running and healthy, every endpoint
 * answering in under 100 ms (p95 over a few requests), memory under 70 % of its limit, CPU under 50 %
 * of its limit, no error lines in its log since it started; the disk use of the volumes and the
 * backup folder; and each container checked against what the stack deploys (its image and labels).
 *
 * collectStatus gathers the facts from the engine (operate/host.ts), evaluate() turns them into
 * findings, each with the exit code of its kind; it is pure, so the rules are tested without an engine.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REVIEW_CRITERIA } from "../catalog/criteria";
import type { PlatformPlan } from "../plan/plan";
import { LABEL_DEPENDENCY_IDS, LABEL_PIDS_LIMIT } from "../plan/naming";
import { DockerHost, runProgram } from "./host";

/** The review's numbers (catalog/criteria.ts). */
export const CRITERIA = {
    latencyP95Ms: REVIEW_CRITERIA.latencyP95Ms,
    memoryPercent: REVIEW_CRITERIA.memoryPercent,
    cpuPercent: REVIEW_CRITERIA.cpuPercent,
    errorLines: REVIEW_CRITERIA.errorLines,
    diskPercent: REVIEW_CRITERIA.diskPercent,
} as const;
export type Criteria = { -readonly [K in keyof typeof CRITERIA]: number };

/** Exit codes, most severe first: the status exits with the first that applies (0: all well). */
export const EXIT = {
    ok: 0,
    usage: 2,
    engine: 3,
    down: 10,
    drift: 11,
    slow: 12,
    errors: 13,
    memory: 14,
    cpu: 15,
    disk: 16,
} as const;
export type FindingKind = Exclude<keyof typeof EXIT, "ok" | "usage" | "engine">;

/**
 * A log line counts as an error when its log LEVEL is an error, as HomeIQ's services and nginx write
 * one; never for the word "error" somewhere in a message ("errors: 0", a URL). A line with a level
 * field (JSON `"level"`/`"levelname"`/`"severity"`, logfmt `level=`) is judged by that field alone:
 * error, critical or fatal, any case. Otherwise: ERROR, CRITICAL or FATAL in capitals as a word (Python
 * logging, uvicorn, SQLite), a Python traceback's first line, nginx's `[error]`/`[crit]`/`[alert]`/`[emerg]`.
 * Except nginx's "access forbidden by rule": the Docker API proxy refusing a call it must refuse (nginx
 * logs every `deny` at error level). A line with no level is not counted (Python's last-resort handler
 * prints a record of a logger with no handler as its bare message).
 * The deploy gate uses the same rule in bash (scripts/validate/error-lines.sh);
 * test/process/errorLines.test.ts runs both on the same lines.
 */
export const LEVEL_FIELD = /"(?:level|levelname|severity)"\s*:\s*"([A-Za-z]*)"|(?:^|\s)level="?([A-Za-z]*)/;
export const LEVEL_WORD = /(^|[^A-Za-z0-9_])(ERROR|CRITICAL|FATAL)([^A-Za-z0-9_]|$)|^Traceback \(most recent call last\)|\[(error|crit|alert|emerg)\]/;
/** An error-level line that is a refusal by design, not an error. */
export const NOT_AN_ERROR = /access forbidden by rule/;

export function isErrorLine(line: string): boolean {
    if (NOT_AN_ERROR.test(line)) return false;
    const field = LEVEL_FIELD.exec(line);
    if (field) return ["error", "critical", "fatal"].includes((field[1] ?? field[2] ?? "").toLowerCase());
    return LEVEL_WORD.test(line);
}

export interface Expected {
    readonly service: string;
    readonly container: string;
    /** The image reference the stack runs the container from (built tag or pulled reference). */
    readonly image: string;
    readonly labels: Readonly<Record<string, string>>;
    /** The services whose container ids its com.homeiq.dependency-ids label holds. */
    readonly dependencyIdsOf: readonly string[];
    readonly endpoint?: { readonly url: string; readonly check: string };
}

/** What the stack deploys, per container, from its plan. */
export function expectedContainers(plan: PlatformPlan): Expected[] {
    const out: Expected[] = plan.services.map((s) => ({
        service: s.key,
        container: s.containerName,
        image: s.image.nonRootAdapter?.imageName ?? ("build" in s.image.base ? s.image.base.build.imageName : s.image.base.pull),
        labels: { ...s.labels, [LABEL_PIDS_LIMIT]: String(s.hardening.pidsLimit) },
        dependencyIdsOf: s.replacedWith.map((k) => plan.services.find((o) => o.key === k)?.containerName ?? `${plan.stack}-${k}`),
        endpoint: { url: s.validation.url, check: s.validation.check },
    }));
    const p = plan.dockerApiProxy;
    if (p) {
        out.push({
            service: p.key,
            container: p.containerName,
            image: p.image.imageName,
            labels: { ...p.labels, [LABEL_PIDS_LIMIT]: String(p.hardening.pidsLimit) },
            dependencyIdsOf: [],
        });
    }
    return out;
}

/** The backup folder of the stack (backup.sh writes `<root>/<stack>/<UTC timestamp>/`), `~` resolved here. */
export function backupFolderOf(plan: PlatformPlan): string | undefined {
    for (const step of plan.lifecycle) {
        if ("target" in step) {
            const root = step.target.root.replace(/^~(?=\/|$)/, os.homedir());
            return path.join(root, plan.stack);
        }
    }
    return undefined;
}

export interface ContainerStatus {
    readonly service: string;
    readonly container: string;
    /** running, exited, restarting, paused, created, dead, or missing. */
    readonly state: string;
    /** healthy, unhealthy, starting, none (no health check), or - (missing). */
    readonly health: string;
    readonly restarts: number;
    readonly startedAt?: string;
    readonly uptimeSeconds?: number;
    readonly image: { readonly expected: string; readonly expectedId?: string; readonly runningId?: string };
    readonly labelDiffs: ReadonlyArray<{ readonly label: string; readonly expected: string; readonly actual: string | null }>;
    readonly memory?: { readonly usedBytes: number; readonly limitBytes: number; readonly percent: number };
    readonly cpu?: { readonly percentOfLimit: number; readonly limitCpus: number; readonly percentOfOneCpu: number };
    readonly endpoint?: {
        readonly url: string;
        readonly requests: number;
        readonly failed: number;
        /** The last failure: `HTTP 500`, `timeout`, `connection refused`, ... */
        readonly failure?: string;
        readonly p95Ms?: number;
        readonly maxMs?: number;
    };
    readonly errorLines?: { readonly count: number; readonly since: string };
}

export interface DiskStatus {
    readonly volumes: ReadonlyArray<{ readonly name: string; readonly bytes: number | null }>;
    readonly backup?: {
        readonly folder: string;
        readonly exists: boolean;
        readonly bytes?: number;
        /** The filesystem holding the backup folder (or its nearest existing parent). */
        readonly filesystem?: { readonly usedPercent: number; readonly availableBytes: number };
        readonly last?: { readonly name: string; readonly ageSeconds: number; readonly complete: boolean };
        /** The last run of each scheduled job of the stack (scripts/schedule writes `.schedule/<job>/last-run.json`): backup, drill, watch, ... */
        readonly jobs?: ReadonlyArray<{ readonly job: string; readonly result: string; readonly finished: string; readonly ageSeconds: number }>;
    };
}

export interface Finding {
    readonly kind: FindingKind;
    /** A stable id of the problem (kind and subject): the watch notifies once per id. */
    readonly id: string;
    readonly subject: string;
    readonly message: string;
}

export interface StackStatus {
    readonly stack: string;
    readonly dockerHost: string;
    readonly checkedAt: string;
    readonly criteria: Criteria;
    readonly containers: readonly ContainerStatus[];
    readonly disk: DiskStatus;
    readonly findings: readonly Finding[];
    readonly exitCode: number;
}

// ---- parsing the docker CLI's human units ---------------------------------------------------

const UNITS: Record<string, number> = {
    b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, pb: 1e15,
    kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4, pib: 1024 ** 5,
};

/** "12.5MiB", "240B", "1.2GB" (docker's go-units forms) → bytes; null when unreadable. */
export function parseSize(text: string): number | null {
    const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgGtTpP]?i?[bB])\s*$/.exec(text);
    if (!m) return null;
    const unit = UNITS[m[2]!.toLowerCase()];
    return unit === undefined ? null : Math.round(Number(m[1]) * unit);
}

export const parsePercent = (text: string): number | null => {
    const m = /^\s*([0-9]+(?:\.[0-9]+)?)%\s*$/.exec(text);
    return m ? Number(m[1]) : null;
};

/** Nearest-rank percentile of the values (ascending order not required). */
export function percentile(values: readonly number[], p: number): number {
    if (values.length === 0) throw new Error("percentile of no values");
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

// ---- evaluation (pure) ------------------------------------------------------------------------

const fmtPct = (n: number): string => `${n.toFixed(1)} %`;

/** The findings of a status, in the order of the exit codes. */
export function evaluate(containers: readonly ContainerStatus[], disk: DiskStatus, criteria: Criteria): Finding[] {
    const findings: Finding[] = [];
    const add = (kind: FindingKind, subject: string, message: string): void => {
        findings.push({ kind, id: `${kind}:${subject}`, subject, message });
    };
    for (const c of containers) {
        if (c.state === "missing") add("down", c.container, `${c.container} does not exist`);
        else if (c.state !== "running") add("down", c.container, `${c.container} is ${c.state}`);
        else if (c.health !== "healthy") add("down", c.container, `${c.container} is running but ${c.health === "none" ? "has no health check" : c.health}`);
        // A container that is not running has no endpoint to speak of: its finding above says so.
        if (c.state === "running" && c.endpoint && c.endpoint.failed > 0) {
            add("down", `${c.container} endpoint`, `${c.endpoint.url}: ${c.endpoint.failed} of ${c.endpoint.requests} requests failed (${c.endpoint.failure ?? "failed"})`);
        }
    }
    for (const c of containers) {
        if (c.state === "missing") continue;
        if (c.image.expectedId === undefined) {
            add("drift", `${c.container} image`, `${c.container}: the stack's image ${c.image.expected} is not on the engine`);
        } else if (c.image.runningId !== c.image.expectedId) {
            add("drift", `${c.container} image`, `${c.container} runs image ${short(c.image.runningId)}, the stack's ${c.image.expected} is ${short(c.image.expectedId)}`);
        }
        if (c.labelDiffs.length > 0) {
            const what = c.labelDiffs.map((d) => `${d.label}=${d.actual === null ? "(none)" : JSON.stringify(d.actual)} (the stack's: ${JSON.stringify(d.expected)})`);
            add("drift", `${c.container} labels`, `${c.container}: labels differ from the stack's: ${what.join(", ")}`);
        }
    }
    for (const c of containers) {
        const p95 = c.endpoint?.p95Ms;
        if (p95 !== undefined && c.endpoint!.failed === 0 && p95 >= criteria.latencyP95Ms) {
            add("slow", `${c.container} endpoint`, `${c.endpoint!.url}: p95 ${p95} ms over ${c.endpoint!.requests} requests (criterion: under ${criteria.latencyP95Ms} ms)`);
        }
    }
    for (const c of containers) {
        if (c.errorLines && c.errorLines.count > criteria.errorLines) {
            add("errors", c.container, `${c.container}: ${c.errorLines.count} error line(s) in its log since it started at ${c.errorLines.since} (see: docker logs --since ${c.errorLines.since} ${c.container})`);
        }
    }
    for (const c of containers) {
        if (c.memory && c.memory.limitBytes > 0 && c.memory.percent >= criteria.memoryPercent) {
            add("memory", c.container, `${c.container}: memory ${fmtPct(c.memory.percent)} of its ${mib(c.memory.limitBytes)} limit (criterion: under ${criteria.memoryPercent} %)`);
        }
    }
    for (const c of containers) {
        if (c.cpu && c.cpu.limitCpus > 0 && c.cpu.percentOfLimit >= criteria.cpuPercent) {
            add("cpu", c.container, `${c.container}: CPU ${fmtPct(c.cpu.percentOfLimit)} of its ${c.cpu.limitCpus} CPU limit (criterion: under ${criteria.cpuPercent} %)`);
        }
    }
    const fsUse = disk.backup?.filesystem;
    if (fsUse && fsUse.usedPercent >= criteria.diskPercent) {
        add("disk", `backup filesystem`, `the filesystem of ${disk.backup!.folder} is ${fsUse.usedPercent.toFixed(0)} % full, ${mib(fsUse.availableBytes)} free (threshold: ${criteria.diskPercent} %)`);
    }
    return findings;
}

export const exitCodeOf = (findings: readonly Finding[]): number => (findings.length === 0 ? EXIT.ok : Math.min(...findings.map((f) => EXIT[f.kind])));

const short = (id: string | undefined): string => (id ? id.replace(/^sha256:/, "").slice(0, 12) : "(none)");
export const mib = (bytes: number): string => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`);

// ---- collection ------------------------------------------------------------------------------

interface Inspected {
    Id: string;
    Name: string;
    Image: string;
    RestartCount: number;
    State: { Status: string; StartedAt: string; Health?: { Status: string } };
    Config: { Labels: Record<string, string> | null };
    HostConfig: { Memory: number; NanoCpus: number };
}

export interface CollectOptions {
    /** HTTP requests per endpoint (the p95 is over these). */
    readonly requests: number;
    readonly requestTimeoutSeconds: number;
    readonly criteria: Criteria;
    /** The stack's backup folder (undefined: none). */
    readonly backupFolder?: string;
    readonly now?: () => Date;
}

export class EngineUnreachable extends Error {}

export async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await fn(items[i]!);
        }
    });
    await Promise.all(workers);
    return out;
}

const CURL_FAILURES: Record<number, string> = { 28: "timeout", 7: "connection refused", 6: "host not resolved", 52: "empty reply", 56: "connection reset" };

/** curl's arguments for `requests` GETs of one URL, each request's status and time on a line of its own (`200 0.004`). */
export function curlProbeArgs(url: string, requests: number, timeoutSeconds: number): string[] {
    const args = ["curl", "-q", "-sS", "--fail-early", "--max-time", String(timeoutSeconds), "-H", "Connection: close", "-w", "%{http_code} %{time_total}\\n"];
    for (let i = 0; i < requests; i++) args.push("-o", "/dev/null", url);
    return args;
}

/** The endpoint's figures from the probe's lines (`<http code> <seconds>`, `000` for a transfer error) and its exit code (curl's). */
export function probeOutcome(url: string, requests: number, stdout: string, code: number, tool = "curl"): NonNullable<ContainerStatus["endpoint"]> {
    const lines = stdout.split("\n").filter((l) => /^\d{3} [0-9.]+$/.test(l));
    const times: number[] = [];
    let failed = 0;
    let failure: string | undefined;
    for (const line of lines) {
        const [status, secs] = line.split(" ");
        const ms = Math.round(Number(secs) * 1000);
        if (status === "200") times.push(ms);
        else {
            failed += 1;
            failure = status === "000" ? (CURL_FAILURES[code] ?? `${tool} error ${code}`) : `HTTP ${status}`;
        }
    }
    // --fail-early stops at a transfer error: the requests never made count as failed too.
    const missing = requests - lines.length;
    if (missing > 0) {
        failed += missing;
        failure ??= CURL_FAILURES[code] ?? `${tool} error ${code}`;
    }
    const all = lines.map((l) => Math.round(Number(l.split(" ")[1]) * 1000));
    return { url, requests, failed, failure, p95Ms: all.length ? percentile(all, 95) : undefined, maxMs: all.length ? Math.max(...all) : undefined };
}

/** `requests` GETs of one URL by one curl on the Docker host: each request's status and time. */
async function probe(host: DockerHost, url: string, requests: number, timeoutSeconds: number): Promise<NonNullable<ContainerStatus["endpoint"]>> {
    const r = await host.onHost(curlProbeArgs(url, requests, timeoutSeconds), (requests * timeoutSeconds + 30) * 1000);
    if (r.code === 127 || r.code === 255) {
        return { url, requests, failed: requests, failure: `cannot run curl on the Docker host: ${r.stderr.trim().split("\n").pop() ?? ""}` };
    }
    return probeOutcome(url, requests, r.stdout, r.code);
}

export async function countErrorLines(host: DockerHost, container: string, since: string): Promise<number | undefined> {
    const r = await host.docker(["logs", "--since", since, container], 120_000);
    if (r.code !== 0) return undefined;
    let n = 0;
    for (const text of [r.stdout, r.stderr]) for (const line of text.split("\n")) if (isErrorLine(line)) n += 1;
    return n;
}

/**
 * A container's memory and CPU from its `docker stats` row against its own limits: docker stats gives CPU
 * in % of one CPU and memory in % of the container's limit. Both undefined without a row.
 */
export function usageOf(stats: StatsRow | undefined, limits: { readonly Memory: number; readonly NanoCpus: number }): Pick<ContainerStatus, "memory" | "cpu"> {
    const usedBytes = stats ? parseSize(stats.MemUsage.split("/")[0] ?? "") : null;
    const memPct = stats ? parsePercent(stats.MemPerc) : null;
    const cpuPct = stats ? parsePercent(stats.CPUPerc) : null;
    const limitCpus = limits.NanoCpus / 1e9;
    return {
        memory: usedBytes !== null && memPct !== null ? { usedBytes, limitBytes: limits.Memory, percent: memPct } : undefined,
        cpu: cpuPct !== null ? { percentOfOneCpu: cpuPct, limitCpus, percentOfLimit: limitCpus > 0 ? cpuPct / limitCpus : cpuPct } : undefined,
    };
}

export interface StatsRow {
    Name: string;
    /** The container as the command line named it. */
    Container: string;
    CPUPerc: string;
    MemUsage: string;
    MemPerc: string;
}

export async function backupStatus(folder: string, now: Date): Promise<NonNullable<DiskStatus["backup"]>> {
    let existing = folder;
    while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
    let filesystem: { usedPercent: number; availableBytes: number } | undefined;
    try {
        const s = fs.statfsSync(existing);
        const total = s.blocks * s.bsize;
        const avail = s.bavail * s.bsize;
        const used = total - s.bfree * s.bsize;
        // df's Use%: used / (used + available to unprivileged users).
        filesystem = { usedPercent: used + avail > 0 ? (100 * used) / (used + avail) : 0, availableBytes: avail };
    } catch {
        filesystem = undefined;
    }
    if (!fs.existsSync(folder)) return { folder, exists: false, filesystem };
    let bytes: number | undefined;
    // The backups are on this machine (backup.sh runs where `pulumi up` runs), whatever the engine.
    const du = await runProgram("du", ["-sk", folder], { timeoutMs: 120_000 });
    if (du.code === 0) bytes = Number(du.stdout.split(/\s/)[0]) * 1024;
    const names = fs.readdirSync(folder).filter((n) => /^\d{8}T\d{6}Z$/.test(n)).sort();
    const name = names[names.length - 1];
    let last: { name: string; ageSeconds: number; complete: boolean } | undefined;
    if (name) {
        const taken = Date.parse(`${name.slice(0, 4)}-${name.slice(4, 6)}-${name.slice(6, 8)}T${name.slice(9, 11)}:${name.slice(11, 13)}:${name.slice(13, 15)}Z`);
        last = { name, ageSeconds: Math.max(0, Math.round((now.getTime() - taken) / 1000)), complete: fs.existsSync(path.join(folder, name, "manifest.json")) };
    }
    const jobs: Array<{ job: string; result: string; finished: string; ageSeconds: number }> = [];
    const scheduleRoot = path.join(folder, ".schedule");
    for (const job of fs.existsSync(scheduleRoot) ? fs.readdirSync(scheduleRoot).sort() : []) {
        try {
            const run = JSON.parse(fs.readFileSync(path.join(scheduleRoot, job, "last-run.json"), "utf8")) as { result?: unknown; finished?: unknown };
            const finished = String(run.finished);
            jobs.push({ job, result: String(run.result), finished, ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(finished)) / 1000)) });
        } catch {
            // No run yet (or a folder that is not a job): nothing to show.
        }
    }
    return { folder, exists: true, bytes, filesystem, last, jobs };
}

/** Reads everything the status shows from the engine (and the backup folder on this machine). */
export async function collectStatus(plan: PlatformPlan, options: CollectOptions): Promise<StackStatus> {
    const now = options.now ?? (() => new Date());
    const host = new DockerHost(plan.dockerHost);
    const expected = expectedContainers(plan);

    const ping = await host.docker(["version", "--format", "{{.Server.Version}}"], 60_000);
    if (ping.code !== 0) throw new EngineUnreachable(`the Docker engine at ${plan.dockerHost || "the default socket"} does not answer: ${(ping.stderr || ping.stdout).trim()}`);

    const ins = await host.docker(["inspect", "--type", "container", ...expected.map((e) => e.container)]);
    let inspected: Inspected[] = [];
    try {
        inspected = JSON.parse(ins.stdout || "[]") as Inspected[];
    } catch {
        throw new EngineUnreachable(`docker inspect gave no JSON: ${ins.stderr.trim()}`);
    }
    const byName = new Map(inspected.map((i) => [i.Name.replace(/^\//, ""), i]));
    const running = expected.filter((e) => byName.get(e.container)?.State.Status === "running").map((e) => e.container);

    const images = [...new Set(expected.map((e) => e.image))];
    const [imageIds, stats, volumes, endpoints, errorCounts, backup] = await Promise.all([
        inParallel(images, 4, async (ref) => {
            const r = await host.docker(["image", "inspect", "--format", "{{.Id}}", ref]);
            return [ref, r.code === 0 ? r.stdout.trim() : undefined] as const;
        }),
        running.length
            ? host.docker(["stats", "--no-stream", "--format", "{{json .}}", ...running], 120_000).then((r) =>
                  r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as StatsRow),
              )
            : Promise.resolve([] as StatsRow[]),
        host.docker(["system", "df", "-v", "--format", "{{json .Volumes}}"], 120_000).then((r) => {
            const wanted = new Set(plan.volumes.map((v) => v.name));
            const rows = r.code === 0 ? (JSON.parse(r.stdout.trim() || "[]") as Array<{ Name: string; Size: string }>) : [];
            const size = new Map(rows.map((v) => [v.Name, parseSize(v.Size)]));
            return plan.volumes.map((v) => ({ name: v.name, bytes: size.has(v.name) && wanted.has(v.name) ? size.get(v.name)! : null }));
        }),
        inParallel(expected, 4, async (e) => (e.endpoint ? probe(host, e.endpoint.url, options.requests, options.requestTimeoutSeconds) : undefined)),
        inParallel(expected, 4, async (e) => {
            const i = byName.get(e.container);
            return i && i.State.StartedAt && !i.State.StartedAt.startsWith("0001") ? countErrorLines(host, e.container, i.State.StartedAt) : undefined;
        }),
        options.backupFolder ? backupStatus(options.backupFolder, now()) : Promise.resolve(undefined),
    ]);
    const imageId = new Map(imageIds);
    const statsOf = new Map(stats.map((s) => [s.Name.replace(/^\//, ""), s]));
    const at = now();

    const containers: ContainerStatus[] = expected.map((e, idx) => {
        const i = byName.get(e.container);
        if (!i) {
            return { service: e.service, container: e.container, state: "missing", health: "-", restarts: 0, image: { expected: e.image, expectedId: imageId.get(e.image) }, labelDiffs: [], endpoint: endpoints[idx] };
        }
        const labels = i.Config.Labels ?? {};
        const want: Record<string, string> = { ...e.labels };
        if (e.dependencyIdsOf.length) want[LABEL_DEPENDENCY_IDS] = e.dependencyIdsOf.map((n) => byName.get(n)?.Id ?? "(missing)").join(",");
        const labelDiffs = Object.entries(want)
            .filter(([k, v]) => labels[k] !== v)
            .map(([label, value]) => ({ label, expected: value, actual: labels[label] ?? null }));
        // A com.homeiq.* label the stack does not set is drift too (the image's own labels are not the stack's business).
        for (const [k, v] of Object.entries(labels)) {
            if (k.startsWith("com.homeiq.") && !(k in want) && !k.startsWith("com.homeiq.standin")) labelDiffs.push({ label: k, expected: "(none)", actual: v });
        }
        const usage = usageOf(statsOf.get(e.container), i.HostConfig);
        const started = i.State.Status === "running" ? Date.parse(i.State.StartedAt) : NaN;
        const count = errorCounts[idx];
        return {
            service: e.service,
            container: e.container,
            state: i.State.Status,
            health: i.State.Health?.Status ?? "none",
            restarts: i.RestartCount,
            startedAt: i.State.StartedAt,
            uptimeSeconds: Number.isNaN(started) ? undefined : Math.max(0, Math.round((at.getTime() - started) / 1000)),
            image: { expected: e.image, expectedId: imageId.get(e.image), runningId: i.Image },
            labelDiffs,
            ...usage,
            endpoint: endpoints[idx],
            errorLines: count === undefined ? undefined : { count, since: i.State.StartedAt },
        };
    });
    const disk: DiskStatus = { volumes, backup };
    const findings = evaluate(containers, disk, options.criteria);
    return {
        stack: plan.stack,
        dockerHost: plan.dockerHost,
        checkedAt: at.toISOString(),
        criteria: options.criteria,
        containers,
        disk,
        findings,
        exitCode: exitCodeOf(findings),
    };
}
