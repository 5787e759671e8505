/**
 * The platform as it will be deployed, as plain data: every decision that the validated config,
 * the profile and the catalog make together, resolved once by resolvePlatform (plan/resolve.ts).
 * Components take their slice of it and only wire Pulumi resources; tests read it as a value.
 *
 * Nothing here is a Pulumi Output: what only exists at deploy time is named instead (a secret by
 * its config key, an image by its service, a container by its service), and the component that
 * holds it fills it in.
 */
import type { ServiceKey, ValidationCheck, VolumeKey } from "../catalog/services";
import type { SecretKey } from "../config/keys";
import type { SecretSettings } from "../config/schema";
import type { ServiceResources, StackProfile } from "../stacks/profile";
import type { SwarmPlan } from "./swarm";

/** A variable's value: plain text, or a secret config value (the configured one, or generated when unset). */
export type EnvValue = string | { readonly secret: SecretKey };

export interface BuildPlan {
    readonly imageName: string;
    readonly context: string;
    readonly dockerfile: string;
    readonly args: Readonly<Record<string, string>>;
}

export interface ImagePlan {
    /** The image the service's own content comes from: pulled by reference, or built from the HomeIQ checkout. */
    readonly base: { readonly pull: string } | { readonly build: BuildPlan };
    /** A thin derived image (images/non-root-python) for a service that runs non-root in an image that cannot. */
    readonly nonRootAdapter?: { readonly imageName: string; readonly context: string; readonly uid: string; readonly gid: string };
}

/** The container settings that hardening decides. */
export interface HardeningPlan {
    readonly user?: string;
    readonly readOnly: boolean;
    readonly tmpfs?: Readonly<Record<string, string>>;
    readonly securityOpts: readonly string[];
    readonly capabilities?: { readonly drops: readonly string[]; readonly adds: readonly string[] };
    /** Processes and threads the container may hold: the catalog's value for the service, else the profile's. */
    readonly pidsLimit: number;
    /** setrlimit values the catalog gives the service (Docker's `--ulimit`). */
    readonly ulimits: ReadonlyArray<{ readonly name: string; readonly soft: number; readonly hard: number }>;
}

/** A supplementary group: the Docker socket's (configured, or found at deploy time), or a fixed gid. */
export type GroupPlan = { readonly dockerSocket: true } | { readonly gid: string };

/** What a backup takes of a service, and how a restore puts it back. */
export interface BackupRole {
    /** Holds state: its container is replaced only after a backup, and the final backup runs while it is up. */
    readonly stateful: boolean;
    /** The InfluxDB server: backed up with the influx CLI inside it. */
    readonly influxdb: boolean;
    /** The InfluxDB server's staging folder for backups and restores (catalog `influxdbStagingDir`); absent: the scripts' /tmp. */
    readonly influxdbStagingDir?: string;
    /** Its SQLite database: copied through SQLite's online backup API; restored into the volume as `owner`. */
    readonly sqlite?: { readonly containerPath: string; readonly volumeName: string; readonly pathInVolume: string; readonly owner: string };
}

export interface ServicePlan {
    readonly key: ServiceKey;
    readonly containerName: string;
    readonly image: ImagePlan;
    readonly environment: Readonly<Record<string, EnvValue>>;
    /** Labels known before deployment (service, stack, rebuild generation, a restored backup). */
    readonly labels: Readonly<Record<string, string>>;
    readonly port: { readonly internal: number; readonly external: number; readonly ip: string };
    readonly networkAliases: readonly string[];
    readonly resources: ServiceResources;
    readonly restart: StackProfile["restartPolicy"];
    readonly logRotation: StackProfile["logRotation"];
    readonly healthCheck: { readonly tests: readonly string[]; readonly startPeriodSeconds: number };
    /** Seconds `pulumi up` waits for the container to become healthy. */
    readonly healthWaitSeconds: number;
    readonly hardening: HardeningPlan;
    readonly groups: readonly GroupPlan[];
    readonly volumes: ReadonlyArray<{ readonly volume: VolumeKey; readonly containerPath: string }>;
    /** Host paths mounted read-only. */
    readonly hostMounts: ReadonlyArray<{ readonly hostPath: string; readonly containerPath: string }>;
    /** The services whose json-file logs it reads: each one's log folder under `hostFolder` is mounted read-only. */
    readonly readsLogsOf?: { readonly hostFolder: string; readonly services: readonly ServiceKey[] };
    /** Services whose containers must be healthy before this one starts. */
    readonly startAfter: readonly ServiceKey[];
    /** It reads the engine through the Docker API proxy: it joins the proxy's network and starts after it. */
    readonly usesDockerApi: boolean;
    /** Services whose replacement replaces this one (their container ids are a label: catalog `replaceWithDependencies`). */
    readonly replacedWith: readonly ServiceKey[];
    readonly urls: { readonly service: string; readonly health: string };
    readonly validation: { readonly check: ValidationCheck; readonly url: string };
    readonly backup: BackupRole;
}

/** The stack's Docker API proxy (catalog DOCKER_API_PROXY), when a deployed service reads the engine. */
export interface DockerApiProxyPlan {
    readonly key: "docker-api-proxy";
    readonly containerName: string;
    /** The internal network (no route out) that only the proxy and its clients join; the proxy answers there as `key`. */
    readonly network: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
    /** Built by the program from images/docker-api-proxy. */
    readonly image: BuildPlan;
    readonly labels: Readonly<Record<string, string>>;
    readonly port: number;
    readonly resources: ServiceResources;
    readonly restart: StackProfile["restartPolicy"];
    readonly logRotation: StackProfile["logRotation"];
    readonly healthCheck: { readonly tests: readonly string[]; readonly startPeriodSeconds: number };
    readonly healthWaitSeconds: number;
    readonly hardening: HardeningPlan;
    /** The Docker socket, bind-mounted (read-only, which does not limit the API: the allow-list does). */
    readonly socket: { readonly hostPath: string; readonly containerPath: string };
    /** The services it serves (their DOCKER_HOST points at it; they start after it is healthy). */
    readonly clients: readonly ServiceKey[];
}

export interface VolumePlan {
    readonly key: VolumeKey;
    readonly name: string;
    readonly holdsData: boolean;
    /** Kept in Docker when Pulumi deletes it. */
    readonly retainOnDelete: boolean;
    readonly labels: Readonly<Record<string, string>>;
}

/** A deployed SQLite database: the container that holds it and its path there. */
export interface SqliteDatabasePlan {
    readonly service: ServiceKey;
    readonly container: string;
    readonly path: string;
}

/** A SQLite database a restore writes into its volume, owned by uid:gid `owner`. */
export interface SqliteRestorePlan {
    readonly service: ServiceKey;
    readonly volume: string;
    readonly pathInVolume: string;
    readonly owner: string;
}

/**
 * What the backup scripts need to know of the stack (scripts/backup/README.md); the token and images
 * come at deploy time. Structured here; components/backupScripts.ts writes it as backup.sh's environment.
 */
export interface BackupTargetPlan {
    readonly stack: string;
    readonly dockerHost: string;
    /** Absolute, or `~/…` resolved by backup.sh where it runs. */
    readonly root: string;
    readonly keep: number;
    /** homeiq:backupKeepDays: older backups are deleted (prune.sh's rules). */
    readonly keepDays: number;
    /** The InfluxDB server's container; absent when the stack does not deploy one. */
    readonly influxContainer?: string;
    /** Where a backup through a remote engine is staged in that container; absent: the script's /tmp. */
    readonly influxStagingDir?: string;
    /** Each deployed SQLite database, in catalog order. */
    readonly sqliteDatabases: readonly SqliteDatabasePlan[];
    /** The non-secret config, kept beside each backup as config.json. */
    readonly config: Readonly<Record<string, unknown>>;
    /** On swarm: the manager's engine; the container names are swarm services, whose task containers the scripts find on `dockerHost` (scripts/swarm/). */
    readonly swarmManager?: string;
}

/** A lifecycle step, or a service's container (started and healthy). */
export type StepRef = { readonly step: LifecycleStepKind } | { readonly service: ServiceKey };

interface StepBase<K extends string> {
    readonly kind: K;
    /** What must exist (a step done, a container healthy) before it runs. */
    readonly after: readonly StepRef[];
    /** The services that start only after it. */
    readonly before: readonly ServiceKey[];
}

export interface HostPortsCheckStep extends StepBase<"host-ports-check"> {
    readonly stack: string;
    readonly dockerHost: string;
    /** The host port of every deployed service. */
    readonly ports: Readonly<Partial<Record<ServiceKey, number>>>;
    /** A restore is how a migration from the compose files arrives: the check runs again for each one. */
    readonly restoreFrom?: string;
    /** A deployed service whose image (with `cat`) reads the Docker host's listening sockets, from its network namespace. */
    readonly helperImageOf: ServiceKey;
}

export interface PreChangeBackupStep extends StepBase<"pre-change-backup"> {
    readonly target: BackupTargetPlan;
    /** Its trigger is a digest of these services' container specs (and `restoreFrom`): it runs right before one of them changes. */
    readonly stateful: readonly ServiceKey[];
    readonly restoreFrom?: string;
}

export interface VolumeHandoverStep extends StepBase<"volume-handover"> {
    readonly dockerHost: string;
    /** Volume name → uid:gid. */
    readonly owners: Readonly<Record<string, string>>;
    /** A deployed SQLite service whose image (sh, python3) runs the helper container. */
    readonly helperImageOf: ServiceKey;
}

export interface RestoreStep extends StepBase<"restore"> {
    readonly folder: string;
    /** On swarm: the manager's engine; the services whose files are replaced are scaled to 0 there (scripts/swarm/restore.sh). */
    readonly swarmManager?: string;
    readonly stack: string;
    readonly dockerHost: string;
    /** The InfluxDB server's container; absent when the stack does not deploy one (restore.sh leaves InfluxDB data alone). */
    readonly influxContainer?: string;
    /** Where the backup is staged in that container before `influx restore`; absent: the script's /tmp. */
    readonly influxStagingDir?: string;
    readonly sqliteRestores: readonly SqliteRestorePlan[];
    /** Containers stopped while their files are replaced. */
    readonly stopContainers: readonly string[];
    /** The image that writes SQLite files into their volumes; needed exactly when one is restored. */
    readonly helperImageOf?: ServiceKey;
}

export interface RetentionStep extends StepBase<"influxdb-retention"> {
    readonly dockerHost: string;
    /** On swarm: the manager's engine; `container` is the InfluxDB service, whose task container is found on `dockerHost`. */
    readonly swarmManager?: string;
    readonly container: string;
    readonly org: string;
    readonly bucket: string;
    /** InfluxDB notation (plan/environment.ts influxRetention): `0s` forever, else `<days>d`. */
    readonly retention: string;
    /** A restore brings back the bucket's old retention: set it again after each one. */
    readonly restoredFrom?: string;
}

export interface FinalBackupStep extends StepBase<"final-backup"> {
    readonly target: BackupTargetPlan;
}

export interface OnDemandBackupStep extends StepBase<"on-demand-backup"> {
    readonly target: BackupTargetPlan;
    /** homeiq:backupRequest: raising it takes a backup. */
    readonly request: number;
}

/**
 * The jobs the Docker host runs on its own, from the deploying user's crontab (scripts/schedule): the
 * backup (then the off-host copy) and the restore drill. Set up once the stateful containers exist,
 * removed on destroy; failures go to Home Assistant and the webhook.
 */
export interface BackupScheduleStep extends StepBase<"backup-schedule"> {
    readonly target: BackupTargetPlan;
    /** homeiq:backupSchedule, e.g. "daily 02:00", or "off". */
    readonly backupWhen: string;
    /** homeiq:backupDrillSchedule, e.g. "monthly 1 03:00", or "off". */
    readonly drillWhen: string;
    /** The schedule's own folder: <backup root>/<stack>/.schedule (a job each below it). */
    readonly folder: string;
    /** homeiq:backupCopyRepository, "" for none. */
    readonly copyRepository: string;
    readonly copyPassphrase: EnvValue;
    /** Where failures are reported: Home Assistant (its REST API, the stack's token), and a webhook. */
    readonly homeAssistantUrl: string;
    readonly homeAssistantToken: EnvValue;
    readonly webhookUrl: EnvValue;
}

export type LifecycleStep =
    | BackupScheduleStep
    | HostPortsCheckStep
    | PreChangeBackupStep
    | VolumeHandoverStep
    | RestoreStep
    | RetentionStep
    | FinalBackupStep
    | OnDemandBackupStep;

export type LifecycleStepKind = LifecycleStep["kind"];

export interface ValidationPlan {
    /** The services whose containers it waits for (all of them); their ids are its triggers. */
    readonly after: readonly ServiceKey[];
    /** What scripts/validate/validate.sh checks of every deployed service. */
    readonly targets: ReadonlyArray<{ readonly service: ServiceKey; readonly check: ValidationCheck; readonly url: string }>;
    /** The deployed containers, whose AppArmor profile the gate reports. */
    readonly containers: readonly string[];
    readonly dockerHost: string;
    readonly requestTimeoutSeconds: number;
    readonly attempts: number;
    /** Error lines in the log of a container this deploy started: fail the update, or only report them. */
    readonly errorLines: "fail" | "report";
}

/**
 * The watch between deploys (scripts/watch/watch.sh), run every few minutes by the host scheduler
 * (scripts/schedule) on this machine, which must be the Docker host: the user's crontab line is set up
 * by `pulumi up` and removed by `pulumi destroy`.
 */
export interface WatchPlan {
    readonly stack: string;
    /** The schedule's folder (scripts/schedule/install.sh): its copy of scripts/, its env (secrets, 0600), its state. */
    readonly scheduleDir: string;
    readonly everyMinutes: number;
    readonly containers: readonly string[];
    /** The endpoints, as the deploy gate checks them. */
    readonly targets: ReadonlyArray<{ readonly service: ServiceKey; readonly check: ValidationCheck; readonly url: string }>;
    readonly downMinutes: number;
    readonly criterionMinutes: number;
    readonly diskPercent: number;
    /** Folders whose filesystem's use is watched (the backups'). */
    readonly diskPaths: readonly string[];
    /** Where notices go: Home Assistant's REST API with the stack's token, and the webhook when one is set. */
    readonly homeAssistantUrl: string;
    readonly webhookUrl?: { readonly secret: "notifyWebhookUrl" };
    readonly dockerHost: string;
    /** homeiq:target swarm: the services are read through the manager (`dockerHost`), not containers (plan/swarm.ts swarmWatch). */
    readonly swarm?: SwarmWatchPlan;
}

/** What the watch reads of a stack on swarm (scripts/watch/swarm.sh). */
export interface SwarmWatchPlan {
    /** The swarm services: replicas running against desired, why the last task failed, tasks restarting in a loop. */
    readonly services: readonly string[];
    /** The data node (hostname) and its engine, where the stateful tasks and their volumes are. */
    readonly dataNode: string;
    readonly dataDockerHost: string;
    /** Volume mounts of the stateful tasks, `service:path`: the filesystem of the data node's volumes is measured in the first that runs. */
    readonly volumeMounts: readonly string[];
    /** Every node as `hostname=engine`: a running task's memory and CPU are read on its node's engine. */
    readonly nodes: readonly string[];
}

export interface PlatformPlan {
    readonly stack: string;
    readonly profileName: string;
    readonly dockerHost: string;
    readonly network: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
    /** The volumes of the deployed services, in catalog order. */
    readonly volumes: readonly VolumePlan[];
    readonly secrets: SecretSettings;
    /** Raising homeiq:rebuildGeneration with built images prunes the build cache before every image. */
    readonly cleanRebuild?: { readonly generation: number };
    /** The deployed services, in the order their containers are created. */
    readonly services: readonly ServicePlan[];
    /** The Docker API proxy; absent when no deployed service reads the engine. */
    readonly dockerApiProxy?: DockerApiProxyPlan;
    /** Where the container that mounts the Docker socket gets the socket's group from; absent when none does. */
    readonly dockerSocketGroup?: { readonly configured: string } | { readonly probeImageOf: ServiceKey | "docker-api-proxy" };
    /** The data lifecycle's steps, in the order they are created. */
    readonly lifecycle: readonly LifecycleStep[];
    /** The post-deploy check after every container; absent when homeiq:postDeployValidation is false. */
    readonly validation?: ValidationPlan;
    /** homeiq:target swarm: where each service runs on the swarm (plan/swarm.ts); absent for the one-host target. */
    readonly swarm?: SwarmPlan;
    /** The watch between deploys; absent with homeiq:watchEveryMinutes 0, or an engine that is not local (unix://). */
    readonly watch?: WatchPlan;
    /** Said on every run (a placeholder token accepted on purpose, ...). */
    readonly warnings: readonly string[];
    readonly outputs: {
        readonly serviceUrls: Readonly<Partial<Record<ServiceKey, string>>>;
        readonly healthUrls: Readonly<Partial<Record<ServiceKey, string>>>;
        readonly dashboardUrl?: string;
        /** `service: reason` of each service the stack does not deploy. */
        readonly disabledServices: readonly string[];
    };
}
