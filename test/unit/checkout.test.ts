/**
 * The HomeIQ checkout of a `build` stack with a local engine is checked before anything is registered
 * (config/checkout.ts): a path that is no folder, or a folder without the catalog's Dockerfiles, is one
 * problem on homeiq:homeiqCheckoutPath, instead of a provider error halfway through `pulumi up`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SERVICE_CATALOG, SERVICE_KEYS } from "../../catalog/services";
import { checkoutProblems, isLocalEngine } from "../../config/checkout";
import { ConfigValidationError } from "../../config/loadConfig";
import { synthesize } from "../../synth/synthesize";

const STANDIN_CHECKOUT = path.join(__dirname, "..", "..", "engine", "stack-standins", "homeiq-checkout");
const BUILT = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].image.kind === "built");

describe("the HomeIQ checkout", () => {
    let tmp: string;
    beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "i16-checkout-"))));
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("passes with every catalog Dockerfile (the stand-in checkout)", () => {
        expect(checkoutProblems(STANDIN_CHECKOUT)).toEqual([]);
    });

    it("is refused when it is not a folder here, with a command that makes one", () => {
        const [p, ...more] = checkoutProblems(path.join(tmp, "nowhere"));
        expect(more).toEqual([]);
        expect(p).toEqual(expect.objectContaining({ key: "homeiq:homeiqCheckoutPath", problem: expect.stringMatching(/^is not a folder on this machine/) }));
        expect(p.fix).toBe(`git clone https://github.com/wtthornton/HomeIQ ${path.join(tmp, "nowhere")}   # or: pulumi config set homeiq:homeiqCheckoutPath /path/to/HomeIQ`);
    });

    it("names each missing Dockerfile, for the deployed services only", () => {
        const partial = path.join(tmp, "partial");
        fs.cpSync(STANDIN_CHECKOUT, partial, { recursive: true });
        const gone = SERVICE_CATALOG["data-api"].image;
        if (gone.kind !== "built") throw new Error("data-api is built");
        fs.rmSync(path.join(partial, gone.context, gone.dockerfile));
        expect(checkoutProblems(partial).map((p) => p.problem)).toEqual([
            expect.stringMatching(new RegExp(`^lacks the Dockerfile of 1 of the ${BUILT.length} services built from it: data-api \\(services/data-api/Dockerfile\\)`)),
        ]);
        expect(checkoutProblems(partial, SERVICE_KEYS.filter((k) => k !== "data-api"))).toEqual([]);
        const empty = path.join(tmp, "empty");
        fs.mkdirSync(empty);
        expect(checkoutProblems(empty)[0]?.problem).toMatch(/^lacks the Dockerfile of every service built from it: /);
    });

    it("is checked for an engine on this machine only", () => {
        expect(["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375", "tcp://localhost:2375"].map(isLocalEngine)).toEqual([true, true, true]);
        expect(["ssh://deploy@server.lan", "tcp://10.0.0.2:2375"].map(isLocalEngine)).toEqual([false, false]);
    });

    it("stops the program before any resource is registered (the synth, as pulumi up)", async () => {
        let registered = 0;
        const run = synthesize("dev", {
            configOverrides: { "homeiq:homeiqCheckoutPath": path.join(tmp, "nowhere") },
            onMonitor: (m) => {
                const push = m.registrations.push.bind(m.registrations);
                m.registrations.push = (...items) => ((registered += items.length), push(...items));
            },
        });
        await expect(run).rejects.toBeInstanceOf(ConfigValidationError);
        await expect(run).rejects.toThrow(/homeiq:homeiqCheckoutPath = ".*nowhere": is not a folder on this machine/);
        expect(registered).toBe(0);
    });
});
