/**
 * Helpers for the engine acceptance test of whole stacks (stack-acceptance.ts): a throwaway copy of a
 * stack's files under a test stack name (so nothing of a real `dev` or `prod` on this engine is
 * touched), the config that points the program at the stand-in HomeIQ checkout, and small probes
 * (HTTP, TCP, inspect) of the running containers.
 */
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { ALL_SERVICES, DOCKER_API_PROXY, type ServiceKey } from "../../catalog/services";
import { isSecretKey } from "../../config/keys";
import type { ApplyResult } from "../../engine/apply/applyStack";
import type { SynthResource } from "../../synth/synthesize";
import { DIGEST_PY, docker, IMAGES, pythonWithFiles, REPO_ROOT, type DbDigest } from "./helpers";

/** The stand-in HomeIQ checkout that the program's Image inputs build from (engine/README.md). */
export const STANDIN_CHECKOUT = path.join(REPO_ROOT, "engine", "stack-standins", "homeiq-checkout");
/** A STAND-IN for influxdb:2.7 (not InfluxDB), given to the program as `homeiq:influxdbImage`. */
export const STANDIN_INFLUXDB_IMAGE = IMAGES.influxStandin;
/**
 * The Debian bookworm minbase the stand-ins are built on, given to the program as
 * `homeiq:dockerApiProxyBaseImage` in place of debian:bookworm-slim (nothing can be pulled here): the
 * proxy's Dockerfile installs Debian's real nginx into it from the Debian mirror.
 */
export const STANDIN_DEBIAN_IMAGE = "homeiq-standin/debian:stack";
/** Every name a test stack creates starts with this, and cleanup touches nothing else. */
export const TEST_STACK_PREFIX = "itest-";

export interface TestProject {
    /** The test stack's name, e.g. itest-prod: every container, volume and network name starts with it. */
    readonly stack: string;
    readonly projectDir: string;
    readonly backupRoot: string;
}

/** Pulumi.yaml plus a copy of Pulumi.<base>.yaml as Pulumi.itest-<name>.yaml, in a fresh folder. */
export function testProject(base: string, name: string = base): TestProject {
    const stack = `${TEST_STACK_PREFIX}${name}`;
    const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), `homeiq-${stack}-`));
    fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(projectDir, "Pulumi.yaml"));
    fs.copyFileSync(path.join(REPO_ROOT, `Pulumi.${base}.yaml`), path.join(projectDir, `Pulumi.${stack}.yaml`));
    const backupRoot = path.join(projectDir, "backups");
    fs.mkdirSync(backupRoot);
    return { stack, projectDir, backupRoot };
}

/** A token that is obviously a test value and long enough for every rule. */
export const TEST_HA_TOKEN = "itest-home-assistant-token-0123456789abcdef";

let engineOpenFiles: string | undefined;
/**
 * homeiq:maxOpenFiles for this engine: the hard open-files limit its containers get by default (its
 * own). The build machines' dockerd runs with 20000 and without CAP_SYS_RESOURCE, so it cannot give
 * InfluxDB the catalog's 65536 ("error setting rlimit type 7: operation not permitted"); a home
 * server's engine can.
 */
export function engineMaxOpenFiles(): string {
    engineOpenFiles ??= docker(["run", "--rm", "--network", "none", "--entrypoint", "sh", IMAGES.busybox, "-c", "ulimit -Hn"]).stdout.trim();
    if (!/^\d+$/.test(engineOpenFiles)) throw new Error(`could not read the engine's open-files limit: ${JSON.stringify(engineOpenFiles)}`);
    return String(Math.min(Number(engineOpenFiles), 1048576));
}

/**
 * Test values for the keys HomeIQ's code needs to start some services (the catalog's requiredConfig),
 * for the services not in `disabled`. The committed stack files disable those services; a test stack
 * turns them on with these, so every service runs.
 */
export function testCredentials(disabled: readonly ServiceKey[] = []): Record<string, string> {
    const out: Record<string, string> = {};
    for (const s of ALL_SERVICES) {
        if (disabled.includes(s.key)) continue;
        for (const key of s.requiredConfig?.keys ?? []) out[`homeiq:${key}`] = `itest-${key}-0123456789abcdef`;
    }
    return out;
}

/** The config keys a test stack passes as secrets: the Home Assistant token and every test credential that is a secret. */
export const TEST_SECRET_KEYS: readonly string[] = ["homeiq:homeAssistantToken", ...Object.keys(testCredentials()).filter((k) => isSecretKey(k.slice("homeiq:".length)))];

/**
 * The config a test stack runs with: its stack file's, pointed at the stand-ins, with every service
 * turned on (and given its test credentials) unless `disabled` names it.
 */
export function testOverrides(
    p: TestProject,
    extra: Record<string, string | undefined> = {},
    disabled: ReadonlyMap<ServiceKey, string> = new Map(),
): Record<string, string | undefined> {
    return {
        "homeiq:homeiqCheckoutPath": STANDIN_CHECKOUT,
        "homeiq:influxdbImage": STANDIN_INFLUXDB_IMAGE,
        "homeiq:backupRoot": p.backupRoot,
        "homeiq:homeAssistantToken": TEST_HA_TOKEN,
        "homeiq:maxOpenFiles": engineMaxOpenFiles(),
        "homeiq:dockerApiProxyBaseImage": STANDIN_DEBIAN_IMAGE,
        "homeiq:disabledServices": JSON.stringify([...disabled].map(([k, why]) => `${k}=${why}`)),
        // No watch: its crontab line would be the test machine user's, shared by every test that runs at
        // the same time (test/engine/operate.test.ts installs one on purpose, under its own name).
        "homeiq:watchEveryMinutes": "0",
        ...testCredentials([...disabled.keys()]),
        ...extra,
    };
}

/** Removes every container, network and volume labelled with a test stack (never anything else). */
export function removeTestStack(stack: string): void {
    if (!stack.startsWith(TEST_STACK_PREFIX)) throw new Error(`refusing to remove stack ${stack}: not a test stack`);
    const label = `label=com.homeiq.stack=${stack}`;
    const ids = (args: string[]): string[] => docker(args).stdout.split("\n").filter((l) => l.trim().length > 0);
    const containers = ids(["ps", "-aq", "--filter", label]);
    if (containers.length) docker(["rm", "-f", ...containers]);
    const networks = ids(["network", "ls", "-q", "--filter", label]);
    if (networks.length) docker(["network", "rm", ...networks]);
    const volumes = ids(["volume", "ls", "-q", "--filter", label]);
    if (volumes.length) docker(["volume", "rm", "-f", ...volumes]);
}

export interface ContainerInspect {
    readonly Id: string;
    readonly Name: string;
    readonly State: {
        readonly Status: string;
        readonly Running: boolean;
        readonly StartedAt: string;
        readonly Health?: { readonly Status: string; readonly Log?: Array<{ Start: string; End: string; ExitCode: number }> };
    };
    readonly Config: { readonly User: string; readonly Labels: Record<string, string> };
    readonly HostConfig: {
        readonly ReadonlyRootfs: boolean;
        readonly CapDrop: string[] | null;
        readonly CapAdd: string[] | null;
        readonly GroupAdd: string[] | null;
        readonly NanoCpus: number;
        readonly Memory: number;
        readonly SecurityOpt: string[] | null;
    };
    readonly NetworkSettings: { readonly Networks: Record<string, { Aliases: string[] | null }> };
}

export function inspect(container: string): ContainerInspect {
    return (JSON.parse(docker(["inspect", container]).stdout) as ContainerInspect[])[0];
}

export interface HttpAnswer {
    readonly status: number;
    readonly body: string;
}

export function httpGet(url: string, timeoutMs = 5000): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { timeout: timeoutMs }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
        req.on("error", reject);
    });
}

export function httpPost(url: string, timeoutMs = 5000): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method: "POST", timeout: timeoutMs }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        });
        req.on("timeout", () => req.destroy(new Error(`POST ${url}: no answer within ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end();
    });
}

/** Whether a TCP connection to host:port is accepted within the timeout. */
export function tcpConnects(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host, port });
        const done = (ok: boolean): void => {
            socket.destroy();
            resolve(ok);
        };
        socket.setTimeout(timeoutMs, () => done(false));
        socket.on("connect", () => done(true));
        socket.on("error", () => done(false));
    });
}

/** An IPv4 address of this machine that is not loopback (what another machine on the network would connect to). */
export function nonLoopbackAddress(): string {
    for (const [name, addresses] of Object.entries(os.networkInterfaces())) {
        // Docker's own bridges and veths are not the network other machines reach.
        if (/^(docker|br-|veth)/.test(name)) continue;
        for (const a of addresses ?? []) {
            if (a.family === "IPv4" && !a.internal) return a.address;
        }
    }
    throw new Error("this machine has no non-loopback IPv4 address to test exposure from");
}

// ---- reading an applied stack -------------------------------------------------------------------

const CONTAINER_TYPE = "docker:index/container:Container";

export interface PublishedPort {
    readonly internal: number;
    readonly external: number;
    readonly ip: string;
}

/** Every container of the stack: the catalog services' and the Docker API proxy's. */
export const containersOf = (r: ApplyResult): SynthResource[] => r.synth.resources.filter((x) => x.type === CONTAINER_TYPE);
export const serviceOf = (c: SynthResource): string => (c.inputs.labels as Array<{ label: string; value: string }>).find((l) => l.label === "com.homeiq.service")!.value;
/** The catalog services' containers: every container but the Docker API proxy's (which is no HomeIQ service). */
export const serviceContainersOf = (r: ApplyResult): SynthResource[] => containersOf(r).filter((c) => serviceOf(c) !== DOCKER_API_PROXY.key);
export const nameOf = (c: SynthResource): string => String(c.inputs.name);
export const portOf = (c: SynthResource): PublishedPort => (c.inputs.ports as PublishedPort[])[0];

/** Row counts and row hashes of a SQLite file inside a running container, read through Python's sqlite3. */
export function sqliteDigestIn(container: string, file: string): DbDigest {
    return JSON.parse(docker(["exec", container, "python3", "-c", DIGEST_PY, file]).stdout) as DbDigest;
}

/** The same digest of a SQLite file on this machine (read in the python stand-in). */
export function sqliteDigestOfFile(hostFile: string): DbDigest {
    return JSON.parse(pythonWithFiles({ "db.sqlite": hostFile }, DIGEST_PY, ["/tmp/db.sqlite"])) as DbDigest;
}

/** The InfluxDB stand-in's checksum of its data (`influx standin-checksum`). */
export function influxChecksumIn(container: string): string {
    return docker(["exec", container, "influx", "standin-checksum"]).stdout.trim();
}

