/**
 * Disaster recovery THROUGH THE PROGRAM, following docs/keeping-your-data.md's procedure step by step on a
 * real engine. The old host: the prod stack file under the stack `i17b-dr` (InfluxDB, data-api and
 * sports-data; the rest disabled, for time), applied by engine/apply with an off-host restic repository set
 * (`homeiq:backupCopyRepository`, a mounted-path repository standing in for the NAS); its scheduled backup
 * job, run now as the doc shows, backs up and copies. Then the host is lost: the stack is destroyed, its data
 * volumes and every local backup removed. The new host: an empty backup root and no volumes;
 * scripts/backup/fetch-copy.sh brings the newest backup back from the repository (the doc's step 2), and the
 * same stack config applied with `homeiq:restoreFrom` set to it (step 3) brings the stack up on fresh volumes.
 * Every SQLite table and the InfluxDB data are byte-identical to what was backed up (the stand-in services
 * append one row to their own `standin_starts` table each time they start: that table gains exactly the
 * restored containers' start). InfluxDB is the STAND-IN.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { ApplyError, applyStack, destroyStack, type ApplyResult, type ApplyState } from "../../engine/apply/applyStack";
import { backupDirOf, docker, REPO_ROOT, type DbDigest, type RunResult } from "./helpers";
import { engineMaxOpenFiles, influxChecksumIn, sqliteDigestIn, STANDIN_CHECKOUT, STANDIN_INFLUXDB_IMAGE, TEST_HA_TOKEN } from "./stack-helpers";

const STACK = "i17b-dr";
const PASSPHRASE = "i17b-dr-restic-passphrase-5d1e9a";
const INFLUX_TOKEN = "i17b-dr-influx-admin-token-0123456789abcdef";
const PORTS = { influxdb: 41786, "data-api": 41706, "sports-data": 41705 } as const;
const DISABLED = [
    "websocket-ingestion", "enrichment-pipeline", "admin-api", "data-retention", "carbon-intensity", "electricity-pricing",
    "air-quality", "calendar", "smart-meter", "health-dashboard", "log-aggregator",
];
const SECRETS = ["homeiq:homeAssistantToken", "homeiq:backupCopyPassphrase", "homeiq:influxdbAdminToken"];
const container = (service: keyof typeof PORTS): string => `${STACK}-${service}`;

/** Removes what this file (or an interrupted earlier run of it) left: the stack's containers, networks, volumes. */
function removeStack(): void {
    const ids = (args: string[]): string[] => docker(args).stdout.split("\n").filter((l) => l.trim());
    const label = `label=com.homeiq.stack=${STACK}`;
    const containers = ids(["ps", "-aq", "--filter", label]);
    if (containers.length) docker(["rm", "-f", "-v", ...containers]); // -v: their anonymous volumes (named ones stay)
    const networks = ids(["network", "ls", "-q", "--filter", label]);
    if (networks.length) docker(["network", "rm", ...networks]);
    const volumes = [...new Set([...ids(["volume", "ls", "-q", "--filter", label]), ...ids(["volume", "ls", "-q", "--filter", `name=^${STACK}-`])])];
    if (volumes.length) docker(["volume", "rm", "-f", ...volumes]);
}

/** A host: a project folder with Pulumi.yaml and the stack's config file (the same config on both hosts). */
function host(tag: string, copyRepo: string): { projectDir: string; backupRoot: string } {
    const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), `homeiq-${STACK}-${tag}-`));
    const backupRoot = path.join(projectDir, "backups");
    fs.mkdirSync(backupRoot);
    fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(projectDir, "Pulumi.yaml"));
    const file = path.join(projectDir, `Pulumi.${STACK}.yaml`);
    const doc = parseDocument(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.prod.yaml"), "utf8"));
    const config: Record<string, unknown> = {
        "homeiq:homeiqCheckoutPath": STANDIN_CHECKOUT,
        "homeiq:influxdbImage": STANDIN_INFLUXDB_IMAGE,
        "homeiq:backupRoot": backupRoot,
        "homeiq:maxOpenFiles": engineMaxOpenFiles(),
        "homeiq:disabledServices": DISABLED.map((s) => `${s}=not needed by the DR test`),
        "homeiq:hostPorts": Object.entries(PORTS).map(([s, p]) => `${s}=${p}`),
        "homeiq:backupCopyRepository": copyRepo,
        "homeiq:backupDrillSchedule": "off",
        "homeiq:watchEveryMinutes": 0,
    };
    for (const [k, v] of Object.entries(config)) doc.setIn(["config", k], v);
    for (const k of ["homeiq:dockerApiProxyBaseImage", "homeiq:dashboardBindAddress"]) doc.deleteIn(["config", k]);
    fs.writeFileSync(file, doc.toString());
    return { projectDir, backupRoot };
}

/**
 * The bash block of docs/keeping-your-data.md that follows the line starting with `after`, with the doc's
 * example values replaced by this test's (stack, backup root, repository): so the test runs the doc's
 * commands as written, and a change to either shows up here.
 */
function docCommand(after: string, replace: ReadonlyArray<readonly [string, string]>): string {
    const doc = fs.readFileSync(path.join(REPO_ROOT, "docs", "keeping-your-data.md"), "utf8");
    const at = doc.indexOf(after);
    if (at < 0) throw new Error(`docs/keeping-your-data.md has no line starting "${after}"`);
    const block = /```bash\n([\s\S]*?)```/.exec(doc.slice(at));
    if (!block) throw new Error(`docs/keeping-your-data.md has no bash block after "${after}"`);
    let text = block[1]!.replace(/^ +/gm, "");
    for (const [from, to] of replace) {
        if (!text.includes(from)) throw new Error(`the doc's command after "${after}" no longer holds "${from}": ${text}`);
        text = text.split(from).join(to);
    }
    return text;
}

/** Runs a command (the doc's) in the repository, with `input` on its stdin (what a user would type). */
function sh(line: string, input = ""): RunResult {
    const r = spawnSync("bash", ["-c", line], { cwd: REPO_ROOT, input, env: { ...process.env, HOMEIQ_COPY_PASSWORD: "" }, encoding: "utf8", timeout: 300_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const withoutStarts = (d: DbDigest): DbDigest => ({ ...d, tables: Object.fromEntries(Object.entries(d.tables).filter(([t]) => t !== "standin_starts")) });

function addRows(c: string, file: string, rows: number): void {
    const code = `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
c.execute("CREATE TABLE IF NOT EXISTS dr_rows (id INTEGER PRIMARY KEY, payload BLOB)")
c.executemany("INSERT INTO dr_rows (payload) VALUES (randomblob(300))", [()] * int(sys.argv[2]))
c.commit()
`;
    docker(["exec", c, "python3", "-c", code, file, String(rows)]);
}

describe("disaster recovery through the program: fetch-copy.sh, then the stack applied with restoreFrom onto fresh volumes", () => {
    const dirs: string[] = [];
    let state: ApplyState | undefined;
    const log: string[] = [];
    afterAll(async () => {
        if (state) await destroyStack(state, { log: (l) => log.push(l) }).catch(() => undefined);
        removeStack();
        for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });
    const apply = async (projectDir: string, extra: Record<string, string> = {}): Promise<ApplyResult> => {
        try {
            const r = await applyStack(STACK, {
                projectDir,
                configOverrides: { "homeiq:homeAssistantToken": TEST_HA_TOKEN, "homeiq:backupCopyPassphrase": PASSPHRASE, "homeiq:influxdbAdminToken": INFLUX_TOKEN, ...extra },
                secretOverrides: SECRETS,
                log: (l) => log.push(l),
            });
            state = r.state;
            return r;
        } catch (err) {
            if (err instanceof ApplyError) state = err.state;
            throw err;
        }
    };

    it("brings the stack up on an empty engine with byte-identical SQLite tables and InfluxDB data", async () => {
        removeStack();
        const nas = fs.mkdtempSync(path.join(os.tmpdir(), `homeiq-${STACK}-nas-`));
        dirs.push(nas);
        const repo = path.join(nas, "homeiq-restic");

        // The old host: the stack with data, its scheduled backup job run now (as the doc's "take one now").
        const old = host("old", repo);
        dirs.push(old.projectDir);
        await apply(old.projectDir);
        addRows(container("data-api"), "/app/data/metadata.db", 2000);
        addRows(container("sports-data"), "/app/data/webhooks.db", 500);
        docker(["exec", "-e", "INFLUX_TOKEN", container("influxdb"), "sh", "-c", 'printf "%s" "$1" | influx write -b home_assistant_events', "sh",
            Array.from({ length: 300 }, (_, i) => `temp,room=r${i % 5} v=${i} ${1_700_000_000 + i}`).join("\n")], { env: { INFLUX_TOKEN } });
        const b = sh(docCommand("To take a scheduled backup (and copy) now", [["~/homeiq-backups/prod", path.join(old.backupRoot, STACK)]]));
        expect({ code: b.code, stderr: b.stderr }).toEqual({ code: 0, stderr: "" });
        const backedUp = path.basename(/^HOMEIQ_BACKUP_DIR=(.*)$/m.exec(b.stdout)![1]!);
        const before = {
            dataApi: sqliteDigestIn(container("data-api"), "/app/data/metadata.db"),
            sports: sqliteDigestIn(container("sports-data"), "/app/data/webhooks.db"),
            influx: influxChecksumIn(container("influxdb")),
        };
        expect(before.dataApi.tables["dr_rows"]?.rows).toBe(2000);

        // The disaster: the host, its volumes and every local backup are gone; the repository (the NAS) is not.
        await destroyStack(state!, { log: (l) => log.push(l) });
        state = undefined;
        removeStack();
        expect(docker(["volume", "ls", "-q", "--filter", `name=^${STACK}-`]).stdout.trim()).toBe("");
        fs.rmSync(old.projectDir, { recursive: true, force: true });

        // The new host, step 2 as the doc writes it (the passphrase typed at its `read`).
        const fresh = host("new", repo);
        dirs.push(fresh.projectDir);
        const fetch = docCommand("2. Fetch the newest backup", [["HOMEIQ_STACK=prod", `HOMEIQ_STACK=${STACK}`], ["~/homeiq-backups", fresh.backupRoot], ["sftp:homeiq@nas.lan:/volume1/homeiq-restic", repo]]);
        const f = sh(fetch, `${PASSPHRASE}\n`);
        expect({ code: f.code, stderr: f.stderr }).toEqual({ code: 0, stderr: "" });
        const folder = backupDirOf(f);
        expect(path.basename(folder)).toBe(backedUp);

        // Step 3: the stack's config with restoreFrom, applied onto an engine with none of its volumes.
        const up = await apply(fresh.projectDir, { "homeiq:restoreFrom": folder });
        expect(up.events.find((e) => e.name.endsWith("-restore"))?.op).toBe("create");
        const after = {
            dataApi: sqliteDigestIn(container("data-api"), "/app/data/metadata.db"),
            sports: sqliteDigestIn(container("sports-data"), "/app/data/webhooks.db"),
            influx: influxChecksumIn(container("influxdb")),
        };
        expect(withoutStarts(after.dataApi)).toEqual(withoutStarts(before.dataApi));
        expect(withoutStarts(after.sports)).toEqual(withoutStarts(before.sports));
        expect(after.dataApi.tables["standin_starts"]?.rows).toBe(before.dataApi.tables["standin_starts"]!.rows + 1);
        expect(after.sports.tables["standin_starts"]?.rows).toBe(before.sports.tables["standin_starts"]!.rows + 1);
        expect(after.influx).toBe(before.influx);
        for (const o of [b, f]) expect(o.stdout + o.stderr).not.toContain(PASSPHRASE);
        expect(log.join("\n")).not.toContain(PASSPHRASE);
    }, 15 * 60_000);
});
