/** Backups and restore are Command resources wired to run at the right moments of a deployment. */
import type { SynthResult } from "../../synth/synthesize";
import { COMMAND, configErrorOf, containersByService, ofType, synthOf, synthStack } from "./helpers";
import { parseStackConfig } from "../../config/schema";
import { ERRORS, requiredValuesWithout, RESTORE_FOLDER, TRIGGER_CASES, VARIANTS } from "./synthCases";

const STATEFUL = ["data-api", "influxdb", "sports-data"];

function command(result: SynthResult, name: string) {
    return ofType(result, COMMAND).find((c) => c.name === name);
}

describe.each(["dev", "prod"])("stack %s", (stack) => {
    it("backs up before any stateful container can be replaced: they, and only they, depend on the pre-change backup", async () => {
        const result = await synthStack(stack);
        const backup = command(result, "homeiq-pre-change-backup")!;
        // Relative to the project, the same from every checkout (commandInputs.test.ts).
        expect(backup.inputs.create).toBe("bash scripts/backup/backup.sh");
        const dependents = [...containersByService(result)].filter(([, c]) => c.dependencies.includes(backup.urn)).map(([s]) => s).sort();
        expect(dependents).toEqual(STATEFUL);
        // Its trigger follows the stateful containers' specs and images; it is a secret digest (the env holds secrets).
        expect(backup.inputs.triggers).toEqual(["[secret]"]);
    });

    it("takes a final backup in the delete of a command that depends on the stateful containers", async () => {
        const result = await synthStack(stack);
        const final = command(result, "homeiq-final-backup")!;
        expect(final.inputs.create).toBeUndefined();
        expect(final.inputs.delete).toBe("bash scripts/backup/backup.sh");
        const byService = containersByService(result);
        for (const s of STATEFUL) expect(final.dependencies).toContain(byService.get(s)!.urn);
    });

    it("passes the InfluxDB token only through the environment, as a secret", async () => {
        const result = await synthStack(stack);
        // The Commands that talk to InfluxDB, and so get its token, written out: the loop below checks them.
        const withToken = ofType(result, COMMAND).filter((c) => "HOMEIQ_INFLUX_TOKEN" in (c.inputs.environment as object)).map((c) => c.name).sort();
        expect(withToken).toEqual(["homeiq-backup-schedule-backup", "homeiq-backup-schedule-drill", "homeiq-final-backup", "homeiq-influxdb-retention", "homeiq-pre-change-backup"]);
        for (const c of ofType(result, COMMAND)) {
            const env = c.inputs.environment as Record<string, string>;
            if ("HOMEIQ_INFLUX_TOKEN" in env) expect(env.HOMEIQ_INFLUX_TOKEN).toBe("[secret]");
            for (const field of ["create", "update", "delete"]) {
                expect(String(c.inputs[field] ?? "")).not.toMatch(/TOKEN|PASSWORD|\[secret\]/);
            }
        }
        const env = command(result, "homeiq-pre-change-backup")!.inputs.environment as Record<string, string>;
        expect(env.HOMEIQ_SQLITE_DBS).toBe(`data-api=${stack}-data-api:/app/data/metadata.db sports-data=${stack}-sports-data:/app/data/webhooks.db`);
        expect(env.HOMEIQ_INFLUX_CONTAINER).toBe(`${stack}-influxdb`);
        expect(JSON.parse(env.HOMEIQ_STACK_CONFIG_JSON).profile).toBe(stack);
    });

    it("lets only the pre-change backup find nothing (a first deploy); the final backup fails loudly instead", async () => {
        const result = await synthStack(stack);
        const ifNothing = (name: string) => (command(result, name)!.inputs.environment as Record<string, string>).HOMEIQ_BACKUP_IF_NOTHING;
        expect(ifNothing("homeiq-pre-change-backup")).toBe("skip");
        expect(ifNothing("homeiq-final-backup")).toBe("fail");
    });

    it("has no on-demand backup or restore unless config asks", async () => {
        const result = await synthStack(stack);
        expect(command(result, "homeiq-on-demand-backup")).toBeUndefined();
        expect(command(result, "homeiq-restore")).toBeUndefined();
    });
});

describe("the scheduled backup and drill (scripts/schedule on the Docker host)", () => {
    it("are set up by create and removed by delete, after the stateful containers, daily 02:00 and monthly by default", async () => {
        const result = await synthStack("prod");
        const backup = command(result, "homeiq-backup-schedule-backup")!;
        const drill = command(result, "homeiq-backup-schedule-drill")!;
        for (const c of [backup, drill]) {
            expect(c.inputs.create).toBe("bash scripts/schedule/install.sh");
            expect(c.inputs.delete).toBe("bash scripts/schedule/remove.sh");
        }
        const env = (c: typeof backup) => c.inputs.environment as Record<string, string>;
        expect(env(backup)).toMatchObject({
            HOMEIQ_SCHEDULE_JOB: "backup",
            HOMEIQ_SCHEDULE_WHEN: "daily 02:00",
            HOMEIQ_SCHEDULE_COMMAND: "backup/scheduled.sh",
            HOMEIQ_SCHEDULE_DIR: "~/homeiq-backups/prod/.schedule/backup",
            HOMEIQ_BACKUP_REASON: "scheduled",
            HOMEIQ_BACKUP_IF_NOTHING: "fail",
            HOMEIQ_BACKUP_KEEP_DAYS: "30",
            HOMEIQ_COPY_REPO: "",
            HOMEIQ_HA_TOKEN: "[secret]",
            HOMEIQ_INFLUX_TOKEN: "[secret]",
        });
        expect(env(drill)).toMatchObject({ HOMEIQ_SCHEDULE_JOB: "drill", HOMEIQ_SCHEDULE_WHEN: "monthly 1 03:00", HOMEIQ_SCHEDULE_COMMAND: "backup/drill.sh" });
        const byService = containersByService(result);
        for (const s of STATEFUL) expect(backup.dependencies).toContain(byService.get(s)!.urn);
        expect(drill.dependencies).toContain(backup.urn);
    });

    it("carry the copy target, its passphrase and the webhook as secrets, and the configured times", async () => {
        const result = await synthOf(VARIANTS.prodBackupCopy);
        const env = (name: string) => command(result, name)!.inputs.environment as Record<string, string>;
        expect(env("homeiq-backup-schedule-backup")).toMatchObject({
            HOMEIQ_SCHEDULE_WHEN: "daily 03:30",
            HOMEIQ_BACKUP_KEEP_DAYS: "90",
            HOMEIQ_COPY_REPO: "sftp:homeiq@nas.lan:/volume1/homeiq-restic",
            HOMEIQ_COPY_PASSWORD: "[secret]",
            HOMEIQ_NOTIFY_WEBHOOK_URL: "[secret]",
        });
        expect(env("homeiq-backup-schedule-drill").HOMEIQ_SCHEDULE_WHEN).toBe("off");
        expect(JSON.stringify(result)).not.toContain("i17-unit-copy-passphrase-0123");
        expect(JSON.stringify(result)).not.toContain("i17-unit-topic");
    });

    it("refuse a copy target without its passphrase, and a passphrase without a target, naming the keys", () => {
        const base = { ...requiredValuesWithout(), profile: "prod" };
        const noPass = parseStackConfig({ ...base, backupCopyRepository: "/mnt/nas/restic" });
        expect(noPass.ok ? [] : noPass.problems.map((p) => [p.key, p.problem, p.fix])).toEqual([
            ["homeiq:backupCopyPassphrase", "is required when backupCopyRepository is set (restic encrypts the copies with it)", "pulumi config set --secret homeiq:backupCopyPassphrase"],
        ]);
        const noRepo = parseStackConfig({ ...base, backupCopyPassphrase: "a-long-passphrase-0123" });
        expect(noRepo.ok ? [] : noRepo.problems.map((p) => [p.key, p.value, p.problem])).toEqual([
            ["homeiq:backupCopyPassphrase", "[secret]", "is set, but backupCopyRepository is not: it would be silently ignored"],
        ]);
    });

    it("are off with a remote engine (the crontab is on the machine that runs pulumi), and the run says so", async () => {
        const result = await synthOf(VARIANTS.prodRemoteEngine);
        for (const name of ["homeiq-backup-schedule-backup", "homeiq-backup-schedule-drill"]) {
            expect((command(result, name)!.inputs.environment as Record<string, string>).HOMEIQ_SCHEDULE_WHEN).toBe("off");
        }
        const parsed = parseStackConfig({ ...requiredValuesWithout(), profile: "prod", dockerHost: "ssh://deploy@server.lan:2222", postDeployValidation: "false" });
        expect(parsed.ok && parsed.config.warnings.join("\n")).toContain("the Docker engine is remote (ssh://...), and scheduled jobs run from the crontab of the machine that runs pulumi");
        const silenced = parseStackConfig({ ...requiredValuesWithout(), profile: "prod", dockerHost: "ssh://deploy@server.lan:2222", postDeployValidation: "false", backupSchedule: "off", backupDrillSchedule: "off", watchEveryMinutes: "0" });
        expect(silenced.ok && silenced.config.warnings).toEqual([]);
    });
});

it("takes an on-demand backup when homeiq:backupRequest is raised, after the stateful containers are up", async () => {
    const result = await synthOf(VARIANTS.prodBackupRequest);
    const onDemand = command(result, "homeiq-on-demand-backup")!;
    expect(onDemand.inputs.triggers).toEqual([3]);
    expect((onDemand.inputs.environment as Record<string, string>).HOMEIQ_BACKUP_REASON).toBe("on-demand");
    expect((onDemand.inputs.environment as Record<string, string>).HOMEIQ_BACKUP_IF_NOTHING).toBe("fail");
    expect(onDemand.dependencies).toContain(containersByService(result).get("influxdb")!.urn);
});

describe("restore", () => {
    const folder = RESTORE_FOLDER;
    let result: SynthResult;
    beforeAll(async () => {
        result = await synthOf(VARIANTS.prodRestore);
    });

    it("runs once per folder named: the folder is its trigger and an update never reruns it", () => {
        const restore = command(result, "homeiq-restore")!;
        expect(restore.inputs.triggers).toEqual([folder]);
        expect(restore.inputs.create).toBe("bash scripts/backup/restore-stack.sh");
        expect(String(restore.inputs.update)).not.toMatch(/\.sh/);
        expect(String(restore.inputs.update)).toMatch(/^echo /);
    });

    it("runs after InfluxDB is up and the current data is backed up, before the SQLite services start", () => {
        const byService = containersByService(result);
        const restore = command(result, "homeiq-restore")!;
        expect(restore.dependencies).toContain(byService.get("influxdb")!.urn);
        expect(restore.dependencies).toContain(command(result, "homeiq-pre-change-backup")!.urn);
        for (const s of ["data-api", "sports-data"]) expect(byService.get(s)!.dependencies).toContain(restore.urn);
    });

    it("writes the databases into their volumes owned by the services' non-root user", () => {
        const env = command(result, "homeiq-restore")!.inputs.environment as Record<string, string>;
        expect(env.HOMEIQ_SQLITE_RESTORES).toBe("data-api=prod-sqlite-data:metadata.db:1001:1001 sports-data=prod-sports-data:webhooks.db:1001:1001");
        expect(env.HOMEIQ_STOP_CONTAINERS).toBe("prod-data-api prod-sports-data");
    });

    it("refuses an unfinished (.partial) backup folder in config", async () => {
        const { error, registered } = await configErrorOf(ERRORS.partialRestore);
        expect(registered).toBe(0);
        expect(error.message).toContain("names an unfinished (.partial) backup");
    });
});

it("hands root-owned SQLite volumes to uid 1001 once, before data-api and sports-data start (prod only)", async () => {
    const prod = await synthStack("prod");
    const handover = command(prod, "homeiq-volume-handover")!;
    expect((handover.inputs.environment as Record<string, string>).HOMEIQ_CHOWN_VOLUMES).toBe("prod-sqlite-data=1001:1001 prod-sports-data=1001:1001");
    for (const s of ["data-api", "sports-data"]) expect(containersByService(prod).get(s)!.dependencies).toContain(handover.urn);
    expect(command(await synthStack("dev"), "homeiq-volume-handover")).toBeUndefined();
});

describe("InfluxDB bucket retention", () => {
    it("is applied to the running InfluxDB by a Command that reruns when the setting changes", async () => {
        const result = await synthOf(VARIANTS.prodRetention365);
        const retention = command(result, "homeiq-influxdb-retention")!;
        expect(retention.inputs.create).toBe("bash scripts/influxdb/set-retention.sh");
        expect(retention.inputs.triggers).toEqual(["365d", ""]);
        const env = retention.inputs.environment as Record<string, string>;
        expect(env).toEqual(
            expect.objectContaining({
                HOMEIQ_INFLUX_CONTAINER: "prod-influxdb",
                HOMEIQ_INFLUX_TOKEN: "[secret]",
                HOMEIQ_INFLUX_ORG: "homeiq",
                HOMEIQ_INFLUX_BUCKET: "home_assistant_events",
                HOMEIQ_INFLUX_RETENTION: "365d",
            }),
        );
        expect(retention.dependencies).toContain(containersByService(result).get("influxdb")!.urn);
    });

    it("keeps data forever when set to 0, and runs after a restore", async () => {
        const folder = RESTORE_FOLDER;
        const result = await synthOf(VARIANTS.prodRestore);
        const retention = command(result, "homeiq-influxdb-retention")!;
        expect((retention.inputs.environment as Record<string, string>).HOMEIQ_INFLUX_RETENTION).toBe("0s");
        expect(retention.inputs.triggers).toEqual(["0s", folder]);
        expect(retention.dependencies).toContain(command(result, "homeiq-restore")!.urn);
    });
});

describe("the pre-change backup's trigger is a digest of what the stateful containers get", () => {
    const trigger = async (c: (typeof TRIGGER_CASES)[keyof typeof TRIGGER_CASES]) => command(await synthOf(c), "homeiq-pre-change-backup")!.inputs.triggers as string[];

    it("is visible (not a secret) when no stateful container has a secret in its environment", async () => {
        expect(await trigger(TRIGGER_CASES.base)).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
    });

    it("changes when a stateful container's spec changes, and before each restore", async () => {
        const base = await trigger(TRIGGER_CASES.base);
        expect(await trigger(TRIGGER_CASES.statefulChanged)).not.toEqual(base);
        expect(await trigger(TRIGGER_CASES.restoring)).not.toEqual(base);
    });

    it("stays the same when only another container or a backup setting changes (no backup for nothing)", async () => {
        const base = await trigger(TRIGGER_CASES.base);
        expect(await trigger(TRIGGER_CASES.otherChanged)).toEqual(base);
        expect(await trigger(TRIGGER_CASES.settingChanged)).toEqual(base);
    });
});
