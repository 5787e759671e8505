/** dev and prod are the same platform: the same services, volumes and network, only named per stack. */
import { SERVICE_KEYS } from "../../catalog/services";
import { containersByService, labelOf, NETWORK, ofType, proxyContainer, synthStack, VOLUME } from "./helpers";

const STACKS = ["dev", "prod"] as const;

describe.each(STACKS)("stack %s", (stack) => {
    it("registers exactly the catalog's services, one container each", async () => {
        const result = await synthStack(stack);
        const services = [...containersByService(result).keys()].sort();
        expect(services).toEqual([...SERVICE_KEYS].sort());
        // Plus the Docker API proxy, through which admin-api reads the engine.
        expect(ofType(result, "docker:index/container:Container")).toHaveLength(SERVICE_KEYS.length + 1);
        expect(proxyContainer(result)?.inputs.name).toBe(`${stack}-docker-api-proxy`);
    });

    it("labels every container with its service and stack", async () => {
        const result = await synthStack(stack);
        for (const [service, container] of containersByService(result)) {
            expect(labelOf(container, "com.homeiq.service")).toBe(service);
            expect(labelOf(container, "com.homeiq.stack")).toBe(stack);
        }
    });

    it("prefixes every container, volume and network name with the stack", async () => {
        const result = await synthStack(stack);
        const named = [...ofType(result, "docker:index/container:Container"), ...ofType(result, VOLUME), ...ofType(result, NETWORK)];
        expect(named.length).toBeGreaterThan(SERVICE_KEYS.length);
        for (const r of named) expect(String(r.inputs.name)).toMatch(new RegExp(`^${stack}-`));
    });

    it("exports a URL for every published service and the dashboard", async () => {
        const result = await synthStack(stack);
        const urls = result.outputs.serviceUrls as Record<string, string>;
        expect(Object.keys(urls).sort()).toEqual([...SERVICE_KEYS].sort());
        expect(result.outputs.dashboardUrl).toBe(urls["health-dashboard"]);
        expect(result.outputs.networkName).toBe(`${stack}-homeiq`);
    });
});

it("gives dev and prod the same volumes and network, differing only by the stack prefix", async () => {
    const [dev, prod] = await Promise.all(STACKS.map((s) => synthStack(s)));
    const strip = (stack: string, names: unknown[]) => names.map((n) => String(n).replace(`${stack}-`, "")).sort();
    expect(strip("dev", ofType(dev, VOLUME).map((v) => v.inputs.name))).toEqual(
        strip("prod", ofType(prod, VOLUME).map((v) => v.inputs.name)),
    );
    expect(strip("dev", ofType(dev, VOLUME).map((v) => v.inputs.name))).toEqual(
        ["data-retention-backups", "influxdb-config", "influxdb-data", "logs", "sports-data", "sqlite-data"],
    );
    // The stack's network, and the internal one only the Docker API proxy and admin-api join.
    expect(strip("dev", ofType(dev, NETWORK).map((n) => n.inputs.name))).toEqual(strip("prod", ofType(prod, NETWORK).map((n) => n.inputs.name)));
    expect(ofType(prod, NETWORK).map((n) => [n.inputs.name, n.inputs.internal])).toEqual([
        ["prod-homeiq", undefined],
        ["prod-docker-api", true],
    ]);
});

it("lets dev and prod share one Docker host: no host port or name in common", async () => {
    const [dev, prod] = await Promise.all(STACKS.map((s) => synthStack(s)));
    const ports = (r: typeof dev) =>
        ofType(r, "docker:index/container:Container").flatMap((c) => ((c.inputs.ports ?? []) as Array<{ external: number }>).map((p) => p.external));
    const devPorts = new Set(ports(dev));
    expect(ports(prod).filter((p) => devPorts.has(p))).toEqual([]);
    expect(devPorts.size).toBe(SERVICE_KEYS.length);
});

it("gives sports-data's SQLite database a named volume", async () => {
    const prod = await synthStack("prod");
    const sports = containersByService(prod).get("sports-data");
    expect(sports?.inputs.volumes).toEqual([{ volumeName: "prod-sports-data", containerPath: "/app/data", readOnly: false }]);
});
