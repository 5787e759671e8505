/**
 * Start-up benchmark of the program (prints figures; not a test).
 *
 *   npm run bench:synth                    # 5 rounds, stacks dev and prod
 *   BENCH_ROUNDS=9 BENCH_STACKS=prod npm run bench:synth
 *
 * Times whole processes, in rounds, one after the other:
 *   - the SDK floor: node loads @pulumi/pulumi, installs its mocks and registers one resource (without
 *     and with Node's compile cache, which launch.js turns on);
 *   - the synth of each stack as `npm run synth` runs it (node launch.js synth/cli <stack>: the
 *     compiled program in bin/), and through npm itself (`npm run synth -- <stack>`);
 *   - the synth as it ran before the program was compiled (ts-node --transpile-only synth/cli.ts).
 * Prints wall and CPU (user + system) seconds, min / median / max over the rounds, and each median
 * beside the floor's. bin/ is built first if it is missing or stale, so the compiled path is measured.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";

const ROOT = path.resolve(__dirname, "..");
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
const STACKS = (process.env["BENCH_STACKS"] ?? "dev prod").split(/\s+/).filter(Boolean);
const TARGET_S = 1.2;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const launch = require(path.join(ROOT, "launch.js")) as { builtFromCurrentSources: () => boolean };

/** The floor: what any program on this SDK pays before its own code runs. */
const FLOOR_JS = `
const pulumi = require("@pulumi/pulumi");
pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name + "-id", state: a.inputs }), call: () => ({}) }, "floor", "floor", false);
const r = new pulumi.CustomResource("floor:index:Thing", "one", { value: 1 });
r.urn.apply((urn) => { if (!urn) process.exit(1); });
`;

/** CPU seconds used by this process's reaped children so far (Linux: /proc/self/stat), or NaN. */
function childCpuSeconds(): number {
  try {
    const fields = fs.readFileSync("/proc/self/stat", "utf8").replace(/^.*\) /, "").split(" ");
    // After the ")": field 3 is state, so cutime (16) and cstime (17) are at indexes 13 and 14.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return Number.NaN;
  }
}

interface Run {
  wall: number;
  cpu: number;
}

function timed(cmd: string, args: string[], env: Record<string, string> = {}): Run {
  const cpu0 = childCpuSeconds();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"], maxBuffer: 16 * 1024 * 1024 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}): ${r.stderr?.toString().slice(-2000)}`);
  if (/bin\/ is missing or was built from other sources/.test(r.stderr.toString())) {
    throw new Error(`${cmd} ${args.join(" ")} ran the TypeScript sources, not bin/: the figures would not be the compiled program's`);
  }
  return { wall, cpu: childCpuSeconds() - cpu0 };
}

function stats(xs: number[]): [number, number, number] {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return [s[0]!, s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, s[s.length - 1]!];
}

const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(" ");

function main(): void {
  if (!launch.builtFromCurrentSources()) {
    console.log("bin/ is missing or stale: npm run build");
    const b = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
    if (b.status !== 0) throw new Error("npm run build failed");
  }
  const node = process.execPath;
  // launch.js keeps Node's compile cache there; the floor is measured without it and with it.
  const cache = { NODE_COMPILE_CACHE: path.join(ROOT, "node_modules", ".cache", "node-compile-cache") };
  const commands: Array<[string, string, string[], Record<string, string>?]> = [
    ["SDK floor (load, mocks, 1 resource)", node, ["-e", FLOOR_JS]],
    ["SDK floor, with Node's compile cache", node, ["-e", FLOOR_JS], cache],
  ];
  for (const stack of STACKS) {
    commands.push([`synth ${stack}: node launch.js synth/cli`, node, ["launch.js", "synth/cli", stack]]);
    commands.push([`synth ${stack}: npm run synth --`, "npm", ["run", "-s", "synth", "--", stack]]);
  }
  const last = STACKS[STACKS.length - 1]!;
  commands.push([`synth ${last}: before (ts-node --transpile-only)`, node,
    [path.join(ROOT, "node_modules", "ts-node", "dist", "bin.js"), "--transpile-only", "synth/cli.ts", last]]);

  console.log(`node ${process.version}; ${os.cpus().length} CPUs; ${ROUNDS} rounds; load average ${load()} (1, 5, 15 min)`);
  const runs = new Map<string, Run[]>(commands.map(([name]) => [name, []]));
  for (const [, cmd, args, env] of commands) timed(cmd, args, env); // warm-up: disk and compile caches, not counted
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, cmd, args, env] of commands) runs.get(name)!.push(timed(cmd, args, env));
  }

  const median = (name: string, k: keyof Run): number => stats(runs.get(name)!.map((r) => r[k]))[1];
  const [floor, floorCached] = [median(commands[0]![0], "wall"), median(commands[1]![0], "wall")];
  console.log(`\nwhole-process seconds over ${ROUNDS} rounds`);
  console.log(`${"".padEnd(46)} ${"wall min".padStart(8)} ${"median".padStart(7)} ${"max".padStart(7)}   ${"cpu median".padStart(10)}   wall median - floor (without, with compile cache)`);
  for (const [name] of commands) {
    const [lo, med, hi] = stats(runs.get(name)!.map((r) => r.wall));
    const cpu = stats(runs.get(name)!.map((r) => r.cpu))[1];
    const over = name.startsWith("SDK floor") ? "" : `+${(med - floor).toFixed(2)} s, +${(med - floorCached).toFixed(2)} s`;
    console.log(`${name.padEnd(46)} ${lo.toFixed(2).padStart(8)} ${med.toFixed(2).padStart(7)} ${hi.toFixed(2).padStart(7)}   ${cpu.toFixed(2).padStart(10)}   ${over}`);
  }
  console.log(`\ntarget: synth <= ${TARGET_S} s per stack (wall, median) on a quiet machine:`);
  for (const [name] of commands.filter(([n]) => !n.startsWith("SDK floor"))) {
    const med = stats(runs.get(name)!.map((r) => r.wall))[1];
    console.log(`  ${name.padEnd(46)} ${med.toFixed(2)} s  ${med <= TARGET_S ? "met" : `missed by ${(med - TARGET_S).toFixed(2)} s`}`);
  }
  console.log(`\nload average at the end: ${load()} (1, 5, 15 min)`);
}

main();
