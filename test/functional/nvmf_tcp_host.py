"""A small NVMe/TCP host for the functional tests of lib/nvmf (imported, not
run on its own): ICReq, command capsules with in-capsule data, R2T/H2CData
writes, C2HData reads, header and data digests, and raw PDUs for the
robustness tests. Standard library only; every socket wait is bounded."""
import socket
import struct

PDU_ICREQ, PDU_ICRESP, PDU_H2C_TERM, PDU_C2H_TERM = 0, 1, 2, 3
PDU_CMD, PDU_RESP, PDU_H2C_DATA, PDU_C2H_DATA, PDU_R2T = 4, 5, 6, 7, 9
F_HDGST, F_DDGST, F_LAST, F_SUCCESS = 1, 2, 4, 8


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


class TermReq(Exception):
    """The target ended the connection with a C2HTermReq (fes attribute)."""

    def __init__(self, fes):
        super().__init__(f'C2HTermReq FES {fes}')
        self.fes = fes


def sqe(opc, cid, nsid=0, cdw10=0, cdw11=0, cdw12=0, cdw13=0, cdw14=0, cdw15=0, sgl=b'\0' * 16, flags=0x40):
    """A 64-byte command; flags 0x40 = PSDT 1 (SGL)."""
    return struct.pack('<BBHIQQ16sIIIIII', opc, flags, cid, nsid, 0, 0, sgl, cdw10, cdw11, cdw12, cdw13,
                       cdw14, cdw15)


def sgl_icd(length):
    return struct.pack('<QI3xB', 0, length, 0x01)


def sgl_transport(length):
    return struct.pack('<QI3xB', 0, length, 0x50)


class Cqe:
    def __init__(self, raw):
        self.cdw0, self.cdw1, self.sqhd, self.sqid, self.cid, st = struct.unpack('<IIHHHH', raw)
        self.sc = (st >> 1) & 0xFF
        self.sct = (st >> 9) & 0x7

    @property
    def ok(self):
        return self.sc == 0 and self.sct == 0

    def __repr__(self):
        return f'Cqe(sct={self.sct}, sc={self.sc:#x}, cdw0={self.cdw0:#x})'


class Host:
    def __init__(self, addr, port, hdgst=False, ddgst=False, timeout=10):
        self.sock = socket.create_connection((addr, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.hdgst, self.ddgst = hdgst, ddgst
        self.cid = 0

    def close(self):
        self.sock.close()

    # ---- raw PDUs ----
    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        buf = b''
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError('connection closed by the target')
            buf += chunk
        return buf

    def recv_pdu(self):
        """(type, flags, header, data); raises TermReq on a C2HTermReq."""
        ch = self.recv_exact(8)
        ptype, flags, hlen, pdo, plen = struct.unpack('<BBBBI', ch)
        rest = self.recv_exact(plen - 8)
        hdr = ch + rest[:hlen - 8]
        if ptype == PDU_C2H_TERM:
            raise TermReq(struct.unpack_from('<H', hdr, 8)[0])
        hd = 4 if flags & F_HDGST else 0
        if hd and struct.unpack_from('<I', rest, hlen - 8)[0] != crc32c(hdr):
            raise ValueError('bad header digest from the target')
        data = b''
        if pdo:
            dd = 4 if flags & F_DDGST else 0
            data = rest[pdo - 8:plen - 8 - dd]
            if dd and struct.unpack_from('<I', rest, plen - 8 - 4)[0] != crc32c(data):
                raise ValueError('bad data digest from the target')
        return ptype, flags, hdr, data

    def pdu(self, ptype, hdr_rest, data=b'', flags=0):
        """Builds a PDU with this connection's digests."""
        hlen = 8 + len(hdr_rest)
        hd = 4 if self.hdgst and ptype in (PDU_CMD, PDU_H2C_DATA) else 0
        dd = 4 if self.ddgst and data and ptype in (PDU_CMD, PDU_H2C_DATA) else 0
        flags |= (F_HDGST if hd else 0) | (F_DDGST if dd else 0)
        pdo = hlen + hd if data else 0
        plen = hlen + hd + len(data) + dd
        hdr = struct.pack('<BBBBI', ptype, flags, hlen, pdo, plen) + hdr_rest
        out = hdr + (struct.pack('<I', crc32c(hdr)) if hd else b'') + data
        return out + (struct.pack('<I', crc32c(data)) if dd else b'')

    def icreq(self):
        dgst = (1 if self.hdgst else 0) | (2 if self.ddgst else 0)
        self.send(struct.pack('<BBBBIHBBI112x', PDU_ICREQ, 0, 128, 0, 128, 0, 0, dgst, 0))
        ptype, _, hdr, _ = self.recv_pdu()
        assert ptype == PDU_ICRESP, f'expected ICResp, got type {ptype}'
        return struct.unpack_from('<HBBI', hdr, 8)  # pfv, cpda, dgst, maxh2cdata

    # ---- commands ----
    def next_cid(self):
        self.cid = (self.cid + 1) & 0xFFFF
        return self.cid

    def command(self, cmd, data_out=b'', data_in=0, in_capsule=True):
        """Sends one command; returns (Cqe, data read)."""
        if data_out and in_capsule:
            self.send(self.pdu(PDU_CMD, cmd, data_out))
        else:
            self.send(self.pdu(PDU_CMD, cmd))
        got = b''
        while True:
            ptype, flags, hdr, data = self.recv_pdu()
            if ptype == PDU_R2T:
                cccid, ttag, r2to, r2tl = struct.unpack_from('<HHII', hdr, 8)
                chunk = data_out[r2to:r2to + r2tl]
                rest = struct.pack('<HHII4x', cccid, ttag, r2to, len(chunk))
                self.send(self.pdu(PDU_H2C_DATA, rest, chunk, F_LAST))
            elif ptype == PDU_C2H_DATA:
                datao = struct.unpack_from('<I', hdr, 12)[0]
                got = got[:datao] + data
                if flags & F_SUCCESS:
                    return Cqe(struct.pack('<IIHHHH', 0, 0, 0, 0, struct.unpack_from('<H', cmd, 2)[0], 0)), got
            elif ptype == PDU_RESP:
                return Cqe(hdr[8:24]), got
            else:
                raise ValueError(f'unexpected PDU type {ptype}')

    def commands(self, cmds):
        """Sends [(cmd, data_out, in_capsule)] back to back (fused pairs);
        returns their Cqes in the same order. Answers R2Ts of any of them."""
        for cmd, data_out, icd in cmds:
            self.send(self.pdu(PDU_CMD, cmd, data_out if data_out and icd else b''))
        outs = {struct.unpack_from('<H', cmd, 2)[0]: data_out for cmd, data_out, _ in cmds}
        cqes = {}
        while len(cqes) < len(cmds):
            ptype, flags, hdr, data = self.recv_pdu()
            if ptype == PDU_R2T:
                cccid, ttag, r2to, r2tl = struct.unpack_from('<HHII', hdr, 8)
                chunk = outs[cccid][r2to:r2to + r2tl]
                rest = struct.pack('<HHII4x', cccid, ttag, r2to, len(chunk))
                self.send(self.pdu(PDU_H2C_DATA, rest, chunk, F_LAST))
            elif ptype == PDU_RESP:
                cqe = Cqe(hdr[8:24])
                cqes[cqe.cid] = cqe
            else:
                raise ValueError(f'unexpected PDU type {ptype}')
        return [cqes[struct.unpack_from('<H', cmd, 2)[0]] for cmd, _, _ in cmds]

    def fabric_connect(self, subnqn, hostnqn, qid=0, sqsize=31, cntlid=0xFFFF, kato=0, hostid=bytes(16)):
        data = hostid + struct.pack('<H', cntlid) + bytes(238)
        data += subnqn.encode().ljust(256, b'\0') + hostnqn.encode().ljust(256, b'\0') + bytes(256)
        cmd = struct.pack('<BBHB19x16sHHHBxI12x', 0x7F, 0x40, self.next_cid(), 0x01, sgl_icd(1024), 0, qid,
                          sqsize, 0, kato)
        return self.command(cmd, data)[0]

    def prop_get(self, ofst, size8):
        cmd = struct.pack('<BBHB35xBxxxI16x', 0x7F, 0x40, self.next_cid(), 0x04, 1 if size8 else 0, ofst)
        cqe = self.command(cmd)[0]
        return cqe, cqe.cdw0 | (cqe.cdw1 << 32)

    def prop_set(self, ofst, value):
        cmd = struct.pack('<BBHB35xBxxxIQ8x', 0x7F, 0x40, self.next_cid(), 0x00, 0, ofst, value)
        return self.command(cmd)[0]

    def admin(self, opc, nsid=0, data_in=0, **cdw):
        sgl = sgl_transport(data_in) if data_in else b'\0' * 16
        return self.command(sqe(opc, self.next_cid(), nsid, sgl=sgl, **cdw), data_in=data_in)

    def identify(self, cns, nsid=0):
        return self.admin(0x06, nsid, 4096, cdw10=cns)

    def enable(self):
        """CC.EN = 1 with 64/16-byte queue entries; returns CSTS."""
        self.prop_set(0x14, 1 | (6 << 16) | (4 << 20))
        return self.prop_get(0x1C, False)[1]

    def write(self, nsid, slba, data, bs=512, in_capsule=None):
        if in_capsule is None:
            in_capsule = len(data) <= 4096
        sgl = sgl_icd(len(data)) if in_capsule else sgl_transport(len(data))
        cmd = sqe(0x01, self.next_cid(), nsid, cdw10=slba & 0xFFFFFFFF, cdw11=slba >> 32,
                  cdw12=len(data) // bs - 1, sgl=sgl)
        return self.command(cmd, data, in_capsule=in_capsule)[0]

    def read(self, nsid, slba, nlb, bs=512, opc=0x02):
        cmd = sqe(opc, self.next_cid(), nsid, cdw10=slba & 0xFFFFFFFF, cdw11=slba >> 32, cdw12=nlb - 1,
                  sgl=sgl_transport(nlb * bs))
        return self.command(cmd, data_in=nlb * bs)

    def compare(self, nsid, slba, data, bs=512):
        cmd = sqe(0x05, self.next_cid(), nsid, cdw10=slba, cdw12=len(data) // bs - 1, sgl=sgl_icd(len(data)))
        return self.command(cmd, data)[0]

    def rw_sqe(self, opc, nsid, slba, data, bs=512, fuse=0, in_capsule=True):
        """(cmd, data, in_capsule) for commands(): FUSE in bits 0-1 of flags."""
        sgl = sgl_icd(len(data)) if in_capsule else sgl_transport(len(data))
        cmd = sqe(opc, self.next_cid(), nsid, cdw10=slba & 0xFFFFFFFF, cdw11=slba >> 32,
                  cdw12=len(data) // bs - 1, sgl=sgl, flags=0x40 | fuse)
        return cmd, data, in_capsule

    def compare_and_write(self, nsid, slba, cmp, new, bs=512, icd=(True, True)):
        """Fused Compare (first) + Write (second); returns both Cqes."""
        return self.commands([self.rw_sqe(0x05, nsid, slba, cmp, bs, 1, icd[0]),
                              self.rw_sqe(0x01, nsid, slba, new, bs, 2, icd[1])])


def connect_admin(addr, port, subnqn, hostnqn, hdgst=False, ddgst=False, kato=0, hostid=bytes(16)):
    h = Host(addr, port, hdgst, ddgst)
    h.icreq()
    cqe = h.fabric_connect(subnqn, hostnqn, kato=kato, hostid=hostid)
    return h, cqe


def connect_io(addr, port, subnqn, hostnqn, cntlid, hdgst=False, ddgst=False, qid=1, sqsize=63,
               hostid=bytes(16)):
    h = Host(addr, port, hdgst, ddgst)
    h.icreq()
    cqe = h.fabric_connect(subnqn, hostnqn, qid=qid, sqsize=sqsize, cntlid=cntlid, hostid=hostid)
    return h, cqe
