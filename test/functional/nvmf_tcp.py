#!/usr/bin/env python3
"""lib/nvmf on 127.0.0.1 with the Python NVMe/TCP host of nvmf_tcp_host.py:
configuration through rpc.py (and its errors), Connect/properties/identify,
I/O through every data path (in-capsule, R2T + H2CData, C2HData) with and
without digests, status codes, zero-copy reads holding a removed namespace
until their data is sent, a refused host, keep-alive timeout, idle CPU
with a connected host, malformed PDUs (each ends only its own connection
while a well-behaved one keeps working; random PDUs and commands are
nvmf_fuzz.py's), and save_config -> -c round trip.
Bounded: every socket wait has a timeout, the whole run a deadline."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvmf_tcp_host as nh  # noqa: E402
from tgt_harness import RPC_PY, TGT, FAILS, check  # noqa: E402

NQN = 'nqn.2016-06.io.brisk:cnode1'
HOST = 'nqn.2014-08.org.nvmexpress:uuid:6f1d2b9a-52c4-4a3e-8a51-3b7e1f0c9d21'
BAD_HOST = 'nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-000000000001'
ADDR = '127.0.0.1'


def free_port():
    s = socket.socket()
    s.bind((ADDR, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Tgt:
    def __init__(self, work, name, config=None):
        self.sock = os.path.join(work, name + '.sock')
        self.log = open(os.path.join(work, name + '.log'), 'w')
        args = [TGT, '--no-huge', '-s', '128', '-m', '0x3', '-r', self.sock] + (['-c', config] if config else [])
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.sock) and time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.2)
        if config:
            self.rpc('framework_wait_init')  # the socket answers while -c is still being applied

    def rpc(self, *args, expect_ok=True):
        r = subprocess.run([sys.executable, RPC_PY, '-s', self.sock] + list(args), capture_output=True,
                           text=True, timeout=30)
        if expect_ok and r.returncode != 0:
            print(f'rpc {args} failed: {r.stderr.strip()}', file=sys.stderr)
        return r

    def json(self, *args):
        r = self.rpc(*args)
        return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else None

    def cpu_seconds(self):
        with open(f'/proc/{self.proc.pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                return None
        return self.proc.returncode


def configure(t, port):
    steps = [('bdev_malloc_create', '-b', 'Malloc0', '32', '512'),
             ('bdev_malloc_create', '-b', 'Malloc1', '16', '4096'),
             ('nvmf_create_transport', '-t', 'TCP', '-q', '64', '-c', '8192'),
             ('nvmf_create_subsystem', NQN, '-s', 'BRISK-SN-1', '-d', 'Brisk functional', '-m', '8'),
             ('nvmf_subsystem_add_ns', NQN, 'Malloc0'),
             ('nvmf_subsystem_add_ns', NQN, 'Malloc1', '-n', '4', '-g', '00112233445566778899AABBCCDDEEFF'),
             ('nvmf_subsystem_add_host', NQN, HOST),
             ('nvmf_subsystem_add_listener', NQN, '-t', 'tcp', '-a', ADDR, '-s', str(port), '-f', 'ipv4')]
    check(all(t.rpc(*s).returncode == 0 for s in steps), 'configure: malloc bdevs, transport, subsystem, '
          'namespaces 1 and 4, host, listener')


def rpc_errors(t, port):
    bad = [('nvmf_create_subsystem', 'not-an-nqn'), ('nvmf_create_subsystem', 'nqn.2016-13.io.x:a'),
           ('nvmf_create_subsystem', NQN), ('nvmf_create_transport', '-t', 'RDMA'),
           ('nvmf_create_transport', '-t', 'TCP'),
           ('nvmf_subsystem_add_ns', NQN, 'NoSuchBdev'), ('nvmf_subsystem_add_ns', NQN, 'Malloc0', '-n', '9'),
           ('nvmf_subsystem_add_host', NQN, 'bad host'),
           ('nvmf_subsystem_add_listener', NQN, '-t', 'tcp', '-a', '999.1.1.1', '-s', '1'),
           ('nvmf_subsystem_add_listener', 'nqn.2016-06.io.brisk:none', '-t', 'tcp', '-a', ADDR, '-s', '1'),
           ('nvmf_subsystem_remove_ns', NQN, '7'), ('nvmf_delete_subsystem', 'nqn.2016-06.io.brisk:none')]
    results = [t.rpc(*b, expect_ok=False) for b in bad]
    check(all(r.returncode != 0 for r in results), 'rpc: 12 bad requests are refused')
    check(all('error' in r.stderr for r in results), 'rpc: each refusal says why')
    subs = t.json('nvmf_get_subsystems', NQN)
    s = subs[0] if subs else {}
    check([n['nsid'] for n in s.get('namespaces', [])] == [1, 4] and s.get('serial_number') == 'BRISK-SN-1'
          and s.get('hosts') == [{'nqn': HOST}] and not s.get('allow_any_host'),
          'nvmf_get_subsystems shows namespaces, serial, hosts')
    lst = t.json('nvmf_subsystem_get_listeners', NQN)
    check(lst and lst[0]['address']['trsvcid'] == str(port), 'nvmf_subsystem_get_listeners')
    tr = t.json('nvmf_get_transports')
    check(tr and tr[0]['trtype'] == 'TCP' and tr[0]['max_queue_depth'] == 64, 'nvmf_get_transports')


def admin_checks(port):
    h, cqe = nh.connect_admin(ADDR, port, NQN, HOST, kato=0)
    check(cqe.ok and cqe.cdw0 >= 1, f'admin Connect gives a controller ID ({cqe})')
    _, cap = h.prop_get(0x0, True)
    check((cap & 0xFFFF) == 63 and (cap >> 37) & 1, f'CAP: MQES 63, NVM command set ({cap:#x})')
    check(h.prop_get(0x8, False)[1] == 0x10300, 'VS 1.3')
    check(h.enable() & 1 == 1, 'CC.EN=1 sets CSTS.RDY')
    check(not h.prop_get(0x8, True)[0].ok, 'Property Get of VS with 8 bytes: Invalid Field')
    cqe, d = h.identify(1)
    ioccsz = struct.unpack_from('<I', d, 1792)[0]
    check(cqe.ok and d[4:14] == b'BRISK-SN-1' and d[24:40] == b'Brisk functional' and
          d[768:768 + len(NQN)] == NQN.encode() and ioccsz == (64 + 8192) // 16 and d[111] == 1,
          'Identify Controller: serial, model, subnqn, ioccsz, I/O controller type')
    check(struct.unpack_from('<H', d, 522)[0] == 1, 'Identify Controller: FUSES Compare and Write')
    cqe, d = h.identify(2)
    check(struct.unpack_from('<3I', d, 0) == (1, 4, 0), 'active namespace list: 1, 4')
    cqe, d = h.identify(0, 4)
    check(struct.unpack_from('<Q', d, 0)[0] == 4096 and d[130] == 12 and
          d[104:120] == bytes.fromhex('00112233445566778899AABBCCDDEEFF'),
          'Identify Namespace 4: 4096 blocks of 4 KiB, given NGUID')
    cqe, d = h.identify(3, 1)
    check(cqe.ok and d[0] == 2 and d[1] == 16 and d[20] == 3, 'namespace descriptors: NGUID then UUID')
    check(h.identify(0, 99)[0].sc == 0x0B, 'Identify of NSID 99: Invalid Namespace')
    cqe = h.admin(0x09, cdw10=0x07, cdw11=0x00030003)[0]
    check(cqe.ok and cqe.cdw0 == 0x00030003, 'Set Features number of queues: 4 granted')
    cqe, d = h.admin(0x02, data_in=512, cdw10=0x02 | (127 << 16))
    check(cqe.ok and struct.unpack_from('<H', d, 1)[0] == 298, 'SMART log: 298 K')
    check(h.admin(0x02, data_in=512, cdw10=0x42 | (127 << 16))[0].sct == 1, 'unknown log page: Invalid Log Page')
    check(h.admin(0x18)[0].ok, 'Keep Alive')
    check(h.admin(0xC1)[0].sc == 0x01, 'unknown admin opcode: Invalid Opcode')
    return h, cqe_cntlid(h)


def cqe_cntlid(h):
    return struct.unpack_from('<H', h.identify(1)[1], 78)[0]


def io_checks(port, cntlid, hdgst=False, ddgst=False, label=''):
    if not label:
        io, cqe = nh.connect_io(ADDR, port, NQN, HOST, cntlid, sqsize=64)
        check(cqe.sct == 1 and cqe.sc == 0x82 and cqe.cdw0 == 44,
              f'I/O queue Connect with SQSIZE above max_queue_depth: Invalid Parameters at 44 ({cqe})')
        io.close()
    io, cqe = nh.connect_io(ADDR, port, NQN, HOST, cntlid, hdgst, ddgst)
    check(cqe.ok, f'{label}I/O queue Connect ({cqe})')
    small, big = os.urandom(4096), os.urandom(128 * 1024)
    check(io.write(1, 16, small).ok and io.read(1, 16, 8)[1] == small, f'{label}4 KiB in-capsule write, C2H read')
    check(io.write(1, 1024, big, in_capsule=False).ok and io.read(1, 1024, 256)[1] == big,
          f'{label}128 KiB write through R2T + H2CData, read back')
    check(io.write(1, 32640, big, in_capsule=False).ok and io.read(1, 32640, 256)[1] == big,
          f'{label}128 KiB across malloc\'s 16 MiB chunks: C2HData from two lent buffers')
    check(io.write(4, 3, big[:8192], bs=4096).ok and io.read(4, 3, 2, bs=4096)[1] == big[:8192],
          f'{label}4 KiB-block namespace 4')
    return io


def status_checks(io):
    check(io.read(1, 65535, 2)[0].sc == 0x80, 'read past the end: LBA Out of Range')
    check(io.read(2, 0, 1)[0].sc == 0x0B, 'read of inactive NSID 2: Invalid Namespace')
    data = io.read(1, 16, 8)[1]
    check(io.compare(1, 16, data).ok, 'Compare of equal data succeeds')
    check(io.compare(1, 16, bytes(4096)).sc == 0x85 and io.compare(1, 16, bytes(4096)).sct == 2,
          'Compare of different data: Compare Failure')
    wz = nh.sqe(0x08, io.next_cid(), 1, cdw10=16, cdw12=7)
    check(io.command(wz)[0].ok and io.read(1, 16, 8)[1] == bytes(4096), 'Write Zeroes reads back zeroes')
    dsm = nh.sqe(0x09, io.next_cid(), 1, cdw10=0, cdw11=4, sgl=nh.sgl_icd(16))
    check(io.command(dsm, struct.pack('<IIQ', 0, 8, 1024))[0].ok, 'Dataset Management deallocate')
    check(io.command(nh.sqe(0x00, io.next_cid(), 1))[0].ok, 'Flush')
    check(io.command(nh.sqe(0x7E, io.next_cid(), 1))[0].sc == 0x01, 'unknown I/O opcode: Invalid Opcode')
    prp = nh.sqe(0x02, io.next_cid(), 1, cdw10=16, cdw12=0, sgl=nh.sgl_transport(512), flags=0x00)
    check(io.command(prp, data_in=512)[0].sc == 0x02, 'PRP data pointer on a fabric: Invalid Field')


def cqe_is(c, sct, sc):
    return c.sct == sct and c.sc == sc


def fused_checks(admin, io):
    old, new = os.urandom(512), os.urandom(512)
    io.write(1, 40, old)
    first, second = io.compare_and_write(1, 40, old, new)
    check(first.ok and second.ok and io.read(1, 40, 1)[1] == new, 'Compare-and-Write: equal, written')
    first, second = io.compare_and_write(1, 40, old, os.urandom(512))
    check(cqe_is(first, 2, 0x85) and cqe_is(second, 0, 0x09) and io.read(1, 40, 1)[1] == new,
          'Compare-and-Write miscompare: Compare Failure, write aborted (Failed Fused), data kept')
    big_old, big_new = os.urandom(16384), os.urandom(16384)
    io.write(1, 64, big_old, in_capsule=False)
    first, second = io.compare_and_write(1, 64, big_old, big_new, icd=(False, False))
    check(first.ok and second.ok and io.read(1, 64, 32)[1] == big_new, 'Compare-and-Write of 16 KiB via R2T')
    first, second = io.compare_and_write(1, 64, big_new[:4096], big_old[:4096], icd=(False, True))
    check(first.ok and second.ok and io.read(1, 64, 8)[1] == big_old[:4096],
          'Compare-and-Write: compare data by R2T, write data in-capsule (second half ready first)')
    lone = io.rw_sqe(0x01, 1, 40, new, fuse=2)
    check(cqe_is(io.commands([lone])[0], 0, 0x0A), 'fused second without a first: Missing Fused')
    first, read = io.commands([io.rw_sqe(0x05, 1, 40, new, fuse=1),
                               (nh.sqe(0x00, io.next_cid(), 1), b'', True)])
    check(cqe_is(first, 0, 0x0A) and read.ok, 'fused first followed by a Flush: Missing Fused, Flush runs')
    first, second = io.commands([io.rw_sqe(0x05, 1, 40, new, fuse=1), io.rw_sqe(0x01, 1, 41, old, fuse=2)])
    check(cqe_is(first, 0, 0x02) and cqe_is(second, 0, 0x09) and io.read(1, 41, 1)[1] != old,
          'fused pair on different LBAs: Invalid Field, write aborted')
    first, second = io.compare_and_write(1, 65535, new + new, new + new)
    check(cqe_is(first, 0, 0x80) and cqe_is(second, 0, 0x09), 'Compare-and-Write past the end: LBA Out of Range')
    ident = nh.sqe(0x06, admin.next_cid(), 0, cdw10=1, sgl=nh.sgl_transport(4096), flags=0x41)
    check(cqe_is(admin.command(ident, data_in=4096)[0], 0, 0x02), 'fused admin command: Invalid Field')


RACE_BLOCKS = 16  # 8 KiB pairs (in-capsule)
RACE_PAIRS = 16   # per queue and round: 32 commands of the 63 a queue holds


def caw_burst(io, tag, barrier, out):
    """Sends RACE_PAIRS pairs back to back, each expecting zeroes and writing
    its own pattern; counts the pairs that succeeded."""
    cmds = []
    for i in range(RACE_PAIRS):
        new = struct.pack('<HH', tag, i + 1).ljust(512 * RACE_BLOCKS, b'\x5a')
        cmds += [io.rw_sqe(0x05, 1, 100, bytes(512 * RACE_BLOCKS), fuse=1),
                 io.rw_sqe(0x01, 1, 100, new, fuse=2)]
    barrier.wait(10)
    cqes = io.commands(cmds)
    out.append(sum(1 for i in range(0, len(cqes), 2) if cqes[i].ok and cqes[i + 1].ok))


def fused_race(port, cntlid, io, rounds=10):
    """Two queues (on both poll groups) fire bursts of pairs that all compare
    against zeroes: only an atomic Compare-and-Write lets exactly one win."""
    queues = [nh.connect_io(ADDR, port, NQN, HOST, cntlid, qid=q)[0] for q in (2, 3)]
    results = []
    for _ in range(rounds):
        io.write(1, 100, bytes(512 * RACE_BLOCKS))
        wins, barrier = [], threading.Barrier(2)
        threads = [threading.Thread(target=caw_burst, args=(q, n, barrier, wins)) for n, q in enumerate(queues)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        results.append(sum(wins) if len(wins) == 2 else -1)
    for q in queues:
        q.close()
    check(all(r == 1 for r in results),
          f'Compare-and-Write race, {rounds} rounds of {2 * RACE_PAIRS} pairs on two queues: one win each ({results})')


def discovery_checks(port):
    disc = 'nqn.2014-08.org.nvmexpress.discovery'
    for host, want in ((HOST, 1), (BAD_HOST, 0)):
        h, cqe = nh.connect_admin(ADDR, port, disc, host)
        h.enable()
        ctype = h.identify(1)[1][111]
        cqe, d = h.admin(0x02, data_in=4096, cdw10=0x70 | (1023 << 16))
        genctr, numrec = struct.unpack_from('<QQ', d, 0)
        e = d[1024:2048]
        entry_ok = want == 0 or (e[0] == 3 and e[1] == 1 and e[256:256 + len(NQN)] == NQN.encode() and
                                 e[512:521] == b'127.0.0.1' and e[32:32 + len(str(port))] == str(port).encode())
        check(cqe.ok and ctype == 2 and numrec == want and entry_ok,
              f'discovery controller: log page lists {want} entry for {"an allowed" if want else "another"} host')
        h.close()


def ns_events(t, admin, io):
    check(admin.admin(0x09, cdw10=0x0B, cdw11=1 << 8)[0].ok, 'Set Features async event configuration')
    aer_cid = admin.next_cid()
    admin.send(admin.pdu(nh.PDU_CMD, nh.sqe(0x0C, aer_cid)))
    time.sleep(0.2)
    t.rpc('bdev_malloc_create', '-b', 'Malloc2', '8', '512')
    t.rpc('nvmf_subsystem_add_ns', NQN, 'Malloc2', '-n', '2')
    admin.sock.settimeout(5)
    _, _, hdr, _ = admin.recv_pdu()
    cqe = nh.Cqe(hdr[8:24])
    check(cqe.cid == aer_cid and cqe.ok and cqe.cdw0 == 0x00040002,
          f'namespace hot add: Namespace Attribute Changed event ({cqe})')
    cqe, d = admin.admin(0x02, data_in=4096, cdw10=0x04 | (1023 << 16))
    check(cqe.ok and struct.unpack_from('<2I', d, 0) == (2, 0), 'changed namespace list log page: NSID 2')
    check(io.read(2, 0, 1)[0].ok, 'I/O to the added namespace 2')
    aer_cid = admin.next_cid()
    admin.send(admin.pdu(nh.PDU_CMD, nh.sqe(0x0C, aer_cid)))
    time.sleep(0.2)
    t.rpc('nvmf_subsystem_remove_ns', NQN, '2')
    _, _, hdr, _ = admin.recv_pdu()
    cqe = nh.Cqe(hdr[8:24])
    check(cqe.cid == aer_cid and cqe.cdw0 == 0x00040002, f'namespace hot remove: event again after the log '
          f'was read ({cqe})')
    cqe, d = admin.admin(0x02, data_in=4096, cdw10=0x04 | (1023 << 16))
    check(cqe.ok and struct.unpack_from('<2I', d, 0) == (2, 0), 'changed namespace list after removal: NSID 2')
    check(io.read(2, 0, 1)[0].sc == 0x0B, 'namespace hot remove: its I/O gets Invalid Namespace')
    check(io.read(1, 16, 1)[0].ok, 'namespace 1 unaffected')
    t.rpc('bdev_malloc_delete', 'Malloc2')


def ns_remove_under_io(t, io):
    """Namespace removal with reads in flight (a delay bdev holds them 3 s):
    every read completes, and the target releases the namespace's bdev only
    after them (no I/O channel is put with I/O still in it)."""
    ok = [t.rpc(*c).returncode == 0 for c in
          [('bdev_malloc_create', '-b', 'Malloc3', '8', '512'),
           ('bdev_delay_create', '-b', 'Malloc3', '-d', 'Delay3', '-r', '3000000', '-t', '3000000',
            '-w', '3000000', '-n', '3000000'),
           ('nvmf_subsystem_add_ns', NQN, 'Delay3', '-n', '3')]]
    check(all(ok), 'a delay bdev as namespace 3')
    cids = []
    for i in range(4):
        cid = io.next_cid()
        cids.append(cid)
        io.send(io.pdu(nh.PDU_CMD, nh.sqe(0x02, cid, 3, cdw10=i, sgl=nh.sgl_transport(512))))
    time.sleep(0.1)
    check(t.rpc('nvmf_subsystem_remove_ns', NQN, '3').returncode == 0, 'remove namespace 3 with 4 reads in flight')
    done = {}
    io.sock.settimeout(10)
    try:
        while len(done) < len(cids):
            ptype, flags, hdr, _ = io.recv_pdu()
            if ptype == nh.PDU_C2H_DATA and flags & nh.F_SUCCESS:
                done[struct.unpack_from('<H', hdr, 8)[0]] = 0
            elif ptype == nh.PDU_RESP:
                cqe = nh.Cqe(hdr[8:24])
                done[cqe.cid] = cqe.sc | cqe.sct << 8
    except OSError as err:
        print(f'ns_remove_under_io: {err}')
    check(sorted(done) == sorted(cids), f'every in-flight read completed ({done})')
    time.sleep(0.2)
    check(t.rpc('bdev_delay_delete', 'Delay3').returncode == 0 and
          t.rpc('bdev_malloc_delete', 'Malloc3').returncode == 0, 'the delay and malloc bdevs delete afterwards')
    with open(t.log.name) as f:
        log = f.read()
    check('I/O still in flight' not in log, 'no I/O channel was released with I/O in it')
    check(io.read(1, 16, 1)[0].ok, 'namespace 1 unaffected')


def stall_reads(port, cntlid, nsid, pattern, count):
    """An I/O queue that writes pattern at LBA 0 of nsid, then sends count
    reads of it and reads none of their data: with the target's send buffer
    at its 4 MiB maximum, C2HData waits in the target."""
    h, cqe = nh.connect_io(ADDR, port, NQN, HOST, cntlid, qid=2)
    cqe = h.write(nsid, 0, pattern, bs=4096, in_capsule=False) if cqe.ok else cqe
    cids = [h.next_cid() for _ in range(count)]
    for cid in cids:
        h.send(h.pdu(nh.PDU_CMD, nh.sqe(0x02, cid, nsid, cdw12=31, sgl=nh.sgl_transport(128 * 1024))))
    time.sleep(0.5)
    return h, cqe, cids


def read_all(h, cids):
    """{cid: data} of reads answered with SUCCESS-flagged C2HData."""
    got, done = {}, {}
    h.sock.settimeout(10)
    try:
        while len(done) < len(cids):
            ptype, flags, hdr, data = h.recv_pdu()
            cid = struct.unpack_from('<H', hdr, 8)[0]
            if ptype == nh.PDU_C2H_DATA:
                got[cid] = got.get(cid, b'') + data
                if flags & nh.F_SUCCESS:
                    done[cid] = got[cid]
            elif ptype == nh.PDU_RESP:
                done[nh.Cqe(hdr[8:24]).cid] = None
    except OSError as err:
        print(f'read_all: {err}')
    return done


def delete_waits(t, bdev):
    """Starts bdev_malloc_delete of bdev; True (and the process) if it is
    still waiting a second later."""
    p = subprocess.Popen([sys.executable, RPC_PY, '-s', t.sock, 'bdev_malloc_delete', bdev],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    return p.poll() is None, p


def ns_remove_lent_buffers(t, port, cntlid):
    """Zero-copy reads (malloc lends its memory to the C2HData) hold their
    namespace until the data is sent: with the host not reading, a removed
    namespace's bdev cannot be deleted; once the host reads, the data is
    the blocks' and the deletion ends. A connection closed with such data
    unsent gives the buffers back too."""
    pattern = os.urandom(128 * 1024)
    for bdev, closing in (('Malloc5', False), ('Malloc6', True)):
        ok = [t.rpc('bdev_malloc_create', '-b', bdev, '16', '4096').returncode == 0,
              t.rpc('nvmf_subsystem_add_ns', NQN, bdev, '-n', '5').returncode == 0]
        h, cqe, cids = stall_reads(port, cntlid, 5, pattern, 60)
        check(all(ok) and cqe.ok, f'{bdev} as namespace 5, 128 KiB written, 60 reads of it (7.5 MiB) not read')
        check(t.rpc('nvmf_subsystem_remove_ns', NQN, '5').returncode == 0, 'namespace 5 removed')
        waiting, p = delete_waits(t, bdev)
        check(waiting, f'bdev_malloc_delete {bdev} waits for the data not yet sent')
        if closing:
            h.close()
        else:
            done = read_all(h, cids)
            check(len(done) == len(cids) and all(d == pattern for d in done.values()),
                  f'the host reads all {len(cids)}: the blocks\' data ({len(done)} done)')
        try:
            rc = p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        check(rc == 0, 'then bdev_malloc_delete ends' + (' (the host closed the connection)' if closing else ''))
        if not closing:
            h.close()
        time.sleep(0.3)


def ipv6_listener(t):
    port6 = free_port()
    r = t.rpc('nvmf_subsystem_add_listener', NQN, '-t', 'tcp', '-f', 'ipv6', '-a', '::1', '-s', str(port6),
              expect_ok=False)
    if r.returncode != 0 and 'Address family' in r.stderr:
        print('skip: IPv6 listener: no IPv6 on this machine')
        return
    try:
        h, cqe = nh.connect_admin('::1', port6, NQN, HOST)
        check(r.returncode == 0 and cqe.ok, f'IPv6 listener [::1]:{port6}: admin Connect ({cqe})')
        h.close()
    except OSError as err:
        check(False, f'IPv6 listener [::1]:{port6}: {err}')
    check(t.rpc('nvmf_subsystem_remove_listener', NQN, '-t', 'tcp', '-f', 'ipv6', '-a', '::1',
                '-s', str(port6)).returncode == 0, 'IPv6 listener removed')


def subsystem_lifecycle(t, port):
    nqn2 = 'nqn.2016-06.io.brisk:cnode2'
    ok = [t.rpc('nvmf_create_subsystem', nqn2, '-i', '10', '-I', '20').returncode == 0,
          t.rpc('nvmf_subsystem_add_listener', nqn2, '-t', 'tcp', '-a', ADDR, '-s', str(port)).returncode == 0,
          t.rpc('nvmf_subsystem_add_host', nqn2, BAD_HOST).returncode == 0]
    h, cqe = nh.connect_admin(ADDR, port, nqn2, BAD_HOST)
    check(all(ok) and cqe.ok and 10 <= cqe.cdw0 <= 20,
          f'second subsystem on the same listener, cntlid within min/max_cntlid ({cqe})')
    check(t.rpc('nvmf_delete_subsystem', nqn2, expect_ok=False).returncode != 0,
          'nvmf_delete_subsystem refuses while a host is connected')
    h.close()
    time.sleep(0.3)
    t.rpc('nvmf_subsystem_remove_host', nqn2, BAD_HOST)
    h, cqe = nh.connect_admin(ADDR, port, nqn2, BAD_HOST)
    check(cqe.sc == 0x84, 'after nvmf_subsystem_remove_host the host is refused')
    h.close()
    t.rpc('nvmf_subsystem_allow_any_host', nqn2, '-e')
    h, cqe = nh.connect_admin(ADDR, port, nqn2, BAD_HOST)
    check(cqe.ok, 'after nvmf_subsystem_allow_any_host -e any host connects')
    h.close()
    time.sleep(0.3)
    t.rpc('nvmf_subsystem_remove_listener', nqn2, '-t', 'tcp', '-a', ADDR, '-s', str(port))
    h, cqe = nh.connect_admin(ADDR, port, nqn2, BAD_HOST)
    check(cqe.sc == 0x82, 'after nvmf_subsystem_remove_listener the subsystem is not reachable there')
    h.close()
    deadline = time.monotonic() + 10  # the closed controllers go away asynchronously
    while t.rpc('nvmf_delete_subsystem', nqn2, expect_ok=False).returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    check(t.rpc('nvmf_get_subsystems', nqn2, expect_ok=False).returncode != 0,
          'nvmf_delete_subsystem once its hosts are gone')


def refused_host(port):
    h, cqe = nh.connect_admin(ADDR, port, NQN, BAD_HOST)
    check(cqe.sct == 1 and cqe.sc == 0x84, f'a host not on the allow list: Connect Invalid Host ({cqe})')
    h.close()
    h, cqe = nh.connect_admin(ADDR, port, 'nqn.2016-06.io.brisk:nothere', HOST)
    check(cqe.sct == 1 and cqe.sc == 0x82 and cqe.cdw0 == (1 << 16) | 256,
          'an unknown subsystem: Connect Invalid Parameters, data offset 256')
    h.close()


def closed_or_term(h, timeout=5):
    """True if the target sent C2HTermReq or closed the connection."""
    h.sock.settimeout(timeout)
    try:
        while True:
            h.recv_pdu()
    except (nh.TermReq, ConnectionError, OSError):
        return True
    except (socket.timeout, ValueError, AssertionError):
        return False


def malformed_cases():
    cmd = nh.sqe(0x06, 1, 0, cdw10=1, sgl=nh.sgl_transport(4096))
    ch = lambda t, f, hl, pdo, pl: struct.pack('<BBBBI', t, f, hl, pdo, pl)  # noqa: E731
    return [
        ('unknown PDU type', ch(0x0F, 0, 72, 0, 72) + bytes(64), True),
        ('CapsuleCmd with hlen 70', ch(4, 0, 70, 0, 70) + bytes(62), True),
        ('second ICReq', struct.pack('<BBBBI', 0, 0, 128, 0, 128) + bytes(120), True),
        ('C2H-only PDU type from the host', ch(7, 0, 24, 0, 24) + bytes(16), True),
        ('in-capsule data over the limit', ch(4, 0, 72, 72, 72 + 65536) + cmd + bytes(65536), True),
        ('PDO inside the header', ch(4, 0, 72, 16, 72 + 16) + cmd + bytes(16), True),
        ('header digest flag not negotiated', ch(4, 1, 72, 0, 76) + cmd + bytes(4), True),
        ('H2CData with an unknown transfer tag', ch(6, 4, 24, 24, 24 + 512) +
         struct.pack('<HHII4x', 1, 999, 0, 512) + bytes(512), True),
        ('H2CTermReq from the host', ch(2, 0, 24, 0, 24) + bytes(16), True),
    ]


def robustness(port, admin, io):
    for name, raw, _ in malformed_cases():
        h = nh.Host(ADDR, port)
        h.icreq()
        h.send(raw)
        check(closed_or_term(h), f'malformed: {name}: connection ended')
        h.close()
        check(io.read(1, 16, 1)[0].ok, f'malformed: {name}: other host still served')
    h = nh.Host(ADDR, port)
    h.send(nh.Host.pdu(h, 4, nh.sqe(0x06, 1)))
    check(closed_or_term(h), 'malformed: capsule before ICReq: connection ended')
    h.close()
    h = nh.Host(ADDR, port, hdgst=True)
    h.icreq()
    pdu = bytearray(h.pdu(4, nh.sqe(0x06, 1, cdw10=1, sgl=nh.sgl_transport(4096))))
    pdu[72] ^= 0xFF
    h.send(bytes(pdu))
    check(closed_or_term(h), 'malformed: bad header digest: connection ended')
    h.close()
    check(io.read(1, 16, 1)[0].ok and admin.admin(0x18)[0].ok,
          'after the malformed PDUs the well-behaved host is still served (random PDUs: nvmf_fuzz.py)')


def idle_and_keepalive(t, port):
    before = t.cpu_seconds()
    time.sleep(5)
    used = t.cpu_seconds() - before
    check(used < 0.05, f'idle target with connected hosts: {used * 20:.2f}% of a core over 5 s (< 1%)')
    h, cqe = nh.connect_admin(ADDR, port, NQN, HOST, kato=1000)
    start = time.monotonic()
    ended = closed_or_term(h, timeout=6)
    check(cqe.ok and ended and time.monotonic() - start < 5,
          f'keep-alive timeout 1 s: silent host disconnected after {time.monotonic() - start:.1f} s')
    h.close()


def roundtrip(work, t):
    cfg = os.path.join(work, 'saved.json')
    r = t.rpc('save_config')
    with open(cfg, 'w') as f:
        f.write(r.stdout)
    before = t.json('nvmf_get_subsystems')
    t.stop()
    t2 = Tgt(work, 'tgt2', cfg)
    try:
        after = t2.json('nvmf_get_subsystems')
        check(before is not None and before == after, 'save_config -> -c: the same subsystems, listeners, '
              'hosts and namespaces')
    finally:
        check(t2.stop() == 0, 'reloaded target exits 0 on SIGTERM')


def main():
    deadline = time.monotonic() + 240
    work = tempfile.mkdtemp(prefix='brisk_nvmf_tcp.')
    port = free_port()
    t = Tgt(work, 'tgt1')
    try:
        configure(t, port)
        rpc_errors(t, port)
        admin, cntlid = admin_checks(port)
        io = io_checks(port, cntlid)
        io_checks(port, cntlid, True, True, 'digests: ').close()
        status_checks(io)
        fused_checks(admin, io)
        fused_race(port, cntlid, io)
        discovery_checks(port)
        ns_events(t, admin, io)
        ns_remove_under_io(t, io)
        ns_remove_lent_buffers(t, port, cntlid)
        ipv6_listener(t)
        subsystem_lifecycle(t, port)
        refused_host(port)
        robustness(port, admin, io)
        ctrls = t.json('nvmf_subsystem_get_controllers', NQN)
        check(ctrls and ctrls[0]['hostnqn'] == HOST and ctrls[0]['num_io_qpairs'] >= 1,
              'nvmf_subsystem_get_controllers')
        qp = t.json('nvmf_subsystem_get_qpairs', NQN)
        check(qp and {q['qid'] for q in qp} >= {0, 1}, 'nvmf_subsystem_get_qpairs')
        st = t.json('nvmf_get_stats')
        check(st and len(st['poll_groups']) == 2 and
              sum(p['current_io_qpairs'] for p in st['poll_groups']) >= 1, 'nvmf_get_stats: 2 poll groups')
        check(st and all(p['admin_qpairs'] + p['io_qpairs'] > 0 for p in st['poll_groups']),
              'two cores: queue pairs were placed on both poll groups')
        idle_and_keepalive(t, port)
        admin.close()
        io.close()
        time.sleep(0.5)
        check(t.proc.poll() is None, 'target alive after all of it')
        roundtrip(work, t)
        check(time.monotonic() < deadline, 'finished within 240 s')
    finally:
        t.stop()
        subprocess.run(['rm', '-rf', work])
    print('nvmf_tcp: %s' % ('PASS' if not FAILS else f'{len(FAILS)} FAILED'))
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
