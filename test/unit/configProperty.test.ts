/**
 * The config contract, for generated stack configs, valid and invalid (fast-check, seeded and
 * bounded): the program either builds a well-formed graph (synth exit 0), or refuses with exit 2,
 * nothing on stdout, and every problem naming its key, showing its value (secrets masked), saying
 * what is allowed and giving a fix command that works: run through bash, it is a `pulumi config`
 * (or `pulumi stack rename`) call whose value passes validation, and following the fixes leads to
 * a valid config. Never a stack trace, never another exit code.
 *
 * The bulk runs in-process (parseStackConfig, and the synth for a sample: configGenerators.ts);
 * test/process/cli.test.ts runs the CLI for a few configs and malformed stack files to check exit
 * codes and streams.
 */
import * as fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SERVICE_CATALOG, SERVICE_KEYS } from "../../catalog/services";
import { isSecretKey, type ConfigKey } from "../../config/keys";
import { ConfigValidationError } from "../../config/loadConfig";
import { formatProblems, type ConfigProblem } from "../../config/problems";
import { CONFIG_FIELDS } from "../../config/keys";
import { parseStackConfig, type StackConfig } from "../../config/schema";
import { readStackFiles } from "../../synth/stackFiles";
import { generated, generatedCase, MALFORMED_FILES, PASSWORD, programSample, SEED, type Generated } from "./configGenerators";
import { applyCalls, FixRunner, withoutStack, type StackState } from "./fixCommands";
import { COMMAND, containersByService, ofType, outcomeOf } from "./helpers";

const ROOT = path.resolve(__dirname, "..", "..");

// ---- the contract ---------------------------------------------------------------------------

/** A valid value for a secret prompt, long and plain enough for every secret key. */
/** What a user types at `pulumi config set --secret`'s prompt: the form the key asks for. */
const promptValue = (key: string): string => (key === "notifyWebhookUrl" ? "https://ntfy.sh/prompted-secret-topic-0123456789" : "prompted-secret-value-0123456789abcdef");

/** Broken expectations of one problem list (empty when the contract holds). */
function problemContract(g: Generated, problems: readonly ConfigProblem[]): string[] {
    const broken: string[] = [];
    const text = formatProblems(g.stack, problems);
    if (problems.length === 0) broken.push("refused without a problem");
    for (const p of problems) {
        const base = p.key.replace(/\[\d+\]$/, "");
        const named = /^homeiq:[^:\s]+$/.test(base) || Object.hasOwn(g.otherValues, p.key) || p.key === "stack name";
        if (!named) broken.push(`${p.key}: does not name a config key`);
        if (p.value.length === 0) broken.push(`${p.key}: shows no value`);
        if (isSecretKey(base.replace(/^homeiq:/, "")) && !["[secret]", "(not set)"].includes(p.value)) broken.push(`${p.key}: shows a secret`);
        if (p.allowed.trim().length === 0) broken.push(`${p.key}: says nothing about what is allowed`);
        if (!/^pulumi (config (set|rm)|stack rename) /.test(p.fix)) broken.push(`${p.key}: fix is not a pulumi command: ${p.fix}`);
        if (/[\u0000-\u001f\u007f]/.test(p.fix)) broken.push(`${p.key}: fix holds a control character`);
    }
    for (const s of g.secrets) if (text.includes(s)) broken.push("a secret value is in the message");
    if (text.includes(PASSWORD)) broken.push("a password from a URL is in the message");
    if (/\n\s+at /.test(text)) broken.push("a stack trace is in the message");
    return broken;
}

const parse = (s: StackState) => parseStackConfig(s.values, { stack: s.stack, otherValues: s.otherValues });

/**
 * Each fix, run by bash, is a pulumi call the CLI accepts, and a value it sets passes that key's
 * own validation. Then, fixing the first problem each time, the config becomes valid.
 */
function fixContract(g: Generated, problems: readonly ConfigProblem[], runner: FixRunner): string[] {
    const broken: string[] = [];
    const calls = runner.run(problems.map((p) => p.fix));
    problems.forEach((p, i) => {
        const made = calls[i];
        if (!made || made.length === 0) return void broken.push(`${p.key}: bash could not run its fix: ${p.fix}`);
        const next = applyCalls(g, made, promptValue);
        if (typeof next === "string") return void broken.push(`${p.key}: pulumi would refuse the fix (${next}): ${p.fix}`);
        for (const argv of made.map(withoutStack).filter((a) => a[0] === "config" && a[1] === "set")) {
            const [target, given] = argv.slice(2).filter((a) => !a.startsWith("--"));
            const m = /^homeiq:([^[\]]+)(\[\d+\])?$/.exec(target);
            if (given === undefined || !m || !Object.hasOwn(CONFIG_FIELDS, m[1])) continue;
            const key = m[1] as ConfigKey;
            const value = m[2] ? JSON.stringify([given]) : given;
            if (!CONFIG_FIELDS[key].safeParse(value).success) broken.push(`${p.key}: its fix sets ${m[0]} to a value that does not pass validation: ${p.fix}`);
        }
    });
    let state: StackState = g;
    for (let round = 0; round < 40; round++) {
        const result = parse(state);
        if (result.ok) return broken;
        const first = result.problems[0];
        const made = runner.run([first.fix])[0];
        const next = made ? applyCalls(state, made, promptValue) : "bash failed";
        if (typeof next === "string") return [...broken, `following the fixes stopped at ${first.key}: ${next}`];
        state = next;
    }
    const left = parse(state);
    return [...broken, `40 fixes in, still invalid: ${left.ok ? "" : left.problems.map((p) => `${p.key}: ${p.problem} (fix: ${p.fix})`).join("; ")}`];
}

/** A valid config resolved into something deployable. */
function configContract(c: StackConfig): string[] {
    const broken: string[] = [];
    const enabled = SERVICE_KEYS.filter((k) => c.services[k].enabled);
    if (enabled.length === 0) broken.push("no service deployed");
    const ports = enabled.map((k) => c.services[k].hostPort);
    if (new Set(ports).size !== ports.length) broken.push("two services on one port");
    if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) broken.push("a port out of range");
    for (const k of enabled) {
        for (const d of SERVICE_CATALOG[k].dependsOn) if (!c.services[d].enabled) broken.push(`${k} without ${d}`);
        const r = c.services[k].resources;
        if (r.memoryReservationMiB > r.memoryMiB) broken.push(`${k}: reservation above limit`);
    }
    if (c.corsOrigins.some((o) => o.includes(","))) broken.push("a comma in an origin");
    return broken;
}

// ---- the properties ---------------------------------------------------------------------------

describe("generated configs, in-process", () => {
    const runner = new FixRunner();
    afterAll(() => runner.dispose());

    it("either resolve to a deployable config, or are refused with problems that name, show, allow and fix", () => {
        let refused = 0;
        fc.assert(
            fc.property(generated, (g) => {
                const result = parse(g);
                if (result.ok) {
                    expect(configContract(result.config)).toEqual([]);
                    return;
                }
                refused++;
                expect(problemContract(g, result.problems)).toEqual([]);
                expect(fixContract(g, result.problems, runner)).toEqual([]);
            }),
            { seed: SEED, numRuns: 100 },
        );
        // Both outcomes are exercised.
        expect(refused).toBeGreaterThan(20);
        expect(refused).toBeLessThan(100);
    }, 60_000);
});

describe("generated configs, through the program (synth under mocks)", () => {
    it("build a well-formed graph, or register nothing and raise the same problems", async () => {
        let built = 0;
        for (const g of programSample()) {
            const expected = parse(g);
            const outcome = await outcomeOf(generatedCase(g));
            if (outcome.kind === "synth") {
                const result = outcome.result;
                expect(expected.ok).toBe(true);
                built++;
                const urns = new Set(result.resources.map((r) => r.urn));
                const json = JSON.stringify(result);
                const enabled = expected.ok ? SERVICE_KEYS.filter((k) => expected.config.services[k].enabled) : [];
                expect([...containersByService(result).keys()].sort()).toEqual([...enabled].sort());
                expect(result.resources.flatMap((r) => r.dependencies).filter((d) => !urns.has(d))).toEqual([]);
                for (const c of ofType(result, COMMAND)) for (const f of ["create", "update", "delete"]) expect(String(c.inputs[f] ?? "")).not.toMatch(/^\/|\s\/|\[secret\]/);
                for (const s of g.secrets) expect(json.includes(s)).toBe(false);
            } else {
                expect(expected.ok).toBe(false);
                expect(outcome.registered).toBe(0);
                expect(problemContract(g, outcome.error.problems)).toEqual([]);
                expect(outcome.error.problems.map((p) => p.key)).toEqual(expected.ok ? [] : expected.problems.map((p) => p.key));
            }
        }
        expect(built).toBeGreaterThan(2);
    }, 120_000);
});

describe("malformed stack files", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-malformed-"));
    beforeAll(() => fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml")));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** The file's problems, as the synth would find them: the file reader's, else its shape problems, else the config's. */
    function refusalOf(text: string): { by: "file" | "key"; problems: ReadonlyArray<{ key: string; problem: string; where?: string }> } {
        fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), text);
        let files;
        try {
            files = readStackFiles(dir, "broken");
        } catch (error) {
            if (!(error instanceof ConfigValidationError)) throw error;
            return { by: "file", problems: error.problems };
        }
        if (files.problems.length > 0) return { by: "key", problems: files.problems };
        const values: Record<string, string> = {};
        const otherValues: Record<string, string> = {};
        for (const [k, v] of Object.entries(files.config)) {
            if (k.startsWith("homeiq:")) values[k.slice("homeiq:".length)] = v;
            else otherValues[k] = v;
        }
        const result = parseStackConfig(values, { stack: "broken", otherValues });
        return { by: "key", problems: result.ok ? [] : result.problems };
    }

    it("covers every kind of damage", () => {
        expect([...new Set(MALFORMED_FILES.map((m) => m.kind))].sort()).toEqual(["duplicate", "namespace", "shape", "toplevel", "yaml"]);
    });

    it.each(MALFORMED_FILES.map((m) => [m.kind, JSON.stringify(m.text.split("\n").slice(-1)[0]), m] as const))(
        "%s: %s is refused with its own problem, saying where; never another error",
        (_kind, _line, m) => {
            const { by, problems } = refusalOf(m.text);
            expect(by).toBe(m.refused.by);
            const mine = problems.filter((p) => p.key === m.refused.key && m.refused.problem.test(p.problem));
            expect({ problems, found: mine.length > 0 }).toEqual({ problems, found: true });
            if (m.refused.line !== undefined) expect(mine[0]!.where).toBe(`Pulumi.broken.yaml line ${m.refused.line}`);
            // Whatever else is refused says where, when it is the file's.
            for (const p of problems) if (by === "file") expect({ key: p.key, where: p.where }).toEqual({ key: p.key, where: expect.stringMatching(/^Pulumi\.broken\.yaml line \d+$/) });
        },
    );

    it("reads the same file without the damage (the refusals above are the damage's)", () => {
        const { problems } = refusalOf(
            [
                "config:",
                "  homeiq:profile: dev",
                "  homeiq:homeAssistantUrl: http://ha.lan:8123",
                "  homeiq:homeiqCheckoutPath: /srv/homeiq",
                "  homeiq:homeAssistantToken: a-long-lived-token-for-this-test-0123",
                // The services that cannot start without a third-party credential, as the committed stacks leave them out.
                "  homeiq:disabledServices:",
                "    - carbon-intensity=no WattTime account",
                "    - air-quality=no AirNow key",
                "    - calendar=no Google account",
            ].join("\n"),
        );
        expect(problems).toEqual([]);
    });
});
