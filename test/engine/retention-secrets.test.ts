/**
 * Retention, the first deploy (nothing to back up), the secret rules, and the
 * one-off volume hand-over, on a real Docker engine.
 */
import * as fs from "fs";
import * as path from "path";
import {
  backupDirOf, backupEnv, createStack, docker, dockerShim, IMAGES, listFiles, Resources, restoreEnv, runScript, SERVICE_UID,
  stackNames, uniqueName,
} from "./helpers";

describe("retention and first deploy", () => {
  const res = new Resources();
  afterAll(() => res.cleanup());

  it("with keep-days 0, keeps exactly the newest N complete backups after N+2 and the migration's backup, and touches no .partial folder and no other stack", async () => {
    const s = await createStack(res, "retention", "homeiq-test-token-retention-91c2");
    const root = res.tmpDir("retention-root");
    const keep = 3;
    // Things retention must leave alone: an old in-progress backup of this stack,
    // and another stack's old backup.
    const stackDir = path.join(root, s.stack);
    fs.mkdirSync(path.join(stackDir, "20000101T000000Z.partial"), { recursive: true });
    fs.mkdirSync(path.join(root, "other-stack", "20000101T000000Z"), { recursive: true });
    fs.writeFileSync(path.join(root, "other-stack", "20000101T000000Z", "manifest.json"), "{}");

    const made: string[] = [];
    for (let i = 0; i < keep + 2; i++) {
      // The first is a migration's: kept until the user removes it, however many backups follow.
      const reason = i === 0 ? "migrate-from-compose:homeiq" : `retention-${i}`;
      const r = runScript("backup.sh", backupEnv(s, root, { HOMEIQ_BACKUP_KEEP: String(keep), HOMEIQ_BACKUP_KEEP_DAYS: "0", HOMEIQ_BACKUP_REASON: reason }));
      expect(r.code).toBe(0);
      made.push(path.basename(backupDirOf(r)));
    }
    expect(new Set(made).size).toBe(keep + 2); // distinct timestamps, even within one second
    const complete = fs.readdirSync(stackDir).filter((n) => /^\d{8}T\d{6}Z$/.test(n)).sort();
    expect(complete).toEqual([made[0]!, ...made.slice(-keep)]);
    expect(fs.readFileSync(path.join(stackDir, "retention.log"), "utf8")).toContain(`deleted ${made[1]} (older than 0 days; reason: retention-1)`);
    expect(fs.existsSync(path.join(stackDir, "20000101T000000Z.partial"))).toBe(true);
    expect(fs.existsSync(path.join(root, "other-stack", "20000101T000000Z", "manifest.json"))).toBe(true);
    // The kept ones are whole: the newest restores' verification step accepts it.
    const reasons = complete.map((n) => JSON.parse(fs.readFileSync(path.join(stackDir, n, "manifest.json"), "utf8")).reason);
    expect(reasons).toEqual(["migrate-from-compose:homeiq", "retention-2", "retention-3", "retention-4"]);
  }, 300_000);

  it("a first deploy's pre-change backup (HOMEIQ_BACKUP_IF_NOTHING=skip) with nothing deployed succeeds, says so, and writes nothing", () => {
    const s = stackNames(res, "first", "homeiq-test-token-first-0000");
    const root = res.tmpDir("first-root");
    const r = runScript("backup.sh", backupEnv(s, root, { HOMEIQ_BACKUP_IF_NOTHING: "skip" }));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`nothing to back up yet: no InfluxDB or SQLite container of stack '${s.stack}' exists (first deploy?)`);
    expect(backupDirOf(r)).toBe("");
    expect(fs.readdirSync(root)).toEqual([]);
  }, 60_000);

  it("any other backup that finds nothing (by hand, scheduled, on destroy) fails loudly, naming what it looked for, and writes nothing", () => {
    const s = stackNames(res, "nothing", "homeiq-test-token-nothing-0000");
    const root = res.tmpDir("nothing-root");
    const r = runScript("backup.sh", backupEnv(s, root));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      `nothing to back up for stack '${s.stack}': looked for InfluxDB container '${s.influx.container}', data-api container '${s.dataApi.container}', sports-data container '${s.sportsData.container}', and none exists`,
    );
    // As a user who gives only the stack's name gets it.
    const bare = runScript("backup.sh", { HOMEIQ_STACK: s.stack, HOMEIQ_BACKUP_ROOT: root });
    expect(bare.code).toBe(3);
    expect(bare.stderr).toContain("looked for InfluxDB container '(HOMEIQ_INFLUX_CONTAINER not set)', no SQLite database (HOMEIQ_SQLITE_DBS not set)");
    expect(fs.readdirSync(root)).toEqual([]);
  }, 60_000);

  it("backs up a stopped SQLite service through a one-off container of its image, and records services not deployed", async () => {
    const s = await createStack(res, "stopped", "homeiq-test-token-stopped-5e5e");
    docker(["stop", s.dataApi.container]);
    docker(["rm", "-f", s.sportsData.container]);
    const root = res.tmpDir("stopped-root");
    const r = runScript("backup.sh", backupEnv(s, root));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`container ${s.dataApi.container} is stopped; online backup`);
    expect(r.stdout).toContain(`sqlite sports-data: container ${s.sportsData.container} does not exist; nothing to back up for it`);
    const m = JSON.parse(fs.readFileSync(path.join(backupDirOf(r), "manifest.json"), "utf8"));
    expect(m.sqlite).toEqual([
      expect.objectContaining({ service: "data-api", status: "backed-up", method: "run" }),
      expect.objectContaining({ service: "sports-data", status: "not-deployed" }),
    ]);
    // No spool file left behind in the service's volume.
    const left = docker(["run", "--rm", "-v", `${s.dataApi.volume}:/v`, IMAGES.busybox, "ls", "-a", "/v"]).stdout;
    expect(left).not.toContain(".homeiq-backup-");
  }, 300_000);

  it("rejects a malformed environment with exit 2, naming the variable", () => {
    const r = runScript("backup.sh", { HOMEIQ_STACK: "dev", HOMEIQ_BACKUP_ROOT: "/tmp/x", HOMEIQ_SQLITE_DBS: "data-api:/app/data/metadata.db" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("HOMEIQ_SQLITE_DBS entry 'data-api:/app/data/metadata.db' is not service=container:/absolute/path/to/db");
    const r2 = runScript("restore.sh", {});
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("environment variable HOMEIQ_RESTORE_DIR is required");
    // '..' is refused in every path (lib.sh path_has_dotdot), and a keep count that is not a positive
    // whole number, before anything is read or written.
    const dotdot: Array<["backup.sh" | "restore.sh", Record<string, string>, string]> = [
      ["backup.sh", { HOMEIQ_STACK: "dev", HOMEIQ_BACKUP_ROOT: "/tmp/x", HOMEIQ_BACKUP_KEEP: "0" }, "HOMEIQ_BACKUP_KEEP must be a positive integer (got '0')"],
      ["backup.sh", { HOMEIQ_STACK: "dev", HOMEIQ_BACKUP_ROOT: "/tmp/x", HOMEIQ_BACKUP_KEEP: "7 days" }, "HOMEIQ_BACKUP_KEEP must be a positive integer (got '7 days')"],
      ["backup.sh", { HOMEIQ_STACK: "dev", HOMEIQ_BACKUP_ROOT: "/tmp/x/../y" }, "HOMEIQ_BACKUP_ROOT must not contain '..'"],
      ["backup.sh", { HOMEIQ_STACK: "dev", HOMEIQ_BACKUP_ROOT: "/tmp/x", HOMEIQ_SQLITE_DBS: "data-api=c:/app/../etc/x.db" }, "HOMEIQ_SQLITE_DBS entry 'data-api=c:/app/../etc/x.db': '..' in path"],
      ["restore.sh", { HOMEIQ_RESTORE_DIR: "/srv/b/../x" }, "HOMEIQ_RESTORE_DIR must not contain '..'"],
      ["restore.sh", { HOMEIQ_RESTORE_DIR: "/srv/b/x", HOMEIQ_SQLITE_RESTORES: "data-api=vol:../x.db" }, "HOMEIQ_SQLITE_RESTORES entry 'data-api=vol:../x.db': '..' in path"],
    ];
    for (const [script, env, message] of dotdot) {
      const r3 = runScript(script, env);
      expect({ script, message, code: r3.code, said: r3.stderr.includes(message) }).toEqual({ script, message, code: 2, said: true });
    }
  }, 60_000);
});

describe("secrets", () => {
  const res = new Resources();
  afterAll(() => res.cleanup());

  it("the InfluxDB token appears in no output, no docker argv and no backup file except InfluxDB's own, with either transfer", async () => {
    const token = `FAKE-SECRET-${uniqueName("tok").replace(/\W/g, "")}-do-not-print`;
    const s = await createStack(res, "secrets", token);
    const root = res.tmpDir("secrets-root");
    const outputs: string[] = [];
    // A `docker` shim first in PATH records every docker command line the
    // scripts run, to show the token travels by environment only, never argv.
    const shim = dockerShim(res);

    const dirs: string[] = [];
    for (const transfer of ["direct", "stream"]) {
      const b = runScript("backup.sh", backupEnv(s, root, { ...shim.env, HOMEIQ_BACKUP_TRANSFER: transfer }));
      outputs.push(b.stdout, b.stderr);
      expect(b.code).toBe(0);
      dirs.push(backupDirOf(b));
    }

    const r = runScript("restore.sh", restoreEnv(s, dirs[0]!, shim.env));
    outputs.push(r.stdout, r.stderr);
    expect(r.code).toBe(0);

    // Failure paths print errors; they must not print the token either.
    for (const transfer of ["direct", "stream"]) {
      const wrong = runScript("backup.sh", backupEnv(s, root, { HOMEIQ_INFLUX_TOKEN: `${token}-wrong`, HOMEIQ_BACKUP_TRANSFER: transfer }));
      outputs.push(wrong.stdout, wrong.stderr);
      expect(wrong.code).toBe(4);
      expect(wrong.stderr).toContain("'influx backup' failed");
    }
    const refused = runScript("restore.sh", restoreEnv(s, `${dirs[0]}.partial`));
    outputs.push(refused.stdout, refused.stderr);
    expect(refused.code).toBe(5);

    for (const o of outputs) expect(o).not.toContain(token);
    const argv = fs.readFileSync(shim.argvLog, "utf8");
    // DIRECT: a one-off container of the influx image; the token is named (-e INFLUX_TOKEN), not given.
    expect(argv).toMatch(/^run --rm --name \S+ --label com.homeiq.scratch=homeiq-backup --label com.homeiq.scratch.owner=\S+ --network container:\S+ --volumes-from \S+ --user 0:0 --mount type=bind,src=\S+,dst=\/homeiq-backup -e INFLUX_TOKEN --entrypoint sh \S+ -c /m);
    expect(argv).toContain('influx backup "$out"');
    // STREAM and restore: docker exec into the influx container.
    expect(argv).toMatch(/^exec -e INFLUX_TOKEN \S+ influx backup /m);
    expect(argv).toMatch(/^exec -e INFLUX_TOKEN \S+ influx restore --full /m);
    expect(argv).not.toContain(token);

    for (const dir of dirs) {
      const holding = listFiles(dir).filter((f) => fs.readFileSync(path.join(dir, f)).includes(token));
      for (const f of holding) expect(f).toMatch(/^influxdb\//);
      // InfluxDB's own KV store backup does hold it (as the real one holds its
      // tokens); this also shows the scan above can find the token at all.
      expect(holding.length).toBeGreaterThan(0);
      // Owner-only permissions on everything in the backup, folders included.
      for (const f of listFiles(dir)) expect(fs.statSync(path.join(dir, f)).mode & 0o077).toBe(0);
      for (const d of [dir, path.join(dir, "influxdb"), path.join(dir, "sqlite", "data-api")]) expect(fs.statSync(d).mode & 0o077).toBe(0);
    }
    // No temporary backup left inside the influx container.
    expect(docker(["exec", s.influx.container, "ls", "/tmp"]).stdout).not.toMatch(/homeiq-(backup|restore)-/);
    // The failed runs left no folder behind.
    expect(fs.readdirSync(path.join(root, s.stack)).sort()).toEqual(dirs.map((d) => path.basename(d)).sort());
  }, 300_000);
});

describe("chown-volume.sh", () => {
  const res = new Resources();
  afterAll(() => res.cleanup());

  it("hands a root-owned volume to the service user once, and is a no-op afterwards or for a missing volume", () => {
    const vol = res.volume(uniqueName("chown"));
    docker(["run", "--rm", "-v", `${vol}:/v`, IMAGES.busybox, "sh", "-c", "mkdir -p /v/sub && echo x > /v/sub/f && echo y > /v/metadata.db"]);
    const owners = (): string => docker(["run", "--rm", "-v", `${vol}:/v`, IMAGES.busybox, "sh", "-c", "find /v -exec stat -c '%u:%g %n' {} + | sort"]).stdout;
    expect(owners()).toMatch(/^0:0 \/v$/m);
    const missing = uniqueName("chown-missing");
    const env = { HOMEIQ_CHOWN_VOLUMES: `${vol}=${SERVICE_UID} ${missing}=${SERVICE_UID}`, HOMEIQ_HELPER_IMAGE: IMAGES.busybox };
    const first = runScript("chown-volume.sh", env);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`${vol}: 4 entries not owned by ${SERVICE_UID}; chown -R ${SERVICE_UID}`);
    expect(first.stdout).toContain(`${missing}: volume does not exist (first deploy); nothing to hand over`);
    expect(owners().trim().split("\n").every((l) => l.startsWith(`${SERVICE_UID} `))).toBe(true);
    expect(docker(["volume", "ls", "-q"]).stdout.split("\n")).not.toContain(missing); // not created
    const second = runScript("chown-volume.sh", env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`${vol}: already owned by ${SERVICE_UID}; nothing to do`);
  }, 120_000);
});
