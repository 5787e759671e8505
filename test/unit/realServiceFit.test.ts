/**
 * What running HomeIQ's real services under the program's specs found (engine/real-homeiq), held as
 * unit properties of the catalog and the config check: services that exit at start without a key are
 * refused unless the key is set or the service disabled; the committed stacks disable exactly those;
 * admin-api is told where the services it reports on live; logs that rotate into a tmpfs fit in it;
 * a health check never depends on a third party's API.
 */
import * as path from "path";
import { ALL_SERVICES, SERVICE_CATALOG, SERVICE_KEYS, type ServiceKey } from "../../catalog/services";
import { CONFIG_KEYS, isSecretKey } from "../../config/keys";
import { parseStackConfig } from "../../config/schema";
import { readStackFiles } from "../../synth/stackFiles";
import { credentialsFor, REQUIRED_VALUES } from "./synthCases";

const REPO = path.resolve(__dirname, "..", "..");
const NEEDS_KEYS = ALL_SERVICES.filter((s) => s.requiredConfig !== undefined).map((s) => s.key);
const others = (key: ServiceKey): ServiceKey[] => NEEDS_KEYS.filter((k) => k !== key);
const disabledList = (keys: readonly ServiceKey[]): string => JSON.stringify(keys.map((k) => `${k}=not in this test`));

describe("services whose code exits at start without a key", () => {
    it("are the three the real code showed, each naming the keys its code reads", () => {
        expect(Object.fromEntries(NEEDS_KEYS.map((k) => [k, SERVICE_CATALOG[k].requiredConfig!.keys]))).toEqual({
            "carbon-intensity": ["wattTimeApiToken"],
            "air-quality": ["airnowApiKey"],
            calendar: ["googleClientId", "googleClientSecret", "googleRefreshToken"],
        });
        for (const k of NEEDS_KEYS) for (const key of SERVICE_CATALOG[k].requiredConfig!.keys) expect(Object.keys(CONFIG_KEYS)).toContain(key);
    });

    it.each(NEEDS_KEYS)("%s without its keys is refused, naming the key, the service and both fixes", (service) => {
        const result = parseStackConfig({ profile: "prod", ...REQUIRED_VALUES, ...credentialsFor(others(service)) });
        expect(result.ok).toBe(false);
        const problems = result.ok ? [] : result.problems;
        const keys = SERVICE_CATALOG[service].requiredConfig!.keys;
        expect(problems.map((p) => p.key)).toEqual([`homeiq:${keys[0]}`]);
        const p = problems[0];
        expect(p.problem).toContain(`${service} cannot start without ${keys.map((k) => `homeiq:${k}`).join(", ")}`);
        expect(p.allowed).toContain(`pulumi config set --path 'homeiq:disabledServices[0]' '${service}=not configured: needs`);
        // The fix sets every missing key; a secret through the prompt, never on the command line.
        expect(p.fix.split(" && ")).toEqual(
            keys.map((k) => (isSecretKey(k) ? `pulumi config set --secret homeiq:${k}` : `pulumi config set homeiq:${k} '<your ${k}>'`)),
        );
    });

    it("the air-quality refusal, word for word", () => {
        const result = parseStackConfig({ profile: "prod", ...REQUIRED_VALUES, ...credentialsFor(others("air-quality")) });
        expect(result.ok ? [] : result.problems).toEqual([
            {
                key: "homeiq:airnowApiKey",
                value: "(not set)",
                problem:
                    "air-quality cannot start without homeiq:airnowApiKey: its main.py raises ValueError at start when AIRNOW_API_KEY is empty; " +
                    "it would restart forever and `pulumi up` would fail waiting for it",
                allowed: "homeiq:airnowApiKey set, or air-quality disabled (pulumi config set --path 'homeiq:disabledServices[0]' 'air-quality=not configured: needs homeiq:airnowApiKey')",
                fix: "pulumi config set --secret homeiq:airnowApiKey",
            },
        ]);
    });

    it.each(NEEDS_KEYS)("%s is accepted with its keys set, or disabled", (service) => {
        expect(parseStackConfig({ profile: "prod", ...REQUIRED_VALUES, ...credentialsFor(NEEDS_KEYS) }).ok).toBe(true);
        expect(parseStackConfig({ profile: "prod", ...REQUIRED_VALUES, ...credentialsFor(others(service)), disabledServices: disabledList([service]) }).ok).toBe(true);
    });

    it.each(["dev", "prod"])("the committed %s stack disables exactly them, each entry naming its keys, and passes as it is", (stack) => {
        const file = readStackFiles(REPO, stack);
        const values: Record<string, string> = {};
        for (const [k, v] of Object.entries(file.config)) if (k.startsWith("homeiq:")) values[k.slice("homeiq:".length)] = v;
        const entries = JSON.parse(values.disabledServices) as string[];
        expect(entries.map((e) => e.split("=")[0]).sort()).toEqual([...NEEDS_KEYS].sort());
        for (const e of entries) {
            const service = e.split("=")[0] as ServiceKey;
            for (const key of SERVICE_CATALOG[service].requiredConfig!.keys) expect(e).toContain(`homeiq:${key}`);
        }
        const result = parseStackConfig({ ...values, homeAssistantToken: REQUIRED_VALUES.homeAssistantToken });
        expect(result.ok ? "ok" : result.problems).toBe("ok");
    });
});

describe("what admin-api and data-api are told about the other services", () => {
    it("admin-api's service URLs name catalog services on their container ports (unset, its code asks localhost)", () => {
        const env = SERVICE_CATALOG["admin-api"].fixedEnvironment;
        const urls = Object.entries(env).filter(([k]) => k.endsWith("_URL"));
        expect(urls.map(([k]) => k).sort()).toEqual(
            [
                "AIR_QUALITY_URL",
                "CALENDAR_URL",
                "CARBON_INTENSITY_URL",
                "DATA_RETENTION_URL",
                "ELECTRICITY_PRICING_URL",
                "ENRICHMENT_PIPELINE_URL",
                "LOG_AGGREGATOR_URL",
                "SMART_METER_URL",
                "WEBSOCKET_INGESTION_URL",
            ].sort(),
        );
        for (const [name, url] of urls) {
            const m = /^http:\/\/([a-z-]+):(\d+)$/.exec(url);
            expect({ name, url, ok: m !== null }).toEqual({ name, url, ok: true });
            const target = m![1] as ServiceKey;
            expect(SERVICE_KEYS).toContain(target);
            expect({ name, port: Number(m![2]) }).toEqual({ name, port: SERVICE_CATALOG[target].containerPort });
        }
    });
});

describe("files the real code writes on a read-only root", () => {
    const TMPFS_MIB = 64;

    it("admin-api gets a writable /app/logs (its logging opens /app/logs/ha-ingestor.log at import)", () => {
        expect(SERVICE_CATALOG["admin-api"].security.tmpfsPaths).toContain("/app/logs");
    });

    it("rotating logs in /app/logs fit the tmpfs: admin-api's two logs and websocket-ingestion's one, each with its backups", () => {
        const admin = SERVICE_CATALOG["admin-api"].fixedEnvironment;
        const adminMiB = 2 * Number(admin.LOG_MAX_FILE_SIZE_MB) * (1 + Number(admin.LOG_BACKUP_COUNT));
        expect(adminMiB).toBeGreaterThan(0);
        expect(adminMiB).toBeLessThan(TMPFS_MIB);
        const ws = SERVICE_CATALOG["websocket-ingestion"].fixedEnvironment;
        const wsMiB = (Number(ws.LOG_MAX_SIZE) / 2 ** 20) * (1 + Number(ws.LOG_BACKUP_COUNT));
        expect(wsMiB).toBeGreaterThan(0);
        expect(wsMiB).toBeLessThan(TMPFS_MIB);
        expect(SERVICE_CATALOG["websocket-ingestion"].security.tmpfsPaths).toContain("/app/logs");
    });
});

describe("health checks", () => {
    it("sports-data's asks its own root route, not /health (which calls ESPN with a 10 s timeout)", () => {
        const hc = SERVICE_CATALOG["sports-data"].healthCheck;
        expect(hc.httpPath).toBe("/");
        expect(hc.test.join(" ")).toContain("http://localhost:8005/'");
        expect(hc.test.join(" ")).not.toContain("/health");
    });
});
