#!/usr/bin/env python3
"""ANA reporting of lib/nvmf over 127.0.0.1 (issue 11), with the Python
NVMe/TCP host: a subsystem created with -r and two listeners; Identify
Controller (CMIC bit 3, OAES bit 11, ANATT/ANACAP/ANAGRPMAX/NANAGRPID) and
Identify Namespace (NMIC, ANAGRPID); the ANA log (0Ch) of each controller
shows the state of the port it came through; nvmf_subsystem_listener_set_ana_state
raises an ANA change notice (Notice/03h/0Ch) only on that port's controllers,
I/O there fails with SCT 3h / SC 02h; nvmf_subsystem_get_listeners and
save_config (a restart from it) show the states; bad requests are refused;
removing a listener drops its controllers.
Bounded: socket timeouts, a 120 s alarm (for a loaded machine); the targets are always stopped."""
import os
import signal
import socket
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvmf_tcp_host as nh  # noqa: E402
from nvmf_tcp import Tgt, free_port, ADDR  # noqa: E402
from tgt_harness import FAILS, check  # noqa: E402

NQN = 'nqn.2016-06.io.brisk:ana1'
PLAIN = 'nqn.2016-06.io.brisk:plain'
HOST = 'nqn.2014-08.org.nvmexpress:uuid:44444444-4444-4444-8444-444444444444'
ANA_NOTICE = 0x02 | (0x03 << 8) | (0x0C << 16)  # type Notice, info 03h (ANA change), log page 0Ch


def listener(port):
    return ('-t', 'tcp', '-a', ADDR, '-s', str(port), '-f', 'ipv4')


def configure(t, p1, p2):
    steps = [('bdev_malloc_create', '-b', 'Malloc0', '8', '512'),
             ('bdev_malloc_create', '-b', 'Malloc1', '8', '512'),
             ('nvmf_create_transport', '-t', 'TCP'),
             ('nvmf_create_subsystem', NQN, '-a', '-r', '-m', '4'),
             ('nvmf_subsystem_add_ns', NQN, 'Malloc0'),
             ('nvmf_subsystem_add_ns', NQN, 'Malloc1', '-n', '2', '-a', '3'),
             ('nvmf_subsystem_add_listener', NQN) + listener(p1),
             ('nvmf_subsystem_add_listener', NQN) + listener(p2),
             ('nvmf_create_subsystem', PLAIN, '-a'),
             ('nvmf_subsystem_add_listener', PLAIN) + listener(p1)]
    return all(t.rpc(*s).returncode == 0 for s in steps)


class Ctrlr:
    """An admin queue with the ANA notice enabled, and one I/O queue."""

    def __init__(self, port):
        self.h, cqe = nh.connect_admin(ADDR, port, NQN, HOST)
        self.h.enable()
        self.cd = self.h.identify(1)[1]
        cntlid = struct.unpack_from('<H', self.cd, 78)[0]
        aec = self.h.admin(0x09, cdw10=0x0B, cdw11=1 << 11)[0]
        self.io, io_cqe = nh.connect_io(ADDR, port, NQN, HOST, cntlid)
        self.ok = cqe.ok and aec.ok and io_cqe.ok
        self.aer_cid = None

    def aer(self):
        self.aer_cid = self.h.next_cid()
        self.h.send(self.h.pdu(nh.PDU_CMD, nh.sqe(0x0C, self.aer_cid)))

    def event(self, timeout):
        self.h.sock.settimeout(timeout)
        try:
            ptype, _, hdr, _ = self.h.recv_pdu()
        except socket.timeout:
            return None
        finally:
            self.h.sock.settimeout(10)
        cqe = nh.Cqe(hdr[8:24])
        self.aer_cid = None
        return cqe.cdw0 if ptype == nh.PDU_RESP and cqe.ok else -1

    def ana_log(self, rgo=False):
        """(change count, [(group, state, [nsids])]) or None."""
        cqe, d = self.h.admin(0x02, data_in=4096, cdw10=0x0C | (int(rgo) << 8) | (1023 << 16))
        if not cqe.ok:
            return None
        chg, ngrps = struct.unpack_from('<QH', d, 0)
        off, groups = 16, []
        for _ in range(ngrps):
            grp, n, _, state = struct.unpack_from('<IIQB', d, off)
            groups.append((grp, state & 0xF, list(struct.unpack_from(f'<{n}I', d, off + 32))))
            off += 32 + 4 * n
        return chg, groups

    def close(self):
        self.io.close()
        self.h.close()


def identify_checks(c):
    cmic, oaes = c.cd[76], struct.unpack_from('<I', c.cd, 92)[0]
    anatt, anacap, grpmax, ngrpid = struct.unpack_from('<BBII', c.cd, 342)
    check(cmic & 0x8 and oaes & (1 << 11), f'Identify Controller: CMIC bit 3 ({cmic:#x}), OAES bit 11 ({oaes:#x})')
    check(anatt > 0 and anacap & 0x7 == 0x7 and grpmax == 4 and ngrpid == 4,
          f'ANATT {anatt}, ANACAP {anacap:#x} (3 states), ANAGRPMAX {grpmax}, NANAGRPID {ngrpid} (= max_namespaces)')
    ns1, ns2 = c.h.identify(0, 1)[1], c.h.identify(0, 2)[1]
    grp = (struct.unpack_from('<I', ns1, 92)[0], struct.unpack_from('<I', ns2, 92)[0])
    check(grp == (1, 3) and ns1[30] & 1, f'Identify Namespace: ANAGRPID {grp} (NSID by default, 3 as chosen), NMIC')


def state_checks(t, p1, c1, c2):
    check(c1.ana_log() == (0, [(1, 1, [1]), (3, 1, [2])]), f'ANA log: groups 1 and 3 optimized ({c1.ana_log()})')
    c1.aer()
    c2.aer()
    check(t.rpc('nvmf_subsystem_listener_set_ana_state', NQN, *listener(p1), '-n', 'inaccessible').returncode == 0,
          'rpc nvmf_subsystem_listener_set_ana_state: port 1 inaccessible')
    ev = c1.event(10)
    check(ev == ANA_NOTICE, f'port 1 controller: ANA change notice (cdw0 {ev if ev is None else hex(ev)})')
    check(c2.event(0.5) is None, 'port 2 controller: no notice')
    check(c1.ana_log() == (1, [(1, 3, [1]), (3, 3, [2])]), f'port 1 ANA log: inaccessible ({c1.ana_log()})')
    check(c1.ana_log(rgo=True) == (1, [(1, 3, []), (3, 3, [])]), 'port 1 ANA log with RGO: no NSID lists')
    check(c2.ana_log() == (0, [(1, 1, [1]), (3, 1, [2])]), 'port 2 ANA log: still optimized')
    cqe = c1.io.write(1, 0, b'\xA5' * 512)
    check((cqe.sct, cqe.sc) == (3, 2), f'write through port 1: ANA inaccessible status ({cqe})')
    check(c2.io.write(1, 0, b'\xA5' * 512).ok, 'write through port 2 succeeds')
    c1.aer()
    check(t.rpc('nvmf_subsystem_listener_set_ana_state', NQN, *listener(p1), '-n', 'non_optimized',
                '-g', '3').returncode == 0, 'group 3 of port 1 set non_optimized')
    check(c1.event(10) == ANA_NOTICE, 'port 1 controller: a second notice (the log was read)')
    check(c1.ana_log()[1] == [(1, 3, [1]), (3, 2, [2])], 'port 1 ANA log: group 1 inaccessible, 3 non-optimized')
    check(c1.io.write(2, 0, b'\x5A' * 512).ok, 'write to the non-optimized group succeeds')


def rpc_checks(t, p1, p2):
    lst = t.json('nvmf_subsystem_get_listeners', NQN) or []
    states = [[(s['ana_group'], s['ana_state']) for s in entry['ana_states']] for entry in lst]
    check(states == [[(1, 'inaccessible'), (3, 'non_optimized')], [(1, 'optimized'), (3, 'optimized')]],
          f'nvmf_subsystem_get_listeners shows the states ({states})')
    bad = [('nvmf_subsystem_listener_set_ana_state', NQN, *listener(p1), '-n', 'sleepy'),
           ('nvmf_subsystem_listener_set_ana_state', NQN, *listener(p1), '-n', 'optimized', '-g', '5'),
           ('nvmf_subsystem_listener_set_ana_state', NQN, *listener(free_port()), '-n', 'optimized'),
           ('nvmf_subsystem_listener_set_ana_state', PLAIN, *listener(p1), '-n', 'optimized'),
           ('nvmf_subsystem_add_ns', NQN, 'Malloc0', '-n', '3', '-a', '9')]
    results = [t.rpc(*b, expect_ok=False) for b in bad]
    check(all(r.returncode != 0 and 'error' in r.stderr for r in results),
          'bad state, group, listener, a subsystem without ANA reporting, anagrpid: refused with a reason')
    check(t.json('nvmf_subsystem_get_listeners', NQN) == lst, 'the refusals changed nothing')


def restart_checks(work, t, p1):
    cfg = os.path.join(work, 'config.json')
    r = t.rpc('save_config')
    with open(cfg, 'w') as f:
        f.write(r.stdout)
    calls = [c for s in __import__('json').loads(r.stdout)['subsystems'] if s['subsystem'] == 'nvmf'
             for c in s['config'] if c['method'] == 'nvmf_subsystem_listener_set_ana_state']
    check(len(calls) == 4 and r.returncode == 0,
          f'save_config writes port 1\'s non-optimized groups 1-4, none for port 2 ({len(calls)})')
    check(t.stop() == 0, 'target stops cleanly')
    t2 = Tgt(work, 'tgt2', cfg)
    try:
        lst = t2.json('nvmf_subsystem_get_listeners', NQN) or []
        states = [[(s['ana_group'], s['ana_state']) for s in entry['ana_states']] for entry in lst]
        check(states == [[(1, 'inaccessible'), (3, 'non_optimized')], [(1, 'optimized'), (3, 'optimized')]],
              f'restarted from the saved config: same states ({states})')
    finally:
        check(t2.stop() == 0, 'restarted target stops cleanly')


def removal_check(t, p2, c2):
    check(t.rpc('nvmf_subsystem_remove_listener', NQN, *listener(p2)).returncode == 0, 'listener 2 removed')
    c2.h.sock.settimeout(10)
    try:
        gone = c2.h.sock.recv(1) == b''
    except OSError:
        gone = True
    check(gone, 'its controller is disconnected')


def main():
    signal.alarm(120)
    with tempfile.TemporaryDirectory(prefix='nvmf_ana.') as work:
        p1, p2 = free_port(), free_port()
        t = Tgt(work, 'tgt')
        cs = []
        try:
            check(configure(t, p1, p2), 'configure: subsystem with ANA reporting, 2 namespaces, 2 listeners')
            cs = [Ctrlr(p1), Ctrlr(p2)]
            check(all(c.ok for c in cs), 'a controller through each port, notice enabled, one I/O queue each')
            identify_checks(cs[0])
            state_checks(t, p1, *cs)
            rpc_checks(t, p1, p2)
            removal_check(t, p2, cs[1])
            check(t.rpc('nvmf_subsystem_add_listener', NQN, *listener(p2)).returncode == 0, 'listener 2 back')
            for c in cs:
                c.close()
            cs = []
            restart_checks(work, t, p1)
        finally:
            for c in cs:
                c.close()
            t.stop()
    print(f'{len(FAILS)} failed')
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
