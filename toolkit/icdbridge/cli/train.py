"""`icdbridge train` (under construction)."""

from icdbridge.errors import IcdbridgeError


def train_command() -> None:
    """Under construction."""
    raise IcdbridgeError("icdbridge train is not implemented yet")
