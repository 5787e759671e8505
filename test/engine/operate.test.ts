/**
 * `npm run status` (operate/statusCli.ts) against a running stand-in stack (operate-stack.ts), as a
 * user runs it: every field read back against the engine's own answer, then one problem of each
 * kind made on purpose (a stopped process that turns unhealthy, a process over data-api's memory
 * share, error lines written to a service's log, a retagged image, a config change not deployed,
 * a latency criterion no endpoint meets) and the exit code and finding that name it; and the same
 * status through an ssh:// engine (a real sshd on this machine, test/engine/sshd.ts, whose sessions are counted).
 * Then the watch (scripts/watch/watch.sh) against the same stack, notifying a stand-in Home Assistant
 * and webhook that record every request: one notice per problem once it lasted its grace, none while
 * it stays, one when it clears.
 */
import * as fs from "fs";
import * as path from "path";
import { docker, REPO_ROOT, Resources, run, waitFor, type RunResult } from "./helpers";
import { startSshd } from "./sshd";
import { runRepoScript, startRecorder, type Recorder, type RecordedRequest } from "./notify-helpers";
import { applyOperateStack, holdOperateLock, OPERATE_DATA_API_MEMORY_MIB, OPERATE_PORTS, OPERATE_STACK, type OperateStack } from "./operate-stack";
import type { StackStatus } from "../../operate/status";
import { loadStackPlan } from "../../operate/stackPlan";
import { watchEnvironment } from "../../components/stackWatch";

/**
 * The stand-in InfluxDB answers HTTP through socat and a bash per request: on a loaded 2-core machine
 * its p95 passes 100 ms now and then. Tests of other criteria give the latency criterion room
 * (RELAXED); the latency test sets its own.
 */
const RELAXED = ["--latency-ms", "2000"];
/** The sshd of the ssh:// test (18g's port range). */
const OPERATE_SSH_PORT = 43251;

function status(stack: OperateStack, args: string[] = RELAXED, env: Record<string, string> = {}): RunResult {
    return run("npm", ["--prefix", REPO_ROOT, "run", "-s", "status", "--", OPERATE_STACK, ...args], {
        env: { HOMEIQ_PROJECT_DIR: stack.projectDir, ...env },
        allowFail: true,
        timeoutMs: 180_000,
    });
}

function statusJson(stack: OperateStack, args: string[] = RELAXED, env: Record<string, string> = {}): { r: RunResult; s: StackStatus } {
    const r = status(stack, ["--json", ...args], env);
    if (!r.stdout.trim().startsWith("{")) throw new Error(`status printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    return { r, s: JSON.parse(r.stdout) as StackStatus };
}

const inspectOf = (c: string): { RestartCount: number; Image: string; State: { StartedAt: string; Health?: { Status: string } }; HostConfig: { Memory: number; NanoCpus: number } } =>
    JSON.parse(docker(["inspect", c]).stdout)[0];
const healthOf = (c: string): string => inspectOf(c).State.Health?.Status ?? "none";

describe("operating a running stand-in stack: npm run status and the watch", () => {
    let stack: OperateStack;
    let appliedAt: number;
    const log: string[] = [];

    let release: (() => void) | undefined;

    beforeAll(async () => {
        release = await holdOperateLock();
        appliedAt = Date.now();
        stack = await applyOperateStack((l) => log.push(l));
    }, 15 * 60_000);

    afterAll(async () => {
        if (stack) await stack.destroy();
        release?.();
    }, 5 * 60_000);

    it("reports every container's state, health, restarts, uptime, endpoint p95, memory and CPU against its limits, error lines, volumes and backups; all well: exit 0", () => {
        const { r, s } = statusJson(stack);
        expect({ code: r.code, findings: s.findings }).toEqual({ code: 0, findings: [] });
        expect(s.containers.map((c) => c.container).sort()).toEqual(Object.keys(OPERATE_PORTS).map((k) => `${OPERATE_STACK}-${k}`).sort());
        for (const c of s.containers) {
            const i = inspectOf(c.container);
            expect({ c: c.container, state: c.state, health: c.health, restarts: c.restarts, startedAt: c.startedAt }).toEqual({
                c: c.container, state: "running", health: "healthy", restarts: i.RestartCount, startedAt: i.State.StartedAt,
            });
            expect(c.uptimeSeconds).toBeGreaterThanOrEqual(0);
            expect(c.uptimeSeconds!).toBeLessThanOrEqual((Date.now() - appliedAt) / 1000 + 5);
            expect(c.image.runningId).toBe(i.Image);
            expect(c.image.expectedId).toBe(i.Image);
            expect(c.labelDiffs).toEqual([]);
            expect(c.memory!.limitBytes).toBe(i.HostConfig.Memory);
            expect(c.memory!.percent).toBeCloseTo((100 * c.memory!.usedBytes) / c.memory!.limitBytes, 0);
            expect(c.cpu!.limitCpus).toBe(i.HostConfig.NanoCpus / 1e9);
            expect(c.errorLines).toEqual({ count: 0, since: i.State.StartedAt });
            const port = OPERATE_PORTS[c.service as keyof typeof OPERATE_PORTS];
            expect(c.endpoint!.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/`));
            expect({ requests: c.endpoint!.requests, failed: c.endpoint!.failed }).toEqual({ requests: 20, failed: 0 });
            expect(c.endpoint!.p95Ms!).toBeLessThanOrEqual(c.endpoint!.maxMs!);
        }
        expect(s.containers.find((c) => c.service === "data-api")!.memory!.limitBytes).toBe(OPERATE_DATA_API_MEMORY_MIB * 1024 * 1024);
        const volumes = docker(["volume", "ls", "-q", "--filter", `label=com.homeiq.stack=${OPERATE_STACK}`]).stdout.split("\n").filter(Boolean).sort();
        expect(s.disk.volumes.map((v) => v.name).sort()).toEqual(volumes);
        for (const v of s.disk.volumes) expect(v.bytes).toEqual(expect.any(Number));
        expect(s.disk.backup!.folder).toBe(path.join(stack.backupRoot, OPERATE_STACK));
        expect(s.disk.backup!.filesystem!.usedPercent).toBeGreaterThan(0);

        const human = status(stack);
        console.log(human.stdout);
        expect(human.code).toBe(0);
        expect(human.stdout).toMatch(/^CONTAINER\s+STATE\s+HEALTH\s+RESTARTS\s+UP\s+P95 \(<2000ms\)\s+MEMORY \(<70%\)\s+CPU \(<50%\)\s+ERRORS\s+IMAGE\/LABELS$/m);
        expect(human.stdout).toMatch(new RegExp(`^${OPERATE_STACK}-data-api\\s+running\\s+healthy\\s+0\\s+\\d+[smhd]\\s+\\d+ ms\\s+[\\d.]+% of 160\\.0 MiB\\s+[\\d.]+% of [\\d.]+\\s+0\\s+ok$`, "m"));
        expect(human.stdout).toContain("all well: 4 containers meet every criterion");
    }, 120_000);

    it("reports the backup folder's size and the last backup: one taken with the environment of the stack's own backup Command", () => {
        const final = stack.result.state.resources.find((r) => r.type === "command:local:Command" && r.name === "homeiq-final-backup")!;
        // A secret input is kept wrapped ({ value }) in the applied state: the script gets its value, as the provider gives it.
        const env = Object.fromEntries(Object.entries(final.inputs.environment as Record<string, unknown>).map(([k, v]) => [k, typeof v === "string" ? v : String((v as { value: unknown }).value)]));
        const backup = run("bash", [path.join(REPO_ROOT, "scripts", "backup", "backup.sh")], { env, allowFail: true, timeoutMs: 180_000 });
        expect({ code: backup.code, err: backup.code === 0 ? "" : backup.stderr }).toEqual({ code: 0, err: "" });
        const dir = /^HOMEIQ_BACKUP_DIR=(.+)$/m.exec(backup.stdout)![1]!;
        const { s } = statusJson(stack);
        const b = s.disk.backup!;
        expect({ folder: b.folder, exists: b.exists, last: b.last }).toEqual({
            folder: path.dirname(dir),
            exists: true,
            last: { name: path.basename(dir), ageSeconds: expect.any(Number), complete: true },
        });
        expect(b.last!.ageSeconds).toBeLessThan(300);
        expect(b.bytes).toBe(Number(run("du", ["-sk", b.folder]).stdout.split(/\s/)[0]) * 1024);
        const human = status(stack);
        expect(human.stdout).toMatch(new RegExp(`^backups: ${b.folder} [\\d.]+ MiB, last ${path.basename(dir)} \\(\\d+[sm] ago, complete\\); its filesystem \\d+% full`, "m"));
    }, 240_000);

    it("the deploy gate of that `up` judged the review's deploy-time criteria: p95 under 100 ms, no error lines since start; memory and CPU reported", () => {
        const gate = stack.result.state.resources.find((r) => r.type === "command:local:Command" && r.name === "homeiq-validation")!;
        const out = String(gate.state.stdout);
        expect(out).toContain("latency criterion: p95 of 20 requests under 100 ms for each service");
        for (const k of Object.keys(OPERATE_PORTS)) {
            expect(out).toMatch(new RegExp(`^error lines: ${OPERATE_STACK}-${k}: 0 since it started at `, "m"));
            expect(out).toMatch(new RegExp(`^usage: ${OPERATE_STACK}-${k}  memory [\\d.]+% `, "m"));
        }
        expect(out).toContain("validation passed: 4 of 4 services");
    });

    it("fails with exit 12 naming each endpoint whose p95 is over the latency criterion", () => {
        const { r, s } = statusJson(stack, ["--latency-ms", "1"]);
        expect(r.code).toBe(12);
        expect(s.findings.map((f) => f.id).sort()).toEqual(Object.keys(OPERATE_PORTS).map((k) => `slow:${OPERATE_STACK}-${k} endpoint`).sort());
        for (const f of s.findings) expect(f.message).toMatch(/p95 \d+ ms over 20 requests \(criterion: under 1 ms\)/);
    }, 120_000);

    it("flags drift with exit 11: a container whose image is no longer the stack's, and labels that differ from the stack's config", async () => {
        const c = stack.container("enrichment-pipeline");
        const ref = String(stack.result.synth.resources.find((x) => x.type === "docker:index/image:Image" && String(x.inputs.imageName).includes("enrichment-pipeline"))!.inputs.imageName);
        const original = inspectOf(c).Image;
        // What a rebuild without a replace leaves: the stack's tag now names another image.
        docker(["tag", String(stack.result.synth.resources.find((x) => x.type === "docker:index/remoteImage:RemoteImage")!.inputs.name), ref]);
        try {
            const { r, s } = statusJson(stack);
            expect(r.code).toBe(11);
            expect(s.findings.map((f) => f.id)).toEqual([`drift:${c} image`]);
            expect(s.findings[0]!.message).toContain(`${c} runs image ${original.replace("sha256:", "").slice(0, 12)}, the stack's ${ref} is `);
        } finally {
            docker(["tag", original, ref]);
        }
        // The stack file now asks for a clean rebuild that was not deployed: every container's label differs.
        await stack.withConfig({ "homeiq:rebuildGeneration": 1 }, async () => {
            const { r, s } = statusJson(stack);
            expect(r.code).toBe(11);
            for (const x of s.containers) expect(x.labelDiffs).toEqual([{ label: "com.homeiq.rebuild-generation", expected: "1", actual: "0" }]);
            expect(s.findings.map((f) => f.id).sort()).toEqual(Object.keys(OPERATE_PORTS).map((k) => `drift:${OPERATE_STACK}-${k} labels`).sort());
        });
    }, 120_000);

    it("names an unhealthy service (exit 10), one over its memory share and one writing error lines, each in its own finding; then clears", () => {
        const sports = stack.container("sports-data");
        const dataApi = stack.container("data-api");
        const enrichment = stack.container("enrichment-pipeline");
        // 120 MiB of touched memory in data-api (160 MiB limit), held until /tmp/i19-release exists.
        const hog = "import os, time\nb = b'\\x01' * (120 * 1024 * 1024)\nwhile not os.path.exists('/tmp/i19-release'): time.sleep(0.2)\n";
        docker(["exec", "-d", dataApi, "python3", "-c", hog]);
        for (let i = 1; i <= 3; i++) docker(["exec", enrichment, "sh", "-c", `echo "2026-12-06 04:00:0${i} ERROR i19: injected error line ${i}" >/proc/1/fd/1`]);
        docker(["kill", "--signal", "STOP", sports]);
        try {
            waitFor(`${sports} unhealthy`, () => healthOf(sports) === "unhealthy", { timeoutMs: 60_000, intervalMs: 500 });
            waitFor(`${dataApi} over 70 % of its memory`, () => {
                const pct = Number(docker(["stats", "--no-stream", "--format", "{{.MemPerc}}", dataApi]).stdout.trim().replace("%", ""));
                return pct >= 70;
            }, { timeoutMs: 60_000, intervalMs: 500 });
            const { r, s } = statusJson(stack);
            expect(r.code).toBe(10);
            const ids = s.findings.map((f) => f.id);
            expect(ids).toEqual([`down:${sports}`, `down:${sports} endpoint`, `errors:${enrichment}`, `memory:${dataApi}`]);
            const by = new Map(s.containers.map((c) => [c.container, c]));
            expect(by.get(sports)!.health).toBe("unhealthy");
            expect(by.get(sports)!.endpoint!.failure).toBe("timeout");
            expect(by.get(enrichment)!.errorLines!.count).toBe(3);
            expect(by.get(dataApi)!.memory!.percent).toBeGreaterThanOrEqual(70);
            const human = status(stack);
            console.log(human.stdout);
            expect(human.code).toBe(10);
            expect(human.stdout).toContain(`[down] ${sports} is running but unhealthy`);
            expect(human.stdout).toContain(`[errors] ${enrichment}: 3 error line(s) in its log since it started at`);
            expect(human.stdout).toMatch(new RegExp(`\\[memory\\] ${dataApi}: memory \\d+\\.\\d % of its 160\\.0 MiB limit \\(criterion: under 70 %\\)`));
        } finally {
            docker(["kill", "--signal", "CONT", sports]);
            docker(["exec", dataApi, "sh", "-c", "touch /tmp/i19-release"]);
        }
        // Error lines count since the container started: a restart starts a clean page. (The stopped
        // sports-data logs the broken connections of the requests that timed out once it runs again.)
        docker(["restart", "-t", "5", enrichment, sports]);
        waitFor("the stack healthy again", () => [sports, enrichment].every((c) => healthOf(c) === "healthy"), { timeoutMs: 60_000, intervalMs: 500 });
        waitFor(`${dataApi} back under 70 %`, () => Number(docker(["stats", "--no-stream", "--format", "{{.MemPerc}}", dataApi]).stdout.trim().replace("%", "")) < 70, { timeoutMs: 60_000, intervalMs: 500 });
        const after = statusJson(stack);
        expect({ code: after.r.code, findings: after.s.findings }).toEqual({ code: 0, findings: [] });
    }, 300_000);

    it("works through an ssh:// engine: the docker CLI and the endpoint probes both go through a real sshd to the Docker host", async () => {
        // A real OpenSSH server on this machine (test/engine/sshd.ts): the Docker host is this machine, reached by ssh.
        const sshd = startSshd("i19-operate", OPERATE_SSH_PORT);
        try {
            await stack.withConfig({ "homeiq:dockerHost": sshd.dockerHost, "homeiq:postDeployValidation": false }, async () => {
                const { r, s } = statusJson(stack, [...RELAXED, "--requests", "3"], sshd.env);
                expect({ code: r.code, findings: s.findings, dockerHost: s.dockerHost }).toEqual({ code: 0, findings: [], dockerHost: sshd.dockerHost });
                expect(s.containers.every((c) => c.health === "healthy" && c.endpoint!.requests === 3)).toBe(true);
            });
            const sessions = sshd.sessions();
            // Every call was a session of this sshd, logged in with the test key: the docker CLI's (its API over
            // `docker system dial-stdio`) and one curl per endpoint (the probes run on the Docker host), nothing else.
            expect(sessions.filter((x) => x.command !== "docker system dial-stdio" && !/^curl /.test(x.command))).toEqual([]);
            expect(sessions.filter((x) => x.command === "docker system dial-stdio").length).toBeGreaterThan(0);
            expect(sessions.filter((x) => /^curl /.test(x.command))).toHaveLength(Object.keys(OPERATE_PORTS).length);
            expect(sshd.logins()).toBe(sessions.length);
        } finally {
            sshd.stop();
        }
    }, 180_000);

    // ---- the watch --------------------------------------------------------------------------------

    const TOKEN = "i19-watch-test-token-0123456789abcdef";
    const res = new Resources();
    let recorder: Recorder;
    afterAll(() => res.cleanup());

    function watchEnv(stateFile: string, extra: Record<string, string> = {}): Record<string, string> {
        const gate = stack.result.state.resources.find((r) => r.type === "command:local:Command" && r.name === "homeiq-validation")!;
        const env = gate.inputs.environment as Record<string, string>;
        return {
            HOMEIQ_WATCH_STACK: OPERATE_STACK,
            HOMEIQ_WATCH_CONTAINERS: Object.keys(OPERATE_PORTS).map((k) => `${OPERATE_STACK}-${k}`).join(" "),
            HOMEIQ_WATCH_TARGETS: env.HOMEIQ_VALIDATE_TARGETS!,
            HOMEIQ_WATCH_STATE_FILE: stateFile,
            HOMEIQ_WATCH_DISK_PATHS: stack.backupRoot,
            // The stand-in InfluxDB's socat+bash answers are not what this test is about (see RELAXED).
            HOMEIQ_WATCH_MAX_LATENCY_MS: "2000",
            HOMEIQ_HA_URL: recorder.base,
            HOMEIQ_HA_TOKEN: TOKEN,
            HOMEIQ_NOTIFY_WEBHOOK_URL: `${recorder.base}/webhook/i19-topic`,
            ...extra,
        };
    }
    const watch = (env: Record<string, string>): RunResult => {
        const r = runRepoScript("watch/watch.sh", env, 180_000);
        if (r.code !== 0) throw new Error(`watch.sh exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
        return r;
    };
    /** Home Assistant notifications sent so far: [notification_id, title]. */
    const haNotices = (from = 0): Array<[string, string]> =>
        recorder.requests().slice(from).filter((q) => q.path === "/api/services/persistent_notification/create").map((q: RecordedRequest) => {
            const body = JSON.parse(q.body) as { notification_id: string; title: string };
            return [body.notification_id, body.title];
        });
    const webhookTitles = (from = 0): string[] => recorder.requests().slice(from).filter((q) => q.path === "/webhook/i19-topic").map((q) => q.headers.title!);

    it("the watch: a service made unhealthy gives one notice on each channel, none while it stays so, one when it clears", () => {
        recorder = startRecorder(res, "i19-watch");
        const state = path.join(res.tmpDir("i19-watch"), "watch.state");
        const env = watchEnv(state, { HOMEIQ_WATCH_DOWN_MINUTES: "0" });
        const sports = stack.container("sports-data");

        const quiet = watch(env);
        expect(quiet.stdout).toContain("0 problem(s) now, 0 notified, 0 cleared");
        expect(recorder.requests()).toEqual([]);

        docker(["kill", "--signal", "STOP", sports]);
        try {
            waitFor(`${sports} unhealthy`, () => healthOf(sports) === "unhealthy", { timeoutMs: 60_000, intervalMs: 500 });
            const first = watch(env);
            console.log(first.stdout);
            const id = `homeiq_watch_i19_operate_down_${sports.replace(/-/g, "_")}`;
            // One problem (its endpoint fails with it, and is not a second one), one notice per channel.
            expect(haNotices()).toEqual([[id, `HomeIQ ${OPERATE_STACK}: ${sports} is running but unhealthy`]]);
            expect(webhookTitles()).toEqual([`HomeIQ ${OPERATE_STACK}: ${sports} is running but unhealthy`]);
            const ha = recorder.requests().find((q) => q.path === "/api/services/persistent_notification/create")!;
            expect(ha.headers.authorization).toBe(`Bearer ${TOKEN}`);
            expect(JSON.parse(ha.body).message).toContain(`To silence it, add the line 'down:${sports}' to ${state}.silence`);
            // Still unhealthy, twice more: nothing new.
            watch(env);
            const third = watch(env);
            expect(third.stdout).toContain(`down:${sports}: ${sports} is running but unhealthy (notified; still so)`);
            expect(recorder.requests()).toHaveLength(2);
        } finally {
            docker(["kill", "--signal", "CONT", sports]);
        }
        // A fresh start, so the broken connections of the timed-out probes are not error lines of its new life.
        docker(["restart", "-t", "1", sports]);
        waitFor(`${sports} healthy`, () => healthOf(sports) === "healthy", { timeoutMs: 60_000, intervalMs: 500 });
        const cleared = watch(env);
        expect(cleared.stdout).toContain("0 problem(s) now, 0 notified, 1 cleared");
        expect(haNotices(2)).toEqual([[`homeiq_watch_i19_operate_down_${sports.replace(/-/g, "_")}`, `HomeIQ ${OPERATE_STACK}: resolved: ${sports} is running but unhealthy`]]);
        expect(webhookTitles(2)).toEqual([`HomeIQ ${OPERATE_STACK}: resolved: ${sports} is running but unhealthy`]);
        watch(env);
        expect(recorder.requests()).toHaveLength(4);
        expect(fs.readFileSync(state, "utf8")).toBe("");
    }, 300_000);

    it("the watch: a criterion broken for less than its grace gives no notice, past it one per container (minus a silenced one), and one each when it clears", () => {
        const state = path.join(res.tmpDir("i19-watch-grace"), "watch.state");
        const [dataApi, enrichment, sports] = [stack.container("data-api"), stack.container("enrichment-pipeline"), stack.container("sports-data")];
        fs.writeFileSync(`${state}.silence`, `# the user silenced this one\nerrors:${sports}\n`);
        for (const c of [dataApi, enrichment, sports]) docker(["exec", c, "sh", "-c", `echo "2026-12-06 04:30:00 - ERROR - i19 injected" >/proc/1/fd/2`]);
        const from = recorder.requests().length;
        // The clock is the script's HOMEIQ_NOW: 10 minutes of grace pass without waiting for them.
        const t0 = 2_000_000_000;
        const at = (minutes: number): RunResult => watch(watchEnv(state, { HOMEIQ_WATCH_CRITERION_MINUTES: "10", HOMEIQ_NOW: String(t0 + minutes * 60) }));
        const ids = [dataApi, enrichment].map((c) => `homeiq_watch_i19_operate_errors_${c.replace(/-/g, "_")}`).sort();

        at(0);
        const nine = at(9);
        expect(nine.stdout).toContain(`errors:${dataApi}: ${dataApi} wrote 1 error line(s) since it started at `);
        expect(nine.stdout).toMatch(/\(for 9 of 10 minutes before a notice\)/);
        expect(recorder.requests().length).toBe(from);
        const ten = at(10);
        expect(ten.stdout).toContain(`errors:${sports}: ${sports} wrote 1 error line(s)`);
        expect(ten.stdout).toContain(`(silenced in ${state}.silence)`);
        expect(haNotices(from).map(([id]) => id).sort()).toEqual(ids);
        expect(webhookTitles(from)).toHaveLength(2);
        at(30);
        expect(recorder.requests().length).toBe(from + 4);
        // A restart starts a clean log: each notified problem clears with one notice, the silenced one silently.
        docker(["restart", "-t", "1", dataApi, enrichment, sports]);
        waitFor("the three healthy again", () => [dataApi, enrichment, sports].every((c) => healthOf(c) === "healthy"), { timeoutMs: 60_000, intervalMs: 500 });
        const back = at(31);
        expect(back.stdout).toContain("0 problem(s) now, 0 notified, 2 cleared");
        expect(back.stdout).toContain(`errors:${sports}: cleared before its notice`);
        expect(haNotices(from + 4).map(([id]) => id).sort()).toEqual(ids);
        expect(haNotices(from + 4).every(([, title]) => title.startsWith(`HomeIQ ${OPERATE_STACK}: resolved: `))).toBe(true);
        at(32);
        expect(recorder.requests().length).toBe(from + 8);
    }, 300_000);

    it("the watch as `pulumi up` installs it (the StackWatch Command's environment through the host scheduler): a tick runs it and its notice arrives; remove.sh takes it away", () => {
        const dir = res.tmpDir("i19-watch-schedule");
        // A crontab of the test's own: the real user's is shared with every other test on this machine.
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(bin, "crontab"), `#!/bin/sh
case "$1" in
  -l) [ -f "${dir}/crontab" ] || { echo "no crontab" >&2; exit 1; }; cat "${dir}/crontab" ;;
  -) cat >"${dir}/crontab" ;;
  *) cat -- "$1" >"${dir}/crontab" ;;
esac
`, { mode: 0o755 });
        const { plan } = loadStackPlan(stack.projectDir, OPERATE_STACK, { "homeiq:watchEveryMinutes": "1", "homeiq:watchDownMinutes": "0", "homeiq:homeAssistantUrl": recorder.base });
        // Beside the stack's other scheduled jobs, in its backup folder.
        const scheduleDir = plan.watch!.scheduleDir;
        expect(scheduleDir).toBe(path.join(stack.backupRoot, OPERATE_STACK, ".schedule", "watch"));
        const env = {
            ...watchEnvironment(plan.watch!),
            HOMEIQ_WATCH_MAX_LATENCY_MS: "2000", // see RELAXED
            HOMEIQ_HA_TOKEN: TOKEN,
            PATH: `${bin}:${process.env.PATH ?? ""}`,
        };
        const installed = runRepoScript("schedule/install.sh", env);
        expect({ code: installed.code, err: installed.stderr }).toEqual({ code: 0, err: expect.any(String) });
        expect(fs.readFileSync(path.join(dir, "crontab"), "utf8")).toContain(`HOMEIQ_SCHEDULE_DIR=${scheduleDir} /bin/bash ${scheduleDir}/scripts/schedule/tick.sh`);
        const from = recorder.requests().length;
        const sports = stack.container("sports-data");
        docker(["kill", "--signal", "STOP", sports]);
        try {
            waitFor(`${sports} unhealthy`, () => healthOf(sports) === "unhealthy", { timeoutMs: 60_000, intervalMs: 500 });
            // What cron does every minute, two minutes on (a new schedule's first run is its next time).
            const tick = run("/bin/bash", [path.join(scheduleDir, "scripts", "schedule", "tick.sh")], {
                env: { HOMEIQ_SCHEDULE_DIR: scheduleDir, HOMEIQ_NOW: String(Math.floor(Date.now() / 1000) + 120) },
                allowFail: true,
                timeoutMs: 180_000,
            });
            expect({ code: tick.code, out: tick.stdout }).toEqual({ code: 0, out: expect.stringContaining("watch of stack 'i19-operate': done") });
            expect(fs.readFileSync(path.join(scheduleDir, "runs.log"), "utf8")).toMatch(/ watch due=\S+ result=ok exit=0 /);
            expect(haNotices(from)).toEqual([[`homeiq_watch_i19_operate_down_${sports.replace(/-/g, "_")}`, `HomeIQ ${OPERATE_STACK}: ${sports} is running but unhealthy`]]);
            expect(recorder.requests().slice(from).filter((q) => q.path.startsWith("/api/"))[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
        } finally {
            docker(["kill", "--signal", "CONT", sports]);
            docker(["restart", "-t", "1", sports]);
        }
        // The status shows the job's last run, from the scheduler's own record.
        const jobs = statusJson(stack).s.disk.backup!.jobs!;
        expect(jobs.map((j) => [j.job, j.result])).toEqual([["watch", "ok"]]);
        const removed = runRepoScript("schedule/remove.sh", { HOMEIQ_SCHEDULE_DIR: scheduleDir, PATH: env.PATH });
        expect(removed.code).toBe(0);
        expect(fs.readFileSync(path.join(dir, "crontab"), "utf8")).not.toContain(scheduleDir);
        expect(fs.existsSync(scheduleDir)).toBe(false);
        waitFor(`${sports} healthy`, () => healthOf(sports) === "healthy", { timeoutMs: 60_000, intervalMs: 500 });
    }, 300_000);

    it("the watch refuses a malformed environment with exit 2, naming the variable", () => {
        const r = runRepoScript("watch/watch.sh", { HOMEIQ_WATCH_STACK: OPERATE_STACK, HOMEIQ_WATCH_STATE_FILE: "relative/state", HOMEIQ_WATCH_CONTAINERS: "a" });
        expect(r.code).toBe(2);
        expect(r.stderr).toContain("HOMEIQ_WATCH_STATE_FILE='relative/state' is malformed: expected an absolute path");
        const m = runRepoScript("watch/watch.sh", { HOMEIQ_WATCH_STACK: OPERATE_STACK, HOMEIQ_WATCH_STATE_FILE: "/tmp/x", HOMEIQ_WATCH_CONTAINERS: "a", HOMEIQ_WATCH_MEMORY_PERCENT: "170" });
        expect(m.code).toBe(2);
        expect(m.stderr).toContain("HOMEIQ_WATCH_MEMORY_PERCENT='170' is malformed: expected a whole number from 1 to 100");
    });
});
