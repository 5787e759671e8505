/**
 * `npm run synth` as a person runs it: a separate process (node launch.js synth/cli: the compiled
 * bin/ when it is current, else the sources through ts-node), its exit code and its two streams.
 * Exit 0 with one JSON document on stdout; 2 for a config problem, with nothing on stdout and every
 * problem on stderr; never a stack trace.
 */
import { execFile } from "child_process";
import * as fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { stringify } from "yaml";
import { CONFIG_KEYS, isSecretKey, type ConfigKey } from "../../config/keys";
import { parseStackConfig } from "../../config/schema";
import { malformed, SEED, stacks } from "../unit/configGenerators";

const ROOT = path.resolve(__dirname, "..", "..");
const run = promisify(execFile);

interface Outcome {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** `npm run synth -- <stack>` (what it runs: node launch.js synth/cli) against the stack files in `dir`. */
async function synth(dir: string, stack: string): Promise<Outcome> {
    try {
        const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, "launch.js"), "synth/cli", stack, "--skip-checkout-check"], {
            env: { ...process.env, HOMEIQ_PROJECT_DIR: dir },
            maxBuffer: 64 * 1024 * 1024,
        });
        return { code: 0, stdout, stderr: withoutFallbackNotice(stderr) };
    } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, stdout: err.stdout, stderr: withoutFallbackNotice(err.stderr) };
    }
}

/** launch.js's one line when bin/ is older than the sources (test/process/launch.test.ts checks it); the rest is the CLI's. */
const withoutFallbackNotice = (stderr: string): string => stderr.replace(/^\[homeiq\] bin\/ is missing or was built from other sources[^\n]*\n/, "");

/** A folder with Pulumi.yaml and the given stack files (stack name → text). */
function projectWith(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-cli-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    for (const [stack, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
    return dir;
}

const safeJson = (text: string): unknown => {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
};

describe("npm run synth", () => {
    const prod = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
    const dir = projectWith({
        broken: prod.replace("- http://localhost:3000", '- "*"').replace("homeiq:homeAssistantUrl: http://", "homeiq:homeAssistantUrl: ftp://"),
        sealed: `${prod}  homeiq:homeAssistantToken:\n    secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBBBBBBBBBBBBBB\n`,
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("exits 2 on invalid config, prints nothing on stdout and every problem on stderr", async () => {
        const { code, stdout, stderr } = await synth(dir, "broken");
        expect(code).toBe(2);
        expect(stdout).toBe("");
        expect(stderr).toContain("homeiq:corsOrigins[1] = \"*\"");
        expect(stderr).toContain("homeiq:homeAssistantUrl = \"ftp://homeassistant.local:8123\"");
    });

    it("stands in for a secure: value it cannot decrypt and names it on stderr", async () => {
        const { code, stdout, stderr } = await synth(dir, "sealed");
        expect(code).toBe(0);
        expect(stderr).toContain("homeiq:homeAssistantToken: encrypted (secure:) value cannot be decrypted offline");
        const doc = JSON.parse(stdout) as { stack: string; resources: unknown[] };
        expect(doc.stack).toBe("sealed");
        expect(doc.resources.length).toBeGreaterThan(60);
        expect(stdout).not.toContain("synth-placeholder");
    });

    it("exits 2 for a stack that does not exist, naming the stacks that do, with no stack trace", async () => {
        const { code, stdout, stderr } = await synth(dir, "staging");
        expect(code).toBe(2);
        expect(stdout).toBe("");
        expect(stderr).toMatch(/^Invalid configuration for stack "staging": 1 problem\. Nothing was deployed\.\n/);
        expect(stderr).toContain("Pulumi.staging.yaml = (missing): does not exist: there is no stack \"staging\" here");
        expect(stderr).toContain("here: broken, sealed");
        expect(stderr).not.toMatch(/\n\s+at /);
    });

    it("suggests the stack a typo means, and prints its usage for --help", async () => {
        const typo = await synth(dir, "Sealed");
        expect(typo.code).toBe(2);
        expect(typo.stderr).toContain('there is no stack "Sealed" here; did you mean sealed?');
        expect(typo.stderr).toContain("fix:     npm run synth -- sealed\n");
        const help = await synth(dir, "--help");
        expect(help.code).toBe(0);
        expect(help.stdout).toMatch(/^usage: npm run -s synth -- <stack> \[--skip-checkout-check\]\n/);
        expect(help.stdout).toContain("Stacks here: broken, sealed.");
        const option = await synth(dir, "--stack");
        expect(option.code).toBe(1);
        expect(option.stderr).toContain("synth: unknown option --stack");
    });
});

describe("npm run synth, for a sample of generated configs and malformed files", () => {
    // A generated config (the first of this seed's samples that the config schema accepts: exit 0) and a
    // malformed file (exit 2); invalid configs in-process are test/unit's (configErrors, configProperty).
    const files: Record<string, string> = {};
    const valid = fc.sample(stacks(2, 0.02), { seed: SEED, numRuns: 20 }).find((g) => parseStackConfig(g.values).ok);
    if (valid === undefined) throw new Error(`no valid config among the first 20 samples of seed ${SEED}`);
    [valid].forEach((g, i) => {
        const config: Record<string, unknown> = {};
        // Secrets as `pulumi config set --secret` stores them (encrypted: the offline synth puts a placeholder in their place).
        for (const [k, v] of Object.entries(g.values)) {
            config[`homeiq:${k}`] = isSecretKey(k) && v !== "" ? { secure: "v1:AAAAAAAAAAAAAAAA:offline" } : CONFIG_KEYS[k as ConfigKey]?.type === "array" && v.startsWith("[") ? safeJson(v) : v;
        }
        for (const [k, v] of Object.entries(g.otherValues)) config[k] = v;
        files[`gen${i}`] = stringify({ config });
    });
    fc.sample(malformed, { seed: SEED, numRuns: 1 }).forEach((text, i) => (files[`bad${i}`] = text));
    const dir = projectWith(files);
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("exit 0 with a JSON document, or 2 with nothing on stdout and the problems on stderr; no stack trace", async () => {
        const outcomes = await Promise.all(Object.keys(files).map(async (stack) => ({ stack, ...(await synth(dir, stack)) })));
        for (const o of outcomes) {
            expect({ stack: o.stack, code: [0, 2].includes(o.code) ? "0 or 2" : o.code, trace: /\n\s+at /.test(o.stderr) }).toEqual({ stack: o.stack, code: "0 or 2", trace: false });
            if (o.code === 0) expect((JSON.parse(o.stdout) as { resources: unknown[] }).resources.length).toBeGreaterThan(20);
            else {
                expect(o.stdout).toBe("");
                expect(o.stderr).toMatch(new RegExp(`^Invalid configuration for stack "${o.stack}": \\d+ problems?\\. Nothing was deployed\\.\\n  - `));
            }
        }
        // Both exits are exercised by this seed.
        expect(outcomes.map((o) => o.code)).toEqual([0, 2]);
    });
});
