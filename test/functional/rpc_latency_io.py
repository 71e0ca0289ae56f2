#!/usr/bin/env python3
"""RPC latency under I/O load (issue 12, item 9): bdevperf -z in the default
(hybrid) mode on one core, a malloc bdev, perform_tests running randread;
meanwhile one-shot clients call log_get_level. Before the fix the first
call after the I/O started waited ~0.7-0.9 s (the RPC server's fallback
poller was still on its idle 1 s period and the busy reactor never ran
the socket's interrupt). Prints the first call and p50/p99/max of 200; asserts
bounds generous enough for a loaded 2-core machine (first < 250 ms,
p99 < 100 ms); the figures go to doc/performance.md."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgt_harness import FAILS, ROOT, check  # noqa: E402

BDEVPERF = os.path.join(ROOT, 'build', 'bin', 'bdevperf')


def call(sock_path, method, params=None, timeout=30):
    req = {'jsonrpc': '2.0', 'id': 1, 'method': method}
    if params is not None:
        req['params'] = params
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall(json.dumps(req).encode())
        buf = b''
        while not buf.endswith(b'\n'):
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def timed_ms(sock_path):
    start = time.monotonic()
    r = call(sock_path, 'log_get_level', timeout=10)
    return (time.monotonic() - start) * 1000 if 'result' in r else None


def wait_socket(path, proc, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


def main():
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError('test timed out')))
    signal.alarm(90)
    work = tempfile.mkdtemp(prefix='brisk_rpc_lat.')
    sock_path = os.path.join(work, 'bp.sock')
    log = open(os.path.join(work, 'bp.log'), 'w')
    bp = subprocess.Popen([BDEVPERF, '-z', '-r', sock_path, '-s', '128', '--no-huge',
                           '-i', str(40000 + os.getpid() % 10000),
                           '-q', '8', '-o', '4k', '-w', 'randread', '-t', '8'],
                          stdout=log, stderr=subprocess.STDOUT)
    runner = None
    try:
        if not check(wait_socket(sock_path, bp), 'bdevperf -z starts'):
            return 1
        call(sock_path, 'bdev_malloc_create', {'name': 'Malloc0', 'num_blocks': 65536,
                                               'block_size': 512})
        time.sleep(1.5)  # idle: the reactor sleeps, as in the report
        runner = subprocess.Popen([sys.executable, '-c', 'import sys, socket; s = socket.socket('
                                   'socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b\'{"jsonrpc"'
                                   ':"2.0","id":1,"method":"perform_tests"}\'); print(s.recv(1 << 20))',
                                   sock_path], stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        first = timed_ms(sock_path)
        lat = []
        for _ in range(200):
            lat.append(timed_ms(sock_path))
            time.sleep(0.02)
        out, _ = runner.communicate(timeout=30)
        ok = [x for x in lat if x is not None]
        ok.sort()
        p50, p99 = ok[len(ok) // 2], ok[int(len(ok) * 0.99) - 1]
        print(f'RPC latency under randread load (hybrid mode): first {first:.1f} ms, '
              f'p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {ok[-1]:.1f} ms ({len(ok)}/200 answered)')
        check("'iops'" in out or '"iops"' in out, 'perform_tests ran and answered')
        check(len(ok) == 200, 'every call under load answered')
        check(first is not None and first < 250, f'first RPC after the I/O started: {first} ms < 250')
        check(p99 < 100, f'p99 under I/O load {p99:.2f} ms < 100 (target 10 ms; see performance.md)')
    finally:
        signal.alarm(0)
        if runner is not None and runner.poll() is None:
            runner.kill()
            runner.wait()
        if bp.poll() is None:
            bp.terminate()
            try:
                bp.wait(20)
            except subprocess.TimeoutExpired:
                bp.kill()
                bp.wait()
        log.close()
        if FAILS:
            with open(os.path.join(work, 'bp.log')) as f:
                print(f.read()[-3000:], file=sys.stderr)
        subprocess.run(['rm', '-rf', work])
    if FAILS:
        print(f'{len(FAILS)} check(s) failed', file=sys.stderr)
        return 1
    print('all checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
