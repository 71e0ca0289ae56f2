"""Brisk's JSON-RPC client package (used by scripts/rpc.py and by tests).

`client` is the connection; each other module holds the calls of one area
as plain functions (`rpc.log.log_set_level(client, 'DEBUG')`) plus
add_parsers(subparsers), which registers its rpc.py subcommands.

To add an area: write scripts/rpc/<area>.py with its functions and
add_parsers, and list it in MODULES below.
"""
from . import client  # noqa: F401
from . import app, bdev, env, log, thread, lvol, nvme, nvmf, peer, iscsi, blobfs
from . import nvme_discovery

# Order of the subcommands' modules in `rpc.py --help`.
MODULES = [app, log, thread, env, bdev, nvme, nvme_discovery, nvmf, lvol, iscsi, blobfs, peer]
