/**
 * InfluxDB on swarm: its credentials as swarm secrets mounted as files (components/swarmSecrets.ts) and
 * its PIDs limit and open-files ulimit, which the provider cannot set (components/swarmLimits.ts); the
 * program applied by the engine applier on a single-node swarm of its own (engine/swarm-nodes.sh; the
 * shared engine never enters swarm mode). Only InfluxDB is deployed (every other service disabled),
 * from the InfluxDB stand-in, whose entrypoint reads DOCKER_INFLUXDB_INIT_*_FILE as the real one does
 * (influxdata-docker influxdb/2.7/entrypoint.sh:195-198). Proven:
 * - InfluxDB is set up from the secret files (its operator token is the configured one) and healthy,
 *   with neither credential in its task's environment nor in the service's spec;
 * - a new password is a new secret: `up` creates it, updates the service to it, then deletes the old
 *   one; the new task reads the new file; the data stays (setup runs only on an empty volume);
 * - a new token that InfluxDB does not know yet is refused by the pre-change backup, as on one host:
 *   the service keeps running with the old secret (rotate a token in InfluxDB first: docs/swarm.md);
 * - the task runs with the catalog's PIDs limit (the cgroup's pids.max) and open-files limit, set again
 *   after the provider's update of the service dropped them; a second `up` changes nothing.
 */
import * as fs from "fs";
import { applyStack, ApplyError, type ApplyResult, type ApplyState } from "../../engine/apply/applyStack";
import { SERVICE_CATALOG, SERVICE_KEYS, type ServiceKey } from "../../catalog/services";
import { IMAGES, run } from "./helpers";
import { testOverrides, testProject, TEST_SECRET_KEYS } from "./stack-helpers";
import { startSwarm, type Swarm } from "./swarm-nodes";

const SECRET = "docker:index/secret:Secret";
const TOKEN = "i18d-operator-token-0123456789abcdefghij";
const PASSWORD_A = "i18d-password-a-0123456789";
const PASSWORD_B = "i18d-password-b-0123456789";
const NEW_TOKEN = "i18d-unminted-token-0123456789abcdefghij";
const SECRETS = [...TEST_SECRET_KEYS, "homeiq:influxdbAdminToken", "homeiq:influxdbAdminPassword"];

let swarm: Swarm;
const project = testProject("prod", "swarm18d");
let state: ApplyState | undefined;
let first: ApplyResult;

const onNode = (args: string[], allowFail = false) => swarm.docker(swarm.manager, args, allowFail);
const service = `${project.stack}-influxdb`;
/** The running task's container, waited for (a task just created or replaced may not have one yet). */
const taskContainer = () => swarm.taskContainer(swarm.manager, service);
/** The task's enforced PIDs limit: cgroup v2's pids.max, else cgroup v1's (as test/engine/cis-section5.ts reads it). */
const pidsMaxIn = (ctr: string): string => {
    const v2 = onNode(["exec", ctr, "cat", "/sys/fs/cgroup/pids.max"], true);
    return (v2.code === 0 ? v2.stdout : onNode(["exec", ctr, "cat", "/sys/fs/cgroup/pids/pids.max"]).stdout).trim();
};
const PIDS = String(SERVICE_CATALOG.influxdb.security.pidsLimit?.limit);
const swarmSecrets = () => onNode(["secret", "ls", "--format", "{{.Name}}"]).stdout.trim().split("\n").filter(Boolean).sort();
const overridesWith = (token: string, password: string) => ({
    ...testOverrides(
        project,
        {
            "homeiq:dockerHost": swarm.manager.dockerHost,
            "homeiq:target": "swarm",
            "homeiq:swarmNodes": JSON.stringify([`${swarm.manager.hostname}=data+apps`]),
            "homeiq:swarmSubnet": "10.244.50.0/24",
            "homeiq:healthWaitTimeoutSeconds": "90",
            "homeiq:influxdbAdminToken": token,
            "homeiq:influxdbAdminPassword": password,
            // Read only by the services disabled here (refused as silently ignored otherwise).
            "homeiq:dashboardBindAddress": undefined,
            "homeiq:corsOrigins": undefined,
            "homeiq:dockerApiProxyBaseImage": undefined,
        },
        new Map(SERVICE_KEYS.filter((k) => k !== "influxdb").map((k): [ServiceKey, string] => [k, "i18d: only InfluxDB's secrets are under test"])),
    ),
});
async function apply(token: string, password: string): Promise<ApplyResult> {
    try {
        const r = await applyStack(project.stack, { projectDir: project.projectDir, configOverrides: overridesWith(token, password), secretOverrides: SECRETS, previous: state, log: () => undefined });
        state = r.state;
        return r;
    } catch (err) {
        if (err instanceof ApplyError) state = err.state;
        throw err;
    }
}
/** `influx bucket list` in the task with `token` (through the docker CLI's environment, never an argument). */
function bucketListWith(token: string): number {
    const env = first.synth.resources.find((r) => r.type === "docker:index/service:Service")!.inputs.taskSpec as { containerSpec: { env: Record<string, string> } };
    const { DOCKER_INFLUXDB_INIT_ORG: org, DOCKER_INFLUXDB_INIT_BUCKET: bucket } = env.containerSpec.env;
    const args = ["-H", swarm.manager.dockerHost, "exec", "-e", "INFLUX_TOKEN", taskContainer(), "influx", "bucket", "list", "--org", org, "--name", bucket, "--hide-headers"];
    return run("docker", args, { env: { INFLUX_TOKEN: token }, allowFail: true }).code;
}

beforeAll(async () => {
    swarm = startSwarm("i18d-sec", 1, "10.242.50", [IMAGES.busybox, IMAGES.influxStandin]);
    first = await apply(TOKEN, PASSWORD_A);
}, 300_000);

// No `destroy`: everything the stack made is on the dedicated node, which `down` removes with its data root.
afterAll(() => {
    swarm?.down();
    fs.rmSync(project.projectDir, { recursive: true, force: true });
}, 180_000);

test("InfluxDB is set up from the secret files, healthy, and neither credential is in its environment or its service's spec", () => {
    const ctr = taskContainer();
    expect(onNode(["inspect", "--format", "{{.State.Health.Status}}", ctr]).stdout.trim()).toBe("healthy");
    // The stand-in recorded the configured token at setup: the CLI is let in with it, and refused with another.
    expect(bucketListWith(TOKEN)).toBe(0);
    expect(bucketListWith(NEW_TOKEN)).not.toBe(0);
    expect(onNode(["exec", ctr, "cat", "/run/secrets/influxdbAdminPassword"]).stdout).toBe(PASSWORD_A);
    expect(onNode(["exec", ctr, "stat", "-c", "%u:%g %a", "/run/secrets/influxdbAdminToken"]).stdout.trim()).toBe("1000:1000 400");
    const spec = onNode(["service", "inspect", service]).stdout + onNode(["inspect", "--format", "{{json .Config.Env}}", ctr]).stdout;
    expect(spec).toContain("DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE=/run/secrets/influxdbAdminToken");
    for (const value of [TOKEN, PASSWORD_A]) expect(spec).not.toContain(value);
    // Two swarm secrets, named with a random suffix, never by value.
    const names = swarmSecrets();
    expect(names).toEqual([expect.stringMatching(new RegExp(`^${project.stack}-influxdbAdminPassword-[a-z0-9]{10}$`)), expect.stringMatching(new RegExp(`^${project.stack}-influxdbAdminToken-[a-z0-9]{10}$`))]);
});

test("a new password is a new secret: the service moves to it, the old one is deleted, setup does not run again", async () => {
    const before = swarmSecrets();
    const oldTask = taskContainer();
    const r = await apply(TOKEN, PASSWORD_B);
    const steps = r.events.filter((e) => e.type === SECRET || e.type === "docker:index/service:Service").map((e) => `${e.op} ${e.name}`);
    expect(steps).toEqual(expect.arrayContaining([`replace homeiq-swarm-secrets-influxdb-influxdbAdminPassword`, `update homeiq-influxdb`]));
    // The provider's update sent a spec without the PIDs limit; the limits Command ran again after it.
    expect(r.events.filter((e) => e.name === "homeiq-influxdb-limits" && e.op !== "delete").map((e) => e.op)).toEqual(["replace"]);
    // The old password's secret was removed by the prune after the service moved off it.
    const after = swarmSecrets();
    expect(after).toHaveLength(2);
    expect(after.filter((n) => before.includes(n))).toEqual([before.find((n) => n.includes("influxdbAdminToken"))]);
    const ctr = taskContainer();
    expect(ctr).not.toBe(oldTask);
    expect(onNode(["exec", ctr, "cat", "/run/secrets/influxdbAdminPassword"]).stdout).toBe(PASSWORD_B);
    // Setup does not run again on the existing volume: the operator token is still the one set up first.
    expect(bucketListWith(TOKEN)).toBe(0);
    expect(pidsMaxIn(ctr)).toBe(PIDS);
}, 240_000);

test("a new token InfluxDB does not know is refused by the pre-change backup; the service keeps the old secret; going back to the old token then applies", async () => {
    const task = taskContainer();
    const refused = await apply(NEW_TOKEN, PASSWORD_B).then(
        () => undefined,
        (e: Error) => e.message,
    );
    expect(refused).toMatch(/pre-change-backup/);
    expect(refused).not.toContain(NEW_TOKEN);
    expect(taskContainer()).toBe(task);
    expect(onNode(["exec", task, "sh", "-c", "cat /run/secrets/influxdbAdminToken"]).stdout).toBe(TOKEN);
    expect(bucketListWith(TOKEN)).toBe(0);
    // The refused update left a secret behind (created before the backup ran) and the old one in use. Going
    // back to the old token is an `up` that works: no name is reused (a new suffix), and the prune leaves
    // exactly the stack's two current secrets. (Pulumi would first retry the delete of the replaced secret,
    // which retainOnDelete makes a removal from the state only; engine/apply drops it from the state at the
    // failure, the same outcome. Without retainOnDelete that delete would fail: the secret is in use.)
    await apply(TOKEN, PASSWORD_B);
    expect(swarmSecrets()).toHaveLength(2);
    expect(onNode(["exec", taskContainer(), "cat", "/run/secrets/influxdbAdminToken"]).stdout).toBe(TOKEN);
}, 300_000);

test("the task runs with the catalog's PIDs limit and the open-files limit, in the service's spec; a second up changes nothing", async () => {
    const ctr = taskContainer();
    expect(pidsMaxIn(ctr)).toBe(PIDS);
    const nofile = overridesWith(TOKEN, PASSWORD_B)["homeiq:maxOpenFiles"];
    expect(onNode(["exec", ctr, "sh", "-c", "ulimit -n; ulimit -Hn"]).stdout.trim().split("\n")).toEqual([nofile, nofile]);
    // In the spec: a task swarm starts again (a restart, another node) gets them too.
    expect(onNode(["service", "inspect", service, "--format", "{{.Spec.TaskTemplate.Resources.Limits.Pids}} {{json .Spec.TaskTemplate.ContainerSpec.Ulimits}}"]).stdout.trim()).toBe(
        `${PIDS} [{"Name":"nofile","Hard":${nofile},"Soft":${nofile}}]`,
    );
    const again = await apply(TOKEN, PASSWORD_B);
    expect(again.events.filter((e) => e.op !== "same").map((e) => `${e.op} ${e.name} ${JSON.stringify(e.changes)}`)).toEqual([]);
    expect(taskContainer()).toBe(ctr);
}, 240_000);
