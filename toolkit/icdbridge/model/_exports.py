"""Lazy exports of a package: names are imported from their module on first use.

A package's ``__init__`` lists its public names as the relative imports of an
``if TYPE_CHECKING:`` block (so type checkers and editors see them) and ends with::

    __all__, __getattr__, __dir__ = lazy_package(__name__, __file__)

``import icdbridge.model`` (or one of its sub-packages) therefore loads neither torch nor
Lightning; ``icdbridge.model.Predictor`` imports the prediction modules only, never training.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def type_checking_imports(source: str) -> dict[str, str]:
    """Name → relative module of the ``from .module import name`` statements inside the
    top-level ``if TYPE_CHECKING:`` blocks of ``source``.

    Example:
        >>> type_checking_imports(
        ...     "if TYPE_CHECKING:\\n    from .pieces import Window, split_windows\\n"
        ... )
        {'Window': '.pieces', 'split_windows': '.pieces'}
    """
    exports: dict[str, str] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom) and statement.level:
                module = "." * statement.level + (statement.module or "")
                for alias in statement.names:
                    exports[alias.asname or alias.name] = module
    return exports


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` serving ``exports`` (name → module, relative to
    ``package``, e.g. ``".encoder"``).

    Example:
        >>> getattr_, dir_ = lazy_exports("json", {"dumps": "json"})
        >>> getattr_("dumps")([1])
        '[1]'
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__


def lazy_package(
    package: str, init_file: str
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` of ``package``, whose public names are the
    imports of the ``if TYPE_CHECKING:`` block of its ``__init__`` (``init_file``)."""
    exports = type_checking_imports(Path(init_file).read_text(encoding="utf-8"))
    return sorted(exports), *lazy_exports(package, exports)
