"""Where icdbridge finds data and keeps caches (nothing is created at import time).

The data folder is ``$ICDBRIDGE_DATA`` when set (a relative value is taken from the current
directory, like any path on a command line), else ``../shared/data`` **relative to the project
root**: the folder holding icdbridge's ``pyproject.toml`` above ``toolkit/`` in a source or
editable checkout, so every command finds the same folder from any working directory. An
installed package has no project root; it falls back to the current directory. Errors about
missing data print the resolved absolute path.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from icdbridge.errors import IcdbridgeError

DATA_ENV = "ICDBRIDGE_DATA"
CACHE_ENV = "ICDBRIDGE_CACHE"
DEFAULT_DATA = Path("..", "shared", "data")
"""The default data folder, relative to :func:`project_root`."""


class UnsafePathError(IcdbridgeError):
    """A path read from a file (a run folder, a publisher's reply) that leaves its folder."""


@cache
def project_root() -> Path:
    """The source checkout's root (the folder of ``pyproject.toml`` above ``toolkit/``), or the
    current directory for an installed package."""
    candidate = Path(__file__).resolve().parents[2]
    pyproject = candidate / "pyproject.toml"
    try:
        if (candidate / "toolkit" / "icdbridge").is_dir() and 'name = "icdbridge"' in (
            pyproject.read_text(encoding="utf-8")
        ):
            return candidate
    except (OSError, UnicodeDecodeError):
        pass
    return Path.cwd()


def data_dir() -> Path:
    """Return the absolute folder of third-party data (see the module docstring).

    ``$ICDBRIDGE_DATA`` when set, else ``project_root()/../shared/data``.
    """
    env = os.environ.get(DATA_ENV)
    path = Path(env).expanduser() if env else project_root() / DEFAULT_DATA
    return Path(os.path.abspath(path))


def cache_dir() -> Path:
    """Return the cache folder (``$ICDBRIDGE_CACHE``, default ``~/.cache/icdbridge``), created.

    Raises:
        IcdbridgeError: the folder cannot be created or is not a folder (one line naming it and
            the variable to change).
    """
    env = os.environ.get(CACHE_ENV)
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "icdbridge"
    where = f"${CACHE_ENV}={env}" if env else "the default cache folder"
    return make_folder(path, f"cache folder ({where})", f"point {CACHE_ENV} to a writable folder")


def make_folder(path: Path, what: str, fix: str) -> Path:
    """Create folder ``path`` with its parents and return it; a file in its way or a path that
    cannot be created is a one-line error naming ``what`` the folder is and how to ``fix`` it.

    Raises:
        IcdbridgeError: ``path`` is a file, or cannot be created.
    """
    if path.exists() and not path.is_dir():
        raise IcdbridgeError(f"{path}: {what} is a file, not a folder; {fix}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or str(error)
        raise IcdbridgeError(f"{path}: cannot create the {what}: {reason}; {fix}") from None
    return path


def inside(folder: str | os.PathLike[str], name: str | os.PathLike[str]) -> Path:
    """``folder / name``, refused unless it resolves (links followed) to a path inside ``folder``.

    For every path read from a file: a run folder's record of its checkpoints, the file names
    in a publisher's reply, the members of an archive.

    Raises:
        UnsafePathError: ``name`` is absolute, climbs out with ``..`` or leads out through a
            link.

    Example:
        >>> inside("/tmp/run", "last.ckpt").name
        'last.ckpt'
        >>> inside("/tmp/run", "../../etc/passwd")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        icdbridge.paths.UnsafePathError: ...leaves the folder /tmp/run...
    """
    base = Path(folder)
    target = base / name
    try:
        ok = target.resolve().is_relative_to(base.resolve()) and target.resolve() != base.resolve()
    except (OSError, RuntimeError, ValueError):
        ok = False
    if not ok or Path(name).is_absolute():
        raise UnsafePathError(
            f"{target}: path {str(name)!r} read from a file leaves the folder {base}; refused"
        )
    return target
