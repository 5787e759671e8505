/**
 * The watch between deploys as the program registers it: one Command that installs the schedule
 * (scripts/schedule/install.sh) on `up` and removes it (remove.sh) on `destroy`, with the watch's
 * settings from config and the Home Assistant token as a secret; none where it could not run.
 */
import { parseStackConfig } from "../../config/schema";
import { resolvePlatform } from "../../plan/resolve";
import { COMMAND, ofType, synthOf, synthStack } from "./helpers";
import { requiredValuesWithout } from "./synthCases";

const planOf = (values: Record<string, unknown>) => {
    const r = parseStackConfig({ ...requiredValuesWithout(), profile: "prod", homeiqCheckoutPath: "/opt/homeiq", homeAssistantUrl: "http://192.168.1.5:8123", ...values });
    if (!r.ok) throw new Error(r.problems.map((p) => `${p.key}: ${p.problem}`).join("; "));
    return resolvePlatform("prod", r.config);
};

describe("the watch", () => {
    it("prod: installs scripts/watch/watch.sh every 5 minutes from the user's crontab on up, removes it on destroy", async () => {
        const result = await synthStack("prod");
        const watch = ofType(result, COMMAND).find((c) => c.name === "homeiq-watch")!;
        expect({ create: watch.inputs.create, update: watch.inputs.update, delete: watch.inputs.delete }).toEqual({
            create: "bash scripts/schedule/install.sh",
            update: "bash scripts/schedule/install.sh",
            delete: "bash scripts/schedule/remove.sh",
        });
        const env = watch.inputs.environment as Record<string, string>;
        expect(env).toMatchObject({
            DOCKER_HOST: "unix:///var/run/docker.sock",
            HOMEIQ_SCHEDULE_DIR: "~/homeiq-backups/prod/.schedule/watch",
            HOMEIQ_SCHEDULE_JOB: "watch",
            HOMEIQ_SCHEDULE_STACK: "prod",
            HOMEIQ_SCHEDULE_WHEN: "every 5",
            HOMEIQ_SCHEDULE_COMMAND: "watch/watch.sh",
            HOMEIQ_WATCH_STACK: "prod",
            HOMEIQ_WATCH_STATE_FILE: "~/homeiq-backups/prod/.schedule/watch/watch.state",
            HOMEIQ_WATCH_DOWN_MINUTES: "5",
            HOMEIQ_WATCH_CRITERION_MINUTES: "30",
            HOMEIQ_WATCH_DISK_PERCENT: "90",
            HOMEIQ_WATCH_DISK_PATHS: "~/homeiq-backups",
            HOMEIQ_WATCH_MAX_LATENCY_MS: "100",
            HOMEIQ_WATCH_MEMORY_PERCENT: "70",
            HOMEIQ_WATCH_CPU_PERCENT: "50",
            HOMEIQ_HA_URL: "http://homeassistant.local:8123",
            HOMEIQ_HA_TOKEN: "[secret]",
        });
        expect(env.HOMEIQ_WATCH_CONTAINERS.split(" ")).toEqual(expect.arrayContaining(["prod-influxdb", "prod-data-api", "prod-docker-api-proxy"]));
        expect(env.HOMEIQ_WATCH_TARGETS.split(" ")).toContain("data-api=http200:http://127.0.0.1:8006/health");
        // Created after every container (so destroy removes it first) and after the gates.
        const containers = result.resources.filter((r) => r.type === "docker:index/container:Container").map((r) => r.urn);
        expect(watch.dependencies).toEqual(expect.arrayContaining(containers));
        expect(watch.options.additionalSecretOutputs ?? []).toEqual(expect.arrayContaining(["stdout", "stderr"]));
    });

    it("takes its times and threshold from config", () => {
        const w = planOf({ watchEveryMinutes: "15", watchDownMinutes: "2", watchCriterionMinutes: "60", watchDiskPercent: "80", backupRoot: "/srv/homeiq-backups" }).watch!;
        expect({ every: w.everyMinutes, down: w.downMinutes, criterion: w.criterionMinutes, disk: w.diskPercent, paths: w.diskPaths }).toEqual({
            every: 15, down: 2, criterion: 60, disk: 80, paths: ["/srv/homeiq-backups"],
        });
    });

    it("is absent with watchEveryMinutes 0, and with an engine that is not on this machine (the schedule runs here)", () => {
        expect(planOf({ watchEveryMinutes: "0" }).watch).toBeUndefined();
        expect(planOf({ dockerHost: "ssh://deploy@server.lan", postDeployValidation: "false" }).watch).toBeUndefined();
        expect(planOf({}).watch).toBeDefined();
    });

    it("sends to the notify webhook too when the stack sets one, as a secret; without it, Home Assistant alone", async () => {
        const webhook = "https://ntfy.example/homeiq-private-topic";
        const result = await synthOf({ stack: "prod", overrides: { "homeiq:notifyWebhookUrl": webhook }, secretOverrides: ["homeiq:notifyWebhookUrl"] });
        const env = ofType(result, COMMAND).find((c) => c.name === "homeiq-watch")!.inputs.environment as Record<string, string>;
        expect(env.HOMEIQ_NOTIFY_WEBHOOK_URL).toBe("[secret]");
        expect(JSON.stringify(env)).not.toContain("homeiq-private-topic");
        const plain = ofType(await synthStack("prod"), COMMAND).find((c) => c.name === "homeiq-watch")!.inputs.environment as Record<string, string>;
        expect(plain).not.toHaveProperty("HOMEIQ_NOTIFY_WEBHOOK_URL");
    });

    it("says on every run that a remote engine leaves the watch off, naming the key and how to silence it", () => {
        const parsed = (values: Record<string, string>) => {
            const r = parseStackConfig({ ...requiredValuesWithout(), profile: "prod", homeiqCheckoutPath: "/opt/homeiq", homeAssistantUrl: "http://192.168.1.5:8123", postDeployValidation: "false", ...values });
            if (!r.ok) throw new Error(r.problems.map((p) => `${p.key}: ${p.problem}`).join("; "));
            return r.config.warnings.filter((w) => w.startsWith("homeiq:watchEveryMinutes"));
        };
        expect(parsed({ dockerHost: "ssh://deploy@server.lan" })).toEqual([expect.stringContaining("so no watch is set up")]);
        expect(parsed({ dockerHost: "ssh://deploy@server.lan" })[0]).toContain("set it to 0 to silence this");
        expect(parsed({ dockerHost: "ssh://deploy@server.lan", watchEveryMinutes: "0" })).toEqual([]);
        expect(parsed({})).toEqual([]);
    });

    it("refuses a bad value naming the key and what it takes", () => {
        const r = parseStackConfig({ ...requiredValuesWithout(), profile: "prod", homeiqCheckoutPath: "/opt/homeiq", homeAssistantUrl: "http://192.168.1.5:8123", watchDiskPercent: "120" });
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.problems.map((p) => [p.key, p.allowed])).toEqual([["homeiq:watchDiskPercent", "a whole number from 1 to 100"]]);
    });
});
