/**
 * The swarm target on three nodes on one machine (engine/swarm-nodes.sh: three dockerds in three network
 * namespaces joined by a bridge, node 1 the manager, every daemon with --no-new-privileges; the shared
 * engine never enters swarm mode). Services are created through engine/apply's Service driver with the
 * inputs the program writes for swarm (components/swarmPlatform.ts: dnsrr endpoints, host-mode ports,
 * placement by hostname for stateful services and by role label for the rest). Proven here:
 * - the preflight refuses a swarm that cannot run the stack and labels the nodes with their roles;
 * - placement: InfluxDB and the SQLite service on the data node, the web service on an apps node;
 * - cross-node traffic over the overlay (a task on node 1 reaches InfluxDB on node 2 by name);
 * - the published port answers on the node that runs it (host mode);
 * - hardening on the running tasks;
 * - backup (scripts/swarm/backup.sh) of the stateful services on node 2, run from this machine through
 *   node 2's engine, and restore (scripts/swarm/restore.sh) that scales the SQLite service to 0 through the
 *   manager and brings back both databases byte for byte.
 * Needs no IPVS: nothing here uses a VIP or the ingress routing mesh (those cannot work on this kernel).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { dockerApi } from "../../engine/apply/dockerApi";
import { DRIVERS, type DriverContext, type Props } from "../../engine/apply/liveResources";
import { serviceDriver } from "../../engine/apply/swarmResources";
import { backupDirOf, IMAGES, REPO_ROOT, run, sha256File } from "./helpers";
import { startSwarm, type Swarm, type SwarmNode } from "./swarm-nodes";

const NAME = "i18-sw3";
const TOKEN = "i18-swarm-influx-token-7c2e";
let swarm: Swarm;
let ctx: DriverContext;
let networkId = "";
let n1: SwarmNode, n2: SwarmNode, n3: SwarmNode;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "i18-sw3-"));

const nodesEnv = (): string => `${n1.hostname}=apps@${n1.dockerHost} ${n2.hostname}=data@${n2.dockerHost} ${n3.hostname}=apps@${n3.dockerHost}`;
const preflight = (env: Record<string, string>) =>
    run("bash", [path.join(REPO_ROOT, "scripts/swarm/preflight.sh")], {
        env: { DOCKER_HOST: n1.dockerHost, HOMEIQ_SWARM_MIN_ENGINE: "25", HOMEIQ_SWARM_REQUIRE_NNP: "1", ...env },
        allowFail: true,
        timeoutMs: 60_000,
    });

/** A service as components/swarmPlatform.ts writes one: one replica, dnsrr, stop-first, rollback, health-gated. */
function service(name: string, constraint: string, containerSpec: Props, extra: Props = {}): Props {
    return {
        name,
        taskSpec: {
            containerSpec: { stopGracePeriod: "5s", ...containerSpec },
            restartPolicy: { condition: "any", delay: "5s", maxAttempts: 0, window: "0s" },
            placement: { constraints: [constraint], maxReplicas: 1 },
            networksAdvanceds: [{ id: networkId, aliases: [name.replace(/^i18-/, "")] }],
        },
        mode: { replicated: { replicas: 1 } },
        updateConfig: { parallelism: 1, order: "stop-first", failureAction: "rollback", monitor: "5s", delay: "0s" },
        endpointSpec: { mode: "dnsrr" },
        convergeConfig: { delay: "1s", timeout: "60s" },
        ...extra,
    };
}
const health = (cmd: string) => ({ tests: ["CMD-SHELL", cmd], interval: "1s", timeout: "3s", startPeriod: "0s", retries: 3 });

const SQLITE_SVC = "i18-sqlite";
const INFLUX_SVC = "i18-influx";
const sqliteSpec = (): Props =>
    service(SQLITE_SVC, "node.hostname==" + n2.hostname, {
        image: IMAGES.python,
        user: "1001:1001",
        readOnly: true,
        capDrops: ["ALL"],
        mounts: [
            { type: "volume", source: "i18-sw3-sqlite", target: "/app/data" },
            { type: "tmpfs", target: "/tmp", tmpfsOptions: { sizeBytes: 8388608, mode: 0o1777 } },
        ],
        commands: [
            "python3",
            "-c",
            "import sqlite3,http.server\n" +
                "db=sqlite3.connect('/app/data/metadata.db'); db.execute('create table if not exists events(n integer)')\n" +
                "db.execute('insert into events values (1)') if not db.execute('select count(*) from events').fetchone()[0] else None; db.commit(); db.close()\n" +
                "http.server.HTTPServer(('',8000),http.server.SimpleHTTPRequestHandler).serve_forever()",
        ],
        healthcheck: health("python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/')\""),
    });

const onNode = (node: SwarmNode, args: string[]) => swarm.docker(node, args).stdout.trim();
const containerOn = (node: SwarmNode, svc: string): string => onNode(node, ["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${svc}`]).split("\n")[0];
const nodeOf = (svc: string): string => onNode(n1, ["service", "ps", svc, "--filter", "desired-state=running", "--format", "{{.Node}}"]);
const sqliteRows = (): string => onNode(n2, ["exec", containerOn(n2, SQLITE_SVC), "python3", "-c", "import sqlite3; print(sqlite3.connect('/app/data/metadata.db').execute('select count(*) from events').fetchone()[0])"]);
const influxChecksum = (): string => onNode(n2, ["exec", containerOn(n2, INFLUX_SVC), "influx", "standin-checksum"]);
const volumeFileSha = (volume: string, file: string): string =>
    onNode(n2, ["run", "--rm", "-v", `${volume}:/d:ro`, IMAGES.busybox, "sha256sum", `/d/${file}`]).split(" ")[0];

beforeAll(async () => {
    swarm = startSwarm(NAME, 3, "10.242.12", [IMAGES.busybox]);
    [n1, n2, n3] = swarm.nodes;
    // The stateful images only where the stateful tasks run.
    swarm.load(n2, [IMAGES.python, IMAGES.influxStandin]);
    ctx = { api: dockerApi(n1.dockerHost), dockerHost: n1.dockerHost, cwd: REPO_ROOT, log: () => undefined };
}, 240_000);
afterAll(() => {
    swarm?.down();
    fs.rmSync(tmp, { recursive: true, force: true });
});

test("the preflight refuses a swarm that cannot run the stack, then labels each node with its roles", () => {
    const missing = preflight({ HOMEIQ_SWARM_NODES: `${nodesEnv()} i18-nas=data@${n2.dockerHost}` });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("node i18-nas (homeiq:swarmNodes) is not in the swarm");
    expect(onNode(n1, ["node", "inspect", n3.hostname, "--format", "{{json .Spec.Labels}}"])).toBe("{}");

    const ok = preflight({ HOMEIQ_SWARM_NODES: nodesEnv() });
    expect(ok.stderr).toBe("");
    expect(ok.stdout.trim()).toBe("swarm ready: 3 nodes");
    expect(JSON.parse(onNode(n1, ["node", "inspect", n2.hostname, "--format", "{{json .Spec.Labels}}"]))).toEqual({ "homeiq.role.data": "true" });
    expect(JSON.parse(onNode(n1, ["node", "inspect", n3.hostname, "--format", "{{json .Spec.Labels}}"]))).toEqual({ "homeiq.role.apps": "true" });
});

test("placement, cross-node overlay traffic, host-mode publishing and hardening on the tasks", async () => {
    const net = await DRIVERS["docker:index/network:Network"].create(ctx, "overlay", {
        name: "i18-sw3-overlay",
        driver: "overlay",
        attachable: true,
        ipamConfigs: [{ subnet: "10.244.12.0/24" }],
    });
    networkId = net.id;
    // The SQLite volume as a first deploy finds it from the real image (its /app/data owned by the service user);
    // the stand-in image has no /app/data, so a task-created volume would be root's.
    onNode(n2, ["volume", "create", "i18-sw3-sqlite"]);
    onNode(n2, ["run", "--rm", "-v", "i18-sw3-sqlite:/d", IMAGES.busybox, "chown", "1001:1001", "/d"]);
    expect(onNode(n1, ["network", "inspect", net.id, "--format", "{{.Driver}} {{.Attachable}} {{(index .IPAM.Config 0).Subnet}}"])).toBe("overlay true 10.244.12.0/24");

    await Promise.all([
        serviceDriver.create(
            ctx,
            "influx",
            service(INFLUX_SVC, "node.hostname==" + n2.hostname, {
                image: IMAGES.influxStandin,
                env: {
                    DOCKER_INFLUXDB_INIT_MODE: "setup",
                    DOCKER_INFLUXDB_INIT_USERNAME: "admin",
                    DOCKER_INFLUXDB_INIT_PASSWORD: "i18-influx-password",
                    DOCKER_INFLUXDB_INIT_ORG: "homeiq",
                    DOCKER_INFLUXDB_INIT_BUCKET: "home_assistant_events",
                    DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: TOKEN,
                },
                mounts: [{ type: "volume", source: "i18-sw3-influx", target: "/var/lib/influxdb2" }],
                healthcheck: health("influx ping"),
            }),
        ),
        serviceDriver.create(ctx, "sqlite", sqliteSpec()),
        serviceDriver.create(
            ctx,
            "web",
            service(
                "i18-web",
                "node.labels.homeiq.role.apps==true",
                {
                    image: IMAGES.busybox,
                    user: "1001:1001",
                    readOnly: true,
                    capDrops: ["ALL"],
                    mounts: [{ type: "tmpfs", target: "/www", tmpfsOptions: { sizeBytes: 1048576, mode: 0o1777 } }],
                    commands: ["sh", "-c", "echo web-on-$(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"],
                    healthcheck: health("wget -q -O- http://127.0.0.1:8080/ >/dev/null"),
                },
                { endpointSpec: { mode: "dnsrr", ports: [{ targetPort: 8080, publishedPort: 42080, publishMode: "host", protocol: "tcp" }] } },
            ),
        ),
    ]);
    expect(nodeOf(INFLUX_SVC)).toBe(n2.hostname);
    expect(nodeOf(SQLITE_SVC)).toBe(n2.hostname);
    const webNode = nodeOf("i18-web");
    expect([n1.hostname, n3.hostname]).toContain(webNode);

    // Node 1 (no stateful task) reaches InfluxDB on node 2 by its alias over the overlay (VXLAN).
    const client = swarm.docker(n1, ["run", "--rm", "--network", "i18-sw3-overlay", IMAGES.busybox, "wget", "-q", "-O-", "http://influx:8086/health"], true);
    expect(client.stdout).toContain('"status":"pass"');
    // The published port answers on the node that runs the web task, from the node network.
    const web = swarm.nodes.find((n) => n.hostname === webNode)!;
    // A task's hostname is its container's short id: the answer comes from the task on that node.
    expect(swarm.onNodeNetwork(["curl", "-s", "-m", "5", `http://${web.ip}:42080/`]).stdout.trim()).toBe(`web-on-${containerOn(web, "i18-web").slice(0, 12)}`);

    const status = onNode(n2, ["exec", containerOn(n2, SQLITE_SVC), "cat", "/proc/1/status"]);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^CapEff:\s+0000000000000000$/m);
    expect(status).toMatch(/^Uid:\s+1001\s/m);
});

test("backup on the data node, then restore scaling the SQLite service to 0: both databases byte for byte", async () => {
    onNode(n2, ["exec", "-e", `INFLUX_TOKEN=${TOKEN}`, containerOn(n2, INFLUX_SVC), "sh", "-c", "printf 'm v=1 1\\nm v=2 2\\n' | influx write -b home_assistant_events"]);
    const before = { influx: influxChecksum(), rows: sqliteRows() };
    expect(before.rows).toBe("1");

    const env = { ...process.env, DOCKER_HOST: n2.dockerHost, HOMEIQ_STACK: "i18sw", HOMEIQ_BACKUP_ROOT: tmp, HOMEIQ_BACKUP_KEEP: "3", HOMEIQ_BACKUP_REASON: "test" };
    const secrets = { HOMEIQ_INFLUX_TOKEN: TOKEN };
    const b = run("bash", [path.join(REPO_ROOT, "scripts/swarm/backup.sh")], {
        env: { ...env, ...secrets, HOMEIQ_INFLUX_CONTAINER: INFLUX_SVC, HOMEIQ_SQLITE_DBS: `data-api=${SQLITE_SVC}:/app/data/metadata.db` },
        allowFail: true,
        timeoutMs: 180_000,
    });
    expect(b.stderr).toBe("");
    expect(b.code).toBe(0);
    const dir = backupDirOf(b);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
    expect(manifest.influxdb.status).toBe("backed-up");
    expect(manifest.sqlite.map((e: { service: string; status: string }) => [e.service, e.status])).toEqual([["data-api", "backed-up"]]);

    // Change both databases after the backup.
    onNode(n2, ["exec", "-e", `INFLUX_TOKEN=${TOKEN}`, containerOn(n2, INFLUX_SVC), "sh", "-c", "printf 'm v=3 3\\n' | influx write -b home_assistant_events"]);
    onNode(n2, ["exec", containerOn(n2, SQLITE_SVC), "python3", "-c", "import sqlite3; d=sqlite3.connect('/app/data/metadata.db'); d.execute('insert into events values (2)'); d.commit()"]);
    expect(influxChecksum()).not.toBe(before.influx);
    expect(sqliteRows()).toBe("2");
    const sqliteTask = containerOn(n2, SQLITE_SVC);

    const r = run("bash", [path.join(REPO_ROOT, "scripts/swarm/restore.sh")], {
        env: {
            ...env,
            ...secrets,
            HOMEIQ_RESTORE_DIR: dir,
            HOMEIQ_SWARM_MANAGER: n1.dockerHost,
            HOMEIQ_STOP_SERVICES: SQLITE_SVC,
            HOMEIQ_INFLUX_CONTAINER: INFLUX_SVC,
            HOMEIQ_SQLITE_RESTORES: "data-api=i18-sw3-sqlite:metadata.db:1001:1001",
            HOMEIQ_RESTORE_HELPER_IMAGE: IMAGES.python,
        },
        allowFail: true,
        timeoutMs: 180_000,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`scaling ${SQLITE_SVC} to 0`);
    // Scaled, not stopped: the service asks for 0 replicas and its old container is gone from node 2.
    expect(onNode(n1, ["service", "inspect", SQLITE_SVC, "--format", "{{.Spec.Mode.Replicated.Replicas}}"])).toBe("0");
    expect(swarm.docker(n2, ["ps", "-q", "--filter", `id=${sqliteTask}`]).stdout.trim()).toBe("");
    // Byte for byte: the SQLite file in the volume is the backup's file; InfluxDB's data is what it was.
    expect(volumeFileSha("i18-sw3-sqlite", "metadata.db")).toBe(sha256File(path.join(dir, "sqlite", "data-api", "metadata.db")));
    expect(influxChecksum()).toBe(before.influx);

    // The program's update of the service (its restored-from label changes) brings it back at one replica.
    const current = JSON.parse(onNode(n1, ["service", "inspect", SQLITE_SVC, "--format", "{{json .ID}}"])) as string;
    const back = { ...sqliteSpec(), labels: [{ label: "com.homeiq.restored-from", value: dir }] };
    await serviceDriver.update!(ctx, "sqlite", back, { id: current, state: {} });
    expect(sqliteRows()).toBe("1");
});
