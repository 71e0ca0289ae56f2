#!/usr/bin/python3
# Crash safety of the brisk VFS: a writer process commits numbered
# transactions (synchronous=FULL) and prints each number once its commit
# returned; it is killed with SIGKILL at a random moment; a new process then
# checks that every reported commit is there, nothing beyond the one commit
# that may have finished unreported, and that integrity_check is ok. Rounds
# cycle through DELETE, TRUNCATE, PERSIST and WAL journals on one store.
# SQLITE_CRASH_ROUNDS (default 12; test/long/sqlite_crash_long.sh runs 100),
# SQLITE_CRASH_SEED for a repeatable run. Each child is bounded in time.
import os
import random
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sqlite_common as sc  # noqa: E402

MODES = ["delete", "truncate", "persist", "wal"]


def writer(mode):
    """Child: commits numbered transactions forever, printing each number."""
    db = sc.connect("crash.db", timeout=10)
    db.execute("PRAGMA journal_mode=%s" % mode)
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS c(n INTEGER PRIMARY KEY, pad TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS lastc(id INTEGER PRIMARY KEY, n INTEGER)")
    db.execute("CREATE INDEX IF NOT EXISTS c_pad ON c(pad)")
    n = db.execute("SELECT coalesce(max(n), 0) FROM c").fetchone()[0]
    print("start %d" % n, flush=True)
    while True:
        n += 1
        db.execute("BEGIN")
        # Several pages per commit: a row, an index entry, a counter row.
        db.execute("INSERT INTO c VALUES (?, hex(randomblob(300)))", (n,))
        db.execute("INSERT OR REPLACE INTO lastc VALUES (1, ?)", (n,))
        db.execute("COMMIT")
        print(n, flush=True)


def checker():
    """Child: prints 'max count last integrity' of the database."""
    db = sc.connect("crash.db", timeout=10)
    mx, cnt = db.execute("SELECT coalesce(max(n), 0), count(*) FROM c").fetchone()
    last = db.execute("SELECT coalesce(max(n), 0) FROM lastc").fetchone()[0]
    ok = db.execute("PRAGMA integrity_check").fetchone()[0]
    print(mx, cnt, last, ok.replace(" ", "_"))


def run_writer(env, mode, lifetime):
    """Starts a writer, kills it after lifetime s; returns (start, last reported)."""
    p = subprocess.Popen([sc.PYTHON, __file__, "--writer", mode], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start, last, deadline = None, None, None
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if deadline and time.monotonic() >= deadline:
            break
        r, _, _ = select.select([p.stdout], [], [], 0.01)
        if r:
            line = p.stdout.readline()
            if not line:
                break
            if line.startswith("start"):
                start = int(line.split()[1])
                deadline = time.monotonic() + lifetime
            else:
                last = int(line)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    # Read through p.stdout, not communicate(): communicate reads the raw
    # pipe and would miss lines readline() already pulled into its buffer.
    out, err = p.stdout.read(), p.stderr.read()
    for line in out.split():
        if line.isdigit():
            last = int(line)
    return start, last, err


def round_check(c, env, rnd, mode, lifetime):
    start, last, err = run_writer(env, mode, lifetime)
    if start is None:
        c.check(False, "round %d (%s): the writer did not start: %s" % (rnd, mode, err[-400:]))
        return
    last = start if last is None else last
    rc, out, cerr = sc.run_child([sc.PYTHON, __file__, "--check"], env, 60)
    try:
        mx, cnt, lastrow, ok = out.split()
        mx, cnt, lastrow = int(mx), int(cnt), int(lastrow)
    except ValueError:
        c.check(False, "round %d (%s): the checker failed: %s" % (rnd, mode, cerr[-400:]))
        return
    good = (ok == "ok" and mx in (last, last + 1) and cnt == mx and lastrow == mx)
    c.check(good, "round %d (%s, killed after %.2fs): reported %d, found %d rows up to %d, "
            "counter %d, integrity %s" % (rnd, mode, lifetime, last, cnt, mx, lastrow, ok))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--writer":
        writer(sys.argv[2])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        checker()
        return
    c = sc.Checks()
    if not c.check(os.path.exists(sc.EXT), "%s is built" % sc.EXT):
        c.finish()
    rounds = int(os.environ.get("SQLITE_CRASH_ROUNDS", "12"))
    seed = int(os.environ.get("SQLITE_CRASH_SEED", str(int(time.time()))))
    print("seed %d (SQLITE_CRASH_SEED to repeat)" % seed)
    rng = random.Random(seed)
    store = sc.Store(size_mb=256)
    try:
        env = store.env()
        for rnd in range(rounds):
            round_check(c, env, rnd, MODES[rnd % len(MODES)], rng.uniform(0.05, 1.0))
    finally:
        store.cleanup()
    c.finish()


if __name__ == "__main__":
    main()
