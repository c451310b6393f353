"""Safe output files: atomic writes, never onto an input, clear errors for unwritable places.

Every file or folder icdbridge writes goes through this module:

* :func:`atomic_file` / :func:`atomic_dir` yield a temporary path *next to* the target (same folder,
  so the final :func:`os.replace` is atomic on POSIX file systems) and rename it into place only
  when the ``with`` block ends without an exception. On any exception — including
  :class:`KeyboardInterrupt` from Ctrl-C and the :class:`Interrupted` that :func:`handle_signals`
  raises on SIGTERM — the temporary is removed and the target is left exactly as it was.
* :func:`check_output` is called before any work starts: it refuses an output that is one of the
  inputs (same file by :func:`os.path.samefile`, also through links), an output that is a folder
  where a file is expected (or the reverse), and a folder that cannot be created or written.
* :func:`write_text` / :func:`write_bytes` / :func:`write_json` are the one-call forms.

Errors are :class:`~icdbridge.errors.OutputError` with one line naming the path and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable, Iterator
from os import PathLike
from pathlib import Path
from typing import Any

from icdbridge.errors import IcdbridgeError, OutputError

TEMP_PREFIX = ".icdbridge-tmp-"
"""Prefix of every temporary output (a leftover from a killed process is safe to delete)."""


class Interrupted(IcdbridgeError):
    """Raised in the main thread when the process receives SIGINT, SIGTERM or SIGHUP."""

    def __init__(self, message: str, signum: int = signal.SIGTERM) -> None:
        super().__init__(message)
        self.signum = int(signum)


def _os_error(path: Path, error: OSError, doing: str) -> OutputError:
    """Turn an :class:`OSError` met while writing ``path`` into a one-line :class:`OutputError`."""
    reasons = {
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "read-only file system",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOENT: "folder does not exist",
        errno.ENOTDIR: "a parent of the path is not a folder",
        errno.EISDIR: "the path is a folder",
        errno.ENAMETOOLONG: "file name too long",
    }
    reason = reasons.get(error.errno or -1, error.strerror or str(error))
    return OutputError(f"{path}: cannot {doing}: {reason}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(
    path: str | PathLike[str],
    inputs: Iterable[str | PathLike[str] | None] = (),
    *,
    kind: str = "file",
    create_parent: bool = True,
) -> Path:
    """Check, before any work, that ``path`` can be written as an output; return it as a Path.

    Args:
        path: The final output path.
        inputs: Input files (``None`` entries are ignored); the output may not be any of them.
        kind: ``"file"`` or ``"dir"``: what the output will be (an existing output of the other
            kind is refused, so a folder is never replaced by a file or the reverse).
        create_parent: Create a missing parent folder (otherwise a missing folder is an error).

    Raises:
        OutputError: the output is an input, is of the wrong kind, or its folder cannot be
            created or written.
    """
    target = Path(path)
    for source in inputs:
        if source is None:
            continue
        source = Path(source)
        if _same_file(target, source) or (
            target.exists() and source.exists() and target.resolve() == source.resolve()
        ):
            raise OutputError(
                f"{target}: output is the input file {source}; write to another path "
                "(icdbridge never writes onto its input)"
            )
        if kind == "dir" and source.exists() and target.exists():
            inside = False
            with contextlib.suppress(OSError, ValueError):  # (OutputError is an OSError)
                inside = source.resolve().is_relative_to(target.resolve())
            if inside:
                raise OutputError(
                    f"{target}: output folder contains the input {source}; write to another folder"
                )
    if target.exists() or target.is_symlink():
        if kind == "file" and target.is_dir():
            raise OutputError(f"{target}: output is a folder; give a file name")
        if kind == "dir" and not target.is_dir():
            raise OutputError(f"{target}: output exists and is not a folder; give a folder path")
        if kind == "file" and not target.is_file():
            raise OutputError(
                f"{target}: output exists and is not a regular file (a device, pipe or broken "
                "link); give a file path"
            )
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        if not create_parent:
            raise OutputError(f"{parent}: output folder does not exist; create it first")
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _os_error(parent, error, "create the output folder") from None
    elif not parent.is_dir():
        raise OutputError(f"{parent}: is not a folder, so {target.name} cannot be written there")
    try:  # a real probe: permission bits lie for root and on read-only mounts
        handle, probe = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=parent)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise _os_error(parent, error, "write in the output folder") from None
    return target


def _temp_name(target: Path) -> Path:
    parent = target.parent if str(target.parent) else Path(".")
    handle, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{target.name}.", dir=parent)
    os.close(handle)
    return Path(name)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


@contextlib.contextmanager
def atomic_file(path: str | PathLike[str], *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary file path beside ``path``; rename it onto ``path`` only on success.

    The temporary exists (empty) when the block starts; write it by name. On an exception the
    temporary is deleted, the exception propagates and ``path`` is untouched. An existing target
    keeps its permission bits; a new one gets ``0o666`` less the umask (``mode`` overrides).

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_file(out) as tmp:
        ...     _ = tmp.write_text("done")
        >>> out.read_text()
        'done'
    """
    target = Path(path)
    if target.exists() and not target.is_file():
        raise OutputError(f"{target}: output exists and is not a regular file; give a file path")
    try:
        temp = _temp_name(target)
    except OSError as error:
        raise _os_error(target.parent, error, "write in the output folder") from None

    def install() -> None:
        _finish_mode(temp, target, mode)
        os.replace(temp, target)

    yield from _publish(temp, target, install, "write the output")


def _publish(temp: Path, target: Path, install: Callable[[], None], action: str) -> Iterator[Path]:
    """Yield ``temp`` to the ``with`` block, then ``install`` it at ``target``.

    The shared body of :func:`atomic_file` and :func:`atomic_dir`: an exception in the block or in
    ``install`` removes ``temp`` and propagates (an :class:`OSError` from ``install`` becomes an
    :class:`OutputError` saying it could not ``action``).
    """
    try:
        yield temp
    except BaseException:
        _remove(temp)
        raise
    try:
        install()
    except OSError as error:
        _remove(temp)
        raise _os_error(target, error, action) from error
    except BaseException:
        _remove(temp)
        raise


def _finish_mode(temp: Path, target: Path, mode: int | None) -> None:
    if mode is None:
        try:
            mode = target.stat().st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = (0o777 if temp.is_dir() else 0o666) & ~umask
    os.chmod(temp, mode)


@contextlib.contextmanager
def atomic_dir(path: str | PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; swap it in for ``path`` only on success.

    An existing folder at ``path`` is replaced as a whole (moved aside, the new one renamed in,
    then the old one deleted), so a reader sees either the old or the new folder, never a mix.
    On an exception the temporary folder is deleted and ``path`` is untouched.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        temp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{target.name}.", dir=parent))
    except OSError as error:
        raise _os_error(parent, error, "write in the output folder") from None

    def install() -> None:
        _finish_mode(temp, target, None)
        if target.is_dir() and not target.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{target.name}.old.", dir=parent))
            os.replace(target, old / target.name)
            try:
                os.replace(temp, target)
            except BaseException:
                os.replace(old / target.name, target)
                raise
            _remove(old)
        else:
            os.replace(temp, target)

    yield from _publish(temp, target, install, "write the output folder")


def write_bytes(path: str | PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    target = Path(path)
    with atomic_file(target) as temp:
        temp.write_bytes(data)
    return target


def write_text(path: str | PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; return the path."""
    return write_bytes(path, text.encode("utf-8"))


def strict_json(value: Any) -> Any:
    """Return ``value`` with every non-finite float replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(item) for item in value]
    return value


def dumps_json(value: Any, *, indent: int | None = 2) -> str:
    """Serialise ``value`` as strict JSON (NaN/inf become ``null``; never a bare ``NaN`` token)."""
    return json.dumps(strict_json(value), indent=indent, allow_nan=False, ensure_ascii=False)


def write_json(path: str | PathLike[str], value: Any, *, indent: int | None = 2) -> Path:
    """Write ``value`` as strict JSON to ``path`` atomically; return the path."""
    return write_text(path, dumps_json(value, indent=indent) + "\n")


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Turn SIGINT (Ctrl-C), SIGTERM and SIGHUP into :class:`Interrupted` for the block.

    The exception unwinds every ``atomic_*`` block on the stack, so each removes its temporary
    file, and reaches the CLI's entry point, which prints one line and exits with 128 + the signal
    number (130 after Ctrl-C, 143 after SIGTERM). Only installed in the main thread (signal
    handlers cannot be set elsewhere); outside it the default behaviour stays.
    """

    def _raise(signum: int, _frame: object) -> None:
        raise Interrupted(f"stopped by signal {signal.Signals(signum).name}", signum=signum)

    previous: dict[int, Any] = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError, OSError, AttributeError):
                previous[signum] = signal.signal(signum, _raise)
        yield
    finally:
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, handler)


def output_error(
    path: str | PathLike[str], error: OSError, doing: str = "write the output"
) -> OutputError:
    """The one-line :class:`OutputError` for an :class:`OSError` met while writing ``path``."""
    return _os_error(Path(path), error, doing)
