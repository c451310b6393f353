"""`icdbridge evaluate` (under construction)."""

from icdbridge.errors import IcdbridgeError


def evaluate_command() -> None:
    """Under construction."""
    raise IcdbridgeError("icdbridge evaluate is not implemented yet")
