#!/usr/bin/env python3
"""Command-line client for Brisk's JSON-RPC server (SPDK rpc.py spelling).

    scripts/rpc.py [-s SOCK] [-t TIMEOUT] [-r RETRIES] [-v] [--trust] METHOD [args]

With no METHOD and stdin not a terminal, reads one command per line from
stdin (e.g. "log_set_flag rpc") and runs them in order over one connection,
stopping at the first failure. Exit status: 0 on success, 1 when the server
answers with an error or cannot be reached, 2 for bad usage.
"""
import argparse
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import rpc  # noqa: E402  (the package next to this file)
from rpc.client import DEFAULT_SOCKET, JSONRPCClient, JSONRPCException  # noqa: E402


class UsageError(Exception):
    """A command line (from argv or a stdin line) that does not parse."""


class Parser(argparse.ArgumentParser):
    """Raises instead of exiting, so one bad stdin line is reported as such."""

    def error(self, message):
        raise UsageError(f'{self.prog}: error: {message}')


def build_parser():
    parser = Parser(description='Brisk JSON-RPC client', prog='rpc.py')
    parser.add_argument('-s', '--server', dest='server_addr', default=DEFAULT_SOCKET,
                        help=f'RPC Unix socket path (default {DEFAULT_SOCKET})')
    parser.add_argument('-t', '--timeout', type=float, default=60.0,
                        help='seconds to wait for each response (default 60)')
    parser.add_argument('-r', '--conn-retries', type=int, default=0,
                        help='retry connecting this many times, 0.2 s apart (default 0)')
    parser.add_argument('-v', '--verbose', action='store_true',
                        help='print each request and response')
    parser.add_argument('--trust', action='store_true',
                        help='talk to a socket owned by another non-root user (refused by '
                             'default: it may be an impostor)')
    subparsers = parser.add_subparsers(dest='called_rpc_name', metavar='METHOD',
                                       parser_class=Parser)
    for module in rpc.MODULES:
        module.add_parsers(subparsers)
    return parser


def run_one(args, client):
    """Runs one parsed command; returns the exit status."""
    args.client = client
    try:
        args.func(args)
    except JSONRPCException as err:
        print(f'error: {err}', file=sys.stderr)
        if args.verbose and err.request is not None:
            print(f'request: {err.request}', file=sys.stderr)
        return 1
    return 0


def run_stdin(parser, args, client):
    """Runs the commands read from stdin, one per line."""
    for lineno, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        try:
            words = shlex.split(line)
            cmd = parser.parse_args(words, namespace=argparse.Namespace(**vars(args)))
        except (UsageError, ValueError) as err:
            print(f'stdin line {lineno}: {err}', file=sys.stderr)
            return 2
        if getattr(cmd, 'func', None) is None:
            print(f'stdin line {lineno}: no method given', file=sys.stderr)
            return 2
        if cmd.called_rpc_name == 'load_config' and not cmd.json_conf:
            print(f'stdin line {lineno}: load_config needs -j FILE when commands come from stdin',
                  file=sys.stderr)
            return 2
        rc = run_one(cmd, client)
        if rc != 0:
            print(f'stdin line {lineno} failed: {line}', file=sys.stderr)
            return rc
    return 0


def main(argv):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        parser.print_usage(sys.stderr)
        print(err, file=sys.stderr)
        return 2
    from_stdin = args.called_rpc_name is None
    if from_stdin and sys.stdin.isatty():
        parser.print_help(sys.stderr)
        return 2
    try:
        client = JSONRPCClient(args.server_addr, args.timeout, args.conn_retries, args.verbose,
                               trust=args.trust)
    except JSONRPCException as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    with client:
        if from_stdin:
            return run_stdin(parser, args, client)
        return run_one(args, client)


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
