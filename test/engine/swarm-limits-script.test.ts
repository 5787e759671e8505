/**
 * scripts/swarm/limits.sh's decisions, with a fake `docker` on PATH that answers as a manager would
 * (the real update on a real swarm: test/engine/swarm-influxdb.test.ts): a spec that already has the
 * limits is not updated (no task restarts); a label that disagrees is refused before any update; an
 * update swarm rolled back fails, naming the service; bad input is refused naming the variable.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT, run } from "./helpers";

const SCRIPT = path.join(REPO_ROOT, "scripts/swarm/limits.sh");
const bin = fs.mkdtempSync(path.join(os.tmpdir(), "i18d-fake-limits-"));
const calls = path.join(bin, "calls");
const updated = path.join(bin, "updated");
// Before an update: FAKE_PIDS and FAKE_ULIMITS; after it: what the update asked for (FAKE_AFTER_*).
fs.writeFileSync(
    path.join(bin, "docker"),
    [
        "#!/usr/bin/env bash",
        'echo "$*" >>"$FAKE_CALLS"',
        'case "$*" in',
        '  "service inspect prod-influxdb --format {{with .Spec.TaskTemplate.Resources}}"*)',
        '    if [ -f "$FAKE_UPDATED" ]; then echo "${FAKE_AFTER_PIDS}|${FAKE_AFTER_ULIMITS}"; else echo "${FAKE_PIDS}|${FAKE_ULIMITS}"; fi ;;',
        '  "service inspect prod-influxdb --format {{index"*) echo "$FAKE_LABEL" ;;',
        '  "service inspect prod-influxdb --format {{with .UpdateStatus}}"*) echo "$FAKE_UPDATE_STATE|update paused due to failure or early termination of task x" ;;',
        '  "service update "*) touch "$FAKE_UPDATED" ;;',
        '  *) echo "fake docker: unexpected call: $*" >&2; exit 9 ;;',
        "esac",
    ].join("\n"),
    { mode: 0o755 },
);
afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

function limits(env: Record<string, string>) {
    fs.rmSync(calls, { force: true });
    fs.rmSync(updated, { force: true });
    const r = run("bash", [SCRIPT], {
        env: {
            PATH: `${bin}:${process.env.PATH ?? ""}`,
            DOCKER_HOST: "unix:///nonexistent/i18d.sock",
            HOMEIQ_SERVICE: "prod-influxdb",
            HOMEIQ_PIDS_LIMIT: "1024",
            HOMEIQ_ULIMITS: "nofile=65536:65536",
            FAKE_CALLS: calls,
            FAKE_UPDATED: updated,
            FAKE_PIDS: "",
            FAKE_ULIMITS: "",
            FAKE_LABEL: "1024",
            FAKE_AFTER_PIDS: "1024",
            FAKE_AFTER_ULIMITS: "nofile=65536:65536 ",
            FAKE_UPDATE_STATE: "completed",
            ...env,
        },
        allowFail: true,
        timeoutMs: 30_000,
    });
    const updates = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").split("\n").filter((l) => l.startsWith("service update")) : [];
    return { ...r, updates };
}

test("a spec without the limits (as the provider leaves it) gets both in one update, checked after it completes", () => {
    const r = limits({});
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.updates).toEqual(["service update --detach --quiet --limit-pids 1024 --ulimit-add nofile=65536:65536 prod-influxdb"]);
    expect(r.stdout.trim()).toBe("[homeiq-swarm-limits] prod-influxdb: pids=1024 ulimits=nofile=65536:65536");
});

test("a spec that has them already is left alone: no update, no restart", () => {
    const r = limits({ FAKE_PIDS: "1024", FAKE_ULIMITS: "nofile=65536:65536 " });
    expect([r.code, r.updates]).toEqual([0, []]);
    expect(r.stdout).toContain("prod-influxdb: already has pids=1024 ulimits=nofile=65536:65536; nothing to update");
});

test("a label that disagrees with the limit is refused before any update", () => {
    const r = limits({ FAKE_LABEL: "256" });
    expect([r.code, r.updates]).toEqual([3, []]);
    expect(r.stderr).toContain("service prod-influxdb: its com.homeiq.pids-limit label is '256', not 1024; nothing set");
});

test("an update swarm rolled back (the task got unhealthy with the limits) fails the step, naming the service and the state", () => {
    const r = limits({ FAKE_UPDATE_STATE: "rollback_completed" });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("service prod-influxdb: the update that sets pids=1024 ulimits=nofile=65536:65536 ended 'rollback_completed'");
});

test("bad input is refused naming the variable and what is allowed, before any docker call", () => {
    for (const [env, message] of [
        [{ HOMEIQ_PIDS_LIMIT: "0" }, "HOMEIQ_PIDS_LIMIT is '0' for prod-influxdb; allowed: a whole number from 10"],
        [{ HOMEIQ_ULIMITS: "nofile=lots" }, "HOMEIQ_ULIMITS entry 'nofile=lots' for prod-influxdb is not name=soft:hard (e.g. nofile=65536:65536)"],
        [{ HOMEIQ_SERVICE: "bad name" }, "HOMEIQ_SERVICE is 'bad name'; allowed: a swarm service name"],
    ] as const) {
        const r = limits(env);
        expect([r.code, r.stderr.trim()]).toEqual([2, `[homeiq-swarm-limits] ERROR: ${message}`]);
        expect(fs.existsSync(calls)).toBe(false);
    }
});
