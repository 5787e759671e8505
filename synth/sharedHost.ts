/**
 * Stacks of this project that share a Docker host must not share a host port: the second `pulumi up`
 * would stop at the host-ports check (or Docker would refuse the bind). The offline synth reads the other
 * stack files beside this one and refuses a port that another stack on the same engine already uses on
 * an overlapping address, before either is deployed.
 */
import { SERVICE_KEYS, type ServiceKey } from "../catalog/services";
import { CONFIG_NAMESPACE } from "../config/keys";
import { fixCommand, type ConfigProblem } from "../config/problems";
import { parseStackConfig, type StackConfig } from "../config/schema";
import { listStacks, readStackFiles } from "./stackFiles";

/** The `homeiq:*` values of a stack's config, by key. */
function ownValues(config: Readonly<Record<string, string>>): Record<string, string> {
    const prefix = `${CONFIG_NAMESPACE}:`;
    return Object.fromEntries(Object.entries(config).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

/** Two bind addresses that cannot both hold one port (the same address, or either one every interface). */
const overlap = (a: string, b: string): boolean => a === b || ["0.0.0.0", "::"].includes(a) || ["0.0.0.0", "::"].includes(b);

/** The problems of `stack`'s port plan against every other stack file in `projectDir` on the same Docker host. */
export function sharedHostProblems(stack: string, config: Readonly<Record<string, string>>, projectDir: string): ConfigProblem[] {
    const mine = parseStackConfig(ownValues(config));
    if (!mine.ok) return []; // the program reports those
    const problems: ConfigProblem[] = [];
    const hostPorts = mine.config.values.hostPorts;
    for (const other of listStacks(projectDir).filter((s) => s !== stack)) {
        let theirs: StackConfig;
        try {
            const parsed = parseStackConfig(ownValues(readStackFiles(projectDir, other).config));
            if (!parsed.ok) continue;
            theirs = parsed.config;
        } catch {
            continue; // a stack file that cannot be read is that stack's problem
        }
        if (theirs.values.dockerHost !== mine.config.values.dockerHost) continue;
        const deployed = (c: StackConfig): ServiceKey[] => SERVICE_KEYS.filter((k) => c.services[k].enabled);
        for (const key of deployed(mine.config)) {
            const m = mine.config.services[key];
            const clash = deployed(theirs).find((k) => theirs.services[k].hostPort === m.hostPort && overlap(theirs.services[k].bindAddress, m.bindAddress));
            if (clash === undefined) continue;
            const entry = hostPorts.findIndex((e) => e.replace(/\s/g, "").startsWith(`${key}=`));
            const used = new Set([...deployed(mine.config).map((k) => mine.config.services[k].hostPort), ...deployed(theirs).map((k) => theirs.services[k].hostPort)]);
            let free = m.hostPort + 1;
            while (used.has(free)) free++;
            problems.push({
                key: entry >= 0 ? `homeiq:hostPorts[${entry}]` : "homeiq:hostPorts",
                value: entry >= 0 ? JSON.stringify(hostPorts[entry]) : `${key} on ${m.hostPort} (the profile's)`,
                problem: `puts ${key} on host port ${m.hostPort}, which stack '${other}' (Pulumi.${other}.yaml) uses for ${clash} on the same Docker host (${mine.config.values.dockerHost}): the second of them to deploy would stop at the host-ports check`,
                allowed: "a host port no other stack on the same Docker host uses",
                fix: fixCommand.setAt("hostPorts", entry >= 0 ? entry : hostPorts.length, `${key}=${free}`),
            });
        }
    }
    return problems;
}
