"""Small ICD-10-CM label spaces and notes shared by the tests of the Index in the model."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from icdbridge.data import Document


def descendants(categories: Iterable[str], later_encounters: bool = True) -> list[str]:
    """The ICD-10-CM 2026 codes ``categories`` and all their descendants, in breadth-first order,
    each once; ``later_encounters=False`` leaves out the subsequent-encounter and sequela codes
    (7th character ``D`` or ``S``)."""
    from icdbridge.codes import get_terminology

    terminology = get_terminology("icd10cm")
    codes: list[str] = []
    for category in categories:
        stack = [category]
        while stack:
            code = stack.pop(0)
            codes.append(code)
            stack.extend(terminology.children(code))
    codes = list(dict.fromkeys(codes))
    if later_encounters:
        return codes
    return [c for c in codes if not (len(c) == 8 and c[-1] in "DS")]


def note_documents(notes: Sequence[tuple[str, list[str]]], times: int) -> list[Document]:
    """``times`` copies of each (note, codes), as ICD-10-CM documents ``d0``, ``d1``, ..."""
    return [
        Document(f"d{i}", f"Seen today. {note} Follow up.", codes, "icd10cm")
        for i, (note, codes) in enumerate(list(notes) * times)
    ]
