"""Run-folder checkpoints: the finished-network record and safe checkpoint loading (paths
confined to the run folder, ``weights_only=True``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from icdbridge.model.net.network import LabelEmbeddingModel


FINISHED_KEYS: dict[str, type | tuple[type, ...]] = {
    "best": str,
    "epochs": int,
    "stopped_early": bool,
    "history": list,
}
"""Keys of ``finished.json`` → their JSON type."""


def _read_finished(path: Path) -> dict[str, Any]:
    """Read a network's ``finished.json``; a damaged record is a one-line error naming it."""
    from icdbridge.errors import InputFormatError
    from icdbridge.text_input import read_utf8

    try:
        record = json.loads(read_utf8(path))
    except (ValueError, RecursionError) as error:
        if isinstance(error, InputFormatError):
            raise
        raise InputFormatError(path, "invalid JSON; delete the run folder's checkpoints") from None
    if not isinstance(record, dict) or any(
        not isinstance(record.get(key), kind) for key, kind in FINISHED_KEYS.items()
    ):
        raise InputFormatError(
            path, f"expected an object with {', '.join(FINISHED_KEYS)}; the record is damaged"
        )
    return record


def _check_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)``: tensors and plain values only.

    A checkpoint that needs arbitrary code to unpickle (a crafted run folder) is refused, and
    nothing in it runs.

    Raises:
        InputFormatError: the file is not a checkpoint of plain data (named in the message).
    """
    import pickle

    import torch

    from icdbridge.errors import InputFormatError

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
        reason = str(error).strip().split("\n")[0][:160]
        raise InputFormatError(
            path,
            f"not a checkpoint of plain weights ({reason}); refused to load it (a checkpoint "
            "is never allowed to run code); delete it to train from scratch",
        ) from None


def _load_checkpoint(model: LabelEmbeddingModel, path: Path) -> None:
    """Load the network's weights from a Lightning checkpoint of :class:`CodingModule`."""
    from icdbridge.errors import InputFormatError

    state = _check_checkpoint(path)
    weights = state.get("state_dict") if isinstance(state, dict) else None
    if not isinstance(weights, dict):
        raise InputFormatError(path, "checkpoint without a state_dict; delete it")
    try:
        model.load_state_dict({k[6:]: v for k, v in weights.items() if k.startswith("model.")})
    except RuntimeError as error:
        reason = str(error).strip().split("\n")[0][:160]
        raise InputFormatError(path, f"checkpoint does not fit the model ({reason})") from None


def _best_state_callback():
    import pytorch_lightning as pl

    class BestState(pl.Callback):
        """Keep the weights of the best validation epoch in memory (no checkpoint folder)."""

        def __init__(self) -> None:
            self.best = float("-inf")
            self.state = None

        def on_validation_end(self, trainer, module) -> None:
            value = module.history[-1]["val_map"] if module.history else float("-inf")
            if value > self.best:
                self.best = value
                self.state = {k: v.detach().clone() for k, v in module.model.state_dict().items()}

    return BestState
