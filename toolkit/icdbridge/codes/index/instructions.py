"""What an Index term prints besides its title: coding instructions, see references written
as nonessential modifiers, and codes run into the title.

The Index to Diseases and Injuries writes some directions into a term's wording instead of its
``see`` / ``code`` fields, and the readers take them apart so that the title holds the term's
words only:

* a **coding instruction** after a dash: ``fourth degree - code as Burn, third degree, by
  site``, ``lymphangitis - code by site under Abscess``, ``Cusp, Carabelli - omit code``. The
  term it names (``Burn, third degree, by site``; ``Abscess, by site``) becomes the term's see
  reference when it has none, so that it is resolved like any other;
* a **see reference in the modifiers**: ``Bronchorrhagia (see Hemoptysis)``, ``basal cell
  (pigmented) (see also Neoplasm, skin, malignant)`` (the flattened CSV), ``autonomic nerve or
  nervous system NEC (see Neoplasm, nerve, peripheral)`` (the official Neoplasm Table XML);
* a **code run into the title** by the flattening (``angiomatousD18.00``), or into the end of a
  see / see-also reference (``see also Fracture, traumatic M84.40``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_INSTRUCTION = re.compile(r"\s+[-\u2013]\s*((?:code|omit\s+code)\b.*)$", re.IGNORECASE)
_NAMED_TERM = re.compile(
    r"^code\s+(?:(?P<by_site>by\s+site\s+)?under|as|to|by)\s+(?P<term>.+)$", re.IGNORECASE
)
_SEE = re.compile(r"\(\s*see\b(?P<also>\s+also\b)?\s*(?P<text>(?:[^()]|\([^()]*\))*)\)", re.I)
_CODE = r"(?P<code>[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?-?)$"  # a dotted code at the end
_RUN_IN_CODE = re.compile(r"(?<=[a-z)])" + _CODE)
_RUN_IN_REFERENCE_CODE = re.compile(r"(?<=[a-z),])\s+" + _CODE)
_SPACE = re.compile(r"\s+")
_CATEGORY_NOTE = re.compile(r"\b[A-Z][0-9][0-9A-Z]\b|\b(?:sub)?categor(?:y|ies)\b", re.IGNORECASE)
_IF_APPLICABLE = re.compile(r"^if applicable,\s*", re.IGNORECASE)


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip(" ,;")


@dataclass(frozen=True, slots=True)
class TermWording:
    """A term's printed wording taken apart (see the module's documentation).

    Attributes:
        title: The title without instruction or run-in code.
        modifier: The nonessential modifiers without see references.
        instruction: The coding instruction as printed (``"code as Burn, third degree, by
            site"``, ``"omit code"``), or ``""``.
        see: The see reference: the printed one, else a ``(see X)`` modifier, else the term an
            instruction names (where the term has no code); ``""`` when none.
        see_also: The printed see-also reference, else a ``(see also X)`` modifier, or ``""``.
        code: The printed code, else a code run into the title or into the end of a printed
            see / see-also reference, or ``""``.
        notes: References of the modifiers or of an instruction that name code categories
            (``"category M01"``; :func:`is_category_note`).
    """

    title: str
    modifier: str = ""
    instruction: str = ""
    see: str = ""
    see_also: str = ""
    code: str = ""
    notes: tuple[str, ...] = ()


def is_category_note(reference: str) -> bool:
    """Whether a see / see-also text names code categories rather than a term.

    Example:
        >>> is_category_note("E08-E13 with .620"), is_category_note("Pain, abdominal")
        (True, False)
    """
    return bool(_CATEGORY_NOTE.search(reference)) and not reference.startswith("Table of")


def _without_run_in_code(reference: str) -> tuple[str, str]:
    """A printed see / see-also reference without a code the flattening ran into its end
    (``"Examination, medical Z00.00"``), and that code; category notes (``"category M01"``)
    are left whole.

    Example:
        >>> _without_run_in_code("Fracture, traumatic M84.40")
        ('Fracture, traumatic', 'M84.40')
        >>> _without_run_in_code("subcategory M14.8-")
        ('subcategory M14.8-', '')
    """
    found = _RUN_IN_REFERENCE_CODE.search(reference)
    if found is None or is_category_note(reference[: found.start()]):
        return reference, ""
    return reference[: found.start()].strip(" ,"), found["code"]


def instruction_reference(instruction: str) -> str:
    """The term a coding instruction names (``""`` for ``omit code`` and other wordings).

    Example:
        >>> instruction_reference("code as Burn, third degree, by site")
        'Burn, third degree, by site'
        >>> instruction_reference("code by site under Puerperal, abscess")
        'Puerperal, abscess, by site'
        >>> instruction_reference("omit code")
        ''
    """
    named = _NAMED_TERM.match(_clean(instruction))
    if named is None:
        return ""
    term = _clean(named["term"])
    return f"{term}, by site" if named["by_site"] else term


def split_wording(
    title: str, modifier: str = "", *, code: str = "", see: str = "", see_also: str = ""
) -> TermWording:
    """Take a printed title and its nonessential modifiers apart (:class:`TermWording`),
    beside the term's printed ``code``, ``see`` and ``see_also`` fields, which come first: a
    run-in code counts where no code is printed, a ``(see X)`` modifier where no see is printed,
    and the term an instruction names only where the term has neither a code nor a see. The
    title keeps at least the words before an instruction or run-in code, so it is never empty
    when ``title`` is not.

    Example:
        >>> burn = split_wording("fourth degree - code as Burn, third  degree, by site")
        >>> burn.title, burn.instruction, burn.see
        ('fourth degree', 'code as Burn, third degree, by site', 'Burn, third degree, by site')
        >>> basal = split_wording("basal cell", "(pigmented) (see also Neoplasm, skin, malignant)")
        >>> basal.modifier, basal.see_also
        ('(pigmented)', 'Neoplasm, skin, malignant')
        >>> split_wording("angiomatousD18.00").code
        'D18.00'
        >>> split_wording("Bronchorrhagia", "(see Hemoptysis)", see="Hemorrhage").see
        'Hemorrhage'
    """
    title = _SPACE.sub(" ", title).strip()
    instruction = ""
    found = _INSTRUCTION.search(title)
    if found is not None and found.start() > 0:
        instruction = _clean(found.group(1))
        title = title[: found.start()].strip()
    run_in = _RUN_IN_CODE.search(title)
    if run_in is not None:
        code = code or run_in["code"]
        title = title[: run_in.start()].strip()
    see, found_code = _without_run_in_code(see)
    see_also, found_also = _without_run_in_code(see_also)
    code = code or found_code or found_also
    taken, notes = [], []  # the modifier's see references read into a field
    for reference in _SEE.finditer(modifier):
        text = _IF_APPLICABLE.sub("", _clean(reference["text"]))
        if is_category_note(text):
            notes.append(text)
        elif reference["also"] and not see_also:
            see_also = text
        elif not reference["also"] and not see:
            see = text
        else:
            continue
        taken.append(reference.group(0))
    for reference in taken:
        modifier = _clean(modifier.replace(reference, " "))
    named = instruction_reference(instruction) if not see and not code else ""
    if named and is_category_note(named):  # "code to first listed type in B50-B53"
        notes.append(named)
    elif named:
        see = named
    return TermWording(title, modifier, instruction, see, see_also, code, tuple(notes))
