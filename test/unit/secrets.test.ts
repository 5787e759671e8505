/** No credential appears in plain text anywhere in the synthesized graph or the outputs. */
import { synthesize } from "../../synth/synthesize";
import { containersByService, envOf } from "./helpers";

// Recognisable values for every secret a user can set.
const USER_SECRETS: Record<string, string> = {
    "homeiq:homeAssistantToken": "leakcheck-ha-token-0123456789abcdef",
    "homeiq:influxdbAdminPassword": "leakcheck-influx-password-0123",
    "homeiq:jwtSecret": "leakcheck-jwt-secret-0123456789abcdef0123456789",
    "homeiq:weatherApiKey": "leakcheck-weather-key-0123",
    "homeiq:sportsApiKey": "leakcheck-sports-key-0123",
    "homeiq:googleRefreshToken": "leakcheck-google-refresh-0123",
};

describe.each(["dev", "prod"])("stack %s", (stack) => {
    let json: string;
    let result: Awaited<ReturnType<typeof synthesize>>;

    beforeAll(async () => {
        result = await synthesize(stack, { configOverrides: USER_SECRETS, secretOverrides: Object.keys(USER_SECRETS) });
        json = JSON.stringify(result);
    });

    it("never shows a configured secret in plain text", () => {
        for (const value of Object.values(USER_SECRETS)) expect(json).not.toContain(value);
    });

    it("never shows a generated credential in plain text", () => {
        // The mocks give each RandomPassword the result "mock-random-<name>-value".
        expect(json).not.toMatch(/mock-random-[^"]*-value/);
    });

    it("hides each secret variable whole: the entry is a secret, so neither name nor value shows", () => {
        const byService = containersByService(result);
        const secretEntries = (service: string) => ((byService.get(service)!.inputs.envs as string[]) ?? []).filter((e) => e === "[secret]").length;
        // influxdb: admin password and admin token.
        expect(secretEntries("influxdb")).toBe(2);
        expect(envOf(byService.get("influxdb")!).has("DOCKER_INFLUXDB_INIT_PASSWORD")).toBe(false);
        // websocket-ingestion: Home Assistant token, InfluxDB token, weather key.
        expect(secretEntries("websocket-ingestion")).toBe(3);
        // admin-api: InfluxDB token, Home Assistant token, weather key, JWT secret, admin password.
        expect(secretEntries("admin-api")).toBe(5);
        expect(secretEntries("sports-data")).toBe(1);
        // Unset third-party keys stay empty, as before, not secrets.
        expect(envOf(byService.get("smart-meter")!).get("METER_API_TOKEN")).toBe("");
        expect(secretEntries("health-dashboard")).toBe(0);
    });

    it("keeps the containers' env outputs secret in state", () => {
        for (const service of ["influxdb", "admin-api", "data-api", "websocket-ingestion"]) {
            expect(containersByService(result).get(service)?.options.additionalSecretOutputs).toEqual(["envs"]);
        }
    });

    it("exports credentials only as secrets", () => {
        expect(result.outputs.influxdbAdminToken).toBe("[secret]");
        expect(result.outputs.adminPassword).toBe("[secret]");
    });

    it("gives every InfluxDB client the same connection (one org, bucket and URL)", () => {
        const byService = containersByService(result);
        const clients = [...byService.values()].map(envOf).filter((e) => e.has("INFLUXDB_URL"));
        expect(clients.length).toBe(10);
        const distinct = new Set(clients.map((e) => [e.get("INFLUXDB_URL"), e.get("INFLUXDB_ORG"), e.get("INFLUXDB_BUCKET")].join("|")));
        expect([...distinct]).toEqual(["http://influxdb:8086|homeiq|home_assistant_events"]);
        const influx = envOf(byService.get("influxdb")!);
        expect([influx.get("DOCKER_INFLUXDB_INIT_ORG"), influx.get("DOCKER_INFLUXDB_INIT_BUCKET")]).toEqual(["homeiq", "home_assistant_events"]);
    });
});
