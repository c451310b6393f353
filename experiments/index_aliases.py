"""Counts of the label aliases (ICD-10-CM Index paths as more label texts) of the model's default
label space, every code of ICD-10-CM 2026 (the numbers in docs/model.md, *Pipeline*, **Index
aliases**). No encoding: the aliases are built as training builds them
(:meth:`~icdbridge.model.labels.aliases.LabelAliases.build` over
:func:`~icdbridge.model.labels.space.label_space_codes`), from
``$ICDBRIDGE_DATA/icd10cm-index-2025``.

    python experiments/index_aliases.py   # -> experiments/index_aliases.json
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from icdbridge.codes import get_terminology
from icdbridge.codes.index import load_index
from icdbridge.environment import software_environment
from icdbridge.model.labels.aliases import LabelAliases
from icdbridge.model.labels.space import label_space_codes
from icdbridge.outputs import write_json

HERE = Path(__file__).resolve().parent


def main() -> None:
    terminology = get_terminology("icd10cm")
    codes = label_space_codes(terminology, "all")
    aliases = LabelAliases.build(load_index(), terminology, codes)
    per_code = Counter(aliases.codes)
    result = {
        "label_space": f"{terminology.name} {terminology.release}, all codes",
        "label_space_codes": len(codes),
        "aliases": len(aliases),
        "codes_with_aliases": len(per_code),
        "distinct_texts": len(set(aliases.texts)),
        "most_aliases_per_code": per_code.most_common(1)[0][1] if per_code else 0,
        "provenance": aliases.provenance,
        "environment": software_environment(),
    }
    write_json(HERE / "index_aliases.json", result)
    print({k: v for k, v in result.items() if k not in ("provenance", "environment")})


if __name__ == "__main__":
    main()
