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
    mentions = sum(len(d.evidence) for d in docs)
    notes = [f"{originals} with their Spanish original_text"] if originals else []
    if mentions:
        notes.append(f"{mentions} diagnosis mentions as evidence")
    typer.echo(f"wrote {count} documents to {output}" + (f" ({'; '.join(notes)})" if notes else ""))
    typer.echo(f"codes: {report.summary()}")


@app.command("download")
def download(
    dataset: str = typer.Argument(
        ..., help="Dataset to download: codiesp, or icd10cm-index (the ICD-10-CM Index material)."
    ),
    output: Path = typer.Option(
        None,
        "-o",
        "--output",
        help="Folder to download and unpack into (default: data for codiesp; for icd10cm-index "
        "$ICDBRIDGE_DATA/icd10cm-index-RELEASE, where training looks for it).",
    ),
    release: str = typer.Option(
        None,
        "--release",
        help="icd10cm-index: fiscal year of the Index material (default: 2025).",
    ),
    source: Path = typer.Option(
        None,
        "--from",
        help='icd10cm-index: a "Table and Index" zip or its unpacked folder you already have '
        "(no network needed; the same checks).",
    ),
) -> None:
    """Download a dataset from its publisher and verify its checksums.

    codiesp: the CodiEsp corpus from Zenodo. icd10cm-index: the official
    "Code Tables, Tabular and Index" zip of an ICD-10-CM fiscal year from
    CMS, of which only the Index documents (Index to Diseases and Injuries,
    External Cause Index, Table of Drugs and Chemicals, Neoplasm Table) and
    their schemas are kept, checked against pinned SHA-256 digests; after it,
    `icdbridge train` finds them with no flag (its Index phrases, docs/model.md).

    Needs a network (or, for icd10cm-index, --from); offline it stops with a
    one-line error saying where to get the files.

    Example:

        icdbridge datasets download icd10cm-index --from 2025-code-tables-tabular-and-index.zip
    """
    from icdbridge.data.download import (
        INDEX_DATASET,
        DownloadError,
        IndexDownloadError,
        download_dataset,
        download_icd10cm_index,
    )

    if dataset == INDEX_DATASET:
        try:
            landed = download_icd10cm_index(output, release=release, source=source)
        except IndexDownloadError as error:  # the same line, naming this command's option
            raise DownloadError(
                f'{error.reason}; get the "Code Tables, Tabular and Index" zip of ICD-10-CM '
                f"FY{error.release} by hand ({error.url}, or the CDC NCHS ICD-10-CM files page "
                "https://www.cdc.gov/nchs/icd/icd-10-cm/files.html) and run `icdbridge datasets "
                f"download {INDEX_DATASET} --release {error.release} --from ZIP`"
            ) from None
        pinned = f", {len(landed.pinned)} checked against pinned SHA-256" if landed.pinned else ""
        typer.echo(
            f"wrote {len(landed.files)} files of the ICD-10-CM Index material into "
            f"{landed.folder} (from {landed.origin}{pinned}; digests in SHA256SUMS)"
        )
        documents = ", ".join(landed.documents) or "none"
        typer.echo(f"Index documents: {documents}")
        if "index" not in landed.documents:
            typer.echo(
                "no Index to Diseases and Injuries (icd10cm_index_YYYY.xml) among them: the "
                "'index' phrases need it"
            )
        return
    if release is not None or source is not None:
        raise typer.BadParameter(f"--release and --from are for {INDEX_DATASET}, not {dataset}")
    root = download_dataset(dataset, output if output is not None else Path("data"))
    typer.echo(f"downloaded {dataset} into {root}")
    typer.echo(
        f"next: icdbridge datasets prepare {dataset} --from {root} --split train -o train.jsonl"
    )
