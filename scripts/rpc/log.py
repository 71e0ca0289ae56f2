"""Logging methods: levels and per-component debug flags."""
from .helpers import print_json


def log_set_level(client, level):
    return client.call('log_set_level', {'level': level})


def log_get_level(client):
    return client.call('log_get_level')


def log_set_print_level(client, level):
    return client.call('log_set_print_level', {'level': level})


def log_get_print_level(client):
    return client.call('log_get_print_level')


def log_set_flag(client, flag):
    return client.call('log_set_flag', {'flag': flag})


def log_clear_flag(client, flag):
    return client.call('log_clear_flag', {'flag': flag})


def log_get_flags(client):
    return client.call('log_get_flags')


def add_parsers(subparsers):
    p = subparsers.add_parser('log_set_level', help='Set the log level (messages that go to syslog)')
    p.add_argument('level', help='ERROR, WARNING, NOTICE, INFO or DEBUG')
    p.set_defaults(func=lambda a: print_json(log_set_level(a.client, a.level)))

    p = subparsers.add_parser('log_get_level', help='Get the log level')
    p.set_defaults(func=lambda a: print_json(log_get_level(a.client)))

    p = subparsers.add_parser('log_set_print_level', help='Set the level of messages printed to stderr')
    p.add_argument('level', help='ERROR, WARNING, NOTICE, INFO or DEBUG')
    p.set_defaults(func=lambda a: print_json(log_set_print_level(a.client, a.level)))

    p = subparsers.add_parser('log_get_print_level', help='Get the level of messages printed to stderr')
    p.set_defaults(func=lambda a: print_json(log_get_print_level(a.client)))

    p = subparsers.add_parser('log_set_flag', help='Enable a debug log flag')
    p.add_argument('flag', help='log flag to enable ("all" for every flag)')
    p.set_defaults(func=lambda a: print_json(log_set_flag(a.client, a.flag)))

    p = subparsers.add_parser('log_clear_flag', help='Disable a debug log flag')
    p.add_argument('flag', help='log flag to disable ("all" for every flag)')
    p.set_defaults(func=lambda a: print_json(log_clear_flag(a.client, a.flag)))

    p = subparsers.add_parser('log_get_flags', help='Get the debug log flags and whether each is enabled')
    p.set_defaults(func=lambda a: print_json(log_get_flags(a.client)))
