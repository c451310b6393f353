"""The pair features: their names, groups and order (torch-free).

A pair feature is one number per (document, candidate code) handed to the network beside the
label-wise attention and the maximum cosine. :data:`PAIR_FEATURES` fixes their order in a
feature row; the groups say which component each comes from, so that switching a component off
drops its features (:func:`model_features`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from icdbridge.model.config import PipelineConfig
    from icdbridge.model.net.network import CodingNetwork


LABEL_FEATURES: tuple[str, ...] = (
    "leaf",
    "depth",
    "seventh_base",
    "residual_other",
    "residual_unspecified",
)
"""Structural features of a code, read off the terminology
(:func:`~icdbridge.model.labels.tree.label_features`)."""


FAMILY_FEATURES: tuple[str, ...] = ("family_votes", "family_prior")
"""Training-memory features of a code's family (its category): the neighbour vote and the prior
summed over the family (:class:`~icdbridge.model.features.memory.TrainingMemory`)."""


HIERARCHY_FEATURES = frozenset(
    {"leaf", "depth", "seventh_base", *FAMILY_FEATURES, "sibling_margin", "index_sibling_margin"}
)
"""The features that come from the code tree (dropped with the hierarchy component)."""


OVERLAP_FEATURES: tuple[str, ...] = ("overlap", "sentence_overlap")
"""Word overlap of a label's title with the document and with its best sentence
(:mod:`icdbridge.model.lexical.overlap`)."""


INDEX_OVERLAP_FEATURES: tuple[str, ...] = ("index_overlap", "index_sentence_overlap")
"""Word overlap of a code's ICD-10-CM Index phrases with the document and with its best
sentence (:meth:`~icdbridge.model.lexical.overlap.WordOverlap.from_index`; only with Index
phrases in the lexical channel)."""


SIBLING_MARGIN_FEATURES: tuple[str, ...] = ("sibling_margin", "index_sibling_margin")
"""A code's word overlap with the document (of its title; of its ICD-10-CM Index phrases) minus
the best of its siblings' (:meth:`~icdbridge.model.lexical.overlap.WordOverlap.sibling_margins`):
whether the note names what sets the code apart from the other children of its parent. Not
among the defaults (:data:`DEFAULT_FEATURES`); ``index_sibling_margin`` only with Index phrases
in the lexical channel."""


SUBSUMPTION_FEATURES: tuple[str, ...] = ("lexical_subsumed",)
"""1 when every lexical match of a code lies inside the matches of one other code that covers
more of the text, in the note and in its original (:mod:`icdbridge.model.lexical.subsumption`):
the note states a more specific term. Not among the defaults (:data:`DEFAULT_FEATURES`):
cross-validated on the CodiEsp train split (``experiments/codiesp_zeroshot/
cv_subsumed_matches.json``, docs/model.md, *Cross-validated choices*), it lowers the harmonic
mean of MAP and unseen recall with two of three seeds. A model reads it when its
:class:`~icdbridge.model.config.ModelConfig` names it."""


LEXICAL_FEATURES = frozenset(
    {
        "lexical",
        *OVERLAP_FEATURES,
        *INDEX_OVERLAP_FEATURES,
        *SIBLING_MARGIN_FEATURES,
        *SUBSUMPTION_FEATURES,
    }
)
"""The features that come from the lexical channel (dropped without it)."""


MEMORY_FEATURES = frozenset({"neighbours", "prior", "seen", *FAMILY_FEATURES})
"""The features that come from the training memory (dropped without it)."""


ALIAS_FEATURES: tuple[str, ...] = ("alias_cosine",)
"""The best cosine between a piece of the note and any alias of the code, its ICD-10-CM Index
paths (:mod:`icdbridge.model.labels.aliases`; used only with them:
:attr:`~icdbridge.model.config.PipelineConfig.uses_index_aliases`)."""


PAIR_FEATURES: tuple[str, ...] = (
    "lexical",
    *OVERLAP_FEATURES,
    *INDEX_OVERLAP_FEATURES,
    *SIBLING_MARGIN_FEATURES,
    *SUBSUMPTION_FEATURES,
    "neighbours",
    "prior",
    "seen",
    *FAMILY_FEATURES,
    *ALIAS_FEATURES,
    *LABEL_FEATURES,
)
"""Per (document, label) features the caller may supply, in this order (see
:mod:`icdbridge.model.predict` for how each is computed): the lexical score (of the text and,
when the document has one, of its original-language text), the word overlap of the label's
title with the document and its best overlap with one sentence
(:mod:`icdbridge.model.lexical.overlap`), the same for the code's Index phrases, the margins
of the two overlaps over the code's siblings (:data:`SIBLING_MARGIN_FEATURES`), the training
memory (neighbour vote, prior, seen flag,
family
vote and prior), the best cosine of a piece with one of the label's aliases
(:data:`ALIAS_FEATURES`), then the label's :data:`LABEL_FEATURES`."""


DEFAULT_FEATURES: tuple[str, ...] = tuple(
    name
    for name in PAIR_FEATURES
    if name not in SIBLING_MARGIN_FEATURES and name not in SUBSUMPTION_FEATURES
)
"""The pair features a model uses unless told otherwise (:class:`ModelConfig`): all of them
but the sibling margins (:data:`SIBLING_MARGIN_FEATURES`, cross-validated in
``experiments/codiesp_zeroshot/cv_sibling_margins.json``: docs/model.md, *What the Index
contributes*) and the subsumed-match flag (:data:`SUBSUMPTION_FEATURES`,
``experiments/codiesp_zeroshot/cv_subsumed_matches.json``: docs/model.md, *Cross-validated
choices*);
the components switched off drop theirs
(:func:`~icdbridge.model.features.registry.model_features`). The Index word overlap
(:data:`INDEX_OVERLAP_FEATURES`) is among them since the cross-validation over the CodiEsp train
split of ``experiments/codiesp_zeroshot/cv_aliases.json`` (docs/model.md, *What the Index
contributes*); the alias cosine is read only where the label aliases are switched on."""


def with_sibling_margins(features: Collection[str], on: bool) -> tuple[str, ...]:
    """``features`` with the :data:`SIBLING_MARGIN_FEATURES` added (``on``) or taken out, in
    :data:`PAIR_FEATURES` order (``icdbridge train --sibling-margins / --no-sibling-margins``).

    Example:
        >>> "sibling_margin" in with_sibling_margins(DEFAULT_FEATURES, True)
        True
        >>> with_sibling_margins(with_sibling_margins(DEFAULT_FEATURES, True), False) == (
        ...     DEFAULT_FEATURES
        ... )
        True
    """
    chosen = set(features) | set(SIBLING_MARGIN_FEATURES) if on else set(features)
    return tuple(
        f for f in PAIR_FEATURES if f in chosen and (on or f not in SIBLING_MARGIN_FEATURES)
    )


def reads_sibling_margins(features: Collection[str]) -> bool:
    """Whether ``features`` include a sibling margin (:data:`SIBLING_MARGIN_FEATURES`)."""
    return not set(SIBLING_MARGIN_FEATURES).isdisjoint(features)


def needs_overlap_features(features: Collection[str] | None) -> bool:
    """Whether a model reading ``features`` (``None``: all) reads a feature of the title word
    overlap (:data:`OVERLAP_FEATURES`, ``sibling_margin``)."""
    return features is None or not {*OVERLAP_FEATURES, "sibling_margin"}.isdisjoint(features)


def needs_index_overlap(features: Collection[str] | None) -> bool:
    """Whether a model reading ``features`` (``None``: all) reads a feature of the Index word
    overlap (:data:`INDEX_OVERLAP_FEATURES`, ``index_sibling_margin``)."""
    return features is None or not {
        *INDEX_OVERLAP_FEATURES,
        "index_sibling_margin",
    }.isdisjoint(features)


def feature_columns(model: CodingNetwork) -> list[int]:
    """Columns of :data:`PAIR_FEATURES` the model uses."""
    return [PAIR_FEATURES.index(name) for name in model.config.features]


def model_features(pipeline: PipelineConfig, use_hierarchy: bool = True) -> tuple[str, ...]:
    """The pair features a model uses, by the components switched on.

    The lexical score and the word overlap
    (:data:`~icdbridge.model.features.registry.LEXICAL_FEATURES`)
    need the lexical channel; the memory features
    (:data:`~icdbridge.model.features.registry.MEMORY_FEATURES`: neighbour vote, prior, seen flag,
    family
    vote and prior) need the training memory; the tree-derived features
    (:data:`~icdbridge.model.features.registry.HIERARCHY_FEATURES`, the sibling margins among
    them) need the hierarchy component, so that the ablation without it uses nothing of the
    code tree; the Index word overlap and its sibling margin need Index phrases; the alias cosine
    (:data:`ALIAS_FEATURES`) needs the label aliases
    (:attr:`~icdbridge.model.config.PipelineConfig.uses_index_aliases`).
    """

    def used(name: str) -> bool:
        if name in ALIAS_FEATURES:
            return pipeline.uses_index_aliases
        if name in HIERARCHY_FEATURES and not use_hierarchy:
            return False
        if name in INDEX_OVERLAP_FEATURES or name == "index_sibling_margin":
            return pipeline.use_lexical and bool(pipeline.index_phrases)
        if name in LEXICAL_FEATURES:
            return pipeline.use_lexical
        return name not in MEMORY_FEATURES or pipeline.use_memory

    return tuple(name for name in PAIR_FEATURES if used(name))
