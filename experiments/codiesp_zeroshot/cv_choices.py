"""Training choices of the label-embedding model, cross-validated over the CodiEsp **train**
split (dev is never read here).

The 500 train documents are cut, seeded, into three folds (167, 167, 166). For each fold the
other 333 or 334 documents are split as the main protocol splits the train split
(``split_train``: 50 *tune* documents for early stopping, calibration and the threshold, the
rest *fit*); the model trains on fit and ranks the held-out fold over the full label space
(every ICD-10-CM 2026 code plus the train spellings it lacks). Each variant reports, over the
500 held-out rankings, MAP and the recall@10/20/50 of codes *unseen* in that fold's training
documents (about ten times the unseen gold pairs the tune slice alone has), and per fold (with
the unseen-code offset and temperature its calibration chose), so that the spread is visible:

- ``default``: the default model (multi-positive contrastive loss, family memory features,
  word-overlap features; the lexical channel also reads the Spanish original of each note;
  calibration by the harmonic mean of tune MAP and tune unseen recall@20);
- ``no original``: the lexical channel reads the English translation only
  (``PipelineConfig.use_original = False``);
- ``family expansion``: the candidates also take in the family (parent, siblings and children)
  of the best 30 shortlist, lexical and neighbour codes (``PipelineConfig.family_expansion =
  30``, the default before the original was read);
- ``no family``: without the family features (``FAMILY_FEATURES``);
- ``no overlap``: without the word-overlap features (``OVERLAP_FEATURES``: the IDF-weighted
  share of a code's title words in the note and in its best sentence);
- ``overlap candidates``: the 50 codes of highest word overlap also join the candidates
  (``PipelineConfig.overlap_k = 50``);
- ``bce``: BCE over positives and sampled negatives instead of the contrastive loss.

For the default variant the unseen-code calibration is also refitted on each fold's tune slice
with the other objectives (``Calibrator.map_tolerance``: pure MAP and MAP tolerances 0.01, 0.05,
0.1 against the default harmonic mean) and each is scored on the held-out folds (key
``calibration`` of the output).

    python experiments/codiesp_zeroshot/cv_choices.py [--variants NAME ...]  # -> cv_choices.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

FOLDS = 3

_DEFAULT = {
    "loss": "contrastive",
    "family_features": True,
    "family_expansion": 0,
    "original": True,
    "overlap_features": True,
    "overlap_k": 0,
}
VARIANTS: dict[str, dict] = {
    "default": _DEFAULT,
    "no original": _DEFAULT | {"original": False},
    "family expansion": _DEFAULT | {"family_expansion": 30},
    "no family": _DEFAULT | {"family_features": False},
    "no overlap": _DEFAULT | {"overlap_features": False},
    "overlap candidates": _DEFAULT | {"overlap_k": 50},
    "bce": _DEFAULT | {"loss": "bce"},
}
"""Variant name → settings; the first is the default model."""

OBJECTIVES: dict[str, float | None] = {
    "harmonic mean (default)": None,
    "max MAP": 0.0,
    "MAP tolerance 0.01": 0.01,
    "MAP tolerance 0.05": 0.05,
    "MAP tolerance 0.1": 0.1,
}
"""Calibration objectives compared on the default variant (``Calibrator.map_tolerance``)."""


def folds_of(docs: list, folds: int = FOLDS, seed: int = 13) -> list[list]:
    """Seeded partition of ``docs`` into ``folds`` parts of (nearly) equal size."""
    order = sorted(docs, key=lambda d: d.id)
    random.Random(seed).shuffle(order)
    return [order[i::folds] for i in range(folds)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=HERE / "cv_choices.json")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(2)
    from harness import ExperimentContext, split_train
    from metrics import mean_ap, recall_at_k_by_bucket, train_frequency

    from icdbridge.data import load_codiesp
    from icdbridge.model.calibration import Calibrator
    from icdbridge.model.label_text import LabelTextOptions
    from icdbridge.model.network import (
        FAMILY_FEATURES,
        OVERLAP_FEATURES,
        PAIR_FEATURES,
        ModelConfig,
    )
    from icdbridge.model.predictor import LabelSpace, PipelineConfig, label_space_codes
    from icdbridge.model.training import TrainConfig, extra_codes_of, train_model

    train = load_codiesp(split="train")
    ctx = ExperimentContext.for_codiesp(train, fit=train, tune=[], dev=[])
    terminology = ctx.terminology
    options = LabelTextOptions(synonyms=False, ancestors=False)
    space = LabelSpace(ctx.label_embeddings(options), terminology, PipelineConfig().max_ancestors)
    known = set(label_space_codes(terminology, "all"))
    lexical = ctx.lexical()
    window_cache: dict = {}
    parts = folds_of(train)
    stored = json.loads(args.out.read_text()) if args.out.is_file() else {}
    # variants that no longer exist (and a calibration table of another run) are dropped
    results = {k: v for k, v in stored.items() if k in VARIANTS and k not in args.variants}
    calibrated: dict[str, tuple[list, list, list]] = {o: ([], [], []) for o in OBJECTIVES}
    for name in args.variants:
        variant = VARIANTS[name]
        features = tuple(
            f
            for f in PAIR_FEATURES
            if (variant["family_features"] or f not in FAMILY_FEATURES)
            and (variant["overlap_features"] or f not in OVERLAP_FEATURES)
        )
        gold, scores, unseen, per_fold = [], [], [], []
        started = time.perf_counter()
        for k, held in enumerate(parts):
            rest = [d for j, part in enumerate(parts) if j != k for d in part]
            fit, tune = split_train(rest, 13)
            pipeline = PipelineConfig(
                release=terminology.release,
                encoder=str(ctx.encoder_path),
                extra_codes=extra_codes_of(train, known),
                label_options=options.to_dict(),
                family_expansion=variant["family_expansion"],
                overlap_k=variant["overlap_k"],
                use_original=variant["original"],
            )
            result = train_model(
                fit,
                tune,
                pipeline,
                ModelConfig(features=features),
                TrainConfig(
                    epochs=25,
                    patience=5,
                    seed=13,
                    batch_size=16,
                    negatives=192,
                    loss=variant["loss"],
                ),
                encoder=ctx.encoder,
                space=space,
                lexical=lexical,
                window_cache=window_cache,
                progress=False,
            )
            predictor = result.predictor
            predictor.window_cache = window_cache
            raw_held = predictor.raw_scores(held)
            fold_scores = [predictor.calibrator.apply(r, predictor.seen) for r in raw_held]
            fold_gold = [set(d.codes) for d in held]
            frequency = train_frequency(rest)
            if name == "default":
                raw_tune = predictor.raw_scores(tune)
                for objective, tolerance in OBJECTIVES.items():
                    calibrator = Calibrator(map_tolerance=tolerance).fit(
                        raw_tune, [set(d.codes) for d in tune], predictor.seen
                    )
                    objective_scores = [calibrator.apply(r, predictor.seen) for r in raw_held]
                    calibrated[objective][0].extend(fold_gold)
                    calibrated[objective][1].extend(objective_scores)
                    calibrated[objective][2].append(
                        recall_at_k_by_bucket(fold_gold, objective_scores, frequency)["unseen"]
                    )
            fold_recall = recall_at_k_by_bucket(fold_gold, fold_scores, frequency)["unseen"]
            per_fold.append(
                {
                    "map": round(mean_ap(fold_gold, fold_scores), 4),
                    "unseen_recall@20": round(fold_recall["recall@20"], 4),
                    "unseen_pairs": fold_recall["n"],
                    "epochs": len(result.history),
                    "unseen_offset": predictor.calibrator.unseen_offset_,
                    "unseen_temperature": predictor.calibrator.unseen_temperature_,
                }
            )
            print(name, k, per_fold[-1], flush=True)
            gold += fold_gold
            scores += fold_scores
            unseen.append(fold_recall)  # unseen relative to each fold's own training documents
        pooled = {f"recall@{k}": 0.0 for k in (10, 20, 50)}
        pairs = 0
        for bucket in unseen:
            pairs += bucket["n"]
            for key in pooled:
                pooled[key] += bucket[key] * bucket["n"]
        results[name] = {
            **variant,
            "map": round(mean_ap(gold, scores), 4),
            **{f"unseen_{key}": round(value / pairs, 4) for key, value in pooled.items()},
            "unseen_pairs": pairs,
            "folds": per_fold,
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(name, {k: v for k, v in results[name].items() if k != "folds"}, flush=True)
        if name == "default":
            results["calibration"] = {
                objective: {
                    "map": round(mean_ap(gold_, scores_), 4),
                    "unseen_recall@20": round(
                        sum(b["recall@20"] * b["n"] for b in buckets)
                        / sum(b["n"] for b in buckets),
                        4,
                    ),
                }
                for objective, (gold_, scores_, buckets) in calibrated.items()
            }
            print("calibration", results["calibration"], flush=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
