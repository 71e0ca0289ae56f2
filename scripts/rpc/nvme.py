"""NVMe bdev module methods: controllers and their options (SPDK's names and arguments)."""
from .helpers import print_json, strip_none


def bdev_nvme_attach_controller(client, name, trtype, traddr, adrfam=None, trsvcid=None,
                                priority=None, subnqn=None, hostnqn=None, hostaddr=None,
                                hostsvcid=None, prchk_reftag=None, prchk_guard=None, hdgst=None,
                                ddgst=None, fabrics_connect_timeout_us=None, multipath=None,
                                num_io_queues=None, ctrlr_loss_timeout_sec=None,
                                reconnect_delay_sec=None, fast_io_fail_timeout_sec=None,
                                psk=None, max_bdevs=None):
    return client.call('bdev_nvme_attach_controller', strip_none(
        name=name, trtype=trtype, traddr=traddr, adrfam=adrfam, trsvcid=trsvcid, priority=priority,
        subnqn=subnqn, hostnqn=hostnqn, hostaddr=hostaddr, hostsvcid=hostsvcid,
        prchk_reftag=prchk_reftag, prchk_guard=prchk_guard, hdgst=hdgst, ddgst=ddgst,
        fabrics_connect_timeout_us=fabrics_connect_timeout_us, multipath=multipath,
        num_io_queues=num_io_queues, ctrlr_loss_timeout_sec=ctrlr_loss_timeout_sec,
        reconnect_delay_sec=reconnect_delay_sec, fast_io_fail_timeout_sec=fast_io_fail_timeout_sec,
        psk=psk, max_bdevs=max_bdevs))


def bdev_nvme_detach_controller(client, name, trtype=None, traddr=None, adrfam=None, trsvcid=None,
                                subnqn=None, hostaddr=None, hostsvcid=None):
    return client.call('bdev_nvme_detach_controller', strip_none(
        name=name, trtype=trtype, traddr=traddr, adrfam=adrfam, trsvcid=trsvcid, subnqn=subnqn,
        hostaddr=hostaddr, hostsvcid=hostsvcid))


def bdev_nvme_get_controllers(client, name=None):
    return client.call('bdev_nvme_get_controllers', strip_none(name=name) or None)


def bdev_nvme_reset_controller(client, name):
    return client.call('bdev_nvme_reset_controller', {'name': name})


def bdev_nvme_set_hotplug(client, enable, period_us=None):
    return client.call('bdev_nvme_set_hotplug', strip_none(enable=enable, period_us=period_us))


def bdev_nvme_set_options(client, **params):
    return client.call('bdev_nvme_set_options', strip_none(**params))


# Options of bdev_nvme_set_options: (flags, key, type, help). Brisk applies the
# first group; the others are accepted at SPDK's default only.
_SET_OPTIONS_ARGS = [
    (['-a', '--action-on-timeout'], 'action_on_timeout', str,
     'Action to take on command time out: none, reset, abort'),
    (['-t', '--timeout-us'], 'timeout_us', int, "Timeout for each command, in microseconds. If 0, "
     "don't track timeouts"),
    (['--timeout-admin-us'], 'timeout_admin_us', int, 'Timeout of admin commands (0: as timeout_us)'),
    (['-k', '--keep-alive-timeout-ms'], 'keep_alive_timeout_ms', int,
     'Keep alive timeout period in milliseconds (fabrics)'),
    (['-r', '--retry-count'], 'retry_count', int, 'Deprecated: transport_retry_count'),
    (['--arbitration-burst'], 'arbitration_burst', int, 'Arbitration burst, a power of two'),
    (['--low-priority-weight'], 'low_priority_weight', int, 'Low priority queue weight'),
    (['--medium-priority-weight'], 'medium_priority_weight', int, 'Medium priority queue weight'),
    (['--high-priority-weight'], 'high_priority_weight', int, 'High priority queue weight'),
    (['-p', '--nvme-adminq-poll-period-us'], 'nvme_adminq_poll_period_us', int,
     'How often the admin queue is polled, in microseconds'),
    (['-i', '--nvme-ioq-poll-period-us'], 'nvme_ioq_poll_period_us', int,
     'How often I/O queues are polled while I/O is in flight (0: continuously)'),
    (['-s', '--io-queue-requests'], 'io_queue_requests', int,
     'Requests allocated per I/O queue pair (0: the driver default)'),
    (['-c', '--transport-retry-count'], 'transport_retry_count', int, 'Transport retries'),
    (['--bdev-retry-count'], 'bdev_retry_count', int,
     'Retries of a failed I/O the controller allows (-1: no limit)'),
    (['-e', '--transport-ack-timeout'], 'transport_ack_timeout', int, 'RDMA ack timeout'),
    (['-l', '--ctrlr-loss-timeout-sec'], 'ctrlr_loss_timeout_sec', int, 'Reconnect: controller loss'),
    (['-o', '--reconnect-delay-sec'], 'reconnect_delay_sec', int, 'Reconnect: delay'),
    (['-u', '--fast-io-fail-timeout-sec'], 'fast_io_fail_timeout_sec', int, 'Reconnect: fast fail'),
    (['--transport-tos'], 'transport_tos', int, 'RDMA type of service'),
    (['--rdma-srq-size'], 'rdma_srq_size', int, 'RDMA shared receive queue size'),
]


def bdev_nvme_get_io_paths(client, name=None):
    return client.call('bdev_nvme_get_io_paths', strip_none(name=name))


def bdev_nvme_set_multipath_policy(client, name, policy, selector=None, rr_min_io=None):
    return client.call('bdev_nvme_set_multipath_policy', strip_none(name=name, policy=policy, selector=selector,
                                                                    rr_min_io=rr_min_io))


def _multipath_parsers(subparsers):
    p = subparsers.add_parser('bdev_nvme_get_io_paths', help='Display the I/O paths of NVMe bdevs')
    p.add_argument('-n', '--name', help='Name of the NVMe bdev')
    p.set_defaults(func=lambda a: print_json(bdev_nvme_get_io_paths(a.client, a.name)))

    p = subparsers.add_parser('bdev_nvme_set_multipath_policy', help='Set multipath policy of an NVMe bdev')
    p.add_argument('-b', '--name', help='Name of the NVMe bdev', required=True)
    p.add_argument('-p', '--policy', help='active_passive or active_active', required=True)
    p.add_argument('-s', '--selector', help='round_robin (active_active)')
    p.add_argument('-r', '--rr-min-io', dest='rr_min_io', type=int, help='I/Os per path in a row (1)')
    p.set_defaults(func=lambda a: print_json(bdev_nvme_set_multipath_policy(
        a.client, a.name, a.policy, a.selector, a.rr_min_io)))


def _set_options(a):
    params = {key: getattr(a, key) for _, key, _, _ in _SET_OPTIONS_ARGS}
    for key in ('delay_cmd_submit', 'disable_auto_failback', 'generate_uuids', 'nvme_error_stat',
                'io_path_stat'):
        params[key] = getattr(a, key)
    return print_json(bdev_nvme_set_options(a.client, **params))


def _attach(a):
    return print_json(bdev_nvme_attach_controller(
        a.client, a.name, a.trtype, a.traddr, a.adrfam, a.trsvcid, a.priority, a.subnqn, a.hostnqn,
        a.hostaddr, a.hostsvcid, a.prchk_reftag, a.prchk_guard, a.hdgst, a.ddgst, a.fabrics_timeout,
        a.multipath, a.num_io_queues, a.ctrlr_loss_timeout_sec, a.reconnect_delay_sec,
        a.fast_io_fail_timeout_sec, a.psk, a.max_bdevs))


def add_parsers(subparsers):
    _multipath_parsers(subparsers)
    p = subparsers.add_parser('bdev_nvme_set_options', help='Set options for the bdev nvme type. This is '
                              'startup command.')
    for flags, key, typ, helptext in _SET_OPTIONS_ARGS:
        p.add_argument(*flags, dest=key, type=typ, help=helptext)
    p.add_argument('-d', '--disable-delay-cmd-submit', dest='delay_cmd_submit', action='store_false',
                   default=None, help='Disable delaying NVMe command submission')
    p.add_argument('-f', '--disable-auto-failback', action='store_true', default=None,
                   help='Disable automatic failback (multipath)')
    p.add_argument('--generate-uuids', action='store_true', default=None,
                   help='Generate UUIDs for namespaces without one')
    p.add_argument('--nvme-error-stat', action='store_true', default=None, help='Count NVMe errors')
    p.add_argument('--io-path-stat', action='store_true', default=None, help='Count I/O per path')
    p.set_defaults(func=_set_options)

    p = subparsers.add_parser('bdev_nvme_set_hotplug', help='Set hotplug options for bdev nvme type.')
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument('-d', '--disable', dest='enable', default=None, action='store_false',
                       help='Disable hotplug (default)')
    group.add_argument('-e', '--enable', dest='enable', default=None, action='store_true',
                       help='Enable hotplug')
    p.add_argument('-r', '--period-us', type=int,
                   help='How often the hotplug is processed for insert and remove events')
    p.set_defaults(func=lambda a: print_json(bdev_nvme_set_hotplug(a.client, a.enable, a.period_us)))

    p = subparsers.add_parser('bdev_nvme_attach_controller', help='Add bdevs with nvme backend')
    p.add_argument('-b', '--name', required=True,
                   help='Name of the NVMe controller, prefix for each bdev name')
    p.add_argument('-t', '--trtype', required=True, help='NVMe-oF target trtype: e.g., pcie, tcp')
    p.add_argument('-a', '--traddr', required=True,
                   help='NVMe-oF target address: e.g., an ip address or BDF')
    p.add_argument('-f', '--adrfam', help='NVMe-oF target adrfam: e.g., ipv4, ipv6')
    p.add_argument('-s', '--trsvcid', help='NVMe-oF target trsvcid: e.g., a port number')
    p.add_argument('-p', '--priority', help='NVMe-oF connection priority: e.g., a priority number')
    p.add_argument('-n', '--subnqn', help='NVMe-oF target subnqn')
    p.add_argument('-q', '--hostnqn', help='NVMe-oF host subnqn')
    p.add_argument('-i', '--hostaddr', help='NVMe-oF host address: e.g., an ip address')
    p.add_argument('-c', '--hostsvcid', help='NVMe-oF host svcid: e.g., a port number')
    p.add_argument('-r', '--prchk-reftag', action='store_true', default=None,
                   help='Enable checking of PI reference tag for I/O processing.')
    p.add_argument('-g', '--prchk-guard', action='store_true', default=None,
                   help='Enable checking of PI guard for I/O processing.')
    p.add_argument('-e', '--hdgst', action='store_true', default=None, help='Enable TCP header digest.')
    p.add_argument('-d', '--ddgst', action='store_true', default=None, help='Enable TCP data digest.')
    p.add_argument('--fabrics-timeout', type=int, help='Fabrics connect timeout in microseconds')
    p.add_argument('-x', '--multipath', help='Set multipath behavior (disable, failover, multipath)')
    p.add_argument('--num-io-queues', type=int,
                   help='Set the number of IO queues to request during initialization.')
    p.add_argument('-l', '--ctrlr-loss-timeout-sec', type=int,
                   help='Time to wait until ctrlr is reconnected before deleting ctrlr.')
    p.add_argument('-o', '--reconnect-delay-sec', type=int, help='Time to delay a reconnect retry.')
    p.add_argument('-u', '--fast-io-fail-timeout-sec', type=int,
                   help='Time to wait until ctrlr is reconnected before failing I/O to ctrlr.')
    p.add_argument('--psk', help='TLS PSK (not supported by Brisk)')
    p.add_argument('-m', '--max-bdevs', type=int, help='Largest number of namespace bdevs to create')
    p.set_defaults(func=_attach)

    p = subparsers.add_parser('bdev_nvme_get_controllers',
                              help='Display current NVMe controllers list or required NVMe controller')
    p.add_argument('-n', '--name', help='Name of the NVMe controller. Example: Nvme0')
    p.set_defaults(func=lambda a: print_json(bdev_nvme_get_controllers(a.client, a.name)))

    p = subparsers.add_parser('bdev_nvme_detach_controller',
                              help='Detach an NVMe controller and delete any associated bdevs')
    p.add_argument('name', help='Name of the controller')
    p.add_argument('-t', '--trtype', help='NVMe-oF target trtype: e.g., pcie, tcp')
    p.add_argument('-a', '--traddr', help='NVMe-oF target address: e.g., an ip address or BDF')
    p.add_argument('-f', '--adrfam', help='NVMe-oF target adrfam: e.g., ipv4, ipv6')
    p.add_argument('-s', '--trsvcid', help='NVMe-oF target trsvcid: e.g., a port number')
    p.add_argument('-n', '--subnqn', help='NVMe-oF target subnqn')
    p.add_argument('-i', '--hostaddr', help='NVMe-oF host address: e.g., an ip address')
    p.add_argument('-c', '--hostsvcid', help='NVMe-oF host svcid: e.g., a port number')
    p.set_defaults(func=lambda a: print_json(bdev_nvme_detach_controller(
        a.client, a.name, a.trtype, a.traddr, a.adrfam, a.trsvcid, a.subnqn, a.hostaddr, a.hostsvcid)))

    p = subparsers.add_parser('bdev_nvme_reset_controller', help='Reset an NVMe controller')
    p.add_argument('name', help='Name of the NVMe controller')
    p.set_defaults(func=lambda a: print_json(bdev_nvme_reset_controller(a.client, a.name)))
