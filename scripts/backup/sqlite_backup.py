"""Online backup of one SQLite database, run INSIDE the service's own image.

backup.sh runs this file as `python3 -c "<its text>" <db path>` (through
`docker exec` into the running service container, or `docker run --rm
--volumes-from` when the container is stopped), so it needs nothing but
python3's standard library.

    python3 -c "$(cat sqlite_backup.py)" /app/data/metadata.db > metadata.db

It copies the database with SQLite's online backup API in ONE step
(`src.backup(dst)` with pages=-1), which reads one consistent snapshot even
while the service keeps writing (in WAL mode writers are not blocked; in
rollback-journal mode they wait up to the busy timeout). The copy is spooled
to a temporary file next to the database (same volume, so neither the
container's memory limit nor a small /tmp limits the size), checked with
`PRAGMA quick_check`, streamed to stdout, and deleted. The live file is never
copied byte-for-byte.

stdout: the database bytes, nothing else.
stderr: progress lines, and one final line
        `HOMEIQ_SQLITE_RESULT {"size": N, "sha256": "...", "check": "ok", ...}`.
exit:   0 copied; 3 the database file does not exist; 4 backup or check failed.
"""

import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import time

CHUNK = 1 << 20


def log(msg):
    sys.stderr.write("[sqlite-backup] %s\n" % msg)
    sys.stderr.flush()


def main():
    if len(sys.argv) != 2:
        log("usage: python3 -c \"$(cat sqlite_backup.py)\" <db path>")
        return 4
    src_path = sys.argv[1]
    if not os.path.isfile(src_path):
        log("no database file at %s" % src_path)
        sys.stderr.write("HOMEIQ_SQLITE_RESULT %s\n" % json.dumps({"status": "absent"}))
        return 3
    fd, tmp = tempfile.mkstemp(prefix=".homeiq-backup-", suffix=".sqlite-tmp",
                               dir=os.path.dirname(src_path) or ".")
    os.close(fd)
    try:
        started = time.time()
        # timeout = busy timeout in seconds, for rollback-journal databases whose
        # writer holds the lock at the moment the snapshot starts.
        src = sqlite3.connect(src_path, timeout=60)
        dst = sqlite3.connect(tmp)
        log("online backup of %s (%d bytes on disk) started" % (src_path, os.path.getsize(src_path)))
        src.backup(dst)  # pages=-1: the whole database from one read transaction
        src.close()
        check = dst.execute("PRAGMA quick_check").fetchone()[0]
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
        dst.close()
        if check != "ok":
            log("quick_check of the backup copy failed: %s" % check)
            return 4
        log("snapshot taken in %.1fs (%d pages, quick_check ok); streaming" % (time.time() - started, pages))
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
        result = {"status": "ok", "size": size, "sha256": digest.hexdigest(), "check": check,
                  "pages": pages, "sqlite": sqlite3.sqlite_version}
        sys.stderr.write("HOMEIQ_SQLITE_RESULT %s\n" % json.dumps(result, sort_keys=True))
        return 0
    except sqlite3.Error as e:
        log("SQLite error backing up %s: %s" % (src_path, e))
        return 4
    finally:
        for p in (tmp, tmp + "-journal", tmp + "-wal", tmp + "-shm"):
            try:
                os.unlink(p)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
