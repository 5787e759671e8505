/**
 * Retention by age and count (scripts/backup/prune.sh) with a controlled clock (HOMEIQ_NOW), on backup
 * folders laid out as backup.sh writes them (manifest.json + manifest.sha256): old backups go, except the
 * newest N good ones, a migration's, and one the user marked; never the only good one; every deletion is
 * logged. No Docker needed: prune.sh reads folders only (backup.sh runs it after each backup, which
 * retention-secrets.test.ts covers on a real engine).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Resources } from "./helpers";
import { runRepoScript } from "./notify-helpers";

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0) / 1000; // 2026-12-01T12:00:00Z
const DAY = 86400;
const STACK = "i17-ret";

/** yyyymmddThhmmssZ of NOW minus `days`. */
const nameAt = (days: number): string => new Date((NOW - days * DAY) * 1000).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");

/** A backup folder as backup.sh leaves it; `damaged` changes a byte of the manifest after its hash was written. */
function backup(root: string, days: number, reason: string, damaged = false): string {
  const name = nameAt(days);
  const dir = path.join(root, STACK, name);
  fs.mkdirSync(path.join(dir, "sqlite", "data-api"), { recursive: true });
  fs.writeFileSync(path.join(dir, "sqlite", "data-api", "metadata.db"), `db of ${name}`);
  const manifest = `{\n  "format": "homeiq-backup/1",\n  "stack": "${STACK}",\n  "createdAt": "${name}",\n  "reason": "${reason}",\n  "files": []\n}\n`;
  fs.writeFileSync(path.join(dir, "manifest.json"), manifest);
  fs.writeFileSync(path.join(dir, "manifest.sha256"), `${createHash("sha256").update(manifest).digest("hex")}  manifest.json\n`);
  if (damaged) fs.writeFileSync(path.join(dir, "manifest.json"), manifest.replace("homeiq-backup/1", "homeiq-backup/X"));
  return name;
}

const complete = (root: string): string[] => fs.readdirSync(path.join(root, STACK)).filter((n) => /^\d{8}T\d{6}Z$/.test(n)).sort();
const prune = (root: string, env: Record<string, string> = {}) =>
  runRepoScript("backup/prune.sh", { HOMEIQ_STACK: STACK, HOMEIQ_BACKUP_ROOT: root, HOMEIQ_NOW: String(NOW), ...env });

describe("retention by age and count (prune.sh, controlled clock)", () => {
  const res = new Resources();
  afterAll(() => res.cleanup());

  function scene(): { root: string; n: Record<string, string> } {
    const root = res.tmpDir("i17-ret");
    const n = {
      old: backup(root, 100, "scheduled"),
      migration: backup(root, 60, "migrate-from-compose:homeiq"),
      marked: backup(root, 45, "scheduled"),
      damaged: backup(root, 40, "scheduled", true),
      fifth: backup(root, 35, "on-demand"),
      recent: backup(root, 10, "pre-change"),
      newest: backup(root, 1, "scheduled"),
    };
    fs.writeFileSync(path.join(root, STACK, `${n.marked}.keep`), "");
    // Never retention's: a backup being written, another stack's backup.
    fs.mkdirSync(path.join(root, STACK, `${nameAt(200)}.partial`));
    fs.mkdirSync(path.join(root, "other-stack", nameAt(300)), { recursive: true });
    return { root, n };
  }

  it("deletes backups older than 30 days except the newest 3 good ones, a migration's and a marked one; logs each deletion", () => {
    const { root, n } = scene();
    const r = prune(root, { HOMEIQ_BACKUP_KEEP: "3" });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(complete(root)).toEqual([n.migration, n.marked, n.fifth, n.recent, n.newest].sort());
    expect(r.stdout).toContain(`retention: keeping ${n.fifth} (older than 30 days): one of the newest 3 good backups`);
    expect(r.stdout).toContain(`retention: keeping ${n.marked} (older than 30 days): marked to keep (${n.marked}.keep)`);
    expect(r.stdout).toContain(`retention: keeping ${n.migration} (older than 30 days): made by a migration (migrate-from-compose:homeiq)`);
    expect(fs.readFileSync(path.join(root, STACK, "retention.log"), "utf8").trim().split("\n")).toEqual([
      `2026-12-01T12:00:00Z deleted ${n.damaged} (older than 30 days, manifest damaged; reason: scheduled)`,
      `2026-12-01T12:00:00Z deleted ${n.old} (older than 30 days; reason: scheduled)`,
    ]);
    expect(fs.existsSync(path.join(root, STACK, `${nameAt(200)}.partial`))).toBe(true);
    expect(fs.existsSync(path.join(root, "other-stack", nameAt(300)))).toBe(true);
  });

  it("with a smaller count and a later clock, the same rules go further; the migration's and the marked backup stay until the user removes them", () => {
    const { root, n } = scene();
    const later = NOW + 21 * DAY; // recent is 31 days old then, newest 22
    const r = prune(root, { HOMEIQ_BACKUP_KEEP: "1", HOMEIQ_NOW: String(later) });
    expect(r.code).toBe(0);
    expect(complete(root)).toEqual([n.migration, n.marked, n.newest].sort());
    // The user removes the mark: the next run deletes it.
    fs.rmSync(path.join(root, STACK, `${n.marked}.keep`));
    expect(prune(root, { HOMEIQ_BACKUP_KEEP: "1", HOMEIQ_NOW: String(later) }).code).toBe(0);
    expect(complete(root)).toEqual([n.migration, n.newest].sort());
  });

  it("never deletes the only good backup however old, and deletes nothing when no backup is good", () => {
    const root = res.tmpDir("i17-ret-only");
    const only = backup(root, 400, "scheduled");
    const bad = [backup(root, 5, "scheduled", true), backup(root, 50, "scheduled", true)];
    const r = prune(root, { HOMEIQ_BACKUP_KEEP: "1", HOMEIQ_BACKUP_KEEP_DAYS: "0" });
    expect(r.code).toBe(0);
    expect(complete(root)).toEqual([only]);
    expect(r.stdout).toContain(`keeping ${only} (older than 0 days): one of the newest 1 good backups`);

    const none = res.tmpDir("i17-ret-none");
    const damaged = [backup(none, 90, "scheduled", true), backup(none, 95, "scheduled", true)].sort();
    const r2 = prune(none, { HOMEIQ_BACKUP_KEEP_DAYS: "1" });
    expect(r2.code).toBe(0);
    expect(r2.stderr).toContain(`none of the 2 backup(s) of '${STACK}' has an intact manifest; deleting nothing`);
    expect(complete(none)).toEqual(damaged);
    expect(bad).toHaveLength(2);
  });

  it.each([
    [{ HOMEIQ_BACKUP_KEEP_DAYS: "30d" }, "HOMEIQ_BACKUP_KEEP_DAYS must be a whole number of days from 0 to 99999 (got '30d')"],
    [{ HOMEIQ_BACKUP_KEEP: "0" }, "HOMEIQ_BACKUP_KEEP must be a positive integer (got '0')"],
    [{ HOMEIQ_NOW: "yesterday" }, "HOMEIQ_NOW must be epoch seconds (got 'yesterday')"],
  ])("refuses %j with exit 2 before touching anything", (env, message) => {
    const { root } = scene();
    const before = complete(root);
    const r = prune(root, env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(complete(root)).toEqual(before);
  });
});
