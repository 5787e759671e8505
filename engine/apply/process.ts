/**
 * Running a process from the engine applier. Its own module so that liveResources.ts and the drivers
 * it imports (swarmResources.ts) do not import each other: with that cycle, whichever a caller imported
 * first saw the other half-loaded (DRIVERS without the swarm drivers).
 */
import { spawn } from "child_process";

export interface ProcessResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs a process to completion (asynchronously, so independent resources proceed in parallel). */
export function runProcess(file: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string } = {}): Promise<ProcessResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(file, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (c: Buffer) => out.push(c));
        child.stderr.on("data", (c: Buffer) => err.push(c));
        child.on("error", reject);
        child.on("close", (code, signal) =>
            resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
        );
        // A command that exits without reading its stdin closes the pipe: not an error of the step (EPIPE).
        child.stdin.on("error", () => undefined);
        child.stdin.end(opts.stdin ?? "");
    });
}
