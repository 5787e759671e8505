/**
 * The migration from the old compose files, end to end on the real engine: an old-style deployment brought
 * up with `docker compose` (fixtures/compose-v1: stand-in images, old container and volume names), known
 * data in InfluxDB's stand-in and in both SQLite databases (data-api's on its volume, sports-data's in its
 * container layer), scripts/migrate/from-compose.sh, the config commands it prints run against a fake
 * `pulumi`, and the program's own restore (its Commands' environment from the synth) into a fresh stack.
 * InfluxDB is the STAND-IN (homeiq-standin/influxdb:test), not InfluxDB.
 */
import * as fs from "fs";
import * as path from "path";
import { docker, waitFor } from "./helpers";
import {
  containerState, digestOfFile, digestOnVolume, dockerArgvRecorder, layerDir, migrate, migrateName, migrationLeftovers, migrationScene, printedCommands,
  readmeLine, restoreAsProgram, runPrintedCommands, seedSql, sha256, treeChecksum, volumeDir,
} from "./migrate-helpers";

/** Strong enough for the program's rules (24+ characters, not a placeholder). */
const TOKEN = "itest-old-influx-operator-token-7c1e9a";
const ORG = "ha-ingestor";
const BUCKET = "home_assistant_events";

describe("a STOPPED old deployment moves into a fresh stack byte for byte, and nothing of it is touched", () => {
  const { old, fresh, work } = migrationScene("stopped", TOKEN);

  it("backs it up without starting or changing it, prints the config, and the program's restore brings back identical data", async () => {
    old.up();
    old.writeInflux(20000);
    const id = docker(["exec", "-e", "INFLUX_TOKEN", old.container("influxdb"), "influx", "bucket", "list", "--org", ORG, "--name", BUCKET, "--hide-headers"], {
      env: { INFLUX_TOKEN: TOKEN },
    }).stdout.split("\t")[0]!;
    docker(["exec", "-e", "INFLUX_TOKEN", old.container("influxdb"), "influx", "bucket", "update", "--id", id, "--retention", "30d"], { env: { INFLUX_TOKEN: TOKEN } });
    old.python("data-api", seedSql("wal", 20000), ["/app/data/metadata.db"]);
    old.python("sports-data", seedSql("delete", 3000), ["/app/data/webhooks.db"]);
    const before = {
      influx: old.influxChecksum(),
      dataApi: old.digest("data-api", "/app/data/metadata.db"),
      sportsData: old.digest("sports-data", "/app/data/webhooks.db"),
    };
    expect(before.dataApi.tables["events"]?.rows).toBe(20000);
    expect(before.sportsData.tables["events"]?.rows).toBe(3000);

    // The cut-over: stop (never `down -v`), as docs/migration.md's step 2 does (by project name, no compose file), then migrate.
    docker(["compose", "-p", old.project, "stop"]);
    const services = ["influxdb", "data-api", "sports-data", "data-retention"] as const;
    const oldState = () => ({
      influxData: treeChecksum(volumeDir(old.volume("influxdb_data"))),
      influxConfig: treeChecksum(volumeDir(old.volume("influxdb_config"))),
      sqliteData: treeChecksum(volumeDir(old.volume("sqlite-data"))),
      layers: services.map((s) => treeChecksum(layerDir(old.container(s)))),
      containers: services.map((s) => containerState(old.container(s))),
    });
    const stopped = oldState();
    expect(stopped.containers.map((c) => c.status)).toEqual(["exited", "exited", "exited", "exited"]);

    const root = path.join(work, "backups");
    const started = Date.now();
    const recorder = dockerArgvRecorder(work);
    const r = migrate(["--stack", fresh.stack, "--backup-root", root, "--project-glob", old.project], recorder.env);
    const seconds = (Date.now() - started) / 1000;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain(`compose project '${old.project}'`);
    expect(r.stdout).toMatch(/influxdb: .* is stopped: copying its 4 mount\(s\) through read-only mounts/);
    expect(r.stdout).toContain(`sqlite data-api: metadata.db in volume ${old.volume("sqlite-data")} (stopped: copy)`);
    expect(r.stdout).toContain(`sqlite sports-data: webhooks.db in the container layer of ${old.container("sports-data")} (stopped: copy)`);
    expect(r.stdout).toContain("nothing of it was started, changed or written");
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    // ... nor in any docker command line, from-compose.sh's or backup.sh's (the recorder saw them all).
    const argv = recorder.argv();
    expect(argv).toContain(`exec\0-e\0INFLUX_TOKEN\0`);
    expect(argv).toContain("commit\0--pause=false");
    expect(argv).not.toContain(TOKEN);

    // Nothing of the old deployment changed: its volumes and its containers' layers, sports-data's database
    // among them (every byte, mode, owner, mtime, ctime), and no container was started. The script's scratch
    // space is gone.
    expect(oldState()).toEqual(stopped);
    expect(r.stdout).toMatch(/removed the scratch containers, volumes and images \(homeiq-migrate-\d+-\d+-\*\)/);
    expect(migrationLeftovers(r.stdout)).toEqual([]);

    // The printed commands, run as printed; the token reaches `pulumi config set --secret` on stdin only.
    const commands = printedCommands(r.stdout);
    expect(commands.join("\n")).not.toContain(TOKEN);
    const { calls, config, secretKeys } = runPrintedCommands(commands, work);
    const folder = config["homeiq:restoreFrom"]!;
    expect(config).toEqual({
      "homeiq:influxdbOrg": ORG,
      "homeiq:influxdbBucket": BUCKET,
      "homeiq:influxdbRetentionDays": "30",
      "homeiq:influxdbAdminToken": TOKEN,
      "homeiq:restoreFrom": folder,
    });
    expect(secretKeys).toEqual(["homeiq:influxdbAdminToken"]);
    for (const c of calls) {
      expect(c.args.slice(-2)).toEqual(["--stack", fresh.stack]);
      expect(c.args.join(" ")).not.toContain(TOKEN);
    }
    expect(path.dirname(folder)).toBe(path.join(root, fresh.stack));
    // docs/migration.md's line (step 3) runs exactly these commands from the saved output (from a file, not on
    // stdin: a command reading stdin would eat the rest).
    fs.writeFileSync(path.join(work, "homeiq-migrate.log"), r.stdout);
    const viaReadme = runPrintedCommands([readmeLine("bash -euo pipefail <(sed -n '/^----- pulumi config -----$/")], work, { HOME: work });
    expect(viaReadme.config).toEqual(config);
    expect(viaReadme.secretKeys).toEqual(secretKeys);
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, "manifest.json"), "utf8"));
    expect(manifest).toMatchObject({ format: "homeiq-backup/1", stack: fresh.stack, reason: `migrate-from-compose:${old.project}` });
    expect(JSON.parse(fs.readFileSync(path.join(folder, "config.json"), "utf8")).migratedFrom).toMatchObject({
      composeProject: old.project,
      influxdbContainer: old.container("influxdb"),
      "sports-data": { where: `in the container layer of ${old.container("sports-data")}` },
    });

    // `pulumi up` of the new prod stack: its restore and influx-retention Commands.
    const { cmds, restore, retention } = await restoreAsProgram(fresh, "prod", config, secretKeys, work);
    expect(cmds.restore).toMatchObject({
      HOMEIQ_RESTORE_DIR: folder,
      HOMEIQ_STACK: fresh.stack,
      HOMEIQ_INFLUX_CONTAINER: fresh.influx,
      HOMEIQ_INFLUX_TOKEN: "[secret]",
      HOMEIQ_SQLITE_RESTORES: `data-api=${fresh.volume("sqlite-data")}:metadata.db:1001:1001 sports-data=${fresh.volume("sports-data")}:webhooks.db:1001:1001`,
    });
    expect({ code: restore.code, stderr: restore.stderr }).toEqual({ code: 0, stderr: "" });
    expect(restore.stdout).toContain(`restore complete from ${folder}: influxdb sqlite:data-api sqlite:sports-data`);
    expect(retention.code).toBe(0);

    // Identical: InfluxDB's data, every SQLite row, and the database files byte for byte.
    expect(old.influxChecksum(fresh.influx)).toBe(before.influx);
    expect(digestOnVolume(fresh.volume("sqlite-data"), "metadata.db")).toEqual(before.dataApi);
    expect(digestOnVolume(fresh.volume("sports-data"), "webhooks.db")).toEqual(before.sportsData);
    for (const [svc, vol, db] of [["data-api", "sqlite-data", "metadata.db"], ["sports-data", "sports-data", "webhooks.db"]] as const) {
      const file = `sqlite/${svc}/${db}`;
      const listed = manifest.files.find((f: { path: string }) => f.path === file);
      expect(sha256(path.join(volumeDir(fresh.volume(vol)), db))).toBe(listed.sha256);
      expect(sha256(path.join(folder, file))).toBe(listed.sha256);
    }
    // The carried token is the one in force, and the bucket kept its 30 days (720h).
    const row = fresh.bucketRow(TOKEN, ORG, BUCKET);
    expect(row.code).toBe(0);
    expect(row.stdout.split("\t")[2]).toBe("720h0m0s");

    // docs/migration.md's step 5: the old containers go, every old volume stays as it was.
    const kept = [old.volume("influxdb_data"), old.volume("influxdb_config"), old.volume("sqlite-data")];
    const volumesBefore = kept.map((v) => treeChecksum(volumeDir(v)));
    docker(["compose", "-p", old.project, "down"]);
    expect(docker(["ps", "-a", "-q", "--filter", `label=com.docker.compose.project=${old.project}`]).stdout.trim()).toBe("");
    const listed = docker(["volume", "ls", "--filter", `label=com.docker.compose.project=${old.project}`, "--format", "{{.Name}}"]).stdout.split("\n").filter(Boolean).sort();
    expect(listed).toEqual([...kept, old.volume("data_retention_backups"), old.volume("ha_ingestor_logs")].sort());
    expect(kept.map((v) => treeChecksum(volumeDir(v)))).toEqual(volumesBefore);

    const mib = Number(docker(["run", "--rm", "-v", `${old.volume("sqlite-data")}:/a:ro`, "-v", `${old.volume("influxdb_data")}:/b:ro`, "homeiq-standin/busybox:test", "du", "-sk", "/a", "/b"]).stdout
      .split("\n").filter(Boolean).reduce((s, l) => s + Number(l.split(/\s+/)[0]), 0)) / 1024;
    process.stdout.write(`[migrate] stopped deployment, ${mib.toFixed(1)} MiB of volumes: from-compose.sh took ${seconds.toFixed(1)} s\n`);
  }, 600_000);
});

/** A writer like data-api's: batches of 10 rows in one transaction each, until /tmp/stop-writer exists. */
const WRITER = `
import os, sqlite3, time
c = sqlite3.connect("/app/data/metadata.db", timeout=30)
batch = 0
while not os.path.exists("/tmp/stop-writer"):
    with c:
        c.executemany("INSERT INTO events (batch, device_id, ts, payload) VALUES (?, ?, ?, randomblob(64))", [(batch, i, time.time()) for i in range(10)])
    batch += 1
    time.sleep(0.005)
c.close()
open("/tmp/writer-done", "w").write(str(batch))
`;

const COUNT_PY = `
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=30)
print(c.execute("SELECT count(*) FROM events").fetchone()[0])
`;

/** Batches that are not exactly 10 rows (a torn transaction), and the batch numbers present. */
const BATCHES_PY = `
import json, sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
torn = c.execute("SELECT batch, count(*) FROM events WHERE batch >= 0 GROUP BY batch HAVING count(*) != 10").fetchall()
lo, hi, n = c.execute("SELECT min(batch), max(batch), count(DISTINCT batch) FROM events WHERE batch >= 0").fetchone()
print(json.dumps({"torn": torn, "min": lo, "max": hi, "batches": n}))
`;

describe("a RUNNING old deployment, with data-api's database under a live writer", () => {
  const { old, fresh, work } = migrationScene("running", TOKEN);

  it("takes a consistent online backup (no torn transaction), leaves the old data as it was, and restores it identically", async () => {
    old.up();
    old.writeInflux(5000);
    old.python("data-api", seedSql("wal", 20000), ["/app/data/metadata.db"]);
    old.python("sports-data", seedSql("delete", 3000), ["/app/data/webhooks.db"]);
    const influxBefore = old.influxChecksum();
    const sportsBefore = old.digest("sports-data", "/app/data/webhooks.db");
    // Content only (no times): the running stand-in takes a lock folder while backing up, as a real server writes.
    const content = () => ({
      influxData: treeChecksum(volumeDir(old.volume("influxdb_data")), false),
      influxConfig: treeChecksum(volumeDir(old.volume("influxdb_config")), false),
      sportsDataLayer: treeChecksum(layerDir(old.container("sports-data")), false),
    });
    const contentBefore = content();
    const count = () => Number(old.python("data-api", COUNT_PY, ["/app/data/metadata.db"]).trim());

    docker(["exec", "-d", old.container("data-api"), "python3", "-c", WRITER]);
    const atStart = waitFor("the writer past its first 100 rows", () => {
      const n = count();
      return n >= 20100 && n;
    });
    expect(atStart).toBeGreaterThanOrEqual(20100);

    const root = path.join(work, "backups");
    const r = migrate(["--stack", fresh.stack, "--backup-root", root, "--project-glob", old.project]);
    const afterBackup = count();
    docker(["exec", old.container("data-api"), "touch", "/tmp/stop-writer"]);
    const done = waitFor("the writer's last batch (/tmp/writer-done)", () => {
      const r = docker(["exec", old.container("data-api"), "cat", "/tmp/writer-done"], { allowFail: true });
      return r.code === 0 && r;
    });
    const batches = Number(done.stdout.trim());

    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain("the old deployment is RUNNING");
    expect(r.stdout).toContain(`docker compose -p ${old.project} stop`);
    expect(r.stdout).toContain(`127.0.0.1:${old.influxPort}->8086/tcp`);
    expect(r.stdout).toContain(`sqlite data-api: metadata.db in volume ${old.volume("sqlite-data")} (running: online backup)`);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);

    // The snapshot: taken while the writer ran (rows after the seed, fewer than the writer went on to write),
    // every transaction whole, batches contiguous.
    const { config, secretKeys } = runPrintedCommands(printedCommands(r.stdout), work);
    const folder = config["homeiq:restoreFrom"]!;
    const backupFile = path.join(folder, "sqlite", "data-api", "metadata.db");
    const snapshot = digestOfFile(backupFile);
    const snapshotRows = snapshot.tables["events"]!.rows;
    expect(snapshot.integrity).toBe("ok");
    expect(snapshotRows).toBeGreaterThan(20000);
    expect(snapshotRows).toBeLessThan(afterBackup + 1);
    expect(20000 + batches * 10).toBeGreaterThan(snapshotRows);
    expect((snapshotRows - 20000) % 10).toBe(0);
    const name = migrateName("batches");
    docker(["create", "--name", name, "--network", "none", "homeiq-standin/python:test", "python3", "-c", BATCHES_PY, "/tmp/db"]);
    let consistency: { torn: unknown[]; min: number; max: number; batches: number };
    try {
      docker(["cp", backupFile, `${name}:/tmp/db`]);
      consistency = JSON.parse(docker(["start", "-a", name]).stdout);
    } finally {
      docker(["rm", "-f", name], { allowFail: true });
    }
    expect(consistency).toEqual({ torn: [], min: 0, max: (snapshotRows - 20000) / 10 - 1, batches: (snapshotRows - 20000) / 10 });

    // The old deployment's data is as it was (the writer's own rows aside) and nothing was left behind.
    expect(content()).toEqual(contentBefore);
    expect(old.influxChecksum()).toBe(influxBefore);
    const oldDb = old.digest("data-api", "/app/data/metadata.db");
    expect(oldDb.integrity).toBe("ok");
    expect(oldDb.tables["events"]?.rows).toBe(20000 + batches * 10);
    const files = docker(["exec", old.container("data-api"), "ls", "-A", "/app/data"]).stdout.split("\n").filter(Boolean).sort();
    expect(files.filter((f) => !/^metadata\.db(-wal|-shm)?$/.test(f))).toEqual([]);
    expect(docker(["exec", old.container("sports-data"), "ls", "-A", "/app/data"]).stdout.split("\n").filter(Boolean)).toEqual(["webhooks.db"]);
    expect(docker(["exec", old.container("influxdb"), "ls", "-A", "/tmp"]).stdout.split("\n").filter((f) => f.startsWith("homeiq-backup"))).toEqual([]);

    // The dev profile's restore this time (data owned by root: dev runs the images as built).
    const { cmds, restore } = await restoreAsProgram(fresh, "dev", config, secretKeys, work);
    expect(cmds.restore.HOMEIQ_SQLITE_RESTORES).toBe(`data-api=${fresh.volume("sqlite-data")}:metadata.db:0:0 sports-data=${fresh.volume("sports-data")}:webhooks.db:0:0`);
    expect({ code: restore.code, stderr: restore.stderr }).toEqual({ code: 0, stderr: "" });
    expect(digestOnVolume(fresh.volume("sqlite-data"), "metadata.db")).toEqual(snapshot);
    expect(digestOnVolume(fresh.volume("sports-data"), "webhooks.db")).toEqual(sportsBefore);
    expect(sha256(path.join(volumeDir(fresh.volume("sqlite-data")), "metadata.db"))).toBe(sha256(backupFile));
    expect(old.influxChecksum(fresh.influx)).toBe(influxBefore);
    expect(fresh.bucketRow(TOKEN, ORG, BUCKET).code).toBe(0);
  }, 600_000);
});

describe("an old deployment of the old prod file: no data-api, no sports-data", () => {
  const { old, fresh, work } = migrationScene("prod-file", TOKEN);

  it("migrates InfluxDB, reports both databases as absent, and the restore leaves the new SQLite volumes alone", async () => {
    old.up(["influxdb", "data-retention"]);
    old.writeInflux(3000);
    const influxBefore = old.influxChecksum();
    const r = migrate(["--stack", fresh.stack, "--backup-root", path.join(work, "backups"), "--project-glob", old.project]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain(`sqlite data-api: no data-api container in project '${old.project}' (the old prod compose file had none); nothing to migrate for it`);
    expect(r.stdout).toContain(`sqlite sports-data: no sports-data container in project '${old.project}'`);
    const { config, secretKeys } = runPrintedCommands(printedCommands(r.stdout), work);
    const folder = config["homeiq:restoreFrom"]!;
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, "manifest.json"), "utf8"));
    expect(manifest.sqlite).toEqual([]);
    expect(manifest.files.map((f: { path: string }) => f.path).filter((p: string) => p.startsWith("sqlite/"))).toEqual([]);

    // The new stack's SQLite volumes already hold something (as after a first start): the restore must leave
    // every byte, mode, owner and time of both as it is.
    const sqliteVolumes = [fresh.volume("sqlite-data"), fresh.volume("sports-data")];
    let volumesBefore: string[] = [];
    const { restore } = await restoreAsProgram(fresh, "prod", config, secretKeys, work, () => {
      docker(["run", "--rm", "--network", "none", "-v", `${sqliteVolumes[0]}:/a`, "-v", `${sqliteVolumes[1]}:/b`, "homeiq-standin/busybox:test", "sh", "-ec",
        "echo new-stack-data >/a/metadata.db; echo wal >/a/metadata.db-wal; echo new-stack-data >/b/webhooks.db; chown -R 1001:1001 /a /b"]);
      volumesBefore = sqliteVolumes.map((v) => treeChecksum(volumeDir(v)));
    });
    expect(volumesBefore).toHaveLength(2);
    expect({ code: restore.code, stderr: restore.stderr }).toEqual({ code: 0, stderr: "" });
    expect(restore.stdout).toContain(`sqlite data-api: the backup holds no database for it (not deployed when taken); leaving volume ${fresh.volume("sqlite-data")} as it is`);
    expect(restore.stdout).toContain(`sqlite sports-data: the backup holds no database for it (not deployed when taken); leaving volume ${fresh.volume("sports-data")} as it is`);
    expect(sqliteVolumes.map((v) => treeChecksum(volumeDir(v)))).toEqual(volumesBefore);
    expect(restore.stdout).toContain(`restore complete from ${folder}: influxdb`);
    expect(old.influxChecksum(fresh.influx)).toBe(influxBefore);
  }, 300_000);
});
