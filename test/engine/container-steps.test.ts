/**
 * What each kind of container input change does on a real engine, as engine/apply plans it from
 * the provider's read-back (engine/apply/plan.ts, the rows of containerInputs.ts): the read-back of
 * a real container is what the planner's engine model predicts (so the unit tests' "no diff after
 * create" property holds on a real engine); an in-place update reaches the running container; a
 * state-only change does not (the provider's behaviour, which the program answers with
 * replaceOnChanges); a replacement does; and a container whose health wait timed out stays in state
 * with init errors, is not waited for again on the rerun, and is caught by the container health gate.
 */
import * as path from "path";
import { containerPlan } from "../../engine/apply/containerInputs";
import { dockerApi } from "../../engine/apply/dockerApi";
import { DRIVERS, PartialCreateError, type DriverContext, type Props } from "../../engine/apply/liveResources";
import { containerChanges, containerReadBack, engineModel, planStep } from "../../engine/apply/plan";
import { docker, IMAGES, REPO_ROOT, Resources, run, uniqueName } from "./helpers";

const CONTAINER = DRIVERS["docker:index/container:Container"];
const ctx: DriverContext = { api: dockerApi(undefined), dockerHost: "unix:///var/run/docker.sock", cwd: REPO_ROOT, log: () => undefined };
const inspect = (name: string): { HostConfig: Props; Config: Props; State: { Health?: { Status: string } } } =>
    JSON.parse(docker(["inspect", name]).stdout)[0];

describe("container steps on a real engine, as engine/apply plans them", () => {
    const res = new Resources();
    const image = uniqueName("steps-image").replace(/-(\d+)-(\d+)$/, ":$1-$2");
    const network = uniqueName("steps-net");
    let imageId = "";
    let base: Props;
    let current: { id: string; state: Props };

    const inputsWith = (name: string, over: Props = {}): Props => ({ ...base, name: res.container(name), ...over });
    const plan = (state: Props, inputs: Props, replaceOnChanges: string[] = [], initErrors = false) => planStep(containerChanges(state, inputs), replaceOnChanges, initErrors);

    beforeAll(() => {
        docker(["build", "-q", "-t", image, "-"], { input: `FROM ${IMAGES.busybox}\nCMD ["sleep", "3600"]\n` });
        imageId = docker(["image", "inspect", "--format", "{{.Id}}", image]).stdout.trim();
        docker(["network", "create", network]);
        base = {
            image: imageId,
            envs: ["A=1"],
            labels: [{ label: "com.homeiq.test", value: "container-steps" }],
            restart: "no",
            memory: 64,
            memorySwap: 64,
            memoryReservation: 32,
            cpus: "0.5",
            healthcheck: { tests: ["CMD", "true"], interval: "30s", timeout: "5s", retries: 1, startPeriod: "10s", startInterval: "250ms" },
            wait: true,
            waitTimeout: 30,
            networksAdvanced: [{ name: network, aliases: ["steps"] }],
            logDriver: "json-file",
            logOpts: { "max-size": "1m", "max-file": "1" },
            user: "1001:1001",
            readOnly: true,
            tmpfs: { "/tmp": "rw,noexec,nosuid,size=8m" },
            securityOpts: ["no-new-privileges=true"],
            capabilities: { drops: ["ALL"], adds: ["CAP_CHOWN"] },
            destroyGraceSeconds: 1,
        };
    }, 120_000);

    afterAll(() => {
        res.cleanup();
        docker(["network", "rm", network], { allowFail: true });
        docker(["image", "rm", image], { allowFail: true });
    });

    it("reads a real container back exactly as the planner's engine model predicts, and plans no change", async () => {
        const inputs = inputsWith(uniqueName("steps-same"));
        current = await CONTAINER.create(ctx, String(inputs.name), inputs);
        expect(current.state).toEqual(containerReadBack(inputs, engineModel(containerPlan(inputs))));
        expect(plan(current.state, inputs).op).toBe("same");
        base = { ...base, name: inputs.name };
    }, 60_000);

    it("an in-place change (memory, swap) is one ContainerUpdate that the running container shows", async () => {
        const inputs: Props = { ...base, memory: 128, memorySwap: 128 };
        expect(plan(current.state, inputs)).toMatchObject({ op: "update" });
        const before = inspect(String(base.name));
        current = await CONTAINER.update!(ctx, String(base.name), inputs, current);
        const after = inspect(String(base.name));
        expect({ memory: after.HostConfig.Memory, swap: after.HostConfig.MemorySwap }).toEqual({ memory: 128 * 1024 * 1024, swap: 128 * 1024 * 1024 });
        expect(after.HostConfig.Memory).not.toBe(before.HostConfig.Memory);
        base = inputs;
        expect(plan(current.state, base).op).toBe("same");
    }, 60_000);

    it("a health-check change is state only: the running container keeps its old check (so the program replaces on it)", () => {
        const inputs: Props = { ...base, healthcheck: { ...(base.healthcheck as Props), startPeriod: "20s" } };
        const planned = plan(current.state, inputs);
        expect(planned).toMatchObject({ op: "state-only", changes: [{ key: "healthcheck", kind: "state" }] });
        const state = CONTAINER.stateOnly!(current, inputs);
        expect((state.healthcheck as Props).startPeriod).toBe("20s");
        expect(inspect(String(base.name)).Config.Healthcheck).toMatchObject({ StartPeriod: 10e9 });
        expect(plan(current.state, inputs, ["healthcheck", "tmpfs"]).op).toBe("replace");
    });

    it("a replacement creates the container again with the change", async () => {
        const inputs: Props = { ...base, tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" } };
        expect(plan(current.state, inputs, ["healthcheck", "tmpfs"])).toMatchObject({ op: "replace", replaceKeys: ["tmpfs"] });
        await CONTAINER.delete(ctx, String(base.name), { ...current, retainOnDelete: false });
        const replaced = await CONTAINER.create(ctx, String(inputs.name), inputs);
        expect(replaced.id).not.toBe(current.id);
        expect(inspect(String(base.name)).HostConfig.Tmpfs).toEqual({ "/tmp": "rw,noexec,nosuid,size=16m" });
        current = replaced;
    }, 60_000);

    it("a delete removes the container with its anonymous volumes, as the provider's remove_volumes default does, and never a named volume", async () => {
        // An image that declares a VOLUME gets an anonymous volume per container (as influxdb:2.7 declares two).
        const withVolume = `${image}-anon`;
        docker(["build", "-q", "-t", withVolume, "-"], { input: `FROM ${IMAGES.busybox}\nVOLUME /anon\nCMD ["sleep", "3600"]\n` });
        const named = res.volume(uniqueName("steps-named"));
        const inputs = inputsWith(uniqueName("steps-anon"), { image: withVolume, volumes: [{ volumeName: named, containerPath: "/named" }] });
        const created = await CONTAINER.create(ctx, String(inputs.name), inputs);
        const mounts = (JSON.parse(docker(["inspect", String(inputs.name)]).stdout)[0].Mounts as Array<{ Name: string; Destination: string }>).map((m) => [m.Destination, m.Name] as const);
        const anonymous = mounts.find(([dest]) => dest === "/anon")?.[1];
        expect(mounts.find(([dest]) => dest === "/named")?.[1]).toBe(named);
        expect(anonymous).toMatch(/^[0-9a-f]{64}$/);
        await CONTAINER.delete(ctx, String(inputs.name), { ...created, retainOnDelete: false });
        const volumeExists = (v: string): boolean => run("docker", ["volume", "inspect", v], { allowFail: true }).code === 0;
        expect(run("docker", ["inspect", String(inputs.name)], { allowFail: true }).code).not.toBe(0);
        expect({ anonymous: volumeExists(anonymous!), named: volumeExists(named) }).toEqual({ anonymous: false, named: true });
        docker(["image", "rm", withVolume]);
    }, 60_000);

    it("capabilities written without CAP_ read back with it on the engine: a replacement every time", async () => {
        const inputs = inputsWith(uniqueName("steps-caps"), { capabilities: { drops: ["ALL"], adds: ["CHOWN"] } });
        const created = await CONTAINER.create(ctx, String(inputs.name), inputs);
        expect(inspect(String(inputs.name)).HostConfig.CapAdd).toEqual(["CAP_CHOWN"]);
        expect(plan(created.state, inputs)).toMatchObject({ op: "replace", replaceKeys: ["capabilities"] });
    }, 60_000);

    it("a failed health wait leaves the container in state with init errors; the rerun does not wait, and the health gate catches it", async () => {
        const inputs = inputsWith(uniqueName("steps-unhealthy"), {
            healthcheck: { tests: ["CMD", "false"], interval: "1s", timeout: "1s", retries: 1, startPeriod: "0s", startInterval: "250ms" },
            waitTimeout: 3,
        });
        let partial: PartialCreateError | undefined;
        await CONTAINER.create(ctx, String(inputs.name), inputs).catch((err: unknown) => {
            partial = err instanceof PartialCreateError ? err : undefined;
        });
        expect(partial?.message).toMatch(/failed to be in healthy state within 3s/);
        expect(inspect(String(inputs.name)).State.Health?.Status).toBe("unhealthy");
        // The rerun with the same inputs: an empty update (no change, no wait), so it "succeeds".
        const planned = plan(partial!.state, inputs, ["healthcheck", "tmpfs"], true);
        expect(planned).toEqual({ op: "update", changes: [], replaceKeys: [] });
        const started = Date.now();
        const updated = await CONTAINER.update!(ctx, String(inputs.name), inputs, { id: partial!.id, state: partial!.state });
        expect(updated.id).toBe(partial!.id);
        expect(Date.now() - started).toBeLessThan(3000);
        // What stops that rerun from reporting success: the container health gate the program runs next.
        const gate = run("bash", [path.join(REPO_ROOT, "scripts", "validate", "containers-healthy.sh")], {
            env: { HOMEIQ_HEALTH_CONTAINERS: `${String(base.name)} ${String(inputs.name)}`, HOMEIQ_HEALTH_WAIT_SECONDS: "0" },
            allowFail: true,
        });
        expect(gate.code).toBe(1);
        expect(gate.stdout).toContain("health gate failed: 1 of 2 containers not healthy");
    }, 60_000);
});
