#!/usr/bin/env python3
"""rpc_call.py SOCK METHOD [PARAMS_JSON]: one raw JSON-RPC call to a Brisk
app's Unix socket, for the shell test helpers. Prints the result as sorted,
indented JSON; on an error answer prints "error CODE: MESSAGE" to stderr
and exits 1. The tests use it instead of scripts/rpc.py to send exactly the
params they mean (including ones rpc.py would refuse)."""
import json
import socket
import sys


def call(sock_path, method, params=None):
    req = {"jsonrpc": "2.0", "method": method, "id": 1}
    if params is not None:
        req["params"] = params
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall(json.dumps(req).encode())
    buf, dec = b"", json.JSONDecoder()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection closed before an answer")
        buf += chunk
        try:
            return dec.raw_decode(buf.decode())[0]
        except ValueError:
            continue


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    resp = call(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else None)
    if "error" in resp:
        sys.stderr.write("error %d: %s\n" % (resp["error"]["code"], resp["error"]["message"]))
        sys.exit(1)
    print(json.dumps(resp["result"], indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
