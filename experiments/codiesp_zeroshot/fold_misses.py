"""Diagnostic: which unseen gold codes of the train folds never become candidates, and why.

The CodiEsp **train** split only (dev is never read), cut into the three seeded folds of
``cv_choices.py``, each with its own label space (the release, its 7th-character bases and the
undefined spellings of the fold's own training documents), as the variant
``today, fold label spaces and seventh-character bases`` trains with. No network is trained:
candidates do not depend on one. For the library's default pipeline as it was when
``fold_misses.json`` was written (a faiss shortlist of 150 codes; today's default is the variant
``shortlist 300``) and for candidate-set variants (``--variants``: larger faiss shortlist,
Index-overlap candidates, wider family expansion) it reports the unseen candidate ceiling and
candidates per note; for the default it also sorts the unseen gold pairs left out by what is
near them among the candidates (a parent, a sibling, a code of the same 3-character category,
nothing) and by chapter.

    python experiments/codiesp_zeroshot/fold_misses.py   # -> fold_misses.json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent

VARIANTS: dict[str, dict] = {
    # the default of the run in fold_misses.json: the faiss shortlist of 150 codes (300, the
    # library's default since cv_shortlist_today.json, is the variant "shortlist 300")
    "default": {"shortlist_k": 150},
    "shortlist 300": {"shortlist_k": 300},
    "index overlap candidates 30": {"index_overlap_k": 30},
    "index overlap candidates 50": {"index_overlap_k": 50},
    "family expansion 100": {"family_expansion": 100},
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=HERE / "fold_misses.json")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(2)
    from cv_choices import FOLDS, SEED
    from harness import ExperimentContext

    from icdbridge.data import load_codiesp
    from icdbridge.environment import software_environment
    from icdbridge.model import LabelTextOptions, PipelineConfig, seeded_folds
    from icdbridge.model.config import DEFAULT_INDEX_PHRASES
    from icdbridge.model.features import FeatureInputs, TrainingMemory
    from icdbridge.model.features.featurize import featurize
    from icdbridge.outputs import write_text

    train = load_codiesp(split="train")
    ctx = ExperimentContext.for_codiesp(train, fit=train, tune=[], dev=[])
    terminology = ctx.terminology
    options = LabelTextOptions(synonyms=False, ancestors=False)
    defaults = PipelineConfig()
    index_phrases = list(DEFAULT_INDEX_PHRASES)
    window_cache: dict = {}
    parts = seeded_folds(train, FOLDS, SEED)
    results: dict = {"split": "CodiEsp train, 3 seeded folds (cv_choices.py)", "variants": {}}
    misses: list[tuple[str, frozenset[str]]] = []  # default: (missed code, its note's candidates)
    reached = {name: [0, 0, 0] for name in args.variants}  # reached, pairs, candidates
    for k, held in enumerate(parts):
        rest = [d for j, part in enumerate(parts) if j != k for d in part]
        space, lexical, extra = ctx.fold_label_space(rest, options, True, index_phrases)
        memory = TrainingMemory(defaults.neighbours_k).fit(
            [d.id for d in rest], [d.text for d in rest], [d.codes for d in rest]
        )
        seen = {c for d in rest for c in d.codes}
        for name in args.variants:
            config = PipelineConfig(
                release=terminology.release,
                extra_codes=extra,
                seventh_character_bases=True,
                label_options=options.to_dict(),
                index_phrases=index_phrases,
                **VARIANTS[name],
            )
            featured = featurize(
                held, FeatureInputs(ctx.encoder, space, config, memory, lexical, None, window_cache)
            )
            for doc, features in zip(held, featured, strict=True):
                candidates = frozenset(features.candidates)
                reached[name][2] += len(candidates)
                for code in set(doc.codes) - seen:
                    reached[name][1] += 1
                    reached[name][0] += code in candidates
                    if name == "default" and code not in candidates:
                        misses.append((code, candidates))
            print(k, name, reached[name], flush=True)
    for name, (hit, pairs, n_candidates) in reached.items():
        results["variants"][name] = {
            "unseen_ceiling": round(hit / pairs, 4),
            "unseen_pairs": pairs,
            "candidates_per_note": round(n_candidates / len(train), 1),
        }
    if "default" in args.variants:
        near, chapters = Counter(), Counter()
        for code, candidates in misses:
            parent = terminology.parent(code) if terminology.is_defined(code) else None
            category = code.split(".")[0]
            if parent and parent in candidates:
                near["parent among candidates"] += 1
            elif parent and any(
                terminology.parent(c) == parent for c in candidates if terminology.is_defined(c)
            ):
                near["sibling among candidates"] += 1
            elif any(c.split(".")[0] == category for c in candidates):
                near["same 3-character category among candidates"] += 1
            elif not terminology.is_defined(code):
                near["not defined in the release"] += 1
            else:
                near["nothing near"] += 1
            chapters[code[0]] += 1
        missed = Counter(code for code, _ in misses)
        results["default_misses"] = {
            "pairs": len(misses),
            "by_what_is_near": dict(near.most_common()),
            "by_first_letter": dict(chapters.most_common()),
            # the 40 most missed codes, ties in code order (not in the order of sets, which
            # changes with Python's string hash seed)
            "codes": dict(sorted(missed.items(), key=lambda kv: (-kv[1], kv[0]))[:40]),
        }
    results["environment"] = software_environment()
    print(json.dumps({k: v for k, v in results.items() if k != "environment"}, indent=1))
    write_text(args.out, json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
