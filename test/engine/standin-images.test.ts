/**
 * The stand-in HomeIQ images against the program's own prod specs, on the real engine (issue 7,
 * item 2). The base images come from engine/build-stack-standins.sh; the service images are built
 * here from the prod synth's docker:index/image:Image inputs, i.e. from the stand-in checkout
 * (engine/stack-standins/homeiq-checkout) at the catalog's Dockerfile paths and contexts, with the
 * non-root adapter on top of data-api and sports-data. Each container then runs with its prod
 * inputs (stack-standins.ts says which inputs are not applied, and why) in dependency order.
 *
 * What is proven: each image keeps the real image's user, command and health-check tools; every
 * service is healthy under its prod spec and writes where the real one writes; the dashboard's
 * real nginx reaches its three upstreams by their old container names; the adapter is required;
 * a stand-in fails loudly when a spec takes away a place it writes to.
 */
import * as fs from "fs";
import { docker, Resources, sleep, uniqueName } from "./helpers";
import { buildSynthImages, runArguments, synthStandinStack, type StandinSynth, type SynthContainer } from "./stack-standins";

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
  readonly status: string;
  readonly log: string;
}

describe("stand-in HomeIQ images under the program's prod container specs (real engine)", () => {
  const res = new Resources();
  const tagPrefix = uniqueName("standin-images");
  const network = uniqueName("standin-net");
  let synth: StandinSynth;
  let images: Map<string, string>;
  let volumes: Map<string, string>;
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

  /** Runs a container from a (possibly changed) copy of a service's inputs; returns its name. */
  const run = (c: SynthContainer, tag: string, inputs: Record<string, unknown> = c.inputs, image = images.get(c.imageUrn)!): string => {
    const container = res.container(uniqueName(tag));
    const { args, env } = runArguments(inputs, { container, image, network, volumes });
    docker(args, { env, timeoutMs: 60_000 });
    return container;
  };

  /** Waits until healthy, exited, or the spec's waitTimeout; returns the final status. */
  const waitHealthy = (container: string, timeoutSeconds: number): string => {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      const status = inspect(container, "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}");
      if (status === "running healthy" || status.startsWith("exited") || Date.now() > deadline) return status;
      sleep(200);
    }
  };
  const waitExited = (container: string): { code: number; log: string } => {
    const code = Number(docker(["wait", container], { timeoutMs: 30_000 }).stdout.trim());
    const logs = docker(["logs", container]);
    return { code, log: logs.stdout + logs.stderr };
  };

  beforeAll(async () => {
    const socketGid = String(fs.statSync(DOCKER_SOCKET).gid);
    let t = Date.now();
    synth = await synthStandinStack("prod", { "homeiq:dockerSocketGroupId": socketGid });
    images = buildSynthImages(synth.resources, tagPrefix);
    console.log(`synth + ${images.size} images built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    docker(["network", "create", network]);
    volumes = new Map(
      synth.resources
        .filter((r) => r.type === "docker:index/volume:Volume")
        .map((r) => [String(r.inputs.name), res.volume(uniqueName(`standin-${String(r.inputs.name)}`))]),
    );
    probe = res.container(uniqueName("standin-probe"));
    docker(["run", "-d", "--name", probe, "--network", network, "--entrypoint", "sleep", PROBE_IMAGE, "infinity"]);

    // Dependency waves: a container starts when every container it depends on is up (healthy or not).
    const pending = [...synth.containers];
    const done = new Set<string>();
    while (pending.length) {
      const wave = pending.filter((c) => c.dependsOn.every((d) => done.has(d)));
      if (!wave.length) throw new Error(`dependency cycle among ${pending.map((c) => c.service).join(", ")}`);
      const names = wave.map((c) => [c, run(c, `standin-prod-${c.service}`)] as const);
      for (const [c, container] of names) {
        const status = waitHealthy(container, Number(c.inputs.waitTimeout ?? 180));
        const logs = docker(["logs", container]);
        started.set(c.service, { container, status, log: logs.stdout + logs.stderr });
        done.add(c.resource.urn);
        pending.splice(pending.indexOf(c), 1);
      }
    }
    console.log(`stand-in prod stack: ${synth.containers.length} containers started and waited for in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  });

  afterAll(() => {
    res.cleanup();
    docker(["network", "rm", network], { allowFail: true });
    if (images) docker(["image", "rm", ...[...images.values()].filter((i) => i.startsWith(`${tagPrefix}/`))], { allowFail: true });
  });

  it("builds every Image input of the prod synth from the stand-in checkout, with the non-root adapter on data-api and sports-data", () => {
    const built = synth.resources.filter((r) => r.type === "docker:index/image:Image").map((r) => r.name).sort();
    expect(built).toHaveLength(15);
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
    expect(inspect(s.container, '{{range .Mounts}}{{if eq .Destination "/app/data"}}{{.Name}}{{end}}{{end}}')).toBe(volumes.get(volume));
  });

  it("influxdb: the stand-in serves /health and /ready as uid 1000 on the prod volumes", () => {
    expect(get("http://influxdb:8086/health")[0]).toBe(200);
    expect(get("http://influxdb:8086/ready")[0]).toBe(200);
    const s = started.get("influxdb")!;
    const uids = docker(["exec", s.container, "sh", "-c", "awk '/^Uid:/{print $2}' /proc/1/status; stat -c %u:%g /var/lib/influxdb2/influxd.bolt /etc/influxdb2/influx-configs"]).stdout.trim().split("\n");
    expect(uids).toEqual(["1000", "1000:1000", "1000:1000"]);
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

  it("admin-api: reaches the Docker socket when homeiq:dockerSocketGroupId names the socket's group", () => {
    expect(spec("admin-api").inputs.groupAdds).toEqual([String(fs.statSync(DOCKER_SOCKET).gid)]);
    const info = getJson("http://admin-api:8004/standin");
    expect(info.docker_socket).toMatchObject({ socket: DOCKER_SOCKET, ok: true });
  });

  // KNOWN SPEC PROBLEM (issue 7): the engine keeps /var/lib/docker/containers 0710 root:root, so
  // log-aggregator as 1001 cannot list it. When the program is fixed, this test must be turned
  // into "reads the logs" (files_read > 0, no errors).
  it("log-aggregator: under the prod spec it cannot list /var/lib/docker/containers (KNOWN SPEC PROBLEM, issue 7)", () => {
    const stats = getJson("http://log-aggregator:8015/api/v1/logs/stats");
    expect(stats).toMatchObject({ containers_seen: 0, files_read: 0, errors: ["/var/lib/docker/containers: EACCES (errno 13): Permission denied"] });
  });

  it("log-aggregator: the stand-in reads real json-file logs when it may (run as root with the same mount)", () => {
    const c = spec("log-aggregator");
    const { user: _u, readOnly: _r, tmpfs: _t, capabilities: _c, ...asRoot } = c.inputs;
    // HOME keeps Python's user site (the packages) at /home/appuser/.local for root.
    const envs = [...(c.inputs.envs as string[]), "HOME=/home/appuser"];
    const container = run(c, "standin-logs-root", { ...asRoot, user: "0:0", envs });
    expect(waitHealthy(container, 30)).toBe("running healthy");
    const stats = JSON.parse(docker(["exec", container, "curl", "-sS", "-X", "POST", "http://localhost:8015/api/v1/logs/collect"]).stdout) as Record<string, number | string[]>;
    expect(stats.errors).toEqual([]);
    expect(stats.files_read).toBeGreaterThan(0);
    expect(stats.lines).toBeGreaterThan(0);
  });

  it.each(["data-api", "sports-data"])("%s: the non-root adapter is required: its own image as 1001 fails loudly, even with PYTHONUSERBASE", (service) => {
    const c = spec(service);
    const bare = waitExited(run(c, `standin-no-adapter-${service}`, c.inputs, ownImage(service)));
    expect(bare.code).toBe(1);
    expect(bare.log).toContain("No module named uvicorn");
    // Half the adapter (the variable without opening /root) is not enough: /root is 0700.
    const envs = [...(c.inputs.envs as string[]), "PYTHONUSERBASE=/root/.local"];
    const half = waitExited(run(c, `standin-half-adapter-${service}`, { ...c.inputs, envs }, ownImage(service)));
    expect(half.code).toBe(1);
    expect(half.log).toContain("No module named uvicorn");
  });

  it("websocket-ingestion: fails loudly, naming the path and errno, when the spec loses its /app/logs tmpfs", () => {
    const c = spec("websocket-ingestion");
    const tmpfs = { ...(c.inputs.tmpfs as Record<string, string>) };
    delete tmpfs["/app/logs"];
    const r = waitExited(run(c, "standin-no-logs-tmpfs", { ...c.inputs, tmpfs }));
    expect(r.code).toBe(1);
    expect(r.log).toContain("FATAL: cannot write log file /app/logs/websocket-ingestion.log: EROFS (errno 30): Read-only file system");
  });

  it("carbon-intensity: fails loudly when its InfluxDB token is empty (every InfluxDB client checks it at start)", () => {
    const c = spec("carbon-intensity");
    const envs = (c.inputs.envs as string[]).map((e) => (e.startsWith("INFLUXDB_TOKEN=") ? "INFLUXDB_TOKEN=" : e));
    const r = waitExited(run(c, "standin-no-token", { ...c.inputs, envs }));
    expect(r.code).toBe(1);
    expect(r.log).toContain("FATAL: INFLUXDB_URL is http://influxdb:8086 but INFLUXDB_TOKEN is empty or unset");
  });

  it("data-api: fails loudly on a volume the image's root user created first (the case the volume handover exists for)", () => {
    const c = spec("data-api");
    const volume = res.volume(uniqueName("standin-root-owned"));
    const names = new Map([["prod-sqlite-data", volume]]);
    // As dev runs it: the image's own user (root), writable, default capabilities; the volume is first mounted there.
    const { user: _u, readOnly: _r, tmpfs: _t, capabilities: _c, ...asDev } = c.inputs;
    const asRoot = res.container(uniqueName("standin-data-api-root"));
    const dev = runArguments(asDev, { container: asRoot, image: ownImage("data-api"), network, volumes: names });
    docker(dev.args, { env: dev.env });
    expect(waitHealthy(asRoot, 60)).toBe("running healthy");
    docker(["rm", "-f", asRoot]);
    const prod = res.container(uniqueName("standin-data-api-1001"));
    const p = runArguments(c.inputs, { container: prod, image: images.get(c.imageUrn)!, network, volumes: names });
    docker(p.args, { env: p.env });
    const r = waitExited(prod);
    expect(r.code).toBe(1);
    expect(r.log).toContain("FATAL: cannot write SQLite database /app/data/metadata.db (opened as ./data/metadata.db from /app): EACCES (errno 13): Permission denied");
  });
});

/** The container port of a service (its only published port's `internal`). */
function containerPort(c: SynthContainer): number {
  const ports = c.inputs.ports as Array<{ internal: number }>;
  return ports[0]!.internal;
}
