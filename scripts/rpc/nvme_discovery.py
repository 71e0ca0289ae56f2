"""NVMe bdev module's discovery service (SPDK's names and arguments)."""
from .helpers import print_json, strip_none


def bdev_nvme_start_discovery(client, name, trtype, traddr, adrfam=None, trsvcid=None,
                              hostnqn=None, wait_for_attach=None, attach_timeout_ms=None,
                              ctrlr_loss_timeout_sec=None, reconnect_delay_sec=None,
                              fast_io_fail_timeout_sec=None):
    return client.call('bdev_nvme_start_discovery', strip_none(
        name=name, trtype=trtype, traddr=traddr, adrfam=adrfam, trsvcid=trsvcid, hostnqn=hostnqn,
        wait_for_attach=wait_for_attach, attach_timeout_ms=attach_timeout_ms,
        ctrlr_loss_timeout_sec=ctrlr_loss_timeout_sec, reconnect_delay_sec=reconnect_delay_sec,
        fast_io_fail_timeout_sec=fast_io_fail_timeout_sec))


def bdev_nvme_stop_discovery(client, name):
    return client.call('bdev_nvme_stop_discovery', {'name': name})


def bdev_nvme_get_discovery_info(client):
    return client.call('bdev_nvme_get_discovery_info')


def _start(a):
    print_json(bdev_nvme_start_discovery(
        a.client, a.name, a.trtype, a.traddr, a.adrfam, a.trsvcid, a.hostnqn, a.wait_for_attach,
        a.attach_timeout_ms, a.ctrlr_loss_timeout_sec, a.reconnect_delay_sec, a.fast_io_fail_timeout_sec))


def add_parsers(subparsers):
    p = subparsers.add_parser('bdev_nvme_start_discovery', help='Start automatic discovery')
    p.add_argument('-b', '--name', required=True, help='Name of the NVMe controller prefix for each bdev name')
    p.add_argument('-t', '--trtype', required=True, help='NVMe-oF target trtype: e.g., tcp')
    p.add_argument('-a', '--traddr', required=True, help='NVMe-oF target address: e.g., an ip address')
    p.add_argument('-f', '--adrfam', help='NVMe-oF target adrfam: e.g., ipv4, ipv6')
    p.add_argument('-s', '--trsvcid', help='NVMe-oF target trsvcid: e.g., a port number')
    p.add_argument('-q', '--hostnqn', help='NVMe-oF host subnqn')
    p.add_argument('-w', '--wait-for-attach', action='store_true', default=None,
                   help='Do not complete RPC until all discovered NVM subsystems are attached')
    p.add_argument('-T', '--attach-timeout-ms', type=int,
                   help='Time to wait until the discovery and all discovered NVM subsystems are '
                   'attached (default: 0, wait indefinitely); implies --wait-for-attach')
    p.add_argument('-l', '--ctrlr-loss-timeout-sec', type=int,
                   help='Time to wait until ctrlr is reconnected before deleting ctrlr.')
    p.add_argument('-o', '--reconnect-delay-sec', type=int, help='Time to delay a reconnect retry.')
    p.add_argument('-u', '--fast-io-fail-timeout-sec', type=int,
                   help='Time to wait until ctrlr is reconnected before failing I/O to ctrlr.')
    p.set_defaults(func=_start)

    p = subparsers.add_parser('bdev_nvme_stop_discovery', help='Stop automatic discovery')
    p.add_argument('-b', '--name', required=True, help='Name of the service to stop')
    p.set_defaults(func=lambda a: print_json(bdev_nvme_stop_discovery(a.client, a.name)))

    p = subparsers.add_parser('bdev_nvme_get_discovery_info',
                              help='Get information about the automatic discovery')
    p.set_defaults(func=lambda a: print_json(bdev_nvme_get_discovery_info(a.client)))
