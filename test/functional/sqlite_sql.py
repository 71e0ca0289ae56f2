#!/usr/bin/python3
# SQL through Python's sqlite3 module (Debian's) on the brisk VFS: a schema
# with indexes, inserts in batches, updates, deletes, VACUUM and
# integrity_check in every rollback-journal mode and in WAL; several
# connections and threads in one process; temp files; the data read back by
# a new process; a second process refused while the first owns the store.
# Rows per database: SQLITE_TEST_ROWS (default 5000; the 1 M runs
# in test/long/sqlite_sql_1m.sh). Bounded by SQLITE_TEST_TIMEOUT (300 s).
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sqlite_common as sc  # noqa: E402

ROWS = int(os.environ.get("SQLITE_TEST_ROWS", "5000"))
MODES = ["delete", "truncate", "persist", "wal"]
BATCH = 1000


def expected(mode):
    """Rows left after the workload: every 10th deleted."""
    return ROWS - len(range(0, ROWS, 10))


def workload(c, mode):
    """Schema, batched inserts, updates, deletes, VACUUM; returns problems."""
    db = sc.connect("jm_%s.db" % mode)
    got = db.execute("PRAGMA journal_mode=%s" % mode).fetchone()[0]
    c.check(got == mode, "%s: journal_mode is %s" % (mode, got))
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT, n REAL)")
    db.execute("CREATE INDEX t_k ON t(k)")
    db.execute("CREATE UNIQUE INDEX t_s ON t(s)")
    for start in range(0, ROWS, BATCH):
        db.execute("BEGIN")
        db.executemany("INSERT INTO t VALUES (?, ?, ?, ?)",
                       ((i, i % 97, "row-%08d" % i, i * 0.5)
                        for i in range(start, min(ROWS, start + BATCH))))
        db.execute("COMMIT")
    c.check(db.execute("SELECT count(*) FROM t").fetchone()[0] == ROWS,
            "%s: %d rows inserted in batches of %d" % (mode, ROWS, BATCH))
    db.execute("UPDATE t SET k = k + 1000 WHERE id % 3 = 0")
    db.execute("DELETE FROM t WHERE id % 10 = 0")
    db.execute("VACUUM")
    ok = db.execute("PRAGMA integrity_check").fetchone()[0]
    c.check(ok == "ok", "%s: integrity_check after updates, deletes, VACUUM: %s" % (mode, ok))
    n = db.execute("SELECT count(*) FROM t WHERE k >= 1000").fetchone()[0]
    c.check(n == len([i for i in range(0, ROWS, 3) if i % 10]),
            "%s: updated rows found through the index" % mode)
    db.close()


def readers_and_writer(c):
    """Locks between connections: rollback mode blocks a commit under a
    reader; WAL lets the reader keep its snapshot while the writer commits."""
    a, b = sc.connect("locks.db", timeout=0), sc.connect("locks.db", timeout=0)
    a.execute("CREATE TABLE x(v)")
    a.execute("INSERT INTO x VALUES (1)")
    b.execute("BEGIN")
    b.execute("SELECT * FROM x").fetchall()
    a.execute("BEGIN")
    a.execute("INSERT INTO x VALUES (2)")
    try:
        a.execute("COMMIT")
        busy = False
    except sc.sqlite3.OperationalError as e:
        busy = "locked" in str(e)
    c.check(busy, "delete mode: a commit waits for a reader of another connection")
    b.execute("COMMIT")
    a.execute("COMMIT")
    c.check(b.execute("SELECT count(*) FROM x").fetchone()[0] == 2,
            "delete mode: the commit succeeds once the reader ends")
    a.execute("PRAGMA journal_mode=wal")
    b.execute("BEGIN")
    before = b.execute("SELECT count(*) FROM x").fetchone()[0]
    a.execute("INSERT INTO x VALUES (3)")
    snap = b.execute("SELECT count(*) FROM x").fetchone()[0]
    b.execute("COMMIT")
    after = b.execute("SELECT count(*) FROM x").fetchone()[0]
    c.check((before, snap, after) == (2, 2, 3),
            "wal: a reader keeps its snapshot while another connection commits")
    a.close()
    b.close()


def threads(c, mode, nthreads=4, per_thread=100):
    """Several threads, each with its own connection, write one database."""
    db = sc.connect("threads_%s.db" % mode, timeout=120)
    db.execute("PRAGMA journal_mode=%s" % mode)
    db.execute("CREATE TABLE t(thread INTEGER, i INTEGER, PRIMARY KEY(thread, i))")
    errors = []

    def work(t):
        try:
            # Writers queue on the lock: the wait must cover the others' commits.
            conn = sc.connect("threads_%s.db" % mode, timeout=120)
            for i in range(per_thread):
                conn.execute("INSERT INTO t VALUES (?, ?)", (t, i))
                if i % 50 == 0:
                    conn.execute("SELECT count(*) FROM t").fetchone()
            conn.close()
        except Exception as e:  # reported below
            errors.append("%s: %s" % (t, e))

    ts = [threading.Thread(target=work, args=(t,)) for t in range(nthreads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    n = db.execute("SELECT count(*) FROM t").fetchone()[0]
    ok = db.execute("PRAGMA integrity_check").fetchone()[0]
    c.check(not errors and n == nthreads * per_thread and ok == "ok",
            "%s: %d threads x %d autocommit inserts: %d rows, %s %s"
            % (mode, nthreads, per_thread, n, ok, errors[:1]))
    db.close()


def temp_files(c):
    """Temp tables and a large sort spill to the VFS's temp files."""
    db = sc.connect("temp.db")
    db.execute("PRAGMA temp_store=FILE")
    db.execute("PRAGMA cache_size=-256")
    db.execute("CREATE TEMP TABLE tt(v)")
    db.execute("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r "
               "WHERE i < 20000) INSERT INTO tt SELECT hex(randomblob(40)) FROM r")
    n = db.execute("SELECT count(*) FROM (SELECT v FROM tt ORDER BY v)").fetchone()[0]
    c.check(n == 20000, "temp table of 20000 rows sorted through temp files")
    db.close()


def verify_child():
    """In a new process: every database holds what the parent left."""
    bad = []
    for mode in MODES:
        db = sc.connect("jm_%s.db" % mode)
        n = db.execute("SELECT count(*) FROM t").fetchone()[0]
        ok = db.execute("PRAGMA integrity_check").fetchone()[0]
        if n != expected(mode) or ok != "ok":
            bad.append("%s: %d rows, %s" % (mode, n, ok))
        db.close()
    print("; ".join(bad) if bad else "verified")
    return 1 if bad else 0


def work():
    """Every check on one store, in this (child) process."""
    signal.alarm(int(os.environ.get("SQLITE_TEST_TIMEOUT", "300")))
    c = sc.Checks()
    for mode in MODES:
        workload(c, mode)
    readers_and_writer(c)
    threads(c, "wal")
    threads(c, "delete")
    temp_files(c)
    second_process(c, os.environ["BRISK_SQLITE_STORE_DIR"])
    return 1 if c.fails else 0


def second_process(c, store_dir):
    """While this process owns the store, another one must be refused."""
    holder = sc.connect("jm_delete.db")
    holder.execute("SELECT count(*) FROM t").fetchone()
    rc, out, err = sc.run_child([sc.PYTHON, __file__, "--verify"], dict(os.environ), 60)
    c.check(rc != 0 and "in use by another process" in err,
            "a second process is refused with a clear error (rc %d)" % rc)
    holder.close()


def child_output(c, what, rc, out, err):
    """Relays a child's check lines; a child that died says why."""
    sys.stdout.write(out)
    c.fails += out.count("FAIL:")
    if rc != 0 and "FAIL:" not in out:
        c.check(False, "%s exited %d: %s" % (what, rc, err.strip()[-600:]))


def main():
    if len(sys.argv) > 1:
        sys.exit(work() if sys.argv[1] == "--work" else verify_child())
    c = sc.Checks()
    if not c.check(os.path.exists(sc.EXT), "%s is built" % sc.EXT):
        c.finish()
    store = sc.Store()
    try:
        env = store.env(BRISK_SQLITE_STORE_DIR=store.dir)
        budget = int(os.environ.get("SQLITE_TEST_TIMEOUT", "300"))
        rc, out, err = sc.run_child([sc.PYTHON, __file__, "--work"], env, budget + 10)
        child_output(c, "the workload process", rc, out, err)
        rc, out, err = sc.run_child([sc.PYTHON, __file__, "--verify"], env, 120)
        c.check(rc == 0 and "verified" in out,
                "a new process finds every database intact: %s %s"
                % (out.strip(), err.strip()[-300:]))
    finally:
        store.cleanup()
    c.finish()


if __name__ == "__main__":
    main()
