"""Environment methods: memory usage (reservation and growth, heaps, memzones, mempools)."""
from .helpers import print_json


def env_get_mem_stats(client):
    return client.call('env_get_mem_stats')


def env_dpdk_get_mem_stats(client):
    return client.call('env_dpdk_get_mem_stats')


def add_parsers(subparsers):
    p = subparsers.add_parser('env_get_mem_stats',
                              help='Display memory reserved and grown, heap, memzone and mempool usage')
    p.set_defaults(func=lambda a: print_json(env_get_mem_stats(a.client)))
    p = subparsers.add_parser('env_dpdk_get_mem_stats',
                              help='Write memory statistics to a file and print its name (as SPDK)')
    p.set_defaults(func=lambda a: print_json(env_dpdk_get_mem_stats(a.client)))
