#!/usr/bin/env python3
"""Multipath in bdev_nvme against brisk_tgt over 127.0.0.1 (issue 11): one
subsystem with ANA reporting and two listeners; bdevperf attaches Nvme0
through each (-x multipath) and gets ONE bdev with two paths. A verify run
goes on without a single failed I/O while port 1 is set inaccessible
(bdev_nvme_get_io_paths: its path is inaccessible, port 2's is current),
set optimized again, and port 2's listener is removed (its path goes).
bdev_nvme_set_multipath_policy switches to active_active; bad policies are
refused. save_config writes both attaches and then the policy, and a host
started from it has the two paths and the policy again.
bdev_nvme_detach_controller with path filters (SPDK's trtype/traddr/adrfam/
trsvcid) removes only the matching path, the bdev staying; without filters
everything goes. With no usable path (both inaccessible) I/O waits for one,
and fails once the target's ANATT (10 s) passed. Both paths connect with
one host ID (the process's); a uuid host NQN sends its UUID.
Bounded: a 240 s alarm (for a loaded machine), timeouts on every call; every process is stopped."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nvmf_tcp import Tgt, free_port, ADDR, TGT  # noqa: E402
from tgt_harness import FAILS, ROOT, RPC_PY, check, JSONRPCClient, JSONRPCException  # noqa: E402

BDEVPERF = os.path.join(ROOT, 'build', 'bin', 'bdevperf')
NQN = 'nqn.2016-06.io.brisk:mpath1'


def listener(port):
    return ('-t', 'tcp', '-a', ADDR, '-s', str(port), '-f', 'ipv4')


def rpc(sock, *args):
    return subprocess.run([sys.executable, RPC_PY, '-s', sock, '-t', '20'] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=30)


def jcall(sock, method, params=None):
    """In-process JSON-RPC (rpc.py costs 0.5 s a call): (result, None) or (None, error message)."""
    try:
        c = JSONRPCClient(sock, 20)
        try:
            return c.call(method, params), None
        finally:
            c.close()
    except JSONRPCException as e:
        return None, str(e)


def trid(port):
    return {'trtype': 'tcp', 'adrfam': 'ipv4', 'traddr': ADDR, 'trsvcid': str(port)}


def rpc_json(sock, *args):
    r = rpc(sock, *args)
    return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else None


def attach(sock, port):
    return jcall(sock, 'bdev_nvme_attach_controller', dict(trid(port), name='Nvme0', subnqn=NQN,
                                                           multipath='multipath'))[0]


def paths(sock):
    """{trsvcid: path} of Nvme0n1."""
    r = jcall(sock, 'bdev_nvme_get_io_paths', {'name': 'Nvme0n1'})[0] or {'poll_groups': [{'io_paths': []}]}
    return {p['transport']['trsvcid']: p for p in r['poll_groups'][0]['io_paths']}


def wait_paths(sock, pred, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ps = paths(sock)
        if pred(ps):
            return ps
        time.sleep(0.1)
    return paths(sock)


def start_host(work, name, extra=()):
    sock = os.path.join(work, name + '.sock')
    log = open(os.path.join(work, name + '.log'), 'w')
    proc = subprocess.Popen([BDEVPERF, '-z', '-r', sock, '-s', '128', '--no-huge', '-q', '8', '-o', '4096',
                             '-w', 'verify', '-t', '5'] + list(extra), stdout=log, stderr=subprocess.STDOUT)
    end = time.monotonic() + 15
    while not os.path.exists(sock) and time.monotonic() < end and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.2)
    return proc, sock, log


def stop(proc):
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            return None
    return proc.returncode if proc is not None else None


def perform_tests(sock):
    # bdevperf's own method (rpc.py has no subcommand for it): one request, its one answer
    return subprocess.Popen([sys.executable, '-c', 'import sys, socket; s = socket.socket(socket.AF_UNIX); '
                             's.settimeout(40); s.connect(sys.argv[1]); s.sendall(b\'{"jsonrpc":"2.0",'
                             '"id":1,"method":"perform_tests"}\'); print(s.recv(1 << 20).decode())', sock],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def io_failed(out):
    try:
        return json.loads(out)['result']['results'][0]['io_failed']
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def set_ana(t, p, state):
    jcall(t.sock, 'nvmf_subsystem_listener_set_ana_state', {'nqn': NQN, 'listen_address': trid(p),
                                                            'ana_state': state})


def no_path_waits(t, sock, p1, p2):
    """No usable path: I/O waits for one (up to the target's ANATT, 10 s), then fails."""
    jcall(t.sock, 'nvmf_subsystem_add_listener', {'nqn': NQN, 'listen_address': trid(p2)})
    check(attach(sock, p2) == ['Nvme0n1'] and len(wait_paths(sock, lambda ps: len(ps) == 2)) == 2,
          'port 2 back: two paths again')
    runner = perform_tests(sock)
    time.sleep(0.5)
    set_ana(t, p1, 'inaccessible')
    set_ana(t, p2, 'inaccessible')
    ps = wait_paths(sock, lambda ps: all(p['ana_state'] == 'inaccessible' for p in ps.values()))
    check(len(ps) == 2 and not any(p['accessible'] for p in ps.values()), 'both paths inaccessible')
    time.sleep(1)
    set_ana(t, p2, 'optimized')
    out, err = runner.communicate(timeout=40)
    check(io_failed(out) == 0, f'1 s with no usable path: the I/O waited, none failed ({out.strip()[-200:]})')
    set_ana(t, p2, 'inaccessible')
    wait_paths(sock, lambda ps: all(p['ana_state'] == 'inaccessible' for p in ps.values()))
    start = time.monotonic()
    out, err = perform_tests(sock).communicate(timeout=40)
    took = time.monotonic() - start
    # bdevperf answers a run with failed I/O with an error naming them
    check(('I/O failed' in out or (io_failed(out) or 0) > 0) and 9 < took < 20,
          f'no usable path for longer than ANATT (10 s): the I/O fails after it ({took:.1f} s, {out.strip()[-120:]})')
    set_ana(t, p1, 'optimized')
    set_ana(t, p2, 'optimized')
    check(len(wait_paths(sock, lambda ps: all(p['accessible'] for p in ps.values()))) == 2, 'both usable again')


def io_under_changes(t, sock, p1, p2):
    runner = perform_tests(sock)
    time.sleep(0.7)
    t.rpc('nvmf_subsystem_listener_set_ana_state', NQN, *listener(p1), '-n', 'inaccessible')
    ps = wait_paths(sock, lambda ps: ps.get(str(p1), {}).get('ana_state') == 'inaccessible')
    check(not ps[str(p1)]['accessible'] and ps[str(p2)]['current'] and ps[str(p2)]['accessible'],
          'port 1 inaccessible: get_io_paths shows it, port 2 is current')
    time.sleep(0.7)
    t.rpc('nvmf_subsystem_listener_set_ana_state', NQN, *listener(p1), '-n', 'optimized')
    ps = wait_paths(sock, lambda ps: ps.get(str(p1), {}).get('ana_state') == 'optimized')
    check(ps[str(p1)]['accessible'] and ps[str(p1)]['current'], 'port 1 optimized again: current again')
    check(rpc(sock, 'bdev_nvme_set_multipath_policy', '-b', 'Nvme0n1', '-p', 'active_active').returncode == 0,
          'bdev_nvme_set_multipath_policy active_active')
    time.sleep(0.7)
    check(t.rpc('nvmf_subsystem_remove_listener', NQN, *listener(p2)).returncode == 0, 'listener 2 removed')
    ps = wait_paths(sock, lambda ps: str(p2) not in ps)
    check(list(ps) == [str(p1)], f'port 2\'s path is gone, port 1\'s stays ({list(ps)})')
    out, err = runner.communicate(timeout=40)
    check(runner.returncode == 0 and '"result"' in out and 'iops' in out,
          f'verify run: no failed I/O through the changes ({out.strip()[:300]} {err.strip()[-300:]})')


def policy_errors(sock):
    bad = [('-b', 'Nvme0n1', '-p', 'sideways'), ('-b', 'Nvme9n1', '-p', 'active_active'),
           ('-b', 'Nvme0n1', '-p', 'active_active', '-s', 'queue_depth')]
    rs = [rpc(sock, 'bdev_nvme_set_multipath_policy', *b) for b in bad]
    check(all(r.returncode != 0 and 'error' in r.stderr for r in rs), 'bad policy, bdev, selector: refused')


def mp_policy(sock):
    bdevs = jcall(sock, 'bdev_get_bdevs', {'name': 'Nvme0n1'})[0] or [{}]
    return bdevs[0].get('driver_specific', {}).get('mp_policy')


def config_round_trip(work, sock):
    check(rpc(sock, 'bdev_nvme_set_multipath_policy', '-b', 'Nvme0n1', '-p', 'active_active').returncode == 0
          and mp_policy(sock) == 'active_active', 'set_multipath_policy active_active: bdev_get_bdevs shows it')
    cfg = rpc_json(sock, 'save_config')
    methods = [c['method'] for s in (cfg or {}).get('subsystems', []) if s['subsystem'] == 'bdev'
               for c in s['config']]
    calls = [c['params'] for s in (cfg or {}).get('subsystems', []) if s['subsystem'] == 'bdev'
             for c in s['config'] if c['method'] == 'bdev_nvme_attach_controller']
    check(len(calls) == 2 and calls[1].get('multipath') == 'multipath',
          f'save_config: two attaches of Nvme0, the second with multipath ({len(calls)})')
    pol = [i for i, m in enumerate(methods) if m == 'bdev_nvme_set_multipath_policy']
    att = [i for i, m in enumerate(methods) if m == 'bdev_nvme_attach_controller']
    check(len(pol) == 1 and att and pol[0] > max(att), 'save_config: the policy, after both attaches')
    path = os.path.join(work, 'host.json')
    with open(path, 'w') as f:
        json.dump(cfg, f)
    h = subprocess.Popen([TGT, '--no-huge', '-s', '128', '-r', os.path.join(work, 'h2.sock'), '-c', path],
                         stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 15
        while not os.path.exists(os.path.join(work, 'h2.sock')) and time.monotonic() < end:
            time.sleep(0.05)
        rpc(os.path.join(work, 'h2.sock'), 'framework_wait_init')
        ps = paths(os.path.join(work, 'h2.sock'))
        check(len(ps) == 2, f'a host started from it has both paths ({list(ps)})')
        check(mp_policy(os.path.join(work, 'h2.sock')) == 'active_active', 'and the active_active policy')
    finally:
        check(stop(h) == 0, 'that host stops cleanly')


UUID_NQN = 'nqn.2014-08.org.nvmexpress:uuid:'


def host_ids(t):
    """[(hostnqn, hostid)] of the subsystem's controllers, as the target saw their Connect."""
    return [(c['hostnqn'], c['hostid']) for c in jcall(t.sock, 'nvmf_subsystem_get_controllers', {'nqn': NQN})[0] or []]


def host_id_checks(t):
    """One host ID per host NQN: both paths send the process's, a uuid NQN sends its UUID."""
    ids = host_ids(t)
    check(len(ids) == 2 and ids[0] == ids[1] and ids[0][0] == UUID_NQN + ids[0][1],
          f'both paths connect with one host ID, the default host NQN made from it ({ids})')


def uuid_host_check(t, sock, p1):
    """Run once Nvme0 is gone (one transport ID is attached once)."""
    uid = '5a1f0e2b-8c3d-4e5f-9a6b-7c8d9e0f1a2b'
    r = jcall(sock, 'bdev_nvme_attach_controller', dict(trid(p1), name='Nvme1', subnqn=NQN,
                                                        hostnqn=UUID_NQN + uid))[0]
    check(r == ['Nvme1n1'] and (UUID_NQN + uid, uid) in host_ids(t),
          'a uuid host NQN: its UUID is the host ID sent')
    check(jcall(sock, 'bdev_nvme_detach_controller', {'name': 'Nvme1'})[0] is True, 'Nvme1 detached')


def detach(sock, **filters):
    """(result, error) of bdev_nvme_detach_controller Nvme0 with filters."""
    return jcall(sock, 'bdev_nvme_detach_controller', dict(filters, name='Nvme0'))


def detach_paths(t, sock, p1, p2):
    """bdev_nvme_detach_controller with SPDK's path filters removes only the matching paths."""
    r, err = detach(sock, trtype='tcp', traddr=ADDR, trsvcid='1')
    check(r is None and 'no path matching' in err and len(paths(sock)) == 2,
          'detach with a trsvcid no path has: refused, both paths stay')
    check(rpc(sock, 'bdev_nvme_detach_controller', 'Nvme0', *listener(p2)).returncode == 0,
          'rpc.py bdev_nvme_detach_controller Nvme0 -t tcp -a -s port2 -f ipv4: done')
    ps = paths(sock)
    check(list(ps) == [str(p1)] and mp_policy(sock) is not None,
          f'only port 2\'s path went; Nvme0n1 stays with port 1\'s ({list(ps)})')
    check(attach(sock, p2) == ['Nvme0n1'] and len(wait_paths(sock, lambda ps: len(ps) == 2)) == 2,
          'port 2 attached again after its detach')
    r, err = detach(sock, trsvcid=str(p1))
    check(r is None and 'detach them first' in err and len(paths(sock)) == 2,
          'detach of the first path while port 2 lives: refused (it carries the others), nothing changes')
    check(detach(sock)[0] is True and jcall(sock, 'bdev_nvme_get_controllers')[0] == [] and
          jcall(sock, 'bdev_get_bdevs', {'name': 'Nvme0n1'})[0] is None,
          'detach without filters: every path and the bdev go')


def main():
    signal.alarm(240)
    with tempfile.TemporaryDirectory(prefix='nvmf_mpath.') as work:
        p1, p2 = free_port(), free_port()
        t = Tgt(work, 'tgt')
        host, log = None, None
        try:
            steps = [('bdev_malloc_create', '-b', 'Malloc0', '16', '512'), ('nvmf_create_transport', '-t', 'TCP'),
                     ('nvmf_create_subsystem', NQN, '-a', '-r'), ('nvmf_subsystem_add_ns', NQN, 'Malloc0'),
                     ('nvmf_subsystem_add_listener', NQN) + listener(p1),
                     ('nvmf_subsystem_add_listener', NQN) + listener(p2)]
            check(all(t.rpc(*s).returncode == 0 for s in steps), 'target: ANA subsystem, two listeners')
            host, sock, log = start_host(work, 'host')
            check(attach(sock, p1) == ['Nvme0n1'] and attach(sock, p2) == ['Nvme0n1'],
                  'attach Nvme0 through both ports (-x multipath): one bdev Nvme0n1')
            ps = wait_paths(sock, lambda ps: len(ps) == 2 and all(p['ana_state'] == 'optimized' for p in ps.values()))
            check(len(ps) == 2 and ps[str(p1)]['current'] and not ps[str(p2)]['current'],
                  'get_io_paths: two optimized paths, the first current (active_passive)')
            host_id_checks(t)
            config_round_trip(work, sock)
            policy_errors(sock)
            io_under_changes(t, sock, p1, p2)
            no_path_waits(t, sock, p1, p2)
            detach_paths(t, sock, p1, p2)
            uuid_host_check(t, sock, p1)
        finally:
            check(stop(host) == 0, 'bdevperf stops cleanly')
            check(t.stop() == 0, 'target stops cleanly')
            if log is not None:
                log.close()
            t.log.close()
            if FAILS:
                for name in ('host.log', 'tgt.log'):
                    if os.path.exists(os.path.join(work, name)):
                        with open(os.path.join(work, name)) as f:
                            print(f'--- {name}\n' + f.read()[-2500:], file=sys.stderr)
    print(f'{len(FAILS)} failed')
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
