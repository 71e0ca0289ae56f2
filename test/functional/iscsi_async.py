#!/usr/bin/env python3
"""iSCSI Async Messages (RFC 7143 11.9) as the test initiator sees them.

AsyncEvent 0 (SCSI async event): a LUN added by iscsi_target_node_add_lun and
a LUN whose bdev is deleted each reach a logged-in session as an Async
Message with the LUN, the next StatSN, the command window, and fixed format
sense UNIT ATTENTION / REPORTED LUNS DATA HAS CHANGED (3Fh/0Eh); the session
goes on (StatSN continuous). AsyncEvent 1 (logout requested):
iscsi_delete_target_node on a node with a session sends it with Parameter3 =
DefaultTime2Wait; a new login to that node is refused meanwhile; the RPC
answers once the session has logged out; a session that ignores the request
is dropped after Parameter3 seconds and the node is deleted then.
Bounded by socket and RPC timeouts.
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iscsi_client as ic  # noqa: E402
from tgt_harness import FAILS, RPC_PY, Target, check, rpc_cli  # noqa: E402

BASE = "iqn.2016-06.io.spdk:"
TIME2WAIT = 2


def async_pdu(sess):
    """The next PDU, which must be an Async Message: (bhs, data) or None."""
    expected_statsn = sess.statsn
    bhs, data = sess.recv()
    if bhs[0] & 0x3F != 0x32:
        print(f"  got opcode {bhs[0] & 0x3F:#x}, not an Async Message", file=sys.stderr)
        return None
    statsn, expcmdsn, maxcmdsn = struct.unpack(">III", bhs[24:36])
    sess.statsn = statsn + 1
    ok = (bhs[1] == 0x80 and bhs[16:20] == b"\xff" * 4 and statsn == expected_statsn and
          expcmdsn == sess.cmdsn and not ic.sn_lt(maxcmdsn, expcmdsn))
    if not ok:
        print(f"  bad Async header {bhs.hex()} (StatSN expected {expected_statsn}, CmdSN {sess.cmdsn})",
              file=sys.stderr)
    return (bhs, data) if ok else None


def scsi_event_ok(pdu, lun):
    """AsyncEvent 0 for LUN lun carrying UNIT ATTENTION 3Fh/0Eh."""
    if pdu is None:
        return False
    bhs, data = pdu
    senselen = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else 0
    sense = data[2:2 + senselen]
    return (bhs[36] == 0 and bhs[9] == lun and bhs[8] == 0 and senselen == 18 and len(sense) == 18 and
            sense[0] == 0x70 and sense[2] & 0x0F == 6 and sense[12:14] == b"\x3f\x0e")


def logout_request_ok(pdu):
    """AsyncEvent 1 with Parameter3 = DefaultTime2Wait, Parameters 1 and 2 zero."""
    if pdu is None:
        return False
    bhs, data = pdu
    p1, p2, p3 = struct.unpack(">HHH", bhs[38:44])
    return bhs[36] == 1 and p1 == 0 and p2 == 0 and p3 == TIME2WAIT and data == b""


def delete_node(sock, name):
    """iscsi_delete_target_node in the background (it answers once the sessions end)."""
    return subprocess.Popen([sys.executable, RPC_PY, "-s", sock, "-t", "30", "iscsi_delete_target_node",
                             BASE + name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def node_names(sock):
    return rpc_cli(sock, "iscsi_get_target_nodes")[1]


def closed(sess, secs):
    try:
        sess.sock.settimeout(secs)
        return sess.sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def scsi_events(sock, port):
    a = ic.Session(port, BASE + "ev")
    check(a.login() == 0, "session logs in to a node with LUN 0")
    # lib/scsi keeps unit attentions for the I_T nexuses it has seen: be one.
    check(any(a.read10(0, 1, 512)[0] == 0 for _ in range(3)), "a read on LUN 0 (the nexus is known)")
    check(rpc_cli(sock, "iscsi_target_node_add_lun", BASE + "ev", "Malloc1", "-i", "1")[0] == 0, "LUN 1 added")
    check(scsi_event_ok(async_pdu(a), 1),
          "AsyncEvent 0 for LUN 1: StatSN, window, sense UNIT ATTENTION 3Fh/0Eh")
    check(a.nop(), "the session goes on (NOP-Out answered, StatSN continuous)")
    check(rpc_cli(sock, "bdev_malloc_delete", "Malloc1")[0] == 0, "LUN 1's bdev deleted")
    check(scsi_event_ok(async_pdu(a), 1), "AsyncEvent 0 for the removed LUN 1")
    st, _ = a.read10(0, 1, 512)
    check(st == 2, "the next command on LUN 0 reports the unit attention too (CHECK CONDITION)")
    check(a.logout(), "logout")


def logout_requests(sock, port):
    a = ic.Session(port, BASE + "ev")
    check(a.login() == 0, "session logs in")
    rpc = delete_node(sock, "ev")
    check(logout_request_ok(async_pdu(a)), f"AsyncEvent 1 (logout requested), Parameter3 = {TIME2WAIT} s")
    late = ic.Session(port, BASE + "ev")
    check(late.login() == 0x0203, "a new login to the node being deleted is refused (0x0203)")
    check(rpc.poll() is None, "the delete RPC waits for the session")
    check(a.logout(), "the session logs out as asked")
    out, err = rpc.communicate(timeout=30)
    check(rpc.returncode == 0, f"the delete RPC then succeeds ({out.strip()} {err.strip()})")
    check(BASE + "ev" not in node_names(sock), "the node is gone")

    b = ic.Session(port, BASE + "stubborn")
    check(b.login() == 0, "a session on a second node")
    start = time.monotonic()
    rpc = delete_node(sock, "stubborn")
    check(logout_request_ok(async_pdu(b)), "AsyncEvent 1 reaches it")
    check(closed(b, 15), "a session that ignores it is dropped")
    waited = time.monotonic() - start
    check(waited >= TIME2WAIT, f"no earlier than Parameter3 ({waited:.1f} s)")
    rpc.communicate(timeout=30)
    check(rpc.returncode == 0 and BASE + "stubborn" not in node_names(sock), "and the node is deleted then")


def main():
    port = 30000 + (os.getpid() + 11) % 20000
    work = tempfile.mkdtemp(prefix="brisk_iscsi_async.")
    sock = os.path.join(work, "tgt.sock")
    tgt = Target(work, 20000 + (os.getpid() + 11) % 10000, sock, extra=["--no-huge"], mem_mb=128)
    try:
        cmds = [["bdev_malloc_create", "-b", "Malloc0", "16", "512"],
                ["bdev_malloc_create", "-b", "Malloc1", "16", "512"],
                ["bdev_malloc_create", "-b", "Malloc2", "16", "512"],
                ["iscsi_create_portal_group", "1", f"127.0.0.1:{port}"],
                ["iscsi_create_initiator_group", "1", "ANY", "127.0.0.1/32"],
                ["iscsi_create_target_node", "ev", "ev", "Malloc0:0", "1:1", "32"],
                ["iscsi_create_target_node", "stubborn", "stubborn", "Malloc2:0", "1:1", "32"]]
        if not check(tgt.wait_socket() and all(rpc_cli(sock, *c)[0] == 0 for c in cmds), "target up"):
            return
        scsi_events(sock, port)
        logout_requests(sock, port)
    except (ConnectionError, OSError, subprocess.TimeoutExpired) as e:
        check(False, f"session traffic failed: {e}")
    finally:
        if FAILS:
            print(tgt.tail(), file=sys.stderr)
        tgt.stop_checked("async target")
        for f in os.listdir(work):
            os.unlink(os.path.join(work, f))
        os.rmdir(work)


if __name__ == "__main__":
    start = time.monotonic()
    main()
    print(f"{len(FAILS)} check(s) failed" if FAILS else "all checks passed",
          f"({time.monotonic() - start:.1f} s)")
    sys.exit(1 if FAILS else 0)
