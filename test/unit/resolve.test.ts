/**
 * The resolve step (plan/resolve.ts) as a pure function: properties of the plan for generated
 * stacks, in milliseconds, with no Pulumi. That the components build exactly what the plan says is
 * the synth tests' (test/unit/*.test.ts over synthCases.ts) and the engine tests'.
 */
import * as fc from "fast-check";
import { DOCKER_SOCKET, SERVICE_CATALOG, SERVICE_KEYS, startOrder, VOLUME_CATALOG, type ServiceKey } from "../../catalog/services";
import { SECRET_CONFIG_KEYS } from "../../config/keys";
import type { LifecycleStep, LifecycleStepKind, PlatformPlan } from "../../plan/plan";
import { resolvePlatform } from "../../plan/resolve";
import { parseStackConfig, type StackConfig } from "../../config/schema";
import { closedDisabled } from "./configGenerators";
import { disabledList, requiredValuesWithout, RESTORE_FOLDER } from "./synthCases";

const SEED = 4242;
/** Every service deployed: the required values and every service's credentials. */
const BASE = requiredValuesWithout();
const RESTORE = RESTORE_FOLDER;
const STATEFUL = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].stateful);
const SQLITE = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].sqliteDatabase);
const INFLUX = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].influxdbServer);

interface Input {
    readonly profile: "dev" | "prod";
    readonly disabled: readonly ServiceKey[];
    readonly restore: boolean;
    readonly backupRequest: number;
    readonly socketGroup: boolean;
    readonly validation: boolean;
}

/** A valid config for `input` (a dependency-closed set of disabled services that leaves something deployed). */
function configOf(input: Input): StackConfig {
    const enabledStateful = STATEFUL.filter((k) => !input.disabled.includes(k));
    const socket = SERVICE_KEYS.some((k) => !input.disabled.includes(k) && (SERVICE_CATALOG[k].dockerApi !== undefined || SERVICE_CATALOG[k].hostMounts.some((m) => m.hostPath === DOCKER_SOCKET)));
    const values: Record<string, string> = {
        ...requiredValuesWithout(input.disabled),
        profile: input.profile,
        disabledServices: disabledList(input.disabled),
        postDeployValidation: String(input.validation),
        ...(input.socketGroup && socket ? { dockerSocketGroupId: "998" } : {}),
        ...(input.restore && enabledStateful.length > 0 ? { restoreFrom: RESTORE } : {}),
        ...(input.backupRequest > 0 && enabledStateful.length > 0 ? { backupRequest: String(input.backupRequest) } : {}),
    };
    const result = parseStackConfig(values);
    if (!result.ok) throw new Error(result.problems.map((p) => `${p.key}: ${p.problem}`).join("; "));
    return result.config;
}

const inputs: fc.Arbitrary<Input> = fc.record({
    profile: fc.constantFrom("dev" as const, "prod" as const),
    disabled: fc.constantFrom(...closedDisabled.filter((d) => d.length < SERVICE_KEYS.length)),
    restore: fc.boolean(),
    backupRequest: fc.constantFrom(0, 0, 1, 7),
    socketGroup: fc.boolean(),
    validation: fc.boolean(),
});

/** Creates the steps as DataLifecycle does (each once everything it runs after exists), services in plan order; the order, or what went wrong. */
function schedule(plan: PlatformPlan): { order: string[]; problems: string[] } {
    const order: string[] = [];
    const problems: string[] = [];
    const done = new Set<string>();
    const ready = (s: LifecycleStep) => s.after.every((r) => done.has("service" in r ? `service:${r.service}` : `step:${r.step}`));
    const createDue = () => {
        for (const s of plan.lifecycle) {
            if (!done.has(`step:${s.kind}`) && ready(s)) {
                done.add(`step:${s.kind}`);
                order.push(s.kind);
            }
        }
    };
    createDue();
    for (const s of plan.services) {
        for (const dep of s.startAfter) if (!done.has(`service:${dep}`)) problems.push(`${s.key} starts before ${dep}`);
        for (const step of plan.lifecycle.filter((x) => x.before.includes(s.key))) if (!done.has(`step:${step.kind}`)) problems.push(`${s.key} starts before ${step.kind}`);
        done.add(`service:${s.key}`);
        order.push(s.key);
        createDue();
    }
    for (const s of plan.lifecycle) if (!done.has(`step:${s.kind}`)) problems.push(`${s.kind} is never created`);
    return { order, problems };
}

const step = <K extends LifecycleStepKind>(plan: PlatformPlan, kind: K) => plan.lifecycle.find((s): s is Extract<LifecycleStep, { kind: K }> => s.kind === kind);

describe("the plan of a generated stack", () => {
    const samples = fc.sample(inputs, { seed: SEED, numRuns: 150 });

    it("deploys exactly the enabled services, each after everything it starts after, readers of logs last", () => {
        for (const input of samples) {
            const plan = resolvePlatform("s", configOf(input));
            const enabled = SERVICE_KEYS.filter((k) => !input.disabled.includes(k));
            expect(plan.services.map((s) => s.key).sort()).toEqual([...enabled].sort());
            const { problems } = schedule(plan);
            expect({ input, problems }).toEqual({ input, problems: [] });
            const readers = plan.services.filter((s) => s.readsLogsOf);
            for (const r of readers) {
                expect(plan.services.slice(-readers.length)).toContain(r);
                expect([...r.readsLogsOf!.services].sort()).toEqual(plan.services.filter((s) => !s.readsLogsOf).map((s) => s.key).sort());
            }
            expect(plan.outputs.disabledServices.map((d) => d.split(":")[0]).sort()).toEqual([...input.disabled].sort());
            // Validation: every deployed service, checked as its catalog entry says.
            if (input.validation) {
                const targets = plan.validation!.targets.map((t) => t.service);
                expect(targets.sort()).toEqual([...enabled].sort());
            } else {
                expect(plan.validation).toBeUndefined();
            }
        }
    });

    it("has the data lifecycle's steps exactly when they have something to do, each before what it guards", () => {
        for (const input of samples) {
            const plan = resolvePlatform("s", configOf(input));
            const enabled = new Set(SERVICE_KEYS.filter((k) => !input.disabled.includes(k)));
            const stateful = STATEFUL.filter((k) => enabled.has(k));
            const sqlite = SQLITE.filter((k) => enabled.has(k));
            const influx = INFLUX.filter((k) => enabled.has(k));
            const restoring = input.restore && stateful.length > 0;
            const kinds = plan.lifecycle.map((s) => s.kind);
            const expected: LifecycleStepKind[] = [
                "host-ports-check",
                ...(stateful.length > 0 ? (["pre-change-backup"] as const) : []),
                ...(stateful.length > 0 && input.profile === "prod" && sqlite.length > 0 ? (["volume-handover"] as const) : []),
                ...(restoring ? (["restore"] as const) : []),
                ...(influx.length > 0 ? (["influxdb-retention"] as const) : []),
                ...(stateful.length > 0 ? (["final-backup", "backup-schedule"] as const) : []),
                ...(stateful.length > 0 && input.backupRequest > 0 ? (["on-demand-backup"] as const) : []),
            ];
            expect({ input, kinds }).toEqual({ input, kinds: expected });

            expect([...step(plan, "host-ports-check")!.before].sort()).toEqual([...enabled].sort());
            if (stateful.length > 0) {
                expect(step(plan, "pre-change-backup")!.before).toEqual(stateful);
                expect(step(plan, "final-backup")!.after).toEqual(stateful.map((service) => ({ service })));
            }
            const handover = step(plan, "volume-handover");
            if (handover) {
                expect(handover.after).toEqual([{ step: "pre-change-backup" }]);
                expect(handover.before).toEqual(sqlite);
                expect(Object.values(handover.owners).every((o) => o !== "0:0")).toBe(true);
            }
            const restore = step(plan, "restore");
            if (restore) {
                expect(restore.after).toEqual([...influx.map((service) => ({ service })), { step: "pre-change-backup" }]);
                expect(restore.before).toEqual(sqlite);
                expect(restore.helperImageOf).toBe(sqlite[0]);
                expect(restore.influxContainer).toBe(influx.length > 0 ? `s-${influx[0]}` : undefined);
            }
            const retention = step(plan, "influxdb-retention");
            if (retention && restore) expect(retention.after).toContainEqual({ step: "restore" });
        }
    });

    it("runs the host-ports check on every deployed service's host port, and each lifecycle step in a feasible order", () => {
        // The samples disable something often enough for "no disabled service listed" to be tested.
        expect(samples.filter((i) => i.disabled.length > 0).length).toBeGreaterThan(50);
        for (const input of samples) {
            const config = configOf(input);
            const plan = resolvePlatform("s", config);
            const ports = Object.entries(step(plan, "host-ports-check")!.ports);
            // Every deployed service listed once, no disabled one, each with its own host port.
            const enabled = SERVICE_KEYS.filter((k) => !input.disabled.includes(k));
            expect({ input, listed: ports.map(([service]) => service).sort() }).toEqual({ input, listed: [...enabled].sort() });
            for (const d of input.disabled) expect({ input, listed: ports.some(([service]) => service === d) }).toEqual({ input, listed: false });
            for (const [service, port] of ports) expect(Number(port)).toBe(config.services[service as ServiceKey].hostPort);
            const { order } = schedule(plan);
            // The backup before any stateful container; the restore before the first SQLite service.
            const first = (keys: readonly string[]) => Math.min(...keys.map((k) => order.indexOf(k)).filter((i) => i >= 0));
            if (step(plan, "pre-change-backup")) expect(order.indexOf("pre-change-backup")).toBeLessThan(first(STATEFUL));
            if (step(plan, "restore")) expect(order.indexOf("restore")).toBeLessThan(first(SQLITE));
        }
    });

    it("names secrets, never holds their values, and is plain data (the same plan for the same config)", () => {
        const secretValues = { jwtSecret: "resolve-jwt-secret-0123456789abcdef0123", weatherApiKey: "resolve-weather-key-0123" };
        const result = parseStackConfig({ ...BASE, profile: "prod", ...secretValues });
        if (!result.ok) throw new Error("invalid");
        const plan = resolvePlatform("prod", result.config);
        const json = JSON.stringify(plan.services);
        for (const v of [...Object.values(secretValues), BASE.homeAssistantToken]) expect(json).not.toContain(v);
        const refs = plan.services.flatMap((s) => Object.values(s.environment).filter((v) => typeof v !== "string").map((v) => (v as { secret: string }).secret));
        expect(new Set(refs)).toEqual(new Set(refs.filter((r) => (SECRET_CONFIG_KEYS as string[]).includes(r))));
        expect(refs).toEqual(expect.arrayContaining(["jwtSecret", "weatherApiKey", "homeAssistantToken", "influxdbAdminToken"]));
        // Unset third-party keys are empty values, not secrets.
        expect(plan.services.find((s) => s.key === "smart-meter")?.environment.METER_API_TOKEN).toBe("");
        expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
        expect(resolvePlatform("prod", result.config)).toEqual(plan);
    });
});

describe("what the catalog decides, not a service's name", () => {
    const plan = resolvePlatform("prod", configOf({ profile: "prod", disabled: [], restore: false, backupRequest: 0, socketGroup: false, validation: true }));
    const byKey = new Map(plan.services.map((s) => [s.key, s]));

    it("publishes the dashboard (catalog `dashboard`) on the dashboard bind address, every other port on the publish address", () => {
        // The prod profile binds both to loopback; homeiq:dashboardBindAddress opens the dashboard's alone.
        for (const s of plan.services) expect({ key: s.key, ip: s.port.ip }).toEqual({ key: s.key, ip: "127.0.0.1" });
        const dashboard = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].dashboard);
        expect(dashboard).toHaveLength(1);
        expect(plan.outputs.dashboardUrl).toBe(byKey.get(dashboard[0])!.urls.service);
        const open = parseStackConfig({ ...BASE, profile: "prod", dashboardBindAddress: "0.0.0.0" });
        if (!open.ok) throw new Error("invalid");
        for (const s of resolvePlatform("prod", open.config).services) {
            expect({ key: s.key, ip: s.port.ip }).toEqual({ key: s.key, ip: SERVICE_CATALOG[s.key].dashboard ? "0.0.0.0" : "127.0.0.1" });
        }
    });

    it("validates each service as its catalog health check says (influx-ready, html, else 200 on its health URL)", () => {
        for (const s of plan.services) {
            const v = SERVICE_CATALOG[s.key].healthCheck.validation;
            expect({ key: s.key, validation: s.validation }).toEqual({
                key: s.key,
                validation: { check: v?.check ?? "http200", url: `${s.urls.service}${v?.path ?? SERVICE_CATALOG[s.key].healthCheck.httpPath}` },
            });
        }
    });

    it("points every InfluxDB client at the InfluxDB server (catalog `influxdbServer`), on the platform network", () => {
        const [server] = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].influxdbServer);
        for (const s of plan.services) {
            if (!SERVICE_CATALOG[s.key].environmentGroups.includes("influxdb-client")) continue;
            expect({ key: s.key, url: s.environment.INFLUXDB_URL }).toEqual({ key: s.key, url: `http://${server}:${SERVICE_CATALOG[server].containerPort}` });
        }
        expect(step(plan, "influxdb-retention")!.container).toBe(`prod-${server}`);
    });

    it("gives LOG_LEVEL exactly to the services with the log-level group", () => {
        for (const s of plan.services) {
            expect({ key: s.key, level: s.environment.LOG_LEVEL }).toEqual({ key: s.key, level: SERVICE_CATALOG[s.key].environmentGroups.includes("log-level") ? "INFO" : undefined });
        }
    });

    it("never gives a service the Docker socket: the services that read the engine go through the Docker API proxy, which gets the socket's group", () => {
        const readers = plan.services.filter((s) => SERVICE_CATALOG[s.key].dockerApi !== undefined).map((s) => s.key);
        expect(readers).toEqual(["admin-api"]);
        for (const s of plan.services) {
            expect({ key: s.key, mounts: s.hostMounts.filter((m) => m.hostPath === DOCKER_SOCKET), socketGroup: s.groups.some((g) => "dockerSocket" in g) }).toEqual({ key: s.key, mounts: [], socketGroup: false });
            expect({ key: s.key, host: s.environment.DOCKER_HOST, proxied: s.usesDockerApi }).toEqual({
                key: s.key,
                host: readers.includes(s.key) ? "tcp://docker-api-proxy:2375" : undefined,
                proxied: readers.includes(s.key),
            });
        }
        expect(plan.dockerApiProxy).toMatchObject({ containerName: "prod-docker-api-proxy", network: { name: "prod-docker-api" }, clients: readers, port: 2375 });
        expect(plan.dockerApiProxy?.socket).toEqual({ hostPath: DOCKER_SOCKET, containerPath: DOCKER_SOCKET });
        expect(plan.dockerSocketGroup).toEqual({ probeImageOf: "docker-api-proxy" });
        const configured = resolvePlatform("prod", configOf({ profile: "prod", disabled: [], restore: false, backupRequest: 0, socketGroup: true, validation: true }));
        expect(configured.dockerSocketGroup).toEqual({ configured: "998" });
    });

    it("gives each service the backup role its catalog entry says: stateful, the InfluxDB server, a SQLite database owned by the user it runs as", () => {
        for (const s of plan.services) {
            const c = SERVICE_CATALOG[s.key];
            expect({ key: s.key, stateful: s.backup.stateful, influxdb: s.backup.influxdb }).toEqual({ key: s.key, stateful: c.stateful, influxdb: c.influxdbServer === true });
            expect({ key: s.key, sqlite: s.backup.sqlite?.containerPath }).toEqual({ key: s.key, sqlite: c.sqliteDatabase?.containerPath });
            if (s.backup.sqlite) expect(s.backup.sqlite.owner).toBe(s.hardening.user ?? "0:0");
        }
        const pre = step(plan, "pre-change-backup")!;
        expect(pre.stateful).toEqual(plan.services.filter((s) => s.backup.stateful).map((s) => s.key));
    });

    it("keeps the volumes of the deployed services only, data volumes retained as the profile asks", () => {
        const used = new Set(plan.services.flatMap((s) => s.volumes.map((v) => v.volume)));
        expect(plan.volumes.map((v) => v.key).sort()).toEqual([...used].sort());
        for (const v of plan.volumes) expect(v.retainOnDelete).toBe(VOLUME_CATALOG[v.key].holdsData);
    });
});

describe("the catalog's invariants the plan relies on", () => {
    it("has at most one InfluxDB server and one dashboard, and the InfluxDB server is stateful", () => {
        expect(SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].influxdbServer).length).toBeLessThanOrEqual(1);
        expect(SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].dashboard).length).toBeLessThanOrEqual(1);
        for (const k of SERVICE_KEYS) if (SERVICE_CATALOG[k].influxdbServer) expect(SERVICE_CATALOG[k].stateful).toBe(true);
    });

    it("gives no stateful service inputs that need other containers first (its spec is hashed before they exist)", () => {
        for (const k of SERVICE_KEYS.filter((s) => SERVICE_CATALOG[s].stateful)) {
            expect({ k, logs: SERVICE_CATALOG[k].containerLogs, replace: SERVICE_CATALOG[k].replaceWithDependencies }).toEqual({ k, logs: undefined, replace: undefined });
        }
    });

    it("refuses a catalog with two InfluxDB servers rather than guessing", () => {
        const config = configOf({ profile: "dev", disabled: [], restore: false, backupRequest: 0, socketGroup: false, validation: true });
        const twoServers = { ...SERVICE_CATALOG, "data-retention": { ...SERVICE_CATALOG["data-retention"], influxdbServer: true as const } };
        expect(() => resolvePlatform("dev", config, twoServers)).toThrow(/more than one service as influxdbServer: influxdb, data-retention/);
        expect(startOrder().length).toBe(SERVICE_KEYS.length);
    });
});
