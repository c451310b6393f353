"""Read gold standards and predictions (JSONL or TSV) with every problem reported, never dropped.

Formats (chosen by extension: ``.jsonl``/``.json`` are JSON lines, anything else TSV):

* JSONL, one document per line: ``{"id": ..., "codes": [...]}`` (gold or predicted sets, the
  list order is the rank) or ``{"id": ..., "scores": {"CODE": score, ...}}`` (ranked
  predictions), or both (what ``icdbridge predict`` writes: ``codes`` are the codes the model
  chose — above its validated threshold — and ``scores`` rank the codes; kept apart as
  :attr:`CodeFile.chosen`). Blank lines are skipped.
* TSV: ``id<TAB>code`` or ``id<TAB>code<TAB>score`` per row, with or without a header row (the
  CodiEsp ``*D.tsv`` / ``*P.tsv`` layout included); the row order is the rank of codes without
  scores.

Codes go through :meth:`EvalHierarchy.normalize`. A code that is not valid syntax is kept
verbatim (stripped, upper-cased) — so an invalid prediction still counts as a false positive —
and reported with its file and line; a valid code the hierarchy does not define is kept and
reported too. Repeated (document, code) rows keep the first (best-ranked) one and are counted.
Malformed lines raise :class:`~icdbridge.errors.InputFormatError` naming file, line and value:
bad JSON or UTF-8, a score that is not a finite number (NaN, infinity, or a number too large for
a float: ranking them would depend on file order), a gold file without any document.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from icdbridge.errors import InputFormatError, InvalidCodeError
from icdbridge.eval.hierarchy import EvalHierarchy
from icdbridge.text_input import parse_json_line, snippet, text_lines

ID_COLUMNS = frozenset(
    {
        "id",
        "doc",
        "doc_id",
        "docid",
        "document",
        "document_id",
        "articleid",
        "article_id",
        "hadm_id",
        "note_id",
        "subject_id",
        "query",
        "qid",
        "clinical case",
        "case",
    }
)
CODE_COLUMNS = frozenset(
    {
        "code",
        "codes",
        "icd",
        "icd_code",
        "icd9_code",
        "icd10_code",
        "icd10-code",
        "icd9-code",
        "label",
        "labels",
        "docno",
        "concept",
    }
)
SCORE_COLUMNS = frozenset({"score", "scores", "probability", "prob", "logit", "confidence"})
"""Column names that mark the first TSV row as a header (reported, never silently skipped)."""


@dataclass
class Issue:
    """One reported input problem."""

    path: str
    line: int
    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.path}, line {self.line}: {self.kind} ({self.value!r})"


@dataclass
class CodeFile:
    """Documents of one file: ranked codes, optional scores, and the problems found.

    Attributes:
        docs: document id → codes in rank order (file order, or by descending score).
        scores: document id → code → score, or ``None`` when the file has no scores.
        chosen: document id → the codes the model chose, when rows carry both ``codes`` and
            ``scores`` (``None`` otherwise): flat metrics use them, scores only rank.
        issues: invalid codes, codes outside the hierarchy, repeated rows.
    """

    path: str
    docs: dict[str, list[str]] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] | None = None
    chosen: dict[str, list[str]] | None = None
    issues: list[Issue] = field(default_factory=list)
    n_rows: int = 0

    def sets(self) -> dict[str, set[str]]:
        """Document id → set of codes."""
        return {doc: set(codes) for doc, codes in self.docs.items()}

    def issue_counts(self) -> dict[str, int]:
        """Number of issues of each kind."""
        counts: dict[str, int] = {}
        for issue in self.issues:
            counts[issue.kind] = counts.get(issue.kind, 0) + 1
        return counts


class _Normalizer:
    def __init__(self, hierarchy: EvalHierarchy | None, out: CodeFile) -> None:
        self.hierarchy = hierarchy
        self.out = out
        self.cache: dict[str, tuple[str, str | None]] = {}

    def __call__(self, raw: str, line: int) -> str:
        found = self.cache.get(raw)
        if found is None:
            found = self._normalize(raw)
            self.cache[raw] = found
        code, problem = found
        if problem:
            self.out.issues.append(Issue(self.out.path, line, problem, raw))
        return code

    def _normalize(self, raw: str) -> tuple[str, str | None]:
        verbatim = "".join(raw.split()).upper()
        if self.hierarchy is None:
            return verbatim, None
        try:
            code = self.hierarchy.normalize(raw)
        except InvalidCodeError:
            return verbatim, "invalid code"
        if not self.hierarchy.contains(code):
            return code, "code not in hierarchy"
        return code, None


def _add(out: CodeFile, doc: str, code: str, score: float | None, line: int) -> None:
    codes = out.docs.setdefault(doc, [])
    if out.scores is not None:
        doc_scores = out.scores.setdefault(doc, {})
        if code in doc_scores:
            out.issues.append(Issue(out.path, line, "repeated code", code))
            return
        doc_scores[code] = float(score)
        codes.append(code)
        return
    if code in codes:
        out.issues.append(Issue(out.path, line, "repeated code", code))
        return
    codes.append(code)


def _finite_score(path: Path, line: int, code: str, value: object) -> float:
    """``value`` as a finite float, else an :class:`InputFormatError` naming file, line, code."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InputFormatError(
            path, f"score is not a number (code {code!r})", line=line, value=value
        )
    try:
        score = float(value)
    except OverflowError:
        score = math.inf
    if not math.isfinite(score):
        shown = value if isinstance(value, float) else snippet(str(value), 20)
        raise InputFormatError(
            path,
            f"score is not a finite number (code {code!r}; NaN, infinity or too large "
            "for a float); fix the scores",
            line=line,
            value=shown,
        )
    return score


def _read_jsonl(path: Path, hierarchy: EvalHierarchy | None) -> CodeFile:
    out = CodeFile(str(path))
    normalize = _Normalizer(hierarchy, out)
    kind = None
    for number, text in text_lines(path):
        if not text.strip():
            continue
        out.n_rows += 1
        row = parse_json_line(path, number, text)
        if not isinstance(row, dict) or "id" not in row:
            raise InputFormatError(
                path, 'expected an object with "id"', line=number, value=snippet(text)
            )
        if "scores" in row:
            has = "scores+codes" if "codes" in row else "scores"
        else:
            has = "codes" if "codes" in row else None
        if has is None:
            raise InputFormatError(
                path, 'expected "codes" or "scores"', line=number, value=snippet(text)
            )
        if kind is None:
            kind = has
            out.scores = {} if kind != "codes" else None
            out.chosen = {} if kind == "scores+codes" else None
        elif kind != has:
            raise InputFormatError(
                path,
                f"mixes rows with {has!r} and rows with {kind!r} (the first row)",
                line=number,
                value=snippet(text),
            )
        doc = str(row["id"])
        if doc in out.docs:
            raise InputFormatError(path, "document id appears twice", line=number, value=doc)
        out.docs[doc] = []
        if kind != "scores":
            codes = row["codes"]
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise InputFormatError(
                    path, '"codes" must be a list of strings', line=number, value=codes
                )
        if kind == "codes":
            for raw in codes:
                _add(out, doc, normalize(raw, number), None, number)
            continue
        out.scores[doc] = {}
        scores = row["scores"]
        if not isinstance(scores, dict):
            raise InputFormatError(
                path, '"scores" must be an object code → number', line=number, value=scores
            )
        items = [
            (normalize(raw, number), _finite_score(path, number, raw, score))
            for raw, score in scores.items()
        ]
        order = sorted(range(len(items)), key=lambda i: -items[i][1])
        for i in order:
            _add(out, doc, items[i][0], items[i][1], number)
        if out.chosen is not None:
            out.chosen[doc] = list(dict.fromkeys(normalize(raw, number) for raw in codes))
    return out


def _is_header(fields: list[str]) -> bool:
    """A first row naming columns: a known id or code column name, or a non-numeric score."""
    first, second = fields[0].strip().lower(), fields[1].strip().lower()
    if first in ID_COLUMNS or second in CODE_COLUMNS:
        return True
    if len(fields) == 3:
        try:
            float(fields[2])
        except ValueError:
            return fields[2].strip().lower() in SCORE_COLUMNS
    return False


def _read_tsv(path: Path, hierarchy: EvalHierarchy | None) -> CodeFile:
    out = CodeFile(str(path))
    normalize = _Normalizer(hierarchy, out)
    width = None
    for number, text in text_lines(path):
        text = text.rstrip("\r\n")
        if not text.strip():
            continue
        fields = text.split("\t")
        if len(fields) not in (2, 3) or not fields[0].strip() or not fields[1].strip():
            raise InputFormatError(
                path, "expected id<TAB>code[<TAB>score]", line=number, value=text[:80]
            )
        if width is None:
            if _is_header(fields):
                width = len(fields)
                out.scores = {} if width == 3 else None
                out.issues.append(Issue(str(path), number, "header row", text[:80]))
                continue
            width = len(fields)
            out.scores = {} if width == 3 else None
        if len(fields) != width:
            raise InputFormatError(
                path,
                f"expected {width} columns like the first row",
                line=number,
                value=text[:80],
            )
        out.n_rows += 1
        score = None
        if width == 3:
            try:
                score = float(fields[2])
            except ValueError:
                raise InputFormatError(
                    path, "score is not a number", line=number, value=snippet(fields[2])
                ) from None
            score = _finite_score(path, number, fields[1].strip(), score)
        _add(out, fields[0].strip(), normalize(fields[1], number), score, number)
    if out.scores is not None:
        for doc, codes in out.docs.items():
            ranked = sorted(range(len(codes)), key=lambda i: -out.scores[doc][codes[i]])
            out.docs[doc] = [codes[i] for i in ranked]
    return out


READERS = {".jsonl": _read_jsonl, ".json": _read_jsonl, ".tsv": _read_tsv, ".txt": _read_tsv}
"""File suffix → reader (any other suffix is read as TSV)."""


def read_codes(path: str | PathLike[str], hierarchy: EvalHierarchy | None = None) -> CodeFile:
    """Read a gold or prediction file (format in the module docstring).

    Raises:
        InputFormatError: missing file or malformed line (file, line and value named).
    """
    path = Path(path)
    if not path.exists():
        raise InputFormatError(path, "file not found")
    reader = READERS.get(path.suffix.lower(), _read_tsv)
    return reader(path, hierarchy)


def read_code_list(path: str | PathLike[str], hierarchy: EvalHierarchy | None = None) -> CodeFile:
    """Read a label-space file: one code per line (``#`` comments and blank lines skipped).

    The codes are returned as the single document ``"*"`` of a :class:`CodeFile`.
    """
    path = Path(path)
    if not path.exists():
        raise InputFormatError(path, "file not found")
    out = CodeFile(str(path))
    out.docs["*"] = []
    normalize = _Normalizer(hierarchy, out)
    for number, text in text_lines(path):
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        if "\t" in text or " " in text:
            raise InputFormatError(path, "expected one code per line", line=number, value=text[:80])
        out.n_rows += 1
        _add(out, "*", normalize(text, number), None, number)
    return out


__all__ = ["CodeFile", "Issue", "read_code_list", "read_codes"]
