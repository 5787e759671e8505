/**
 * How backup.sh moves the bytes (scripts/backup/README.md, "Transfer"), on a real Docker engine:
 * DIRECT into the bind-mounted backup folder when the engine can write there, STREAM through the
 * docker CLI otherwise, and files owned by the (non-root) user who runs the backup either way.
 */
import * as fs from "fs";
import * as path from "path";
import {
  backupDirOf, backupEnv, createStack, DIGEST_PY, docker, dockerShim, IMAGES, listFiles, pythonInContainer, pythonWithFiles, Resources, restoreEnv,
  runScript, SERVICE_UID, sqliteDigestOnVolume, Stack, uniqueName, type DbDigest,
} from "./helpers";
import { startSshd } from "./sshd";

const TOKEN = "homeiq-test-token-transfer-77aa";
/** The sshd of the ssh:// test (18g's port range). */
const TRANSFER_SSH_PORT = 43252;

interface Manifest {
  influxdb: { transfer: string };
  sqlite: Array<{ service: string; transfer: string }>;
}
const manifestOf = (dir: string): Manifest => JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as Manifest;
const transfers = (m: Manifest): string[] => [m.influxdb.transfer, ...m.sqlite.map((e) => e.transfer)];

describe("transfer choice", () => {
  const res = new Resources();
  let s: Stack;
  afterAll(() => res.cleanup());
  beforeAll(async () => {
    s = await createStack(res, "transfer", TOKEN);
  }, 300_000);

  it("auto: when the engine sees another folder at the backup's path, nothing is written there and every step streams", () => {
    const root = res.tmpDir("transfer-decoy-root");
    const decoy = res.tmpDir("transfer-decoy"); // what the "engine" mounts instead of the backup folder
    const shim = dockerShim(res, { bindSource: decoy });
    const r = runScript("backup.sh", backupEnv(s, root, shim.env));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("the Docker engine cannot write into");
    expect(r.stdout).toContain("streaming through the docker CLI instead");
    expect(transfers(manifestOf(backupDirOf(r)))).toEqual(["stream", "stream", "stream"]);
    // Each of the three steps tried DIRECT once, and none wrote into the folder it was given.
    expect(fs.readFileSync(shim.argvLog, "utf8").match(/^run .*--mount type=bind/gm)).toHaveLength(3);
    expect(fs.readdirSync(decoy)).toEqual([]);
    const verify = runScript("restore.sh", restoreEnv(s, backupDirOf(r), { HOMEIQ_RESTORE_VERIFY_ONLY: "1" }));
    expect(verify.code).toBe(0);
  }, 300_000);

  it("auto: when the engine has no folder at the backup's path (a remote engine behind a docker context), every step streams", () => {
    const root = res.tmpDir("transfer-absent-root");
    const shim = dockerShim(res, { replace: [`src=${root}/`, `src=${root}-not-on-the-engine/`] });
    const r = runScript("backup.sh", backupEnv(s, root, shim.env));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("streaming through the docker CLI instead");
    expect(transfers(manifestOf(backupDirOf(r)))).toEqual(["stream", "stream", "stream"]);
  }, 300_000);

  it("direct, forced: an engine that cannot write into the folder fails the backup (exit 4) and leaves no folder", () => {
    const root = res.tmpDir("transfer-forced-root");
    const shim = dockerShim(res, { bindSource: res.tmpDir("transfer-forced-decoy") });
    const r = runScript("backup.sh", backupEnv(s, root, { ...shim.env, HOMEIQ_BACKUP_TRANSFER: "direct" }));
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("the Docker engine cannot write into");
    expect(r.stderr).toContain("HOMEIQ_BACKUP_TRANSFER=direct");
    expect(fs.readdirSync(path.join(root, s.stack))).toEqual([]);
  }, 300_000);

  it("DOCKER_HOST=ssh://… (a real sshd): streams through ssh without trying a bind mount, byte for byte; forcing direct there is refused (exit 2)", () => {
    const root = res.tmpDir("transfer-ssh-root");
    // The remote Docker host is this machine, reached through a real OpenSSH server (test/engine/sshd.ts);
    // the shim only records the docker CLI's arguments and passes DOCKER_HOST on.
    const sshd = startSshd("transfer", TRANSFER_SSH_PORT);
    try {
      const shim = dockerShim(res);
      const remote = { PATH: `${path.dirname(shim.argvLog)}:${sshd.env.PATH}`, DOCKER_HOST: sshd.dockerHost };
      const r = runScript("backup.sh", backupEnv(s, root, remote));
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(r.stdout).toContain("transfer stream");
      const dir = backupDirOf(r);
      expect(transfers(manifestOf(dir))).toEqual(["stream", "stream", "stream"]);
      expect(fs.readFileSync(shim.argvLog, "utf8")).not.toContain("--mount");
      // Every docker call went through the sshd: one login per session, each the docker CLI's dial-stdio.
      const sessions = sshd.sessions();
      expect(sessions.length).toBeGreaterThan(0);
      expect(sessions.filter((x) => x.command !== "docker system dial-stdio")).toEqual([]);
      expect(sshd.logins()).toBe(sessions.length);
      // What came back through ssh is each live database, row for row.
      for (const svc of [s.dataApi, s.sportsData]) {
        const key = svc === s.dataApi ? "data-api" : "sports-data";
        const inBackup = JSON.parse(pythonWithFiles({ "db.sqlite": path.join(dir, "sqlite", key, svc.db) }, DIGEST_PY, ["/tmp/db.sqlite"])) as DbDigest;
        expect({ key, tables: inBackup.tables, integrity: inBackup.integrity }).toEqual({ key, tables: sqliteDigestOnVolume(svc.volume, svc.db).tables, integrity: "ok" });
      }
      // And restore.sh verifies it through the same ssh engine.
      const before = sessions.length;
      const verify = runScript("restore.sh", restoreEnv(s, dir, { ...remote, HOMEIQ_RESTORE_VERIFY_ONLY: "1" }));
      expect({ code: verify.code, stderr: verify.stderr }).toEqual({ code: 0, stderr: "" });
      expect(sshd.sessions().length).toBeGreaterThan(before);

      const forced = runScript("backup.sh", backupEnv(s, root, { ...remote, HOMEIQ_BACKUP_TRANSFER: "direct" }));
      expect(forced.code).toBe(2);
      expect(forced.stderr).toContain("HOMEIQ_BACKUP_TRANSFER=direct needs a local engine");
    } finally {
      sshd.stop();
    }
  }, 300_000);

  it("rejects an unknown HOMEIQ_BACKUP_TRANSFER with exit 2, naming it and what is allowed", () => {
    const r = runScript("backup.sh", backupEnv(s, res.tmpDir("transfer-bad-root"), { HOMEIQ_BACKUP_TRANSFER: "fast" }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("HOMEIQ_BACKUP_TRANSFER must be auto, direct or stream (got 'fast')");
  }, 60_000);
});

describe("a backup taken by a non-root user (as `pulumi up` runs it)", () => {
  const res = new Resources();
  afterAll(() => res.cleanup());

  it("DIRECT: every file and folder belongs to that user, owner-only; it can verify, and retention can delete its backups", async () => {
    const s = await createStack(res, "nonroot", TOKEN);
    // Not root, not the services' uid 1001; in the group that owns the Docker socket.
    const socketGid = fs.statSync("/var/run/docker.sock").gid;
    const user = { uid: 4242, gid: 4242, groups: [socketGid] };
    const root = res.tmpDir("nonroot-root");
    const home = res.tmpDir("nonroot-home"); // the docker CLI reads ~/.docker
    for (const d of [root, home]) fs.chownSync(d, user.uid, user.gid);
    const env = { HOME: home, HOMEIQ_BACKUP_KEEP: "1", HOMEIQ_BACKUP_KEEP_DAYS: "0" };

    const first = runScript("backup.sh", backupEnv(s, root, env), 240_000, user);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const dir = backupDirOf(first);
    expect(transfers(manifestOf(dir))).toEqual(["direct", "direct", "direct"]);
    const entries = [dir, ...listFiles(dir).flatMap((f) => [path.join(dir, f), path.dirname(path.join(dir, f))])];
    for (const p of new Set(entries)) {
      const st = fs.statSync(p);
      expect(`${p} ${st.uid}:${st.gid}`).toBe(`${p} ${user.uid}:${user.gid}`);
      expect(st.mode & 0o077).toBe(0);
    }
    expect(listFiles(dir).filter((f) => f.includes(".homeiq-"))).toEqual([]);

    const verify = runScript("restore.sh", restoreEnv(s, dir, { HOME: home, HOMEIQ_RESTORE_VERIFY_ONLY: "1" }), 240_000, user);
    expect(verify.code).toBe(0);

    const second = runScript("backup.sh", backupEnv(s, root, env), 240_000, user);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`deleted ${path.basename(dir)} (older than 0 days; reason: test)`);
    expect(fs.existsSync(dir)).toBe(false);
    expect(fs.readdirSync(path.join(root, s.stack)).sort()).toEqual([path.basename(backupDirOf(second)), "retention.log"].sort());

    // The services' volumes: still all the service user's (no root-owned -wal, -shm or work file).
    for (const volume of [s.dataApi.volume, s.sportsData.volume]) {
      const owners = docker(["run", "--rm", "-v", `${volume}:/v:ro`, IMAGES.busybox, "sh", "-c", "find /v -exec stat -c '%u:%g %n' {} +"]).stdout;
      expect(owners.trim().split("\n").filter((l) => !l.startsWith(`${SERVICE_UID} `))).toEqual([]);
      expect(owners).not.toContain(".homeiq-");
    }
  }, 300_000);
});

describe("a SQLite database in a container's own layer, not on a volume (the old compose files' sports-data)", () => {
  const res = new Resources();
  let container: string;
  afterAll(() => res.cleanup());
  beforeAll(() => {
    container = res.container(uniqueName("layer-db"));
    docker(["run", "-d", "--init", "--name", container, "--network", "none", IMAGES.python, "sleep", "infinity"]);
    pythonInContainer(container, `
import os, sqlite3
os.makedirs("/app/data", exist_ok=True)
c = sqlite3.connect("/app/data/webhooks.db")
c.execute("CREATE TABLE hooks (id INTEGER PRIMARY KEY, payload BLOB)")
c.executemany("INSERT INTO hooks (payload) VALUES (randomblob(300))", [()] * 400)
c.commit()
`);
  }, 300_000);

  const env = (root: string): Record<string, string> => ({
    HOMEIQ_STACK: "layer-test",
    HOMEIQ_BACKUP_ROOT: root,
    HOMEIQ_INFLUX_CONTAINER: "",
    HOMEIQ_SQLITE_DBS: `sports-data=${container}:/app/data/webhooks.db`,
  });

  it("running: is streamed out of the container itself (a one-off container would not see it), never reported absent", () => {
    const root = res.tmpDir("layer-root");
    const r = runScript("backup.sh", env(root));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("in " + container + "'s own layer, not on a volume: streaming it through docker exec");
    const dir = backupDirOf(r);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as { sqlite: Array<{ status: string; transfer: string }> };
    expect(manifest.sqlite.map((e) => [e.status, e.transfer])).toEqual([["backed-up", "stream"]]);
    const inBackup = JSON.parse(pythonWithFiles({ "db.sqlite": path.join(dir, "sqlite", "sports-data", "webhooks.db") }, DIGEST_PY, ["/tmp/db.sqlite"]));
    expect(inBackup).toEqual(JSON.parse(pythonInContainer(container, DIGEST_PY, ["/app/data/webhooks.db"])));
  }, 300_000);

  it("stopped: refused (exit 4), naming the file and the container, instead of a backup without it", () => {
    docker(["stop", "-t", "2", container]);
    const root = res.tmpDir("layer-stopped-root");
    const r = runScript("backup.sh", env(root));
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`/app/data/webhooks.db is in the own layer of the stopped container ${container}`);
    expect(fs.readdirSync(root).flatMap((d) => fs.readdirSync(path.join(root, d)))).toEqual([]);
  }, 300_000);
});
