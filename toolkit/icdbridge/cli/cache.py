"""`icdbridge cache`: list and clear the label-embedding cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from icdbridge.model.labels.cache import CachedLabelSet

app = typer.Typer(
    help="List and clear the label-embedding cache ($ICDBRIDGE_CACHE/label_embeddings, default "
    "~/.cache/icdbridge/label_embeddings). Each release, label-text setting, encoder and precision "
    "has its own set (about 150 MB for ICD-10-CM); a set that is removed is encoded again when it "
    "is next needed.",
    no_args_is_help=True,
)


def describe_options(options: dict) -> str:
    """Short description of label-text options (what each label's text is built from).

    Example:
        >>> describe_options({"synonyms": True, "max_synonyms": 3, "ancestors": False})
        'description + 3 synonyms'
    """
    if not options:
        return "?"
    parts = ["description"]
    if options.get("synonyms"):
        parts.append(f"{options.get('max_synonyms', '?')} synonyms")
    if options.get("ancestors"):
        n = options.get("max_ancestors", "?")
        parts.append(f"{n} ancestor{'' if n == 1 else 's'}")
    return " + ".join(parts)


def _line(entry: CachedLabelSet) -> str:
    what = (
        f"{entry.system} {entry.release}, {entry.n_codes} codes, {entry.precision}, "
        f"{describe_options(entry.options)}, encoder {entry.encoder_path}"
        if entry.complete
        else "incomplete (never used; safe to remove)"
    )
    return (
        f"{entry.last_used:%Y-%m-%d %H:%M}  {entry.size_bytes / 1e6:8.1f} MB  {entry.name}  {what}"
    )


@app.command("list")
def list_command() -> None:
    """List the cached label-embedding sets, most recently used first, with their sizes."""
    from icdbridge.model.labels.cache import cached_label_sets, label_cache_folder

    folder = label_cache_folder()
    sets = cached_label_sets(folder)
    if not sets:
        typer.echo(f"no label embeddings cached in {folder}")
        return
    typer.echo("last used         size         set  contents")
    for entry in sets:
        typer.echo(_line(entry))
    total = sum(e.size_bytes for e in sets) / 1e6
    typer.echo(f"{len(sets)} sets, {total:.1f} MB in {folder}")


@app.command("clear")
def clear(
    remove_all: bool = typer.Option(False, "--all", help="Remove every set."),
    system: str = typer.Option(None, "--system", help="Only sets of this code system."),
    release: str = typer.Option(None, "--release", help="Only sets of this release."),
    unused_days: float = typer.Option(
        None, "--unused-days", help="Only sets not used for at least this many days."
    ),
    incomplete: bool = typer.Option(
        False, "--incomplete", help="Only incomplete sets (leftovers of interrupted builds)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be removed; keep it."),
) -> None:
    """Remove cached label-embedding sets: all of them, or those matching every filter given.

    A set being built by another icdbridge process is waited for, then left in place.

    Example:

        icdbridge cache clear --unused-days 30
    """
    from datetime import datetime, timedelta

    from icdbridge.errors import IcdbridgeError
    from icdbridge.model.labels.cache import (
        cached_label_sets,
        label_cache_folder,
        remove_label_sets,
    )

    filtered = system is not None or release is not None or unused_days is not None or incomplete
    if remove_all == filtered:
        raise IcdbridgeError(
            "say what to clear: --all, or filters (--system, --release, --unused-days, "
            "--incomplete), not both"
        )
    if unused_days is not None and unused_days < 0:
        raise IcdbridgeError(f"--unused-days must be 0 or more, got {unused_days}")
    folder = label_cache_folder()
    cutoff = None if unused_days is None else datetime.now() - timedelta(days=unused_days)
    chosen = [
        entry
        for entry in cached_label_sets(folder)
        if (system is None or entry.system == system.lower())
        and (release is None or entry.release == release)
        and (cutoff is None or entry.last_used <= cutoff)
        and (not incomplete or not entry.complete)
    ]
    if not chosen:
        typer.echo(f"nothing to remove in {folder}")
        return
    for entry in chosen:
        typer.echo(("would remove " if dry_run else "removing ") + _line(entry))
    size = sum(e.size_bytes for e in chosen) / 1e6
    if dry_run:
        typer.echo(f"would free {size:.1f} MB ({len(chosen)} sets) in {folder}")
        return
    freed = remove_label_sets(chosen) / 1e6
    typer.echo(f"removed {len(chosen)} sets, {freed:.1f} MB freed in {folder}")
