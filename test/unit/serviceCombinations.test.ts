/**
 * Every combination of enabled services with backups, restore and validation gives a complete,
 * correct graph, or is refused with a named key: no silent skip, no crash.
 *
 * The config check runs over every set of disabled services there is (all 2^14, valid or not). The
 * graph is synthesized for every class of combination the backup, restore and validation wiring
 * can tell apart: it reads only which stateful services are deployed (each subset of the catalog's
 * stateful services that their dependencies allow) and, for validation and volumes, which services
 * are deployed; each class is synthesized with the most and the fewest services it allows
 * (synthCases.ts: combinationCases).
 */
import * as fc from "fast-check";
import { SERVICE_CATALOG, SERVICE_KEYS, type ServiceKey } from "../../catalog/services";
import { parseStackConfig } from "../../config/schema";
import type { SynthResource, SynthResult } from "../../synth/synthesize";
import { COMMAND, containersByService, ofType, synthOf, VOLUME } from "./helpers";
import { combinationCases, combinationSynth, disabledList, REQUIRED_VALUES, requiredValuesWithout, RESTORE_FOLDER, withDependents, type CombinationCase } from "./synthCases";

const BASE = { profile: "prod", ...REQUIRED_VALUES };
const RESTORE = RESTORE_FOLDER;
// Written out, not derived from the catalog the code reads: what the wiring must do for each service.
const STATEFUL: ServiceKey[] = ["influxdb", "data-api", "sports-data"];
const SQLITE: ServiceKey[] = ["data-api", "sports-data"];
const VOLUMES: Record<string, string[]> = {
    influxdb: ["influxdb-data", "influxdb-config"],
    "data-api": ["sqlite-data"],
    "data-retention": ["data-retention-backups"],
    "sports-data": ["sports-data"],
    "log-aggregator": ["logs"],
};
/** Everything influxdb alone allows: it and the services that need nothing else stateful. */
const WITH_INFLUXDB = ["influxdb", "websocket-ingestion", "enrichment-pipeline", "data-retention", "carbon-intensity", "electricity-pricing", "air-quality", "calendar", "smart-meter", "log-aggregator"];
/** Each class of deployed stateful services, with the most and the fewest services it allows, written out. */
const CLASSES: Record<string, { most: string[]; fewest: string[] }> = {
    "nothing stateful": { most: ["log-aggregator"], fewest: ["log-aggregator"] },
    influxdb: { most: WITH_INFLUXDB, fewest: ["influxdb"] },
    "influxdb+data-api": { most: [...WITH_INFLUXDB, "admin-api", "data-api"], fewest: ["influxdb", "data-api"] },
    "sports-data": { most: ["sports-data", "log-aggregator"], fewest: ["sports-data"] },
    "influxdb+sports-data": { most: [...WITH_INFLUXDB, "sports-data"], fewest: ["influxdb", "sports-data"] },
    "influxdb+data-api+sports-data": { most: [...SERVICE_KEYS], fewest: ["influxdb", "data-api", "sports-data"] },
};

describe("config check over every set of disabled services", () => {
    const all = Array.from({ length: 1 << SERVICE_KEYS.length }, (_, m) => SERVICE_KEYS.filter((_k, i) => m & (1 << i)));
    const closed = all.filter((d) => withDependents(d).size === d.length);

    it("accepts each dependency-closed set that leaves a service, with restore and backup request exactly when something stateful is left", () => {
        // The same sets, found another way: every deployed service's dependencies are deployed too.
        const deployable = all.filter((d) => SERVICE_KEYS.every((k) => d.includes(k) || SERVICE_CATALOG[k].dependsOn.every((dep) => !d.includes(dep))));
        expect(closed).toEqual(deployable);
        expect(closed).toHaveLength(1924);
        const wrong: string[] = [];
        for (const disabled of closed) {
            const enabledStateful = STATEFUL.filter((k) => !disabled.includes(k));
            for (const restore of [false, true]) {
                const values = { ...BASE, ...requiredValuesWithout(disabled), disabledServices: disabledList(disabled), ...(restore ? { restoreFrom: RESTORE, backupRequest: "1" } : {}) };
                const result = parseStackConfig(values);
                const keys = result.ok ? [] : result.problems.map((p) => p.key).sort();
                const expected =
                    disabled.length === SERVICE_KEYS.length
                        ? ["homeiq:disabledServices", ...(restore ? ["homeiq:backupRequest", "homeiq:restoreFrom"] : [])]
                        : restore && enabledStateful.length === 0
                          ? ["homeiq:backupRequest", "homeiq:restoreFrom"]
                          : [];
                if (JSON.stringify(keys) !== JSON.stringify([...expected].sort())) wrong.push(`${disabled.join(",")} restore=${restore}: ${keys.join(" ")}`);
            }
        }
        expect(wrong).toEqual([]);
    });

    it("refuses each set that disables a service another deployed one needs, naming the entry", () => {
        const open = fc.sample(fc.constantFrom(...all.filter((d) => withDependents(d).size !== d.length)), { seed: 2024, numRuns: 400 });
        for (const disabled of open) {
            const result = parseStackConfig({ ...BASE, ...requiredValuesWithout(disabled), disabledServices: disabledList(disabled) });
            expect(result.ok).toBe(false);
            const problems = result.ok ? [] : result.problems;
            expect(problems.length).toBeGreaterThan(0);
            // One problem per disabled entry that others need (one cause), naming every deployed service that needs it.
            expect(new Set(problems.map((p) => p.key)).size).toBe(problems.length);
            for (const p of problems) {
                expect(p.key).toMatch(/^homeiq:disabledServices\[\d+\]$/);
                const m = /^disables (\S+), which (.+) depends? on$/.exec(p.problem);
                expect(m).not.toBeNull();
                const needing = SERVICE_KEYS.filter((k) => !disabled.includes(k) && SERVICE_CATALOG[k].dependsOn.includes(m![1] as ServiceKey));
                expect(m![2].split(/, | and /)).toEqual(needing);
                expect(p.fix).toMatch(/^pulumi config rm --path 'homeiq:disabledServices\[\d+\]'$/);
            }
        }
    });
});

const env = (r: SynthResource | undefined): Record<string, string> => (r?.inputs.environment ?? {}) as Record<string, string>;

/** Everything the wiring must hold for `c`, as a list of broken expectations (empty when right). */
function wiringProblems(c: CombinationCase, result: SynthResult): string[] {
    const broken: string[] = [];
    const check = (ok: boolean, what: string): void => {
        if (!ok) broken.push(what);
    };
    const urns = new Set(result.resources.map((r) => r.urn));
    for (const r of result.resources) {
        for (const d of r.dependencies) check(urns.has(d), `${r.name} depends on ${d}, which is not registered`);
        check(r.parent === "" || urns.has(r.parent), `${r.name} has an unknown parent`);
    }
    const byService = containersByService(result);
    const commands = new Map(ofType(result, COMMAND).map((x) => [x.name, x]));
    const enabled = new Set(c.enabled);
    const stateful = STATEFUL.filter((k) => enabled.has(k));
    const sqlite = SQLITE.filter((k) => enabled.has(k));
    const influx = enabled.has("influxdb");
    const sorted = (xs: Iterable<string>): string => [...xs].sort().join(" ");

    check(sorted(byService.keys()) === sorted(c.enabled), `containers: ${sorted(byService.keys())}`);
    const volumes = new Set(c.enabled.flatMap((k) => (VOLUMES[k] ?? []).map((v) => `${c.stack}-${v}`)));
    check(sorted(ofType(result, VOLUME).map((v) => String(v.inputs.name))) === sorted(volumes), "volumes are exactly those of deployed services");

    const pre = commands.get("homeiq-pre-change-backup");
    const final = commands.get("homeiq-final-backup");
    check((pre !== undefined) === stateful.length > 0 && (final !== undefined) === stateful.length > 0, "pre-change and final backups exist exactly when something stateful is deployed");
    if (pre && final) {
        const dependents = [...byService].filter(([, x]) => x.dependencies.includes(pre.urn)).map(([s]) => s);
        check(sorted(dependents) === sorted(stateful), `pre-change backup precedes exactly the stateful containers: ${sorted(dependents)}`);
        for (const s of stateful) check(final.dependencies.includes(byService.get(s)!.urn), `final backup runs while ${s} is up`);
        for (const b of [pre, final, commands.get("homeiq-on-demand-backup")]) {
            if (!b) continue;
            check(env(b).HOMEIQ_INFLUX_CONTAINER === (influx ? `${c.stack}-influxdb` : ""), `${b.name}: influx container`);
            check(env(b).HOMEIQ_SQLITE_DBS.split(" ").filter(Boolean).map((e) => e.split("=")[0]).join(" ") === sqlite.join(" "), `${b.name}: SQLite databases`);
        }
        check(commands.has("homeiq-on-demand-backup"), "on-demand backup for backupRequest=1");
    }

    const restore = commands.get("homeiq-restore");
    check((restore !== undefined) === c.restore, `restore exists exactly when restoreFrom is set (restore=${c.restore})`);
    if (restore) {
        check(restore.dependencies.includes(pre!.urn), "restore after the pre-change backup");
        check(!influx || restore.dependencies.includes(byService.get("influxdb")!.urn), "restore after influxdb is up");
        for (const s of sqlite) check(byService.get(s)!.dependencies.includes(restore.urn), `${s} starts after the restore`);
        check(env(restore).HOMEIQ_INFLUX_CONTAINER === (influx ? `${c.stack}-influxdb` : ""), "restore: influx container");
        check(env(restore).HOMEIQ_SQLITE_RESTORES.split(" ").filter(Boolean).map((e) => e.split("=")[0]).join(" ") === sqlite.join(" "), "restore: SQLite targets");
        check(env(restore).HOMEIQ_STOP_CONTAINERS === sqlite.map((s) => `${c.stack}-${s}`).join(" "), "restore: containers stopped");
        check((env(restore).HOMEIQ_RESTORE_HELPER_IMAGE !== "") === sqlite.length > 0, "restore: a helper image exactly when SQLite files are restored");
    }

    const retention = commands.get("homeiq-influxdb-retention");
    check((retention !== undefined) === influx, "retention exactly when influxdb is deployed");
    if (retention && restore) check(retention.dependencies.includes(restore.urn), "retention after the restore");

    const handover = commands.get("homeiq-volume-handover");
    check((handover !== undefined) === (c.stack === "prod" && sqlite.length > 0), "volume handover exactly for non-root SQLite services");
    if (handover) for (const s of sqlite) check(byService.get(s)!.dependencies.includes(handover.urn), `${s} starts after the handover`);

    const validation = commands.get("homeiq-validation");
    check(validation !== undefined, "validation exists");
    if (validation) {
        for (const [s, x] of byService) check(validation.dependencies.includes(x.urn), `validation after ${s}`);
        const targets = env(validation).HOMEIQ_VALIDATE_TARGETS.split(" ").map((t) => t.split("=")[0]);
        check(sorted(targets) === sorted(c.enabled), `validation checks exactly the deployed services: ${sorted(targets)}`);
    }
    return broken;
}

describe("graph for every class of enabled services", () => {
    it("covers every class, each with the services written out above", () => {
        const cases = combinationCases();
        expect([...new Set(cases.map((c) => c.name.split(", ")[1]))].sort()).toEqual(Object.keys(CLASSES).sort());
        for (const c of cases) {
            const [, label, size] = c.name.split(", ");
            const expected = CLASSES[label!]![size === "fewest services" ? "fewest" : "most"];
            expect({ name: c.name, enabled: [...c.enabled].sort() }).toEqual({ name: c.name, enabled: [...expected].sort() });
        }
        expect(cases).toHaveLength(23);
    });

    it.each(combinationCases().map((c) => [c.name, c] as const))("%s", async (_name, c) => {
        expect(wiringProblems(c, await synthOf(combinationSynth(c)))).toEqual([]);
    });
});
