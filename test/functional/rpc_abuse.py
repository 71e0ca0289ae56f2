#!/usr/bin/env python3
"""The RPC server under abuse stays available and bounded (issue 12, items 6
and 7), against a real brisk_tgt:
- a burst of 500 simultaneous one-shot clients: every one gets its answer;
- 64 idle clients do not lock others out: an idle one is closed with a
  -32000 error to make room;
- 64 clients sending one byte a second do not lock others out, and are
  closed at the receive deadline with -32001;
- with every connection busy, a waiting client is refused with -32000
  "Too many connections" (not closed without a word);
- batches: over the size limit -> clear error; a batch of 256
  bdev_get_bdevs over 1,000 bdevs (~180 MB of answers) read slowly keeps
  the target's RSS bounded and other clients answered within a second; a
  client leaving mid-batch stops the work; memory goes back afterwards.
Bounded to ~1 minute; prints one line per check."""
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgt_harness import FAILS, TGT, Target, check  # noqa: E402
from tgt_harness import JSONRPCClient  # noqa: E402

PING = b'{"jsonrpc":"2.0","id":1,"method":"log_get_level"}'


def connect(sock_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    return s


def read_line(s, timeout):
    """One response line (parsed), or None on timeout/EOF."""
    s.settimeout(timeout)
    buf = b''
    try:
        while not buf.endswith(b'\n'):
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
    except (socket.timeout, OSError):
        return None
    try:
        return json.loads(buf) if buf.strip() else None
    except ValueError:
        return None


def ping_ms(sock_path, timeout=10):
    """Latency of one log_get_level on a new connection (ms), None if no answer."""
    start = time.monotonic()
    with connect(sock_path) as s:
        s.sendall(PING)
        r = read_line(s, timeout)
    if r is None or 'result' not in r:
        return None
    return (time.monotonic() - start) * 1000


def error_of(r):
    return (r or {}).get('error', {}).get('code'), (r or {}).get('error', {}).get('message', '')


def rss_mb(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return 0.0


def test_burst(sock_path, n=500):
    """n clients connect at once, all send, then all read."""
    start = time.monotonic()
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock_path)  # completes into the backlog even when not accepted yet
        socks.append(s)
    for s in socks:
        s.sendall(PING)
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, b'')
    answered = errors = 0
    deadline = time.monotonic() + 30
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(0.5):
            data = key.data + (key.fileobj.recv(1 << 16) or b'\0')
            if data.endswith(b'\n') or data.endswith(b'\0'):
                r = json.loads(data.rstrip(b'\0')) if data.strip(b'\0\n') else {}
                answered += 'result' in r
                errors += 'result' not in r
                sel.unregister(key.fileobj)
                key.fileobj.close()
            else:
                sel.modify(key.fileobj, selectors.EVENT_READ, data)
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    secs = time.monotonic() - start
    check(answered == n, f'{n} simultaneous one-shot clients: {answered} answered, {errors} errors '
          f'or closed, {n - answered - errors} silent ({secs:.1f} s)')


def test_idle_clients(sock_path):
    idle = [connect(sock_path) for _ in range(64)]
    time.sleep(0.3)
    ms = ping_ms(sock_path)
    check(ms is not None and ms < 5000, f'64 idle clients: another client is answered ({ms} ms)')
    evicted = [error_of(read_line(s, 0.05)) for s in idle]
    codes = [c for c, _ in evicted if c is not None]
    check(codes and all(c == -32000 for c in codes),
          f'an idle client closed to make room gets -32000 first ({len(codes)} closed: {evicted[:1]})')
    for s in idle:
        s.close()


def one_call(sock_path, method, params=None):
    """One call on its own connection (an idle open one would be evicted)."""
    with JSONRPCClient(sock_path, 30) as c:
        return c.call(method, params)


def test_slow_clients(sock_path):
    one_call(sock_path, 'rpc_set_options', {'recv_timeout_ms': 4000})
    slow = [connect(sock_path) for _ in range(64)]
    req = PING
    worst = 0.0
    ok = True
    start = time.monotonic()
    for i in range(5):
        for s in slow:
            try:
                s.send(req[i:i + 1])
            except OSError:
                pass
        ms = ping_ms(sock_path, 5)
        ok = ok and ms is not None
        worst = max(worst, ms or 1e9)
        time.sleep(max(0.0, start + i + 1 - time.monotonic()))
    check(ok and worst < 3000,
          f'64 clients sending one byte a second: others answered (worst {worst:.0f} ms)')
    time.sleep(0.5)
    got = [error_of(read_line(s, 0.2)) for s in slow]
    timed_out = sum(1 for code, msg in got if code == -32001 and 'did not arrive whole' in msg)
    evicted = sum(1 for code, _ in got if code == -32000)
    check(timed_out + evicted == 64,
          f'slow clients closed: {timed_out} at the receive deadline (-32001), {evicted} to make '
          f'room (-32000)')
    for s in slow:
        s.close()
    one_call(sock_path, 'rpc_set_options', {'recv_timeout_ms': 10000})


def test_refused_when_busy(sock_path):
    one_call(sock_path, 'rpc_set_options', {'max_connections': 2})
    # Two clients whose answers (~0.5 MB each) they do not read: busy.
    batch = json.dumps([{'jsonrpc': '2.0', 'id': i, 'method': 'rpc_get_methods'}
                        for i in range(200)]).encode()
    busy = [connect(sock_path) for _ in range(2)]
    for s in busy:
        s.sendall(batch)
    time.sleep(0.5)
    waiting = connect(sock_path)
    waiting.sendall(PING)
    code, msg = error_of(read_line(waiting, 6))
    check(code == -32000 and 'Too many connections' in msg,
          f'every connection busy: a waiting client gets -32000 ({code} {msg!r})')
    waiting.close()
    for s in busy:
        s.close()
    time.sleep(0.2)
    one_call(sock_path, 'rpc_set_options', {'max_connections': 64})


def bdev_batch(n, method='bdev_get_bdevs', params=None):
    reqs = []
    for i in range(n):
        r = {'jsonrpc': '2.0', 'id': i, 'method': method}
        if params is not None:
            r['params'] = params(i)
        reqs.append(r)
    return json.dumps(reqs).encode()


def batch_call(sock_path, data, timeout=60):
    with connect(sock_path) as s:
        s.sendall(data)
        s.settimeout(timeout)
        buf = b''
        while not buf.endswith(b'\n'):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def test_batches(sock_path, tgt):
    for k in range(4):
        r = batch_call(sock_path, bdev_batch(250, 'bdev_null_create', lambda i, k=k: {
            'name': f'Null{k * 250 + i}', 'num_blocks': 1024, 'block_size': 512}))
        check(all('result' in x for x in r), f'batch of 250 bdev_null_create ({k + 1}/4)')
    code, msg = error_of(batch_call(sock_path, bdev_batch(1000)))
    check(code == -32600 and 'over the limit of 256' in msg,
          f'a batch of 1000 is refused with a clear error ({msg!r})')

    r = batch_call(sock_path, bdev_batch(16))
    check(len(r) == 16 and all(len(x['result']) >= 1000 for x in r),
          'a batch of 16 bdev_get_bdevs over 1,000 bdevs is answered whole')

    base = rss_mb(tgt.proc.pid)
    flood = connect(sock_path)
    flood.sendall(bdev_batch(256))
    peak, worst = base, 0.0
    for _ in range(6):  # the client does not read for 3 s
        time.sleep(0.5)
        peak = max(peak, rss_mb(tgt.proc.pid))
        worst = max(worst, ping_ms(sock_path, 5) or 1e9)
    check(peak - base < 200, f'batch of 256 x 1,000 bdevs unread: RSS {base:.0f} -> {peak:.0f} MB '
          '(bounded by the send high-water mark)')
    check(worst < 1000, f'other clients answered meanwhile (worst {worst:.1f} ms)')
    flood.settimeout(5)
    got = len(flood.recv(1 << 20))
    flood.close()  # leaves mid-batch
    time.sleep(1.5)
    with open(tgt.log_path) as f:
        dropped = [ln for ln in f if 'requests of its batch dropped' in ln]
    check(dropped, f'client gone after {got} bytes: the rest of its batch is dropped '
          f'({dropped[-1].strip() if dropped else "no log line"})')
    time.sleep(0.5)
    after = rss_mb(tgt.proc.pid)
    check(after - base < 64, f'memory returned: RSS {after:.0f} MB (was {base:.0f}, peak {peak:.0f})')
    ms = ping_ms(sock_path)
    check(ms is not None and ms < 1000, f'server answers after the flood ({ms} ms)')


def main():
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError('test timed out')))
    signal.alarm(150)
    if not os.access(TGT, os.X_OK):
        print(f'{TGT} is not built', file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix='brisk_rpc_abuse.')
    sock_path = os.path.join(work, 'rpc.sock')
    tgt = Target(work, 50000 + os.getpid() % 10000, sock_path, ['--no-huge'], mem_mb=256)
    try:
        if not check(tgt.wait_socket(), 'brisk_tgt starts and listens'):
            print(tgt.tail(), file=sys.stderr)
            return 1
        with JSONRPCClient(sock_path, 30) as c:
            opts = c.call('rpc_get_options')
        check(opts['max_connections'] == 64 and opts['idle_timeout_ms'] > 0 and
              opts['recv_timeout_ms'] > 0 and opts['max_batch_size'] == 256,
              f'rpc_get_options: sane defaults ({opts})')
        test_burst(sock_path)
        test_idle_clients(sock_path)
        test_slow_clients(sock_path)
        test_refused_when_busy(sock_path)
        test_batches(sock_path, tgt)
        tgt.stop_checked('after the abuse')
        if FAILS:
            print(tgt.tail(40), file=sys.stderr)
    finally:
        signal.alarm(0)
        tgt.kill()
        subprocess.run(['rm', '-rf', work])
    if FAILS:
        print(f'{len(FAILS)} check(s) failed', file=sys.stderr)
        return 1
    print('all checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
