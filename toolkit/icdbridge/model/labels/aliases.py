"""Label aliases: more label texts per code, the ICD-10-CM Index paths that lead to it.

A code's title is one way to name it. The Alphabetic Index gives the ways coders look it up
(``Headache, cluster, chronic, not intractable`` → ``G44.029``; ``Fever, Sao Paulo`` →
``A77.0``), worded as notes word them. Each path of the Index to Diseases and Injuries that leads
to a code of the label space is an **alias** of that code (:class:`LabelAliases`, built by
:meth:`LabelAliases.build` with the targets of the Index phrases,
:class:`~icdbridge.model.lexical.index_phrases.IndexTargets`: dash codes and categories land on
their label-space codes). The aliases are embedded like the titles
(:meth:`LabelAliases.embed`, through the label-embedding cache) and a label space with aliases
(:meth:`~icdbridge.model.labels.space.LabelSpace.with_aliases`)

- searches them in the faiss shortlist beside the titles, each code scored by its best text
  (pooled by maximum): a code is retrieved when a note piece is close to its title **or** to any
  of its Index paths;
- gives the network the pair feature ``alias_cosine``: the best cosine between a piece of the
  note and any alias of the candidate (0 for a code without one).

A saved model keeps its aliases in ``index_aliases.jsonl`` (one ``{"code", "text"}`` per line;
``config.json`` → ``index_aliases`` records the file's SHA-256, the count and where they come
from: :func:`write_aliases`, :func:`read_aliases`), so loading never rereads the Index material.
Switched by :attr:`~icdbridge.model.config.PipelineConfig.index_aliases`; they come with the
Index terms (``"index"`` among the model's Index documents).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.errors import DataNotFoundError, InputFormatError

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.codes.index import AlphabeticIndex
    from icdbridge.model.labels.cache import LabelEmbeddings
    from icdbridge.model.labels.space import LabelSpace
    from icdbridge.model.text.encoder import TextEncoder

ALIASES_NAME = "index_aliases.jsonl"
"""File of a model folder holding its label aliases."""

CONFIG_KEY = "index_aliases"
"""Key of ``config.json`` recording the aliases file."""

ALIAS_SOURCES: tuple[str, ...] = ("index",)
"""Index documents whose term paths are aliases: the Index to Diseases and Injuries (the
tables' cells name a substance or site with a column, not a way to word a diagnosis)."""

_RELATIONS = frozenset({"code", "manifestation"})


def alias_text(titles: Iterable[str]) -> str:
    """The label text of an Index path: its titles, main term first, joined by commas.

    Example:
        >>> alias_text(("Diabetes, diabetic", "with", "amyotrophy"))
        'Diabetes, diabetic, with, amyotrophy'
    """
    return ", ".join(titles)


@dataclass(frozen=True)
class LabelAliases:
    """Alias texts of the codes of a label space, one ``(code, text)`` pair per row.

    Attributes:
        codes: The code of each alias (a code has as many rows as aliases).
        texts: The text of each alias.
        provenance: Where they come from
            (:func:`~icdbridge.model.lexical.index_phrases.index_provenance`: the codes' system
            and release, the Index release, documents and files with their SHA-256).
    """

    codes: tuple[str, ...]
    texts: tuple[str, ...]
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.codes) != len(self.texts):
            raise ValueError(f"{len(self.codes)} codes but {len(self.texts)} alias texts")

    def __len__(self) -> int:
        return len(self.codes)

    @classmethod
    def build(
        cls,
        index: AlphabeticIndex,
        terminology: Terminology,
        codes: Iterable[str],
        sources: Iterable[str] = ALIAS_SOURCES,
    ) -> LabelAliases:
        """The paths of the Index documents ``sources`` that lead to a code of ``codes`` (a
        code reached twice by the same words keeps one row; rows in Index order).

        Args:
            index: The loaded Index (:func:`~icdbridge.codes.index.load_index`).
            terminology: The ICD-10-CM release of the label space.
            codes: The label space.
            sources: Index documents whose term paths are used.
        """
        from icdbridge.model.lexical.index_phrases import (
            IndexTargets,
            check_documents,
            index_provenance,
        )

        sources = tuple(dict.fromkeys(sources))
        check_documents(sources)
        targets = IndexTargets(terminology, codes, index)
        rows: dict[tuple[str, str], None] = {}
        for path in index.code_paths():
            if path.source not in sources or path.relation not in _RELATIONS:
                continue
            text = alias_text(path.titles)
            for code, _ in targets(path.code):
                rows[(code, text)] = None
        provenance = index_provenance(index, terminology, sources)
        return cls(tuple(c for c, _ in rows), tuple(t for _, t in rows), provenance)

    def restricted(self, codes: Iterable[str]) -> LabelAliases:
        """The aliases of ``codes`` only (a label space that lacks some of the codes they
        were built for: another release, a subset)."""
        keep = set(codes)
        rows = [(c, t) for c, t in zip(self.codes, self.texts, strict=True) if c in keep]
        return LabelAliases(
            tuple(c for c, _ in rows), tuple(t for _, t in rows), dict(self.provenance)
        )

    def embed(
        self, encoder: TextEncoder, terminology: Terminology, progress: bool = False
    ) -> LabelEmbeddings:
        """The aliases' embeddings (rows in alias order), through the label-embedding cache
        (:func:`~icdbridge.model.labels.cache.embed_texts`: a set of its own, and texts any
        cached set already holds are not encoded again)."""
        from icdbridge.model.labels.cache import embed_texts

        return embed_texts(
            encoder,
            self.codes,
            self.texts,
            f"{terminology.system}-{terminology.release}-aliases",
            {
                "system": terminology.system,
                "release": terminology.release,
                "options": {"aliases": list(self.provenance.get("documents", ALIAS_SOURCES))},
            },
            progress=progress,
        )


def add_index_aliases(
    space: LabelSpace, encoder: TextEncoder, source: str | None = None, progress: bool = False
) -> LabelSpace:
    """``space`` with the paths of the Index to Diseases and Injuries as label aliases
    (:meth:`LabelAliases.build`, :meth:`~icdbridge.model.labels.space.LabelSpace.with_aliases`),
    read from the Index material at ``source`` (``None``: the default folder).

    Raises:
        DataNotFoundError: no Index material there.
    """
    from icdbridge.model.lexical.index_phrases import load_index_for

    index = load_index_for(space.terminology, source)
    aliases = LabelAliases.build(index, space.terminology, space.codes)
    return space.with_aliases(aliases, encoder, progress)


def encode_aliases(aliases: LabelAliases) -> bytes:
    """The ``index_aliases.jsonl`` bytes of ``aliases`` (strict JSON, one alias a line)."""
    lines = [
        json.dumps({"code": code, "text": text}, ensure_ascii=False, separators=(",", ":"))
        for code, text in zip(aliases.codes, aliases.texts, strict=True)
    ]
    return ("\n".join(lines) + "\n" if lines else "").encode("utf-8")


def write_aliases(aliases: LabelAliases, folder: str | Path) -> dict[str, Any]:
    """Write ``aliases`` into the model folder ``folder`` (atomically) and return the record
    ``config.json`` keeps under :data:`CONFIG_KEY`."""
    from icdbridge.model.recorded_file import write_recorded

    sha256 = write_recorded(Path(folder) / ALIASES_NAME, encode_aliases(aliases))
    return {
        "file": ALIASES_NAME,
        "sha256": sha256,
        "aliases": len(aliases),
        **aliases.provenance,
    }


def _damaged(path: Path, message: str, line: int | None = None, value: object = None):
    return InputFormatError(path, f"{message}; the model is damaged", line=line, value=value)


def read_aliases(folder: str | Path, config: dict[str, Any]) -> LabelAliases | None:
    """The aliases a model folder keeps (``None``: its ``config.json`` records none).

    Raises:
        InputFormatError: a record that is not one, a file that does not match its SHA-256 or
            count, or a line that is not an alias (naming the file and the line).
        DataNotFoundError: the file is missing.
    """
    from icdbridge.model.recorded_file import read_recorded
    from icdbridge.text_input import parse_json_line

    record = config.get(CONFIG_KEY)
    if record is None:
        return None
    folder = Path(folder)
    if (
        not isinstance(record, dict)
        or record.get("file") != ALIASES_NAME
        or not isinstance(record.get("sha256"), str)
        or not isinstance(record.get("aliases"), int)
    ):
        raise _damaged(folder / "config.json", f"key {CONFIG_KEY!r} is not a label-alias record")
    path = folder / ALIASES_NAME
    if not path.is_file():
        raise DataNotFoundError(f"{path}: missing; the model is damaged")
    text = read_recorded(path, record["sha256"])
    codes, texts = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        row = parse_json_line(path, number, line)
        if (
            not isinstance(row, dict)
            or set(row) != {"code", "text"}
            or not all(isinstance(row[k], str) and row[k] for k in ("code", "text"))
        ):
            raise _damaged(path, "expected an object with a code and a text", number, row)
        codes.append(row["code"])
        texts.append(row["text"])
    if len(codes) != record["aliases"]:
        raise _damaged(path, f"{len(codes)} aliases, config.json records {record['aliases']}")
    provenance = {k: v for k, v in record.items() if k not in ("file", "sha256", "aliases")}
    return LabelAliases(tuple(codes), tuple(texts), provenance)
