"""Map one Arrow record batch: the batch with the migrated-dataset columns appended.

The columnar unit every batch engine shares (Spark's ``mapInArrow`` calls it on each batch of a
partition): the code column is mapped with :meth:`~icdbridge.crosswalk.chain.Crosswalk.map_array`
(each distinct value once, in the C kernel when built), and the cells come from
:class:`~icdbridge.crosswalk.columns.MappingColumns`, so the values are those of ``icdbridge map``.
Every input row appears in the output: once, or once per target with ``explode`` (a row without
targets still appears once). A bad value is a status (``invalid-code``...), never an error.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from icdbridge.crosswalk.chain import Crosswalk
from icdbridge.crosswalk.columns import ADDED, ADDED_EXPLODED, MappingColumns

TARGETS_TYPE = pa.list_(pa.string())
"""Arrow type of ``map_targets`` (every other added column is a string)."""


def added_fields(explode: bool = False) -> list[pa.Field]:
    """Arrow fields of the added columns, in output order."""
    names = ADDED_EXPLODED if explode else ADDED
    return [pa.field(n, TARGETS_TYPE if n == "map_targets" else pa.string()) for n in names]


def added_schema(schema: pa.Schema, explode: bool = False) -> pa.Schema:
    """The output schema: ``schema`` followed by the added columns.

    Raises:
        ValueError: the input already has a column of an added name.
    """
    clash = sorted(set(schema.names) & {f.name for f in added_fields(explode)})
    if clash:
        raise ValueError(f"the input already has column(s) {', '.join(clash)}")
    return pa.schema([*schema, *added_fields(explode)])


def map_batch(
    batch: pa.RecordBatch,
    column: str,
    crosswalk: Crosswalk,
    policy: str = "all",
    explode: bool = False,
    cells: MappingColumns | None = None,
) -> pa.RecordBatch:
    """Return ``batch`` with the columns of :data:`~icdbridge.crosswalk.columns.ADDED` appended.

    Args:
        batch: Input rows (any columns; ``column`` holds the codes, nulls allowed).
        column: Name of the code column.
        crosswalk: From :func:`icdbridge.crosswalk.get_crosswalk`.
        policy: Lossy policy name (``all`` keeps every target).
        explode: One output row per coded target (columns of
            :data:`~icdbridge.crosswalk.columns.ADDED_EXPLODED`) instead of a list column.
        cells: Reuse one :class:`MappingColumns` across the batches of a stream (faster).

    Returns:
        A record batch with the input columns (rows repeated per target with ``explode``) and the
        added ones.
    """
    cells = cells if cells is not None else MappingColumns()
    mapped = crosswalk.map_array(batch.column(batch.schema.get_field_index(column)), policy)
    indices = np.asarray(mapped.index, dtype=np.int64)
    mappings = mapped.mappings
    fields = added_fields(explode)
    if explode:
        per = [cells.exploded(m) for m in mappings]
        sizes = np.array([len(p) for p in per], dtype=np.int64)
        rows = np.repeat(np.arange(batch.num_rows), sizes[indices]) if len(indices) else indices
        flat = [cell for i in indices for cell in per[i]]
        base = batch.take(pa.array(rows, pa.int64()))
        columns = list(zip(*flat, strict=True)) if flat else [() for _ in fields]
        added = [pa.array(list(data), f.type) for f, data in zip(fields, columns, strict=True)]
    else:
        per = [cells.row(m) for m in mappings]
        take = pa.array(indices, pa.int64())
        base = batch
        added = [pa.array([p[i] for p in per], f.type).take(take) for i, f in enumerate(fields)]
    return pa.RecordBatch.from_arrays(
        [*base.columns, *added], schema=added_schema(batch.schema, explode)
    )
