#!/usr/bin/env python3
"""Robustness of the iSCSI target against a hostile initiator (bounded).

A well-behaved session writes and reads a malloc LUN. Alongside it, a
seeded random client logs in properly, then sends malformed PDUs: random
opcodes and flags, oversized or inconsistent lengths, bad AHS, CmdSN far
outside the window, Data-Out for unknown tasks, truncated headers, and
garbage bytes. After each hostile connection ends (the target may close
it), the good session must still read back what it wrote, and the target
must still accept new logins. Bounded by ROUNDS and socket timeouts.
"""
import os
import random
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iscsi_client as ic  # noqa: E402
from tgt_harness import FAILS, Target, check, rpc_cli  # noqa: E402

ROUNDS = 60
BS = 512
NODE = "iqn.2016-06.io.spdk:fuzz"


def setup(sock, port):
    cmds = [["bdev_malloc_create", "-b", "Malloc0", "16", str(BS)],
            ["iscsi_create_portal_group", "1", f"127.0.0.1:{port}"],
            ["iscsi_create_initiator_group", "1", "ANY", "127.0.0.1/32"],
            ["iscsi_create_target_node", "fuzz", "fuzz", "Malloc0:0", "1:1", "32"]]
    return all(rpc_cli(sock, *c)[0] == 0 for c in cmds)


def hostile_pdu(rng, s):
    bhs = bytearray(rng.randbytes(48))
    kind = rng.randrange(8)
    if kind == 0:
        bhs[0] = rng.choice([0x07, 0x0F, 0x1C, 0x3E, 0x20, 0x25])  # not initiator opcodes
        bhs[4] = 0
        bhs[5:8] = b"\0\0\0"
    elif kind == 1:
        bhs[0] = 0x01
        bhs[4] = 0
        bhs[5:8] = (1 << 24 - 1).to_bytes(3, "big")  # data longer than MaxRecvDataSegmentLength
    elif kind == 2:
        bhs[0] = rng.choice([0x00, 0x02, 0x04, 0x06])
        bhs[4] = rng.randrange(1, 256)  # AHS where none is allowed
    elif kind == 3:
        bhs[0], bhs[1], bhs[4] = 0x01, 0x80 | 0x40, 0
        bhs[5:8] = b"\0\0\0"
        struct.pack_into(">I", bhs, 24, s.cmdsn + 100000)  # outside the window: ignored
    elif kind == 4:
        bhs[0], bhs[4] = 0x05, 0
        bhs[5:8] = (8).to_bytes(3, "big")  # Data-Out for a task that does not exist
        return bytes(bhs) + b"x" * 8
    elif kind == 5:
        return bytes(bhs[:rng.randrange(1, 47)])  # truncated header, then close
    elif kind == 6:
        return rng.randbytes(rng.randrange(1, 2000))
    else:
        bhs[0], bhs[4] = 0x03, 0  # a second login in full feature phase
        bhs[5:8] = b"\0\0\0"
    if kind != 1:
        dsl = int.from_bytes(bhs[5:8], "big") % 64
        bhs[5:8] = dsl.to_bytes(3, "big")
        return bytes(bhs) + rng.randbytes(ic.pad4(dsl) + bhs[4] * 4)
    return bytes(bhs)


def hostile_round(rng, port):
    try:
        s = ic.Session(port, NODE, initiator=f"iqn.2024-01.io.brisk:fuzz{rng.randrange(1000)}", timeout=2)
        if s.login() != 0:
            return False
        for _ in range(rng.randrange(1, 6)):
            s.sock.sendall(hostile_pdu(rng, s))
        s.sock.settimeout(0.2)
        try:
            while s.sock.recv(65536):
                pass
        except (socket.timeout, OSError):
            pass
        s.sock.close()
    except (ConnectionError, socket.timeout, OSError):
        pass
    return True


def main():
    seed = int(os.environ.get("BRISK_FUZZ_SEED", "1"))
    rng = random.Random(seed)
    port = 30000 + os.getpid() % 20000
    work = tempfile.mkdtemp(prefix="brisk_iscsi_fuzz.")
    sock = os.path.join(work, "tgt.sock")
    tgt = Target(work, 20000 + os.getpid() % 10000, sock, extra=["--no-huge"], mem_mb=128)
    try:
        if not check(tgt.wait_socket() and setup(sock, port), "target up with an iSCSI LUN"):
            return
        good = ic.Session(port, NODE)
        check(good.login() == 0, "well-behaved session logs in")
        pattern = bytes(rng.randbytes(8 * BS))
        check(good.write10(0, pattern, BS) == 0, "well-behaved session writes 8 blocks")
        logins = 0
        for r in range(ROUNDS):
            logins += hostile_round(rng, port)
            if r % 10 == 9:
                st, data = good.read10(0, 8, BS)
                if not check(st == 0 and data == pattern and good.nop(), f"good session intact after {r + 1} rounds"):
                    break
        check(logins > ROUNDS // 2, f"hostile clients logged in ({logins} of {ROUNDS}) before misbehaving")
        check(tgt.proc.poll() is None, f"target alive after {ROUNDS} hostile connections (seed {seed})")
        fresh = ic.Session(port, NODE, initiator="iqn.2024-01.io.brisk:fresh")
        check(fresh.login() == 0 and fresh.logout(), "a new session logs in and out afterwards")
        check(good.logout(), "well-behaved session logs out")
    except (ConnectionError, OSError) as e:
        check(False, f"well-behaved traffic failed: {e}")
    finally:
        if FAILS:
            print(tgt.tail(), file=sys.stderr)
        tgt.stop_checked("fuzzed target")
        for f in os.listdir(work):
            os.unlink(os.path.join(work, f))
        os.rmdir(work)


if __name__ == "__main__":
    start = time.monotonic()
    main()
    print(f"{len(FAILS)} check(s) failed" if FAILS else "all checks passed",
          f"({time.monotonic() - start:.1f} s)")
    sys.exit(1 if FAILS else 0)
