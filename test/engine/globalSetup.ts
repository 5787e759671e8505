/**
 * Jest globalSetup of the `engine` project: installs Docker Engine 26 (Debian trixie's docker.io,
 * unpacked by engine/install.sh), starts a real Docker engine (or reuses one that answers) and builds the stand-in images
 * (build-standins.sh, then build-stack-standins.sh, whose images start FROM one of the first).
 * If any step fails the whole engine suite FAILS with the reason: it never skips.
 */
import { spawnSync } from "child_process";
import * as path from "path";

const ENGINE = path.resolve(__dirname, "..", "..", "engine");

function step(script: string, timeoutMs: number): void {
  const started = Date.now();
  const r = spawnSync("bash", [path.join(ENGINE, script)], { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.trimEnd();
  if (r.error || r.status !== 0) {
    throw new Error(
      `engine tests cannot run: engine/${script} failed (${r.error ? r.error.message : `exit ${r.status}`}).\n` +
        `The engine suite needs a real Docker engine (see engine/README.md); it does not skip.\n${out.slice(-4000)}`,
    );
  }
  process.stdout.write(`\n[engine setup] engine/${script} ok in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

export default function globalSetup(): void {
  step("install.sh", 10 * 60_000);
  step("start.sh", 2 * 60_000);
  step("build-standins.sh", 15 * 60_000);
  step("build-stack-standins.sh", 10 * 60_000);
}
