"""iSCSI target methods (SPDK's names, arguments and rpc.py spelling)."""
from .helpers import print_json, strip_none

_OPTS = [
    # (flag, dest, type or 'bool', help)
    ('-f', 'auth_file', str, 'Path to CHAP shared secret file (not supported by Brisk)'),
    ('-b', 'node_base', str, 'Prefix of the name of iSCSI target node'),
    ('-o', 'nop_timeout', int, 'Timeout in seconds to nop-in request to the initiator'),
    ('-n', 'nop_in_interval', int, 'Time interval in secs between nop-in requests by the target'),
    ('-d', 'disable_chap', 'bool', 'CHAP for discovery session should be disabled'),
    ('-r', 'require_chap', 'bool', 'CHAP for discovery session should be required'),
    ('-m', 'mutual_chap', 'bool', 'CHAP for discovery session should be mutual'),
    ('-g', 'chap_group', int, 'Authentication group ID for discovery session'),
    ('-a', 'max_sessions', int, 'Maximum number of sessions in the host'),
    ('-q', 'max_queue_depth', int, 'Max number of outstanding I/Os per queue'),
    ('-c', 'max_connections_per_session', int, 'Negotiated parameter, MaxConnections'),
    ('-w', 'default_time2wait', int, 'Negotiated parameter, DefaultTime2Wait'),
    ('-v', 'default_time2retain', int, 'Negotiated parameter, DefaultTime2Retain'),
    ('-s', 'first_burst_length', int, 'Negotiated parameter, FirstBurstLength'),
    ('-i', 'immediate_data', 'bool', 'Negotiated parameter, ImmediateData'),
    ('-l', 'error_recovery_level', int, 'Negotiated parameter, ErrorRecoveryLevel'),
    ('-p', 'allow_duplicated_isid', 'bool', 'Allow duplicated initiator session ID'),
    ('-x', 'max_large_datain_per_connection', int, 'Max large data in per connection'),
    ('-k', 'max_r2t_per_connection', int, 'Max R2T per connection'),
    ('-u', 'pdu_pool_size', int, 'Number of PDUs in the pool'),
    ('-j', 'immediate_data_pool_size', int, 'Number of immediate data buffers in the pool'),
    ('-z', 'data_out_pool_size', int, 'Number of data out buffers in the pool'),
    ('--max-recv-data-segment-length', 'max_recv_data_segment_length', int,
     'Brisk: MaxRecvDataSegmentLength the target declares'),
    ('--max-burst-length', 'max_burst_length', int, 'Brisk: MaxBurstLength the target offers'),
]


def _call(client, method, params=None):
    return client.call(method, params)


def _portals(portal_list):
    out = []
    for p in portal_list.split():
        host, _, port = p.rpartition(':')
        if host.startswith('[') and host.endswith(']'):
            host = host[1:-1]
        out.append({'host': host, 'port': port})
    return out


def _pairs(text, k1, k2):
    out = []
    for item in text.split():
        a, _, b = item.partition(':')
        out.append({k1: int(a) if k1 != 'bdev_name' else a, k2: int(b)})
    return out


def _secrets(text):
    out = []
    for group in text.split(','):
        d = {}
        for kv in group.split():
            k, _, v = kv.partition(':')
            d[k] = v
        out.append(d)
    return out


def _auth_args(p):
    p.add_argument('-g', '--chap-group', dest='chap_group', type=int, help='Authentication group ID')
    p.add_argument('-d', '--disable-chap', dest='disable_chap', action='store_true', help='CHAP disabled')
    p.add_argument('-r', '--require-chap', dest='require_chap', action='store_true', help='CHAP required')
    p.add_argument('-m', '--mutual-chap', dest='mutual_chap', action='store_true', help='CHAP mutual')


def _auth(a):
    return strip_none(chap_group=a.chap_group, disable_chap=a.disable_chap or None,
                      require_chap=a.require_chap or None, mutual_chap=a.mutual_chap or None)


def _options_parsers(subparsers):
    p = subparsers.add_parser('iscsi_set_options', help='Set options of iSCSI subsystem')
    for flag, dest, typ, hlp in _OPTS:
        if typ == 'bool':
            p.add_argument(flag, dest=dest, action='store_true', default=None, help=hlp)
        else:
            p.add_argument(flag, dest=dest, type=typ, help=hlp)
    p.set_defaults(func=lambda a: print_json(_call(a.client, 'iscsi_set_options', strip_none(
        **{d: getattr(a, d) for _, d, _, _ in _OPTS}))))
    for name in ('iscsi_get_options', 'iscsi_get_portal_groups', 'iscsi_get_initiator_groups',
                 'iscsi_get_target_nodes', 'iscsi_get_auth_groups', 'iscsi_get_connections', 'iscsi_get_stats'):
        p = subparsers.add_parser(name, help=name.replace('_', ' '))
        p.set_defaults(func=lambda a, name=name: print_json(_call(a.client, name)))
    p = subparsers.add_parser('iscsi_set_discovery_auth', help='Set CHAP authentication for discovery sessions')
    _auth_args(p)
    p.set_defaults(func=lambda a: print_json(_call(a.client, 'iscsi_set_discovery_auth', _auth(a))))


def _group_parsers(subparsers):
    p = subparsers.add_parser('iscsi_create_portal_group', help='Add a portal group')
    p.add_argument('tag', type=int, help='Portal group tag (unique, integer > 0)')
    p.add_argument('portal_list', help='Whitespace-separated list of portals "host:port" ("[::1]:3260" for IPv6)')
    p.add_argument('-p', '--private', action='store_true', help='Portals are not reported by SendTargets')
    p.add_argument('-w', '--wait', action='store_true', help='Do not listen until framework_start_init')
    p.set_defaults(func=lambda a: print_json(_call(a.client, 'iscsi_create_portal_group', strip_none(
        tag=a.tag, portals=_portals(a.portal_list), private=a.private or None, wait=a.wait or None))))
    p = subparsers.add_parser('iscsi_create_initiator_group', help='Add an initiator group')
    p.add_argument('tag', type=int, help='Initiator group tag (unique, integer > 0)')
    p.add_argument('initiator_list', help='Whitespace-separated list of initiator names or ANY')
    p.add_argument('netmask_list', help='Whitespace-separated list of initiator netmasks or ANY')
    p.set_defaults(func=lambda a: print_json(_call(a.client, 'iscsi_create_initiator_group', {
        'tag': a.tag, 'initiators': a.initiator_list.split(), 'netmasks': a.netmask_list.split()})))
    for name in ('iscsi_initiator_group_add_initiators', 'iscsi_initiator_group_remove_initiators'):
        p = subparsers.add_parser(name, help=name.replace('_', ' '))
        p.add_argument('tag', type=int, help='Initiator group tag')
        p.add_argument('-n', '--initiator-list', dest='initiator_list', help='Whitespace-separated initiator names')
        p.add_argument('-m', '--netmask-list', dest='netmask_list', help='Whitespace-separated netmasks')
        p.set_defaults(func=lambda a, name=name: print_json(_call(a.client, name, strip_none(
            tag=a.tag, initiators=a.initiator_list.split() if a.initiator_list else None,
            netmasks=a.netmask_list.split() if a.netmask_list else None))))
    for name in ('iscsi_delete_portal_group', 'iscsi_delete_initiator_group', 'iscsi_delete_auth_group'):
        p = subparsers.add_parser(name, help=name.replace('_', ' '))
        p.add_argument('tag', type=int, help='Group tag')
        p.set_defaults(func=lambda a, name=name: print_json(_call(a.client, name, {'tag': a.tag})))


def _node_parsers(subparsers):
    p = subparsers.add_parser('iscsi_create_target_node', help='Add a target node')
    p.add_argument('name', help='Target node name (ASCII); node_base is prepended when it has no ":"')
    p.add_argument('alias_name', help='Target node alias name (ASCII)')
    p.add_argument('bdev_name_id_pairs', help='Whitespace-separated "bdev_name:lun_id" pairs')
    p.add_argument('pg_ig_mappings', help='Whitespace-separated "pg_tag:ig_tag" pairs')
    p.add_argument('queue_depth', type=int, help='Desired target queue depth')
    _auth_args(p)
    p.add_argument('-H', '--header-digest', dest='header_digest', action='store_true', help='Header digest required')
    p.add_argument('-D', '--data-digest', dest='data_digest', action='store_true', help='Data digest required')
    p.set_defaults(func=lambda a: print_json(_call(a.client, 'iscsi_create_target_node', strip_none(
        name=a.name, alias_name=a.alias_name, luns=_pairs(a.bdev_name_id_pairs, 'bdev_name', 'lun_id'),
        pg_ig_maps=_pairs(a.pg_ig_mappings, 'pg_tag', 'ig_tag'), queue_depth=a.queue_depth,
        header_digest=a.header_digest or None, data_digest=a.data_digest or None, **_auth(a)))))
    p = subparsers.add_parser('iscsi_delete_target_node', help='Delete a target node')
    p.add_argument('target_node_name', help='Target node name to be deleted')
    p.set_defaults(func=lambda a: print_json(_call(a.client, 'iscsi_delete_target_node',
                                                   {'name': a.target_node_name})))
    p = subparsers.add_parser('iscsi_target_node_add_lun', help='Add a LUN to a target node')
    p.add_argument('name', help='Target node name')
    p.add_argument('bdev_name', help='bdev name')
    p.add_argument('-i', '--lun-id', dest='lun_id', type=int, help='LUN ID (lowest free when omitted)')
    p.add_argument('--write-protect', dest='write_protect', action='store_true', default=None,
                   help='Export the LUN read-only (Brisk only: writes fail DATA PROTECT)')
    p.add_argument('--removable', dest='removable', action='store_true', default=None,
                   help='A removable-medium LUN (Brisk only: INQUIRY RMB, eject/load by START STOP UNIT)')
    p.set_defaults(func=lambda a: print_json(_call(a.client, 'iscsi_target_node_add_lun', strip_none(
        name=a.name, bdev_name=a.bdev_name, lun_id=a.lun_id, write_protect=a.write_protect,
        removable=a.removable))))
    for name in ('iscsi_target_node_add_pg_ig_maps', 'iscsi_target_node_remove_pg_ig_maps'):
        p = subparsers.add_parser(name, help=name.replace('_', ' '))
        p.add_argument('name', help='Target node name')
        p.add_argument('pg_ig_mappings', help='Whitespace-separated "pg_tag:ig_tag" pairs')
        p.set_defaults(func=lambda a, name=name: print_json(_call(a.client, name, {
            'name': a.name, 'pg_ig_maps': _pairs(a.pg_ig_mappings, 'pg_tag', 'ig_tag')})))
    p = subparsers.add_parser('iscsi_target_node_set_auth', help='Set CHAP authentication for a target node')
    p.add_argument('name', help='Target node name')
    _auth_args(p)
    p.set_defaults(func=lambda a: print_json(_call(a.client, 'iscsi_target_node_set_auth',
                                                   dict(name=a.name, **_auth(a)))))


def _auth_group_parsers(subparsers):
    p = subparsers.add_parser('iscsi_create_auth_group', help='Create an authentication group for CHAP')
    p.add_argument('tag', type=int, help='Authentication group tag (unique, integer > 0)')
    p.add_argument('-c', '--secrets', help='Comma-separated list of "user:u secret:s muser:mu msecret:ms"')
    p.set_defaults(func=lambda a: print_json(_call(a.client, 'iscsi_create_auth_group', strip_none(
        tag=a.tag, secrets=_secrets(a.secrets) if a.secrets else None))))
    p = subparsers.add_parser('iscsi_auth_group_add_secret', help='Add a secret to an authentication group')
    p.add_argument('tag', type=int, help='Authentication group tag')
    p.add_argument('-u', '--user', required=True, help='User name for one-way CHAP')
    p.add_argument('-s', '--secret', required=True, help='Secret for one-way CHAP')
    p.add_argument('-m', '--muser', help='User name for mutual CHAP')
    p.add_argument('-r', '--msecret', help='Secret for mutual CHAP')
    p.set_defaults(func=lambda a: print_json(_call(a.client, 'iscsi_auth_group_add_secret', strip_none(
        tag=a.tag, user=a.user, secret=a.secret, muser=a.muser, msecret=a.msecret))))
    p = subparsers.add_parser('iscsi_auth_group_remove_secret', help='Remove a secret from an authentication group')
    p.add_argument('tag', type=int, help='Authentication group tag')
    p.add_argument('-u', '--user', required=True, help='User name of the secret')
    p.set_defaults(func=lambda a: print_json(_call(a.client, 'iscsi_auth_group_remove_secret',
                                                   {'tag': a.tag, 'user': a.user})))


def add_parsers(subparsers):
    _options_parsers(subparsers)
    _group_parsers(subparsers)
    _node_parsers(subparsers)
    _auth_group_parsers(subparsers)
