"""Drift audit: the same code string with a different meaning, across systems or releases.

Two questions, one tool:

* **across systems** (ICD-10-CM ↔ WHO ICD-10, or a national modification loaded as a custom
  hierarchy against WHO ICD-10): for every code string both define, do the titles mean the same
  thing? The CM→WHO hop labels a same-string code ``identical`` (exact) unless the curated table
  (``mappings/icd10cm-icd10who-overrides.csv``) says otherwise, so every pair whose meaning may
  differ must be settled there.
* **across releases** of one system (ICD-10-CM 2024 → 2026): which kept codes changed their
  title, and did the meaning change (curated in ``mappings/icd10cm-release-drift.csv``)?

Each pair gets a **lexical** similarity (:func:`~icdbridge.crosswalk.similarity.title_similarity`:
words of each title found in the other title or its context — category title, inclusion terms —,
British spellings and accents folded, a negated word against the same plain word is a
contradiction, score 0) and, optionally, a **semantic** one: the cosine of the two titles'
embeddings by the label encoder (all-MiniLM-L6-v2 by default,
:class:`icdbridge.model.text.encoder.TextEncoder`), cached like label embeddings under
``cache_dir()/drift_embeddings``.

A pair is **flagged** when its lexical similarity is below :data:`LEXICAL_THRESHOLD` or, when the
encoder is used, its cosine is below :data:`SEMANTIC_THRESHOLD`: either channel finding the two
titles dissimilar is reason enough to review the pair (the encoder catches paraphrases the word
overlap misses, the word overlap catches negations and axes the encoder blurs). A flagged pair is
**settled** when the curated table holds a decision for it (a row of the code itself, or a
``map`` / ``no-who-equivalent`` row of an ancestor or pattern that covers it);
:meth:`DriftAudit.channel_counts` counts flagged, settled and unsettled pairs per channel.

Example:
    >>> audit = drift_audit("icd10cm", "icd10who")  # doctest: +SKIP
    >>> audit.compared, len(audit.flagged), len(audit.unsettled)  # doctest: +SKIP
    (10535, 292, 0)
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from icdbridge.codes.base import GROUPING_KINDS, Node, Terminology
from icdbridge.crosswalk.manifests import mappings_dir
from icdbridge.crosswalk.similarity import title_similarity
from icdbridge.errors import DataNotFoundError, InputFormatError, UnknownSystemError

LEXICAL_THRESHOLD = 0.5
"""Flag a pair whose lexical similarity is below this."""

RELEASE_THRESHOLD = 1.0
"""Between two releases of one system: flag every kept code whose title words changed (titles
compared alone, without context; accents and spelling variants folded)."""

SEMANTIC_THRESHOLD = 0.8
"""With the encoder, also flag pairs whose title cosine is below this."""

RELEASE_DRIFT_FILE = "icd10cm-release-drift.csv"
"""Curated verdicts on kept ICD-10-CM codes whose title changed between releases."""

RELEASE_VERDICTS = ("same-meaning", "changed-meaning")

COLUMNS = (
    "code",
    "from_system",
    "from_release",
    "from_title",
    "to_system",
    "to_release",
    "to_title",
    "lexical",
    "semantic",
    "flagged",
    "verdict",
    "targets",
    "exactness",
    "reason",
)
"""Columns of the drift CSV."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A curated decision on a code: what the audit reports in its verdict columns."""

    verdict: str
    targets: tuple[str, ...] = ()
    exactness: str = ""
    reason: str = ""
    curated: bool = True


@dataclass(frozen=True, slots=True)
class DriftPair:
    """One code string defined on both sides, with its similarities and verdict."""

    code: str
    from_title: str
    to_title: str
    lexical: float
    semantic: float | None
    flagged: bool
    verdict: Verdict

    def row(self, audit: DriftAudit) -> list[object]:
        """The CSV row of this pair."""
        return [
            self.code,
            audit.from_system,
            audit.from_release,
            self.from_title,
            audit.to_system,
            audit.to_release,
            self.to_title,
            f"{self.lexical:.3f}",
            "" if self.semantic is None else f"{self.semantic:.3f}",
            "yes" if self.flagged else "no",
            self.verdict.verdict,
            ";".join(self.verdict.targets),
            self.verdict.exactness,
            self.verdict.reason,
        ]


@dataclass
class DriftAudit:
    """Result of :func:`drift_audit`: every compared pair and the counts an agency signs off."""

    from_system: str
    from_release: str
    to_system: str
    to_release: str
    lexical_threshold: float
    semantic_threshold: float | None
    table: str
    pairs: list[DriftPair] = field(default_factory=list)
    titles_differ: int = 0

    @property
    def compared(self) -> int:
        """Number of code strings compared."""
        return len(self.pairs)

    @property
    def flagged(self) -> list[DriftPair]:
        """Pairs whose meaning may differ."""
        return [p for p in self.pairs if p.flagged]

    @property
    def settled(self) -> list[DriftPair]:
        """Flagged pairs with a curated verdict."""
        return [p for p in self.flagged if p.verdict.curated]

    @property
    def unsettled(self) -> list[DriftPair]:
        """Flagged pairs without a curated verdict (should be empty)."""
        return [p for p in self.flagged if not p.verdict.curated]

    def by_lexical(self, pair: DriftPair) -> bool:
        """Whether the lexical channel finds the pair dissimilar (similarity below threshold)."""
        return pair.lexical < self.lexical_threshold

    def by_encoder(self, pair: DriftPair) -> bool:
        """Whether the encoder channel finds the pair dissimilar (``False`` without encoder)."""
        return (
            self.semantic_threshold is not None
            and pair.semantic is not None
            and pair.semantic < self.semantic_threshold
        )

    def channel_counts(self) -> dict[str, dict[str, int]]:
        """Flagged, settled and unsettled pairs per channel: ``lexical``, and with the encoder
        also ``encoder``, ``both`` (flagged by the two) and ``encoder_only``."""
        channels = {"lexical": self.by_lexical}
        if self.semantic_threshold is not None:
            channels["encoder"] = self.by_encoder
            channels["both"] = lambda p: self.by_lexical(p) and self.by_encoder(p)
            channels["encoder_only"] = lambda p: self.by_encoder(p) and not self.by_lexical(p)
        out: dict[str, dict[str, int]] = {}
        for name, test in channels.items():
            pairs = [p for p in self.pairs if test(p)]
            settled = sum(1 for p in pairs if p.verdict.curated)
            out[name] = {
                "flagged": len(pairs),
                "settled": settled,
                "unsettled": len(pairs) - settled,
            }
        return out

    def counts(self) -> dict[str, object]:
        """Pairs compared, with different titles, flagged, settled, the verdicts of the flagged
        pairs, and the same per channel (:meth:`channel_counts`)."""
        verdicts: dict[str, int] = {}
        for pair in self.flagged:
            verdicts[pair.verdict.verdict] = verdicts.get(pair.verdict.verdict, 0) + 1
        return {
            "from": f"{self.from_system} {self.from_release}",
            "to": f"{self.to_system} {self.to_release}",
            "compared": self.compared,
            "titles_differ": self.titles_differ,
            "flagged": len(self.flagged),
            "settled": len(self.settled),
            "unsettled": len(self.unsettled),
            "flagged_verdicts": dict(sorted(verdicts.items())),
            "channels": self.channel_counts(),
            "lexical_threshold": self.lexical_threshold,
            "semantic_threshold": self.semantic_threshold,
            "curated_table": self.table,
        }

    def to_csv(self, flagged_only: bool = False) -> str:
        """The CSV text (:data:`COLUMNS`), every compared pair or only the flagged ones."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        for pair in self.flagged if flagged_only else self.pairs:
            writer.writerow(pair.row(self))
        return buffer.getvalue()

    def to_markdown(self) -> str:
        """Summary and the flagged pairs with their verdicts."""
        c = self.counts()
        semantic = (
            f"or title cosine (label encoder) < {self.semantic_threshold}"
            if self.semantic_threshold is not None
            else "(encoder not used)"
        )
        lines = [
            f"# Drift audit: {c['from']} → {c['to']}",
            "",
            f"Flagged: lexical similarity < {self.lexical_threshold} {semantic}. "
            f"Verdicts: `{self.table}`.",
            "",
            "| pairs compared | titles differ | flagged | settled | unsettled |",
            "|---:|---:|---:|---:|---:|",
            f"| {c['compared']} | {c['titles_differ']} | {c['flagged']} | {c['settled']} | "
            f"{c['unsettled']} |",
            "",
            "| channel | flagged | settled | unsettled |",
            "|---|---:|---:|---:|",
            *(
                f"| {name} | {n['flagged']} | {n['settled']} | {n['unsettled']} |"
                for name, n in c["channels"].items()
            ),
            "",
            "Verdicts of the flagged pairs: "
            + (", ".join(f"{k} {v}" for k, v in c["flagged_verdicts"].items()) or "none"),
            "",
            "| code | from title | to title | lexical | semantic | verdict | targets | reason |",
            "|---|---|---|---:|---:|---|---|---|",
        ]
        for p in self.flagged:
            semantic_cell = "" if p.semantic is None else f"{p.semantic:.2f}"
            cells = [
                p.code,
                p.from_title,
                p.to_title,
                f"{p.lexical:.2f}",
                semantic_cell,
                p.verdict.verdict + (f" ({p.verdict.exactness})" if p.verdict.exactness else ""),
                ";".join(p.verdict.targets),
                p.verdict.reason,
            ]
            lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path, flagged_only: bool = False) -> list[Path]:
        """Write ``path`` (CSV) and the same stem with ``.md``, atomically; return both paths."""
        from icdbridge.outputs import write_text

        path = Path(path)
        markdown = path.with_suffix(".md")
        return [
            write_text(path, self.to_csv(flagged_only)),
            write_text(markdown, self.to_markdown()),
        ]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# --------------------------------------------------------------------- verdict sources
def cm_who_verdict(code: str, overrides: str | None = None) -> Verdict:
    """What the CM→WHO hop decides for a same-string CM code (curated or by the prefix rule)."""
    from icdbridge.crosswalk.cm_who import cm_to_who

    hop = cm_to_who(overrides)
    override = hop.override_for(code)
    targets = hop.lookup(code)
    coded = tuple(t.code for t in targets if t.code is not None)
    exactness = ",".join(dict.fromkeys(t.exactness.label for t in targets))
    if override is None:
        return Verdict("identical (prefix rule)", coded, exactness, "", curated=False)
    if override.action == "no-who-equivalent":
        verdict = "no-WHO-equivalent"
    elif override.action == "same-code":
        verdict = "same-meaning" if override.exactness == "exact" else "same-code-scope-differs"
    else:
        verdict = "map"
    where = (
        ""
        if override.icd10cm.replace(".", "") == code.replace(".", "")
        else (f" [row {override.icd10cm}]")
    )
    return Verdict(verdict, coded, exactness, override.reason + where)


def read_release_verdicts(path: str | Path | None = None) -> dict[tuple[str, str, str], Verdict]:
    """Curated verdicts on release drift: ``(code, from release, to release)`` → verdict.

    Columns: ``code,from_release,to_release,verdict,reason``; verdict ``same-meaning`` or
    ``changed-meaning``.

    Raises:
        InputFormatError: a bad verdict or a row without reason.
    """
    path = Path(path) if path is not None else mappings_dir() / RELEASE_DRIFT_FILE
    if not path.exists():
        return {}
    out: dict[tuple[str, str, str], Verdict] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            verdict = (row.get("verdict") or "").strip()
            if verdict not in RELEASE_VERDICTS:
                raise InputFormatError(
                    path, f"verdict must be one of {RELEASE_VERDICTS}", reader.line_num, verdict
                )
            reason = (row.get("reason") or "").strip()
            if not reason:
                raise InputFormatError(path, "every row needs a reason", reader.line_num)
            key = (
                (row.get("code") or "").strip().upper(),
                (row.get("from_release") or "").strip(),
                (row.get("to_release") or "").strip(),
            )
            out[key] = Verdict(verdict, (key[0],), "", reason)
    return out


# --------------------------------------------------------------------- the audit
def _context(terminology: Terminology, node: Node) -> list[str]:
    """Texts around a node: its category's title and its own inclusion terms."""
    out = list(node.synonyms)
    if node.parent is not None and node.kind not in GROUPING_KINDS:
        category = node.code.split(".")[0]
        if category != node.code:
            found = terminology.get(category)
            if found is not None:
                out.append(found.title)
    return out


def _pairs(left: Terminology, right: Terminology) -> list[tuple[Node, Node]]:
    out = []
    for node in left.nodes():
        if node.kind in GROUPING_KINDS:
            continue
        other = right.get(node.code)
        if other is None or other.kind in GROUPING_KINDS:
            continue
        out.append((node, other))
    return out


def drift_audit(
    source: str,
    target: str,
    *,
    source_release: str | None = None,
    target_release: str | None = None,
    encoder: bool | str = False,
    lexical_threshold: float | None = None,
    semantic_threshold: float = SEMANTIC_THRESHOLD,
    overrides: str | None = None,
    release_table: str | None = None,
    changed_only: bool | None = None,
) -> DriftAudit:
    """Compare every code string defined in both terminologies (see the module docstring).

    Args:
        source: System of the first side (``icd10cm``, or a custom hierarchy's id).
        target: System of the second side (``icd10who``, or ``icd10cm`` for release drift).
        source_release: Release of the source (``None``: its default).
        target_release: Release of the target (``None``: its default).
        encoder: Also score with the label encoder: ``True`` for the default encoder, or a
            local model directory; ``False`` (default) for the lexical channel only.
        lexical_threshold: Flag pairs below this lexical similarity (``None``:
            :data:`LEXICAL_THRESHOLD` across systems, :data:`RELEASE_THRESHOLD` across releases).
        semantic_threshold: With the encoder, also flag pairs whose cosine is below this.
        overrides: A CM→WHO override table (default: the curated one in ``mappings/``).
        release_table: A release-drift verdict table (default: the curated one).
        changed_only: Compare only codes whose title text differs (default: yes for two
            releases of one system, no across systems).

    Raises:
        UnknownSystemError: the same system and release on both sides, or an unknown system.
    """
    from icdbridge.codes.registry import get_terminology

    left = get_terminology(source, source_release)
    right = get_terminology(target, target_release)
    same_system = left.system == right.system
    if same_system and left.release == right.release:
        raise UnknownSystemError(
            f"drift: both sides are {left.name} {left.release}; give another target system or "
            "release"
        )
    if changed_only is None:
        changed_only = same_system
    if lexical_threshold is None:
        lexical_threshold = RELEASE_THRESHOLD if same_system else LEXICAL_THRESHOLD
    if same_system:
        table_path = Path(release_table) if release_table else mappings_dir() / RELEASE_DRIFT_FILE
        release_verdicts = read_release_verdicts(table_path)
        table = table_path.name
    elif left.system == "icd10cm" and right.system == "icd10who":
        table = Path(overrides).name if overrides else "icd10cm-icd10who-overrides.csv"
        release_verdicts = {}
    else:
        table = "(none)"
        release_verdicts = {}
    audit = DriftAudit(
        from_system=left.system,
        from_release=left.release,
        to_system=right.system,
        to_release=right.release,
        lexical_threshold=lexical_threshold,
        semantic_threshold=semantic_threshold if encoder else None,
        table=table,
    )
    pairs = _pairs(left, right)
    audit.titles_differ = sum(a.title != b.title for a, b in pairs)
    if changed_only:
        pairs = [(a, b) for a, b in pairs if a.title != b.title]
    if same_system:  # a release's own words against the other's: no context
        lexical = [title_similarity(a.title, b.title) for a, b in pairs]
    else:
        lexical = [
            title_similarity(a.title, b.title, _context(left, a), _context(right, b))
            for a, b in pairs
        ]
    semantic: list[float | None] = [None] * len(pairs)
    if encoder:
        path = None if encoder is True else str(encoder)
        semantic = list(title_cosines([(a.title, b.title) for a, b in pairs], path))
    for (a, b), lex, sem in zip(pairs, lexical, semantic, strict=True):
        flagged = lex < lexical_threshold or (sem is not None and sem < semantic_threshold)
        if same_system:
            verdict = release_verdicts.get(
                (a.code, left.release, right.release),
                Verdict("not reviewed", (), "", "", curated=False),
            )
        elif left.system == "icd10cm" and right.system == "icd10who":
            verdict = cm_who_verdict(a.code, overrides)
        else:
            verdict = Verdict("not reviewed", (), "", "", curated=False)
        audit.pairs.append(DriftPair(a.code, a.title, b.title, lex, sem, flagged, verdict))
    return audit


# --------------------------------------------------------------------- the encoder channel
CACHE_SUBDIR = "drift_embeddings"


def title_cosines(pairs: Sequence[tuple[str, str]], encoder_path: str | None = None) -> list[float]:
    """Cosine of the label-encoder embeddings of each title pair (cached on disk).

    The cache key is the encoder's identity (weights fingerprint and precision) and the SHA-256 of
    the texts, so a changed model or a changed release recomputes.

    Raises:
        DataNotFoundError: the encoder (or torch) is not installed.
    """
    try:
        import numpy as np

        from icdbridge.model.text.encoder import TextEncoder
    except ImportError as error:  # torch / transformers missing
        raise DataNotFoundError(f"the drift audit's encoder needs torch: {error}") from None
    from icdbridge.paths import cache_dir

    texts = sorted({t for pair in pairs for t in pair})
    encoder = TextEncoder(encoder_path)
    digest = hashlib.sha256(encoder.identity().encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    folder = cache_dir() / CACHE_SUBDIR
    cached = folder / f"{digest.hexdigest()[:32]}.npy"
    if cached.is_file():
        matrix = np.load(cached)
    else:
        matrix = encoder.embed(texts, batch_size=128).numpy()
        folder.mkdir(parents=True, exist_ok=True)
        from icdbridge.outputs import write_bytes

        buffer = io.BytesIO()
        np.save(buffer, matrix)
        write_bytes(cached, buffer.getvalue())
    row = {text: i for i, text in enumerate(texts)}
    return [float(matrix[row[a]] @ matrix[row[b]]) for a, b in pairs]
