/**
 * What a real `pulumi up` does with the program's resources (docs/provider-behaviour.md): the
 * inputs the providers would otherwise read back differently or leave in state only are written so
 * that a change reaches the running container and a no-op `up` shows no change.
 */
import type { SynthResult } from "../../synth/synthesize";
import { COMMAND, CONTAINER, containersByService, ofType, synthOf } from "./helpers";
import { VARIED, withUserSecrets } from "./synthCases";

const STACKS = ["dev", "prod"] as const;

describe.each(STACKS)("stack %s", (stack) => {
    let result: SynthResult;
    beforeAll(async () => {
        result = await synthOf({ stack });
    });

    it("gives every container a swap limit equal to its memory limit (unset, the engine stores twice the memory)", () => {
        for (const [service, c] of containersByService(result)) {
            expect({ service, memorySwap: c.inputs.memorySwap }).toEqual({ service, memorySwap: c.inputs.memory });
            expect(typeof c.inputs.memory).toBe("number");
        }
    });

    it("replaces a container when its health check or tmpfs changes (the provider's update handles neither)", () => {
        for (const [service, c] of containersByService(result)) {
            expect({ service, replaceOnChanges: [...c.options.replaceOnChanges].sort() }).toEqual({ service, replaceOnChanges: ["healthcheck", "tmpfs"] });
            expect(c.options.deleteBeforeReplace).toBe(true);
        }
    });

    it("writes cpus as the provider reads NanoCpus back: one decimal for whole CPUs", () => {
        const cpus = new Map([...containersByService(result)].map(([service, c]) => [service, c.inputs.cpus]));
        expect(cpus.get("influxdb")).toBe(stack === "prod" ? "2.0" : "1.0");
        expect(cpus.get("calendar")).toBe("0.25");
        for (const value of cpus.values()) expect(value).toMatch(/^\d+\.\d+$/);
    });
});

describe("Commands whose environment holds a secret", () => {
    const cases = [
        ...STACKS.map((stack) => withUserSecrets(stack)),
        ...STACKS.flatMap((stack) => VARIED.map(([, overrides]) => ({ stack, overrides }))),
    ];

    it("keep their stdout and stderr secret in state; the others keep them readable", async () => {
        const seen = { secret: new Set<string>(), plain: new Set<string>() };
        for (const c of cases) {
            for (const cmd of ofType(await synthOf(c), COMMAND)) {
                const env = Object.values((cmd.inputs.environment ?? {}) as Record<string, unknown>);
                const holdsSecret = env.some((v) => String(v).includes("[secret]"));
                const outputs = [...cmd.options.additionalSecretOutputs].sort();
                expect({ command: cmd.name, holdsSecret, outputs }).toEqual({ command: cmd.name, holdsSecret, outputs: holdsSecret ? ["stderr", "stdout"] : [] });
                seen[holdsSecret ? "secret" : "plain"].add(cmd.name.replace(/^[a-z]+-/, ""));
            }
        }
        // The cases reach every kind: the three that carry the InfluxDB token, the watch (the Home Assistant token), the schedule, and the others.
        expect([...seen.secret].sort()).toEqual(["backup-schedule-backup", "backup-schedule-drill", "final-backup", "influxdb-retention", "on-demand-backup", "pre-change-backup", "restore", "watch"]);
        expect(seen.plain.size).toBeGreaterThanOrEqual(4);
    }, 120_000);
});

it("the synth's containers are the ones these tests read", async () => {
    // The 14 services' and the Docker API proxy's.
    expect(ofType(await synthOf({ stack: "prod" }), CONTAINER)).toHaveLength(15);
});
