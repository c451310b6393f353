"""Counts of the ICD-10-CM Index material as icdbridge reads it (the numbers in
docs/terminologies.md, *The Index material*).

Reads ``$ICDBRIDGE_DATA/icd10cm-index-2025`` (or ``--index PATH``), expands every printed code in
the ICD-10-CM 2026 tabular list (and the FY2024 list, for comparison), resolves every see /
see-also reference, times typo-tolerant search, and writes the result as JSON next to this
script (``index_summary.json``) or to ``--output``.

    python experiments/index_summary.py
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path
from typing import Any

from icdbridge.codes import get_terminology
from icdbridge.codes.index import load_index, locate_index
from icdbridge.codes.index.instructions import instruction_reference
from icdbridge.codes.index.summary import search_with_index
from icdbridge.outputs import check_output, write_json

QUERIES = (
    "esential hypertension",
    "diabetes amyotrophy",
    "acetaminophen underdosing",
    "malignant primary lung",
    "fall from building",
)


def summarize(source: str | None = None) -> dict[str, Any]:
    """Everything the docs quote about the Index, as plain data."""
    started = time.perf_counter()
    index = load_index(source=source)
    load_seconds = time.perf_counter() - started
    documents = {}
    for name, document in index.documents.items():
        terms = document.terms
        documents[name] = {
            "file": Path(document.path).name,
            "format": document.format,
            "terms": len(terms),
            "main_terms": sum(t.parent is None for t in terms),
            "max_level": max(t.level for t in terms),
            "terms_with_code": sum(bool(t.code) for t in terms),
            "table_cells": sum(len(t.cells) for t in terms),
            "manifestation_codes": sum(len(t.manifestation) for t in terms),
            "see": sum(bool(t.see) for t in terms),
            "see_also": sum(bool(t.see_also) for t in terms),
            "see_category_notes": sum(len(t.see_category) for t in terms),
            # coding instructions in a term's wording (icdbridge.codes.index.instructions)
            "instructions": sum(bool(t.instruction) for t in terms),
            "instructions_naming_a_term": sum(
                bool(t.instruction) and t.see == instruction_reference(t.instruction) != ""
                for t in terms
            ),
            "instructions_omit_code": sum(t.instruction == "omit code" for t in terms),
        }
    references = Counter(f"{r.kind}:{r.status}" for r in index.references())
    relations = Counter(p.relation for p in index.code_paths())
    mappings = {}
    for release in ("2026", "2024"):
        mapping = index.release_mapping(release)
        mapping["not_defined_codes"] = mapping["not_defined_codes"][:50]
        paths = sum(len(v) for v in index._release(release).by_code.values())
        mapping["paths_to_codes"] = paths
        mappings[release] = mapping
    texts = index.label_texts()
    cm = get_terminology("icd10cm", "2026")
    search_times = {}
    for query in QUERIES:
        search_with_index(cm, query, 10, index)  # warm the search indexes
        best = min(_timed(search_with_index, cm, query, 10, index) for _ in range(5))
        top = search_with_index(cm, query, 1, index)[0]
        search_times[query] = {
            "ms": round(best * 1000, 2),
            "top": top["code"],
            "matched": top["matched"],
        }
    return {
        "index_release": index.release,
        "load_seconds": round(load_seconds, 2),
        "documents": documents,
        "terms_total": len(index),
        "code_paths_by_relation": dict(sorted(relations.items())),
        "references": dict(sorted(references.items())),
        "release_mapping": mappings,
        "codes_with_label_texts_2026": len(texts),
        "label_texts_2026": sum(len(v) for v in texts.values()),
        "search": search_times,
    }


def _timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def main() -> None:
    """Print the summary and write it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="folder or file of the Index material")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_suffix(".json"))
    args = parser.parse_args()
    check_output(args.output, locate_index(source=args.index).values(), kind="file")
    summary = summarize(args.index)
    write_json(args.output, summary)
    for name, counts in summary["documents"].items():
        print(name, counts)
    print("references", summary["references"])
    for release, mapping in summary["release_mapping"].items():
        print(release, {k: v for k, v in mapping.items() if k != "not_defined_codes"})
    print("search", summary["search"])
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
