"""The ``text`` policy: order each row's crosswalk candidates by what its note says.

When a code has several targets (one-to-many GEM rows, choice lists, category expansion, WHO
multiple-category rows) the clinical note usually says which one is right. With a trained model
(``icdbridge train``) the ``text`` policy scores each row's candidate codes for the row's note and
orders them, best first; it never drops a target. A migration with it keeps every column of the
lossless ``all`` policy unchanged and adds (:data:`TEXT_ADDED`):

* ``map_text_ranked`` — the target codes, best first for the note;
* ``map_text_scores`` — their calibrated probabilities for the note, in the same order (text with
  four decimals; empty for a code the model's label space lacks, ranked after the scored ones);
* ``map_text_pick`` — the pick: the first ranked code, or, when it belongs to a GEM combination,
  the best-ranked code of every choice list of its scenario (a complete combination); never a
  category target the loaded release does not bill while its leaf codes are ranked;
* ``map_text_order`` — how the row was ordered (:data:`ORDERS`): ``text``, or the crosswalk's own
  order with the reason (``crosswalk: one candidate``, ``crosswalk: no text``,
  ``crosswalk: no candidates``, ``crosswalk: no candidate scored``); rows kept in crosswalk order
  pick the first-listed code (its combination completed alike).

With ``explode`` (one output row per target) the added columns are :data:`TEXT_ADDED_EXPLODED`:
the target's rank and score for the note, whether it is picked, and the row's order.

Notes are scored in batches, each distinct note of a chunk once (a dataset with one row per
note and code repeats the note on every row), so memory stays bounded by one chunk.

Everything that touches the model goes through :func:`_model_adapter`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from icdbridge.errors import InputFormatError

if TYPE_CHECKING:
    from icdbridge.crosswalk.chain import Crosswalk, MappedArray
    from icdbridge.crosswalk.migrate import MigrateOptions
    from icdbridge.crosswalk.model import Mapping, Target
    from icdbridge.crosswalk.report import MigrationReport
    from icdbridge.tables import Chunk

Pathish = str | PathLike[str]

NoteScorer = Callable[[Sequence[str], Sequence[Sequence[str]]], list[dict[str, float]]]
"""``(notes, candidates per note) → per note, candidate code → score`` (higher is better; a
candidate the model cannot score is left out)."""

TEXT_ADDED = ("map_text_ranked", "map_text_scores", "map_text_pick", "map_text_order")
"""Columns the ``text`` policy adds (one row per input row)."""

TEXT_ADDED_EXPLODED = ("map_text_rank", "map_text_score", "map_text_picked", "map_text_order")
"""Columns the ``text`` policy adds with ``explode`` (one row per target)."""

TEXT_LISTS = frozenset({"map_text_ranked", "map_text_scores", "map_text_pick"})
"""Added columns whose cells are lists (CSV/TSV: ``;``-joined)."""

ORDERS = (
    "text",
    "crosswalk: one candidate",
    "crosswalk: no text",
    "crosswalk: no candidates",
    "crosswalk: no candidate scored",
)
"""Values of ``map_text_order``."""

NOTE_BATCH = 16
"""Notes featurized and scored at once (the encoder's memory grows with it)."""


@dataclass(frozen=True)
class TextRanking:
    """A row's candidates ordered for its note.

    Attributes:
        ranked: Distinct target codes, best first (crosswalk order when not ranked by text).
        scores: Score of each code of ``ranked`` (``None``: not scored).
        pick: The chosen code(s): one code, or one per choice list of a GEM combination.
        order: How ``ranked`` was ordered (one of :data:`ORDERS`).
    """

    ranked: tuple[str, ...]
    scores: tuple[float | None, ...]
    pick: tuple[str, ...]
    order: str


def candidates_of(mapping: Mapping) -> list[str]:
    """Distinct target codes of a mapping, in crosswalk order (what the ``text`` policy ranks)."""
    return list(dict.fromkeys(t.code for t in mapping.targets if t.code is not None))


def rank_by_text(mapping: Mapping, scores: dict[str, float] | None) -> TextRanking:
    """Order a mapping's candidates by their scores for a note (the ``text`` policy, one row).

    Args:
        mapping: The lossless mapping of the row's code (policy ``all``).
        scores: Candidate code → score for the row's note (higher first); ``None`` when the row
            has no text. Codes missing from it rank after the scored ones, in crosswalk order.

    Returns:
        The :class:`TextRanking`. With fewer than two candidates, no text or no candidate scored,
        the crosswalk order is kept and the first-listed code picked.

    Example:
        >>> from icdbridge.crosswalk import map_code
        >>> m = map_code("073.0", "icd9cm", "icd10cm")
        >>> rank_by_text(m, {"A70": 0.2, "J17": 0.9}).ranked
        ('J17', 'A70')
        >>> rank_by_text(m, None).order
        'crosswalk: no text'
    """
    codes = candidates_of(mapping)
    if not codes:
        return TextRanking((), (), (), "crosswalk: no candidates")
    if len(codes) == 1:
        order = "crosswalk: one candidate"
    elif scores is None:
        order = "crosswalk: no text"
    elif not any(code in scores for code in codes):
        order = "crosswalk: no candidate scored"
    else:
        order = "text"
    found = scores or {}
    if order == "text":
        position = {code: i for i, code in enumerate(codes)}
        codes.sort(key=lambda c: (c not in found, -found.get(c, 0.0), position[c]))
    ranked = tuple(codes)
    return TextRanking(ranked, tuple(found.get(c) for c in ranked), _pick(mapping, ranked), order)


def _pick(mapping: Mapping, ranked: Sequence[str]) -> tuple[str, ...]:
    """The first ranked code, completed into its GEM combination scenario when it has one.

    A category target the loaded release does not bill (followed by its billable leaf codes,
    :attr:`~icdbridge.crosswalk.model.Target.not_billable`) is not picked while another code is
    ranked: the pick is the best-ranked of its leaves or of the other targets.
    """
    first: dict[str, Target] = {}
    for target in mapping.targets:
        if target.code is not None:
            first.setdefault(target.code, target)
    ranked = [c for c in ranked if not first[c].not_billable] or list(ranked)
    group = first[ranked[0]].group
    if group is None:
        return (ranked[0],)
    per_choice: dict[int, str] = {}
    for code in ranked:
        other = first[code].group
        if other is not None and other[0] == group[0]:
            per_choice.setdefault(other[1], code)
    return tuple(per_choice[c] for c in sorted(per_choice))


def rank_rows(
    mappings: Sequence[Mapping], notes: Sequence[str | None], scorer: NoteScorer
) -> list[TextRanking]:
    """:func:`rank_by_text` for many rows, each distinct note scored once, in batches.

    Args:
        mappings: Lossless mapping of each row's code.
        notes: Each row's note (``None`` or blank: no text).
        scorer: Scores candidate codes for notes (:func:`load_scorer`).
    """
    wanted: dict[str, dict[str, None]] = {}
    for mapping, note in zip(mappings, notes, strict=True):
        codes = candidates_of(mapping)
        if len(codes) > 1 and _has_text(note):
            wanted.setdefault(note, {}).update(dict.fromkeys(codes))  # type: ignore[arg-type]
    scored: dict[str, dict[str, float]] = {}
    distinct = list(wanted)
    for start in range(0, len(distinct), NOTE_BATCH):
        batch = distinct[start : start + NOTE_BATCH]
        results = scorer(batch, [list(wanted[note]) for note in batch])
        scored.update(zip(batch, results, strict=True))
    return [
        rank_by_text(mapping, scored.get(note) if _has_text(note) else None)  # type: ignore[arg-type]
        for mapping, note in zip(mappings, notes, strict=True)
    ]


def _has_text(note: object) -> bool:
    return isinstance(note, str) and bool(note.strip())


def _score_text(score: float | None) -> str:
    return "" if score is None else f"{score:.4f}"


@dataclass
class TextColumns:
    """The ``text`` policy's added columns for a streaming migration (:mod:`.migrate`).

    Args:
        text_column: The column holding each row's note.
        scorer: Scores candidate codes for notes (:func:`load_scorer`).

    Attributes:
        orders: Rows per ``map_text_order`` value, counted as chunks pass.
    """

    text_column: str
    scorer: NoteScorer
    orders: Counter = field(default_factory=Counter)

    def names(self, explode: bool) -> tuple[str, ...]:
        """Added column names."""
        return TEXT_ADDED_EXPLODED if explode else TEXT_ADDED

    def lists(self, explode: bool) -> frozenset[str]:
        """Added columns whose cells are lists."""
        return frozenset() if explode else TEXT_LISTS

    def cells(self, chunk: Chunk, mapped: MappedArray, explode: bool) -> list[list[tuple]]:
        """Per input row of ``chunk``, its added cells: one tuple, or with ``explode`` one per
        output row of that input row (its coded targets in crosswalk order, or one row)."""
        index = mapped.index.tolist() if hasattr(mapped.index, "tolist") else list(mapped.index)
        mappings = [mapped.mappings[i] for i in index]
        rankings = rank_rows(mappings, chunk_texts(chunk, self.text_column), self.scorer)
        self.orders.update(r.order for r in rankings)
        if not explode:
            return [
                [(list(r.ranked), [_score_text(s) for s in r.scores], list(r.pick), r.order)]
                for r in rankings
            ]
        out = []
        for mapping, r in zip(mappings, rankings, strict=True):
            coded = [t.code for t in mapping.targets if t.code is not None]
            if not coded:
                out.append([("", "", "", r.order)])
                continue
            rank = {code: i + 1 for i, code in enumerate(r.ranked)}
            score = dict(zip(r.ranked, r.scores, strict=True))
            picked = set(r.pick)
            out.append(
                [
                    (str(rank[c]), _score_text(score[c]), "yes" if c in picked else "no", r.order)
                    for c in coded
                ]
            )
        return out


def chunk_texts(chunk: Chunk, name: str) -> list[str | None]:
    """The values of column ``name`` in a chunk (``None`` where missing), any input format."""
    if chunk.rows is not None:
        position = chunk.columns.index(name)
        return [row[position] for row in chunk.rows]
    if chunk.records is not None:
        return [_text_or_none(record.get(name)) for record in chunk.records]
    return [_text_or_none(v) for v in chunk.batch.column(name).to_pylist()]


def _text_or_none(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


def check_text_column(
    input_path: Pathish, name: str, column: str | None = None, input_format: str | None = None
) -> None:
    """Refuse, before any model is loaded, an input without the text column ``name``.

    Args:
        input_path: The dataset.
        name: The text column.
        column: The code column (checked too; default: the only column, or ``code``).
        input_format: Its format (default: from the extension).

    Raises:
        InputFormatError: the column is missing (naming the file, line 1 and the column).
    """
    from icdbridge.tables import detect_format, open_reader

    path = Path(input_path)
    kind = input_format or detect_format(path)
    with open_reader(kind, path, column=column, chunk_rows=1) as reader:
        columns = [str(c) for c in reader.columns]
    if name not in columns:
        raise InputFormatError(
            path, f"text column not found (columns: {', '.join(columns)})", 1, name
        )


def migrate_with_text(
    input_path: Pathish,
    output_path: Pathish,
    crosswalk: Crosswalk,
    model_dir: Pathish,
    *,
    text_column: str,
    scorer: NoteScorer | None = None,
    **options: Unpack[MigrateOptions],
) -> tuple[MigrationReport, Counter]:
    """Migrate a dataset with the ``text`` policy: every target kept, ordered by each row's note.

    Every input is checked before the model is loaded: the model directory, the input and its
    text column, the output and report paths.

    Args:
        input_path: CSV, TSV, JSONL or Parquet file with a code column and a text column.
        output_path: Output file (its extension chooses the format).
        crosswalk: From :func:`icdbridge.crosswalk.get_crosswalk`.
        model_dir: A model directory from ``icdbridge train``; it scores the crosswalk's target
            system (codes it was not trained on zero-shot, from their descriptions).
        text_column: The column holding each row's note.
        scorer: Use this scorer instead of loading ``model_dir`` (tests, or a scorer kept
            between runs); the model directory is still checked.
        **options: Keyword arguments of :func:`icdbridge.crosswalk.migrate.migrate`
            (:class:`~icdbridge.crosswalk.migrate.MigrateOptions`: ``column``, ``explode``,
            ``input_format``, ``output_format``, ``on_rows``, ``report``, ``write_report``,
            ``inputs``); the model's files join ``inputs`` as files no output may overwrite.

    Returns:
        The migration report and the rows per ``map_text_order`` value.

    Raises:
        InputFormatError: malformed input, a missing text column, a damaged model.
        DataNotFoundError: not a model directory.
        OutputError: an output that must not or cannot be written.
    """
    from icdbridge.crosswalk.migrate import migrate

    model = Path(model_dir)
    checked = {name: value for name, value in options.items() if name in _CHECKED_OPTIONS}
    check_text_migration(input_path, output_path, model, text_column, **checked)  # type: ignore[arg-type]
    if scorer is None:
        scorer = load_scorer(model, crosswalk.target_system)
    text = TextColumns(text_column, scorer)
    inputs = [*options.pop("inputs", ()), *_model_files(model)]
    result = migrate(
        input_path, output_path, crosswalk, policy="all", inputs=inputs, text=text, **options
    )
    return result, text.orders


_CHECKED_OPTIONS = ("column", "report", "write_report", "inputs", "input_format", "output_format")
"""The options of :func:`migrate_with_text` that :func:`check_text_migration` checks too."""


def check_text_migration(
    input_path: Pathish,
    output_path: Pathish,
    model_dir: Pathish,
    text_column: str,
    *,
    column: str | None = None,
    report: Pathish | None = None,
    write_report: bool = True,
    inputs: Iterable[Pathish | None] = (),
    input_format: str | None = None,
    output_format: str | None = None,
) -> None:
    """Every check of a ``text`` migration that needs no model loaded (cheap; run it first).

    The input, the output and report paths (never an input nor a model file), the input's text
    column, then the model directory (its config and weight headers).

    Raises:
        DataNotFoundError: not a model directory.
        InputFormatError: a damaged model file, malformed input or a missing text column.
        OutputError: an output that must not or cannot be written.
    """
    from icdbridge.crosswalk.migrate import check_migration

    model = Path(model_dir)
    source, _, _ = check_migration(
        input_path,
        output_path,
        report=report,
        write_report=write_report,
        inputs=[*inputs, *_model_files(model)],
        input_format=input_format,
        output_format=output_format,
    )
    check_text_column(source, text_column, column, input_format)
    _model_adapter(model, "", load=False)


def _model_files(model: Path) -> list[Path]:
    return sorted(p for p in model.iterdir() if p.is_file()) if model.is_dir() else []


def load_scorer(
    model_dir: Pathish,
    system: str,
    release: str | None = None,
    label_codes: Sequence[str] | None = None,
) -> NoteScorer:
    """A :data:`NoteScorer` from a trained model, over ``system`` (and ``release``).

    Scores are the model's calibrated probabilities of each candidate for the note; every
    candidate of the label space is scored (it joins the note's shortlist), whatever the
    model's own shortlist would have been.

    Args:
        model_dir: A model directory from ``icdbridge train``.
        system: The code system of the candidates (the crosswalk's target).
        release: Its release (default: the model's when the system is the one trained on, else
            the system's default).
        label_codes: Restrict the label space to these codes (default: the whole release, whose
            label embeddings are cached after the first run); candidates outside it are not
            scored.
    """
    scorer = _model_adapter(Path(model_dir), system, release, label_codes, load=True)
    assert scorer is not None
    return scorer


def _model_adapter(
    model_dir: Path,
    system: str,
    release: str | None = None,
    label_codes: Sequence[str] | None = None,
    *,
    load: bool = True,
) -> NoteScorer | None:
    """The one place that uses :mod:`icdbridge.model`: check a model directory (``load=False``)
    or load it as a :data:`NoteScorer`.

    Candidates are scored by featurizing each note with its candidates as the document's codes
    (the predictor adds a document's codes to its candidates, as in training), then reading
    their calibrated probabilities.
    """
    from icdbridge.model.io import check_model_dir

    check_model_dir(model_dir)
    if not load:
        return None
    from icdbridge.data import Document
    from icdbridge.model.features.featurize import featurize
    from icdbridge.model.io import from_pretrained
    from icdbridge.model.predict import score_documents

    codes = None if label_codes is None else list(label_codes)
    predictor = from_pretrained(model_dir, system=system, release=release, label_codes=codes)
    space = predictor.space
    terminology = space.terminology
    seen = predictor.seen

    def score(notes: Sequence[str], candidates: Sequence[Sequence[str]]) -> list[dict[str, float]]:
        keys: list[dict[str, str]] = []
        docs = []
        for i, (note, codes) in enumerate(zip(notes, candidates, strict=True)):
            known = {}
            for code in codes:
                key = _normalized(terminology, code)
                if key in space.row:
                    known[key] = code
            keys.append(known)
            docs.append(Document(id=f"text-policy-{i}", text=note, codes=list(known)))
        # training=True: the document's codes (our candidates) join its candidates
        features = featurize(docs, predictor.feature_inputs, training=True)
        out = []
        for known, (raw, _) in zip(
            keys, score_documents(predictor.model, space, features), strict=True
        ):
            calibrated = predictor.calibrator.apply({k: raw[k] for k in known}, seen)
            out.append({known[k]: p for k, p in calibrated.items()})
        return out

    return score


def _normalized(terminology: Any, code: str) -> str:
    try:
        return terminology.normalize(code)
    except Exception:  # a code the release cannot parse is simply not scored
        return code
