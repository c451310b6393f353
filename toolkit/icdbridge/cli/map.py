"""`icdbridge map`: map one code, or migrate a whole dataset, between code systems."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from icdbridge.cli.engine import check_engine_options, engine_option, master_option
from icdbridge.errors import IcdbridgeError
from icdbridge.spark.session import DEFAULT_ENGINE

if TYPE_CHECKING:
    from icdbridge.crosswalk.model import Mapping


def map_command(
    input_path: Annotated[
        Path | None, typer.Argument(help="Dataset to migrate (.csv, .tsv, .jsonl, .parquet).")
    ] = None,
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="Source system: icd9cm (alias icd9), icd10cm, icd10who, icd11 (any case and "
            "punctuation: ICD-10-CM) or a custom name; icd10 is ambiguous and refused.",
        ),
    ] = "icd9cm",
    target: Annotated[str, typer.Option("--to", help="Target system.")] = "icd10cm",
    code: Annotated[
        str | None, typer.Option("--code", help="Map this one code and print every target.")
    ] = None,
    column: Annotated[
        str | None,
        typer.Option("--column", help="Code column (default: the only column, or 'code')."),
    ] = None,
    policy: Annotated[
        str,
        typer.Option(
            "--policy",
            help="all (default, lossless), best (one target: unspecified source → unspecified "
            "target, then title similarity, then exactness; combinations kept whole; the "
            "runner-up is shown), exact (only exact targets) or text (every target kept, each "
            "row's ordered by the model's score for its note, with the scores and the pick in "
            "added map_text_* columns; needs --text-column and --model).",
        ),
    ] = "all",
    who_tables: Annotated[
        Path | None,
        typer.Option(
            "--who-tables", help="WHO ICD-10/ICD-11 mapping tables (zip, folder or .txt)."
        ),
    ] = None,
    who_release: Annotated[
        list[str] | None,
        typer.Option(
            "--who-release",
            help="WHO table release from the data folder (2024-01, 2020-01; repeatable).",
        ),
    ] = None,
    gem: Annotated[
        Path | None,
        typer.Option(
            "--gem",
            help="An original CMS GEM file for the ICD-9-CM/ICD-10-CM hop in the direction mapped.",
        ),
    ] = None,
    custom_table: Annotated[
        Path | None,
        typer.Option(
            "--custom-table",
            help="CSV source,target[,relation] linking a custom system to an ICD system.",
        ),
    ] = None,
    custom_name: Annotated[
        str | None,
        typer.Option("--custom-name", help="Name of the custom system (use it in --from/--to)."),
    ] = None,
    custom_target: Annotated[
        str | None, typer.Option("--custom-target", help="ICD system the custom table maps to.")
    ] = None,
    explode: Annotated[
        bool, typer.Option("--explode", help="One output row per target instead of a list column.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Output file; its extension (.csv, .tsv, .jsonl, .parquet) chooses the format, "
            "so the input is also converted. Never one of the inputs.",
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Report stem: writes STEM.md, STEM.json, STEM.png "
            "(default: OUTPUT.report.md ... named after the full output file name).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --code: print the full mapping as JSON.")
    ] = False,
    titles: Annotated[
        bool,
        typer.Option("--titles/--no-titles", help="With --code: show the target titles."),
    ] = True,
    categories: Annotated[
        str,
        typer.Option(
            "--categories",
            help="A category or non-billable input code (ICD-9-CM 250, ICD-10-CM E11): expand "
            "(default, lossless: the union of its descendants' targets, status "
            "category-expanded) or none (no-map). A table target that the ICD-10-CM / "
            "ICD-9-CM release does not bill is always kept and followed by its billable leaf "
            "codes (status category-expanded).",
        ),
    ] = "expand",
    text_column: Annotated[
        str | None,
        typer.Option(
            "--text-column", help="With --policy text: the column holding each row's note."
        ),
    ] = None,
    model_dir: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="With --policy text: a model directory from `icdbridge train` (it scores the "
            "target system's candidates for each note).",
        ),
    ] = None,
    engine: Annotated[
        str, engine_option("one streaming process", "a Parquet file, folder of parts or glob")
    ] = DEFAULT_ENGINE,
    master: Annotated[str | None, master_option()] = None,
) -> None:
    """Map codes between ICD-9-CM, ICD-10-CM, WHO ICD-10 and ICD-11, keeping every target.

    --code CODE prints every target of one code with its provenance per hop.

    INPUT -o OUTPUT migrates a dataset: every row kept, with map_status, targets and paths.

    A report (OUTPUT.report.md, .json, .png) counts rows and codes reaching the target exactly, approximately, only as a residual, or not at all, and lists input issues (numeric codes, missing values, records spanning lines).

    The output and the report are written to temporary files and renamed into place only when the whole run succeeded; an error, Ctrl-C or SIGTERM leaves the previous ones as they were.

    Examples:

    icdbridge map --code 073.0 --from icd9cm --to icd11

    icdbridge map registry.parquet --from icd9cm --to icd10cm --column dx -o out.parquet

    icdbridge map notes.jsonl --from icd9cm --to icd10cm --column dx --text-column note --model model/ --policy text -o out.jsonl
    """  # noqa: E501
    from icdbridge.crosswalk import get_crosswalk
    from icdbridge.crosswalk.migrate import check_migration, migrate, report_paths

    tables = (who_tables, gem, custom_table)
    check_engine_options(engine, master)
    text = _text_options(policy, text_column, model_dir, code, engine)
    if engine == "single" and code is None and input_path is not None and output is not None:
        # refuse unwritable outputs (and, with --policy text, a bad model or text column) before
        # loading any table
        check_migration(input_path, output, report=report, inputs=tables)
        if text is not None:
            from icdbridge.crosswalk.text_policy import check_text_migration

            check_text_migration(
                input_path, output, text[1], text[0], column=column, report=report, inputs=tables
            )
    options: dict[str, object] = {"categories": categories}
    if who_tables is not None:
        options["who_tables"] = str(who_tables)
    if who_release:
        options["who_releases"] = tuple(who_release)
    if custom_table is not None:
        if not custom_name or not custom_target:
            raise IcdbridgeError("--custom-table needs --custom-name and --custom-target")
        options["custom"] = (str(custom_table), custom_name, custom_target)
    if gem is not None:
        options[_gem_option(source, target, options)] = str(gem)
    crosswalk = get_crosswalk(source, target, **options)
    if code is not None:
        _print_code(crosswalk.map(code, policy=policy), as_json, titles)
        return
    if input_path is None:
        raise IcdbridgeError("give an INPUT file to migrate, or --code CODE")
    if output is None:
        raise IcdbridgeError("give the output file with -o/--output")
    from icdbridge.cli.progress import row_counter

    if engine == "spark":
        from icdbridge.spark import migrate_parquet
        from icdbridge.spark.session import location

        if report is None and "://" in location(output):
            raise IcdbridgeError(f"{output}: give --report STEM, a local path for the report files")

        result = migrate_parquet(
            location(input_path), location(output), source, target, column=column,
            policy=policy, explode=explode, master=master, **options,
        )  # fmt: skip
        result.save(report if report is not None else Path(f"{output}.report"))
    elif text is not None:
        from icdbridge.crosswalk.text_policy import migrate_with_text

        with row_counter(f"mapping {input_path.name} {source} → {target} by text") as advance:
            result, orders = migrate_with_text(
                input_path, output, crosswalk, text[1], text_column=text[0], column=column,
                explode=explode, on_rows=advance, report=report, inputs=tables,
            )  # fmt: skip
    else:
        with row_counter(f"mapping {input_path.name} {source} → {target}") as advance:
            result = migrate(
                input_path,
                output,
                crosswalk,
                column=column,
                policy=policy,
                explode=explode,
                on_rows=advance,
                report=report,
                inputs=tables,
            )
    typer.echo(
        f"{result.rows} rows ({result.codes} distinct codes) → {output} "
        f"({result.rows_written} rows)"
    )
    for name, counts in sorted(result.statuses.items()):
        typer.echo(f"  {name}: {counts['rows']} rows, {counts['codes']} codes")
    for issue in result.issues:
        typer.echo(f"warning: {input_path}: {_issue_line(issue)}", err=True)
    if text is not None:
        for order, rows in sorted(orders.items()):
            typer.echo(f"  map_text_order {order}: {rows} rows")
    typer.echo("report: " + ", ".join(str(p) for p in report_paths(output, report)))


def _text_options(
    policy: str, text_column: str | None, model_dir: Path | None, code: str | None, engine: str
) -> tuple[str, Path] | None:
    """``(text column, model directory)`` for ``--policy text`` (refusing what it cannot do),
    or ``None``; ``--text-column``/``--model`` without it are refused too."""
    if policy != "text":
        if text_column is not None or model_dir is not None:
            raise IcdbridgeError("--text-column and --model go with --policy text")
        return None
    if code is not None:
        raise IcdbridgeError("--policy text ranks a dataset's rows by their notes; not with --code")
    if engine != "single":
        raise IcdbridgeError("--policy text runs with --engine single only")
    if text_column is None or model_dir is None:
        raise IcdbridgeError("--policy text needs --text-column COLUMN and --model MODEL_DIR")
    return text_column, model_dir


def _issue_line(issue: dict[str, object]) -> str:
    from icdbridge.tables import Issue

    return Issue(**issue).describe()  # type: ignore[arg-type]


def _print_code(mapping: Mapping, as_json: bool, titles: bool = True) -> None:
    import json

    from icdbridge.crosswalk.columns import hop_text, path_text
    from icdbridge.crosswalk.hops import title_of

    if as_json:
        typer.echo(json.dumps(mapping.to_dict(), indent=2))
        return
    expanded = f" through {mapping.expanded_from} descendants" if mapping.expanded_from else ""
    typer.echo(
        f"{mapping.source_code} ({mapping.source_system}) → {mapping.target_system}: "
        f"status {mapping.status}{expanded}, exactness {mapping.outcome}"
    )
    for target in mapping.targets:
        group = f" [combination {target.group[0]}.{target.group[1]}]" if target.group else ""
        name = (target.title or title_of(target.system, target.code)) if titles else ""
        head = f"{target.code or '-'}{group}" + (f"  {name}" if name and target.code else "")
        path = path_text(target) if titles else " > ".join(h.describe() for h in target.hops)
        typer.echo(f"  {head}\n      {path}")
    if mapping.runner_up is not None:
        typer.echo(f"  runner-up: {hop_text(mapping.runner_up)}")
    from icdbridge.crosswalk.report import WHO_UNKNOWN_NOTE

    silent = sorted(
        {
            hop.release
            for target in mapping.targets
            for hop in target.hops
            if hop.source.startswith("who-icd10-icd11") and hop.exactness.label == "unknown"
        }
    )
    if silent:
        note = WHO_UNKNOWN_NOTE.format(releases=", ".join(silent))
        typer.echo(f"note: {note} (--who-release 2020-01)")


def _gem_option(source: str, target: str, options: dict[str, object]) -> str:
    """Which GEM direction ``--gem`` replaces: the ICD-9-CM/ICD-10-CM hop of the route taken."""
    from icdbridge.crosswalk.chain import Options, route

    hops = route(source, target, Options(**options))  # type: ignore[arg-type]
    if ("icd9cm", "icd10cm") in hops:
        return "gem_9_to_10"
    if ("icd10cm", "icd9cm") in hops:
        return "gem_10_to_9"
    raise IcdbridgeError(
        f"--gem: the route {source} → {target} has no ICD-9-CM/ICD-10-CM hop to read it for"
    )
