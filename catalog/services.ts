/**
 * The HomeIQ service catalog: every container of the application, modelled once.
 *
 * The HomeIQ version modelled, and every fact here in tables (identity, ports, health checks,
 * dependencies, volumes, users, environment, nginx upstreams): docs/homeiq.md. Where this
 * catalog deliberately departs from the old compose files, a comment says why (and that page).
 * Nothing here depends on the stack: per-stack differences live in stacks/*.ts.
 */

export const SERVICE_KEYS = [
    "influxdb",
    "websocket-ingestion",
    "enrichment-pipeline",
    "admin-api",
    "data-api",
    "data-retention",
    "carbon-intensity",
    "electricity-pricing",
    "air-quality",
    "calendar",
    "smart-meter",
    "sports-data",
    "health-dashboard",
    "log-aggregator",
] as const;

export type ServiceKey = (typeof SERVICE_KEYS)[number];

/** Named volumes of the platform. `data` volumes hold state that must survive rebuilds and destroys. */
export const VOLUME_KEYS = [
    "influxdb-data",
    "influxdb-config",
    "sqlite-data",
    "sports-data",
    "data-retention-backups",
    "logs",
] as const;

export type VolumeKey = (typeof VOLUME_KEYS)[number];

export interface VolumeDefinition {
    readonly key: VolumeKey;
    readonly description: string;
    /** Holds user data: protected from deletion where the profile says so, and backed up. */
    readonly holdsData: boolean;
}

export const VOLUME_CATALOG: Readonly<Record<VolumeKey, VolumeDefinition>> = {
    "influxdb-data": { key: "influxdb-data", holdsData: true, description: "InfluxDB time-series data (/var/lib/influxdb2)" },
    "influxdb-config": { key: "influxdb-config", holdsData: true, description: "InfluxDB config and admin token (/etc/influxdb2)" },
    "sqlite-data": { key: "sqlite-data", holdsData: true, description: "data-api SQLite metadata.db (/app/data)" },
    // New: sports-data's webhooks.db lived in the container layer and was lost on every recreate.
    "sports-data": { key: "sports-data", holdsData: true, description: "sports-data SQLite webhooks.db (/app/data)" },
    "data-retention-backups": {
        key: "data-retention-backups",
        holdsData: true,
        description: "data-retention's own JSON exports (/backups)",
    },
    logs: { key: "logs", holdsData: false, description: "Shared log folder read by log-aggregator (/var/log/ha-ingestor)" },
};

/** Where a service's image comes from when images are built from a HomeIQ checkout. */
export type ImageSource =
    | { readonly kind: "stock"; readonly reference: string }
    | { readonly kind: "built"; readonly context: string; readonly dockerfile: string };

export interface VolumeMount {
    readonly volume: VolumeKey;
    readonly containerPath: string;
}

/** A read-only bind mount of a host path. Only the services that need the host's Docker data get one. */
export interface HostMount {
    readonly hostPath: string;
    readonly containerPath: string;
    readonly reason: string;
}

/**
 * Read access to the json-file logs of the stack's other containers. Docker creates
 * <hostFolder>/<container id>/ as 0710 root:root and the log in it as 0640 root:root, so a non-root
 * service can read them only through that group, and cannot list <hostFolder> at all. The service
 * therefore gets one read-only mount per container (<hostFolder>/<id> at the same path, which makes
 * the folder listable inside the container) and the group `readGroup`; no host change is needed.
 */
export interface ContainerLogAccess {
    readonly hostFolder: string;
    /** The group that owns the engine's log files (root on a stock engine). */
    readonly readGroup: string;
    readonly reason: string;
}

export interface CapabilityAddition {
    readonly capability: string;
    readonly reason: string;
}

/**
 * How a service runs when the profile asks for hardening. Secure by default: a service that
 * cannot be non-root or read-only says why.
 */
export interface ServiceSecurity {
    /** uid:gid to run as under `runAsNonRoot`, or null with `rootReason` when it must start as root. */
    readonly nonRootUser: string | null;
    readonly rootReason?: string;
    /**
     * The image has no USER (data-api, sports-data) and may keep its Python packages under /root/.local
     * (data-api does; sports-data installs them system-wide): a thin derived image
     * (images/non-root-python) opens /root/.local to the non-root user and pre-creates the data folder
     * it owns.
     */
    readonly needsNonRootAdapter: boolean;
    readonly readOnlyRootFilesystem: boolean;
    readonly writableReason?: string;
    /** Paths mounted as tmpfs when the root filesystem is read-only. */
    readonly tmpfsPaths: readonly string[];
    /** Capabilities added back after dropping ALL, each with its reason. */
    readonly capabilityAdditions: readonly CapabilityAddition[];
    /**
     * The most processes and threads the container may hold (its PIDs cgroup limit), when the
     * profile's default (`pidsLimit` in stacks/<profile>.ts) does not fit, with the reason.
     */
    readonly pidsLimit?: { readonly limit: number; readonly reason: string };
}

/** A resource limit (setrlimit) the service's own documentation asks for, with where it says so. */
export interface UlimitSetting {
    /** The ulimit's name as Docker takes it (`nofile`: open files). */
    readonly name: "nofile";
    readonly soft: number;
    readonly hard: number;
    readonly reason: string;
}

/**
 * A service that reads the Docker engine: it never mounts the socket, it reaches the engine through the
 * stack's Docker API proxy (DOCKER_API_PROXY below), which passes on only these calls.
 */
export interface DockerApiAccess {
    /** The Engine API calls the service's own code makes, each with where it makes it. */
    readonly calls: ReadonlyArray<{ readonly method: "GET"; readonly path: string; readonly madeBy: string }>;
    /** What the proxy refuses although the service's code has a route for it, and why. */
    readonly refused: string;
}

/** What the post-deploy validation (scripts/validate/validate.sh) takes for a healthy answer. */
export type ValidationCheck = "http200" | "html" | "influx-ready";

export interface HealthCheckDefinition {
    /** Docker `tests` form: ["CMD", ...] using a command that exists in the image. */
    readonly test: readonly string[];
    readonly startPeriodSeconds: number;
    /** HTTP path on the published port that answers 200 when healthy (the healthUrls output). */
    readonly httpPath: string;
    /** How the post-deploy validation checks it from the host; unset: 200 on httpPath. */
    readonly validation?: { readonly check: ValidationCheck; readonly path: string };
}

/** The environment a service receives is computed from these groups (plan/environment.ts). */
export type EnvironmentGroup =
    | "influxdb-server"
    | "influxdb-client"
    | "log-level"
    | "home-assistant"
    | "weather"
    | "admin-auth"
    | "data-api-auth"
    | "cors"
    | "carbon-intensity"
    | "electricity-pricing"
    | "air-quality"
    | "calendar"
    | "smart-meter"
    | "sports";

export interface ServiceDefinition {
    readonly key: ServiceKey;
    readonly description: string;
    /** The old compose container_name: kept as a network alias because the dashboard's nginx resolves these names. */
    readonly legacyName: string;
    readonly image: ImageSource;
    readonly containerPort: number;
    /** Host port of the old main compose file; a stack adds its offset or overrides it. */
    readonly defaultHostPort: number;
    readonly healthCheck: HealthCheckDefinition;
    /** Services that must be healthy before this one starts. */
    readonly dependsOn: readonly ServiceKey[];
    readonly volumes: readonly VolumeMount[];
    readonly hostMounts: readonly HostMount[];
    /**
     * Resolves its dependencies' addresses once, at start (nginx's upstreams): it is replaced whenever
     * one of them is, or it would keep talking to a container that is gone. The reason says why.
     */
    readonly replaceWithDependencies?: string;
    /** Reads the other containers' logs: it starts after all of them, with their log folders mounted. */
    readonly containerLogs?: ContainerLogAccess;
    readonly environmentGroups: readonly EnvironmentGroup[];
    /** Fixed, non-secret variables of this service. */
    readonly fixedEnvironment: Readonly<Record<string, string>>;
    readonly security: ServiceSecurity;
    /** Holds state a backup must capture (its container is replaced only after a backup). */
    readonly stateful: boolean;
    /**
     * It is the InfluxDB server every client writes to (at http://<key>:<containerPort>): backups take
     * its data with the influx CLI inside it, a restore writes into it (so it waits for it), and the
     * bucket's retention is set on it. At most one service.
     */
    readonly influxdbServer?: true;
    /**
     * The stack's dashboard, the one service meant for other machines on the home network: its port
     * binds to the dashboard bind address (homeiq:dashboardBindAddress, else the profile's) instead of
     * the profile's publish address, and its URL is the dashboardUrl output. At most one service.
     */
    readonly dashboard?: true;
    /** The SQLite database the service keeps on a volume, which backups copy through SQLite's online backup API. */
    readonly sqliteDatabase?: SqliteDatabase;
    /** Reads the Docker engine through the stack's Docker API proxy (never the socket itself). */
    readonly dockerApi?: DockerApiAccess;
    /** ulimits the service needs beyond the engine's defaults; none when unset. */
    readonly ulimits?: readonly UlimitSetting[];
    /**
     * The InfluxDB server's folder where backups (read through a remote engine) and restores are staged
     * inside its container: on its data volume, since its root filesystem is read-only and its /tmp a
     * small tmpfs in memory. Only with `influxdbServer`.
     */
    readonly influxdbStagingDir?: string;
    /**
     * Secret variables of its environment that the image also reads from a file named by `<VAR>_FILE`:
     * on swarm they arrive as swarm secrets mounted as files instead of in the environment (a task's
     * environment is in its spec, shown by `docker service inspect`). Only what the image's own code reads.
     */
    readonly readsSecretFiles?: readonly string[];
    /**
     * Config keys (homeiq namespace) without which HomeIQ's code for this service exits at start: a stack
     * that deploys it must set them all, or disable the service (config/schema.ts refuses it otherwise, before
     * anything is deployed). The reason cites the code.
     */
    readonly requiredConfig?: RequiredConfig;
}

export interface RequiredConfig {
    readonly keys: readonly string[];
    readonly reason: string;
}

export interface SqliteDatabase {
    readonly volume: VolumeKey;
    /** Path of the file inside the service's container. */
    readonly containerPath: string;
    /** Path of the file relative to the volume's root. */
    readonly pathInVolume: string;
}

const curlCheck = (port: number, path = "/health"): readonly string[] => [
    "CMD",
    "curl",
    "-fsS",
    "-o",
    "/dev/null",
    `http://localhost:${port}${path}`,
];

// data-api and sports-data ship python but no curl (docs/homeiq.md).
const pythonCheck = (port: number, path = "/health"): readonly string[] => [
    "CMD",
    "python",
    "-c",
    `import urllib.request; urllib.request.urlopen('http://localhost:${port}${path}', timeout=5)`,
];

const built = (dockerfile: string, context = "."): ImageSource => ({ kind: "built", context, dockerfile });

const APPUSER = "1001:1001";
const PYTHON_TMPFS = ["/tmp"] as const;
const LOG_SETTINGS = { LOG_FILE_PATH: "/app/logs", LOG_FORMAT: "json" } as const;

/** A Python service built on the appuser (uid 1001) images that writes only to /tmp and its volumes. */
const appUserSecurity: ServiceSecurity = {
    nonRootUser: APPUSER,
    needsNonRootAdapter: false,
    readOnlyRootFilesystem: true,
    tmpfsPaths: PYTHON_TMPFS,
    capabilityAdditions: [],
};

const influxClient = (
    key: ServiceKey,
    legacyName: string,
    dockerfile: string,
    port: number,
    extra: Partial<ServiceDefinition> = {},
): ServiceDefinition => ({
    key,
    description: "",
    legacyName,
    image: built(dockerfile),
    containerPort: port,
    defaultHostPort: port,
    healthCheck: { test: curlCheck(port), startPeriodSeconds: 30, httpPath: "/health" },
    dependsOn: ["influxdb"],
    volumes: [],
    hostMounts: [],
    environmentGroups: ["influxdb-client", "log-level"],
    fixedEnvironment: { SERVICE_PORT: String(port) },
    security: appUserSecurity,
    stateful: false,
    ...extra,
});

export const SERVICE_CATALOG: Readonly<Record<ServiceKey, ServiceDefinition>> = {
    influxdb: {
        key: "influxdb",
        description: "InfluxDB 2.7: the home's event history",
        legacyName: "ha-ingestor-influxdb",
        image: { kind: "stock", reference: "influxdb:2.7" },
        containerPort: 8086,
        defaultHostPort: 8086,
        // Ready means set up and serving, which /health alone does not say during first-run setup.
        healthCheck: { test: curlCheck(8086), startPeriodSeconds: 40, httpPath: "/health", validation: { check: "influx-ready", path: "/ready" } },
        dependsOn: [],
        volumes: [
            { volume: "influxdb-data", containerPath: "/var/lib/influxdb2" },
            { volume: "influxdb-config", containerPath: "/etc/influxdb2" },
        ],
        hostMounts: [],
        environmentGroups: ["influxdb-server"],
        fixedEnvironment: { DOCKER_INFLUXDB_INIT_MODE: "setup" },
        // influxdata-docker influxdb/2.7/entrypoint.sh:196,198 read DOCKER_INFLUXDB_INIT_{PASSWORD,ADMIN_TOKEN}_FILE.
        readsSecretFiles: ["DOCKER_INFLUXDB_INIT_PASSWORD", "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"],
        security: {
            // The official image's influxdb user is uid/gid 1000 and its entrypoint runs unchanged as that user.
            nonRootUser: "1000:1000",
            needsNonRootAdapter: false,
            // What the image writes outside its two volumes (influxdata-docker influxdb/2.7/entrypoint.sh, docs/homeiq.md):
            // the first-run setup's /tmp/config.json (entrypoint.sh 399-409); influxd's temporary copy of its SQLite
            // store on backup and restore (ioutil.TempDir("", ""), so $TMPDIR or /tmp). `influx setup` writes the CLI
            // config to $INFLUX_CONFIGS_PATH, which the image sets to /etc/influxdb2/influx-configs (a volume), and
            // the final `sed -i` of that file (436) makes its temporary file in /etc/influxdb2 too. All fit a /tmp tmpfs.
            readOnlyRootFilesystem: true,
            tmpfsPaths: ["/tmp"],
            capabilityAdditions: [],
            pidsLimit: {
                limit: 1024,
                reason:
                    "influxd is a Go server: the runtime adds an OS thread for each goroutine blocked in a system call " +
                    "(disk-heavy compactions and queries), and the first-run setup runs a second influxd and the influx CLI beside it",
            },
        },
        // InfluxData's packaged systemd unit (influxdb.service) starts influxd with LimitNOFILE=65536: every shard's
        // TSM and WAL files and every client connection hold a descriptor.
        ulimits: [{ name: "nofile", soft: 65536, hard: 65536, reason: "InfluxData's packaged systemd unit (influxdb.service) starts influxd with LimitNOFILE=65536" }],
        influxdbStagingDir: "/var/lib/influxdb2/.homeiq-staging",
        stateful: true,
        influxdbServer: true,
    },
    "websocket-ingestion": {
        key: "websocket-ingestion",
        description: "Home Assistant WebSocket client feeding enrichment and InfluxDB",
        legacyName: "ha-ingestor-websocket",
        image: built("services/websocket-ingestion/Dockerfile"),
        containerPort: 8001,
        defaultHostPort: 8001,
        healthCheck: { test: curlCheck(8001), startPeriodSeconds: 30, httpPath: "/health" },
        // It writes to InfluxDB itself (its settings once came from an untracked file), so it waits for it too.
        dependsOn: ["influxdb", "enrichment-pipeline"],
        volumes: [],
        hostMounts: [],
        environmentGroups: ["influxdb-client", "home-assistant", "weather", "log-level"],
        fixedEnvironment: {
            ENRICHMENT_SERVICE_URL: "http://enrichment-pipeline:8002",
            WEBSOCKET_INGESTION_PORT: "8001",
            ENABLE_HOME_ASSISTANT: "true",
            ...LOG_SETTINGS,
            LOG_OUTPUT: "both",
            // shared/logging_config.py rotates at 100 MiB by default, more than the 64 MiB /app/logs tmpfs holds.
            LOG_MAX_SIZE: String(10 * 1024 * 1024),
            LOG_BACKUP_COUNT: "2",
            WEBSOCKET_MAX_RETRIES: "-1",
            WEBSOCKET_MAX_RETRY_DELAY: "300",
        },
        // LOG_OUTPUT=both writes files to /app/logs: a tmpfs owned by appuser keeps the root filesystem read-only.
        security: { ...appUserSecurity, tmpfsPaths: ["/tmp", "/app/logs"] },
        stateful: false,
    },
    "enrichment-pipeline": {
        key: "enrichment-pipeline",
        description: "Enriches Home Assistant events (weather) and writes them to InfluxDB",
        legacyName: "ha-ingestor-enrichment",
        image: built("services/enrichment-pipeline/Dockerfile"),
        containerPort: 8002,
        defaultHostPort: 8002,
        healthCheck: { test: curlCheck(8002), startPeriodSeconds: 30, httpPath: "/health" },
        dependsOn: ["influxdb"],
        volumes: [],
        hostMounts: [],
        environmentGroups: ["influxdb-client", "weather", "log-level"],
        fixedEnvironment: { ...LOG_SETTINGS },
        security: appUserSecurity,
        stateful: false,
    },
    "admin-api": {
        key: "admin-api",
        description: "Admin API (container port 8004, published as 8003 as before)",
        legacyName: "ha-ingestor-admin",
        image: built("services/admin-api/Dockerfile"),
        containerPort: 8004,
        defaultHostPort: 8003,
        healthCheck: { test: curlCheck(8004), startPeriodSeconds: 30, httpPath: "/health" },
        // data-api added (a conservative order; admin-api does not call it); the rest as in main compose.
        dependsOn: ["influxdb", "websocket-ingestion", "enrichment-pipeline", "data-api"],
        volumes: [],
        // The ./infrastructure (rw) and ./docker-compose.yml binds of the old file are dropped: there are no env
        // files or compose file to edit once Pulumi owns the deployment. The Docker socket is gone too: admin-api
        // reaches the engine through the Docker API proxy (DOCKER_HOST=tcp://docker-api-proxy:2375).
        hostMounts: [],
        // services/admin-api/src/docker_service.py at the modelled commit, through docker==6.1.3. (As modelled it
        // never gets that far: the module uses `os` without importing it, so DockerService() falls back to canned
        // data; and it lists only containers labelled com.docker.compose.project=ha-ingestor, by their old names.)
        dockerApi: {
            calls: [
                { method: "GET", path: "/_ping", madeBy: "DockerService.__init__: client.ping()" },
                { method: "GET", path: "/version", madeBy: "the SDK's API version negotiation (DockerClient(base_url=...))" },
                { method: "GET", path: "/containers/json", madeBy: "list_containers: client.containers.list(all=True)" },
                { method: "GET", path: "/containers/{id}/json", madeBy: "containers.list (one inspect per container) and containers.get(name)" },
                { method: "GET", path: "/images/{id}/json", madeBy: "list_containers: container.image (each container's image, by id)" },
                { method: "GET", path: "/containers/{id}/stats", madeBy: "get_container_stats: container.stats(stream=False)" },
                { method: "GET", path: "/containers/{id}/logs", madeBy: "get_container_logs: container.logs(tail=..., timestamps=True)" },
            ],
            refused:
                "start_container, stop_container and restart_container (POST /containers/{id}/start|stop|restart): Pulumi owns " +
                "the containers' lifecycle, and those routes look containers up by the old compose names (ha-ingestor-*), " +
                "which no container of this program has, so they could never act on the stack anyway",
        },
        environmentGroups: ["influxdb-client", "home-assistant", "weather", "admin-auth", "cors", "log-level"],
        fixedEnvironment: {
            ...LOG_SETTINGS,
            API_HOST: "0.0.0.0",
            API_PORT: "8004",
            JWT_ALGORITHM: "HS256",
            ACCESS_TOKEN_EXPIRE_MINUTES: "30",
            WEBSOCKET_INGESTION_URL: "http://websocket-ingestion:8001",
            ENRICHMENT_PIPELINE_URL: "http://enrichment-pipeline:8002",
            CORS_METHODS: "GET,POST,PUT,DELETE",
            CORS_HEADERS: "Authorization,Content-Type",
            // Its health and metrics pages ask these services; unset, the code asks localhost (itself).
            CARBON_INTENSITY_URL: "http://carbon-intensity:8010",
            ELECTRICITY_PRICING_URL: "http://electricity-pricing:8011",
            AIR_QUALITY_URL: "http://air-quality:8012",
            CALENDAR_URL: "http://calendar:8013",
            SMART_METER_URL: "http://smart-meter:8014",
            DATA_RETENTION_URL: "http://data-retention:8080",
            LOG_AGGREGATOR_URL: "http://log-aggregator:8015",
            // It writes two rotating logs into /app/logs (below); 2 x 5 MiB x 3 files stays inside the 64 MiB tmpfs.
            LOG_MAX_FILE_SIZE_MB: "5",
            LOG_BACKUP_COUNT: "2",
        },
        // HomeIQ's logging_service.py opens /app/logs/ha-ingestor.log and ha-ingestor-time.log when admin-api is
        // imported (a fixed path: LOG_FILE_PATH does not move it): on a read-only root it exits at start without
        // a writable /app/logs. Found by running the real service under the prod spec (engine/real-homeiq).
        security: { ...appUserSecurity, tmpfsPaths: ["/tmp", "/app/logs"] },
        stateful: false,
    },
    "data-api": {
        key: "data-api",
        description: "Data API over InfluxDB and the SQLite metadata database",
        legacyName: "ha-ingestor-data-api",
        image: built("services/data-api/Dockerfile"),
        containerPort: 8006,
        defaultHostPort: 8006,
        healthCheck: { test: pythonCheck(8006), startPeriodSeconds: 40, httpPath: "/health" },
        dependsOn: ["influxdb"],
        volumes: [{ volume: "sqlite-data", containerPath: "/app/data" }],
        hostMounts: [],
        environmentGroups: ["influxdb-client", "data-api-auth", "cors", "log-level"],
        fixedEnvironment: {
            DATA_API_HOST: "0.0.0.0",
            DATA_API_PORT: "8006",
            DATABASE_URL: "sqlite+aiosqlite:///./data/metadata.db",
            SQLITE_TIMEOUT: "30",
            SQLITE_CACHE_SIZE: "-64000",
        },
        security: { ...appUserSecurity, needsNonRootAdapter: true },
        stateful: true,
        sqliteDatabase: { volume: "sqlite-data", containerPath: "/app/data/metadata.db", pathInVolume: "metadata.db" },
    },
    "data-retention": {
        key: "data-retention",
        description: "Retention, downsampling and (JSON) export jobs",
        legacyName: "ha-ingestor-data-retention",
        image: built("services/data-retention/Dockerfile"),
        containerPort: 8080,
        defaultHostPort: 8080,
        healthCheck: { test: curlCheck(8080), startPeriodSeconds: 30, httpPath: "/health" },
        dependsOn: ["influxdb"],
        volumes: [{ volume: "data-retention-backups", containerPath: "/backups" }],
        hostMounts: [],
        environmentGroups: ["influxdb-client", "log-level"],
        fixedEnvironment: {
            ...LOG_SETTINGS,
            CLEANUP_INTERVAL_HOURS: "24",
            MONITORING_INTERVAL_MINUTES: "5",
            COMPRESSION_INTERVAL_HOURS: "24",
            BACKUP_INTERVAL_HOURS: "24",
            BACKUP_DIR: "/backups",
        },
        security: appUserSecurity,
        stateful: false,
    },
    "carbon-intensity": influxClient(
        "carbon-intensity",
        "ha-ingestor-carbon-intensity",
        "services/carbon-intensity-service/Dockerfile",
        8010,
        {
            description: "Grid carbon intensity (WattTime)",
            environmentGroups: ["influxdb-client", "carbon-intensity", "log-level"],
            requiredConfig: { keys: ["wattTimeApiToken"], reason: "its main.py raises ValueError at start when WATTTIME_API_TOKEN is empty" },
        },
    ),
    "electricity-pricing": influxClient(
        "electricity-pricing",
        "ha-ingestor-electricity-pricing",
        "services/electricity-pricing-service/Dockerfile",
        8011,
        { description: "Electricity prices", environmentGroups: ["influxdb-client", "electricity-pricing", "log-level"] },
    ),
    "air-quality": influxClient("air-quality", "ha-ingestor-air-quality", "services/air-quality-service/Dockerfile", 8012, {
        description: "Air quality (AirNow)",
        environmentGroups: ["influxdb-client", "air-quality", "log-level"],
        requiredConfig: { keys: ["airnowApiKey"], reason: "its main.py raises ValueError at start when AIRNOW_API_KEY is empty" },
    }),
    calendar: influxClient("calendar", "ha-ingestor-calendar", "services/calendar-service/Dockerfile", 8013, {
        description: "Google Calendar occupancy signals",
        environmentGroups: ["influxdb-client", "calendar", "log-level"],
        requiredConfig: {
            keys: ["googleClientId", "googleClientSecret", "googleRefreshToken"],
            reason:
                "its main.py raises ValueError at start when any of GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET or GOOGLE_REFRESH_TOKEN " +
                "is empty, and then exits unless Google's token endpoint accepts them (it needs the internet at start)",
        },
    }),
    "smart-meter": influxClient("smart-meter", "ha-ingestor-smart-meter", "services/smart-meter-service/Dockerfile", 8014, {
        description: "Smart meter readings",
        environmentGroups: ["influxdb-client", "smart-meter", "log-level"],
    }),
    "sports-data": {
        key: "sports-data",
        description: "Sports scores and webhooks (SQLite webhooks.db)",
        legacyName: "ha-ingestor-sports-data",
        image: built("Dockerfile", "services/sports-data"),
        containerPort: 8005,
        defaultHostPort: 8005,
        // Its /health asks ESPN every time (10 s timeout; 200 "degraded" when ESPN is away): health would follow
        // ESPN, and the dashboard, which waits for sports-data, would not start while ESPN is unreachable. Its root
        // route answers from the app alone.
        healthCheck: { test: pythonCheck(8005, "/"), startPeriodSeconds: 30, httpPath: "/" },
        dependsOn: [],
        volumes: [{ volume: "sports-data", containerPath: "/app/data" }],
        hostMounts: [],
        environmentGroups: ["sports", "log-level"],
        // Its InfluxDB writer (INFLUXDB_URL/TOKEN/DATABASE) strips the URL's scheme and so can never write, in the
        // version the catalog models (docs/homeiq.md): it is switched off explicitly rather than left to fail.
        fixedEnvironment: { PORT: "8005", INFLUXDB_ENABLED: "false" },
        security: { ...appUserSecurity, needsNonRootAdapter: true },
        stateful: true,
        // src/main.py opens data/webhooks.db relative to /app.
        sqliteDatabase: { volume: "sports-data", containerPath: "/app/data/webhooks.db", pathInVolume: "webhooks.db" },
    },
    "health-dashboard": {
        key: "health-dashboard",
        description: "The dashboard: nginx serving the SPA and proxying to admin-api, data-api and sports-data",
        legacyName: "ha-ingestor-dashboard",
        image: built("Dockerfile", "services/health-dashboard"),
        containerPort: 80,
        defaultHostPort: 3000,
        // nginx answers /health itself (docs/homeiq.md).
        // The page itself must come back as HTML: nginx answering /health says nothing about the bundle.
        healthCheck: { test: curlCheck(80, "/health"), startPeriodSeconds: 30, httpPath: "/", validation: { check: "html", path: "/" } },
        // nginx resolves all three upstreams when it starts, so all three must be up first.
        dependsOn: ["admin-api", "data-api", "sports-data"],
        replaceWithDependencies:
            "nginx resolves its upstreams' names once, when it starts: a replaced upstream gets a new address, " +
            "and nginx would keep proxying to the old one (502) until restarted",
        volumes: [],
        hostMounts: [],
        // The old VITE_* runtime variables are dropped: the bundle is built before they could apply.
        environmentGroups: [],
        fixedEnvironment: {},
        security: {
            nonRootUser: null,
            rootReason:
                "the image's nginx master must start as root to bind port 80 and switch its workers to the nginx user; " +
                "running unprivileged needs an nginx-unprivileged base image in HomeIQ's Dockerfile",
            needsNonRootAdapter: false,
            readOnlyRootFilesystem: true,
            // nginx writes its pid to /run/nginx.pid (/var/run is a link to /run in the image).
            tmpfsPaths: ["/tmp", "/var/cache/nginx", "/run"],
            capabilityAdditions: [
                { capability: "CHOWN", reason: "nginx chowns its cache folders at start" },
                { capability: "SETUID", reason: "the master switches workers to the nginx user" },
                { capability: "SETGID", reason: "the master switches workers to the nginx group" },
                { capability: "NET_BIND_SERVICE", reason: "it listens on port 80" },
            ],
        },
        stateful: false,
        dashboard: true,
    },
    "log-aggregator": {
        key: "log-aggregator",
        description: "Collects container logs",
        legacyName: "ha-ingestor-log-aggregator",
        image: built("services/log-aggregator/Dockerfile"),
        containerPort: 8015,
        defaultHostPort: 8015,
        healthCheck: { test: curlCheck(8015), startPeriodSeconds: 30, httpPath: "/health" },
        dependsOn: [],
        volumes: [{ volume: "logs", containerPath: "/var/log/ha-ingestor" }],
        hostMounts: [],
        containerLogs: {
            hostFolder: "/var/lib/docker/containers",
            readGroup: "0",
            reason:
                "log-aggregator lists /var/lib/docker/containers and reads each container's json-file log. Docker keeps " +
                "that folder and each container's folder at 0710 root:root and the logs at 0640 root:root, so uid 1001 " +
                "could read none of them: it gets the folder of each of the stack's other containers, read-only, and " +
                "the group that owns the logs (root, gid 0), and nothing else of the host's Docker data",
        },
        environmentGroups: ["log-level"],
        fixedEnvironment: { ...LOG_SETTINGS, PORT: "8015" },
        security: appUserSecurity,
        stateful: false,
    },
};

/**
 * The stack's Docker API proxy: the one container that mounts the Docker socket, for the services with
 * `dockerApi`. Debian's nginx (images/docker-api-proxy, built by the program FROM homeiq:dockerApiProxyBaseImage)
 * passes on only the read-only calls those services make and answers everything else 403. It publishes no
 * port: it joins only the stack's Docker API network (internal: no route out), with the services it serves.
 */
export interface DockerApiProxyDefinition {
    /** Its name in the stack (container `<stack>-<key>`, network alias, com.homeiq.service label). */
    readonly key: "docker-api-proxy";
    readonly description: string;
    /** The build context in this repository, relative to the project folder. */
    readonly imageContext: string;
    readonly containerPort: number;
    readonly healthCheck: { readonly test: readonly string[]; readonly startPeriodSeconds: number };
    readonly socket: HostMount;
    readonly security: ServiceSecurity;
}

/** The Docker socket on the Docker host: only the proxy mounts it; a service that mounts it gets its group. */
export const DOCKER_SOCKET = "/var/run/docker.sock";

/** Whether a service mounts the Docker socket (and so needs the socket's group). */
export const mountsDockerSocket = (service: Pick<ServiceDefinition, "hostMounts">): boolean => service.hostMounts.some((m) => m.hostPath === DOCKER_SOCKET);

export const DOCKER_API_PROXY: DockerApiProxyDefinition = {
    key: "docker-api-proxy",
    description: "Filtering proxy in front of the Docker socket: the read-only Engine API calls of admin-api, nothing else",
    imageContext: "images/docker-api-proxy",
    containerPort: 2375,
    healthCheck: { test: ["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:2375/_ping"], startPeriodSeconds: 10 },
    socket: {
        hostPath: DOCKER_SOCKET,
        containerPath: DOCKER_SOCKET,
        reason:
            "the proxy is the one process that talks to the engine: it passes on only admin-api's read-only calls. " +
            "Mounting the socket read-only does not limit the API (a client only writes requests to it), so the proxy's " +
            "allow-list is what limits it; the proxy gets the socket's group (dockerSocketGroupId, or found at deploy time)",
    },
    security: {
        // The image's dockerapi user (images/docker-api-proxy/Dockerfile).
        nonRootUser: "2375:2375",
        needsNonRootAdapter: false,
        readOnlyRootFilesystem: true,
        // nginx's pid file and temp folders (nginx.conf).
        tmpfsPaths: ["/tmp"],
        capabilityAdditions: [],
        pidsLimit: { limit: 64, reason: "one nginx master, one worker and the health check" },
    },
};

/** Every service definition, in catalog order. */
export const ALL_SERVICES: readonly ServiceDefinition[] = SERVICE_KEYS.map((k) => SERVICE_CATALOG[k]);

export function isServiceKey(value: string): value is ServiceKey {
    return (SERVICE_KEYS as readonly string[]).includes(value);
}

/** Services in an order where every service comes after all of its dependencies. Throws on a cycle. */
export function startOrder(services: readonly ServiceDefinition[] = ALL_SERVICES): ServiceKey[] {
    const byKey = new Map(services.map((s) => [s.key, s]));
    const order: ServiceKey[] = [];
    const state = new Map<ServiceKey, "visiting" | "done">();
    const visit = (key: ServiceKey, path: ServiceKey[]): void => {
        if (state.get(key) === "done") return;
        if (state.get(key) === "visiting") {
            throw new Error(`dependency cycle: ${[...path, key].join(" -> ")}`);
        }
        state.set(key, "visiting");
        for (const dep of byKey.get(key)?.dependsOn ?? []) {
            if (byKey.has(dep)) visit(dep, [...path, key]);
        }
        state.set(key, "done");
        order.push(key);
    };
    for (const s of services) visit(s.key, []);
    return order;
}
