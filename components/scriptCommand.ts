/**
 * The command string of a Command resource that runs one of the repository's scripts. It holds only
 * the script's absolute path: every input, secrets included, travels in the Command's `environment`.
 */
import * as path from "path";
import { REPOSITORY_ROOT } from "./repositoryRoot";

const SCRIPTS = path.join(REPOSITORY_ROOT, "scripts");

/** `bash "<repository>/scripts/<script>"`, e.g. scriptCommand("backup/backup.sh"). */
export function scriptCommand(script: string): string {
    return `bash ${JSON.stringify(path.join(SCRIPTS, script))}`;
}
