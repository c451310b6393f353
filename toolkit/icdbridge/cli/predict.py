"""`icdbridge predict`: rank codes of a whole terminology release for each document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icdbridge.cli.engine import check_engine_options, engine_option, master_option
from icdbridge.model.config import DEFAULT_OPERATING_POINT, DEFAULT_TOP_K
from icdbridge.model.operating_points import OPERATING_POINTS
from icdbridge.spark.session import DEFAULT_ENGINE

MODEL_FILES = ("config.json", "model.safetensors", "memory.json", "memory.safetensors")
"""Files of a model directory that ``-o`` may never overwrite."""


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

    Each output row is {"id", "codes" (above the validated threshold), "scores"
    (top-k code → calibrated probability, best first), "descriptions"} plus,
    with --explain, "evidence": per code, the lexical matches and the most
    attended windows as {"start", "end", "text", "source", "weight"}
    (character offsets into the input text; a match in the document's
    original_text, when it carries one, adds "field": "original_text" and
    its offsets index that text).

    In another release of the system trained with (--release 2026 for a
    model trained with 2024), only new or changed label texts are encoded,
    each row adds "release_changes": code → "added" or "changed" (label
    text changed) for its codes that differ from the training release, and
    a summary line counts them.
    """
    from rich.console import Console

    from icdbridge.data import read_unlabelled
    from icdbridge.errors import InputFormatError
    from icdbridge.model.io import check_model_dir, from_pretrained
    from icdbridge.model.lexical.gloss import describe_unread, unread_originals
    from icdbridge.model.operating_points import (
        OperatingPointError,
        check_operating_point,
        describe_point,
        points_from_config,
    )
    from icdbridge.model.predict import write_predictions
    from icdbridge.outputs import check_output

    console = Console(stderr=True)
    if top_k < 1:
        raise typer.BadParameter(f"--top-k must be at least 1 (got {top_k})")
    # every cheap check before the slow loading: the model directory, the whole input, the output
    check_engine_options(engine, master)
    saved = check_model_dir(model_dir)
    try:
        points = points_from_config(saved)
    except (KeyError, TypeError, ValueError) as error:
        raise InputFormatError(
            model_dir / "config.json", f"unusable operating points ({error}); the model is damaged"
        ) from None
    try:
        check_operating_point(operating_point, points)
    except OperatingPointError as error:
        raise OperatingPointError(f"{model_dir}: {error}") from None
    if engine == "spark":
        from icdbridge.spark import predict_parquet
        from icdbridge.spark.session import location

        written = predict_parquet(
            model_dir, location(input), location(output), system=system, release=release,
            top_k=top_k, explain=explain, master=master, operating_point=operating_point,
        )  # fmt: skip
        console.print(f"[green]wrote {output}[/green]: {written} documents ranked (Spark)")
        return
    docs = read_unlabelled(input)
    check_output(output, [input, *(model_dir / name for name in MODEL_FILES)])
    predictor = from_pretrained(model_dir, system=system, release=release, progress=True)
    terminology = predictor.space.terminology
    predictions = predictor.predict(
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
    console.print(
        "operating point "
        + describe_point(operating_point, predictor.calibrator_for(operating_point))
    )
    if predictor.release_changes is not None:
        console.print(predictor.release_changes.summary(predictions))
