"""A text file of a model folder whose SHA-256 ``config.json`` records.

The Index phrases (:mod:`icdbridge.model.lexical.index_store`) and the label aliases
(:mod:`icdbridge.model.labels.aliases`) travel with a model as JSON-lines files; ``config.json``
keeps a record of each (its name and SHA-256, plus what the file holds). :func:`write_recorded`
writes such a file atomically and returns its digest; :func:`read_recorded` reads it back and
refuses a file that does not match its record, naming the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from icdbridge.errors import InputFormatError


def write_recorded(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically; returns its SHA-256 (hex) for the record."""
    from icdbridge.outputs import write_bytes

    write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def read_recorded(path: Path, sha256: str) -> str:
    """The UTF-8 text of ``path``, checked against the SHA-256 its record holds.

    Raises:
        InputFormatError: the file cannot be read, its SHA-256 differs, or it is not UTF-8
            (a damaged model).
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputFormatError(path, f"cannot read the file: {error.strerror or error}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise InputFormatError(
            path, "SHA-256 differs from the one config.json records; the model is damaged"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFormatError(path, "not UTF-8; the model is damaged") from None
