"""The text side of the encoder: the local Hugging Face encoder and how notes are cut into
pieces."""

from typing import TYPE_CHECKING

from icdbridge.model._exports import lazy_package

if TYPE_CHECKING:  # the public names, imported on first use (see _exports)
    from .encoder import DEFAULT_ENCODER_PACKAGE, TextEncoder, bf16_supported, default_encoder_path
    from .pieces import (
        PIECE_MODES,
        Window,
        document_pieces,
        split_clauses,
        split_sentences,
        split_windows,
    )

__all__, __getattr__, __dir__ = lazy_package(__name__, __file__)
