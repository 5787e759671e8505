/**
 * What the program does for a migration from the old compose files (scripts/migrate): the host-ports
 * check that every container waits for, the explicit opt-in for a carried placeholder InfluxDB token,
 * and the facts the migration script repeats from the catalog, kept equal here.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PLACEHOLDER_CREDENTIALS } from "../../catalog/placeholderCredentials";
import { SERVICE_CATALOG, SERVICE_KEYS } from "../../catalog/services";
import { MIN_TOKEN_LENGTH } from "../../config/schema";
import type { SynthResult } from "../../synth/synthesize";
import { COMMAND, configErrorOf, containersByService, ofType, outcomeOf, synthOf, synthStack } from "./helpers";
import { COMMITTED, ERRORS, OLD_TOKEN, VARIANTS } from "./synthCases";

const ROOT = path.resolve(__dirname, "..", "..");
const MIGRATE_SCRIPT = fs.readFileSync(path.join(ROOT, "scripts", "migrate", "from-compose.sh"), "utf8");

function command(result: SynthResult, name: string) {
    return ofType(result, COMMAND).find((c) => c.name === name);
}

describe.each([
    ["dev", 10000],
    ["prod", 0],
])("stack %s: the host-ports check", (stack, offset) => {
    it("runs scripts/preflight/ports-free.sh with every deployed service's host port, and every container waits for it", async () => {
        const result = await synthStack(stack);
        const check = command(result, "homeiq-host-ports")!;
        expect(check.inputs.create).toBe("bash scripts/preflight/ports-free.sh");
        expect(check.inputs.update).toBe(check.inputs.create);
        const env = check.inputs.environment as Record<string, string>;
        expect(env.HOMEIQ_STACK).toBe(stack);
        const ports = Object.fromEntries(env.HOMEIQ_HOST_PORTS!.split(" ").map((e) => e.split("=") as [string, string]));
        expect(Object.keys(ports).sort()).toEqual([...SERVICE_KEYS].sort());
        for (const k of SERVICE_KEYS) expect({ k, port: Number(ports[k]) }).toEqual({ k, port: SERVICE_CATALOG[k].defaultHostPort + offset });
        const containers = containersByService(result);
        expect(containers.size).toBe(SERVICE_KEYS.length);
        for (const [service, c] of containers) expect({ service, waits: c.dependencies.includes(check.urn) }).toEqual({ service, waits: true });
        // It depends only on the image its one-off helper (the host's listening sockets) runs: nothing else comes first.
        expect(check.dependencies).toEqual([expect.stringMatching(/ServiceImage\$docker:index\/remoteImage:RemoteImage::homeiq-influxdb-image$/)]);
        expect((check.inputs.environment as Record<string, string>).HOMEIQ_HELPER_IMAGE).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    it("runs again with each new restore folder (how a migration arrives), and not otherwise", async () => {
        const plain = command(await synthStack(stack), "homeiq-host-ports")!;
        expect(plain.inputs.triggers).toEqual([""]);
        const variant = stack === "dev" ? VARIANTS.devRestore : VARIANTS.prodRestore;
        const folder = variant.overrides["homeiq:restoreFrom"];
        const restoring = command(await synthOf(variant), "homeiq-host-ports")!;
        expect(restoring.inputs.triggers).toEqual([folder]);
    });
});

it("checks the ports a stack overrides, not the profile's", async () => {
    const result = await synthOf(VARIANTS.prodInfluxdbPort);
    const env = command(result, "homeiq-host-ports")!.inputs.environment as Record<string, string>;
    expect(env.HOMEIQ_HOST_PORTS!.split(" ")).toContain("influxdb=28086");
    expect(env.HOMEIQ_HOST_PORTS!.split(" ")).not.toContain("influxdb=8086");
});

describe("a placeholder InfluxDB admin token carried over from the compose files", () => {
    it.each([
        ["the old default", ERRORS.placeholderToken, /is a placeholder credential from the old compose files/],
        ["a short custom token", ERRORS.shortToken, new RegExp(`must be at least ${MIN_TOKEN_LENGTH} characters`)],
    ])("is refused without homeiq:acceptPlaceholderInfluxdbToken (%s), value never shown, before anything is registered", async (_name, c, problem) => {
        const token = c.overrides["homeiq:influxdbAdminToken"];
        const { error, registered } = await configErrorOf(c);
        expect(registered).toBe(0);
        const p = error.problems.find((x) => x.key === "homeiq:influxdbAdminToken")!;
        expect(p.value).toBe("[secret]");
        expect(p.problem).toMatch(problem);
        expect(p.allowed).toMatch(/homeiq:acceptPlaceholderInfluxdbToken=true/);
        expect(p.fix).toBe("pulumi config set --secret homeiq:influxdbAdminToken --stack prod");
        expect(error.message).not.toContain(token);
    });

    it("is accepted with homeiq:acceptPlaceholderInfluxdbToken=true, reaches InfluxDB's users and the restore as a secret, and warns on every run", async () => {
        const outcome = await outcomeOf(VARIANTS.prodPlaceholderTokenAccepted);
        if (outcome.kind !== "synth") throw new Error(outcome.error.message);
        const restore = command(outcome.result, "homeiq-restore")!;
        expect((restore.inputs.environment as Record<string, string>).HOMEIQ_INFLUX_TOKEN).toBe("[secret]");
        expect(JSON.stringify(outcome.result.resources)).not.toContain(OLD_TOKEN);
        // pulumi.log.warn, as the program called it during the run.
        expect(outcome.warnings).toEqual([expect.stringMatching(/influxdbAdminToken is an old placeholder credential.*Rotate it/s)]);
        expect(outcome.warnings.join("\n")).not.toContain(OLD_TOKEN);
    });

    it("does not warn when no placeholder is carried", async () => {
        const outcome = await outcomeOf(COMMITTED.dev);
        expect(outcome.kind).toBe("synth");
        expect(outcome.warnings.filter((m) => m.includes("placeholder"))).toEqual([]);
    });

    it.each([
        ["the token was rotated", ERRORS.acceptRotatedToken, /is no longer a placeholder \(rotated\?\)/],
        ["no token is set", ERRORS.acceptWithoutToken, /is true, but homeiq:influxdbAdminToken is not set/],
    ])("leaving homeiq:acceptPlaceholderInfluxdbToken=true is refused when %s, with the command that removes it", async (_name, c, problem) => {
        const { error } = await configErrorOf(c);
        expect(error.problems).toHaveLength(1);
        expect(error.problems[0]).toMatchObject({ key: "homeiq:acceptPlaceholderInfluxdbToken", value: "\"true\"", fix: "pulumi config rm homeiq:acceptPlaceholderInfluxdbToken --stack prod" });
        expect(error.problems[0]?.problem).toMatch(problem);
    });

    it("refuses a value other than true or false", async () => {
        const { error } = await configErrorOf(ERRORS.acceptYes);
        expect(error.problems.map((p) => [p.key, p.problem])).toEqual([["homeiq:acceptPlaceholderInfluxdbToken", "must be true or false"]]);
    });
});

describe("scripts/migrate/from-compose.sh repeats the catalog's facts exactly", () => {
    const scriptValue = (name: string): string => {
        const m = new RegExp(`^readonly ${name}=(?:"([^"]*)"|(\\S+))`, "m").exec(MIGRATE_SCRIPT);
        if (!m) throw new Error(`${name} not found in from-compose.sh`);
        return m[1] ?? m[2] ?? "";
    };

    it("knows HomeIQ's compose services as the catalog's keys", () => {
        expect(scriptValue("HOMEIQ_SERVICES").split(" ").sort()).toEqual([...SERVICE_KEYS].sort());
    });

    it("looks for each SQLite database where the catalog says the service keeps it", () => {
        const sqlite = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].sqliteDatabase);
        expect(scriptValue("SQLITE_SERVICES").split(" ").sort()).toEqual([...sqlite].sort());
        for (const k of sqlite) expect(MIGRATE_SCRIPT).toContain(`[${k}]=${SERVICE_CATALOG[k].sqliteDatabase!.containerPath}`);
    });

    it("refuses the same placeholders, and the same short tokens, as the config schema", () => {
        expect(scriptValue("PLACEHOLDERS").split(" ").sort()).toEqual([...PLACEHOLDER_CREDENTIALS].sort());
        expect(Number(scriptValue("MIN_TOKEN_LENGTH"))).toBe(MIN_TOKEN_LENGTH);
    });
});

describe("scripts/migrate/from-compose.sh --stack, as the program takes it (before it touches Docker)", () => {
    const migrate = (...args: string[]) =>
        spawnSync("bash", [path.join(ROOT, "scripts", "migrate", "from-compose.sh"), ...args], { encoding: "utf8", env: { PATH: process.env.PATH, HOME: os.tmpdir() } });

    it.each([
        ["Prod", "prod"],
        ["prdo", "prod"],
        ["dev1", "dev"],
    ])("refuses --stack %s, a stack that is not here, suggesting --stack %s (exit 2)", (given, meant) => {
        const r = migrate("--stack", given, "--dry-run");
        expect(r.status).toBe(2);
        expect(r.stderr).toContain(`--stack '${given}': there is no stack '${given}' here (no Pulumi.${given}.yaml; stacks here: dev prod); did you mean --stack ${meant}?`);
    });

    it("refuses a name the program refuses, and lists --dry-run in its usage", () => {
        const r = migrate("--stack", "my stack");
        expect(r.status).toBe(2);
        expect(r.stderr).toContain("--stack 'my stack' is not a stack name the program accepts");
        expect(migrate("--help").stdout).toMatch(/\n {2}--dry-run {17}find the deployment, check it and the token/);
    });
});

describe("docs/migration.md's runner of the printed config lines", () => {
    it("stops at the first line that fails (a later line never runs on a half-set stack)", () => {
        const line = fs.readFileSync(path.join(ROOT, "docs", "migration.md"), "utf8").split("\n").map((l) => l.trim()).find((l) => l.includes("<(sed -n '/^----- pulumi config -----$/"));
        expect(line).toMatch(/^bash -euo pipefail <\(sed /);
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "i16-runner-"));
        try {
            fs.mkdirSync(path.join(home, "bin"));
            // A pulumi that records each call and refuses the first one.
            fs.writeFileSync(path.join(home, "bin", "pulumi"), '#!/usr/bin/env bash\necho "$*" >> "$HOME/calls"\n[[ $(wc -l < "$HOME/calls") -gt 1 ]]\n', { mode: 0o755 });
            const printed = ["log line", "----- pulumi config -----", "pulumi config set homeiq:influxdbOrg a --stack prod", "pulumi config set homeiq:influxdbBucket b --stack prod", "----- end -----", ""].join("\n");
            fs.writeFileSync(path.join(home, "homeiq-migrate.log"), printed);
            const r = spawnSync("bash", ["-c", line!], { env: { PATH: `${path.join(home, "bin")}:${process.env.PATH}`, HOME: home }, encoding: "utf8" });
            expect(r.status).not.toBe(0);
            expect(fs.readFileSync(path.join(home, "calls"), "utf8")).toBe("config set homeiq:influxdbOrg a --stack prod\n");
        } finally {
            fs.rmSync(home, { recursive: true, force: true });
        }
    });
});
