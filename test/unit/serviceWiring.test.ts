/**
 * Wiring that the real engine showed a container needs beyond its own spec: admin-api can use the
 * Docker socket only as a member of the socket's group, and the dashboard's nginx must restart when
 * an upstream it resolved at start is replaced.
 */
import { SERVICE_CATALOG } from "../../catalog/services";
import { scriptCommand, SCRIPTS } from "../../components/scriptCommand";
import { MOCK_SOCKET_GROUP } from "../../synth/marks";
import { COMMAND, containersByService, labelOf, ofType, synthOf, synthStack } from "./helpers";
import { VARIANTS } from "./synthCases";

describe("admin-api and the Docker socket's group", () => {
    it.each(["dev", "prod"])("%s: asks the engine for the socket's group at deploy time when homeiq:dockerSocketGroupId is unset", async (stack) => {
        const synth = await synthStack(stack);
        const byService = containersByService(synth);
        const adminApi = byService.get("admin-api")!;
        const probes = ofType(synth, COMMAND).filter((c) => c.inputs.create === scriptCommand(SCRIPTS.socketGroup));
        expect(probes).toHaveLength(1);
        // The probe runs admin-api's own image (it has `stat`), on the engine admin-api runs on.
        expect((probes[0].inputs.environment as Record<string, string>).HOMEIQ_PROBE_IMAGE).toBe(adminApi.inputs.image);
        expect(adminApi.inputs.groupAdds).toEqual([MOCK_SOCKET_GROUP]);
        expect(adminApi.dependencies).toContain(probes[0].urn);
        for (const [service, c] of byService) {
            if (service !== "admin-api") expect({ service, groups: c.inputs.groupAdds }).not.toEqual({ service, groups: [MOCK_SOCKET_GROUP] });
        }
    });

    it("uses homeiq:dockerSocketGroupId when it is set, and then runs no probe", async () => {
        const synth = await synthOf(VARIANTS.prodSocketGroup);
        expect(containersByService(synth).get("admin-api")!.inputs.groupAdds).toEqual(["998"]);
        expect(ofType(synth, COMMAND).filter((c) => c.inputs.create === scriptCommand(SCRIPTS.socketGroup))).toEqual([]);
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
