#!/usr/bin/env python3
"""SPDK client compatibility: the JSON objects SPDK's rpc.py sends, per release.

SPDK's rpc.py up to v23.x sends only the options a user gives; from v24.x the
client sends every option it knows that is not None, so every store_true flag
arrives as false (md_interleave, nowait, per_channel, no_srq ...). This test
is a pinned copy of that client side: for each method Brisk implements it sends
the parameter objects of the old and of the current client (written from SPDK's
jsonrpc.md and rpc.py, release by release), directly over the socket, and checks
success and the answer's fields. Then:
  - a parameter Brisk does not implement, set away from SPDK's default, is
    refused with an error naming it and "not supported", and changes nothing;
  - a truly unknown parameter still fails;
  - scripts/rpc.py takes SPDK's spelling of options (--rw-ios-per-sec, -p,
    -m, -t, -i, -c ...), and refuses unsupported values by name.
SPDK-saved configs are tested by spdk_compat_config.py.
Bounded to 120 s; the target is killed in every case.
"""
import os
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgt_harness import FAILS, TGT, Target, check, rpc_cli  # noqa: E402
from rpc.client import JSONRPCClient, JSONRPCException  # noqa: E402

# (label, method, params) in an order that works on a fresh target.
# "old": v22.09..v23.09 clients (given options only); "new": v24.01..today.
CALLS = [
    ('old', 'bdev_malloc_create', {'num_blocks': 16384, 'block_size': 512, 'name': 'Malloc0'}),
    ('new', 'bdev_malloc_create', {'num_blocks': 16384, 'block_size': 512, 'name': 'Malloc1',
                                   'physical_block_size': 512, 'optimal_io_boundary': 0, 'md_size': 0,
                                   'md_interleave': False, 'dif_type': 0, 'dif_is_head_of_md': False,
                                   'dif_pi_format': 0}),
    ('new', 'bdev_malloc_create', {'num_blocks': 2048, 'block_size': 4096, 'name': 'Malloc4k',
                                   'md_interleave': False, 'dif_is_head_of_md': False}),
    ('old', 'bdev_null_create', {'name': 'Null0', 'num_blocks': 2048, 'block_size': 512}),
    ('new', 'bdev_null_create', {'name': 'Null1', 'num_blocks': 2048, 'block_size': 512,
                                 'physical_block_size': 512, 'md_size': 0, 'md_interleave': False,
                                 'dif_type': 0, 'dif_is_head_of_md': False, 'dif_pi_format': 0}),
    ('old', 'bdev_null_resize', {'name': 'Null1', 'new_size': 2}),
    ('old', 'bdev_aio_create', {'name': 'Aio0', 'filename': '@AIO0@', 'block_size': 512}),
    ('new', 'bdev_aio_create', {'name': 'Aio1', 'filename': '@AIO1@', 'block_size': 4096, 'readonly': False,
                                'fallocate': False, 'nowait': False}),
    ('old', 'bdev_aio_rescan', {'name': 'Aio0'}),
    ('old', 'bdev_passthru_create', {'base_bdev_name': 'Malloc0', 'name': 'Pt0'}),
    ('old', 'bdev_delay_create', {'base_bdev_name': 'Null0', 'name': 'Delay0', 'avg_read_latency': 10,
                                  'p99_read_latency': 20, 'avg_write_latency': 10,
                                  'p99_write_latency': 20}),
    ('old', 'bdev_delay_update_latency', {'delay_bdev_name': 'Delay0', 'latency_type': 'avg_read',
                                          'latency_us': 5}),
    ('old', 'bdev_error_create', {'base_name': 'Malloc4k'}),
    ('old', 'bdev_error_inject_error', {'name': 'EE_Malloc4k', 'io_type': 'write', 'error_type': 'failure',
                                        'num': 1}),
    ('old', 'bdev_split_create', {'base_bdev': 'Aio1', 'split_count': 2}),
    ('old', 'bdev_set_qos_limit', {'name': 'Malloc1', 'rw_ios_per_sec': 20000}),
    ('old', 'bdev_get_bdevs', {}),
    ('new', 'bdev_get_bdevs', {'name': 'Malloc0', 'timeout': 0}),
    ('old', 'bdev_get_iostat', {}),
    ('new', 'bdev_get_iostat', {'name': 'Malloc0', 'per_channel': False}),
    ('new', 'bdev_reset_iostat', {'name': 'Malloc0', 'mode': 'all'}),
    ('old', 'bdev_wait_for_examine', None),
    ('old', 'bdev_lvol_create_lvstore', {'bdev_name': 'Aio0', 'lvs_name': 'lvs0'}),
    ('new', 'bdev_lvol_create_lvstore', {'bdev_name': 'Malloc1', 'lvs_name': 'lvs1', 'cluster_sz': 1048576,
                                         'clear_method': 'unmap', 'num_md_pages_per_cluster_ratio': 100,
                                         'md_page_size': 4096}),
    ('old', 'bdev_lvol_create', {'lvol_name': 'lv0', 'size_in_mib': 4, 'lvs_name': 'lvs0'}),
    ('new', 'bdev_lvol_create', {'lvol_name': 'lv1', 'size_in_mib': 4, 'lvs_name': 'lvs0',
                                 'thin_provision': False, 'clear_method': 'none'}),
    ('old', 'bdev_lvol_snapshot', {'lvol_name': 'lvs0/lv0', 'snapshot_name': 'snap0'}),
    ('old', 'bdev_lvol_clone', {'snapshot_name': 'lvs0/snap0', 'clone_name': 'clone0'}),
    ('old', 'bdev_lvol_resize', {'name': 'lvs0/lv1', 'size_in_mib': 8}),
    ('old', 'bdev_lvol_rename', {'old_name': 'lvs0/lv1', 'new_name': 'lv1b'}),
    ('old', 'bdev_lvol_inflate', {'name': 'lvs0/clone0'}),
    ('old', 'bdev_lvol_set_read_only', {'name': 'lvs0/lv1b'}),
    ('new', 'bdev_lvol_get_lvstores', {'lvs_name': 'lvs0'}),
    ('new', 'bdev_lvol_get_lvols', {'lvs_name': 'lvs0'}),
    ('old', 'bdev_lvol_rename_lvstore', {'old_name': 'lvs1', 'new_name': 'lvs1b'}),
    ('old', 'bdev_lvol_delete_lvstore', {'lvs_name': 'lvs1b'}),
    ('new', 'nvmf_create_transport', {'trtype': 'TCP', 'max_queue_depth': 128, 'in_capsule_data_size': 4096,
                                      'max_io_size': 131072, 'io_unit_size': 131072, 'zcopy': False,
                                      'c2h_success': True, 'dif_insert_or_strip': False, 'no_srq': False,
                                      'no_wr_batching': False, 'disable_mappable_bar0': False,
                                      'disable_adaptive_irq': False, 'disable_shadow_doorbells': False,
                                      'disable_command_passthru': False, 'control_msg_num': 32,
                                      'ack_timeout': 0, 'data_wr_pool_size': 0}),
    ('new', 'nvmf_create_subsystem', {'nqn': 'nqn.2016-06.io.spdk:cnode1', 'serial_number': 'SPDK001',
                                      'model_number': 'SPDK bdev Controller', 'allow_any_host': True,
                                      'ana_reporting': False, 'max_discard_size_kib': 0,
                                      'max_write_zeroes_size_kib': 0, 'passthrough': False,
                                      'enable_nssr': False}),
    ('new', 'nvmf_subsystem_add_ns', {'nqn': 'nqn.2016-06.io.spdk:cnode1',
                                      'namespace': {'bdev_name': 'Pt0', 'no_auto_visible': False,
                                                    'hide_metadata': False}}),
    ('new', 'nvmf_subsystem_add_listener', {'nqn': 'nqn.2016-06.io.spdk:cnode1',
                                            'listen_address': {'trtype': 'tcp', 'adrfam': 'ipv4',
                                                               'traddr': '127.0.0.1', 'trsvcid': '@PORT@'},
                                            'secure_channel': False}),
    ('old', 'nvmf_get_subsystems', None),
    ('old', 'nvmf_get_transports', None),
    ('old', 'nvmf_get_stats', None),
    ('old', 'framework_get_reactors', None),
    ('old', 'thread_get_stats', None),
    ('old', 'thread_get_pollers', None),
    ('old', 'thread_get_io_channels', None),
    ('old', 'framework_get_subsystems', None),
    ('new', 'framework_get_config', {'name': 'bdev', 'with_batches': False}),
    ('new', 'save_config', {'with_batches': False}),
    ('new', 'rpc_get_methods', {'current': True, 'include_aliases': False}),
    ('old', 'env_get_mem_stats', None),
    ('old', 'log_get_flags', None),
]

# (method, params, parameter the error must name): values Brisk does not implement.
REFUSED = [
    ('bdev_malloc_create', {'num_blocks': 64, 'block_size': 512, 'name': 'Bad0', 'md_interleave': True},
     'md_interleave'),
    ('bdev_malloc_create', {'num_blocks': 64, 'block_size': 512, 'name': 'Bad0', 'md_size': 8}, 'md_size'),
    # malloc implements physical_block_size (bdev_rpc_ut checks its validation); null does not.
    ('bdev_null_create', {'num_blocks': 64, 'block_size': 512, 'name': 'Bad0', 'physical_block_size': 4096},
     'physical_block_size'),
    ('bdev_null_create', {'num_blocks': 64, 'block_size': 512, 'name': 'Bad0', 'dif_type': 1}, 'dif_type'),
    ('bdev_aio_create', {'name': 'Bad0', 'filename': '@AIO0@', 'nowait': True}, 'nowait'),
    ('bdev_get_iostat', {'per_channel': True}, 'per_channel'),
    ('framework_get_config', {'name': 'bdev', 'with_batches': True}, 'with_batches'),
    ('nvmf_subsystem_add_ns', {'nqn': 'nqn.2016-06.io.spdk:cnode1',
                               'namespace': {'bdev_name': 'Null1', 'no_auto_visible': True}},
     'namespace.no_auto_visible'),
    ('bdev_malloc_create', {'num_blocks': 64, 'block_size': 512, 'name': 'Bad0', 'no_such_param': 1},
     'no_such_param'),
    ('bdev_lvol_set_parent_bdev', {'lvol_name': 'lvs0/lv0', 'esnap_name': 'Malloc4k'}, 'bdev_lvol_set_parent_bdev'),
    ('bdev_lvol_clone_bdev', {'bdev': 'Malloc4k', 'lvs_name': 'lvs0', 'clone_name': 'ec'}, 'bdev_lvol_clone_bdev'),
]

# Fields SPDK documents, which its tools (spdk_top, iostat.py) read.
BDEV_FIELDS = ('name', 'aliases', 'product_name', 'block_size', 'num_blocks', 'uuid', 'assigned_rate_limits',
               'claimed', 'zoned', 'supported_io_types', 'driver_specific')
IO_TYPES = ('read', 'write', 'unmap', 'flush', 'reset', 'compare', 'compare_and_write', 'abort', 'seek_hole',
            'seek_data', 'copy', 'nvme_admin', 'nvme_io', 'nvme_io_md', 'write_zeroes', 'zcopy', 'get_zone_info',
            'zone_management', 'zone_append', 'nvme_iov_md')
# Size hints SPDK's bdev_get_bdevs reports for every bdev (blocks, 0 = none).
SIZE_FIELDS = ('optimal_io_boundary', 'required_alignment', 'preferred_write_alignment',
               'preferred_write_granularity', 'optimal_write_size', 'preferred_unmap_alignment',
               'preferred_unmap_granularity')
# SPDK keys io_error by bdev I/O status name, listing only the statuses seen.
IO_ERROR_KEYS = ('failed', 'nvme_error', 'scsi_error', 'nomem', 'miscompare', 'first_fused_failed',
                 'aborted', 'aio_error')
IOSTAT_FIELDS = ('name', 'bytes_read', 'num_read_ops', 'bytes_written', 'num_write_ops', 'bytes_unmapped',
                 'num_unmap_ops', 'read_latency_ticks', 'write_latency_ticks', 'unmap_latency_ticks')


def substitute(params, subst):
    if isinstance(params, dict):
        return {k: substitute(v, subst) for k, v in params.items()}
    return subst.get(params, params) if isinstance(params, str) else params


def check_shapes(method, res):
    if method == 'bdev_get_bdevs':
        missing = [f for b in res for f in BDEV_FIELDS if f not in b]
        check(res and not missing, f'bdev_get_bdevs: every bdev has SPDK\'s fields (missing {missing})')
        types = [t for b in res for t in IO_TYPES if t not in b.get('supported_io_types', {})]
        check(not types, f'bdev_get_bdevs: supported_io_types has every key SPDK lists (missing {types})')
        sizes = [f for b in res for f in SIZE_FIELDS if not isinstance(b.get(f), int) or b[f] < 0]
        check(not sizes, f'bdev_get_bdevs: every bdev has SPDK\'s preferred_*/optimal_* sizes (bad {sizes})')
    elif method == 'bdev_get_iostat':
        missing = [f for b in res.get('bdevs', []) for f in IOSTAT_FIELDS if f not in b]
        check('tick_rate' in res and 'ticks' in res and res.get('bdevs') and not missing,
              f'bdev_get_iostat: tick_rate, ticks and per-bdev fields (missing {missing})')
        bad = [(b.get('name'), k) for b in res.get('bdevs', []) for k, v in b.get('io_error', {None: 0}).items()
               if k not in IO_ERROR_KEYS or not isinstance(v, int) or v <= 0]
        check(not bad, f'bdev_get_iostat: io_error keyed by SPDK\'s status names (bad {bad})')
    elif method == 'bdev_lvol_get_lvstores':
        keys = ('uuid', 'name', 'base_bdev', 'total_data_clusters', 'free_clusters', 'block_size',
                'cluster_size', 'max_growable_size')
        check(res and all(k in res[0] for k in keys), f'bdev_lvol_get_lvstores fields ({sorted(res[0])})')
        lvs = res[0]
        check(lvs.get('max_growable_size', 0) >= lvs['total_data_clusters'] * lvs['cluster_size'] and
              lvs['max_growable_size'] % lvs['cluster_size'] == 0,
              f'max_growable_size {lvs.get("max_growable_size")} is whole clusters, at least the store\'s size')
    elif method == 'framework_get_reactors':
        r = res.get('reactors', [{}])[0]
        keys = ('lcore', 'tid', 'busy', 'idle', 'irq', 'sys', 'usr', 'numa_id', 'in_interrupt', 'lw_threads')
        check('tick_rate' in res and all(k in r for k in keys), f'framework_get_reactors fields ({sorted(r)})')
        t = r.get('lw_threads', [{}])[0]
        check(all(k in t for k in ('name', 'id', 'cpumask', 'elapsed')) and r['tid'] > 0,
              f'framework_get_reactors lw_threads fields ({sorted(t)}), tid {r.get("tid")}')
    elif method == 'thread_get_stats':
        t = res.get('threads', [{}])[0]
        check('tick_rate' in res and all(k in t for k in ('name', 'id', 'busy', 'idle')),
              f'thread_get_stats fields ({sorted(t)})')
    elif method == 'thread_get_pollers':
        check_poller_ids(res)


def check_poller_ids(res):
    # spdk_top keys its poller rows by (thread id, poller id): ids must be
    # present, positive and unique on each thread.
    ok, total = True, 0
    for t in res.get('threads', []):
        ids = [p.get('id') for k in ('active_pollers', 'timed_pollers', 'paused_pollers')
               for p in t.get(k, [])]
        total += len(ids)
        ok = ok and all(isinstance(i, int) and i > 0 for i in ids) and len(set(ids)) == len(ids)
    check(ok and total > 0, f'thread_get_pollers: {total} pollers, each with a unique positive id')


def run_calls(c, subst):
    for label, method, params in CALLS:
        p = substitute(params, subst)
        try:
            res = c.call(method, p)
            check(True, f'{method} as SPDK\'s {label} client sends it')
            check_shapes(method, res)
        except JSONRPCException as e:
            check(False, f'{method} as SPDK\'s {label} client sends it: {str(e).strip()}')


def run_io_error(c):
    """The write failure injected on EE_Malloc4k shows in io_error under SPDK's name."""
    try:
        c.call('bdev_lvol_create_lvstore', {'bdev_name': 'EE_Malloc4k', 'lvs_name': 'lvs_err',
                                            'clear_method': 'none'})
        check(False, 'lvstore on EE_Malloc4k fails on the injected write error')
    except JSONRPCException:
        pass
    st = c.call('bdev_get_iostat', {'name': 'EE_Malloc4k'})
    err = st['bdevs'][0].get('io_error')
    check(err == {'failed': 1}, f'bdev_get_iostat: injected write failure counted as io_error.failed ({err})')


def run_refusals(c, subst):
    before = sorted(b['name'] for b in c.call('bdev_get_bdevs'))
    for method, params, name in REFUSED:
        try:
            c.call(method, substitute(params, subst))
            check(False, f'{method} with {name} set is refused')
        except JSONRPCException as e:
            msg = str(e)
            unknown = name == 'no_such_param'
            check(name in msg and ('not supported' in msg or unknown),
                  f'{method} with {name} set is refused, naming it ({msg.strip()})')
    after = sorted(b['name'] for b in c.call('bdev_get_bdevs'))
    check(before == after, 'refused calls created nothing')


def run_cli_spellings(sock):
    """SPDK's rpc.py spelling of options, through Brisk's scripts/rpc.py."""
    good = [('bdev_set_qos_limit', 'Malloc0', '--rw-ios-per-sec', '2000'),
            ('bdev_set_qos_limit', 'Malloc0', '--rw_mbytes_per_sec', '0'),
            ('bdev_get_iostat', '-b', 'Malloc0'),
            ('bdev_get_bdevs', '-b', 'Malloc0', '-t', '100'),
            ('bdev_malloc_create', '-b', 'CliMalloc', '-p', '512', '-m', '0', '-t', '0', '1', '512'),
            ('bdev_null_create', 'CliNull', '1', '512', '-m', '0'),
            ('framework_set_scheduler', 'static'),
            ('sock_impl_set_options', '-i', 'posix', '-r', '2097152', '--enable-quickack'),
            ('iobuf_set_options', '--small-pool-count', '8192', '--large-pool-count', '1024'),
            ('accel_set_options', '-t', '2048'),
            ('nvmf_set_crdt', '-t1', '0')]
    for args in good:
        rc, _, err = rpc_cli(sock, *args)
        check(rc == 0, f'rpc.py {" ".join(args)} ({err.strip()})')
    for args, name in ((('bdev_malloc_create', '-b', 'CliBad', '-i', '1', '512'), 'md_interleave'),
                       (('bdev_get_iostat', '-c'), 'per_channel'),
                       (('framework_set_scheduler', 'dynamic'), 'name'),
                       (('nvmf_set_crdt', '-t1', '5'), 'crdt1'),
                       (('sock_set_default_impl', '-i', 'ssl'), 'impl_name')):
        rc, _, err = rpc_cli(sock, *args)
        check(rc == 1 and name in err and 'not supported' in err,
              f'rpc.py {" ".join(args)} is refused naming {name} ({err.strip()})')


def main():
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError('test timed out')))
    signal.alarm(120)
    if not os.access(TGT, os.X_OK):
        print(f'{TGT} is not built', file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix='brisk_spdk_compat.')
    sock = os.path.join(work, 'rpc.sock')
    subst = {'@AIO0@': os.path.join(work, 'aio0'), '@AIO1@': os.path.join(work, 'aio1'),
             '@PORT@': str(20000 + os.getpid() % 20000)}
    for f in ('@AIO0@', '@AIO1@'):
        with open(subst[f], 'wb') as fh:
            fh.truncate(64 << 20)
    tgt = Target(work, 60000 + os.getpid() % 5000, sock, ['--no-huge'], mem_mb=128)
    try:
        if not check(tgt.wait_socket(), 'brisk_tgt starts'):
            print(tgt.tail(), file=sys.stderr)
            return 1
        with JSONRPCClient(sock, 20) as c:
            run_calls(c, subst)
            run_io_error(c)
            run_refusals(c, subst)
        run_cli_spellings(sock)
        tgt.stop_checked('target after the SPDK client calls')
    finally:
        tgt.kill()
        for f in os.listdir(work):
            os.unlink(os.path.join(work, f))
        os.rmdir(work)
    print(f'{len(FAILS)} failure(s)')
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
