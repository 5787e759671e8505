/**
 * One rule for an error line, in two languages: the deploy gate's bash (scripts/validate/error-lines.sh)
 * and `npm run status`'s rule (operate/status.ts isErrorLine) classify the same hand-labelled lines
 * the same way, and as labelled.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isErrorLine } from "../../operate/status";

const SCRIPT = path.resolve(__dirname, "..", "..", "scripts", "validate", "error-lines.sh");

/** [line, is it an error line] */
const LINES: Array<[string, boolean]> = [
    ["2025-10-14 12:00:00,123 - websocket-ingestion - ERROR - Connection to Home Assistant failed", true],
    ["2025-10-14 12:00:00 CRITICAL database is locked", true],
    ['{"timestamp": "2025-10-14T12:00:00Z", "level": "ERROR", "message": "write failed"}', true],
    ['{"levelname":"critical","msg":"x"}', true],
    ["Traceback (most recent call last):", true],
    ['2025/10/14 12:00:00 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream', true],
    ["2025/10/14 12:00:00 [emerg] 1#1: host not found in upstream", true],
    ["level=error msg=\"disk full\"", true],
    ["FATAL: cannot write SQLite database /app/data/metadata.db", true],
    ["connection error, retrying in 5 s", true],
    ["2025-10-14 12:00:00,123 - data-api - INFO - Started", false],
    ['{"level": "INFO", "service": "x", "errors": 0}', false],
    ["0 errors so far", false],
    ["error_count=0", false],
    ["2025/10/14 12:00:00 [notice] 1#1: using the epoll event method", false],
    ["2025/10/14 12:00:00 [warn] 1#1: the \"user\" directive makes sense only if the master process runs as root", false],
    ['172.18.0.1 - - [14/Oct/2025:12:00:00 +0000] "GET /health HTTP/1.1" 200 2', false],
    // The Docker API proxy refusing a write, as it must: nginx logs every `deny` at error level.
    ['2026/12/06 04:30:00 [error] 12#12: *3 access forbidden by rule, client: 172.19.0.3, server: , request: "POST /v1.43/containers/x/restart HTTP/1.1"', false],
    ["[enrichment-pipeline STAND-IN] Docker socket not usable: tcp://docker-api-proxy:2375: ENOENT (errno 2): No such file or directory", false],
];

describe("what counts as an error line in a container's log", () => {
    it("the status's regex labels every line as expected", () => {
        expect(LINES.map(([line]) => [line, isErrorLine(line)])).toEqual(LINES);
    });

    it("the deploy gate's bash agrees, line by line and in a count", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-error-lines-"));
        try {
            const each = LINES.map(([line]) => {
                const f = path.join(dir, "one.log");
                fs.writeFileSync(f, `${line}\n`);
                const r = spawnSync("bash", [SCRIPT, f], { encoding: "utf8" });
                if (r.status !== 0) throw new Error(`error-lines.sh exited ${r.status}: ${r.stderr}`);
                return [line, r.stdout.trim() === "1"];
            });
            expect(each).toEqual(LINES);
            const all = path.join(dir, "all.log");
            fs.writeFileSync(all, LINES.map(([l]) => l).join("\n")); // the last line without a newline counts too
            const r = spawnSync("bash", [SCRIPT, all], { encoding: "utf8" });
            expect(r.stdout.trim()).toBe(String(LINES.filter(([, e]) => e).length));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
