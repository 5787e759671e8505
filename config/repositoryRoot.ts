/**
 * The repository's root folder (the one holding Pulumi.yaml), found from this file's folder. The
 * program runs from its TypeScript sources (ts-node, jest) and from their compiled JavaScript in
 * bin/, one folder deeper: a fixed `__dirname + ".."` would point into bin/ in the second case.
 */
import * as fs from "fs";
import * as path from "path";

function findRoot(from: string): string {
    for (let dir = from; ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
        if (path.dirname(dir) === dir) throw new Error(`no Pulumi.yaml in ${from} or any folder above it`);
    }
}

export const REPOSITORY_ROOT = findRoot(__dirname);
