"""`icdbridge predict`: rank codes of a whole terminology release for each document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icdbridge.cli.engine import check_engine_options, engine_option, master_option
from icdbridge.model.config import DEFAULT_OPERATING_POINT, DEFAULT_TOP_K
from icdbridge.model.io import MODEL_FILES as MODEL_FILES
from icdbridge.model.operating_points import OPERATING_POINTS
from icdbridge.model.routes import AUTO, DEFAULT_ROUTE, ROUTES
from icdbridge.spark.session import DEFAULT_ENGINE

# MODEL_FILES: the files of a model directory that ``-o`` may never overwrite


def predict_command(
    model_dir: Annotated[Path, typer.Argument(help="Model directory from `icdbridge train`.")],
    input: Annotated[
        Path,
        typer.Argument(
            help="Documents to code (JSONL: id, text; optionally original_text and "
            "original_language; codes and system, when present, are kept but not needed)."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Predictions (JSONL).")],
    system: Annotated[
        str | None,
        typer.Option("--system", "-s", help="Code system (default: the one trained on)."),
    ] = None,
    release: Annotated[
        str | None, typer.Option("--release", "-r", help="Release to predict in.")
    ] = None,
    hierarchy: Annotated[
        Path | None,
        typer.Option(
            "--hierarchy",
            help="Custom hierarchy file (CSV or JSON, see docs/terminologies.md) to predict in, "
            "instead of --system.",
        ),
    ] = None,
    route: Annotated[
        str,
        typer.Option(
            "--route",
            help="How a system other than the trained one is scored: direct (from code "
            "descriptions and hierarchy), crosswalk (the trained system's scores propagated "
            "along crosswalk edges), blend (both mixed) or auto (blend when a crosswalk links "
            "the two systems, else direct). See docs/transfer.md.",
        ),
    ] = DEFAULT_ROUTE,
    top_k: Annotated[int, typer.Option("--top-k", help="Codes kept per document.")] = DEFAULT_TOP_K,
    explain: Annotated[
        bool, typer.Option("--explain", help="Add evidence spans (character offsets).")
    ] = False,
    engine: Annotated[
        str, engine_option("one process, JSONL in and out", "Parquet notes with id and text")
    ] = DEFAULT_ENGINE,
    master: Annotated[str | None, master_option()] = None,
    operating_point: Annotated[
        str,
        typer.Option(
            "--operating-point",
            help="Calibration of unseen codes and threshold, fitted on the validation notes "
            "at training: "
            + "; ".join(f"{name}: {text}" for name, text in OPERATING_POINTS.items())
            + ". `icdbridge train` prints each point's validation numbers, `predict` the chosen "
            "one's; docs/model.md (Operating points) compares them on CodiEsp.",
        ),
    ] = DEFAULT_OPERATING_POINT,
) -> None:
    """Rank the codes of the WHOLE chosen release (not just training labels).

    Any system or release works (icd9cm, icd10cm of any release, icd10who,
    icd11, or --hierarchy FILE): codes outside the training label space are
    scored from their descriptions and hierarchy. Each output row is {"id",
    "codes" (above the validated threshold), "scores" (top-k code →
    calibrated probability, best first), "descriptions", "route" (the route
    that scored it), "outside_training" (its codes outside the training label
    space, best first)} plus, with --explain, "evidence": per code, the
    lexical matches and the most attended windows as {"start", "end", "text",
    "source", "weight"} (character offsets into the input text; a match in the
    document's original_text, when it carries one, adds "field":
    "original_text" and its offsets index that text) and, on the crosswalk
    and blend routes, "crosswalk": per code, its source codes with their
    scores and edge weights. A last line says how many codes lie outside the
    training label space and which route scored them.

    In another release of the system trained with (--release 2026 for a
    model trained with 2024), only new or changed label texts are encoded,
    each row adds "release_changes": code → "added" or "changed" (label
    text changed) for its codes that differ from the training release, and
    a summary line counts them.
    """
    from rich.console import Console

    from icdbridge.data import read_unlabelled
    from icdbridge.model.io import check_model_dir
    from icdbridge.model.lexical.gloss import describe_unread, unread_originals
    from icdbridge.model.operating_points import describe_point
    from icdbridge.model.predict import write_predictions
    from icdbridge.model.routed import check_model_point, load_routed
    from icdbridge.outputs import check_output

    console = Console(stderr=True)
    if top_k < 1:
        raise typer.BadParameter(f"--top-k must be at least 1 (got {top_k})")
    # every cheap check before the slow loading: the model directory, the whole input, the output
    check_engine_options(engine, master)
    check_model_point(model_dir, check_model_dir(model_dir), operating_point)
    if route not in (AUTO, *ROUTES):
        raise typer.BadParameter(
            f"--route must be one of {', '.join((AUTO, *ROUTES))} (got {route})"
        )
    if engine == "spark":
        from icdbridge.model.routed import plan_route
        from icdbridge.spark import predict_parquet
        from icdbridge.spark.session import location

        # the route as the single engine resolves it, before Spark starts
        plan = plan_route(
            model_dir, system, release, hierarchy, route, operating_point=operating_point
        )
        written = predict_parquet(
            model_dir, location(input), location(output), system=system, release=release,
            top_k=top_k, explain=explain, master=master, operating_point=operating_point,
            hierarchy=hierarchy, route=plan.route,
        )  # fmt: skip
        console.print(
            f"[green]wrote {output}[/green]: {written} documents ranked (Spark) in "
            f"{plan.system}, route {plan.route}"
        )
        return
    docs = read_unlabelled(input)
    check_output(output, [input, hierarchy, *(model_dir / name for name in MODEL_FILES)])
    routed = load_routed(
        model_dir,
        system,
        release,
        hierarchy,
        route,
        operating_point=operating_point,
        progress=True,
    )
    predictor = routed.direct
    terminology = predictor.space.terminology
    predictions = routed.predict(
        docs, top_k=top_k, explain=explain, progress=True, operating_point=operating_point
    )
    write_predictions(predictions, output, terminology)
    reads = predictor.config.reads_originals
    unread = describe_unread(unread_originals(docs, reads), reads)
    if unread:
        console.print(f"[yellow]{input}: {unread}[/yellow]")
    console.print(
        f"[green]wrote {output}[/green]: {len(predictions)} documents ranked over "
        f"{len(predictor.space)} {terminology.name} {terminology.release} codes"
    )
    console.print(routed.describe())
    console.print(
        "operating point "
        + describe_point(operating_point, predictor.calibrator_for(operating_point))
    )
    if predictor.release_changes is not None:
        console.print(predictor.release_changes.summary(predictions))
