/** prod's hardening holds on every container, with the catalog's documented exceptions only. */
import { createHash } from "crypto";
import * as path from "path";
import { SERVICE_CATALOG, SERVICE_KEYS, VOLUME_CATALOG } from "../../catalog/services";
import { listStacks } from "../../synth/stackFiles";
import { MOCK_DIGEST_MARKER, type SynthResource } from "../../synth/synthesize";
import { containersByService as byServiceOf, envOf, labelOf, ofType, proxyContainer, synthOf, synthStack, VOLUME } from "./helpers";
import { VARIANTS } from "./synthCases";

/** Every service the catalog defines, written out: each committed stack deploys all of them. */
const ALL_SERVICES = [
    "admin-api", "air-quality", "calendar", "carbon-intensity", "data-api", "data-retention", "electricity-pricing",
    "enrichment-pipeline", "health-dashboard", "influxdb", "log-aggregator", "smart-meter", "sports-data", "websocket-ingestion",
];
/** The committed stacks (Pulumi.<stack>.yaml at the repository's root): "every stack" means these. */
const COMMITTED_STACKS = listStacks(path.resolve(__dirname, "..", ".."));

/** A stack's containers by service; fails unless there is exactly one per service, so no loop below runs over nothing. */
function containersByService(result: Parameters<typeof byServiceOf>[0]): Map<string, SynthResource> {
    const byService = byServiceOf(result);
    expect([...byService.keys()].sort()).toEqual(ALL_SERVICES);
    return byService;
}

const ROOT_SERVICES = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].security.nonRootUser === null);
const WRITABLE_ROOT = SERVICE_KEYS.filter((k) => !SERVICE_CATALOG[k].security.readOnlyRootFilesystem);

describe("prod", () => {
    it("sets no-new-privileges and the docker-default AppArmor profile on every container", async () => {
        for (const [service, c] of containersByService(await synthStack("prod"))) {
            expect({ service, opts: c.inputs.securityOpts }).toEqual({ service, opts: ["no-new-privileges=true", "apparmor=docker-default"] });
        }
    });

    it("labels every container with its PIDs limit: the profile's, or the catalog's own with its reason (influxdb)", async () => {
        const synth = await synthStack("prod");
        for (const [service, c] of containersByService(synth)) {
            const own = SERVICE_CATALOG[service as keyof typeof SERVICE_CATALOG].security.pidsLimit;
            expect({ service, limit: labelOf(c, "com.homeiq.pids-limit") }).toEqual({ service, limit: own ? String(own.limit) : "256" });
            if (own) expect(own.reason.length).toBeGreaterThan(40);
        }
        expect(labelOf(containersByService(synth).get("influxdb")!, "com.homeiq.pids-limit")).toBe("1024");
    });

    it("applies every container's PIDs limit with one Command, after all of them, before the validation gate", async () => {
        const synth = await synthStack("prod");
        const commands = synth.resources.filter((r) => r.type === "command:local:Command" && r.inputs.create === "bash scripts/docker/pids-limits.sh");
        expect(commands).toHaveLength(1);
        const [pids] = commands;
        const env = pids.inputs.environment as Record<string, string>;
        const byService = containersByService(synth);
        const all = [...byService.values(), proxyContainer(synth)!];
        const expected = all.map((c) => `${String(c.inputs.name)}=${labelOf(c, "com.homeiq.pids-limit")}`).sort();
        expect(expected).toContain("prod-docker-api-proxy=64");
        expect(env.HOMEIQ_PIDS_LIMITS.split(" ").sort()).toEqual(expected);
        for (const c of all) expect(pids.dependencies).toContain(c.urn);
        const validation = synth.resources.find((r) => r.type === "command:local:Command" && r.name.endsWith("-validation"))!;
        expect(validation.dependencies).toContain(pids.urn);
    });

    it("lowers the catalog's open-file limits to homeiq:maxOpenFiles, for an engine that cannot raise its own", async () => {
        const byService = containersByService(await synthOf(VARIANTS.prodMaxOpenFiles));
        expect(byService.get("influxdb")!.inputs.ulimits).toEqual([{ name: "nofile", soft: 20000, hard: 20000 }]);
        expect(byService.get("admin-api")!.inputs.ulimits).toBeUndefined();
    });

    it("gives InfluxDB the open-file limit InfluxData's packages start it with, and no other service a ulimit", async () => {
        for (const [service, c] of containersByService(await synthStack("prod"))) {
            expect({ service, ulimits: c.inputs.ulimits }).toEqual({
                service,
                ulimits: service === "influxdb" ? [{ name: "nofile", soft: 65536, hard: 65536 }] : undefined,
            });
        }
    });

    it("drops every capability and adds back only the catalog's justified ones, in the docker client's CAP_ form", async () => {
        for (const [service, c] of containersByService(await synthStack("prod"))) {
            // The provider reads back what the docker client sent: CAP_-prefixed and sorted (docs/provider-behaviour.md).
            const expected = SERVICE_CATALOG[service as keyof typeof SERVICE_CATALOG].security.capabilityAdditions.map((a) => `CAP_${a.capability}`).sort();
            expect({ service, caps: c.inputs.capabilities }).toEqual({ service, caps: { drops: ["ALL"], adds: expected } });
        }
    });

    it("runs every service as non-root, data-api and sports-data included; only documented exceptions run as root", async () => {
        expect(ROOT_SERVICES).toEqual(["health-dashboard"]);
        expect(SERVICE_CATALOG["health-dashboard"].security.rootReason).toMatch(/nginx/);
        for (const [service, c] of containersByService(await synthStack("prod"))) {
            if (ROOT_SERVICES.includes(service as never)) {
                expect(c.inputs.user).toBeUndefined();
            } else {
                expect({ service, user: c.inputs.user }).toEqual({ service, user: expect.stringMatching(/^[1-9]\d*:[1-9]\d*$/) });
            }
        }
    });

    it("runs data-api and sports-data from the non-root adapter image", async () => {
        const byService = containersByService(await synthStack("prod"));
        // The mock's image id of a resource: the marker, then 32 hex of the sha256 of its name (synth/synthesize.ts mockState).
        const mockId = (resource: string) => `sha256:${MOCK_DIGEST_MARKER}${createHash("sha256").update(resource).digest("hex").slice(0, 32)}`;
        expect(byService.get("data-api")?.inputs.image).toBe(mockId("homeiq-data-api-image-non-root"));
        expect(byService.get("sports-data")?.inputs.image).toBe(mockId("homeiq-sports-data-image-non-root"));
    });

    it("makes every root filesystem read-only with tmpfs, InfluxDB's included", async () => {
        expect(WRITABLE_ROOT).toEqual([]);
        for (const [service, c] of containersByService(await synthStack("prod"))) {
            const writable = WRITABLE_ROOT.includes(service as never);
            expect({ service, readOnly: c.inputs.readOnly }).toEqual({ service, readOnly: !writable });
            if (!writable) expect(Object.keys(c.inputs.tmpfs as object)).toContain("/tmp");
        }
    });

    it("publishes every port on 127.0.0.1 except the dashboard, whose bind address is config", async () => {
        for (const [service, c] of containersByService(await synthStack("prod"))) {
            const [port] = c.inputs.ports as Array<{ ip: string }>;
            expect({ service, ip: port.ip }).toEqual({ service, ip: service === "health-dashboard" ? "0.0.0.0" : "127.0.0.1" });
        }
    });

    it("turns auth on and lists explicit CORS origins", async () => {
        const byService = containersByService(await synthStack("prod"));
        for (const service of ["admin-api", "data-api"]) {
            const env = envOf(byService.get(service)!);
            expect(env.get("ENABLE_AUTH")).toBe("true");
            expect(env.get("CORS_ORIGINS")).toBe("http://homeiq.local:3000,http://localhost:3000");
        }
    });

    it("keeps data volumes in Docker on destroy (retainOnDelete), and only those", async () => {
        const volumes = ofType(await synthStack("prod"), VOLUME);
        for (const v of volumes) {
            const key = labelOf(v, "com.homeiq.volume") as keyof typeof VOLUME_CATALOG;
            expect({ key, retain: v.options.retainOnDelete }).toEqual({ key, retain: VOLUME_CATALOG[key].holdsData });
        }
        expect(volumes.filter((v) => v.options.retainOnDelete)).toHaveLength(5);
    });
});

describe("every stack", () => {
    it("is every committed stack file", () => {
        expect([...COMMITTED_STACKS].sort()).toEqual(["dev", "prod"]);
    });

    it.each(COMMITTED_STACKS)("%s: limits memory and CPU, rotates logs, restarts, and replaces containers delete-first", async (stack) => {
        for (const [service, c] of containersByService(await synthStack(stack))) {
            expect({ service, memory: Number(c.inputs.memory) > Number(c.inputs.memoryReservation) }).toEqual({ service, memory: true });
            expect(Number(c.inputs.cpus)).toBeGreaterThan(0);
            // CIS 5.12: a CPU weight proportional to the limit, never the engine's default 1024.
            expect({ service, shares: c.inputs.cpuShares }).toEqual({ service, shares: Math.round(Number(c.inputs.cpus) * 1000) });
            expect(c.inputs.cpuShares).not.toBe(1024);
            expect(c.inputs.logDriver).toBe("json-file");
            expect(c.inputs.logOpts).toEqual({ "max-size": "10m", "max-file": "3" });
            expect(c.inputs.restart).toBe("unless-stopped");
            expect(c.options.deleteBeforeReplace).toBe(true);
        }
    });

    it.each(COMMITTED_STACKS)("%s: mounts host Docker paths read-only, and only into the Docker API proxy (the socket) and log-aggregator", async (stack) => {
        const synth = await synthStack(stack);
        const byService = containersByService(synth);
        expect(proxyContainer(synth)!.inputs.volumes).toEqual([{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true }]);
        const others = [...byService.keys()].filter((k) => k !== "log-aggregator");
        for (const [service, c] of byService) {
            const hostMounts = (c.inputs.volumes as Array<{ hostPath?: string; containerPath: string; readOnly: boolean }>).filter((v) => v.hostPath);
            if (service === "log-aggregator") {
                // One read-only folder per other container of the stack (by its id), never the whole folder.
                expect(hostMounts.map((m) => m.hostPath).sort()).toEqual(others.map((k) => `/var/lib/docker/containers/homeiq-${k}-id`).sort());
                for (const m of hostMounts) expect(m).toEqual({ hostPath: m.hostPath, containerPath: m.hostPath, readOnly: true });
            } else {
                expect({ service, hostMounts }).toEqual({ service, hostMounts: [] });
            }
        }
    });

    it.each(COMMITTED_STACKS)("%s: lets log-aggregator read the engine's logs through the logs' group (as 1001 where the profile runs non-root), after every other container", async (stack) => {
        const synth = await synthStack(stack);
        const byService = containersByService(synth);
        const aggregator = byService.get("log-aggregator")!;
        // dev's profile runs images as built: log-aggregator's own USER appuser (uid 1001).
        expect(aggregator.inputs.user).toBe({ dev: undefined, prod: "1001:1001" }[stack]);
        expect(aggregator.inputs.groupAdds).toEqual(["0"]);
        for (const [service, c] of byService) {
            if (service !== "log-aggregator") expect(aggregator.dependencies).toContain(c.urn);
            if (service !== "log-aggregator" && service !== "admin-api") expect(c.inputs.groupAdds).toBeUndefined();
        }
    });
});

describe("dev differs from prod only through its profile", () => {
    it("runs images as built, with debug logs, no auth, and ports offset by 10000", async () => {
        const byService = containersByService(await synthStack("dev"));
        const dataApi = byService.get("data-api")!;
        expect(dataApi.inputs.user).toBeUndefined();
        expect(dataApi.inputs.readOnly).toBe(false);
        expect(dataApi.inputs.securityOpts).toEqual(["no-new-privileges=true", "apparmor=docker-default"]);
        expect(envOf(dataApi).get("LOG_LEVEL")).toBe("DEBUG");
        expect(envOf(dataApi).get("ENABLE_AUTH")).toBe("false");
        expect((dataApi.inputs.ports as Array<{ external: number }>)[0].external).toBe(18006);
    });
});
