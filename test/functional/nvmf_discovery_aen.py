#!/usr/bin/env python3
"""Discovery Log Page Change notices of lib/nvmf's discovery controller over
127.0.0.1: Identify OAES bit 31; a host that enabled the notice (Set Features
Async Event Configuration bit 31) with an AER outstanding gets Notice / F0h /
log 70h when a subsystem, listener or allow-list change alters ITS log (a
host allowed on one more subsystem, a listener added or removed, a subsystem
deleted); a host whose log did not change, a host that did not enable the
notice, and a host that has not read the log since the last notice get none.
Bounded: socket timeouts, a 60 s alarm; the target is always stopped.
"None arrives" is checked for NONE_WAIT seconds: a slow machine can only
make it pass more easily, never fail."""
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

DISC = 'nqn.2014-08.org.nvmexpress.discovery'
S1, S2, S3 = ('nqn.2016-06.io.brisk:disc' + n for n in ('1', '2', '3'))
H1 = 'nqn.2014-08.org.nvmexpress:uuid:11111111-1111-4111-8111-111111111111'
H2 = 'nqn.2014-08.org.nvmexpress:uuid:22222222-2222-4222-8222-222222222222'
H3 = 'nqn.2014-08.org.nvmexpress:uuid:33333333-3333-4333-8333-333333333333'
NOTICE = 0x02 | (0xF0 << 8) | (0x70 << 16)  # type Notice, info F0h, log page 70h
NONE_WAIT = 1.0


class Disc:
    """A discovery controller of one host, with at most one AER outstanding."""

    def __init__(self, port, hostnqn, enable_notice):
        self.h, cqe = nh.connect_admin(ADDR, port, DISC, hostnqn)
        self.h.enable()
        self.oaes = struct.unpack_from('<I', self.h.identify(1)[1], 92)[0]
        aec = self.h.admin(0x09, cdw10=0x0B, cdw11=(1 << 31) if enable_notice else 0)[0]
        self.ok = cqe.ok and aec.ok
        self.aer_cid = None

    def aer(self):
        self.aer_cid = self.h.next_cid()
        self.h.send(self.h.pdu(nh.PDU_CMD, nh.sqe(0x0C, self.aer_cid)))

    def event(self, timeout):
        """cdw0 of the AER's completion, or None if none came in timeout s."""
        self.h.sock.settimeout(timeout)
        try:
            ptype, _, hdr, _ = self.h.recv_pdu()
        except socket.timeout:
            return None
        finally:
            self.h.sock.settimeout(10)
        cqe = nh.Cqe(hdr[8:24])
        ok = ptype == nh.PDU_RESP and cqe.cid == self.aer_cid and cqe.ok
        self.aer_cid = None
        return cqe.cdw0 if ok else -1

    def read_log(self, rae=False):
        """(genctr, NQNs listed); no AER may complete meanwhile (checked by callers)."""
        cqe, d = self.h.admin(0x02, data_in=4096, cdw10=0x70 | (int(rae) << 15) | (1023 << 16))
        genctr, numrec = struct.unpack_from('<QQ', d, 0)
        nqns = [d[1024 * (i + 1) + 256:1024 * (i + 1) + 512].rstrip(b'\0').decode() for i in range(numrec)]
        return (genctr, nqns) if cqe.ok else (None, None)


def configure(t, port):
    steps = [('bdev_malloc_create', '-b', 'Malloc0', '8', '512'),
             ('nvmf_create_transport', '-t', 'TCP'),
             ('nvmf_create_subsystem', S1, '-a'),
             ('nvmf_subsystem_add_listener', S1, '-t', 'tcp', '-a', ADDR, '-s', str(port)),
             ('nvmf_create_subsystem', S2),
             ('nvmf_subsystem_add_ns', S2, 'Malloc0'),
             ('nvmf_subsystem_add_listener', S2, '-t', 'tcp', '-a', ADDR, '-s', str(port))]
    return all(t.rpc(*s).returncode == 0 for s in steps)


def got(d, what):
    ev = d.event(10)
    check(ev == NOTICE, f'{what}: notice Notice/F0h/70h (cdw0 {ev if ev is None else hex(ev)})')


def none(ds, what):
    evs = [d.event(NONE_WAIT) for d in ds]
    check(all(e is None for e in evs), f'{what}: no notice')


def allow_list_checks(t, d1, d2, d3):
    check(t.rpc('nvmf_subsystem_add_host', S2, H1).returncode == 0, 'rpc nvmf_subsystem_add_host')
    got(d1, 'host 1 allowed on a second subsystem')
    none([d2, d3], 'host 2 (log unchanged) and host 3 (notice not enabled)')
    check(d1.read_log()[1] == [S1, S2], 'host 1 reads the log: both subsystems')
    d1.aer()
    check(t.rpc('nvmf_create_subsystem', S3, '-a').returncode == 0, 'rpc nvmf_create_subsystem (no listener)')
    none([d1, d2], 'a subsystem without listeners (no log lists it)')


def listener_checks(t, port, d1, d2, d3):
    listener = ('-t', 'tcp', '-a', ADDR, '-s', str(port))
    check(t.rpc('nvmf_subsystem_add_listener', S3, *listener).returncode == 0, 'rpc nvmf_subsystem_add_listener')
    got(d1, 'listener added: host 1')
    got(d2, 'listener added: host 2')
    none([d3], 'host 3 (notice not enabled)')
    d1.aer()
    d2.aer()  # neither host has read the log: masked
    check(t.rpc('nvmf_subsystem_remove_listener', S3, *listener).returncode == 0,
          'rpc nvmf_subsystem_remove_listener')
    none([d1, d2], 'hosts that have not read the log since the last notice')
    check(d1.read_log(rae=True)[1] == [S1, S2], 'host 1 reads the log with Retain Asynchronous Event')
    check(t.rpc('nvmf_subsystem_add_listener', S3, *listener).returncode == 0, 'listener added again')
    none([d1], 'host 1 (its read retained the event: still masked)')
    check(d1.read_log()[1] == [S1, S2, S3], 'host 1 reads the log: three subsystems (unmasks)')
    check(d2.read_log()[1] == [S1, S3], 'host 2 reads the log: two subsystems (unmasks)')


def removal_checks(t, d1, d2):
    check(t.rpc('nvmf_delete_subsystem', S3).returncode == 0, 'rpc nvmf_delete_subsystem')
    got(d1, 'subsystem deleted: host 1')
    got(d2, 'subsystem deleted: host 2')
    check(d1.read_log()[1] == [S1, S2] and d2.read_log()[1] == [S1], 'both hosts read the log')
    d1.aer()
    d2.aer()
    check(t.rpc('nvmf_subsystem_remove_host', S2, H1).returncode == 0, 'rpc nvmf_subsystem_remove_host')
    got(d1, 'host 1 removed from an allow list')
    none([d2], 'host 2 (log unchanged)')
    check(d1.read_log()[1] == [S1], 'host 1 reads the log: only the open subsystem')


def main():
    signal.alarm(60)
    with tempfile.TemporaryDirectory(prefix='nvmf_disc_aen.') as work:
        port = free_port()
        t = Tgt(work, 'tgt')
        ds = []
        try:
            check(configure(t, port), 'configure: an open subsystem and one with an empty allow list')
            ds = [Disc(port, H1, True), Disc(port, H2, True), Disc(port, H3, False)]
            check(all(d.ok for d in ds), 'three hosts on the discovery controller; two enable the notice')
            check(all(d.oaes & (1 << 31) for d in ds), 'Identify OAES bit 31: discovery log change notices')
            check(all(d.read_log()[1] == [S1] for d in ds), 'each host reads a log of the open subsystem')
            for d in ds:
                d.aer()
            allow_list_checks(t, *ds)
            listener_checks(t, port, *ds)
            removal_checks(t, ds[0], ds[1])
        finally:
            for d in ds:
                d.h.close()
            check(t.stop() == 0, 'target stops cleanly')
    print(f'{len(FAILS)} failed')
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
