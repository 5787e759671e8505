/**
 * A mutation pass by hand-written mutations: each deletes or breaks one rule (tools/mutations.ts), and
 * the tests that should catch it are run against the mutated code. A mutation no test fails on is a rule
 * the tests do not hold.
 *
 *   npm run mutation -- [--only <id prefix>]... [--out <file.md>]
 *
 * It works in a throwaway git worktree of HEAD (detached, node_modules linked from here), so the
 * checkout you run it from is never changed; commit first what you want mutated. For each mutation:
 * the `find` text must occur exactly once in its file (else the mutation is reported stale), the file is
 * rewritten with `replace`, the mutation's jest command runs (`--json`), the file is put back. The table
 * printed at the end (and written to --out) lists each mutation, the failing tests that caught it, or
 * SURVIVED. Engine mutations run engine test files: they need the engine tests' Docker engine.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MUTATIONS, type Mutation } from "./mutations";

const ROOT = path.resolve(__dirname, "..");

interface Outcome {
    readonly mutation: Mutation;
    readonly status: "killed" | "SURVIVED" | "stale";
    /** Failing tests (file: full name), or why the mutation could not be applied. */
    readonly detail: string[];
    readonly seconds: number;
}

function git(args: readonly string[], cwd = ROOT): string {
    const r = spawnSync("git", args, { cwd, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}

/**
 * The jest runs of a mutation, first to last until one fails a test. A unit mutation runs its `fast` test
 * files first, in one process without the unit project's globalSetup (which synthesizes every case: most
 * of a run's time on a loaded machine); only if they all pass, the whole unit project. (No --bail: jest
 * then writes no --json report.)
 */
function jestRuns(m: Mutation): string[][] {
    if (m.run !== "unit") return [["--maxWorkers=2", ...m.run]];
    const whole = ["--selectProjects", "unit", "--maxWorkers=2"];
    const fast = m.fast ?? (m.file.startsWith("policy/") ? ["test/unit/policy"] : ["test/unit/configRules", "test/unit/resolve", "test/unit/projectFile"]);
    return [["--config", "jest.mutation.config.js", "--runInBand", "--testPathPatterns", fast.join("|")], whole];
}

/** The unit project without its globalSetup: its files synthesize in-process what they need (jestRuns). */
const FAST_CONFIG = `module.exports = {
    testEnvironment: "node",
    transform: { "^.+\\\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json" }] },
    testMatch: ["<rootDir>/test/unit/**/*.test.ts"],
};
`;

interface JestReport {
    readonly testResults: Array<{ name: string; message: string; assertionResults: Array<{ status: string; fullName: string }> }>;
}

/** Runs jest in the copy: the failing tests (file: full name), or why jest wrote no report (a run that failed counts). */
function failingTests(copy: string, args: readonly string[]): string[] {
    const report = path.join(os.tmpdir(), `homeiq-mutation-${process.pid}.json`);
    try {
        const jest = [path.join(copy, "node_modules", ".bin", "jest"), ...args, "--json", `--outputFile=${report}`];
        // The whole-stack tests use fixed names and ports: one at a time on an engine, under this lock (README).
        const command = args.some((a) => /stack\.(dev|prod)\.test\.ts$/.test(a)) ? ["flock", "/tmp/homeiq-stack.lock", ...jest] : jest;
        const r = spawnSync(command[0]!, command.slice(1), {
            cwd: copy,
            encoding: "utf8",
            timeout: 30 * 60_000,
            maxBuffer: 256 * 1024 * 1024,
        });
        if (!fs.existsSync(report)) return [`(jest wrote no report: ${(r.stderr ?? "").trim().split("\n").slice(-3).join(" / ")})`];
        const json = JSON.parse(fs.readFileSync(report, "utf8")) as JestReport;
        return json.testResults.flatMap((t) => {
            const tests = t.assertionResults.filter((a) => a.status === "failed").map((a) => `${path.relative(copy, t.name)}: ${a.fullName}`);
            // A suite that could not run at all (e.g. the mutant does not load) counts, saying so.
            return tests.length > 0 ? tests : t.message ? [`${path.relative(copy, t.name)}: (suite failed to run)`] : [];
        });
    } finally {
        fs.rmSync(report, { force: true });
    }
}

function runOne(copy: string, m: Mutation): Outcome {
    const started = Date.now();
    const file = path.join(copy, m.file);
    const original = fs.readFileSync(file, "utf8");
    const count = original.split(m.find).length - 1;
    if (count !== 1) return { mutation: m, status: "stale", detail: [`the text to change occurs ${count} times in ${m.file}`], seconds: 0 };
    fs.writeFileSync(file, original.replace(m.find, () => m.replace));
    try {
        for (const args of jestRuns(m)) {
            const failed = failingTests(copy, args);
            const seconds = (Date.now() - started) / 1000;
            if (failed.length > 0) return { mutation: m, status: "killed", detail: failed, seconds };
        }
        return { mutation: m, status: "SURVIVED", detail: [], seconds: (Date.now() - started) / 1000 };
    } finally {
        fs.writeFileSync(file, original);
    }
}
const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function main(): void {
    const args = process.argv.slice(2);
    const only = args.flatMap((a, i) => (args[i - 1] === "--only" ? [a] : []));
    const out = args.flatMap((a, i) => (args[i - 1] === "--out" ? [a] : []))[0];
    const chosen = MUTATIONS.filter((m) => only.length === 0 || only.some((p) => m.id.startsWith(p)));
    const ids = new Set<string>();
    for (const m of MUTATIONS) {
        if (ids.has(m.id)) throw new Error(`two mutations are named ${m.id}`);
        ids.add(m.id);
    }

    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-mutation-wt-"));
    fs.rmdirSync(copy);
    git(["worktree", "add", "--detach", copy, "HEAD"]);
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
    fs.writeFileSync(path.join(copy, "jest.mutation.config.js"), FAST_CONFIG);
    const stop = (): void => {
        git(["worktree", "remove", "--force", copy]);
        process.exit(130);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const outcomes: Outcome[] = [];
    try {
        for (const m of chosen) {
            const o = runOne(copy, m);
            outcomes.push(o);
            process.stdout.write(`${o.status.padEnd(8)} ${m.id} (${o.seconds.toFixed(0)} s)${o.status === "killed" ? "" : `: ${o.detail.join("; ")}`}\n`);
        }
    } finally {
        git(["worktree", "remove", "--force", copy]);
    }
    const lines = [
        "| mutation | file | what it breaks | caught by |",
        "|---|---|---|---|",
        ...outcomes.map((o) => {
            const caught = o.status === "killed" ? `${o.detail.slice(0, 2).join("<br>")}${o.detail.length > 2 ? `<br>(+${o.detail.length - 2} more)` : ""}` : `**${o.status}**${o.mutation.why ? `: ${o.mutation.why}` : ""}`;
            return `| ${o.mutation.id} | ${o.mutation.file} | ${cell(o.mutation.what)} | ${cell(caught)} |`;
        }),
        "",
        `${outcomes.filter((o) => o.status === "killed").length} killed, ${outcomes.filter((o) => o.status === "SURVIVED").length} survived, ${outcomes.filter((o) => o.status === "stale").length} stale, of ${outcomes.length}`,
    ];
    process.stdout.write(`\n${lines.join("\n")}\n`);
    if (out) fs.writeFileSync(out, `${lines.join("\n")}\n`);
    process.exitCode = outcomes.some((o) => o.status !== "killed") ? 1 : 0;
}

main();
