/**
 * scripts/migrate/from-compose.sh on old deployments as users really have them, each brought up with real
 * `docker compose` (fixtures/compose-v1, stand-in images; InfluxDB is the STAND-IN):
 *   - removed with `docker compose down` (only the labelled volumes left): named, with the exact commands;
 *     migrated straight from the volumes (read-only, through never-started scratch containers) and, once
 *     recreated with `docker compose create` (containers "created", never started), as a stopped
 *     deployment; both times the program's restore brings back identical data;
 *   - values the program would refuse (an organisation with a space and `$( … )`, a retention beyond its
 *     bound): refused before anything is written, naming the value's source and the fix; nothing runs;
 *   - diagnoses that name the real cause: a paused and a crash-looping container, an InfluxDB that accepts
 *     the command but never answers (bounded), a SQLite database held locked by a writer (locked, not
 *     damaged: no advice to put back an older copy).
 */
import * as fs from "fs";
import * as path from "path";
import { docker, waitFor } from "./helpers";
import {
  containerState, digestOnVolume, migrate, migrateName, migrationLeftovers, migrationScene, OldDeployment, printedCommands, restoreAsProgram,
  runPrintedCommands, seedSql, tmpDir, treeChecksum, volumeDir,
} from "./migrate-helpers";

const TOKEN = "itest-old-influx-operator-token-9a2d71";

/** The backup root holds nothing (a refusal wrote no backup, not even a .partial folder). */
function emptyRoot(root: string): boolean {
  return !fs.existsSync(root) || fs.readdirSync(root).every((s) => fs.readdirSync(path.join(root, s)).length === 0);
}

describe("a deployment removed with `docker compose down`: only its labelled volumes are left", () => {
  const { old, fresh, work } = migrationScene("down", TOKEN);

  it("is named with the commands to run; migrated from the volumes, and again once recreated without starting it, it restores identically", async () => {
    old.up();
    old.writeInflux(3000);
    old.python("data-api", seedSql("wal", 3000), ["/app/data/metadata.db"]);
    const before = { influx: old.influxChecksum(), dataApi: old.digest("data-api", "/app/data/metadata.db") };
    old.compose(["down"]);
    expect(docker(["ps", "-a", "-q", "--filter", `label=com.docker.compose.project=${old.project}`]).stdout.trim()).toBe("");

    const root = path.join(work, "backups");
    const args = ["--stack", fresh.stack, "--backup-root", root, "--project-glob", old.project];
    const gone = migrate(args);
    expect(gone.code).toBe(20);
    expect(gone.stderr).toContain(`compose project '${old.project}' has no containers left, only its volumes (it was removed with 'docker compose down'`);
    expect(gone.stderr).toContain(`  - ${old.volume("influxdb_data")} (compose volume influxdb_data)`);
    expect(gone.stderr).toContain(`  - ${old.volume("sqlite-data")} (compose volume sqlite-data)`);
    expect(gone.stderr).toContain(`  docker compose -p ${old.project} -f /path/to/HomeIQ/docker-compose.yml create\n`);
    expect(gone.stderr).toContain(`  scripts/migrate/from-compose.sh ${args.join(" ")}\n`);
    expect(gone.stderr).toContain(`  scripts/migrate/from-compose.sh ${args.join(" ")} --influx-image influxdb:2.7 [--python-image IMAGE]`);
    expect(gone.stderr).toContain("Nothing was changed");
    expect(emptyRoot(root)).toBe(true);

    // Straight from the volumes: the image the old InfluxDB ran, the token, and an image with python3.
    const volumes = () => (["influxdb_data", "influxdb_config", "sqlite-data"] as const).map((v) => treeChecksum(volumeDir(old.volume(v))));
    const volumesBefore = volumes();
    const env = { HOMEIQ_MIGRATE_INFLUX_TOKEN: TOKEN };
    const direct = migrate([...args, "--influx-image", "homeiq-standin/influxdb:test", "--python-image", "homeiq-standin/python:test"], env);
    expect({ code: direct.code, stderr: direct.stderr }).toEqual({
      code: 0,
      stderr: `[homeiq-migrate] WARNING: sqlite sports-data: its container is gone and no volume of project '${old.project}' holds /app/data/webhooks.db (sports-data kept webhooks.db in its container layer); nothing to migrate for it\n`,
    });
    expect(direct.stdout).toContain(`compose project '${old.project}': no containers left, only volumes: reading them read-only through never-started scratch containers`);
    expect(direct.stdout).toContain(`sqlite data-api: metadata.db in volume ${old.volume("sqlite-data")} (stopped: copy)`);
    expect(migrationLeftovers(direct.stdout)).toEqual([]);
    expect(volumes()).toEqual(volumesBefore);
    const fromVolumes = runPrintedCommands(printedCommands(direct.stdout), work, env);
    expect(fromVolumes.config["homeiq:influxdbAdminToken"]).toBe(TOKEN);
    const first = await restoreAsProgram(fresh, "prod", fromVolumes.config, fromVolumes.secretKeys, work);
    expect({ code: first.restore.code, stderr: first.restore.stderr }).toEqual({ code: 0, stderr: "" });
    expect(old.influxChecksum(fresh.influx)).toBe(before.influx);
    expect(digestOnVolume(fresh.volume("sqlite-data"), "metadata.db")).toEqual(before.dataApi);
    fresh.remove();

    // What the message says, with the old compose file: containers on the same volumes, created, never started.
    old.compose(["create"]);
    const states = () => ["influxdb", "data-api", "sports-data"].map((s) => containerState(old.container(s as "influxdb")));
    const created = states();
    expect(created.map((s) => s.status)).toEqual(["created", "created", "created"]);

    const r = migrate(args);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/influxdb: .* is stopped: copying its 4 mount\(s\) through read-only mounts/);
    expect(r.stdout).toContain(`sqlite sports-data: no webhooks.db in the container layer of ${old.container("sports-data")} (nothing to migrate for it)`);
    expect(states()).toEqual(created); // still never started

    const { config, secretKeys } = runPrintedCommands(printedCommands(r.stdout), work);
    const { restore } = await restoreAsProgram(fresh, "prod", config, secretKeys, work);
    expect({ code: restore.code, stderr: restore.stderr }).toEqual({ code: 0, stderr: "" });
    expect(old.influxChecksum(fresh.influx)).toBe(before.influx);
    expect(digestOnVolume(fresh.volume("sqlite-data"), "metadata.db")).toEqual(before.dataApi);
  }, 600_000);
});

describe("values the program would refuse are refused before anything is written", () => {
  const work = tmpDir("values");
  const mark = path.join(work, "MARK");
  // An organisation with a space and a command substitution: the old script printed it unquoted.
  const badOrg = new OldDeployment("bad-org", TOKEN, { INFLUXDB_ORG: `home lab$(touch ${mark})` });
  const { old } = migrationScene("retention", TOKEN);
  const stack = migrateName("new");
  afterAll(() => {
    badOrg.remove();
    fs.rmSync(work, { recursive: true, force: true });
  });
  beforeAll(async () => {
    await Promise.all([badOrg.upAsync(["influxdb", "data-api"]), old.upAsync(["influxdb", "data-api"])]);
  }, 300_000);

  it("an organisation the schema refuses: exit 19, naming where it came from and the fix; nothing runs", () => {
    const root = path.join(work, "org");
    const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", badOrg.project]);
    expect(r.code).toBe(19);
    expect(r.stderr).toContain(`the old InfluxDB organisation 'home lab$(touch ${mark})' (from DOCKER_INFLUXDB_INIT_ORG in the environment of ${badOrg.container("influxdb")}) is not a name the program accepts as homeiq:influxdbOrg`);
    expect(r.stderr).toContain("then run this again with --influx-org NEW");
    expect(r.stdout).not.toContain("pulumi config set");
    expect(emptyRoot(root)).toBe(true);
    expect(fs.existsSync(mark)).toBe(false);
  });

  it("a retention beyond homeiq:influxdbRetentionDays' bound: exit 19 with the command that fixes it", () => {
    const id = docker(["exec", "-e", "INFLUX_TOKEN", old.container("influxdb"), "influx", "bucket", "list", "--org", "ha-ingestor", "--name", "home_assistant_events", "--hide-headers"], {
      env: { INFLUX_TOKEN: TOKEN },
    }).stdout.split("\t")[0]!;
    docker(["exec", "-e", "INFLUX_TOKEN", old.container("influxdb"), "influx", "bucket", "update", "--id", id, "--retention", "100000d"], { env: { INFLUX_TOKEN: TOKEN } });
    const root = path.join(work, "retention");
    const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", old.project]);
    expect(r.code).toBe(19);
    expect(r.stderr).toContain("influxdb: bucket 'home_assistant_events' keeps data for 2400000h0m0s (100000 days, from 'influx bucket list'");
    expect(r.stderr).toContain("accepts 0 (forever) or 1-99999 days");
    expect(emptyRoot(root)).toBe(true);
  });
});

describe("diagnoses name the real cause", () => {
  const { old, work } = migrationScene("diagnoses", TOKEN);
  const crash = new OldDeployment("crash-loop", TOKEN, { SPORTS_DATA_COMMAND: 'sh -c "exit 3"', SPORTS_DATA_RESTART: "always" });
  const stack = migrateName("new");
  afterAll(() => crash.remove());
  beforeAll(async () => {
    await Promise.all([old.upAsync(), crash.upAsync(["influxdb", "sports-data"])]);
    old.python("data-api", seedSql("delete", 500), ["/app/data/metadata.db"]);
  }, 300_000);

  it("a paused InfluxDB: exit 16, named as paused, with the command that unpauses it", () => {
    docker(["pause", old.container("influxdb")]);
    try {
      const root = path.join(work, "paused");
      const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", old.project]);
      expect(r.code).toBe(16);
      expect(r.stderr).toContain(`influxdb: container ${old.container("influxdb")} is PAUSED (docker pause)`);
      expect(r.stderr).toContain(`docker unpause ${old.container("influxdb")}`);
      expect(emptyRoot(root)).toBe(true);
    } finally {
      docker(["unpause", old.container("influxdb")]);
    }
  });

  it("a crash-looping container: exit 16, named as restarting with its restart count (not 'data not found')", () => {
    const ctr = crash.container("sports-data");
    waitFor(`${ctr} restarting after at least 4 crashes`, () => {
      const s = containerState(ctr);
      return s.status === "restarting" && s.restartCount >= 4;
    }, { timeoutMs: 60_000 });
    const root = path.join(work, "restarting");
    const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", crash.project]);
    expect(r.code).toBe(16);
    expect(r.stderr).toMatch(new RegExp(`sqlite sports-data: container ${ctr} is RESTARTING \\(crash loop, \\d+ restarts so far; see 'docker logs --tail 50 ${ctr}'\\)`));
    expect(r.stderr).toContain(`docker compose -p ${crash.project} stop`);
    expect(emptyRoot(root)).toBe(true);
  });

  it("an InfluxDB that accepts the command but never answers: exit 17 within the bound, not a hang", () => {
    const influx = old.container("influxdb");
    docker(["exec", influx, "sh", "-c", "cp /usr/local/bin/influx /tmp/influx.real && printf '#!/bin/sh\\nexec sleep 3600\\n' > /usr/local/bin/influx"]);
    try {
      const root = path.join(work, "no-answer");
      const started = Date.now();
      const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", old.project], { HOMEIQ_MIGRATE_ANSWER_TIMEOUT: "2" });
      const seconds = (Date.now() - started) / 1000;
      expect(r.code).toBe(17);
      expect(r.stderr).toContain(`influxdb: ${influx} did not answer 'influx bucket list' within 2s (HOMEIQ_MIGRATE_ANSWER_TIMEOUT)`);
      expect(seconds).toBeLessThan(60);
      expect(emptyRoot(root)).toBe(true);
    } finally {
      docker(["exec", influx, "sh", "-c", "cp /tmp/influx.real /usr/local/bin/influx && rm /tmp/influx.real"]);
    }
  });

  it("a SQLite database held locked by a writer: exit 18, LOCKED and not damaged (no advice to put back an older copy); once released it migrates", () => {
    const api = old.container("data-api");
    const locker = `
import os, sqlite3, time
c = sqlite3.connect("/app/data/metadata.db", isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
open("/tmp/locked", "w").close()
while not os.path.exists("/tmp/unlock"):
    time.sleep(0.05)
c.execute("COMMIT")
os.remove("/tmp/locked")
`;
    docker(["exec", "-d", api, "python3", "-c", locker]);
    waitFor("the writer holding its lock", () => docker(["exec", api, "test", "-e", "/tmp/locked"], { allowFail: true }).code === 0);
    const root = path.join(work, "locked");
    const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", old.project], { HOMEIQ_MIGRATE_SQLITE_BUSY_TIMEOUT: "2" });
    docker(["exec", api, "touch", "/tmp/unlock"]);
    expect(r.code).toBe(18);
    expect(r.stderr).toContain(`sqlite data-api: /app/data/metadata.db in volume ${old.volume("sqlite-data")} is LOCKED, not damaged: database is locked (another connection held its lock for more than 2 s)`);
    expect(r.stderr).not.toContain("is damaged");
    expect(r.stderr).not.toContain("older copy");
    expect(emptyRoot(root)).toBe(true);

    waitFor("the writer releasing its lock", () => docker(["exec", api, "test", "-e", "/tmp/locked"], { allowFail: true }).code !== 0);
    const ok = migrate(["--stack", stack, "--backup-root", root, "--project-glob", old.project]);
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
    expect(ok.stdout).toMatch(/sqlite data-api: metadata\.db in volume .* \(running: online backup\): \d+ bytes, 2 tables, journal_mode delete, quick_check ok/);
  });
});
