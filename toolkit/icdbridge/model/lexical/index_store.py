"""The Index phrases a model carries: written with the model, read back when it loads.

A model trained with ICD-10-CM Index phrases (:attr:`PipelineConfig.index_phrases`) keeps them
in its folder, so that loading it never rereads the Index material (a machine that predicts
needs no copy of it, and a model predicting into another code system never asks for it):

* ``index_phrases.jsonl`` — one strict JSON object per line and phrase, in Index order:
  ``{"words": [...], "text": "...", "targets": [["C78.7", 0.9], ...]}`` (the phrase's content
  words, the Index path it comes from, each target code with its weight: exactly what
  :func:`~icdbridge.model.lexical.index_phrases.with_index_phrases` added to the phrase table);
* ``config.json`` → ``"index_phrases"`` — the record of that file: its name, SHA-256 and number
  of phrases, and the provenance of the phrases (the code system and release of their targets,
  the Index release, the documents used, each source file's name and SHA-256).

At load (:func:`model_lexical`) the lexical channel of a label space of the phrases' system
(ICD-10-CM) is the titles' phrase table plus the saved phrases, their targets restricted to the
codes of the label space (another release may lack some); a label space of another system gets
no Index phrases (they are ICD-10-CM's). A model saved before the phrases were kept (its config
lists Index documents but has no record) rereads the Index material, as it always did.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.errors import DataNotFoundError, InputFormatError

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.model.config import PipelineConfig
    from icdbridge.model.lexical.index_phrases import IndexPhrases
    from icdbridge.model.lexical.matcher import LexicalMatcher

INDEX_PHRASES_NAME = "index_phrases.jsonl"
"""File of a model folder holding its Index phrases."""
CONFIG_KEY = "index_phrases"
"""Key of ``config.json`` holding the record of :data:`INDEX_PHRASES_NAME`."""


def encode_phrases(phrases: IndexPhrases) -> bytes:
    """The ``index_phrases.jsonl`` bytes of ``phrases`` (strict JSON, one phrase a line)."""
    lines = [
        json.dumps(
            {"words": list(p.words), "text": p.text, "targets": [[c, w] for c, w in p.targets]},
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
        )
        for p in phrases.phrases
    ]
    return ("\n".join(lines) + "\n" if lines else "").encode("utf-8")


def write_index_phrases(phrases: IndexPhrases, folder: str | Path) -> dict[str, Any]:
    """Write ``phrases`` into the model folder ``folder`` (atomically) and return the record
    that ``config.json`` keeps under :data:`CONFIG_KEY`."""
    from icdbridge.model.recorded_file import write_recorded

    sha256 = write_recorded(Path(folder) / INDEX_PHRASES_NAME, encode_phrases(phrases))
    return {
        "file": INDEX_PHRASES_NAME,
        "sha256": sha256,
        "phrases": len(phrases),
        **phrases.provenance,
        "documents": list(phrases.documents),
    }


def check_record(folder: str | Path, config: dict[str, Any]) -> dict[str, Any] | None:
    """The Index phrases record of a model's ``config.json`` (``None``: it has none), checked:
    a JSON object naming a file of the folder that exists.

    Raises:
        InputFormatError: a record that is not an object or lacks its keys.
        DataNotFoundError: the file is missing.
    """
    record = config.get(CONFIG_KEY)
    if record is None:
        return None
    config_path = Path(folder) / "config.json"
    if (
        not isinstance(record, dict)
        or record.get("file") != INDEX_PHRASES_NAME
        or not isinstance(record.get("sha256"), str)
        or not isinstance(record.get("documents"), list)
    ):
        raise InputFormatError(
            config_path, f"key {CONFIG_KEY!r} is not an Index phrases record; the model is damaged"
        )
    if not (Path(folder) / INDEX_PHRASES_NAME).is_file():
        raise DataNotFoundError(
            f"{Path(folder) / INDEX_PHRASES_NAME}: missing; the model is damaged"
        )
    return record


def _bad(path: Path, line: int, message: str, value: object = None) -> InputFormatError:
    return InputFormatError(path, f"{message}; the model is damaged", line=line, value=value)


def read_index_phrases(folder: str | Path, record: dict[str, Any]) -> IndexPhrases:
    """Read the Index phrases a model folder keeps (``record``: its :func:`check_record`).

    Raises:
        InputFormatError: the file does not match its SHA-256, or a line is not a phrase
            (naming the file and the line).
    """
    from icdbridge.model.lexical.index_phrases import IndexPhrases
    from icdbridge.model.lexical.matcher import _Phrase
    from icdbridge.model.recorded_file import read_recorded
    from icdbridge.text_input import parse_json_line

    path = Path(folder) / INDEX_PHRASES_NAME
    text = read_recorded(path, record["sha256"])
    phrases = []
    for number, line in enumerate(text.splitlines(), start=1):
        row = parse_json_line(path, number, line)
        if not isinstance(row, dict) or set(row) != {"words", "text", "targets"}:
            raise _bad(path, number, "expected an object with words, text and targets")
        words, phrase_text, targets = row["words"], row["text"], row["targets"]
        if (
            not isinstance(words, list)
            or not words
            or not all(isinstance(w, str) and w for w in words)
        ):
            raise _bad(path, number, "words must be a list of words", words)
        if not isinstance(phrase_text, str):
            raise _bad(path, number, "text must be a string", phrase_text)
        if not isinstance(targets, list) or not targets:
            raise _bad(path, number, "targets must be a list of [code, weight]", targets)
        pairs = []
        for target in targets:
            if (
                not isinstance(target, list)
                or len(target) != 2
                or not isinstance(target[0], str)
                or isinstance(target[1], bool)
                or not isinstance(target[1], int | float)
                or not math.isfinite(target[1])
                or target[1] <= 0
            ):
                raise _bad(path, number, "a target must be [code, positive weight]", target)
            pairs.append((target[0], float(target[1])))
        phrases.append(_Phrase(tuple(words), phrase_text, tuple(pairs)))
    if len(phrases) != record.get("phrases", len(phrases)):
        raise InputFormatError(
            path, f"{len(phrases)} phrases, config.json records {record.get('phrases')}"
        )
    provenance = {k: v for k, v in record.items() if k not in ("file", "sha256", "phrases")}
    return IndexPhrases(tuple(record["documents"]), tuple(phrases), provenance)


def model_lexical(
    folder: str | Path,
    config: dict[str, Any],
    pipeline: PipelineConfig,
    terminology: Terminology,
    codes: Sequence[str],
) -> LexicalMatcher:
    """The lexical channel of a loaded model over the label space ``codes`` of
    ``terminology`` (see the module docstring).

    Args:
        folder: The model folder.
        config: Its ``config.json``.
        pipeline: Its pipeline settings.
        terminology: The release the model predicts in.
        codes: The label space.

    Raises:
        InputFormatError: a damaged ``index_phrases.jsonl``.
        DataNotFoundError: a model saved before the phrases were kept, whose Index material
            is not where it was read in training.
    """
    from icdbridge.model.lexical.channel import build_lexical
    from icdbridge.model.lexical.index_phrases import add_index_phrases
    from icdbridge.model.lexical.matcher import LexicalMatcher

    record = check_record(folder, config)
    if record is not None:
        base = LexicalMatcher.build(terminology, codes)
        if terminology.system != record.get("system", "icd10cm"):
            return base
        saved = read_index_phrases(folder, record)
        return add_index_phrases(base, saved.restricted(codes))
    documents = pipeline.index_phrases or []
    if documents and terminology.system == "icd10cm":
        # saved before the phrases were kept with the model: read the material as training did
        return build_lexical(
            terminology,
            codes,
            documents,
            pipeline.index_source,
            bases=pipeline.seventh_character_bases is True,
        )
    return build_lexical(terminology, codes, [])
