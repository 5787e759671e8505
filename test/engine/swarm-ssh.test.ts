/**
 * A swarm data node whose engine is `ssh://` (homeiq:swarmNodes `<node>=data@ssh://user@host`), reached
 * through a real OpenSSH server (test/engine/sshd.ts): two dedicated swarm engines (engine/swarm-nodes.sh;
 * node 1 the manager and apps node, reached on its socket; node 2 the data node), and an sshd whose
 * sessions' docker CLI talks to node 2's engine (as node 2's own sshd would, to its default socket).
 * The stateful services run on node 2 (hand-written stand-ins, named and placed as the program places
 * them: the program's own service specs are exercised by stack.swarm.test.ts). Proven, with the
 * environment the synthesized program gives its Commands for this stack (secrets filled in as Pulumi would):
 * - the preflight reads node 2's no-new-privileges through ssh; the volume hand-over chowns data-api's volume
 *   on node 2 through ssh; the retention step sets InfluxDB's bucket retention in its task through ssh;
 * - the on-demand backup (scripts/swarm/backup.sh) reaches InfluxDB's and data-api's tasks through ssh
 *   only, and what it wrote is byte for byte what the tasks hold;
 * - the restore through homeiq:restoreFrom (scripts/swarm/restore.sh) verifies, scales data-api to 0
 *   through the manager, waits for its task to be gone from node 2 (asked through ssh), and puts both
 *   databases back byte for byte, through ssh;
 * - the backup schedule's job (installed by scripts/schedule/install.sh, run by tick.sh) backs up through ssh;
 *   a login that works only through an ssh-agent (cron has none) is refused at install, for the backup job
 *   and for the watch job;
 * - the watch measures node 2's volumes' disk through ssh, and says so when node 2's engine does not answer.
 * The InfluxDB token never appears in an ssh command line (sshd's record of every session's command).
 */
import * as fs from "fs";
import * as path from "path";
import { dockerApi } from "../../engine/apply/dockerApi";
import type { DriverContext, Props } from "../../engine/apply/liveResources";
import { serviceDriver } from "../../engine/apply/swarmResources";
import { synthesize } from "../../synth/synthesize";
import { DIGEST_PY, IMAGES, influxChecksumOfBackup, REPO_ROOT, run, waitFor, type DbDigest, type RunResult } from "./helpers";
import { crontab, ensureCron, runRepoScript, tickIdle } from "./notify-helpers";
import { sqliteDigestOfFile, testOverrides, testProject, TEST_HA_TOKEN, TEST_SECRET_KEYS } from "./stack-helpers";
import { startSshd, type SshServer } from "./sshd";
import { influxStandinTaskSpec, startSwarm, type Swarm, type SwarmNode } from "./swarm-nodes";
import type { ServiceKey } from "../../catalog/services";
import { SERVICE_KEYS } from "../../catalog/services";

const NAME = "i18g-ssh";
/** The data node's sshd (18g's port range). */
const SSH_PORT = 43253;
/** An sshd whose client key is only in an ssh-agent. */
const AGENT_SSH_PORT = 43254;
const TOKEN = "i18g-influx-token-swarm-ssh-5c2e";
const project = testProject("prod", NAME);
const STACK = project.stack;
const INFLUX = `${STACK}-influxdb`;
const DATA_API = `${STACK}-data-api`;
const DB = "/app/data/metadata.db";

let swarm: Swarm;
let n1: SwarmNode, n2: SwarmNode;
let sshd: SshServer;
const installed: string[] = [];
let overrides: Record<string, string | undefined>;
/** What the deploy-time steps printed, and the sessions the sshd had before the backup. */
const setup = { preflight: "", handover: "", retention: "", sessions: 0 };

const on = (node: SwarmNode, args: string[]) => swarm.docker(node, args).stdout.trim();

/** The environment of one of the synthesized program's Commands, "[secret]" values filled in as Pulumi would. */
async function commandOf(name: string, extra: Record<string, string> = {}): Promise<{ create: string; env: Record<string, string> }> {
    const result = await synthesize(STACK, {
        projectDir: project.projectDir,
        configOverrides: { ...overrides, ...extra },
        secretOverrides: TEST_SECRET_KEYS,
        verifyCheckout: false,
        checkOtherStacks: false,
    });
    const command = result.resources.find((r) => r.type === "command:local:Command" && r.name === name);
    if (!command) throw new Error(`the program registers no ${name}`);
    const secrets: Record<string, string> = { HOMEIQ_INFLUX_TOKEN: TOKEN, HOMEIQ_HA_TOKEN: TEST_HA_TOKEN };
    const env = Object.fromEntries(
        Object.entries(command.inputs.environment as Record<string, string>).map(([k, v]) => {
            if (v !== "[secret]") return [k, v];
            if (!(k in secrets)) throw new Error(`${name}: ${k} is a secret this test does not know`);
            return [k, secrets[k]!];
        }),
    );
    return { create: command.inputs.create as string, env };
}

/**
 * A Command's create, as @pulumi/command runs it (in the checkout), on this machine whose `ssh` reaches the
 * sshd with its client options (`client`: another server's). Without an ssh agent, as from cron.
 */
function runCommand(c: { create: string; env: Record<string, string> }, client: SshServer = sshd): RunResult {
    const [bash, script] = c.create.split(" ");
    // Only the Command's environment of HOMEIQ_* and DOCKER_HOST (run() merges over process.env: `env -u` drops what it inherits).
    const inherited = Object.keys(process.env).filter((k) => (k.startsWith("HOMEIQ_") || k === "DOCKER_HOST" || k === "SSH_AUTH_SOCK") && !(k in c.env));
    return run("env", [...inherited.flatMap((k) => ["-u", k]), "sh", "-c", `cd "${REPO_ROOT}" && exec ${bash} ${script}`], {
        env: { ...c.env, PATH: client.env.PATH },
        allowFail: true,
        timeoutMs: 240_000,
    });
}

/** A service as components/swarmPlatform.ts writes one: one replica, dnsrr, pinned to node 2, a 1 s health check. */
function service(name: string, containerSpec: Props & { image: string }): Props {
    return {
        name,
        taskSpec: {
            containerSpec: { stopGracePeriod: "2s", ...containerSpec },
            restartPolicy: { condition: "any", delay: "1s", maxAttempts: 0, window: "0s" },
            placement: { constraints: [`node.hostname==${n2.hostname}`], maxReplicas: 1 },
        },
        mode: { replicated: { replicas: 1 } },
        endpointSpec: { mode: "dnsrr" },
        convergeConfig: { delay: "1s", timeout: "90s" },
    };
}
const health = (cmd: string) => ({ tests: ["CMD-SHELL", cmd], interval: "1s", timeout: "3s", startPeriod: "0s", retries: 1 });

/** The running container of a service's task on node 2 ("" while none runs). */
const taskOn2 = (svc: string) => on(n2, ["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${svc}`, "--filter", "status=running"]).split("\n")[0]!;
const dbDigest = (): DbDigest => JSON.parse(on(n2, ["exec", taskOn2(DATA_API), "python3", "-c", DIGEST_PY, DB])) as DbDigest;
const influxChecksum = (): string => on(n2, ["exec", taskOn2(INFLUX), "influx", "standin-checksum"]);
const addRows = (rows: number): void => {
    const code = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], timeout=30)\nc.executemany('INSERT INTO events (payload) VALUES (randomblob(300))', [()] * int(sys.argv[2]))\nc.commit()\n";
    on(n2, ["exec", taskOn2(DATA_API), "python3", "-c", code, DB, String(rows)]);
};
const writeInflux = (lines: string): void => {
    on(n2, ["exec", "-e", `INFLUX_TOKEN=${TOKEN}`, taskOn2(INFLUX), "sh", "-c", 'printf "%s" "$1" | influx write -b home_assistant_events', "sh", lines]);
};

beforeAll(async () => {
    swarm = startSwarm(NAME, 2, "10.242.70", [IMAGES.busybox]);
    [n1, n2] = swarm.nodes as [SwarmNode, SwarmNode];
    swarm.load(n2, [IMAGES.python, IMAGES.influxStandin]);
    sshd = startSshd(NAME, SSH_PORT, { remoteDockerHost: n2.dockerHost });

    const keep: readonly ServiceKey[] = ["influxdb", "data-api"];
    const disabled = new Map(SERVICE_KEYS.filter((k) => !keep.includes(k)).map((k) => [k, "not needed by the swarm ssh test"] as [ServiceKey, string]));
    overrides = testOverrides(project, {
        "homeiq:target": "swarm",
        "homeiq:dockerHost": n1.dockerHost,
        // node 2's engine: through ssh only.
        "homeiq:swarmNodes": JSON.stringify([`${n1.hostname}=apps@${n1.dockerHost}`, `${n2.hostname}=data@${sshd.dockerHost}`]),
        "homeiq:swarmSubnet": "10.244.70.0/24",
        // Monthly: cron never runs it in the minute it is installed; the test makes it due.
        "homeiq:backupSchedule": "monthly 1 03:00",
        "homeiq:backupDrillSchedule": "off",
        // A closed port: a late run's notice fails at once, without a name lookup.
        "homeiq:homeAssistantUrl": "http://127.0.0.1:9",
        "homeiq:influxdbRetentionDays": "400",
        // Only the disabled services read these.
        "homeiq:dashboardBindAddress": undefined,
        "homeiq:dockerApiProxyBaseImage": undefined,
    }, disabled);

    // The stand-ins under the names of the images the program builds for data-api (its restore helper too).
    const images = JSON.parse((await commandOf("homeiq-pre-change-backup")).env.HOMEIQ_IMAGES_JSON!) as Record<string, string>;
    on(n2, ["tag", IMAGES.python, images["data-api"]!]);
    on(n2, ["tag", IMAGES.python, images["data-api"]!.replace(/:local$/, "-non-root:local")]);
    // The deploy-time steps before the services, as the program orders them: the preflight (through the
    // manager, each node's daemon options on its own engine), then the hand-over of the SQLite volume on node 2.
    const step = async (name: string): Promise<string> => {
        const r = runCommand(await commandOf(name));
        if (r.code !== 0) throw new Error(`${name} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
        return r.stdout;
    };
    setup.preflight = await step("homeiq-swarm-preflight");
    on(n2, ["volume", "create", `${STACK}-sqlite-data`]);
    setup.handover = await step("homeiq-volume-handover");
    const ctx: DriverContext = { api: dockerApi(n1.dockerHost), dockerHost: n1.dockerHost, cwd: REPO_ROOT, log: () => undefined };
    await Promise.all([
        serviceDriver.create(ctx, "influxdb", service(INFLUX, {
            ...influxStandinTaskSpec(STACK, TOKEN, "i18g-influx-password"),
            healthcheck: health("influx ping"),
        })),
        serviceDriver.create(ctx, "data-api", service(DATA_API, {
            image: IMAGES.python,
            user: "1001:1001",
            readOnly: true,
            mounts: [{ type: "volume", source: `${STACK}-sqlite-data`, target: "/app/data" }],
            commands: [
                "python3",
                "-c",
                "import sqlite3,http.server\n" +
                    `db=sqlite3.connect('${DB}'); db.execute('pragma journal_mode=wal')\n` +
                    "db.execute('create table if not exists events(id integer primary key, payload blob)'); db.commit(); db.close()\n" +
                    "http.server.HTTPServer(('',8000),http.server.SimpleHTTPRequestHandler).serve_forever()",
            ],
            healthcheck: health("python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/')\""),
        })),
    ]);
    addRows(500);
    writeInflux(Array.from({ length: 300 }, (_, i) => `ha,e=t${i % 7} v=${i} ${1700000000 + i}`).join("\n") + "\n");
    setup.retention = runCommand(await commandOf("homeiq-influxdb-retention")).stdout;
    setup.sessions = sshd.sessions().length;
}, 300_000);

afterAll(() => {
    for (const dir of installed) runRepoScript("schedule/remove.sh", { HOMEIQ_SCHEDULE_DIR: dir });
    sshd?.stop();
    swarm?.down();
    fs.rmSync(project.projectDir, { recursive: true, force: true });
});

test("the deploy-time steps reach node 2 through ssh: the preflight reads its daemon's options, the hand-over chowns its volume, the retention is set in InfluxDB's task", () => {
    expect(setup.preflight).toContain("swarm ready: 2 nodes");
    // data-api's volume on node 2 as the hand-over left it: the service user's.
    expect(on(n2, ["run", "--rm", "-v", `${STACK}-sqlite-data:/d`, IMAGES.busybox, "stat", "-c", "%u:%g", "/d"])).toBe("1001:1001");
    expect(setup.retention).toContain("wanted 400d (9600h0m0s)");
    const bucket = on(n2, ["exec", "-e", `INFLUX_TOKEN=${TOKEN}`, taskOn2(INFLUX), "influx", "bucket", "list", "--org", "homeiq", "--name", "home_assistant_events", "--hide-headers"]);
    expect(bucket).toMatch(/9600h0m0s/);
    // Each reached node 2 through the sshd (the preflight once, for its docker info), never with the token in a command line.
    const sessions = sshd.sessions().slice(0, setup.sessions);
    expect(sessions.length).toBeGreaterThanOrEqual(3);
    expect(sessions.filter((x) => x.command !== "docker system dial-stdio")).toEqual([]);
    expect(sshd.logins()).toBeGreaterThanOrEqual(setup.sessions);
});

test("the on-demand backup and a restore through homeiq:restoreFrom reach the data node's tasks through ssh only, byte for byte", async () => {
    // The program's on-demand backup: node 2's engine through ssh, the manager on its socket.
    const backup = await commandOf("homeiq-on-demand-backup", { "homeiq:backupRequest": "1" });
    expect({ create: backup.create, DOCKER_HOST: backup.env.DOCKER_HOST, HOMEIQ_SWARM_MANAGER: backup.env.HOMEIQ_SWARM_MANAGER, dbs: backup.env.HOMEIQ_SQLITE_DBS }).toEqual({
        create: "bash scripts/swarm/backup.sh",
        DOCKER_HOST: sshd.dockerHost,
        HOMEIQ_SWARM_MANAGER: n1.dockerHost,
        dbs: `data-api=${DATA_API}:${DB}`,
    });
    const before = { db: dbDigest(), influx: influxChecksum() };
    expect(before.db.tables.events!.rows).toBe(500);
    const b = runCommand(backup);
    expect({ code: b.code, stderr: b.stderr }).toEqual({ code: 0, stderr: "" });
    const folder = /^HOMEIQ_BACKUP_DIR=(.+)$/m.exec(b.stdout)![1]!;
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, "manifest.json"), "utf8"));
    expect({ influx: manifest.influxdb.status, sqlite: manifest.sqlite.map((e: { service: string; status: string }) => [e.service, e.status]) }).toEqual({
        influx: "backed-up",
        sqlite: [["data-api", "backed-up"]],
    });
    const db = sqliteDigestOfFile(path.join(folder, "sqlite", "data-api", "metadata.db"));
    expect({ integrity: db.integrity, tables: db.tables }).toEqual({ integrity: "ok", tables: before.db.tables });
    expect(influxChecksumOfBackup(path.join(folder, "influxdb"))).toBe(before.influx);
    // Every call to node 2 was a session of the sshd: the docker CLI's API over `docker system dial-stdio`.
    const afterBackup = sshd.sessions();
    expect(afterBackup.length).toBeGreaterThan(0);
    expect(afterBackup.filter((x) => x.command !== "docker system dial-stdio")).toEqual([]);
    expect(sshd.logins()).toBe(afterBackup.length);

    // Written after the backup: what the restore must take back.
    addRows(40);
    writeInflux("ha,e=late v=1 1700009999\n");
    expect(dbDigest().tables.events!.rows).toBe(540);
    expect(influxChecksum()).not.toBe(before.influx);

    const restore = await commandOf("homeiq-restore", { "homeiq:restoreFrom": folder });
    expect({ create: restore.create, DOCKER_HOST: restore.env.DOCKER_HOST, HOMEIQ_SWARM_MANAGER: restore.env.HOMEIQ_SWARM_MANAGER, stop: restore.env.HOMEIQ_STOP_SERVICES }).toEqual({
        create: "bash scripts/swarm/restore.sh",
        DOCKER_HOST: sshd.dockerHost,
        HOMEIQ_SWARM_MANAGER: n1.dockerHost,
        stop: DATA_API,
    });
    const r = runCommand(restore);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain(`scaling ${DATA_API} to 0`);
    expect(sshd.sessions().length).toBeGreaterThan(afterBackup.length);
    expect(sshd.sessions().filter((x) => x.command !== "docker system dial-stdio")).toEqual([]);
    // InfluxDB restored in its running task; data-api comes back as the program's update brings it (one replica).
    expect(influxChecksum()).toBe(before.influx);
    on(n1, ["service", "scale", "--detach", `${DATA_API}=1`]);
    waitFor(`${DATA_API}'s task running again on ${n2.hostname}`, () => taskOn2(DATA_API) !== "", { timeoutMs: 60_000, intervalMs: 250 });
    const restored = dbDigest();
    expect({ integrity: restored.integrity, tables: restored.tables }).toEqual({ integrity: "ok", tables: before.db.tables });
}, 300_000);

test("the scheduled backup reaches the data node through ssh from its crontab job; a login that needs the ssh agent is refused at install, as cron has none", async () => {
    ensureCron();
    const job = await commandOf("homeiq-backup-schedule-backup");
    expect({ create: job.create, DOCKER_HOST: job.env.DOCKER_HOST, HOMEIQ_SWARM_MANAGER: job.env.HOMEIQ_SWARM_MANAGER, command: job.env.HOMEIQ_SCHEDULE_COMMAND }).toEqual({
        create: "bash scripts/schedule/install.sh",
        DOCKER_HOST: sshd.dockerHost,
        HOMEIQ_SWARM_MANAGER: n1.dockerHost,
        command: "backup/scheduled.sh",
    });
    const dir = job.env.HOMEIQ_SCHEDULE_DIR!;

    // The same data node behind an sshd whose key is only in this session's ssh-agent: the docker CLI gets in
    // (as `pulumi up` does from a desktop session), but cron would not, so install.sh refuses, changing nothing.
    const agentOnly = startSshd(`${NAME}-agent`, AGENT_SSH_PORT, { remoteDockerHost: n2.dockerHost, keyInAgent: true });
    try {
        const viaAgent = run("docker", ["-H", agentOnly.dockerHost, "info", "--format", "{{.Name}}"], { env: agentOnly.env, allowFail: true });
        expect({ code: viaAgent.code, name: viaAgent.stdout.trim() }).toEqual({ code: 0, name: n2.hostname });
        const refused = runRepoScript("schedule/install.sh", { ...job.env, DOCKER_HOST: agentOnly.dockerHost, ...agentOnly.env, TZ: "UTC" });
        expect(refused.code).toBe(3);
        expect(refused.stderr).toContain(`the backup job reaches the engine ${agentOnly.dockerHost} through ssh from cron, which has no ssh agent and no terminal, and that way the engine does not answer: `);
        expect(refused.stderr).toContain("Permission denied (publickey)");
        expect(refused.stderr).toContain("nothing was changed");
        expect(fs.existsSync(dir)).toBe(false);
        expect(crontab()).not.toContain(dir);
        // The watch's job too: from the manager's socket, it reads the data node's engine through that login.
        const watchDir = path.join(project.projectDir, "watch-schedule");
        const watch = runRepoScript("schedule/install.sh", {
            HOMEIQ_SCHEDULE_DIR: watchDir, HOMEIQ_SCHEDULE_JOB: "watch", HOMEIQ_SCHEDULE_STACK: STACK, HOMEIQ_SCHEDULE_WHEN: "every 5", HOMEIQ_SCHEDULE_COMMAND: "watch/watch.sh",
            DOCKER_HOST: n1.dockerHost, HOMEIQ_WATCH_SWARM_DATA_HOST: agentOnly.dockerHost, HOMEIQ_WATCH_SWARM_NODES: `${n1.hostname}=${n1.dockerHost} ${n2.hostname}=${agentOnly.dockerHost}`,
            ...agentOnly.env, TZ: "UTC",
        });
        expect({ code: watch.code, stderr: watch.stderr }).toEqual({ code: 3, stderr: expect.stringContaining(`the watch job reaches the engine ${agentOnly.dockerHost} through ssh from cron`) });
        expect(fs.existsSync(watchDir)).toBe(false);
    } finally {
        agentOnly.stop();
    }

    // Through the sshd with the key on disk (as ~/.ssh/config names it): installed, then a run made due.
    const sessionsBefore = sshd.sessions().length;
    const taken = runRepoScript("schedule/install.sh", { ...job.env, ...sshd.env, TZ: "UTC" });
    expect({ code: taken.code, stderr: taken.stderr }).toEqual({ code: 0, stderr: "" });
    installed.push(dir);
    expect(fs.readFileSync(path.join(dir, "env"), "utf8")).toContain(`export DOCKER_HOST=${sshd.dockerHost}`);
    expect(crontab()).toContain(`# homeiq-schedule ${dir}`);
    const lastRun = runDue(dir, "the scheduled backup");
    const runLog = fs.readFileSync(lastRun.log, "utf8");
    expect({ result: lastRun.result, log: lastRun.result === "ok" ? "" : runLog }).toEqual({ result: "ok", log: "" });
    const folder = /^HOMEIQ_BACKUP_DIR=(.+)$/m.exec(runLog)![1]!;
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, "manifest.json"), "utf8"));
    expect({ reason: manifest.reason, influx: manifest.influxdb.status, sqlite: manifest.sqlite.map((e: { status: string }) => e.status) }).toEqual({ reason: "scheduled", influx: "backed-up", sqlite: ["backed-up"] });
    const db = sqliteDigestOfFile(path.join(folder, "sqlite", "data-api", "metadata.db"));
    expect({ integrity: db.integrity, tables: db.tables }).toEqual({ integrity: "ok", tables: dbDigest().tables });
    // The install's check and the job both went through the sshd.
    const sessions = sshd.sessions().slice(sessionsBefore);
    expect(sessions.length).toBeGreaterThan(1);
    expect(sessions.filter((x) => x.command !== "docker system dial-stdio")).toEqual([]);
    expect(runRepoScript("schedule/remove.sh", { HOMEIQ_SCHEDULE_DIR: dir }).code).toBe(0);
    expect(crontab()).not.toContain(dir);

    // No secret travelled in an ssh command line: every command sshd ran, none with the token.
    expect(sshd.sessions().filter((x) => x.command.includes(TOKEN))).toEqual([]);
}, 300_000);

/** Makes the installed job in `dir` due (as after a missed month) and runs its tick; its run's record once the tick is done. */
function runDue(dir: string, what: string): { result: string; log: string } {
    fs.writeFileSync(path.join(dir, "state"), "last_slot=0\nlast_failure=0\n");
    runRepoScript("schedule/tick.sh", { HOMEIQ_SCHEDULE_DIR: dir, TZ: "UTC" });
    // cron may have taken that tick first (one at a time: tick.lock): the run's record either way, once its tick is done.
    return waitFor(`${what}'s run`, () => {
        const f = path.join(dir, "last-run.json");
        return fs.existsSync(f) && tickIdle(dir) ? (JSON.parse(fs.readFileSync(f, "utf8")) as { result: string; log: string }) : undefined;
    }, { timeoutMs: 180_000, intervalMs: 250 });
}

test("the watch reads node 2 through ssh (its volumes' disk, measured in InfluxDB's task there); a node engine that does not answer is a problem of its own, not a silent gap", async () => {
    const watch = await commandOf("homeiq-watch", { "homeiq:watchEveryMinutes": "1440", "homeiq:watchDownMinutes": "0", "homeiq:watchDiskPercent": "1" });
    expect({ DOCKER_HOST: watch.env.DOCKER_HOST, data: watch.env.HOMEIQ_WATCH_SWARM_DATA_HOST, command: watch.env.HOMEIQ_SCHEDULE_COMMAND }).toEqual({
        DOCKER_HOST: n1.dockerHost,
        data: sshd.dockerHost,
        command: "watch/watch.sh",
    });
    /** One run of the watch job (scripts/watch/watch.sh, as tick.sh runs it) with its own state file. */
    const once = (tag: string, env: Record<string, string>, client: SshServer = sshd): string => {
        const r = runCommand({ create: "bash scripts/watch/watch.sh", env: { ...watch.env, HOMEIQ_WATCH_STATE_FILE: path.join(project.projectDir, `watch-${tag}.state`), ...env } }, client);
        return r.stdout + r.stderr;
    };
    const before = sshd.sessions().length;
    const good = once("good", {});
    expect(good).toMatch(new RegExp(`the filesystem of the volumes on ${n2.hostname} is \\d+ % full \\(measured at /var/lib/influxdb2 in ${INFLUX};`));
    expect(good).not.toContain("does not answer");
    expect(sshd.sessions().length).toBeGreaterThan(before);

    // Node 2 behind a login that fails: a key only in an agent, and the watch runs without one (as from cron).
    const agentOnly = startSshd(`${NAME}-agent`, AGENT_SSH_PORT, { remoteDockerHost: n2.dockerHost, keyInAgent: true });
    try {
        const nodes = watch.env.HOMEIQ_WATCH_SWARM_NODES!.replace(sshd.dockerHost, agentOnly.dockerHost);
        const bad = once("bad", { HOMEIQ_WATCH_SWARM_DATA_HOST: agentOnly.dockerHost, HOMEIQ_WATCH_SWARM_NODES: nodes }, agentOnly);
        // (The notices themselves go to a closed port here: "could not be delivered", kept for the next run.)
        expect(bad).toMatch(new RegExp(`the Docker engine of node ${n2.hostname} at ${agentOnly.dockerHost.replace(/[.]/g, "\\.")} does not answer: .*Permission denied \\(publickey\\)`));
        expect(bad).toMatch(/: 2 problem\(s\) now, /);
        expect(bad).not.toContain(`the filesystem of the volumes on ${n2.hostname}`);
    } finally {
        agentOnly.stop();
    }
}, 120_000);
