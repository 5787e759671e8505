/**
 * `npm run -s status -- <stack> [--json] [--requests N] [--latency-ms N] [--memory-percent N]
 * [--cpu-percent N] [--disk-percent N]`: the running stack against the review's criteria.
 * Exit codes (operate/status.ts EXIT; the first that applies): 0 all well; 10 a container missing,
 * stopped or unhealthy, or an endpoint failing; 11 a container's image or labels differ from what the
 * stack deploys; 12 an endpoint's p95 latency over the criterion; 13 error lines in a log; 14 memory;
 * 15 CPU; 16 disk; 2 bad arguments or invalid stack config; 3 the engine does not answer.
 * On a swarm stack the same codes for its services and their running tasks (operate/swarm.ts).
 */
import { REVIEW_CRITERIA } from "../catalog/criteria";
import { ConfigValidationError } from "../config/loadConfig";
import { humanReport, swarmReport } from "./report";
import { loadStackPlan } from "./stackPlan";
import { collectSwarmStatus, type SwarmStackStatus } from "./swarm";
import { backupFolderOf, collectStatus, CRITERIA, EngineUnreachable, EXIT, type Criteria, type StackStatus } from "./status";

export const USAGE = `usage: npm run -s status -- <stack> [--json] [--requests N] [--latency-ms N] [--memory-percent N] [--cpu-percent N] [--disk-percent N]`;

export interface StatusArgs {
    readonly stack: string;
    readonly json: boolean;
    readonly requests: number;
    readonly criteria: Criteria;
}

const NUMERIC: Record<string, { key: keyof Criteria | "requests"; min: number; max: number }> = {
    "--requests": { key: "requests", min: 1, max: 1000 },
    "--latency-ms": { key: "latencyP95Ms", min: 1, max: 600000 },
    "--memory-percent": { key: "memoryPercent", min: 1, max: 100 },
    "--cpu-percent": { key: "cpuPercent", min: 1, max: 100000 },
    "--disk-percent": { key: "diskPercent", min: 1, max: 100 },
};

export class UsageError extends Error {}

export function parseStatusArgs(argv: readonly string[]): StatusArgs {
    let stack: string | undefined;
    let json = false;
    let requests: number = REVIEW_CRITERIA.latencyRequests;
    const criteria: Criteria = { ...CRITERIA };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i]!;
        if (a === "--json") json = true;
        else if (a in NUMERIC) {
            const spec = NUMERIC[a]!;
            const v = argv[++i];
            if (v === undefined || !/^\d+$/.test(v) || Number(v) < spec.min || Number(v) > spec.max) {
                throw new UsageError(`${a} ${v === undefined ? "(missing)" : JSON.stringify(v)}: expected a whole number from ${spec.min} to ${spec.max}\n${USAGE}`);
            }
            if (spec.key === "requests") requests = Number(v);
            else criteria[spec.key] = Number(v);
        } else if (a.startsWith("-")) throw new UsageError(`unknown option ${JSON.stringify(a)}\n${USAGE}`);
        else if (stack === undefined) stack = a;
        else throw new UsageError(`one stack at a time (got ${JSON.stringify(stack)} and ${JSON.stringify(a)})\n${USAGE}`);
    }
    if (!stack) throw new UsageError(`which stack? (e.g. prod)\n${USAGE}`);
    return { stack, json, requests, criteria };
}

/** The whole command: returns the exit code and what to print. HOMEIQ_PROJECT_DIR points it at another project folder (tests). */
export async function statusCommand(argv: readonly string[], projectDir: string): Promise<{ code: number; stdout: string; stderr: string; status?: StackStatus | SwarmStackStatus }> {
    let args: StatusArgs;
    try {
        args = parseStatusArgs(argv);
    } catch (err) {
        if (err instanceof UsageError) return { code: EXIT.usage, stdout: "", stderr: `${err.message}\n` };
        throw err;
    }
    try {
        const { plan } = loadStackPlan(projectDir, args.stack);
        if (plan.swarm) {
            // Through the manager and the nodes' engines (operate/swarm.ts).
            const status = await collectSwarmStatus(plan, { requests: args.requests, requestTimeoutSeconds: 2, criteria: args.criteria, backupFolder: backupFolderOf(plan) });
            return { code: status.exitCode, stdout: args.json ? `${JSON.stringify(status, null, 2)}\n` : swarmReport(status), stderr: "", status };
        }
        const status = await collectStatus(plan, { requests: args.requests, requestTimeoutSeconds: 2, criteria: args.criteria, backupFolder: backupFolderOf(plan) });
        const stdout = args.json ? `${JSON.stringify(status, null, 2)}\n` : humanReport(status);
        return { code: status.exitCode, stdout, stderr: "", status };
    } catch (err) {
        if (err instanceof ConfigValidationError) return { code: EXIT.usage, stdout: "", stderr: `${err.message}\n` };
        if (err instanceof EngineUnreachable) return { code: EXIT.engine, stdout: "", stderr: `status: ${err.message}\n` };
        throw err;
    }
}

if (require.main === module) {
    statusCommand(process.argv.slice(2), process.env.HOMEIQ_PROJECT_DIR || `${__dirname}/..`)
        .then((r) => {
            process.stderr.write(r.stderr);
            process.stdout.write(r.stdout, () => process.exit(r.code));
        })
        .catch((err: unknown) => {
            process.stderr.write(`status failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
            process.exit(1);
        });
}
