"""The zero-shot label-embedding model: build, train, save, load, predict, embed labels.

Public API (everything a user or an experiment needs; see ``docs/architecture.md`` for the data
flow and which sub-package holds what)::

    from icdbridge.model import PipelineConfig, TrainConfig, train_model, load_model

    result = train_model(train_docs, dev_docs, PipelineConfig(), out_dir="model/")
    predictor = load_model("model/")
    predictions = predictor.predict(docs, top_k=50, explain=True)
    # any other code system, release or hierarchy file (routes: direct, crosswalk, blend)
    rows = predict_documents("model/", docs, system="icd11")

Sub-packages, one concept each:

* :mod:`~icdbridge.model.text` — the encoder and how notes are cut into pieces.
* :mod:`~icdbridge.model.labels` — label texts, cached label embeddings, the label space and
  its faiss index, the code tree's label features.
* :mod:`~icdbridge.model.lexical` — the lexical (dictionary) channel, word overlap, the
  original-language gloss.
* :mod:`~icdbridge.model.features` — featurisation: candidates and pair features, the training
  memory.
* :mod:`~icdbridge.model.net` — the networks and losses (plain ``nn.Module``\\ s).
* :mod:`~icdbridge.model.train` — Lightning training, folds, fine-tuning (never imported by
  prediction).
* :mod:`~icdbridge.model.config` (every default), :mod:`~icdbridge.model.calibration`,
  :mod:`~icdbridge.model.predict`, :mod:`~icdbridge.model.io` (save / load),
  :mod:`~icdbridge.model.routes` and :mod:`~icdbridge.model.routed` (predicting in another code
  system: the direct, crosswalk and blend routes).

Nothing here is imported by ``import icdbridge``, and names load lazily: torch is imported only
when a name that needs it is first used.
"""

from icdbridge.model._exports import lazy_exports

_EXPORTS = {
    # settings (the only home of every default)
    "PipelineConfig": ".config",
    "ModelConfig": ".config",
    "TrainConfig": ".config",
    "LABEL_SPACES": ".config",
    # build
    "TextEncoder": ".text.encoder",
    "LabelSpace": ".labels.space",
    "build_label_space": ".labels.space",
    "label_space_codes": ".labels.space",
    "build_lexical": ".lexical.channel",
    "document_lexical_scores": ".lexical.channel",
    "zero_shot_predictor": ".predict",
    # embed labels
    "LabelTextOptions": ".labels.texts",
    "LabelEmbeddings": ".labels.cache",
    "embed_labels": ".labels.cache",
    # train
    "train_model": ".train.loop",
    "TrainResult": ".train.loop",
    "load_documents": ".train.loop",
    "extra_codes_of": ".train.loop",
    "seeded_folds": ".train.folds",
    # save / load
    "save_model": ".io",
    "load_model": ".io",
    # predict
    "Predictor": ".predict",
    "Prediction": ".predict",
    "write_predictions": ".predict",
    "mean_scores": ".predict",
    # predict in any code system: direct, crosswalk and blend routes
    "ROUTES": ".routes",
    "EdgeWeights": ".routes",
    "load_routed": ".routed",
    "predict_documents": ".routed",
    "RoutedPredictor": ".routed",
    "RoutedPrediction": ".routed",
    # calibration
    "Calibrator": ".calibration",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
