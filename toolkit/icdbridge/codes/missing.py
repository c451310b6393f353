"""Missing-value placeholders: cells that hold no code although they hold text.

Spreadsheet and database exports write a missing value as ``NULL``, ``nan``, ``None``, ``NA``,
``N/A``, ``#N/A`` or an empty string. These are never looked up as codes (``NULL`` happens to
match the ICD-10 code pattern): crosswalks give them status ``invalid-code`` and migration reports
count them as missing values.
"""

from __future__ import annotations

MISSING_TOKENS = frozenset(
    {"", "null", "nan", "none", "na", "n/a", "#n/a", "nil", "<na>", "nat", "missing"}
)
"""Cell texts (compared without case and surrounding blanks) that mean "no value"."""


def is_missing(value: object) -> bool:
    """Whether ``value`` stands for a missing value (``None``, blank, or a placeholder).

    Example:
        >>> [is_missing(v) for v in (None, "  ", "NULL", "nan", "N/A", "038.9")]
        [True, True, True, True, True, False]
    """
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    return value.strip().lower() in MISSING_TOKENS
