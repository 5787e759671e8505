/**
 * engine/apply plans each `pulumi up` step as the providers do (engine/apply/plan.ts, the rows of
 * engine/apply/containerInputs.ts). First the property the program must have: after a create and
 * the provider's read-back, no container of either stack or any service combination has a diff (a
 * preview shows no changes). Then one case per kind of change, with values worked out by hand from
 * the providers' source (docs/provider-behaviour.md), and the planner's modelling of init errors,
 * Commands, Images and the build-context digest.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { contextDigest } from "../../engine/apply/contextDigest";
import { CONTAINER_INPUTS, containerPlan, goDurationString, nanoInt64ToDecimalString } from "../../engine/apply/containerInputs";
import { DRIVERS } from "../../engine/apply/liveResources";
import { containerChanges, containerReadBack, engineModel, inputChanges, planStep, type Props } from "../../engine/apply/plan";
import type { SynthResult } from "../../synth/synthesize";
import { CONTAINER, COMMAND, ofType, synthOf } from "./helpers";
import { combinationCases, combinationSynth } from "./synthCases";

/** The state the provider records after creating a container with these inputs (on the modelled engine). */
const readBack = (inputs: Props): Props => containerReadBack(inputs, engineModel(containerPlan(inputs)));

/** The step of a no-op `up` right after the create. */
function noOpStep(c: { inputs: Props; options: { replaceOnChanges: string[] } }): { op: string; changes: string[] } {
    const planned = planStep(containerChanges(readBack(c.inputs), c.inputs), c.options.replaceOnChanges, false);
    return { op: planned.op, changes: planned.changes.map((x) => `${x.key}: ${x.kind}`) };
}

function expectNoDiffAfterCreate(result: SynthResult): void {
    const containers = ofType(result, CONTAINER);
    expect(containers.length).toBeGreaterThan(0);
    for (const c of containers) expect({ container: c.name, ...noOpStep(c) }).toEqual({ container: c.name, op: "same", changes: [] });
}

describe("a no-op pulumi up right after the create changes nothing", () => {
    it.each(["dev", "prod"])("stack %s: every container is `same` after the provider's read-back", async (stack) => {
        expectNoDiffAfterCreate(await synthOf({ stack }));
    });

    it("every service combination: every container is `same` after the provider's read-back", async () => {
        const cases = combinationCases();
        expect(cases.length).toBeGreaterThan(10);
        for (const c of cases) expectNoDiffAfterCreate(await synthOf(combinationSynth(c)));
    }, 120_000);
});

/** A small container input set in the program's form, to change one thing at a time. */
const BASE: Props = {
    name: "t-web",
    image: "sha256:0123456789abcdef",
    envs: ["A=1"],
    labels: [{ label: "com.homeiq.stack", value: "t" }],
    restart: "unless-stopped",
    memory: 256,
    memorySwap: 256,
    memoryReservation: 128,
    cpus: "0.5",
    healthcheck: { tests: ["CMD", "true"], interval: "30s", timeout: "10s", retries: 3, startPeriod: "30s", startInterval: "250ms" },
    wait: true,
    waitTimeout: 60,
    ports: [{ internal: 80, external: 3000, ip: "127.0.0.1", protocol: "tcp" }],
    networksAdvanced: [{ name: "t-net", aliases: ["web"] }],
    volumes: [{ volumeName: "t-data", containerPath: "/data", readOnly: false }],
    logDriver: "json-file",
    logOpts: { "max-size": "10m", "max-file": "3" },
    user: "1001:1001",
    readOnly: true,
    tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m" },
    securityOpts: ["no-new-privileges=true"],
    capabilities: { drops: ["ALL"], adds: ["CAP_CHOWN"] },
    groupAdds: ["999"],
    destroyGraceSeconds: 30,
};
const state = readBack(BASE);
const step = (inputs: Props, replaceOnChanges: string[] = [], initErrors = false) => {
    const planned = planStep(containerChanges(state, inputs), replaceOnChanges, initErrors);
    return { op: planned.op, changes: planned.changes.map((c) => `${c.key}: ${c.kind}`) };
};

describe("container inputs: what a change does", () => {
    it("the base reads back as written", () => {
        expect(step(BASE)).toEqual({ op: "same", changes: [] });
    });

    it("capabilities written without CAP_ are read back with it: a replacement on every up (finding 1)", () => {
        const given = { ...BASE, capabilities: { drops: ["ALL"], adds: ["CHOWN"] } };
        expect(readBack(given).capabilities).toEqual({ adds: ["CAP_CHOWN"], drops: ["ALL"] });
        expect(planStep(containerChanges(readBack(given), given), [], false).op).toBe("replace");
    });

    it("cpus written as \"1\" reads back as \"1.0\": a replacement on every up", () => {
        const given = { ...BASE, cpus: "1" };
        expect(readBack(given).cpus).toBe("1.0");
        expect(planStep(containerChanges(readBack(given), given), [], false)).toMatchObject({ op: "replace", replaceKeys: ["cpus"] });
    });

    it("memorySwap left unset reads back as twice the memory: an in-place update after every create (finding 2)", () => {
        const { memorySwap: _unset, ...given } = BASE;
        expect(readBack(given).memorySwap).toBe(512);
        expect(planStep(containerChanges(readBack(given), given), [], false)).toMatchObject({ op: "update", changes: [{ key: "memorySwap", kind: "update" }] });
    });

    it("memory, its reservation, swap and the restart policy update the running container in place", () => {
        expect(step({ ...BASE, memory: 512, memorySwap: 512 })).toEqual({ op: "update", changes: ["memory: update", "memorySwap: update"] });
        expect(step({ ...BASE, memoryReservation: 64 })).toEqual({ op: "update", changes: ["memoryReservation: update"] });
        expect(step({ ...BASE, restart: "always" })).toEqual({ op: "update", changes: ["restart: update"] });
    });

    it("a health-check or tmpfs change is written to state only, unless replaceOnChanges names it (finding 3)", () => {
        const hc = { ...BASE, healthcheck: { ...(BASE.healthcheck as Props), startPeriod: "40s" } };
        const tmpfs = { ...BASE, tmpfs: { "/tmp": "rw,size=32m" } };
        expect(step(hc)).toEqual({ op: "state-only", changes: ["healthcheck: state"] });
        expect(step(tmpfs)).toEqual({ op: "state-only", changes: ["tmpfs: state"] });
        expect(step(hc, ["healthcheck", "tmpfs"]).op).toBe("replace");
        expect(step(tmpfs, ["healthcheck", "tmpfs"]).op).toBe("replace");
    });

    it("wait, its timeout and the stop grace period only change state", () => {
        expect(step({ ...BASE, waitTimeout: 120, wait: false, destroyGraceSeconds: 10 })).toEqual({
            op: "state-only",
            changes: ["destroyGraceSeconds: state", "wait: state", "waitTimeout: state"],
        });
    });

    it("everything else replaces the container", () => {
        const cases: Array<[string, unknown]> = [
            ["envs", ["A=2"]],
            ["labels", [{ label: "x", value: "y" }]],
            ["image", "sha256:fedcba"],
            ["ports", [{ internal: 80, external: 3001, ip: "127.0.0.1", protocol: "tcp" }]],
            ["volumes", []],
            ["networksAdvanced", [{ name: "t-net", aliases: ["web", "www"] }]],
            ["user", "1000:1000"],
            ["readOnly", false],
            ["securityOpts", []],
            ["groupAdds", ["998"]],
            ["logOpts", { "max-size": "20m", "max-file": "3" }],
            ["cpus", "0.25"],
        ];
        for (const [key, value] of cases) expect({ key, ...step({ ...BASE, [key]: value }) }).toEqual({ key, op: "replace", changes: [`${key}: replace`] });
    });

    it("compares sets without order and applies schema defaults", () => {
        expect(step({ ...BASE, capabilities: { adds: ["CAP_CHOWN"], drops: ["ALL"] }, securityOpts: ["no-new-privileges=true"] }).op).toBe("same");
        const { protocol: _p, ...port } = (BASE.ports as Props[])[0];
        expect(step({ ...BASE, ports: [port] }).op).toBe("same");
        // An empty user is Docker's default: no change (DiffSuppressFunc).
        expect(step({ ...BASE, user: "" }).op).toBe("same");
        // A computed field the program stops setting keeps what was read.
        const { logDriver: _l, ...noDriver } = BASE;
        expect(step(noDriver).op).toBe("same");
    });

    it("refuses an input no row describes", () => {
        expect(() => containerChanges(state, { ...BASE, privileged: true })).toThrow(/privileged has no row in engine\/apply\/containerInputs.ts/);
    });
});

describe("init errors (a create whose health wait timed out)", () => {
    it("an unchanged resource gets an empty update, not a wait; with replaceOnChanges [*] a replacement", () => {
        expect(step(BASE, [], true)).toEqual({ op: "update", changes: [] });
        expect(planStep([], ["*"], true)).toEqual({ op: "replace", changes: [], replaceKeys: ["#initerror"] });
        // healthcheck/tmpfs do not cover the init error.
        expect(step(BASE, ["healthcheck", "tmpfs"], true).op).toBe("update");
    });
});

describe("other resource types", () => {
    const kinds = (type: string, old: Props, inputs: Props): string[] => inputChanges(type, old, inputs, DRIVERS[type].changes ?? {}).map((c) => `${c.key}: ${c.kind}`);

    it("Command: a trigger change replaces (runs create again), another change updates (runs update)", () => {
        const old = { create: "bash a.sh", update: "echo u", environment: { X: "1" }, triggers: ["id-1"] };
        expect(kinds(COMMAND, old, { ...old, triggers: ["id-2"] })).toEqual(["triggers: replace"]);
        expect(kinds(COMMAND, old, { ...old, environment: { X: "2" } })).toEqual(["environment: update"]);
    });

    it("Image: a changed build context (its digest) rebuilds in place", () => {
        const old = { imageName: "x", skipPush: true, build: { context: ".", contextDigest: "a" } };
        expect(kinds("docker:index/image:Image", old, { ...old, build: { context: ".", contextDigest: "b" } })).toEqual(["build: update"]);
    });

    it("Volume and Network: any change replaces; RemoteImage keepLocally only changes state", () => {
        expect(kinds("docker:index/volume:Volume", { name: "a" }, { name: "b" })).toEqual(["name: replace"]);
        expect(kinds("docker:index/network:Network", { name: "a", driver: "bridge" }, { name: "a", driver: "macvlan" })).toEqual(["driver: replace"]);
        expect(kinds("docker:index/remoteImage:RemoteImage", { name: "i", keepLocally: true }, { name: "i", keepLocally: false })).toEqual(["keepLocally: state"]);
    });

    it("refuses a changed input no row describes", () => {
        expect(() => inputChanges("docker:index/volume:Volume", { name: "a" }, { name: "a", driverOpts: { x: "1" } }, DRIVERS["docker:index/volume:Volume"].changes!)).toThrow(/driverOpts changed and engine\/apply has no row/);
    });

    it("every Command of the committed stacks is planned from its driver's table", async () => {
        for (const stack of ["dev", "prod"]) {
            for (const c of ofType(await synthOf({ stack }), COMMAND)) {
                expect(Object.keys(c.inputs).filter((k) => !(k in (DRIVERS[COMMAND].changes ?? {})))).toEqual([]);
            }
        }
    });
});

describe("read-back formats, ported from the provider", () => {
    it.each([
        [1e9, "1.0"],
        [2e9, "2.0"],
        [5e8, "0.5"],
        [2.5e8, "0.25"],
        [1.05e9, "1.05"],
        [1e7, "0.0"],
        [1e10, "10."],
        [6e7, "0.1"],
    ])("nanoInt64ToDecimalString(%d) = %s", (nanos, text) => expect(nanoInt64ToDecimalString(nanos)).toBe(text));

    it.each([
        [0, "0s"],
        [250e6, "250ms"],
        [30e9, "30s"],
        [60e9, "1m0s"],
        [90e9, "1m30s"],
        [7200e9, "2h0m0s"],
        [2.5e9, "2.5s"],
    ])("Duration(%d).String() = %s", (ns, text) => expect(goDurationString(ns)).toBe(text));
});

describe("contextDigest (the Image's build.contextDigest)", () => {
    let dir: string;
    const digest = (): string => contextDigest(dir, "ctx", "ctx/Dockerfile");
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-ctx-"));
        fs.mkdirSync(path.join(dir, "ctx", "src"), { recursive: true });
        fs.writeFileSync(path.join(dir, "ctx", "Dockerfile"), "FROM scratch\n");
        fs.writeFileSync(path.join(dir, "ctx", "src", "main.py"), "print(1)\n");
        fs.writeFileSync(path.join(dir, "ctx", ".dockerignore"), "*.log\nnotes/\n");
        fs.mkdirSync(path.join(dir, "ctx", "notes"));
        fs.writeFileSync(path.join(dir, "ctx", "notes", "a.md"), "x");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("changes with a file's content, mode or name and with the Dockerfile; not with an ignored file", () => {
        const base = digest();
        expect(digest()).toBe(base);
        fs.writeFileSync(path.join(dir, "ctx", "debug.log"), "ignored");
        fs.writeFileSync(path.join(dir, "ctx", "notes", "b.md"), "ignored too");
        expect(digest()).toBe(base);
        fs.writeFileSync(path.join(dir, "ctx", "src", "main.py"), "print(2)\n");
        const content = digest();
        expect(content).not.toBe(base);
        fs.chmodSync(path.join(dir, "ctx", "src", "main.py"), 0o755);
        const mode = digest();
        expect(mode).not.toBe(content);
        fs.renameSync(path.join(dir, "ctx", "src", "main.py"), path.join(dir, "ctx", "src", "app.py"));
        const renamed = digest();
        expect(renamed).not.toBe(mode);
        fs.writeFileSync(path.join(dir, "ctx", "Dockerfile"), "FROM scratch\nUSER 1\n");
        expect(digest()).not.toBe(renamed);
    });
});

describe("the table", () => {
    it("gives every row that sends an input a read-back and a change, each citing its source", async () => {
        const rows = CONTAINER_INPUTS.filter((r) => r.apply !== undefined);
        // Every input the committed stacks' containers set has such a row.
        const keys = new Set(rows.map((r) => r.input.replace(/(\[\]|\.\*)$/, "")));
        for (const stack of ["dev", "prod"]) {
            for (const c of ofType(await synthOf({ stack }), CONTAINER)) expect(Object.keys(c.inputs).filter((k) => !keys.has(k))).toEqual([]);
        }
        for (const r of rows) {
            expect({ input: r.input, readBack: r.readBack?.source, change: r.change?.source }).toEqual({
                input: r.input,
                readBack: expect.stringMatching(/(tf-docker \S+\.go:\d+|inferred)/),
                change: expect.stringMatching(/(tf-docker \S+\.go:\d+|inferred)/),
            });
        }
    });
});
