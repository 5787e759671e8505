/**
 * The program's own synthesized specs, applied to the stand-in HomeIQ images on the real engine:
 * synth with the stand-in checkout (engine/stack-standins/homeiq-checkout) and the InfluxDB
 * stand-in, build every docker:index/image:Image from its inputs, and turn a container's inputs
 * into `docker run` arguments.
 *
 * The run arguments cover what decides whether an image works under a spec; a few inputs are
 * deliberately not applied (NOT_APPLIED, each with its reason) and any other input throws, so
 * nothing is skipped silently.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { synthesize, type SynthResource } from "../../synth/synthesize";
import type { RecordingMonitor } from "../../synth/recordingMonitor";
import { docker, REPO_ROOT } from "./helpers";

export const STANDIN_CHECKOUT = path.join(REPO_ROOT, "engine", "stack-standins", "homeiq-checkout");
export const INFLUXDB_STANDIN = "homeiq-standin/influxdb:stack";

export interface SynthContainer {
  /** The catalog key (label com.homeiq.service). */
  readonly service: string;
  readonly resource: SynthResource;
  /** The inputs with secret values revealed (the synth's mock values), for running the container. */
  readonly inputs: Record<string, unknown>;
  /** URNs of the containers this one depends on. */
  readonly dependsOn: string[];
  /** URN of its docker:index/image:Image or docker:index/remoteImage:RemoteImage. */
  readonly imageUrn: string;
}

export interface StandinSynth {
  readonly resources: SynthResource[];
  readonly containers: SynthContainer[];
}

/** Replaces Pulumi's secret wrappers by their values. */
function reveal(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reveal);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return reveal(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, reveal(v)]));
  }
  return value;
}

const IMAGE_TYPES = ["docker:index/image:Image", "docker:index/remoteImage:RemoteImage"];

/** Synthesizes `stack` with the stand-in checkout and InfluxDB stand-in (plus any other config overrides). */
export async function synthStandinStack(stack: string, overrides: Record<string, string> = {}): Promise<StandinSynth> {
  let monitor: RecordingMonitor | undefined;
  const result = await synthesize(stack, {
    configOverrides: { "homeiq:homeiqCheckoutPath": STANDIN_CHECKOUT, "homeiq:influxdbImage": INFLUXDB_STANDIN, ...overrides },
    onMonitor: (m) => {
      monitor = m;
    },
  });
  const raw = new Map((monitor?.registrations ?? []).map((r) => [r.urn, r.inputs]));
  const byUrn = new Map(result.resources.map((r) => [r.urn, r]));
  const containers = result.resources
    .filter((r) => r.type === "docker:index/container:Container")
    .map((r) => {
      const labels = (r.inputs.labels ?? []) as Array<{ label: string; value: string }>;
      const service = labels.find((l) => l.label === "com.homeiq.service")?.value;
      const images = r.dependencies.filter((d) => IMAGE_TYPES.includes(byUrn.get(d)?.type ?? ""));
      if (!service || images.length !== 1) {
        throw new Error(`${r.name}: expected a com.homeiq.service label and one image dependency, got ${service} and ${images.join(", ")}`);
      }
      return {
        service,
        resource: r,
        inputs: reveal(raw.get(r.urn)) as Record<string, unknown>,
        dependsOn: r.dependencies.filter((d) => byUrn.get(d)?.type === "docker:index/container:Container"),
        imageUrn: images[0]!,
      };
    });
  return { resources: result.resources, containers };
}

interface BuildInputs {
  readonly imageName: string;
  readonly build: { readonly context: string; readonly dockerfile: string; readonly args: Record<string, string> };
}

/**
 * Builds every docker:index/image:Image of the synth as the provider would (`build.context`,
 * `build.dockerfile`, `build.args`), tagged `<tagPrefix>/<imageName>` so that the program's own
 * names stay free; a BASE_IMAGE argument naming another built image is mapped the same way.
 * Returns image URN -> local reference (RemoteImage: its `name`, which must exist locally).
 */
export function buildSynthImages(resources: readonly SynthResource[], tagPrefix: string): Map<string, string> {
  const tagOf = (imageName: string): string => `${tagPrefix}/${imageName}`;
  const refs = new Map<string, string>();
  const images = resources
    .filter((r) => r.type === "docker:index/image:Image")
    .map((r) => ({ urn: r.urn, ...(r.inputs as unknown as BuildInputs) }));
  const built = new Set(images.map((i) => i.imageName));
  // Bases first: an image built on another one of the synth (BASE_IMAGE) comes after all the others.
  const layered = (i: BuildInputs): number => Number(built.has(i.build.args.BASE_IMAGE ?? ""));
  for (const { urn, imageName, build } of [...images].sort((a, b) => layered(a) - layered(b))) {
    const args = Object.entries(build.args).flatMap(([k, v]) => ["--build-arg", `${k}=${k === "BASE_IMAGE" && built.has(v) ? tagOf(v) : v}`]);
    docker(["build", "-q", "-t", tagOf(imageName), "-f", build.dockerfile, ...args, build.context], { timeoutMs: 300_000 });
    refs.set(urn, tagOf(imageName));
  }
  for (const r of resources.filter((x) => x.type === "docker:index/remoteImage:RemoteImage")) {
    const name = String(r.inputs.name);
    docker(["image", "inspect", name]);
    refs.set(r.urn, name);
  }
  return refs;
}

/** Inputs not turned into run arguments, and why. */
export const NOT_APPLIED: Readonly<Record<string, string>> = {
  ports: "published host ports would collide with other stacks on this engine; the tests reach services over the network",
  restart: "a stand-in that exits must stay exited so the test sees its exit code and log",
  labels: "the backup and validation scripts find containers by these labels; a test container must not look deployed",
  wait: "applied by the caller (it waits for healthy before starting dependents)",
  waitTimeout: "applied by the caller",
  name: "replaced by a unique test name",
  image: "replaced by the locally built image",
};

export interface RunNames {
  readonly container: string;
  readonly image: string;
  readonly network: string;
  /** Named volume of the synth -> the test's volume. */
  readonly volumes: ReadonlyMap<string, string>;
}

type Inputs = Record<string, unknown>;

/** POSIX shell quoting, for the health-check test (the CLI takes it as one CMD-SHELL string). */
const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/**
 * `docker run -d` arguments for a container's inputs, and the environment the docker CLI needs
 * (variables are passed as `-e NAME`, their values through the CLI's environment: none in argv).
 * Memory is in MB as the provider documents; health-check durations are Go durations.
 */
export function runArguments(inputs: Inputs, names: RunNames): { args: string[]; env: Record<string, string> } {
  const args = ["run", "-d", "--name", names.container];
  const env: Record<string, string> = {};
  const handlers: Record<string, (v: never) => void> = {
    user: (v: string) => args.push("--user", v),
    readOnly: (v: boolean) => v && args.push("--read-only"),
    tmpfs: (v: Record<string, string>) => Object.entries(v).forEach(([p, o]) => args.push("--tmpfs", o ? `${p}:${o}` : p)),
    capabilities: (v: { adds?: string[]; drops?: string[] }) => {
      (v.drops ?? []).forEach((c) => args.push("--cap-drop", c));
      (v.adds ?? []).forEach((c) => args.push("--cap-add", c));
    },
    securityOpts: (v: string[]) => v.forEach((o) => args.push("--security-opt", o)),
    groupAdds: (v: string[]) => v.forEach((g) => args.push("--group-add", g)),
    volumes: (v: Array<{ volumeName?: string; hostPath?: string; containerPath: string; readOnly?: boolean }>) =>
      v.forEach((m) => {
        const source = m.volumeName !== undefined ? names.volumes.get(m.volumeName) : m.hostPath;
        if (!source) throw new Error(`volume ${m.volumeName ?? "?"} has no test volume`);
        args.push("-v", `${source}:${m.containerPath}${m.readOnly ? ":ro" : ""}`);
      }),
    envs: (v: string[]) =>
      v.forEach((e) => {
        const i = e.indexOf("=");
        env[e.slice(0, i)] = e.slice(i + 1);
        args.push("-e", e.slice(0, i));
      }),
    healthcheck: (v: { tests: string[]; interval?: string; timeout?: string; startPeriod?: string; startInterval?: string; retries?: number }) => {
      if (v.tests[0] !== "CMD") throw new Error(`healthcheck.tests must be exec form ["CMD", ...], got ${JSON.stringify(v.tests)}`);
      args.push("--health-cmd", v.tests.slice(1).map(shellQuote).join(" "));
      if (v.interval) args.push("--health-interval", v.interval);
      if (v.timeout) args.push("--health-timeout", v.timeout);
      if (v.startPeriod) args.push("--health-start-period", v.startPeriod);
      if (v.startInterval) args.push("--health-start-interval", v.startInterval);
      if (v.retries !== undefined) args.push("--health-retries", String(v.retries));
    },
    memory: (v: number) => args.push("--memory", `${v}m`),
    memoryReservation: (v: number) => args.push("--memory-reservation", `${v}m`),
    cpus: (v: string) => args.push("--cpus", v),
    logDriver: (v: string) => args.push("--log-driver", v),
    logOpts: (v: Record<string, string>) => Object.entries(v).forEach(([k, o]) => args.push("--log-opt", `${k}=${o}`)),
    destroyGraceSeconds: (v: number) => args.push("--stop-timeout", String(v)),
    networksAdvanced: (v: Array<{ name: string; aliases?: string[] }>) => {
      if (v.length !== 1) throw new Error(`expected one network, got ${v.length}`);
      args.push("--network", names.network);
      (v[0]!.aliases ?? []).forEach((a) => args.push("--network-alias", a));
    },
  };
  for (const [key, value] of Object.entries(inputs)) {
    if (key in NOT_APPLIED) continue;
    const handle = handlers[key];
    if (!handle) throw new Error(`container input '${key}' is neither run as an argument nor listed in NOT_APPLIED`);
    (handle as (v: unknown) => void)(value);
  }
  args.push(names.image);
  return { args, env };
}
