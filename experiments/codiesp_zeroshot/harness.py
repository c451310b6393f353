"""Shared types of the CodiEsp zero-shot experiment: the context rows receive, what they return.

See README.md in this folder for the protocol. Rows are functions
``(ctx: ExperimentContext) -> ScoredRun``; the model rows come from ``model_rows.run_model_rows``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.data import Document
    from icdbridge.model.labels.cache import LabelEmbeddings
    from icdbridge.model.labels.texts import LabelTextOptions
    from icdbridge.model.lexical.matcher import LexicalMatcher

TUNE_SIZE = 50
"""Documents of the train split held out for threshold tuning / calibration."""


@dataclass
class ScoredRun:
    """What one row of the table produces (see README.md)."""

    dev_scores: list[dict[str, float]]
    tune_scores: list[dict[str, float]]
    train_seconds: float
    predict_seconds: float
    shortlist: list[set[str]] | None = None
    notes: str = ""
    operating_points: dict[str, tuple[list[dict[str, float]], list[dict[str, float]]]] = field(
        default_factory=dict
    )


@dataclass
class ExperimentContext:
    """Everything a row needs; built once by ``run.py``."""

    fit_docs: list[Document]
    tune_docs: list[Document]
    dev_docs: list[Document]
    label_codes: list[str]
    terminology: Terminology
    encoder_path: Path
    seed: int = 13
    fast: bool = False
    bf16: bool | str = "auto"
    out_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parent)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def for_codiesp(
        cls,
        train: list[Document],
        *,
        fit: list[Document],
        tune: list[Document],
        dev: list[Document],
        **options: Any,
    ) -> ExperimentContext:
        """The CodiEsp setting: ICD-10-CM 2026, the label space of ``train``, default encoder."""
        from icdbridge.codes import get_terminology
        from icdbridge.model.text.encoder import default_encoder_path

        terminology = get_terminology("icd10cm", "2026")
        return cls(
            fit_docs=fit,
            tune_docs=tune,
            dev_docs=dev,
            label_codes=build_label_space(terminology, train),
            terminology=terminology,
            encoder_path=default_encoder_path(),
            **options,
        )

    @property
    def train_docs(self) -> list[Document]:
        """The whole train split (fit + tune)."""
        return self.fit_docs + self.tune_docs

    @cached_property
    def encoder(self):
        """The default (untuned) text encoder, loaded once."""
        from icdbridge.model.text.encoder import TextEncoder

        return TextEncoder(self.encoder_path, bf16=self.bf16)

    def label_embeddings(self, options: LabelTextOptions | None = None) -> LabelEmbeddings:
        """Cached label embeddings of ``label_codes`` with the untuned encoder."""
        from icdbridge.model.labels.cache import embed_labels
        from icdbridge.model.labels.texts import LabelTextOptions

        options = options or LabelTextOptions()
        key = f"labels:{options}"
        if key not in self._cache:
            self._cache[key] = embed_labels(
                self.encoder, self.terminology, self.label_codes, options, progress=True
            )
        return self._cache[key]

    def lexical(self) -> LexicalMatcher:
        """The lexical channel over ``label_codes``, built once."""
        from icdbridge.model.lexical.matcher import LexicalMatcher

        if "lexical" not in self._cache:
            self._cache["lexical"] = LexicalMatcher.build(self.terminology, self.label_codes)
        return self._cache["lexical"]


def split_train(docs: list[Document], seed: int, tune_size: int = TUNE_SIZE):
    """Seeded split of the train documents into (fit, tune)."""
    order = sorted(docs, key=lambda d: d.id)
    random.Random(seed).shuffle(order)
    tune_ids = {d.id for d in order[:tune_size]}
    fit = [d for d in docs if d.id not in tune_ids]
    tune = [d for d in docs if d.id in tune_ids]
    return fit, tune


def build_label_space(terminology: Terminology, train_docs: list[Document]) -> list[str]:
    """Every code of the release plus train gold codes it does not define (see README.md)."""
    from icdbridge.model.labels.space import label_space_codes

    codes = label_space_codes(terminology, "all")
    known = set(codes)
    for doc in train_docs:
        for code in doc.codes:
            if code not in known:
                known.add(code)
                codes.append(code)
    return codes
