/**
 * The endpoint probe `npm run status` runs inside a swarm task whose image has python and no curl
 * (operate/swarm.ts PYTHON_PROBE) against curl's (operate/status.ts curlProbeArgs), both read by the one
 * parser (probeOutcome): on the same server, the same requests counted, the same failures named.
 */
import { execFile } from "child_process";
import * as http from "http";
import type { AddressInfo } from "net";
import { curlProbeArgs, probeOutcome } from "../../operate/status";
import { PYTHON_PROBE } from "../../operate/swarm";

let server: http.Server;
let base = "";
let closedPort = 0;

/** Runs a program without blocking this process's event loop (the server answers here): its stdout and exit code. */
const runIt = (argv: readonly string[]): Promise<{ stdout: string; code: number }> =>
    new Promise((resolve) => {
        execFile(argv[0]!, argv.slice(1), { timeout: 30_000 }, (err, stdout) => {
            const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
            resolve({ stdout, code });
        });
    });

const viaCurl = async (url: string, n: number) => {
    const r = await runIt(curlProbeArgs(url, n, 2));
    return probeOutcome(url, n, r.stdout, r.code);
};
const viaPython = async (url: string, n: number) => {
    const r = await runIt(["python3", "-c", PYTHON_PROBE, url, String(n), "2"]);
    return probeOutcome(url, n, r.stdout, r.code, "python3");
};

beforeAll(async () => {
    server = http.createServer((req, res) => {
        res.writeHead(req.url === "/health" ? 200 : 500, { "content-type": "application/json" });
        res.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A port nothing listens on: one a server had, closed again.
    const other = http.createServer();
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    closedPort = (other.address() as AddressInfo).port;
    await new Promise<void>((resolve) => other.close(() => resolve()));
});

afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("the python probe says what curl says", () => {
    it("an endpoint answering 200: every request counted, none failed, a p95", async () => {
        for (const probe of [viaCurl, viaPython]) {
            const r = await probe(`${base}/health`, 5);
            expect({ requests: r.requests, failed: r.failed, failure: r.failure, p95: typeof r.p95Ms }).toEqual({ requests: 5, failed: 0, failure: undefined, p95: "number" });
            expect(r.p95Ms!).toBeLessThan(2000);
        }
    });

    it("an endpoint answering 500: every request failed, HTTP 500", async () => {
        const [curl, python] = [await viaCurl(`${base}/other`, 3), await viaPython(`${base}/other`, 3)];
        expect({ failed: python.failed, failure: python.failure }).toEqual({ failed: 3, failure: "HTTP 500" });
        expect({ failed: python.failed, failure: python.failure }).toEqual({ failed: curl.failed, failure: curl.failure });
    });

    it("nothing listening: it stops at the first request (curl's --fail-early), all counted failed, connection refused", async () => {
        const url = `http://127.0.0.1:${closedPort}/health`;
        const [curl, python] = [await viaCurl(url, 4), await viaPython(url, 4)];
        expect({ failed: python.failed, failure: python.failure }).toEqual({ failed: 4, failure: "connection refused" });
        expect({ failed: python.failed, failure: python.failure }).toEqual({ failed: curl.failed, failure: curl.failure });
    });
});
