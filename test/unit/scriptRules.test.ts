/**
 * The scripts and the schema agree on what is valid.
 *
 * 1. The patterns the scripts refuse values with are read out of scripts/ and run by bash itself on
 *    generated values: whatever the schema accepts, the script accepts (and for backup paths, the
 *    reverse too).
 * 2. Every Command of synthesized stacks (varied configs) is run as the provider would run it:
 *    `/bin/sh -c <command>` in the project folder with the Command's environment, a fake `docker`
 *    and `curl` first in PATH. No script refuses its environment (exit 2); each gets as far as the
 *    fake engine lets it.
 */
import { spawnSync } from "child_process";
import * as fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONFIG_FIELDS } from "../../config/keys";
import { RE_BACKUP_PATH, RE_INFLUX_NAME, RE_STACK_NAME, RETENTION_DAYS_MAX, SECRET_MAX, STACK_NAME_MAX } from "../../catalog/rules";
import { MIN_TOKEN_LENGTH } from "../../config/values";
import type { SynthResult } from "../../synth/synthesize";
import { COMMAND, ofType, synthOf } from "./helpers";
import { SCRIPT_CONFIGS as CONFIGS } from "./synthCases";

const ROOT = path.resolve(__dirname, "..", "..");
const SEED = 9009;

/** `readonly NAME='…'` from a script. */
function scriptPattern(script: string, name: string): string {
    const m = new RegExp(`^readonly ${name}='([^']*)'$`, "m").exec(fs.readFileSync(path.join(ROOT, "scripts", script), "utf8"));
    if (!m) throw new Error(`no readonly ${name}='...' in scripts/${script}`);
    return m[1];
}

/** `readonly NAME=<number>` from a script. */
function scriptNumber(script: string, name: string): number {
    const m = new RegExp(`^readonly ${name}=([0-9]+)$`, "m").exec(fs.readFileSync(path.join(ROOT, "scripts", script), "utf8"));
    if (!m) throw new Error(`no readonly ${name}=<number> in scripts/${script}`);
    return Number(m[1]);
}

/** Which values bash's `[[ $v =~ $re ]]` accepts (values must not hold NUL). */
function bashMatches(re: string, values: readonly string[]): boolean[] {
    const r = spawnSync("bash", ["-c", 'while IFS= read -r -d "" v; do if [[ $v =~ $RE ]]; then printf 1; else printf 0; fi; done'], {
        input: values.map((v) => `${v}\0`).join(""),
        env: { RE: re, LC_ALL: "C", PATH: process.env.PATH },
        encoding: "utf8",
    });
    expect(r.status).toBe(0);
    return [...r.stdout].map((c) => c === "1");
}

const accepts = (key: keyof typeof CONFIG_FIELDS, value: string): boolean => CONFIG_FIELDS[key].safeParse(value).success;

// Strings of path-like characters and the characters a script must refuse.
const pathish = fc.string({ unit: fc.constantFrom(..."/abc_.+-~ :$'\"*\\\n\t\u00e9AZ09".split("")), maxLength: 24 });

describe("patterns shared with the scripts", () => {
    it("schedules: homeiq:backupSchedule accepts exactly what scripts/schedule/lib.sh's valid_when runs (and 'off')", () => {
        const part = fc.constantFrom("daily ", "monthly ", "every ", "hourly ", "", "0", "1", "2", "3", "4", "5", "9", ":", " ", "00", "28", "29", "1440", "1441", "24", "23:59", "-");
        const values = [...fc.sample(fc.array(part, { maxLength: 5 }).map((xs) => xs.join("")), { seed: SEED, numRuns: 1500 }), "daily 02:00", "monthly 28 23:59", "every 1440", "every 1441", "monthly 29 02:00"];
        const r = spawnSync("bash", ["-c", 'source scripts/schedule/lib.sh; while IFS= read -r -d "" v; do if valid_when "$v"; then printf 1; else printf 0; fi; done'], {
            cwd: ROOT,
            input: values.map((v) => `${v}\0`).join(""),
            encoding: "utf8",
        });
        expect(r.status).toBe(0);
        const bash = [...r.stdout].map((c) => c === "1");
        expect(values.filter((v, i) => (v !== "off" && accepts("backupSchedule", v)) !== bash[i])).toEqual([]);
        expect(bash.filter(Boolean).length).toBeGreaterThan(10);
        expect(accepts("backupSchedule", "off")).toBe(true);
    });

    it("migration: from-compose.sh checks the values it carries with the program's own rules (same text, same bounds)", () => {
        expect(scriptPattern("migrate/from-compose.sh", "RE_INFLUX_NAME")).toBe(RE_INFLUX_NAME.source);
        expect(scriptNumber("migrate/from-compose.sh", "RETENTION_DAYS_MAX")).toBe(RETENTION_DAYS_MAX);
        expect(scriptNumber("migrate/from-compose.sh", "SECRET_MAX")).toBe(SECRET_MAX);
        expect(scriptNumber("migrate/from-compose.sh", "STACK_NAME_MAX")).toBe(STACK_NAME_MAX);
        expect(scriptNumber("migrate/from-compose.sh", "MIN_TOKEN_LENGTH")).toBe(MIN_TOKEN_LENGTH);
    });

    it("migration: org and bucket names are accepted by from-compose.sh exactly when the schema accepts them", () => {
        const names = [...fc.sample(fc.string({ unit: fc.constantFrom(..."aZ09_.- -\u00e9:/$'\"&".split("")), minLength: 1, maxLength: 70 }), { seed: SEED, numRuns: 600 }), "a".repeat(63), "a".repeat(64)];
        const bash = bashMatches(scriptPattern("migrate/from-compose.sh", "RE_INFLUX_NAME"), names);
        expect(names.filter((n, i) => accepts("influxdbOrg", n) !== bash[i])).toEqual([]);
        expect(names.filter((n, i) => accepts("influxdbBucket", n) !== bash[i])).toEqual([]);
        expect(bash.filter(Boolean).length).toBeGreaterThan(25);
    });

    it("migration: --stack is accepted by from-compose.sh exactly when the program accepts the stack name", () => {
        const names = fc.sample(fc.string({ unit: fc.constantFrom(..."ab09._-A/ ".split("")), minLength: 1, maxLength: 20 }), { seed: SEED, numRuns: 800 });
        const bash = bashMatches(scriptPattern("migrate/from-compose.sh", "RE_STACK_NAME"), names);
        expect(names.filter((n, i) => RE_STACK_NAME.test(n) !== bash[i])).toEqual([]);
        expect(bash.filter(Boolean).length).toBeGreaterThan(20);
    });

    it("backup paths: lib.sh's RE_ABS_PATH is the schema's RE_BACKUP_PATH, character for character", () => {
        expect(new RegExp(scriptPattern("backup/lib.sh", "RE_ABS_PATH")).source).toBe(RE_BACKUP_PATH.source);
    });

    it("backup paths: the schema accepts exactly the paths backup.sh and restore.sh accept (as the script sees them)", () => {
        const samples = [...fc.sample(pathish, { seed: SEED, numRuns: 400 }), ...fc.sample(pathish.map((s) => `/${s}`), { seed: SEED, numRuns: 400 }), "/", "/srv/b", "/srv/../b", "~", "~/x", "~x"];
        const home = "/home/tester";
        // What the script checks: the value with ~ resolved (backup.sh), '..' components refused apart.
        const seen = samples.filter((v) => v.length > 0 && !v.includes("\0") && !v.split("/").includes(".."));
        const bash = bashMatches(RE_BACKUP_PATH.source, seen.map((v) => (v === "~" || v.startsWith("~/") ? home + v.slice(1) : v)));
        const disagree = seen.filter((v, i) => accepts("backupRoot", v) !== bash[i]);
        expect(disagree).toEqual([]);
        expect(seen.filter((v) => accepts("backupRoot", v)).length).toBeGreaterThan(50);
        // restoreFrom: the same, with ~ expanded by the program (restore.sh gets the absolute path).
        const restore = seen.filter((v) => !v.endsWith(".partial"));
        const bashRestore = bashMatches(RE_BACKUP_PATH.source, restore.map((v) => (v === "~" || v.startsWith("~/") ? os.homedir() + v.slice(1) : v)));
        expect(restore.filter((v, i) => accepts("restoreFrom", v) !== bashRestore[i])).toEqual([]);
    });

    it("InfluxDB org and bucket: every name the schema accepts passes set-retention.sh's RE_NAME", () => {
        const names = fc.sample(fc.string({ unit: fc.constantFrom(..."aZ09_.- -\u00e9:/".split("")), minLength: 1, maxLength: 70 }), { seed: SEED, numRuns: 600 });
        const ok = names.filter((n) => accepts("influxdbOrg", n));
        expect(ok.length).toBeGreaterThan(50);
        expect(bashMatches(scriptPattern("influxdb/set-retention.sh", "RE_NAME"), ok).every(Boolean)).toBe(true);
    });

    it("InfluxDB retention: the schema's days are exactly set-retention.sh's RE_RETENTION", () => {
        const days = [...fc.sample(fc.integer({ min: -5, max: 200000 }), { seed: SEED, numRuns: 300 }), 0, 1, RETENTION_DAYS_MAX, RETENTION_DAYS_MAX + 1];
        const bash = bashMatches(scriptPattern("influxdb/set-retention.sh", "RE_RETENTION"), days.map((d) => (d === 0 ? "0s" : `${d}d`)));
        expect(days.filter((d, i) => accepts("influxdbRetentionDays", String(d)) !== bash[i])).toEqual([]);
    });

    it("stack names: every name the program accepts is a valid HOMEIQ_STACK (lib.sh RE_STACK)", () => {
        const names = fc.sample(fc.string({ unit: fc.constantFrom(..."ab09._-A/ ".split("")), minLength: 1, maxLength: 20 }), { seed: SEED, numRuns: 500 });
        const ok = names.filter((n) => RE_STACK_NAME.test(n));
        expect(ok.length).toBeGreaterThan(20);
        expect(bashMatches(scriptPattern("backup/lib.sh", "RE_STACK"), ok).every(Boolean)).toBe(true);
    });
});

describe("every `pulumi config set` line the migration prints passes its value as one argument, whatever it holds", () => {
    // Hostile text: shell syntax, quotes, line breaks, control and non-ASCII characters, option-like words.
    const hostile = fc.string({ unit: fc.constantFrom(..."ab $()`'\"\\&;|<>*?~{}[]!#%^=-\n\t\r\u0001\u00e9\u202e\ud83d\ude00".split(/(?=[\s\S])/u)), maxLength: 40 });
    const samples = [
        ...fc.sample(hostile, { seed: SEED, numRuns: 300 }),
        ...fc.sample(fc.string({ unit: "grapheme", maxLength: 20 }), { seed: SEED + 1, numRuns: 100 }),
        "", " ", "a b", "x&y", "--stack", "-n", "'", "\"", "\\", "$(touch MARK)", "`touch MARK`", "a\n$(touch MARK)\nb", "'; touch MARK; '", "~", "*",
    ].filter((v) => !v.includes("\0"));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-config-line-"));
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("runs each printed line with a stand-in pulumi and gets back exactly the value (and nothing else ran)", () => {
        const printed = spawnSync("bash", ["-c", 'source "$LIB"; while IFS= read -r -d "" v; do config_set_line homeiq:influxdbOrg "$v" prod; done'], {
            input: samples.map((v) => `${v}\0`).join(""),
            env: { LIB: path.join(ROOT, "scripts", "backup", "lib.sh"), LOG_TAG: "t", PATH: process.env.PATH },
            encoding: "utf8",
        });
        expect(printed.status).toBe(0);
        const lines = printed.stdout.split("\n").slice(0, -1);
        expect(lines.length).toBe(samples.length); // one line per value: a line break in a value never splits it
        const bin = path.join(tmp, "bin");
        const calls = path.join(tmp, "calls");
        fs.mkdirSync(bin);
        fs.mkdirSync(calls);
        fs.writeFileSync(path.join(bin, "pulumi"), '#!/usr/bin/env bash\nprintf \'%s\\0\' "$@" > "$CALLS/$N"\n', { mode: 0o755 });
        // Each line on its own, as docs/migration.md's `bash -euo pipefail <(sed …)` runs them; N numbers the call. In tmp, where MARK would appear.
        const script = lines.map((l, i) => `export N=${i}\n${l}`).join("\n");
        const r = spawnSync("bash", ["-c", script], { cwd: tmp, env: { PATH: `${bin}:${process.env.PATH}`, CALLS: calls, HOME: tmp }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        expect(r.stderr).toBe("");
        const got = samples.map((_, i) => fs.readFileSync(path.join(calls, String(i)), "utf8").split("\0").slice(0, -1));
        const wrong = samples.filter((v, i) => JSON.stringify(got[i]) !== JSON.stringify(["config", "set", "homeiq:influxdbOrg", v, "--stack", "prod"]));
        expect(wrong).toEqual([]);
        expect(fs.readdirSync(calls).length).toBe(samples.length);
        expect(fs.existsSync(path.join(tmp, "MARK"))).toBe(false);
    });
});

/**
 * A `docker` that answers like an engine where nothing of the stack exists yet, a `curl` that gets
 * healthy answers, and a `crontab` that keeps the table in $HOME (the watch's schedule must never
 * touch the real user's crontab from a unit test).
 */
function fakeTools(dir: string): void {
    fs.writeFileSync(
        path.join(dir, "crontab"),
        `#!/bin/sh
case "$1" in
  -l) [ -f "$HOME/fake-crontab" ] || { echo "no crontab for fake" >&2; exit 1; }; cat "$HOME/fake-crontab" ;;
  -) cat >"$HOME/fake-crontab" ;;
  -*) echo "fake crontab: unexpected $*" >&2; exit 2 ;;
  *) cat -- "$1" >"$HOME/fake-crontab" ;;
esac
`,
        { mode: 0o755 },
    );
    fs.writeFileSync(
        path.join(dir, "docker"),
        `#!/bin/sh
case "$1" in
  version) echo 25.0.0 ;;
  info) echo "name=seccomp,profile=builtin name=cgroupns " ;;
  builder) echo "Total reclaimed space: 0B" ;;
  *) echo "Error: No such object: $*" >&2; exit 1 ;;
esac
`,
        { mode: 0o755 },
    );
    fs.writeFileSync(
        path.join(dir, "curl"),
        `#!/bin/sh
out=
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then out=$2; shift; fi
  shift
done
[ -n "$out" ] && printf '<!doctype html><html>{"status":"pass"}</html>' >"$out"
printf '200 0.002'
`,
        { mode: 0o755 },
    );
}

/** What each script gets to with the fake engine; never 2 (its environment refused). */
const EXPECTED_EXIT: Array<[RegExp, number, RegExp]> = [
    // The fake engine has no container: the pre-change backup (a first deploy may find nothing) says so and
    // succeeds; every other backup (HOMEIQ_BACKUP_IF_NOTHING=fail) refuses to back up nothing.
    [/^bash scripts\/backup\/backup\.sh$/, 0, /nothing to back up yet/],
    [/^bash scripts\/backup\/backup\.sh #if-nothing=fail$/, 3, /nothing to back up for stack '[^']+': looked for InfluxDB container/],
    // The gate counts error lines in each container's log since it started: it inspects each one.
    [/^bash scripts\/validate\/validate\.sh$/, 3, /cannot inspect container \S+: Error: No such object/],
    [/^bash scripts\/validate\/containers-healthy\.sh$/, 1, /health gate failed: (\d+) of \1 containers not healthy/],
    [/^bash scripts\/backup\/restore-stack\.sh$/, 5, /refusing to restore from .*: no such folder; nothing was changed/],
    [/^bash scripts\/influxdb\/set-retention\.sh$/, 3, /influxdb container \S+ does not exist/],
    [/^bash scripts\/backup\/chown-volume\.sh$/, 3, /helper image .* is not present/],
    [/^bash scripts\/docker\/socket-group\.sh$/, 3, /could not read the group of \/var\/run\/docker\.sock through the engine/],
    [/^bash scripts\/docker\/pids-limits\.sh$/, 3, /container \S+: Error: No such object/],
    [/^bash scripts\/preflight\/ports-free\.sh$/, 3, /could not list the Docker host's listening sockets \(a container of \S+ on the host network\): Error: No such object: run /],
    [/^echo /, 0, /./],
    [/^docker builder prune --all --force$/, 0, /reclaimed/],
    // The watch (every few minutes), the scheduled backup and the drill; "off" removes a job.
    [/^bash scripts\/schedule\/install\.sh$/, 0, /(watch|backup|drill) of stack '[^']+' (scheduled \((daily|monthly|every) |is off)/],
    [/^bash scripts\/schedule\/remove\.sh$/, 0, /no schedule at .*; nothing to remove|schedule at \S+ removed/],
];

describe("every Command runs its script with the environment the program gives it", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-script-rules-"));
    const bin = path.join(tmp, "bin");
    const home = path.join(tmp, "home");
    const results: Array<[string, SynthResult]> = [];

    beforeAll(async () => {
        fs.mkdirSync(bin);
        fs.mkdirSync(home);
        fakeTools(bin);
        for (const [name, c] of CONFIGS) results.push([name, await synthOf(c)]);
    }, 60_000);

    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it.each(CONFIGS.map(([name]) => [name]))("%s", (name) => {
        const result = results.find(([n]) => n === name)![1];
        const runs: string[] = [];
        for (const c of ofType(result, COMMAND)) {
            const env = Object.fromEntries(Object.entries((c.inputs.environment ?? {}) as Record<string, string>).map(([k, v]) => [k, v === "[secret]" ? "fake-secret-value" : v]));
            for (const field of ["create", "update", "delete"] as const) {
                const cmd = c.inputs[field];
                if (typeof cmd !== "string") continue;
                const r = spawnSync("/bin/sh", ["-c", cmd], { cwd: ROOT, env: { PATH: `${bin}:/usr/bin:/bin`, HOME: home, ...env }, encoding: "utf8", timeout: 30_000 });
                const key = /backup\.sh$/.test(cmd) && env.HOMEIQ_BACKUP_IF_NOTHING === "fail" ? `${cmd} #if-nothing=fail` : cmd;
                const expected = EXPECTED_EXIT.find(([re]) => re.test(key));
                const out = `${r.stdout}${r.stderr}`;
                expect({ command: `${c.name}.${field}: ${cmd}`, status: r.status, matched: expected !== undefined && expected[2].test(out), out: expected && expected[2].test(out) ? "" : out }).toEqual({
                    command: `${c.name}.${field}: ${cmd}`,
                    status: expected?.[1],
                    matched: true,
                    out: "",
                });
                runs.push(`${c.name}.${field}`);
                if (/backup\.sh$/.test(cmd)) {
                    // The default ~ and a ~/... root resolve to this machine's home, here the fake one.
                    expect(r.stdout).toMatch(new RegExp(`backup root ${home}/(homeiq-backups|backups/homeiq), keep 30 days`));
                }
            }
        }
        expect(runs).toEqual(expect.arrayContaining(["homeiq-pre-change-backup.create", "homeiq-final-backup.delete"]));
    }, 60_000);
});
