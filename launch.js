"use strict";
/**
 * How the program runs, for Pulumi (pulumi-main.js) and for `npm run synth`: from the compiled
 * JavaScript in bin/ when bin/ was built from the sources as they are now, else from the
 * TypeScript sources through ts-node (slower, never stale). `npm run build` (which `npm ci` runs
 * as `prepare`) compiles bin/ with tsconfig.build.json and records which sources it was built from.
 *
 *   node launch.js stamp              after tsc: record the sources bin/ was built from
 *   node launch.js <module> [args]    run a module as the main program, e.g. `synth/cli prod`
 *
 * Plain JavaScript on purpose: it must run before anything is compiled.
 */
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const ROOT = __dirname;
const BIN = path.join(ROOT, "bin");
const STAMP = path.join(BIN, ".sources.sha256");

function tsFilesUnder(dir) {
  const out = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...tsFilesUnder(rel));
    else if (e.name.endsWith(".ts")) out.push(rel);
  }
  return out;
}

/** What bin/ is compiled from: both tsconfigs and the files of tsconfig.build.json's `include`. */
function sourceFiles() {
  const files = ["tsconfig.json", "tsconfig.build.json"];
  for (const pattern of JSON.parse(fs.readFileSync(path.join(ROOT, "tsconfig.build.json"), "utf8")).include) {
    const folder = /^([\w.-]+)\/\*\*\/\*\.ts$/.exec(pattern);
    if (folder) files.push(...tsFilesUnder(folder[1]));
    else if (/^[\w.-]+\.ts$/.test(pattern)) files.push(pattern);
    else throw new Error(`launch.js: tsconfig.build.json include '${pattern}' is neither 'file.ts' nor 'folder/**/*.ts'`);
  }
  return files.sort();
}

function sourcesHash() {
  const h = crypto.createHash("sha256");
  for (const f of sourceFiles()) h.update(`${f}\0`).update(fs.readFileSync(path.join(ROOT, f))).update("\0");
  return h.digest("hex");
}

function builtFromCurrentSources() {
  try {
    return fs.readFileSync(STAMP, "utf8").trim() === sourcesHash();
  } catch {
    return false; // no bin/ yet
  }
}

/**
 * The SDK gives every promise it creates a formatted stack trace (runtime/debuggable.js), which it
 * prints only when PULUMI_DEBUG_PROMISE_LEAKS is set. Formatting is the expensive part, the more so
 * under the Pulumi CLI, which source-maps every frame: about 1 s of CPU for this program. Unless
 * that variable is set, those stacks are left unformatted; every other stack is formatted as before.
 */
function skipUnusedPromiseStacks() {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return;
  const format = Error.prepareStackTrace; // source-map-support's under the Pulumi CLI; else Node's own
  Error.prepareStackTrace = (error, callsites) => {
    const top = callsites[0];
    if (top && top.getFunctionName() === "debuggablePromise" && /@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/.test(top.getFileName() || "")) {
      return "(not formatted: set PULUMI_DEBUG_PROMISE_LEAKS=1 to see where this promise was made)";
    }
    if (format) return format(error, callsites);
    // Node's default format (lib/internal/errors.js).
    const head = Error.prototype.toString.call(error);
    return callsites.length ? `${head}\n    at ${callsites.join("\n    at ")}` : head;
  };
}

/**
 * Loads `moduleName` (a path without extension, relative to the repository root) from bin/ when
 * it is current, else from its .ts source through ts-node, type-checked when `typeCheck` is true.
 */
function load(moduleName, { typeCheck }) {
  // Node >= 22.1 keeps the compiled code of what is loaded from here on (node_modules/.cache).
  require("module").enableCompileCache?.(path.join(ROOT, "node_modules", ".cache", "node-compile-cache"));
  if (builtFromCurrentSources()) {
    skipUnusedPromiseStacks();
    return require(path.join(BIN, moduleName));
  }
  process.stderr.write(
    "[homeiq] bin/ is missing or was built from other sources: running the TypeScript sources through ts-node " +
      "(slower; `npm run build` makes it fast again)\n",
  );
  require("ts-node").register({ project: path.join(ROOT, "tsconfig.json"), transpileOnly: !typeCheck });
  skipUnusedPromiseStacks(); // after ts-node, which installs its own stack formatter
  return require(path.join(ROOT, `${moduleName}.ts`));
}

module.exports = { load, sourcesHash, builtFromCurrentSources, skipUnusedPromiseStacks };

if (require.main === module) {
  const [command, ...args] = process.argv.slice(2);
  if (command === "stamp") {
    fs.writeFileSync(STAMP, `${sourcesHash()}\n`);
  } else if (command && /^[\w/.-]+$/.test(command)) {
    // The module sees the command line it would see if node ran it directly.
    process.argv = [process.argv[0], path.join(ROOT, command), ...args];
    load(command, { typeCheck: false });
  } else {
    process.stderr.write("usage: node launch.js stamp | node launch.js <module> [args...]\n");
    process.exitCode = 1;
  }
}
