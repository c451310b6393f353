"""`icdbridge datasets`: prepare and download datasets in icdbridge's JSONL format."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="Prepare and download datasets in icdbridge's JSONL format "
    '({"id", "text", "codes", "system"} per line).',
    no_args_is_help=True,
)


@app.command("prepare")
def prepare(
    dataset: str = typer.Argument(..., help="Dataset layout to read: codiesp."),
    source: Path = typer.Option(
        ..., "--from", help="Folder of the dataset (CodiEsp: the folder with train/ and dev/)."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="JSONL file to write."),
    split: str = typer.Option("train", "--split", help="Split: train, dev or test."),
    language: str = typer.Option(
        "en",
        "--language",
        help="en (English MT; each row also carries its Spanish original as original_text) or "
        "es (Spanish).",
    ),
    release: str = typer.Option(
        None, "--release", help="ICD-10-CM release to check codes against."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Refuse codes the release does not define (default: keep, report)."
    ),
) -> None:
    """Convert a dataset in its published layout to icdbridge JSONL, reporting undefined codes.

    Example:

        icdbridge datasets prepare codiesp --from ../shared/data/codiesp --split dev -o dev.jsonl
    """
    from icdbridge.data import load_codiesp_report, write_jsonl
    from icdbridge.errors import InputFormatError

    if dataset != "codiesp":
        raise InputFormatError(None, "unknown dataset layout (known: codiesp)", value=dataset)
    from icdbridge.cli.progress import spinner

    with spinner(f"reading CodiEsp {split} from {source} ..."):
        docs, report = load_codiesp_report(
            source, split, language, release=release, on_undefined="error" if strict else "keep"
        )
    count = write_jsonl(docs, output)
    originals = sum(1 for d in docs if d.original_text is not None)
    typer.echo(
        f"wrote {count} documents to {output}"
        + (f" ({originals} with their Spanish original_text)" if originals else "")
    )
    typer.echo(f"codes: {report.summary()}")


@app.command("download")
def download(
    dataset: str = typer.Argument(..., help="Dataset to download: codiesp."),
    output: Path = typer.Option(
        Path("data"), "-o", "--output", help="Folder to download and unpack into."
    ),
) -> None:
    """Download a dataset from its publisher (Zenodo for CodiEsp) and verify its checksums.

    Needs a network; offline it stops with a one-line error saying where to get the files.
    """
    from icdbridge.data.download import download_dataset

    root = download_dataset(dataset, output)
    typer.echo(f"downloaded {dataset} into {root}")
    typer.echo(
        f"next: icdbridge datasets prepare {dataset} --from {root} --split train -o train.jsonl"
    )
