"""Unseen candidate ceiling on the train folds, with and without the Index phrases.

The cheap proxy of issue 27 (no training): how many gold codes *unseen* in a fold's training
documents reach the candidate list at all, when the lexical channel also holds the phrases of
the ICD-10-CM Index material (:mod:`icdbridge.model.lexical.index_phrases`). The CodiEsp
**train** split only (dev is never read): the 500 documents are cut into the three seeded folds
of ``cv_choices.py``; a held-out document's gold code is unseen when no document of the other
two folds carries it. For each variant of the lexical channel it reports the share of unseen
gold pairs in

- the faiss shortlist (the note's pieces and its gloss pieces; the same for every variant),
- the lexical matches in the English text, in the Spanish original (read through the word
  gloss), and in either,
- the union of shortlist and lexical matches: the candidate ceiling of unseen recall (codes
  seen in training are candidates anyway),

and what it costs: lexical candidates per note, and the share of them that are gold (any gold
code, seen or not). Also per chapter group: unseen pairs of drug / poisoning codes (T36–T65) and
of neoplasm codes (C00–D49). Last, how the codes the FY2025 Index prints land in the 2026
label space as phrase targets (``target_summary``: as printed, with children, expanded, not
defined in the label release).

    python experiments/codiesp_zeroshot/index_ceiling.py   # -> index_ceiling.json

``--lexical-only`` skips the faiss shortlist (no note is encoded: minutes instead of most of an
hour on a busy 2-core machine) and writes ``index_ceiling_lexical.json``, whose ``union`` is the
lexical channel alone and which has no ``faiss``, ``faiss_aliases`` or ``union_aliases`` (not
measured); ``--variants`` picks variants. Without it the faiss shortlist is also taken over the
label space **with the Index aliases** (:mod:`icdbridge.model.labels.aliases`: the Index paths
as more label texts, each code scored by its best text), and each variant reports
``faiss_aliases`` and ``union_aliases`` beside ``faiss`` and ``union``; ``--shortlist-k`` sets
the shortlist size (default: the library's).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

VARIANTS: dict[str, tuple[str, ...]] = {
    "titles (today)": (),
    "index terms": ("index",),
    "external cause index": ("eindex",),
    "drug table": ("drug",),
    "neoplasm table": ("neoplasm",),
    "drug and neoplasm tables": ("drug", "neoplasm"),
    "index terms and tables": ("index", "drug", "neoplasm"),
    "all index material": ("index", "eindex", "drug", "neoplasm"),
}
"""Variant → Index documents whose phrases join the lexical channel."""


def group_of(code: str) -> str:
    """``drug`` for T36–T65, ``neoplasm`` for C00–D49, else ``other``."""
    if code[0] == "T" and "36" <= code[1:3] <= "65":
        return "drug"
    if code[0] == "C" or (code[0] == "D" and code[1:3] <= "49"):
        return "neoplasm"
    return "other"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--lexical-only", action="store_true", help="no faiss shortlist")
    parser.add_argument("--shortlist-k", type=int, default=None, help="faiss shortlist size")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    import torch
    from harness import SETTINGS, ExperimentContext

    from icdbridge.codes.index import load_index
    from icdbridge.data import load_codiesp
    from icdbridge.environment import software_environment
    from icdbridge.model import LabelSpace, LabelTextOptions, PipelineConfig, seeded_folds
    from icdbridge.model.features.featurize import FeatureInputs, featurize
    from icdbridge.model.lexical import lexical_matches, original_gloss, original_matches
    from icdbridge.model.lexical.index_phrases import with_index_phrases
    from icdbridge.outputs import write_text

    torch.set_num_threads(2)
    out = args.out or HERE / (
        "index_ceiling_lexical.json" if args.lexical_only else "index_ceiling.json"
    )

    def write(result: dict) -> None:
        write_text(out, json.dumps(result, indent=2) + "\n")

    train = load_codiesp(split="train")
    ctx = ExperimentContext.for_codiesp(train, fit=train, tune=[], dev=[])
    terminology = ctx.terminology
    config = PipelineConfig()
    if args.shortlist_k:
        config = PipelineConfig(shortlist_k=args.shortlist_k)
    base = ctx.lexical()
    if not args.lexical_only:
        labels = ctx.label_embeddings(LabelTextOptions(synonyms=False, ancestors=False))
        space = LabelSpace(labels, terminology, config.max_ancestors)
    folds = seeded_folds(train, SETTINGS["cv_choices"]["folds"], SETTINGS["protocol"]["seed"])
    unseen: dict[str, set[str]] = {}
    for k, held in enumerate(folds):
        seen = {c for j, part in enumerate(folds) if j != k for d in part for c in d.codes}
        for doc in held:
            unseen[doc.id] = set(doc.codes) - seen
    shortlists: dict[str, set[str]] = {doc.id: set() for doc in train}
    alias_shortlists: dict[str, set[str]] = {doc.id: set() for doc in train}
    if not args.lexical_only:
        from icdbridge.model.labels.aliases import add_index_aliases

        features = featurize(train, FeatureInputs(ctx.encoder, space, config, None, base))
        pieces = [f.windows for f in features]
        k, size = config.per_window_k, config.shortlist_k
        aliased = add_index_aliases(space, ctx.encoder)
        for name, found in (("titles", shortlists), ("aliases", alias_shortlists)):
            searched = (space if name == "titles" else aliased).index.shortlists(pieces, k, size)
            for doc, shortlist in zip(train, searched, strict=True):
                found[doc.id] = set(shortlist)
    glosses = {doc.id: original_gloss(doc, terminology) for doc in train}
    index = load_index()
    pairs = sum(len(v) for v in unseen.values())
    result: dict = {
        "split": "CodiEsp train, 3 seeded folds (cv_choices.py)",
        "unseen_pairs": pairs,
        "unseen_pairs_by_group": {
            g: sum(group_of(c) == g for v in unseen.values() for c in v)
            for g in ("drug", "neoplasm", "other")
        },
        "shortlist_k": 0 if args.lexical_only else config.shortlist_k,
    }
    if not args.lexical_only:  # without a shortlist these are not measured: left out, not 0
        result["faiss"] = sum(c in shortlists[i] for i, v in unseen.items() for c in v) / pairs
        result["faiss_aliases"] = (
            sum(c in alias_shortlists[i] for i, v in unseen.items() for c in v) / pairs
        )
    result |= {"variants": {}, "environment": software_environment()}
    for name in args.variants:
        sources = VARIANTS[name]
        lexical = with_index_phrases(base, terminology, index, sources) if sources else base
        # lexical-only: union is the lexical channel alone, and there is no aliased shortlist
        aliased_union = () if args.lexical_only else ("union_aliases",)
        counts = dict.fromkeys(("english", "original", "lexical", "union", *aliased_union), 0)
        by_group = {g: 0 for g in result["unseen_pairs_by_group"]}
        matched = gold_matched = 0
        for doc in train:
            english = set(lexical_matches(lexical, doc.text))
            original = set(original_matches(lexical, doc, terminology, glosses[doc.id]))
            both = english | original
            matched += len(both)
            gold_matched += len(both & set(doc.codes))
            for code in unseen[doc.id]:
                counts["english"] += code in english
                counts["original"] += code in original
                counts["lexical"] += code in both
                reached = code in both or code in shortlists[doc.id]
                counts["union"] += reached
                if aliased_union:
                    counts["union_aliases"] += code in both or code in alias_shortlists[doc.id]
                by_group[group_of(code)] += reached
        entry = {k: round(v / pairs, 4) for k, v in counts.items()}
        entry["union_by_group"] = {
            g: round(by_group[g] / n, 4) if n else None
            for g, n in result["unseen_pairs_by_group"].items()
        }
        entry["phrases"] = len(lexical)
        entry["lexical_candidates_per_note"] = round(matched / len(train), 1)
        entry["lexical_precision"] = round(gold_matched / max(matched, 1), 4)
        result["variants"][name] = entry
        print(name, entry, flush=True)
        write(result)
    # issue 27 item 4: how the FY2025 Index's printed codes land in the 2026 label space
    from icdbridge.model.lexical.index_phrases import target_summary

    result["phrase_targets"] = target_summary(index, terminology, base.codes)
    print("phrase targets", result["phrase_targets"], flush=True)
    write(result)


if __name__ == "__main__":
    main()
