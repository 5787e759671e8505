/**
 * A swarm data node whose engine is `ssh://` (homeiq:swarmNodes `<node>=data@ssh://user@host`), reached
 * through a real OpenSSH server (test/engine/sshd.ts): two dedicated swarm engines (engine/swarm-nodes.sh;
 * node 1 the manager and apps node, reached on its socket; node 2 the data node), and an sshd whose
 * sessions' docker CLI talks to node 2's engine (as node 2's own sshd would, to its default socket).
 * The stateful services run on node 2 (hand-written stand-ins, named and placed as the program places
 * them: the program's own service specs are exercised by stack.swarm.test.ts). Proven, with the
 * environment the synthesized program gives its Commands for this stack (secrets filled in as Pulumi would):
 * - the on-demand backup (scripts/swarm/backup.sh) reaches InfluxDB's and data-api's tasks through ssh
 *   only, and what it wrote is byte for byte what the tasks hold;
 * - the restore through homeiq:restoreFrom (scripts/swarm/restore.sh) verifies, scales data-api to 0
 *   through the manager, waits for its task to be gone from node 2 (asked through ssh), and puts both
 *   databases back byte for byte, through ssh.
 */
import * as fs from "fs";
import * as path from "path";
import { dockerApi } from "../../engine/apply/dockerApi";
import type { DriverContext, Props } from "../../engine/apply/liveResources";
import { serviceDriver } from "../../engine/apply/swarmResources";
import { synthesize } from "../../synth/synthesize";
import { DIGEST_PY, IMAGES, influxChecksumOfBackup, REPO_ROOT, run, waitFor, type DbDigest, type RunResult } from "./helpers";
import { sqliteDigestOfFile, testOverrides, testProject, TEST_SECRET_KEYS } from "./stack-helpers";
import { startSshd, type SshServer } from "./sshd";
import { startSwarm, type Swarm, type SwarmNode } from "./swarm-nodes";
import type { ServiceKey } from "../../catalog/services";
import { SERVICE_KEYS } from "../../catalog/services";

const NAME = "i18g-ssh";
/** The data node's sshd (18g's port range). */
const SSH_PORT = 43253;
const TOKEN = "i18g-influx-token-swarm-ssh-5c2e";
const project = testProject("prod", NAME);
const STACK = project.stack;
const INFLUX = `${STACK}-influxdb`;
const DATA_API = `${STACK}-data-api`;
const DB = "/app/data/metadata.db";

let swarm: Swarm;
let n1: SwarmNode, n2: SwarmNode;
let sshd: SshServer;
let overrides: Record<string, string | undefined>;

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
    const secrets: Record<string, string> = { HOMEIQ_INFLUX_TOKEN: TOKEN };
    const env = Object.fromEntries(
        Object.entries(command.inputs.environment as Record<string, string>).map(([k, v]) => {
            if (v !== "[secret]") return [k, v];
            if (!(k in secrets)) throw new Error(`${name}: ${k} is a secret this test does not know`);
            return [k, secrets[k]!];
        }),
    );
    return { create: command.inputs.create as string, env };
}

/** A Command's create, as @pulumi/command runs it (in the checkout), on this machine whose `ssh` reaches the sshd. */
function runCommand(c: { create: string; env: Record<string, string> }): RunResult {
    const [bash, script] = c.create.split(" ");
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HOMEIQ_") && k !== "DOCKER_HOST")) as Record<string, string>;
    return run("sh", ["-c", `cd "${REPO_ROOT}" && exec ${bash} ${script}`], { env: { ...clean, ...c.env, ...sshd.env }, allowFail: true, timeoutMs: 240_000 });
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
    sshd = startSshd(NAME, SSH_PORT, n2.dockerHost);

    const keep: readonly ServiceKey[] = ["influxdb", "data-api"];
    const disabled = new Map(SERVICE_KEYS.filter((k) => !keep.includes(k)).map((k) => [k, "not needed by the swarm ssh test"] as [ServiceKey, string]));
    overrides = testOverrides(project, {
        "homeiq:target": "swarm",
        "homeiq:dockerHost": n1.dockerHost,
        // node 2's engine: through ssh only.
        "homeiq:swarmNodes": JSON.stringify([`${n1.hostname}=apps@${n1.dockerHost}`, `${n2.hostname}=data@${sshd.dockerHost}`]),
        "homeiq:swarmSubnet": "10.244.70.0/24",
        "homeiq:backupSchedule": "off",
        "homeiq:backupDrillSchedule": "off",
        // Only the disabled services read these.
        "homeiq:dashboardBindAddress": undefined,
        "homeiq:dockerApiProxyBaseImage": undefined,
    }, disabled);

    // The stand-ins under the names of the images the program builds for data-api (its restore helper too).
    const images = JSON.parse((await commandOf("homeiq-pre-change-backup")).env.HOMEIQ_IMAGES_JSON!) as Record<string, string>;
    on(n2, ["tag", IMAGES.python, images["data-api"]!]);
    on(n2, ["tag", IMAGES.python, images["data-api"]!.replace(/:local$/, "-non-root:local")]);
    // data-api's volume as the real image leaves it (its /app/data owned by the service user).
    on(n2, ["volume", "create", `${STACK}-sqlite-data`]);
    on(n2, ["run", "--rm", "-v", `${STACK}-sqlite-data:/d`, IMAGES.busybox, "chown", "1001:1001", "/d"]);
    const ctx: DriverContext = { api: dockerApi(n1.dockerHost), dockerHost: n1.dockerHost, cwd: REPO_ROOT, log: () => undefined };
    await Promise.all([
        serviceDriver.create(ctx, "influxdb", service(INFLUX, {
            image: IMAGES.influxStandin,
            env: {
                DOCKER_INFLUXDB_INIT_MODE: "setup",
                DOCKER_INFLUXDB_INIT_USERNAME: "admin",
                DOCKER_INFLUXDB_INIT_PASSWORD: "i18g-influx-password",
                DOCKER_INFLUXDB_INIT_ORG: "homeiq",
                DOCKER_INFLUXDB_INIT_BUCKET: "home_assistant_events",
                DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: TOKEN,
            },
            mounts: [
                { type: "volume", source: `${STACK}-influxdb-data`, target: "/var/lib/influxdb2" },
                { type: "volume", source: `${STACK}-influxdb-config`, target: "/etc/influxdb2" },
            ],
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
}, 300_000);

afterAll(() => {
    sshd?.stop();
    swarm?.down();
    fs.rmSync(project.projectDir, { recursive: true, force: true });
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
