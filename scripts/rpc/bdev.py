"""Block device methods: the bdev layer and the malloc, null, aio, passthru,
error, delay and split modules (SPDK's names and arguments)."""
from .helpers import print_json, strip_none


def _num_blocks(total_size_mb, block_size):
    """SPDK's rpc.py takes sizes in MiB; the methods take a block count. A
    bad block size is passed on as is so that the target names it."""
    if block_size <= 0:
        return 1
    return int(total_size_mb * 1024 * 1024) // block_size


# ---- bdev layer ----

def bdev_get_bdevs(client, name=None, timeout=None):
    return client.call('bdev_get_bdevs', strip_none(name=name, timeout=timeout) or None)


def bdev_get_iostat(client, name=None, per_channel=None):
    return client.call('bdev_get_iostat', strip_none(name=name, per_channel=per_channel) or None)


def bdev_reset_iostat(client, name=None, mode=None):
    return client.call('bdev_reset_iostat', strip_none(name=name, mode=mode) or None)


def bdev_set_options(client, bdev_io_pool_size=None, bdev_io_cache_size=None, bdev_auto_examine=None,
                     small_buf_pool_size=None, large_buf_pool_size=None, iobuf_small_cache_size=None,
                     iobuf_large_cache_size=None):
    return client.call('bdev_set_options', strip_none(
        bdev_io_pool_size=bdev_io_pool_size, bdev_io_cache_size=bdev_io_cache_size,
        bdev_auto_examine=bdev_auto_examine, small_buf_pool_size=small_buf_pool_size,
        large_buf_pool_size=large_buf_pool_size, iobuf_small_cache_size=iobuf_small_cache_size,
        iobuf_large_cache_size=iobuf_large_cache_size))


def bdev_examine(client, name):
    return client.call('bdev_examine', {'name': name})


def bdev_wait_for_examine(client):
    return client.call('bdev_wait_for_examine')


def bdev_set_qos_limit(client, name, rw_ios_per_sec=None, rw_mbytes_per_sec=None, r_mbytes_per_sec=None,
                       w_mbytes_per_sec=None):
    return client.call('bdev_set_qos_limit', strip_none(
        name=name, rw_ios_per_sec=rw_ios_per_sec, rw_mbytes_per_sec=rw_mbytes_per_sec,
        r_mbytes_per_sec=r_mbytes_per_sec, w_mbytes_per_sec=w_mbytes_per_sec))


# ---- modules ----

def bdev_malloc_create(client, num_blocks, block_size, name=None, uuid=None, optimal_io_boundary=None,
                       **spdk_only):
    """spdk_only: SPDK's metadata/DIF options (md_size, md_interleave, dif_type, ...): the target
    accepts their defaults and refuses other values by name."""
    return client.call('bdev_malloc_create', strip_none(
        name=name, num_blocks=num_blocks, block_size=block_size, uuid=uuid,
        optimal_io_boundary=optimal_io_boundary, **spdk_only))


def bdev_malloc_delete(client, name):
    return client.call('bdev_malloc_delete', {'name': name})


def bdev_null_create(client, name, num_blocks, block_size, uuid=None, **spdk_only):
    return client.call('bdev_null_create', strip_none(name=name, num_blocks=num_blocks,
                                                      block_size=block_size, uuid=uuid, **spdk_only))


def bdev_null_delete(client, name):
    return client.call('bdev_null_delete', {'name': name})


def bdev_null_resize(client, name, new_size):
    return client.call('bdev_null_resize', {'name': name, 'new_size': new_size})


def bdev_aio_create(client, filename, name, block_size=None, readonly=None, fallocate=None, uuid=None,
                    nowait=None):
    return client.call('bdev_aio_create', strip_none(filename=filename, name=name, block_size=block_size,
                                                     readonly=readonly, fallocate=fallocate, uuid=uuid,
                                                     nowait=nowait))


def bdev_aio_delete(client, name):
    return client.call('bdev_aio_delete', {'name': name})


def bdev_aio_rescan(client, name):
    return client.call('bdev_aio_rescan', {'name': name})


def bdev_passthru_create(client, base_bdev_name, name, uuid=None):
    return client.call('bdev_passthru_create', strip_none(base_bdev_name=base_bdev_name, name=name,
                                                          uuid=uuid))


def bdev_passthru_delete(client, name):
    return client.call('bdev_passthru_delete', {'name': name})


def bdev_error_create(client, base_name, uuid=None):
    return client.call('bdev_error_create', strip_none(base_name=base_name, uuid=uuid))


def bdev_error_delete(client, name):
    return client.call('bdev_error_delete', {'name': name})


def bdev_error_inject_error(client, name, io_type, error_type, num=None, queue_depth=None,
                            corrupt_offset=None, corrupt_value=None):
    return client.call('bdev_error_inject_error', strip_none(
        name=name, io_type=io_type, error_type=error_type, num=num, queue_depth=queue_depth,
        corrupt_offset=corrupt_offset, corrupt_value=corrupt_value))


def bdev_delay_create(client, base_bdev_name, name, avg_read_latency, p99_read_latency,
                      avg_write_latency, p99_write_latency, uuid=None):
    return client.call('bdev_delay_create', strip_none(
        base_bdev_name=base_bdev_name, name=name, avg_read_latency=avg_read_latency,
        p99_read_latency=p99_read_latency, avg_write_latency=avg_write_latency,
        p99_write_latency=p99_write_latency, uuid=uuid))


def bdev_delay_delete(client, name):
    return client.call('bdev_delay_delete', {'name': name})


def bdev_delay_update_latency(client, delay_bdev_name, latency_type, latency_us):
    return client.call('bdev_delay_update_latency', {'delay_bdev_name': delay_bdev_name,
                                                      'latency_type': latency_type,
                                                      'latency_us': latency_us})


def bdev_split_create(client, base_bdev, split_count, split_size_mb=None):
    return client.call('bdev_split_create', strip_none(base_bdev=base_bdev, split_count=split_count,
                                                       split_size_mb=split_size_mb))


def bdev_split_delete(client, base_bdev):
    return client.call('bdev_split_delete', {'base_bdev': base_bdev})


_DIF_KEYS = ('physical_block_size', 'md_size', 'md_interleave', 'dif_type', 'dif_is_head_of_md',
             'dif_pi_format')


def _add_dif_args(p, interleave):
    """SPDK's metadata/DIF options of malloc and null bdevs. Brisk has no metadata: the
    target accepts SPDK's defaults and refuses other values, naming the option."""
    p.add_argument('-p', '--physical-block-size', type=int,
                   help='Physical block size in bytes (malloc: a power-of-two multiple of block_size; '
                   'null: 0 or block_size)')
    p.add_argument('-m', '--md-size', type=int, help='Metadata size (only 0 is supported)')
    if interleave:
        p.add_argument('-i', '--md-interleave', action='store_true', default=None,
                       help='Interleaved metadata (not supported)')
    p.add_argument('-t', '--dif-type', type=int, help='Protection information type (only 0 is supported)')
    p.add_argument('-d', '--dif-is-head-of-md', action='store_true', default=None,
                   help='Protection information at the head of metadata (not supported)')
    p.add_argument('--dif-pi-format', type=int, help='Protection information format (only 0 is supported)')


def _dif_params(a):
    return {k: getattr(a, k) for k in _DIF_KEYS if getattr(a, k, None) is not None}


def add_parsers(subparsers):
    _add_layer_parsers(subparsers)
    _add_module_parsers(subparsers)


def _add_layer_parsers(subparsers):
    p = subparsers.add_parser('bdev_get_bdevs', help='Display current blockdev list or required blockdev')
    p.add_argument('-b', '--name', help='Name of the blockdev (default: all)')
    # dest differs from the name: rpc.py's own -t (the response timeout) is args.timeout.
    p.add_argument('-t', '--timeout', type=int, dest='wait_ms',
                   help='Time in ms to wait for the bdev to appear (only with -b)')
    p.set_defaults(func=lambda a: print_json(bdev_get_bdevs(a.client, a.name, a.wait_ms)))

    p = subparsers.add_parser('bdev_get_iostat', help='Display current I/O statistics of all the blockdevs '
                              'or the required blockdev')
    p.add_argument('-b', '--name', help='Name of the blockdev (default: all)')
    p.add_argument('-c', '--per-channel', action='store_true', default=None,
                   help='Per-channel statistics (not kept by Brisk: refused by the target)')
    p.set_defaults(func=lambda a: print_json(bdev_get_iostat(a.client, a.name, a.per_channel)))

    p = subparsers.add_parser('bdev_reset_iostat', help='Reset I/O statistics of all the blockdevs or '
                              'the required blockdev')
    p.add_argument('-b', '--name', help='Name of the blockdev (default: all)')
    p.add_argument('-m', '--mode', choices=['all', 'maxmin'],
                   help='all: every statistic (default); maxmin: only the max/min latencies')
    p.set_defaults(func=lambda a: print_json(bdev_reset_iostat(a.client, a.name, a.mode)))

    p = subparsers.add_parser('bdev_set_options', help='Set options of the bdev layer (before '
                              'framework_start_init)')
    p.add_argument('-p', '--bdev-io-pool-size', type=int, help='Number of bdev_io structures in the pool')
    p.add_argument('-c', '--bdev-io-cache-size', type=int,
                   help='Maximum number of bdev_io structures cached per thread')
    p.add_argument('-s', '--small-buf-pool-size', type=int, help='Number of small I/O buffers')
    p.add_argument('-l', '--large-buf-pool-size', type=int, help='Number of large I/O buffers')
    p.add_argument('--iobuf-small-cache-size', type=int, help='SPDK iobuf cache size (accepted, ignored)')
    p.add_argument('--iobuf-large-cache-size', type=int, help='SPDK iobuf cache size (accepted, ignored)')
    group = p.add_mutually_exclusive_group()
    group.add_argument('-e', '--enable-auto-examine', dest='bdev_auto_examine', action='store_true',
                       default=None, help='Examine every new bdev (the default)')
    group.add_argument('-d', '--disable-auto-examine', dest='bdev_auto_examine', action='store_false',
                       help='Examine only the bdevs named by bdev_examine')
    p.set_defaults(func=lambda a: print_json(bdev_set_options(
        a.client, a.bdev_io_pool_size, a.bdev_io_cache_size, a.bdev_auto_examine, a.small_buf_pool_size,
        a.large_buf_pool_size, a.iobuf_small_cache_size, a.iobuf_large_cache_size)))

    p = subparsers.add_parser('bdev_examine', help='Examine a bdev (with auto examine disabled)')
    p.add_argument('-b', '--name', required=True, help='Name of the bdev')
    p.set_defaults(func=lambda a: print_json(bdev_examine(a.client, a.name)))

    p = subparsers.add_parser('bdev_wait_for_examine', help='Wait until every bdev has been examined')
    p.set_defaults(func=lambda a: print_json(bdev_wait_for_examine(a.client)))

    p = subparsers.add_parser('bdev_set_qos_limit', help='Set QoS rate limits on a blockdev (0 = no limit)')
    p.add_argument('name', help='Blockdev name to set QoS. Example: Malloc0')
    # SPDK spells these with hyphens (current) and underscores (older): both work.
    p.add_argument('--rw-ios-per-sec', '--rw_ios_per_sec', dest='rw_ios_per_sec', type=int,
                   help='R/W IOs per second limit (>=1000, multiple of 1000)')
    p.add_argument('--rw-mbytes-per-sec', '--rw_mbytes_per_sec', dest='rw_mbytes_per_sec', type=int,
                   help='R/W megabytes per second limit')
    p.add_argument('--r-mbytes-per-sec', '--r_mbytes_per_sec', dest='r_mbytes_per_sec', type=int,
                   help='Read megabytes per second limit')
    p.add_argument('--w-mbytes-per-sec', '--w_mbytes_per_sec', dest='w_mbytes_per_sec', type=int,
                   help='Write megabytes per second limit')
    p.set_defaults(func=lambda a: print_json(bdev_set_qos_limit(
        a.client, a.name, a.rw_ios_per_sec, a.rw_mbytes_per_sec, a.r_mbytes_per_sec, a.w_mbytes_per_sec)))


def _add_module_parsers(subparsers):
    p = subparsers.add_parser('bdev_malloc_create', help='Create a bdev with malloc backend')
    p.add_argument('total_size', type=float, help='Size of malloc bdev in MB (float > 0)')
    p.add_argument('block_size', type=int, help='Block size for this bdev (512, 4096 or a multiple of 512)')
    p.add_argument('-b', '--name', help='Name of the bdev (default: MallocN)')
    p.add_argument('-u', '--uuid', help='UUID of the bdev')
    p.add_argument('-o', '--optimal-io-boundary', type=int, help='Split on optimal IO boundary, in blocks')
    _add_dif_args(p, interleave=True)
    p.set_defaults(func=lambda a: print_json(bdev_malloc_create(
        a.client, _num_blocks(a.total_size, a.block_size), a.block_size, a.name, a.uuid,
        a.optimal_io_boundary, **_dif_params(a))))

    p = subparsers.add_parser('bdev_malloc_delete', help='Delete a malloc disk')
    p.add_argument('name', help='malloc bdev name')
    p.set_defaults(func=lambda a: print_json(bdev_malloc_delete(a.client, a.name)))

    p = subparsers.add_parser('bdev_null_create', help='Add a bdev with null backend')
    p.add_argument('name', help='Block device name')
    p.add_argument('total_size', type=float, help='Size of null bdev in MB (float > 0)')
    p.add_argument('block_size', type=int, help='Block size for this bdev (a multiple of 512)')
    p.add_argument('-u', '--uuid', help='UUID of the bdev')
    _add_dif_args(p, interleave=False)
    p.set_defaults(func=lambda a: print_json(bdev_null_create(
        a.client, a.name, _num_blocks(a.total_size, a.block_size), a.block_size, a.uuid, **_dif_params(a))))

    p = subparsers.add_parser('bdev_null_delete', help='Delete a null bdev')
    p.add_argument('name', help='null bdev name')
    p.set_defaults(func=lambda a: print_json(bdev_null_delete(a.client, a.name)))

    p = subparsers.add_parser('bdev_null_resize', help='Resize a null bdev')
    p.add_argument('name', help='null bdev name')
    p.add_argument('new_size', type=int, help='new bdev size for resize operation, in MiB')
    p.set_defaults(func=lambda a: print_json(bdev_null_resize(a.client, a.name, a.new_size)))

    p = subparsers.add_parser('bdev_aio_create', help='Add a bdev with aio backend')
    p.add_argument('filename', help='Path to device or file (ex: /dev/sda)')
    p.add_argument('name', help='Block device name')
    p.add_argument('block_size', type=int, nargs='?', help='Block size for this bdev (default: detected)')
    p.add_argument('-r', '--readonly', action='store_true', default=None, help='Set this bdev as read-only')
    p.add_argument('--fallocate', action='store_true', default=None,
                   help='Support unmap/write zeroes by fallocate')
    p.add_argument('-u', '--uuid', help='UUID of the bdev')
    p.add_argument('--nowait', action='store_true', default=None,
                   help='SPDK: submit with RWF_NOWAIT (not supported by Brisk: refused by the target)')
    p.set_defaults(func=lambda a: print_json(bdev_aio_create(
        a.client, a.filename, a.name, a.block_size, a.readonly, a.fallocate, a.uuid, a.nowait)))

    p = subparsers.add_parser('bdev_aio_delete', help='Delete an aio disk')
    p.add_argument('name', help='aio bdev name')
    p.set_defaults(func=lambda a: print_json(bdev_aio_delete(a.client, a.name)))

    p = subparsers.add_parser('bdev_aio_rescan', help='Rescan the size of an aio bdev')
    p.add_argument('name', help='aio bdev name')
    p.set_defaults(func=lambda a: print_json(bdev_aio_rescan(a.client, a.name)))

    p = subparsers.add_parser('bdev_passthru_create', help='Add a pass through bdev on existing bdev')
    p.add_argument('-b', '--base-bdev-name', required=True, help='Name of the existing bdev')
    p.add_argument('-p', '--name', required=True, help='Name of the pass through bdev')
    p.add_argument('-u', '--uuid', help='UUID of the bdev')
    p.set_defaults(func=lambda a: print_json(bdev_passthru_create(a.client, a.base_bdev_name, a.name,
                                                                  a.uuid)))

    p = subparsers.add_parser('bdev_passthru_delete', help='Delete a pass through bdev')
    p.add_argument('name', help='pass through bdev name')
    p.set_defaults(func=lambda a: print_json(bdev_passthru_delete(a.client, a.name)))

    p = subparsers.add_parser('bdev_error_create', help='Add bdev with error injection backend')
    p.add_argument('base_name', help='base bdev name')
    p.add_argument('-u', '--uuid', help='UUID of the bdev')
    p.set_defaults(func=lambda a: print_json(bdev_error_create(a.client, a.base_name, a.uuid)))

    p = subparsers.add_parser('bdev_error_delete', help='Delete an error bdev')
    p.add_argument('name', help='error bdev name')
    p.set_defaults(func=lambda a: print_json(bdev_error_delete(a.client, a.name)))

    p = subparsers.add_parser('bdev_error_inject_error', help='bdev inject error')
    p.add_argument('name', help='The name of the error injection bdev')
    p.add_argument('io_type', help='io_type: read, write, unmap, flush, write_zeroes, compare, all or clear')
    p.add_argument('error_type', help='error_type: failure, pending, corrupt_data or nomem')
    p.add_argument('-n', '--num', type=int, default=1, help='the number of commands to fail (default 1)')
    p.add_argument('-q', '--queue-depth', type=int, help='the queue depth at which to trigger the error')
    p.add_argument('-o', '--corrupt-offset', type=int, help='byte offset to corrupt (corrupt_data)')
    p.add_argument('-v', '--corrupt-value', type=int, help='value to XOR into the byte (corrupt_data, 1..255)')
    p.set_defaults(func=lambda a: print_json(bdev_error_inject_error(
        a.client, a.name, a.io_type, a.error_type, a.num, a.queue_depth, a.corrupt_offset, a.corrupt_value)))

    p = subparsers.add_parser('bdev_delay_create', help='Add a delay bdev on existing bdev')
    p.add_argument('-b', '--base-bdev-name', required=True, help='Name of the existing bdev')
    p.add_argument('-d', '--name', required=True, help='Name of the delay bdev')
    p.add_argument('-r', '--avg-read-latency', type=int, required=True,
                   help='complete reads after this many microseconds on average')
    p.add_argument('-t', '--nine-nine-read-latency', type=int, required=True,
                   help='complete 1%% of reads after this many microseconds')
    p.add_argument('-w', '--avg-write-latency', type=int, required=True,
                   help='complete writes after this many microseconds on average')
    p.add_argument('-n', '--nine-nine-write-latency', type=int, required=True,
                   help='complete 1%% of writes after this many microseconds')
    p.add_argument('-u', '--uuid', help='UUID of the bdev')
    p.set_defaults(func=lambda a: print_json(bdev_delay_create(
        a.client, a.base_bdev_name, a.name, a.avg_read_latency, a.nine_nine_read_latency,
        a.avg_write_latency, a.nine_nine_write_latency, a.uuid)))

    p = subparsers.add_parser('bdev_delay_delete', help='Delete a delay bdev')
    p.add_argument('name', help='delay bdev name')
    p.set_defaults(func=lambda a: print_json(bdev_delay_delete(a.client, a.name)))

    p = subparsers.add_parser('bdev_delay_update_latency', help='Update one of the latency values of a '
                              'delay bdev')
    p.add_argument('delay_bdev_name', help='The name of the given delay bdev')
    p.add_argument('latency_type', help='one of: avg_read, avg_write, p99_read, p99_write')
    p.add_argument('latency_us', type=int, help='new latency value in microseconds')
    p.set_defaults(func=lambda a: print_json(bdev_delay_update_latency(
        a.client, a.delay_bdev_name, a.latency_type, a.latency_us)))

    p = subparsers.add_parser('bdev_split_create', help='Add given disk name to split config. If bdev '
                              'with base_name name exist the split bdevs will be created right away, '
                              'if not split bdevs will be created when base bdev became available')
    p.add_argument('base_bdev', help='base bdev name')
    p.add_argument('split_count', type=int, help='number of splits')
    p.add_argument('-s', '--split-size-mb', type=int,
                   help='size in MiB to restrict size of split parts (default: the whole base)')
    p.set_defaults(func=lambda a: print_json(bdev_split_create(
        a.client, a.base_bdev, a.split_count, a.split_size_mb)))

    p = subparsers.add_parser('bdev_split_delete', help='Delete split config with all created splits')
    p.add_argument('base_bdev', help='base bdev name')
    p.set_defaults(func=lambda a: print_json(bdev_split_delete(a.client, a.base_bdev)))
