#!/usr/bin/env python3
"""bdev_nvme's discovery service between two brisk_tgt processes on
127.0.0.1 (one the NVMe-oF target, one the host): bad parameters and an
unreachable address leave nothing; bdev_nvme_start_discovery -w attaches the
listed subsystem; a subsystem created on the target is attached after the
Discovery Log Page Change notice, a deleted one detached; the
get_discovery_info shape; save_config writes the service, not its
controllers, and a new host started with it (-c) attaches again;
stop_discovery removes everything it made. With a reconnect policy the
discovery controller reconnects after the target restarts and reads the log
again.
Bounded: every wait has a deadline, the whole run a 120 s alarm; both
processes are always stopped."""
import json
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nvmf_tcp import Tgt, free_port, ADDR  # noqa: E402
from tgt_harness import FAILS, check, JSONRPCClient, JSONRPCException  # noqa: E402

DISC = 'nqn.2014-08.org.nvmexpress.discovery'
S1 = 'nqn.2016-06.io.brisk:disc-host1'
S2 = 'nqn.2016-06.io.brisk:disc-host2'
HOST = 'nqn.2014-08.org.nvmexpress:uuid:5c1f3e7a-0d2b-4c8e-9a61-7b2d4e6f8a10'


def call(t, method, params=None):
    """In-process JSON-RPC (rpc.py costs 0.5 s a call): the result, or None
    on an error."""
    try:
        c = JSONRPCClient(t.sock, 20)
        try:
            return c.call(method, params)
        finally:
            c.close()
    except JSONRPCException as e:
        print(f'{method} failed: {e}', file=sys.stderr)
        return None


def listener(nqn, port):
    return {'nqn': nqn, 'listen_address': {'trtype': 'tcp', 'adrfam': 'ipv4', 'traddr': ADDR,
                                           'trsvcid': str(port)}}


def configure_target(t, port):
    steps = [('bdev_malloc_create', {'name': 'M0', 'num_blocks': 16384, 'block_size': 512}),
             ('bdev_malloc_create', {'name': 'M1', 'num_blocks': 16384, 'block_size': 512}),
             ('nvmf_create_transport', {'trtype': 'TCP'}),
             ('nvmf_create_subsystem', {'nqn': S1, 'allow_any_host': True}),
             ('nvmf_subsystem_add_ns', {'nqn': S1, 'namespace': {'bdev_name': 'M0'}}),
             ('nvmf_subsystem_add_listener', listener(S1, port))]
    return all(call(t, m, p) is not None for m, p in steps)


def bdevs(h):
    return sorted(b['name'] for b in (call(h, 'bdev_get_bdevs') or []))


def ctrlrs(h):
    return sorted(c['name'] for c in (call(h, 'bdev_nvme_get_controllers') or []))


def wait_for(fn, want, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def start(h, port, *extra, expect_ok=True):
    return h.rpc('bdev_nvme_start_discovery', '-b', 'd', '-t', 'tcp', '-a', ADDR, '-s', str(port),
                 '-f', 'ipv4', '-q', HOST, *extra, expect_ok=expect_ok)


def call_error(t, method, params):
    """The error message of a call that must fail ('' if it succeeded)."""
    c = JSONRPCClient(t.sock, 20)
    try:
        c.call(method, params)
        return ''
    except JSONRPCException as e:
        return str(e)
    finally:
        c.close()


def bad_params(h, port, dead_port):
    base = {'name': 'x', 'trtype': 'tcp', 'traddr': ADDR, 'trsvcid': str(port)}
    cases = [({'trtype': 'rdma'}, 'trtype'), ({'adrfam': 'ib'}, 'adrfam'),
             ({'ctrlr_loss_timeout_sec': 5}, 'reconnect_delay_sec'), ({'name': 'x' * 41}, 'name'),
             ({'traddr': ''}, 'traddr'), ({'wait_for_attach': 'yes'}, 'wait_for_attach'),
             ({'attach_timeout_ms': 2 ** 40}, 'attach_timeout_ms'), ({'bogus': 1}, 'bogus')]
    for extra, what in cases:
        err = call_error(h, 'bdev_nvme_start_discovery', dict(base, **extra))
        check(what in err, f'bad {what}: refused naming it ({err[-90:]})')
    t0 = time.monotonic()
    r = h.rpc('bdev_nvme_start_discovery', '-b', 'x', '-t', 'tcp', '-a', ADDR, '-s', str(dead_port), '-w',
              expect_ok=False)
    check(r.returncode != 0 and 'connect' in r.stderr and time.monotonic() - t0 < 10,
          f'unreachable address (rpc.py): error ({r.stderr.strip()[-80:]})')
    check(call(h, 'bdev_nvme_get_discovery_info') == [] and ctrlrs(h) == [] and bdevs(h) == [],
          'nothing left behind after the refused starts')
    err = call_error(h, 'bdev_nvme_stop_discovery', {'name': 'nope'})
    check('nope' in err, f'stop_discovery of an unknown name: error ({err})')


def first_attach(h, port):
    r = start(h, port, '-w', '-T', '10000')
    check(r.returncode == 0, 'bdev_nvme_start_discovery -w -T 10000')
    check(bdevs(h) == ['d_0n1'], f'the listed subsystem is attached at once: {bdevs(h)}')
    info = call(h, 'bdev_nvme_get_discovery_info')
    want = [{'name': 'd', 'trid': {'trtype': 'TCP', 'adrfam': 'IPv4', 'traddr': ADDR,
                                   'trsvcid': str(port), 'subnqn': DISC}, 'referrals': []}]
    check(info == want, f'bdev_nvme_get_discovery_info: {json.dumps(info)}')
    r = start(h, port, expect_ok=False)
    check(r.returncode != 0 and 'already exists' in r.stderr, 'a second service named d: refused')
    check(bdevs(h) == ['d_0n1'] and len(call(h, 'bdev_nvme_get_discovery_info')) == 1,
          'the refused duplicate changed nothing')


def follow_changes(t, h, port):
    steps = [('nvmf_create_subsystem', {'nqn': S2, 'allow_any_host': True}),
             ('nvmf_subsystem_add_ns', {'nqn': S2, 'namespace': {'bdev_name': 'M1'}}),
             ('nvmf_subsystem_add_listener', listener(S2, port))]
    check(all(call(t, m, p) is not None for m, p in steps), 'target: second subsystem, namespace, listener')
    got = wait_for(lambda: bdevs(h), ['d_0n1', 'd_1n1'])
    check(got == ['d_0n1', 'd_1n1'], f'after the notice the new subsystem is attached: {got}')
    names = [c['name'] for c in (call(h, 'bdev_nvme_get_controllers') or [])
             if c['ctrlrs'][0]['trid']['subnqn'] == S2]
    check(names == ['d_1'], f'controller d_1 is {S2}: {names}')
    cfg = call(h, 'save_config') or {}
    methods = [c['method'] for s in cfg.get('subsystems', []) for c in (s.get('config') or [])]
    disc = [c['params'] for s in cfg.get('subsystems', []) for c in (s.get('config') or [])
            if c['method'] == 'bdev_nvme_start_discovery']
    check(len(disc) == 1 and disc[0]['name'] == 'd' and disc[0]['trsvcid'] == str(port) and
          disc[0].get('hostnqn') == HOST and 'bdev_nvme_attach_controller' not in methods,
          f'save_config writes the discovery service, not its controllers: {disc}')
    # Brisk's target deletes no subsystem with hosts connected: the
    # listener goes first, which the notice reports as well.
    check(call(t, 'nvmf_subsystem_remove_listener', listener(S2, port)) is not None,
          'target: nvmf_subsystem_remove_listener')
    got = wait_for(lambda: bdevs(h), ['d_0n1'])
    check(got == ['d_0n1'] and wait_for(lambda: ctrlrs(h), ['d_0']) == ['d_0'],
          f'the subsystem that left the log is detached: {got}')
    check(call(t, 'nvmf_delete_subsystem', {'nqn': S2}) is not None, 'target: nvmf_delete_subsystem (host gone)')


def stop_all(h):
    r = h.rpc('bdev_nvme_stop_discovery', '-b', 'd')
    check(r.returncode == 0, 'bdev_nvme_stop_discovery -b d')
    check(bdevs(h) == [] and ctrlrs(h) == [] and call(h, 'bdev_nvme_get_discovery_info') == [],
          'stop removed every bdev and controller it made, and itself')


def reconnect_after_restart(work, t, h, port):
    """A service with a reconnect policy: the target restarts on the same
    port with a second subsystem; the discovery controller reconnects and
    the log read again attaches it. Returns the new target."""
    check(h.rpc('bdev_nvme_stop_discovery', '-b', 'd').returncode == 0 and
          call(h, 'bdev_nvme_start_discovery', {'name': 'd', 'trtype': 'tcp', 'traddr': ADDR,
                                                'trsvcid': str(port), 'adrfam': 'ipv4', 'hostnqn': HOST,
                                                'wait_for_attach': True, 'ctrlr_loss_timeout_sec': 20,
                                                'reconnect_delay_sec': 1}) is not None,
          'service started again with ctrlr_loss_timeout_sec 20, reconnect_delay_sec 1')
    check(t.stop() == 0, 'target stopped')
    t = Tgt(work, 'tgt2')
    steps = [('nvmf_create_subsystem', {'nqn': S2, 'allow_any_host': True}),
             ('nvmf_subsystem_add_ns', {'nqn': S2, 'namespace': {'bdev_name': 'M1'}}),
             ('nvmf_subsystem_add_listener', listener(S2, port))]
    check(configure_target(t, port) and all(call(t, m, p) is not None for m, p in steps),
          'target restarted on the same port, now with a second subsystem')
    got = wait_for(lambda: bdevs(h), ['d_0n1', 'd_1n1'], timeout=15)
    check(got == ['d_0n1', 'd_1n1'], f'the discovery controller reconnected: the new subsystem is attached {got}')
    return t


def restart_from_config(work, h):
    """save_config -> a new host process with -c: the service comes back
    (wait_for_attach: attached once the config is applied)."""
    path = os.path.join(work, 'host.json')
    with open(path, 'w') as f:
        json.dump(call(h, 'save_config'), f)
    check(h.stop() == 0, 'host stops cleanly (a running service included)')
    h2 = Tgt(work, 'host2', config=path)
    try:
        info = call(h2, 'bdev_nvme_get_discovery_info') or []
        check([i['name'] for i in info] == ['d'] and bdevs(h2) == ['d_0n1', 'd_1n1'],
              f'-c of the saved config: service d back, both subsystems attached ({bdevs(h2)})')
    finally:
        check(h2.stop() == 0, 'the second host stops cleanly')


def main():
    signal.alarm(120)
    with tempfile.TemporaryDirectory(prefix='bdev_nvme_disc.') as work:
        port, dead_port = free_port(), free_port()
        t = Tgt(work, 'tgt')
        h = None
        try:
            check(configure_target(t, port), 'target: malloc bdevs, TCP transport, one open subsystem')
            h = Tgt(work, 'host')
            bad_params(h, port, dead_port)
            first_attach(h, port)
            follow_changes(t, h, port)
            stop_all(h)
            r = start(h, port, '-w')
            check(r.returncode == 0 and bdevs(h) == ['d_0n1'],
                  f'started again after the stop: attached again ({r.stderr.strip()[-80:]} {bdevs(h)})')
            t = reconnect_after_restart(work, t, h, port)
            restart_from_config(work, h)
        finally:
            if h is not None and h.proc.poll() is None:
                h.stop()
            check(t.stop() == 0, 'target stops cleanly')
    print(f'{len(FAILS)} failed')
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
