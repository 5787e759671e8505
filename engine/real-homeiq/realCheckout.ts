/**
 * A checkout of HomeIQ's REAL services that builds here, for the engine tests (README.md beside this
 * file). HomeIQ's Dockerfiles build FROM python:3.1x-alpine/slim and nginx:alpine and pip/npm-install
 * their packages; neither Docker Hub nor PyPI can be reached on the build machines. So the tests take a
 * HomeIQ checkout as an input (HOMEIQ_UPSTREAM_CHECKOUT), copy what the catalog builds into a work
 * folder, and rewrite each Dockerfile's last stage onto local bases (debianizeDockerfile): the
 * upstream layout, WORKDIR, COPY lines, ENV (PYTHONPATH), user, EXPOSE, HEALTHCHECK and CMD are kept
 * line for line; only the base and the package installs change. The program then builds these
 * Dockerfiles through its own Image inputs (homeiq:homeiqCheckoutPath points at the work folder),
 * exactly as it builds a user's checkout. Nothing of HomeIQ is kept in this repository.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ALL_SERVICES, type ServiceDefinition } from "../../catalog/services";

/** The local bases a rewritten Dockerfile builds FROM (engine/build-real-homeiq.sh, build-stack-standins.sh). */
export interface RealBases {
    /** For python:* bases: Debian trixie + python3-* packages (homeiq-real/python:trixie). */
    readonly python: string;
    /** For nginx:* bases: Debian's nginx started as nginx:alpine starts it (homeiq-standin/nginx:stack). */
    readonly nginx: string;
}

/** The environment variable that hands the tests a HomeIQ checkout; unset, the real-service tests do not run. */
export const REAL_CHECKOUT_ENV = "HOMEIQ_UPSTREAM_CHECKOUT";
/** Where the engine project's globalSetup writes the buildable copy of that checkout. */
export const REAL_CHECKOUT = "/var/tmp/homeiq-real-checkout";

export const REAL_BASES: RealBases = { python: "homeiq-real/python:trixie", nginx: "homeiq-standin/nginx:stack" };

/** Where a rewritten Dockerfile expects the dashboard's bundle, relative to its build context. */
export const DASHBOARD_BUNDLE = "dist";

/** Dockerfile instructions, one per entry, with continuation lines joined and comments dropped. */
export function dockerfileInstructions(text: string): string[] {
    const out: string[] = [];
    let current = "";
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (current === "" && (line === "" || line.startsWith("#"))) continue;
        if (current !== "" && line.startsWith("#")) continue;
        if (line.endsWith("\\")) {
            current += line.slice(0, -1).trim() + " ";
            continue;
        }
        current += line;
        if (current.trim() !== "") out.push(current.trim());
        current = "";
    }
    if (current.trim() !== "") out.push(current.trim());
    return out;
}

const PACKAGE_INSTALL = /^RUN\s+(?:--mount=\S+\s+)*(?:apk\s+add|apt-get\s|pip3?\s+install|python3?\s+-m\s+pip\s+install)/;
const ALPINE_USER = /^RUN\s+addgroup\s+-g\s+(\d+)\s+-S\s+(\S+)\s*&&\s*adduser\s+-S\s+(\S+)\s+-u\s+(\d+)\s+-G\s+(\S+)\s*$/;
const COPY_FROM = /^COPY\s+--from=(\S+)\s+(\S+)\s+(\S+)\s*$/;

/**
 * Rewrites a HomeIQ Dockerfile's last stage onto the local bases. Kept as is: every instruction except
 * - FROM python:* / nginx:*          -> FROM the local base (any other base is refused);
 * - RUN apk add / apt-get / pip install -> dropped (the base carries the packages: curl, python3-*);
 * - RUN addgroup -S ... adduser -S ... (Alpine's busybox) -> the same user and group with Debian's groupadd/useradd;
 * - COPY --from=<stage> /root/.local <dst> -> an empty <dst> (the packages are the base's, system-wide);
 * - COPY --from=<stage> /app/dist <dst>   -> COPY dist <dst> (the bundle, built with npm before the build).
 * Anything else copied from an earlier stage is refused, naming the instruction, so a newer HomeIQ
 * checkout that needs more says so instead of building something else.
 */
export function debianizeDockerfile(text: string, bases: RealBases = REAL_BASES, where = "Dockerfile"): string {
    const instructions = dockerfileInstructions(text);
    const lastFrom = instructions.map((i) => /^FROM\s/i.test(i)).lastIndexOf(true);
    if (lastFrom < 0) throw new Error(`${where}: no FROM instruction`);
    const out = [`# Rewritten by homeiq-infra engine/real-homeiq for the tests from ${where}'s last stage (see realCheckout.ts).`];
    for (const ins of instructions.slice(lastFrom)) {
        const from = /^FROM\s+(\S+)(\s+AS\s+\S+)?\s*$/i.exec(ins);
        if (from) {
            const image = from[1] ?? "";
            if (/^python:/.test(image)) out.push(`FROM ${bases.python}`);
            else if (/^nginx:/.test(image)) out.push(`FROM ${bases.nginx}`);
            else throw new Error(`${where}: base image ${image} has no local stand-in (python:* and nginx:* do)`);
            continue;
        }
        if (PACKAGE_INSTALL.test(ins)) {
            out.push(`# dropped (packages come from the base): ${ins}`);
            continue;
        }
        const user = ALPINE_USER.exec(ins);
        if (user) {
            const [, gid, group, name, uid, group2] = user;
            if (group !== group2) throw new Error(`${where}: adduser names group ${group2}, addgroup ${group}: ${ins}`);
            out.push(`RUN groupadd --system --gid ${gid} ${group} && useradd --system --uid ${uid} --gid ${group} --no-create-home --home-dir /home/${name} --shell /usr/sbin/nologin ${name}`);
            continue;
        }
        const copyFrom = COPY_FROM.exec(ins);
        if (copyFrom) {
            const [, , source, dest] = copyFrom;
            if (source === "/root/.local") out.push(`RUN mkdir -p ${dest}`);
            else if (source === "/app/dist") out.push(`COPY ${DASHBOARD_BUNDLE} ${dest}`);
            else throw new Error(`${where}: cannot rewrite ${ins}: only /root/.local and /app/dist are known`);
            continue;
        }
        out.push(ins);
    }
    return out.join("\n") + "\n";
}

/** The folders of the checkout a catalog service's build needs: its own folder, and shared/ for the root-context builds. */
function buildInputs(s: ServiceDefinition): { serviceDir: string; dockerfile: string } {
    if (s.image.kind !== "built") throw new Error(`${s.key} is not built from the checkout`);
    const dockerfile = path.posix.join(s.image.context, s.image.dockerfile);
    return { serviceDir: path.posix.dirname(dockerfile), dockerfile };
}

function hashTree(dir: string, skip: (rel: string) => boolean): string {
    const h = crypto.createHash("sha256");
    const walk = (rel: string): void => {
        for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const r = path.posix.join(rel, e.name);
            if (skip(r)) continue;
            if (e.isDirectory()) walk(r);
            else if (e.isFile()) h.update(r).update("\0").update(fs.readFileSync(path.join(dir, r)));
        }
    };
    walk("");
    return h.digest("hex");
}

export interface RealCheckoutOptions {
    /** The HomeIQ checkout (HOMEIQ_UPSTREAM_CHECKOUT). */
    readonly upstream: string;
    /** Where the buildable copy goes (replaced when its inputs changed). */
    readonly dest: string;
    /** Node.js bin folder for the dashboard's npm build (the project's Node 22). */
    readonly nodeBin: string;
    readonly log?: (line: string) => void;
}

/**
 * Writes the buildable copy of the checkout to `dest`: shared/, and for each service the catalog builds,
 * its folder with the Dockerfile rewritten (debianizeDockerfile); the dashboard's bundle built with
 * npm (`npm ci`, `npm run build`, as its Dockerfile's builder stage does). Kept when the checkout,
 * this file and the node version are unchanged (a stamp file holds their hash).
 */
export function prepareRealCheckout(opts: RealCheckoutOptions): string {
    const log = opts.log ?? ((): void => undefined);
    const upstream = path.resolve(opts.upstream);
    const skip = (rel: string): boolean => /(^|\/)(node_modules|dist|__pycache__|\.git|coverage|test-results|playwright-report)$/.test(rel);
    const stamp = crypto
        .createHash("sha256")
        .update(hashTree(upstream, skip))
        .update(fs.readFileSync(__filename))
        .update(execFileSync(path.join(opts.nodeBin, "node"), ["--version"]).toString())
        .digest("hex");
    const stampFile = path.join(opts.dest, ".homeiq-real-checkout");
    if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, "utf8") === stamp) {
        log(`real checkout in ${opts.dest} is current`);
        return opts.dest;
    }
    fs.rmSync(opts.dest, { recursive: true, force: true });
    fs.mkdirSync(opts.dest, { recursive: true });
    const copy = (rel: string): void => {
        fs.cpSync(path.join(upstream, rel), path.join(opts.dest, rel), { recursive: true, filter: (src) => !skip(path.relative(upstream, src)) });
    };
    copy("shared");
    for (const s of ALL_SERVICES) {
        if (s.image.kind !== "built") continue;
        const { serviceDir, dockerfile } = buildInputs(s);
        copy(serviceDir);
        const file = path.join(opts.dest, dockerfile);
        fs.writeFileSync(file, debianizeDockerfile(fs.readFileSync(file, "utf8"), REAL_BASES, `${s.key}: ${dockerfile}`));
        log(`${s.key}: ${dockerfile} rewritten onto the local bases`);
        if (s.dashboard) buildDashboardBundle(path.join(opts.dest, serviceDir), opts.nodeBin, log);
    }
    fs.writeFileSync(stampFile, stamp);
    return opts.dest;
}

function buildDashboardBundle(dir: string, nodeBin: string, log: (line: string) => void): void {
    const env = { ...process.env, PATH: `${nodeBin}:${process.env.PATH ?? ""}`, NODE_ENV: "development" };
    const started = Date.now();
    log(`building the dashboard's bundle with npm in ${dir} (npm ci, npm run build)`);
    // --ignore-scripts: no package's install script is needed for `vite build` (browsers are never downloaded).
    execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    execFileSync("npm", ["run", "build"], { cwd: dir, env: { ...env, NODE_ENV: "production", VITE_ENVIRONMENT: "production" }, stdio: ["ignore", "pipe", "pipe"] });
    if (!fs.existsSync(path.join(dir, DASHBOARD_BUNDLE, "index.html"))) throw new Error(`the dashboard's build wrote no ${DASHBOARD_BUNDLE}/index.html in ${dir}`);
    fs.rmSync(path.join(dir, "node_modules"), { recursive: true, force: true });
    log(`dashboard bundle built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
