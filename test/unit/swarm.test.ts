/**
 * The swarm target (homeiq:target swarm): its config keys, the plan's swarm form (plan/swarm.ts) and
 * the program's swarm resources under mocks (components/swarmPlatform.ts), with the policy pack over
 * them. The same catalog, profile and plan: the swarm form only adds placement, the overlay and what
 * is published, and carries the lifecycle to the data node.
 */
import { SERVICE_CATALOG, SERVICE_KEYS, type ServiceKey } from "../../catalog/services";
import { parseStackConfig } from "../../config/schema";
import { LABEL_NODE_NO_NEW_PRIVILEGES } from "../../plan/naming";
import { resolvePlatform } from "../../plan/resolve";
import { evaluatePolicies, NODE_NO_NEW_PRIVILEGES_LABEL, SERVICE_TYPE, serviceAsContainer } from "../../policy/policies";
import * as fs from "fs";
import * as path from "path";
import { ofType, synthOf } from "./helpers";
import { createHash } from "crypto";
import { requiredValuesWithout } from "./synthCases";

const NODES = ["nas=data@ssh://admin@nas", "minipc=apps", "tv=apps@ssh://pi@tv"];
const STATEFUL = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].stateful);
const NOT_PORTABLE = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].containerLogs !== undefined);
const API_READERS = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].dockerApi !== undefined);
const DASHBOARD = SERVICE_KEYS.find((k) => SERVICE_CATALOG[k].dashboard)!;

function parse(values: Record<string, string>) {
    return parseStackConfig({ ...requiredValuesWithout(), profile: "prod", ...values });
}
function swarmPlan(extra: Record<string, string> = {}) {
    const r = parse({ target: "swarm", swarmNodes: JSON.stringify(NODES), ...extra });
    if (!r.ok) throw new Error(r.problems.map((p) => `${p.key}: ${p.problem}`).join("; "));
    return resolvePlatform("prod", r.config);
}

describe("the swarm target's config keys", () => {
    const problemsOf = (values: Record<string, string>) => {
        const r = parse(values);
        return r.ok ? [] : r.problems.map((p) => ({ key: p.key, value: p.value, problem: p.problem, fix: p.fix }));
    };

    it("target=swarm without a data node is refused, naming the key, the missing role and a fix", () => {
        expect(problemsOf({ target: "swarm", swarmNodes: JSON.stringify(["minipc=apps"]) })).toEqual([
            {
                key: "homeiq:swarmNodes",
                value: '["minipc=apps"]',
                problem: "has no node with the role data (InfluxDB and the SQLite services run there)",
                fix: "pulumi config set --path 'homeiq:swarmNodes[1]' node2=data",
            },
        ]);
    });

    it("a bad entry is refused with its index and value, a node named twice too", () => {
        const problems = problemsOf({ target: "swarm", swarmNodes: JSON.stringify(["nas=data", "minipc=db", "nas=apps"]) });
        expect(problems.map((p) => [p.key, p.value, p.problem])).toEqual([
            ["homeiq:swarmNodes[1]", '"minipc=db"', "names the role(s) db; roles are data and apps"],
            ["homeiq:swarmNodes[2]", '"nas=apps"', "names nas a second time"],
        ]);
    });

    it("nodes for the host target would be ignored: refused; a subnet with host bits is refused", () => {
        expect(problemsOf({ swarmNodes: JSON.stringify(["nas=data"]) }).map((p) => [p.key, p.problem])).toEqual([
            ["homeiq:swarmNodes", "names swarm nodes, but homeiq:target is host: they would be silently ignored"],
        ]);
        expect(problemsOf({ target: "swarm", swarmNodes: JSON.stringify(NODES), swarmSubnet: "10.243.0.1/24" }).map((p) => [p.key, p.problem])).toEqual([
            ["homeiq:swarmSubnet", "has host bits set (write the network address)"],
        ]);
    });

    it("the host target (the default) has no swarm form", () => {
        const r = parse({});
        expect(r.ok && resolvePlatform("prod", r.config).swarm).toBeUndefined();
    });
});

describe("the plan's swarm form", () => {
    const plan = swarmPlan();
    const swarm = plan.swarm!;
    const byKey = new Map(swarm.services.map((s) => [s.key, s]));

    it("runs every service of the same plan but those that need one host's engine or logs, which it lists with why", () => {
        expect(swarm.services.map((s) => s.key)).toEqual(plan.services.map((s) => s.key).filter((k) => !NOT_PORTABLE.includes(k)));
        expect(swarm.notOnSwarm.map((r) => r.split(":")[0]).sort()).toEqual([...NOT_PORTABLE].sort());
        // A Docker API reader runs (the dashboard proxies to it) without DOCKER_HOST, and says so.
        expect(API_READERS.length).toBeGreaterThan(0);
        for (const k of API_READERS) expect(byKey.get(k)?.withoutEnvironment).toEqual(["DOCKER_HOST"]);
        expect(swarm.limitations.map((l) => l.split(":")[0])).toEqual(API_READERS);
    });

    it("pins the stateful services to the first data node and the dashboard to the first apps node; the rest go by role label", () => {
        for (const k of STATEFUL) expect(byKey.get(k)?.constraints).toEqual(["node.hostname==nas"]);
        expect(byKey.get(DASHBOARD)?.constraints).toEqual(["node.hostname==minipc"]);
        // A service with a named volume that is not stateful stays on one apps node with its volume (data-retention's exports).
        const withVolume = SERVICE_KEYS.filter((k) => !STATEFUL.includes(k) && SERVICE_CATALOG[k].volumes.length > 0 && byKey.has(k));
        expect(withVolume).toEqual(["data-retention"]);
        for (const k of withVolume) expect([byKey.get(k)?.constraints, byKey.get(k)?.nodes]).toEqual([["node.hostname==minipc"], ["minipc"]]);
        const rest = swarm.services.filter((s) => !STATEFUL.includes(s.key) && s.key !== DASHBOARD && !withVolume.includes(s.key));
        expect(rest.length).toBeGreaterThan(0);
        for (const s of rest) {
            expect(s.constraints).toEqual(["node.labels.homeiq.role.apps==true"]);
            expect(s.nodes).toEqual(["minipc", "tv"]);
        }
    });

    it("publishes only the dashboard, on its host port, and gives its URL on its node", () => {
        expect(swarm.services.filter((s) => s.publish).map((s) => s.key)).toEqual([DASHBOARD]);
        const port = plan.services.find((s) => s.key === DASHBOARD)!.port.external;
        expect(swarm.dashboardUrl).toBe(`http://minipc:${port}`);
    });

    it("carries the data lifecycle to the data node's engine; the restore scales the SQLite services through the manager", () => {
        const p = swarmPlan({ restoreFrom: "/srv/homeiq-backups/prod/20261127T101500Z" });
        const kinds = p.swarm!.lifecycle.map((s) => s.kind);
        expect(kinds).toEqual(p.lifecycle.map((s) => s.kind).filter((k) => k !== "host-ports-check"));
        for (const step of p.swarm!.lifecycle) {
            const host = "target" in step ? step.target.dockerHost : "dockerHost" in step ? step.dockerHost : undefined;
            expect([step.kind, host]).toEqual([step.kind, "ssh://admin@nas"]);
        }
        const restore = p.swarm!.lifecycle.find((s) => s.kind === "restore");
        expect(restore && restore.kind === "restore" && [restore.swarmManager, restore.stopContainers]).toEqual([
            p.dockerHost,
            SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].sqliteDatabase).map((k) => `prod-${k}`),
        ]);
    });
});

describe("the program on swarm (under mocks) and the policy pack over it", () => {
    const overrides = { "homeiq:target": "swarm", "homeiq:swarmNodes": JSON.stringify(NODES) };
    const packConfig = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "policy", "config", "prod.json"), "utf8"));

    it("registers one docker.Service per service on swarm and no container; dnsrr endpoints, host-mode publishing of the dashboard only", async () => {
        const result = await synthOf({ stack: "prod", overrides });
        expect(ofType(result, "docker:index/container:Container")).toEqual([]);
        const services = ofType(result, SERVICE_TYPE);
        const keyOf = (s: (typeof services)[number]) => s.name.replace(/^homeiq-/, "") as ServiceKey;
        expect(services.map(keyOf).sort()).toEqual(swarmPlan().swarm!.services.map((s) => s.key).sort());
        for (const s of services) {
            const endpoint = s.inputs.endpointSpec as { mode: string; ports?: Array<{ publishMode: string }> };
            expect(endpoint.mode).toBe("dnsrr");
            expect((endpoint.ports ?? []).map((p) => p.publishMode)).toEqual(keyOf(s) === DASHBOARD ? ["host"] : []);
            const task = s.inputs.taskSpec as { restartPolicy: unknown; networksAdvanceds: Array<Record<string, unknown>> };
            // Written as the provider reads them back: no diff on the next preview.
            expect(task.restartPolicy).toEqual({ condition: "any", delay: "5s", maxAttempts: 0, window: "0s" });
            expect(Object.keys(task.networksAdvanceds[0]).sort()).toEqual(["aliases", "id"]);
        }
        const overlay = ofType(result, "docker:index/network:Network");
        expect(overlay.map((n) => [n.inputs.driver, n.inputs.attachable, n.inputs.ipamConfigs])).toEqual([["overlay", true, [{ subnet: "10.243.0.0/24" }]]]);
    });

    it("builds no image before the preflight has passed: every image build on a node depends on it", async () => {
        const result = await synthOf({ stack: "prod", overrides });
        const preflight = result.resources.find((r) => r.name === "homeiq-swarm-preflight")!;
        const builds = ofType(result, "docker:index/image:Image").filter((r) => !r.name.endsWith("-non-root"));
        // One build per service and node that may run it: two apps nodes build each apps image.
        expect(builds.length).toBeGreaterThan(swarmPlan().swarm!.services.length);
        expect(builds.filter((b) => !b.dependencies.includes(preflight.urn)).map((b) => b.name)).toEqual([]);
    });

    it("prod on swarm passes every policy, the PIDs limit included: each task declares its limit", async () => {
        const result = await synthOf({ stack: "prod", overrides });
        const violations = evaluatePolicies(result.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs, options: r.options })), packConfig);
        expect(violations).toEqual([]);
        // Without the label, the pack's swarm form fails each service, naming the fix.
        const unlabelled = ofType(result, SERVICE_TYPE).map((r) => {
            const task = r.inputs.taskSpec as { containerSpec: { labels: Array<{ label: string }> } };
            const containerSpec = { ...task.containerSpec, labels: task.containerSpec.labels.filter((l) => l.label !== "com.homeiq.pids-limit") };
            return { type: r.type, name: r.name, inputs: { ...r.inputs, taskSpec: { ...task, containerSpec } }, options: r.options };
        });
        const pids = evaluatePolicies(unlabelled, packConfig).filter((v) => v.policy === "container-pids-limit");
        expect(pids.length).toBe(unlabelled.length);
        expect(pids[0].message).toMatch(/has no com\.homeiq\.pids-limit label.*components\/swarmLimits\.ts/);
    });

    it("a Command after each service sets its PIDs limit (and InfluxDB's ulimits) as labelled, re-run on every change of the service; dependents wait for it", async () => {
        const result = await synthOf({ stack: "prod", overrides });
        const commands = new Map(
            ofType(result, "command:local:Command")
                .filter((c) => c.inputs.create === "bash scripts/swarm/limits.sh")
                .map((c) => [(c.inputs.environment as Record<string, string>).HOMEIQ_SERVICE, c]),
        );
        const services = ofType(result, SERVICE_TYPE);
        expect([...commands.keys()].sort()).toEqual(services.map((s) => String(s.inputs.name)).sort());
        for (const s of services) {
            const labels = (s.inputs.taskSpec as { containerSpec: { labels: Array<{ label: string; value: string }> } }).containerSpec.labels;
            const c = commands.get(String(s.inputs.name))!;
            const env = c.inputs.environment as Record<string, string>;
            expect(env.HOMEIQ_PIDS_LIMIT).toBe(labels.find((l) => l.label === "com.homeiq.pids-limit")?.value);
            expect(env.DOCKER_HOST).toBe(swarmPlan().dockerHost);
            // Re-run when the service is replaced or its inputs change (the provider's update drops the limit); the inputs only as a digest.
            expect((c.inputs.triggers as unknown[]).length).toBe(2);
            expect(c.dependencies).toContain(s.urn);
        }
        const influx = commands.get("prod-influxdb")!.inputs.environment as Record<string, string>;
        expect(influx.HOMEIQ_ULIMITS).toMatch(/^nofile=\d+:\d+$/);
        expect(influx.HOMEIQ_PIDS_LIMIT).toBe(String(SERVICE_CATALOG.influxdb.security.pidsLimit?.limit));
        // A dependent's service waits for its upstream's limits (setting them replaces the upstream's task).
        const dataApi = services.find((s) => s.inputs.name === "prod-data-api")!;
        expect(dataApi.dependencies).toContain(commands.get("prod-influxdb")!.urn);
    });

    it("a service checks as the container its tasks run: no node no-new-privileges, a public port, root", () => {
        const props = {
            name: "prod-web",
            taskSpec: {
                containerSpec: { image: "x", labels: [{ label: "com.homeiq.service", value: "web" }], capDrops: ["ALL"] },
                resources: { limits: { nanoCpus: 5e8, memoryBytes: 268435456 } },
            },
            endpointSpec: { mode: "dnsrr", ports: [{ targetPort: 80, publishedPort: 8080, publishMode: "host" }] },
        };
        expect(serviceAsContainer(props)).toMatchObject({ memory: 256, cpus: 0.5, securityOpts: [], ports: [{ internal: 80, external: 8080, ip: "" }] });
        const names = evaluatePolicies([{ type: SERVICE_TYPE, name: "web", inputs: props }], { "container-no-public-ports": { allowedPublicPorts: [3000] } }).map((v) => v.policy);
        expect(names).toEqual(expect.arrayContaining(["container-non-root-user", "container-no-new-privileges", "container-no-public-ports"]));
        expect(LABEL_NODE_NO_NEW_PRIVILEGES).toBe(NODE_NO_NEW_PRIVILEGES_LABEL);
    });
});

describe("InfluxDB's credentials on swarm: swarm secrets mounted as files, named anew for each new value", () => {
    const SECRET = "docker:index/secret:Secret";
    const PASSWORD_TYPE = "random:index/randomPassword:RandomPassword";
    const TOKEN_A = "i18d-token-a-0123456789abcdefghijklmnop";
    const TOKEN_B = "i18d-token-b-0123456789abcdefghijklmnop";
    const PASSWORD = "i18d-password-0123456789";
    const synthWith = (token: string) =>
        synthOf({
            stack: "prod",
            overrides: { "homeiq:target": "swarm", "homeiq:swarmNodes": JSON.stringify(NODES), "homeiq:influxdbAdminToken": token, "homeiq:influxdbAdminPassword": PASSWORD },
            secretOverrides: ["homeiq:influxdbAdminToken", "homeiq:influxdbAdminPassword"],
        });
    type Synth = Awaited<ReturnType<typeof synthWith>>;
    const serviceOf = (r: Synth, key: ServiceKey) => ofType(r, SERVICE_TYPE).find((s) => s.name === `homeiq-${key}`)!;
    const containerSpecOf = (s: ReturnType<typeof serviceOf>) => (s.inputs.taskSpec as { containerSpec: Record<string, unknown> }).containerSpec;
    const secretsOf = (r: Synth) => ofType(r, SECRET).sort((a, b) => a.name.localeCompare(b.name));
    /** The keepers of the random suffix of each secret's name: what makes the name change. */
    const keepersOf = (r: Synth) => secretsOf(r).map((s) => ofType(r, PASSWORD_TYPE).find((p) => p.name === `${s.name}-suffix`)!.inputs.keepers as Record<string, string>);

    it("the influxdb service has neither the password nor the token in its environment, and mounts both secrets as files only its user reads", async () => {
        const r = await synthWith(TOKEN_A);
        const spec = containerSpecOf(serviceOf(r, "influxdb"));
        const env = spec.env as Record<string, string>;
        expect(Object.keys(env).filter((k) => /PASSWORD|TOKEN/.test(k)).sort()).toEqual(["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE", "DOCKER_INFLUXDB_INIT_PASSWORD_FILE"]);
        expect(env.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE).toBe("/run/secrets/influxdbAdminToken");
        expect(env.DOCKER_INFLUXDB_INIT_PASSWORD_FILE).toBe("/run/secrets/influxdbAdminPassword");
        const secrets = secretsOf(r);
        expect(secrets.map((s) => s.name)).toEqual(["homeiq-swarm-secrets-influxdb-influxdbAdminPassword", "homeiq-swarm-secrets-influxdb-influxdbAdminToken"]);
        const mounts = (spec.secrets as Array<Record<string, unknown>>).map((m) => [m.fileName, m.fileUid, m.fileGid, m.fileMode, m.secretName]).sort();
        expect(mounts).toEqual([
            ["/run/secrets/influxdbAdminPassword", "1000", "1000", 0o400, secrets[0].inputs.name],
            ["/run/secrets/influxdbAdminToken", "1000", "1000", 0o400, secrets[1].inputs.name],
        ]);
        // The value is a secret in the registration, never plain text; Pulumi never removes a swarm secret itself (the prune does).
        for (const s of secrets) {
            expect(JSON.stringify(s.inputs)).not.toMatch(new RegExp(`${TOKEN_A}|${PASSWORD}|${Buffer.from(TOKEN_A).toString("base64")}`));
            expect(s.options.retainOnDelete).toBe(true);
        }
        // Every other service reads its credentials from its environment, as on one host (HomeIQ's code reads no *_FILE).
        const others = ofType(r, SERVICE_TYPE).filter((s) => s.name !== "homeiq-influxdb");
        expect(others.map((s) => containerSpecOf(s).secrets)).toEqual(others.map(() => undefined));
        // After every service: the prune of the stack's secrets no service uses, keeping the current two.
        const prune = ofType(r, "command:local:Command").find((c) => c.inputs.create === "bash scripts/swarm/prune-secrets.sh")!;
        expect((prune.inputs.environment as Record<string, string>).HOMEIQ_KEEP_SECRETS).toBe(secrets.map((s) => String(s.inputs.name)).sort().join(" "));
        for (const s of ofType(r, SERVICE_TYPE)) expect(prune.dependencies.some((d) => d.endsWith(`${s.name}-limits`))).toBe(true);
    });

    it("a new token draws a new name (its suffix is keyed to the value's digest); the same value keeps it; no name or keeper holds the value", async () => {
        const [a, b, again] = await Promise.all([synthWith(TOKEN_A), synthWith(TOKEN_B), synthWith(TOKEN_A)]);
        const [passwordA, tokenA] = keepersOf(a);
        const [passwordB, tokenB] = keepersOf(b);
        expect(tokenA.digest).toMatch(/^[0-9a-f]{16}$/);
        expect(tokenB.digest).not.toBe(tokenA.digest);
        expect([keepersOf(again)[1].digest, passwordB.digest]).toEqual([tokenA.digest, passwordA.digest]);
        // Keyed: the plain digest of the value (what a guess could be checked against) is not what is kept.
        const unkeyed = (v: string) => createHash("sha256").update(v).digest("hex").slice(0, 16);
        for (const [kept, value] of [[tokenA.digest, TOKEN_A], [tokenB.digest, TOKEN_B], [passwordA.digest, PASSWORD]]) expect(kept).not.toBe(unkeyed(value));
        const names = secretsOf(a).map((s) => String(s.inputs.name));
        expect(names[1]).toMatch(/^prod-influxdbAdminToken-/);
        for (const n of names) for (const v of [TOKEN_A, PASSWORD]) expect(n).not.toContain(v);
        // The service names its secrets by id: a new secret is an update of its task spec, not a replacement of the service.
        expect((containerSpecOf(serviceOf(a, "influxdb")).secrets as Array<{ secretId: string }>).every((m) => typeof m.secretId === "string")).toBe(true);
    });
});
