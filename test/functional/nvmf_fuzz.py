#!/usr/bin/env python3
"""A bounded NVMe/TCP fuzzer against lib/nvmf on 127.0.0.1, while a
well-behaved host writes and reads back on another subsystem the whole time.
Each round is one of: random bytes after ICReq; a valid Connect (admin or
I/O queue, random host ID) followed by commands of random opcodes (every
value 0-255) with random NSIDs, dwords, SGLs, FUSE bits and in-capsule
data; or reservation commands with bad payloads (short data, wrong
direction, random actions, types, keys, CPTPL) on a namespace with a
ptpl_file. Checks: the target never dies, the well-behaved host's every
command succeeds with the data it wrote and no gap between its completions
exceeds 5 s, and it still works after the run.
Duration: BRISK_NVMF_FUZZ_SECONDS (default 60, the issue's minute in CI);
seed: BRISK_NVMF_FUZZ_SEED (printed, to replay a failure)."""
import os
import random
import signal
import socket
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvmf_tcp_host as nh  # noqa: E402
from nvmf_tcp import Tgt, free_port, ADDR  # noqa: E402
from tgt_harness import FAILS, check  # noqa: E402

GOOD_NQN = 'nqn.2016-06.io.brisk:fuzz-good'
FUZZ_NQN = 'nqn.2016-06.io.brisk:fuzz-target'
HOST = 'nqn.2014-08.org.nvmexpress:uuid:6f1d2b9a-52c4-4a3e-8a51-3b7e1f0c9d21'
RESV_OPCODES = (0x0D, 0x0E, 0x11, 0x15)


def configure(t, port, work):
    steps = [('bdev_malloc_create', '-b', 'Good0', '8', '512'),
             ('bdev_malloc_create', '-b', 'Fuzz0', '8', '512'),
             ('bdev_malloc_create', '-b', 'Fuzz1', '4', '4096'),
             ('nvmf_create_transport', '-t', 'TCP'),
             ('nvmf_create_subsystem', GOOD_NQN, '-a'),
             ('nvmf_subsystem_add_ns', GOOD_NQN, 'Good0'),
             ('nvmf_subsystem_add_listener', GOOD_NQN, '-t', 'tcp', '-a', ADDR, '-s', str(port)),
             ('nvmf_create_subsystem', FUZZ_NQN, '-a', '-m', '4'),
             ('nvmf_subsystem_add_ns', FUZZ_NQN, 'Fuzz0', '--ptpl-file', os.path.join(work, 'fuzz.ptpl')),
             ('nvmf_subsystem_add_ns', FUZZ_NQN, 'Fuzz1', '-n', '3'),
             ('nvmf_subsystem_add_listener', FUZZ_NQN, '-t', 'tcp', '-a', ADDR, '-s', str(port))]
    return all(t.rpc(*s).returncode == 0 for s in steps)


class GoodHost(threading.Thread):
    """Writes a pattern and reads it back on its own subsystem until told to stop."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop, self.ops, self.errors, self.max_gap = port, threading.Event(), 0, [], 0.0

    def run(self):
        try:
            adm, cqe = nh.connect_admin(ADDR, self.port, GOOD_NQN, HOST)
            adm.enable()
            cntlid = struct.unpack_from('<H', adm.identify(1)[1], 78)[0]
            io, cqe2 = nh.connect_io(ADDR, self.port, GOOD_NQN, HOST, cntlid)
        except (OSError, ValueError, nh.TermReq) as e:
            self.errors.append(f'connect: {e}')
            return
        last, rng = time.monotonic(), random.Random(7)
        while not self.stop.is_set() and len(self.errors) < 5:
            data, lba = rng.randbytes(4096), rng.randrange(0, 8 * 2048 - 8)
            try:
                ok = io.write(1, lba, data).ok and io.read(1, lba, 8)[1] == data and adm.admin(0x18)[0].ok
            except (OSError, ValueError, nh.TermReq) as e:
                ok = False
                self.errors.append(f'op {self.ops}: {e}')
            if not ok:
                self.errors.append(f'op {self.ops}: failed or read back other data')
            now = time.monotonic()
            self.max_gap, last = max(self.max_gap, now - last), now
            self.ops += 1
            time.sleep(0.01)
        io.close()
        adm.close()


def random_sgl(rng, n):
    kind = rng.randrange(4)
    if kind == 0:
        return nh.sgl_icd(n)
    if kind == 1:
        return nh.sgl_transport(n)
    return struct.pack('<QI3xB', rng.getrandbits(64), rng.getrandbits(32), rng.getrandbits(8))


def random_cmd(h, rng, admin):
    opc = rng.choice(RESV_OPCODES) if rng.random() < 0.3 else rng.randrange(256)
    nsid = rng.choice((0, 1, 2, 3, 4, 0xFFFFFFFF, rng.getrandbits(32)))
    n = rng.choice((0, 8, 12, 16, 24, 64, 512, 4096))
    data = rng.randbytes(n) if n else b''
    sgl = random_sgl(rng, n)
    dw = [rng.getrandbits(32) if rng.random() < 0.5 else rng.randrange(16) for _ in range(6)]
    if opc in RESV_OPCODES and rng.random() < 0.5:
        dw[0] = rng.randrange(8) | (rng.randrange(2) << 3) | (rng.randrange(8) << 8) | (rng.randrange(4) << 30)
        dw[1] = rng.randrange(2)
    flags = 0x40 | (rng.randrange(4) if rng.random() < 0.1 else 0)
    cmd = nh.sqe(opc, h.next_cid(), nsid, *dw, sgl=sgl, flags=flags)
    icd = sgl[15] == 0x01 and len(data) > 0
    return cmd, data, icd


def fuzz_connected(port, rng, stats):
    """A valid Connect, then random commands until the connection ends."""
    hostid = rng.randbytes(16)
    hostnqn = 'nqn.2014-08.org.nvmexpress:uuid:%08x-0000-4000-8000-000000000000' % rng.getrandbits(32)
    h, cqe = nh.connect_admin(ADDR, port, FUZZ_NQN, hostnqn, hostid=hostid)
    if not cqe.ok:
        h.close()
        return
    h.enable()
    if rng.random() < 0.6:
        cntlid = struct.unpack_from('<H', h.identify(1)[1], 78)[0]
        io, _ = nh.connect_io(ADDR, port, FUZZ_NQN, hostnqn, cntlid, hostid=hostid)
        targets = [(h, True), (io, False)]
    else:
        targets = [(h, True)]
    for _ in range(rng.randrange(1, 40)):
        q, admin = rng.choice(targets)
        cmd, data, icd = random_cmd(q, rng, admin)
        q.sock.settimeout(1.0)
        try:
            q.command(cmd, data, data_in=0, in_capsule=icd)
            stats['answered'] += 1
        except socket.timeout:
            stats['waiting'] += 1  # e.g. the target waits for data the command promised
            break
        except (OSError, ValueError, nh.TermReq, struct.error):
            stats['ended'] += 1
            break
    for q, _ in targets:
        q.close()


def fuzz_raw(port, rng):
    h = nh.Host(ADDR, port, timeout=3)
    if rng.random() < 0.8:
        h.icreq()
    try:
        h.send(rng.randbytes(rng.randrange(8, 300)))
        h.sock.settimeout(0.2)
        h.recv_exact(1)
    except (OSError, ConnectionError):
        pass
    h.close()


def fuzz(port, seconds, seed, good, t):
    rng = random.Random(seed)
    stats = {'answered': 0, 'waiting': 0, 'ended': 0, 'raw': 0, 'connected': 0}
    end = time.monotonic() + seconds
    while time.monotonic() < end and t.proc.poll() is None and not good.errors:
        try:
            if rng.random() < 0.3:
                fuzz_raw(port, rng)
                stats['raw'] += 1
            else:
                fuzz_connected(port, rng, stats)
                stats['connected'] += 1
        except (OSError, ValueError, nh.TermReq, struct.error):
            stats['ended'] += 1
    return stats


def main():
    seconds = float(os.environ.get('BRISK_NVMF_FUZZ_SECONDS', '60'))
    seed = int(os.environ.get('BRISK_NVMF_FUZZ_SEED', str(random.randrange(1 << 32))))
    signal.alarm(int(seconds) + 90)
    print(f'fuzzing {seconds:.0f} s, seed {seed} (BRISK_NVMF_FUZZ_SEED to replay)')
    with tempfile.TemporaryDirectory(prefix='nvmf_fuzz.') as work:
        port = free_port()
        t = Tgt(work, 'tgt')
        try:
            check(configure(t, port, work), 'configure: a well-behaved subsystem and a fuzzed one')
            good = GoodHost(port)
            good.start()
            stats = fuzz(port, seconds, seed, good, t)
            good.stop.set()
            good.join(30)
            check(t.proc.poll() is None, f'target alive after the fuzz ({stats})')
            check(not good.errors and good.ops > 0 and good.max_gap < 5,
                  f'well-behaved host served throughout: {good.ops} write+read+keep-alive rounds, longest gap '
                  f'{good.max_gap:.2f} s {good.errors[:3]}')
            h, cqe = nh.connect_admin(ADDR, port, GOOD_NQN, HOST)
            check(cqe.ok and h.admin(0x18)[0].ok, 'a new host connects after the fuzz')
            h.close()
        finally:
            check(t.stop() == 0, 'target exits 0 on SIGTERM')
    print(f'{len(FAILS)} failed')
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
