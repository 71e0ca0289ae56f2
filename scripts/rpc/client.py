"""JSON-RPC 2.0 client for Brisk's Unix socket (standard library only).

    from rpc import client
    c = client.JSONRPCClient(client.default_socket(), timeout=60.0)
    print(c.call('rpc_get_methods', {'current': True}))

call() returns the result or raises JSONRPCException (server error, with
.code and .message) or JSONRPCConnectError (cannot reach the server).

Before connecting, the client checks who owns the socket: one owned by
another user that is not root may be an impostor listening in the target's
place, and is refused unless trust=True (rpc.py --trust).
"""
import codecs
import errno
import json
import os
import socket
import time

ROOT_RUNTIME_DIR = '/var/run/brisk'


def default_socket():
    """The target's default socket for this user (lib/rpc/rpc_socket.c):
    root's under /var/run/brisk, others' under $XDG_RUNTIME_DIR or
    /tmp/brisk-<uid>."""
    if os.geteuid() == 0:
        return os.path.join(ROOT_RUNTIME_DIR, 'brisk.sock')
    xdg = os.environ.get('XDG_RUNTIME_DIR', '')
    if xdg.startswith('/') and len(xdg) + len('/brisk.sock') < 108:
        return os.path.join(xdg, 'brisk.sock')
    return f'/tmp/brisk-{os.geteuid()}/brisk.sock'


DEFAULT_SOCKET = default_socket()


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


def check_socket_owner(addr):
    """Raises JSONRPCConnectError if the socket at addr belongs to a user
    other than root and this one (nothing to check if it does not exist)."""
    try:
        st = os.lstat(addr)
    except OSError:
        return
    if st.st_uid not in (0, os.geteuid()):
        raise JSONRPCConnectError(
            f'refusing to talk to {addr}: it is owned by uid {st.st_uid}, neither root nor you '
            f'(uid {os.geteuid()}); it may not be the target (use --trust to connect anyway)')


class JSONRPCClient:
    """One connection to the server; requests are answered in order."""

    def __init__(self, addr=DEFAULT_SOCKET, timeout=60.0, conn_retries=0, verbose=False,
                 trust=False):
        if not trust:
            check_socket_owner(addr)
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
            # A server that refuses a client answers why, then closes:
            # report its answer rather than the broken pipe.
            refusal = self._pending_error()
            if refusal is not None:
                raise refusal from None
            raise JSONRPCException(f'connection to {self.addr} lost while sending: {err}') from None

    def _pending_error(self):
        """The error answer already waiting on a closed connection, if any."""
        try:
            self.sock.settimeout(0.5)
            data = self.sock.recv(1 << 16)
            value = json.loads(data) if data.strip() else None
        except (OSError, ValueError):
            return None
        if isinstance(value, dict) and isinstance(value.get('error'), dict):
            err = value['error']
            return JSONRPCException(err.get('message', ''), code=err.get('code'))
        return None

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
        if isinstance(resp, dict) and resp.get('id') is None and 'error' in resp:
            # The server closes the connection with this (timeout, limit).
            err = resp['error']
            raise JSONRPCException(err.get('message', ''), code=err.get('code'), method=method,
                                   request=req)
        if not isinstance(resp, dict) or resp.get('id') != req['id']:
            raise JSONRPCException(f'unexpected response: {json.dumps(resp)}', method=method)
        if 'error' in resp:
            err = resp['error']
            raise JSONRPCException(err.get('message', ''), code=err.get('code'), method=method,
                                   request=req)
        return resp.get('result')
