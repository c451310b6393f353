"""Columnar mapping: the optional C batch kernel and the per-row result of
:meth:`~icdbridge.crosswalk.chain.Crosswalk.map_array`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from icdbridge.crosswalk.model import Mapping

PURE_PYTHON_VARIABLE = "ICDBRIDGE_PURE_PYTHON"
"""Environment variable: ``1`` makes every crosswalk of the process use the pure-Python path."""


@cache
def batch_kernel() -> ModuleType | None:
    """The compiled batch kernel ``icdbridge.crosswalk._batch``, or ``None``.

    ``None`` when the optional C extension was not built (no C compiler when icdbridge was
    installed) or when the environment variable :data:`PURE_PYTHON_VARIABLE` is ``1`` at the first
    call. :meth:`Crosswalk.map_many` gives the same results either way, only slower without it.
    """
    if os.environ.get(PURE_PYTHON_VARIABLE, "") == "1":
        return None
    try:
        from icdbridge.crosswalk import _batch
    except ImportError:
        return None
    return _batch


@dataclass(frozen=True)
class MappedArray:
    """Results of :meth:`Crosswalk.map_array`: distinct mappings and a per-row index.

    Attributes:
        mappings: One :class:`Mapping` per distinct input value (the last one is for nulls).
        index: Integer array; row ``i`` maps to ``mappings[index[i]]``.
        values: The distinct input values, aligned with ``mappings`` (``None`` last).
    """

    mappings: tuple[Mapping, ...]
    index: object
    values: tuple[object, ...] = ()

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, position: int) -> Mapping:
        return self.mappings[int(self.index[position])]

    def to_list(self) -> list[Mapping]:
        """One :class:`Mapping` per input row (shared objects)."""
        import numpy as np

        table = np.empty(len(self.mappings), dtype=object)
        table[:] = self.mappings
        return table[self.index].tolist()

    def column(self, attribute: str) -> object:
        """Per-row numpy array of one :class:`Mapping` attribute (``status``, ``outcome``...)."""
        import numpy as np

        table = np.array([getattr(m, attribute) for m in self.mappings], dtype=object)
        return table[self.index]
