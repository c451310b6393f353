"""Entry point of the ``icdbridge`` command.

Each subcommand lives in its own module of :mod:`icdbridge.cli` and only calls public library
functions. Modules import nothing heavy at import time (torch, data files), so ``--help`` is fast.
User errors (:class:`icdbridge.IcdbridgeError`) are printed as one line and exit with status 2.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Annotated

import typer

from icdbridge.errors import IcdbridgeError
from icdbridge.outputs import Interrupted, handle_signals

HELP = (
    "icdbridge: ICD terminologies, lossless crosswalks, zero-shot coding models and honest "
    "evaluation.\n\n"
    "Look up and compare codes of ICD-9-CM, ICD-10-CM, WHO ICD-10 and ICD-11; migrate whole "
    "datasets between code systems with a loss report; train and run a label-embedding model that "
    "scores codes never seen in training; evaluate coding models with flat, ranking and "
    "hierarchical (CoPHE) metrics.\n\n"
    "Start with [bold]icdbridge demo[/bold]; every command has --help."
)

GROUPS: dict[str, str] = {
    "cache": "icdbridge.cli.cache",
    "codes": "icdbridge.cli.codes",
    "datasets": "icdbridge.cli.datasets",
}
"""Subcommand groups: name → module exposing a ``typer.Typer`` called ``app``."""

COMMANDS: dict[str, str] = {
    "demo": "icdbridge.cli.demo:demo",
    "map": "icdbridge.cli.map:map_command",
    "evaluate": "icdbridge.cli.evaluate:evaluate_command",
    "train": "icdbridge.cli.train:train_command",
    "predict": "icdbridge.cli.predict:predict_command",
}
"""Single commands: name → ``module:function``."""


def _show_version(value: bool) -> None:
    if value:
        from icdbridge import __version__

        typer.echo(f"icdbridge {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the icdbridge version and exit.",
        ),
    ] = False,
) -> None:
    """Options that come before the command."""


def build_app() -> typer.Typer:
    """Assemble the Typer application from :data:`GROUPS` and :data:`COMMANDS`."""
    app = typer.Typer(
        help=HELP, no_args_is_help=True, rich_markup_mode="rich", add_completion=False
    )
    app.callback()(_root)
    for name, module in GROUPS.items():
        app.add_typer(import_module(module).app, name=name)
    for name, target in COMMANDS.items():
        module, _, function = target.partition(":")
        app.command(name)(getattr(import_module(module), function))
    return app


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors become one line on stderr and exit status 2.

    Usage errors, ``--help`` and exit codes are handled by Typer (standalone mode); an
    :class:`~icdbridge.errors.IcdbridgeError` raised anywhere below is caught here.
    """
    app = build_app()
    try:
        with handle_signals():
            app(args=argv, prog_name="icdbridge")
    except KeyboardInterrupt:
        typer.echo("error: interrupted; outputs not finished were removed", err=True)
        sys.exit(130)
    except Interrupted as error:
        typer.echo(f"error: {error}; outputs not finished were removed", err=True)
        sys.exit(128 + error.signum)
    except IcdbridgeError as error:
        typer.echo(f"error: {_one_line(error)}", err=True)
        sys.exit(2)
    except OSError as error:  # a file system fault no module turned into an IcdbridgeError
        where = f"{error.filename}: " if error.filename else ""
        typer.echo(f"error: {where}{error.strerror or error}", err=True)
        sys.exit(2)


def _one_line(error: BaseException) -> str:
    """The message of ``error`` on one line (a value with a newline must not break the format)."""
    return " ".join(str(error).split("\n"))


if __name__ == "__main__":
    main()
