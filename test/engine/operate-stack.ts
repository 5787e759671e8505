/**
 * A small stand-in stack for the tests of `npm run status` and the watch (operate.test.ts): the prod
 * stack file, under the test stack `i19-operate`, with four services on (influxdb, data-api,
 * sports-data, enrichment-pipeline: no Docker API proxy, so fewer images), host ports in 43000-43999,
 * applied by engine/apply from the program's own specs. Its config is written INTO the stack file
 * (as a user's `pulumi config set` would), because the status reads the stack file, not overrides;
 * only the Home Assistant token, a secret, is a `secure:` value in the file and given to the apply.
 *
 * One change to the specs, for time: health checks every second with one retry (the program's 30 s
 * x 3 would take 90 s to call a stopped service unhealthy); nothing the status reads depends on it.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { ApplyError, applyStack, destroyStack, type ApplyResult, type ApplyState } from "../../engine/apply/applyStack";
import type { Props } from "../../engine/apply/liveResources";
import { docker, REPO_ROOT } from "./helpers";
import { engineMaxOpenFiles, STANDIN_CHECKOUT, STANDIN_INFLUXDB_IMAGE, TEST_HA_TOKEN } from "./stack-helpers";

export const OPERATE_STACK = "i19-operate";
export const OPERATE_PORTS = { influxdb: 43086, "data-api": 43006, "sports-data": 43005, "enrichment-pipeline": 43002 } as const;
export const OPERATE_DATA_API_MEMORY_MIB = 160;
const DISABLED = [
    "websocket-ingestion", "admin-api", "data-retention", "carbon-intensity", "electricity-pricing", "air-quality",
    "calendar", "smart-meter", "health-dashboard", "log-aggregator",
];

export interface OperateStack {
    readonly projectDir: string;
    readonly stackFile: string;
    readonly backupRoot: string;
    readonly result: ApplyResult;
    readonly container: (service: keyof typeof OPERATE_PORTS) => string;
    /** Rewrites config keys of the stack file (undefined removes one), runs `fn`, and puts the file back. */
    withConfig<T>(changes: Record<string, unknown>, fn: () => Promise<T>): Promise<T>;
    destroy(): Promise<void>;
}

function writeConfig(file: string, changes: Record<string, unknown>): void {
    const doc = parseDocument(fs.readFileSync(file, "utf8"));
    for (const [k, v] of Object.entries(changes)) {
        if (v === undefined) doc.deleteIn(["config", k]);
        else doc.setIn(["config", k], v);
    }
    fs.writeFileSync(file, doc.toString());
}

/** Removes what a failed earlier run of this file left (containers, networks, volumes labelled with the stack). */
export function removeOperateStack(): void {
    const label = `label=com.homeiq.stack=${OPERATE_STACK}`;
    const ids = (args: string[]): string[] => docker(args).stdout.split("\n").filter((l) => l.trim());
    const containers = ids(["ps", "-aq", "--filter", label]);
    if (containers.length) docker(["rm", "-f", ...containers]);
    const networks = ids(["network", "ls", "-q", "--filter", label]);
    if (networks.length) docker(["network", "rm", ...networks]);
    // By name too: a volume a container's mount created again after the stack's was removed has no label
    // (an interrupted run's backup container can leave one, with the old InfluxDB token in it).
    const named = ids(["volume", "ls", "-q", "--filter", `name=^${OPERATE_STACK}-`]);
    const volumes = [...new Set([...ids(["volume", "ls", "-q", "--filter", label]), ...named])];
    if (volumes.length) docker(["volume", "rm", "-f", ...volumes]);
}

const fastHealth = (type: string, _name: string, inputs: Props): Props =>
    type === "docker:index/container:Container" && inputs.healthcheck
        ? { ...inputs, healthcheck: { ...(inputs.healthcheck as Props), interval: "1s", timeout: "2s", retries: 1 } }
        : inputs;

/** The lock two runs of operate.test.ts take (its stack name and host ports are fixed, as the stack tests' are). */
export const OPERATE_LOCK = "/tmp/homeiq-i19-operate.lock";

/**
 * Holds OPERATE_LOCK until the returned function is called: a `flock` child that says when it has the
 * lock and keeps it while its stdin is open. A second run (another checkout's `npm test`) waits here.
 */
export function holdOperateLock(): Promise<() => void> {
    return new Promise((resolve, reject) => {
        const child = spawn("flock", ["-x", OPERATE_LOCK, "-c", "echo locked; cat >/dev/null"], { stdio: ["pipe", "pipe", "inherit"] });
        child.on("error", reject);
        child.stdout.on("data", (c: Buffer) => {
            if (c.toString().includes("locked")) resolve(() => child.stdin.end());
        });
    });
}

export async function applyOperateStack(log: (line: string) => void): Promise<OperateStack> {
    removeOperateStack();
    const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), `homeiq-${OPERATE_STACK}-`));
    const backupRoot = path.join(projectDir, "backups");
    fs.mkdirSync(backupRoot);
    fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(projectDir, "Pulumi.yaml"));
    const stackFile = path.join(projectDir, `Pulumi.${OPERATE_STACK}.yaml`);
    fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.prod.yaml"), stackFile);
    writeConfig(stackFile, {
        "homeiq:homeiqCheckoutPath": STANDIN_CHECKOUT,
        "homeiq:influxdbImage": STANDIN_INFLUXDB_IMAGE,
        "homeiq:backupRoot": backupRoot,
        "homeiq:maxOpenFiles": engineMaxOpenFiles(),
        "homeiq:dockerApiProxyBaseImage": undefined,
        "homeiq:dashboardBindAddress": undefined,
        "homeiq:disabledServices": DISABLED.map((s) => `${s}=not needed by the operate tests`),
        "homeiq:hostPorts": Object.entries(OPERATE_PORTS).map(([s, p]) => `${s}=${p}`),
        "homeiq:resourceOverrides": [`data-api:memoryMiB=${OPERATE_DATA_API_MEMORY_MIB}`, "data-api:memoryReservationMiB=64"],
        "homeiq:homeAssistantToken": { secure: "v1:not-decryptable-offline-i19" },
        // The watch's crontab line is installed by its own test, with a schedule folder of its own.
        "homeiq:watchEveryMinutes": 0,
    });
    let state: ApplyState | undefined;
    let result: ApplyResult;
    try {
        result = await applyStack(OPERATE_STACK, {
            projectDir,
            configOverrides: { "homeiq:homeAssistantToken": TEST_HA_TOKEN },
            secretOverrides: ["homeiq:homeAssistantToken"],
            transformInputs: fastHealth,
            log,
        });
        state = result.state;
    } catch (err) {
        if (err instanceof ApplyError) await destroyStack(err.state).catch(() => undefined);
        removeOperateStack();
        throw err;
    }
    const original = fs.readFileSync(stackFile, "utf8");
    return {
        projectDir,
        stackFile,
        backupRoot,
        result,
        container: (service) => `${OPERATE_STACK}-${service}`,
        async withConfig(changes, fn) {
            writeConfig(stackFile, changes);
            try {
                return await fn();
            } finally {
                fs.writeFileSync(stackFile, original);
            }
        },
        async destroy() {
            if (state) await destroyStack(state).catch(() => undefined);
            removeOperateStack();
            fs.rmSync(projectDir, { recursive: true, force: true });
        },
    };
}
