/**
 * A real OpenSSH server for the tests of `ssh://` Docker hosts: Debian's sshd (engine/install.sh installs
 * openssh-server) with its own config, host key and one authorized client key, all in a temp folder,
 * listening on 127.0.0.1:<port>. The docker CLI and operate/host.ts run the system `ssh` against it, so
 * every byte goes through a real SSH login, key exchange and channel.
 *
 * What stands in for "another machine": the server is this machine, logged into as root. Its sessions
 * get DOCKER_HOST = `remoteDockerHost` (sshd_config SetEnv) when given: a swarm node's engine, which on
 * that node would be its default socket. Nothing of the machine's own ssh setup is read or changed
 * (no ~/.ssh, no /etc/ssh), except that sshd needs its privilege-separation folder /run/sshd.
 *
 * Client side: ssh reads the config of the passwd user's home (~root/.ssh), not $HOME, and the docker
 * CLI gives ssh no way to pass options. So `env.PATH` starts with a folder whose `ssh` only adds
 * `-F <this server's client config>` (key, known_hosts with this server's host key, strict checking,
 * batch mode) and execs the real /usr/bin/ssh: the transport stays real, root's ~/.ssh stays untouched.
 *
 * Observation: sshd's own log (LogLevel VERBOSE: one "Accepted publickey" per login) and, per session,
 * the command the client asked for (SSH_ORIGINAL_COMMAND), written by the session's ForceCommand before
 * it runs that command exactly as sshd would (the login shell's -c).
 */
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run, waitFor } from "./helpers";

const SSHD = "/usr/sbin/sshd";
const SSH = "/usr/bin/ssh";

export interface SshSession {
    /** SSH_CONNECTION as sshd set it: client address and port, server address and port. */
    readonly from: string;
    readonly command: string;
}

export interface SshServer {
    readonly port: number;
    /** `ssh://root@127.0.0.1:<port>`: a DOCKER_HOST (or homeiq:dockerHost, a homeiq:swarmNodes engine). */
    readonly dockerHost: string;
    /** Merge into a process's environment: PATH with the client-options `ssh` first (and SSH_AUTH_SOCK with keyInAgent). */
    readonly env: { readonly PATH: string; readonly SSH_AUTH_SOCK?: string };
    /** sshd's own log. */
    log(): string;
    /** Logins sshd accepted so far (its "Accepted publickey for root" lines). */
    logins(): number;
    /** Every session's command, in order. */
    sessions(): SshSession[];
    stop(): void;
}

export interface SshdOptions {
    /** The DOCKER_HOST its sessions get (unset: the docker CLI's default socket). */
    readonly remoteDockerHost?: string;
    /**
     * The client key only in an ssh-agent (env.SSH_AUTH_SOCK), not on disk, as a passphrase-protected key
     * unlocked once in a desktop session: a login works with the agent and fails without it (as from cron).
     */
    readonly keyInAgent?: boolean;
}

/** Starts sshd on 127.0.0.1:`port` (a port of the caller's range) and waits until it listens. */
export function startSshd(tag: string, port: number, { remoteDockerHost, keyInAgent = false }: SshdOptions = {}): SshServer {
    if (!fs.existsSync(SSHD)) throw new Error(`${SSHD} not found: run engine/install.sh (it installs Debian's openssh-server)`);
    // One folder per tag: a server left running by an interrupted run (its jest worker killed) holds the
    // port; it is stopped first, by the pids it wrote there (checked to be that server's), as the swarm
    // tests take down a leftover swarm of their name.
    const dir = path.join(os.tmpdir(), `homeiq-sshd-${tag}`);
    const file = (name: string): string => path.join(dir, name);
    for (const pidFile of ["sshd.pid", "agent.pid"]) {
        const pid = fs.existsSync(file(pidFile)) ? Number(fs.readFileSync(file(pidFile), "utf8").trim()) : 0;
        const cmdline = pid > 0 && fs.existsSync(`/proc/${pid}/cmdline`) ? fs.readFileSync(`/proc/${pid}/cmdline`, "utf8") : "";
        if (!cmdline.includes(dir)) continue;
        process.kill(pid, "SIGTERM");
        // Gone, or a zombie (a child of this process, not reaped yet: its port is free).
        const gone = (): boolean => !fs.existsSync(`/proc/${pid}/stat`) || / Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
        waitFor(`the leftover ${pidFile.replace(".pid", "")} ${pid} gone`, gone, { timeoutMs: 10_000, intervalMs: 50 });
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { mode: 0o700 });
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${tag}-host`, "-f", file("host_key")]);
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${tag}-client`, "-f", file("client_key")]);
    fs.copyFileSync(file("client_key.pub"), file("authorized_keys"));
    fs.writeFileSync(file("known_hosts"), `[127.0.0.1]:${port} ${fs.readFileSync(file("host_key.pub"), "utf8").trim()}\n`);
    // The session's command, logged, then run as sshd runs one without ForceCommand: by the login shell.
    fs.writeFileSync(
        file("session.sh"),
        `#!/bin/sh\nprintf '%s\\t%s\\n' "$SSH_CONNECTION" "$SSH_ORIGINAL_COMMAND" >>'${file("sessions.log")}'\nexec "$SHELL" -c "$SSH_ORIGINAL_COMMAND"\n`,
        { mode: 0o755 },
    );
    fs.writeFileSync(
        file("sshd_config"),
        [
            `ListenAddress 127.0.0.1:${port}`,
            `HostKey ${file("host_key")}`,
            `PidFile ${file("sshd.pid")}`,
            `AuthorizedKeysFile ${file("authorized_keys")}`,
            "AllowUsers root",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            // The key files are in a folder under /tmp (world-writable): StrictModes would refuse them.
            "StrictModes no",
            "LogLevel VERBOSE",
            // The docker CLI opens a connection per API call, several at once.
            "MaxStartups 100:30:200",
            `ForceCommand ${file("session.sh")}`,
            ...(remoteDockerHost ? [`SetEnv DOCKER_HOST=${remoteDockerHost}`] : []),
            "",
        ].join("\n"),
    );
    fs.writeFileSync(
        file("ssh_config"),
        [
            "Host *",
            `  IdentityFile ${file(keyInAgent ? "client_key.pub" : "client_key")}`,
            "  IdentitiesOnly yes",
            `  UserKnownHostsFile ${file("known_hosts")}`,
            "  GlobalKnownHostsFile /dev/null",
            "  StrictHostKeyChecking yes",
            "  BatchMode yes",
            "",
        ].join("\n"),
    );
    let agent: ChildProcess | undefined;
    if (keyInAgent) {
        agent = spawn("ssh-agent", ["-D", "-a", file("agent.sock")], { stdio: "ignore" });
        fs.writeFileSync(file("agent.pid"), String(agent.pid));
        waitFor("ssh-agent's socket", () => fs.existsSync(file("agent.sock")), { timeoutMs: 10_000, intervalMs: 50 });
        run("ssh-add", ["-q", file("client_key")], { env: { SSH_AUTH_SOCK: file("agent.sock") } });
        // ssh offers the agent's key that matches the public key named as IdentityFile.
        fs.rmSync(file("client_key"));
    }
    fs.mkdirSync(file("bin"));
    fs.writeFileSync(file("bin/ssh"), `#!/bin/sh\nexec ${SSH} -F '${file("ssh_config")}' "$@"\n`, { mode: 0o755 });
    // sshd's privilege-separation folder (its systemd unit would create it).
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    run(SSHD, ["-t", "-f", file("sshd_config")]);

    const child: ChildProcess = spawn(SSHD, ["-D", "-f", file("sshd_config"), "-E", file("sshd.log")], { stdio: "ignore" });
    let exited = false;
    child.on("exit", () => (exited = true));
    const log = (): string => (fs.existsSync(file("sshd.log")) ? fs.readFileSync(file("sshd.log"), "utf8") : "");
    waitFor(`sshd listening on 127.0.0.1:${port}`, () => {
        if (exited) throw new Error(`sshd exited at start (port ${port} taken?); its log:\n${log()}`);
        return log().includes(`Server listening on 127.0.0.1 port ${port}`);
    }, { timeoutMs: 15_000, intervalMs: 100 });

    return {
        port,
        dockerHost: `ssh://root@127.0.0.1:${port}`,
        env: { PATH: `${file("bin")}:${process.env.PATH ?? ""}`, ...(agent ? { SSH_AUTH_SOCK: file("agent.sock") } : {}) },
        log,
        logins: () => (log().match(/^.*Accepted publickey for root from 127\.0\.0\.1 port \d+ ssh2/gm) ?? []).length,
        sessions: () =>
            (fs.existsSync(file("sessions.log")) ? fs.readFileSync(file("sessions.log"), "utf8") : "")
                .split("\n")
                .filter(Boolean)
                .map((l) => ({ from: l.split("\t")[0]!, command: l.slice(l.indexOf("\t") + 1) })),
        stop: () => {
            if (!exited) child.kill("SIGTERM");
            agent?.kill("SIGTERM");
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
