/**
 * The synthesized inputs do not depend on where the checkout is or whose machine synthesized them:
 * `npm run synth` in two copies of the project, with other homes and users, prints the same document.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";

const ROOT = path.resolve(__dirname, "..", "..");
const COMMAND = "command:local:Command";
const run = promisify(execFile);

describe("synthesized inputs do not depend on the checkout's path or the machine", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-checkouts-"));
    // What `npm run synth` reads; bin/ too, so each copy runs the compiled program when it is current (as after `npm ci`).
    const PROJECT = ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "package.json", "tsconfig.json", "tsconfig.build.json", "launch.js", "index.ts", "program.ts", "catalog", "components", "config", "plan", "stacks", "synth", "scripts", "images", "bin"];
    const checkouts = [path.join(tmp, "a", "homeiq-infra"), path.join(tmp, "b", "elsewhere", "deeper", "checkout")];

    beforeAll(() => {
        for (const dir of checkouts) {
            fs.mkdirSync(dir, { recursive: true });
            for (const entry of PROJECT) if (fs.existsSync(path.join(ROOT, entry))) fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
            fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
            fs.mkdirSync(path.join(dir, "home"));
        }
    });
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    const synthIn = async (dir: string, stack: string): Promise<string> => {
        const { stdout } = await run(process.execPath, ["launch.js", "synth/cli", stack, "--skip-checkout-check"], {
            cwd: dir,
            env: { PATH: process.env.PATH, HOME: path.join(dir, "home"), USER: path.basename(dir) },
            maxBuffer: 64 * 1024 * 1024,
        });
        return stdout;
    };

    it.each(["dev", "prod"])("stack %s: the same document from two checkouts, homes and users", async (stack) => {
        const [a, b] = await Promise.all(checkouts.map((dir) => synthIn(dir, stack)));
        const doc = JSON.parse(a) as { resources: Array<{ type: string; inputs: Record<string, unknown> }> };
        expect(doc.resources.length).toBeGreaterThan(60);
        // Neither checkout nor home appears anywhere; so the two documents are byte for byte the same.
        for (const dir of checkouts) {
            expect(a).not.toContain(dir);
            expect(b).not.toContain(dir);
        }
        expect(b).toBe(a);
        const backup = doc.resources.find((r) => r.type === COMMAND && (r.inputs.environment as Record<string, string>)?.HOMEIQ_BACKUP_ROOT);
        expect((backup!.inputs.environment as Record<string, string>).HOMEIQ_BACKUP_ROOT).toBe("~/homeiq-backups");
    });
});
