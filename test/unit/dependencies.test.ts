/** Start order follows real dependencies and is health-gated. */
import { SERVICE_CATALOG, SERVICE_KEYS, startOrder } from "../../catalog/services";
import { containersByService, synthStack } from "./helpers";

const INFLUX_USERS = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].environmentGroups.includes("influxdb-client"));

async function edges(stack: string): Promise<Map<string, string[]>> {
    const result = await synthStack(stack);
    const byService = containersByService(result);
    const serviceOfUrn = new Map([...byService].map(([service, c]) => [c.urn, service]));
    return new Map(
        [...byService].map(([service, c]) => [
            service,
            c.dependencies.map((u) => serviceOfUrn.get(u)).filter((s): s is string => s !== undefined).sort(),
        ]),
    );
}

describe.each(["dev", "prod"])("stack %s", (stack) => {
    it("starts admin-api only after data-api (a dependency the old compose file lacked)", async () => {
        expect((await edges(stack)).get("admin-api")).toEqual(
            expect.arrayContaining(["data-api", "enrichment-pipeline", "influxdb", "websocket-ingestion"]),
        );
    });

    it("starts health-dashboard after every upstream its nginx resolves at start", async () => {
        expect((await edges(stack)).get("health-dashboard")).toEqual(["admin-api", "data-api", "sports-data"]);
    });

    it("starts websocket-ingestion after enrichment-pipeline", async () => {
        expect((await edges(stack)).get("websocket-ingestion")).toContain("enrichment-pipeline");
    });

    it("starts every InfluxDB user after influxdb", async () => {
        const e = await edges(stack);
        expect(INFLUX_USERS.length).toBeGreaterThanOrEqual(10);
        for (const service of INFLUX_USERS) expect({ service, deps: e.get(service) }).toEqual({ service, deps: expect.arrayContaining(["influxdb"]) });
    });

    it("waits for each container to be healthy, with a 250 ms start interval", async () => {
        for (const [service, c] of containersByService(await synthStack(stack))) {
            expect({ service, wait: c.inputs.wait }).toEqual({ service, wait: true });
            const hc = c.inputs.healthcheck as Record<string, unknown>;
            expect({ service, startInterval: hc.startInterval, interval: hc.interval }).toEqual({ service, startInterval: "250ms", interval: "30s" });
        }
    });

    it("checks data-api and sports-data with python, which their images have (no curl)", async () => {
        const byService = containersByService(await synthStack(stack));
        for (const service of ["data-api", "sports-data"]) {
            const tests = (byService.get(service)?.inputs.healthcheck as { tests: string[] }).tests;
            expect(tests.slice(0, 2)).toEqual(["CMD", "python"]);
            expect(tests.join(" ")).not.toContain("curl");
        }
    });
});

it("orders the catalog so that every service comes after its dependencies", () => {
    const order = startOrder();
    for (const key of SERVICE_KEYS) {
        for (const dep of SERVICE_CATALOG[key].dependsOn) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(key));
    }
});

it("reports a dependency cycle instead of looping", () => {
    const a = { ...SERVICE_CATALOG["admin-api"], dependsOn: ["data-api" as const] };
    const b = { ...SERVICE_CATALOG["data-api"], dependsOn: ["admin-api" as const] };
    expect(() => startOrder([a, b])).toThrow("dependency cycle: admin-api -> data-api -> admin-api");
});
