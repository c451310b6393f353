"""Terminologies: ICD-9-CM, ICD-10-CM (release-pinned), WHO ICD-10, ICD-11 MMS, custom systems.

Example:
    >>> from icdbridge.codes import get_terminology
    >>> cm = get_terminology("icd10cm")
    >>> cm.ancestors("E11.9")
    ['E11', 'E08-E13', '4']
"""

from icdbridge.codes.base import ROOT, Node, Terminology
from icdbridge.codes.hierarchy_file import CustomTerminology, export_hierarchy, load_hierarchy
from icdbridge.codes.registry import (
    SYSTEMS,
    get_terminology,
    register_hierarchy,
    terminology_class,
)

__all__ = [
    "ROOT",
    "SYSTEMS",
    "CustomTerminology",
    "Node",
    "Terminology",
    "export_hierarchy",
    "get_terminology",
    "load_hierarchy",
    "register_hierarchy",
    "terminology_class",
]
