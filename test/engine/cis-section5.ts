/**
 * The CIS Docker Benchmark 1.6.0, section 5 ("Container Runtime"), checked by the project's own code on
 * a running stack: each property read from the engine (docker info, docker inspect, docker top, the
 * container's own cgroup), with the numbering docker-bench-security uses. docs/security.md ("CIS Docker
 * Benchmark, section 5") has the table of these checks and the reason for each accepted warning.
 */
import { docker } from "./helpers";

export type CisStatus = "pass" | "warn" | "n/a";

export interface CisRow {
    readonly id: string;
    readonly title: string;
    readonly status: CisStatus;
    /** What was found: for a warn, each offending container; for n/a, why. */
    readonly detail: string;
}

/** What a container's spec says it should have: the inputs the program gave it. */
export interface CisContainer {
    readonly name: string;
    readonly service: string;
    /** Its published ports as the spec binds them. */
    readonly ports: ReadonlyArray<{ internal: number; external: number; ip: string }>;
}

/** Host paths docker-bench-security's 5.6 treats as sensitive. */
const SENSITIVE = ["/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"];

type Inspect = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function row(id: string, title: string, offenders: string[], detail = ""): CisRow {
    return { id, title, status: offenders.length === 0 ? "pass" : "warn", detail: offenders.length === 0 ? detail : offenders.join("; ") };
}

/** Every section-5 check over the stack's running containers. */
export function cisSection5(containers: readonly CisContainer[]): CisRow[] {
    const engine = JSON.parse(docker(["info", "--format", "{{json .}}"]).stdout) as Inspect;
    const securityOptions = (engine.SecurityOptions ?? []) as string[];
    const hasAppArmor = securityOptions.some((o) => o === "name=apparmor");
    const hasSelinux = securityOptions.some((o) => o === "name=selinux");
    const info = new Map(containers.map((c) => [c.name, (JSON.parse(docker(["inspect", c.name]).stdout) as Inspect[])[0]]));
    const each = (test: (i: Inspect, c: CisContainer) => string | undefined): string[] =>
        containers.flatMap((c) => {
            const problem = test(info.get(c.name)!, c);
            return problem === undefined ? [] : [`${c.name}: ${problem}`];
        });
    const hc = (i: Inspect): Inspect => i.HostConfig as Inspect;
    const opts = (i: Inspect): string[] => (hc(i).SecurityOpt ?? []) as string[];
    const binds = (i: Inspect): Inspect[] => ((i.Mounts ?? []) as Inspect[]).filter((m) => m.Type === "bind");

    const rows: CisRow[] = [];
    rows.push(row("5.1", "swarm mode not enabled", engine.Swarm?.LocalNodeState === "inactive" ? [] : [`engine swarm state ${String(engine.Swarm?.LocalNodeState)}`]));
    if (hasAppArmor) {
        rows.push(row("5.2", "AppArmor profile enabled", each((i) => (i.AppArmorProfile && i.AppArmorProfile !== "unconfined" ? undefined : `AppArmorProfile "${String(i.AppArmorProfile)}"`))));
    } else {
        // The engine ignores apparmor= where the host has no AppArmor; what can be checked is that every container asks for it.
        const unasked = each((i) => (opts(i).includes("apparmor=docker-default") ? undefined : "does not ask for apparmor=docker-default"));
        rows.push({
            id: "5.2",
            title: "AppArmor profile enabled",
            status: "warn",
            detail: `the host has no AppArmor (engine security options: ${securityOptions.join(", ")}); ${unasked.length === 0 ? "every container asks for apparmor=docker-default" : unasked.join("; ")}`,
        });
    }
    rows.push(
        hasSelinux
            ? row("5.3", "SELinux security options set", each((i) => (opts(i).some((o) => o.startsWith("label=")) ? undefined : "no label= option")))
            : { id: "5.3", title: "SELinux security options set", status: "n/a", detail: "the engine runs without SELinux (no name=selinux in its security options)" },
    );
    rows.push(row("5.4", "Linux kernel capabilities restricted", each((i) => (((hc(i).CapDrop ?? []) as string[]).includes("ALL") ? undefined : `CapDrop ${JSON.stringify(hc(i).CapDrop)}`))));
    rows.push(row("5.5", "privileged containers not used", each((i) => (hc(i).Privileged === true ? "privileged" : undefined))));
    rows.push(
        row("5.6", "sensitive host system directories not mounted", each((i) => {
            const bad = binds(i).filter((m) => SENSITIVE.includes(String(m.Source).replace(/\/+$/, "") || "/") || m.RW === true);
            return bad.length === 0 ? undefined : bad.map((m) => `${String(m.Source)} (${m.RW ? "rw" : "ro"})`).join(", ");
        })),
    );
    rows.push(
        row("5.7", "sshd not run within containers", each((i) => {
            // The engine needs the pid column to map ps's lines to the container.
            const processes = docker(["top", String(i.Id), "-eo", "pid,comm"]).stdout.split("\n").slice(1).map((l) => l.trim().split(/\s+/).slice(1).join(" "));
            return processes.includes("sshd") ? "runs sshd" : undefined;
        })),
    );
    const bindings = (i: Inspect): Array<{ key: string; ip: string; port: number }> =>
        Object.entries((hc(i).PortBindings ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }>>).flatMap(([key, list]) =>
            list.map((b) => ({ key, ip: b.HostIp, port: Number(b.HostPort) })),
        );
    rows.push(row("5.8", "privileged ports not mapped", each((i) => bindings(i).filter((b) => b.port < 1024).map((b) => `host port ${b.port}`).join(", ") || undefined)));
    rows.push(
        row("5.9", "only needed ports open", each((i, c) => {
            const have = bindings(i).map((b) => `${b.key}->${b.ip}:${b.port}`).sort();
            const want = c.ports.map((p) => `${p.internal}/tcp->${p.ip}:${p.external}`).sort();
            return JSON.stringify(have) === JSON.stringify(want) ? undefined : `publishes ${have.join(", ")}, its spec ${want.join(", ")}`;
        })),
    );
    rows.push(row("5.10", "host network namespace not shared", each((i) => (hc(i).NetworkMode === "host" ? "network mode host" : undefined))));
    rows.push(row("5.11", "memory usage limited", each((i) => (Number(hc(i).Memory) > 0 ? undefined : "no memory limit"))));
    rows.push(
        row("5.12", "CPU priority set", each((i) => {
            const shares = Number(hc(i).CpuShares);
            return shares > 0 && shares !== 1024 && Number(hc(i).NanoCpus) > 0 ? undefined : `CpuShares ${shares}, NanoCpus ${String(hc(i).NanoCpus)}`;
        })),
    );
    rows.push(row("5.13", "root filesystem mounted read-only", each((i) => (hc(i).ReadonlyRootfs === true ? undefined : "writable root filesystem"))));
    rows.push(
        row("5.14", "incoming traffic bound to a specific host interface", each((i) => {
            const open = bindings(i).filter((b) => b.ip === "" || b.ip === "0.0.0.0" || b.ip === "::");
            return open.length === 0 ? undefined : `binds ${open.map((b) => `${b.ip || "*"}:${b.port}`).join(", ")}`;
        })),
    );
    rows.push(
        row("5.15", "restart policy: on-failure at most 5 retries, as docker-bench-security tests it (MaximumRetryCount <= 5)", each((i) => {
            const p = hc(i).RestartPolicy as { Name: string; MaximumRetryCount: number };
            return p.MaximumRetryCount <= 5 && p.Name !== "no" && p.Name !== "" ? undefined : `restart ${p.Name}:${p.MaximumRetryCount}`;
        }), "unless-stopped (retries unbounded, MaximumRetryCount 0); CIS recommends on-failure:5, which would not bring the stack back after a host reboot"),
    );
    rows.push(row("5.16", "host PID namespace not shared", each((i) => (hc(i).PidMode === "host" ? "pid mode host" : undefined))));
    rows.push(row("5.17", "host IPC namespace not shared", each((i) => (hc(i).IpcMode === "host" ? "ipc mode host" : undefined))));
    rows.push(row("5.18", "host devices not exposed", each((i) => (((hc(i).Devices ?? []) as unknown[]).length === 0 ? undefined : `${(hc(i).Devices as unknown[]).length} devices`))));
    rows.push(
        row("5.19", "default ulimit overwritten where needed", [], containers.filter((c) => ((hc(info.get(c.name)!).Ulimits ?? []) as unknown[]).length > 0).map((c) => `${c.name}: ${JSON.stringify(hc(info.get(c.name)!).Ulimits)}`).join("; ")),
    );
    rows.push(
        row("5.20", "mount propagation not shared", each((i) => (binds(i).some((m) => /^r?shared$/.test(String(m.Propagation))) ? "a bind mount propagates shared" : undefined))),
    );
    rows.push(row("5.21", "host UTS namespace not shared", each((i) => (hc(i).UTSMode === "host" ? "uts mode host" : undefined))));
    rows.push(
        row("5.22", "default seccomp profile not disabled", [
            ...(securityOptions.some((o) => o.startsWith("name=seccomp")) ? [] : ["the engine has no seccomp"]),
            ...each((i) => (opts(i).some((o) => /^seccomp[=:]unconfined$/.test(o)) ? "seccomp unconfined" : undefined)),
        ]),
    );
    rows.push({ id: "5.23", title: "docker exec not used with --privileged", status: "n/a", detail: "an audit of exec sessions, not a container property: the program's scripts never pass --privileged to docker exec" });
    rows.push({ id: "5.24", title: "docker exec not used with --user=root", status: "n/a", detail: "an audit of exec sessions, not a container property: the program's scripts run docker exec as the container's own user" });
    rows.push(row("5.25", "cgroup usage confirmed (default parent)", each((i) => (hc(i).CgroupParent ? `cgroup parent ${String(hc(i).CgroupParent)}` : undefined))));
    rows.push(row("5.26", "no additional privileges (no-new-privileges)", each((i) => (opts(i).some((o) => /^no-new-privileges([=:]true)?$/.test(o)) ? undefined : "no no-new-privileges"))));
    rows.push(
        row("5.27", "health checked at runtime", each((i) => {
            const test = (i.Config?.Healthcheck?.Test ?? []) as string[];
            return test.length > 0 && test[0] !== "NONE" && i.State?.Health?.Status === "healthy" ? undefined : `health check ${JSON.stringify(test)}, status ${String(i.State?.Health?.Status)}`;
        })),
    );
    rows.push({ id: "5.28", title: "latest image version used", status: "n/a", detail: "manual: the images are built from the HomeIQ checkout or pinned by digest (imageSource registry)" });
    rows.push(
        row("5.29", "PIDs cgroup limit used", each((i) => {
            const limit = Number(hc(i).PidsLimit);
            const label = i.Config?.Labels?.["com.homeiq.pids-limit"] as string | undefined;
            if (!(limit > 0) || String(limit) !== label) return `PidsLimit ${String(hc(i).PidsLimit)}, label ${String(label)}`;
            // What the kernel enforces: the container's own pids cgroup (v2 at the root, v1 under pids/).
            const max = docker(["exec", String(i.Id), "cat", "/sys/fs/cgroup/pids.max"], { allowFail: true });
            const enforced = max.code === 0 ? max.stdout.trim() : docker(["exec", String(i.Id), "cat", "/sys/fs/cgroup/pids/pids.max"]).stdout.trim();
            return enforced === String(limit) ? undefined : `pids.max ${enforced}, PidsLimit ${limit}`;
        })),
    );
    rows.push(row("5.30", "default bridge docker0 not used", each((i) => ("bridge" in ((i.NetworkSettings?.Networks ?? {}) as object) ? "on the default bridge" : undefined))));
    rows.push(row("5.31", "host user namespace not shared", each((i) => (hc(i).UsernsMode === "host" ? "userns mode host" : undefined))));
    rows.push(
        row("5.32", "Docker socket not mounted", each((i) => {
            const socket = ((i.Mounts ?? []) as Inspect[]).filter((m) => /(^|\/)docker\.sock$/.test(String(m.Source)));
            return socket.length === 0 ? undefined : `mounts ${socket.map((m) => String(m.Source)).join(", ")}`;
        })),
    );
    return rows;
}

/** The rows as a table for the test log. */
export function cisTable(rows: readonly CisRow[]): string {
    return rows.map((r) => `${r.id.padEnd(5)} ${r.status.padEnd(4)} ${r.title}${r.detail ? ` -- ${r.detail}` : ""}`).join("\n");
}
