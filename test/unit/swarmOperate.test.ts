/**
 * Operating a stack on swarm, as the program plans and registers it (under mocks): the scheduled
 * backup, copy and drill run from this machine's crontab against the data node's engine (as the
 * deploy-time backups do), the watch reads the swarm's services through the manager and the data
 * node's volumes, and neither is silently dropped: with a remote manager both are off and said so,
 * naming the keys. `npm run status` reads a swarm stack through its manager (test/unit/swarmStatus.test.ts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SERVICE_CATALOG, SERVICE_KEYS } from "../../catalog/services";
import { parseStackConfig } from "../../config/schema";
import { statusCommand } from "../../operate/statusCli";
import { resolvePlatform } from "../../plan/resolve";
import { SERVICE_TYPE } from "../../policy/policies";
import { COMMAND, ofType, synthOf, synthStack } from "./helpers";
import { requiredValuesWithout } from "./synthCases";

const ROOT = path.resolve(__dirname, "..", "..");
const NODES = ["nas=data@ssh://admin@nas", "minipc=apps", "tv=apps@ssh://pi@tv"];
const MANAGER = "unix:///var/run/docker.sock";
const STATEFUL = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].stateful);
const DASHBOARD = SERVICE_KEYS.find((k) => SERVICE_CATALOG[k].dashboard)!;

function config(values: Record<string, string> = {}) {
    const r = parseStackConfig({ ...requiredValuesWithout(), profile: "prod", target: "swarm", swarmNodes: JSON.stringify(NODES), ...values });
    if (!r.ok) throw new Error(r.problems.map((p) => `${p.key}: ${p.problem}`).join("; "));
    return r.config;
}
const planOf = (values: Record<string, string> = {}) => resolvePlatform("prod", config(values));

describe("scheduled backups on swarm: the plan", () => {
    it("keeps the backup schedule, carried to the data node's engine with the manager named, on the schedule the keys give", () => {
        const plan = planOf({ backupSchedule: "daily 03:30", backupDrillSchedule: "monthly 15 04:00", backupKeepDays: "60" });
        const onHost = plan.lifecycle.find((s) => s.kind === "backup-schedule")!;
        const step = plan.swarm!.lifecycle.find((s) => s.kind === "backup-schedule");
        expect(step && step.kind === "backup-schedule" && onHost.kind === "backup-schedule").toBe(true);
        if (!step || step.kind !== "backup-schedule" || onHost.kind !== "backup-schedule") return;
        expect({ when: step.backupWhen, drill: step.drillWhen, folder: step.folder, keepDays: step.target.keepDays }).toEqual({
            when: "daily 03:30",
            drill: "monthly 15 04:00",
            folder: onHost.folder,
            keepDays: 60,
        });
        // The data node's engine, the manager for the wrappers' question "which node runs it"; the
        // database containers named as the swarm services whose tasks the wrapper finds there.
        expect({ host: step.target.dockerHost, manager: step.target.swarmManager, influx: step.target.influxContainer }).toEqual({
            host: "ssh://admin@nas",
            manager: MANAGER,
            influx: "prod-influxdb",
        });
        expect(step.after).toEqual(STATEFUL.map((service) => ({ service })));
    });

    it("with a remote manager no schedule and no watch are set up, and each key is named in a warning that says why", () => {
        const values = { dockerHost: "ssh://admin@nas", postDeployValidation: "false" };
        const plan = planOf(values);
        const step = plan.swarm!.lifecycle.find((s) => s.kind === "backup-schedule");
        expect(step && step.kind === "backup-schedule" && [step.backupWhen, step.drillWhen]).toEqual(["off", "off"]);
        expect(plan.swarm!.watch).toBeUndefined();
        const warnings = config(values).warnings;
        expect(warnings).toEqual([
            expect.stringMatching(/^homeiq:backupSchedule and homeiq:backupDrillSchedule: the swarm manager \(homeiq:dockerHost\) is remote \(ssh:\/\/\.\.\.\).*run pulumi on the swarm manager/),
            expect.stringMatching(/^homeiq:watchEveryMinutes: the swarm manager \(homeiq:dockerHost\) is remote.*so no watch is set up/),
        ]);
    });
});

describe("scheduled backups and the watch on swarm: the program under mocks", () => {
    const overrides = { "homeiq:target": "swarm", "homeiq:swarmNodes": JSON.stringify(NODES) };
    const secrets = { "homeiq:backupCopyRepository": "/mnt/nas/restic", "homeiq:backupCopyPassphrase": "Zq7rT2mW9xK4pL8vN3bY6cH1dF5gJ0sA" };

    it("installs the backup job (through the swarm wrapper) and the drill against the data node's engine, after the stateful services", async () => {
        const result = await synthOf({ stack: "prod", overrides: { ...overrides, ...secrets }, secretOverrides: ["homeiq:backupCopyPassphrase"] });
        const commands = ofType(result, COMMAND);
        const backup = commands.find((c) => c.name === "homeiq-backup-schedule-backup")!;
        const drill = commands.find((c) => c.name === "homeiq-backup-schedule-drill")!;
        expect(backup.inputs.create).toBe("bash scripts/schedule/install.sh");
        expect(backup.inputs.delete).toBe("bash scripts/schedule/remove.sh");
        const env = backup.inputs.environment as Record<string, string>;
        expect(env).toMatchObject({
            DOCKER_HOST: "ssh://admin@nas",
            HOMEIQ_SWARM_MANAGER: MANAGER,
            HOMEIQ_SCHEDULE_COMMAND: "backup/scheduled.sh",
            HOMEIQ_SCHEDULE_WHEN: "daily 02:00",
            HOMEIQ_SCHEDULE_DIR: "~/homeiq-backups/prod/.schedule/backup",
            HOMEIQ_INFLUX_CONTAINER: "prod-influxdb",
            HOMEIQ_BACKUP_REASON: "scheduled",
            HOMEIQ_COPY_REPO: "/mnt/nas/restic",
            HOMEIQ_COPY_PASSWORD: "[secret]",
        });
        expect(env.HOMEIQ_SQLITE_DBS).toBe("data-api=prod-data-api:/app/data/metadata.db sports-data=prod-sports-data:/app/data/webhooks.db");
        expect(drill.inputs.environment as Record<string, string>).toMatchObject({ DOCKER_HOST: "ssh://admin@nas", HOMEIQ_SCHEDULE_COMMAND: "backup/drill.sh", HOMEIQ_SCHEDULE_WHEN: "monthly 1 03:00" });
        const stateful = ofType(result, SERVICE_TYPE).filter((s) => STATEFUL.some((k) => s.name === `homeiq-${k}`));
        expect(stateful).toHaveLength(STATEFUL.length);
        // After each stateful service has its limits (components/swarmLimits.ts: that Command waits for the service and restarts its task).
        const limits = ofType(result, "command:local:Command").filter((c) => stateful.some((s) => c.name === `${s.name}-limits`));
        expect(limits.map((c) => c.dependencies.filter((d) => stateful.some((s) => s.urn === d)))).toEqual(stateful.map((s) => [s.urn]));
        expect(backup.dependencies).toEqual(expect.arrayContaining(limits.map((c) => c.urn)));
        expect(JSON.stringify(env)).not.toContain(secrets["homeiq:backupCopyPassphrase"]);
    });

    it("installs the watch reading every service through the manager, the data node's volumes, and the dashboard at its URL; after every service", async () => {
        const result = await synthOf({ stack: "prod", overrides });
        const watch = ofType(result, COMMAND).find((c) => c.name === "homeiq-watch")!;
        expect(watch).toBeDefined();
        const env = watch.inputs.environment as Record<string, string>;
        const services = ofType(result, SERVICE_TYPE);
        expect(env).toMatchObject({
            DOCKER_HOST: MANAGER,
            HOMEIQ_SCHEDULE_COMMAND: "watch/watch.sh",
            HOMEIQ_SCHEDULE_WHEN: "every 5",
            HOMEIQ_WATCH_CONTAINERS: "",
            HOMEIQ_WATCH_SWARM_DATA_NODE: "nas",
            HOMEIQ_WATCH_SWARM_DATA_HOST: "ssh://admin@nas",
            HOMEIQ_WATCH_DISK_PATHS: "~/homeiq-backups",
            HOMEIQ_HA_TOKEN: "[secret]",
        });
        // Each node's engine (the manager's when the entry names none): a task's memory and CPU are read there.
        expect(env.HOMEIQ_WATCH_SWARM_NODES).toBe(`nas=ssh://admin@nas minipc=${MANAGER} tv=ssh://pi@tv`);
        expect(env.HOMEIQ_WATCH_SWARM_SERVICES.split(" ").sort()).toEqual(services.map((s) => s.inputs.name as string).sort());
        expect(env.HOMEIQ_WATCH_SWARM_VOLUME_MOUNTS.split(" ")).toEqual(["prod-influxdb:/var/lib/influxdb2", "prod-influxdb:/etc/influxdb2", "prod-data-api:/app/data", "prod-sports-data:/app/data"]);
        const port = planOf().services.find((s) => s.key === DASHBOARD)!.port.external;
        expect(env.HOMEIQ_WATCH_TARGETS).toMatch(new RegExp(`^${DASHBOARD}=\\w+:http://minipc:${port}/\\S*$`));
        expect(watch.dependencies).toEqual(expect.arrayContaining(services.map((s) => s.urn)));
        expect(watch.options.additionalSecretOutputs ?? []).toEqual(expect.arrayContaining(["stdout", "stderr"]));
    });
});

describe("the host target's watch is unchanged", () => {
    it("reads containers, not swarm services: no swarm variable in its environment", async () => {
        const env = ofType(await synthStack("prod"), COMMAND).find((c) => c.name === "homeiq-watch")!.inputs.environment as Record<string, string>;
        expect(Object.keys(env).filter((k) => k.startsWith("HOMEIQ_WATCH_SWARM_"))).toEqual([]);
        expect(env.HOMEIQ_WATCH_CONTAINERS.split(" ")).toContain("prod-influxdb");
    });
});

describe("npm run status on a swarm stack", () => {
    it("reads the swarm through the manager: a manager that does not answer is exit 3, naming it, not a refusal", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-swarm-status-"));
        try {
            fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
            const prod = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
            const socket = path.join(dir, "no-engine.sock");
            expect(prod).not.toMatch(/homeiq:dockerHost:/);
            fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), `${prod.trimEnd()}\n  homeiq:target: swarm\n  homeiq:dockerHost: unix://${socket}\n  homeiq:swarmNodes:\n    - nas=data\n    - minipc=apps\n`);
            const r = await statusCommand(["prod"], dir);
            expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 3, stdout: "" });
            expect(r.stderr).toContain(`status: the swarm manager at unix://${socket} does not answer`);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
