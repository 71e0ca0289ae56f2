"""A minimal iSCSI initiator for Brisk's functional tests (imported, not run).

Just enough of RFC 7143 to log in (no digests, no CHAP), send SCSI READ(10)
/ WRITE(10) with immediate data and R2T answers, NOP-Out and Logout, and to
send arbitrary PDUs (the random-PDU robustness test). Every socket call has
a timeout so a silent target fails the test instead of hanging it.
"""
import socket
import struct

BHS = 48


def pad4(n):
    return (n + 3) & ~3


def sn_lt(a, b):
    """Serial number arithmetic (RFC 1982, 32 bits): a < b."""
    return a != b and ((a - b) & 0xFFFFFFFF) >= 0x80000000


def text(pairs):
    return b"".join(f"{k}={v}".encode() + b"\0" for k, v in pairs)


class Session:
    def __init__(self, port, target, initiator="iqn.2024-01.io.brisk:test", host="127.0.0.1", timeout=10,
                 isid=b"\x80\x00\x12\x34\x00\x01", tsih=0, cid=0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.target, self.initiator = target, initiator
        self.cmdsn, self.statsn, self.itt = 1, 0, 1
        self.isid, self.tsih, self.cid = isid, tsih, cid

    def send(self, bhs, data=b""):
        bhs = bytearray(bhs)
        bhs[5:8] = len(data).to_bytes(3, "big")
        self.sock.sendall(bytes(bhs) + data + b"\0" * (pad4(len(data)) - len(data)))

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("target closed the connection")
            buf += chunk
        return buf

    def recv(self):
        bhs = self.recv_exact(BHS)
        ahs = bhs[4] * 4
        dsl = int.from_bytes(bhs[5:8], "big")
        self.recv_exact(ahs)
        data = self.recv_exact(pad4(dsl))[:dsl]
        if bhs[0] & 0x3F in (0x21, 0x23, 0x24, 0x26, 0x3F, 0x22, 0x20, 0x32) or (bhs[0] == 0x25 and bhs[1] & 1):
            self.statsn = struct.unpack(">I", bhs[24:28])[0] + 1
        return bhs, data

    def next_itt(self):
        self.itt += 1
        return self.itt

    def login(self, discovery=False):
        keys = [("InitiatorName", self.initiator), ("SessionType", "Discovery" if discovery else "Normal")]
        if not discovery:
            keys.append(("TargetName", self.target))
        keys += [("AuthMethod", "None")]
        bhs = bytearray(BHS)
        bhs[0], bhs[1] = 0x43, 0x80 | (0 << 2) | 1
        bhs[8:14] = self.isid
        struct.pack_into(">H", bhs, 14, self.tsih)
        struct.pack_into(">IHHII", bhs, 16, self.next_itt(), self.cid, 0, self.cmdsn, self.statsn)
        self.send(bhs, text(keys))
        rsp, _ = self.recv()
        if rsp[36] != 0:
            return rsp[36] << 8 | rsp[37]
        ops = [("HeaderDigest", "None"), ("DataDigest", "None"), ("ImmediateData", "Yes"),
               ("InitialR2T", "Yes"), ("MaxRecvDataSegmentLength", "65536"), ("MaxBurstLength", "262144"),
               ("FirstBurstLength", "65536"), ("ErrorRecoveryLevel", "0"), ("MaxConnections", "2")]
        bhs[1] = 0x80 | (1 << 2) | 3
        struct.pack_into(">I", bhs, 16, self.next_itt())
        struct.pack_into(">I", bhs, 28, self.statsn)
        self.send(bhs, text(ops))
        rsp, _ = self.recv()
        self.tsih = struct.unpack(">H", rsp[14:16])[0]
        self.cmdsn = struct.unpack(">I", rsp[28:32])[0]
        return rsp[36] << 8 | rsp[37]

    def scsi(self, cdb, read_len=0, write=b"", lun=0):
        bhs = bytearray(BHS)
        bhs[0], bhs[1] = 0x01, 0x80 | (0x40 if read_len else 0) | (0x20 if write else 0)
        bhs[9] = lun
        itt = self.next_itt()
        struct.pack_into(">IIII", bhs, 16, itt, read_len or len(write), self.cmdsn, self.statsn)
        bhs[32:32 + len(cdb)] = cdb
        self.cmdsn += 1
        imm = write[:8192]  # within FirstBurstLength (both sides offer at least 8192)
        self.send(bhs, imm)
        got = bytearray()
        while True:
            rsp, data = self.recv()
            op = rsp[0] & 0x3F
            if op == 0x31:  # R2T: send the burst asked for
                ttt, off, length = struct.unpack(">I", rsp[20:24])[0], *struct.unpack(">II", rsp[40:48])
                self.data_out(itt, ttt, off, write[off:off + length], lun)
            elif op == 0x25:
                got += data
                if rsp[1] & 1:
                    return rsp[3], bytes(got)
            elif op == 0x21:
                return rsp[3], bytes(got)
            elif op == 0x3F:
                return -1, bytes(got)

    def data_out(self, itt, ttt, off, chunk, lun=0):
        sent = 0
        datasn = 0
        while sent < len(chunk) or not chunk:
            piece = chunk[sent:sent + 65536]
            bhs = bytearray(BHS)
            bhs[0] = 0x05
            bhs[1] = 0x80 if sent + len(piece) >= len(chunk) else 0
            bhs[9] = lun
            struct.pack_into(">II", bhs, 16, itt, ttt)
            struct.pack_into(">I", bhs, 28, self.statsn)
            struct.pack_into(">II", bhs, 36, datasn, off + sent)
            self.send(bhs, piece)
            sent += len(piece)
            datasn += 1
            if not chunk:
                break

    def write10(self, lba, data, bs):
        cdb = struct.pack(">BBIBHB", 0x2A, 0, lba, 0, len(data) // bs, 0)
        return self.scsi(cdb, write=data)[0]

    def read10(self, lba, nblocks, bs):
        cdb = struct.pack(">BBIBHB", 0x28, 0, lba, 0, nblocks, 0)
        return self.scsi(cdb, read_len=nblocks * bs)

    def nop(self):
        bhs = bytearray(BHS)
        bhs[0], bhs[1] = 0x40, 0x80
        struct.pack_into(">IIII", bhs, 16, self.next_itt(), 0xFFFFFFFF, self.cmdsn, self.statsn)
        self.send(bhs, b"ping")
        rsp, data = self.recv()
        return rsp[0] & 0x3F == 0x20 and data == b"ping"

    def logout(self):
        bhs = bytearray(BHS)
        bhs[0], bhs[1] = 0x46, 0x80
        struct.pack_into(">IIII", bhs, 16, self.next_itt(), 0, self.cmdsn, self.statsn)
        self.send(bhs)
        rsp, _ = self.recv()
        self.sock.close()
        return rsp[0] & 0x3F == 0x26 and rsp[2] == 0
