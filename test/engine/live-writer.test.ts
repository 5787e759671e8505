/**
 * A backup taken while the service keeps writing: backup.sh (SQLite online
 * backup API, run in the service's own container) beside the naive live-file
 * copies the old docs describe (`docker cp` of the .db, with or without its -wal).
 * The online backup is asserted; the naive copies' results are recorded and
 * printed so they can be reported (they are timing-dependent).
 */
import * as fs from "fs";
import * as path from "path";
import {
  backupDirOf, docker, IMAGES, pythonWithFiles, Resources, runScript, SERVICE_UID, uniqueName, waitFor,
} from "./helpers";

/** Inserts numbered rows, BATCH per transaction, as fast as it can (WAL mode, like a busy service). */
const BATCH = 50;
const SEED_ROWS = 40_000;
const WRITER_PY = `
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
c.execute("PRAGMA journal_mode=${"${MODE}"}")
c.execute("CREATE TABLE IF NOT EXISTS readings (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, payload BLOB NOT NULL)")
n = c.execute("SELECT COALESCE(MAX(id), 0) FROM readings").fetchone()[0]
while True:
    c.execute("BEGIN IMMEDIATE")
    for _ in range(${BATCH}):
        n += 1
        c.execute("INSERT INTO readings (id, batch, payload) VALUES (?, ?, randomblob(300))", (n, (n - 1) // ${BATCH}))
    c.execute("COMMIT")
    if n > ${SEED_ROWS}:
        time.sleep(0.005)  # after the seed rows, a steady stream of about 5-10k rows/s
`;

/** For each database file in argv, one line: integrity, row count, and whether ids are exactly 1..k in whole transactions. */
const PREFIX_PY = `
import json, sqlite3, sys
for db in sys.argv[1:]:
    try:
        c = sqlite3.connect(db)
        integrity = c.execute("PRAGMA integrity_check").fetchone()[0]
        k, mx, mn = c.execute("SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(MIN(id), 0) FROM readings").fetchone()
        c.close()
        print(json.dumps({"integrity": integrity, "rows": k, "maxId": mx, "minId": mn}))
    except Exception as e:
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
`;

interface Prefix { integrity?: string; rows?: number; maxId?: number; minId?: number; error?: string }

/** integrity_check output shortened for the report: "ok", or its first line and how many problems. */
function summary(p: Prefix): string {
  if (p.error) return `cannot open: ${p.error}`;
  const lines = (p.integrity ?? "").split("\n").filter((l) => !l.startsWith("*** in database"));
  const integrity = p.integrity === "ok" ? "integrity ok" : `integrity FAILED (${lines.length} problems, e.g. "${lines[0]}")`;
  const prefix = p.minId === 1 && p.maxId === p.rows ? "ids 1..k, no gaps" : `ids ${p.minId}..${p.maxId} for ${p.rows} rows`;
  const partial = (p.rows ?? 0) % BATCH === 0 ? "" : `; PARTIAL transaction (${(p.rows ?? 0) % BATCH} of ${BATCH} rows)`;
  return `${integrity}; ${p.rows} rows; ${prefix}${partial}`;
}

/** A database file copied to the host, and its -wal if one was copied with it. */
interface Copied { readonly db: string; readonly wal?: string }

/**
 * PREFIX_PY over database files copied to the host (each with its -wal, if given), in one throwaway
 * container: copy i is /tmp/x<i>.db (and /tmp/x<i>.db-wal), so each opens with its own -wal only.
 */
function prefixesOfFiles(copies: readonly Copied[]): Prefix[] {
  const files: Record<string, string> = {};
  copies.forEach((c, i) => {
    files[`x${i}.db`] = c.db;
    if (c.wal) files[`x${i}.db-wal`] = c.wal;
  });
  const out = pythonWithFiles(files, PREFIX_PY, copies.map((_, i) => `/tmp/x${i}.db`)).trim().split("\n");
  if (out.length !== copies.length) throw new Error(`expected ${copies.length} result lines, got:\n${out.join("\n")}`);
  return out.map((line) => JSON.parse(line) as Prefix);
}

/** Rows committed now, read by a second process in the writer's own container (its user, its volume). */
function rowsNow(container: string, db: string): number {
  return Number(docker(["exec", container, "python3", "-c", `import sqlite3; print(sqlite3.connect("/app/data/${db}", timeout=60).execute("SELECT COUNT(*) FROM readings").fetchone()[0])`]).stdout.trim());
}

describe.each([
  ["wal", "metadata.db"],
  ["delete", "webhooks.db"],
] as const)("backup while a writer keeps inserting (journal_mode=%s)", (mode, db) => {
  const res = new Resources();
  afterAll(() => res.cleanup());

  it("the online backup passes integrity_check and holds a consistent prefix; the naive live copy is reported beside it", () => {
    const stack = uniqueName(`live-${mode}`);
    const volume = res.volume(`${stack}-data`);
    const container = res.container(`${stack}-svc`);
    const tmp = res.tmpDir(`live-${mode}`);
    runScript("chown-volume.sh", { HOMEIQ_CHOWN_VOLUMES: `${volume}=${SERVICE_UID}`, HOMEIQ_HELPER_IMAGE: IMAGES.busybox });
    docker([
      "run", "-d", "--init", "--name", container, "--network", "none", "--user", SERVICE_UID, "-v", `${volume}:/app/data`,
      IMAGES.python, "python3", "-c", WRITER_PY.replace("${MODE}", mode), `/app/data/${db}`,
    ]);
    // Let the database grow to a size where copies take a while.
    waitFor(`${SEED_ROWS} rows written`, () => rowsNow(container, db) >= SEED_ROWS, { timeoutMs: 120_000, intervalMs: 250 });
    const startRows = rowsNow(container, db);
    expect(startRows).toBeGreaterThanOrEqual(SEED_ROWS);

    // --- the naive copies, as in the old docs: docker cp of the live file(s) ---
    // committedBefore: rows the writer had committed before the copy began; a
    // copy holding fewer has lost committed data (e.g. what sat in the -wal).
    // The copies are read after the last one is taken (reading a copy on the host does not depend on when).
    const naiveCopies: Array<{ name: string; copy: Copied; committedBefore: number; copiedBytes: number; walBytes?: number }> = [];
    for (let round = 1; round <= 3; round++) {
      const dbOnly = path.join(tmp, `naive-${round}`);
      fs.mkdirSync(dbOnly);
      let committedBefore = rowsNow(container, db);
      docker(["cp", `${container}:/app/data/${db}`, dbOnly]);
      const dbFile = path.join(dbOnly, db);
      naiveCopies.push({ name: `docker cp ${db} (round ${round})`, copy: { db: dbFile }, committedBefore, copiedBytes: fs.statSync(dbFile).size });
      if (mode === "wal") {
        // db then -wal, two copies while the writer runs (what a careful-looking manual copy does).
        const walDir = path.join(tmp, `naive-wal-${round}`);
        fs.mkdirSync(walDir);
        committedBefore = rowsNow(container, db);
        docker(["cp", `${container}:/app/data/${db}`, walDir]);
        docker(["cp", `${container}:/app/data/${db}-wal`, walDir], { allowFail: true });
        const d = path.join(walDir, db);
        const walFile = path.join(walDir, `${db}-wal`);
        const w = fs.existsSync(walFile) ? walFile : undefined;
        naiveCopies.push({
          name: `docker cp ${db} then ${db}-wal (round ${round})`, copy: { db: d, wal: w }, committedBefore, copiedBytes: fs.statSync(d).size, walBytes: w ? fs.statSync(w).size : 0,
        });
      }
    }

    // --- the online backups, same writer, same moment: DIRECT (a one-off container beside the
    // writer's, as on a local engine) and STREAM (docker exec into the writer's container) ---
    const root = res.tmpDir(`live-${mode}-root`);
    const onlineFiles: Copied[] = [];
    const transfers = ["direct", "direct", "direct", "stream", "stream"];
    for (const transfer of transfers) {
      const r = runScript("backup.sh", {
        HOMEIQ_STACK: stack,
        HOMEIQ_BACKUP_ROOT: root,
        HOMEIQ_BACKUP_KEEP: "5",
        HOMEIQ_BACKUP_TRANSFER: transfer,
        HOMEIQ_SQLITE_DBS: `data-api=${container}:/app/data/${db}`,
      });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      onlineFiles.push({ db: path.join(backupDirOf(r), "sqlite", "data-api", db) });
    }
    const endRows = rowsNow(container, db);
    docker(["rm", "-f", "-v", container]);

    const prefixes = prefixesOfFiles([...onlineFiles, ...naiveCopies.map((n) => n.copy)]);
    const online = prefixes.slice(0, onlineFiles.length);
    const naive: Record<string, Prefix & { committedBefore: number; copiedBytes: number; walBytes?: number }> = Object.fromEntries(
      naiveCopies.map(({ name, committedBefore, copiedBytes, walBytes }, i) => [name, { ...prefixes[onlineFiles.length + i]!, committedBefore, copiedBytes, walBytes }]),
    );

    const lines = [
      `live-writer report (journal_mode=${mode}; writer: ${BATCH} rows per transaction; ${startRows} rows when copying began, ${endRows} at the end)`,
      ...online.map((o, i) => `  backup.sh online backup ${i + 1} (${transfers[i]}): ${summary(o)}`),
      ...Object.entries(naive).map(([name, n]) => {
        const lost = n.rows !== undefined && n.rows < n.committedBefore ? `; LOST ${n.committedBefore - n.rows} rows committed before the copy began` : "";
        const wal = n.walBytes !== undefined ? `, -wal ${n.walBytes} bytes` : "";
        return `  naive ${name}: ${summary(n)}${lost} (${n.copiedBytes} bytes${wal})`;
      }),
    ];
    console.log(lines.join("\n"));

    // The online backups: intact, and exactly ids 1..k for whole transactions.
    expect(online).toHaveLength(transfers.length);
    for (const o of online) {
      expect(o.error).toBeUndefined();
      expect(o.integrity).toBe("ok");
      expect(o.rows).toBeGreaterThanOrEqual(startRows);
      expect(o.rows).toBeLessThanOrEqual(endRows);
      expect(o.minId).toBe(1);
      expect(o.maxId).toBe(o.rows); // no gaps
      expect((o.rows ?? 1) % BATCH).toBe(0); // no partial transaction
    }
    // Taken while rows kept arriving: the three snapshots differ.
    expect(new Set(online.map((o) => o.rows)).size).toBeGreaterThan(1);

    // The naive copies are real copies of the live file, read like the backups (their integrity is
    // timing-dependent, so reported above, not asserted): each holds more than a MiB of the database
    // (the seed rows alone are ~12 MB), and one that opens holds no row the writer had not written by the end.
    expect(naiveCopies).toHaveLength(mode === "wal" ? 6 : 3);
    for (const { name, copy } of naiveCopies) {
      expect({ name, copiedMiB: fs.statSync(copy.db).size > 1024 * 1024 }).toEqual({ name, copiedMiB: true });
      const n = naive[name]!;
      if (n.error === undefined) expect({ name, rows: (n.rows ?? Infinity) <= endRows }).toEqual({ name, rows: true });
      else expect(n.error).toMatch(/^\w+Error: /);
    }
  }, 300_000);
});
