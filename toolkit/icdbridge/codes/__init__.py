"""Terminologies: ICD-9-CM, ICD-10-CM (release-pinned), WHO ICD-10, ICD-11 MMS, custom systems.

Example:
    >>> from icdbridge.codes import get_terminology
    >>> cm = get_terminology("icd10cm")
    >>> cm.ancestors("E11.9")
    ['E11', 'E08-E13', '4']
"""

from icdbridge.codes.base import ROOT, Node, Terminology
from icdbridge.codes.registry import SYSTEMS, get_terminology, terminology_class

__all__ = ["ROOT", "SYSTEMS", "Node", "Terminology", "get_terminology", "terminology_class"]
