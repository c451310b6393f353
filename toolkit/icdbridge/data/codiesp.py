"""Loader for the CodiEsp corpus (CLEF eHealth 2020) in its published folder layout.

Layout (as distributed on Zenodo, records 3693570 and 3837305)::

    codiesp/
      train/ trainD.tsv  trainX.tsv  text_files/*.txt  text_files_en/*.txt
      dev/   devD.tsv    devX.tsv    text_files/*.txt  text_files_en/*.txt

``*D.tsv`` has one ``articleID<TAB>code`` row per diagnosis assignment, with lower-case dotted
ICD-10-CM (CIE-10 2018) codes. ``text_files/`` holds the Spanish originals, ``text_files_en/`` the
English machine translation (one sentence per line). English documents carry their Spanish
original as ``original_text`` (``original_language`` ``"es"``) when ``text_files/`` is present:
the translation drops or mangles many of the words coding depends on, and the model's lexical
channel reads the original too (:mod:`icdbridge.model.lexical.gloss`).

``*X.tsv`` (optional) says where each code is mentioned: ``articleID<TAB>type<TAB>code<TAB>
words<TAB>offsets`` with offsets ``start end`` into the Spanish original, several separated by
``;`` when the mention is discontinuous. Its ``DIAGNOSTICO`` rows become each document's
``evidence`` (:class:`~icdbridge.data.dataset.Mention`: source ``"original_text"`` for English
documents, ``"text"`` for Spanish ones); its ``PROCEDIMIENTO`` rows belong to the procedure task
(``*P.tsv``), which this loader does not read.

Policy for codes (decided here, documented for every user of the loader):

* Every code is normalised to ICD-10-CM's canonical form (``n44.8`` → ``N44.8``) through
  :meth:`Terminology.normalize`; a code that is not even valid ICD-10 syntax is a malformed row
  and raises :class:`~icdbridge.errors.InputFormatError` (file, line, value).
* Codes of valid syntax that the chosen ICD-10-CM release does **not** define (CodiEsp uses the
  2018 release and writes placeholder-only codes such as ``w19.xxx``) are **kept** as they are,
  never dropped, and counted: :func:`load_codiesp_report` returns the documents together with a
  :class:`~icdbridge.data.dataset.CodeReport` (undefined and non-leaf codes with counts), and
  ``icdbridge datasets prepare`` prints that report. Pass ``on_undefined="error"`` to refuse them.
* A document listed in no TSV row is kept with ``codes=[]``; a TSV row whose document has no text
  file raises :class:`InputFormatError`. A code repeated for the same document is kept once (the
  corpus lists a code once per document; repeated rows add nothing to a set of labels).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from os import PathLike
from pathlib import Path

from icdbridge.data.dataset import CodeReport, Document, check_codes
from icdbridge.errors import DataNotFoundError, InputFormatError, InvalidCodeError

SPLITS = ("train", "dev", "test")
"""Splits of the corpus layout (the shared data folder has train and dev)."""

TEXT_FOLDERS: dict[str, str] = {"en": "text_files_en", "es": "text_files"}
"""Language → folder of the text files."""

UNDEFINED_POLICIES = ("keep", "error")


def split_dir(root: str | PathLike[str], split: str) -> Path:
    """Return the folder of ``split``: ``root/split`` or ``root`` itself if it is that folder.

    Raises:
        InputFormatError: unknown split.
        DataNotFoundError: the folder or its ``<split>D.tsv`` is missing.
    """
    if split not in SPLITS:
        raise InputFormatError(
            None, f"unknown CodiEsp split (expected one of {SPLITS})", value=split
        )
    root = Path(root)
    for candidate in (root / split, root / "codiesp" / split, root):
        if (candidate / f"{split}D.tsv").is_file():
            return candidate
    raise DataNotFoundError(
        f"{root}: no CodiEsp {split} split here (expected {root / split / (split + 'D.tsv')}); "
        "get the corpus with `icdbridge datasets download codiesp` or from Zenodo record 3837305"
    )


def _tsv_rows(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """``(line number, line, cells)`` of every non-blank line of a CodiEsp TSV file."""
    with path.open(encoding="utf-8-sig") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if line.strip():
                yield number, line, line.split("\t")


def _code(path: Path, number: int, raw: str, normalize: Callable[[str], str]) -> str:
    """The normalised code of a TSV cell (an :class:`InputFormatError` when it is not one)."""
    try:
        return normalize(raw)
    except InvalidCodeError:
        raise InputFormatError(path, "not a valid ICD-10-CM code", line=number, value=raw) from None


def _read_codes(
    path: Path, normalize: Callable[[str], str]
) -> tuple[dict[str, list[str]], dict[str, int]]:
    codes: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
    for number, line, cells in _tsv_rows(path):
        if len(cells) != 2 or not cells[0].strip() or not cells[1].strip():
            raise InputFormatError(
                path,
                "expected 'articleID<TAB>code' (2 non-empty columns)",
                line=number,
                value=line,
            )
        doc_id = cells[0].strip()
        code = _code(path, number, cells[1].strip(), normalize)
        bucket = codes.setdefault(doc_id, [])
        first_line.setdefault(doc_id, number)
        if code not in bucket:
            bucket.append(code)
    return codes, first_line


EVIDENCE_TYPES = ("DIAGNOSTICO", "PROCEDIMIENTO")
"""Mention types of ``*X.tsv`` (only diagnoses are read: the loader's task is CodiEsp-D)."""


def _read_evidence(
    path: Path, normalize: Callable[[str], str], lengths: dict[str, int], source: str
) -> dict[str, list[dict[str, object]]]:
    """Document id → its diagnosis mentions (``evidence`` entries) from ``*X.tsv``;
    ``lengths``: document id → length of the Spanish text the offsets index."""
    evidence: dict[str, list[dict[str, object]]] = {}
    for number, line, cells in _tsv_rows(path):
        if len(cells) != 5 or cells[1] not in EVIDENCE_TYPES or not cells[3].strip():
            raise InputFormatError(
                path,
                "expected 'articleID<TAB>DIAGNOSTICO|PROCEDIMIENTO<TAB>code<TAB>words<TAB>"
                "start end[;start end...]'",
                line=number,
                value=line,
            )
        doc_id, kind, raw_code, words, offsets = (cell.strip() for cell in cells)
        if kind != "DIAGNOSTICO":
            continue
        if doc_id not in lengths:
            raise InputFormatError(
                path, "mention of a document without a text file", line=number, value=doc_id
            )
        code = _code(path, number, raw_code, normalize)
        try:
            spans = [[int(x) for x in part.split()] for part in offsets.split(";")]
        except ValueError:
            spans = []
        if not spans or not all(
            len(span) == 2 and 0 <= span[0] <= span[1] <= lengths[doc_id] for span in spans
        ):
            raise InputFormatError(
                path,
                f"offsets must be 'start end[;start end...]' within the text "
                f"({lengths[doc_id]} characters)",
                line=number,
                value=offsets,
            )
        entry = {"code": code, "text": words, "source": source, "spans": spans}
        evidence.setdefault(doc_id, []).append(entry)
    return evidence


def load_codiesp_report(
    root: str | PathLike[str],
    split: str = "train",
    language: str = "en",
    *,
    release: str | None = None,
    on_undefined: str = "keep",
) -> tuple[list[Document], CodeReport]:
    """Load one CodiEsp-D split and report its codes against ICD-10-CM ``release``.

    Args:
        root: The ``codiesp`` folder (containing ``train/``, ``dev/``) or a split folder.
        split: ``"train"``, ``"dev"`` or ``"test"``.
        language: ``"en"`` (machine translation, ``text_files_en/``; each document carries its
            Spanish original as ``original_text`` when ``text_files/`` exists) or ``"es"``
            (``text_files/``).
        release: ICD-10-CM release to normalise and check against (``None``: the default).
        on_undefined: ``"keep"`` (default: keep and count codes the release does not define) or
            ``"error"`` (raise :class:`InputFormatError` on the first one).

    Returns:
        The documents sorted by id (every text file, with or without codes) and the code report.

    Raises:
        InputFormatError: malformed TSV row, code of invalid syntax, codes for a document without
            text, unknown language/policy, or (with ``on_undefined="error"``) an undefined code.
        DataNotFoundError: the split or its text folder is missing.
    """
    from icdbridge.codes import get_terminology

    if language not in TEXT_FOLDERS:
        raise InputFormatError(
            None,
            f"unknown CodiEsp language (expected one of {tuple(TEXT_FOLDERS)})",
            value=language,
        )
    if on_undefined not in UNDEFINED_POLICIES:
        raise InputFormatError(
            None,
            f"unknown policy for undefined codes (expected {UNDEFINED_POLICIES})",
            value=on_undefined,
        )
    terminology = get_terminology("icd10cm", release)
    folder = split_dir(root, split)
    tsv = folder / f"{split}D.tsv"
    text_dir = folder / TEXT_FOLDERS[language]
    if not text_dir.is_dir():
        raise DataNotFoundError(f"{text_dir}: CodiEsp text folder not found")
    codes, first_line = _read_codes(tsv, terminology.normalize)
    texts = {path.stem: path.read_text(encoding="utf-8") for path in text_dir.glob("*.txt")}
    for doc_id, line in first_line.items():
        if doc_id not in texts:
            raise InputFormatError(
                tsv, f"document has codes but no text file in {text_dir}", line=line, value=doc_id
            )
    originals: dict[str, str] = {}  # document id -> its Spanish original
    original_dir = folder / TEXT_FOLDERS["es"]
    if language != "es" and original_dir.is_dir():
        originals = {
            path.stem: path.read_text(encoding="utf-8") for path in original_dir.glob("*.txt")
        }
    evidence: dict[str, list[dict[str, object]]] = {}
    mentions = folder / f"{split}X.tsv"
    spanish = texts if language == "es" else originals
    if mentions.is_file() and spanish:
        source = "text" if language == "es" else "original_text"
        lengths = {doc_id: len(text) for doc_id, text in spanish.items()}
        evidence = _read_evidence(mentions, terminology.normalize, lengths, source)
    docs = []
    for doc_id in sorted(texts):
        meta: dict[str, object] = {"source": f"codiesp/{split}", "language": language}
        if doc_id in originals:
            meta["original_text"] = originals[doc_id]
            meta["original_language"] = "es"
        if doc_id in evidence:
            meta["evidence"] = evidence[doc_id]
        docs.append(
            Document(
                id=doc_id,
                text=texts[doc_id],
                codes=codes.get(doc_id, []),
                system="icd10cm",
                meta=meta,
            )
        )
    report = check_codes(docs, terminology)
    if on_undefined == "error" and report.undefined:
        code = sorted(report.undefined)[0]
        raise InputFormatError(
            tsv,
            f"code not defined in ICD-10-CM {terminology.release} "
            f"({len(report.undefined)} such codes; use on_undefined='keep' to keep them)",
            value=code,
        )
    return docs, report


def load_codiesp(
    root: str | PathLike[str] | None = None,
    split: str = "train",
    language: str = "en",
    *,
    release: str | None = None,
    on_undefined: str = "keep",
) -> list[Document]:
    """Load one CodiEsp-D split as :class:`Document` objects (see :func:`load_codiesp_report`).

    Args:
        root: The ``codiesp`` folder; ``None`` uses ``data_dir()/codiesp``.
        split: ``"train"``, ``"dev"`` or ``"test"``.
        language: ``"en"`` or ``"es"``.
        release: ICD-10-CM release used to normalise and check codes.
        on_undefined: ``"keep"`` or ``"error"``.

    Example:
        >>> docs = load_codiesp(split="dev")  # doctest: +SKIP
        >>> docs[0].codes[:2]  # doctest: +SKIP
        ['Q62.11', 'N28.89']
    """
    if root is None:
        from icdbridge.paths import data_dir

        root = data_dir() / "codiesp"
    docs, _ = load_codiesp_report(root, split, language, release=release, on_undefined=on_undefined)
    return docs
