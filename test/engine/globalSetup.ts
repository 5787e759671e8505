/**
 * Jest globalSetup of the `engine` project: installs Docker Engine 26 (Debian trixie's docker.io,
 * unpacked by engine/install.sh), starts a real Docker engine (or reuses one that answers) and builds the stand-in images
 * (build-standins.sh, then build-stack-standins.sh, whose images start FROM one of the first).
 * Each script's output is passed through line by line as it comes, so a first run (minutes of apt,
 * debootstrap and image builds) shows its progress.
 * If any step fails the whole engine suite FAILS with the reason: it never skips.
 */
import { spawn } from "child_process";
import * as path from "path";
import * as readline from "readline";
import { prepareRealCheckout, REAL_CHECKOUT, REAL_CHECKOUT_ENV } from "../../engine/real-homeiq/realCheckout";

const ENGINE = path.resolve(__dirname, "..", "..", "engine");
const PREFIX = "[engine setup]";

/**
 * Runs `bash <script>`, writing each line of its stdout and stderr to `write` as it arrives, with
 * PREFIX. Resolves when it exits 0; otherwise rejects with the reason and the script's last lines.
 */
export function runSetupScript(script: string, timeoutMs: number, write: (text: string) => void = (t) => process.stdout.write(t)): Promise<void> {
  const name = path.relative(path.resolve(ENGINE, ".."), script);
  const started = Date.now();
  write(`${PREFIX} ${name} ...\n`);
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout stops the script and what it runs (apt-get, debootstrap),
    // whose open output would otherwise keep the step waiting.
    const child = spawn("bash", [script], { stdio: ["ignore", "pipe", "pipe"], detached: true });
    const lastLines: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on("line", (line) => {
        write(`${PREFIX} ${line}\n`);
        lastLines.push(line);
        if (lastLines.length > 60) lastLines.shift();
      });
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`engine tests cannot run: ${name} could not start (${err.message})`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (code === 0) {
        write(`${PREFIX} ${name} ok in ${seconds} s\n`);
        resolve();
        return;
      }
      const why = timedOut ? `timed out after ${timeoutMs / 1000} s` : signal ? `killed by ${signal}` : `exit ${code}`;
      reject(
        new Error(
          `engine tests cannot run: ${name} failed (${why}).\n` +
            `The engine suite needs a real Docker engine (see engine/README.md); it does not skip.\n${lastLines.join("\n")}`,
        ),
      );
    });
  });
}

export default async function globalSetup(): Promise<void> {
  process.stdout.write("\n");
  await runSetupScript(path.join(ENGINE, "install.sh"), 10 * 60_000);
  await runSetupScript(path.join(ENGINE, "start.sh"), 2 * 60_000);
  await runSetupScript(path.join(ENGINE, "build-standins.sh"), 15 * 60_000);
  await runSetupScript(path.join(ENGINE, "build-stack-standins.sh"), 10 * 60_000);
  // HomeIQ's real services (engine/real-homeiq): only when the tests are handed a checkout.
  await runSetupScript(path.join(ENGINE, "build-real-homeiq.sh"), 15 * 60_000);
  const upstream = process.env[REAL_CHECKOUT_ENV] ?? "";
  if (upstream !== "") {
    const started = Date.now();
    process.stdout.write(`${PREFIX} the buildable copy of ${upstream} in ${REAL_CHECKOUT} ...\n`);
    prepareRealCheckout({ upstream, dest: REAL_CHECKOUT, nodeBin: path.dirname(process.execPath), log: (l) => process.stdout.write(`${PREFIX} ${l}\n`) });
    process.stdout.write(`${PREFIX} real checkout ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
}
