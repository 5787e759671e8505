/**
 * Wiring that the real engine showed a container needs beyond its own spec: the Docker API proxy can
 * use the Docker socket only as a member of the socket's group, admin-api reaches the engine only
 * through it, and the dashboard's nginx must restart when an upstream it resolved at start is replaced.
 */
import { SERVICE_CATALOG } from "../../catalog/services";
import { scriptCommand, SCRIPTS } from "../../components/scriptCommand";
import { MOCK_SOCKET_GROUP } from "../../synth/marks";
import { COMMAND, containersByService, envOf, labelOf, NETWORK, ofType, proxyContainer, synthOf, synthStack } from "./helpers";
import { VARIANTS } from "./synthCases";

describe("the Docker API proxy and the Docker socket's group", () => {
    it.each(["dev", "prod"])("%s: asks the engine for the socket's group at deploy time when homeiq:dockerSocketGroupId is unset", async (stack) => {
        const synth = await synthStack(stack);
        const byService = containersByService(synth);
        const proxy = proxyContainer(synth)!;
        const probes = ofType(synth, COMMAND).filter((c) => c.inputs.create === scriptCommand(SCRIPTS.socketGroup));
        expect(probes).toHaveLength(1);
        // The probe runs the proxy's own image (it has `stat`), on the engine the proxy runs on.
        expect((probes[0].inputs.environment as Record<string, string>).HOMEIQ_PROBE_IMAGE).toBe(proxy.inputs.image);
        expect(proxy.inputs.groupAdds).toEqual([MOCK_SOCKET_GROUP]);
        expect(proxy.dependencies).toContain(probes[0].urn);
        for (const [service, c] of byService) expect({ service, groups: c.inputs.groupAdds }).not.toEqual({ service, groups: [MOCK_SOCKET_GROUP] });
    });

    it("uses homeiq:dockerSocketGroupId when it is set, and then runs no probe", async () => {
        const synth = await synthOf(VARIANTS.prodSocketGroup);
        expect(proxyContainer(synth)!.inputs.groupAdds).toEqual(["998"]);
        expect(ofType(synth, COMMAND).filter((c) => c.inputs.create === scriptCommand(SCRIPTS.socketGroup))).toEqual([]);
    });

    it.each(["dev", "prod"])("%s: gives admin-api DOCKER_HOST=tcp://docker-api-proxy:2375 on the internal network it shares only with the proxy", async (stack) => {
        const synth = await synthStack(stack);
        const byService = containersByService(synth);
        const proxy = proxyContainer(synth)!;
        const adminApi = byService.get("admin-api")!;
        const internal = ofType(synth, NETWORK).find((n) => n.inputs.internal === true)!;
        expect(internal.inputs.name).toBe(`${stack}-docker-api`);
        expect(envOf(adminApi).get("DOCKER_HOST")).toBe("tcp://docker-api-proxy:2375");
        expect(adminApi.inputs.networksAdvanced).toEqual([
            { name: `${stack}-homeiq`, aliases: ["admin-api", "ha-ingestor-admin"] },
            { name: `${stack}-docker-api`, aliases: ["admin-api"] },
        ]);
        expect(proxy.inputs.networksAdvanced).toEqual([{ name: `${stack}-docker-api`, aliases: ["docker-api-proxy"] }]);
        // It publishes nothing, and admin-api starts only once it is healthy.
        expect(proxy.inputs.ports).toBeUndefined();
        expect(proxy.inputs.wait).toBe(true);
        expect(adminApi.dependencies).toContain(proxy.urn);
        for (const [service, c] of byService) {
            const joined = (c.inputs.networksAdvanced as Array<{ name: string }>).map((n) => n.name);
            expect({ service, internal: joined.includes(`${stack}-docker-api`) }).toEqual({ service, internal: service === "admin-api" });
        }
    });

    it("builds the proxy from images/docker-api-proxy FROM homeiq:dockerApiProxyBaseImage, hardened like every service", async () => {
        const synth = await synthStack("prod");
        const proxy = proxyContainer(synth)!;
        const image = ofType(synth, "docker:index/image:Image").find((i) => i.inputs.imageName === "homeiq-prod-docker-api-proxy:local")!;
        expect(image.inputs.build).toEqual({ context: "images/docker-api-proxy", args: { BASE_IMAGE: "debian:bookworm-slim", PROXY_UID: "2375", PROXY_GID: "2375" } });
        expect(proxy.inputs).toMatchObject({
            user: "2375:2375",
            readOnly: true,
            securityOpts: ["no-new-privileges=true", "apparmor=docker-default"],
            capabilities: { drops: ["ALL"], adds: [] },
            volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true }],
        });
        expect(Object.keys(proxy.inputs.tmpfs as object)).toEqual(["/tmp"]);
    });
});

describe("the dashboard follows its upstreams", () => {
    it.each(["dev", "prod"])("%s: carries the ids of the containers nginx resolves at start, so replacing one replaces it", async (stack) => {
        const byService = containersByService(await synthStack(stack));
        const dashboard = byService.get("health-dashboard")!;
        const upstreams = SERVICE_CATALOG["health-dashboard"].dependsOn;
        expect(upstreams.length).toBeGreaterThan(0);
        // The synth's mock ids are the resource names plus "-id".
        expect(labelOf(dashboard, "com.homeiq.dependency-ids")).toBe(upstreams.map((k) => `${byService.get(k)!.name}-id`).join(","));
        for (const [service, c] of byService) {
            if (!SERVICE_CATALOG[service as keyof typeof SERVICE_CATALOG].replaceWithDependencies) {
                expect({ service, label: labelOf(c, "com.homeiq.dependency-ids") }).toEqual({ service, label: undefined });
            }
        }
    });
});
