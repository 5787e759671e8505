/**
 * The swarm preflight's refusals (scripts/swarm/preflight.sh), each on the condition it names:
 * - nodes whose daemons do not enforce no-new-privileges, when the profile requires it: a real swarm
 *   of two dedicated engines started without --no-new-privileges (engine/swarm-nodes.sh with
 *   HOMEIQ_SWARM_NODE_NO_NEW_PRIVILEGES=0; the shared engine never enters swarm mode);
 * - a node that is not ready: the same swarm after its worker's dockerd is stopped;
 * - an Engine older than 25: through the script's own version parsing, with a fake `docker` on PATH
 *   answering as an old engine would. A real one cannot run here: the only Engine this machine can
 *   install is 26 (engine/install.sh), and an older dockerd binary is not available offline.
 * A refused swarm gets no node labels (nothing is changed before every check has passed).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT, run, waitFor } from "./helpers";
import { startSwarm, type Swarm } from "./swarm-nodes";

const PREFLIGHT = path.join(REPO_ROOT, "scripts/swarm/preflight.sh");
const preflight = (env: Record<string, string>) => run("bash", [PREFLIGHT], { env: { HOMEIQ_SWARM_MIN_ENGINE: "25", ...env }, allowFail: true, timeoutMs: 60_000 });

describe("on a real swarm whose daemons run without --no-new-privileges", () => {
    let swarm: Swarm;
    const nodesEnv = () => swarm.nodes.map((n, i) => `${n.hostname}=${i === 0 ? "data" : "apps"}@${n.dockerHost}`).join(" ");
    const labelsOf = (hostname: string) => JSON.parse(swarm.docker(swarm.manager, ["node", "inspect", hostname, "--format", "{{json .Spec.Labels}}"]).stdout) as Record<string, string>;

    beforeAll(() => {
        swarm = startSwarm("i18d-pf", 2, "10.242.51", [], { HOMEIQ_SWARM_NODE_NO_NEW_PRIVILEGES: "0" });
    }, 240_000);
    afterAll(() => swarm?.down(), 120_000);

    test("the profile requires no-new-privileges: every node is refused, with the fix; without the requirement the same swarm passes", () => {
        // The opt-out took effect: the daemons do not list it.
        for (const n of swarm.nodes) expect(swarm.docker(n, ["info", "--format", "{{json .SecurityOptions}}"]).stdout).not.toContain("no-new-privileges");
        const refused = preflight({ DOCKER_HOST: swarm.manager.dockerHost, HOMEIQ_SWARM_NODES: nodesEnv(), HOMEIQ_SWARM_REQUIRE_NNP: "1" });
        expect(refused.code).toBe(1);
        expect(refused.stderr.trim().split("\n")).toEqual([
            "swarm preflight: this swarm cannot run the stack:",
            ...swarm.nodes.map(
                (n) =>
                    `  - node ${n.hostname} does not enforce no-new-privileges, which the profile requires and swarm services cannot ask for; ` +
                    'fix: "no-new-privileges": true in its /etc/docker/daemon.json, then restart dockerd',
            ),
        ]);
        expect(swarm.nodes.map((n) => labelsOf(n.hostname))).toEqual([{}, {}]);

        const ok = preflight({ DOCKER_HOST: swarm.manager.dockerHost, HOMEIQ_SWARM_NODES: nodesEnv(), HOMEIQ_SWARM_REQUIRE_NNP: "0" });
        expect([ok.code, ok.stdout.trim()]).toEqual([0, "swarm ready: 2 nodes"]);
        expect(labelsOf(swarm.nodes[0].hostname)).toEqual({ "homeiq.role.data": "true" });
    });

    test("a node whose dockerd is stopped is refused as not Ready", () => {
        const worker = swarm.nodes[1];
        const pid = fs.readFileSync(`/tmp/${swarm.name}/n2/docker.pid`, "utf8").trim();
        run("kill", ["-TERM", pid]);
        // The manager marks it Down after missed heartbeats.
        waitFor(
            `${worker.hostname} Down on the manager`,
            () => swarm.docker(swarm.manager, ["node", "inspect", worker.hostname, "--format", "{{.Status.State}}"]).stdout.trim() === "down",
            { timeoutMs: 90_000, intervalMs: 1000 },
        );
        const refused = preflight({ DOCKER_HOST: swarm.manager.dockerHost, HOMEIQ_SWARM_NODES: nodesEnv(), HOMEIQ_SWARM_REQUIRE_NNP: "0" });
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(`  - node ${worker.hostname} is Down, not Ready; fix: start its dockerd, or remove it from homeiq:swarmNodes\n`);
        expect(refused.stderr).not.toContain(swarm.manager.hostname);
    }, 120_000);
});

describe("an Engine older than 25 (a fake `docker` on PATH: no such engine can run here)", () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "i18d-fake-docker-"));
    // Answers the preflight's calls as a one-node swarm manager running Engine $FAKE_ENGINE_VERSION would.
    fs.writeFileSync(
        path.join(bin, "docker"),
        [
            "#!/usr/bin/env bash",
            'case "$*" in',
            '  "info --format {{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}") echo "active true" ;;',
            '  "node ls --format {{.Hostname}} {{.Status}} {{.Availability}}") echo "oldnode Ready Active" ;;',
            '  "node inspect oldnode --format {{.Description.Engine.EngineVersion}}") echo "$FAKE_ENGINE_VERSION" ;;',
            '  "node update "*) echo "$*" >>"$FAKE_DOCKER_UPDATES" ;;',
            '  *) echo "fake docker: unexpected call: $*" >&2; exit 9 ;;',
            "esac",
        ].join("\n"),
        { mode: 0o755 },
    );
    const updates = path.join(bin, "updates");
    const withVersion = (version: string) => {
        fs.rmSync(updates, { force: true });
        return preflight({
            PATH: `${bin}:${process.env.PATH ?? ""}`,
            DOCKER_HOST: "unix:///nonexistent/i18d.sock",
            HOMEIQ_SWARM_NODES: "oldnode=data+apps@unix:///nonexistent/i18d.sock",
            HOMEIQ_SWARM_REQUIRE_NNP: "0",
            FAKE_ENGINE_VERSION: version,
            FAKE_DOCKER_UPDATES: updates,
        });
    };
    afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

    test.each(["24.0.7", "20.10.24", "dev", ""])("Engine %j is refused with the version it found and the fix; nothing is labelled", (version) => {
        const r = withVersion(version);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`  - node oldnode runs Docker Engine ${version}; at least 25 is needed (health checks use API 1.44); fix: upgrade its engine\n`);
        expect(fs.existsSync(updates)).toBe(false);
    });

    test.each(["25.0.0", "26.1.4", "27.3.1"])("Engine %s passes and the node is labelled", (version) => {
        const r = withVersion(version);
        expect([r.code, r.stderr, r.stdout.trim()]).toEqual([0, "", "swarm ready: 1 nodes"]);
        expect(fs.readFileSync(updates, "utf8").trim()).toBe("node update --label-add homeiq.role.data=true --label-add homeiq.role.apps=true oldnode");
    });
});
