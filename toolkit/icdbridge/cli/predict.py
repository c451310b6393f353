"""`icdbridge predict` (under construction)."""

from icdbridge.errors import IcdbridgeError


def predict_command() -> None:
    """Under construction."""
    raise IcdbridgeError("icdbridge predict is not implemented yet")
