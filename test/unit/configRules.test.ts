/**
 * Each class of bad value a new user can give, refused by the schema with the key named (or
 * accepted in the form that is deployed). In-process: parseStackConfig, no synth.
 */
import * as os from "os";
import { parseStackConfig, type ParseOptions, type StackConfig } from "../../config/schema";
import { formatProblems, showValue } from "../../config/problems";
import { CPUS, HEALTH_WAIT_SECONDS, MEMORY_MIB, PATH_MAX, RETENTION_DAYS_MAX, SECRET_MAX, TEXT_MAX, URL_MAX } from "../../catalog/rules";
import { PROFILES } from "../../stacks";
import { parseProfile, ProfileSchema } from "../../stacks/profile";
import { SERVICE_KEYS } from "../../catalog/services";
import { credentialsFor } from "./synthCases";

const TOKEN = "a-long-lived-token-for-this-test-0123";
const BASE: Record<string, string> = {
    profile: "prod",
    homeAssistantUrl: "http://homeassistant.local:8123",
    homeAssistantToken: TOKEN,
    homeiqCheckoutPath: "/srv/homeiq",
    ...credentialsFor(SERVICE_KEYS),
};

function problemsOf(values: Record<string, unknown>, options?: ParseOptions) {
    const result = parseStackConfig({ ...BASE, ...values }, options);
    return result.ok ? [] : result.problems;
}

function accepted(values: Record<string, unknown>): StackConfig {
    const result = parseStackConfig({ ...BASE, ...values });
    if (!result.ok) throw new Error(formatProblems("test", result.problems));
    return result.config;
}

interface Refusal {
    readonly values: Record<string, unknown>;
    readonly key: string;
    readonly problem: RegExp;
    readonly options?: ParseOptions;
}

const list = (...entries: string[]): string => JSON.stringify(entries);

const REFUSED: Record<string, Refusal[]> = {
    "bounds a consumer enforces": [
        { values: { healthWaitTimeoutSeconds: String(HEALTH_WAIT_SECONDS.max + 1) }, key: "homeiq:healthWaitTimeoutSeconds", problem: /must be at most 3600/ },
        { values: { healthWaitTimeoutSeconds: "99999999999999999999" }, key: "homeiq:healthWaitTimeoutSeconds", problem: /must be at most/ },
        { values: { influxdbRetentionDays: String(RETENTION_DAYS_MAX + 1) }, key: "homeiq:influxdbRetentionDays", problem: /must be at most 99999/ },
        { values: { resourceOverrides: list(`data-api:memoryMiB=${MEMORY_MIB.max + 1}`) }, key: "homeiq:resourceOverrides[0]", problem: /not whole MiB from 16 to 1048576/ },
        { values: { resourceOverrides: list("data-api:memoryMiB=0x200") }, key: "homeiq:resourceOverrides[0]", problem: /not whole MiB/ },
        { values: { resourceOverrides: list("data-api:memoryReservationMiB=1") }, key: "homeiq:resourceOverrides[0]", problem: /not whole MiB from 6/ },
        { values: { resourceOverrides: list(`data-api:cpus=${CPUS.max + 1}`) }, key: "homeiq:resourceOverrides[0]", problem: /not cores from 0.1 to 64/ },
        { values: { resourceOverrides: list("data-api:cpus=10") }, key: "homeiq:resourceOverrides[0]", problem: /reads back as another value, so every pulumi up would replace the container/ },
        { values: { resourceOverrides: list("data-api:cpus=20.05") }, key: "homeiq:resourceOverrides[0]", problem: /reads back as another value/ },
        { values: { resourceOverrides: list("data-api:cpus=0.001") }, key: "homeiq:resourceOverrides[0]", problem: /at most 2 decimals/ },
        { values: { resourceOverrides: list("data-api:cpus=1e1") }, key: "homeiq:resourceOverrides[0]", problem: /not cores/ },
        { values: { resourceOverrides: list("data-api:diskMiB=100") }, key: "homeiq:resourceOverrides[0]", problem: /^has no known field \(diskMiB\)$/ },
        { values: { resourceOverrides: list("data-api=100") }, key: "homeiq:resourceOverrides[0]", problem: /^has no known field \(none\)$/ },
        { values: { dockerSocketGroupId: "2147483648" }, key: "homeiq:dockerSocketGroupId", problem: /group id from 0 to 2147483647/ },
        { values: { rebuildGeneration: "2147483648" }, key: "homeiq:rebuildGeneration", problem: /at most 2147483647/ },
        { values: { backupKeep: "1001" }, key: "homeiq:backupKeep", problem: /at most 1000/ },
        { values: { corsOrigins: JSON.stringify(Array.from({ length: 65 }, (_, i) => `http://homeiq.lan:${3000 + i}`)) }, key: "homeiq:corsOrigins", problem: /^has more than 64 entries$/ },
        { values: { weatherLocation: "" }, key: "homeiq:weatherLocation", problem: /^must not be empty$/ },
        { values: { sportsApiProvider: "   " }, key: "homeiq:sportsApiProvider", problem: /^must not be empty$/ },
        // Pulumi passes strings; a number (a default, a test) must be whole too.
        { values: { backupKeep: 1.5 }, key: "homeiq:backupKeep", problem: /^must be a whole number$/ },
        { values: { backupKeep: "1.5" }, key: "homeiq:backupKeep", problem: /^must be a whole number$/ },
        { values: { backupRoot: "/srv/my backups" }, key: "homeiq:backupRoot", problem: /letters, digits and _ \. \/ \+ - only/ },
        { values: { backupRoot: "/srv/backups$(id)" }, key: "homeiq:backupRoot", problem: /letters, digits/ },
        { values: { restoreFrom: "/srv/b/../etc" }, key: "homeiq:restoreFrom", problem: /must not contain '\.\.'/ },
        { values: { hostPorts: list("data-api=65536") }, key: "homeiq:hostPorts[0]", problem: /outside 1-65535/ },
        { values: { dockerHost: `unix:///${"s".repeat(120)}` }, key: "homeiq:dockerHost", problem: /longer than 107/ },
        { values: { dockerHost: "unix:///var/run/docker;id.sock" }, key: "homeiq:dockerHost", problem: /has a socket path with characters other than letters, digits and _ \. \/ -, or '\.\.'/ },
        { values: { dockerHost: "unix:///var/../run/docker.sock" }, key: "homeiq:dockerHost", problem: /has a socket path with characters other than letters, digits and _ \. \/ -, or '\.\.'/ },
        { values: { dockerHost: "tcp://docker.lan:70000" }, key: "homeiq:dockerHost", problem: /port 70000/ },
        { values: { homeAssistantUrl: "http://ha.lan:70000" }, key: "homeiq:homeAssistantUrl", problem: /^has port 70000, outside 1-65535$/ },
        { values: { latitude: "90.5" }, key: "homeiq:latitude", problem: /^must be a decimal number between -90 and 90$/ },
        { values: { longitude: "-180.25" }, key: "homeiq:longitude", problem: /^must be a decimal number between -180 and 180$/ },
        { values: { homeiqCheckoutPath: "srv/homeiq" }, key: "homeiq:homeiqCheckoutPath", problem: /^must be an absolute path \(or ~\/\.\.\.\)$/ },
        { values: { homeiqCheckoutPath: "/srv/../homeiq" }, key: "homeiq:homeiqCheckoutPath", problem: /^must not contain '\.\.'$/ },
        { values: { postDeployValidation: "yes" }, key: "homeiq:postDeployValidation", problem: /^must be true or false$/ },
        { values: { dashboardBindAddress: "homeiq.lan" }, key: "homeiq:dashboardBindAddress", problem: /^must be an IPv4 or IPv6 address/ },
        { values: { influxdbAdminToken: "an admin token with spaces in it 0123" }, key: "homeiq:influxdbAdminToken", problem: /^contains a space; a token or key is one word$/ },
        { values: { restoreFrom: "~user/homeiq-backups/prod/20261127T101500Z" }, key: "homeiq:restoreFrom", problem: /^must be an absolute path \(or ~\/\.\.\.\) of letters, digits and _ \. \/ \+ - only$/ },
        { values: { dockerHost: "ssh://deploy@docker.lan:70000" }, key: "homeiq:dockerHost", problem: /^has port 70000, outside 1-65535$/ },
        { values: { dockerHost: "http://docker.lan:2375" }, key: "homeiq:dockerHost", problem: /^must be unix:\/\/\/path, ssh:\/\/user@host\[:port\] or tcp:\/\/host:port$/ },
        { values: { dockerHost: "tcp://docker.lan" }, key: "homeiq:dockerHost", problem: /^must be unix:\/\/\/path/ },
        { values: { influxdbImage: "InfluxDB:2.7" }, key: "homeiq:influxdbImage", problem: /not an image reference Docker accepts/ },
        {
            values: { imageSource: "registry", influxdbImage: `influxdb:2.7@sha256:${"a".repeat(64)}`, imageReferences: list(`data-api=ghcr.io/homeiq/data-api@sha256:${"c".repeat(64)}`) },
            key: "homeiq:imageReferences",
            problem: /^has no image for: websocket-ingestion, enrichment-pipeline, admin-api, data-retention, /,
        },
        { values: { imageSource: "registry", influxdbImage: "influxdb:2.7" }, key: "homeiq:influxdbImage", problem: /^is not pinned by digest \(imageSource is registry\)$/ },
        {
            values: { imageSource: "registry", influxdbImage: `influxdb:2.7@sha256:${"a".repeat(64)}`, imageReferences: list(`influxdb=influxdb@sha256:${"b".repeat(64)}`) },
            key: "homeiq:imageReferences[0]",
            problem: /^sets influxdb here; influxdb's image is its own key \(homeiq:influxdbImage\)$/,
        },
        // Docker's reference grammar (distribution/reference): tag, digest, name length.
        { values: { influxdbImage: "influxdb:.2.7" }, key: "homeiq:influxdbImage", problem: /not an image reference Docker accepts/ },
        { values: { influxdbImage: `influxdb:${"7".repeat(129)}` }, key: "homeiq:influxdbImage", problem: /not an image reference Docker accepts/ },
        { values: { influxdbImage: `influxdb:2.7@sha256:${"A".repeat(64)}` }, key: "homeiq:influxdbImage", problem: /not an image reference Docker accepts/ },
        { values: { influxdbImage: "influxdb:2.7@sha256:abc123" }, key: "homeiq:influxdbImage", problem: /not an image reference Docker accepts/ },
        { values: { influxdbImage: `${"a".repeat(256)}:2.7` }, key: "homeiq:influxdbImage", problem: /not an image reference Docker accepts/ },
    ],
    "quietly does something else": [
        // The checks would go to 127.0.0.1 of the machine running pulumi, not of the Docker host.
        { values: { dockerHost: "ssh://deploy@server.lan" }, key: "homeiq:postDeployValidation", problem: /on loopback addresses of this machine/ },
        { values: { dockerHost: "tcp://10.0.0.2:2375" }, key: "homeiq:postDeployValidation", problem: /while homeiq:dockerHost runs them on another host/ },
    ],
    "a list entry that smuggles more than one value": [
        { values: { corsOrigins: list("http://homeiq.local:3000,*") }, key: "homeiq:corsOrigins[0]", problem: /holds a comma/ },
        { values: { corsOrigins: list("http://homeiq.local:3000, http://x") }, key: "homeiq:corsOrigins[0]", problem: /holds a comma/ },
        { values: { hostPorts: list("data-api:cpus=8100") }, key: "homeiq:hostPorts[0]", problem: /not of the form service=value/ },
    ],
    "origins that would never match": [
        { values: { corsOrigins: list("http://HomeIQ.local:3000") }, key: "homeiq:corsOrigins[0]", problem: /capital letters/ },
        { values: { corsOrigins: list("http://homeiq.local:80") }, key: "homeiq:corsOrigins[0]", problem: /default port 80/ },
        { values: { corsOrigins: list("http://homeiq.local:3000/app") }, key: "homeiq:corsOrigins[0]", problem: /is not an origin/ },
        { values: { corsOrigins: list("http://homeiq.local:70000") }, key: "homeiq:corsOrigins[0]", problem: /^has port 70000, outside 1-65535$/ },
    ],
    "last one silently wins": [
        { values: { hostPorts: list("data-api=9001", "data-api=9002") }, key: "homeiq:hostPorts[1]", problem: /gives data-api a second time \(first in entry 0\)/ },
        { values: { resourceOverrides: list("data-api:cpus=1", " data-api : cpus = 2") }, key: "homeiq:resourceOverrides[1]", problem: /gives data-api:cpus a second time/ },
        { values: { disabledServices: list("calendar=no account", "calendar=still none") }, key: "homeiq:disabledServices[1]", problem: /second time/ },
        { values: { imageSource: "registry", imageReferences: list("calendar=a/b@sha256:" + "0".repeat(64), "calendar=a/c@sha256:" + "1".repeat(64)) }, key: "homeiq:imageReferences[1]", problem: /second time/ },
        { values: { corsOrigins: list("http://a.lan:3000", "http://a.lan:3000") }, key: "homeiq:corsOrigins[1]", problem: /same origin a second time/ },
    ],
    "silently ignored": [
        { values: { disabledServices: list("calendar=no account"), hostPorts: list("calendar=9013") }, key: "homeiq:hostPorts[0]", problem: /sets calendar, which this stack disables/ },
        { values: { disabledServices: list("calendar=no account"), resourceOverrides: list("calendar:cpus=1") }, key: "homeiq:resourceOverrides[0]", problem: /which this stack disables/ },
        { values: { disabledServices: list("calendar=no account"), googleClientId: "abc.apps.googleusercontent.com" }, key: "homeiq:googleClientId", problem: /only calendar reads it and this stack disables it/ },
        { values: { disabledServices: list("health-dashboard=headless"), dashboardBindAddress: "0.0.0.0" }, key: "homeiq:dashboardBindAddress", problem: /only health-dashboard reads it/ },
        {
            values: { disabledServices: list("websocket-ingestion=x", "enrichment-pipeline=x", "admin-api=x", "health-dashboard=x"), weatherApiKey: "a-weather-key-0123456789" },
            key: "homeiq:weatherApiKey",
            problem: /^is set, but only websocket-ingestion, enrichment-pipeline, admin-api read it and this stack disables them: it would be silently ignored$/,
        },
        { values: { hostport: "8000" }, key: "homeiq:hostport", problem: /did you mean homeiq:hostPorts\?/ },
        { values: { HostPorts: list("data-api=9000") }, key: "homeiq:HostPorts", problem: /did you mean homeiq:hostPorts\?/ },
        { values: { "homeiq.weatherLocation": "Paris" }, key: "homeiq:homeiq.weatherLocation", problem: /did you mean homeiq:weatherLocation\?/ },
        { values: {}, options: { otherValues: { "homeIQ:dashboardBindAddress": "0.0.0.0" } }, key: "homeIQ:dashboardBindAddress", problem: /namespace 'homeIQ'.*homeiq:dashboardBindAddress/ },
        { values: {}, options: { otherValues: { "home-iq:latitude": "1" } }, key: "home-iq:latitude", problem: /namespace 'home-iq'/ },
        { values: {}, options: { otherValues: { "hoemiq:latitude": "1" } }, key: "hoemiq:latitude", problem: /namespace 'hoemiq'/ },
        { values: {}, options: { otherValues: { "homeiq-infra:profile": "dev" } }, key: "homeiq-infra:profile", problem: /namespace 'homeiq-infra'/ },
    ],
    "crashes instead of a clean refusal": [
        ...["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"].map((profile) => ({ values: { profile }, key: "homeiq:profile", problem: /is not a known profile/ })),
        { values: {}, options: { stack: "Prod" }, key: "stack name", problem: /cannot start Docker names/ },
        { values: {}, options: { stack: "../prod" }, key: "stack name", problem: /cannot start Docker names/ },
        { values: {}, options: { stack: "s".repeat(65) }, key: "stack name", problem: /cannot start Docker names/ },
    ],
    "credentials and control characters where they don't belong": [
        { values: { homeAssistantUrl: "http://admin:hunter2@homeassistant.local:8123" }, key: "homeiq:homeAssistantUrl", problem: /holds a user name or password/ },
        { values: { homeAssistantUrl: "http://admin@homeassistant.local:8123" }, key: "homeiq:homeAssistantUrl", problem: /holds a user name or password/ },
        { values: { homeAssistantUrl: "http://homeassistant.local:8123/?access_token=abc" }, key: "homeiq:homeAssistantUrl", problem: /no query or fragment/ },
        { values: { dockerHost: "ssh://deploy:hunter2@server.lan" }, key: "homeiq:dockerHost", problem: /holds a password/ },
        { values: { homeAssistantUrl: "http://homeassistant.local\n:8123" }, key: "homeiq:homeAssistantUrl", problem: /contains a newline \(U\+000A\) at position 27/ },
        { values: { weatherLocation: "Paris\u0000" }, key: "homeiq:weatherLocation", problem: /contains NUL/ },
        { values: { weatherLocation: "Paris\u001b[2J" }, key: "homeiq:weatherLocation", problem: /contains ESC/ },
        { values: { meterType: "generic\u202e" }, key: "homeiq:meterType", problem: /control or format character \(U\+202E\)/ },
        { values: { gridRegion: "CAISO\ud800" }, key: "homeiq:gridRegion", problem: /U\+D800/ },
        { values: { weatherLocation: "x".repeat(TEXT_MAX + 1) }, key: "homeiq:weatherLocation", problem: /at most 256 are allowed/ },
        { values: { weatherApiKey: "k".repeat(SECRET_MAX + 1) }, key: "homeiq:weatherApiKey", problem: /at most 4096 are allowed/ },
        { values: { homeAssistantUrl: `http://ha.lan/${"u".repeat(URL_MAX - 13)}` }, key: "homeiq:homeAssistantUrl", problem: /is 2049 characters long; at most 2048 are allowed/ },
        { values: { homeiqCheckoutPath: `/${"c".repeat(PATH_MAX)}` }, key: "homeiq:homeiqCheckoutPath", problem: /is 1025 characters long; at most 1024 are allowed/ },
        { values: { backupRoot: `/${"b".repeat(PATH_MAX)}` }, key: "homeiq:backupRoot", problem: /is 1025 characters long; at most 1024 are allowed/ },
        { values: { weatherApiKey: "two words" }, key: "homeiq:weatherApiKey", problem: /a token or key is one word/ },
        { values: { homeAssistantToken: ` ${TOKEN}` }, key: "homeiq:homeAssistantToken", problem: /spaces at its start or end/ },
        { values: { disabledServices: list("calendar=no\taccount") }, key: "homeiq:disabledServices[0]", problem: /contains a tab/ },
    ],
};

describe.each(Object.keys(REFUSED))("refused: %s", (klass) => {
    it.each(REFUSED[klass].map((c) => [`${c.key} ${JSON.stringify(c.values).slice(0, 60)}`, c] as const))("%s", (_name, c) => {
        const problems = problemsOf(c.values, c.options);
        const p = problems.find((x) => x.key === c.key);
        expect({ key: c.key, problems: problems.map((x) => `${x.key}: ${x.problem}`) }).toEqual({ key: c.key, problems: expect.arrayContaining([expect.stringMatching(new RegExp(`^${c.key.replace(/[[\].$]/g, "\\$&")}: `))]) });
        expect(p!.problem).toMatch(c.problem);
        expect(p!.allowed.length).toBeGreaterThan(0);
        expect(p!.fix).toMatch(/^pulumi (config|stack) /);
    });
});

describe("shown values", () => {
    it("masks a password inside a URL and never shows it", () => {
        const problems = problemsOf({ homeAssistantUrl: "http://admin:hunter2@ha.lan:8123", dockerHost: "ssh://deploy:hunter2@server.lan" });
        const text = formatProblems("prod", problems);
        expect(text).toContain('homeiq:homeAssistantUrl = "http://admin:[secret]@ha.lan:8123"');
        expect(text).toContain('homeiq:dockerHost = "ssh://deploy:[secret]@server.lan"');
        expect(text).not.toContain("hunter2");
    });

    it("escapes control and invisible characters and cuts long values", () => {
        expect(showValue("homeiq:weatherLocation", "a\u001b[2Jb\u202ec")).toBe('"a\\u001b[2Jb\\u202ec"');
        const long = showValue("homeiq:weatherLocation", "x".repeat(5000));
        expect(long).toBe(`"${"x".repeat(77)}..." (5000 characters)`);
    });

    it("never shows a secret, even a wrong one, nor repeats it in a fix", () => {
        const secret = "short\u0000secret";
        const problems = problemsOf({ jwtSecret: secret });
        const p = problems.find((x) => x.key === "homeiq:jwtSecret")!;
        expect(p.value).toBe("[secret]");
        expect(p.fix).toBe("pulumi config set --secret homeiq:jwtSecret");
        expect(formatProblems("prod", problems)).not.toContain("short");
    });

    it("shell-quotes anything a fix repeats from the config", () => {
        const problems = problemsOf({ "homeiq.weatherLocation": "Rock 'n' Roll $(rm -rf ~)" });
        expect(problems[0].fix).toBe("pulumi config rm homeiq:homeiq.weatherLocation && pulumi config set homeiq:weatherLocation 'Rock '\\''n'\\'' Roll $(rm -rf ~)'");
    });
});

describe("list keys at their default", () => {
    it("an empty corsOrigins deploys the profile's origins, not none", () => {
        expect(accepted({ corsOrigins: "[]" }).corsOrigins).toEqual(["http://localhost:3000"]);
    });

    it("[ ] is the default [] however it is spelled: not 'set' for a stack that disables its readers", () => {
        const problems = problemsOf({ disabledServices: list("data-api=x", "admin-api=x", "health-dashboard=x"), corsOrigins: "[ ]" });
        expect(problems.filter((p) => p.key === "homeiq:corsOrigins")).toEqual([]);
    });
});

describe("a Docker host on this machine", () => {
    it.each(["tcp://127.0.0.1:2375", "tcp://localhost:2375", "ssh://deploy@localhost", "ssh://deploy@[::1]:22"])("%s: validation of loopback ports is accepted (it reaches them)", (dockerHost) => {
        const problems = problemsOf({ dockerHost, postDeployValidation: "true" }).filter((p) => p.key === "homeiq:postDeployValidation");
        expect(problems).toEqual([]);
    });
});

describe("fix commands", () => {
    const problemOf = (values: Record<string, unknown>, key: string) => problemsOf(values).filter((p) => p.key === key);

    it.each([
        ["postDeployValidation", "yes", "pulumi config set homeiq:postDeployValidation true"],
        ["acceptPlaceholderInfluxdbToken", "No", "pulumi config set homeiq:acceptPlaceholderInfluxdbToken false"],
        ["influxdbRetentionDays", "30d", "pulumi config set homeiq:influxdbRetentionDays 30"],
        ["healthWaitTimeoutSeconds", "240s", "pulumi config set homeiq:healthWaitTimeoutSeconds 240"],
        ["imageSource", "Registry", "pulumi config set homeiq:imageSource registry"],
        // Nothing to read in it: the default.
        ["healthWaitTimeoutSeconds", "-5", "pulumi config set homeiq:healthWaitTimeoutSeconds 180"],
    ])("keep what the user meant by %s = %j", (key, value, fix) => {
        expect(problemOf({ [key]: value }, `homeiq:${key}`).map((p) => p.fix)).toEqual([fix]);
    });

    it("split comma-joined origins into entries, whether given as one text or as one entry", () => {
        expect(problemOf({ corsOrigins: "http://a.lan:3000, http://b.lan:3000" }, "homeiq:corsOrigins").map((p) => p.fix)).toEqual([
            "pulumi config rm homeiq:corsOrigins && pulumi config set --path 'homeiq:corsOrigins[0]' http://a.lan:3000 && pulumi config set --path 'homeiq:corsOrigins[1]' http://b.lan:3000",
        ]);
        expect(problemOf({ corsOrigins: list("http://c.lan:3000", "http://a.lan:3000,http://b.lan:3000") }, "homeiq:corsOrigins[1]").map((p) => p.fix)).toEqual([
            "pulumi config set --path 'homeiq:corsOrigins[1]' http://a.lan:3000 && pulumi config set --path 'homeiq:corsOrigins[2]' http://b.lan:3000",
        ]);
    });

    it("name the stack when it is known (--stack on every pulumi command of a fix)", () => {
        const [p] = problemsOf({ postDeployValidation: "yes" }, { stack: "prod" }).filter((q) => q.key === "homeiq:postDeployValidation");
        expect(p.fix).toBe("pulumi config set homeiq:postDeployValidation true --stack prod");
    });

    it("remove the one bad entry of a list, by its index", () => {
        expect(problemOf({ corsOrigins: list("http://a.lan:3000", "http://b\tlan:3000") }, "homeiq:corsOrigins[1]").map((p) => p.fix)).toEqual(["pulumi config rm --path 'homeiq:corsOrigins[1]'"]);
    });

    it("remove the last entry of a list that is too long", () => {
        const tooLong = JSON.stringify(Array.from({ length: 65 }, (_, i) => `http://homeiq.lan:${3000 + i}`));
        expect(problemOf({ corsOrigins: tooLong }, "homeiq:corsOrigins").map((p) => p.fix)).toEqual(["pulumi config rm --path 'homeiq:corsOrigins[64]'"]);
    });

    it("give a value of the wrong type one problem, its type, not zod's follow-on length checks too", () => {
        const notAList = "http://homeiq.lan:3000 and http://homeiq.lan:3001 and http://homeiq.lan:3002";
        expect(problemOf({ corsOrigins: notAList }, "homeiq:corsOrigins").map((p) => [p.problem, p.fix])).toEqual([
            ["must be a list (YAML sequence) of strings", "pulumi config rm homeiq:corsOrigins"],
        ]);
    });
});

describe("validated as deployed", () => {
    it("deploys the normal form it checked: trimmed text, tidy paths, whole numbers", () => {
        const config = accepted({
            // calendar is disabled below: its keys back to their defaults (unset).
            googleClientId: "",
            googleClientSecret: "",
            googleRefreshToken: "",
            latitude: " 36.5 ",
            weatherLocation: "  Paris ",
            homeiqCheckoutPath: "/srv//homeiq/./",
            restoreFrom: "/srv/homeiq-backups/prod/20261127T101500Z/",
            backupRoot: "~/backups//prod/",
            corsOrigins: list(" http://homeiq.lan:3000 "),
            disabledServices: list(" calendar =  no Google account "),
            hostPorts: list("data-api = 9006"),
            dockerSocketGroupId: "0999",
            healthWaitTimeoutSeconds: " 240 ",
        });
        expect(config.values.latitude).toBe("36.5");
        expect(config.values.weatherLocation).toBe("Paris");
        expect(config.images).toEqual(expect.objectContaining({ checkoutPath: "/srv/homeiq" }));
        expect(config.values.restoreFrom).toBe("/srv/homeiq-backups/prod/20261127T101500Z");
        expect(config.values.backupRoot).toBe("~/backups/prod");
        expect(config.corsOrigins).toEqual(["http://homeiq.lan:3000"]);
        expect(config.services.calendar.disabledReason).toBe("no Google account");
        expect(config.services["data-api"].hostPort).toBe(9006);
        expect(config.values.dockerSocketGroupId).toBe(999);
        expect(config.values.healthWaitTimeoutSeconds).toBe(240);
    });

    it("reads ~ as the home folder of the user running Pulumi in every path key", () => {
        const home = os.homedir();
        const config = accepted({ homeiqCheckoutPath: "~/src/HomeIQ/", restoreFrom: "~/homeiq-backups/prod/20261127T101500Z", backupRoot: "~/backups" });
        // Expanded where the consumer takes only an absolute path (the docker provider, restore.sh) ...
        expect(config.images).toEqual(expect.objectContaining({ checkoutPath: `${home}/src/HomeIQ` }));
        expect(config.values.restoreFrom).toBe(`${home}/homeiq-backups/prod/20261127T101500Z`);
        // ... kept where backup.sh expands it, on the same machine as the same user.
        expect(config.values.backupRoot).toBe("~/backups");
        // Another user's home (~user/...) is refused in each.
        for (const key of ["homeiqCheckoutPath", "restoreFrom", "backupRoot"]) {
            expect(problemsOf({ [key]: "~root/x" }).map((p) => p.key)).toContain(`homeiq:${key}`);
        }
    });

    it("accepts every bound itself", () => {
        const config = accepted({
            healthWaitTimeoutSeconds: String(HEALTH_WAIT_SECONDS.max),
            influxdbRetentionDays: String(RETENTION_DAYS_MAX),
            resourceOverrides: list(`influxdb:memoryMiB=${MEMORY_MIB.max}`, `influxdb:cpus=${CPUS.max}`, `calendar:cpus=${CPUS.min}`),
            dockerSocketGroupId: "2147483647",
            weatherLocation: "x".repeat(TEXT_MAX),
            dockerHost: "ssh://deploy@[fd00::1]:2222",
            postDeployValidation: "false",
        });
        expect(config.services.influxdb.resources).toEqual({ memoryMiB: MEMORY_MIB.max, memoryReservationMiB: 1024, cpus: CPUS.max });
        expect(config.services.calendar.resources.cpus).toBe(CPUS.min);
    });
});

describe("one source for the bounds", () => {
    it.each(Object.keys(PROFILES))("profile %s obeys the same resource bounds as homeiq:resourceOverrides", (name) => {
        const parsed = ProfileSchema.safeParse(PROFILES[name]);
        expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    });

    it("parses every profile when it loads: a profile out of bounds stops the program, naming the file and each field", () => {
        const broken = {
            ...PROFILES.prod,
            publishBindAddress: "localhost",
            resources: { ...PROFILES.prod.resources, influxdb: { memoryMiB: 4, memoryReservationMiB: 8, cpus: 1 } },
        };
        expect(() => parseProfile("prod", broken)).toThrow(/^stacks\/prod\.ts: the prod profile is not valid:\n/);
        const message = (() => {
            try {
                parseProfile("prod", broken);
                return "";
            } catch (e) {
                return (e as Error).message;
            }
        })();
        expect(message).toMatch(/- publishBindAddress: /);
        expect(message).toMatch(/- resources\.influxdb\.memoryMiB: /);
        expect(message).toMatch(/- resources\.influxdb: memoryReservationMiB is above memoryMiB/);
        expect(parseProfile("prod", PROFILES.prod)).toEqual(PROFILES.prod);
    });
});
