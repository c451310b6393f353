"""Predicting in a newer release than the model was trained with (no retraining).

A model has no output unit per code: a code is scored from its label text, its place in the
hierarchy and the training memory. Loading a model in another release of its code system
(``load_model(MODEL_DIR, release="2026")``, ``icdbridge predict MODEL notes.jsonl --release
2026``) builds the label space of that release. Through the label-embedding cache
(:mod:`icdbridge.model.labels.cache`, which reuses every text an encoder has already embedded)
only the label texts that are new or changed since a release already embedded are encoded.

:func:`release_changes` says what changed between the training release and the release
predicted in, per code of the new label space:

* ``"added"`` — the code is defined in the new release and not in the training release: the
  training data cannot have coded it, and the training memory treats it as unseen;
* ``"changed"`` — defined in both (or resolved through the same defined prefix), but its label
  text (what the encoder reads: by default the description) differs, so its embedding is new.

:class:`ReleaseChanges` marks the codes of each prediction (``release_changes`` in each output
row) and summarises them in one line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.model.config import PipelineConfig
    from icdbridge.model.labels.space import LabelSpace
    from icdbridge.model.predict import Prediction

log = logging.getLogger(__name__)

ADDED, CHANGED = "added", "changed"
"""The marks of a code in :attr:`~icdbridge.model.predict.Prediction.release_changes`."""


@dataclass(frozen=True)
class ReleaseChanges:
    """What differs between the training release and the release a model predicts in.

    Attributes:
        name: The code system's display name (``ICD-10-CM``).
        trained_release: The release the model was trained with.
        release: The release predicted in.
        added: Codes of the label space defined in :attr:`release` and not in
            :attr:`trained_release`.
        changed: Codes of the label space in both releases whose label text differs.
        removed: Codes of the training release's label space that :attr:`release` no longer
            defines (they cannot be predicted).
        encoded: Label texts the encoder embedded while building the label space (the others
            came from the label-embedding cache).
    """

    name: str
    trained_release: str
    release: str
    added: frozenset[str]
    changed: frozenset[str]
    removed: tuple[str, ...]
    encoded: int = 0

    def mark(self, code: str) -> str | None:
        """``"added"``, ``"changed"`` or ``None`` for one code."""
        if code in self.added:
            return ADDED
        if code in self.changed:
            return CHANGED
        return None

    def marks(self, codes: Iterable[str]) -> dict[str, str]:
        """Code → mark for the marked ``codes``, in their order.

        Example:
            >>> changes = ReleaseChanges("X", "1", "2", frozenset({"b"}), frozenset({"c"}), ())
            >>> changes.marks(["a", "b", "c"])
            {'b': 'added', 'c': 'changed'}
        """
        return {code: mark for code in codes if (mark := self.mark(code)) is not None}

    def summary(self, predictions: Sequence[Prediction] = ()) -> str:
        """One line: the counts, the texts encoded and, given predictions, how many documents
        rank (and predict) an added code.

        Example:
            >>> changes = ReleaseChanges("X", "1", "2", frozenset({"b"}), frozenset(), ("z",), 1)
            >>> changes.summary()
            'X 2 against the training release 1: 1 code added, 0 changed, 1 removed; 1 label text encoded (the others from the label-embedding cache)'
        """  # noqa: E501

        def count(n: int, word: str) -> str:
            return f"{n:,} {word}{'' if n == 1 else 's'}"

        line = (
            f"{self.name} {self.release} against the training release {self.trained_release}: "
            f"{count(len(self.added), 'code')} added, {len(self.changed):,} changed, "
            f"{len(self.removed):,} removed; {count(self.encoded, 'label text')} encoded "
            "(the others from the label-embedding cache)"
        )
        if predictions:
            ranked = sum(any(c in self.added for c in p.scores) for p in predictions)
            predicted = sum(any(c in self.added for c in p.predicted) for p in predictions)
            line += (
                f"; {ranked:,} of {len(predictions):,} documents rank an added code, "
                f"{predicted:,} predict one"
            )
        return line

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (codes sorted)."""
        return {
            "trained_release": self.trained_release,
            "release": self.release,
            "added": sorted(self.added),
            "changed": sorted(self.changed),
            "removed": list(self.removed),
            "encoded": self.encoded,
        }


def release_changes(
    trained: Terminology,
    target: Terminology,
    codes: Sequence[str],
    texts: Sequence[str],
    options: Mapping[str, Any] | None = None,
    trained_codes: Iterable[str] = (),
    encoded: int = 0,
) -> ReleaseChanges:
    """Compare the label space of ``target`` with the training release ``trained``.

    Args:
        trained: The release the model was trained with.
        target: The release predicted in.
        codes: The label space in ``target``.
        texts: The label text of each of ``codes`` in ``target`` (the label space's).
        options: :class:`~icdbridge.model.config.LabelTextOptions` fields the texts were built
            with (default: the defaults).
        trained_codes: The codes of the training release's label space (for ``removed``).
        encoded: Label texts encoded while ``codes`` were embedded.
    """
    from icdbridge.errors import IcdbridgeError
    from icdbridge.model.labels.texts import label_text

    options = dict(options or {})
    added, changed = set(), set()
    for code, text in zip(codes, texts, strict=True):
        if target.get(code) is not None and trained.get(code) is None:
            added.add(code)
            continue
        try:
            before = label_text(trained, code, **options)
        except IcdbridgeError:  # undefined in the training release, no defined prefix
            added.add(code)
            continue
        if before != text:
            changed.add(code)
    removed = tuple(c for c in trained_codes if target.get(c) is None)
    return ReleaseChanges(
        target.name, trained.release, target.release, frozenset(added), frozenset(changed),
        removed, encoded,
    )  # fmt: skip


def changes_since_training(
    trained_system: str,
    trained_release: str,
    target: Terminology,
    space: LabelSpace,
    pipeline: PipelineConfig,
) -> ReleaseChanges | None:
    """:func:`release_changes` for a loaded model, or ``None`` when there is nothing to compare.

    ``None`` when ``target`` is the training release or another code system (another system
    is not a new release: its codes are all outside the training label space), and, with a
    warning on the log, when the training release cannot be loaded here (a custom hierarchy
    registered under another file).

    Args:
        trained_system: The system the model was trained with (its ``config.json``).
        trained_release: The release it was trained with.
        target: The release predicted in.
        space: The label space built in ``target``.
        pipeline: The model's pipeline settings (label-text options, label space kind).
    """
    from icdbridge.codes import get_terminology
    from icdbridge.codes.registry import system_id
    from icdbridge.errors import IcdbridgeError
    from icdbridge.model.labels.space import label_space_codes

    if system_id(target.system) != system_id(trained_system) or target.release == trained_release:
        return None
    try:
        trained = get_terminology(trained_system, trained_release)
    except IcdbridgeError as error:
        log.warning(
            "%s %s: the training release cannot be loaded (%s); codes added since it are not "
            "marked",
            trained_system,
            trained_release,
            error,
        )
        return None
    return release_changes(
        trained,
        target,
        space.codes,
        space.texts,
        pipeline.label_options,
        label_space_codes(
            trained, pipeline.label_space, bases=pipeline.seventh_character_bases is True
        ),
        getattr(space, "encoded", 0),
    )
