/** What the offline synth prints for people: secret env entries by name, image digests marked as mock values. */
import * as pulumi from "@pulumi/pulumi";
import { MOCK_DIGEST_MARKER, mockState, redact } from "../../synth/synthesize";
import { CONTAINER, ofType, synthStack } from "./helpers";

const { specialSigKey, specialSecretSig, specialOutputValueSig, unknownValue } = pulumi.runtime;

/** A secret as the engine receives it (Pulumi's wire format). */
const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });
const secretOutput = (value: unknown) => ({ [specialSigKey]: specialOutputValueSig, secret: true, value });

const MOCK_DIGEST = new RegExp(`^sha256:${MOCK_DIGEST_MARKER}[0-9a-f]{32}$`);

describe("redact: secret env entries", () => {
    it("shows the variable name of a secret NAME=value entry, and nothing of the value", () => {
        const out = redact({ envs: [secret("HOME_ASSISTANT_TOKEN=leakcheck-ha-token"), "LOG_LEVEL=INFO"] });
        expect(out).toEqual({ envs: ["HOME_ASSISTANT_TOKEN=[secret]", "LOG_LEVEL=INFO"] });
        expect(JSON.stringify(out)).not.toContain("leakcheck");
    });

    it("names the entry from the text before the first '=' (a value may hold '=' too)", () => {
        const out = redact({ envs: [secret("INFLUXDB_TOKEN=abc=def==")] });
        expect(out).toEqual({ envs: ["INFLUXDB_TOKEN=[secret]"] });
        expect(JSON.stringify(out)).not.toMatch(/abc|def/);
    });

    it("does the same for a secret output value", () => {
        expect(redact({ envs: [secretOutput("JWT_SECRET_KEY=leakcheck-jwt")] })).toEqual({ envs: ["JWT_SECRET_KEY=[secret]"] });
    });

    it.each([
        ["no '='", "leakcheck-token-without-name"],
        ["a name that is not a variable name", "1BAD-NAME=leakcheck"],
        ["an empty name", "=leakcheck"],
        ["a value that is not a string", 42],
        ["an unknown value", unknownValue],
    ])("shows a bare [secret] for %s", (_case, value) => {
        const out = redact({ envs: [secret(value)] });
        expect(out).toEqual({ envs: ["[secret]"] });
        expect(JSON.stringify(out)).not.toContain("leakcheck");
    });

    it("shows a bare [secret] outside an envs list, even for a NAME=value string", () => {
        // A secret value such as a password could itself look like NAME=value: only env entries are named.
        const out = redact({ triggers: [secret("USER_PASSWORD=leakcheck")], environment: { TOKEN: secret("A=leakcheck") } });
        expect(out).toEqual({ triggers: ["[secret]"], environment: { TOKEN: "[secret]" } });
    });
});

describe("mock image digests", () => {
    it("marks every digest the mocks invent, keeps it a valid reference, and keeps it distinct per resource", () => {
        const built = mockState("docker:index/image:Image", "homeiq-admin-api-image", { imageName: "homeiq-prod-admin-api:local" });
        const other = mockState("docker:index/image:Image", "homeiq-data-api-image", { imageName: "homeiq-prod-data-api:local" });
        const local = mockState("docker:index/image:Image", "homeiq-calendar-image", { imageName: "homeiq-prod-calendar:local", skipPush: true });
        const pulled = mockState("docker:index/remoteImage:RemoteImage", "homeiq-influxdb-image", { name: "influxdb:2.7" });
        const [repo, digest] = String(built.repoDigest).split("@");
        expect(repo).toBe("homeiq-prod-admin-api");
        expect(digest).toMatch(MOCK_DIGEST);
        // A local image's repoDigest is its bare image id, as the provider reports it.
        expect(String(local.repoDigest)).toMatch(MOCK_DIGEST);
        expect(String(pulled.imageId)).toMatch(MOCK_DIGEST);
        expect(other.repoDigest).not.toBe(built.repoDigest);
    });

    it("is what every container of the synth runs (no digest that could pass for a real build)", async () => {
        const containers = ofType(await synthStack("prod"), CONTAINER);
        expect(containers.length).toBeGreaterThan(0);
        for (const c of containers) {
            const image = String(c.inputs.image);
            expect(image.slice(image.indexOf("sha256:"))).toMatch(MOCK_DIGEST);
        }
    });
});
