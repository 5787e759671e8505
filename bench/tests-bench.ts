/**
 * How long the tests take (prints figures; not a test).
 *
 *   npm run bench:tests                 # warm: the unit project, then `npm test` as the README runs it
 *   npm run bench:tests -- --unit       # the unit project only
 *   npm run bench:tests -- --cold       # also cold: a fresh clone of this commit, `npm ci && npm test`
 *
 * Warm means this checkout as it is: node_modules and bin/ in place, jest's transform cache filled by
 * an earlier run, the Docker engine running and the stand-in images built. Cold means a new clone in a
 * temporary folder (no node_modules, no bin/, no jest cache of its own: jest's cache folder is set
 * inside the clone); the machine's Docker engine and its images are what they are (the stand-in
 * images are rebuilt only when their inputs changed, engine/README.md), so cold does not cover
 * installing Docker or debootstrapping the python image: the line "cold covered" says what was there.
 *
 * Every run prints the machine's cores and load average first: the machines are shared, and a
 * figure taken beside someone else's build is not the figure of an idle machine. `npm test`'s jest
 * writes a JSON report, from which each jest project's time and the slowest engine files are printed.
 * Targets (issue 10): unit project <= 20 s; warm `npm test` <= 4 min; cold `npm ci && npm test` <= 8 min.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const TARGETS = { unit: 20, warm: 240, cold: 480 } as const;

interface Timed {
    readonly seconds: number;
    readonly code: number;
    readonly tail: string;
}

function machine(): string {
    const [one, five] = os.loadavg();
    return `${os.cpus().length} cores, load average ${one.toFixed(2)} (1 min) ${five.toFixed(2)} (5 min)`;
}

/** Runs a shell command in `cwd`, its output kept (the last lines are printed when it fails). */
function timed(command: string, cwd: string, env: Record<string, string> = {}): Timed {
    const t0 = process.hrtime.bigint();
    const r = spawnSync("bash", ["-c", command], { cwd, env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
    return { seconds, code: r.status ?? 128, tail: out.split("\n").slice(-30).join("\n") };
}

const verdict = (seconds: number, target: number): string =>
    seconds <= target ? `meets the target of ${target} s` : `MISSES the target of ${target} s by ${(seconds - target).toFixed(0)} s`;

function report(label: string, t: Timed, target?: number): void {
    const status = t.code === 0 ? "passed" : `FAILED (exit ${t.code})`;
    process.stdout.write(`${label.padEnd(34)} ${t.seconds.toFixed(1).padStart(7)} s  ${status}${target ? `; ${verdict(t.seconds, target)}` : ""}\n`);
    if (t.code !== 0) process.stdout.write(`${t.tail.replace(/^/gm, "    ")}\n`);
}

interface JestReport {
    readonly testResults: Array<{ name: string; startTime: number; endTime: number; status: string }>;
}

/** Per project: files, summed file seconds and wall span; the slowest files of the engine project. */
function summarize(reportFile: string, cwd: string): void {
    if (!fs.existsSync(reportFile)) return;
    const r = JSON.parse(fs.readFileSync(reportFile, "utf8")) as JestReport;
    const project = (name: string): string => path.relative(cwd, name).split(path.sep)[1] ?? "?";
    const groups = new Map<string, JestReport["testResults"]>();
    for (const t of r.testResults) groups.set(project(t.name), [...(groups.get(project(t.name)) ?? []), t]);
    for (const [p, files] of groups) {
        const sum = files.reduce((s, t) => s + (t.endTime - t.startTime), 0) / 1000;
        const span = (Math.max(...files.map((t) => t.endTime)) - Math.min(...files.map((t) => t.startTime))) / 1000;
        process.stdout.write(`  jest ${p.padEnd(8)} ${String(files.length).padStart(3)} files, ${sum.toFixed(1)} s of file time, ${span.toFixed(1)} s from first start to last end\n`);
    }
    const engine = (groups.get("engine") ?? []).sort((a, b) => b.endTime - b.startTime - (a.endTime - a.startTime));
    for (const t of engine) process.stdout.write(`    ${((t.endTime - t.startTime) / 1000).toFixed(1).padStart(6)} s  ${path.relative(cwd, t.name)}${t.status === "passed" ? "" : ` (${t.status})`}\n`);
}

function main(): void {
    const args = process.argv.slice(2);
    process.stdout.write(`machine: ${machine()}\n`);

    report("unit project (jest, warm)", timed("npx jest --selectProjects unit", ROOT), TARGETS.unit);
    if (args.includes("--unit")) return;

    const warmReport = path.join(os.tmpdir(), `homeiq-bench-tests-warm-${process.pid}.json`);
    const warm = timed(`npm test -- --json --outputFile=${warmReport}`, ROOT);
    report("npm test (warm)", warm, TARGETS.warm);
    summarize(warmReport, ROOT);
    fs.rmSync(warmReport, { force: true });

    if (!args.includes("--cold")) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-bench-cold-"));
    const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
    try {
        const clone = timed(`git clone -q --no-checkout ${JSON.stringify(ROOT)} . && git checkout -q ${head}`, dir);
        if (clone.code !== 0) return report("git clone", clone);
        const images = timed("docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -c '^homeiq-standin/' || true", dir).tail.trim();
        const engine = timed("docker version --format '{{.Server.Version}}'", dir);
        process.stdout.write(
            `cold covered: a fresh clone of ${head.slice(0, 12)}: no node_modules, no bin/, an empty jest cache; ` +
                `Docker engine ${engine.code === 0 ? `already running (${engine.tail.trim()})` : "not running (engine/start.sh starts it)"}, ` +
                `${images.split("\n").pop()} stand-in images already on it (rebuilt only if their inputs changed)\n`,
        );
        const coldReport = path.join(dir, "jest-report.json");
        // jest's cache inside the clone: nothing of the warm checkout's transforms is reused.
        const cold = timed(`npm ci --no-audit --no-fund && npm test -- --cacheDirectory=${JSON.stringify(path.join(dir, ".jest-cache"))} --json --outputFile=${coldReport}`, dir);
        report("npm ci && npm test (cold)", cold, TARGETS.cold);
        summarize(coldReport, dir);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main();
