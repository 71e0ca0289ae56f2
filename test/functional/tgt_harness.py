"""Shared by the Python functional tests (imported, not run on its own):
brisk_tgt on a private socket and shm id, ok/FAIL check lines, and rpc.py
as a subprocess."""
import glob
import os
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))

from rpc.client import JSONRPCClient, JSONRPCException  # noqa: E402

TGT = os.path.join(ROOT, 'build', 'bin', 'brisk_tgt')
RPC_PY = os.path.join(ROOT, 'scripts', 'rpc.py')
FAILS = []


def check(cond, what):
    """Prints ok/FAIL for one check and remembers the failures."""
    if cond:
        print(f'ok: {what}')
    else:
        print(f'FAIL: {what}', file=sys.stderr)
        FAILS.append(what)
    return cond


class Target:
    def __init__(self, work, shm_id, sock, extra=(), mem_mb=64):
        self.sock = sock
        self.shm_id = shm_id
        self.log_path = os.path.join(work, f'tgt{shm_id}.log')
        self.log = open(self.log_path, 'a')
        self.proc = subprocess.Popen([TGT, '-r', sock, '-i', str(shm_id), '-s', str(mem_mb)] +
                                     list(extra), stdout=self.log, stderr=subprocess.STDOUT)

    def wait_socket(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                JSONRPCClient(self.sock, 2).close()
                return True
            except JSONRPCException:
                time.sleep(0.05)
        return False

    def leftovers(self):
        """Hugepage and shared-memory files of this target's shm id, and its socket."""
        return sorted(glob.glob(f'/dev/hugepages/brisk_{self.shm_id}_*') +
                      glob.glob(f'/dev/shm/brisk_brisk_{self.shm_id}_*') +
                      ([self.sock] if os.path.exists(self.sock) else []))

    def stop(self):
        """SIGTERM; returns the exit code (None if it did not exit in 20 s)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            return None

    def stop_checked(self, what):
        """SIGTERM: must exit 0 within 20 s and leave nothing behind."""
        code = self.stop()
        check(code == 0 and not self.leftovers(),
              f'{what}: SIGTERM exits 0 (exit {code}), nothing left behind ({self.leftovers()})')
        self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
            # A killed target cannot release its memory: do it here.
            for path in self.leftovers():
                os.unlink(path)
        self.log.close()

    def tail(self, n=30):
        with open(self.log_path) as f:
            return ''.join(f.readlines()[-n:])


def rpc_cli(sock, *args, stdin=None, timeout=30, rpc_timeout=20):
    """scripts/rpc.py as a subprocess: (exit code, stdout, stderr)."""
    p = subprocess.run([sys.executable, RPC_PY, '-s', sock, '-t', str(rpc_timeout)] +
                       [str(a) for a in args], input=stdin, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr
