#!/usr/bin/env python3
"""NVMe reservations in lib/nvmf over 127.0.0.1: two hosts (two host NQNs,
two 128-bit host IDs) on one namespace with a ptpl_file. Identify (ONCS,
RESCAP), Get/Set Features Host Identifier, register (keys, CPTPL), acquire
Write Exclusive, the other host's write gets Reservation Conflict and its
read passes, report (EDS=0 refused, EDS=1 parsed), preempt with the
Registration Preempted notice (AEN + log page), release, the file's
content, a restart with the ptpl_file keeping the state, save_config
writing ptpl_file back, and a malformed file refusing the namespace.
Bounded: socket timeouts and a 90 s alarm; the target is always stopped."""
import json
import os
import signal
import struct
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvmf_tcp_host as nh  # noqa: E402
from nvmf_tcp import Tgt, free_port, ADDR  # noqa: E402
from tgt_harness import FAILS, check  # noqa: E402

NQN = 'nqn.2016-06.io.brisk:resv1'
H1 = ('nqn.2014-08.org.nvmexpress:uuid:11111111-1111-4111-8111-111111111111',
      uuid.UUID('11111111-1111-4111-8111-111111111111').bytes)
H2 = ('nqn.2014-08.org.nvmexpress:uuid:22222222-2222-4222-8222-222222222222',
      uuid.UUID('22222222-2222-4222-8222-222222222222').bytes)
CONFLICT = 0x83
K1, K2 = 0x1111AAAA, 0x2222BBBB


def configure(t, port, ptpl):
    steps = [('bdev_malloc_create', '-b', 'Malloc0', '8', '512'),
             ('nvmf_create_transport', '-t', 'TCP'),
             ('nvmf_create_subsystem', NQN, '-a', '-s', 'RESV1'),
             ('nvmf_subsystem_add_ns', NQN, 'Malloc0', '--ptpl-file', ptpl),
             ('nvmf_subsystem_add_listener', NQN, '-t', 'tcp', '-a', ADDR, '-s', str(port))]
    return all(t.rpc(*s).returncode == 0 for s in steps)


class Host:
    """One host: an admin and an I/O queue."""

    def __init__(self, port, who):
        self.adm, cqe = nh.connect_admin(ADDR, port, NQN, who[0], hostid=who[1])
        self.adm.enable()
        cntlid = struct.unpack_from('<H', self.adm.identify(1)[1], 78)[0]
        self.io, cqe2 = nh.connect_io(ADDR, port, NQN, who[0], cntlid, hostid=who[1])
        self.ok = cqe.ok and cqe2.ok

    def data_cmd(self, opc, data, cdw10=0, cdw11=0):
        cmd = nh.sqe(opc, self.io.next_cid(), 1, cdw10=cdw10, cdw11=cdw11, sgl=nh.sgl_icd(len(data)))
        return self.io.command(cmd, data)[0]

    def register(self, action, crkey, nrkey, cptpl=0, iekey=0):
        return self.data_cmd(0x0D, struct.pack('<QQ', crkey, nrkey), action | (iekey << 3) | (cptpl << 30))

    def acquire(self, action, rtype, crkey, prkey=0):
        return self.data_cmd(0x11, struct.pack('<QQ', crkey, prkey), action | (rtype << 8))

    def release(self, action, rtype, crkey):
        return self.data_cmd(0x15, struct.pack('<Q', crkey), action | (rtype << 8))

    def report(self, eds=1, nbytes=4096):
        cmd = nh.sqe(0x0E, self.io.next_cid(), 1, cdw10=nbytes // 4 - 1, cdw11=eds,
                     sgl=nh.sgl_transport(nbytes))
        return self.io.command(cmd, data_in=nbytes)

    def close(self):
        self.io.close()
        self.adm.close()


def parse_report(d):
    gen, rtype, regctl = struct.unpack_from('<IBH', d, 0)
    regs = []
    for i in range(regctl):
        e = d[64 + 64 * i:128 + 64 * i]
        cntlid, rcsts = struct.unpack_from('<HB', e, 0)
        regs.append((e[16:32], struct.unpack_from('<Q', e, 8)[0], rcsts & 1))
    return gen, rtype, d[9], sorted(regs)


def identify_checks(h1):
    d = h1.adm.identify(1)[1]
    check(struct.unpack_from('<H', d, 520)[0] & 0x20, 'Identify Controller: ONCS reservations bit')
    check(h1.adm.identify(0, 1)[1][31] == 0xFF, 'Identify Namespace: RESCAP FFh (6 types, IEKEY, PTPL)')
    cqe, data = h1.adm.admin(0x0A, 0, 16, cdw10=0x81, cdw11=1)
    check(cqe.ok and data[:16] == H1[1], 'Get Features Host Identifier (EXHID=1): the Connect host ID')
    check(h1.adm.admin(0x0A, 0, 16, cdw10=0x81, cdw11=0)[0].sc == 0x02, 'Host Identifier with EXHID=0: '
          'Invalid Field')
    check(h1.adm.admin(0x09, 0, cdw10=0x81, cdw11=1)[0].sc == 0x0C, 'Set Features Host Identifier: '
          'Command Sequence Error')


def reserve_checks(h1, h2):
    check(h1.register(0, 0, K1, cptpl=3).ok, 'host 1 registers with PTPL on')
    check(h2.register(0, 0, K2).ok, 'host 2 registers')
    check(h2.register(0, 0, K2 + 1).sc == CONFLICT, 'register again with another key: conflict')
    check(h1.acquire(0, 1, K1 + 5).sc == CONFLICT, 'acquire with a wrong key: conflict')
    check(h1.acquire(0, 1, K1).ok, 'host 1 acquires Write Exclusive')
    check(h2.io.write(1, 0, b'\x55' * 512).sc == CONFLICT, "host 2's write: Reservation Conflict")
    check(h2.io.read(1, 0, 1)[0].ok, "host 2's read passes (Write Exclusive)")
    check(h1.io.write(1, 0, b'\xaa' * 512).ok, "the holder's write passes")
    check(h1.report(eds=0)[0].sc == 0x18, 'report with EDS=0: Host Identifier Inconsistent Format')
    cqe, d = h1.report()
    gen, rtype, ptpls, regs = parse_report(d)
    check(cqe.ok and rtype == 1 and ptpls == 1 and regs == sorted([(H1[1], K1, 1), (H2[1], K2, 0)]),
          f'report (EDS=1): type 1, PTPLS, two registrants, host 1 holds (gen {gen})')


def preempt_checks(h1, h2):
    h1.adm.send(h1.adm.pdu(nh.PDU_CMD, nh.sqe(0x0C, 0x7777, 0)))  # AER, answered later
    check(h2.acquire(1, 2, K2, K1).ok, 'host 2 preempts host 1 (Exclusive Access)')
    ptype, _, hdr, _ = h1.adm.recv_pdu()
    cqe = nh.Cqe(hdr[8:24])
    check(cqe.cid == 0x7777 and cqe.cdw0 & 0xFF0007 == 0x800006, f'host 1 gets the reservation AEN ({cqe})')
    cqe, log = h1.adm.admin(0x02, 0, 64, cdw10=0x80 | (15 << 16))
    check(cqe.ok and log[8] == 1 and struct.unpack_from('<I', log, 12)[0] == 1,
          'reservation log page: Registration Preempted on namespace 1')
    check(h1.io.read(1, 0, 1)[0].sc == CONFLICT, "host 1 (preempted) reads: conflict (Exclusive Access)")
    check(h1.register(0, 0, K1).ok, 'host 1 registers again')


def restart_checks(work, ptpl):
    with open(ptpl) as f:
        st = json.load(f)
    check(st.get('ptpl') is True and st.get('rtype') == 2 and len(st.get('registrants', [])) == 2,
          'ptpl_file holds type 2 and two registrants')
    port = free_port()
    t = Tgt(work, 'tgt2')
    try:
        check(configure(t, port, ptpl), 'restarted target takes the ptpl_file')
        h1, h2 = Host(port, H1), Host(port, H2)
        cqe, d = h2.report()
        _, rtype, _, regs = parse_report(d)
        check(rtype == 2 and regs == sorted([(H1[1], K1, 0), (H2[1], K2, 1)]),
              'after restart: Exclusive Access held by host 2, both registrations kept')
        check(h1.io.write(1, 0, b'\x11' * 512).sc == CONFLICT and h2.io.write(1, 0, b'\x22' * 512).ok,
              "after restart: host 1's write conflicts, the holder's passes")
        cfg = t.json('save_config')
        ns = [c['params']['namespace'] for s in cfg['subsystems'] if s['subsystem'] == 'nvmf'
              for c in s['config'] if c['method'] == 'nvmf_subsystem_add_ns']
        check(ns and ns[0].get('ptpl_file') == ptpl, 'save_config writes ptpl_file back')
        check(h2.release(0, 2, K2).ok and h1.io.write(1, 0, b'\x33' * 512).ok, 'release: host 1 writes again')
        check(h2.release(1, 0, K2).ok and parse_report(h1.report()[1])[3] == [], 'clear: no registrants left')
        h1.close()
        h2.close()
    finally:
        t.stop()


def malformed_check(work):
    bad = os.path.join(work, 'bad.json')
    with open(bad, 'w') as f:
        f.write('{"ptpl": true, "rtype": 9}')
    t = Tgt(work, 'tgt3')
    try:
        t.rpc('bdev_malloc_create', '-b', 'Malloc0', '8', '512')
        t.rpc('nvmf_create_subsystem', NQN, '-a')
        r = t.rpc('nvmf_subsystem_add_ns', NQN, 'Malloc0', '--ptpl-file', bad, expect_ok=False)
        subs = t.json('nvmf_get_subsystems') or []
        nss = [s.get('namespaces', []) for s in subs if s['nqn'] == NQN]
        check(r.returncode != 0 and 'rtype' in r.stdout + r.stderr and nss == [[]],
              'malformed ptpl_file: clear error naming rtype, namespace not added')
    finally:
        t.stop()


def main():
    signal.alarm(90)
    with tempfile.TemporaryDirectory(prefix='nvmf_resv.') as work:
        ptpl = os.path.join(work, 'ns1.ptpl.json')
        port = free_port()
        t = Tgt(work, 'tgt1')
        try:
            check(configure(t, port, ptpl), 'configure: subsystem, namespace with --ptpl-file, listener')
            h1, h2 = Host(port, H1), Host(port, H2)
            check(h1.ok and h2.ok, 'two hosts connected (different host IDs)')
            identify_checks(h1)
            reserve_checks(h1, h2)
            preempt_checks(h1, h2)
            h1.close()
            h2.close()
        finally:
            check(t.stop() == 0, 'target stops cleanly')
        restart_checks(work, ptpl)
        malformed_check(work)
    print(f'{len(FAILS)} failed')
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
