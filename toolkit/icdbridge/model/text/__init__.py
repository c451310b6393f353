"""The text side of the encoder: the local Hugging Face encoder and how notes are cut into
pieces."""

from icdbridge.model._exports import lazy_exports

_EXPORTS = {
    "DEFAULT_ENCODER_PACKAGE": ".encoder",
    "PIECE_MODES": ".pieces",
    "TextEncoder": ".encoder",
    "Window": ".pieces",
    "bf16_supported": ".encoder",
    "default_encoder_path": ".encoder",
    "document_pieces": ".pieces",
    "split_clauses": ".pieces",
    "split_sentences": ".pieces",
    "split_windows": ".pieces",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
