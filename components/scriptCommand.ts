/**
 * The command string of a Command resource that runs one of the repository's scripts: a constant
 * per script, relative to the project, so the Command's inputs are the same from any checkout on
 * any machine (a preview in CI and an `up` from a laptop agree, and a `delete` still runs after the
 * checkout moved). Every input, secrets included, travels in the Command's `environment`.
 *
 * Why a relative path works: the Pulumi CLI starts every resource plugin in the project's folder
 * (the one holding Pulumi.yaml, which sets no `main`: engine ProjectInfoContext -> GetPwdMain ->
 * plugin context Pwd -> newPlugin's working directory), and @pulumi/command 1.2's local Command
 * runs its command with `cmd.Dir = os.Getwd()` when `dir` is not set
 * (provider/pkg/provider/local/commandOutputs.go). test/unit/commandInputs.test.ts checks that
 * Pulumi.yaml keeps no `main` and that every script named here exists under the project.
 */

/** The scripts Command resources run, relative to the project folder. */
export const SCRIPTS = {
    backup: "scripts/backup/backup.sh",
    restore: "scripts/backup/restore-stack.sh",
    chownVolume: "scripts/backup/chown-volume.sh",
    setRetention: "scripts/influxdb/set-retention.sh",
    validate: "scripts/validate/validate.sh",
    containersHealthy: "scripts/validate/containers-healthy.sh",
    socketGroup: "scripts/docker/socket-group.sh",
    pidsLimits: "scripts/docker/pids-limits.sh",
    hostPortsFree: "scripts/preflight/ports-free.sh",
    swarmPreflight: "scripts/swarm/preflight.sh",
    swarmBackup: "scripts/swarm/backup.sh",
    swarmRestore: "scripts/swarm/restore.sh",
    swarmSetRetention: "scripts/swarm/set-retention.sh",
    swarmLimits: "scripts/swarm/limits.sh",
    swarmPruneSecrets: "scripts/swarm/prune-secrets.sh",
    scheduleInstall: "scripts/schedule/install.sh",
    scheduleRemove: "scripts/schedule/remove.sh",
} as const;

/** `bash scripts/<script>`, e.g. scriptCommand(SCRIPTS.backup). */
export function scriptCommand(script: (typeof SCRIPTS)[keyof typeof SCRIPTS]): string {
    return `bash ${script}`;
}

/**
 * The outputs of a Command whose `environment` holds a secret: @pulumi/command stores the script's
 * stdout and stderr in state (local/commandOutputs.go:142-143) and marks them secret only when an
 * input of the same name is (pulumi-go-provider infer/resource.go:754-809), so without this option
 * anything a script printed would sit in the state file in plain text.
 */
export const SECRET_COMMAND_OUTPUTS: string[] = ["stdout", "stderr"];
