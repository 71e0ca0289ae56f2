"""Environment methods: memory usage (heaps, memzones, mempools)."""
from .helpers import print_json


def env_get_mem_stats(client):
    return client.call('env_get_mem_stats')


def add_parsers(subparsers):
    p = subparsers.add_parser('env_get_mem_stats',
                              help='Display heap, memzone and mempool usage')
    p.set_defaults(func=lambda a: print_json(env_get_mem_stats(a.client)))
