/**
 * Every run of the program under mocks that the unit tests read, as data: the unit project's
 * globalSetup (test/unit/globalSetup.ts) runs each once per jest run, and the tests read the
 * outcome (helpers.ts: synthOf, configErrorOf). A test may still run a case that is not listed
 * here: it is then synthesized in its own file (correct, only slower).
 */
import { SERVICE_CATALOG, SERVICE_KEYS, type ServiceKey } from "../../catalog/services";
import { LIST_MAX, PATH_MAX, RETENTION_DAYS_MAX, SECRET_MAX, TEXT_MAX, URL_MAX } from "../../catalog/rules";
import { generatedCase, programSample } from "./configGenerators";
import { CONFIG_ERROR_CASES, secretOverridesOf } from "./configErrorCases";
import { credentialsFor, type SynthCase } from "./helpers";

export { credentialsFor };

export const RESTORE_FOLDER = "/srv/homeiq-backups/prod/20261127T101500Z";

export const REQUIRED_VALUES = {
    homeAssistantUrl: "http://homeassistant.local:8123",
    homeAssistantToken: "a-long-lived-token-for-this-test-0123",
    homeiqCheckoutPath: "/srv/homeiq",
} as const;

/** REQUIRED_VALUES and the credentials of the services that are not in `disabled`. */
export function requiredValuesWithout(disabled: Iterable<ServiceKey> = []): Record<string, string> {
    const off = new Set(disabled);
    return { ...REQUIRED_VALUES, ...credentialsFor(SERVICE_KEYS.filter((k) => !off.has(k))) };
}
export const OLD_TOKEN = "ha-ingestor-token";

/** The committed stack files, as they are. */
export const COMMITTED: Record<"dev" | "prod", SynthCase> = { dev: { stack: "dev" }, prod: { stack: "prod" } };

/** One config change each, on a committed stack. */
export const VARIANTS = {
    prodBackupRequest: { stack: "prod", overrides: { "homeiq:backupRequest": "3" } },
    prodBackupCopy: {
        stack: "prod",
        overrides: {
            "homeiq:backupSchedule": "daily 03:30",
            "homeiq:backupDrillSchedule": "off",
            "homeiq:backupKeepDays": "90",
            "homeiq:backupCopyRepository": "sftp:homeiq@nas.lan:/volume1/homeiq-restic",
            "homeiq:backupCopyPassphrase": "i17-unit-copy-passphrase-0123",
            "homeiq:notifyWebhookUrl": "https://ntfy.sh/i17-unit-topic",
        },
        secretOverrides: ["homeiq:backupCopyPassphrase", "homeiq:notifyWebhookUrl"],
    },
    prodRemoteEngine: { stack: "prod", overrides: { "homeiq:dockerHost": "ssh://deploy@server.lan:2222", "homeiq:postDeployValidation": "false" } },
    prodRestore: { stack: "prod", overrides: { "homeiq:restoreFrom": RESTORE_FOLDER } },
    devRestore: { stack: "dev", overrides: { "homeiq:restoreFrom": "/srv/homeiq-backups/dev/20261127T101500Z" } },
    prodRetention365: { stack: "prod", overrides: { "homeiq:influxdbRetentionDays": "365" } },
    prodInfluxdbPort: { stack: "prod", overrides: { "homeiq:hostPorts": JSON.stringify(["influxdb=28086"]) } },
    prodInfluxdbLan: { stack: "prod", overrides: { "homeiq:lanAccess": JSON.stringify(["influxdb@0.0.0.0=Grafana on the NAS reads it"]) } },
    prodNoValidation: { stack: "prod", overrides: { "homeiq:postDeployValidation": "false" } },
    prodErrorLinesReported: { stack: "prod", overrides: { "homeiq:validationErrorLines": "report" } },
    prodSocketGroup: { stack: "prod", overrides: { "homeiq:dockerSocketGroupId": "998" } },
    prodMaxOpenFiles: { stack: "prod", overrides: { "homeiq:maxOpenFiles": "20000" } },
    prodPlaceholderTokenAccepted: {
        stack: "prod",
        overrides: { "homeiq:influxdbAdminToken": OLD_TOKEN, "homeiq:acceptPlaceholderInfluxdbToken": "true", "homeiq:restoreFrom": RESTORE_FOLDER },
        secretOverrides: ["homeiq:influxdbAdminToken"],
    },
} satisfies Record<string, SynthCase>;

/**
 * A stack whose only stateful service has no secret in its environment, so the pre-change backup's
 * trigger (a digest of the stateful containers' specs) shows in the synth; and changes to it.
 */
const SQLITE_ONLY = SERVICE_KEYS.filter((k) => !["sports-data", "log-aggregator"].includes(k));
const sqliteOnly = (extra: Record<string, string> = {}): SynthCase => ({
    stack: "prod",
    overrides: { "homeiq:disabledServices": disabledList(SQLITE_ONLY), "homeiq:corsOrigins": "[]", "homeiq:dashboardBindAddress": "", ...extra },
});
export const TRIGGER_CASES = {
    base: sqliteOnly(),
    statefulChanged: sqliteOnly({ "homeiq:resourceOverrides": JSON.stringify(["sports-data:memoryMiB=300"]) }),
    otherChanged: sqliteOnly({ "homeiq:resourceOverrides": JSON.stringify(["log-aggregator:memoryMiB=300"]) }),
    restoring: sqliteOnly({ "homeiq:restoreFrom": RESTORE_FOLDER }),
    settingChanged: sqliteOnly({ "homeiq:backupKeep": "3" }),
} satisfies Record<string, SynthCase>;

/** Recognisable values for every secret a user can set (secrets.test.ts looks for them in the graph). */
export const USER_SECRETS: Record<string, string> = {
    "homeiq:homeAssistantToken": "leakcheck-ha-token-0123456789abcdef",
    "homeiq:influxdbAdminPassword": "leakcheck-influx-password-0123",
    "homeiq:jwtSecret": "leakcheck-jwt-secret-0123456789abcdef0123456789",
    "homeiq:weatherApiKey": "leakcheck-weather-key-0123",
    "homeiq:sportsApiKey": "leakcheck-sports-key-0123",
    "homeiq:googleRefreshToken": "leakcheck-google-refresh-0123",
};
export const withUserSecrets = (stack: string): SynthCase => ({ stack, overrides: USER_SECRETS, secretOverrides: Object.keys(USER_SECRETS) });

const BUILT = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].image.kind === "built");

/** Configs that exercise every Command and every way a value reaches one (commandInputs.test.ts). */
export const VARIED: Array<[string, Record<string, string>]> = [
    ["as committed", {}],
    ["restore, on-demand backup, rebuild", { "homeiq:restoreFrom": "/srv/homeiq-backups/x/20261127T101500Z", "homeiq:backupRequest": "4", "homeiq:rebuildGeneration": "2" }],
    ["own backup root, remote engine, custom org", { "homeiq:backupRoot": "/mnt/backups/homeiq", "homeiq:dockerHost": "ssh://deploy@server.lan:2222", "homeiq:postDeployValidation": "false", "homeiq:influxdbOrg": "home-org" }],
    ["~ backup root, retention, no validation", { "homeiq:backupRoot": "~/bk", "homeiq:influxdbRetentionDays": "30", "homeiq:postDeployValidation": "false" }],
    [
        "registry images",
        {
            "homeiq:imageSource": "registry",
            "homeiq:influxdbImage": `influxdb:2.7@sha256:${"a".repeat(64)}`,
            "homeiq:imageReferences": JSON.stringify(BUILT.map((s, i) => `${s}=ghcr.io/homeiq/${s}@sha256:${i.toString(16).repeat(64).slice(0, 64)}`)),
        },
    ],
    [
        "swarm, restore, on-demand backup",
        {
            "homeiq:target": "swarm",
            "homeiq:swarmNodes": JSON.stringify(["nas=data@ssh://admin@nas", "minipc=apps"]),
            "homeiq:restoreFrom": "/srv/homeiq-backups/x/20261127T101500Z",
            "homeiq:backupRequest": "2",
        },
    ],
];

/** Every value at its longest (commandInputs.test.ts: environment strings stay below the kernel's limit). */
export const LONGEST: SynthCase = (() => {
    const label = (c: string): string => c.repeat(63);
    const host = [label("a"), label("b"), label("c")].join("."); // 191 characters
    return {
        stack: "dev",
        overrides: {
            "homeiq:weatherLocation": "w".repeat(TEXT_MAX),
            "homeiq:gridRegion": "g".repeat(TEXT_MAX),
            "homeiq:pricingProvider": "p".repeat(TEXT_MAX),
            "homeiq:meterType": "m".repeat(TEXT_MAX),
            "homeiq:meterDeviceId": "d".repeat(TEXT_MAX),
            "homeiq:googleClientId": "i".repeat(TEXT_MAX),
            "homeiq:sportsApiProvider": "s".repeat(TEXT_MAX),
            "homeiq:homeAssistantUrl": `http://ha.lan/${"u".repeat(URL_MAX - 14)}`,
            "homeiq:homeiqCheckoutPath": `/${"c".repeat(PATH_MAX - 1)}`,
            "homeiq:backupRoot": `/${"b".repeat(PATH_MAX - 1)}`,
            "homeiq:restoreFrom": `/${"r".repeat(PATH_MAX - 1)}`,
            "homeiq:corsOrigins": JSON.stringify(Array.from({ length: LIST_MAX }, (_, i) => `https://${host}:${10000 + i}`)),
            "homeiq:weatherApiKey": "k".repeat(SECRET_MAX),
            "homeiq:jwtSecret": "j".repeat(SECRET_MAX),
        },
        secretOverrides: ["homeiq:weatherApiKey", "homeiq:jwtSecret"],
    };
})();

/** Configs whose Commands scriptRules.test.ts runs against fake tools. */
export const SCRIPT_CONFIGS: Array<[string, SynthCase]> = [
    ["dev", COMMITTED.dev],
    ["prod", COMMITTED.prod],
    [
        "prod with a restore, ~ backup root, on-demand backup, rebuild, ssh host, odd names",
        {
            stack: "prod",
            overrides: {
                "homeiq:restoreFrom": "/srv/homeiq-backups/prod/20261127T101500Z",
                "homeiq:backupRoot": "~/backups/homeiq",
                "homeiq:backupRequest": "2",
                "homeiq:rebuildGeneration": "3",
                "homeiq:dockerHost": "ssh://deploy@[fd00::10]:2222",
                "homeiq:dashboardBindAddress": "::",
                "homeiq:postDeployValidation": "false",
                "homeiq:influxdbOrg": "my.org-1",
                "homeiq:influxdbBucket": "b_2",
                "homeiq:influxdbRetentionDays": String(RETENTION_DAYS_MAX),
                "homeiq:backupKeep": "1000",
            },
        },
    ],
    [
        "dev without influxdb and its dependents, restoring sports-data",
        {
            stack: "dev",
            overrides: {
                "homeiq:disabledServices": JSON.stringify(
                    SERVICE_KEYS.filter((k) => !["sports-data", "log-aggregator"].includes(k)).map((s) => `${s}=test`),
                ),
                "homeiq:restoreFrom": "/srv/homeiq-backups/dev/20261127T101500Z",
            },
        },
    ],
];

// ---- every class of enabled services (serviceCombinations.test.ts) ----------------------------

const STATEFUL = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].stateful);

/** The services that (transitively) depend on any of `keys`, and `keys` themselves. */
export function withDependents(keys: readonly ServiceKey[]): Set<ServiceKey> {
    const out = new Set(keys);
    for (let grew = true; grew; ) {
        grew = false;
        for (const k of SERVICE_KEYS) {
            if (!out.has(k) && SERVICE_CATALOG[k].dependsOn.some((d) => out.has(d))) {
                out.add(k);
                grew = true;
            }
        }
    }
    return out;
}

/** A service and everything it (transitively) depends on. */
const needs = (k: ServiceKey): ServiceKey[] => [k, ...SERVICE_CATALOG[k].dependsOn.flatMap(needs)];

/** homeiq:disabledServices for `disabled` (a function declaration: cases above use it while the module loads). */
export function disabledList(disabled: Iterable<ServiceKey>): string {
    return JSON.stringify([...disabled].map((k) => `${k}=not in this test`));
}

export interface CombinationCase {
    readonly name: string;
    readonly stack: "dev" | "prod";
    readonly enabled: readonly ServiceKey[];
    readonly restore: boolean;
}

/**
 * The classes of deployed stateful services (every subset the dependencies allow); for each, the
 * most services it allows and the fewest, with and without a restore.
 */
export function combinationCases(): CombinationCase[] {
    const classes: ServiceKey[][] = [];
    for (let m = 0; m < 1 << STATEFUL.length; m++) {
        const kept = STATEFUL.filter((_s, i) => m & (1 << i));
        // A class exists when keeping exactly these stateful services leaves their own dependencies deployed.
        const gone = withDependents(STATEFUL.filter((s) => !kept.includes(s)));
        if (kept.every((k) => !gone.has(k))) classes.push(kept);
    }
    const out: CombinationCase[] = [];
    for (const kept of classes) {
        const most = SERVICE_KEYS.filter((k) => !withDependents(STATEFUL.filter((s) => !kept.includes(s))).has(k));
        // The kept services and what they need; with nothing stateful, one service that needs nothing.
        const fewest = kept.length > 0 ? SERVICE_KEYS.filter((k) => kept.some((s) => needs(s).includes(k))) : [SERVICE_KEYS.find((k) => !SERVICE_CATALOG[k].stateful && SERVICE_CATALOG[k].dependsOn.length === 0)!];
        const label = kept.length > 0 ? kept.join("+") : "nothing stateful";
        const restore = kept.length > 0;
        out.push({ name: `prod, ${label}, most services, restore=${restore}`, stack: "prod", enabled: most, restore });
        out.push({ name: `prod, ${label}, fewest services, restore=${restore}`, stack: "prod", enabled: fewest, restore });
        if (restore) out.push({ name: `prod, ${label}, most services, no restore`, stack: "prod", enabled: most, restore: false });
        out.push({ name: `dev, ${label}, most services, restore=${restore}`, stack: "dev", enabled: most, restore });
    }
    return out;
}

export function combinationSynth(c: CombinationCase): SynthCase {
    const disabled = SERVICE_KEYS.filter((k) => !c.enabled.includes(k));
    return {
        stack: c.stack,
        overrides: {
            "homeiq:disabledServices": disabledList(disabled),
            "homeiq:restoreFrom": c.restore ? "/srv/homeiq-backups/prod/20261127T101500Z" : undefined,
            "homeiq:backupRequest": STATEFUL.some((s) => c.enabled.includes(s)) ? "1" : undefined,
            // Values the prod stack file sets for services these cases may leave out.
            "homeiq:corsOrigins": c.enabled.includes("data-api") ? undefined : "[]",
            "homeiq:dashboardBindAddress": c.enabled.includes("health-dashboard") ? undefined : "",
        },
    };
}

// ---- configs the program must refuse ---------------------------------------------------------

export const ERRORS = {
    everyProblemAtOnce: {
        stack: "prod",
        overrides: { "homeiq:homeAssistantUrl": "ftp://x", "homeiq:healthWaitTimeoutSeconds": "-5", "homeiq:corsOrigins": JSON.stringify(["*"]) },
    },
    shortSecret: { stack: "prod", overrides: { "homeiq:jwtSecret": "short-but-secret-value" }, secretOverrides: ["homeiq:jwtSecret"] },
    partialRestore: { stack: "prod", overrides: { "homeiq:restoreFrom": `${RESTORE_FOLDER}.partial` } },
    placeholderToken: { stack: "prod", overrides: { "homeiq:influxdbAdminToken": OLD_TOKEN }, secretOverrides: ["homeiq:influxdbAdminToken"] },
    shortToken: { stack: "prod", overrides: { "homeiq:influxdbAdminToken": "my-own-token-20-chars" }, secretOverrides: ["homeiq:influxdbAdminToken"] },
    acceptRotatedToken: {
        stack: "prod",
        overrides: { "homeiq:influxdbAdminToken": "a-rotated-operator-token-0123456789", "homeiq:acceptPlaceholderInfluxdbToken": "true" },
        secretOverrides: ["homeiq:influxdbAdminToken"],
    },
    acceptWithoutToken: { stack: "prod", overrides: { "homeiq:acceptPlaceholderInfluxdbToken": "true" }, secretOverrides: ["homeiq:influxdbAdminToken"] },
    acceptYes: { stack: "prod", overrides: { "homeiq:acceptPlaceholderInfluxdbToken": "yes" } },
} satisfies Record<string, SynthCase>;

/** Every case above: what the unit project's globalSetup runs. */
export function allSynthCases(): SynthCase[] {
    return [
        ...Object.values(COMMITTED),
        ...Object.values(VARIANTS),
        ...Object.values(TRIGGER_CASES),
        withUserSecrets("dev"),
        withUserSecrets("prod"),
        ...["dev", "prod"].flatMap((stack) => VARIED.map(([, overrides]) => ({ stack, overrides }))),
        LONGEST,
        ...SCRIPT_CONFIGS.map(([, c]) => c),
        ...combinationCases().map(combinationSynth),
        ...CONFIG_ERROR_CASES.map((c) => ({ stack: c.stack, overrides: c.overrides, secretOverrides: secretOverridesOf(c) })),
        ...Object.values(ERRORS),
        ...programSample().map(generatedCase),
    ];
}
