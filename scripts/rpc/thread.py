"""Thread methods: per-thread statistics, pollers and io_channels."""
from .helpers import print_json


def thread_get_stats(client):
    return client.call('thread_get_stats')


def thread_get_pollers(client):
    return client.call('thread_get_pollers')


def thread_get_io_channels(client):
    return client.call('thread_get_io_channels')


def add_parsers(subparsers):
    p = subparsers.add_parser('thread_get_stats', help='Display current statistics of all the threads')
    p.set_defaults(func=lambda a: print_json(thread_get_stats(a.client)))

    p = subparsers.add_parser('thread_get_pollers', help='Display the pollers of all the threads')
    p.set_defaults(func=lambda a: print_json(thread_get_pollers(a.client)))

    p = subparsers.add_parser('thread_get_io_channels', help='Display the io_channels of all the threads')
    p.set_defaults(func=lambda a: print_json(thread_get_io_channels(a.client)))
