"""Lightning without its chatter: no GPU/TPU lines, advertisements or deprecation warnings.

pytorch-lightning logs, at INFO level, which accelerators exist ("GPU available: False ..."),
a tip to install its cloud logger, and why ``fit`` stopped; and it warns about its own and
torch's deprecations. None of it concerns a user of ``icdbridge train``: :func:`quiet_lightning`
hides it unless ``verbose`` (``icdbridge train --verbose``). Real warnings of other libraries
and every error still show.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

LIGHTNING_LOGGERS = ("pytorch_lightning", "lightning", "lightning_fabric", "lightning.pytorch")
"""Loggers of pytorch-lightning and its fabric (their INFO lines are hidden)."""

QUIET_WARNINGS = (
    r".*is deprecated.*",
    r".*does not have many workers.*",
    r".*litlogger.*",
    r".*GPU available but not used.*",
    r".*The number of training batches.*",
)
"""Messages of Lightning's warnings that are hidden (deprecations, data-loader advice)."""


@contextmanager
def quiet_lightning(verbose: bool = False) -> Iterator[None]:
    """Hide Lightning's INFO lines and framework warnings inside the block (not when
    ``verbose``); the previous levels and filters come back afterwards.

    Example:
        >>> import logging
        >>> with quiet_lightning():
        ...     logging.getLogger("pytorch_lightning").getEffectiveLevel() >= logging.WARNING
        True
    """
    if verbose:
        yield
        return
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        for message in QUIET_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)
