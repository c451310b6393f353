"""Lossless crosswalks between ICD-9-CM, ICD-10-CM, WHO ICD-10 and ICD-11 (and custom systems).

Example:
    >>> from icdbridge.crosswalk import map_code
    >>> m = map_code("038.9", "icd9cm", "icd10cm")
    >>> m.status, [(t.code, t.flags) for t in m.targets]
    ('mapped', [('A41.9', '10000')])
"""

from icdbridge.crosswalk.chain import (
    Crosswalk,
    MappedArray,
    get_crosswalk,
    map_code,
    map_many,
    route,
)
from icdbridge.crosswalk.model import STATUSES, Exactness, Mapping, Target
from icdbridge.crosswalk.policies import POLICIES

__all__ = [
    "POLICIES",
    "STATUSES",
    "Crosswalk",
    "Exactness",
    "MappedArray",
    "Mapping",
    "Target",
    "get_crosswalk",
    "map_code",
    "map_many",
    "route",
]
