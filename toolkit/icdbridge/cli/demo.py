"""`icdbridge demo`: a short tour that needs no user data."""

from __future__ import annotations

import typer

TOUR = (("icd10cm", "E11.9"), ("icd10who", "I10"), ("icd9cm", "250.00"), ("icd11", "5A11"))


def demo() -> None:
    """Tour the terminologies: look up one code in each system and print its ancestors."""
    from rich.console import Console
    from rich.table import Table

    from icdbridge.codes import get_terminology
    from icdbridge.errors import IcdbridgeError

    console = Console()
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
    raise typer.Exit(0)
