"""Model rows (d)(e)(f) of the CodiEsp zero-shot table: the trained label-embedding model and
its ablations, through the interface of README.md (``run_model_rows``).

- ``model``: :func:`icdbridge.model.training.train_model` with every component;
- ``model_no_hierarchy``: the same without the hierarchy component (``use_hierarchy=False``);
- ``model_no_lexical``: the same without the lexical channel (no lexical candidates, no lexical
  feature).

Each row trains on ``ctx.fit_docs``, early-stops and calibrates on ``ctx.tune_docs`` and scores
``ctx.dev_docs`` over the full label space (faiss shortlist + lexical matches + codes seen in
training). Window embeddings of fit/tune documents are shared between rows (encoded once); the
dev documents are encoded afresh inside each row's timed prediction. Checkpoints go to
``ctx.out_dir/work/`` (git-ignored).
"""

from __future__ import annotations

import time

from harness import ExperimentContext, ScoredRun

ROW_SETTINGS: dict[str, dict[str, bool]] = {
    "model": {"use_hierarchy": True, "use_lexical": True},
    "model_no_hierarchy": {"use_hierarchy": False, "use_lexical": True},
    "model_no_lexical": {"use_hierarchy": True, "use_lexical": False},
}
"""Row name → component switches."""


def run_model_rows(ctx: ExperimentContext, rows: list[str]) -> dict[str, ScoredRun]:
    """Train and score each requested model row; return row name → ScoredRun."""
    from icdbridge.model.label_text import LabelTextOptions
    from icdbridge.model.network import ModelConfig
    from icdbridge.model.predictor import LabelSpace, PipelineConfig
    from icdbridge.model.training import TrainConfig, extra_codes_of, train_model

    started = time.perf_counter()
    # description-only label texts: the same cached embeddings as the cosine baseline (b); the
    # ancestors enter through the hierarchy component instead of the label text
    options = LabelTextOptions(synonyms=False, ancestors=False)
    labels = ctx.label_embeddings(options)
    space = LabelSpace(labels, ctx.terminology, PipelineConfig().max_ancestors)
    setup_seconds = time.perf_counter() - started
    print(f"label space ready in {setup_seconds:.0f}s ({len(space)} codes)", flush=True)
    leaves = set(ctx.terminology.codes(leaves_only=True))
    window_cache: dict = {}
    train_config = TrainConfig(
        epochs=3 if ctx.fast else 25, patience=5, seed=ctx.seed, batch_size=16, negatives=192
    )
    fit, tune, dev = ctx.fit_docs, ctx.tune_docs, ctx.dev_docs
    if ctx.fast:  # smoke run: fewer training documents (tune/dev stay whole: the table needs them)
        fit = fit[:60]
    out: dict[str, ScoredRun] = {}
    for name in rows:
        switches = ROW_SETTINGS[name]
        pipeline = PipelineConfig(
            system="icd10cm",
            release=ctx.terminology.release,
            encoder=str(ctx.encoder_path),
            use_lexical=switches["use_lexical"],
            extra_codes=extra_codes_of(fit + tune, leaves),
            label_options=options.to_dict(),
        )
        lexical = ctx.lexical() if switches["use_lexical"] else None
        t0 = time.perf_counter()
        result = train_model(
            fit,
            tune,
            pipeline,
            ModelConfig(use_hierarchy=switches["use_hierarchy"]),
            train_config,
            checkpoint_dir=ctx.out_dir / "work" / name,
            encoder=ctx.encoder,
            space=space,
            lexical=lexical,
            window_cache=window_cache,
            progress=False,
        )
        train_seconds = time.perf_counter() - t0
        predictor = result.predictor
        print(
            f"{name}: trained in {train_seconds:.0f}s, best tune MAP {result.best_val_map:.3f}, "
            f"calibration {predictor.calibrator.to_dict()}",
            flush=True,
        )
        t0 = time.perf_counter()
        dev_predictions = predictor.predict(dev, top_k=None)
        predict_seconds = time.perf_counter() - t0
        predictor.window_cache = window_cache
        tune_predictions = predictor.predict(tune, top_k=None)
        predictor.window_cache = None
        epochs = len(result.history)
        out[name] = ScoredRun(
            dev_scores=[p.scores for p in dev_predictions],
            tune_scores=[p.scores for p in tune_predictions],
            train_seconds=train_seconds,
            predict_seconds=predict_seconds,
            shortlist=[set(p.scores) for p in dev_predictions],
            notes=(
                f"frozen MiniLM windows (128 tok, stride 96) + heads trained {epochs} epochs "
                f"(early stop on tune MAP {result.best_val_map:.3f}); candidates = faiss top-150 "
                f"+ {'lexical + ' if switches['use_lexical'] else ''}codes seen in fit; "
                f"unseen offset {predictor.calibrator.unseen_offset_:+.2f}, temperature "
                f"{predictor.calibrator.unseen_temperature_:g} (max tune unseen R@20 within "
                f"{predictor.calibrator.map_tolerance:g} of the best tune MAP: tune MAP "
                f"{predictor.calibrator.validation_map_:.3f}, unseen R@20 "
                f"{predictor.calibrator.validation_unseen_recall_ or 0.0:.3f}); shared "
                f"label-embedding cache "
                f"({setup_seconds:.0f}s to load) not counted in train s"
            ),
        )
    return out
