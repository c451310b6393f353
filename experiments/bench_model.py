"""The trained model's hook for ``bench_predict.py --model MODEL_DIR``.

``make_predict(model_dir)`` loads a directory written by ``icdbridge train`` (loading, the
label index of the whole ICD-10-CM release, the Spanish word gloss and the word-overlap table
are built here, outside the timed part) and returns a function that ranks documents over the
whole release, document encoding included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from icdbridge.data import Document
from icdbridge.model import load_model


def make_predict(model_dir: Path) -> Callable[..., Any]:
    """Return ``predict(docs, shortlist_k=None)`` for the trained model in ``model_dir`` (top 50
    codes per doc); ``shortlist_k`` replaces, for that call, the faiss shortlist size the model
    was trained with (the predictor keeps no state between calls)."""
    from dataclasses import replace

    from icdbridge.model.lexical import glosser_for

    predictor = load_model(model_dir, progress=True)
    # one-off builds are loading, not throughput: the word gloss, the word-overlap table
    if predictor.config.reads_originals:
        glosser_for("es", predictor.space.terminology)
    if predictor.needs_word_overlap:
        _ = predictor.space.overlap
    trained = predictor.config

    def predict(docs: Sequence[Document], shortlist_k: int | None = None) -> Any:
        if shortlist_k is not None:
            predictor.config = replace(trained, shortlist_k=shortlist_k)
        try:
            return predictor.predict(list(docs), top_k=50)
        finally:
            predictor.config = trained

    return predict
