"""Measure the loss choice of the label-embedding model (BCE with sampled negatives vs the
multi-positive contrastive loss) on the CodiEsp train split: train on ``fit``, report the MAP on
``tune`` (same seeded split, label space and settings as row (d) of ``run.py``).

    python experiments/codiesp_zeroshot/loss_choice.py   # -> loss_choice.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
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
    space = LabelSpace(ctx.label_embeddings(options), terminology, 3)
    known = set(label_space_codes(terminology, "all"))
    cache: dict = {}
    results = {}
    for loss in ("bce", "contrastive"):
        pipeline = PipelineConfig(
            release="2026",
            encoder=str(ctx.encoder_path),
            extra_codes=extra_codes_of(train, known),
            label_options=options.to_dict(),
        )
        started = time.perf_counter()
        result = train_model(
            fit,
            tune,
            pipeline,
            train_config=TrainConfig(epochs=25, patience=5, seed=13, negatives=192, loss=loss),
            encoder=ctx.encoder,
            space=space,
            lexical=ctx.lexical(),
            window_cache=cache,
        )
        results[loss] = {
            "tune_map_uncalibrated": round(result.best_val_map, 4),
            "tune_map_calibrated": round(result.predictor.calibrator.validation_map_, 4),
            "epochs": len(result.history),
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(loss, results[loss], flush=True)
    (HERE / "loss_choice.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
