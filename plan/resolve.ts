/**
 * The resolve step: validated config (with its profile) and the service catalog in, the whole
 * platform out as plain data (PlatformPlan, plan/plan.ts). Pure: no Pulumi, no I/O, the same
 * plan for the same input. Every choice that depends on a service is read from its catalog entry;
 * nothing here names a service.
 */
import * as path from "path";
import {
    DOCKER_API_PROXY,
    mountsDockerSocket,
    SERVICE_CATALOG,
    SERVICE_KEYS,
    startOrder,
    VOLUME_CATALOG,
    VOLUME_KEYS,
    type ServiceDefinition,
    type ServiceKey,
} from "../catalog/services";
import {
    builtImageName,
    containerName,
    dockerApiNetworkName,
    LABEL_DATA,
    LABEL_LAN_ACCESS,
    LABEL_REBUILD_GENERATION,
    LABEL_RESTORED_FROM,
    LABEL_SERVICE,
    LABEL_STACK,
    LABEL_VOLUME,
    networkName,
    volumeName,
} from "./naming";
import { influxRetention, serviceEnvironment, type InfluxDbEndpoint } from "./environment";
import type {
    BackupTargetPlan,
    DockerApiProxyPlan,
    GroupPlan,
    HardeningPlan,
    ImagePlan,
    LifecycleStep,
    PlatformPlan,
    ServicePlan,
    StepRef,
    VolumePlan,
} from "./plan";
import { CONFIG_KEY_NAMES, isSecretKey } from "../config/keys";
import { isLocalDockerHost, type StackConfig } from "../config/schema";
import { parseSwarmNode } from "../config/values";
import { resolveSwarm } from "./swarm";

export type Catalog = Readonly<Record<ServiceKey, ServiceDefinition>>;

/** The non-root adapter's build context, relative to the project folder (components/scriptCommand.ts says why). */
export const NON_ROOT_ADAPTER_CONTEXT = "images/non-root-python";
/** Where backups go by default; backup.sh resolves `~` on the machine that runs it. */
export const DEFAULT_BACKUP_ROOT = "~/homeiq-backups";
/** How the post-deploy validation asks each URL. */
export const VALIDATION_REQUESTS = { requestTimeoutSeconds: 5, attempts: 10 } as const;


/** The container settings that hardening decides: the profile asks, the catalog says what each service can take. */
export function hardeningOf(
    service: Pick<ServiceDefinition, "security" | "ulimits">,
    profile: StackConfig["profile"],
    maxOpenFiles?: number,
): HardeningPlan {
    const h = profile.hardening;
    const s = service.security;
    const user = h.runAsNonRoot && s.nonRootUser !== null ? s.nonRootUser : undefined;
    const readOnly = h.readOnlyRootFilesystem && s.readOnlyRootFilesystem;
    let tmpfs: Record<string, string> | undefined;
    if (readOnly) {
        const [uid, gid] = user ? user.split(":") : [undefined, undefined];
        const owner = uid ? `,uid=${uid},gid=${gid}` : "";
        tmpfs = Object.fromEntries(s.tmpfsPaths.map((p) => [p, `rw,noexec,nosuid,size=64m${owner}`]));
    }
    return {
        user,
        readOnly,
        tmpfs,
        securityOpts: [
            ...(h.noNewPrivileges ? ["no-new-privileges=true"] : []),
            ...(h.appArmorProfile !== null ? [`apparmor=${h.appArmorProfile}`] : []),
        ],
        capabilities: h.dropAllCapabilities ? { drops: ["ALL"], adds: s.capabilityAdditions.map((c) => c.capability) } : undefined,
        pidsLimit: s.pidsLimit?.limit ?? profile.pidsLimit,
        // homeiq:maxOpenFiles: an engine cannot give a container more open files than its own hard limit.
        ulimits: (service.ulimits ?? []).map((u) => {
            const cap = u.name === "nofile" && maxOpenFiles !== undefined ? maxOpenFiles : Infinity;
            return { name: u.name, soft: Math.min(u.soft, cap), hard: Math.min(u.hard, cap) };
        }),
    };
}

/** uid:gid that owns a service's files: its non-root user when the profile runs it so, else root. */
export function dataOwner(service: ServiceDefinition, profile: StackConfig["profile"]): string {
    return profile.hardening.runAsNonRoot && service.security.nonRootUser !== null ? service.security.nonRootUser : "0:0";
}

/** The non-secret part of the stack config, stored beside each backup as config.json. */
export function nonSecretConfig(config: StackConfig): Record<string, unknown> {
    return {
        profile: config.values.profile,
        values: Object.fromEntries(CONFIG_KEY_NAMES.filter((k) => !isSecretKey(k)).map((k) => [k, config.values[k]])),
        images: config.images,
        services: config.services,
        corsOrigins: config.corsOrigins,
    };
}

function imageOf(stack: string, service: ServiceDefinition, config: StackConfig): ImagePlan {
    const { images } = config;
    let base: ImagePlan["base"];
    if (service.image.kind === "stock") {
        base = { pull: images.influxdbImage };
    } else if (images.source === "build") {
        const context = path.join(images.checkoutPath, service.image.context);
        base = {
            build: {
                imageName: builtImageName(stack, service.key),
                context,
                dockerfile: path.join(context, service.image.dockerfile),
                args: { HOMEIQ_REBUILD_GENERATION: String(config.values.rebuildGeneration) },
            },
        };
    } else {
        const reference = images.references[service.key];
        // The schema requires one for every built service.
        if (reference === undefined) throw new Error(`no registry image configured for ${service.key} (homeiq:imageReferences)`);
        base = { pull: reference };
    }
    if (!(config.profile.hardening.runAsNonRoot && service.security.needsNonRootAdapter)) return { base };
    const [uid, gid] = (service.security.nonRootUser ?? "1001:1001").split(":");
    return {
        base,
        nonRootAdapter: { imageName: builtImageName(stack, service.key).replace(/:local$/, "-non-root:local"), context: NON_ROOT_ADAPTER_CONTEXT, uid, gid },
    };
}

/** The host part of a published URL, as seen from the machine running Pulumi. */
function urlHost(bind: string, dockerHost: string): string {
    const remoteHost = /^ssh:\/\/[^@]+@(\[[^\]]+\]|[^:/]+)/.exec(dockerHost)?.[1];
    return bind === "0.0.0.0" || bind === "::" ? (remoteHost ?? "localhost") : bind.includes(":") ? `[${bind}]` : bind;
}

/** The whole platform for `stack`, from its validated config, its profile and the catalog. */
export function resolvePlatform(stack: string, config: StackConfig, catalog: Catalog = SERVICE_CATALOG): PlatformPlan {
    const { profile } = config;
    const keys = SERVICE_KEYS.filter((k) => k in catalog);
    const enabled = startOrder(keys.map((k) => catalog[k])).filter((k) => config.services[k].enabled);
    const logReaders = enabled.filter((k) => catalog[k].containerLogs);
    const logSources = enabled.filter((k) => !logReaders.includes(k));
    // Services that read the other containers' logs start last, once those containers exist.
    const creationOrder = [...logSources, ...logReaders];

    const only = <T>(what: string, list: readonly T[]): T | undefined => {
        if (list.length > 1) throw new Error(`the catalog marks more than one service as ${what}: ${list.join(", ")}`);
        return list[0];
    };
    const influxServer = only("influxdbServer", keys.filter((k) => catalog[k].influxdbServer));
    const dashboard = only("dashboard", keys.filter((k) => catalog[k].dashboard));
    const influxEndpoint: InfluxDbEndpoint = { url: influxServer ? `http://${influxServer}:${catalog[influxServer].containerPort}` : "" };
    const sqlite = keys.filter((k) => catalog[k].sqliteDatabase && config.services[k].enabled);
    const restoreFrom = config.values.restoreFrom;

    const services: ServicePlan[] = creationOrder.map((key) => {
        const service = catalog[key];
        const settings = config.services[key];
        const serviceUrl = `http://${urlHost(settings.bindAddress, config.values.dockerHost)}:${settings.hostPort}`;
        const check = service.healthCheck.validation ?? { check: "http200" as const, path: service.healthCheck.httpPath };
        const groups: GroupPlan[] = [
            ...(mountsDockerSocket(service) ? [{ dockerSocket: true as const }] : []),
            ...(service.containerLogs ? [{ gid: service.containerLogs.readGroup }] : []),
        ];
        const readsLogs = service.containerLogs ? { hostFolder: service.containerLogs.hostFolder, services: logSources } : undefined;
        return {
            key,
            containerName: containerName(stack, key),
            image: imageOf(stack, service, config),
            environment: {
                ...serviceEnvironment(service, config, influxEndpoint),
                // The Docker SDK reads DOCKER_HOST: the proxy, never the socket.
                ...(service.dockerApi ? { DOCKER_HOST: `tcp://${DOCKER_API_PROXY.key}:${DOCKER_API_PROXY.containerPort}` } : {}),
            },
            labels: {
                [LABEL_SERVICE]: key,
                [LABEL_STACK]: stack,
                [LABEL_REBUILD_GENERATION]: String(config.values.rebuildGeneration),
                ...(settings.lanAccess ? { [LABEL_LAN_ACCESS]: settings.lanAccess.reason } : {}),
                // A restore replaces the containers that read the restored files, so they start on them.
                ...(sqlite.includes(key) && restoreFrom ? { [LABEL_RESTORED_FROM]: restoreFrom } : {}),
            },
            port: { internal: service.containerPort, external: settings.hostPort, ip: settings.bindAddress },
            networkAliases: [key, service.legacyName],
            resources: settings.resources,
            restart: profile.restartPolicy,
            logRotation: profile.logRotation,
            healthCheck: { tests: service.healthCheck.test, startPeriodSeconds: service.healthCheck.startPeriodSeconds },
            healthWaitSeconds: config.values.healthWaitTimeoutSeconds,
            hardening: hardeningOf(service, profile, config.values.maxOpenFiles),
            groups,
            volumes: service.volumes,
            hostMounts: service.hostMounts.map((m) => ({ hostPath: m.hostPath, containerPath: m.containerPath })),
            readsLogsOf: readsLogs,
            startAfter: [...new Set([...service.dependsOn, ...(readsLogs?.services ?? [])])],
            usesDockerApi: service.dockerApi !== undefined,
            replacedWith: service.replaceWithDependencies ? service.dependsOn : [],
            urls: { service: serviceUrl, health: `${serviceUrl}${service.healthCheck.httpPath}` },
            validation: { check: check.check, url: `${serviceUrl}${check.path}` },
            backup: {
                stateful: service.stateful,
                influxdb: service.influxdbServer === true,
                influxdbStagingDir: service.influxdbServer === true ? service.influxdbStagingDir : undefined,
                sqlite: service.sqliteDatabase && {
                    containerPath: service.sqliteDatabase.containerPath,
                    volumeName: volumeName(stack, service.sqliteDatabase.volume),
                    pathInVolume: service.sqliteDatabase.pathInVolume,
                    owner: dataOwner(service, profile),
                },
            },
        };
    });
    const planOf = new Map(services.map((s) => [s.key, s]));
    for (const s of services) {
        for (const dep of s.startAfter) if (!planOf.has(dep)) throw new Error(`${s.key} starts after ${dep}, which is not deployed`);
    }

    const volumes: VolumePlan[] = VOLUME_KEYS.filter((v) => enabled.some((k) => catalog[k].volumes.some((m) => m.volume === v))).map((key) => ({
        key,
        name: volumeName(stack, key),
        holdsData: VOLUME_CATALOG[key].holdsData,
        retainOnDelete: VOLUME_CATALOG[key].holdsData && profile.retainDataVolumes,
        labels: { [LABEL_STACK]: stack, [LABEL_VOLUME]: key, [LABEL_DATA]: String(VOLUME_CATALOG[key].holdsData) },
    }));

    const apiClients = creationOrder.filter((k) => catalog[k].dockerApi !== undefined);
    const dockerApiProxy = apiClients.length > 0 ? dockerApiProxyPlan(stack, config, apiClients) : undefined;
    const socketServices: Array<ServiceKey | "docker-api-proxy"> = [
        ...(dockerApiProxy ? [dockerApiProxy.key] : []),
        ...creationOrder.filter((k) => mountsDockerSocket(catalog[k])),
    ];
    const dockerSocketGroup =
        socketServices.length === 0
            ? undefined
            : config.values.dockerSocketGroupId !== undefined
              ? { configured: String(config.values.dockerSocketGroupId) }
              : { probeImageOf: socketServices[0] };

    const plan: PlatformPlan = {
        stack,
        profileName: config.values.profile,
        dockerHost: config.values.dockerHost,
        network: { name: networkName(stack), labels: { [LABEL_STACK]: stack } },
        volumes,
        secrets: config.secrets,
        cleanRebuild: config.values.rebuildGeneration > 0 && config.images.source === "build" ? { generation: config.values.rebuildGeneration } : undefined,
        services,
        dockerApiProxy,
        dockerSocketGroup,
        lifecycle: lifecycleSteps(stack, config, enabled.map((k) => planOf.get(k)!)),
        validation: config.values.postDeployValidation
            ? {
                  after: enabled,
                  targets: enabled.map((k) => ({ service: k, ...planOf.get(k)!.validation })),
                  containers: [...enabled.map((k) => planOf.get(k)!.containerName), ...(dockerApiProxy ? [dockerApiProxy.containerName] : [])],
                  dockerHost: config.values.dockerHost,
                  ...VALIDATION_REQUESTS,
                  errorLines: config.values.validationErrorLines,
              }
            : undefined,
        watch:
            config.values.watchEveryMinutes > 0 && config.values.dockerHost.startsWith("unix://")
                ? {
                      stack,
                      // Beside the stack's other scheduled jobs (issue 17's backup and drill): <backup root>/<stack>/.schedule/<job>.
                      scheduleDir: `${config.values.backupRoot ?? DEFAULT_BACKUP_ROOT}/${stack}/.schedule/watch`,
                      everyMinutes: config.values.watchEveryMinutes,
                      containers: [...enabled.map((k) => planOf.get(k)!.containerName), ...(dockerApiProxy ? [dockerApiProxy.containerName] : [])],
                      targets: enabled.map((k) => ({ service: k, ...planOf.get(k)!.validation })),
                      downMinutes: config.values.watchDownMinutes,
                      criterionMinutes: config.values.watchCriterionMinutes,
                      diskPercent: config.values.watchDiskPercent,
                      diskPaths: [config.values.backupRoot ?? DEFAULT_BACKUP_ROOT],
                      homeAssistantUrl: config.values.homeAssistantUrl,
                      webhookUrl: config.secrets.notifyWebhookUrl === undefined ? undefined : { secret: "notifyWebhookUrl" },
                      dockerHost: config.values.dockerHost,
                  }
                : undefined,
        warnings: config.warnings,
        outputs: {
            serviceUrls: Object.fromEntries(enabled.map((k) => [k, planOf.get(k)!.urls.service])),
            healthUrls: Object.fromEntries(enabled.map((k) => [k, planOf.get(k)!.urls.health])),
            dashboardUrl: dashboard !== undefined ? planOf.get(dashboard)?.urls.service : undefined,
            disabledServices: keys.filter((k) => !config.services[k].enabled).map((k) => `${k}: ${config.services[k].disabledReason}`),
        },
    };
    if (config.values.target !== "swarm") return plan;
    // The same plan, carried out on a swarm: where each service runs (plan/swarm.ts).
    const nodes = config.values.swarmNodes.map((entry) => {
        const node = parseSwarmNode(entry);
        // The config schema refuses such entries with the key.
        if ("problem" in node) throw new Error(`homeiq:swarmNodes entry ${JSON.stringify(entry)} ${node.problem}`);
        return node;
    });
    return {
        ...plan,
        swarm: resolveSwarm(plan, { nodes, subnet: config.values.swarmSubnet, requireNoNewPrivileges: profile.hardening.noNewPrivileges }),
    };
}

/** The Docker API proxy for `clients` (catalog DOCKER_API_PROXY), hardened as the profile says. */
function dockerApiProxyPlan(stack: string, config: StackConfig, clients: readonly ServiceKey[]): DockerApiProxyPlan {
    const p = DOCKER_API_PROXY;
    const { profile } = config;
    const [uid, gid] = (p.security.nonRootUser ?? "2375:2375").split(":");
    return {
        key: p.key,
        containerName: `${stack}-${p.key}`,
        network: { name: dockerApiNetworkName(stack), labels: { [LABEL_STACK]: stack } },
        image: {
            imageName: `homeiq-${stack}-${p.key}:local`,
            context: p.imageContext,
            dockerfile: path.join(p.imageContext, "Dockerfile"),
            args: { BASE_IMAGE: config.values.dockerApiProxyBaseImage, PROXY_UID: uid, PROXY_GID: gid },
        },
        labels: { [LABEL_SERVICE]: p.key, [LABEL_STACK]: stack, [LABEL_REBUILD_GENERATION]: String(config.values.rebuildGeneration) },
        port: p.containerPort,
        resources: profile.dockerApiProxyResources,
        restart: profile.restartPolicy,
        logRotation: profile.logRotation,
        healthCheck: { tests: p.healthCheck.test, startPeriodSeconds: p.healthCheck.startPeriodSeconds },
        healthWaitSeconds: config.values.healthWaitTimeoutSeconds,
        hardening: hardeningOf(p, profile, config.values.maxOpenFiles),
        socket: { hostPath: p.socket.hostPath, containerPath: p.socket.containerPath },
        clients,
    };
}

/**
 * The data lifecycle around the deployed services (in start order), from their backup roles: its
 * steps in the order they are created, each saying what it runs after and which services wait for
 * it. A stack that deploys nothing stateful has no backups (the schema refuses restoreFrom and
 * backupRequest for it).
 */
function lifecycleSteps(stack: string, config: StackConfig, deployed: readonly ServicePlan[]): LifecycleStep[] {
    const { dockerHost } = config.values;
    const restoreFrom = config.values.restoreFrom;
    const enabled = deployed.map((s) => s.key);
    const stateful = deployed.filter((s) => s.backup.stateful).map((s) => s.key);
    // In catalog order, as backup.sh lists them in each manifest.
    const sqlite = deployed.filter((s) => s.backup.sqlite).sort((a, b) => SERVICE_KEYS.indexOf(a.key) - SERVICE_KEYS.indexOf(b.key));
    const sqliteKeys = sqlite.map((s) => s.key);
    const influx = deployed.find((s) => s.backup.influxdb);
    const influxContainer = influx?.containerName;
    const influxStagingDir = influx?.backup.influxdbStagingDir;
    const services = (list: readonly ServiceKey[]): StepRef[] => list.map((service) => ({ service }));

    // No container is created or replaced while another container holds one of the stack's host ports.
    const steps: LifecycleStep[] = [
        {
            kind: "host-ports-check",
            after: [],
            before: enabled,
            stack,
            dockerHost,
            ports: Object.fromEntries(enabled.map((k) => [k, config.services[k].hostPort])),
            restoreFrom,
            // InfluxDB's stock image when deployed (pulled, not built: ready first), else the first service's.
            helperImageOf: influx?.key ?? enabled[0],
        },
    ];
    if (stateful.length === 0) {
        if (restoreFrom) throw new Error(`nothing stateful to restore ${restoreFrom} into (the config schema refuses this)`);
        return steps;
    }
    const target: BackupTargetPlan = {
        stack,
        dockerHost,
        root: config.values.backupRoot ?? DEFAULT_BACKUP_ROOT,
        keep: config.values.backupKeep,
        keepDays: config.values.backupKeepDays,
        influxContainer,
        influxStagingDir,
        sqliteDatabases: sqlite.map((s) => ({ service: s.key, container: s.containerName, path: s.backup.sqlite!.containerPath })),
        config: nonSecretConfig(config),
    };
    // Backups: taken before any stateful container is replaced, and at destroy.
    steps.push({ kind: "pre-change-backup", after: [], before: stateful, target, stateful, restoreFrom });

    const owners = Object.fromEntries(sqlite.filter((s) => s.backup.sqlite!.owner !== "0:0").map((s) => [s.backup.sqlite!.volumeName, s.backup.sqlite!.owner]));
    if (Object.keys(owners).length > 0) {
        // The volumes older deployments filled as root, handed to the non-root user once the current data is backed up.
        steps.push({ kind: "volume-handover", after: [{ step: "pre-change-backup" }], before: sqliteKeys, dockerHost, owners, helperImageOf: sqliteKeys[0] });
    }
    if (restoreFrom) {
        // Once: after InfluxDB (when deployed) is up and the current data is backed up, before any SQLite service starts.
        steps.push({
            kind: "restore",
            after: [...(influx ? services([influx.key]) : []), { step: "pre-change-backup" }],
            before: sqliteKeys,
            folder: restoreFrom,
            stack,
            dockerHost,
            influxContainer,
            influxStagingDir,
            sqliteRestores: sqlite.map((s) => ({ service: s.key, volume: s.backup.sqlite!.volumeName, pathInVolume: s.backup.sqlite!.pathInVolume, owner: s.backup.sqlite!.owner })),
            stopContainers: sqlite.map((s) => s.containerName),
            helperImageOf: sqliteKeys[0],
        });
    }
    if (influx) {
        // After a restore, the restored bucket is the one to set.
        steps.push({
            kind: "influxdb-retention",
            after: [...services([influx.key]), ...(restoreFrom ? [{ step: "restore" as const }] : [])],
            before: [],
            dockerHost,
            container: influx.containerName,
            org: config.values.influxdbOrg,
            bucket: config.values.influxdbBucket,
            retention: influxRetention(config.values.influxdbRetentionDays),
            restoredFrom: restoreFrom,
        });
    }
    steps.push({ kind: "final-backup", after: services(stateful), before: [], target });
    // Backups, copies and drills with no Pulumi running, once there is something to back up.
    steps.push({
        kind: "backup-schedule",
        after: services(stateful),
        before: [],
        target,
        // Only the machine that runs pulumi gets the crontab: with a remote engine there is none (config warns).
        backupWhen: isLocalDockerHost(config.values.dockerHost) ? config.values.backupSchedule : "off",
        drillWhen: isLocalDockerHost(config.values.dockerHost) ? config.values.backupDrillSchedule : "off",
        folder: `${target.root}/${stack}/.schedule`,
        copyRepository: config.values.backupCopyRepository ?? "",
        copyPassphrase: config.secrets.backupCopyPassphrase === undefined ? "" : { secret: "backupCopyPassphrase" },
        homeAssistantUrl: config.values.homeAssistantUrl,
        homeAssistantToken: { secret: "homeAssistantToken" },
        webhookUrl: config.secrets.notifyWebhookUrl === undefined ? "" : { secret: "notifyWebhookUrl" },
    });
    if (config.values.backupRequest > 0) {
        steps.push({ kind: "on-demand-backup", after: services(stateful), before: [], target, request: config.values.backupRequest });
    }
    return steps;
}
