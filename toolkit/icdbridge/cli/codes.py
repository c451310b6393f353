"""`icdbridge codes`: look up, search, diff and export codes of a terminology.

Every command is a thin layer over :mod:`icdbridge.codes` (see
:mod:`icdbridge.codes.summary`); data is read only when a command runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
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
IndexPathOption = Annotated[
    Path | None,
    typer.Option(
        "--index-path",
        help="The ICD-10-CM Index material: a folder with the CDC NCHS 'Table and Index' files, "
        "or one file such as the official icd10cm_index_2025.xml (default: "
        "$ICDBRIDGE_DATA/icd10cm-index-2025). Implies --index.",
    ),
]


def _open_index(index_path: Path | None):
    from icdbridge.cli.progress import spinner
    from icdbridge.codes.index import load_index

    with spinner("loading the ICD-10-CM Index ..."), _flag_hint("--index-path PATH"):
        return load_index(source=index_path)


def _is_icd11(system: str) -> bool:
    from icdbridge.codes.registry import system_id
    from icdbridge.errors import IcdbridgeError

    try:
        return system_id(system) == "icd11"
    except IcdbridgeError:
        return False


@contextmanager
def _flag_hint(flag: str) -> Iterator[None]:
    """Name the command-line option in a library's "not found" message (which names its own
    argument)."""
    from icdbridge.errors import DataNotFoundError

    try:
        yield
    except DataNotFoundError as error:
        raise DataNotFoundError(f"{error} (command line: {flag})") from None


def _open(system: str | None, release: str | None, hierarchy: Path | None, tabulation: Path | None):
    from icdbridge.cli.progress import spinner
    from icdbridge.codes.summary import open_terminology
    from icdbridge.errors import UnknownSystemError

    if hierarchy is None and system is None:
        raise UnknownSystemError(
            "no code system given: use --system (icd9cm, icd10cm, icd10who, icd11) "
            "or --hierarchy FILE"
        )
    if hierarchy is None and tabulation is not None and system != "icd11":
        raise UnknownSystemError(f"--icd11-tabulation applies to --system icd11, not {system!r}")
    icd11 = hierarchy is None and system is not None and _is_icd11(system)
    hint = _flag_hint("--icd11-tabulation PATH") if icd11 else nullcontext()
    with spinner(f"loading {system or hierarchy} ..."), hint:
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
    index: Annotated[
        bool,
        typer.Option(
            "--index",
            help="Also show the ICD-10-CM Index paths and Drug / Neoplasm Table cells leading "
            "to the code (icd10cm only).",
        ),
    ] = False,
    index_path: IndexPathOption = None,
) -> None:
    """Show a code: normalised form, title, synonyms, parent, ancestors, leaf/billable, release.

    Examples:

        icdbridge codes lookup E11.9 --system icd10cm

        icdbridge codes lookup 25000 --system icd9cm --json

        icdbridge codes lookup 5A11 --system icd11 --icd11-tabulation SimpleTabulation.zip

        icdbridge codes lookup A00.0 --hierarchy my-national-icd10.csv

        icdbridge codes lookup E11.44 --system icd10cm --index

        icdbridge codes lookup T39.1X5A -s icd10cm --index-path icd10cm_index_2025.xml
    """
    from icdbridge.codes.summary import code_summary

    terminology = _open(system, release, hierarchy, icd11_tabulation)
    info = code_summary(terminology, code)
    if index or index_path is not None:
        from icdbridge.codes.index.summary import index_lookup

        info["index"] = index_lookup(_open_index(index_path), terminology, code)
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
    if "index" in info:
        _print_index_paths(console, info["index"])


INDEX_ROWS_SHOWN = 40
"""How many Index paths ``lookup --index`` prints as a table (--json prints all)."""


def _print_index_paths(console: Any, found: dict[str, Any]) -> None:
    from rich.table import Table

    paths = found["paths"]
    counts = ", ".join(f"{n} {source}" for source, n in found["counts"].items()) or "none"
    table = Table(
        title=f"ICD-10-CM Index {found['index_release']} paths to {found['code']} "
        f"(release {found['label_release']}): {counts}",
        title_justify="left",
    )
    for column in ("source", "path", "printed", "via"):
        table.add_column(column)
    for path in paths[:INDEX_ROWS_SHOWN]:
        via = path["column"] or path["relation"]
        text = path["text"] + (f" ({path['instruction']})" if path.get("instruction") else "")
        table.add_row(path["source"], text, path["code"], via + ("" if path["exact"] else " *"))
    console.print(table)
    if len(paths) > INDEX_ROWS_SHOWN:
        console.print(f"... and {len(paths) - INDEX_ROWS_SHOWN} more (--json lists all)")
    if any(not p["exact"] for p in paths):
        console.print("* reached by expanding a dash, category or see reference")


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="Words to look for in titles and synonyms.")],
    system: System = None,
    release: Release = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Number of matches.")] = 10,
    hierarchy: Hierarchy = None,
    icd11_tabulation: Tabulation = None,
    as_json: AsJson = False,
    use_index: Annotated[
        bool | None,
        typer.Option(
            "--index/--no-index",
            help="Also search ICD-10-CM Index terms (default: yes for icd10cm when the Index "
            "material is found, else no).",
        ),
    ] = None,
    index_path: IndexPathOption = None,
) -> None:
    """Find codes whose title, synonyms or ICD-10-CM Index terms hold the words of TEXT.

    The score is the fraction of the query's words found; a misspelt word counts through its
    closest spellings ("esential" finds "essential"), a little below an exact word. Ties prefer
    title matches, codes over chapters and blocks, then shorter titles. The "matched" column
    says whether the title or which Index path matched.

    Examples:

        icdbridge codes search "type 2 diabetes" --system icd10cm

        icdbridge codes search "esential hypertension" --system icd9cm --limit 5 --json

        icdbridge codes search "acetaminophen adverse" --system icd10cm --index
    """
    from icdbridge.codes.index.summary import search_with_index
    from icdbridge.errors import DataNotFoundError

    terminology = _open(system, release, hierarchy, icd11_tabulation)
    index = None
    wanted = use_index or index_path is not None
    if wanted or (use_index is None and terminology.system == "icd10cm"):
        try:
            index = _open_index(index_path)
        except DataNotFoundError as error:
            if wanted:
                raise
            typer.echo(f"note: Index terms not searched ({error})", err=True)
    hits = search_with_index(terminology, text, limit=limit, index=index)
    if as_json:
        _print_json(hits)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{terminology.name} {terminology.release}: {text!r}", title_justify="left")
    for column in ("code", "score", "kind", "leaf", "title", "matched"):
        table.add_column(column)
    for hit in hits:
        table.add_row(
            hit["code"],
            f"{hit['score']:.2f}",
            hit["kind"],
            "yes" if hit["leaf"] else "",
            hit["title"],
            hit["matched"],
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


@app.command()
def drift(
    source: Annotated[
        str, typer.Option("--from", help="System of one side (icd10cm, or a custom id).")
    ] = "icd10cm",
    target: Annotated[
        str, typer.Option("--to", help="System of the other side (icd10who, or icd10cm).")
    ] = "icd10who",
    source_release: Annotated[
        str | None,
        typer.Option(
            "--from-release", "--release", help="Release of --from (default: its default)."
        ),
    ] = None,
    target_release: Annotated[
        str | None,
        typer.Option("--to-release", help="Release of --to (default: its default)."),
    ] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="CSV to write; the markdown summary goes next to it (.md)."
        ),
    ] = Path("drift.csv"),
    encoder: Annotated[
        bool,
        typer.Option(
            "--encoder/--no-encoder",
            help="Also score titles with the label encoder (all-MiniLM-L6-v2; cached); "
            "a pair is then flagged when either channel finds it dissimilar.",
        ),
    ] = False,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help="Flag pairs whose lexical similarity is below this (default 0.5 across "
            "systems, 1.0 across releases: any change of title words).",
        ),
    ] = None,
    flagged_only: Annotated[
        bool, typer.Option("--flagged-only", help="Write only the flagged pairs to the CSV.")
    ] = False,
    hierarchy: Hierarchy = None,
) -> None:
    """Same code string, different meaning: compare the titles of every code both sides define.

    Across systems (ICD-10-CM vs WHO ICD-10, or a national modification loaded with
    --hierarchy vs WHO ICD-10) or across releases of one system (ICD-10-CM 2024 vs 2026: kept
    codes whose title changed). Writes a CSV (every pair: titles, lexical and semantic
    similarity, flagged, the curated verdict with its targets and reason) and a markdown
    summary with the flagged pairs. The verdicts come from the curated tables in mappings/
    (icd10cm-icd10who-overrides.csv, icd10cm-release-drift.csv).

    Examples:

        icdbridge codes drift --from icd10cm --to icd10who -o cm-who-drift.csv

        icdbridge codes drift --from icd10cm --release 2024 --to icd10cm --to-release 2026 -o cm-2024-2026.csv

        icdbridge codes drift --from mynational --hierarchy my-icd10.csv --to icd10who -o mine.csv
    """  # noqa: E501
    from icdbridge.crosswalk.drift import drift_audit
    from icdbridge.outputs import check_output

    if hierarchy is not None:
        from icdbridge.codes.registry import register_hierarchy

        register_hierarchy(source, hierarchy)
    check_output(output, [hierarchy])
    check_output(output.with_suffix(".md"), [hierarchy])
    from icdbridge.cli.progress import spinner

    with spinner(f"comparing {source} and {target} titles ..."):
        audit = drift_audit(
            source,
            target,
            source_release=source_release,
            target_release=target_release,
            encoder=encoder,
            lexical_threshold=threshold,
        )
    paths = audit.save(output, flagged_only=flagged_only)
    counts = audit.counts()
    typer.echo(
        f"{counts['from']} → {counts['to']}: {counts['compared']} pairs compared, "
        f"{counts['flagged']} flagged, {counts['settled']} settled by {counts['curated_table']}, "
        f"{counts['unsettled']} unsettled"
    )
    typer.echo("wrote " + ", ".join(str(p) for p in paths))
