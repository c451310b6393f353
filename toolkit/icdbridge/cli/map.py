"""`icdbridge map` (under construction)."""

from icdbridge.errors import IcdbridgeError


def map_command() -> None:
    """Under construction."""
    raise IcdbridgeError("icdbridge map is not implemented yet")
