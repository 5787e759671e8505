/**
 * Operating a stack on swarm between deploys, on two dedicated swarm engines (engine/swarm-nodes.sh; node 1
 * the manager and an apps node, node 2 the data node: the shared engine never enters swarm mode), with the
 * jobs as the program registers them: the environment of the BackupSchedule and StackWatch Commands is the
 * synthesized program's own for a swarm stack (its secrets, "[secret]" in the synth, given here as Pulumi
 * would), installed by scripts/schedule/install.sh as those Commands' create does, run by tick.sh.
 * - the scheduled backup, started by the real cron daemon from the installed crontab entry, reaches the
 *   stateful tasks on node 2 through node 2's engine (scripts/swarm/backup.sh): a verified backup of
 *   InfluxDB and the SQLite service; the off-host copy follows; the drill restores it into scratch
 *   containers on node 2;
 * - the watch reads the swarm through the manager and notifies a stand-in Home Assistant and webhook: a
 *   service scaled to 0, then a task that swarm stops as unhealthy, again and again (a restart loop), each
 *   one notice and one when it clears; the disk of node 2's volumes, measured in its InfluxDB task.
 * - `npm run status` reads the swarm through the manager and each task on its node's engine: all well
 *   (each endpoint answered over the overlay from inside its task, memory and CPU against the task's limits),
 *   then drift (a label changed by hand, an image rebuilt and not deployed, the limits a rollback by hand took
 *   away, and the command it gives that sets them again), a slow endpoint, CPU, memory, an error line, and a
 *   service scaled to 0.
 * The services are hand-written stand-ins named, labelled and tagged as the program names, labels and tags
 * them (the program's own service specs are exercised by stack.swarm.test.ts). No IPVS needed. Wall time here: see docs/swarm.md.
 */
import * as fs from "fs";
import * as path from "path";
import { parseDocument } from "yaml";
import { dockerApi } from "../../engine/apply/dockerApi";
import type { DriverContext, Props } from "../../engine/apply/liveResources";
import { serviceDriver } from "../../engine/apply/swarmResources";
import type { SwarmStackStatus } from "../../operate/swarm";
import { synthesize } from "../../synth/synthesize";
import { IMAGES, REPO_ROOT, Resources, run, runAsync, waitFor, waitForAsync } from "./helpers";
import { crontab, ensureCron, runRepoScript, startRecorder, type Recorder } from "./notify-helpers";
import { engineMaxOpenFiles, STANDIN_CHECKOUT } from "./stack-helpers";
import { influxStandinTaskSpec, startSwarm, type Swarm, type SwarmNode } from "./swarm-nodes";

const NAME = "i18c-op";
const STACK = "i18c-op";
const TOKEN = "i18c-influx-token-swarm-operate-4b1f";
const HA_TOKEN = "i18c-ha-token-swarm-operate-9e3a27";
const COPY_PASSPHRASE = "i18cCopyPassphrase4b1f9e3a";
const INFLUX = `${STACK}-influxdb`;
const DATA_API = `${STACK}-data-api`;
const APPS = `${STACK}-enrichment-pipeline`;

const res = new Resources();
let swarm: Swarm;
let n1: SwarmNode, n2: SwarmNode;
let rec: Recorder;
let projectDir = "";
let backupRoot = "";
let copyRepo = "";
/** The environment of each schedule Command of the synthesized swarm stack, secrets filled in. */
let jobEnv: { backup: Record<string, string>; drill: Record<string, string>; watch: Record<string, string> };
/** What the synthesized program gives each swarm service (by name): its labels, its task's labels, image and network aliases, as `pulumi up` would set them. */
let programServices: Record<string, { labels: Props[]; taskLabels: Props[]; image: string; aliases: string[] }> = {};
/** The environment of the program's limits Command of each swarm service (by service name), as `pulumi up` runs scripts/swarm/limits.sh. */
let programLimits: Record<string, Record<string, string>> = {};
/** The program's overlay network: its name and subnet; and its id on the swarm. */
let overlay = { name: "", subnet: "", id: "" };
const installed: string[] = [];
let backupDir = "";

const on = (node: SwarmNode, args: string[]) => swarm.docker(node, args).stdout.trim();
const APPUSER = "homeiq-standin/python-appuser:stack";
const taskOn = (node: SwarmNode, svc: string): string => on(node, ["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${svc}`, "--filter", "status=running"]).split("\n")[0]!;

/**
 * A service as components/swarmPlatform.ts writes one (one replica, dnsrr, pinned, on the stack's overlay
 * under its aliases), with a 1 s health check; with the program's labels, its task's labels and image: the
 * stand-in image tagged on the node under the program's image name, its id in com.homeiq.image-ids as the
 * program labels a built image (npm run status checks both).
 */
function service(name: string, node: SwarmNode, containerSpec: Props & { image: string }, taskSpec: Props = {}): Props {
    const program = programServices[name];
    if (!program) throw new Error(`the program registers no swarm service ${name}`);
    on(node, ["tag", containerSpec.image, program.image]);
    const id = on(node, ["image", "inspect", "--format", "{{.Id}}", program.image]);
    const taskLabels = program.taskLabels.map((l) => (l.label === "com.homeiq.image-ids" ? { label: l.label, value: id } : l));
    return {
        name,
        labels: program.labels,
        taskSpec: {
            ...taskSpec,
            networksAdvanceds: [{ id: overlay.id, aliases: program.aliases }],
            containerSpec: { stopGracePeriod: "2s", ...containerSpec, image: program.image, labels: taskLabels },
            restartPolicy: { condition: "any", delay: "1s", maxAttempts: 0, window: "0s" },
            placement: { constraints: [`node.hostname==${node.hostname}`], maxReplicas: 1 },
        },
        mode: { replicated: { replicas: 1 } },
        // The program's, but for the monitor (10 s there): the limits' updates and a rollback complete sooner.
        updateConfig: { parallelism: 1, order: "stop-first", failureAction: "rollback", monitor: "1s", delay: "0s", maxFailureRatio: "0.0" },
        rollbackConfig: { parallelism: 1, order: "stop-first", failureAction: "pause", monitor: "1s", delay: "0s", maxFailureRatio: "0.0" },
        endpointSpec: { mode: "dnsrr" },
        convergeConfig: { delay: "1s", timeout: "90s" },
    };
}
/** A 1 s health check; a start period for a service whose limits' update must not fail on its first check while it starts (that update pauses on a task that fails). */
const health = (cmd: string, startPeriod = "0s") => ({ tests: ["CMD-SHELL", cmd], interval: "1s", timeout: "3s", startPeriod, retries: 1 });

/** The synthesized program's schedule Commands for the swarm stack; each "[secret]" replaced by the value Pulumi would pass. */
async function programJobs(): Promise<typeof jobEnv> {
    const hook = `${rec.base}/hook`;
    const secrets: Record<string, string> = { HOMEIQ_INFLUX_TOKEN: TOKEN, HOMEIQ_HA_TOKEN: HA_TOKEN, HOMEIQ_NOTIFY_WEBHOOK_URL: hook, HOMEIQ_COPY_PASSWORD: COPY_PASSPHRASE };
    const overrides = {
        "homeiq:influxdbAdminToken": TOKEN,
        "homeiq:homeAssistantToken": HA_TOKEN,
        "homeiq:notifyWebhookUrl": hook,
        "homeiq:backupCopyPassphrase": COPY_PASSPHRASE,
    };
    const result = await synthesize(STACK, { projectDir, configOverrides: overrides, secretOverrides: Object.keys(overrides), verifyCheckout: false, checkOtherStacks: false });
    const envOf = (name: string): Record<string, string> => {
        const command = result.resources.find((r) => r.type === "command:local:Command" && r.name === name);
        if (!command) throw new Error(`the program registers no ${name}`);
        return Object.fromEntries(
            Object.entries(command.inputs.environment as Record<string, string>).map(([k, v]) => {
                if (v !== "[secret]") return [k, v];
                if (!(k in secrets)) throw new Error(`${name}: ${k} is a secret this test does not know`);
                return [k, secrets[k]!];
            }),
        );
    };
    programServices = Object.fromEntries(
        result.resources
            .filter((r) => r.type === "docker:index/service:Service")
            .map((r) => {
                const task = r.inputs.taskSpec as { containerSpec: { labels: Props[]; image: string }; networksAdvanceds: Array<{ aliases: string[] }> };
                return [r.inputs.name as string, { labels: r.inputs.labels as Props[], taskLabels: task.containerSpec.labels, image: task.containerSpec.image, aliases: task.networksAdvanceds[0]!.aliases }];
            }),
    );
    programLimits = Object.fromEntries(
        result.resources
            .filter((r) => r.type === "command:local:Command" && r.name.endsWith("-limits"))
            .map((r) => {
                const env = r.inputs.environment as Record<string, string>;
                return [env.HOMEIQ_SERVICE!, env];
            }),
    );
    const network = result.resources.find((r) => r.type === "docker:index/network:Network");
    if (!network) throw new Error("the program registers no overlay network");
    overlay = { name: network.inputs.name as string, subnet: (network.inputs.ipamConfigs as Array<{ subnet: string }>)[0]!.subnet, id: "" };
    return { backup: envOf("homeiq-backup-schedule-backup"), drill: envOf("homeiq-backup-schedule-drill"), watch: envOf("homeiq-watch") };
}

/** scripts/schedule/install.sh with a Command's environment, as the Command's create runs it. */
function install(env: Record<string, string>): string {
    const r = runRepoScript("schedule/install.sh", { ...env, TZ: "UTC" });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const dir = env.HOMEIQ_SCHEDULE_DIR!;
    installed.push(dir);
    return dir;
}
const lastRun = (dir: string): { result: string; exitCode: number; log: string } | undefined => {
    const f = path.join(dir, "last-run.json");
    return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, "utf8")) : undefined;
};

beforeAll(async () => {
    ensureCron();
    rec = startRecorder(res, "i18c-op");
    // The apps stand-in's base (curl and python, as the real images: npm run status probes each endpoint with the tool its health check uses) on both nodes.
    swarm = startSwarm(NAME, 2, "10.242.40", [IMAGES.busybox, APPUSER]);
    [n1, n2] = swarm.nodes as [SwarmNode, SwarmNode];
    // The stateful images only where the stateful tasks run.
    swarm.load(n2, [IMAGES.python, IMAGES.influxStandin]);

    // The swarm stack as a user configures it: the prod stack file, target swarm, node 2 the data node.
    projectDir = res.tmpDir("i18c-op-project");
    backupRoot = path.join(projectDir, "backups");
    copyRepo = path.join(projectDir, "restic");
    fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(projectDir, "Pulumi.yaml"));
    const disabled = [
        "websocket-ingestion", "admin-api", "data-retention", "carbon-intensity", "electricity-pricing", "air-quality",
        "calendar", "smart-meter", "sports-data", "health-dashboard", "log-aggregator",
    ];
    const stackFile = path.join(projectDir, `Pulumi.${STACK}.yaml`);
    const doc = parseDocument(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.prod.yaml"), "utf8"));
    const config: Record<string, unknown> = {
        "homeiq:target": "swarm",
        "homeiq:dockerHost": n1.dockerHost,
        "homeiq:swarmNodes": [`${n1.hostname}=apps@${n1.dockerHost}`, `${n2.hostname}=data@${n2.dockerHost}`],
        "homeiq:swarmSubnet": "10.244.40.0/24",
        "homeiq:homeiqCheckoutPath": STANDIN_CHECKOUT,
        "homeiq:influxdbImage": IMAGES.influxStandin,
        // InfluxDB's open-files limit as this machine's engines can give it (stack-helpers.ts).
        "homeiq:maxOpenFiles": engineMaxOpenFiles(),
        "homeiq:dashboardBindAddress": undefined,
        "homeiq:disabledServices": disabled.map((s) => `${s}=not needed by the swarm operate test`),
        "homeiq:backupRoot": backupRoot,
        "homeiq:backupSchedule": "every 1",
        "homeiq:backupCopyRepository": copyRepo,
        // Encrypted in a user's stack file (`pulumi config set --secret`): npm run status reads it as a placeholder.
        "homeiq:backupCopyPassphrase": { secure: "v1:AAAAAAAAAAAAAAAA:i18cNotARealCiphertext" },
        "homeiq:homeAssistantUrl": `${rec.base}/ha`,
        // A day: cron never runs the watch during the test; the test's ticks run it (controlled clock).
        "homeiq:watchEveryMinutes": 1440,
        "homeiq:watchDownMinutes": 0,
        "homeiq:watchCriterionMinutes": 0,
        // Any use counts: the disk notice is certain, so its source (node 2's volumes) can be checked.
        "homeiq:watchDiskPercent": 1,
    };
    for (const [k, v] of Object.entries(config)) {
        if (v === undefined) doc.deleteIn(["config", k]);
        else doc.setIn(["config", k], v);
    }
    fs.writeFileSync(stackFile, doc.toString());
    jobEnv = await programJobs();

    // The stack's overlay, as the program creates it (attachable, its subnet).
    overlay.id = on(n1, ["network", "create", "--driver", "overlay", "--attachable", "--subnet", overlay.subnet, overlay.name]);
    // The stand-in stack on the swarm: InfluxDB and data-api's SQLite pinned to node 2, an apps service on node 1,
    // each serving the catalog's port and health path (npm run status asks them there, over the overlay).
    const ctx: DriverContext = { api: dockerApi(n1.dockerHost), dockerHost: n1.dockerHost, cwd: REPO_ROOT, log: () => undefined };
    // data-api's stand-in under the name of the image the program builds for it (the drill restores with it).
    on(n2, ["tag", IMAGES.python, JSON.parse(jobEnv.backup.HOMEIQ_IMAGES_JSON!)["data-api"]]);
    // data-api's volume as the real image leaves it (its /app/data owned by the service user).
    on(n2, ["volume", "create", `${STACK}-sqlite-data`]);
    on(n2, ["run", "--rm", "-v", `${STACK}-sqlite-data:/d`, IMAGES.busybox, "chown", "1001:1001", "/d"]);
    await Promise.all([
        serviceDriver.create(ctx, "influxdb", service(INFLUX, n2, {
            ...influxStandinTaskSpec(STACK, TOKEN, "i18c-influx-password"),
            healthcheck: health("influx ping", "30s"),
        })),
        // python, no curl, as data-api's image (catalog: its health check runs python).
        serviceDriver.create(ctx, "data-api", service(DATA_API, n2, {
            image: APPUSER,
            user: "1001:1001",
            readOnly: true,
            mounts: [{ type: "volume", source: `${STACK}-sqlite-data`, target: "/app/data" }],
            commands: [
                "python3",
                "-c",
                // One row however often its task starts (the limits' update starts it twice).
                "import sqlite3,http.server\n" +
                    "db=sqlite3.connect('/app/data/metadata.db'); db.execute('create table if not exists events(n integer primary key)')\n" +
                    "db.execute('insert or ignore into events values (7)'); db.commit(); db.close()\n" +
                    "class H(http.server.BaseHTTPRequestHandler):\n" +
                    "    def do_GET(self):\n" +
                    "        self.send_response(200 if self.path == '/health' else 404); self.end_headers(); self.wfile.write(b'{}')\n" +
                    "http.server.ThreadingHTTPServer(('',8006),H).serve_forever()",
            ],
            healthcheck: health("python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8006/health')\"", "30s"),
        })),
        // Unhealthy while its volume holds the file `sick`: every new task too (a restart loop). Writes an
        // error line to its log when the file `err` appears there. curl and python, as enrichment-pipeline's image.
        serviceDriver.create(ctx, "apps", service(APPS, n1, {
            image: APPUSER,
            mounts: [{ type: "volume", source: `${STACK}-apps-flag`, target: "/flag" }],
            commands: [
                "sh",
                "-c",
                "mkdir -p /www; echo ok > /www/health; " +
                    "(while :; do if [ -e /flag/err ]; then rm -f /flag/err; echo 'ERROR: stand-in failure for the watch'; fi; sleep 1; done) & " +
                    "exec python3 -m http.server 8002 -d /www",
            ],
            healthcheck: health("test ! -e /flag/sick && curl -fsS -o /dev/null http://127.0.0.1:8002/health"),
        }, { resources: { limits: { memoryBytes: 96 * 1024 * 1024, nanoCpus: 500_000_000 } } })),
    ]);
    // Their PIDs limit (and InfluxDB's open files) as the program's limits Commands give them after each service.
    await Promise.all(
        [INFLUX, DATA_API, APPS].map(async (svc) => {
            const env = programLimits[svc];
            if (!env) throw new Error(`the program registers no limits Command for ${svc}`);
            const r = await runAsync("bash", [path.join(REPO_ROOT, "scripts/swarm/limits.sh")], { env, allowFail: true, timeoutMs: 180_000 });
            expect({ svc, code: r.code, stderr: r.stderr }).toEqual({ svc, code: 0, stderr: "" });
        }),
    );
    // The backup job is installed as `pulumi up` installs it once the stateful services run: cron starts it
    // at its next minute, while the watch test runs; the backup test (after it) waits for that run.
    backupDir = install(jobEnv.backup);
}, 300_000);

afterAll(() => {
    for (const dir of installed) runRepoScript("schedule/remove.sh", { HOMEIQ_SCHEDULE_DIR: dir });
    swarm?.down();
    res.cleanup();
});

/** `npm run status` of the swarm stack, as a user runs it (the project folder given as the tests give it). */
/**
 * The stand-in InfluxDB answers HTTP through socat and a bash per request: on a loaded 2-core machine its p95
 * passes 100 ms now and then, so the status runs with a latency criterion of 2 s unless a test says otherwise
 * (as test/engine/status.test.ts does for the other criteria).
 */
const LAX = ["--latency-ms", "2000"];
function status(json: boolean, options: readonly string[] = LAX): { code: number; stdout: string; stderr: string } {
    return run("npm", ["--prefix", REPO_ROOT, "run", "-s", "status", "--", STACK, ...(json ? ["--json"] : []), ...options], { env: { HOMEIQ_PROJECT_DIR: projectDir }, allowFail: true, timeoutMs: 120_000 });
}
const statusJson = (options: readonly string[] = LAX): { code: number; s: SwarmStackStatus } => {
    const r = status(true, options);
    expect(r.stderr).toBe("");
    return { code: r.code, s: JSON.parse(r.stdout) as SwarmStackStatus };
};
/** The task container of a service on its node, as that node's engine says: [health, image id]. */
const taskFacts = (node: SwarmNode, svc: string): [string, string] => on(node, ["inspect", "--format", "{{.State.Health.Status}} {{.Image}}", taskOn(node, svc)]).split(" ") as [string, string];

test("npm run status reads the swarm: every service's replicas, node, task health and image through the manager and its node, its endpoint over the overlay, its task's memory, CPU and error lines; drift of labels, of a rebuilt image and of limits lost by a rollback (exit 11); a latency criterion of 1 ms (12); CPU (15), memory (14), an error line (13); a service scaled to 0 (exit 10)", () => {
    const where: Record<string, SwarmNode> = { [INFLUX]: n2, [DATA_API]: n2, [APPS]: n1 };
    waitFor("every task healthy", () => Object.entries(where).every(([svc, node]) => taskOn(node, svc) !== "" && taskFacts(node, svc)[0] === "healthy"), { timeoutMs: 90_000, intervalMs: 500 });

    const { code, s } = statusJson();
    expect({ code, findings: s.findings }).toEqual({ code: 0, findings: [] });
    expect(s.target).toBe("swarm");
    expect(s.services.map((x) => x.name).sort()).toEqual(Object.keys(where).sort());
    for (const x of s.services) {
        const node = where[x.name]!;
        const [health, image] = taskFacts(node, x.name);
        expect({ name: x.name, desired: x.desired, running: x.running, node: x.node, health: x.health, runningId: x.image.runningId, failed: x.failedRecently }).toEqual({
            name: x.name, desired: 1, running: 1, node: node.hostname, health, runningId: image, failed: 0,
        });
        // Its endpoint, asked 20 times (the review's count) at the name its peers use on the overlay, from inside its task.
        expect({ name: x.name, url: x.endpoint?.url, requests: x.endpoint?.requests, failed: x.endpoint?.failed, p95: typeof x.endpoint?.p95Ms }).toEqual({
            name: x.name, url: { [INFLUX]: "http://influxdb:8086/ready", [DATA_API]: "http://data-api:8006/health", [APPS]: "http://enrichment-pipeline:8002/health" }[x.name], requests: 20, failed: 0, p95: "number",
        });
        expect({ name: x.name, errorLines: x.errorLines?.count, limits: x.missingLimits?.missing }).toEqual({ name: x.name, errorLines: 0, limits: [] });
    }
    // Memory and CPU against the limits of the task's container on node 1 (96 MiB, half a CPU), as its engine gives them.
    const apps = s.services.find((x) => x.name === APPS)!;
    expect({ limit: apps.memory?.limitBytes, cpus: apps.cpu?.limitCpus }).toEqual({ limit: 96 * 1024 * 1024, cpus: 0.5 });
    expect(apps.memory!.usedBytes).toBeGreaterThan(1024 * 1024);
    const human = status(false);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`stack ${STACK} on swarm, manager ${n1.dockerHost}`);
    expect(human.stdout.split("\n").find((l) => l.startsWith(INFLUX))!.split(/\s{2,}/).slice(0, 4)).toEqual([INFLUX, "1/1", n2.hostname, "healthy"]);
    expect(human.stdout).toContain("all well: 3 services run every replica they ask for");

    // Drift: a label changed by hand on the service, and its image rebuilt on its node without a deploy.
    const generation = programServices[APPS]!.labels.find((l) => l.label === "com.homeiq.rebuild-generation")!.value as string;
    on(n1, ["service", "update", "--detach", "--label-add", "com.homeiq.rebuild-generation=99", APPS]);
    const image = programServices[APPS]!.image;
    const rebuilt = on(n1, ["commit", taskOn(n1, APPS), image]);
    try {
        // With a latency criterion of 1 ms too, which InfluxDB's stand-in (a bash per request) never meets: slow (12), after drift (11).
        const drift = statusJson(["--latency-ms", "1"]);
        const slow = drift.s.findings.filter((f) => f.kind === "slow");
        expect({ code: drift.code, ids: drift.s.findings.filter((f) => f.kind !== "slow").map((f) => f.id) }).toEqual({ code: 11, ids: [`drift:${APPS} image`, `drift:${APPS} labels`] });
        expect(slow.find((f) => f.id === `slow:${INFLUX} endpoint`)?.message).toMatch(new RegExp(`^http://influxdb:8086/ready \\(in ${INFLUX}'s task\\): p95 \\d+ ms over 20 requests \\(criterion: under 1 ms\\)$`));
        expect(drift.s.findings[0]!.message).toBe(
            `${APPS}: its task is labelled with image ${taskFacts(n1, APPS)[1].replace("sha256:", "").slice(0, 12)}, the stack's ${image} is ${rebuilt.replace("sha256:", "").slice(0, 12)} on ${n1.hostname} (rebuilt, not deployed: pulumi up)`,
        );
        expect(drift.s.findings[1]!.message).toBe(`${APPS}: labels differ from the stack's: service com.homeiq.rebuild-generation="99" (the stack's: "${generation}")`);
    } finally {
        on(n1, ["tag", APPUSER, image]);
        on(n1, ["service", "update", "--detach", "--label-add", `com.homeiq.rebuild-generation=${generation}`, APPS]);
    }
    expect(statusJson().code).toBe(0);

    // The task's own use, read on node 1's engine, one problem more at each step (the scaling below ends them all).
    // The latency criterion is lifted (a busy task under a CPU quota answers late); the CPU criterion is low, so
    // that a loaded machine still gives the busy loop that much.
    const busy = ["--latency-ms", "60000", "--cpu-percent", "10"];
    const task = taskOn(n1, APPS);
    // A busy loop: CPU over 10 % of its half-CPU limit.
    swarm.docker(n1, ["exec", "-d", task, "sh", "-c", "while :; do :; done"]);
    const cpu = statusJson(busy);
    expect({ code: cpu.code, ids: cpu.s.findings.map((f) => f.id) }).toEqual({ code: 15, ids: [`cpu:${APPS}`] });
    expect(cpu.s.findings[0]!.message).toMatch(new RegExp(`^${APPS}: its task on ${n1.hostname} uses CPU [\\d.]+ % of its 0.5 CPU limit \\(criterion: under 10 %\\)$`));
    // Memory: a dd holding a 64 MiB buffer in the 96 MiB limit (beside the stand-in's python, 10-25 MiB).
    swarm.docker(n1, ["exec", "-d", task, "sh", "-c", "dd if=/dev/zero bs=64M count=1 | sleep 600"]);
    waitFor("the task over 70 % of its memory limit", () => Number(swarm.docker(n1, ["stats", "--no-stream", "--format", "{{.MemPerc}}", task]).stdout.trim().replace("%", "")) >= 70, { timeoutMs: 30_000, intervalMs: 500 });
    const memory = statusJson(busy);
    expect({ code: memory.code, ids: memory.s.findings.map((f) => f.id) }).toEqual({ code: 14, ids: [`memory:${APPS}`, `cpu:${APPS}`] });
    expect(memory.s.services.find((x) => x.name === APPS)!.memory!.percent).toBeGreaterThanOrEqual(70);
    // An error line in its log since its task started.
    swarm.docker(n1, ["exec", task, "touch", "/flag/err"]);
    waitFor("the error line in the task's log", () => swarm.docker(n1, ["logs", task]).stdout.includes("ERROR: stand-in failure"), { timeoutMs: 30_000, intervalMs: 500 });
    const errors = statusJson(busy);
    expect({ code: errors.code, ids: errors.s.findings.map((f) => f.id) }).toEqual({ code: 13, ids: [`errors:${APPS}`, `memory:${APPS}`, `cpu:${APPS}`] });
    expect(errors.s.findings[0]!.message).toMatch(new RegExp(`^${APPS}: 1 error line\\(s\\) in its task's log since it started at \\S+ \\(see: docker service logs --since \\S+ ${APPS}, on the manager\\)$`));

    // Scaled to 0 through the manager: down, exit 10; back to one healthy task for the watch test.
    on(n1, ["service", "scale", `${APPS}=0`]);
    const down = statusJson();
    expect({ code: down.code, findings: down.s.findings.map((f) => [f.id, f.message]) }).toEqual({ code: 10, findings: [[`down:${APPS}`, `${APPS} is scaled to 0 replicas: it runs nothing`]] });
    expect(down.s.services.find((x) => x.name === APPS)).toMatchObject({ desired: 0, running: 0, health: "-" });
    on(n1, ["service", "scale", `${APPS}=1`]);
    waitFor(`${APPS} healthy again`, () => taskOn(n1, APPS) !== "" && taskFacts(n1, APPS)[0] === "healthy", { timeoutMs: 60_000, intervalMs: 500 });

    // A rollback by hand (the status below also says that the new task of the apps service has none of the problems above) restores the spec the provider wrote, without the limits the limits Command set: drift,
    // with the command that sets them again (a plain `pulumi up` sees no change: the provider reads neither back).
    on(n1, ["service", "rollback", "--detach", INFLUX]);
    waitFor(`${INFLUX}'s task without its PIDs limit, healthy`, () => {
        const t = taskOn(n2, INFLUX);
        return t !== "" && on(n2, ["inspect", "--format", "{{.HostConfig.PidsLimit}} {{.State.Health.Status}}", t]).replace("<nil>", "0") === "0 healthy";
    }, { timeoutMs: 90_000, intervalMs: 500 });
    const lost = statusJson();
    const pids = programLimits[INFLUX]!.HOMEIQ_PIDS_LIMIT!;
    expect({ code: lost.code, ids: lost.s.findings.map((f) => f.id) }).toEqual({ code: 11, ids: [`drift:${INFLUX} limits`] });
    const fix = /; set them again: (.+)$/.exec(lost.s.findings[0]!.message)?.[1];
    expect(lost.s.findings[0]!.message).toContain(`${INFLUX}'s task on ${n2.hostname} runs without the PIDs limit ${pids} (it has none), the ulimit nofile=`);
    expect(fix).toBe(`DOCKER_HOST=${n1.dockerHost} HOMEIQ_SERVICE=${INFLUX} HOMEIQ_PIDS_LIMIT=${pids} HOMEIQ_ULIMITS=${programLimits[INFLUX]!.HOMEIQ_ULIMITS} bash scripts/swarm/limits.sh`);
    // The command as given, from the project folder: the limits are back, all well.
    const fixed = run("bash", ["-c", `cd ${REPO_ROOT} && ${fix!}`], { allowFail: true, timeoutMs: 180_000 });
    expect({ code: fixed.code, stderr: fixed.stderr }).toEqual({ code: 0, stderr: "" });
    waitFor(`${INFLUX}'s task with its PIDs limit, healthy`, () => {
        const t = taskOn(n2, INFLUX);
        return t !== "" && on(n2, ["inspect", "--format", "{{.HostConfig.PidsLimit}} {{.State.Health.Status}}", t]) === `${pids} healthy`;
    }, { timeoutMs: 90_000, intervalMs: 500 });
    expect(statusJson().code).toBe(0);
}, 300_000);

test("the watch reads the swarm through the manager: a service scaled to 0 (notified once, cleared once), a task swarm stops as unhealthy in a loop, an error line, memory over the limit; the disk of the data node's volumes", () => {
    expect(jobEnv.watch).toMatchObject({
        DOCKER_HOST: n1.dockerHost,
        HOMEIQ_WATCH_SWARM_DATA_HOST: n2.dockerHost,
        HOMEIQ_WATCH_SWARM_DATA_NODE: n2.hostname,
        HOMEIQ_WATCH_CONTAINERS: "",
    });
    expect(jobEnv.watch.HOMEIQ_WATCH_SWARM_SERVICES!.split(" ").sort()).toEqual([APPS, DATA_API, INFLUX].sort());
    const dir = install(jobEnv.watch);
    // Only what this test's watch sends (the drill above reported that it ran late).
    const from = rec.requests().length;
    const day = Math.floor(Date.now() / 1000);
    let ticks = 0;
    /** One run of the installed watch job, a day after the last (its schedule is daily); the run's log. */
    const tick = (): string => {
        ticks += 1;
        const t = runRepoScript("schedule/tick.sh", { HOMEIQ_SCHEDULE_DIR: dir, HOMEIQ_NOW: String(day + ticks * 86400), TZ: "UTC" });
        expect({ code: t.code, out: t.stdout }).toEqual({ code: 0, out: expect.stringContaining(`watch of stack '${STACK}': done`) });
        return fs.readFileSync(lastRun(dir)!.log, "utf8");
    };
    const notices = () => rec.requests().slice(from).filter((q) => q.path === "/ha/api/services/persistent_notification/create").map((q) => JSON.parse(q.body) as { title: string; notification_id: string });
    const hooks = () => rec.requests().slice(from).filter((q) => q.path === "/hook");
    const idOf = (problem: string) => `homeiq_watch_${STACK}_${problem}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");

    // All services run: the only problems are the disks (threshold 1 %): node 2's volumes, measured in its InfluxDB task, and the backup folder here.
    const first = tick();
    expect(first).toMatch(/: 2 problem\(s\) now, 2 notified, 0 cleared$/m);
    const volumes = /the filesystem of the volumes on (\S+) is (\d+) % full \(measured at \/var\/lib\/influxdb2 in (\S+);/.exec(first);
    expect(volumes && [volumes[1], volumes[3]]).toEqual([n2.hostname, INFLUX]);
    // node 2's volumes are under its data root, on this machine's filesystem: df here says the same.
    const df = run("df", ["-P", `/tmp/${NAME}/n2/data/volumes`]).stdout.trim().split("\n")[1]!.split(/\s+/)[4]!.replace("%", "");
    expect(Math.abs(Number(volumes![2]) - Number(df))).toBeLessThanOrEqual(1);
    expect(notices().map((n) => n.notification_id).sort()).toEqual([idOf(`disk:volumes on ${n2.hostname}`), idOf(`disk:${backupRoot}`)].sort());
    let seen = notices().length;
    let seenHooks = hooks().length;
    expect(seenHooks).toBe(2);

    // Scaled to 0 through the manager: one notice on each channel, none on the next run, one when it is back.
    on(n1, ["service", "scale", "--detach", `${APPS}=0`]);
    expect(tick()).toContain(`down:${APPS}: NOTIFIED: ${APPS} is scaled to 0 replicas: it runs nothing`);
    expect(notices().slice(seen).map((n) => [n.notification_id, n.title])).toEqual([[idOf(`down:${APPS}`), `HomeIQ ${STACK}: ${APPS} is scaled to 0 replicas: it runs nothing`]]);
    expect(hooks().length).toBe(seenHooks + 1);
    seen = notices().length;
    seenHooks = hooks().length;
    expect(tick()).toContain(`down:${APPS}: ${APPS} is scaled to 0 replicas: it runs nothing (notified; still so)`);
    expect(notices().length).toBe(seen);
    on(n1, ["service", "scale", `${APPS}=1`]);
    expect(tick()).toContain(`down:${APPS}: CLEARED (notified)`);
    expect(notices().slice(seen).map((n) => n.title)).toEqual([`HomeIQ ${STACK}: resolved: ${APPS} is scaled to 0 replicas: it runs nothing`]);
    seen = notices().length;

    // Unhealthy: swarm stops the task ("unhealthy container") and starts another, which is unhealthy too.
    swarm.docker(n1, ["exec", taskOn(n1, APPS), "touch", "/flag/sick"]);
    const unhealthyFailures = () => on(n1, ["service", "ps", APPS, "--no-trunc", "--format", "{{.Error}}"]).split("\n").filter((e) => e.includes("unhealthy container")).length;
    // Three, the watch's count for a loop (scripts/watch/swarm.sh SWARM_LOOP_FAILURES).
    waitFor("three tasks stopped by swarm as unhealthy", () => unhealthyFailures() >= 3, { timeoutMs: 90_000, intervalMs: 500 });
    const loop = tick();
    expect(loop).toMatch(new RegExp(`^\\[homeiq-watch\\] down:${APPS}: NOTIFIED: ${APPS} runs 0 of 1 replicas; its last task ended unhealthy \\(swarm stopped it: failed: .*unhealthy container\\) \\(\\d+ task failures in the last 15 minutes\\)$`, "m"));
    expect(notices().slice(seen).map((n) => n.notification_id)).toEqual([idOf(`down:${APPS}`)]);
    seen = notices().length;
    // npm run status says the same: down (10), its failed tasks counted, how the last one ended (swarm's words, read through the manager).
    const looping = statusJson();
    const apps = looping.s.services.find((x) => x.name === APPS)!;
    expect({ code: looping.code, ids: looping.s.findings.map((f) => f.id) }).toEqual({ code: 10, ids: [`down:${APPS}`] });
    expect(apps.failedRecently).toBeGreaterThanOrEqual(3);
    expect(apps.lastError).toMatch(/^unhealthy \(swarm stopped it: failed: .*unhealthy container\)$/);

    // Healthy again (the file gone): its task runs, but after that many failures it counts as a restart
    // loop until 15 minutes pass without one: still the one problem, no second notice.
    swarm.docker(n1, ["run", "--rm", "-v", `${STACK}-apps-flag:/flag`, IMAGES.busybox, "rm", "-f", "/flag/sick"]);
    waitFor(`${APPS} running again`, () => on(n1, ["service", "ls", "--filter", `name=${APPS}`, "--format", "{{.Replicas}}"]).startsWith("1/1 "), { timeoutMs: 60_000, intervalMs: 500 });
    // How the last failed task ended is whatever swarm says of it: under load a task started while its predecessor
    // was torn down has once failed on its own ("network sandbox ... not found") after the unhealthy ones.
    expect(statusJson().s.findings.map((f) => f.message)).toEqual([expect.stringMatching(new RegExp(`^${APPS} is restarting in a loop: \\d+ of its tasks failed in the last 15 minutes; the last ended \\S`))]);
    expect(tick()).toMatch(new RegExp(`^\\[homeiq-watch\\] down:${APPS}: ${APPS} is restarting in a loop: \\d+ of its tasks failed in the last 15 minutes; the last ended .+ \\(notified; still so\\)$`, "m"));
    expect(notices().length).toBe(seen);

    // An error line in the running task's log, read through the manager (docker service logs): one notice.
    swarm.docker(n1, ["exec", taskOn(n1, APPS), "touch", "/flag/err"]);
    waitFor("the error line in the service's log", () => swarm.docker(n1, ["service", "logs", "--raw", APPS]).stdout.includes("ERROR: stand-in failure"), { timeoutMs: 30_000, intervalMs: 500 });
    expect(tick()).toMatch(new RegExp(`^\\[homeiq-watch\\] errors:${APPS}: NOTIFIED: ${APPS} wrote 1 error line\\(s\\) since its task was created at \\S+ \\(see: docker service logs --since \\S+ ${APPS}\\)$`, "m"));
    expect(notices().slice(seen).map((n) => n.notification_id)).toEqual([idOf(`errors:${APPS}`)]);
    seen = notices().length;

    // Memory of its task, read on node 1's engine against the service's limit (96 MiB): a dd holding a 64 MiB buffer.
    const task = taskOn(n1, APPS);
    swarm.docker(n1, ["exec", "-d", task, "sh", "-c", "dd if=/dev/zero bs=64M count=1 | sleep 600"]);
    waitFor("the task over 70 % of its memory limit", () => Number(swarm.docker(n1, ["stats", "--no-stream", "--format", "{{.MemPerc}}", task]).stdout.trim().replace("%", "")) >= 70, { timeoutMs: 30_000, intervalMs: 500 });
    expect(tick()).toMatch(new RegExp(`^\\[homeiq-watch\\] memory:${APPS}: NOTIFIED: ${APPS} uses [\\d.]+% of its memory limit \\(criterion: under 70 %\\)$`, "m"));
    expect(notices().slice(seen).map((n) => n.notification_id)).toEqual([idOf(`memory:${APPS}`)]);
    seen = notices().length;
    swarm.docker(n1, ["exec", task, "sh", "-c", "kill $(pidof dd)"]);
    waitFor("the task back under 70 %", () => Number(swarm.docker(n1, ["stats", "--no-stream", "--format", "{{.MemPerc}}", task]).stdout.trim().replace("%", "")) < 70, { timeoutMs: 30_000, intervalMs: 500 });
    expect(tick()).toContain(`memory:${APPS}: CLEARED (notified)`);
    expect(notices().slice(seen).map((n) => n.title)).toEqual([expect.stringMatching(new RegExp(`^HomeIQ ${STACK}: resolved: ${APPS} uses [\\d.]+% of its memory limit`))]);
    for (const q of rec.requests()) expect(q.body).not.toContain(HA_TOKEN);
}, 300_000);

test("the scheduled backup, started by cron from the installed entry, backs up the tasks on the data node; the copy follows; the drill restores it there", async () => {
    // The program's own job: the data node's engine, the manager, the swarm wrapper's service names.
    expect(jobEnv.backup).toMatchObject({
        DOCKER_HOST: n2.dockerHost,
        HOMEIQ_SWARM_MANAGER: n1.dockerHost,
        HOMEIQ_SCHEDULE_COMMAND: "backup/scheduled.sh",
        HOMEIQ_SCHEDULE_WHEN: "every 1",
        HOMEIQ_INFLUX_CONTAINER: INFLUX,
        HOMEIQ_SQLITE_DBS: `data-api=${DATA_API}:/app/data/metadata.db`,
    });
    const dir = backupDir;
    expect(crontab()).toContain(`* * * * * HOMEIQ_SCHEDULE_DIR=${dir} /bin/bash ${dir}/scripts/schedule/tick.sh >>${dir}/tick.log 2>&1 # homeiq-schedule ${dir}`);
    expect(crontab()).not.toContain(TOKEN);

    // Up to a minute after the install for cron's tick (most of it passed during the watch test), then the backup and the copy.
    const runResult = await waitForAsync("the scheduled backup run by cron", async () => lastRun(dir), { timeoutMs: 180_000, intervalMs: 500 });
    const runLog = fs.readFileSync(runResult.log, "utf8");
    expect({ result: runResult.result, exitCode: runResult.exitCode, log: runResult.exitCode === 0 ? "" : runLog }).toEqual({ result: "ok", exitCode: 0, log: "" });
    expect(fs.readFileSync(path.join(dir, "tick.log"), "utf8")).toContain(`backup of stack '${STACK}': running the run due at`);
    expect(runLog).not.toContain(TOKEN);
    // "every 1" ran once a minute meanwhile: the schedule goes now, as `pulumi destroy` removes it
    // (remove.sh waits for a run in progress); every run it recorded succeeded.
    const runs = fs.readFileSync(path.join(dir, "runs.log"), "utf8").trim().split("\n");
    expect(runRepoScript("schedule/remove.sh", { HOMEIQ_SCHEDULE_DIR: dir }).code).toBe(0);
    expect(crontab()).not.toContain(dir);
    expect(runs.filter((l) => !/ backup due=\S+ result=ok exit=0 /.test(l))).toEqual([]);

    const folders = fs.readdirSync(path.join(backupRoot, STACK)).filter((n) => /^\d{8}T\d{6}Z$/.test(n)).sort();
    expect(folders.length).toBeGreaterThanOrEqual(runs.length);
    const backup = path.join(backupRoot, STACK, folders[folders.length - 1]!);
    const manifest = JSON.parse(fs.readFileSync(path.join(backup, "manifest.json"), "utf8"));
    expect({ reason: manifest.reason, influx: manifest.influxdb.status, sqlite: manifest.sqlite.map((e: { service: string; status: string }) => [e.service, e.status]) }).toEqual({
        reason: "scheduled",
        influx: "backed-up",
        sqlite: [["data-api", "backed-up"]],
    });
    // The task containers it read are node 2's, found through its engine (the manager runs neither).
    expect(on(n1, ["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${INFLUX}`])).toBe("");
    // Verified as a restore verifies it (every file's size and sha256), and the SQLite file holds the task's row.
    const verify = run("bash", [path.join(REPO_ROOT, "scripts/backup/restore.sh")], {
        env: { HOMEIQ_RESTORE_DIR: backup, HOMEIQ_STACK: STACK, HOMEIQ_RESTORE_VERIFY_ONLY: "1" },
        allowFail: true,
    });
    expect({ code: verify.code, stderr: verify.stderr }).toEqual({ code: 0, stderr: "" });
    const rows = run("python3", ["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select n from events').fetchall())", path.join(backup, "sqlite/data-api/metadata.db")]);
    expect(rows.stdout.trim()).toBe("[(7,)]");
    // The off-host copy of the scheduled job: each backup folder is one snapshot in the restic repository.
    const snapshots = run("restic", ["-r", copyRepo, "snapshots", "--json"], { env: { RESTIC_PASSWORD: COPY_PASSPHRASE } });
    const tags = (JSON.parse(snapshots.stdout) as Array<{ tags: string[] }>).map((t) => t.tags.find((x) => x.startsWith("folder="))).sort();
    expect(tags).toEqual(folders.map((f) => `folder=${f}`));

    // The drill job (monthly), made due as after a missed month, runs on its tick against node 2's engine.
    expect(jobEnv.drill).toMatchObject({ DOCKER_HOST: n2.dockerHost, HOMEIQ_SCHEDULE_COMMAND: "backup/drill.sh" });
    const drillDir = install(jobEnv.drill);
    fs.writeFileSync(path.join(drillDir, "state"), "last_slot=0\nlast_failure=0\n");
    runRepoScript("schedule/tick.sh", { HOMEIQ_SCHEDULE_DIR: drillDir, TZ: "UTC" });
    // cron may have taken that tick first (one at a time: tick.lock): wait for the run either way.
    const drill = waitFor("the drill's run", () => lastRun(drillDir), { timeoutMs: 120_000, intervalMs: 500 });
    const drillLog = fs.readFileSync(drill.log, "utf8");
    expect({ result: drill.result, log: drill.result === "ok" ? "" : drillLog }).toEqual({ result: "ok", log: "" });
    expect(drillLog).toMatch(/local: sqlite data-api: integrity_check ok, rows: events=1/);
    for (const source of ["local", "copy"]) {
        expect(drillLog).toContain(`${source}: influxdb: restored, answers with the stack's token, bucket home_assistant_events of org homeiq present`);
    }
    // Its scratch containers ran on node 2 and are gone.
    expect(on(n2, ["ps", "-aq", "--filter", "label=com.homeiq.scratch"])).toBe("");
}, 360_000);

test("install.sh refuses a schedule whose manager is remote, naming both (one reaching an ssh:// data node from a local manager: swarm-ssh.test.ts)", () => {
    const dir = path.join(res.tmpDir("i18c-op-remote"), "backup");
    const env = { ...jobEnv.backup, HOMEIQ_SCHEDULE_DIR: dir, HOMEIQ_SCHEDULE_WHEN: "monthly 1 03:00", DOCKER_HOST: "ssh://admin@nas.lan", TZ: "UTC" };
    const refused = runRepoScript("schedule/install.sh", { ...env, HOMEIQ_SWARM_MANAGER: "ssh://admin@manager.lan" });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("a schedule runs on the machine that runs 'pulumi up'; with DOCKER_HOST=ssh://... that is not the Docker host nor the swarm manager");
    expect(fs.existsSync(dir)).toBe(false);
    expect(crontab()).not.toContain(dir);
});
