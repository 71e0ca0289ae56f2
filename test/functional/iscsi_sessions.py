#!/usr/bin/env python3
"""iSCSI sessions with several connections (MC/S) and reinstatement.

A second connection joins a session by its TSIH and both carry I/O on the
shared command window; a third is refused once MaxConnections (2) is
reached (status 0x0206); a login with the CID of a live connection replaces
it (connection reinstatement); a new login with the session's ISID and
TSIH 0 replaces the whole session (session reinstatement); a join with an
unknown TSIH is refused (0x020a). Bounded by socket timeouts.
"""
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iscsi_client as ic  # noqa: E402
from tgt_harness import FAILS, Target, check, rpc_cli  # noqa: E402

BS = 512
NODE = "iqn.2016-06.io.spdk:mcs"


def dead(sess):
    """True once the target has closed this connection."""
    try:
        sess.sock.settimeout(3)
        return sess.sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def main():
    port = 30000 + (os.getpid() + 7) % 20000
    work = tempfile.mkdtemp(prefix="brisk_iscsi_mcs.")
    sock = os.path.join(work, "tgt.sock")
    tgt = Target(work, 20000 + (os.getpid() + 7) % 10000, sock, extra=["--no-huge", "-m", "0x3"], mem_mb=128)
    try:
        cmds = [["bdev_malloc_create", "-b", "Malloc0", "16", str(BS)],
                ["iscsi_create_portal_group", "1", f"127.0.0.1:{port}"],
                ["iscsi_create_initiator_group", "1", "ANY", "127.0.0.1/32"],
                ["iscsi_create_target_node", "mcs", "mcs", "Malloc0:0", "1:1", "32"]]
        if not check(tgt.wait_socket() and all(rpc_cli(sock, *c)[0] == 0 for c in cmds), "target up"):
            return
        a = ic.Session(port, NODE)
        check(a.login() == 0 and a.tsih != 0, f"leading connection logs in (TSIH {a.tsih})")
        b = ic.Session(port, NODE, tsih=a.tsih, cid=1)
        check(b.login() == 0, "second connection joins the session by TSIH")
        b.cmdsn = a.cmdsn
        data = bytes(range(256)) * 16
        check(a.write10(8, data, BS) == 0, "write on connection 0")
        b.cmdsn = a.cmdsn
        st, got = b.read10(8, len(data) // BS, BS)
        check(st == 0 and got == data, "read back on connection 1 (one command window)")
        a.cmdsn = b.cmdsn
        c = ic.Session(port, NODE, tsih=a.tsih, cid=2)
        check(c.login() == 0x0206, "a third connection is refused: MaxConnections 2 (0x0206)")
        b2 = ic.Session(port, NODE, tsih=a.tsih, cid=1)
        check(b2.login() == 0, "login with CID 1 again: connection reinstatement")
        check(dead(b), "the old CID 1 connection is closed")
        x = ic.Session(port, NODE, tsih=0x7777, cid=5)
        check(x.login() == 0x020A, "join with an unknown TSIH is refused (0x020a)")
        n = ic.Session(port, NODE)
        check(n.login() == 0 and n.tsih != a.tsih, "new login with the same ISID: session reinstatement")
        check(dead(a) and dead(b2), "the old session's connections are closed")
        check(n.nop(), "the new session answers a NOP-Out")
        st, got = n.read10(8, len(data) // BS, BS)
        check(st == 0 and got == data, "the new session reads the data")
        check(n.logout(), "the new session logs out")
    except (ConnectionError, OSError) as e:
        check(False, f"session traffic failed: {e}")
    finally:
        if FAILS:
            print(tgt.tail(), file=sys.stderr)
        tgt.stop_checked("MC/S target")
        for f in os.listdir(work):
            os.unlink(os.path.join(work, f))
        os.rmdir(work)


if __name__ == "__main__":
    start = time.monotonic()
    main()
    print(f"{len(FAILS)} check(s) failed" if FAILS else "all checks passed",
          f"({time.monotonic() - start:.1f} s)")
    sys.exit(1 if FAILS else 0)
