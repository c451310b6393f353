"""Which Index documents a training run uses: ``PipelineConfig.index_phrases`` resolved.

:attr:`~icdbridge.model.config.PipelineConfig.index_phrases` is ``None`` ("auto") by default:
:func:`resolve_index_phrases` turns it, once before training, into the list of Index documents
the model is saved with (the library's :data:`~icdbridge.model.config.DEFAULT_INDEX_PHRASES`
when the label space is ICD-10-CM and the material is found, else none, with one line saying
why). :func:`parse_index_option` and :func:`index_option` translate between that value and the
``icdbridge train --index-phrases`` text. The phrases themselves are built by
:mod:`~icdbridge.model.lexical.index_phrases`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from icdbridge.model.lexical.index_phrases import (
    INDEX_SOURCES,
    UnknownIndexDocumentError,
    check_documents,
)

AUTO = "auto"
"""``icdbridge train --index-phrases`` value of :attr:`PipelineConfig.index_phrases` ``None``."""
NONE = "none"
"""``icdbridge train --index-phrases`` value of :attr:`PipelineConfig.index_phrases` ``[]``."""


def parse_index_option(text: str) -> list[str] | None:
    """The :attr:`PipelineConfig.index_phrases` value of an ``--index-phrases`` option:
    ``auto`` → ``None``, ``none`` (or empty) → ``[]``, a comma list → those documents.

    Raises:
        UnknownIndexDocumentError: a name that is not an Index document.

    Example:
        >>> parse_index_option("auto"), parse_index_option("none"), parse_index_option("index,drug")
        (None, [], ['index', 'drug'])
    """
    value = text.strip().lower()
    if value == AUTO:
        return None
    if value in (NONE, ""):
        return []
    documents = list(dict.fromkeys(name.strip() for name in value.split(",") if name.strip()))
    unknown = sorted(set(documents) - set(INDEX_SOURCES))
    if unknown:
        raise UnknownIndexDocumentError(
            f"unknown Index documents {', '.join(unknown)} (choose from "
            f"{', '.join(INDEX_SOURCES)}, or {AUTO} or {NONE})"
        )
    return documents


def index_option(value: Sequence[str] | None) -> str:
    """The ``--index-phrases`` text of a :attr:`PipelineConfig.index_phrases` value (the
    inverse of :func:`parse_index_option`).

    Example:
        >>> index_option(None), index_option([]), index_option(["index", "drug"])
        ('auto', 'none', 'index,drug')
    """
    if value is None:
        return AUTO
    return ",".join(value) or NONE


@dataclass(frozen=True)
class IndexChoice:
    """The Index documents a training run uses (:func:`resolve_index_phrases`).

    Attributes:
        documents: The resolved :attr:`PipelineConfig.index_phrases` (never ``None``).
        line: One line for the training output saying what was used and why.
        auto: Whether it was resolved from "auto" (``None``).
        files: The Index files found (document → path; empty when none are read).
    """

    documents: list[str]
    line: str
    auto: bool = False
    files: dict[str, Path] = field(default_factory=dict)


def resolve_index_phrases(
    system: str,
    documents: Sequence[str] | None,
    source: str | Path | None = None,
    release: str | None = None,
) -> IndexChoice:
    """Resolve :attr:`PipelineConfig.index_phrases` before training (cheap: the files are
    located, not read).

    * ``None`` ("auto"): :data:`~icdbridge.model.config.DEFAULT_INDEX_PHRASES` when ``system``
      is ICD-10-CM and the Index material is found at ``source`` (``None``: the default folder,
      :func:`~icdbridge.codes.index.load.default_index_dir`), those of them that are there when
      only some are (the line names the missing ones); else none, and the line says why and
      how to get the material. A ``source`` that was named but does not exist is an error
      (a typo is not "no material").
    * ``[]``: none.
    * A list: those documents, required.

    Args:
        system: Code system of the label space.
        documents: :attr:`PipelineConfig.index_phrases`.
        source: :attr:`PipelineConfig.index_source`.
        release: Fiscal year of the Index material (``None``: the default, 2025).

    Raises:
        UnknownIndexDocumentError: an unknown document name.
        UnknownSystemError: documents asked for with a label space that is not ICD-10-CM.
        DataNotFoundError: documents asked for (or a ``source`` named) but not found; the
            message says where to get them.
    """
    from icdbridge.codes.index.load import DEFAULT_RELEASE, default_index_dir, locate_index
    from icdbridge.errors import DataNotFoundError, UnknownSystemError
    from icdbridge.model.config import DEFAULT_INDEX_PHRASES

    release = release or DEFAULT_RELEASE
    if documents is not None and not documents:
        return IndexChoice([], "Index phrases: none (switched off)")
    if documents is not None:
        asked = list(dict.fromkeys(documents))
        check_documents(asked)
        if system != "icd10cm":
            raise UnknownSystemError(
                f"Index phrases need an ICD-10-CM label space, not {system}; "
                "train without index_phrases (--index-phrases none)"
            )
        files = locate_index(release, source)
        missing = [name for name in asked if name not in files]
        if missing:
            where = Path(source) if source is not None else default_index_dir(release)
            raise DataNotFoundError(
                f"{where.absolute()}: no {', '.join(missing)} document of the ICD-10-CM Index "
                f"material (found: {', '.join(files) or 'none'}); {DOWNLOAD_ADVICE}"
            )
        folder = next(iter(files.values())).parent.absolute()
        return IndexChoice(
            asked, f"Index phrases: {', '.join(asked)} (Index material at {folder})", files=files
        )
    defaults = ", ".join(DEFAULT_INDEX_PHRASES)
    if system != "icd10cm":
        return IndexChoice(
            [],
            f"Index phrases: none (auto: they are ICD-10-CM's, the label space is {system})",
            auto=True,
        )
    where = Path(source).expanduser() if source is not None else default_index_dir(release)
    if source is not None and not where.exists():
        raise DataNotFoundError(
            f"ICD-10-CM Index material not found at {where.absolute()} (--index-source); "
            f"{DOWNLOAD_ADVICE}"
        )
    try:
        files = locate_index(release, source)
    except DataNotFoundError:
        files = {}
    found = [name for name in DEFAULT_INDEX_PHRASES if name in files]
    if not found:
        return IndexChoice(
            [],
            f"ICD-10-CM Index material not found at {where.absolute()}: training without "
            f"Index phrases ({defaults}); {DOWNLOAD_ADVICE}",
            auto=True,
        )
    folder = files[found[0]].parent.absolute()
    missing = [name for name in DEFAULT_INDEX_PHRASES if name not in files]
    line = f"Index phrases: {', '.join(found)} (auto: Index material at {folder}"
    line += f"; no {', '.join(missing)} document there)" if missing else ")"
    return IndexChoice(found, line, auto=True, files=files)


DOWNLOAD_ADVICE = (
    "get it with `icdbridge datasets download icd10cm-index` or pass --index-source "
    "(PipelineConfig.index_source)"
)
"""How to get the Index material (the end of every message saying it is missing)."""
