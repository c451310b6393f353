"""`icdbridge codes`: Look up, search, diff and export codes of a terminology."""

import typer

app = typer.Typer(help="Look up, search, diff and export codes of a terminology.", no_args_is_help=True)
