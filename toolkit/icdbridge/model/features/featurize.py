"""Featurisation: documents → pieces and their embeddings → candidates → pair features."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from icdbridge.model.features.batch import DocumentFeatures
from icdbridge.model.features.registry import (
    ALIAS_FEATURES,
    LABEL_FEATURES,
    PAIR_FEATURES,
    SIBLING_MARGIN_FEATURES,
    SUBSUMPTION_FEATURES,
    needs_index_overlap,
    needs_overlap_features,
)
from icdbridge.model.lexical.channel import (
    combined_lexical_scores,
    lexical_matches,
    original_gloss,
    original_matches,
)
from icdbridge.model.lexical.subsumption import subsumed_everywhere

if TYPE_CHECKING:
    from icdbridge.data import Document
    from icdbridge.model.config import PipelineConfig
    from icdbridge.model.features.memory import TrainingMemory
    from icdbridge.model.labels.space import LabelSpace
    from icdbridge.model.lexical.overlap import WordOverlap
    from icdbridge.model.text.encoder import TextEncoder


_COLUMN = {name: i for i, name in enumerate(PAIR_FEATURES)}
"""Column of each of :data:`PAIR_FEATURES` in a feature row."""


_LABEL_FEATURES_START = _COLUMN[LABEL_FEATURES[0]]
"""Column where a label's own :data:`LABEL_FEATURES` begin."""


def encode_documents(
    encoder: TextEncoder,
    texts: Sequence[str],
    config: PipelineConfig,
    progress: bool = False,
    cache: dict[str, Any] | None = None,
) -> list[tuple[list[tuple[int, int]], torch.Tensor]]:
    """Cut every text into pieces and embed all pieces in one length-sorted pass.

    Args:
        encoder: The piece encoder.
        texts: Documents.
        config: Pipeline settings (``pieces``, ``window_tokens``, ``window_stride``).
        progress: Show a progress bar.
        cache: Optional dictionary the caller owns, read and filled; results are kept under a
            key of the encoder's weights and the piece settings, so one dictionary can be shared
            by several encoders (e.g. before and after fine-tuning) and settings.

    Returns:
        Per text: the ``(char_start, char_end)`` of its pieces and their ``[W, d]`` embeddings.
    """
    from icdbridge.model.text.pieces import document_pieces

    if cache is None:
        cache = {}
    else:
        settings = f"{config.pieces}:{config.window_tokens}:{config.window_stride}"
        cache = cache.setdefault(f"{encoder.identity()}:{settings}", {})
    todo = [t for t in dict.fromkeys(texts) if t not in cache]
    pieces = [
        document_pieces(
            t, encoder.tokenizer, config.pieces, config.window_tokens, config.window_stride
        )
        for t in todo
    ]
    flat = [w.text for doc in pieces for w in doc]
    if flat:
        vectors = encoder.embed(flat, max_length=config.window_tokens + 2, progress=progress)
        start = 0
        for text, doc in zip(todo, pieces, strict=True):
            spans = [(w.char_start, w.char_end) for w in doc]
            cache[text] = (spans, vectors[start : start + len(doc)])
            start += len(doc)
    return [cache[t] for t in texts]


RETRIEVED = 2.0
"""Sampling weight, as a training negative, of a candidate some channel retrieved for the note
(the faiss shortlist, a lexical match, word overlap, a training neighbour's vote, the family of
one of those): a plausible code the note does not carry is a hard negative."""
BACKGROUND = 1.0
"""Sampling weight of a candidate added whatever the note says: a code seen in training (always
a candidate, so that the memory features can rank it) or, in training, a gold code no channel
retrieved."""
GOLD_SIBLING = 3.0
"""Added, in training only, to the sampling weight of each hierarchy sibling of a gold code (on
top of its weight as a retrieved candidate): the hardest negatives, the codes the network must
learn to tell from the right one (``E11.8`` beside a gold ``E11.9``)."""


@dataclass(frozen=True)
class FeatureInputs:
    """What featurisation reads besides the documents (one bundle instead of positional
    arguments; a :class:`~icdbridge.model.predict.Predictor` and the training loop each hold
    one).

    Attributes:
        encoder: Piece encoder.
        space: Label space of the release.
        config: Pipeline settings.
        memory: Training memory (features ``neighbours``, ``prior``, ``seen``), or ``None``.
        lexical: Lexical matcher (``None`` or ``config.use_lexical`` false: no lexical channel).
        features: The pair features the model reads (``None``: all of :data:`PAIR_FEATURES`);
            the word-overlap columns are left at 0 when it reads neither of them.
        window_cache: Optional cache of piece embeddings (see :func:`encode_documents`).
    """

    encoder: TextEncoder
    space: LabelSpace
    config: PipelineConfig
    memory: TrainingMemory | None = None
    lexical: Any = None
    features: Collection[str] | None = None
    window_cache: dict | None = field(default=None, compare=False)


def featurize(
    docs: Sequence[Document],
    inputs: FeatureInputs,
    *,
    training: bool = False,
    hidden: Collection[str] = (),
    progress: bool = False,
) -> list[DocumentFeatures]:
    """Encode, shortlist and compute pair features for documents.

    Args:
        docs: Documents (their ``codes``, when present, become the gold).
        inputs: Encoder, label space, settings, memory, lexical channel, features read.
        training: Also add gold codes and their hierarchy siblings as candidates (so that the
            loss sees every positive and the hardest negatives: :data:`GOLD_SIBLING`).
        hidden: Codes of the training memory treated as never seen (no memory features, not
            added as seen codes; :meth:`TrainingMemory.features`): simulated unseen codes for
            training (``TrainConfig.hidden_codes``).
        progress: Show progress bars.
    """
    encoder, space, config = inputs.encoder, inputs.space, inputs.config
    memory, lexical, features = inputs.memory, inputs.lexical, inputs.features
    window_cache = inputs.window_cache
    from icdbridge.model.lexical.overlap import sentence_words

    encoded = encode_documents(encoder, [d.text for d in docs], config, progress, window_cache)
    use_memory = config.use_memory and memory is not None
    memory_features = (
        memory.features([d.id for d in docs], [d.text for d in docs], space.family_key, hidden)
        if use_memory
        else None
    )
    seen_codes = (
        [c for c in sorted(memory.seen - frozenset(hidden)) if c in space.row] if use_memory else []
    )
    use_lexical = config.use_lexical and lexical is not None
    index_overlap = lexical.index_overlap if use_lexical and needs_index_overlap(features) else None
    use_words = lexical is not None and (
        config.reads_word_overlap(features)
        or index_overlap is not None
        or (use_lexical and config.index_overlap_k > 0)
    )
    use_overlap = use_words and needs_overlap_features(features)
    # the sibling margins read the whole label space's overlap: only for a model that reads them
    margins = frozenset(SIBLING_MARGIN_FEATURES).intersection(
        SIBLING_MARGIN_FEATURES if features is None else features
    )
    reads_subsumption = use_lexical and (
        features is None or not set(SUBSUMPTION_FEATURES).isdisjoint(features)
    )
    reads_originals = lexical is not None and config.reads_originals
    glosses = [original_gloss(doc, space.terminology) if reads_originals else None for doc in docs]
    # the matcher of the originals' glosses: without the Index phrases when they are kept to
    # the English text (PipelineConfig.index_in_original off)
    original_lexical = (
        lexical if config.index_in_original or lexical is None else lexical.without_index
    )
    piece_vectors = [vectors for _, vectors in encoded]
    original_piece_spans: list[list[tuple[int, int]]] = [[] for _ in docs]
    if config.gloss_pieces:
        glossed = [(i, gloss) for i, gloss in enumerate(glosses) if gloss and gloss.pieces]
        lines = [gloss.lines for _, gloss in glossed]
        encoded_glosses = encode_documents(encoder, lines, config, progress, window_cache)
        for (i, gloss), (gloss_spans, vectors) in zip(glossed, encoded_glosses, strict=True):
            piece_vectors[i] = torch.cat([piece_vectors[i], vectors])
            original_piece_spans[i] = [
                gloss.source_span(start, end) or (0, 0) for start, end in gloss_spans
            ]
    shortlists = space.index.shortlists(piece_vectors, config.per_window_k, config.shortlist_k)
    use_aliases = space.alias_matrix is not None and (
        features is None or not set(ALIAS_FEATURES).isdisjoint(features)
    )
    out = []
    for i, doc in enumerate(docs):
        matches = lexical_matches(lexical, doc.text) if use_lexical else {}
        gloss = glosses[i]
        originals = (
            original_matches(original_lexical, doc, space.terminology, gloss) if gloss else {}
        )
        english = sentence_words(doc.text) if use_words else []
        sentences = english + sentence_words(gloss.text) if use_words and gloss else english
        words = frozenset().union(*sentences)  # the document's words (document_words)
        index_sentences = sentences if config.index_in_original else english
        votes, prior, family_prior = memory_features[i] if memory_features else ({}, {}, {})
        subsumed = (
            subsumed_everywhere(
                [{c: m[1] for c, m in matches.items()}, {c: m[1] for c, m in originals.items()}]
            )
            if reads_subsumption
            else frozenset()
        )
        signals = _Signals(
            shortlist=shortlists[i],
            lexical=combined_lexical_scores(matches, originals),
            sentences=sentences,
            words=words,
            index_sentences=index_sentences,
            index_words=words if config.index_in_original else frozenset().union(*english),
            votes=votes,
            prior=prior,
            family_prior=family_prior,
            gold=frozenset(doc.codes),
            subsumed=subsumed,
        )
        candidates = _candidates(
            signals, space, config, seen_codes, lexical if use_lexical else None, training
        )
        # candidates in code order: what follows (negative sampling, batching) never depends on
        # the order of sets, whose iteration order changes with Python's string hash seed
        codes = sorted(candidates)
        rows = torch.tensor([space.row[c] for c in codes], dtype=torch.long)
        out.append(
            DocumentFeatures(
                id=doc.id,
                text=doc.text,
                spans=encoded[i][0],
                windows=piece_vectors[i],
                candidates=codes,
                label_index=rows,
                features=_pair_features(
                    codes,
                    rows,
                    signals,
                    space,
                    use_overlap,
                    piece_vectors[i] if use_aliases else None,
                    index_overlap,
                    margins,
                ),
                hardness=torch.tensor([candidates[c] for c in codes]),
                gold=signals.gold,
                lexical_spans={c: [(s, e, m[0]) for s, e in m[1]] for c, m in matches.items()},
                original_text=doc.original_text if gloss is not None else None,
                original_spans={c: [(s, e, m[0]) for s, e in m[1]] for c, m in originals.items()},
                original_piece_spans=original_piece_spans[i],
            )
        )
    return out


@dataclass
class _Signals:
    """What the channels say about one document: the evidence its candidates and pair features
    are made of."""

    shortlist: Any  # faiss shortlist: code -> score, best first
    lexical: dict[str, float]  # lexical score per code (English text and original)
    sentences: list[frozenset[str]]  # words of each sentence (word overlap)
    words: frozenset[str]  # the document's words
    index_sentences: list[frozenset[str]]  # sentences the Index phrases read (index_in_original)
    index_words: frozenset[str]  # their words
    votes: dict[str, float]  # training neighbours' votes per code
    prior: dict[str, float]
    family_prior: dict[str, float]
    gold: frozenset[str]
    subsumed: frozenset[str] = frozenset()  # codes whose every match is inside a longer one


def _candidates(
    signals: _Signals,
    space: LabelSpace,
    config: PipelineConfig,
    seen_codes: list[str],
    lexical: Any,
    training: bool,
) -> dict[str, float]:
    """Candidate code → sampling weight (:data:`RETRIEVED`, :data:`BACKGROUND`, plus
    :data:`GOLD_SIBLING` in training); ``lexical``: the lexical channel (``None``: off)."""
    from icdbridge.model.labels.tree import siblings

    shortlist, lexical_by_code, votes = signals.shortlist, signals.lexical, signals.votes
    candidates: dict[str, float] = {}
    for code in shortlist:
        candidates[code] = RETRIEVED
    for code in lexical_by_code:
        if code in space.row:
            candidates[code] = RETRIEVED
    if lexical is not None and config.overlap_k:
        for code in space.overlap.top(signals.words, config.overlap_k):
            candidates[code] = RETRIEVED
    # the Index overlap table is built on first use: only when candidates are taken from it
    if config.index_overlap_k and lexical is not None and lexical.index_overlap is not None:
        for code in lexical.index_overlap.top(signals.index_words, config.index_overlap_k):
            if code in space.row:
                candidates[code] = RETRIEVED
    for code in votes:
        if code in space.row:
            candidates[code] = max(candidates.get(code, 0.0), RETRIEVED)
    if config.family_expansion:
        n = config.family_expansion
        best_matches = sorted(lexical_by_code, key=lambda c: (-lexical_by_code[c], c))[:n]
        best_votes = sorted(votes, key=lambda c: (-votes[c], c))[:n]
        for code in [*list(shortlist)[:n], *best_matches, *best_votes]:
            for relative in space.relatives(code):
                candidates.setdefault(relative, RETRIEVED)
    for code in seen_codes:
        candidates.setdefault(code, BACKGROUND)
    if training:
        for code in sorted(signals.gold):
            if code in space.row:
                candidates.setdefault(code, BACKGROUND)
                for sibling in siblings(space.terminology, code):
                    if sibling in space.row:
                        candidates[sibling] = candidates.get(sibling, 0.0) + GOLD_SIBLING
    return candidates


def _pair_features(
    codes: list[str],
    rows: torch.Tensor,
    signals: _Signals,
    space: LabelSpace,
    use_overlap: bool,
    pieces: torch.Tensor | None = None,
    index_overlap: WordOverlap | None = None,
    margins: frozenset[str] = frozenset(),
) -> torch.Tensor:
    """``[len(codes), len(PAIR_FEATURES)]`` feature rows of the candidates (``rows``: their rows
    in the label space; ``pieces``: the note's piece embeddings, for the alias cosine;
    ``index_overlap``: the word overlap of the Index phrases, for its two features;
    ``margins``: the :data:`SIBLING_MARGIN_FEATURES` to compute, each with its overlap)."""
    family_votes: dict[str, float] = {}
    for code, vote in signals.votes.items():
        key = space.family_key(code)
        family_votes[key] = family_votes.get(key, 0.0) + vote
    votes, prior, family_prior = signals.votes, signals.prior, signals.family_prior
    rows_features = torch.zeros(len(codes), len(PAIR_FEATURES))
    families = [space.family[code] for code in codes]
    columns: dict[str, list[float]] = {
        "lexical": [signals.lexical.get(code, 0.0) for code in codes],
        "neighbours": [votes.get(code, 0.0) for code in codes],
        "prior": [prior.get(code, 0.0) for code in codes],
        "seen": [1.0 if prior.get(code, 0.0) > 0 else 0.0 for code in codes],
        "family_votes": [family_votes.get(family, 0.0) for family in families],
        "family_prior": [family_prior.get(family, 0.0) for family in families],
        "lexical_subsumed": [1.0 if code in signals.subsumed else 0.0 for code in codes],
    }
    if index_overlap is not None:
        columns["index_overlap"] = index_overlap.best_overlap([signals.index_words], codes).tolist()
        columns["index_sentence_overlap"] = index_overlap.best_overlap(
            signals.index_sentences, codes
        ).tolist()
        if "index_sibling_margin" in margins:
            columns["index_sibling_margin"] = index_overlap.sibling_margins(
                signals.index_words, codes, space.terminology
            ).tolist()
    if pieces is not None:
        columns["alias_cosine"] = space.alias_cosines(pieces, codes)
    if use_overlap:
        columns["overlap"] = space.overlap.best_overlap([signals.words], codes).tolist()
        columns["sentence_overlap"] = space.overlap.best_overlap(signals.sentences, codes).tolist()
        if "sibling_margin" in margins:
            columns["sibling_margin"] = space.overlap.sibling_margins(
                signals.words, codes, space.terminology
            ).tolist()
    for name, values in columns.items():
        rows_features[:, _COLUMN[name]] = torch.tensor(values, dtype=rows_features.dtype)
    rows_features[:, _LABEL_FEATURES_START:] = space.label_features[rows]
    return rows_features
