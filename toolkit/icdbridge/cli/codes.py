"""`icdbridge codes`: look up, search, diff and export codes of a terminology.

Every command is a thin layer over :mod:`icdbridge.codes` (see
:mod:`icdbridge.codes.summary`); data is read only when a command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

HELP = (
    "Look up, search, diff and export codes of a terminology.\n\n"
    "Systems: icd9cm (ICD-9-CM v32, FY2015), icd10cm (ICD-10-CM, releases 2026 and 2024), "
    "icd10who (WHO ICD-10 2019), icd11 (ICD-11 MMS 2024-01, from WHO's SimpleTabulation file), "
    "or a custom hierarchy file given with --hierarchy."
)

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="rich")

System = Annotated[
    str | None,
    typer.Option(
        "--system", "-s", help="Code system: icd9cm, icd10cm, icd10who, icd11 (or a custom id)."
    ),
]
Release = Annotated[
    str | None,
    typer.Option("--release", "-r", help="Release id (default: the system's default release)."),
]
Hierarchy = Annotated[
    Path | None,
    typer.Option(
        "--hierarchy",
        help="A custom hierarchy file (.csv/.json, one row per node) instead of --system.",
    ),
]
Tabulation = Annotated[
    Path | None,
    typer.Option(
        "--icd11-tabulation",
        help="WHO's ICD-11 SimpleTabulation .zip/.txt (default: $ICDBRIDGE_ICD11_TABULATION, "
        "else the data folder).",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def _open(system: str | None, release: str | None, hierarchy: Path | None, tabulation: Path | None):
    from icdbridge.cli.progress import spinner
    from icdbridge.codes.summary import open_terminology

    with spinner(f"loading {system or hierarchy} ..."):
        terminology = open_terminology(
            system, release, hierarchy=hierarchy, icd11_tabulation=tabulation
        )
        len(terminology)  # parse the source now, under the spinner
    return terminology


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@app.command()
def lookup(
    code: Annotated[str, typer.Argument(help="The code, dotted or undotted (E11.9, e119).")],
    system: System = None,
    release: Release = None,
    hierarchy: Hierarchy = None,
    icd11_tabulation: Tabulation = None,
    as_json: AsJson = False,
) -> None:
    """Show a code: normalised form, title, synonyms, parent, ancestors, leaf/billable, release.

    Examples:

        icdbridge codes lookup E11.9 --system icd10cm

        icdbridge codes lookup 25000 --system icd9cm --json

        icdbridge codes lookup 5A11 --system icd11 --icd11-tabulation SimpleTabulation.zip

        icdbridge codes lookup A00.0 --hierarchy my-national-icd10.csv
    """
    from icdbridge.codes.summary import code_summary

    terminology = _open(system, release, hierarchy, icd11_tabulation)
    info = code_summary(terminology, code)
    if as_json:
        _print_json(info)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    parent = info["parent"]
    rows = [
        (
            "code",
            info["normalized"] + (f"  (input {code!r})" if code != info["normalized"] else ""),
        ),
        ("system", f"{terminology.name} ({info['system']}), release {info['release']}"),
        ("description", info["description"]),
        ("kind", info["kind"]),
        ("leaf / billable", "yes" if info["leaf"] else "no"),
        ("parent", f"{parent['code']}  {parent['title']}" if parent else "-"),
        ("chapter", info["chapter"]),
        ("block", info["block"] or "-"),
        ("children", str(info["children"])),
    ]
    rows += [(k, str(v)) for k, v in info["extra"].items()]
    for key, value in rows:
        table.add_row(key, value)
    console = Console()
    console.print(table)
    if info["synonyms"]:
        console.print("[bold]synonyms[/bold]")
        for synonym in info["synonyms"]:
            console.print(f"  - {synonym}")
    ancestors = Table(title="ancestors (nearest first)", title_justify="left")
    for column in ("code", "kind", "title"):
        ancestors.add_column(column)
    for ancestor in info["ancestors"]:
        ancestors.add_row(ancestor["code"], ancestor["kind"], ancestor["title"])
    console.print(ancestors)


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="Words to look for in titles and synonyms.")],
    system: System = None,
    release: Release = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Number of matches.")] = 10,
    hierarchy: Hierarchy = None,
    icd11_tabulation: Tabulation = None,
    as_json: AsJson = False,
) -> None:
    """Find codes whose title or synonyms contain the words of TEXT (lexical, best first).

    The score is the fraction of the query's words found; ties prefer codes over chapters and
    blocks, then shorter titles.

    Examples:

        icdbridge codes search "type 2 diabetes" --system icd10cm

        icdbridge codes search "essential hypertension" --system icd9cm --limit 5 --json
    """
    from icdbridge.codes.summary import search_summary

    terminology = _open(system, release, hierarchy, icd11_tabulation)
    hits = search_summary(terminology, text, limit=limit)
    if as_json:
        _print_json(hits)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{terminology.name} {terminology.release}: {text!r}", title_justify="left")
    for column in ("code", "score", "kind", "leaf", "title"):
        table.add_column(column)
    for hit in hits:
        table.add_row(
            hit["code"],
            f"{hit['score']:.2f}",
            hit["kind"],
            "yes" if hit["leaf"] else "",
            hit["title"],
        )
    Console().print(table if hits else f"no match for {text!r}")


@app.command()
def diff(
    system: System = "icd10cm",
    old: Annotated[str, typer.Option("--from", help="The older release, e.g. 2024.")] = "2024",
    new: Annotated[str, typer.Option("--to", help="The newer release, e.g. 2026.")] = "2026",
    as_json: AsJson = False,
    show: Annotated[
        int, typer.Option("--show", min=0, help="How many added/removed codes to list.")
    ] = 20,
) -> None:
    """Billable codes added and removed between two releases (ICD-10-CM: 2024 → 2026).

    These added codes are the "new codes" a zero-shot model is evaluated on. --json prints every
    code; the table lists the first --show of each.

    Examples:

        icdbridge codes diff --system icd10cm --from 2024 --to 2026

        icdbridge codes diff --from 2024 --to 2026 --json > diff.json
    """
    from icdbridge.codes.summary import release_diff

    result = release_diff(system or "icd10cm", old, new)
    if as_json:
        _print_json(result)
        return
    from rich.console import Console
    from rich.table import Table

    counts = result["counts"]
    console = Console()
    console.print(
        f"{result['system']} {old} → {new}: {counts['from']} → {counts['to']} billable codes, "
        f"[green]{counts['added']} added[/green], [red]{counts['removed']} removed[/red]"
    )
    from icdbridge.codes.registry import get_terminology

    for label, codes, release in (
        ("added", result["added"], new),
        ("removed", result["removed"], old),
    ):
        if not codes or not show:
            continue
        terminology = get_terminology(result["system"], release)
        table = Table(title=f"{label} (first {min(show, len(codes))} of {len(codes)})")
        table.add_column("code")
        table.add_column("title")
        for code in codes[:show]:
            table.add_row(code, terminology.description(code))
        console.print(table)


@app.command()
def export(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output file: .csv or .json (by suffix).")
    ],
    system: System = None,
    release: Release = None,
    hierarchy: Hierarchy = None,
    icd11_tabulation: Tabulation = None,
) -> None:
    """Write the whole hierarchy as a plain file, one row per node with its parent.

    Columns: code, parent, title, kind, leaf, synonyms. The same format loads back as a custom
    system (--hierarchy FILE, or icdbridge.codes.load_hierarchy), which is how a national
    modification of ICD-10 can be used.

    Examples:

        icdbridge codes export --system icd10who -o who2019.csv

        icdbridge codes export --system icd10cm --release 2024 -o icd10cm-2024.json
    """
    from icdbridge.codes.hierarchy_file import check_export_path, export_hierarchy

    check_export_path(output, [hierarchy, icd11_tabulation])  # before the slow loading
    terminology = _open(system, release, hierarchy, icd11_tabulation)
    path = export_hierarchy(terminology, output)
    typer.echo(
        f"wrote {len(terminology)} nodes of {terminology.name} {terminology.release} to {path}"
    )
