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
    // Python logging's text format, as sports-data writes it.
    ["2025-10-14 12:00:00,123 - src.scores - ERROR - the scores store has no token", true],
    ["2025-10-14 12:00:00 CRITICAL database is locked", true],
    // The JSON format of HomeIQ's shared logging: the level field decides, whatever the message says.
    ['{"timestamp": "2025-10-14T12:00:00Z", "level": "ERROR", "service": "x", "message": "write failed"}', true],
    ['{"timestamp": "2025-10-14T12:00:00Z", "level": "ERROR", "service": "x", "message": "Something went wrong", "exception": {"type": "OSError", "traceback": "Traceback (most recent call last):\\n ..."}}', true],
    ['{"levelname":"critical","msg":"x"}', true],
    ['{"timestamp": "2025-10-14T12:00:00Z", "level": "INFO", "service": "x", "message": "processed 40 events, errors: 0"}', false],
    ['{"timestamp": "2025-10-14T12:00:00Z", "level": "INFO", "service": "x", "message": "error tracking enabled", "context": {"module": "error_handler"}}', false],
    ['{"timestamp": "2025-10-14T12:00:00Z", "level": "WARNING", "service": "x", "message": "upstream answered 503, ERROR count now 1"}', false],
    ['{"timestamp": "2025-10-14T12:00:00Z", "level": "INFO", "service": "x", "message": "{\\"error\\": \\"none\\"}"}', false],
    ["level=error msg=\"disk full\"", true],
    ["level=info msg=\"error budget 100%\"", false],
    // uvicorn's own lines: the level, a colon, padding.
    ["ERROR:    Exception in ASGI application", true],
    ['INFO:     172.18.0.1:40000 - "GET /api/v1/errors?since=1h HTTP/1.1" 200 OK', false],
    ['INFO:     172.18.0.1:40002 - "GET /api/v1/health HTTP/1.1" 500 Internal Server Error', false],
    ["Traceback (most recent call last):", true],
    ["FATAL: cannot write SQLite database /app/data/metadata.db", true],
    ['2025/10/14 12:00:00 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream', true],
    ["2025/10/14 12:00:00 [emerg] 1#1: host not found in upstream", true],
    ["2025-10-14 12:00:00,123 - data-api - INFO - Started", false],
    ["2025-10-14 12:00:00,123 - data-api - WARNING - retrying after a connection error", false],
    // No level at all: a print, or a record of a logger with no handler (Python's last resort prints
    // the bare message). Not judged: nothing says it is an error rather than a message about one.
    ["connection error, retrying in 5 s", false],
    ["Stream error: the peer went away", false],
    ["0 errors so far", false],
    ["error_count=0", false],
    ["2025/10/14 12:00:00 [notice] 1#1: using the epoll event method", false],
    ["2025/10/14 12:00:00 [warn] 1#1: the \"user\" directive makes sense only if the master process runs as root", false],
    ['172.18.0.1 - - [14/Oct/2025:12:00:00 +0000] "GET /health HTTP/1.1" 200 2', false],
    ['172.18.0.1 - - [14/Oct/2025:12:00:00 +0000] "GET /api/errors HTTP/1.1" 200 2', false],
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
