"""Shared types of the CodiEsp zero-shot experiment: the context rows receive, what they return.

See README.md in this folder for the protocol. Rows are functions
``(ctx: ExperimentContext) -> ScoredRun``; the model rows come from ``model_rows.run_model_rows``.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.model.config import DEFAULT_PRECISION

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.data import Document
    from icdbridge.model import LabelEmbeddings, LabelSpace, LabelTextOptions
    from icdbridge.model.lexical import LexicalMatcher

SETTINGS: dict[str, Any] = tomllib.loads(
    (Path(__file__).resolve().parent / "settings.toml").read_text(encoding="utf-8")
)
"""The experiment's settings (``settings.toml`` next to this file)."""

TUNE_SIZE: int = SETTINGS["protocol"]["tune_size"]
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
    seed: int = SETTINGS["protocol"]["seed"]
    fast: bool = False
    precision: str = DEFAULT_PRECISION
    bases: bool = False  # label_codes hold the 7th-character bases (Index phrases target them)
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
        from icdbridge.model.text import default_encoder_path

        protocol = SETTINGS["protocol"]
        terminology = get_terminology(protocol["system"], protocol["release"])
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
        from icdbridge.model import TextEncoder

        return TextEncoder(self.encoder_path, precision=self.precision)

    def label_embeddings(self, options: LabelTextOptions | None = None) -> LabelEmbeddings:
        """Cached label embeddings of ``label_codes`` with the untuned encoder."""
        from icdbridge.model import LabelTextOptions, embed_labels

        options = options or LabelTextOptions()
        key = f"labels:{options}"
        if key not in self._cache:
            self._cache[key] = embed_labels(
                self.encoder, self.terminology, self.label_codes, options, progress=True
            )
        return self._cache[key]

    def label_space(self, options: LabelTextOptions) -> LabelSpace:
        """The label space over :meth:`label_embeddings` (ancestor rows as many as the library's
        ``PipelineConfig.max_ancestors``), as every model row and variant trains with."""
        from icdbridge.model import LabelSpace, PipelineConfig

        labels = self.label_embeddings(options)
        return LabelSpace(labels, self.terminology, PipelineConfig().max_ancestors)

    def release_codes(self) -> set[str]:
        """Every code of the release: training codes outside it are a model's ``extra_codes``."""
        from icdbridge.model import label_space_codes

        return set(label_space_codes(self.terminology, "all"))

    def with_seventh_character_bases(self) -> ExperimentContext:
        """This context with the release's 7th-character bases in its label space
        (``PipelineConfig.seventh_character_bases``), with caches of its own (the encoder is
        shared)."""
        from dataclasses import replace

        from icdbridge.model import label_space_codes

        codes = label_space_codes(self.terminology, "all", self.label_codes, bases=True)
        other = replace(self, label_codes=codes, bases=True, _cache={})
        other.__dict__["encoder"] = self.encoder
        return other

    def fold_label_space(
        self,
        training: list[Document],
        options: LabelTextOptions,
        bases: bool,
        index_phrases: list[str],
    ) -> tuple[LabelSpace, LexicalMatcher, list[str]]:
        """The label space a model trained on ``training`` has (a cross-validation fold's): the
        release's codes (``bases``: and its 7th-character bases) plus the undefined spellings of
        ``training``; its lexical channel with the phrases of ``index_phrases``; those
        spellings. Built anew on each call (callers keep what they reuse)."""
        from icdbridge.model import (
            LabelSpace,
            PipelineConfig,
            embed_labels,
            extra_codes_of,
            label_space_codes,
        )
        from icdbridge.model.lexical.channel import build_lexical

        codes = label_space_codes(self.terminology, "all", bases=bases)
        extra = extra_codes_of(training, set(codes))
        codes += extra
        labels = embed_labels(self.encoder, self.terminology, codes, options)
        return (
            LabelSpace(labels, self.terminology, PipelineConfig().max_ancestors),
            build_lexical(self.terminology, codes, index_phrases, bases=bases),
            extra,
        )

    def lexical(self, index_phrases: tuple[str, ...] = ()) -> LexicalMatcher:
        """The lexical channel over ``label_codes``, built once; with ``index_phrases``, also
        the phrases of those Index documents (``PipelineConfig.index_phrases``)."""
        from icdbridge.model.lexical import LexicalMatcher

        if "lexical" not in self._cache:
            self._cache["lexical"] = LexicalMatcher.build(self.terminology, self.label_codes)
        if not index_phrases:
            return self._cache["lexical"]
        key = f"lexical:{','.join(index_phrases)}"
        if key not in self._cache:
            from icdbridge.model.lexical.index_phrases import load_index_for, with_index_phrases

            index = load_index_for(self.terminology)
            self._cache[key] = with_index_phrases(
                self._cache["lexical"], self.terminology, index, index_phrases, self.bases
            )
        return self._cache[key]


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
    from icdbridge.model import label_space_codes

    return label_space_codes(terminology, "all", (c for d in train_docs for c in d.codes))
