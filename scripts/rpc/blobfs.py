"""Blobfs methods (SPDK's names and arguments): detect, create, cache size."""
from .helpers import print_json, strip_none


def blobfs_detect(client, bdev_name):
    """True when the bdev holds a blobfs."""
    return client.call('blobfs_detect', {'bdev_name': bdev_name})


def blobfs_create(client, bdev_name, cluster_sz=None):
    """Writes a new, empty blobfs on the bdev."""
    return client.call('blobfs_create', strip_none(bdev_name=bdev_name, cluster_sz=cluster_sz))


def blobfs_set_cache_size(client, size_in_mb):
    """Cache size of the file systems loaded from now on."""
    return client.call('blobfs_set_cache_size', {'size_in_mb': size_in_mb})


def add_parsers(subparsers):
    p = subparsers.add_parser('blobfs_detect', help='Detect whether a blobfs exists on bdev')
    p.add_argument('bdev_name', help='block device name to detect blobfs on, e.g. Malloc0')
    p.set_defaults(func=lambda a: print_json(blobfs_detect(a.client, a.bdev_name)))

    p = subparsers.add_parser('blobfs_create', help='Build a blobfs on bdev')
    p.add_argument('bdev_name', help='block device name to build blobfs on, e.g. Malloc0')
    p.add_argument('-c', '--cluster-sz', type=int,
                   help='cluster size in bytes: a multiple of 4096, at least 1 MiB (the default)')
    p.set_defaults(func=lambda a: print_json(blobfs_create(a.client, a.bdev_name, a.cluster_sz)))

    p = subparsers.add_parser('blobfs_set_cache_size', help='Set cache size for blobfs')
    p.add_argument('size_in_mb', type=int, help='cache size in MiB')
    p.set_defaults(func=lambda a: print_json(blobfs_set_cache_size(a.client, a.size_in_mb)))
