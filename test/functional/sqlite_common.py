# Imported by the sqlite_*.py functional tests (not a test itself: not
# executable). A temp folder with an aio backing file and the Brisk JSON
# config that creates its bdev, the environment that points the brisk VFS
# at it, one-line-per-check reporting, and child processes with bounded time.
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXT = os.path.join(ROOT, "build", "lib", "libbrisk_sqlite.so")
# Debian's python3: it is built with load_extension support.
PYTHON = "/usr/bin/python3"


class Checks:
    def __init__(self):
        self.fails = 0

    def check(self, ok, what):
        if ok:
            print("ok: " + what, flush=True)
        else:
            print("FAIL: " + what, flush=True)
            self.fails += 1
        return ok

    def finish(self):
        if self.fails:
            print("%d check(s) failed" % self.fails)
            sys.exit(1)
        print("all checks passed")
        sys.exit(0)


class Store:
    """A backing file, a config creating bdev aio0 on it, the VFS env."""

    def __init__(self, size_mb=512, prefix="brisk_sqlite_test."):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.file = os.path.join(self.dir, "store.img")
        with open(self.file, "wb") as f:
            f.truncate(size_mb << 20)
        self.config = os.path.join(self.dir, "brisk.json")
        with open(self.config, "w") as f:
            f.write('{"subsystems": [{"subsystem": "bdev", "config": [{"method": '
                    '"bdev_aio_create", "params": {"name": "aio0", "filename": "%s", '
                    '"block_size": 4096}}]}]}\n' % self.file)

    def env(self, **extra):
        env = dict(os.environ)
        env.update(BRISK_SQLITE_CONFIG=self.config, BRISK_SQLITE_BDEV="aio0",
                   BRISK_SQLITE_MEM_MB="96", BRISK_SQLITE_CACHE_MB="16",
                   BRISK_TEST_NO_HUGE="1")
        env.update(extra)
        return env

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def connect(name, timeout=5.0, **params):
    """A connection to name on the brisk VFS (loads the extension once)."""
    if not getattr(connect, "loaded", False):
        boot = sqlite3.connect(":memory:")
        boot.enable_load_extension(True)
        boot.load_extension(EXT)
        boot.close()
        connect.loaded = True
    query = "".join("&%s=%s" % kv for kv in params.items())
    return sqlite3.connect("file:%s?vfs=brisk%s" % (name, query), uri=True,
                           timeout=timeout, isolation_level=None,
                           check_same_thread=False)


def run_child(args, env, timeout):
    """Runs a child bounded by timeout; returns (rc, stdout, stderr)."""
    try:
        p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        return -1, e.stdout or "", "timed out after %ss" % timeout
