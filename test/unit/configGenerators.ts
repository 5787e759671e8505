/**
 * Generated stack configs (fast-check, seeded and bounded), valid and invalid, and malformed stack
 * files: configProperty.test.ts checks the config contract on them, synthCases.ts lists the ones
 * run through the program, test/process/cli.test.ts runs a sample through `npm run synth`.
 */
import * as fc from "fast-check";
import { SERVICE_CATALOG, SERVICE_KEYS, type ServiceKey } from "../../catalog/services";
import { CONFIG_KEYS, isSecretKey, type ConfigKey } from "../../config/keys";
import { COUNTER_MAX, HEALTH_WAIT_SECONDS, RETENTION_DAYS_MAX, SECRET_MAX, TEXT_MAX } from "../../catalog/rules";
import type { StackState } from "./fixCommands";
import { credentialsFor, type SynthCase } from "./helpers";

export const SEED = 20261129;
export const PASSWORD = "hunter2pw";

// ---- generators -----------------------------------------------------------------------------

const services = fc.constantFrom(...SERVICE_KEYS);
const token = fc.stringMatching(/^[A-Za-z0-9_-]{32,48}$/);
const printable = (min: number, max: number) => fc.string({ unit: fc.constantFrom(..."abcXYZ019 ,._-/'é".split("")), minLength: min, maxLength: max });
const ip = fc.constantFrom("127.0.0.1", "0.0.0.0", "::", "::1", "192.168.1.10");

/** Values a user gets wrong: control and invisible characters, separators, shell text, lengths. */
const NASTY = ["", " ", "\u0000", "\u001b[31m", "\n", "\t", "\u202e", "\ud800", ",", "*", "<token>", "'", "$(id)", "..", "~", "admin123", "x".repeat(TEXT_MAX + 1), "k".repeat(SECRET_MAX + 1), "-1", "99999999999999999999", "1e3", "0x10", "true", "null", "[]", "{}"];
const nasty = fc.constantFrom(...NASTY);
/** A valid value spoiled: a nasty piece inserted somewhere. */
const spoil = (valid: fc.Arbitrary<string>) =>
    fc.tuple(valid, nasty, fc.nat()).map(([v, n, at]) => {
        const i = v.length === 0 ? 0 : at % (v.length + 1);
        return v.slice(0, i) + n + v.slice(i);
    });

export const closedDisabled = (() => {
    const sets: ServiceKey[][] = [];
    for (let m = 0; m < 1 << SERVICE_KEYS.length; m++) {
        const d = new Set(SERVICE_KEYS.filter((_k, i) => m & (1 << i)));
        if (SERVICE_KEYS.every((k) => d.has(k) || SERVICE_CATALOG[k].dependsOn.every((x) => !d.has(x)))) sets.push([...d]);
    }
    return sets;
})();

const origin = fc.tuple(fc.constantFrom("http", "https"), fc.constantFrom("homeiq.lan", "localhost", "10.0.0.5", "[fd00::5]", "a-b.example.com"), fc.integer({ min: 1000, max: 65535 })).map(([s, h, p]) => `${s}://${h}:${p}`);
const entry = (value: fc.Arbitrary<string>, field?: fc.Arbitrary<string>) =>
    fc.tuple(fc.oneof({ weight: 9, arbitrary: services }, { weight: 1, arbitrary: fc.constantFrom("weather-api", "Data-Api", "") }), field ?? fc.constant(""), value, fc.constantFrom("=", " = ", "="))
        .map(([s, f, v, eq]) => `${s}${f}${eq}${v}`);
const list = (item: fc.Arbitrary<string>, max = 4) => fc.array(item, { maxLength: max }).map((xs) => JSON.stringify(xs));

const VALID: Record<ConfigKey, fc.Arbitrary<string>> = {
    profile: fc.constantFrom("dev", "prod"),
    dockerHost: fc.constantFrom("unix:///var/run/docker.sock", "ssh://deploy@server.lan", "ssh://u@[fd00::1]:2222", "tcp://10.0.0.2:2375"),
    imageSource: fc.constant("build"),
    homeiqCheckoutPath: fc.constantFrom("/srv/homeiq", "/home/me/code//homeiq/", "/opt/Home IQ"),
    imageReferences: fc.constant("[]"),
    influxdbImage: fc.constantFrom("influxdb:2.7", "influxdb:2.7.10-alpine", `docker.io/library/influxdb:2.7@sha256:${"f".repeat(64)}`),
    dockerApiProxyBaseImage: fc.constantFrom("debian:bookworm-slim", `debian:bookworm-slim@sha256:${"a".repeat(64)}`, "registry.lan:5000/debian:12"),
    rebuildGeneration: fc.integer({ min: 0, max: COUNTER_MAX }).map(String),
    homeAssistantUrl: fc.constantFrom("http://homeassistant.local:8123", "https://ha.example.com", "ws://10.0.0.5:8123/api/websocket"),
    homeAssistantToken: token,
    influxdbUsername: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,12}$/),
    influxdbOrg: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,12}$/),
    influxdbBucket: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,12}$/),
    influxdbRetentionDays: fc.integer({ min: 0, max: RETENTION_DAYS_MAX }).map(String),
    influxdbAdminPassword: token,
    influxdbAdminToken: token,
    jwtSecret: token,
    adminPassword: token,
    dataApiKey: token,
    weatherApiKey: token,
    wattTimeApiToken: token,
    pricingApiKey: token,
    airnowApiKey: token,
    googleClientSecret: token,
    googleRefreshToken: token,
    meterApiToken: token,
    sportsApiKey: token,
    weatherLocation: printable(1, 30),
    gridRegion: printable(1, 20),
    pricingProvider: printable(1, 20),
    latitude: fc.integer({ min: -90, max: 89 }).map((n) => `${n}.5`),
    longitude: fc.integer({ min: -180, max: 179 }).map((n) => `${n}.25`),
    googleClientId: printable(0, 30),
    meterType: printable(1, 20),
    meterDeviceId: printable(0, 20),
    sportsApiProvider: printable(1, 20),
    hostPorts: list(entry(fc.integer({ min: 1024, max: 65535 }).map(String))),
    dashboardBindAddress: ip,
    corsOrigins: list(fc.oneof(origin, fc.constant("*"))),
    lanAccess: list(fc.tuple(fc.constantFrom("influxdb", "data-api"), fc.constantFrom("0.0.0.0", "192.168.1.20", "::"), printable(1, 30)).map(([s, a, r]) => `${s}@${a}=${r}`)),
    resourceOverrides: list(
        fc.oneof(
            entry(fc.integer({ min: 256, max: 4096 }).map(String), fc.constant(":memoryMiB")),
            entry(fc.integer({ min: 6, max: 128 }).map(String), fc.constant(":memoryReservationMiB")),
            entry(fc.constantFrom("0.25", "1", "2.5", "64"), fc.constant(":cpus")),
        ),
    ),
    disabledServices: fc.constantFrom(...closedDisabled).map((d) => JSON.stringify(d.map((s) => `${s}=not needed here`))),
    backupRoot: fc.constantFrom("/srv/homeiq-backups", "~/backups", "~", "/mnt/b/"),
    backupKeep: fc.integer({ min: 1, max: 1000 }).map(String),
    backupRequest: fc.integer({ min: 0, max: 5 }).map(String),
    backupKeepDays: fc.integer({ min: 0, max: 3650 }).map(String),
    backupSchedule: fc.constantFrom("daily 02:00", "off", "every 15", "monthly 28 23:59"),
    backupDrillSchedule: fc.constantFrom("monthly 1 03:00", "off", "daily 00:00"),
    // Valid alone; one without the other is refused (and fixed) as a pair.
    backupCopyRepository: fc.constantFrom("/mnt/nas/homeiq-restic", "sftp:homeiq@nas.lan:/volume1/restic", "rest:https://backup.lan:8000/homeiq"),
    backupCopyPassphrase: fc.constantFrom("i17-copy-passphrase-long-0123", "Correct-Horse-Battery-Staple-9"),
    notifyWebhookUrl: fc.constantFrom("", "https://ntfy.sh/homeiq-alerts-7f3k"),
    restoreFrom: fc.constantFrom("/srv/homeiq-backups/prod/20261127T101500Z", "/srv/b/x/"),
    postDeployValidation: fc.constantFrom("true", "false"),
    validationErrorLines: fc.constantFrom("fail", "report"),
    watchEveryMinutes: fc.integer({ min: 0, max: 1440 }).map(String),
    watchDownMinutes: fc.integer({ min: 0, max: 10080 }).map(String),
    watchCriterionMinutes: fc.integer({ min: 0, max: 10080 }).map(String),
    watchDiskPercent: fc.integer({ min: 1, max: 100 }).map(String),
    acceptPlaceholderInfluxdbToken: fc.constantFrom("false"),
    healthWaitTimeoutSeconds: fc.integer({ min: HEALTH_WAIT_SECONDS.min, max: HEALTH_WAIT_SECONDS.max }).map(String),
    dockerSocketGroupId: fc.integer({ min: 0, max: 2147483647 }).map(String),
    maxOpenFiles: fc.integer({ min: 1024, max: 1048576 }).map(String),
    // The swarm keys are valid only together (target=swarm needs nodes with both roles; nodes need target=swarm).
    target: fc.constantFrom("host"),
    swarmNodes: fc.constantFrom("[]"),
    swarmSubnet: fc.constantFrom("10.243.0.0/24", "172.30.8.0/22", "10.0.0.0/8"),
};

/** Invalid values per key, beyond the generic spoiling: the ways each one goes wrong. */
const INVALID: Partial<Record<ConfigKey, fc.Arbitrary<string>>> = {
    maxOpenFiles: fc.constantFrom("0", "1023", "1048577", "-1", "unlimited", "65536.5"),
    target: fc.constantFrom("Swarm", "kubernetes", "swarm"),
    swarmNodes: list(fc.constantFrom("nas=data", "nas", "nas=db", "nas=data+data", "-x=apps", "nas=apps@tcp://h"), 3).filter((l) => l !== "[]"),
    swarmSubnet: fc.constantFrom("10.243.0.1/24", "10.243.0.0/30", "300.1.1.0/24", "10.243.0.0"),
    profile: fc.constantFrom("constructor", "__proto__", "toString", "production", "Prod"),
    dockerHost: fc.constantFrom(`ssh://deploy:${PASSWORD}@server.lan`, "tcp://host", "unix://relative", "ssh://server.lan"),
    homeAssistantUrl: fc.constantFrom(`http://admin:${PASSWORD}@ha.lan:8123`, "http://ha.lan:8123/?token=x", "ftp://ha.lan"),
    imageSource: fc.constantFrom("registry", "Build"),
    imageReferences: list(entry(fc.constantFrom(`ghcr.io/x/y@sha256:${"0".repeat(64)}`, "ghcr.io/x/y:latest", `user:${PASSWORD}@reg/x@sha256:${"1".repeat(64)}`, "UPPER/x"))),
    corsOrigins: list(fc.constantFrom("http://a.lan:3000,*", "HTTP://A.lan", "http://a.lan:80", "http://a.lan:3000/path", `http://u:${PASSWORD}@a.lan`, "http://a.lan:3000", "*")),
    hostPorts: list(entry(fc.constantFrom("0", "65536", "80", "8086", "abc", "3000"))),
    lanAccess: list(fc.constantFrom("influxdb=no address", "influxdb@127.0.0.1=loopback", "influxdb@0.0.0.0=", "nosuch@0.0.0.0=x", "influxdb@lan=x")),
    resourceOverrides: list(entry(fc.constantFrom("0", "1e3", "0.001", "65", "99999999", "-1", "16"), fc.constantFrom(":memoryMiB", ":cpus", ":memoryReservationMiB", ":disk", ""))),
    disabledServices: list(entry(fc.constantFrom("", "reason", " spaced  reason ")), 14),
    backupRoot: fc.constantFrom("relative/path", "/with space", "/a/../b", "~user/x"),
    restoreFrom: fc.constantFrom("/srv/b/x.partial", "~user/b", "/srv/b/../x"),
    backupSchedule: fc.constantFrom("daily 2:00", "daily 24:00", "monthly 31 02:00", "every 0", "every 1441", "hourly", "@daily"),
    backupKeepDays: fc.constantFrom("-1", "3651", "30d"),
};

/** One generated stack: its config values, other namespaces, name, and which raw values are secret. */
export interface Generated extends StackState {
    readonly secrets: string[];
}

/** Stacks setting up to `maxKeys` keys, each invalid with probability `invalid` (and some misnamed keys). */
export const stacks = (maxKeys: number, invalid: number): fc.Arbitrary<Generated> => fc
    .record({
        profile: fc.oneof({ weight: 8, arbitrary: VALID.profile }, { weight: invalid > 0.2 ? 1 : 0, arbitrary: INVALID.profile! }),
        keys: fc.subarray(Object.keys(CONFIG_KEYS).filter((k) => k !== "profile") as ConfigKey[], { maxLength: maxKeys }),
        badness: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: maxKeys, maxLength: maxKeys }),
        seeds: fc.array(fc.integer(), { minLength: 7, maxLength: 7 }),
        drop: fc.subarray(["homeAssistantUrl", "homeAssistantToken", "homeiqCheckoutPath"] as const, { maxLength: invalid > 0.2 ? 1 : 0 }),
        other: fc.subarray([["homeIQ:dashboardBindAddress", "0.0.0.0"], ["hoemiq:latitude", "12.5"], ["home-iq:profile", "dev"], ["docker:host", "unix:///x"], ["homeiq.weatherLocation", "Paris"]] as Array<[string, string]>, { maxLength: invalid > 0.2 ? 2 : 0 }),
        misspelt: fc.subarray([["hostport", '["data-api=9000"]'], ["Latitude", "1.5"], ["colour", "blue"]] as Array<[string, string]>, { maxLength: invalid > 0.2 ? 1 : 0 }),
        stack: fc.oneof({ weight: 12, arbitrary: fc.constantFrom("dev", "prod") }, { weight: invalid > 0.2 ? 1 : 0, arbitrary: fc.constantFrom("Prod", "my stack", "_x") }),
    })
    .map((g) => {
        const values: Record<string, string> = {
            profile: g.profile,
            homeAssistantUrl: "http://homeassistant.local:8123",
            homeAssistantToken: "a-long-lived-token-for-this-test-0123",
            homeiqCheckoutPath: "/srv/homeiq",
        };
        g.keys.forEach((key, i) => {
            const bad = g.badness[i] < invalid;
            const pick = !bad ? VALID[key] : g.badness[i] < invalid / 2 && INVALID[key] ? INVALID[key]! : spoil(VALID[key]);
            values[key] = fc.sample(pick, { seed: g.seeds[i], numRuns: 1 })[0];
        });
        // The keys the services it deploys cannot start without (a stack that sets none refuses them all).
        for (const [k, v] of Object.entries(credentialsFor(SERVICE_KEYS.filter((s) => !disabledIn(values.disabledServices).includes(s))))) {
            if (!(k in values)) values[k] = v;
        }
        for (const k of g.drop) delete values[k];
        for (const [k, v] of g.misspelt) values[k] = v;
        const otherValues: Record<string, string> = {};
        for (const [k, v] of g.other) {
            if (k.startsWith("homeiq.")) values[k] = v;
            else otherValues[k] = v;
        }
        const secrets = Object.entries(values)
            .filter(([k, v]) => isSecretKey(k) && v.length >= 4)
            .map(([, v]) => v);
        return { values, otherValues, stack: g.stack, secrets };
    });
export const generated = stacks(7, 0.4);

/** The services a generated homeiq:disabledServices value names (none when it is not a list). */
function disabledIn(value: string | undefined): string[] {
    if (value === undefined) return [];
    try {
        const list: unknown = JSON.parse(value);
        return Array.isArray(list) ? list.map((e) => String(e).split("=")[0].trim()) : [];
    } catch {
        return [];
    }
}

// ---- malformed stack files ------------------------------------------------------------------------

/** A stack file's valid start: what each malformed file below adds to (or replaces). */
const GOOD_FILE = ["config:", "  homeiq:profile: dev", "  homeiq:homeAssistantUrl: http://ha.lan:8123", "  homeiq:homeiqCheckoutPath: /srv/homeiq"];

/**
 * A stack file as people break it, and the one problem it must be refused with: by the file reader
 * (`file`: the whole file refused, naming the line) or, for a value of the wrong shape or a key in the
 * wrong namespace, for that key (`key`: the file is read, the key refused).
 */
export interface MalformedFile {
    readonly kind: "yaml" | "shape" | "namespace" | "duplicate" | "toplevel";
    readonly text: string;
    readonly refused: { readonly by: "file" | "key"; readonly key: string; readonly problem: RegExp; readonly line?: number };
}

const added = (line: string): string => [...GOOD_FILE, line].join("\n");
const file = (problem: RegExp, line: number) => ({ by: "file" as const, key: "Pulumi.broken.yaml", problem, line });
const key = (k: string, problem: RegExp, line?: number) => ({ by: "key" as const, key: k, problem, line });
const NOT_YAML = /^is not valid YAML \(/;
const TWICE = /^gives the same key twice \(the last one would silently win\)$/;
const NOT_READ = (ns: string, k: string) => new RegExp(`^is in the namespace '${ns}', which this program never reads; its keys are homeiq:<key>, so homeiq:${k}$`);

export const MALFORMED_FILES: readonly MalformedFile[] = [
    { kind: "yaml", text: added('  homeiq:weatherLocation: "unterminated'), refused: file(/^is not valid YAML \(Missing closing "quote\)$/, 5) },
    { kind: "yaml", text: added("\tbad: tab"), refused: file(/^is not valid YAML \(Tabs are not allowed as indentation\)$/, 5) },
    { kind: "yaml", text: added("  homeiq:corsOrigins: [a, b"), refused: file(NOT_YAML, 5) },
    { kind: "yaml", text: added("  - stray"), refused: file(NOT_YAML, 5) },
    { kind: "yaml", text: added("  key: value: more"), refused: file(/^is not valid YAML \(Nested mappings are not allowed in compact mappings\)$/, 5) },
    { kind: "yaml", text: added("  homeiq:latitude: @x"), refused: file(/^is not valid YAML \(Plain value cannot start with reserved character @\)$/, 5) },
    // Valid YAML (a complex key): read, and its key is not one of ours.
    { kind: "yaml", text: added("  ? complex\n  : key"), refused: key("homeiq:complex", /^is not a config key of this project$/) },
    { kind: "shape", text: added("  homeiq:corsOrigins: http://a.lan:3000"), refused: key("homeiq:corsOrigins", /^is text; it takes a list of strings$/, 5) },
    { kind: "shape", text: added("  homeiq:corsOrigins:\n    - {x: 1}"), refused: key("homeiq:corsOrigins[0]", /^is a map; each entry is one string$/, 6) },
    { kind: "shape", text: added("  homeiq:weatherLocation:\n    - Paris"), refused: key("homeiq:weatherLocation", /^is a list; it takes one string value$/, 6) },
    { kind: "shape", text: added("  homeiq:hostPorts: {data-api: 9000}"), refused: key("homeiq:hostPorts", /^is a map; it takes a list of strings$/, 5) },
    { kind: "shape", text: added("  homeiq:healthWaitTimeoutSeconds: [1]"), refused: key("homeiq:healthWaitTimeoutSeconds", /^is a list; it takes one integer value$/, 5) },
    { kind: "shape", text: added("  homeiq:corsOrigins:\n    - [a]"), refused: key("homeiq:corsOrigins[0]", /^is a list; each entry is one string$/, 6) },
    { kind: "namespace", text: added("  homeIQ:latitude: '1.5'"), refused: key("homeIQ:latitude", NOT_READ("homeIQ", "latitude")) },
    { kind: "namespace", text: added("  home-iq:profile: prod"), refused: key("home-iq:profile", NOT_READ("home-iq", "profile")) },
    { kind: "namespace", text: added("  homeiq.weatherLocation: Paris"), refused: key("homeiq:homeiq.weatherLocation", /^is not a config key of this project; did you mean homeiq:weatherLocation\?$/) },
    { kind: "namespace", text: added("  hoemiq:meterType: x"), refused: key("hoemiq:meterType", NOT_READ("hoemiq", "meterType")) },
    { kind: "namespace", text: added("  HOMEIQ:gridRegion: y"), refused: key("HOMEIQ:gridRegion", NOT_READ("HOMEIQ", "gridRegion")) },
    { kind: "duplicate", text: added("  homeiq:profile: prod"), refused: file(TWICE, 5) },
    { kind: "duplicate", text: added("  profile: prod"), refused: file(/^gives homeiq:profile a second time \(first at Pulumi\.broken\.yaml line 2\); the last one would silently win$/, 5) },
    { kind: "duplicate", text: added("  homeiq:homeAssistantUrl: http://x:1"), refused: file(TWICE, 5) },
    { kind: "toplevel", text: "- config", refused: file(/^must be a YAML map at its top level$/, 1) },
    { kind: "toplevel", text: "config: [a, b]", refused: file(/^has config: that is not a map$/, 1) },
    { kind: "toplevel", text: "conifg:\n  homeiq:profile: dev", refused: file(/^is not a key Pulumi reads in a stack file; everything under it would be ignored$/, 1) },
    { kind: "toplevel", text: "confg:\n  homeiq:profile: dev", refused: file(/^is not a key Pulumi reads in a stack file \(did you mean config\?\); everything under it would be ignored$/, 1) },
    { kind: "toplevel", text: "just text", refused: file(/^must be a YAML map at its top level$/, 1) },
    { kind: "toplevel", text: "config: 5", refused: file(/^has config: that is not a map$/, 1) },
    { kind: "toplevel", text: "42", refused: file(/^must be a YAML map at its top level$/, 1) },
    { kind: "toplevel", text: `${GOOD_FILE.join("\n")}\nextra: 1`, refused: file(/^is not a key Pulumi reads in a stack file; everything under it would be ignored$/, 5) },
];

/** Stack files as people break them (test/process/cli.test.ts runs a sample through `npm run synth`). */
export const malformed = fc.constantFrom(...MALFORMED_FILES.map((m) => m.text));

/** The generated configs run through the program (in-process, under mocks). */
export function programSample(): Generated[] {
    return fc.sample(fc.oneof(stacks(3, 0.05), stacks(6, 0.3)), { seed: SEED, numRuns: 10 });
}

/** A generated config as a run of the program: every key of the stack file replaced by the generated ones. */
export function generatedCase(g: Generated): SynthCase {
    const overrides: Record<string, string | undefined> = Object.fromEntries(Object.keys(CONFIG_KEYS).map((k) => [`homeiq:${k}`, undefined]));
    for (const [k, v] of Object.entries(g.values)) overrides[`homeiq:${k}`] = v;
    for (const [k, v] of Object.entries(g.otherValues)) overrides[k] = v;
    return { stack: g.stack, overrides, secretOverrides: Object.keys(g.values).filter(isSecretKey).map((k) => `homeiq:${k}`) };
}
