/**
 * Runs the fix commands of config problems as a person would paste them: through bash, with a fake
 * `pulumi` first in PATH that records its arguments (and fake `docker` and `getent` for the command
 * substitutions some fixes use), then applies what was recorded to a config the way `pulumi config`
 * would change the stack file.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The values a stack has: homeiq keys (arrays as JSON text), other namespaces' keys, the stack name. */
export interface StackState {
    readonly values: Record<string, string>;
    readonly otherValues: Record<string, string>;
    readonly stack: string;
}

export class FixRunner {
    private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-fix-"));
    /** The fake tools answer the same way every time, so a fix's calls are too. */
    private readonly known = new Map<string, string[][] | null>();

    constructor() {
        const bin = path.join(this.dir, "bin");
        fs.mkdirSync(bin);
        const write = (name: string, body: string): void => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
        write("pulumi", 'printf "CALL\\0" >>"$FIX_LOG"; printf "%s\\0" "$@" >>"$FIX_LOG"');
        // `docker image inspect --format '{{index .RepoDigests 0}}' repo:tag` as an engine that has pulled it.
        write("docker", 'ref=${!#}; printf "%s@sha256:%s\\n" "${ref%:*}" 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');
        write("getent", 'echo "docker:x:998:"');
    }

    /** Runs each fix (one bash for all new ones), returning the pulumi calls each made; a fix bash refuses yields null. */
    run(fixes: readonly string[]): Array<string[][] | null> {
        const fresh = [...new Set(fixes.filter((f) => !this.known.has(f)))];
        const calls = this.runAll(fresh);
        fresh.forEach((f, i) => this.known.set(f, calls[i]));
        return fixes.map((f) => this.known.get(f)!);
    }

    private runAll(fixes: readonly string[]): Array<string[][] | null> {
        if (fixes.length === 0) return [];
        const log = path.join(this.dir, "calls");
        fs.writeFileSync(log, "");
        // Each fix is eval'ed in its own subshell: one that bash cannot parse fails alone.
        const script = 'i=0; for f in "$@"; do printf "FIX\\0%d\\0" "$i" >>"$FIX_LOG"; ( eval "$f" ) 2>/dev/null || printf "FAILED\\0" >>"$FIX_LOG"; i=$((i + 1)); done';
        const r = spawnSync("bash", ["-c", script, "fix", ...fixes], {
            env: { PATH: `${path.join(this.dir, "bin")}:/usr/bin:/bin`, FIX_LOG: log, HOME: this.dir },
            encoding: "utf8",
        });
        if (r.status !== 0) throw new Error(`bash failed: ${r.stderr}`);
        const parts = fs.readFileSync(log, "utf8").split("\0");
        const out: Array<string[][] | null> = fixes.map(() => []);
        let fix = -1;
        for (let i = 0; i < parts.length; i++) {
            if (parts[i] === "FIX") fix = Number(parts[++i]);
            else if (parts[i] === "FAILED") out[fix] = null;
            else if (parts[i] === "CALL") out[fix]?.push([]);
            else if (i < parts.length - 1) out[fix]?.[out[fix]!.length - 1]?.push(parts[i]);
        }
        return out;
    }

    dispose(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** A recorded call without its `--stack NAME`. */
export function withoutStack(argv: readonly string[]): string[] {
    const at = argv.indexOf("--stack");
    return at < 0 ? [...argv] : [...argv.slice(0, at), ...argv.slice(at + 2)];
}

function asList(value: string | undefined): string[] | undefined {
    if (value === undefined) return [];
    try {
        const parsed: unknown = JSON.parse(value);
        return Array.isArray(parsed) ? (parsed as string[]) : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Applies recorded `pulumi` calls as the CLI would: `config set [--secret] [--path] KEY [VALUE]`,
 * `config rm [--path] KEY`, `stack rename NAME`. A set without a value is the prompt: `promptValue`
 * answers it. Returns the new state, or a reason the CLI would refuse the call.
 */
export function applyCalls(state: StackState, calls: readonly string[][], promptValue: (key: string) => string): StackState | string {
    let values = { ...state.values };
    let otherValues = { ...state.otherValues };
    let stack = state.stack;
    for (const argv of calls) {
        // Every fix names the stack it is for (`--stack NAME`): the one that has the problem, whichever is selected.
        const at = argv.indexOf("--stack");
        if (at < 0) return `does not name the stack (--stack): ${argv.join(" ")}`;
        if (argv[at + 1] !== stack) return `names stack ${argv[at + 1]}, not ${stack}: ${argv.join(" ")}`;
        const rest = withoutStack(argv);
        if (rest[0] === "stack" && rest[1] === "rename" && rest.length === 3) {
            stack = rest[2];
            continue;
        }
        if (rest[0] !== "config" || (rest[1] !== "set" && rest[1] !== "rm")) return `not a pulumi config call: ${argv.join(" ")}`;
        const flags = rest.slice(2).filter((a) => a.startsWith("--"));
        const args = rest.slice(2).filter((a) => !a.startsWith("--"));
        if (flags.some((f) => f !== "--path" && f !== "--secret")) return `unknown flag in ${argv.join(" ")}`;
        const m = /^([^:]+):([^[\]]+)(?:\[(\d+)\])?$/.exec(args[0] ?? "");
        if (!m) return `not a config key: ${args[0]}`;
        const [, ns, name, index] = m;
        if (index !== undefined && !flags.includes("--path")) return `an index without --path: ${argv.join(" ")}`;
        const target = ns === "homeiq" ? values : otherValues;
        const key = ns === "homeiq" ? name : `${ns}:${name}`;
        if (rest[1] === "set") {
            if (args.length > 2) return `too many arguments: ${argv.join(" ")}`;
            const value = args[1] ?? promptValue(name);
            if (index === undefined) {
                target[key] = value;
            } else {
                const list = asList(target[key]);
                if (!list) return `${key} is not a list, so [${index}] cannot be set`;
                if (Number(index) > list.length) return `${key}[${index}] is past the end of the list`;
                list[Number(index)] = value;
                target[key] = JSON.stringify(list);
            }
        } else {
            if (args.length !== 1) return `rm takes one key: ${argv.join(" ")}`;
            if (index === undefined) {
                delete target[key];
            } else {
                const list = asList(target[key]);
                if (!list || Number(index) >= list.length) return `${key}[${index}] does not exist`;
                list.splice(Number(index), 1);
                target[key] = JSON.stringify(list);
            }
        }
        if (ns === "homeiq") values = target;
        else otherValues = target;
    }
    return { values, otherValues, stack };
}
