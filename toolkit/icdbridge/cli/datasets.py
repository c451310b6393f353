"""`icdbridge datasets`: Prepare and download datasets in icdbridge's JSONL format."""

import typer

app = typer.Typer(help="Prepare and download datasets in icdbridge's JSONL format.", no_args_is_help=True)
