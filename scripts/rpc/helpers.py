"""Small helpers shared by the subcommand modules."""
import json


def print_json(value, indent=2):
    """Prints a result the way SPDK's rpc.py does: pretty JSON, and nothing
    at all for a plain `true` (setters)."""
    if value is True:
        return
    print(json.dumps(value, indent=indent))


def strip_none(**kwargs):
    """Params dict without the arguments that were not given."""
    return {k: v for k, v in kwargs.items() if v is not None}
