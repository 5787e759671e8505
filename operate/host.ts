/**
 * Where the status asks its questions: the Docker engine of the stack (the `docker` CLI with the
 * stack's DOCKER_HOST, so a local socket, `ssh://` and `tcp://` engines all work as they do for
 * `docker` itself), and the Docker host's own shell for the HTTP probes. The stack publishes its
 * ports on the Docker host (most on 127.0.0.1), so an `ssh://` engine's endpoints are probed on that
 * host through the same ssh login the docker CLI uses (`ssh … curl …`; curl must be installed there).
 */
import { spawn } from "child_process";

export interface RunResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

export interface RunOptions {
    readonly timeoutMs?: number;
    readonly env?: NodeJS.ProcessEnv;
}

/** Runs a program without a shell; never throws for a non-zero exit (code 127: not found; 124: timed out). */
export function runProgram(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve) => {
        const child = spawn(file, [...args], { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, options.timeoutMs ?? 60_000);
        child.stdout.on("data", (c: Buffer) => out.push(c));
        child.stderr.on("data", (c: Buffer) => err.push(c));
        child.on("error", (e: NodeJS.ErrnoException) => {
            clearTimeout(timer);
            resolve({ code: e.code === "ENOENT" ? 127 : 126, stdout: "", stderr: `${file}: ${e.message}` });
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            const stderr = Buffer.concat(err).toString("utf8");
            resolve({ code: timedOut ? 124 : (code ?? 128), stdout: Buffer.concat(out).toString("utf8"), stderr: timedOut ? `${stderr}\n${file}: timed out` : stderr });
        });
    });
}

/** POSIX single quotes: the value passes through a remote shell as one word. */
export const shQuote = (s: string): string => (/^[A-Za-z0-9_.,:=/@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export interface SshTarget {
    readonly destination: string;
    readonly port?: string;
}

/** `ssh://user@host[:port]` → ssh's destination and port; undefined for another scheme. */
export function sshTarget(dockerHost: string): SshTarget | undefined {
    const m = /^ssh:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(dockerHost);
    if (!m) return undefined;
    const host = m[2]!.replace(/^\[|\]$/g, "");
    return { destination: m[1] ? `${m[1]}@${host}` : host, port: m[3] };
}

export class DockerHost {
    constructor(readonly dockerHost: string) {}

    private env(): NodeJS.ProcessEnv {
        const env = { ...process.env };
        if (this.dockerHost) env.DOCKER_HOST = this.dockerHost;
        else delete env.DOCKER_HOST;
        return env;
    }

    /** The docker CLI against the stack's engine. */
    docker(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
        return runProgram("docker", args, { env: this.env(), timeoutMs });
    }

    /** A command on the Docker host: here for a local or tcp:// engine, through ssh for an ssh:// one. */
    onHost(argv: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
        const ssh = sshTarget(this.dockerHost);
        if (!ssh) return runProgram(argv[0]!, argv.slice(1), { timeoutMs });
        const sshArgs = ["-o", "BatchMode=yes", ...(ssh.port ? ["-p", ssh.port] : []), "--", ssh.destination, argv.map(shQuote).join(" ")];
        return runProgram("ssh", sshArgs, { timeoutMs });
    }
}
