/**
 * Command resources take no config value in their command strings, and their environment strings
 * stay below the kernel's limit. (That their inputs do not depend on where the checkout is or whose
 * machine synthesized them: test/process/checkouts.test.ts.)
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { SCRIPTS, scriptCommand } from "../../components/scriptCommand";
import { ENV_STRING_MAX_BYTES, LIST_MAX, TEXT_MAX } from "../../catalog/rules";
import type { SynthResult } from "../../synth/synthesize";
import { COMMAND, CONTAINER, ofType, synthOf } from "./helpers";
import { LONGEST, VARIED } from "./synthCases";

const ROOT = path.resolve(__dirname, "..", "..");

/** The command that runs each script, written out (not built by scriptCommand, the code under test). */
const SCRIPT_COMMANDS = [
    "bash scripts/backup/backup.sh",
    "bash scripts/backup/restore-stack.sh",
    "bash scripts/backup/chown-volume.sh",
    "bash scripts/influxdb/set-retention.sh",
    "bash scripts/validate/validate.sh",
    "bash scripts/validate/containers-healthy.sh",
    "bash scripts/docker/socket-group.sh",
    "bash scripts/docker/pids-limits.sh",
    "bash scripts/preflight/ports-free.sh",
    "bash scripts/swarm/preflight.sh",
    "bash scripts/swarm/backup.sh",
    "bash scripts/swarm/restore.sh",
    "bash scripts/swarm/set-retention.sh",
    "bash scripts/swarm/limits.sh",
    "bash scripts/swarm/prune-secrets.sh",
    "bash scripts/schedule/install.sh",
    "bash scripts/schedule/remove.sh",
];

/** Every command string a Command may have: one per script, plus the constant echoes and the prune. */
const CONSTANT_COMMANDS = new Set([
    ...SCRIPT_COMMANDS,
    'echo "backup settings updated; no backup taken"',
    'echo "restore from $HOMEIQ_RESTORE_DIR was already done; not repeated"',
    'echo "volume ownership unchanged"',
    "docker builder prune --all --force",
]);

describe("command strings", () => {
    const results: Array<[string, string, SynthResult]> = [];
    beforeAll(async () => {
        for (const stack of ["dev", "prod"]) {
            for (const [name, overrides] of VARIED) results.push([stack, name, await synthOf({ stack, overrides })]);
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
        for (const command of SCRIPT_COMMANDS) expect(seen).toContain(command);
    });

    it("are `bash <script>` for each script the components name, relative to the project", () => {
        expect(Object.values(SCRIPTS).map(scriptCommand).sort()).toEqual([...SCRIPT_COMMANDS].sort());
    });

    it("hold no value of the config: what varies travels in the environment", () => {
        for (const [stack, name, result] of results) {
            const values = [...new Set(Object.values(VARIED.find(([n]) => n === name)![1]).flatMap((v) => (v.startsWith("[") ? (JSON.parse(v) as string[]) : [v])))].filter((v) => v.length >= 2)
                // homeiq:target's value `swarm` is also the folder of the swarm scripts (scripts/swarm/), a constant.
                .filter((v) => v !== "swarm");
            expect({ stack, name, values: values.length > 0 || name === "as committed" }).toEqual({ stack, name, values: true });
            expect(ofType(result, COMMAND).length).toBeGreaterThanOrEqual(4);
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

describe("environment strings", () => {
    it("stay below the kernel's limit on one NAME=value string with every value at its longest", async () => {
        const result = await synthOf(LONGEST);
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
