"""JSON-RPC 2.0 client for Brisk's Unix socket (standard library only).

    from rpc import client
    c = client.JSONRPCClient('/var/tmp/brisk.sock', timeout=60.0)
    print(c.call('rpc_get_methods', {'current': True}))

call() returns the result or raises JSONRPCException (server error, with
.code and .message) or JSONRPCConnectError (cannot reach the server).
"""
import codecs
import errno
import json
import os
import socket
import time

DEFAULT_SOCKET = '/var/tmp/brisk.sock'


class JSONRPCException(Exception):
    """An error answer from the server, or a broken exchange."""

    def __init__(self, message, code=None, method=None, request=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.method = method
        self.request = request

    def __str__(self):
        if self.code is None:
            return self.message
        where = f'{self.method}: ' if self.method else ''
        return f'{where}{self.message} (code {self.code})'


class JSONRPCConnectError(JSONRPCException):
    """The server's socket could not be reached."""


def _connect_error(addr, err):
    if err.errno == errno.ENOENT:
        why = 'no such file'
    elif err.errno == errno.ECONNREFUSED:
        why = 'connection refused (stale socket?)'
    elif err.errno == errno.EACCES:
        why = 'permission denied'
    else:
        why = os.strerror(err.errno) if err.errno else str(err)
    return JSONRPCConnectError(f'cannot connect to {addr}: {why}; is brisk_tgt running?')


class JSONRPCClient:
    """One connection to the server; requests are answered in order."""

    def __init__(self, addr=DEFAULT_SOCKET, timeout=60.0, conn_retries=0, verbose=False):
        self.addr = addr
        self.timeout = float(timeout)
        self.verbose = verbose
        self._id = 0
        self._buf = ''
        self._decoder = json.JSONDecoder()
        # Incremental: a UTF-8 character may straddle two reads.
        self._utf8 = codecs.getincrementaldecoder('utf-8')(errors='replace')
        self.sock = self._connect(conn_retries)

    def _connect(self, retries):
        for attempt in range(retries + 1):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.addr)
                return sock
            except OSError as err:
                sock.close()
                if attempt == retries:
                    raise _connect_error(self.addr, err) from None
                time.sleep(0.2)
        raise JSONRPCConnectError(f'cannot connect to {self.addr}')

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def next_id(self):
        self._id += 1
        return self._id

    def send(self, request):
        """Sends one request object (or a batch list)."""
        data = json.dumps(request)
        if self.verbose:
            print('request:', json.dumps(request, indent=2), sep='\n')
        self.send_raw(data.encode())

    def send_raw(self, data):
        try:
            self.sock.sendall(data)
        except OSError as err:
            raise JSONRPCException(f'connection to {self.addr} lost while sending: {err}') from None

    def recv(self, timeout=None):
        """Returns the next complete JSON value the server sends."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            text = self._buf.lstrip()
            if text:
                try:
                    value, end = self._decoder.raw_decode(text)
                    self._buf = text[end:]
                    if self.verbose:
                        print('response:', json.dumps(value, indent=2), sep='\n')
                    return value
                except ValueError:
                    pass  # incomplete: read more
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise JSONRPCException(f'timed out after {self.timeout:g} s waiting for a response '
                                       f'from {self.addr}')
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError as err:
                raise JSONRPCException(f'connection to {self.addr} lost: {err}') from None
            if not chunk:
                raise JSONRPCException(f'connection closed by {self.addr} before a response')
            self._buf += self._utf8.decode(chunk)

    def call(self, method, params=None):
        """Calls method and returns its result; raises JSONRPCException."""
        req = {'jsonrpc': '2.0', 'method': method, 'id': self.next_id()}
        if params is not None:
            req['params'] = params
        self.send(req)
        resp = self.recv()
        if not isinstance(resp, dict) or resp.get('id') != req['id']:
            raise JSONRPCException(f'unexpected response: {json.dumps(resp)}', method=method)
        if 'error' in resp:
            err = resp['error']
            raise JSONRPCException(err.get('message', ''), code=err.get('code'), method=method,
                                   request=req)
        return resp.get('result')
