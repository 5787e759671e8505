/** The status for a person: one table of the containers, the disk, then what is wrong (or "all well"). */
import type { SwarmServiceStatus, SwarmStackStatus } from "./swarm";
import { mib, type ContainerStatus, type DiskStatus, type Finding, type StackStatus } from "./status";

function duration(seconds: number | undefined): string {
    if (seconds === undefined) return "-";
    if (seconds < 120) return `${seconds}s`;
    if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
    if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
    return `${Math.floor(seconds / 86400)}d`;
}

function table(rows: string[][]): string {
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n");
}

const endpointCell = (e: ContainerStatus["endpoint"]): string => (!e ? "-" : e.failed > 0 ? `${e.failure ?? "failed"}` : `${e.p95Ms} ms`);
const memoryCell = (m: ContainerStatus["memory"]): string => (m ? `${m.percent.toFixed(1)}% of ${mib(m.limitBytes)}` : "-");
const cpuCell = (c: ContainerStatus["cpu"]): string => (c ? `${c.percentOfLimit.toFixed(1)}% of ${c.limitCpus}` : "-");

function row(c: ContainerStatus): string[] {
    const endpoint = endpointCell(c.endpoint);
    const drift = c.state === "missing" ? "-" : c.image.expectedId !== c.image.runningId || c.labelDiffs.length > 0 ? "DIFFERS" : "ok";
    return [
        c.container,
        c.state,
        c.health,
        String(c.restarts),
        duration(c.uptimeSeconds),
        endpoint,
        memoryCell(c.memory),
        cpuCell(c.cpu),
        c.errorLines ? String(c.errorLines.count) : "-",
        drift,
    ];
}

/** The backup folder on this machine: its size, the last backup, its filesystem, the scheduled jobs' last runs. */
function backupLines(disk: DiskStatus, diskPercent: number): string[] {
    const lines: string[] = [];
    const b = disk.backup;
    if (b) {
        const fsText = b.filesystem ? `; its filesystem ${b.filesystem.usedPercent.toFixed(0)}% full, ${mib(b.filesystem.availableBytes)} free (threshold ${diskPercent}%)` : "";
        if (!b.exists) lines.push(`backups: ${b.folder} does not exist yet${fsText}`);
        else {
            const last = b.last ? `last ${b.last.name} (${duration(b.last.ageSeconds)} ago, ${b.last.complete ? "complete" : "INCOMPLETE: no manifest"})` : "none taken yet";
            lines.push(`backups: ${b.folder} ${b.bytes === undefined ? "?" : mib(b.bytes)}, ${last}${fsText}`);
            const jobs = (b.jobs ?? []).map((j) => `${j.job} ${j.result === "ok" ? "ok" : j.result.toUpperCase()} ${duration(j.ageSeconds)} ago`);
            if (jobs.length > 0) lines.push(`scheduled jobs, last run: ${jobs.join(", ")}`);
        }
    }
    return lines;
}

export function humanReport(s: StackStatus): string {
    const k = s.criteria;
    const lines: string[] = [];
    lines.push(`stack ${s.stack} on ${s.dockerHost || "the default Docker engine"}, ${s.checkedAt}`);
    lines.push("");
    lines.push(
        table([
            ["CONTAINER", "STATE", "HEALTH", "RESTARTS", "UP", `P95 (<${k.latencyP95Ms}ms)`, `MEMORY (<${k.memoryPercent}%)`, `CPU (<${k.cpuPercent}%)`, "ERRORS", "IMAGE/LABELS"],
            ...s.containers.map(row),
        ]),
    );
    lines.push("");
    const vols = s.disk.volumes.map((v) => `${v.name} ${v.bytes === null ? "?" : mib(v.bytes)}`);
    lines.push(`volumes: ${vols.join(", ") || "none"}`);
    lines.push(...backupLines(s.disk, k.diskPercent));
    lines.push("");
    if (s.findings.length === 0) lines.push(`all well: ${s.containers.length} containers meet every criterion`);
    else {
        lines.push(`${s.findings.length} problem(s):`);
        for (const f of s.findings) lines.push(`  [${f.kind}] ${f.message}`);
    }
    return `${lines.join("\n")}\n`;
}

function swarmRow(s: SwarmServiceStatus, findings: readonly Finding[]): string[] {
    const drift = s.desired === null ? "-" : findings.some((f) => f.kind === "drift" && f.subject.startsWith(`${s.name} `)) ? "DIFFERS" : "ok";
    return [
        s.name,
        s.desired === null ? "missing" : `${s.running}/${s.desired}`,
        s.node ?? "-",
        s.health,
        String(s.failedRecently),
        duration(s.uptimeSeconds),
        endpointCell(s.endpoint),
        memoryCell(s.memory),
        cpuCell(s.cpu),
        s.errorLines ? String(s.errorLines.count) : "-",
        drift,
        s.lastError ?? "-",
    ];
}

/** A swarm stack's status for a person: one table of the services, what swarm does not run, the backups, then what is wrong. */
export function swarmReport(s: SwarmStackStatus): string {
    const k = s.criteria;
    const lines: string[] = [];
    lines.push(`stack ${s.stack} on swarm, manager ${s.dockerHost || "the default Docker engine"}, ${s.checkedAt}`);
    lines.push("");
    lines.push(table([["SERVICE", "REPLICAS", "NODE", "HEALTH", "FAILED (15m)", "UP", `P95 (<${k.latencyP95Ms}ms)`, `MEMORY (<${k.memoryPercent}%)`, `CPU (<${k.cpuPercent}%)`, "ERRORS", "IMAGE/LABELS", "LAST ERROR"], ...s.services.map((x) => swarmRow(x, s.findings))]));
    lines.push("");
    for (const n of s.notOnSwarm) lines.push(`not on swarm: ${n.service}: ${n.reason}`);
    lines.push(...backupLines(s.disk, s.criteria.diskPercent));
    lines.push("");
    if (s.findings.length === 0) lines.push(`all well: ${s.services.length} services run every replica they ask for, healthy, as the stack deploys them, and meet every criterion`);
    else {
        lines.push(`${s.findings.length} problem(s):`);
        for (const f of s.findings) lines.push(`  [${f.kind}] ${f.message}`);
    }
    return `${lines.join("\n")}\n`;
}
