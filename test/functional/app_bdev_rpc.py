#!/usr/bin/env python3
"""bdev RPCs end to end: brisk_tgt on a private socket and shm id, driven
through scripts/rpc.py and its client module.

  - every bdev layer and module method through rpc.py (SPDK's spelling of the
    arguments): malloc, null (resize), aio (rescan after the file grows),
    passthru (also on a base that appears later), error (injection), delay
    (update_latency), split; get_bdevs (with a timeout that a later create
    satisfies), iostat, reset_iostat, qos, wait_for_examine;
  - bad params on every method: wrong types, missing and unknown keys,
    negative and zero sizes, block size 1000, files that do not exist or are
    no block device, duplicate names and UUIDs, claimed bases, out-of-range
    latencies and counts: each gets an error naming the field, and the bdevs
    and the saved configuration are unchanged afterwards;
  - save_config -> restart with -c -> the same bdevs and the same config;
  - deletes (a base's removal takes its virtual bdevs along);
  - --wait-for-rpc: bdev_set_options and bdev_examine with auto examine off;
  - every stop is SIGTERM with exit 0 and no socket, shm or hugepage file left,
    also while a bdev_get_bdevs waits for a bdev with a long timeout and while
    reads are held by a "pending" error rule and a one-minute delay.
Bounded to 280 s; the target is killed (and its files removed) in every case.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgt_harness import FAILS, RPC_PY, TGT, Target, check, rpc_cli  # noqa: E402
import rpc  # noqa: E402
from rpc.client import JSONRPCClient, JSONRPCException  # noqa: E402

UUID0 = '6d1e7b2a-3f4c-4a5b-9c8d-0e1f2a3b4c5d'
UUID1 = '0b9c8d7e-6f5a-4b3c-8d2e-1f0a9b8c7d6e'
INVALID = -32602


def cli_ok(sock, *args):
    """rpc.py must succeed; returns its output parsed as JSON (None if empty)."""
    rc, out, err = rpc_cli(sock, *args)
    check(rc == 0, f'rpc.py {" ".join(str(a) for a in args)} ({err.strip()})')
    try:
        return json.loads(out) if out.strip() else None
    except ValueError:
        return out.strip()


def bdevs_by_name(client):
    return {b['name']: b for b in client.call('bdev_get_bdevs')}


def test_create_all(sock, work):
    """Every create/update method through rpc.py; returns the aio file paths."""
    img = os.path.join(work, 'aio0.img')
    img_ro = os.path.join(work, 'aio1.img')
    with open(img, 'wb') as f:
        f.truncate(32 << 20)
    with open(img_ro, 'wb') as f:
        f.truncate(16 << 20)

    check(cli_ok(sock, 'bdev_malloc_create', '-b', 'Malloc0', '-u', UUID0, '16', '512') == 'Malloc0',
          'bdev_malloc_create -b Malloc0 -u UUID 16 512 prints the name')
    auto = cli_ok(sock, 'bdev_malloc_create', '8', '4096')
    check(isinstance(auto, str) and auto.startswith('Malloc'), f'bdev_malloc_create without -b names it ({auto})')
    check(cli_ok(sock, 'bdev_malloc_create', '-b', 'Malloc2', '-o', '8', '8', '512') == 'Malloc2',
          'bdev_malloc_create -o 8 (optimal I/O boundary)')
    check(cli_ok(sock, 'bdev_null_create', 'Null0', '16', '512', '-u', UUID1) == 'Null0', 'bdev_null_create')
    cli_ok(sock, 'bdev_null_resize', 'Null0', '32')
    check(cli_ok(sock, 'bdev_aio_create', img, 'Aio0', '512') == 'Aio0', 'bdev_aio_create FILE Aio0 512')
    check(cli_ok(sock, 'bdev_aio_create', img_ro, 'Aio1', '-r') == 'Aio1', 'bdev_aio_create -r (block size detected)')
    with open(img, 'r+b') as f:
        f.truncate(64 << 20)
    cli_ok(sock, 'bdev_aio_rescan', 'Aio0')
    check(cli_ok(sock, 'bdev_passthru_create', '-b', 'Malloc0', '-p', 'Pt0') == 'Pt0', 'bdev_passthru_create')
    check(cli_ok(sock, 'bdev_passthru_create', '-b', 'Later0', '-p', 'PtLater') == 'PtLater',
          'bdev_passthru_create on a base that does not exist yet is accepted (SPDK)')
    check(cli_ok(sock, 'bdev_error_create', 'Malloc2') == 'EE_Malloc2', 'bdev_error_create prints EE_<base>')
    cli_ok(sock, 'bdev_error_inject_error', 'EE_Malloc2', 'read', 'failure', '-n', '3')
    check(cli_ok(sock, 'bdev_delay_create', '-b', 'Aio1', '-d', 'Delay0', '-r', '100', '-t', '200',
                 '-w', '100', '-n', '300') == 'Delay0', 'bdev_delay_create')
    cli_ok(sock, 'bdev_delay_update_latency', 'Delay0', 'avg_read', '150')
    parts = cli_ok(sock, 'bdev_split_create', 'Null0', '4')
    check(parts == ['Null0p0', 'Null0p1', 'Null0p2', 'Null0p3'], f'bdev_split_create Null0 4 -> {parts}')
    parts = cli_ok(sock, 'bdev_split_create', auto, '2', '-s', '2')
    check(parts == [f'{auto}p0', f'{auto}p1'], f'bdev_split_create -s 2 -> {parts}')
    cli_ok(sock, 'bdev_wait_for_examine')

    # bdev_get_bdevs -t: waits for a bdev that a later call creates.
    result = {}

    def wait_late():
        result['rc'], result['out'], result['err'] = rpc_cli(sock, 'bdev_get_bdevs', '-b', 'Later0', '-t', '5000')

    waiter = threading.Thread(target=wait_late)
    waiter.start()
    time.sleep(0.5)
    check(cli_ok(sock, 'bdev_malloc_create', '-b', 'Later0', '4', '512') == 'Later0', 'create Later0')
    waiter.join(30)
    late = json.loads(result.get('out') or '[]')
    check(result.get('rc') == 0 and [b['name'] for b in late] == ['Later0'],
          f'bdev_get_bdevs -b Later0 -t 5000 answers once Later0 exists ({result.get("err", "").strip()})')
    start = time.monotonic()
    rc, out, err = rpc_cli(sock, 'bdev_get_bdevs', '-b', 'Never', '-t', '300')
    took = time.monotonic() - start
    check(rc == 1 and 'Never' in err and took >= 0.3, f'bdev_get_bdevs -t 300 on a missing bdev fails after '
          f'the timeout ({took:.2f} s: {err.strip()})')

    b = {x['name']: x for x in cli_ok(sock, 'bdev_get_bdevs')}
    check(b['Malloc0']['uuid'] == UUID0 and b['Malloc0']['num_blocks'] == 32768 and
          b['Malloc0']['block_size'] == 512 and b['Malloc0'].get('claim_module') == 'passthru',
          'Malloc0: uuid, size, claimed by passthru')
    check(b[auto]['block_size'] == 4096 and b[auto]['num_blocks'] == 2048, f'{auto}: 8 MiB of 4096-byte blocks')
    check(b['Malloc2']['optimal_io_boundary'] == 8, 'Malloc2: optimal_io_boundary 8')
    check(b['Null0']['uuid'] == UUID1 and b['Null0']['num_blocks'] == 65536,
          'Null0: uuid, resized to 32 MiB')
    check(b['Aio0']['block_size'] == 512 and b['Aio0']['num_blocks'] == 131072,
          'Aio0: 512-byte blocks, rescanned to 64 MiB')
    check(b['Aio1']['block_size'] == 4096 and b['Aio1']['driver_specific']['aio']['readonly'] is True and
          b['Aio1']['driver_specific']['aio']['block_size_override'] is False,
          'Aio1: detected block size 4096, read-only')
    check(b['Pt0']['num_blocks'] == 32768 and b['PtLater']['num_blocks'] == 8192,
          'Pt0 and PtLater (created when its base appeared) have their base\'s size')
    check(b['EE_Malloc2']['num_blocks'] == 16384, 'EE_Malloc2')
    lat = b['Delay0']['driver_specific']['delay']
    check(lat['avg_read_latency'] == 150 and lat['p99_read_latency'] == 200 and
          lat['p99_write_latency'] == 300, f'Delay0 latencies after update ({lat})')
    check(all(b[f'Null0p{i}']['num_blocks'] == 16384 for i in range(4)) and
          b[f'{auto}p1']['num_blocks'] == 512, 'split parts have the expected sizes')
    one = cli_ok(sock, 'bdev_get_bdevs', '-b', 'Pt0')
    check([x['name'] for x in one] == ['Pt0'], 'bdev_get_bdevs -b Pt0')

    cli_ok(sock, 'bdev_set_qos_limit', 'Pt0', '--rw_ios_per_sec', '20000', '--r_mbytes_per_sec', '100')
    qos = cli_ok(sock, 'bdev_get_bdevs', '-b', 'Pt0')[0]['assigned_rate_limits']
    check(qos['rw_ios_per_sec'] == 20000 and qos['r_mbytes_per_sec'] == 100 and qos['w_mbytes_per_sec'] == 0,
          f'bdev_set_qos_limit ({qos})')
    st = cli_ok(sock, 'bdev_get_iostat')
    check(st['tick_rate'] > 0 and {x['name'] for x in st['bdevs']} == set(b), 'bdev_get_iostat lists every bdev')
    st = cli_ok(sock, 'bdev_get_iostat', '-b', 'Malloc0')
    check([x['name'] for x in st['bdevs']] == ['Malloc0'] and 'num_read_ops' in st['bdevs'][0],
          'bdev_get_iostat -b Malloc0')
    cli_ok(sock, 'bdev_reset_iostat', '-m', 'maxmin')
    cli_ok(sock, 'bdev_reset_iostat', '-b', 'Malloc0')
    st = cli_ok(sock, 'bdev_get_iostat', '-b', 'Malloc0')
    check(st['bdevs'][0]['num_read_ops'] == 0, 'bdev_reset_iostat -b Malloc0 clears its counters')

    rc, _, err = rpc_cli(sock, 'bdev_examine', '-b', 'Pt0')
    check(rc == 1 and 'bdev_auto_examine' in err, f'bdev_examine with auto examine on is refused ({err.strip()})')
    rc, _, err = rpc_cli(sock, 'bdev_set_options', '-p', '1000')
    check(rc == 1 and 'before' in err, f'bdev_set_options after init is refused ({err.strip()})')
    return img, img_ro


def cli_bad_cases(sock, work):
    """Bad input typed on the command line: rpc.py exits 1 with the server's message (2 for usage)."""
    cases = [
        (('bdev_malloc_create', '-b', 'MallocX', '16', '1000'), 1, 'block_size 1000'),
        (('bdev_malloc_create', '-b', 'MallocX', '0', '512'), 1, 'num_blocks must be greater than 0'),
        (('bdev_malloc_create', '-b', 'MallocX', '-16', '512'), 1, 'num_blocks'),
        (('bdev_malloc_create', '-b', 'Malloc0', '16', '512'), 1, "'Malloc0' already exists"),
        (('bdev_malloc_create', '-b', 'MallocX', 'big', '512'), 2, 'total_size'),
        (('bdev_null_create', 'NullX', '16', '0'), 1, 'block_size 0'),
        (('bdev_aio_create', os.path.join(work, 'missing.img'), 'AioX'), 1, 'No such file'),
        (('bdev_aio_create', '/dev/null', 'AioX'), 1, 'is a character device, not a regular file or a block device'),
        (('bdev_passthru_create', '-b', 'Malloc0', '-p', 'PtX'), 1, 'already claimed'),
        (('bdev_delay_create', '-b', 'Malloc2', '-d', 'DelayX', '-r', '1', '-t', '1', '-w', '1'), 2, '-n'),
        (('bdev_split_create', 'Null0', '2'), 1, 'already split'),
        (('bdev_error_inject_error', 'EE_Malloc2', 'sideways', 'failure'), 1, "io_type 'sideways'"),
        (('bdev_malloc_delete', 'Nope'), 1, 'Nope'),
    ]
    for args, want_rc, text in cases:
        rc, out, err = rpc_cli(sock, *args)
        check(rc == want_rc and text in err, f'rpc.py {" ".join(args)} -> exit {rc}, "{text}" ({err.strip()})')


def json_bad_cases(work):
    """(method, params, expected error code or None for any, text the message must contain)."""
    tiny = os.path.join(work, 'tiny.img')
    with open(tiny, 'wb') as f:
        f.truncate(1000)
    img = os.path.join(work, 'aio0.img')
    big = 1 << 62
    m = {'name': 'MallocX', 'num_blocks': 1024, 'block_size': 512}
    n = {'name': 'NullX', 'num_blocks': 1024, 'block_size': 512}
    a = {'name': 'AioX', 'filename': img}
    d = {'base_bdev_name': 'Malloc2', 'name': 'DelayX', 'avg_read_latency': 10, 'p99_read_latency': 10,
         'avg_write_latency': 10, 'p99_write_latency': 10}

    def w(base, **kw):
        out = dict(base)
        for k, v in kw.items():
            if v is DROP:
                out.pop(k)
            else:
                out[k] = v
        return out

    return [
        # malloc
        ('bdev_malloc_create', w(m, name=5), INVALID, "parameter 'name' must be a string"),
        ('bdev_malloc_create', w(m, name=''), INVALID, 'name must not be empty'),
        ('bdev_malloc_create', w(m, num_blocks='1024'), INVALID, "'num_blocks' must be an unsigned 64-bit"),
        ('bdev_malloc_create', w(m, num_blocks=-1), INVALID, "'num_blocks'"),
        ('bdev_malloc_create', w(m, num_blocks=0), INVALID, 'num_blocks must be greater than 0'),
        ('bdev_malloc_create', w(m, num_blocks=DROP), INVALID, "missing parameter 'num_blocks'"),
        ('bdev_malloc_create', w(m, block_size=1000), INVALID, 'block_size 1000 must be a multiple of 512'),
        ('bdev_malloc_create', w(m, block_size=0), INVALID, 'block_size 0'),
        ('bdev_malloc_create', w(m, block_size=-512), INVALID, "'block_size'"),
        ('bdev_malloc_create', w(m, block_size=4096.0), INVALID, "'block_size'"),
        ('bdev_malloc_create', w(m, block_size=DROP), INVALID, "missing parameter 'block_size'"),
        ('bdev_malloc_create', w(m, name='Malloc0'), None, "'Malloc0' already exists"),
        ('bdev_malloc_create', w(m, name='Pt0'), None, "'Pt0' already exists"),
        ('bdev_malloc_create', w(m, uuid=UUID0), None, 'uuid already used'),
        ('bdev_malloc_create', w(m, uuid='not-a-uuid'), INVALID, "uuid 'not-a-uuid'"),
        ('bdev_malloc_create', w(m, num_blocks=big, block_size=4096), INVALID, 'does not fit in 64 bits'),
        ('bdev_malloc_create', w(m, num_blocks=1 << 40), None, 'Cannot allocate memory'),
        ('bdev_malloc_create', w(m, optimal_io_boundary=-8), INVALID, "'optimal_io_boundary'"),
        ('bdev_malloc_create', w(m, bogus=1), INVALID, "unknown parameter 'bogus'"),
        ('bdev_malloc_create', [1024, 512], INVALID, 'params must be an object'),
        ('bdev_malloc_create', None, INVALID, "missing parameter 'num_blocks'"),
        ('bdev_malloc_delete', {}, INVALID, "missing parameter 'name'"),
        ('bdev_malloc_delete', {'name': 7}, INVALID, "'name' must be a string"),
        ('bdev_malloc_delete', {'name': 'Nope'}, None, "'Nope' does not exist"),
        ('bdev_malloc_delete', {'name': 'Null0'}, None, "malloc bdev 'Null0' does not exist"),
        # null
        ('bdev_null_create', w(n, name=DROP), INVALID, "missing parameter 'name'"),
        ('bdev_null_create', w(n, name=''), INVALID, 'name must not be empty'),
        ('bdev_null_create', w(n, block_size=1000), INVALID, 'block_size 1000'),
        ('bdev_null_create', w(n, num_blocks=0), INVALID, 'num_blocks must be greater than 0'),
        ('bdev_null_create', w(n, num_blocks=-5), INVALID, "'num_blocks'"),
        ('bdev_null_create', w(n, num_blocks=big, block_size=4096), INVALID, 'does not fit in 64 bits'),
        ('bdev_null_create', w(n, name='Null0'), None, "'Null0' already exists"),
        ('bdev_null_create', w(n, uuid=UUID1), None, 'uuid already used'),
        ('bdev_null_delete', {'name': 'Malloc0'}, None, "null bdev 'Malloc0' does not exist"),
        ('bdev_null_resize', {'name': 'Null0', 'new_size': 0}, INVALID, 'new_size 0'),
        ('bdev_null_resize', {'name': 'Null0', 'new_size': -1}, INVALID, "'new_size'"),
        ('bdev_null_resize', {'name': 'Null0', 'new_size': 1 << 50}, INVALID, 'out of range'),
        ('bdev_null_resize', {'name': 'Null0'}, INVALID, "missing parameter 'new_size'"),
        ('bdev_null_resize', {'name': 'Malloc0', 'new_size': 8}, None, "null bdev 'Malloc0' does not exist"),
        # aio
        ('bdev_aio_create', w(a, filename=os.path.join(work, 'missing.img')), None, 'No such file'),
        ('bdev_aio_create', w(a, filename=work), None, 'Is a directory'),
        ('bdev_aio_create', w(a, filename='/dev/null'), INVALID, 'is a character device, not a regular file or a block device'),
        ('bdev_aio_create', w(a, filename=tiny), INVALID, 'smaller than one block'),
        ('bdev_aio_create', w(a, filename=''), INVALID, 'filename must not be empty'),
        # Relative paths would resolve against the target's working directory.
        ('bdev_aio_create', w(a, filename='../../../etc/passwd'), INVALID, 'must be an absolute path'),
        ('bdev_aio_create', w(a, filename=os.path.basename(tiny)), INVALID, 'must be an absolute path'),
        ('bdev_aio_create', w(a, filename=DROP), INVALID, "missing parameter 'filename'"),
        ('bdev_aio_create', w(a, name=DROP), INVALID, "missing parameter 'name'"),
        ('bdev_aio_create', w(a, block_size=1000), INVALID, 'block_size 1000 must be a power of two'),
        ('bdev_aio_create', w(a, block_size=256), INVALID, 'block_size 256'),
        ('bdev_aio_create', w(a, block_size=-1), INVALID, "'block_size'"),
        ('bdev_aio_create', w(a, readonly='yes'), INVALID, "'readonly' must be a boolean"),
        ('bdev_aio_create', w(a, name='Aio0'), None, "'Aio0' already exists"),
        ('bdev_aio_create', w(a, uuid='xyz'), INVALID, "uuid 'xyz'"),
        ('bdev_aio_delete', {'name': 'Malloc0'}, None, "aio bdev 'Malloc0' does not exist"),
        ('bdev_aio_rescan', {'name': 'Nope'}, None, "aio bdev 'Nope' does not exist"),
        ('bdev_aio_rescan', {}, INVALID, "missing parameter 'name'"),
        # passthru
        ('bdev_passthru_create', {'base_bdev_name': 'Malloc0'}, INVALID, "missing parameter 'name'"),
        ('bdev_passthru_create', {'name': 'PtX'}, INVALID, "missing parameter 'base_bdev_name'"),
        ('bdev_passthru_create', {'base_bdev_name': 'Malloc0', 'name': ''}, INVALID, 'name must not be empty'),
        ('bdev_passthru_create', {'base_bdev_name': 'Malloc0', 'name': 'PtX'}, None, 'already claimed'),
        ('bdev_passthru_create', {'base_bdev_name': 'Aio0', 'name': 'Malloc0'}, None, "'Malloc0' already exists"),
        ('bdev_passthru_create', {'base_bdev_name': 'Aio0', 'name': 'PtX', 'uuid': 'q'}, INVALID, "uuid 'q'"),
        ('bdev_passthru_delete', {'name': 'Malloc0'}, None, "passthru bdev 'Malloc0' does not exist"),
        # error
        ('bdev_error_create', {'base_name': 'Nope'}, None, "base_name 'Nope' does not exist"),
        ('bdev_error_create', {'base_name': 'Malloc0'}, None, "'Malloc0' is already claimed"),
        ('bdev_error_create', {'base_name': 'Malloc2'}, None, 'EE_Malloc2 already exists'),
        ('bdev_error_create', {}, INVALID, "missing parameter 'base_name'"),
        ('bdev_error_create', {'base_name': ['Aio0']}, INVALID, "'base_name' must be a string"),
        ('bdev_error_delete', {'name': 'Malloc2'}, None, "error bdev 'Malloc2' does not exist"),
        ('bdev_error_inject_error', {'name': 'EE_Malloc2', 'io_type': 'sideways', 'error_type': 'failure'},
         INVALID, "io_type 'sideways'"),
        ('bdev_error_inject_error', {'name': 'EE_Malloc2', 'io_type': 'read', 'error_type': 'meh'},
         INVALID, "error_type 'meh'"),
        ('bdev_error_inject_error', {'name': 'Malloc2', 'io_type': 'read', 'error_type': 'failure'},
         None, "error bdev 'Malloc2' does not exist"),
        ('bdev_error_inject_error', {'name': 'EE_Malloc2', 'io_type': 'read', 'error_type': 'failure', 'num': -1},
         INVALID, "'num'"),
        ('bdev_error_inject_error', {'name': 'EE_Malloc2', 'io_type': 'read', 'error_type': 'failure', 'num': 0},
         INVALID, 'num must be at least 1'),
        ('bdev_error_inject_error', {'name': 'EE_Malloc2', 'io_type': 'read', 'error_type': 'corrupt_data'},
         INVALID, 'corrupt_value must be non-zero'),
        ('bdev_error_inject_error', {'name': 'EE_Malloc2', 'io_type': 'read', 'error_type': 'corrupt_data',
                                     'corrupt_value': 300}, INVALID, 'corrupt_value 300'),
        ('bdev_error_inject_error', {'name': 'EE_Malloc2', 'error_type': 'failure'},
         INVALID, "missing parameter 'io_type'"),
        # delay
        ('bdev_delay_create', w(d, base_bdev_name='Nope'), None, "base_bdev_name 'Nope' does not exist"),
        ('bdev_delay_create', w(d, base_bdev_name='Malloc0'), None, "'Malloc0' is already claimed"),
        ('bdev_delay_create', w(d, name='Malloc0'), None, "'Malloc0' already exists"),
        ('bdev_delay_create', w(d, name=''), INVALID, 'name must not be empty'),
        ('bdev_delay_create', w(d, p99_write_latency=DROP), INVALID, "missing parameter 'p99_write_latency'"),
        ('bdev_delay_create', w(d, p99_read_latency=5), INVALID, 'p99_read_latency must be >= avg_read_latency'),
        ('bdev_delay_create', w(d, avg_read_latency=-1), INVALID, "'avg_read_latency'"),
        ('bdev_delay_create', w(d, avg_write_latency=big, p99_write_latency=big), INVALID,
         'avg_write_latency must be at most'),
        ('bdev_delay_create', w(d, avg_read_latency='10'), INVALID, "'avg_read_latency'"),
        ('bdev_delay_update_latency', {'delay_bdev_name': 'Delay0', 'latency_type': 'slow', 'latency_us': 1},
         INVALID, "latency_type 'slow'"),
        ('bdev_delay_update_latency', {'delay_bdev_name': 'Delay0', 'latency_type': 'p99_read',
                                       'latency_us': 61000000}, INVALID, 'latency_us 61000000 must be at most'),
        ('bdev_delay_update_latency', {'delay_bdev_name': 'Delay0', 'latency_type': 'p99_read',
                                       'latency_us': 100}, INVALID, 'p99 latency below its average'),
        ('bdev_delay_update_latency', {'delay_bdev_name': 'Delay0', 'latency_type': 'p99_read',
                                       'latency_us': -1}, INVALID, "'latency_us'"),
        ('bdev_delay_update_latency', {'delay_bdev_name': 'Malloc0', 'latency_type': 'avg_read',
                                       'latency_us': 1}, None, "'Malloc0' is not a delay bdev"),
        ('bdev_delay_update_latency', {'delay_bdev_name': 'Delay0', 'latency_type': 'avg_read'},
         INVALID, "missing parameter 'latency_us'"),
        ('bdev_delay_delete', {'name': 'Aio1'}, None, "delay bdev 'Aio1' does not exist"),
        # split
        ('bdev_split_create', {'base_bdev': 'Aio0', 'split_count': 0}, INVALID, 'split_count must be at least 1'),
        ('bdev_split_create', {'base_bdev': 'Aio0', 'split_count': -2}, INVALID, "'split_count'"),
        ('bdev_split_create', {'base_bdev': 'Aio0', 'split_count': 1 << 30}, INVALID, 'do not fit'),
        ('bdev_split_create', {'base_bdev': 'Aio0', 'split_count': 2, 'split_size_mb': 1 << 20}, INVALID,
         'do not fit'),
        ('bdev_split_create', {'base_bdev': 'Malloc0', 'split_count': 2}, None, "'Malloc0' is already claimed"),
        ('bdev_split_create', {'base_bdev': 'Null0', 'split_count': 2}, None, "'Null0' is already split"),
        ('bdev_split_create', {'base_bdev': 'Aio0'}, INVALID, "missing parameter 'split_count'"),
        ('bdev_split_create', {'base_bdev': '', 'split_count': 2}, INVALID, 'base_bdev must not be empty'),
        ('bdev_split_delete', {'base_bdev': 'Aio0'}, None, "'Aio0' is not split"),
        # bdev layer
        ('bdev_get_bdevs', {'name': 1}, INVALID, "'name' must be a string"),
        ('bdev_get_bdevs', {'name': 'Nope', 'timeout': -1}, INVALID, "'timeout'"),
        ('bdev_get_bdevs', {'name': 'Nope', 'timeout': 1 << 40}, INVALID, 'longer than one hour'),
        ('bdev_get_bdevs', {'name': 'Nope'}, None, "bdev 'Nope' does not exist"),
        ('bdev_get_bdevs', {'bogus': True}, INVALID, "unknown parameter 'bogus'"),
        ('bdev_get_iostat', {'name': 'Nope'}, None, "bdev 'Nope' does not exist"),
        ('bdev_get_iostat', {'name': False}, INVALID, "'name' must be a string"),
        ('bdev_reset_iostat', {'mode': 'some'}, INVALID, "mode 'some'"),
        ('bdev_reset_iostat', {'name': 'Nope'}, None, "bdev 'Nope' does not exist"),
        ('bdev_set_qos_limit', {'name': 'Pt0'}, INVALID, 'give at least one of'),
        ('bdev_set_qos_limit', {'name': 'Pt0', 'rw_ios_per_sec': 1500}, INVALID, 'multiple of 1000'),
        ('bdev_set_qos_limit', {'name': 'Pt0', 'rw_mbytes_per_sec': -1}, INVALID, "'rw_mbytes_per_sec'"),
        ('bdev_set_qos_limit', {'name': 'Pt0', 'w_mbytes_per_sec': 1 << 41}, INVALID,
         'w_mbytes_per_sec 2199023255552 is out of range'),
        ('bdev_set_qos_limit', {'name': 'Nope', 'rw_ios_per_sec': 1000}, None, "bdev 'Nope' does not exist"),
        ('bdev_set_qos_limit', {'rw_ios_per_sec': 1000}, INVALID, "missing parameter 'name'"),
        ('bdev_examine', {}, INVALID, "missing parameter 'name'"),
        ('bdev_wait_for_examine', {'name': 'Pt0'}, INVALID, 'takes no parameters'),
        ('bdev_set_options', {'bdev_io_pool_size': 'many'}, -1, 'before'),
    ]


DROP = object()


def state(client):
    """What a failed call must not change: the bdevs and the saved config."""
    bdevs = client.call('bdev_get_bdevs')
    return json.dumps(bdevs, sort_keys=True), json.dumps(client.call('save_config'), sort_keys=True)


def test_bad_params(sock, work):
    with JSONRPCClient(sock, 20) as c:
        before = state(c)
        for method, params, code, text in json_bad_cases(work):
            try:
                c.call(method, params)
                err = None
            except JSONRPCException as e:
                err = e
            check(err is not None and (code is None or err.code == code) and text in err.message and
                  err.code is not None,
                  f'{method} {json.dumps(params)} -> {code if code is not None else "error"} "{text}" '
                  f'(got {err})')
        after = state(c)
        check(before[0] == after[0], 'bdevs unchanged after every bad call')
        check(before[1] == after[1], 'saved configuration unchanged after every bad call')
        check(c.call('bdev_get_bdevs', {'name': 'Malloc0'})[0]['uuid'] == UUID0, 'target still answers')


def summary(client):
    keep = ('name', 'uuid', 'block_size', 'num_blocks', 'claim_module', 'product_name', 'optimal_io_boundary',
            'assigned_rate_limits', 'driver_specific')
    return {b['name']: {k: b.get(k) for k in keep} for b in client.call('bdev_get_bdevs')}


def main():
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError('test timed out')))
    signal.alarm(280)
    if not os.access(TGT, os.X_OK):
        print(f'{TGT} is not built', file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix='brisk_bdev_rpc_test.')
    sock = os.path.join(work, 'rpc.sock')
    shm_id = 50000 + os.getpid() % 10000
    targets = []
    try:
        tgt = Target(work, shm_id, sock, mem_mb=256)
        targets.append(tgt)
        if not check(tgt.wait_socket(), 'brisk_tgt starts'):
            print(tgt.tail(), file=sys.stderr)
            return 1
        test_create_all(sock, work)
        cli_bad_cases(sock, work)
        test_bad_params(sock, work)

        # save_config -> restart with -c -> the same bdevs and config.
        with JSONRPCClient(sock, 20) as c:
            saved = c.call('save_config')
            bdevs1 = summary(c)
        cfg = os.path.join(work, 'saved.json')
        with open(cfg, 'w') as f:
            json.dump(saved, f)
        tgt.stop_checked('target with every kind of bdev')
        tgt = Target(work, shm_id, sock, ['-c', cfg], mem_mb=256)
        targets.append(tgt)
        if check(tgt.wait_socket(), 'brisk_tgt restarts with the saved config'):
            with JSONRPCClient(sock, 20) as c:
                # The socket answers while -c is still being applied.
                c.call('framework_wait_init')
                c.call('bdev_wait_for_examine')
                bdevs2 = summary(c)
                diff = {n: (bdevs1.get(n), bdevs2.get(n)) for n in set(bdevs1) | set(bdevs2)
                        if bdevs1.get(n) != bdevs2.get(n)}
                check(not diff, f'the restarted target has the same bdevs (names, UUIDs, sizes, claims, QoS, '
                      f'module details); differences: {diff}')
                check(c.call('save_config') == saved, 'save_config after the restart gives the same JSON')

            # Deletes; a base's removal takes its virtual bdevs along.
            for args in (('bdev_passthru_delete', 'Pt0'), ('bdev_error_delete', 'EE_Malloc2'),
                         ('bdev_delay_delete', 'Delay0'), ('bdev_split_delete', 'Null0'),
                         ('bdev_aio_delete', 'Aio0'), ('bdev_null_delete', 'Null0')):
                cli_ok(sock, *args)
            cli_ok(sock, 'bdev_malloc_delete', 'Later0')
            with JSONRPCClient(sock, 20) as c:
                names = set(bdevs_by_name(c))
                check(not names & {'Pt0', 'EE_Malloc2', 'Delay0', 'Null0p0', 'Aio0', 'Null0', 'Later0',
                                   'PtLater'} and {'Malloc0', 'Malloc2', 'Aio1'} <= names,
                      f'deleted bdevs are gone, PtLater went with its base, others stay ({sorted(names)})')
                cfgb = [e['method'] for s in c.call('save_config')['subsystems'] if s['subsystem'] == 'bdev'
                        for e in s['config']]
                check('bdev_passthru_create' in cfgb, 'PtLater stays configured (it comes back with Later0)')
            # A bdev_get_bdevs waiting (up to 100 s) for a bdev does not hold up SIGTERM.
            waiter = subprocess.Popen([sys.executable, RPC_PY, '-s', sock, '-t', '120', 'bdev_get_bdevs', '-b',
                                       'Never', '-t', '100000'], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            start = time.monotonic()
            tgt.stop_checked('target after the deletes, with a bdev_get_bdevs -t 100000 waiting')
            check(time.monotonic() - start < 10, f'SIGTERM does not wait for the get_bdevs timeout '
                  f'({time.monotonic() - start:.1f} s)')
            waiter.wait(30)
        else:
            print(tgt.tail(), file=sys.stderr)

        # --wait-for-rpc: options before init, then examine by hand.
        tgt = Target(work, shm_id, sock, ['--wait-for-rpc'], mem_mb=256)
        targets.append(tgt)
        if check(tgt.wait_socket(), 'brisk_tgt --wait-for-rpc starts'):
            rc, _, err = rpc_cli(sock, 'bdev_set_options', '-p', '100', '-c', '200')
            check(rc == 1 and 'bdev_io_cache_size' in err, f'bdev_set_options with a cache larger than the '
                  f'pool is refused ({err.strip()})')
            cli_ok(sock, 'bdev_set_options', '-p', '4095', '-c', '64', '-d')
            cli_ok(sock, 'framework_start_init')
            cli_ok(sock, 'bdev_malloc_create', '-b', 'Malloc0', '8', '512')
            cli_ok(sock, 'bdev_examine', '-b', 'Malloc0')
            cli_ok(sock, 'bdev_wait_for_examine')
            with JSONRPCClient(sock, 20) as c:
                opts = [e['params'] for s in c.call('save_config')['subsystems'] if s['subsystem'] == 'bdev'
                        for e in s['config'] if e['method'] == 'bdev_set_options']
            check(opts and opts[0]['bdev_io_pool_size'] == 4095 and opts[0]['bdev_io_cache_size'] == 64 and
                  opts[0]['bdev_auto_examine'] is False, f'bdev_set_options is applied and saved ({opts})')
            # Reads held by a "pending" error rule and by a one-minute delay
            # (bdev_examine's reads of the bdevs on top) do not hold up SIGTERM.
            cli_ok(sock, 'bdev_error_create', 'Malloc0')
            cli_ok(sock, 'bdev_error_inject_error', 'EE_Malloc0', 'read', 'pending', '-n', '100')
            cli_ok(sock, 'bdev_passthru_create', '-b', 'EE_Malloc0', '-p', 'PtHeld')
            cli_ok(sock, 'bdev_malloc_create', '-b', 'Malloc1', '8', '512')
            cli_ok(sock, 'bdev_delay_create', '-b', 'Malloc1', '-d', 'DelayMin', '-r', '60000000', '-t', '60000000',
                   '-w', '1', '-n', '1')
            for name in ('PtHeld', 'DelayMin'):
                rpc_cli(sock, 'bdev_examine', '-b', name)
            time.sleep(0.5)
            start = time.monotonic()
            tgt.stop_checked('target after --wait-for-rpc, with reads held by error and delay bdevs')
            check(time.monotonic() - start < 10, f'SIGTERM does not wait for held reads '
                  f'({time.monotonic() - start:.1f} s)')
        else:
            print(tgt.tail(), file=sys.stderr)
        if FAILS:
            print(targets[-1].tail(40), file=sys.stderr)
    finally:
        signal.alarm(0)
        for t in targets:
            t.kill()
        subprocess.run(['rm', '-rf', work])
    if FAILS:
        print(f'{len(FAILS)} check(s) failed', file=sys.stderr)
        return 1
    print('all checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
