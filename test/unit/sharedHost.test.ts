/**
 * Two stacks of the project on one Docker host share no host port (synth/sharedHost.ts): the offline synth
 * refuses, before either is deployed, a port that the other stack file uses on the same engine and an
 * overlapping address, with a free port as the fix.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigValidationError } from "../../config/loadConfig";
import { sharedHostProblems } from "../../synth/sharedHost";
import { readStackFiles } from "../../synth/stackFiles";
import { synthesize } from "../../synth/synthesize";

const ROOT = path.join(__dirname, "..", "..");

describe("stacks that share a Docker host", () => {
    let dir: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "i16-shared-"));
        for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const prodWith = (extra: Record<string, string>) => ({ ...readStackFiles(dir, "prod").config, ...extra });

    it("pass as committed: dev's ports are prod's plus 10000", () => {
        expect(sharedHostProblems("prod", prodWith({}), dir)).toEqual([]);
        expect(sharedHostProblems("dev", readStackFiles(dir, "dev").config, dir)).toEqual([]);
    });

    it("refuse a port the other stack uses on the same engine and an overlapping address, with a free one as the fix", () => {
        const problems = sharedHostProblems("prod", prodWith({ "homeiq:hostPorts": JSON.stringify(["data-api=18086"]) }), dir);
        expect(problems).toEqual([
            {
                key: "homeiq:hostPorts[0]",
                value: '"data-api=18086"',
                problem: "puts data-api on host port 18086, which stack 'dev' (Pulumi.dev.yaml) uses for influxdb on the same Docker host (unix:///var/run/docker.sock): the second of them to deploy would stop at the host-ports check",
                allowed: "a host port no other stack on the same Docker host uses",
                fix: "pulumi config set --path 'homeiq:hostPorts[0]' data-api=18087",
            },
        ]);
    });

    it("allow the same port on another engine, or on another address of the host", () => {
        expect(sharedHostProblems("prod", prodWith({ "homeiq:hostPorts": JSON.stringify(["data-api=18086"]), "homeiq:dockerHost": "ssh://deploy@other.lan" }), dir)).toEqual([]);
        // data-api on the LAN address, dev's influxdb on 127.0.0.1: two binds Docker allows side by side.
        expect(sharedHostProblems("prod", prodWith({ "homeiq:hostPorts": JSON.stringify(["data-api=18086"]), "homeiq:lanAccess": JSON.stringify(["data-api@192.168.1.20=the NAS reads it"]) }), dir)).toEqual([]);
    });

    it("stop the synth (npm run synth, the README's check before pulumi up) with the fix for that stack", async () => {
        const run = synthesize("prod", { projectDir: dir, verifyCheckout: false, configOverrides: { "homeiq:hostPorts": JSON.stringify(["data-api=18086"]) } });
        await expect(run).rejects.toBeInstanceOf(ConfigValidationError);
        await expect(run).rejects.toThrow(/homeiq:hostPorts\[0\] = "data-api=18086": puts data-api on host port 18086, which stack 'dev'/);
        await expect(run).rejects.toThrow(/fix: {5}pulumi config set --path 'homeiq:hostPorts\[0\]' data-api=18087 --stack prod/);
    });
});
