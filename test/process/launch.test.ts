/**
 * launch.js: the program and the synth run from the compiled bin/ when it was built from the
 * sources as they are, and from the sources (ts-node) otherwise; the compiled program is the same
 * program (same resource graph, script paths from the repository root, not from bin/).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { synthesize } from "../../synth/synthesize";

const ROOT = path.resolve(__dirname, "..", "..");
const FALLBACK = "bin/ is missing or was built from other sources";

interface Launch {
    builtFromCurrentSources: () => boolean;
}

function run(cwd: string, cmd: string, args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 });
    if (r.error) throw r.error;
    return { code: r.status ?? 128, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("launch.js: is bin/ built from the current sources?", () => {
    let dir: string;
    let launch: Launch;
    const write = (rel: string, text: string): void => {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), text);
    };

    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-launch-"));
        fs.copyFileSync(path.join(ROOT, "launch.js"), path.join(dir, "launch.js"));
        write("tsconfig.json", '{ "compilerOptions": { "strict": true } }\n');
        write("tsconfig.build.json", '{ "extends": "./tsconfig.json", "include": ["index.ts", "lib/**/*.ts"] }\n');
        write("index.ts", 'export const a = 1;\n');
        write("lib/deep/b.ts", 'export const b = 2;\n');
        write("test/t.test.ts", 'export const t = 3;\n');
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        launch = require(path.join(dir, "launch.js")) as Launch;
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("no: before any build", () => {
        expect(launch.builtFromCurrentSources()).toBe(false);
    });

    it("yes after `node launch.js stamp`; no after any change to an included file or a tsconfig, yes again when undone", () => {
        fs.mkdirSync(path.join(dir, "bin"));
        expect(run(dir, process.execPath, ["launch.js", "stamp"]).code).toBe(0);
        expect(launch.builtFromCurrentSources()).toBe(true);
        const changes: Array<[string, () => void, () => void]> = [
            ["a changed file", () => write("lib/deep/b.ts", "export const b = 20;\n"), () => write("lib/deep/b.ts", "export const b = 2;\n")],
            ["a new file", () => write("lib/c.ts", "export const c = 4;\n"), () => fs.rmSync(path.join(dir, "lib/c.ts"))],
            ["a removed file", () => fs.renameSync(path.join(dir, "index.ts"), path.join(dir, "index.ts.off")), () => fs.renameSync(path.join(dir, "index.ts.off"), path.join(dir, "index.ts"))],
            ["a changed tsconfig", () => write("tsconfig.json", '{ "compilerOptions": { "strict": false } }\n'), () => write("tsconfig.json", '{ "compilerOptions": { "strict": true } }\n')],
        ];
        for (const [name, change, undo] of changes) {
            change();
            expect([name, launch.builtFromCurrentSources()]).toEqual([name, false]);
            undo();
            expect([name, launch.builtFromCurrentSources()]).toEqual([name, true]);
        }
        // Files the build does not compile do not matter.
        write("test/t.test.ts", "export const t = 30;\n");
        expect(launch.builtFromCurrentSources()).toBe(true);
    });
});

describe("launch.js: the SDK's per-promise stacks", () => {
    // In a child process: the wrapper is process-wide.
    const probe = `
require(${JSON.stringify(path.join(ROOT, "launch.js"))}).skipUnusedPromiseStacks();
const { debuggablePromise } = require("@pulumi/pulumi/runtime/debuggable");
const p = Promise.resolve(1);
debuggablePromise(p, "probe");
function thrower() { return new Error("boom").stack; }
console.log(JSON.stringify({ promise: p._debugStackTrace, error: thrower() }));
`;
    const stacks = (env: Record<string, string>): { promise: string; error: string } => {
        const r = run(ROOT, process.execPath, ["-e", probe], env);
        expect(r.stderr).toBe("");
        return JSON.parse(r.stdout) as { promise: string; error: string };
    };

    it("are left unformatted unless PULUMI_DEBUG_PROMISE_LEAKS is set; every other stack is formatted as before", () => {
        const quiet = stacks({ PULUMI_DEBUG_PROMISE_LEAKS: "" });
        expect(quiet.promise).toContain("not formatted: set PULUMI_DEBUG_PROMISE_LEAKS=1");
        expect(quiet.error).toMatch(/^Error: boom\n {4}at thrower \(/);
        const debugging = stacks({ PULUMI_DEBUG_PROMISE_LEAKS: "1" });
        expect(debugging.promise).toMatch(/^Error\n {4}at debuggablePromise \(.*debuggable\.js:\d+:\d+\)/);
    });
});

describe("the compiled program (npm run build in a copy of the repository)", () => {
    let copy: string;
    const toRepo = (text: string): string => text.split(copy).join(ROOT);

    beforeAll(() => {
        copy = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-build-"));
        for (const entry of ["index.ts", "program.ts", "components", "config", "plan", "catalog", "stacks", "synth", "scripts", "images",
            "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "tsconfig.json", "tsconfig.build.json", "package.json", "launch.js", "pulumi-main.js"]) {
            fs.cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
        }
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
        const build = run(copy, "npm", ["run", "build"]);
        expect(build.stderr).toBe("");
        expect(build.code).toBe(0);
    }, 300_000);
    afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));

    it("npm run synth runs bin/ and prints the graph the sources produce, with paths from the repository root", async () => {
        const compiled = run(copy, "npm", ["run", "-s", "synth", "--", "prod", "--skip-checkout-check"]);
        expect(compiled.code).toBe(0);
        expect(compiled.stderr).not.toContain(FALLBACK);
        // Command strings are relative to the project, whichever checkout runs them.
        expect(compiled.stdout).toContain('"create": "bash scripts/backup/backup.sh"');
        expect(compiled.stdout).not.toContain(path.join(copy, "scripts"));
        const fromSources = await synthesize("prod", { verifyCheckout: false });
        const { placeholders: _placeholders, ...document } = fromSources;
        expect(JSON.parse(toRepo(compiled.stdout))).toEqual(JSON.parse(JSON.stringify(document)));
    }, 120_000);

    it("pulumi-main.js (Pulumi's entry point) exports the stack outputs from bin/ under the SDK's mocks", () => {
        const program = `
const pulumi = require("@pulumi/pulumi");
const { readStackFiles } = require("./bin/synth/stackFiles");
const files = readStackFiles(process.cwd(), "dev");
const { mockState } = require("./bin/synth/synthesize");
pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name + "-id", state: mockState(a.type, a.name, a.inputs) }), call: () => ({}) }, "homeiq", "dev", false);
// pulumi up checks the checkout: the stand-in one has every catalog Dockerfile.
files.config["homeiq:homeiqCheckoutPath"] = ${JSON.stringify(path.join(ROOT, "engine", "stack-standins", "homeiq-checkout"))};
pulumi.runtime.setAllConfig(files.config, files.secretKeys);
const outputs = require("./pulumi-main.js");
pulumi.all([outputs.profile, outputs.dashboardUrl, outputs.networkName]).apply((v) => console.log(JSON.stringify(v)));
`;
        const r = run(copy, process.execPath, ["-e", program]);
        expect(r.stderr).not.toContain(FALLBACK);
        expect(r.code).toBe(0);
        const [profile, dashboardUrl, networkName] = JSON.parse(r.stdout.trim().split("\n").slice(-1)[0]!) as [string, string, string];
        expect(profile).toBe("dev");
        expect(dashboardUrl).toMatch(/^http:\/\/(localhost|127\.0\.0\.1):\d+/);
        expect(networkName).toMatch(/^dev-/);
    }, 120_000);

    it("after a source changes, npm run synth says so and runs the sources (the change shows)", () => {
        const profile = path.join(copy, "stacks", "dev.ts");
        fs.writeFileSync(profile, fs.readFileSync(profile, "utf8").replace('logLevel: "DEBUG"', 'logLevel: "WARNING"'));
        const stale = run(copy, "npm", ["run", "-s", "synth", "--", "dev", "--skip-checkout-check"]);
        expect(stale.code).toBe(0);
        expect(stale.stderr).toContain(FALLBACK);
        expect(stale.stdout).toContain("LOG_LEVEL=WARNING");
        expect(stale.stdout).not.toContain("LOG_LEVEL=DEBUG");
    }, 120_000);
});
