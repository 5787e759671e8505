/**
 * A mutation pass by hand-written mutations: each deletes or breaks one rule (tools/mutations.ts), and
 * the tests that should catch it are run against the mutated code. A mutation no test fails on is a rule
 * the tests do not hold.
 *
 *   npx ts-node --transpile-only tools/mutation.ts [--only <id prefix>]... [--out <file.md>]
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

/** The jest arguments of a mutation's test run (the unit project stops at the first failing file: one is enough to kill). */
function jestArgs(m: Mutation): string[] {
    return m.run === "unit" ? ["--selectProjects", "unit", "--maxWorkers=2", "--bail"] : ["--maxWorkers=2", ...m.run];
}

function runOne(copy: string, m: Mutation): Outcome {
    const started = Date.now();
    const file = path.join(copy, m.file);
    const original = fs.readFileSync(file, "utf8");
    const count = original.split(m.find).length - 1;
    if (count !== 1) return { mutation: m, status: "stale", detail: [`the text to change occurs ${count} times in ${m.file}`], seconds: 0 };
    fs.writeFileSync(file, original.replace(m.find, () => m.replace));
    const report = path.join(os.tmpdir(), `homeiq-mutation-${process.pid}.json`);
    try {
        spawnSync(path.join(copy, "node_modules", ".bin", "jest"), [...jestArgs(m), "--json", `--outputFile=${report}`], {
            cwd: copy,
            encoding: "utf8",
            timeout: 30 * 60_000,
            maxBuffer: 256 * 1024 * 1024,
        });
        const json = fs.existsSync(report)
            ? (JSON.parse(fs.readFileSync(report, "utf8")) as {
                  numFailedTests: number;
                  numRuntimeErrorTestSuites: number;
                  testResults: Array<{ name: string; message: string; assertionResults: Array<{ status: string; fullName: string }> }>;
              })
            : undefined;
        const failed = (json?.testResults ?? []).flatMap((t) => {
            const tests = t.assertionResults.filter((a) => a.status === "failed").map((a) => `${path.relative(copy, t.name)}: ${a.fullName}`);
            // A suite that could not run at all (e.g. the mutant does not load) counts, saying so.
            return tests.length > 0 ? tests : t.message ? [`${path.relative(copy, t.name)}: (suite failed to run)`] : [];
        });
        const seconds = (Date.now() - started) / 1000;
        if (json === undefined) return { mutation: m, status: "killed", detail: ["(jest wrote no report: the run itself failed)"], seconds };
        return { mutation: m, status: failed.length > 0 ? "killed" : "SURVIVED", detail: failed, seconds };
    } finally {
        fs.writeFileSync(file, original);
        fs.rmSync(report, { force: true });
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
