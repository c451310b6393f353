"""Every default of the model, and how the settings of older saved models are read.

Three dataclasses hold all settings; the library, the CLI (``icdbridge train`` / ``predict``)
and model loading read their defaults from here and nowhere else:

* :class:`PipelineConfig` — what the network sees (code system, encoder, pieces, candidates,
  lexical channel, training memory, label space); saved with the model.
* :class:`ModelConfig` — the network's hyper-parameters; saved with the weights.
* :class:`TrainConfig` — optimisation (epochs, negatives, ensemble members, calibration).

The defaults are those of the published CodiEsp row (``experiments/codiesp_zeroshot``):
``train_model()`` with default settings trains that model. ``from_dict`` fills keys that a model
saved by an older version lacks with the value that reproduces what that model did.

Example:
    >>> PipelineConfig().max_ancestors == ModelConfig().max_ancestors == DEFAULT_MAX_ANCESTORS
    True
    >>> PipelineConfig.from_dict({"system": "icd10cm"}).gloss_pieces  # saved before gloss pieces
    False
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

from icdbridge.model.features.registry import DEFAULT_FEATURES, needs_overlap_features

DEFAULT_TOP_K = 50
"""Codes kept per document in a prediction (``icdbridge predict --top-k``)."""

DEFAULT_OPERATING_POINT = "balanced"
"""Operating point a prediction uses (``icdbridge predict --operating-point``; the names and
their definitions are in :mod:`icdbridge.model.operating_points`)."""

UNSEEN_POINT_MAP_TOLERANCE = 0.1
"""Validation MAP the ``unseen`` operating point may give up, below the best grid point, for
unseen-code recall@20 (on the CodiEsp train folds the three networks scored MAP 0.449 at unseen
R@20 0.397 with it, against 0.475 / 0.384 balanced: ``docs/model-history.md``,
*Cross-validated choices — history*)."""

PRECISIONS = ("fp32", "bf16", "auto")
"""Inference precisions of the text encoder (:class:`~icdbridge.model.text.encoder.TextEncoder`):
float32, bfloat16 autocast, or bfloat16 where the CPU/GPU is fast at it."""

DEFAULT_PRECISION = "fp32"
"""Encoder inference precision of new models (``icdbridge train --precision``). Float32: a
model's label and piece embeddings, and so its calibration, are then the same on every machine.
Under bfloat16 the CodiEsp row (d) trained to MAP 0.430 against 0.502 in float32 on the same
AMX machine (the unseen-code calibration landed elsewhere: docs/model.md, *Speed*, "bf16 is
not neutral end to end"); ``bf16`` / ``auto`` encode several times faster on CPUs with AMX."""

DEFAULT_INDEX_PHRASES: tuple[str, ...] = ("index", "drug", "neoplasm")
"""Index documents whose phrases join the lexical channel of a new ICD-10-CM model when the
Index material is found (:attr:`PipelineConfig.index_phrases` ``None``, "auto"; the values are
:data:`~icdbridge.model.lexical.index_phrases.INDEX_SOURCES`). In cross-validation over the
CodiEsp train split they raised MAP and unseen-code recall on every fold; the External Cause
Index (``"eindex"``) lowered MAP and the harmonic mean of MAP and unseen recall with every seed
there, and is left out (``docs/model.md``, *What the Index contributes*)."""

DEFAULT_MAX_ANCESTORS = 3
"""Ancestors per code in the label space and in the hierarchy component (a trained model stores
its own value; this is the value of new models)."""


@dataclass
class PipelineConfig:
    """Everything around the network that decides what it sees (stored with the model).

    Attributes:
        system: Code system trained against.
        release: Its release (``None``: the default release).
        encoder: Local encoder directory (``None``: the default MiniLM).
        pieces: How documents are cut (:data:`~icdbridge.model.text.pieces.PIECE_MODES`):
            ``"clauses"`` (sentences and their clauses), ``"sentences"`` or ``"windows"``.
        window_tokens: Token budget of a piece (longer sentences are cut into windows).
        window_stride: Tokens between window starts (overlap = tokens - stride).
        per_window_k: Labels retrieved by faiss per piece.
        shortlist_k: Codes kept in each document's faiss shortlist (``K``): its codes of
            highest maximum piece cosine. Default 300: against 150, with today's other
            defaults, it brings more unseen gold codes among the candidates and raised the
            harmonic mean of MAP and unseen recall@20 with every training seed, and the
            three-network ensemble's MAP (its harmonic mean 0.002 lower), in cross-validation
            over the CodiEsp train split (``experiments/codiesp_zeroshot/cv_shortlist_today.json``,
            ``docs/model.md``). Models saved with 150 keep it.
        family_expansion: The ``N`` best codes of the faiss shortlist, of the lexical matches and
            of the training-neighbour vote whose hierarchy family joins the candidates: parent,
            siblings and children (0: no expansion). A code coded in a new dataset is often the
            sibling of one the text or the neighbours point to (``N20.1`` beside ``N20.0``).
            Default 60: with the Index word overlap among the features (the words that set
            siblings apart), of 0, 10, 30 and 60 only 60 raised the harmonic mean of MAP and
            unseen recall@20 with every training seed and in the ensemble, without MAP loss, in
            cross-validation over the CodiEsp train split, and it brings the most unseen gold
            codes among the candidates (``experiments/codiesp_zeroshot/cv_family.json``,
            ``docs/model.md``). 100 brings more, and raised the harmonic mean with every seed,
            but lowered MAP with every seed and the ensemble's harmonic mean
            (``cv_family_today.json``).
        overlap_k: Codes of highest word overlap with the document
            (:meth:`~icdbridge.model.lexical.overlap.WordOverlap.top`) that join the candidates:
            codes
            the text names only in part, which neither faiss nor the exact lexical matches
            reach (0: none; needs the lexical channel). Default 0: with 50 the model reached
            more unseen codes by rank 50 but fewer by rank 20 in cross-validation over the
            CodiEsp train split (``experiments/codiesp_zeroshot/cv_choices.py``).
        index_overlap_k: Codes of highest word overlap with the document's **Index phrases**
            (:meth:`~icdbridge.model.lexical.overlap.WordOverlap.from_index`: the words of each
            Index path that leads to a code, IDF-weighted) that join the candidates: codes a
            coder would reach through the Index from words the note names only in part
            (``nuclear cataract`` for ``Cataract › senile › nuclear``). 0: none; needs the
            lexical channel with Index phrases (:attr:`index_phrases`), and is ignored without.
            Default 0: with 100, cross-validation over the CodiEsp train split brought more
            unseen gold codes among the candidates (0.79 against 0.75 of them) but lowered the
            harmonic mean of MAP and unseen recall@20 with every training seed
            (``experiments/codiesp_zeroshot/cv_index_overlap_candidates.json``).
        use_lexical: Switch of the lexical channel (candidates and features: lexical score
            and word overlap).
        use_original: Let the lexical channel also read a document's original-language text
            (:attr:`~icdbridge.data.Document.original_text`, e.g. the Spanish of a machine
            translation) through a word gloss (:mod:`~icdbridge.model.lexical.gloss`): its
            matches join the candidates and a code's lexical score is the best of its match in
            the text and :data:`ORIGINAL_WEIGHT` times its match in the original. Documents
            without an original, or in a language that cannot be read, have no such matches.
            (Cross-validated over the CodiEsp train split against a separate feature for the
            original's matches: the shared score ranks unseen codes as well or better.)
        use_memory: Use the training memory (neighbour vote, prior, seen flag).
        neighbours_k: Training documents that vote.
        max_ancestors: Ancestors per code in the label space.
        label_options: :class:`~icdbridge.model.labels.texts.LabelTextOptions` fields. Default:
            the description alone (the ancestors enter through the hierarchy component; the
            same cached embeddings serve the zero-shot cosine baseline).
        label_space: ``"all"`` (every code of the release: categories and subcategories too,
            which datasets coded in an older release use, e.g. CodiEsp's ``A04.7`` or injury
            codes without their 7th character) or ``"leaves"`` (billable codes only).
        extra_codes: Codes added to the release's codes (training codes that the release does
            not define, e.g. CodiEsp's ``W19.XXX``, or non-leaf ones with ``"leaves"``).
        seventh_character_bases: The label space also holds every **7th-character base** of
            the release (:func:`~icdbridge.codes.bases.seventh_character_bases`: an
            ICD-10-CM code with a 7th-character extension written without it, ``S62.92X`` for
            ``S62.92XA``), which the release does not define but datasets that code without
            the encounter write (CodiEsp). ``None`` ("auto"): training turns it on when a
            training gold code is written that way (so that the bases the training notes never
            used can be predicted too) and saves the answer; a label space built outside
            training without an answer has none. "Auto" by default since the cross-validation
            over the CodiEsp train split with each fold's own label space
            (``experiments/codiesp_zeroshot/cv_seventh_character_bases.json``: a higher
            harmonic mean of MAP and unseen recall@20 with every training seed and in the
            ensemble, 0.017 more unseen gold codes among the candidates; ``docs/model.md``).
        finetuned_encoder: The encoder was fine-tuned in training
            (:mod:`~icdbridge.model.train.finetune`); its weights are saved with the model.
        finetuned_labels: With :attr:`finetuned_encoder`: the fine-tuned encoder embeds the
            label texts too (``True``, and in models saved before the choice existed);
            ``False``: only the note side was fine-tuned (``TrainConfig.finetune_labels``
            off), and the label texts are embedded by the untuned :attr:`encoder`.
        gloss_pieces: When the original text is read (``use_original``), its English word
            gloss is also cut into pieces and embedded: they join the text's pieces in the faiss
            shortlist and in the label-wise attention (evidence spans then point into the
            original). A machine translation drops the words coding depends on (``macroglosia``
            came out as ``macrog``); the gloss keeps them. Default on: in cross-validation over
            the CodiEsp train split it raised MAP with every training seed at equal unseen-code
            recall (``experiments/codiesp_zeroshot/cv_choices.py``).
        index_phrases: Index documents whose terms join the lexical channel's phrases
            (:mod:`~icdbridge.model.lexical.index_phrases`): ``"index"`` (Index to Diseases
            and Injuries), ``"eindex"`` (External Cause Index), ``"drug"`` (Table of Drugs and
            Chemicals, a substance with a cue of its column), ``"neoplasm"`` (Neoplasm Table, a
            site with a cue of its behaviour); ICD-10-CM only. ``None`` (default, "auto"):
            :data:`DEFAULT_INDEX_PHRASES` when the label space is ICD-10-CM and the Index
            material is found at :attr:`index_source`, else none (training says so in one
            line); ``[]``: titles and inclusion terms alone; a list: those documents, required
            (training refuses to start without them). Training resolves ``None`` once
            (:func:`~icdbridge.model.lexical.index_choice.resolve_index_phrases`): a saved
            model records the list it used, and carries its Index phrases with it (see *What
            the Index contributes* in docs/model.md).
        index_in_original: With Index phrases and the original text read
            (:attr:`use_original`): the original's English word gloss meets the Index phrases
            too (its matches of them join the candidates and the lexical score, and its words
            the Index word-overlap features), as it meets the titles. ``False``: the Index
            reaches the English text only, and the gloss meets the titles and inclusion terms
            alone (:attr:`LexicalMatcher.without_index
            <icdbridge.model.lexical.matcher.LexicalMatcher.without_index>`): what the Index
            carried across languages adds (row (w) of the CodiEsp table, docs/model.md).
        index_source: Folder or file of the Index material (``None``:
            ``$ICDBRIDGE_DATA/icd10cm-index-2025``, where ``icdbridge datasets download
            icd10cm-index`` puts it; :func:`~icdbridge.codes.index.load_index`).
        index_aliases: With the Index terms (``"index"`` among :attr:`index_phrases`), their
            paths are also **label aliases** (:mod:`~icdbridge.model.labels.aliases`): more
            texts per code, searched in the faiss shortlist beside the titles (each code by
            its best text) and read by the network as the pair feature ``alias_cosine``. A
            saved model carries them (``index_aliases.jsonl``).
        precision: Encoder inference precision (:data:`PRECISIONS`) of the label and piece
            embeddings, in training and, for the same calibration, in every prediction.
    """

    system: str = "icd10cm"
    release: str | None = None
    encoder: str | None = None
    pieces: str = "clauses"
    window_tokens: int = 128
    window_stride: int = 96
    per_window_k: int = 64
    shortlist_k: int = 300
    family_expansion: int = 60
    overlap_k: int = 0
    index_overlap_k: int = 0
    use_lexical: bool = True
    use_original: bool = True
    use_memory: bool = True
    neighbours_k: int = 20
    max_ancestors: int = DEFAULT_MAX_ANCESTORS
    label_options: dict[str, Any] = field(
        default_factory=lambda: {
            "synonyms": LabelTextOptions().synonyms,
            "ancestors": LabelTextOptions().ancestors,
        }
    )
    label_space: str = "all"
    extra_codes: list[str] = field(default_factory=list)
    seventh_character_bases: bool | None = None
    finetuned_encoder: bool = False
    finetuned_labels: bool = True
    gloss_pieces: bool = True
    index_phrases: list[str] | None = None
    index_in_original: bool = True
    index_source: str | None = None
    index_aliases: bool = False
    precision: str = DEFAULT_PRECISION

    @property
    def uses_index_aliases(self) -> bool:
        """Whether the label space has the Index aliases: :attr:`index_aliases` on and the
        Index terms among the (resolved) :attr:`index_phrases`."""
        return self.index_aliases and "index" in (self.index_phrases or ())

    @property
    def tuned_notes_only(self) -> bool:
        """Whether the label texts and the note pieces have different encoders: only the note
        side was fine-tuned (:attr:`finetuned_encoder` without :attr:`finetuned_labels`)."""
        return self.finetuned_encoder and not self.finetuned_labels

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
        expansion, original texts, overlap candidates, gloss pieces or Index phrases existed keeps
        its inputs: ``family_expansion`` 0, ``use_original`` false, ``overlap_k`` 0,
        ``gloss_pieces`` false, ``index_phrases`` none, ``index_aliases`` false, no 7th-character
        bases; one saved before the precision setting encoded with ``auto``)."""
        known = set(cls.__dataclass_fields__)
        values: dict[str, Any] = {
            "shortlist_k": 150,
            "family_expansion": 0,
            "use_original": False,
            "overlap_k": 0,
            "gloss_pieces": False,
            "index_phrases": [],
            "index_aliases": False,
            "precision": "auto",
            "seventh_character_bases": False,
        }
        values |= {k: v for k, v in data.items() if k in known}
        return cls(**values)


BASES_OPTIONS: dict[str, bool | None] = {"auto": None, "on": True, "off": False}
"""``icdbridge train --seventh-character-bases`` value →
:attr:`PipelineConfig.seventh_character_bases`."""


def bases_option(value: bool | None) -> str:
    """The ``--seventh-character-bases`` text of a ``PipelineConfig.seventh_character_bases``
    value (the inverse of :data:`BASES_OPTIONS`).

    Example:
        >>> [bases_option(v) for v in (None, True, False)]
        ['auto', 'on', 'off']
    """
    return next(text for text, v in BASES_OPTIONS.items() if v is value)


LABEL_SPACES = ("all", "leaves")
"""Values of :attr:`PipelineConfig.label_space`."""


@dataclass
class ModelConfig:
    """Hyper-parameters of :class:`LabelEmbeddingModel` (stored as JSON with the weights).

    Attributes:
        dim: Width of the (frozen) encoder embeddings.
        hidden: Width of the attention query/key space.
        max_ancestors: Ancestors mixed in by the hierarchy component.
        use_hierarchy: Switch of the hierarchy component (ablation row (e)).
        features: Names of the pair features in use (a subset of :data:`PAIR_FEATURES`, in that
            order); dropping ``"lexical"`` is ablation row (f). Default: all of them (the
            :data:`FAMILY_FEATURES` and the Index word overlap were chosen by cross-validation
            over the CodiEsp train split, ``experiments/codiesp_zeroshot/cv_choices.py``); a
            component switched off drops its own (:func:`model_features`).
        fusion_hidden: Width of the small non-linear branch of the fusion layer.
    """

    dim: int = 384
    hidden: int = 128
    max_ancestors: int = DEFAULT_MAX_ANCESTORS
    use_hierarchy: bool = True
    features: tuple[str, ...] = field(default=DEFAULT_FEATURES)
    fusion_hidden: int = 16

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        data = asdict(self)
        data["features"] = list(self.features)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["features"] = tuple(data.get("features", DEFAULT_FEATURES))
        return cls(**data)


@dataclass
class TrainConfig:
    """Optimisation settings.

    Attributes:
        epochs: Maximum epochs.
        batch_size: Documents per batch.
        negatives: Negatives sampled per document and epoch.
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        loss: ``"bce"`` or ``"contrastive"`` (:data:`~icdbridge.model.net.losses.LOSSES`).
        positive_weight: Weight of positives in the BCE loss.
        patience: Early-stopping patience in epochs (on validation MAP).
        seed: Seed of everything (weights, sampling, shuffling); network ``i`` of an ensemble
            trains with ``seed + i``.
        members: Networks trained (each with its own seed, on the same documents) and averaged
            into one :class:`~icdbridge.model.net.network.NetworkEnsemble`; 1: a single network.
            Default 3, chosen by cross-validation over the CodiEsp train split
            (``experiments/codiesp_zeroshot/cv_choices.py``, ``docs/model.md``).
        calibration_folds: 0: the unseen-code calibration and the threshold are fitted on the
            validation documents' scores. ``K`` ≥ 2: on *out-of-fold* scores of all training and
            validation documents instead — they are cut, seeded, into ``K`` folds, and one more
            network per fold trains on the other folds (with a training memory of those folds
            only, for the main networks' mean best epoch count) and scores its fold, so that
            every labelled document contributes its codes unseen by the network that scored it
            (see ``docs/model.md``).
        calibration_map_tolerance: ``None`` (default): the unseen-code calibration maximises
            the harmonic mean of validation MAP and validation unseen recall@20; a number: the
            validation MAP it may give up for unseen recall@20 instead
            (:class:`~icdbridge.model.calibration.Calibrator`).
        calibration_recall_k: Rank cut-off of the unseen-code recall the calibration and the
            operating points weigh (recall@20 by default; a label space of a few dozen codes
            needs a smaller one, or every code is in the top 20).
        hidden_codes: Share of the codes seen in training that are *hidden* from the training
            memory while the networks train (simulated unseen codes: no neighbour vote, prior or
            seen flag, and not among the always-added seen candidates; chosen by ``seed``,
            shared by the networks of an ensemble). Their notes still train the networks, which
            then see more positives the way they see a code that never occurred in training.
            Validation, calibration and prediction use the whole memory. 0 (default): only the
            leave-one-out of each note's own codes; on the CodiEsp train folds 0.2 and 0.4
            lowered the harmonic mean of MAP and unseen recall@20 (``docs/model.md``).
        finetune_epochs: Epochs of encoder fine-tuning before the heads train
            (:mod:`~icdbridge.model.train.finetune`; 0: the encoder stays frozen).
        finetune_learning_rate: Peak learning rate of encoder fine-tuning.
        finetune_batch_size: Mined pairs per fine-tuning step.
        finetune_evidence: Fine-tuning also trains on the training documents' annotated
            mentions (their ``evidence``, :class:`~icdbridge.data.Mention`: the words each code
            is mentioned by, e.g. CodiEsp's ``*X.tsv``), not only on the mined pairs; documents
            without annotations add none.
        finetune_mined: Fine-tuning trains on the pairs mined from the training documents
            (each gold code with the note piece most like its label text). ``False``: on the
            annotated mentions alone (``finetune_evidence`` must be on and some training
            document annotated): no mining, and a mention is a few words where a piece is up
            to a clause.
        finetune_labels: Fine-tuning tunes the one encoder of both sides, and the label space
            is embedded again with it (default). ``False``: **note side only** — the label
            embeddings stay those of the untuned encoder (shared with every model of that
            encoder through the label-embedding cache, never embedded again) and the note
            pieces are tuned towards them; the model then holds two encoders, the untuned one
            of its label texts and the tuned one of its notes.
        init: A trained model directory whose networks initialise the new ones (a warm start,
            :mod:`~icdbridge.model.train.warm_start`): their label-independent weights carry
            over, while the label space (the new system's), the training memory (the new
            documents') and the calibration and threshold (the new validation documents') are
            built anew. ``None`` (default): networks start from a fresh initialisation.
    """

    epochs: int = 25
    batch_size: int = 16
    negatives: int = 192
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    loss: str = "contrastive"
    positive_weight: float = 4.0
    patience: int = 5
    seed: int = 0
    members: int = 3
    calibration_folds: int = 0
    calibration_map_tolerance: float | None = None
    calibration_recall_k: int = 20
    hidden_codes: float = 0.0
    finetune_epochs: int = 0
    finetune_learning_rate: float = 3e-5
    finetune_batch_size: int = 32
    finetune_evidence: bool = True
    finetune_mined: bool = True
    finetune_labels: bool = True
    init: str | None = None


@dataclass(frozen=True, slots=True)
class LabelTextOptions:
    """How label texts are built.

    The defaults are the model's: the description alone (the ancestors enter through the
    hierarchy component, and the same cached embeddings serve the zero-shot cosine baseline).

    Attributes:
        synonyms: Append synonyms / inclusion terms.
        ancestors: Append ancestors' descriptions (nearest first).
        max_synonyms: At most this many synonyms.
        max_ancestors: At most this many ancestor titles (those repeating the code's own title
            are skipped and not counted; chapters count).
        undefined: What to do with a code the release does not define: ``"prefix"`` (use the
            label text of its longest defined prefix, e.g. CodiEsp's ``W19.XXX`` → ``W19``) or
            ``"error"`` (raise :class:`~icdbridge.errors.NotDefinedError`).
    """

    synonyms: bool = False
    ancestors: bool = False
    max_synonyms: int = 3
    max_ancestors: int = 2
    undefined: str = "prefix"

    def to_dict(self) -> dict[str, object]:
        """Plain dict (for JSON configs and cache keys)."""
        return asdict(self)
