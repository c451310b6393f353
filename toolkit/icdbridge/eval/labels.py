"""Label index (code ↔ column) and sparse document × code matrices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse


class LabelIndex:
    """A growing, ordered mapping code → column index.

    Example:
        >>> index = LabelIndex(["B", "A"])
        >>> index.add("C"), index["A"], len(index)
        (2, 1, 3)
    """

    def __init__(self, codes: Iterable[str] = ()) -> None:
        self.codes: list[str] = []
        self._ids: dict[str, int] = {}
        for code in codes:
            self.add(code)

    def add(self, code: str) -> int:
        """Column of ``code``, adding it when new."""
        found = self._ids.get(code)
        if found is None:
            found = self._ids[code] = len(self.codes)
            self.codes.append(code)
        return found

    def get(self, code: str) -> int | None:
        """Column of ``code`` or ``None``."""
        return self._ids.get(code)

    def __getitem__(self, code: str) -> int:
        return self._ids[code]

    def __contains__(self, code: object) -> bool:
        return code in self._ids

    def __len__(self) -> int:
        return len(self.codes)


def to_csr(
    docs: Sequence[Iterable[str]], index: LabelIndex, *, grow: bool = True
) -> sparse.csr_matrix:
    """Binary document × code CSR matrix of ``docs`` (codes absent from a fixed index skipped).

    Example:
        >>> index = LabelIndex()
        >>> to_csr([{"A", "B"}, set(), {"B"}], index).toarray().tolist()
        [[1, 1], [0, 0], [0, 1]]
    """
    indptr = [0]
    indices: list[int] = []
    for codes in docs:
        cols = {index.add(c) if grow else index.get(c) for c in sorted(set(codes))}
        cols.discard(None)
        indices.extend(sorted(cols))
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.int64)
    return sparse.csr_matrix(
        (data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(docs), len(index)),
    )
