#!/usr/bin/python3
"""QMP client of the QEMU NVMe test harness (standard library only).

  qmp.py cmd SOCK JSON              send one command, print QEMU's answer
  qmp.py watch SOCK LOG DEVICES     follow the guest's serial LOG and carry out
                                    each "BRISK-QEMU-QMP: REQUEST" line it prints

A REQUEST is raw QMP JSON, or a shorthand: "device_del ID" removes a device,
"device_add ID" adds it back with the arguments run_guest.sh recorded in the
DEVICES JSON file ({id: {device_add arguments}}). Answers and events go to
stdout, which run_guest.sh keeps beside the serial log.
"""
import json
import socket
import sys
import time

MARK = "BRISK-QEMU-QMP: "


class Qmp:
    def __init__(self, path, wait_s=20.0):
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.buf = b""
        self.pending_del = set()  # device_del sent, DEVICE_DELETED not seen
        self.recv()  # greeting
        self.execute({"execute": "qmp_capabilities"})

    def recv(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("QMP socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, cmd):
        self.sock.sendall(json.dumps(cmd).encode() + b"\n")
        while True:
            msg = self.recv()
            if "event" in msg:
                self.note_event(msg)
                continue
            return msg

    def note_event(self, msg):
        print("event:", json.dumps(msg), flush=True)
        if msg["event"] == "DEVICE_DELETED":
            self.pending_del.discard(msg.get("data", {}).get("device"))

    def wait_deleted(self, dev, wait_s=20.0):
        """QEMU finishes a device_del after the guest lets go; adding the
        device back before DEVICE_DELETED finds its drive still in use."""
        deadline = time.monotonic() + wait_s
        self.sock.settimeout(0.1)
        try:
            while dev in self.pending_del and time.monotonic() < deadline:
                try:
                    self.note_event(self.recv())
                except socket.timeout:
                    pass
        finally:
            self.sock.settimeout(None)


def request_to_cmd(req, devices):
    req = req.strip()
    if req.startswith("{"):
        return json.loads(req)
    verb, _, dev = req.partition(" ")
    if verb == "device_del":
        return {"execute": "device_del", "arguments": {"id": dev}}
    if verb == "device_add" and dev in devices:
        return {"execute": "device_add", "arguments": devices[dev]}
    raise ValueError("unknown request %r" % req)


def watch(sock_path, log_path, devices_path):
    with open(devices_path) as f:
        devices = json.load(f)
    qmp = Qmp(sock_path)
    with open(log_path, "rb") as log:
        partial = b""
        while True:
            data = log.readline()
            if not data:
                time.sleep(0.02)
                continue
            partial += data
            if not partial.endswith(b"\n"):
                continue
            line, partial = partial.decode(errors="replace"), b""
            if MARK not in line:
                continue
            req = line.split(MARK, 1)[1]
            try:
                cmd = request_to_cmd(req, devices)
            except ValueError as e:
                print("error:", e, flush=True)
                continue
            dev = cmd.get("arguments", {}).get("id")
            if cmd["execute"] == "device_add":
                qmp.wait_deleted(dev)
            elif cmd["execute"] == "device_del":
                qmp.pending_del.add(dev)  # before: the event may beat the answer
            print("request:", json.dumps(cmd), flush=True)
            answer = qmp.execute(cmd)
            print("answer:", json.dumps(answer), flush=True)
            if "error" in answer:
                qmp.pending_del.discard(dev)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "cmd":
        print(json.dumps(Qmp(sys.argv[2]).execute(json.loads(sys.argv[3]))))
    elif len(sys.argv) == 5 and sys.argv[1] == "watch":
        try:
            watch(*sys.argv[2:5])
        except (EOFError, ConnectionError):
            pass  # QEMU exited
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
