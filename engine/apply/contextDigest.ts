/**
 * The `build.contextDigest` that the native docker.Image resource adds to its inputs at every
 * preview and `up` (pulumi-docker provider/provider.go:202-207, hashContext :606-649): a hash of the
 * Dockerfile and of every file of the build context (its path, mode and content) that the
 * `.dockerignore` does not exclude (`<dockerfile>.dockerignore` first, else `<context>/.dockerignore`,
 * getIgnorePatterns :651-684). Any change to it is a diff, and the provider's update rebuilds.
 *
 * Not byte-for-byte the provider's hash (that is not needed: only whether it changes is observed);
 * what changes it is the same: content, mode, name of a file, the Dockerfile. Ignore patterns are
 * Docker's glob syntax (`*`, `?`, `**`, a leading `!` re-includes), matched as patternmatcher does
 * for the common cases; character classes are not supported (and refused).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

function globToRegExp(pattern: string): RegExp {
    if (/[[\]]/.test(pattern)) throw new Error(`.dockerignore pattern ${pattern}: character classes are not modelled by engine/apply/contextDigest.ts`);
    let re = "";
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === "*" && pattern[i + 1] === "*") {
            re += ".*";
            i++;
            if (pattern[i + 1] === "/") i++;
        } else if (c === "*") re += "[^/]*";
        else if (c === "?") re += "[^/]";
        else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
    }
    // A pattern matching a folder excludes everything under it.
    return new RegExp(`^${re}(/.*)?$`);
}

function ignoreRules(contextDir: string, dockerfile: string): Array<{ exclude: boolean; re: RegExp }> {
    for (const file of [`${dockerfile}.dockerignore`, path.join(contextDir, ".dockerignore")]) {
        if (!fs.existsSync(file)) continue;
        return fs
            .readFileSync(file, "utf8")
            .split("\n")
            .map((l) => l.trim())
            .filter((l) => l.length > 0 && !l.startsWith("#"))
            .map((l) => {
                const exclude = !l.startsWith("!");
                const p = path.posix.normalize((exclude ? l : l.slice(1)).replace(/^\/+/, "")).replace(/\/+$/, "");
                return { exclude, re: globToRegExp(p) };
            });
    }
    return [];
}

/** The digest of a build context (paths relative to `cwd`, where the provider runs). */
export function contextDigest(cwd: string, context: string, dockerfile: string | undefined): string {
    const contextDir = path.resolve(cwd, context);
    const dockerfilePath = path.resolve(cwd, dockerfile ?? path.join(context, "Dockerfile"));
    const rules = ignoreRules(contextDir, dockerfilePath);
    const ignored = (rel: string): boolean => {
        let out = false;
        for (const r of rules) if (r.re.test(rel)) out = r.exclude;
        return out;
    };
    const hash = createHash("sha256");
    const add = (name: string, file: string): void => {
        const st = fs.statSync(file);
        hash.update(`${name}\0${(st.mode & 0o7777).toString(8)}\0`);
        hash.update(fs.readFileSync(file));
        hash.update("\0");
    };
    // The Dockerfile always counts, under one name, wherever it is (hashContext :614-624).
    add("Dockerfile", dockerfilePath);
    const walk = (dir: string): void => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            const full = path.join(dir, entry.name);
            const rel = path.relative(contextDir, full).split(path.sep).join("/");
            if (entry.isDirectory()) walk(full);
            else if (ignored(rel)) continue;
            else if (entry.isSymbolicLink()) hash.update(`${rel}\0->${fs.readlinkSync(full)}\0`);
            else add(rel, full);
        }
    };
    walk(contextDir);
    return hash.digest("hex");
}
