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
  :mod:`~icdbridge.model.operating_points` (balanced / max-map / unseen),
  :mod:`~icdbridge.model.upgrade` (predicting in a newer release),
  :mod:`~icdbridge.model.predict`, :mod:`~icdbridge.model.io` (save / load),
  :mod:`~icdbridge.model.routes` and :mod:`~icdbridge.model.routed` (predicting in another code
  system: the direct, crosswalk and blend routes).

Nothing here is imported by ``import icdbridge``, and names load lazily: torch is imported only
when a name that needs it is first used.
"""

from typing import TYPE_CHECKING

from icdbridge.model._exports import lazy_package

if TYPE_CHECKING:  # the public names, imported on first use (see _exports)
    from .calibration import Calibrator
    from .config import LABEL_SPACES, ModelConfig, PipelineConfig, TrainConfig
    from .io import load_model, save_model
    from .labels.cache import LabelEmbeddings, embed_labels
    from .labels.space import LabelSpace, build_label_space, label_space_codes
    from .labels.texts import LabelTextOptions
    from .lexical.channel import build_lexical, document_lexical_scores
    from .operating_points import OPERATING_POINTS, OperatingPointError, fit_operating_points
    from .predict import Prediction, Predictor, mean_scores, write_predictions, zero_shot_predictor
    from .routed import RoutedPrediction, RoutedPredictor, load_routed, predict_documents
    from .routes import ROUTES, EdgeWeights
    from .text.encoder import TextEncoder
    from .train.folds import seeded_folds
    from .train.loop import TrainResult, extra_codes_of, load_documents, train_model
    from .upgrade import ReleaseChanges, release_changes

__all__, __getattr__, __dir__ = lazy_package(__name__, __file__)
