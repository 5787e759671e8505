/**
 * backup.sh -> lose everything -> restore.sh, and restore.sh refusing damaged
 * backups, on a real Docker engine with the environment the program gives the
 * scripts. InfluxDB is the locally built STAND-IN (homeiq-standin/influxdb:stack).
 */
import * as fs from "fs";
import * as path from "path";
import {
  backupDirOf, backupEnv, createStack, docker, IMAGES, influxChecksum, influxChecksumOfBackup, listFiles, pythonInContainer, pythonOnVolume, Resources, restoreEnv,
  runScript, SERVICE_UID, sha256File, sqliteDigestOnVolume, Stack, startInflux, startService, volumeChecksums, writeInflux,
} from "./helpers";

const TOKEN = "homeiq-test-token-restore-4b1d";

describe.each([
  ["DIRECT (local engine, the default)", "auto", "direct", "run"],
  ["STREAM (as for a remote engine)", "stream", "stream", "exec"],
] as const)("backup (%s) then restore onto recreated containers and volumes", (_name, transfer, recorded, method) => {
  const res = new Resources();
  afterAll(() => res.cleanup());

  it("restores SQLite (row counts and per-table checksums) and InfluxDB data identical to what was backed up", async () => {
    const s = await createStack(res, `roundtrip-${recorded}`, TOKEN);
    const before = {
      dataApi: sqliteDigestOnVolume(s.dataApi.volume, s.dataApi.db),
      sportsData: sqliteDigestOnVolume(s.sportsData.volume, s.sportsData.db),
      influx: influxChecksum(s),
    };
    expect(before.dataApi.tables["events"]?.rows).toBe(3000);
    expect(before.sportsData.tables["events"]?.rows).toBe(500);

    const root = res.tmpDir("roundtrip-root");
    const b = runScript("backup.sh", backupEnv(s, root, { HOMEIQ_BACKUP_TRANSFER: transfer }));
    expect(b.stderr).toBe("");
    expect(b.code).toBe(0);
    const dir = backupDirOf(b);
    expect(path.dirname(dir)).toBe(path.join(root, s.stack));
    expect(dir).toMatch(/\/\d{8}T\d{6}Z$/);
    const files = listFiles(dir);
    expect(files).toEqual(expect.arrayContaining([
      "config.json", "manifest.json", "manifest.sha256", "sqlite/data-api/metadata.db", "sqlite/sports-data/webhooks.db",
    ]));
    expect(files.some((f) => f.startsWith("influxdb/"))).toBe(true);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
    expect(manifest).toMatchObject({ format: "homeiq-backup/1", stack: s.stack, reason: "test", images: { influxdb: IMAGES.influxStandin } });
    expect(manifest.influxdb).toMatchObject({ status: "backed-up", transfer: recorded });
    expect(manifest.sqlite.map((e: { service: string; status: string; method: string; transfer: string }) => [e.service, e.status, e.method, e.transfer])).toEqual([
      ["data-api", "backed-up", method, recorded], ["sports-data", "backed-up", method, recorded],
    ]);
    // Every file is listed with the size and sha256 it has on disk, and nothing else is in the folder.
    const listed = manifest.files as Array<{ path: string; size: number; sha256: string }>;
    expect(listed.map((f) => f.path).sort()).toEqual(files.filter((f) => !f.startsWith("manifest.")));
    for (const f of listed) {
      expect(fs.statSync(path.join(dir, f.path)).size).toBe(f.size);
      expect(sha256File(path.join(dir, f.path))).toBe(f.sha256);
    }

    // Lose everything: containers and volumes.
    docker(["rm", "-f", "-v", s.influx.container, s.dataApi.container, s.sportsData.container]);
    docker(["volume", "rm", s.influx.volume, s.dataApi.volume, s.sportsData.volume]);

    // Recreate as a fresh deploy would: empty volumes, a freshly set-up InfluxDB,
    // data services NOT started yet.
    for (const v of [s.influx.volume, s.dataApi.volume, s.sportsData.volume]) docker(["volume", "create", v]);
    startInflux(s);
    expect(influxChecksum(s)).not.toBe(before.influx);

    // DIRECT: one helper copies each SQLite file from the backup folder into its volume, hashing it as it goes.
    const r = runScript("restore.sh", restoreEnv(s, dir, { HOMEIQ_RESTORE_TRANSFER: transfer }));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`restore complete from ${dir}: influxdb sqlite:data-api sqlite:sports-data`);
    if (recorded === "direct") expect(r.stdout).toMatch(/the 2 SQLite file\(s\) copied into their volumes, verified in the same pass, in \d+ ms/);
    else expect(r.stdout).toContain("sqlite data-api: restoring sqlite/data-api/metadata.db");

    expect(influxChecksum(s)).toBe(before.influx);
    expect(influxChecksumOfBackup(path.join(dir, "influxdb"))).toBe(before.influx);
    expect(sqliteDigestOnVolume(s.dataApi.volume, s.dataApi.db)).toEqual(before.dataApi);
    expect(sqliteDigestOnVolume(s.sportsData.volume, s.sportsData.db)).toEqual(before.sportsData);

    // Owned by the service user, and the non-root service can write to it.
    const owners = pythonOnVolume(s.dataApi.volume, "import os; print('%d:%d' % (os.stat('/d/metadata.db').st_uid, os.stat('/d/metadata.db').st_gid))");
    expect(owners.trim()).toBe(SERVICE_UID);
    startService(s.dataApi.container, s.dataApi.volume);
    pythonInContainer(s.dataApi.container, "import sqlite3\nc = sqlite3.connect('/app/data/metadata.db')\nwith c: c.execute(\"INSERT INTO devices (name) VALUES ('after-restore')\")\n");
    expect(sqliteDigestOnVolume(s.dataApi.volume, s.dataApi.db).tables["devices"]?.rows).toBe(201);
  }, 300_000);
});

describe("restore refuses a damaged backup and changes nothing", () => {
  const res = new Resources();
  let s: Stack;
  let good: string;
  let root: string;
  /** InfluxDB's content when the good backup was taken. */
  let influxAtBackup: string;
  afterAll(() => res.cleanup());

  beforeAll(async () => {
    s = await createStack(res, "refuse", TOKEN);
    root = res.tmpDir("refuse-root");
    const b = runScript("backup.sh", backupEnv(s, root));
    expect(b.code).toBe(0);
    good = backupDirOf(b);
    influxAtBackup = influxChecksum(s);
    // Change the data after the backup, so a restore that ran would be visible.
    pythonInContainer(s.dataApi.container, "import sqlite3\nc = sqlite3.connect('/app/data/metadata.db')\nwith c: c.execute('DELETE FROM events WHERE id % 2 = 0')\nc.execute('PRAGMA wal_checkpoint(TRUNCATE)')\n");
    writeInflux(s, "ha_event,entity=sensor.after value=1 1800000000000000000\n");
    docker(["stop", s.dataApi.container, s.sportsData.container]);
  }, 300_000);

  /** Copies the good backup to a sibling folder and damages it. */
  function damagedCopy(name: string, damage: (dir: string) => void): string {
    const dir = path.join(root, s.stack, name);
    fs.cpSync(good, dir, { recursive: true });
    damage(dir);
    return dir;
  }

  /**
   * InfluxDB's content, then every file of the three volumes (one checksum container). In that order,
   * never side by side: the stand-in's checksum takes a lock folder inside its volume while it reads.
   */
  function state(): Record<string, string> {
    const influx = influxChecksum(s);
    const [dataApi, sportsData, influxVolume] = volumeChecksums([s.dataApi.volume, s.sportsData.volume, s.influx.volume]);
    return { influx, dataApi: dataApi!, sportsData: sportsData!, influxVolume: influxVolume! };
  }

  const cases: Array<[string, (dir: string) => void, RegExp]> = [
    [
      "one changed byte in a SQLite file",
      (dir) => {
        const f = path.join(dir, "sqlite/data-api/metadata.db");
        const buf = fs.readFileSync(f);
        const i = Math.floor(buf.length / 2);
        buf[i] = (buf[i] ?? 0) ^ 0x01;
        fs.writeFileSync(f, buf);
      },
      /file sqlite\/data-api\/metadata\.db does not match its sha256 in manifest\.json/,
    ],
    [
      "one changed byte in an InfluxDB backup file",
      (dir) => {
        const f = path.join(dir, "influxdb", fs.readdirSync(path.join(dir, "influxdb")).find((n) => n.endsWith(".engine.tar"))!);
        const buf = fs.readFileSync(f);
        buf[100] = (buf[100] ?? 0) ^ 0x20;
        fs.writeFileSync(f, buf);
      },
      /file influxdb\/\d{8}T\d{6}Z\.engine\.tar does not match its sha256/,
    ],
    [
      "a missing SQLite file",
      (dir) => fs.rmSync(path.join(dir, "sqlite/sports-data/webhooks.db")),
      /file sqlite\/sports-data\/webhooks\.db listed in manifest\.json is missing/,
    ],
    [
      "a missing InfluxDB file",
      (dir) => fs.rmSync(path.join(dir, "influxdb", fs.readdirSync(path.join(dir, "influxdb")).find((n) => n.endsWith(".bolt"))!)),
      /file influxdb\/\d{8}T\d{6}Z\.bolt listed in manifest\.json is missing/,
    ],
    ["a missing manifest", (dir) => fs.rmSync(path.join(dir, "manifest.json")), /manifest\.json is missing/],
    [
      "a changed byte in the manifest",
      (dir) => {
        const f = path.join(dir, "manifest.json");
        fs.writeFileSync(f, fs.readFileSync(f, "utf8").replace('"reason": "test"', '"reason": "tesT"'));
      },
      /manifest\.json does not match manifest\.sha256/,
    ],
  ];

  it.each(cases)("refuses %s, naming the file, and leaves the volumes and InfluxDB untouched", (name, damage, message) => {
    const dir = damagedCopy(name.replace(/\W+/g, "-"), damage);
    const before = state();
    const r = runScript("restore.sh", restoreEnv(s, dir));
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("nothing was changed");
    expect(r.stdout).not.toMatch(/influx restore|restoring sqlite/);
    expect(state()).toEqual(before);
  }, 120_000);

  it("verify-only mode accepts the intact backup, refuses a damaged one, and changes nothing either way", () => {
    const before = state();
    const ok = runScript("restore.sh", restoreEnv(s, good, { HOMEIQ_RESTORE_VERIFY_ONLY: "1" }));
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
    expect(ok.stdout).toContain("the backup is complete and intact; nothing was changed");
    const bad = damagedCopy("verify-only-missing", (dir) => fs.rmSync(path.join(dir, "config.json")));
    const refused = runScript("restore.sh", restoreEnv(s, bad, { HOMEIQ_RESTORE_VERIFY_ONLY: "1" }));
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain("file config.json listed in manifest.json is missing");
    expect(state()).toEqual(before);
  }, 120_000);

  it("refuses a .partial folder", () => {
    const dir = damagedCopy("20200101T000000Z.partial", () => undefined);
    const before = state();
    const r = runScript("restore.sh", restoreEnv(s, dir));
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/it is a \.partial folder/);
    expect(state()).toEqual(before);
  }, 120_000);

  it("refuses a backup of another stack unless explicitly allowed (HOMEIQ_RESTORE_ALLOW_OTHER_STACK=1, nothing else)", () => {
    const before = state();
    for (const allow of [undefined, "0", "true", "yes"]) {
      const r = runScript("restore.sh", restoreEnv(s, good, { HOMEIQ_STACK: "prod", ...(allow === undefined ? {} : { HOMEIQ_RESTORE_ALLOW_OTHER_STACK: allow }) }));
      expect({ allow, code: r.code }).toEqual({ allow, code: 5 });
      expect(r.stderr).toContain(`it is a backup of stack '${s.stack}', not 'prod' (set HOMEIQ_RESTORE_ALLOW_OTHER_STACK=1 to allow)`);
    }
    expect(state()).toEqual(before);
  }, 120_000);

  it("the undamaged backup restores, into another stack's name when HOMEIQ_RESTORE_ALLOW_OTHER_STACK=1 (the refusals above are not a broken restore)", () => {
    const deletedHalf = sqliteDigestOnVolume(s.dataApi.volume, s.dataApi.db);
    expect(deletedHalf.tables["events"]?.rows).toBe(1500);
    // The write after the backup is in InfluxDB now: a restore that did nothing would keep it.
    const expected = influxChecksumOfBackup(path.join(good, "influxdb"));
    expect(expected).toBe(influxAtBackup);
    expect(influxChecksum(s)).not.toBe(expected);
    const r = runScript("restore.sh", restoreEnv(s, good, { HOMEIQ_STACK: "prod", HOMEIQ_RESTORE_ALLOW_OTHER_STACK: "1" }));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain(`of stack '${s.stack}' taken`);
    expect(r.stdout).toContain(`restore complete from ${good}: influxdb sqlite:data-api sqlite:sports-data`);
    expect(sqliteDigestOnVolume(s.dataApi.volume, s.dataApi.db).tables["events"]?.rows).toBe(3000);
    expect(influxChecksum(s)).toBe(expected);
  }, 120_000);
});
