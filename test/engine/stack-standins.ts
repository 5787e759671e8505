/**
 * The program's synthesized specs applied, one resource at a time, to the stand-in HomeIQ images on
 * the real engine (standin-images.test.ts): synth with the stand-in checkout
 * (engine/stack-standins/homeiq-checkout) and the InfluxDB stand-in, then build images and create
 * containers through the engine applier's own drivers (engine/apply: the provider's behaviour and
 * THE table of container inputs), under test names.
 *
 * What a test container changes of its spec: its name, image, network and volume names (test ones),
 * the container ids in log-aggregator's log mounts (the synth's mock ids -> the test containers'
 * ids), and the inputs in NOT_APPLIED (each with its reason).
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { dockerApi } from "../../engine/apply/dockerApi";
import { DRIVERS, type DriverContext } from "../../engine/apply/liveResources";
import type { RecordingMonitor } from "../../synth/recordingMonitor";
import { synthesize, type SynthResource } from "../../synth/synthesize";
import { REPO_ROOT } from "./helpers";
import { engineMaxOpenFiles, STANDIN_DEBIAN_IMAGE, TEST_SECRET_KEYS, testCredentials } from "./stack-helpers";

export const STANDIN_CHECKOUT = path.join(REPO_ROOT, "engine", "stack-standins", "homeiq-checkout");
export const INFLUXDB_STANDIN = "homeiq-standin/influxdb:stack";

const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/image:Image";
const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";

type Inputs = Record<string, unknown>;

export interface SynthContainer {
  /** The catalog key (label com.homeiq.service). */
  readonly service: string;
  readonly resource: SynthResource;
  /** The inputs with secret values revealed (the synth's mock values), as a provider receives them. */
  readonly inputs: Inputs;
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
    const obj = value as Inputs;
    if (obj[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return reveal(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, reveal(v)]));
  }
  return value;
}

/** Synthesizes `stack` with the stand-in checkout and InfluxDB stand-in (plus any other config overrides). */
export async function synthStandinStack(stack: string, overrides: Record<string, string> = {}): Promise<StandinSynth> {
  let monitor: RecordingMonitor | undefined;
  const result = await synthesize(stack, {
    configOverrides: {
      "homeiq:homeiqCheckoutPath": STANDIN_CHECKOUT,
      "homeiq:influxdbImage": INFLUXDB_STANDIN,
      "homeiq:maxOpenFiles": engineMaxOpenFiles(),
      "homeiq:dockerApiProxyBaseImage": STANDIN_DEBIAN_IMAGE,
      // Every service on, with test values for the keys some of them need (the committed stacks disable those).
      "homeiq:disabledServices": "[]",
      ...testCredentials(),
      ...overrides,
    },
    secretOverrides: TEST_SECRET_KEYS,
    onMonitor: (m) => {
      monitor = m;
    },
  });
  const raw = new Map((monitor?.registrations ?? []).map((r) => [r.urn, r.inputs]));
  const byUrn = new Map(result.resources.map((r) => [r.urn, r]));
  const containers = result.resources
    .filter((r) => r.type === CONTAINER)
    .map((r) => {
      const labels = (r.inputs.labels ?? []) as Array<{ label: string; value: string }>;
      const service = labels.find((l) => l.label === "com.homeiq.service")?.value;
      const images = r.dependencies.filter((d) => [IMAGE, REMOTE_IMAGE].includes(byUrn.get(d)?.type ?? ""));
      if (!service || images.length !== 1) {
        throw new Error(`${r.name}: expected a com.homeiq.service label and one image dependency, got ${service} and ${images.join(", ")}`);
      }
      return {
        service,
        resource: r,
        inputs: reveal(raw.get(r.urn)) as Inputs,
        dependsOn: r.dependencies.filter((d) => byUrn.get(d)?.type === CONTAINER),
        imageUrn: images[0]!,
      };
    });
  return { resources: result.resources, containers };
}

export function driverContext(log: (line: string) => void = () => undefined): DriverContext {
  return { api: dockerApi(), dockerHost: "unix:///var/run/docker.sock", cwd: REPO_ROOT, log };
}

/**
 * Builds every docker:index/image:Image of the synth with the applier's image driver (the provider's
 * `docker build` of `build.context`, `build.dockerfile`, `build.args`), tagged `<tagPrefix>/<imageName>`
 * so the program's own names stay free; a BASE_IMAGE argument naming another image of the synth is
 * mapped the same way. Returns image URN -> local reference (a RemoteImage: its `name`, which must exist).
 */
export async function buildSynthImages(ctx: DriverContext, resources: readonly SynthResource[], tagPrefix: string): Promise<Map<string, string>> {
  const tagOf = (imageName: string): string => `${tagPrefix}/${imageName}`;
  const images = resources.filter((r) => r.type === IMAGE);
  const names = new Set(images.map((r) => String(r.inputs.imageName)));
  const baseOf = (r: SynthResource): string => String((r.inputs.build as { args?: Record<string, string> }).args?.BASE_IMAGE ?? "");
  const refs = new Map<string, string>();
  const build = async (r: SynthResource): Promise<void> => {
    const build = r.inputs.build as { args?: Record<string, string> };
    const args = Object.fromEntries(Object.entries(build.args ?? {}).map(([k, v]) => [k, k === "BASE_IMAGE" && names.has(v) ? tagOf(v) : v]));
    const inputs = { ...r.inputs, imageName: tagOf(String(r.inputs.imageName)), build: { ...build, args } };
    await DRIVERS[IMAGE]!.create(ctx, r.name, inputs);
    refs.set(r.urn, inputs.imageName);
  };
  // Bases first, then the images built on them (the non-root adapters).
  await Promise.all(images.filter((r) => !names.has(baseOf(r))).map(build));
  await Promise.all(images.filter((r) => names.has(baseOf(r))).map(build));
  for (const r of resources.filter((x) => x.type === REMOTE_IMAGE)) {
    await DRIVERS[REMOTE_IMAGE]!.create(ctx, r.name, r.inputs);
    refs.set(r.urn, String(r.inputs.name));
  }
  return refs;
}

/** Inputs a test container leaves out, and why. */
export const NOT_APPLIED: Readonly<Record<string, string>> = {
  ports: "published host ports would collide with other stacks on this engine; the tests reach services over the network",
  restart: "a stand-in that exits must stay exited so the test sees its exit code and log",
  labels: "the backup and validation scripts find containers by these labels; a test container must not look deployed",
};

export interface TestNames {
  readonly network: string;
  /** Named volume of the synth -> the test's volume. */
  readonly volumes: ReadonlyMap<string, string>;
  /** Image URN -> local reference (buildSynthImages). */
  readonly images: ReadonlyMap<string, string>;
  /** Container resource name -> the id of the test container created for it (for log mounts). */
  readonly containerIds: ReadonlyMap<string, string>;
}

/** A container's inputs for a test container named `container`; `changes` replace inputs of the spec (undefined: removes one). */
export function testInputs(c: SynthContainer, container: string, names: TestNames, changes: Inputs = {}): Inputs {
  const spec: Inputs = { ...c.inputs, ...changes };
  for (const key of Object.keys(spec)) if (spec[key] === undefined || key in NOT_APPLIED) delete spec[key];
  // The synth's mock id of a container resource is `<resource name>-id`.
  const realIds = (p: string): string => p.replace(/\/([^/]+)-id$/, (whole, name: string) => {
    const id = names.containerIds.get(name);
    return id ? `/${id}` : whole;
  });
  const volumes = (spec.volumes as Array<Inputs> | undefined)?.map((v) => {
    if (typeof v.volumeName === "string" && v.hostPath === undefined) {
      const volume = names.volumes.get(v.volumeName);
      if (!volume) throw new Error(`${c.service}: no test volume for ${v.volumeName}`);
      return { ...v, volumeName: volume };
    }
    return { ...v, hostPath: realIds(String(v.hostPath)), containerPath: realIds(String(v.containerPath)) };
  });
  // Every network of the spec (admin-api joins two) is the test's one network: one entry, every alias.
  const aliases = [...new Set(((spec.networksAdvanced ?? []) as Array<Inputs>).flatMap((n) => (n.aliases ?? []) as string[]))];
  const networks = spec.networksAdvanced === undefined ? undefined : [{ name: names.network, aliases }];
  return { ...spec, name: container, image: changes.image ?? names.images.get(c.imageUrn), volumes, networksAdvanced: networks };
}

/**
 * Creates, connects and starts the container as the provider does (the applier's container driver,
 * which maps every input through engine/apply/containerInputs.ts) and, with `wait`, waits until it
 * is healthy; returns its id. Without `wait`, a container that has already exited is no error: the
 * caller waits for its exit.
 */
export async function startContainer(ctx: DriverContext, inputs: Inputs): Promise<string> {
  try {
    return (await DRIVERS[CONTAINER]!.create(ctx, String(inputs.name), inputs)).id;
  } catch (err) {
    if (inputs.wait === false && err instanceof Error && / is not running: /.test(err.message)) return String(inputs.name);
    throw err;
  }
}
