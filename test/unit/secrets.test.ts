/** No credential appears in plain text anywhere in the synthesized graph or the outputs. */
import { SERVICE_CATALOG, SERVICE_KEYS } from "../../catalog/services";
import type { SynthResult } from "../../synth/synthesize";
import { containersByService, envOf, synthOf } from "./helpers";
import { USER_SECRETS, withUserSecrets } from "./synthCases";

describe.each(["dev", "prod"])("stack %s", (stack) => {
    let json: string;
    let result: SynthResult;

    beforeAll(async () => {
        result = await synthOf(withUserSecrets(stack));
        json = JSON.stringify(result);
    });

    it("never shows a configured secret in plain text", () => {
        for (const value of Object.values(USER_SECRETS)) expect(json).not.toContain(value);
    });

    it("never shows a generated credential in plain text", () => {
        // The mocks give each RandomPassword the result "mock-random-<name>-value".
        expect(json).not.toMatch(/mock-random-[^"]*-value/);
    });

    it("hides each secret variable's value, and shows which variable it is (NAME=[secret])", () => {
        const byService = containersByService(result);
        const envs = (service: string) => (byService.get(service)!.inputs.envs as string[]) ?? [];
        const secretNames = (service: string) =>
            envs(service)
                .filter((e) => e.endsWith("=[secret]"))
                .map((e) => e.slice(0, e.indexOf("=")))
                .sort();
        // Every secret entry carries its name: none is a bare "[secret]".
        for (const service of byService.keys()) expect(envs(service)).not.toContain("[secret]");
        expect(secretNames("influxdb")).toEqual(["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN", "DOCKER_INFLUXDB_INIT_PASSWORD"]);
        expect(secretNames("websocket-ingestion")).toEqual(["HOME_ASSISTANT_TOKEN", "INFLUXDB_TOKEN", "WEATHER_API_KEY"]);
        expect(secretNames("admin-api")).toEqual(["ADMIN_PASSWORD", "API_KEY", "HOME_ASSISTANT_TOKEN", "INFLUXDB_TOKEN", "JWT_SECRET_KEY", "WEATHER_API_KEY"]);
        expect(secretNames("sports-data")).toEqual(["SPORTS_API_KEY"]);
        // Unset third-party keys stay empty, as before, not secrets.
        expect(envOf(byService.get("smart-meter")!).get("METER_API_TOKEN")).toBe("");
        expect(secretNames("health-dashboard")).toEqual([]);
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
        expect(clients.length).toBe(SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].environmentGroups.includes("influxdb-client")).length);
        const distinct = new Set(clients.map((e) => [e.get("INFLUXDB_URL"), e.get("INFLUXDB_ORG"), e.get("INFLUXDB_BUCKET")].join("|")));
        expect([...distinct]).toEqual(["http://influxdb:8086|homeiq|home_assistant_events"]);
        const influx = envOf(byService.get("influxdb")!);
        expect([influx.get("DOCKER_INFLUXDB_INIT_ORG"), influx.get("DOCKER_INFLUXDB_INIT_BUCKET")]).toEqual(["homeiq", "home_assistant_events"]);
    });
});
