/** The engine suite's setup passes each script's output through as it comes, and fails with the script's last lines. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runSetupScript } from "../engine/globalSetup";

let dir: string;
beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-setup-progress-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const script = (name: string, body: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `set -u\n${body}\n`);
    return file;
};

describe("runSetupScript", () => {
    it("writes each line, stdout and stderr, with the prefix while the script still runs", async () => {
        const go = path.join(dir, "go");
        // The script waits for the test to answer its first line: if output were held until it
        // exits, the answer never comes and it exits 3.
        const file = script(
            "streams.sh",
            `echo "step one"\nfor _ in $(seq 100); do [ -e ${go} ] && break; sleep 0.1; done\n[ -e ${go} ] || exit 3\necho "step two" >&2`,
        );
        const lines: string[] = [];
        await runSetupScript(file, 30_000, (text) => {
            lines.push(text);
            if (text.includes("step one")) fs.writeFileSync(go, "");
        });
        expect(lines).toContain("[engine setup] step one\n");
        expect(lines).toContain("[engine setup] step two\n");
        expect(lines[lines.length - 1]).toMatch(/^\[engine setup\] .*streams\.sh ok in \d+\.\d s\n$/);
    });

    it("fails with the exit code and the script's last lines", async () => {
        const file = script("fails.sh", `echo "unpacking"\necho "apt-get update failed" >&2\nexit 3`);
        await expect(runSetupScript(file, 30_000, () => undefined)).rejects.toThrow(/fails\.sh failed \(exit 3\)[\s\S]*apt-get update failed/);
    });

    it("stops a script that runs past its time limit and says so", async () => {
        const file = script("hangs.sh", "sleep 30");
        await expect(runSetupScript(file, 300, () => undefined)).rejects.toThrow(/hangs\.sh failed \(timed out after 0\.3 s\)/);
    });
});
