"""Migration report: how many codes and rows reached the target, and how exactly.

Built from the row counts per distinct input value (:class:`~icdbridge.crosswalk.migrate.Tally`),
so it costs one mapping per distinct code whatever the file size. Written as markdown, JSON and a
PNG plot (loss per hop, outcome per chapter).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from icdbridge.codes.missing import is_missing
from icdbridge.crosswalk.chain import Crosswalk
from icdbridge.crosswalk.hops import terminology_or_none
from icdbridge.crosswalk.model import Exactness
from icdbridge.outputs import atomic_file, dumps_json

OUTCOMES = ("exact", "unknown", "approximate", "residual-only", "none")
"""The exactness classes (``map_exactness``), see
:data:`~icdbridge.crosswalk.model.EXACTNESS_CLASSES`."""
UNMAPPED = ("no-map", "invalid-code", "not-in-release", "retired-in-target")

WHO_UNKNOWN_NOTE = (
    "WHO ICD-10/ICD-11 tables of release {releases} state no relation (the Relation column was "
    "dropped after 2020), so every path through them is at best `unknown`: the target may or "
    "may not be equivalent. The 2020-01 tables state relations."
)
GEM_FLAGS_NOTE = (
    "GEM flags (5 digits, in `map_detail`): approximate (1 = the target is not equivalent), "
    "no map (1 = no target), combination (1 = every choice list of the scenario is needed "
    "together), scenario (which combination), choice list (which part of it)."
)

MISSING = (
    "missing values (null, empty, or a placeholder such as NULL, nan, None, NA): status "
    "invalid-code, never looked up as codes"
)


@dataclass
class MigrationReport:
    """Counts of a migration (codes = distinct input values, rows = input rows)."""

    source: str
    target: str
    policy: str
    systems: list[str]
    rows: int = 0
    codes: int = 0
    rows_written: int = 0
    input: str | None = None
    output: str | None = None
    input_format: str | None = None
    output_format: str | None = None
    lines: int | None = None
    """Physical lines read (text formats; any line ending), header included."""
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)
    hops: list[dict[str, object]] = field(default_factory=list)
    chapters: dict[str, dict[str, int]] = field(default_factory=dict)
    top_unmapped: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    issues: list[dict[str, object]] = field(default_factory=list)
    """Input problems noticed without refusing the input (see :class:`icdbridge.tables.Issue`)."""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        return asdict(self)

    def to_markdown(self) -> str:
        """Human-readable report."""
        lines = [
            f"# Crosswalk report: {self.source} → {self.target}",
            "",
            f"Path: {' → '.join(self.systems)}; policy `{self.policy}`.",
            f"Input: {_text(self.input or '-')} ({self.rows} rows, {self.codes} distinct codes"
            + (f", {self.lines} lines" if self.lines is not None else "")
            + f"); output: {_text(self.output or '-')} ({self.rows_written} rows).",
            "",
            "## Input issues",
            "",
        ]
        if not self.issues:
            lines.append("None found.")
        else:
            lines += [
                "| issue | rows | first line | example | meaning |",
                "|---|---:|---:|---|---|",
            ]
            for issue in self.issues:
                first = issue.get("first_line")
                example = issue.get("example")
                lines.append(
                    f"| {issue['kind']} | {issue['rows']} | {'-' if first is None else first} | "
                    f"{'-' if example is None else _cell(repr(example))} | "
                    f"{_cell(str(issue['message']))} |"
                )
        lines += [
            "",
            *(f"> {note}\n" for note in self.notes),
            "## Exactness (`map_exactness`)",
            "",
            "| exactness | codes | rows | share of rows |",
            "|---|---:|---:|---:|",
        ]
        for name in OUTCOMES:
            count = self.outcomes.get(name, {"codes": 0, "rows": 0})
            share = count["rows"] / self.rows if self.rows else 0.0
            lines.append(f"| {name} | {count['codes']} | {count['rows']} | {share:.1%} |")
        lines += [
            "",
            "## Status (`map_status`)",
            "",
            "| status | codes | rows |",
            "|---|---:|---:|",
        ]
        for name, count in sorted(self.statuses.items()):
            lines.append(f"| {name} | {count['codes']} | {count['rows']} |")
        lines += [
            "",
            "## Loss per hop",
            "",
            "| hop | codes reaching a code | rows | codes exact so far | rows |",
            "|---|---:|---:|---:|---:|",
        ]
        for hop in self.hops:
            lines.append(
                f"| {hop['hop']} | {hop['codes_reached']} | {hop['rows_reached']} | "
                f"{hop['codes_exact']} | {hop['rows_exact']} |"
            )
        lines += [
            "",
            "## Rows per source chapter",
            "",
            "| chapter | " + " | ".join(OUTCOMES) + " |",
        ]
        lines.append("|---|" + "---:|" * len(OUTCOMES))
        for chapter, counts in self.chapters.items():
            lines.append(
                f"| {chapter} | " + " | ".join(str(counts.get(o, 0)) for o in OUTCOMES) + " |"
            )
        lines += [
            "",
            "## Most frequent unmapped codes",
            "",
            "| code | status | rows |",
            "|---|---|---:|",
        ]
        for item in self.top_unmapped:
            code = "(null)" if item["code"] is None else _cell(repr(item["code"]))
            lines.append(f"| {code} | {item['status']} | {item['rows']} |")
        return "\n".join(lines) + "\n"

    def plot(self, path: Path | str) -> None:
        """PNG: share of rows reaching each hop (any / exact) and outcome per source chapter."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
        labels = [str(h["hop"]) for h in self.hops]
        total = max(self.rows, 1)
        reached = [int(h["rows_reached"]) / total for h in self.hops]
        exact = [int(h["rows_exact"]) / total for h in self.hops]
        xs = range(len(labels))
        left.bar([x - 0.2 for x in xs], reached, width=0.4, label="reaches a code")
        left.bar([x + 0.2 for x in xs], exact, width=0.4, label="exact at every hop so far")
        left.set_xticks(list(xs), labels, rotation=15, fontsize=8)
        left.set_ylim(0, 1)
        left.set_ylabel("share of rows")
        left.set_title("Loss per hop")
        left.legend(fontsize=8)
        chapters = list(self.chapters)
        bottom = [0.0] * len(chapters)
        for outcome in OUTCOMES:
            shares = []
            for chapter in chapters:
                counts = self.chapters[chapter]
                shares.append(counts.get(outcome, 0) / max(sum(counts.values()), 1))
            right.bar(chapters, shares, bottom=bottom, label=outcome)
            bottom = [b + s for b, s in zip(bottom, shares, strict=True)]
        right.set_title("Outcome per source chapter (share of rows)")
        right.tick_params(axis="x", labelsize=7, rotation=90)
        right.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=110, format="png")
        plt.close(fig)

    def write(self, markdown: Path | str, json_path: Path | str, png: Path | str) -> None:
        """Write the three report files to these paths as they are (not atomically).

        Text that is not valid Unicode (an unpaired surrogate from a JSON escape) is written as
        ``\\udXXX`` escapes, so a report is always written.
        """
        Path(markdown).write_bytes(self.to_markdown().encode("utf-8", "backslashreplace"))
        text = dumps_json(self.to_dict()) + "\n"
        Path(json_path).write_bytes(text.encode("utf-8", "backslashreplace"))
        self.plot(png)

    def save(self, stem: Path | str) -> list[Path]:
        """Write ``<stem>.md``, ``<stem>.json`` and ``<stem>.png`` atomically; return the paths.

        The three files are renamed into place together, only once all three are written.
        """
        paths = [Path(f"{stem}{suffix}") for suffix in (".md", ".json", ".png")]
        with contextlib.ExitStack() as stack:
            temps = [stack.enter_context(atomic_file(path)) for path in paths]
            self.write(*temps)
        return paths


def _text(value: str) -> str:
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _cell(value: str) -> str:
    """A markdown table cell: no line breaks, no column separators."""
    return _text(value).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _chapter(system: str, code: str | None) -> str:
    if code is None:
        return "(invalid)"
    terminology = terminology_or_none(system)
    try:
        return str(terminology.chapter(code)) if terminology is not None else "(unknown)"
    except Exception:  # not defined in the release, or a terminology without chapters
        return "(not defined)"


def _notes(crosswalk: Crosswalk) -> list[str]:
    """Things said once for the whole report: GEM flags, WHO tables without relations."""
    notes = []
    for hop in crosswalk.hops:
        if hop.name == "cms-gem-2018" and GEM_FLAGS_NOTE not in notes:
            notes.append(GEM_FLAGS_NOTE)
        if hop.name == "who-icd10-icd11":
            releases = [r for r in str(hop.release).split("+") if r != "2020-01"]
            if releases:
                notes.append(WHO_UNKNOWN_NOTE.format(releases=", ".join(releases)))
    return list(dict.fromkeys(notes))


def build_report(
    rows: Counter, crosswalk: Crosswalk, policy: str = "all", top: int = 20
) -> MigrationReport:
    """The report of a migration from the row count of each distinct input value.

    Args:
        rows: Distinct input value → number of rows (``None``: null cells).
        crosswalk: The crosswalk used.
        policy: The policy used.
        top: How many unmapped codes to list.
    """
    report = MigrationReport(
        source=crosswalk.source_system,
        target=crosswalk.target_system,
        policy=policy,
        systems=list(crosswalk.systems),
        rows=sum(rows.values()),
        codes=len(rows),
    )
    hop_labels = [
        f"{a}→{b}" for a, b in zip(crosswalk.systems, crosswalk.systems[1:], strict=False)
    ]
    hops = [
        {"hop": label, "codes_reached": 0, "rows_reached": 0, "codes_exact": 0, "rows_exact": 0}
        for label in hop_labels
    ]
    unmapped: list[tuple[int, str, object, str]] = []
    missing = [0, None]
    for value, count in rows.items():
        if is_missing(value):
            missing[0] += count
            missing[1] = value if missing[1] is None else missing[1]
        mapping = crosswalk.map(value, policy)
        for table, key in ((report.outcomes, mapping.outcome), (report.statuses, mapping.status)):
            slot = table.setdefault(key, {"codes": 0, "rows": 0})
            slot["codes"] += 1
            slot["rows"] += count
        for hop, level in zip(hops, mapping.hop_reach, strict=False):
            if level > Exactness.NONE:
                hop["codes_reached"] += 1
                hop["rows_reached"] += count
            if level == Exactness.EXACT:
                hop["codes_exact"] += 1
                hop["rows_exact"] += count
        chapter = (
            _chapter(crosswalk.source_system, mapping.code)
            if mapping.status != "invalid-code"
            else "(invalid)"
        )
        per = report.chapters.setdefault(chapter, {})
        per[mapping.outcome] = per.get(mapping.outcome, 0) + count
        if mapping.status in UNMAPPED:
            unmapped.append((count, "" if value is None else value, value, mapping.status))
    report.hops = hops
    report.notes = _notes(crosswalk)
    report.chapters = dict(sorted(report.chapters.items()))
    unmapped.sort(key=lambda item: (-item[0], item[1], item[2] is None))
    report.top_unmapped = [{"code": v, "status": s, "rows": n} for n, _, v, s in unmapped[:top]]
    if missing[0]:
        example = missing[1]
        report.issues.append(
            {
                "kind": "missing-value",
                "message": MISSING,
                "rows": missing[0],
                "first_line": None,
                "example": None if example is None else str(example),
            }
        )
    return report
