/**
 * The stand-in HomeIQ images against the program's own prod specs, on the real engine (issue 7,
 * item 2). The base images come from engine/build-stack-standins.sh; the service images are built
 * here from the prod synth's docker:index/image:Image inputs, i.e. from the stand-in checkout
 * (engine/stack-standins/homeiq-checkout) at the catalog's Dockerfile paths and contexts, with the
 * non-root adapter on top of data-api and sports-data. Each container then runs with its prod
 * inputs, in dependency order, through the engine applier's drivers (stack-standins.ts says what a
 * test container changes of its spec, and why).
 *
 * What is proven: each image keeps the real image's user, command and health-check tools; every
 * service is healthy under its prod spec and writes where the real one writes; the dashboard's
 * real nginx reaches its three upstreams by their old container names; the adapter is required;
 * a stand-in fails loudly when a spec takes away a place it writes to.
 */
import * as fs from "fs";
import { docker, Resources, uniqueName } from "./helpers";
import type { DriverContext } from "../../engine/apply/liveResources";
import {
  buildSynthImages, driverContext, startContainer, synthStandinStack, testInputs, type StandinSynth, type SynthContainer, type TestNames,
} from "./stack-standins";

const PROBE_IMAGE = "homeiq-standin/python-appuser:stack";
const DOCKER_SOCKET = "/var/run/docker.sock";

/** What the real images are (HomeIQ's Dockerfiles as of 2025-10-14, and influxdb:2.7). */
const REAL_IMAGES: Record<string, { user: string; cmd: string[]; curl: boolean }> = {
  influxdb: { user: "", cmd: ["influxd"], curl: true },
  "websocket-ingestion": { user: "appuser", cmd: ["python", "-m", "main"], curl: true },
  "enrichment-pipeline": { user: "appuser", cmd: ["python", "src/main.py"], curl: true },
  "admin-api": { user: "appuser", cmd: ["python", "-m", "src.main"], curl: true },
  "data-api": { user: "", cmd: ["python", "-m", "uvicorn", "src.main:app", "--host", "0.0.0.0", "--port", "8006"], curl: false },
  "data-retention": { user: "appuser", cmd: ["python", "-m", "src.main"], curl: true },
  "carbon-intensity": { user: "appuser", cmd: ["python", "-m", "src.main"], curl: true },
  "electricity-pricing": { user: "appuser", cmd: ["python", "-m", "src.main"], curl: true },
  "air-quality": { user: "appuser", cmd: ["python", "-m", "src.main"], curl: true },
  calendar: { user: "appuser", cmd: ["python", "-m", "src.main"], curl: true },
  "smart-meter": { user: "appuser", cmd: ["python", "-m", "src.main"], curl: true },
  "sports-data": { user: "", cmd: ["python", "-m", "uvicorn", "src.main:app", "--host", "0.0.0.0", "--port", "8005"], curl: false },
  "health-dashboard": { user: "", cmd: ["nginx", "-g", "daemon off;"], curl: true },
  "log-aggregator": { user: "appuser", cmd: ["python", "-m", "src.main"], curl: true },
};

/** Where each stand-in must have written at start (besides its /tmp probe), as the real service does. */
const WRITES: Record<string, string[]> = {
  "websocket-ingestion": ["/app/logs/websocket-ingestion.log"],
  "data-retention": ["/backups/.homeiq-standin-probe"],
  "data-api": ["/app/data/metadata.db"],
  "sports-data": ["/app/data/webhooks.db"],
};

const PYTHON_SERVICES = Object.keys(REAL_IMAGES).filter((k) => k !== "influxdb" && k !== "health-dashboard");

interface Started {
  readonly container: string;
  /** "running healthy", or why not. */
  readonly status: string;
}

describe("stand-in HomeIQ images under the program's prod container specs (real engine)", () => {
  const res = new Resources();
  const tagPrefix = uniqueName("standin-images");
  const network = uniqueName("standin-net");
  const ctx: DriverContext = driverContext();
  let synth: StandinSynth;
  let images: Map<string, string>;
  let names: TestNames;
  const containerIds = new Map<string, string>();
  let probe: string;
  const started = new Map<string, Started>();

  const spec = (service: string): SynthContainer => {
    const c = synth.containers.find((x) => x.service === service);
    if (!c) throw new Error(`no container for ${service} in the prod synth`);
    return c;
  };
  /** The image a service's own Image resource builds (for data-api and sports-data: without the adapter). */
  const ownImage = (service: string): string => {
    const r = synth.resources.find((x) => x.type === "docker:index/image:Image" && x.name === `homeiq-${service}-image`);
    const ref = r && images.get(r.urn);
    if (!ref) throw new Error(`no built image for ${service}`);
    return ref;
  };
  const inspect = (container: string, format: string): string => docker(["inspect", "-f", format, container]).stdout.trim();
  /** GET from inside the stack's network: [status, body]. */
  const get = (url: string): [number, string] => {
    const out = docker(["exec", probe, "curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", url]).stdout;
    const i = out.lastIndexOf("\n");
    return [Number(out.slice(i + 1)), out.slice(0, i).trimEnd()];
  };
  const getJson = (url: string): Record<string, unknown> => {
    const [status, body] = get(url);
    expect(status).toBe(200);
    return JSON.parse(body) as Record<string, unknown>;
  };

  /** Starts a test container from a service's spec (with `changes`); waits for healthy unless `wait: false` is among them. */
  const start = async (c: SynthContainer, tag: string, changes: Record<string, unknown> = {}, testNames: TestNames = names): Promise<string> => {
    const container = res.container(uniqueName(tag));
    await startContainer(ctx, testInputs(c, container, testNames, changes));
    return container;
  };
  /** Starts a container that is expected to exit; returns its exit code and log. */
  const startExpectingExit = async (c: SynthContainer, tag: string, changes: Record<string, unknown>, testNames: TestNames = names): Promise<{ code: number; log: string }> => {
    const container = await start(c, tag, { ...changes, wait: false }, testNames);
    const code = Number(docker(["wait", container], { timeoutMs: 30_000 }).stdout.trim());
    const logs = docker(["logs", container]);
    return { code, log: logs.stdout + logs.stderr };
  };

  beforeAll(async () => {
    const socketGid = String(fs.statSync(DOCKER_SOCKET).gid);
    let t = Date.now();
    synth = await synthStandinStack("prod", { "homeiq:dockerSocketGroupId": socketGid });
    images = await buildSynthImages(ctx, synth.resources, tagPrefix);
    console.log(`synth + ${images.size} images built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    docker(["network", "create", network]);
    const volumes = new Map(
      synth.resources
        .filter((r) => r.type === "docker:index/volume:Volume")
        .map((r) => [String(r.inputs.name), res.volume(uniqueName(`standin-${String(r.inputs.name)}`))]),
    );
    names = { network, volumes, images, containerIds };
    probe = res.container(uniqueName("standin-probe"));
    docker(["run", "-d", "--name", probe, "--network", network, "--entrypoint", "sleep", PROBE_IMAGE, "infinity"]);

    // Dependency waves: a container starts when every container it depends on is up (healthy or not).
    const pending = [...synth.containers];
    while (pending.length) {
      const wave = pending.filter((c) => c.dependsOn.every((d) => !pending.some((p) => p.resource.urn === d)));
      if (!wave.length) throw new Error(`dependency cycle among ${pending.map((c) => c.service).join(", ")}`);
      await Promise.all(
        wave.map(async (c) => {
          const container = res.container(uniqueName(`standin-prod-${c.service}`));
          let status = "running healthy";
          try {
            await startContainer(ctx, testInputs(c, container, names));
          } catch (err) {
            status = err instanceof Error ? err.message : String(err);
          }
          const id = docker(["inspect", "-f", "{{.Id}}", container], { allowFail: true });
          if (id.code === 0) containerIds.set(c.resource.name, id.stdout.trim());
          started.set(c.service, { container, status });
        }),
      );
      for (const c of wave) pending.splice(pending.indexOf(c), 1);
    }
    console.log(`stand-in prod stack: ${synth.containers.length} containers started and waited for in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }, 10 * 60_000);

  afterAll(() => {
    res.cleanup();
    docker(["network", "rm", network], { allowFail: true });
    if (images) docker(["image", "rm", ...[...images.values()].filter((i) => i.startsWith(`${tagPrefix}/`))], { allowFail: true });
  }, 5 * 60_000);

  it("builds every Image input of the prod synth from the stand-in checkout, with the non-root adapter on data-api and sports-data", () => {
    const built = synth.resources.filter((r) => r.type === "docker:index/image:Image").map((r) => r.name).sort();
    // 13 services, 2 non-root adapters, and the Docker API proxy (images/docker-api-proxy).
    expect(built).toHaveLength(16);
    expect(built).toContain("homeiq-docker-api-proxy-image");
    expect(built).toEqual(expect.arrayContaining(["homeiq-data-api-image-non-root", "homeiq-sports-data-image-non-root"]));
    for (const service of ["data-api", "sports-data"]) {
      const adapted = images.get(spec(service).imageUrn)!;
      expect(adapted).toMatch(/-non-root:local$/);
      expect(inspect(adapted, "{{.Config.User}}")).toBe("1001:1001");
    }
  });

  it.each(Object.keys(REAL_IMAGES))("%s: the image keeps the real image's USER and CMD, and has curl exactly when the real one does", (service) => {
    const image = service === "influxdb" ? images.get(spec(service).imageUrn)! : ownImage(service);
    const real = REAL_IMAGES[service]!;
    expect(inspect(image, "{{.Config.User}}")).toBe(real.user);
    expect(JSON.parse(inspect(image, "{{json .Config.Cmd}}"))).toEqual(real.cmd);
    // In the image the container runs (for two of them the adapter's, which adds no tools): curl, and the
    // command of the prod health check, on the PATH or not.
    const tool = (spec(service).inputs.healthcheck as { tests: string[] }).tests[1]!;
    const found = docker(["run", "--rm", "--network", "none", "--entrypoint", "sh", images.get(spec(service).imageUrn)!, "-c",
      'for c in curl "$0"; do if command -v "$c" >/dev/null; then echo "$c=yes"; else echo "$c=no"; fi; done', tool]).stdout.trim().split("\n");
    expect(found).toEqual([`curl=${real.curl ? "yes" : "no"}`, `${tool}=yes`]);
  });

  it.each(Object.keys(REAL_IMAGES))("%s: healthy under its prod spec", (service) => {
    const s = started.get(service)!;
    expect({ service, status: s.status }).toEqual({ service, status: "running healthy" });
  });

  it.each(PYTHON_SERVICES)("%s: runs as the prod spec's user and wrote /tmp and its own places at start", (service) => {
    const alias = (spec(service).inputs.networksAdvanced as Array<{ aliases: string[] }>)[0]!.aliases[0]!;
    const info = getJson(`http://${alias}:${containerPort(spec(service))}/standin`);
    expect(`${String(info.uid)}:${String(info.gid)}`).toBe(spec(service).inputs.user);
    expect(info.wrote).toEqual([`/tmp/homeiq-standin-${service}.probe`, ...(WRITES[service] ?? [])]);
  });

  it.each([
    ["data-api", "metadata.db", "prod-sqlite-data"],
    ["sports-data", "webhooks.db", "prod-sports-data"],
  ])("%s: its SQLite file %s on the volume has the row of this start, written by uid 1001", (service, db, volume) => {
    const s = started.get(service)!;
    const rows = docker(["exec", s.container, "python", "-c",
      `import sqlite3; print(sqlite3.connect("/app/data/${db}").execute("SELECT service, uid FROM standin_starts").fetchall())`]).stdout.trim();
    expect(rows).toBe(`[('${service}', 1001)]`);
    expect(inspect(s.container, '{{range .Mounts}}{{if eq .Destination "/app/data"}}{{.Name}}{{end}}{{end}}')).toBe(names.volumes.get(volume));
  });

  it("influxdb: the stand-in serves /health and /ready as uid 1000 on the prod volumes", () => {
    expect(get("http://influxdb:8086/health")[0]).toBe(200);
    expect(get("http://influxdb:8086/ready")[0]).toBe(200);
    const s = started.get("influxdb")!;
    const uids = docker(["exec", s.container, "sh", "-c", "awk '/^Uid:/{print $2}' /proc/1/status; stat -c %u:%g /var/lib/influxdb2/influxd.bolt /etc/influxdb2/influx-configs"]).stdout.trim().split("\n");
    expect(uids).toEqual(["1000", "1000:1000", "1000:1000"]);
    // Read-only root (prod): the first-run setup's writes outside the volumes all landed on the /tmp tmpfs, and the
    // CLI config (rewritten to the final port, as the real entrypoint's `sed -i` does) on the config volume.
    expect(docker(["inspect", "-f", "{{.HostConfig.ReadonlyRootfs}}", s.container]).stdout.trim()).toBe("true");
    expect(docker(["exec", s.container, "cat", "/tmp/config.json"]).stdout).toContain('"http-bind-address": ":9999"');
    expect(docker(["exec", s.container, "grep", "-c", "url = \"http://localhost:8086\"", "/etc/influxdb2/influx-configs"]).stdout.trim()).toBe("1");
  });

  it("influxdb: its first-run setup fails on a read-only root without the /tmp tmpfs, where the real entrypoint writes /tmp/config.json", async () => {
    const c = spec("influxdb");
    const fresh = {
      ...names,
      volumes: new Map([
        ["prod-influxdb-data", res.volume(uniqueName("standin-influx-fresh-data"))],
        ["prod-influxdb-config", res.volume(uniqueName("standin-influx-fresh-config"))],
      ]),
    };
    const r = await startExpectingExit(c, "standin-influx-no-tmp", { tmpfs: undefined }, fresh);
    expect(r.code).not.toBe(0);
    expect(r.log).toMatch(/\/tmp\/config\.json: Read-only file system/);
  });

  it("health-dashboard: the real nginx answers /health, serves the SPA, and proxies to data-api, admin-api and sports-data by their old names", () => {
    expect(get("http://health-dashboard/health")).toEqual([200, "healthy"]);
    expect(get("http://health-dashboard/some/spa/route")[1]).toContain("homeiq-standin: health-dashboard");
    expect(getJson("http://health-dashboard/api/v1/events")).toMatchObject({ service: "data-api", path: "/api/v1/events" });
    expect(getJson("http://health-dashboard/api/devices")).toMatchObject({ service: "data-api", path: "/api/devices" });
    expect(getJson("http://health-dashboard/api/v1/services")).toMatchObject({ service: "admin-api", path: "/api/v1/services" });
    expect(getJson("http://health-dashboard/api/stats")).toMatchObject({ service: "admin-api", path: "/api/v1/stats" });
    expect(getJson("http://health-dashboard/api/sports/games/live")).toMatchObject({ service: "sports-data", path: "/api/v1/games/live" });
  });

  it("health-dashboard: nginx's master runs as root and its workers as nginx (101), as in nginx:alpine", () => {
    const s = started.get("health-dashboard")!;
    const procs = docker(["exec", s.container, "sh", "-c",
      "for f in /proc/[0-9]*/status; do awk '/^Name:/{n=$2} /^Uid:/{print n, $2}' \"$f\"; done"]).stdout;
    const nginx = procs.split("\n").filter((l) => l.startsWith("nginx ")).sort();
    expect(nginx[0]).toBe("nginx 0");
    expect(nginx.slice(1).length).toBeGreaterThan(0);
    expect(new Set(nginx.slice(1))).toEqual(new Set(["nginx 101"]));
  });

  it("docker-api-proxy: healthy under its prod spec (read-only, uid 2375, the socket's group), passing reads and refusing writes", () => {
    expect(started.get("docker-api-proxy")).toMatchObject({ status: "running healthy" });
    expect(spec("docker-api-proxy").inputs.groupAdds).toEqual([String(fs.statSync(DOCKER_SOCKET).gid)]);
    expect(spec("admin-api").inputs.groupAdds).toBeUndefined();
    const status = (method: string, apiPath: string): string =>
      docker(["exec", probe, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", method, `http://docker-api-proxy:2375${apiPath}`]).stdout.trim();
    expect(status("GET", "/_ping")).toBe("200");
    expect(status("GET", "/v1.44/containers/json?all=1")).toBe("200");
    expect(status("POST", "/v1.44/containers/create")).toBe("403");
    expect(status("DELETE", `/v1.44/containers/${started.get("influxdb")!.container}`)).toBe("403");
  });

  it("log-aggregator: reads the json-file logs of the stack's other containers under the prod spec (their folders mounted, group 0)", () => {
    // Every other service's container (the Docker API proxy is not a log source of the catalog).
    const others = synth.containers.filter((c) => c.service !== "docker-api-proxy").length - 1;
    const stats = JSON.parse(docker(["exec", probe, "curl", "-sS", "-X", "POST", "http://log-aggregator:8015/api/v1/logs/collect"]).stdout) as Record<string, unknown>;
    expect(stats).toMatchObject({ containers_seen: others, files_read: others, errors: [] });
    expect(stats.lines).toBeGreaterThan(0);
  });

  it("log-aggregator: reports the exact error when the engine's folder is mounted whole, as the program did before (0710 root:root)", async () => {
    const c = spec("log-aggregator");
    const whole = { hostPath: "/var/lib/docker/containers", containerPath: "/var/lib/docker/containers", readOnly: true };
    const volumes = [...(c.inputs.volumes as Array<Record<string, unknown>>).filter((v) => v.hostPath === undefined), whole];
    const container = await start(c, "standin-logs-whole-folder", { volumes });
    const stats = JSON.parse(docker(["exec", container, "curl", "-sS", "-X", "POST", "http://localhost:8015/api/v1/logs/collect"]).stdout) as Record<string, unknown>;
    expect(stats).toMatchObject({ containers_seen: 0, files_read: 0, errors: ["/var/lib/docker/containers: EACCES (errno 13): Permission denied"] });
  });

  it.each(["data-api", "sports-data"])("%s: the non-root adapter is required: its own image as 1001 fails loudly, even with PYTHONUSERBASE", async (service) => {
    const c = spec(service);
    const bare = await startExpectingExit(c, `standin-no-adapter-${service}`, { image: ownImage(service) });
    expect(bare.code).toBe(1);
    expect(bare.log).toContain("No module named uvicorn");
    // Half the adapter (the variable without opening /root) is not enough: /root is 0700.
    const envs = [...(c.inputs.envs as string[]), "PYTHONUSERBASE=/root/.local"];
    const half = await startExpectingExit(c, `standin-half-adapter-${service}`, { image: ownImage(service), envs });
    expect(half.code).toBe(1);
    expect(half.log).toContain("No module named uvicorn");
  });

  it("websocket-ingestion: fails loudly, naming the path and errno, when the spec loses its /app/logs tmpfs", async () => {
    const c = spec("websocket-ingestion");
    const tmpfs = { ...(c.inputs.tmpfs as Record<string, string>) };
    delete tmpfs["/app/logs"];
    const r = await startExpectingExit(c, "standin-no-logs-tmpfs", { tmpfs });
    expect(r.code).toBe(1);
    expect(r.log).toContain("FATAL: cannot write log file /app/logs/websocket-ingestion.log: EROFS (errno 30): Read-only file system");
  });

  it("enrichment-pipeline: stops on SIGTERM as the real (uvicorn-run) services do, instead of being killed after the grace period", async () => {
    const container = await start(spec("enrichment-pipeline"), "standin-sigterm");
    docker(["stop", "-t", "20", container], { timeoutMs: 60_000 });
    // Ignored as PID 1, SIGTERM would leave `docker stop` to SIGKILL it (exit 137) after 20 s.
    expect(inspect(container, "{{.State.ExitCode}}")).toBe("0");
  });

  it("carbon-intensity: fails loudly when its InfluxDB token is empty (every InfluxDB client checks it at start)", async () => {
    const c = spec("carbon-intensity");
    const envs = (c.inputs.envs as string[]).map((e) => (e.startsWith("INFLUXDB_TOKEN=") ? "INFLUXDB_TOKEN=" : e));
    const r = await startExpectingExit(c, "standin-no-token", { envs });
    expect(r.code).toBe(1);
    expect(r.log).toContain("FATAL: INFLUXDB_URL is http://influxdb:8086 but INFLUXDB_TOKEN is empty or unset");
  });

  it("data-api: fails loudly on a volume the image's root user created first (the case the volume handover exists for)", async () => {
    const c = spec("data-api");
    const own = { ...names, volumes: new Map([["prod-sqlite-data", res.volume(uniqueName("standin-root-owned"))]]) };
    // As dev runs it: the image's own user (root), writable, default capabilities; the volume is first mounted there.
    const asDev = { user: undefined, readOnly: undefined, tmpfs: undefined, capabilities: undefined, image: ownImage("data-api") };
    const first = await start(c, "standin-data-api-root", asDev, own);
    docker(["rm", "-f", first]);
    const r = await startExpectingExit(c, "standin-data-api-1001", {}, own);
    expect(r.code).toBe(1);
    expect(r.log).toContain("FATAL: cannot write SQLite database /app/data/metadata.db (opened as ./data/metadata.db from /app): EACCES (errno 13): Permission denied");
  });
});

/** The container port of a service (its only published port's `internal`). */
function containerPort(c: SynthContainer): number {
  const ports = c.inputs.ports as Array<{ internal: number }>;
  return ports[0]!.internal;
}
