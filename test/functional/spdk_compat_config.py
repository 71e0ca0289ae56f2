#!/usr/bin/env python3
"""Configs saved by SPDK load in brisk_tgt (-c), unchanged.

  - an SPDK-style saved config (v24.09 shape: accel, iobuf, sock, vmd,
    keyring, scheduler, fsdev subsystems; bdev and nvmf entries with SPDK's
    current parameters) starts the target, and the bdevs it creates exist;
  - a subsystem Brisk lacks, with entries (vmd_enable), is refused by name;
  - examine ordering: a config creating an aio bdev that holds an lvstore and
    then bdev_lvol_create on that store works without bdev_wait_for_examine,
    10 starts in a row; so does one creating the lvstore itself;
  - a config of more than 65,536 calls keeps file order (a create before
    a delete of the same bdev, 65,535 calls apart).
Bounded to 240 s; every target is killed in every case.
"""
import json
import os
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgt_harness import FAILS, TGT, Target, check  # noqa: E402
from rpc.client import JSONRPCClient, JSONRPCException  # noqa: E402


def spdk_saved_config(aio_path, port):
    """What SPDK's save_config writes for a malloc, an aio bdev and an NVMe/TCP export."""
    sock_opts = {'recv_buf_size': 2097152, 'send_buf_size': 2097152, 'enable_recv_pipe': True,
                 'enable_quickack': False, 'enable_placement_id': 0, 'enable_zerocopy_send_server': True,
                 'enable_zerocopy_send_client': False, 'zerocopy_threshold': 0, 'tls_version': 0,
                 'enable_ktls': False}
    nvme_opts = {'action_on_timeout': 'none', 'timeout_us': 0, 'timeout_admin_us': 0,
                 'keep_alive_timeout_ms': 10000, 'arbitration_burst': 0, 'low_priority_weight': 0,
                 'medium_priority_weight': 0, 'high_priority_weight': 0, 'nvme_adminq_poll_period_us': 10000,
                 'nvme_ioq_poll_period_us': 0, 'io_queue_requests': 0, 'delay_cmd_submit': True,
                 'transport_retry_count': 4, 'bdev_retry_count': 3, 'transport_ack_timeout': 0,
                 'ctrlr_loss_timeout_sec': 0, 'reconnect_delay_sec': 0, 'fast_io_fail_timeout_sec': 0,
                 'disable_auto_failback': False, 'generate_uuids': False, 'transport_tos': 0,
                 'nvme_error_stat': False, 'rdma_srq_size': 0, 'io_path_stat': False,
                 'allow_accel_sequence': False, 'rdma_max_cq_size': 0, 'rdma_cm_event_timeout_ms': 0,
                 'dhchap_digests': ['sha256', 'sha384', 'sha512'],
                 'dhchap_dhgroups': ['null', 'ffdhe2048', 'ffdhe3072', 'ffdhe4096', 'ffdhe6144', 'ffdhe8192'],
                 'rdma_umr_per_io': False, 'tcp_connect_timeout_ms': 0, 'enable_flush': False}
    nqn = 'nqn.2016-06.io.spdk:cnode1'
    return {'subsystems': [
        {'subsystem': 'keyring', 'config': []},
        {'subsystem': 'iobuf', 'config': [{'method': 'iobuf_set_options', 'params': {
            'small_pool_count': 8192, 'large_pool_count': 1024, 'small_bufsize': 8192,
            'large_bufsize': 135168, 'enable_numa': False}}]},
        {'subsystem': 'sock', 'config': [
            {'method': 'sock_set_default_impl', 'params': {'impl_name': 'posix'}},
            {'method': 'sock_impl_set_options', 'params': dict(sock_opts, impl_name='ssl')},
            {'method': 'sock_impl_set_options', 'params': dict(sock_opts, impl_name='posix')}]},
        {'subsystem': 'vmd', 'config': []},
        {'subsystem': 'accel', 'config': [{'method': 'accel_set_options', 'params': {
            'small_cache_size': 128, 'large_cache_size': 16, 'task_count': 2048, 'sequence_count': 2048,
            'buf_count': 2048}}]},
        {'subsystem': 'fsdev', 'config': [{'method': 'fsdev_set_opts', 'params': {
            'fsdev_io_pool_size': 65535, 'fsdev_io_cache_size': 256}}]},
        {'subsystem': 'bdev', 'config': [
            {'method': 'bdev_set_options', 'params': {'bdev_io_pool_size': 65535, 'bdev_io_cache_size': 256,
                                                      'bdev_auto_examine': True, 'iobuf_small_cache_size': 128,
                                                      'iobuf_large_cache_size': 16}},
            {'method': 'bdev_raid_set_options', 'params': {'process_window_size_kb': 1024,
                                                           'process_max_bandwidth_mb_sec': 0}},
            {'method': 'bdev_iscsi_set_options', 'params': {'timeout_sec': 30}},
            {'method': 'bdev_nvme_set_options', 'params': nvme_opts},
            {'method': 'bdev_nvme_set_hotplug', 'params': {'period_us': 100000, 'enable': False}},
            {'method': 'bdev_malloc_create', 'params': {
                'name': 'Malloc0', 'num_blocks': 8192, 'block_size': 512, 'physical_block_size': 512,
                'uuid': '2b4f3c8e-55a1-4a6b-9e0e-2f1c6f0b7a11', 'optimal_io_boundary': 0, 'md_size': 0,
                'dif_type': 0, 'dif_is_head_of_md': False, 'dif_pi_format': 0}},
            {'method': 'bdev_aio_create', 'params': {'name': 'Aio0', 'block_size': 512, 'filename': aio_path,
                                                     'readonly': False, 'fallocate': False, 'nowait': False}},
            {'method': 'bdev_wait_for_examine'}]},
        {'subsystem': 'scheduler', 'config': [{'method': 'framework_set_scheduler',
                                               'params': {'name': 'static'}}]},
        {'subsystem': 'nvmf', 'config': [
            {'method': 'nvmf_set_config', 'params': {
                'discovery_filter': 'match_any', 'admin_cmd_passthru': {'identify_ctrlr': False},
                'dhchap_digests': ['sha256', 'sha384', 'sha512'],
                'dhchap_dhgroups': ['null', 'ffdhe2048', 'ffdhe3072', 'ffdhe4096', 'ffdhe6144', 'ffdhe8192']}},
            {'method': 'nvmf_set_max_subsystems', 'params': {'max_subsystems': 1024}},
            {'method': 'nvmf_set_crdt', 'params': {'crdt1': 0, 'crdt2': 0, 'crdt3': 0}},
            {'method': 'nvmf_create_transport', 'params': {
                'trtype': 'TCP', 'max_queue_depth': 128, 'max_io_qpairs_per_ctrlr': 127,
                'in_capsule_data_size': 4096, 'max_io_size': 131072, 'io_unit_size': 131072,
                'max_aq_depth': 128, 'num_shared_buffers': 511, 'buf_cache_size': 4294967295,
                'dif_insert_or_strip': False, 'zcopy': False, 'c2h_success': True, 'sock_priority': 0,
                'abort_timeout_sec': 1, 'ack_timeout': 0, 'data_wr_pool_size': 0}},
            {'method': 'nvmf_create_subsystem', 'params': {
                'nqn': nqn, 'allow_any_host': True, 'serial_number': 'SPDK00000000000001',
                'model_number': 'SPDK bdev Controller', 'max_namespaces': 32, 'min_cntlid': 1,
                'max_cntlid': 65519, 'ana_reporting': False}},
            {'method': 'nvmf_subsystem_add_listener', 'params': {
                'nqn': nqn, 'listen_address': {'trtype': 'TCP', 'adrfam': 'IPv4', 'traddr': '127.0.0.1',
                                               'trsvcid': str(port)}, 'secure_channel': False}},
            {'method': 'nvmf_subsystem_add_ns', 'params': {
                'nqn': nqn, 'namespace': {'nsid': 1, 'bdev_name': 'Malloc0', 'no_auto_visible': False,
                                          'hide_metadata': False}}}]},
    ]}


class Run:
    """Starts targets one at a time on one socket and shm id; kills leftovers."""

    def __init__(self, work):
        self.work = work
        self.sock = os.path.join(work, 'rpc.sock')
        self.shm_id = 61000 + os.getpid() % 4000
        self.tgt = None
        self.n = 0

    def start(self, config):
        self.n += 1
        path = os.path.join(self.work, f'config{self.n}.json')
        with open(path, 'w') as f:
            json.dump(config, f)
        self.tgt = Target(self.work, self.shm_id, self.sock, ['--no-huge', '-c', path], mem_mb=128)
        if not self.tgt.wait_socket():
            return False
        try:
            # The socket listens while the config runs: wait for the end of start-up.
            with JSONRPCClient(self.sock, 120) as c:
                c.call('framework_wait_init')
            return True
        except JSONRPCException:
            return False

    def finish(self, what):
        self.tgt.stop_checked(what)
        self.tgt = None

    def failed_start(self, what):
        """The start must fail: exit non-zero; returns the log text."""
        code = self.tgt.proc.wait(20)
        self.tgt.kill()
        with open(self.tgt.log_path) as f:
            log = f.read()
        check(code != 0, f'{what}: the target exits non-zero ({code})')
        self.tgt = None
        return log


def bdev_names(sock):
    with JSONRPCClient(sock, 20) as c:
        return {b['name'] for b in c.call('bdev_get_bdevs')}


def test_saved_config(run, port):
    aio = os.path.join(run.work, 'aio_saved')
    with open(aio, 'wb') as f:
        f.truncate(8 << 20)
    if check(run.start(spdk_saved_config(aio, port)), 'an SPDK-saved config (iobuf, sock, accel, vmd, '
             'keyring, scheduler, fsdev; current parameters) starts the target'):
        names = bdev_names(run.sock)
        check({'Malloc0', 'Aio0'} <= names, f'its bdevs exist ({sorted(names)})')
        with JSONRPCClient(run.sock, 20) as c:
            subs = c.call('nvmf_get_subsystems')
        check(any(s['nqn'] == 'nqn.2016-06.io.spdk:cnode1' for s in subs), 'its NVMe-oF subsystem exists')
        run.finish('target started from the SPDK config')
    else:
        print(run.tgt.tail(), file=sys.stderr)
        run.tgt.kill()
    cfg = {'subsystems': [{'subsystem': 'vmd', 'config': [{'method': 'vmd_enable', 'params': {}}]},
                          {'subsystem': 'bdev', 'config': []}]}
    run.start(cfg)
    log = run.failed_start('a config with vmd_enable')
    check("subsystem 'vmd' is not supported" in log and 'vmd_enable' in log,
          'the refusal names the subsystem and the entry')


def make_lvstore_file(run, path):
    """An aio file holding lvstore 'lvs_dd', made by a target of its own."""
    with open(path, 'wb') as f:
        f.truncate(64 << 20)
    cfg = {'subsystems': [{'subsystem': 'bdev', 'config': [
        {'method': 'bdev_aio_create', 'params': {'name': 'dd_aio', 'filename': path, 'block_size': 4096}},
        {'method': 'bdev_lvol_create_lvstore', 'params': {'bdev_name': 'dd_aio', 'lvs_name': 'lvs_dd'}}]}]}
    ok = run.start(cfg)
    if ok:
        run.finish('target creating the lvstore')
    else:
        run.tgt.kill()
    return ok


def test_examine_order(run):
    path = os.path.join(run.work, 'dd_aio')
    if not check(make_lvstore_file(run, path), 'an aio file with an lvstore is made'):
        return
    good = 0
    for i in range(10):
        cfg = {'subsystems': [{'subsystem': 'bdev', 'config': [
            {'method': 'bdev_aio_create', 'params': {'name': 'dd_aio', 'filename': path, 'block_size': 4096}},
            {'method': 'bdev_lvol_create', 'params': {'lvs_name': 'lvs_dd', 'lvol_name': f'lv{i}',
                                                      'size_in_mib': 4, 'thin_provision': True}}]}]}
        if run.start(cfg) and f'lvs_dd/lv{i}' in lvol_aliases(run.sock):
            good += 1
            run.finish(f'start {i + 1} with aio + bdev_lvol_create')
        else:
            print(run.tgt.tail(), file=sys.stderr)
            run.tgt.kill()
    check(good == 10, f'aio bdev holding an lvstore, then bdev_lvol_create, no wait_for_examine: '
          f'{good} of 10 starts work')
    fresh = os.path.join(run.work, 'fresh_aio')
    with open(fresh, 'wb') as f:
        f.truncate(64 << 20)
    cfg = {'subsystems': [{'subsystem': 'bdev', 'config': [
        {'method': 'bdev_aio_create', 'params': {'name': 'fr_aio', 'filename': fresh, 'block_size': 4096}},
        {'method': 'bdev_lvol_create_lvstore', 'params': {'bdev_name': 'fr_aio', 'lvs_name': 'lvs_fr'}},
        {'method': 'bdev_lvol_create', 'params': {'lvs_name': 'lvs_fr', 'lvol_name': 'lv', 'size_in_mib': 4}}]}]}
    if check(run.start(cfg) and 'lvs_fr/lv' in lvol_aliases(run.sock),
             'aio + bdev_lvol_create_lvstore + bdev_lvol_create in one config'):
        run.finish('target with a fresh lvstore')
    else:
        run.tgt.kill()


def lvol_aliases(sock):
    with JSONRPCClient(sock, 20) as c:
        return {a for b in c.call('bdev_get_bdevs') for a in b.get('aliases', [])}


def test_many_calls(run):
    """Seq 3 creates Order0, seq 65,538 deletes it: with order wrapping at
    65,536 the delete would sort first and the start would fail."""
    calls = [{'method': 'bdev_get_bdevs'}] * 3
    calls += [{'method': 'bdev_malloc_create', 'params': {'name': 'Order0', 'num_blocks': 64,
                                                          'block_size': 512}}]
    calls += [{'method': 'bdev_get_bdevs', 'params': {'name': 'Order0'}}] * (65538 - len(calls))
    calls += [{'method': 'bdev_malloc_delete', 'params': {'name': 'Order0'}},
              {'method': 'bdev_malloc_create', 'params': {'name': 'Order1', 'num_blocks': 64,
                                                          'block_size': 512}}]
    cfg = {'subsystems': [{'subsystem': 'bdev', 'config': calls}]}
    if check(run.start(cfg), f'a config of {len(calls)} calls starts the target'):
        names = bdev_names(run.sock)
        check('Order0' not in names and 'Order1' in names,
              f'calls past 65,536 keep file order: the create ran before the delete ({sorted(names)})')
        run.finish('target with the long config')
    else:
        print(run.tgt.tail(), file=sys.stderr)
        run.tgt.kill()


def main():
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError('test timed out')))
    signal.alarm(240)
    if not os.access(TGT, os.X_OK):
        print(f'{TGT} is not built', file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix='brisk_spdk_config.')
    run = Run(work)
    try:
        test_saved_config(run, 20000 + os.getpid() % 20000)
        test_examine_order(run)
        test_many_calls(run)
    finally:
        if run.tgt is not None:
            run.tgt.kill()
        for f in os.listdir(work):
            os.unlink(os.path.join(work, f))
        os.rmdir(work)
    print(f'{len(FAILS)} failure(s)')
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
