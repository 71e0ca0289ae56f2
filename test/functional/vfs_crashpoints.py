#!/usr/bin/python3
# Crash points through the brisk VFS: a short SQL workload (a few committed
# transactions, synchronous=FULL) is cut at its k-th device submission, for
# every k (or every SQLITE_CRASHPOINT_STRIDE-th), in DELETE and WAL modes.
# The cut: strace injects SIGKILL at the k-th io_submit of the process
# (that call does not run, the earlier ones complete: the device holds
# exactly the writes submitted before k, as the RAM bs_dev's DROP mode
# does for the blobstore). Then a new process recovers the store and the
# database and checks: every transaction the writer reported committed is
# there, nothing beyond the one in flight, the counter row matches, and
# PRAGMA integrity_check is ok.
# SQLITE_CRASHPOINT_STRIDE (default 15; 1 = every point, test/long/
# vfs_crashpoints_long.sh). Skipped (77) where strace cannot inject.
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sqlite_common as sc  # noqa: E402

MODES = ["delete", "wal"]
TXNS = 3


def setup(mode):
    """Child: the schema in the given journal mode, closed cleanly."""
    db = sc.connect("cp.db", timeout=10)
    db.execute("PRAGMA journal_mode=%s" % mode)
    db.execute("CREATE TABLE c(n INTEGER PRIMARY KEY, pad TEXT)")
    db.execute("CREATE INDEX c_pad ON c(pad)")
    db.execute("CREATE TABLE lastc(id INTEGER PRIMARY KEY, n INTEGER)")
    db.close()


def work(mode):
    """Child: TXNS numbered transactions, each number printed once committed."""
    db = sc.connect("cp.db", timeout=10)
    db.execute("PRAGMA journal_mode=%s" % mode)
    db.execute("PRAGMA synchronous=FULL")
    for n in range(1, TXNS + 1):
        db.execute("BEGIN")
        db.execute("INSERT INTO c VALUES (?, hex(randomblob(600)))", (n,))
        db.execute("INSERT OR REPLACE INTO lastc VALUES (1, ?)", (n,))
        db.execute("COMMIT")
        print(n, flush=True)
    db.close()


def check():
    """Child: prints 'max count counter integrity'."""
    db = sc.connect("cp.db", timeout=10)
    mx, cnt = db.execute("SELECT coalesce(max(n), 0), count(*) FROM c").fetchone()
    last = db.execute("SELECT coalesce(max(n), 0) FROM lastc").fetchone()[0]
    ok = db.execute("PRAGMA integrity_check").fetchone()[0]
    print(mx, cnt, last, ok.replace(" ", "_"))


def traced(args, env, inject_at=None, trace_out=None):
    """Runs args under strace in a session of its own, bounded in time (on
    timeout the whole group is killed: a tracee outlives a killed strace);
    returns (rc, stdout, stderr)."""
    cmd = ["strace", "-f", "-qq", "-o", trace_out or "/dev/null", "-e", "trace=io_submit"]
    if inject_at is not None:
        cmd += ["-e", "inject=io_submit:error=EIO:signal=KILL:when=%d" % inject_at]
    p = subprocess.Popen(cmd + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=60)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return -1, out, "timed out after 60 s: " + err


def prepare(c, store, mode):
    """Base image with the schema; returns (image copy path, submissions of a run)."""
    env = store.env()
    rc, _, err = sc.run_child([sc.PYTHON, __file__, "--setup", mode], env, 60)
    if not c.check(rc == 0, "%s: schema created" % mode):
        print(err[-400:])
        return None, 0
    base = store.file + "." + mode
    subprocess.run(["cp", "--sparse=always", store.file, base], check=True)
    trace = os.path.join(store.dir, "trace")
    rc, out, err = traced([sc.PYTHON, __file__, "--work", mode], env, trace_out=trace)
    with open(trace) as f:
        count = sum(1 for line in f if "io_submit(" in line)
    c.check(rc == 0 and out.split() == [str(n) for n in range(1, TXNS + 1)] and count > 0,
            "%s: the workload runs uncut: %d commits, %d io_submit calls"
            % (mode, len(out.split()), count))
    return base, count


def crash_point(store, mode, base, k, seen, reports):
    """Cut at submission k, recover, check; returns a failure text or None.
    seen[r] counts the cuts after r reported commits; reports[k] = r."""
    subprocess.run(["cp", "--sparse=always", base, store.file], check=True)
    env = store.env()
    _, out, _ = traced([sc.PYTHON, __file__, "--work", mode], env, inject_at=k)
    reported = max([int(x) for x in out.split() if x.isdigit()] or [0])
    seen[reported] += 1
    reports[k] = reported
    rc, out, err = sc.run_child([sc.PYTHON, __file__, "--check"], env, 60)
    try:
        mx, cnt, last, ok = out.split()
        mx, cnt, last = int(mx), int(cnt), int(last)
    except ValueError:
        return "k=%d: the checker failed: %s" % (k, err[-300:])
    good = ok == "ok" and mx in (reported, min(reported + 1, TXNS)) and cnt == mx and last == mx
    if good:
        return None
    return "k=%d: reported %d, found %d rows up to %d, counter %d, integrity %s" % (
        k, reported, cnt, mx, last, ok)


def cut_between_commits(store, mode, base, seen, reports):
    """When no strided cut fell between the first and the last commit (a WAL
    commit is two submissions, data and flush), bisect between the last cut
    before any commit and the first after one until a cut lands there; each
    is a full crash point. Returns the failures."""
    fails = []
    lo = max([k for k, r in reports.items() if r == 0] or [0])
    hi = min([k for k, r in reports.items() if r > 0 and k > lo] or [0])
    while hi - lo > 1 and sum(seen[1:TXNS]) == 0:
        mid = (lo + hi) // 2
        f = crash_point(store, mode, base, mid, seen, reports)
        if f:
            fails.append(f)
        lo, hi = (mid, hi) if reports[mid] == 0 else (lo, mid)
    return fails


def strace_works():
    try:
        p = subprocess.run(["strace", "-qq", "-o", "/dev/null", "-e", "inject=getpid:error=EIO",
                            "true"], capture_output=True, timeout=20)
        return p.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def main():
    if len(sys.argv) > 2 and sys.argv[1] in ("--setup", "--work"):
        (setup if sys.argv[1] == "--setup" else work)(sys.argv[2])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        check()
        return
    if not strace_works():
        print("skip: strace cannot trace and inject here (scripts/pkgdep.sh installs it)")
        sys.exit(77)
    c = sc.Checks()
    if not c.check(os.path.exists(sc.EXT), "%s is built" % sc.EXT):
        c.finish()
    stride = max(1, int(os.environ.get("SQLITE_CRASHPOINT_STRIDE", "15")))
    for mode in MODES:
        store = sc.Store(size_mb=64, prefix="brisk_vfs_cp.")
        try:
            base, count = prepare(c, store, mode)
            if base is None or count == 0:
                continue
            points = list(range(1, count + 1, stride))
            if points[-1] != count:
                points.append(count)
            seen = [0] * (TXNS + 1)
            reports = {}
            fails = [f for f in (crash_point(store, mode, base, k, seen, reports)
                                 for k in points) if f]
            fails += cut_between_commits(store, mode, base, seen, reports)
            for f in fails:
                print("  " + f)
            c.check(not fails, "%s: %d crash points of %d (stride %d, then bisection): all "
                    "committed transactions present, none beyond, integrity ok"
                    % (mode, len(reports), count, stride))
            # The cuts must land inside the workload, not only before or after it.
            c.check(sum(seen[1:TXNS]) > 0 and seen[TXNS] < len(points),
                    "%s: cuts after 0..%d reported commits: %s" % (mode, TXNS, seen))
        finally:
            store.cleanup()
    c.finish()


if __name__ == "__main__":
    main()
