#!/usr/bin/env python3
"""lib/nvme's NVMe/TCP host against a hostile target on 127.0.0.1: a Python
listener that answers ICReq properly, then sends one malformed reply to the
Connect capsule (a PDU type hosts never receive, a CapsuleResp with a wrong
length or naming a command that is not outstanding, a header digest never
negotiated, a C2HTermReq, a closed socket, no answer at all). nvme_identify must each time fail cleanly: exit
status 1 (no crash, no hang) and a log line naming the problem. Bounded:
every socket wait and every run has a timeout."""
import os
import socket
import struct
import subprocess
import sys
import threading

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
IDENTIFY = os.path.join(ROOT, 'build', 'bin', 'nvme_identify')
FAILS = 0


def ic_resp(dgst):
    return struct.pack('<BBBBIHBBI', 1, 0, 128, 0, 128, 0, 0, dgst, 131072) + bytes(112)


def recv_exact(c, n):
    buf = b''
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            raise ConnectionError('closed')
        buf += chunk
    return buf


def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff


def serve(srv, reply, hdgst):
    try:
        c, _ = srv.accept()
    except OSError:
        return
    c.settimeout(10)
    try:
        req = recv_exact(c, 128)
        c.sendall(ic_resp(req[11] & (1 if hdgst else 0)))
        ch = recv_exact(c, 8)
        recv_exact(c, struct.unpack('<I', ch[4:8])[0] - 8)  # the Connect capsule
        out = reply()
        if out is None:
            c.close()
            return
        c.sendall(out)
        c.recv(1)  # until the host closes
    except (OSError, ConnectionError):
        pass
    finally:
        c.close()


def resp(cid, hlen=24):
    cqe = struct.pack('<IIHHHH', 1, 0, 0, 0, cid, 0)
    return struct.pack('<BBBBI', 5, 0, hlen, 0, 24) + cqe


def run_case(name, reply, expect, hdgst=False):
    global FAILS
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)
    srv.settimeout(20)
    port = srv.getsockname()[1]
    t = threading.Thread(target=serve, args=(srv, reply, hdgst), daemon=True)
    t.start()
    trid = f'trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:{port} subnqn:nqn.2016-06.io.brisk:x'
    try:
        r = subprocess.run([IDENTIFY, '--no-huge', '-s', '64', '-r', trid], capture_output=True,
                           text=True, timeout=30)
        ok = r.returncode == 1 and expect in r.stderr + r.stdout
        detail = f'exit {r.returncode}'
    except subprocess.TimeoutExpired:
        ok, detail = False, 'hung'
    srv.close()
    t.join(15)
    if ok:
        print(f'ok: {name}: refused cleanly ("{expect}")')
    else:
        FAILS += 1
        print(f'FAIL: {name}: {detail}, "{expect}" not logged', file=sys.stderr)
        if detail != 'hung':
            print(r.stderr[-2000:], file=sys.stderr)


def main():
    run_case('H2CData sent to the host', lambda: struct.pack('<BBBBI', 6, 0, 24, 0, 24) + bytes(16),
             'PDU type a host does not receive')
    run_case('CapsuleResp with a wrong hlen', lambda: resp(0xfffe, hlen=16), 'hlen, pdo or plen wrong')
    run_case('CapsuleResp for no outstanding command', lambda: resp(7), 'which is not outstanding')
    run_case('C2HTermReq', lambda: struct.pack('<BBBBIH', 3, 0, 24, 0, 24, 2) + bytes(14),
             'C2HTermReq FES 2')
    run_case('closed after ICResp', lambda: None, 'closed the connection')
    run_case('no answer to Connect (5 s)', lambda: b'', 'no response to a fabrics command')

    def bad_digest():
        pdu = bytearray(resp(0xfffe))
        pdu[1] = 1  # HDGST
        pdu[7 - 3] = 28  # plen includes the digest
        return bytes(pdu) + struct.pack('<I', crc32c(bytes(pdu[:24])) ^ 1)
    # nvme_identify asks for no digests: a digest-carrying PDU does not fit
    # (digest mismatches themselves: test/unit/nvme/tcp_pdu_ut.c).
    run_case('CapsuleResp with a header digest not negotiated', bad_digest, 'hlen, pdo or plen wrong')
    if FAILS:
        print(f'{FAILS} check(s) failed')
        return 1
    print('all checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
