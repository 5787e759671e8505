"""Online backup of one SQLite database, run INSIDE the service's own image.

backup.sh runs this file as `python3 -c "<its text>" <db path> [...]`, so it
needs nothing but python3's standard library. Two ways:

DIRECT (local engine): a one-off container of the service's image, started as
root with the service container's volumes (`--volumes-from`) and the host's
backup folder bind-mounted at <out dir>:

    python3 -c "$(cat sqlite_backup.py)" /app/data/metadata.db /homeiq-backup <marker> <user>

  It first checks that <out dir> is the host's folder (the file <marker>, made
  by backup.sh, is there and root here may write beside it; otherwise exit 11
  before anything is written: a remote engine, or a user namespace). It then
  takes the backup AS <user> (the service container's user, so no file the
  service later needs is ever created as root: a root-owned -wal or -shm would
  lock the service out) into a staging folder inside <out dir>, fsyncs it and
  reads it back once for its sha256 while `PRAGMA quick_check` checks it, moves
  it to <out dir>/<db file name>, and hands it to the owner of <out dir> (the
  user who runs backup.sh, as seen from here) with mode 0600. The bytes are
  written once, straight into the backup.

STREAM (remote engine): `docker exec` into the service container (or `docker
run --volumes-from` when it is stopped) as the service's user:

    python3 -c "$(cat sqlite_backup.py)" /app/data/metadata.db > metadata.db

  The copy is spooled to a temporary file next to the database (same volume, so
  neither the container's memory limit nor a small /tmp limits the size),
  checked with `PRAGMA quick_check`, streamed to stdout while its sha256 is
  computed, and deleted.

Both copy with SQLite's online backup API in ONE step (`src.backup(dst)` with
pages=-1), which reads one consistent snapshot even while the service keeps
writing (in WAL mode writers are not blocked; in rollback-journal mode they wait
up to the busy timeout). The live file is never copied byte-for-byte.

stdout: STREAM: the database bytes, nothing else. DIRECT: nothing.
stderr: progress lines, and one final line
        `HOMEIQ_SQLITE_RESULT {"size": N, "sha256": "...", "check": "ok", ...}`.
exit:   0 copied; 3 the database file does not exist; 4 backup or check failed;
        11 (DIRECT) <out dir> is not the host's backup folder; nothing written.
"""

import grp
import hashlib
import json
import os
import pwd
import sqlite3
import sys
import tempfile
import threading
import time

CHUNK = 1 << 20
NOT_THE_HOST_FOLDER = 11


def log(msg):
    sys.stderr.write("[sqlite-backup] %s\n" % msg)
    sys.stderr.flush()


def result(**fields):
    sys.stderr.write("HOMEIQ_SQLITE_RESULT %s\n" % json.dumps(fields, sort_keys=True))


def snapshot(src_path, dst_path, during_check=None):
    """SQLite's online backup of src_path into the new file dst_path, then quick_check.

    during_check(), if given, runs in a second thread while quick_check reads the finished copy
    (both mostly outside the GIL). Returns (check, pages, what during_check returned)."""
    started = time.time()
    # timeout = busy timeout in seconds, for rollback-journal databases whose
    # writer holds the lock at the moment the snapshot starts.
    src = sqlite3.connect(src_path, timeout=60)
    dst = sqlite3.connect(dst_path)
    # The copy is a new file that is discarded if anything fails, and fsynced by the caller once
    # complete: no journal and no fsync of SQLite's own are needed while it is written.
    dst.execute("PRAGMA journal_mode=OFF")
    dst.execute("PRAGMA synchronous=OFF")
    log("online backup of %s (%d bytes on disk) started" % (src_path, os.path.getsize(src_path)))
    src.backup(dst)  # pages=-1: the whole database from one read transaction
    src.close()
    side = {}
    worker = None
    if during_check:
        worker = threading.Thread(target=lambda: side.update(value=during_check()))
        worker.start()
    check = dst.execute("PRAGMA quick_check").fetchone()[0]
    pages = dst.execute("PRAGMA page_count").fetchone()[0]
    dst.close()
    if worker:
        worker.join()
        if "value" not in side:
            raise OSError("hashing the copy failed (see above)")
    log("snapshot taken in %.1fs (%d pages, quick_check %s)" % (time.time() - started, pages, check))
    return check, pages, side.get("value")


def remove_quietly(*paths):
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass


def stream(src_path):
    fd, tmp = tempfile.mkstemp(prefix=".homeiq-backup-", suffix=".sqlite-tmp", dir=os.path.dirname(src_path) or ".")
    os.close(fd)
    try:
        check, pages, _ = snapshot(src_path, tmp)
        if check != "ok":
            log("quick_check of the backup copy failed: %s" % check)
            return 4
        digest = hashlib.sha256()
        size = 0
        out = sys.stdout.buffer
        with open(tmp, "rb") as f:
            while True:
                block = f.read(CHUNK)
                if not block:
                    break
                digest.update(block)
                size += len(block)
                out.write(block)
        out.flush()
        result(status="ok", size=size, sha256=digest.hexdigest(), check=check, pages=pages, sqlite=sqlite3.sqlite_version)
        return 0
    finally:
        remove_quietly(tmp, tmp + "-journal", tmp + "-wal", tmp + "-shm")


def fsync_and_hash(path):
    """fsyncs the file, then reads it back once: its sha256."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        os.fsync(f.fileno())
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_user(spec):
    """uid, gid and supplementary groups for a docker `--user` value ("" = root), as docker resolves it."""
    name, _, group = spec.partition(":")
    if not name:
        return 0, 0, []
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except KeyError:
        if not name.isdigit():
            raise ValueError("user '%s' is not in this image's /etc/passwd" % name)
        entry = None
    uid = int(name) if name.isdigit() else entry.pw_uid
    if group:
        gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    else:
        gid = entry.pw_gid if entry else 0
    extra = [g.gr_gid for g in grp.getgrall() if entry and entry.pw_name in g.gr_mem]
    return uid, gid, extra


def direct(src_path, out_dir, marker, user):
    # Is out_dir the host's folder, and may root here write in it?
    try:
        os.unlink(os.path.join(out_dir, marker))
    except OSError as e:
        log("%s is not the backup folder of the host running backup.sh, or root here cannot write to it (%s)"
            % (out_dir, e.strerror))
        return NOT_THE_HOST_FOLDER
    owner = os.stat(out_dir)
    uid, gid, extra = resolve_user(user)
    name = os.path.basename(src_path)
    final = os.path.join(out_dir, name)
    # The service user must reach the staging folder: the mount root is the host's 0700
    # folder, so it gets search permission (no read) for the time of the copy. On the host it
    # stays unreachable for others: its parent is 0700.
    os.chmod(out_dir, 0o711)
    stage = tempfile.mkdtemp(prefix=".homeiq-stage-", dir=out_dir)
    staged = os.path.join(stage, name)
    try:
        os.chown(stage, uid, gid)
        # Act as the service's user: files SQLite creates (the copy, its journal, a -wal or
        # -shm of the live database if none exists yet) belong to that user, as in the service.
        os.setgroups(extra)
        os.setegid(gid)
        os.seteuid(uid)
        try:
            if not os.path.isfile(src_path):
                log("no database file at %s" % src_path)
                result(status="absent")
                return 3
            # The copy is complete once the backup step returns: it is fsynced and hashed (read
            # back once) while quick_check reads it too.
            check, pages, sha256 = snapshot(src_path, staged, during_check=lambda: fsync_and_hash(staged))
        finally:
            os.seteuid(0)
            os.setegid(0)
            os.setgroups([])
        if check != "ok":
            log("quick_check of the backup copy failed: %s" % check)
            return 4
        os.rename(staged, final)
        os.chown(final, owner.st_uid, owner.st_gid)
        os.chmod(final, 0o600)
        fd = os.open(final, os.O_RDONLY)
        try:
            os.fsync(fd)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        result(status="ok", size=size, sha256=sha256, check=check, pages=pages, sqlite=sqlite3.sqlite_version)
        return 0
    finally:
        remove_quietly(staged, staged + "-journal", staged + "-wal", staged + "-shm")
        try:
            os.rmdir(stage)
        except OSError:
            pass
        os.chmod(out_dir, 0o700)
        dfd = os.open(out_dir, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def main():
    args = sys.argv[1:]
    if len(args) not in (1, 4):
        log("usage: python3 -c \"$(cat sqlite_backup.py)\" <db path> [<out dir> <marker> <user>]")
        return 4
    try:
        if len(args) == 4:
            return direct(*args)
        if not os.path.isfile(args[0]):
            log("no database file at %s" % args[0])
            result(status="absent")
            return 3
        return stream(args[0])
    except (sqlite3.Error, OSError, ValueError) as e:
        log("backing up %s failed: %s: %s" % (args[0], type(e).__name__, e))
        return 4


if __name__ == "__main__":
    sys.exit(main())
