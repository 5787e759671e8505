/**
 * The container health gate (scripts/validate/containers-healthy.sh) against real containers: it
 * passes only when every named container is running and `healthy` in Docker's own state, waits for
 * one still `starting`, and names each one that is not (unhealthy, no health check, stopped, missing);
 * the same through an ssh:// engine behind a real sshd (test/engine/sshd.ts).
 */
import * as path from "path";
import { docker, IMAGES, REPO_ROOT, Resources, run, uniqueName, waitFor, type RunResult } from "./helpers";
import { startSshd } from "./sshd";

const SCRIPT = path.join(REPO_ROOT, "scripts", "validate", "containers-healthy.sh");

/** The sshd of the ssh:// test (18g's port range). */
const GATE_SSH_PORT = 43255;

function gate(containers: readonly string[], waitSeconds = 0, env: Record<string, string> = {}): RunResult {
    return run("bash", [SCRIPT], {
        env: { HOMEIQ_HEALTH_CONTAINERS: containers.join(" "), HOMEIQ_HEALTH_WAIT_SECONDS: String(waitSeconds), ...env },
        allowFail: true,
        timeoutMs: 60_000,
    });
}

/** The table's rows: container -> [state, health]. */
function rows(r: RunResult): Record<string, [string, string]> {
    const lines = r.stdout.split("\n").filter((l) => /^\S+\s+\S+\s+\S+$/.test(l) && !l.startsWith("CONTAINER"));
    return Object.fromEntries(lines.map((l) => l.split(/\s+/)).map(([c, s, h]) => [c, [s, h]]));
}

const health = (name: string): string => docker(["inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", name]).stdout.trim();

describe("containers-healthy.sh (the container health gate) on a real engine", () => {
    const res = new Resources();
    const names = { healthy: "", unhealthy: "", none: "", stopped: "", slow: "", missing: uniqueName("gate-missing") };

    beforeAll(() => {
        const start = (tag: string, args: string[], cmd: string[] = ["sleep", "600"]): string => {
            const name = res.container(uniqueName(`gate-${tag}`));
            docker(["run", "-d", "--name", name, ...args, IMAGES.busybox, ...cmd]);
            return name;
        };
        const check = (test: string, extra: string[] = []) => ["--health-cmd", test, "--health-interval", "1s", "--health-retries", "1", ...extra];
        names.healthy = start("healthy", check("true"));
        names.unhealthy = start("unhealthy", check("false"));
        names.none = start("none", []);
        names.stopped = start("stopped", check("true"), ["true"]);
        waitFor(`${names.healthy} healthy`, () => health(names.healthy) === "healthy");
        waitFor(`${names.unhealthy} unhealthy`, () => health(names.unhealthy) === "unhealthy");
        waitFor(`${names.stopped} exited`, () => docker(["inspect", "--format", "{{.State.Status}}", names.stopped]).stdout.trim() === "exited");
    }, 120_000);

    afterAll(() => res.cleanup());

    it("passes when every container is running and healthy", () => {
        const r = gate([names.healthy]);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("health gate passed: 1 of 1 containers healthy");
        expect(rows(r)[names.healthy]).toEqual(["running", "healthy"]);
    });

    it("fails naming each container that is unhealthy, has no health check, has stopped or does not exist", () => {
        const r = gate([names.healthy, names.unhealthy, names.none, names.stopped, names.missing]);
        expect(r.code).toBe(1);
        expect(rows(r)).toEqual({
            [names.healthy]: ["running", "healthy"],
            [names.unhealthy]: ["running", "unhealthy"],
            [names.none]: ["running", "none"],
            [names.stopped]: ["exited", expect.stringMatching(/^(healthy|unhealthy|starting)$/)],
            [names.missing]: ["missing", "-"],
        });
        expect(r.stdout).toContain("health gate failed: 4 of 5 containers not healthy");
        expect(r.stderr).toContain(`${names.unhealthy} (running, health unhealthy)`);
    });

    it("through an ssh:// engine (a real sshd): the same verdict and rows, every docker call a session of that sshd", () => {
        const sshd = startSshd("i18g-gate", GATE_SSH_PORT);
        try {
            const all = [names.healthy, names.unhealthy, names.none, names.missing];
            const local = gate(all);
            const remote = gate(all, 0, { ...sshd.env, DOCKER_HOST: sshd.dockerHost });
            expect({ code: remote.code, rows: rows(remote) }).toEqual({ code: local.code, rows: rows(local) });
            expect(remote.code).toBe(1);
            const sessions = sshd.sessions();
            expect(sessions.length).toBeGreaterThan(0);
            expect(sessions.filter((x) => x.command !== "docker system dial-stdio")).toEqual([]);
            expect(sshd.logins()).toBe(sessions.length);
        } finally {
            sshd.stop();
        }
    });

    it("waits for a container still starting, within HOMEIQ_HEALTH_WAIT_SECONDS", () => {
        // Healthy only once /tmp/ready exists, which the container creates after 3 s.
        names.slow = res.container(uniqueName("gate-slow"));
        docker(["run", "-d", "--name", names.slow, "--health-cmd", "test -f /tmp/ready", "--health-interval", "1s", "--health-start-period", "30s",
            IMAGES.busybox, "sh", "-c", "sleep 3; touch /tmp/ready; sleep 600"]);
        const r = gate([names.slow], 30);
        expect({ code: r.code, row: rows(r)[names.slow] }).toEqual({ code: 0, row: ["running", "healthy"] });
    });

    it("refuses a malformed environment with exit 2, naming the variable", () => {
        const r = run("bash", [SCRIPT], { env: { HOMEIQ_HEALTH_CONTAINERS: "ok bad;name" }, allowFail: true });
        expect(r.code).toBe(2);
        expect(r.stderr).toContain("HOMEIQ_HEALTH_CONTAINERS entry 'bad;name' is not a container name");
        const w = run("bash", [SCRIPT], { env: { HOMEIQ_HEALTH_CONTAINERS: "a", HOMEIQ_HEALTH_WAIT_SECONDS: "soon" }, allowFail: true });
        expect(w.code).toBe(2);
        expect(w.stderr).toContain("HOMEIQ_HEALTH_WAIT_SECONDS='soon' is malformed");
    });
});
