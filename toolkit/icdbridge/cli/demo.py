"""`icdbridge demo`: a tour of the terminologies, then zero-shot coding of a few short notes."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer

TOUR = (("icd10cm", "E11.9"), ("icd10who", "I10"), ("icd9cm", "250.00"), ("icd11", "5A11"))


def demo_notes_path() -> Path:
    """The short clinical notes shipped for the demo (written for it, no patient data)."""
    return Path(str(files("icdbridge") / "resources" / "demo_notes.jsonl"))


def _tour(console) -> None:
    from rich.table import Table

    from icdbridge.codes import get_terminology
    from icdbridge.errors import IcdbridgeError

    for system, code in TOUR:
        try:
            terminology = get_terminology(system)
            node = terminology.node(code)
        except IcdbridgeError as error:
            console.print(f"[yellow]{system}: skipped ({error})[/yellow]")
            continue
        table = Table(title=f"{terminology.name} {terminology.release}: {node.code} {node.title}")
        table.add_column("ancestor")
        table.add_column("kind")
        table.add_column("title")
        for ancestor in terminology.ancestors(code):
            table.add_row(ancestor, terminology.kind(ancestor), terminology.description(ancestor))
        console.print(table)


def _icd11(code: str) -> str:
    """ICD-11 targets of an ICD-10-CM code, or why not (the WHO files may be absent)."""
    try:
        from icdbridge.crosswalk import map_code
        from icdbridge.errors import IcdbridgeError
    except ImportError:  # crosswalk layer not installed
        return "–"
    try:
        mapping = map_code(code, "icd10cm", "icd11")
    except IcdbridgeError as error:
        return f"(unavailable: {str(error)[:40]})"
    # an uncoded ICD-11 grouping has a title but no code; a no-map has neither
    labels = [t.code or f"(grouping: {t.title})" for t in mapping.targets if t.code or t.title]
    targets = ", ".join(dict.fromkeys(labels)) or "no target"
    return f"{targets} [{mapping.status}]"


def _predictor(model: Path | None, full: bool, docs: list, console):
    from icdbridge.codes import get_terminology
    from icdbridge.model.config import PipelineConfig
    from icdbridge.model.io import from_pretrained
    from icdbridge.model.labels.space import build_label_space
    from icdbridge.model.lexical.channel import build_lexical, lexical_candidates
    from icdbridge.model.predict import zero_shot_predictor
    from icdbridge.model.text.encoder import TextEncoder

    if model is not None:
        console.print(f"loading the trained model {model} (whole ICD-10-CM release)")
        return from_pretrained(model, progress=True)
    terminology = get_terminology("icd10cm")
    encoder = TextEncoder()
    leaves = terminology.codes(leaves_only=True)
    console.print(f"building the lexical channel over all {len(leaves):,} ICD-10-CM codes ...")
    # the untrained pipeline reads titles and inclusion terms only, the same on every machine
    # (no Index material needed); a trained model (--model) carries its own Index phrases
    lexical = build_lexical(terminology, leaves, index_phrases=[])
    config = PipelineConfig(use_memory=False, index_phrases=[])
    if full:
        console.print(f"embedding all {len(leaves):,} label texts (built once, then cached) ...")
        codes = None
    else:
        codes = lexical_candidates(lexical, docs, terminology)
        console.print(
            f"cheap default: the label space is the {len(codes)} codes the lexical channel "
            "found in the notes plus their siblings (use --full to rank all codes)"
        )
    space = build_label_space(encoder, terminology, config, codes, progress=True)
    return zero_shot_predictor(space, encoder, lexical, config)


def demo(
    top: Annotated[int, typer.Option(help="Codes shown per note.")] = 5,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Rank all ICD-10-CM codes (embeds 74,719 label texts once: minutes on a CPU).",
        ),
    ] = False,
    model: Annotated[
        Path | None, typer.Option("--model", help="A model directory from `icdbridge train`.")
    ] = None,
    notes: Annotated[
        Path | None, typer.Option("--notes", help="Other notes (JSONL) instead of the demo's.")
    ] = None,
    tour: Annotated[bool, typer.Option("--tour/--no-tour", help="Terminology tour first.")] = True,
) -> None:
    """Tour the terminologies, then code short clinical notes (zero-shot).

    Without --model the untrained default pipeline is used: frozen MiniLM
    label-wise attention plus the lexical channel; candidates are the codes
    the lexical channel finds among all ICD-10-CM codes, plus their siblings
    (--full: every code, through faiss). Each top code is shown with its
    evidence (the matched text: in the note, or in its original-language
    text when the note carries one, as demo-6 does) and its ICD-11 targets
    when the WHO mapping files are present.
    """
    from rich.console import Console
    from rich.table import Table

    from icdbridge.data import read_unlabelled
    from icdbridge.model.lexical.gloss import unread_originals

    console = Console()
    if tour:
        _tour(console)
    docs = read_unlabelled(notes or demo_notes_path())  # notes to code need no codes
    predictor = _predictor(model, full, docs, console)
    terminology = predictor.space.terminology
    predictions = predictor.predict(docs, top_k=top, explain=True)
    reads = predictor.config.reads_originals
    for doc, prediction in zip(docs, predictions, strict=True):
        console.print(f"\n[bold]{doc.id}[/bold]: {doc.text}")
        if doc.original_text:
            console.print(f"  original ({doc.original_language}): {doc.original_text}")
            if unread_originals([doc], reads):
                why = "not a language read" if reads else "this model reads no original"
                console.print(
                    f"  [yellow]the original was not read ({why}): scored from the "
                    "text alone[/yellow]"
                )
        table = Table(show_lines=False)
        for column in ("code", "score", "description", "evidence", "ICD-11"):
            table.add_column(column)
        for code, score in prediction.scores.items():
            spans = prediction.evidence.get(code, [])
            lexical = [s for s in spans if s["source"] == "lexical"]
            shown = lexical[0] if lexical else (spans[0] if spans else None)
            evidence = ""
            if shown is not None:
                snippet = shown["text"] if len(shown["text"]) <= 40 else shown["text"][:37] + "..."
                where = shown["source"] + (", original" if shown.get("field") else "")
                evidence = f"{shown['start']}-{shown['end']} {snippet!r} ({where})"
            mark = "[green]✓[/green] " if code in doc.codes else ""
            description = terminology.description(code) if terminology.get(code) else ""
            table.add_row(mark + code, f"{score:.3f}", description, evidence, _icd11(code))
        console.print(table)
        if doc.codes:
            console.print(f"reference codes written with the note: {', '.join(doc.codes)}")
    raise typer.Exit(0)
