/**
 * scripts/preflight/ports-free.sh sees a process of the Docker host, not only containers: a native
 * influxd on 8086 or Grafana on 3000 stops `pulumi up` before any container is created, named as a host
 * process. This test's own listener stands in for it (the engine runs on this machine). Ports 44000-44999.
 */
import * as net from "net";
import { docker, uniqueName } from "./helpers";
import { runRepoScript } from "./migrate-helpers";

const HELPER = "homeiq-standin/busybox:test";
const PORT = 44000 + (process.pid % 500);

describe("scripts/preflight/ports-free.sh and processes of the Docker host", () => {
    let server: net.Server;
    const stack = uniqueName("i16-ports");
    const own = `${stack}-influxdb`;
    beforeAll(async () => {
        server = net.createServer();
        await new Promise<void>((resolve, reject) => server.once("error", reject).listen(PORT, "127.0.0.1", resolve));
    });
    afterAll(async () => {
        docker(["rm", "-f", own], { allowFail: true });
        if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const check = (ports: string) => runRepoScript("preflight/ports-free.sh", { HOMEIQ_STACK: stack, HOMEIQ_HOST_PORTS: ports, HOMEIQ_HELPER_IMAGE: HELPER });

    it("refuses a port a host process listens on, naming it as one, with the fix for this stack", () => {
        const r = check(`influxdb=${PORT} data-api=${PORT + 500}`);
        expect(r.code).toBe(7);
        expect(r.stderr).toContain(`host port ${PORT} (influxdb) is taken by a process on the Docker host, not a container`);
        expect(r.stderr).not.toContain(`host port ${PORT + 500}`);
        expect(r.stderr).toContain(`pulumi config set --path 'homeiq:hostPorts[0]' influxdb=PORT --stack ${stack}`);
    });

    it("passes once the process is gone, and never takes the stack's own container for a host process", async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        // The stack's own container on the port (its docker-proxy, if any, listens there): not a conflict.
        docker(["run", "-d", "--name", own, "--label", `com.homeiq.stack=${stack}`, "-p", `127.0.0.1:${PORT}:8086`, HELPER, "sleep", "300"]);
        const r = check(`influxdb=${PORT}`);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
        expect(r.stdout).toContain(`the host ports of stack '${stack}' are free of other containers and host processes (1 checked)`);
    });

    it("refuses to guess when it cannot read the host's sockets (no such helper image)", () => {
        const r = runRepoScript("preflight/ports-free.sh", { HOMEIQ_STACK: stack, HOMEIQ_HOST_PORTS: `influxdb=${PORT}`, HOMEIQ_HELPER_IMAGE: "homeiq-standin/no-such-image:i16" });
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("could not list the Docker host's listening sockets");
    });
});
