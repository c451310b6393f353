"""The **7th-character bases** of an ICD-10-CM release: codes written without their 7th
character where the release does not define that spelling.

ICD-10-CM gives many injury, poisoning and external-cause codes a 7th character (the encounter:
``A`` initial, ``D`` subsequent, ``S`` sequela). Datasets that code without the encounter write
the code without it (CodiEsp: ``S62.92X`` for ``S62.92XA``), a spelling the release does not
define. Terminology-level, so that the data layer (``check_codes``) and the model's label space
(``PipelineConfig.seventh_character_bases``) name the same codes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology


def seventh_character_bases(terminology: Terminology) -> list[str]:
    """The **7th-character bases** of an ICD-10-CM release: each code with a 7th-character
    extension written without that character, where the release does not define it (``S62.92X``
    for ``S62.92XA``..., ``T68.XXX`` for ``T68.XXXA``...; ``S72.002`` for ``S72.002A`` is a
    code of the release already), sorted. Datasets that code without the encounter write them
    (CodiEsp). Other code systems have none.

    Example:
        >>> from icdbridge.codes import get_terminology
        >>> bases = seventh_character_bases(get_terminology("icd10cm"))
        >>> "S62.92X" in bases and "T68.XXX" in bases and "S72.002" not in bases
        True
        >>> seventh_character_bases(get_terminology("icd10who"))
        []
    """
    if terminology.system != "icd10cm":
        return []
    key = (terminology.system, terminology.release)
    if key not in _BASES:  # read once per release: training, the label space and Index ask
        _BASES[key] = tuple(
            sorted(
                {
                    code[:-1]
                    for code in terminology.codes(leaves_only=True)
                    if len(code.replace(".", "")) == 7 and terminology.get(code[:-1]) is None
                }
            )
        )
    return list(_BASES[key])


_BASES: dict[tuple[str, str | None], tuple[str, ...]] = {}
""":func:`seventh_character_bases` of each ICD-10-CM release read so far."""
