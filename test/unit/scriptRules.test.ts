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
import { CONFIG_FIELDS } from "../../config/schema";
import { RE_BACKUP_PATH, RE_STACK_NAME, RETENTION_DAYS_MAX } from "../../config/rules";
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
        // restoreFrom: the same, without ~.
        const restore = seen.filter((v) => !v.startsWith("~") && !v.endsWith(".partial"));
        const bashRestore = bashMatches(RE_BACKUP_PATH.source, restore);
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
        const bash = bashMatches(scriptPattern("influxdb/set-retention.sh", "RE_RETENTION"), days.map((d) => (d === 0 ? "0" : `${d}d`)));
        expect(days.filter((d, i) => accepts("influxdbRetentionDays", String(d)) !== bash[i])).toEqual([]);
    });

    it("stack names: every name the program accepts is a valid HOMEIQ_STACK (lib.sh RE_STACK)", () => {
        const names = fc.sample(fc.string({ unit: fc.constantFrom(..."ab09._-A/ ".split("")), minLength: 1, maxLength: 20 }), { seed: SEED, numRuns: 500 });
        const ok = names.filter((n) => RE_STACK_NAME.test(n));
        expect(ok.length).toBeGreaterThan(20);
        expect(bashMatches(scriptPattern("backup/lib.sh", "RE_STACK"), ok).every(Boolean)).toBe(true);
    });
});

/** A `docker` that answers like an engine where nothing of the stack exists yet, and a `curl` that gets healthy answers. */
function fakeTools(dir: string): void {
    fs.writeFileSync(
        path.join(dir, "docker"),
        `#!/bin/sh
case "$1" in
  version) echo 25.0.0 ;;
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
    [/^bash scripts\/backup\/backup\.sh$/, 0, /nothing to back up yet/],
    [/^bash scripts\/validate\/validate\.sh$/, 0, /validation passed/],
    [/^bash scripts\/validate\/containers-healthy\.sh$/, 1, /health gate failed: (\d+) of \1 containers not healthy/],
    [/^bash scripts\/backup\/restore-stack\.sh$/, 5, /refusing to restore from .*: no such folder; nothing was changed/],
    [/^bash scripts\/influxdb\/set-retention\.sh$/, 3, /influxdb container \S+ does not exist/],
    [/^bash scripts\/backup\/chown-volume\.sh$/, 3, /helper image .* is not present/],
    [/^bash scripts\/docker\/socket-group\.sh$/, 3, /could not read the group of \/var\/run\/docker\.sock through the engine/],
    [/^bash scripts\/preflight\/ports-free\.sh$/, 3, /could not list the containers publishing host port \d+: Error: No such object/],
    [/^echo /, 0, /./],
    [/^docker builder prune --all --force$/, 0, /reclaimed/],
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
                const expected = EXPECTED_EXIT.find(([re]) => re.test(cmd));
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
                    expect(r.stdout).toMatch(new RegExp(`backup root ${home}/(homeiq-backups|backups/homeiq), keep`));
                }
            }
        }
        expect(runs).toEqual(expect.arrayContaining(["homeiq-pre-change-backup.create", "homeiq-final-backup.delete"]));
    }, 60_000);
});
