/**
 * Invalid config stops the program before any resource is registered, with every problem listed:
 * the key, the bad value (never a secret), what is allowed, and the command that fixes it.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { parseStackConfig } from "../../config/schema";
import { expectConfigError } from "./helpers";

const ROOT = path.resolve(__dirname, "..", "..");

interface Case {
    name: string;
    stack: string;
    overrides: Record<string, string | undefined>;
    key: string;
    value: string;
    problem: RegExp;
    fix: RegExp;
}

const CASES: Case[] = [
    {
        name: "a Home Assistant URL that is not http(s) or ws(s)",
        stack: "prod",
        overrides: { "homeiq:homeAssistantUrl": "ftp://homeassistant.local" },
        key: "homeiq:homeAssistantUrl",
        value: '"ftp://homeassistant.local"',
        problem: /must be an http\(s\):\/\/ or ws\(s\):\/\/ URL/,
        fix: /^pulumi config set homeiq:homeAssistantUrl http:\/\/homeassistant\.local:8123$/,
    },
    {
        name: "two services on one host port",
        stack: "prod",
        overrides: { "homeiq:hostPorts": JSON.stringify(["admin-api=8086"]) },
        key: "homeiq:hostPorts[0]",
        value: '"admin-api=8086"',
        problem: /puts influxdb and admin-api on the same host port 8086/,
        // A port no service uses, so the command runs as written (no `<placeholder>`, which a shell reads as a redirect).
        fix: /^pulumi config set --path 'homeiq:hostPorts\[0\]' admin-api=20000$/,
    },
    {
        name: "* in prod CORS",
        stack: "prod",
        overrides: { "homeiq:corsOrigins": JSON.stringify(["http://homeiq.local:3000", "*"]) },
        key: "homeiq:corsOrigins[1]",
        value: '"*"',
        problem: /allows every origin \('\*'\), which the prod profile forbids/,
        fix: /^pulumi config set --path 'homeiq:corsOrigins\[1\]' http:\/\/homeiq\.lan:3000$/,
    },
    {
        name: "a memory limit below its reservation",
        stack: "prod",
        overrides: { "homeiq:resourceOverrides": JSON.stringify(["data-api:memoryMiB=128"]) },
        key: "homeiq:resourceOverrides[0]",
        value: '"data-api:memoryMiB=128"',
        problem: /gives data-api a memory limit of 128 MiB, below its reservation of 256 MiB/,
        fix: /^pulumi config set --path 'homeiq:resourceOverrides\[0\]' data-api:memoryMiB=512$/,
    },
    {
        name: "an override for a service that does not exist",
        stack: "dev",
        overrides: { "homeiq:resourceOverrides": JSON.stringify(["weather-api:memoryMiB=256"]) },
        key: "homeiq:resourceOverrides[0]",
        value: '"weather-api:memoryMiB=256"',
        problem: /names a service that does not exist: 'weather-api'/,
        fix: /^pulumi config set --path 'homeiq:resourceOverrides\[0\]' data-api:memoryMiB=768$/,
    },
    {
        name: "a non-positive timeout",
        stack: "dev",
        overrides: { "homeiq:healthWaitTimeoutSeconds": "0" },
        key: "homeiq:healthWaitTimeoutSeconds",
        value: '"0"',
        problem: /must be a positive number of seconds/,
        fix: /^pulumi config set homeiq:healthWaitTimeoutSeconds 180$/,
    },
    {
        name: "a placeholder credential from the old compose files (value never shown)",
        stack: "prod",
        overrides: { "homeiq:influxdbAdminPassword": "admin123" },
        key: "homeiq:influxdbAdminPassword",
        value: "[secret]",
        problem: /must be at least 12 characters|placeholder credential/,
        fix: /^pulumi config set --secret homeiq:influxdbAdminPassword/,
    },
    {
        name: "a disabled service without a reason",
        stack: "dev",
        overrides: { "homeiq:disabledServices": JSON.stringify(["calendar="]) },
        key: "homeiq:disabledServices[0]",
        value: '"calendar="',
        problem: /disables a service without a reason/,
        fix: /^pulumi config set --path 'homeiq:disabledServices\[0\]' 'calendar=<why this stack does not run it>'$/,
    },
    {
        name: "disabling a service another one needs",
        stack: "dev",
        overrides: { "homeiq:disabledServices": JSON.stringify(["data-api=not needed"]) },
        key: "homeiq:disabledServices[0]",
        value: '"data-api=not needed"',
        problem: /disables data-api, which admin-api depends on/,
        fix: /^pulumi config rm --path 'homeiq:disabledServices\[0\]'$/,
    },
    {
        name: "an unknown profile",
        stack: "dev",
        overrides: { "homeiq:profile": "production" },
        key: "homeiq:profile",
        value: '"production"',
        problem: /is not a known profile/,
        fix: /^pulumi config set homeiq:profile prod$/,
    },
    {
        name: "registry images not pinned by digest",
        stack: "prod",
        overrides: {
            "homeiq:imageSource": "registry",
            "homeiq:imageReferences": JSON.stringify(["data-api=ghcr.io/homeiq/data-api:latest"]),
        },
        key: "homeiq:imageReferences[0]",
        value: '"data-api=ghcr.io/homeiq/data-api:latest"',
        problem: /is not pinned by digest/,
        fix: /^pulumi config set --path 'homeiq:imageReferences\[0\]' /,
    },
];

describe("invalid config", () => {
    it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
        const { error, registered } = await expectConfigError(c.stack, c.overrides);
        expect(registered).toBe(0);
        const problem = error.problems.find((p) => p.key === c.key);
        expect(problem).toBeDefined();
        expect(problem!.value).toBe(c.value);
        expect(problem!.problem).toMatch(c.problem);
        expect(problem!.fix).toMatch(c.fix);
        expect(problem!.allowed.length).toBeGreaterThan(0);
        // The printed message carries the same facts.
        expect(error.message).toContain(`${c.key} = ${c.value}`);
        expect(error.message).toContain(`fix:     ${problem!.fix}`);
    });

    it("lists every problem at once, not just the first", async () => {
        const { error } = await expectConfigError("prod", {
            "homeiq:homeAssistantUrl": "ftp://x",
            "homeiq:healthWaitTimeoutSeconds": "-5",
            "homeiq:corsOrigins": JSON.stringify(["*"]),
        });
        expect(error.problems.map((p) => p.key).sort()).toEqual(
            ["homeiq:corsOrigins[0]", "homeiq:healthWaitTimeoutSeconds", "homeiq:homeAssistantUrl"],
        );
        expect(error.message).toMatch(/^Invalid configuration for stack "prod": 3 problems\. Nothing was deployed\./);
    });

    it("never prints a secret value, even a wrong one", async () => {
        const { error } = await expectConfigError("prod", { "homeiq:jwtSecret": "short-but-secret-value" }, { secretOverrides: ["homeiq:jwtSecret"] });
        expect(error.message).toContain("homeiq:jwtSecret = [secret]: must be at least 32 characters");
        expect(error.message).not.toContain("short-but-secret-value");
    });

    it("reports a required setting that is missing, with the command to set it", () => {
        const result = parseStackConfig({ profile: "prod", homeiqCheckoutPath: "/srv/homeiq" });
        expect(result.ok).toBe(false);
        const problems = result.ok ? [] : result.problems;
        expect(problems.map((p) => `${p.key}: ${p.problem} | ${p.fix}`)).toEqual([
            "homeiq:homeAssistantUrl: is required but not set | pulumi config set homeiq:homeAssistantUrl http://homeassistant.local:8123",
            // No value on the command line: Pulumi prompts for it, so the token stays out of the shell's history.
            "homeiq:homeAssistantToken: is required but not set | pulumi config set --secret homeiq:homeAssistantToken",
        ]);
    });

    it("rejects a key the project does not declare, naming the key it most likely means", () => {
        const result = parseStackConfig({ profile: "dev", homeAssistantUrl: "http://ha:8123", homeAssistantToken: "x".repeat(30), homeiqCheckoutPath: "/x", hostport: "8000", colour: "blue" });
        expect(result.ok ? [] : result.problems.map((p) => [p.key, p.problem, p.fix])).toEqual([
            [
                "homeiq:hostport",
                "is not a config key of this project; did you mean homeiq:hostPorts?",
                // "8000" is no valid hostPorts entry, so the fix sets an example there.
                "pulumi config rm homeiq:hostport && pulumi config set --path 'homeiq:hostPorts[0]' health-dashboard=3000",
            ],
            ["homeiq:colour", "is not a config key of this project", "pulumi config rm homeiq:colour"],
        ]);
    });
});

describe("npm run synth", () => {
    const run = promisify(execFile);
    let dir: string;

    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-synth-"));
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        const prod = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
        fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), prod.replace("- http://localhost:3000", '- "*"').replace("homeiq:homeAssistantUrl: http://", "homeiq:homeAssistantUrl: ftp://"));
        fs.writeFileSync(path.join(dir, "Pulumi.sealed.yaml"), `${prod}  homeiq:homeAssistantToken:\n    secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBBBBBBBBBBBBBB\n`);
    });

    const synth = async (stack: string) => {
        try {
            // What `npm run synth` runs: node launch.js synth/cli (bin/ when current, else the sources).
            const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, "launch.js"), "synth/cli", stack], {
                env: { ...process.env, HOMEIQ_PROJECT_DIR: dir },
                maxBuffer: 64 * 1024 * 1024,
            });
            return { code: 0, stdout, stderr };
        } catch (e) {
            const err = e as { code: number; stdout: string; stderr: string };
            return { code: err.code, stdout: err.stdout, stderr: err.stderr };
        }
    };

    it("exits 2 on invalid config, prints nothing on stdout and every problem on stderr", async () => {
        const { code, stdout, stderr } = await synth("broken");
        expect(code).toBe(2);
        expect(stdout).toBe("");
        expect(stderr).toContain("homeiq:corsOrigins[1] = \"*\"");
        expect(stderr).toContain("homeiq:homeAssistantUrl = \"ftp://homeassistant.local:8123\"");
    }, 60_000);

    it("stands in for a secure: value it cannot decrypt and names it on stderr", async () => {
        const { code, stdout, stderr } = await synth("sealed");
        expect(code).toBe(0);
        expect(stderr).toContain("homeiq:homeAssistantToken: encrypted (secure:) value cannot be decrypted offline");
        const doc = JSON.parse(stdout) as { stack: string; resources: unknown[] };
        expect(doc.stack).toBe("sealed");
        expect(doc.resources.length).toBeGreaterThan(60);
        expect(stdout).not.toContain("synth-placeholder");
    }, 60_000);
});
