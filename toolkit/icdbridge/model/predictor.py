"""The full prediction path: text → windows → shortlist → rerank → fuse → calibrate → ranking.

For each document:

1. the text is cut into pieces — sentences and their clauses by default, or token windows
   (:mod:`~icdbridge.model.pieces`, never truncated) — and every piece is embedded by the
   encoder;
2. candidates are gathered over the **whole** label space of the chosen terminology release: the
   faiss shortlist of the windows (:class:`~icdbridge.model.retrieval.CandidateIndex`), the codes
   the lexical channel matched, and the codes seen in training;
3. each candidate is scored by :class:`~icdbridge.model.network.LabelEmbeddingModel` — label-wise
   attention over the windows, the hierarchy component, and the fusion of the pair features
   (lexical score, word overlap of the code's title with the note, training-neighbour vote,
   training prior) — by default an ensemble of such networks trained with different seeds
   (:class:`~icdbridge.model.network.NetworkEnsemble`), whose logits are averaged;
4. :class:`~icdbridge.model.calibration.Calibrator` puts seen and unseen codes on one scale;
5. the ranking is returned with, on request, evidence: character spans of the lexical matches
   and of the pieces the code attended to.

:class:`LabelSpace` holds the label embeddings of a release plus a *derived* row per ancestor
node (the normalised mean of its descendants' label embeddings: one bottom-up message-passing
step over the code graph), which the hierarchy component mixes back into each code, and a few
structural features of every code read off the terminology (:data:`LABEL_FEATURES`: leaf or not,
depth, a 7th-character base, a residual "other" / "unspecified" title) — shared, learned weights
on them let a dataset's coding conventions (e.g. CodiEsp's injury codes without their 7th
character) carry over to codes never seen in training.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from icdbridge.model.datamodule import DocumentFeatures, collate
from icdbridge.model.hierarchy import label_features
from icdbridge.model.network import LABEL_FEATURES, OVERLAP_FEATURES, PAIR_FEATURES

_COLUMN = {name: i for i, name in enumerate(PAIR_FEATURES)}
"""Column of each of :data:`PAIR_FEATURES` in a feature row."""
_LABEL_FEATURES_START = _COLUMN[LABEL_FEATURES[0]]
"""Column where a label's own :data:`LABEL_FEATURES` begin."""
ORIGINAL_WEIGHT = 0.9
"""Weight of a lexical match in a document's original-language text (read through a word gloss,
less precise than a match in the text itself)."""

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.data import Document
    from icdbridge.model.calibration import Calibrator
    from icdbridge.model.crosslingual import Gloss
    from icdbridge.model.encoder import TextEncoder
    from icdbridge.model.label_cache import LabelEmbeddings
    from icdbridge.model.memory import TrainingMemory
    from icdbridge.model.network import CodingNetwork
    from icdbridge.model.overlap import WordOverlap


@dataclass
class PipelineConfig:
    """Everything around the network that decides what it sees (stored with the model).

    Attributes:
        system: Code system trained against.
        release: Its release (``None``: the default release).
        encoder: Local encoder directory (``None``: the default MiniLM).
        pieces: How documents are cut (:data:`~icdbridge.model.pieces.PIECE_MODES`):
            ``"clauses"`` (sentences and their clauses), ``"sentences"`` or ``"windows"``.
        window_tokens: Token budget of a piece (longer sentences are cut into windows).
        window_stride: Tokens between window starts (overlap = tokens - stride).
        per_window_k: Labels retrieved by faiss per piece.
        shortlist_k: Codes kept in each document's faiss shortlist (``K``).
        family_expansion: The ``N`` best codes of the faiss shortlist, of the lexical matches and
            of the training-neighbour vote whose hierarchy family joins the candidates: parent,
            siblings and children (0: no expansion). A code coded in a new dataset is often the
            sibling of one the text or the neighbours point to (``N20.1`` beside ``N20.0``).
            Default 0: with the original text read, 30 no longer helped the default objective
            in cross-validation over the CodiEsp train split
            (``experiments/codiesp_zeroshot/cv_choices.py``).
        overlap_k: Codes of highest word overlap with the document
            (:meth:`~icdbridge.model.overlap.WordOverlap.top`) that join the candidates: codes
            the text names only in part, which neither faiss nor the exact lexical matches
            reach (0: none; needs the lexical channel). Default 0: with 50 the model reached
            more unseen codes by rank 50 but fewer by rank 20 in cross-validation over the
            CodiEsp train split (``experiments/codiesp_zeroshot/cv_choices.py``).
        use_lexical: Switch of the lexical channel (candidates and features: lexical score
            and word overlap).
        use_original: Let the lexical channel also read a document's original-language text
            (:attr:`~icdbridge.data.Document.original_text`, e.g. the Spanish of a machine
            translation) through a word gloss (:mod:`~icdbridge.model.crosslingual`): its
            matches join the candidates and a code's lexical score is the best of its match in
            the text and :data:`ORIGINAL_WEIGHT` times its match in the original. Documents
            without an original, or in a language that cannot be read, have no such matches.
            (Cross-validated over the CodiEsp train split against a separate feature for the
            original's matches: the shared score ranks unseen codes as well or better.)
        use_memory: Use the training memory (neighbour vote, prior, seen flag).
        neighbours_k: Training documents that vote.
        max_ancestors: Ancestors per code in the label space.
        label_options: :class:`~icdbridge.model.label_text.LabelTextOptions` fields. Default:
            the description alone (the ancestors enter through the hierarchy component; the
            same cached embeddings serve the zero-shot cosine baseline).
        label_space: ``"all"`` (every code of the release: categories and subcategories too,
            which datasets coded in an older release use, e.g. CodiEsp's ``A04.7`` or injury
            codes without their 7th character) or ``"leaves"`` (billable codes only).
        extra_codes: Codes added to the release's codes (training codes that the release does
            not define, e.g. CodiEsp's ``W19.XXX``, or non-leaf ones with ``"leaves"``).
        finetuned_encoder: The encoder was fine-tuned in training
            (:mod:`~icdbridge.model.finetune`); its weights are saved with the model.
        gloss_pieces: When the original text is read (``use_original``), its English word
            gloss is also cut into pieces and embedded: they join the text's pieces in the faiss
            shortlist and in the label-wise attention (evidence spans then point into the
            original). A machine translation drops the words coding depends on (``macroglosia``
            came out as ``macrog``); the gloss keeps them. Default on: in cross-validation over
            the CodiEsp train split it raised MAP with every training seed at equal unseen-code
            recall (``experiments/codiesp_zeroshot/cv_choices.py``).
    """

    system: str = "icd10cm"
    release: str | None = None
    encoder: str | None = None
    pieces: str = "clauses"
    window_tokens: int = 128
    window_stride: int = 96
    per_window_k: int = 64
    shortlist_k: int = 150
    family_expansion: int = 0
    overlap_k: int = 0
    use_lexical: bool = True
    use_original: bool = True
    use_memory: bool = True
    neighbours_k: int = 20
    max_ancestors: int = 3
    label_options: dict[str, Any] = field(
        default_factory=lambda: {"synonyms": False, "ancestors": False}
    )
    label_space: str = "all"
    extra_codes: list[str] = field(default_factory=list)
    finetuned_encoder: bool = False
    gloss_pieces: bool = True

    @property
    def reads_originals(self) -> bool:
        """Whether documents' original texts are read (the lexical channel and
        :attr:`use_original` both on)."""
        return self.use_lexical and self.use_original

    def reads_word_overlap(self, features: Collection[str] | None = None) -> bool:
        """Whether the release's word-overlap table (``LabelSpace.overlap``) is read: the
        lexical channel on, and overlap candidates taken (:attr:`overlap_k`) or a model reading
        ``features`` (``None``: all) that include a word-overlap feature."""
        return self.use_lexical and (self.overlap_k > 0 or needs_overlap_features(features))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineConfig:
        """Inverse of :meth:`to_dict` (unknown keys are ignored; a model saved before family
        expansion, original texts, overlap candidates or gloss pieces existed keeps its inputs:
        ``family_expansion`` 0, ``use_original`` false, ``overlap_k`` 0, ``gloss_pieces``
        false)."""
        known = set(cls.__dataclass_fields__)
        values: dict[str, Any] = {
            "family_expansion": 0,
            "use_original": False,
            "overlap_k": 0,
            "gloss_pieces": False,
        }
        values |= {k: v for k, v in data.items() if k in known}
        return cls(**values)


class LabelSpace:
    """Label embeddings of a release, derived ancestor rows, and the faiss index.

    Args:
        labels: Embeddings of the candidate codes.
        terminology: The release the codes belong to.
        max_ancestors: Ancestors per code.
    """

    def __init__(self, labels: LabelEmbeddings, terminology: Terminology, max_ancestors: int = 3):
        from icdbridge.model.label_text import nearest_defined
        from icdbridge.model.retrieval import CandidateIndex

        self.terminology = terminology
        self.codes = list(labels.codes)
        self.texts = list(labels.texts)
        self.row = {code: i for i, code in enumerate(self.codes)}
        n = len(self.codes)
        ancestor_rows: dict[str, int] = {}
        table = torch.full((n, max_ancestors), -1, dtype=torch.long)
        self.label_features = torch.zeros(n, len(LABEL_FEATURES))
        self.family: dict[str, str] = {}
        for i, code in enumerate(self.codes):
            resolved = nearest_defined(terminology, code)
            self.family[code] = family_of(terminology, resolved) if resolved else code
            if resolved is None:
                continue
            self.label_features[i] = torch.tensor(label_features(terminology, code, resolved))
            chain = [] if resolved == code else [resolved]
            chain += terminology.ancestors(resolved)
            for j, ancestor in enumerate(chain[:max_ancestors]):
                table[i, j] = ancestor_rows.setdefault(ancestor, n + len(ancestor_rows))
        # one bottom-up message-passing step: an ancestor row is the mean of its descendants
        sums = torch.zeros(len(ancestor_rows), labels.dim)
        members = table.clone()
        valid = members >= 0
        child = torch.arange(n).unsqueeze(1).expand_as(members)[valid]
        sums.index_add_(0, members[valid] - n, labels.matrix[child])
        ancestors = F.normalize(sums, dim=-1)
        self.matrix = torch.cat([labels.matrix, ancestors]).contiguous()
        self.ancestor_index = torch.cat(
            [table, torch.full((len(ancestor_rows), max_ancestors), -1, dtype=torch.long)]
        )
        self.index = CandidateIndex(self.codes, labels.matrix)

    def __len__(self) -> int:
        return len(self.codes)

    @cached_property
    def overlap(self) -> WordOverlap:
        """Title words of every code, for the ``"overlap"`` pair feature (built on first use)."""
        from icdbridge.model.overlap import WordOverlap

        return WordOverlap.build(self.terminology, self.codes)

    def family_key(self, code: str) -> str:
        """The family (:func:`family_of`) of a code, also of one outside the label space."""
        key = self.family.get(code)
        if key is None:
            from icdbridge.model.label_text import nearest_defined

            resolved = nearest_defined(self.terminology, code)
            key = family_of(self.terminology, resolved) if resolved else code
        return key

    def relatives(self, code: str, limit: int = 20) -> list[str]:
        """Parent, siblings and children of a code that are in the label space (at most
        ``limit`` siblings and ``limit`` children)."""
        from icdbridge.model.hierarchy import siblings

        node = self.terminology.get(code)
        if node is None:
            return []
        out = [node.parent] if node.parent else []
        out += siblings(self.terminology, node.code, limit)
        out += self.terminology.children(node.code)[:limit]
        return [c for c in out if c in self.row]


def family_of(terminology: Terminology, code: str) -> str:
    """The family of a defined code: its category (the nearest node of kind ``"category"``,
    itself included), else its parent, else itself."""
    for node in [code, *terminology.ancestors(code)]:
        if terminology.kind(node) == "category":
            return node
    return terminology.parent(code) or code


LABEL_SPACES = ("all", "leaves")
"""Values of :attr:`PipelineConfig.label_space`."""


def label_space_codes(terminology: Terminology, kind: str = "all") -> list[str]:
    """The codes of a release a label space starts from: ``"all"`` codes or only ``"leaves"``.

    Raises:
        ValueError: unknown kind.
    """
    if kind not in LABEL_SPACES:
        raise ValueError(f"unknown label space {kind!r} (expected one of {LABEL_SPACES})")
    return terminology.codes(leaves_only=kind == "leaves")


def build_label_space(
    encoder: TextEncoder,
    terminology: Terminology,
    config: PipelineConfig,
    codes: Sequence[str] | None = None,
    progress: bool = False,
) -> LabelSpace:
    """Embed (through the on-disk cache) the label space and wrap it in a :class:`LabelSpace`.

    Args:
        encoder: Label encoder.
        terminology: The release.
        config: Pipeline settings (label-text options, extra codes, ancestors).
        codes: The label space; ``None``: the codes of ``config.label_space`` plus
            ``config.extra_codes`` that the release can describe.
        progress: Show a progress bar while encoding labels.
    """
    from icdbridge.model.label_cache import embed_labels
    from icdbridge.model.label_text import LabelTextOptions, nearest_defined

    if codes is None:
        codes = label_space_codes(terminology, config.label_space)
        known = set(codes)
        extra = [
            c
            for c in config.extra_codes
            if c not in known and nearest_defined(terminology, c) is not None
        ]
        codes = codes + extra
    options = LabelTextOptions(**config.label_options)
    labels = embed_labels(encoder, terminology, codes, options, progress=progress)
    return LabelSpace(labels, terminology, config.max_ancestors)


# ---------------------------------------------------------------------------- features


def build_lexical(terminology: Terminology, codes: Sequence[str]) -> Any:
    """The lexical channel (:class:`~icdbridge.model.lexical.LexicalMatcher`) over ``codes``."""
    from icdbridge.model.lexical import LexicalMatcher

    return LexicalMatcher.build(terminology, codes)


def lexical_matches(matcher: Any, text: str) -> dict[str, tuple[float, list[tuple[int, int]]]]:
    """Code → (score, character spans) from the lexical channel."""
    return {code: (hit.score, list(hit.spans)) for code, hit in matcher.match(text).items()}


def original_gloss(doc: Document, terminology: Terminology) -> Gloss | None:
    """The English gloss of the document's original-language text (``None`` when it has none,
    or its language cannot be read: :func:`~icdbridge.model.crosslingual.readable_original`)."""
    from icdbridge.model.crosslingual import glosser_for, readable_original

    if not readable_original(doc):
        return None
    return glosser_for(doc.original_language, terminology).gloss(doc.original_text)


def original_matches(
    matcher: Any, doc: Document, terminology: Terminology, gloss: Gloss | None = None
) -> dict[str, tuple[float, list[tuple[int, int]]]]:
    """Code → (score, character spans into ``doc.original_text``) of the lexical channel over
    the English gloss of the document's original-language text (empty when there is none:
    :func:`original_gloss`, which ``gloss``, when given, is the result of)."""
    gloss = gloss or original_gloss(doc, terminology)
    if gloss is None:
        return {}
    original, language = doc.original_text, doc.original_language
    out: dict[str, tuple[float, list[tuple[int, int]]]] = {}
    for code, (score, spans) in lexical_matches(matcher, gloss.text).items():
        source = [span for s, e in spans if (span := gloss.source_span(s, e)) is not None]
        out[code] = (score, list(dict.fromkeys(source)))
    for code, hit in matcher.measure_hits(original, language).items():
        if hit.score > out.get(code, (0.0, []))[0]:
            out[code] = (hit.score, hit.spans)
    return out


def combined_lexical_scores(
    matches: dict[str, tuple[float, list[tuple[int, int]]]],
    originals: dict[str, tuple[float, list[tuple[int, int]]]],
) -> dict[str, float]:
    """Code → lexical score of every matched code: the best of its match in the text and
    :data:`ORIGINAL_WEIGHT` times its match in the original text."""
    scores = {code: score for code, (score, _) in matches.items()}
    for code, (score, _) in originals.items():
        scores[code] = max(scores.get(code, 0.0), ORIGINAL_WEIGHT * score)
    return scores


def document_lexical_scores(
    matcher: Any, doc: Document, terminology: Terminology, use_original: bool = True
) -> dict[str, float]:
    """Code → lexical score (:func:`combined_lexical_scores`) of one document, best first: the
    lexical channel alone."""
    matches = lexical_matches(matcher, doc.text)
    originals = original_matches(matcher, doc, terminology) if use_original else {}
    scores = combined_lexical_scores(matches, originals)
    return dict(sorted(scores.items(), key=lambda item: (-item[1], item[0])))


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
    from icdbridge.model.pieces import document_pieces

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


def needs_overlap_features(features: Collection[str] | None) -> bool:
    """Whether a model reading ``features`` (``None``: all) reads a word-overlap feature."""
    return features is None or not set(OVERLAP_FEATURES).isdisjoint(features)


def featurize(
    docs: Sequence[Document],
    encoder: TextEncoder,
    space: LabelSpace,
    config: PipelineConfig,
    memory: TrainingMemory | None = None,
    lexical: Any = None,
    training: bool = False,
    progress: bool = False,
    window_cache: dict | None = None,
    features: Collection[str] | None = None,
    hidden: Collection[str] = (),
) -> list[DocumentFeatures]:
    """Encode, shortlist and compute pair features for documents.

    Args:
        docs: Documents (their ``codes``, when present, become the gold).
        encoder: Window encoder.
        space: Label space of the release.
        config: Pipeline settings.
        memory: Training memory (features ``neighbours``, ``prior``, ``seen``), or ``None``.
        lexical: Lexical matcher (``None`` or ``config.use_lexical`` false: no lexical channel).
        training: Also add gold codes and their hierarchy siblings as candidates (so that the
            loss sees every positive and the hardest negatives).
        progress: Show progress bars.
        window_cache: Optional cache of window embeddings (see :func:`encode_documents`).
        features: The pair features the model reads (default: all of :data:`PAIR_FEATURES`);
            the word-overlap columns are left at 0 when it reads neither of them.
        hidden: Codes of the training memory treated as never seen (no memory features, not
            added as seen codes; :meth:`TrainingMemory.features`): simulated unseen codes for
            training (``TrainConfig.hidden_codes``).
    """
    from icdbridge.model.hierarchy import siblings
    from icdbridge.model.overlap import sentence_words

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
    use_words = lexical is not None and config.reads_word_overlap(features)
    use_overlap = use_words and needs_overlap_features(features)
    reads_originals = lexical is not None and config.reads_originals
    glosses = [original_gloss(doc, space.terminology) if reads_originals else None for doc in docs]
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
    out = []
    for i, doc in enumerate(docs):
        spans = encoded[i][0]
        windows = piece_vectors[i]
        shortlist = shortlists[i]
        matches = lexical_matches(lexical, doc.text) if use_lexical else {}
        gloss = glosses[i]
        originals = original_matches(lexical, doc, space.terminology, gloss) if gloss else {}
        lexical_by_code = combined_lexical_scores(matches, originals)
        sentences = sentence_words(doc.text, gloss and gloss.text) if use_words else []
        words = frozenset().union(*sentences)  # the document's words (document_words)
        votes, prior, family_prior = memory_features[i] if memory_features else ({}, {}, {})
        family_votes: dict[str, float] = {}
        for code, vote in votes.items():
            key = space.family_key(code)
            family_votes[key] = family_votes.get(key, 0.0) + vote
        gold = frozenset(doc.codes)
        candidates: dict[str, float] = {}
        for code in shortlist:
            candidates[code] = 2.0
        for code in lexical_by_code:
            if code in space.row:
                candidates[code] = 2.0
        if use_lexical and config.overlap_k:
            for code in space.overlap.top(words, config.overlap_k):
                candidates[code] = 2.0
        for code in votes:
            if code in space.row:
                candidates[code] = max(candidates.get(code, 0.0), 2.0)
        if config.family_expansion:
            n = config.family_expansion
            best_matches = sorted(lexical_by_code, key=lambda c: (-lexical_by_code[c], c))[:n]
            best_votes = sorted(votes, key=lambda c: (-votes[c], c))[:n]
            for code in [*list(shortlist)[:n], *best_matches, *best_votes]:
                for relative in space.relatives(code):
                    candidates.setdefault(relative, 2.0)
        for code in seen_codes:
            candidates.setdefault(code, 1.0)
        if training:
            for code in sorted(gold):
                if code in space.row:
                    candidates.setdefault(code, 1.0)
                    for sibling in siblings(space.terminology, code):
                        if sibling in space.row:
                            candidates[sibling] = candidates.get(sibling, 0.0) + 3.0
        # candidates in code order: what follows (negative sampling, batching) never depends on
        # the order of sets, whose iteration order changes with Python's string hash seed
        codes = sorted(candidates)
        rows = torch.tensor([space.row[c] for c in codes], dtype=torch.long)
        features = torch.zeros(len(codes), len(PAIR_FEATURES))
        families = [space.family[code] for code in codes]
        columns: dict[str, list[float]] = {
            "lexical": [lexical_by_code.get(code, 0.0) for code in codes],
            "neighbours": [votes.get(code, 0.0) for code in codes],
            "prior": [prior.get(code, 0.0) for code in codes],
            "seen": [1.0 if prior.get(code, 0.0) > 0 else 0.0 for code in codes],
            "family_votes": [family_votes.get(family, 0.0) for family in families],
            "family_prior": [family_prior.get(family, 0.0) for family in families],
        }
        if use_overlap:
            columns["overlap"] = space.overlap.best_overlap([words], codes).tolist()
            columns["sentence_overlap"] = space.overlap.best_overlap(sentences, codes).tolist()
        for name, values in columns.items():
            features[:, _COLUMN[name]] = torch.tensor(values, dtype=features.dtype)
        features[:, _LABEL_FEATURES_START:] = space.label_features[rows]
        out.append(
            DocumentFeatures(
                id=doc.id,
                text=doc.text,
                spans=spans,
                windows=windows,
                candidates=codes,
                label_index=rows,
                features=features,
                hardness=torch.tensor([candidates[c] for c in codes]),
                gold=gold,
                lexical_spans={c: [(s, e, m[0]) for s, e in m[1]] for c, m in matches.items()},
                original_text=doc.original_text if gloss is not None else None,
                original_spans={c: [(s, e, m[0]) for s, e in m[1]] for c, m in originals.items()},
                original_piece_spans=original_piece_spans[i],
            )
        )
    return out


# ---------------------------------------------------------------------------- scoring


def feature_columns(model: CodingNetwork) -> list[int]:
    """Columns of :data:`PAIR_FEATURES` the model uses."""
    return [PAIR_FEATURES.index(name) for name in model.config.features]


@torch.inference_mode()
def score_documents(
    model: CodingNetwork,
    space: LabelSpace,
    docs: Sequence[DocumentFeatures],
    batch_size: int = 4,
    keep_attention: bool = False,
) -> list[tuple[dict[str, float], torch.Tensor | None]]:
    """Raw logits of every candidate of each document (and its attention when asked)."""
    from icdbridge.model.lightning import score_batch

    was_training = model.training
    model.eval()
    columns = feature_columns(model)
    out = []
    try:
        for start in range(0, len(docs), batch_size):
            chunk = docs[start : start + batch_size]
            batch = collate([(d, torch.arange(len(d.candidates))) for d in chunk], columns)
            result = score_batch(model, space.matrix, space.ancestor_index, batch)
            for row, doc in enumerate(chunk):
                n = len(doc.candidates)
                logits = result.logits[row, :n].tolist()
                pieces = len(doc.spans) + len(doc.original_piece_spans)
                attention = result.attention[row, :n, :pieces].clone() if keep_attention else None
                out.append((dict(zip(doc.candidates, logits, strict=True)), attention))
    finally:
        model.train(was_training)
    return out


@dataclass
class Prediction:
    """Ranked codes of one document.

    Attributes:
        id: Document id.
        scores: Code → calibrated probability, best first (the ``top_k`` best).
        predicted: Codes above the validated threshold.
        evidence: Code → evidence spans ``{"start", "end", "text", "source", "weight"}``.
    """

    id: str
    scores: dict[str, float]
    predicted: list[str]
    evidence: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self, terminology: Terminology | None = None) -> dict[str, Any]:
        """JSON-ready row: ``{"id", "codes": [...], "scores": {...}, "evidence"?}``."""
        row: dict[str, Any] = {"id": self.id, "codes": self.predicted, "scores": self.scores}
        if terminology is not None:
            row["descriptions"] = {
                c: (terminology.description(c) if terminology.get(c) else "") for c in self.scores
            }
        if self.evidence:
            row["evidence"] = self.evidence
        return row


def evidence_for(
    doc: DocumentFeatures, code: str, attention: torch.Tensor | None, position: int, top: int = 2
) -> list[dict[str, Any]]:
    """Evidence spans of one candidate: its lexical matches (in the text, then in the original
    text, marked ``"field": "original_text"``), then its most attended pieces (a piece of the
    original's gloss points into the original text, marked alike)."""
    spans: list[dict[str, Any]] = []
    fields = [(doc.text, doc.lexical_spans, {})]
    if doc.original_text is not None:
        fields.append((doc.original_text, doc.original_spans, {"field": "original_text"}))
    for text, matches, marker in fields:
        for start, end, score in matches.get(code, [])[:top]:
            spans.append(
                {
                    "start": start,
                    "end": end,
                    "text": text[start:end],
                    "source": "lexical",
                    **marker,
                    "weight": round(float(score), 4),
                }
            )
    if attention is not None and attention.shape[-1]:
        weights = attention[position]
        for w in torch.argsort(weights, descending=True)[:top].tolist():
            if w < len(doc.spans):
                (start, end), text, marker = doc.spans[w], doc.text, {}
            else:
                start, end = doc.original_piece_spans[w - len(doc.spans)]
                text, marker = doc.original_text or "", {"field": "original_text"}
            spans.append(
                {
                    "start": start,
                    "end": end,
                    "text": text[start:end],
                    "source": "attention",
                    **marker,
                    "weight": round(float(weights[w]), 4),
                }
            )
    return spans


class Predictor:
    """A trained model ready to code texts over a whole terminology release.

    Args:
        model: The network, or an ensemble of networks.
        config: Pipeline settings.
        space: Label space of the release to predict in.
        encoder: Window (and label) encoder.
        memory: Training memory, or ``None``.
        lexical: Lexical matcher, or ``None``.
        calibrator: Fitted calibrator (``None``: identity with threshold 0.5).
    """

    def __init__(
        self,
        model: CodingNetwork,
        config: PipelineConfig,
        space: LabelSpace,
        encoder: TextEncoder,
        memory: TrainingMemory | None = None,
        lexical: Any = None,
        calibrator: Calibrator | None = None,
    ) -> None:
        from icdbridge.model.calibration import Calibrator

        self.model = model
        self.config = config
        self.space = space
        self.encoder = encoder
        self.memory = memory
        self.lexical = lexical
        self.calibrator = calibrator or Calibrator()
        self.window_cache: dict | None = None

    @property
    def seen(self) -> frozenset[str]:
        """Codes seen in training (calibration treats every other code as unseen)."""
        return self.memory.seen if self.memory is not None else frozenset()

    def featurize(self, docs: Sequence[Document], progress: bool = False):
        """:func:`featurize` with this predictor's components."""
        return featurize(
            docs,
            self.encoder,
            self.space,
            self.config,
            self.memory,
            self.lexical,
            False,
            progress,
            self.window_cache,
            self.model.config.features,
        )

    @property
    def needs_word_overlap(self) -> bool:
        """Whether predicting builds the release's word-overlap table (``space.overlap``): the
        model reads an overlap feature or takes overlap candidates, with the lexical channel on
        (models saved before the overlap features existed do not)."""
        return self.config.reads_word_overlap(self.model.config.features)

    def raw_scores(self, docs: Sequence[Document]) -> list[dict[str, float]]:
        """Uncalibrated logits of every candidate of each document."""
        return [s for s, _ in score_documents(self.model, self.space, self.featurize(docs))]

    def predict(
        self,
        docs: Sequence[Document],
        top_k: int | None = 50,
        explain: bool = False,
        progress: bool = False,
    ) -> list[Prediction]:
        """Rank codes for each document.

        Args:
            docs: Documents (gold codes, if any, are ignored).
            top_k: Codes kept per document (``None``: every candidate).
            explain: Attach evidence spans to each kept code.
            progress: Show progress bars.
        """
        features = self.featurize(docs, progress)
        scored = score_documents(self.model, self.space, features, keep_attention=explain)
        seen = self.seen
        out = []
        for doc, (raw, attention) in zip(features, scored, strict=True):
            ranked = self.calibrator.apply(raw, seen)
            kept = dict(list(ranked.items())[:top_k]) if top_k is not None else ranked
            predicted = [c for c, p in kept.items() if p >= self.calibrator.threshold_]
            evidence = {}
            if explain:
                position = {c: j for j, c in enumerate(doc.candidates)}
                evidence = {c: evidence_for(doc, c, attention, position[c]) for c in kept}
            out.append(Prediction(doc.id, kept, predicted, evidence))
        return out


def write_predictions(
    predictions: Sequence[Prediction], path: str | Path, terminology: Terminology | None = None
) -> None:
    """Write predictions as JSONL (one :meth:`Prediction.to_dict` row per document).

    Written atomically (:func:`icdbridge.outputs.atomic_file`; a missing folder is created):
    an error or interruption leaves ``path`` as it was.
    """
    from icdbridge.outputs import atomic_file, check_output

    check_output(path)
    with atomic_file(path) as temp, open(temp, "w", encoding="utf-8") as handle:
        for prediction in predictions:
            handle.write(json.dumps(prediction.to_dict(terminology), ensure_ascii=False) + "\n")


def zero_shot_predictor(
    space: LabelSpace,
    encoder: TextEncoder,
    lexical: Any = None,
    config: PipelineConfig | None = None,
) -> Predictor:
    """An untrained but usable predictor: label-wise attention + max cosine (+ lexical score).

    The network keeps its initial fusion weights (:data:`~icdbridge.model.network.INITIAL_FUSION`),
    the hierarchy component is the identity and there is no training memory, so every code of
    ``space`` is scored from its text alone. Used by ``icdbridge demo`` when no trained model is
    given.
    """
    from icdbridge.model.network import LabelEmbeddingModel, ModelConfig

    config = config or PipelineConfig(use_lexical=lexical is not None, use_memory=False)
    features = ("lexical",) if lexical is not None else ()
    model = LabelEmbeddingModel(
        ModelConfig(dim=encoder.dim, features=features, max_ancestors=config.max_ancestors)
    )
    model.eval()
    return Predictor(model, config, space, encoder, None, lexical)


def lexical_candidates(
    matcher: Any,
    docs: Sequence[Document],
    terminology: Terminology,
    siblings_per_code: int = 5,
) -> list[str]:
    """Codes the lexical channel finds in ``docs`` (their text and original text) plus a few
    hierarchy siblings of each.

    A cheap label space for a handful of notes: it avoids embedding a whole release.
    """
    from icdbridge.model.hierarchy import siblings

    codes: dict[str, None] = {}
    for doc in docs:
        for code in document_lexical_scores(matcher, doc, terminology):
            codes.setdefault(code)
            for sibling in siblings(terminology, code, siblings_per_code):
                if terminology.is_leaf(sibling):
                    codes.setdefault(sibling)
    return list(codes)
