/**
 * Command resources take no config value in their command strings, and their inputs do not depend
 * on where the checkout is or whose machine synthesized them.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { parse } from "yaml";
import { SCRIPTS, scriptCommand } from "../../components/scriptCommand";
import { ENV_STRING_MAX_BYTES, LIST_MAX, PATH_MAX, SECRET_MAX, TEXT_MAX, URL_MAX } from "../../config/rules";
import { synthesize, type SynthResult } from "../../synth/synthesize";
import { COMMAND, CONTAINER, ofType, withoutPromiseStackTraces } from "./helpers";

const ROOT = path.resolve(__dirname, "..", "..");
const run = promisify(execFile);

/** Every command string a Command may have: one per script, plus the constant echoes and the prune. */
const CONSTANT_COMMANDS = new Set([
    ...Object.values(SCRIPTS).map(scriptCommand),
    'echo "backup settings updated; no backup taken"',
    'echo "restore from $HOMEIQ_RESTORE_DIR was already done; not repeated"',
    'echo "volume ownership unchanged"',
    "docker builder prune --all --force",
]);

const VARIED: Array<[string, Record<string, string>]> = [
    ["as committed", {}],
    ["restore, on-demand backup, rebuild", { "homeiq:restoreFrom": "/srv/homeiq-backups/x/20261127T101500Z", "homeiq:backupRequest": "4", "homeiq:rebuildGeneration": "2" }],
    ["own backup root, remote engine, custom org", { "homeiq:backupRoot": "/mnt/backups/homeiq", "homeiq:dockerHost": "ssh://deploy@server.lan:2222", "homeiq:postDeployValidation": "false", "homeiq:influxdbOrg": "home-org" }],
    ["~ backup root, retention, no validation", { "homeiq:backupRoot": "~/bk", "homeiq:influxdbRetentionDays": "30", "homeiq:postDeployValidation": "false" }],
    [
        "registry images",
        {
            "homeiq:imageSource": "registry",
            "homeiq:influxdbImage": `influxdb:2.7@sha256:${"a".repeat(64)}`,
            "homeiq:imageReferences": JSON.stringify(
                ["websocket-ingestion", "enrichment-pipeline", "admin-api", "data-api", "data-retention", "carbon-intensity", "electricity-pricing", "air-quality", "calendar", "smart-meter", "sports-data", "health-dashboard", "log-aggregator"].map(
                    (s, i) => `${s}=ghcr.io/homeiq/${s}@sha256:${i.toString(16).repeat(64).slice(0, 64)}`,
                ),
            ),
        },
    ],
];

describe("command strings", () => {
    withoutPromiseStackTraces();
    const results: Array<[string, string, SynthResult]> = [];
    beforeAll(async () => {
        for (const stack of ["dev", "prod"]) {
            for (const [name, overrides] of VARIED) results.push([stack, name, await synthesize(stack, { configOverrides: overrides })]);
        }
    }, 120_000);

    it("are constants, one per script, relative to the project, whatever the stack and config", () => {
        const seen = new Set<string>();
        for (const [stack, name, result] of results) {
            for (const c of ofType(result, COMMAND)) {
                for (const field of ["create", "update", "delete"] as const) {
                    const cmd = c.inputs[field];
                    if (cmd === undefined) continue;
                    expect({ stack, name, command: c.name, field, cmd, constant: CONSTANT_COMMANDS.has(String(cmd)) }).toEqual({ stack, name, command: c.name, field, cmd, constant: true });
                    seen.add(String(cmd));
                }
            }
        }
        // Every script is run by some Command in these configs.
        for (const script of Object.values(SCRIPTS)) expect(seen).toContain(scriptCommand(script));
    });

    it("hold no value of the config: what varies travels in the environment", () => {
        for (const [stack, name, result] of results) {
            const values = [...new Set(Object.values(VARIED.find(([n]) => n === name)![1]).flatMap((v) => (v.startsWith("[") ? (JSON.parse(v) as string[]) : [v])))].filter((v) => v.length >= 2);
            for (const c of ofType(result, COMMAND)) {
                const strings = ["create", "update", "delete"].map((f) => String(c.inputs[f] ?? ""));
                for (const v of values) expect({ stack, name, command: c.name, holds: strings.some((s) => s.includes(v)) }).toEqual({ stack, name, command: c.name, holds: false });
            }
        }
        const restore = ofType(results.find(([s, n]) => s === "prod" && n.startsWith("restore"))![2], COMMAND).find((c) => c.name === "homeiq-restore")!;
        expect((restore.inputs.environment as Record<string, string>).HOMEIQ_RESTORE_DIR).toBe("/srv/homeiq-backups/x/20261127T101500Z");
    });

    it("run from the project folder, where the Pulumi CLI starts providers: Pulumi.yaml sets no `main`, and every script exists there", () => {
        const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
        expect(Object.keys(project)).not.toContain("main");
        for (const script of Object.values(SCRIPTS)) expect({ script, file: fs.statSync(path.join(ROOT, script)).isFile() }).toEqual({ script, file: true });
        expect(fs.statSync(path.join(ROOT, "images/non-root-python/Dockerfile")).isFile()).toBe(true);
    });
});

describe("synthesized inputs do not depend on the checkout's path or the machine", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-checkouts-"));
    const PROJECT = ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "package.json", "tsconfig.json", "index.ts", "program.ts", "catalog", "components", "config", "stacks", "synth", "scripts", "images"];
    const checkouts = [path.join(tmp, "a", "homeiq-infra"), path.join(tmp, "b", "elsewhere", "deeper", "checkout")];

    beforeAll(() => {
        for (const dir of checkouts) {
            fs.mkdirSync(dir, { recursive: true });
            for (const entry of PROJECT) fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
            fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
            fs.mkdirSync(path.join(dir, "home"));
        }
    });
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    const synthIn = async (dir: string, stack: string): Promise<string> => {
        const { stdout } = await run(path.join(dir, "node_modules", ".bin", "ts-node"), ["--transpile-only", "synth/cli.ts", stack], {
            cwd: dir,
            env: { PATH: process.env.PATH, HOME: path.join(dir, "home"), USER: path.basename(dir) },
            maxBuffer: 64 * 1024 * 1024,
        });
        return stdout;
    };

    it.each(["dev", "prod"])("stack %s: the same document from two checkouts, homes and users", async (stack) => {
        const [a, b] = await Promise.all(checkouts.map((dir) => synthIn(dir, stack)));
        const doc = JSON.parse(a) as { resources: Array<{ type: string; inputs: Record<string, unknown> }> };
        expect(doc.resources.length).toBeGreaterThan(60);
        // Neither checkout nor home appears anywhere; so the two documents are byte for byte the same.
        for (const dir of checkouts) {
            expect(a).not.toContain(dir);
            expect(b).not.toContain(dir);
        }
        expect(b).toBe(a);
        const backup = doc.resources.find((r) => r.type === COMMAND && (r.inputs.environment as Record<string, string>)?.HOMEIQ_BACKUP_ROOT);
        expect((backup!.inputs.environment as Record<string, string>).HOMEIQ_BACKUP_ROOT).toBe("~/homeiq-backups");
    }, 180_000);
});

describe("environment strings", () => {
    withoutPromiseStackTraces();
    it("stay below the kernel's limit on one NAME=value string with every value at its longest", async () => {
        const label = (c: string): string => c.repeat(63);
        const host = [label("a"), label("b"), label("c")].join("."); // 191 characters
        const longest: Record<string, string> = {
            "homeiq:weatherLocation": "w".repeat(TEXT_MAX),
            "homeiq:gridRegion": "g".repeat(TEXT_MAX),
            "homeiq:pricingProvider": "p".repeat(TEXT_MAX),
            "homeiq:meterType": "m".repeat(TEXT_MAX),
            "homeiq:meterDeviceId": "d".repeat(TEXT_MAX),
            "homeiq:googleClientId": "i".repeat(TEXT_MAX),
            "homeiq:sportsApiProvider": "s".repeat(TEXT_MAX),
            "homeiq:homeAssistantUrl": `http://ha.lan/${"u".repeat(URL_MAX - 14)}`,
            "homeiq:homeiqCheckoutPath": `/${"c".repeat(PATH_MAX - 1)}`,
            "homeiq:backupRoot": `/${"b".repeat(PATH_MAX - 1)}`,
            "homeiq:restoreFrom": `/${"r".repeat(PATH_MAX - 1)}`,
            "homeiq:corsOrigins": JSON.stringify(Array.from({ length: LIST_MAX }, (_, i) => `https://${host}:${10000 + i}`)),
            "homeiq:weatherApiKey": "k".repeat(SECRET_MAX),
            "homeiq:jwtSecret": "j".repeat(SECRET_MAX),
        };
        const result = await synthesize("dev", { configOverrides: longest, secretOverrides: ["homeiq:weatherApiKey", "homeiq:jwtSecret"] });
        const strings = [
            ...ofType(result, COMMAND).flatMap((c) => Object.entries((c.inputs.environment ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`)),
            ...ofType(result, CONTAINER).flatMap((c) => (c.inputs.envs ?? []) as string[]),
        ];
        const longestSeen = Math.max(...strings.map((s) => Buffer.byteLength(s)));
        // The largest is the non-secret config each backup keeps (HOMEIQ_STACK_CONFIG_JSON); a secret is at most SECRET_MAX.
        expect(longestSeen).toBeGreaterThan(TEXT_MAX * LIST_MAX);
        expect(longestSeen).toBeLessThan(ENV_STRING_MAX_BYTES);
    }, 60_000);
});
