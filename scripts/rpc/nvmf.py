"""NVMe-oF target methods (SPDK's names, arguments and rpc.py spelling)."""
from .helpers import print_json, strip_none


def nvmf_create_transport(client, trtype, **params):
    return client.call('nvmf_create_transport', strip_none(trtype=trtype, **params))


def nvmf_get_transports(client, trtype=None, tgt_name=None):
    return client.call('nvmf_get_transports', strip_none(trtype=trtype, tgt_name=tgt_name) or None)


def nvmf_set_config(client, **params):
    return client.call('nvmf_set_config', strip_none(**params))


def nvmf_set_max_subsystems(client, max_subsystems):
    return client.call('nvmf_set_max_subsystems', {'max_subsystems': max_subsystems})


def nvmf_get_stats(client, tgt_name=None):
    return client.call('nvmf_get_stats', strip_none(tgt_name=tgt_name) or None)


def nvmf_create_subsystem(client, nqn, **params):
    return client.call('nvmf_create_subsystem', strip_none(nqn=nqn, **params))


def nvmf_delete_subsystem(client, nqn, tgt_name=None):
    return client.call('nvmf_delete_subsystem', strip_none(nqn=nqn, tgt_name=tgt_name))


def nvmf_get_subsystems(client, nqn=None, tgt_name=None):
    return client.call('nvmf_get_subsystems', strip_none(nqn=nqn, tgt_name=tgt_name) or None)


def _listen_address(trtype, traddr, trsvcid, adrfam=None):
    return strip_none(trtype=trtype, adrfam=adrfam, traddr=traddr, trsvcid=trsvcid)


def nvmf_subsystem_add_listener(client, nqn, trtype, traddr, trsvcid, adrfam=None, tgt_name=None,
                                secure_channel=None, ana_state=None):
    return client.call('nvmf_subsystem_add_listener', strip_none(
        nqn=nqn, listen_address=_listen_address(trtype, traddr, trsvcid, adrfam), tgt_name=tgt_name,
        secure_channel=secure_channel, ana_state=ana_state))


def nvmf_subsystem_remove_listener(client, nqn, trtype, traddr, trsvcid, adrfam=None, tgt_name=None):
    return client.call('nvmf_subsystem_remove_listener', strip_none(
        nqn=nqn, listen_address=_listen_address(trtype, traddr, trsvcid, adrfam), tgt_name=tgt_name))


def nvmf_subsystem_listener_set_ana_state(client, nqn, ana_state, trtype, traddr, trsvcid, adrfam=None,
                                          tgt_name=None, anagrpid=None):
    return client.call('nvmf_subsystem_listener_set_ana_state', strip_none(
        nqn=nqn, listen_address=_listen_address(trtype, traddr, trsvcid, adrfam), ana_state=ana_state,
        tgt_name=tgt_name, anagrpid=anagrpid))


def nvmf_subsystem_get_listeners(client, nqn, tgt_name=None):
    return client.call('nvmf_subsystem_get_listeners', strip_none(nqn=nqn, tgt_name=tgt_name))


def nvmf_subsystem_add_ns(client, nqn, bdev_name, tgt_name=None, ptpl_file=None, nsid=None, nguid=None,
                          eui64=None, uuid=None, anagrpid=None):
    ns = strip_none(bdev_name=bdev_name, ptpl_file=ptpl_file, nsid=nsid, nguid=nguid, eui64=eui64,
                    uuid=uuid, anagrpid=anagrpid)
    return client.call('nvmf_subsystem_add_ns', strip_none(nqn=nqn, namespace=ns, tgt_name=tgt_name))


def nvmf_subsystem_remove_ns(client, nqn, nsid, tgt_name=None):
    return client.call('nvmf_subsystem_remove_ns', strip_none(nqn=nqn, nsid=nsid, tgt_name=tgt_name))


def nvmf_subsystem_add_host(client, nqn, host, tgt_name=None, psk=None):
    return client.call('nvmf_subsystem_add_host', strip_none(nqn=nqn, host=host, tgt_name=tgt_name, psk=psk))


def nvmf_subsystem_remove_host(client, nqn, host, tgt_name=None):
    return client.call('nvmf_subsystem_remove_host', strip_none(nqn=nqn, host=host, tgt_name=tgt_name))


def nvmf_subsystem_allow_any_host(client, nqn, allow_any_host, tgt_name=None):
    return client.call('nvmf_subsystem_allow_any_host', strip_none(
        nqn=nqn, allow_any_host=allow_any_host, tgt_name=tgt_name))


def nvmf_subsystem_get_controllers(client, nqn, tgt_name=None):
    return client.call('nvmf_subsystem_get_controllers', strip_none(nqn=nqn, tgt_name=tgt_name))


def nvmf_subsystem_get_qpairs(client, nqn, tgt_name=None):
    return client.call('nvmf_subsystem_get_qpairs', strip_none(nqn=nqn, tgt_name=tgt_name))


def _create_transport(a):
    print_json(nvmf_create_transport(
        a.client, a.trtype, tgt_name=a.tgt_name, max_queue_depth=a.max_queue_depth,
        max_io_qpairs_per_ctrlr=a.max_io_qpairs_per_ctrlr, in_capsule_data_size=a.in_capsule_data_size,
        max_io_size=a.max_io_size, io_unit_size=a.io_unit_size, max_aq_depth=a.max_aq_depth,
        num_shared_buffers=a.num_shared_buffers, buf_cache_size=a.buf_cache_size,
        c2h_success=False if a.no_c2h_success else None, dif_insert_or_strip=a.dif_insert_or_strip or None,
        zcopy=a.zcopy or None, sock_priority=a.sock_priority, abort_timeout_sec=a.abort_timeout_sec))


def _create_subsystem(a):
    print_json(nvmf_create_subsystem(
        a.client, a.nqn, tgt_name=a.tgt_name, serial_number=a.serial_number, model_number=a.model_number,
        allow_any_host=a.allow_any_host or None, max_namespaces=a.max_namespaces,
        ana_reporting=a.ana_reporting or None, min_cntlid=a.min_cntlid, max_cntlid=a.max_cntlid))


def _listener_args(p):
    p.add_argument('nqn', help='NVMe-oF subsystem NQN')
    p.add_argument('-t', '--trtype', help='NVMe-oF transport type: e.g., tcp', required=True)
    p.add_argument('-a', '--traddr', help='NVMe-oF transport address: e.g., an ip address', required=True)
    p.add_argument('-p', '--tgt-name', dest='tgt_name', help='The name of the parent NVMe-oF target')
    p.add_argument('-f', '--adrfam', help='NVMe-oF transport adrfam: ipv4 or ipv6')
    p.add_argument('-s', '--trsvcid', help='NVMe-oF transport service id: e.g., a port number', required=True)


def _transport_parser(subparsers):
    p = subparsers.add_parser('nvmf_create_transport', help='Create NVMf transport')
    p.add_argument('-t', '--trtype', help='Transport type (ex. TCP)', required=True)
    p.add_argument('-g', '--tgt-name', dest='tgt_name', help='The name of the parent NVMe-oF target')
    p.add_argument('-q', '--max-queue-depth', dest='max_queue_depth', type=int, help='Max queue depth')
    p.add_argument('-m', '--max-io-qpairs-per-ctrlr', dest='max_io_qpairs_per_ctrlr', type=int,
                   help='Max number of IO qpairs per controller')
    p.add_argument('-c', '--in-capsule-data-size', dest='in_capsule_data_size', type=int,
                   help='Max number of in-capsule data size')
    p.add_argument('-i', '--max-io-size', dest='max_io_size', type=int, help='Max I/O size (bytes)')
    p.add_argument('-u', '--io-unit-size', dest='io_unit_size', type=int, help='I/O unit size (bytes)')
    p.add_argument('-a', '--max-aq-depth', dest='max_aq_depth', type=int, help='Max number of admin cmds per AQ')
    p.add_argument('-n', '--num-shared-buffers', dest='num_shared_buffers', type=int,
                   help='The number of pooled data buffers available to the transport')
    p.add_argument('-b', '--buf-cache-size', dest='buf_cache_size', type=int,
                   help='The number of shared buffers to reserve for each poll group')
    p.add_argument('-z', '--zcopy', action='store_true', help='Use zero-copy operations if the transport allows')
    p.add_argument('-o', '--c2h-success', dest='no_c2h_success', action='store_true',
                   help='Disable C2H success optimization (TCP)')
    p.add_argument('-f', '--dif-insert-or-strip', dest='dif_insert_or_strip', action='store_true',
                   help='Enable DIF insert/strip (not supported)')
    p.add_argument('-y', '--sock-priority', dest='sock_priority', type=int, help='Socket priority (TCP)')
    p.add_argument('-x', '--abort-timeout-sec', dest='abort_timeout_sec', type=int,
                   help='Abort execution timeout value, in seconds')
    p.set_defaults(func=_create_transport)

    p = subparsers.add_parser('nvmf_get_transports', help='Display nvmf transports or a required transport')
    p.add_argument('--trtype', help='Transport type (optional)')
    p.add_argument('-t', '--tgt-name', dest='tgt_name', help='The name of the parent NVMe-oF target')
    p.set_defaults(func=lambda a: print_json(nvmf_get_transports(a.client, a.trtype, a.tgt_name)))

    p = subparsers.add_parser('nvmf_set_config', help='Set NVMf target config (before init)')
    p.add_argument('-r', '--acceptor-poll-rate', dest='acceptor_poll_rate', type=int,
                   help='Polling interval of the acceptor for incoming connections (usec)')
    p.add_argument('-m', '--poll-groups-mask', dest='poll_groups_mask', help='Set cpumask for NVMf poll groups')
    p.add_argument('-d', '--discovery-filter', dest='discovery_filter', help='Discovery log page filter')
    p.set_defaults(func=lambda a: print_json(nvmf_set_config(
        a.client, acceptor_poll_rate=a.acceptor_poll_rate, poll_groups_mask=a.poll_groups_mask,
        discovery_filter=a.discovery_filter)))

    p = subparsers.add_parser('nvmf_set_max_subsystems', help='Set the maximum number of NVMf subsystems')
    p.add_argument('-n', '--max-subsystems', dest='max_subsystems', type=int, required=True,
                   help='Max number of NVMf subsystems')
    p.set_defaults(func=lambda a: print_json(nvmf_set_max_subsystems(a.client, a.max_subsystems)))

    p = subparsers.add_parser('nvmf_get_stats', help='Display current statistics for NVMf subsystem')
    p.add_argument('-t', '--tgt-name', dest='tgt_name', help='The name of the parent NVMe-oF target')
    p.set_defaults(func=lambda a: print_json(nvmf_get_stats(a.client, a.tgt_name)))


def _subsystem_parsers(subparsers):
    p = subparsers.add_parser('nvmf_get_subsystems', help='Display nvmf subsystems')
    p.add_argument('nqn', nargs='?', help='Subsystem NQN (optional)')
    p.add_argument('-t', '--tgt-name', dest='tgt_name', help='The name of the parent NVMe-oF target')
    p.set_defaults(func=lambda a: print_json(nvmf_get_subsystems(a.client, a.nqn, a.tgt_name)))

    p = subparsers.add_parser('nvmf_create_subsystem', help='Create an NVMe-oF subsystem')
    p.add_argument('nqn', help='Subsystem NQN (ASCII)')
    p.add_argument('-t', '--tgt-name', dest='tgt_name', help='The name of the parent NVMe-oF target')
    p.add_argument('-s', '--serial-number', dest='serial_number', help='Format: ASCII, at most 20 characters')
    p.add_argument('-d', '--model-number', dest='model_number', help='Format: ASCII, at most 40 characters')
    p.add_argument('-a', '--allow-any-host', action='store_true', help='Allow any host to connect')
    p.add_argument('-m', '--max-namespaces', dest='max_namespaces', type=int,
                   help='Maximum number of namespaces allowed')
    p.add_argument('-r', '--ana-reporting', action='store_true', help='Enable ANA reporting feature')
    p.add_argument('-i', '--min_cntlid', dest='min_cntlid', type=int, help='Minimum controller ID')
    p.add_argument('-I', '--max_cntlid', dest='max_cntlid', type=int, help='Maximum controller ID')
    p.set_defaults(func=_create_subsystem)

    p = subparsers.add_parser('nvmf_delete_subsystem', help='Delete a nvmf subsystem')
    p.add_argument('subsystem_nqn', help='subsystem nqn to be deleted. Example: nqn.2016-06.io.spdk:cnode1.')
    p.add_argument('-t', '--tgt-name', dest='tgt_name', help='The name of the parent NVMe-oF target')
    p.set_defaults(func=lambda a: print_json(nvmf_delete_subsystem(a.client, a.subsystem_nqn, a.tgt_name)))

    for name, fn in (('nvmf_subsystem_add_listener', nvmf_subsystem_add_listener),
                     ('nvmf_subsystem_remove_listener', nvmf_subsystem_remove_listener)):
        p = subparsers.add_parser(name, help=name.replace('_', ' '))
        _listener_args(p)
        p.set_defaults(func=lambda a, fn=fn: print_json(fn(
            a.client, a.nqn, a.trtype, a.traddr, a.trsvcid, adrfam=a.adrfam, tgt_name=a.tgt_name)))

    p = subparsers.add_parser('nvmf_subsystem_listener_set_ana_state', help='Set ANA state of a listener')
    _listener_args(p)
    p.add_argument('-n', '--ana-state', dest='ana_state', required=True,
                   help='ANA state: optimized, non_optimized or inaccessible')
    p.add_argument('-g', '--anagrpid', type=int, help='ANA group ID (default: every group)')
    p.set_defaults(func=lambda a: print_json(nvmf_subsystem_listener_set_ana_state(
        a.client, a.nqn, a.ana_state, a.trtype, a.traddr, a.trsvcid, adrfam=a.adrfam, tgt_name=a.tgt_name,
        anagrpid=a.anagrpid)))

    p = subparsers.add_parser('nvmf_subsystem_get_listeners', help='Display listeners of an NVMe-oF subsystem')
    p.add_argument('nqn', help='NVMe-oF subsystem NQN')
    p.add_argument('-t', '--tgt-name', dest='tgt_name', help='The name of the parent NVMe-oF target')
    p.set_defaults(func=lambda a: print_json(nvmf_subsystem_get_listeners(a.client, a.nqn, a.tgt_name)))


def _ns_host_parsers(subparsers):
    p = subparsers.add_parser('nvmf_subsystem_add_ns', help='Add a namespace to an NVMe-oF subsystem')
    p.add_argument('nqn', help='NVMe-oF subsystem NQN')
    p.add_argument('bdev_name', help='The name of the bdev that will back this namespace')
    p.add_argument('-t', '--tgt-name', dest='tgt_name', help='The name of the parent NVMe-oF target')
    p.add_argument('-p', '--ptpl-file', dest='ptpl_file', help='The persistent reservation storage location')
    p.add_argument('-n', '--nsid', type=int, help='The requested NSID (optional)')
    p.add_argument('-g', '--nguid', help='Namespace globally unique identifier (optional)')
    p.add_argument('-e', '--eui64', help='Namespace EUI-64 identifier (optional)')
    p.add_argument('-u', '--uuid', help='Namespace UUID (optional)')
    p.add_argument('-a', '--anagrpid', type=int, help='ANA group ID (optional)')
    p.set_defaults(func=lambda a: print_json(nvmf_subsystem_add_ns(
        a.client, a.nqn, a.bdev_name, tgt_name=a.tgt_name, ptpl_file=a.ptpl_file, nsid=a.nsid,
        nguid=a.nguid, eui64=a.eui64, uuid=a.uuid, anagrpid=a.anagrpid)))

    p = subparsers.add_parser('nvmf_subsystem_remove_ns', help='Remove a namespace from an NVMe-oF subsystem')
    p.add_argument('nqn', help='NVMe-oF subsystem NQN')
    p.add_argument('nsid', type=int, help='The requested NSID')
    p.add_argument('-t', '--tgt-name', dest='tgt_name', help='The name of the parent NVMe-oF target')
    p.set_defaults(func=lambda a: print_json(nvmf_subsystem_remove_ns(a.client, a.nqn, a.nsid, a.tgt_name)))

    for name, fn in (('nvmf_subsystem_add_host', nvmf_subsystem_add_host),
                     ('nvmf_subsystem_remove_host', nvmf_subsystem_remove_host)):
        p = subparsers.add_parser(name, help=name.replace('_', ' '))
        p.add_argument('nqn', help='NVMe-oF subsystem NQN')
        p.add_argument('host', help='Host NQN')
        p.add_argument('-t', '--tgt-name', dest='tgt_name', help='The name of the parent NVMe-oF target')
        p.set_defaults(func=lambda a, fn=fn: print_json(fn(a.client, a.nqn, a.host, tgt_name=a.tgt_name)))

    p = subparsers.add_parser('nvmf_subsystem_allow_any_host', help='Allow any host to connect to the subsystem')
    p.add_argument('nqn', help='NVMe-oF subsystem NQN')
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument('-e', '--enable', action='store_true', help='Enable allowing any host')
    g.add_argument('-d', '--disable', action='store_true', help='Disable allowing any host')
    p.add_argument('-t', '--tgt-name', dest='tgt_name', help='The name of the parent NVMe-oF target')
    p.set_defaults(func=lambda a: print_json(nvmf_subsystem_allow_any_host(a.client, a.nqn, a.enable,
                                                                           a.tgt_name)))

    for name, fn in (('nvmf_subsystem_get_controllers', nvmf_subsystem_get_controllers),
                     ('nvmf_subsystem_get_qpairs', nvmf_subsystem_get_qpairs)):
        p = subparsers.add_parser(name, help=name.replace('_', ' '))
        p.add_argument('nqn', help='NVMe-oF subsystem NQN')
        p.add_argument('-t', '--tgt-name', dest='tgt_name', help='The name of the parent NVMe-oF target')
        p.set_defaults(func=lambda a, fn=fn: print_json(fn(a.client, a.nqn, a.tgt_name)))


def add_parsers(subparsers):
    _transport_parser(subparsers)
    _subsystem_parsers(subparsers)
    _ns_host_parsers(subparsers)
