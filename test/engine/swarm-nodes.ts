/**
 * Dedicated swarm engines for the swarm tests (engine/swarm-nodes.sh): N dockerds, each in its own
 * network namespace with its own data root and socket, node 1 the manager. The shared engine on
 * /var/run/docker.sock only lends its images (`docker save`); it never enters swarm mode.
 */
import * as path from "path";
import { IMAGES, REPO_ROOT, run, waitFor } from "./helpers";

const SCRIPT = path.join(REPO_ROOT, "engine", "swarm-nodes.sh");

export interface SwarmNode {
    readonly index: number;
    readonly hostname: string;
    readonly ip: string;
    /** unix:// socket of this node's engine. */
    readonly dockerHost: string;
}

export interface Swarm {
    readonly name: string;
    readonly nodes: readonly SwarmNode[];
    readonly manager: SwarmNode;
    /** The docker CLI against one node. */
    docker(node: SwarmNode, args: readonly string[], allowFail?: boolean): { code: number; stdout: string; stderr: string };
    /** A command in the namespace that holds the node network's bridge (to reach host-mode ports). */
    onNodeNetwork(args: readonly string[]): { code: number; stdout: string; stderr: string };
    /**
     * The id of the container of `service`'s running task on `node`, once there is one. Waits: the manager may
     * report a task running (or an update or rollback completed) before the task's container exists on the
     * node, or while the previous task's container is still being replaced. Needs one replica on that node.
     */
    taskContainer(node: SwarmNode, service: string, timeoutMs?: number): string;
    /** Copies images from the shared engine into one node only. */
    load(node: SwarmNode, images: readonly string[]): void;
    down(): void;
}

/**
 * Starts `count` nodes named `<name>-n<i>` on `<subnet24>.0/24`, loads `images` into each, forms the swarm.
 * `env` goes to engine/swarm-nodes.sh (HOMEIQ_SWARM_NODE_NO_NEW_PRIVILEGES=0: daemons without --no-new-privileges).
 */
export function startSwarm(name: string, count: number, subnet24: string, images: readonly string[], env: Record<string, string> = {}): Swarm {
    // A leftover of an interrupted run with this name goes first.
    run("bash", [SCRIPT, "down", name], { allowFail: true, timeoutMs: 60_000 });
    const up = run("bash", [SCRIPT, "up", name, String(count), subnet24, ...images], { allowFail: true, timeoutMs: 180_000, env });
    if (up.code !== 0) {
        run("bash", [SCRIPT, "down", name], { allowFail: true, timeoutMs: 60_000 });
        throw new Error(`engine/swarm-nodes.sh up ${name} failed (exit ${up.code}):\n${up.stderr.slice(-3000)}`);
    }
    const nodes = up.stdout
        .split("\n")
        .filter((l) => l.startsWith("node "))
        .map((l) => {
            const [, index, hostname, ip, dockerHost] = l.split(" ");
            return { index: Number(index), hostname, ip, dockerHost };
        });
    const docker = (node: SwarmNode, args: readonly string[], allowFail = false) => run("docker", ["-H", node.dockerHost, ...args], { allowFail, timeoutMs: 120_000 });
    const lines = (r: { stdout: string }): string[] => r.stdout.split("\n").filter((l) => l.trim().length > 0);
    return {
        name,
        nodes,
        manager: nodes[0],
        docker,
        taskContainer: (node, service, timeoutMs = 60_000) =>
            waitFor(
                `the container of ${service}'s running task on ${node.hostname}`,
                () => {
                    // The task the manager wants running and sees running on that node …
                    const tasks = lines(docker(nodes[0], ["service", "ps", service, "--no-trunc", "--filter", "desired-state=running", "--filter", `node=${node.hostname}`, "--format", "{{.ID}} {{.CurrentState}}"], true))
                        .filter((l) => / Running /.test(`${l} `))
                        .map((l) => l.split(" ")[0]);
                    if (tasks.length !== 1) return undefined;
                    // … and its container, running on the node.
                    const ids = lines(docker(node, ["ps", "-q", "--no-trunc", "--filter", `label=com.docker.swarm.task.id=${tasks[0]}`, "--filter", "status=running"], true));
                    return ids.length === 1 ? ids[0] : undefined;
                },
                { timeoutMs, intervalMs: 200 },
            ),
        onNodeNetwork: (args) => run("nsenter", [`--net=/run/netns/${name}-sw`, ...args], { allowFail: true, timeoutMs: 30_000 }),
        load: (node, images) => {
            run("bash", [SCRIPT, "load", name, String(node.index), ...images], { timeoutMs: 180_000 });
        },
        down: () => {
            run("bash", [SCRIPT, "down", name], { allowFail: true, timeoutMs: 120_000 });
        },
    };
}

/**
 * The InfluxDB stand-in's container spec as a swarm task of `stack` runs it: first setup from the
 * environment (org homeiq, bucket home_assistant_events, the given operator token) on the stack's two
 * InfluxDB volumes, as components/swarmPlatform.ts mounts them. The caller adds the health check.
 */
export function influxStandinTaskSpec(stack: string, token: string, password: string): { image: string; env: Record<string, string>; mounts: Array<Record<string, string>> } {
    return {
        image: IMAGES.influxStandin,
        env: {
            DOCKER_INFLUXDB_INIT_MODE: "setup",
            DOCKER_INFLUXDB_INIT_USERNAME: "admin",
            DOCKER_INFLUXDB_INIT_PASSWORD: password,
            DOCKER_INFLUXDB_INIT_ORG: "homeiq",
            DOCKER_INFLUXDB_INIT_BUCKET: "home_assistant_events",
            DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: token,
        },
        mounts: [
            { type: "volume", source: `${stack}-influxdb-data`, target: "/var/lib/influxdb2" },
            { type: "volume", source: `${stack}-influxdb-config`, target: "/etc/influxdb2" },
        ],
    };
}
