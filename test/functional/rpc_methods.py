#!/usr/bin/env python3
"""JSON-RPC server and rpc.py, end to end against a real brisk_tgt.

Starts build/bin/brisk_tgt on a private socket and shm id, then:
  - calls every logging/thread/env/framework method through rpc.py and
    through the client module, checking the shape of each answer; every
    method the target lists has an rpc.py subcommand;
  - rpc.py usage: exit codes, error text with code, missing socket, stdin
    command batches, load_config from stdin and -j;
  - abuse: bad JSON, unknown method, wrong/missing/unknown params on every
    method, invalid requests, an oversized request, clients that leave
    mid-request or before an asynchronous answer, many concurrent clients,
    JSON-RPC batches; after each, the target still answers and its state
    (log levels, flags, saved config) is unchanged;
  - a second target on the same socket is refused;
  - spdk_kill_instance SIGTERM stops the target cleanly (exit 0, socket gone).
Bounded to 240 s; the target is killed in every case.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgt_harness import FAILS, TGT, Target, check, rpc_cli  # noqa: E402
import rpc  # noqa: E402
from rpc.client import JSONRPCClient, JSONRPCException  # noqa: E402

MAX_REQUEST = 32 * 1024 * 1024  # RPC_MAX_REQUEST_SIZE in lib/event/rpc_internal.h


def raw_exchange(sock_path, data, timeout=10.0):
    """Sends bytes on a new connection; returns (responses, closed_by_server)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    s.sendall(data)
    buf, out, closed = b'', [], False
    dec = json.JSONDecoder()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            closed = True
            break
        buf += chunk
        text = buf.decode().lstrip()
        while text:
            try:
                value, end = dec.raw_decode(text)
            except ValueError:
                break
            out.append(value)
            text = text[end:].lstrip()
        buf = text.encode()
        if out and not closed:
            s.settimeout(0.3)  # collect what follows quickly, then stop
    s.close()
    return out, closed


def call_error(client, method, params=None):
    try:
        client.call(method, params)
    except JSONRPCException as err:
        return err
    return None


def snapshot(client):
    return {
        'level': client.call('log_get_level'),
        'print_level': client.call('log_get_print_level'),
        'flags': client.call('log_get_flags'),
        'config': client.call('save_config'),
    }


def test_methods_via_rpc_py(sock):
    rc, out, err = rpc_cli(sock, 'rpc_get_methods')
    methods = json.loads(out) if rc == 0 else []
    expected = ['rpc_get_methods', 'framework_wait_init', 'framework_start_init',
                'framework_get_reactors', 'framework_get_subsystems', 'framework_get_config',
                'thread_get_stats', 'thread_get_pollers', 'thread_get_io_channels', 'log_set_level',
                'log_get_level', 'log_set_print_level', 'log_get_print_level', 'log_set_flag',
                'log_clear_flag', 'log_get_flags', 'env_get_mem_stats', 'save_config', 'load_config',
                'brisk_kill_instance']
    check(rc == 0 and all(m in methods for m in expected),
          f'rpc_get_methods lists every method (missing: {[m for m in expected if m not in methods]})')
    check(methods == sorted(methods), 'rpc_get_methods is sorted')
    check('spdk_kill_instance' not in methods, 'aliases are hidden by default')
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    for module in rpc.MODULES:
        module.add_parsers(subparsers)
    missing = [m for m in methods if m not in subparsers.choices]
    check(rc == 0 and not missing, f'rpc.py has a subcommand for every method (missing: {missing})')
    rc, out, _ = rpc_cli(sock, 'rpc_get_methods', '--include-aliases')
    check(rc == 0 and 'spdk_kill_instance' in json.loads(out), 'rpc_get_methods --include-aliases')
    rc, out, _ = rpc_cli(sock, 'rpc_get_methods', '--current')
    current = json.loads(out) if rc == 0 else []
    check(rc == 0 and 'framework_get_reactors' in current and 'framework_start_init' not in current,
          'rpc_get_methods --current filters by state (runtime)')

    rc, out, _ = rpc_cli(sock, 'log_set_level', 'DEBUG')
    check(rc == 0 and out == '', 'log_set_level DEBUG prints nothing')
    rc, out, _ = rpc_cli(sock, 'log_get_level')
    check(rc == 0 and json.loads(out) == 'DEBUG', 'log_get_level reads DEBUG back')
    rc, out, _ = rpc_cli(sock, 'log_set_level', 'notice')
    rc2, out2, _ = rpc_cli(sock, 'log_get_level')
    check(rc == 0 and json.loads(out2) == 'NOTICE', 'log_set_level is case-insensitive')

    rc, _, _ = rpc_cli(sock, 'log_set_print_level', 'WARNING')
    rc2, out, _ = rpc_cli(sock, 'log_get_print_level')
    check(rc == 0 and json.loads(out) == 'WARNING', 'log_set/get_print_level')
    rpc_cli(sock, 'log_set_print_level', 'NOTICE')

    rc, _, _ = rpc_cli(sock, 'log_set_flag', 'rpc')
    _, out, _ = rpc_cli(sock, 'log_get_flags')
    flags = json.loads(out)
    check(rc == 0 and flags.get('rpc') is True and all(isinstance(v, bool) for v in flags.values()),
          'log_set_flag rpc / log_get_flags')
    rc, _, _ = rpc_cli(sock, 'log_clear_flag', 'rpc')
    _, out, _ = rpc_cli(sock, 'log_get_flags')
    check(rc == 0 and json.loads(out).get('rpc') is False, 'log_clear_flag rpc')

    rc, out, _ = rpc_cli(sock, 'thread_get_stats')
    st = json.loads(out) if rc == 0 else {}
    threads = st.get('threads', [])
    check(rc == 0 and st.get('tick_rate', 0) > 0 and threads and
          all({'name', 'id', 'cpumask', 'busy', 'idle'} <= set(t) for t in threads),
          'thread_get_stats has tick_rate and per-thread name/id/cpumask/busy/idle')

    rc, out, _ = rpc_cli(sock, 'thread_get_pollers')
    pol = json.loads(out) if rc == 0 else {}
    timed = [p for t in pol.get('threads', []) for p in t.get('timed_pollers', [])]
    rpc_poller = [p for p in timed if p['name'] == 'rpc_server']
    check(rc == 0 and all({'active_pollers', 'timed_pollers', 'paused_pollers'} <= set(t)
                          for t in pol.get('threads', [])) and rpc_poller and
          {'name', 'state', 'run_count', 'busy_count', 'period_ticks'} <= set(rpc_poller[0]),
          'thread_get_pollers lists the rpc_server timed poller with its counters')
    if rpc_poller:
        # The sockets wake the reactor; the poller only sweeps timeouts,
        # every 100 ms while clients are connected (paused without any).
        secs = rpc_poller[0]['period_ticks'] / pol['tick_rate']
        check(0.09 < secs < 0.11, f'rpc_server sweep poller period is 100 ms ({secs:.3f} s)')

    rc, out, _ = rpc_cli(sock, 'thread_get_io_channels')
    ch = json.loads(out) if rc == 0 else {}
    check(rc == 0 and all('io_channels' in t and isinstance(t['io_channels'], list)
                          for t in ch.get('threads', [])) and ch.get('threads'),
          'thread_get_io_channels lists channels per thread')

    rc, out, _ = rpc_cli(sock, 'env_get_mem_stats')
    mem = json.loads(out) if rc == 0 else {}
    heaps = mem.get('heaps', [])
    check(rc == 0 and heaps and all(h['total_bytes'] >= h['free_bytes'] and h['alloc_bytes'] > 0
                                    for h in heaps), 'env_get_mem_stats heaps')
    check(all({'name', 'len', 'socket_id'} <= set(z) for z in mem.get('memzones', [])) and
          all({'name', 'count', 'avail', 'in_use'} <= set(p) and p['avail'] + p['in_use'] == p['count']
              for p in mem.get('mempools', [])), 'env_get_mem_stats memzones and mempools')

    rc, out, _ = rpc_cli(sock, 'framework_wait_init')
    check(rc == 0 and out == '', 'framework_wait_init')
    rc, out, _ = rpc_cli(sock, 'framework_get_reactors')
    check(rc == 0 and json.loads(out).get('reactors'), 'framework_get_reactors')
    rc, out, _ = rpc_cli(sock, 'framework_get_subsystems')
    subs = [s['subsystem'] for s in json.loads(out)] if rc == 0 else []
    check(rc == 0 and subs, 'framework_get_subsystems')
    rc, out, _ = rpc_cli(sock, 'framework_get_config', subs[0] if subs else 'log')
    check(rc == 0 and isinstance(json.loads(out), list), 'framework_get_config NAME')
    rc, out, _ = rpc_cli(sock, 'save_config', '-i', '4')
    cfg = json.loads(out) if rc == 0 else {}
    check(rc == 0 and 'subsystems' in cfg and '\n        ' in out, 'save_config -i 4')
    # Only the log subsystem's part: other subsystems' methods belong to
    # their own tests (and some may only run before init).
    log_cfg = {'subsystems': [s for s in cfg.get('subsystems', []) if s['subsystem'] == 'log']}
    rc, out, err = rpc_cli(sock, 'load_config', stdin=json.dumps(log_cfg))
    check(rc == 0 and log_cfg['subsystems'], f'load_config from stdin ({err.strip()})')
    return cfg


def test_rpc_py_usage(sock, work):
    rc, out, err = rpc_cli(sock, 'log_set_flag', 'no_such_flag')
    check(rc == 1 and '-32602' in err and 'no_such_flag' in err,
          'rpc.py exits 1 with the error code and message')
    rc, out, err = rpc_cli(os.path.join(work, 'missing.sock'), 'log_get_level')
    check(rc == 1 and 'cannot connect to' in err and 'no such file' in err and 'brisk_tgt' in err,
          f'missing socket gives a readable error: {err.strip()}')
    rc, out, err = rpc_cli(sock, 'log_set_level')
    check(rc == 2, 'missing positional argument is a usage error (exit 2)')
    rc, out, err = rpc_cli(sock, 'framework_get_config', 'no_such_subsystem')
    check(rc == 1 and 'no_such_subsystem' in err, 'framework_get_config with a bad name')

    # Several commands from stdin over one connection.
    rc, out, err = rpc_cli(sock, stdin='log_set_flag rpc\n# a comment\n\nlog_get_flags\n'
                           'log_clear_flag rpc\nlog_get_level\n')
    check(rc == 0 and '"rpc": true' in out and '"NOTICE"' in out, 'commands from stdin run in order')
    rc, out, err = rpc_cli(sock, stdin='log_get_level\nlog_set_flag bogus_flag\nlog_get_level\n')
    check(rc == 1 and out.count('"NOTICE"') == 1 and 'line 2' in err,
          'stdin batch stops at the first failure, naming the line')
    rc, out, err = rpc_cli(sock, stdin='not_a_method\n')
    check(rc == 2 and 'line 1' in err, 'stdin batch rejects an unknown command')

    cfg_path = os.path.join(work, 'cfg.json')
    with JSONRPCClient(sock, 10) as c:
        c.call('log_set_flag', {'flag': 'rpc'})
        cfg = c.call('save_config')
        c.call('log_clear_flag', {'flag': 'rpc'})
        log_cfg = {'subsystems': [s for s in cfg['subsystems'] if s['subsystem'] == 'log']}
        with open(cfg_path, 'w') as f:
            json.dump(log_cfg, f)
        rc, out, err = rpc_cli(sock, 'load_config', '-j', cfg_path)
        check(rc == 0 and c.call('log_get_flags')['rpc'] is True,
              f'load_config -j FILE applies the file ({err.strip()})')
        c.call('log_clear_flag', {'flag': 'rpc'})
    rc, out, err = rpc_cli(sock, 'load_config', stdin='{not json')
    check(rc != 0 and 'load_config' in err, 'load_config with bad JSON on stdin fails clearly')


def test_client_module(sock):
    with JSONRPCClient(sock, 10) as c:
        check(rpc.log.log_set_flag(c, 'rpc') is True and rpc.log.log_get_flags(c)['rpc'] is True,
              'client module: log_set_flag')
        rpc.log.log_clear_flag(c, 'rpc')
        check(isinstance(rpc.app.rpc_get_methods(c, current=True), list), 'client module: rpc_get_methods')
        check('threads' in rpc.thread.thread_get_stats(c), 'client module: thread_get_stats')
        check('threads' in rpc.thread.thread_get_pollers(c), 'client module: thread_get_pollers')
        check('threads' in rpc.thread.thread_get_io_channels(c), 'client module: thread_get_io_channels')
        check('heaps' in rpc.env.env_get_mem_stats(c), 'client module: env_get_mem_stats')
        check(rpc.log.log_get_print_level(c) == 'NOTICE', 'client module: log_get_print_level')
        check(c.call('framework_get_subsystems'), 'client module: raw call')


def test_bad_params(sock):
    with JSONRPCClient(sock, 10) as c:
        cases = [
            ('log_set_level', {'level': 5}, "parameter 'level' must be a string"),
            ('log_set_level', {'level': 'LOUD'}, "'level' must be one of"),
            ('log_set_level', {}, "missing parameter 'level'"),
            ('log_set_level', None, "missing parameter 'level'"),
            ('log_set_print_level', {'level': True}, "parameter 'level' must be a string"),
            ('log_set_flag', {}, "missing parameter 'flag'"),
            ('log_set_flag', {'flag': 'rpc', 'extra': 1}, "unknown parameter 'extra'"),
            ('log_clear_flag', {'flag': ['rpc']}, "parameter 'flag' must be a string"),
            ('log_set_flag', {'flag': 'nope'}, "no log flag named 'nope'"),
            ('rpc_get_methods', {'current': 'yes'}, "parameter 'current' must be a boolean"),
            ('rpc_get_methods', {'include_aliases': 1}, "parameter 'include_aliases' must be a boolean"),
            ('rpc_get_methods', [1], 'params must be an object'),
        ]
        for method in ('log_get_level', 'log_get_print_level', 'log_get_flags', 'thread_get_stats',
                       'thread_get_pollers', 'thread_get_io_channels', 'env_get_mem_stats'):
            cases.append((method, {'bogus': 1}, "unknown parameter 'bogus'"))
        for method, params, text in cases:
            err = call_error(c, method, params)
            check(err is not None and err.code == -32602 and text in err.message,
                  f'{method} {json.dumps(params)} -> -32602 "{text}" (got {err})')
        err = call_error(c, 'no_such_method')
        check(err is not None and err.code == -32601 and err.message == 'Method not found: no_such_method',
              'unknown method -> -32601 naming it')
        err = call_error(c, 'framework_start_init')
        check(err is not None and err.code == -1 and 'before' in err.message,
              f'method not allowed in this state -> -1 saying which state ({err})')
        check(c.call('log_get_level') == 'NOTICE', 'same connection still works after errors')


def test_invalid_requests(sock):
    cases = [
        (b'[1]', lambda r: isinstance(r, list) and r[0]['error']['code'] == -32600, 'batch of a non-object'),
        (b'"str"', lambda r: r['error']['code'] == -32600, 'a string request'),
        (b'{"jsonrpc":"2.0","id":1}', lambda r: r['error']['code'] == -32600, 'no method'),
        (b'{"jsonrpc":"1.0","id":1,"method":"log_get_level"}',
         lambda r: r['error']['code'] == -32600 and r['id'] == 1, 'bad jsonrpc version'),
        (b'{"jsonrpc":"2.0","id":{},"method":"log_get_level"}',
         lambda r: r['error']['code'] == -32600 and r['id'] is None, 'bad id type'),
        (b'{"jsonrpc":"2.0","id":1,"method":"log_get_level","params":"x"}',
         lambda r: r['error']['code'] == -32602, 'params of the wrong type'),
        (b'[]', lambda r: r['error']['code'] == -32600, 'empty batch'),
    ]
    for data, ok, what in cases:
        out, _ = raw_exchange(sock, data, timeout=5)
        check(len(out) == 1 and ok(out[0]), f'invalid request: {what} ({out})')

    out, closed = raw_exchange(sock, b'{"jsonrpc":"2.0","id":1,"method":"log_get_level"}{"jsonrpc": nope}')
    check(len(out) == 2 and out[0].get('result') == 'NOTICE' and out[1]['error']['code'] == -32700
          and closed, 'bad JSON -> -32700 after the good request, then the connection is closed')

    batch = [{'jsonrpc': '2.0', 'id': 1, 'method': 'log_get_level'},
             {'jsonrpc': '2.0', 'method': 'log_get_flags'},  # notification: no answer
             {'jsonrpc': '2.0', 'id': 3, 'method': 'nope'},
             {'jsonrpc': '2.0', 'id': 4, 'method': 'thread_get_stats'}]
    out, _ = raw_exchange(sock, json.dumps(batch).encode())
    r = out[0] if out else []
    check(len(out) == 1 and [x.get('id') for x in r] == [1, 3, 4] and r[1]['error']['code'] == -32601
          and 'threads' in r[2]['result'], 'JSON-RPC batch: answers in order, none for notifications')

    # A request split into many small writes.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    req = b'{"jsonrpc":"2.0","id":"split","method":"log_get_flags"}'
    for i in range(0, len(req), 3):
        s.sendall(req[i:i + 3])
        time.sleep(0.002)
    resp = json.loads(s.recv(65536).decode())
    s.close()
    check(resp.get('id') == 'split' and 'rpc' in resp.get('result', {}), 'request split over many writes')


def test_oversized(sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(sock)
    head = b'{"jsonrpc":"2.0","id":1,"method":"log_set_level","params":{"level":"'
    payload = head + b'x' * (MAX_REQUEST + (1 << 20))
    sent_all = True
    try:
        s.sendall(payload)
    except OSError:
        sent_all = False  # the server closed on us mid-send: expected
    buf = b''
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except OSError:
        pass
    s.close()
    text = buf.decode(errors='replace').strip()
    resp = json.loads(text.splitlines()[0]) if text else {}
    check(resp.get('error', {}).get('code') == -32600 and 'larger than' in resp['error']['message'],
          f'oversized request -> -32600 and close (sent all: {sent_all}, got {text[:120]})')


def test_disconnects(sock):
    # Mid-request: a half-sent request, then gone.
    for _ in range(20):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"log_set_level","params":{"level":"ERR')
        s.close()
    # Before the answer: thread_* methods answer asynchronously (after
    # visiting every thread), so the client is gone when they do.
    for method in ('thread_get_stats', 'thread_get_pollers', 'thread_get_io_channels') * 10:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        s.sendall(json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': method}).encode())
        s.shutdown(socket.SHUT_RDWR)
        s.close()
    # Half-close (like nc -N): the answer still comes.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    s.sendall(b'{"jsonrpc":"2.0","id":7,"method":"thread_get_stats"}')
    s.shutdown(socket.SHUT_WR)
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    check(json.loads(data.decode()).get('id') == 7, 'half-closed client still gets its answer')
    time.sleep(0.2)
    with JSONRPCClient(sock, 10) as c:
        check(c.call('log_get_level') == 'NOTICE', 'target answers after clients left mid-request '
              'and before their answers (level unchanged)')


def test_concurrent(sock):
    errors = []

    def worker(n):
        try:
            with JSONRPCClient(sock, 20) as c:
                for i in range(40):
                    method = ('log_get_flags', 'thread_get_stats', 'rpc_get_methods', 'env_get_mem_stats')[i % 4]
                    c.call(method)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(f'client {n}: {err}')

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check(not errors and not any(t.is_alive() for t in threads),
          f'8 concurrent clients x 40 calls ({errors[:3]})')

    # Pipelined: several requests in one write on one connection.
    reqs = b''.join(json.dumps({'jsonrpc': '2.0', 'id': i, 'method': 'log_get_level'}).encode()
                    for i in range(50))
    out, _ = raw_exchange(sock, reqs)
    check([r.get('id') for r in out] == list(range(50)), 'pipelined requests answered in order')


def test_second_target(work, sock):
    other = Target(work, 30000 + os.getpid() % 10000, sock)
    try:
        rc = other.proc.wait(20)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc not in (None, 0), f'a second brisk_tgt on the same socket is refused (exit {rc})')
    other.kill()


def test_poll_mode(work):
    """A reactor that never sleeps: the poller alone must serve clients."""
    sock = os.path.join(work, 'poll.sock')
    tgt = Target(work, 40000 + os.getpid() % 10000, sock, ['--poll-mode'])
    try:
        if not check(tgt.wait_socket(), 'brisk_tgt --poll-mode starts'):
            print(tgt.tail(), file=sys.stderr)
            return
        with JSONRPCClient(sock, 10) as c:
            start = time.monotonic()
            for _ in range(20):
                c.call('log_get_level')
            avg_ms = (time.monotonic() - start) / 20 * 1000
            pol = c.call('thread_get_pollers')
        check(avg_ms < 100, f'--poll-mode: 20 calls answered, {avg_ms:.1f} ms each on average')
        periods = [p['period_ticks'] / pol['tick_rate'] for t in pol['threads']
                   for p in t['timed_pollers'] if p['name'] == 'rpc_server']
        # A polling reactor serves the socket from its polls (the thread
        # reads its wake fd every 500 us): the poller only sweeps timeouts.
        check(periods and 0.09 < periods[0] < 0.11,
              f'--poll-mode: rpc_server poller is the 100 ms sweeper ({periods})')
        code = tgt.stop()
        check(code == 0 and not tgt.leftovers(),
              f'--poll-mode: SIGTERM exits 0 (exit {code}) leaving no files ({tgt.leftovers()})')
    finally:
        tgt.kill()


def main():
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError('test timed out')))
    signal.alarm(240)
    if not os.access(TGT, os.X_OK):
        print(f'{TGT} is not built', file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix='brisk_rpc_test.')
    sock = os.path.join(work, 'rpc.sock')
    tgt = Target(work, 20000 + os.getpid() % 10000, sock)
    try:
        if not check(tgt.wait_socket(), 'brisk_tgt starts and listens'):
            print(tgt.tail(), file=sys.stderr)
            return 1
        with JSONRPCClient(sock, 10) as c:
            before = snapshot(c)
        test_methods_via_rpc_py(sock)
        test_rpc_py_usage(sock, work)
        test_client_module(sock)
        test_bad_params(sock)
        test_invalid_requests(sock)
        test_oversized(sock)
        test_disconnects(sock)
        test_concurrent(sock)
        test_second_target(work, sock)
        with JSONRPCClient(sock, 10) as c:
            after = snapshot(c)
        check(before == after, 'state unchanged after all the abuse (levels, flags, saved config)')

        rc, out, err = rpc_cli(sock, 'spdk_kill_instance', 'SIGTERM')
        check(rc == 0, f'spdk_kill_instance SIGTERM ({err.strip()})')
        try:
            code = tgt.proc.wait(20)
        except subprocess.TimeoutExpired:
            code = None
        check(code == 0, f'target exits 0 after spdk_kill_instance (exit {code})')
        check(not os.path.exists(sock), 'socket file removed at exit')
        check(not tgt.leftovers(), f'no hugepage or shm file left at exit ({tgt.leftovers()})')
        if FAILS:
            print(tgt.tail(40), file=sys.stderr)
        test_poll_mode(work)
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
