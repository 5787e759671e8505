/** The post-deploy validation gate is a Command that runs after every container and reruns when one changes. */
import { SERVICE_KEYS } from "../../catalog/services";
import { COMMAND, containersByService, ofType, proxyContainer, synthOf, synthStack } from "./helpers";
import { VARIANTS } from "./synthCases";

describe.each(["dev", "prod"])("stack %s", (stack) => {
    const gate = async () => {
        const result = await synthStack(stack);
        return { result, command: ofType(result, COMMAND).find((c) => c.name === "homeiq-validation")! };
    };

    it("runs scripts/validate/validate.sh after every container", async () => {
        const { result, command } = await gate();
        expect(command.inputs.create).toBe("bash scripts/validate/validate.sh");
        const containers = [...containersByService(result).values(), proxyContainer(result)!];
        expect(containers).toHaveLength(SERVICE_KEYS.length + 1);
        for (const c of containers) expect(command.dependencies).toContain(c.urn);
    });

    it("reports the AppArmor profile of every container, the Docker API proxy's included, from the stack's engine", async () => {
        const { result, command } = await gate();
        const env = command.inputs.environment as Record<string, string>;
        const names = [...containersByService(result).values(), proxyContainer(result)!].map((c) => String(c.inputs.name)).sort();
        expect(env.HOMEIQ_VALIDATE_CONTAINERS.split(" ").sort()).toEqual(names);
        expect(env.DOCKER_HOST).toBe("unix:///var/run/docker.sock");
    });

    it("reruns whenever a container is replaced: the containers' ids are its triggers", async () => {
        const { command } = await gate();
        expect(command.inputs.triggers).toEqual(expect.arrayContaining([...SERVICE_KEYS.map((k) => `homeiq-${k}-id`), "homeiq-docker-api-proxy-id"]));
        expect(command.inputs.triggers).toHaveLength(SERVICE_KEYS.length + 1);
    });

    it("checks InfluxDB is ready, the dashboard serves HTML and every other health URL answers", async () => {
        const { result, command } = await gate();
        const env = command.inputs.environment as Record<string, string>;
        const targets = new Map(env.HOMEIQ_VALIDATE_TARGETS.split(" ").map((t) => t.split("=") as [string, string]));
        const urls = result.outputs.serviceUrls as Record<string, string>;
        const health = result.outputs.healthUrls as Record<string, string>;
        expect([...targets.keys()].sort()).toEqual([...SERVICE_KEYS].sort());
        expect(targets.get("influxdb")).toBe(`influx-ready:${urls.influxdb}/ready`);
        expect(targets.get("health-dashboard")).toBe(`html:${health["health-dashboard"]}`);
        expect(targets.get("data-api")).toBe(`http200:${health["data-api"]}`);
        expect(Number(env.HOMEIQ_VALIDATE_ATTEMPTS)).toBeGreaterThan(0);
        expect(Number(env.HOMEIQ_VALIDATE_TIMEOUT_SECONDS)).toBeGreaterThan(0);
    });

    it("judges the review's deploy-time criteria: each endpoint's p95 under 100 ms over 20 requests, no error lines since start; reports memory and CPU", async () => {
        const { command } = await gate();
        const env = command.inputs.environment as Record<string, string>;
        expect({
            maxLatency: env.HOMEIQ_VALIDATE_MAX_LATENCY_MS,
            requests: env.HOMEIQ_VALIDATE_LATENCY_REQUESTS,
            errorLines: env.HOMEIQ_VALIDATE_ERROR_LINES,
            usage: env.HOMEIQ_VALIDATE_REPORT_USAGE,
        }).toEqual({ maxLatency: "100", requests: "20", errorLines: "fail", usage: "true" });
    });
});

it("can be turned off for a Docker host the Pulumi machine cannot reach", async () => {
    const result = await synthOf(VARIANTS.prodNoValidation);
    expect(ofType(result, COMMAND).find((c) => c.name === "homeiq-validation")).toBeUndefined();
});
