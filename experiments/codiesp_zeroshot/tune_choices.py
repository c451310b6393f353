"""Training choices of the label-embedding model, measured on the CodiEsp **tune** slice only.

Each variant trains on ``fit`` and reports the tune-slice MAP (before and after calibration) and
the calibrated tune recall@20 of codes unseen in ``fit`` — same seeded split, label space and
settings as row (d) of ``run.py``; dev is never read:

- ``bce`` (the default) vs ``contrastive``: the loss (BCE over positives and sampled negatives,
  or the multi-positive in-batch contrastive loss);
- ``shortlist 300`` / ``shortlist 600``: a wider faiss shortlist per note than the default 150
  (``PipelineConfig.shortlist_k``), which reaches more unseen codes (``design_checks.py``).

    python experiments/codiesp_zeroshot/tune_choices.py   # -> tune_choices.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

VARIANTS = {
    "bce": {"loss": "bce", "shortlist_k": 150},
    "contrastive": {"loss": "contrastive", "shortlist_k": 150},
    "shortlist 300": {"loss": "bce", "shortlist_k": 300},
    "shortlist 600": {"loss": "bce", "shortlist_k": 600},
}


def main() -> None:
    import torch

    torch.set_num_threads(2)
    from harness import ExperimentContext, split_train

    from icdbridge.data import load_codiesp
    from icdbridge.model.label_text import LabelTextOptions
    from icdbridge.model.predictor import LabelSpace, PipelineConfig, label_space_codes
    from icdbridge.model.training import TrainConfig, extra_codes_of, train_model

    train = load_codiesp(split="train")
    fit, tune = split_train(train, 13)
    ctx = ExperimentContext.for_codiesp(train, fit=fit, tune=tune, dev=[])
    terminology = ctx.terminology
    options = LabelTextOptions(synonyms=False, ancestors=False)
    space = LabelSpace(ctx.label_embeddings(options), terminology, PipelineConfig().max_ancestors)
    known = set(label_space_codes(terminology, "all"))
    results = {}
    for name, variant in VARIANTS.items():
        pipeline = PipelineConfig(
            release=terminology.release,
            encoder=str(ctx.encoder_path),
            extra_codes=extra_codes_of(train, known),
            label_options=options.to_dict(),
            shortlist_k=variant["shortlist_k"],
        )
        started = time.perf_counter()
        result = train_model(
            fit,
            tune,
            pipeline,
            train_config=TrainConfig(
                epochs=25, patience=5, seed=13, batch_size=16, negatives=192, loss=variant["loss"]
            ),
            encoder=ctx.encoder,
            space=space,
            lexical=ctx.lexical(),
            window_cache={},
            progress=False,
        )
        calibrator = result.predictor.calibrator
        results[name] = {
            **variant,
            "tune_map_uncalibrated": round(result.best_val_map, 4),
            "tune_map_calibrated": round(calibrator.validation_map_, 4),
            "tune_unseen_recall@20_calibrated": round(calibrator.validation_unseen_recall_, 4),
            "epochs": len(result.history),
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(name, results[name], flush=True)
    (HERE / "tune_choices.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
