"""Framework methods: the method list, init control, reactors, subsystems,
configuration and stopping the target."""
import json
import sys

from .helpers import print_json, strip_none


def rpc_get_methods(client, current=None, include_aliases=None):
    return client.call('rpc_get_methods', strip_none(current=current, include_aliases=include_aliases)
                       or None)


def rpc_set_options(client, max_connections=None, idle_timeout_ms=None, recv_timeout_ms=None,
                    max_batch_size=None):
    return client.call('rpc_set_options', strip_none(
        max_connections=max_connections, idle_timeout_ms=idle_timeout_ms,
        recv_timeout_ms=recv_timeout_ms, max_batch_size=max_batch_size))


def rpc_get_options(client):
    return client.call('rpc_get_options')


def framework_wait_init(client):
    return client.call('framework_wait_init')


def framework_start_init(client):
    return client.call('framework_start_init')


def framework_get_reactors(client):
    return client.call('framework_get_reactors')


def framework_get_subsystems(client):
    return client.call('framework_get_subsystems')


def framework_get_config(client, name):
    return client.call('framework_get_config', {'name': name})


def save_config(client):
    return client.call('save_config')


def load_config(client, config):
    return client.call('load_config', config)


def spdk_kill_instance(client, sig_name):
    return client.call('spdk_kill_instance', {'sig_name': sig_name})


def brisk_kill_instance(client, sig_name):
    return client.call('brisk_kill_instance', {'sig_name': sig_name})


def _read_config(args):
    try:
        if args.json_conf:
            with open(args.json_conf, encoding='utf-8') as f:
                return json.load(f)
        return json.load(sys.stdin)
    except (OSError, ValueError) as err:
        where = args.json_conf or 'stdin'
        raise SystemExit(f'load_config: cannot read a JSON configuration from {where}: {err}')


def add_parsers(subparsers):
    p = subparsers.add_parser('rpc_get_methods', help='Get list of supported RPC methods')
    p.add_argument('-c', '--current', action='store_true', default=None,
                   help='Get list of RPC methods only callable in the current state')
    p.add_argument('-i', '--include-aliases', action='store_true', default=None,
                   help='include RPC aliases')
    p.set_defaults(func=lambda a: print_json(rpc_get_methods(a.client, a.current, a.include_aliases)))

    p = subparsers.add_parser('rpc_set_options', help="Set the RPC server's connection limits")
    p.add_argument('--max-connections', type=int, help='clients served at once (others wait)')
    p.add_argument('--idle-timeout-ms', type=int,
                   help='close a client with no request running after this (0 = never)')
    p.add_argument('--recv-timeout-ms', type=int,
                   help='a request must arrive whole within this (0 = no limit)')
    p.add_argument('--max-batch-size', type=int, help='requests allowed in one batch')
    p.set_defaults(func=lambda a: print_json(rpc_set_options(
        a.client, a.max_connections, a.idle_timeout_ms, a.recv_timeout_ms, a.max_batch_size)))

    p = subparsers.add_parser('rpc_get_options', help="Show the RPC server's options")
    p.set_defaults(func=lambda a: print_json(rpc_get_options(a.client)))

    p = subparsers.add_parser('framework_wait_init', help='Block until subsystems have been initialized')
    p.set_defaults(func=lambda a: print_json(framework_wait_init(a.client)))

    p = subparsers.add_parser('framework_start_init',
                              help='Start initialization of subsystems (after --wait-for-rpc)')
    p.set_defaults(func=lambda a: print_json(framework_start_init(a.client)))

    p = subparsers.add_parser('framework_get_reactors', help='Display list of all reactors')
    p.set_defaults(func=lambda a: print_json(framework_get_reactors(a.client)))

    p = subparsers.add_parser('framework_get_subsystems',
                              help='Print subsystems array in initialization order')
    p.set_defaults(func=lambda a: print_json(framework_get_subsystems(a.client)))

    p = subparsers.add_parser('framework_get_config', help='Print the configuration of one subsystem')
    p.add_argument('name', help='Name of subsystem to query')
    p.set_defaults(func=lambda a: print_json(framework_get_config(a.client, a.name)))

    p = subparsers.add_parser('save_config', help='Write the current configuration as JSON to stdout')
    p.add_argument('-i', '--indent', type=int, default=2,
                   help='Indent level; a negative value writes it on one line (default 2)')
    p.set_defaults(func=lambda a: print(json.dumps(save_config(a.client),
                                                   indent=a.indent if a.indent >= 0 else None)))

    p = subparsers.add_parser('load_config', help='Apply a JSON configuration (from stdin or -j FILE)')
    p.add_argument('-j', '--json-conf', help='JSON configuration file (default: stdin)')
    p.add_argument('--include-aliases', action='store_true',
                   help='accepted for compatibility with SPDK; aliases are always recognised')
    p.set_defaults(func=lambda a: print_json(load_config(a.client, _read_config(a))))

    for name, fn in (('spdk_kill_instance', spdk_kill_instance),
                     ('brisk_kill_instance', brisk_kill_instance)):
        p = subparsers.add_parser(name, help='Send a signal to the target')
        p.add_argument('sig_name', help='signal to send (SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGKILL...)')
        p.set_defaults(func=lambda a, fn=fn: print_json(fn(a.client, a.sig_name)))
