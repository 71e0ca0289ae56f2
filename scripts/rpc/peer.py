"""SPDK methods that tune components Brisk does not have (iobuf, sock, accel,
raid, iSCSI initiator, fsdev, scheduler, CRDT). The target accepts them, with
SPDK's parameter names, and ignores them with a notice, so that SPDK scripts
and saved configs run unchanged; values that would change behaviour are
refused by name. Subcommands and options use SPDK's rpc.py spelling."""
from .helpers import print_json, strip_none


def _call(client, method, **params):
    return client.call(method, strip_none(**params) or None)


def _set(p, method, names):
    """Subcommand sends the parsed options named in names (None = not given)."""
    p.set_defaults(func=lambda a: print_json(_call(a.client, method, **{n: getattr(a, n) for n in names})))


def _bool_pair(p, name, what):
    group = p.add_mutually_exclusive_group()
    flag = name.replace('_', '-')
    group.add_argument(f'--enable-{flag}', dest=name, action='store_true', default=None, help=f'Enable {what}')
    group.add_argument(f'--disable-{flag}', dest=name, action='store_false', help=f'Disable {what}')


def _add_iobuf_sock_accel(subparsers):
    p = subparsers.add_parser('iobuf_set_options', help='SPDK iobuf pool sizes (accepted, ignored by Brisk)')
    p.add_argument('--small-pool-count', type=int, help='number of small buffers in the global pool')
    p.add_argument('--large-pool-count', type=int, help='number of large buffers in the global pool')
    p.add_argument('--small-bufsize', type=int, help='size of a small buffer')
    p.add_argument('--large-bufsize', type=int, help='size of a large buffer')
    p.add_argument('--enable-numa', action='store_true', default=None, help='per-NUMA-node pools')
    _set(p, 'iobuf_set_options', ('small_pool_count', 'large_pool_count', 'small_bufsize', 'large_bufsize',
                                  'enable_numa'))

    p = subparsers.add_parser('sock_impl_set_options', help='SPDK socket implementation options (accepted, '
                              'ignored by Brisk)')
    p.add_argument('-i', '--impl', dest='impl_name', required=True, help='socket implementation (posix, ssl)')
    p.add_argument('-r', '--recv-buf-size', type=int, help='receive buffer size')
    p.add_argument('-s', '--send-buf-size', type=int, help='send buffer size')
    p.add_argument('-p', '--enable-placement-id', type=int, help='placement id mode')
    p.add_argument('--zerocopy-threshold', type=int, help='zero copy threshold in bytes')
    p.add_argument('--tls-version', type=int, help='TLS version')
    for name in ('recv_pipe', 'quickack', 'zerocopy_send_server', 'zerocopy_send_client', 'ktls'):
        _bool_pair(p, name, name.replace('_', ' '))
    names = ('impl_name', 'recv_buf_size', 'send_buf_size', 'enable_placement_id', 'zerocopy_threshold',
             'tls_version')
    p.set_defaults(func=lambda a: print_json(_call(
        a.client, 'sock_impl_set_options', **{n: getattr(a, n) for n in names},
        **{'enable_' + n: getattr(a, n) for n in ('recv_pipe', 'quickack', 'zerocopy_send_server',
                                                  'zerocopy_send_client', 'ktls')})))

    p = subparsers.add_parser('sock_set_default_impl', help='SPDK default socket implementation (only posix)')
    p.add_argument('-i', '--impl', dest='impl_name', required=True, help='socket implementation')
    _set(p, 'sock_set_default_impl', ('impl_name',))

    p = subparsers.add_parser('accel_set_options', help='SPDK accel options (accepted, ignored by Brisk)')
    p.add_argument('-s', '--small-cache-size', type=int, help='small iobuf cache size')
    p.add_argument('-l', '--large-cache-size', type=int, help='large iobuf cache size')
    p.add_argument('-t', '--task-count', type=int, help='number of tasks')
    p.add_argument('-q', '--sequence-count', type=int, help='number of sequences')
    p.add_argument('-b', '--buf-count', type=int, help='number of buffers')
    _set(p, 'accel_set_options', ('small_cache_size', 'large_cache_size', 'task_count', 'sequence_count',
                                  'buf_count'))


def add_parsers(subparsers):
    _add_iobuf_sock_accel(subparsers)
    p = subparsers.add_parser('bdev_raid_set_options', help='SPDK raid module options (accepted, ignored)')
    p.add_argument('-w', '--process-window-size-kb', type=int, help='background process window in KiB')
    p.add_argument('-b', '--process-max-bandwidth-mb-sec', type=int, help='background process bandwidth')
    _set(p, 'bdev_raid_set_options', ('process_window_size_kb', 'process_max_bandwidth_mb_sec'))

    p = subparsers.add_parser('bdev_iscsi_set_options', help='SPDK iSCSI bdev options (accepted, ignored)')
    p.add_argument('-t', '--timeout-sec', type=int, help='timeout for commands, in seconds')
    _set(p, 'bdev_iscsi_set_options', ('timeout_sec',))

    p = subparsers.add_parser('fsdev_set_opts', help='SPDK fsdev options (accepted, ignored)')
    p.add_argument('-p', '--fsdev-io-pool-size', type=int, help='fsdev_io pool size')
    p.add_argument('-c', '--fsdev-io-cache-size', type=int, help='fsdev_io cache size')
    _set(p, 'fsdev_set_opts', ('fsdev_io_pool_size', 'fsdev_io_cache_size'))

    p = subparsers.add_parser('framework_set_scheduler', help='Select the scheduler (only static)')
    p.add_argument('name', help='scheduler name')
    p.add_argument('-p', '--period', type=int, help='scheduler period in microseconds')
    p.add_argument('--load-limit', type=int, help='dynamic scheduler: load limit')
    p.add_argument('--core-limit', type=int, help='dynamic scheduler: core limit')
    p.add_argument('--core-busy', type=int, help='dynamic scheduler: core busy')
    _set(p, 'framework_set_scheduler', ('name', 'period', 'load_limit', 'core_limit', 'core_busy'))

    p = subparsers.add_parser('nvmf_set_crdt', help='NVMe-oF command retry delay times (only 0)')
    p.add_argument('-t1', '--crdt1', type=int, help='command retry delay time 1')
    p.add_argument('-t2', '--crdt2', type=int, help='command retry delay time 2')
    p.add_argument('-t3', '--crdt3', type=int, help='command retry delay time 3')
    _set(p, 'nvmf_set_crdt', ('crdt1', 'crdt2', 'crdt3'))
