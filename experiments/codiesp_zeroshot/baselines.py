"""Baseline rows (a)–(c) of the CodiEsp zero-shot table: TF-IDF neighbours, zero-shot cosine,
lexical channel. Each is ``(ctx: ExperimentContext) -> ScoredRun``; see README.md."""

from __future__ import annotations

import time
from collections.abc import Sequence

from harness import SETTINGS, ExperimentContext, ScoredRun

TFIDF_NEIGHBOURS: int = SETTINGS["baselines"]["tfidf_neighbours"]
"""Nearest fit documents whose codes the TF-IDF baseline votes (``settings.toml``)."""
COSINE_TOP: int = SETTINGS["baselines"]["cosine_top"]
"""Codes kept per document (and per sentence in the faiss search) by the cosine baseline."""


def tfidf_row(ctx: ExperimentContext) -> ScoredRun:
    """(a) score(code) = Σ_{20 nearest fit documents} cosine · [code ∈ neighbour] / Σ cosine."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    start = time.perf_counter()
    vectorizer = TfidfVectorizer(
        sublinear_tf=True, ngram_range=(1, 2), min_df=2, stop_words="english"
    )
    fit_matrix = vectorizer.fit_transform([d.text for d in ctx.fit_docs])
    fit_codes = [set(d.codes) for d in ctx.fit_docs]
    train_seconds = time.perf_counter() - start

    def score(docs) -> list[dict[str, float]]:
        sims = (vectorizer.transform([d.text for d in docs]) @ fit_matrix.T).toarray()
        out = []
        for row in sims:
            top = np.argsort(-row, kind="stable")[:TFIDF_NEIGHBOURS]
            total = float(row[top].sum()) or 1.0
            scores: dict[str, float] = {}
            for j in top:
                for code in fit_codes[j]:
                    scores[code] = scores.get(code, 0.0) + float(row[j]) / total
            # ties (codes of the same neighbours) in code order, not in the order of sets,
            # which changes with Python's string hash seed
            out.append(dict(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))))
        return out

    tune_scores = score(ctx.tune_docs)
    start = time.perf_counter()
    dev_scores = score(ctx.dev_docs)
    predict_seconds = time.perf_counter() - start
    return ScoredRun(
        dev_scores,
        tune_scores,
        train_seconds,
        predict_seconds,
        notes=f"TF-IDF (1-2 grams, sublinear) cosine, {TFIDF_NEIGHBOURS} nearest fit documents",
    )


def cosine_scores(ctx: ExperimentContext, index, docs: Sequence) -> list[dict[str, float]]:
    """Max over sentences of cosine(label description, sentence), top :data:`COSINE_TOP`."""
    from icdbridge.model.labels import sentence_cosine

    return sentence_cosine(ctx.encoder, index, [d.text for d in docs], COSINE_TOP)


def cosine_row(ctx: ExperimentContext) -> ScoredRun:
    """(b) Zero-shot cosine: untuned encoder, description only, max over sentences (faiss exact)."""
    from icdbridge.model import LabelTextOptions
    from icdbridge.model.labels import CandidateIndex

    start = time.perf_counter()
    labels = ctx.label_embeddings(LabelTextOptions(synonyms=False, ancestors=False))
    index = CandidateIndex.from_embeddings(labels)
    build_seconds = time.perf_counter() - start
    tune_scores = cosine_scores(ctx, index, ctx.tune_docs)
    start = time.perf_counter()
    dev_scores = cosine_scores(ctx, index, ctx.dev_docs)
    predict_seconds = time.perf_counter() - start
    return ScoredRun(
        dev_scores,
        tune_scores,
        0.0,
        predict_seconds,
        shortlist=[set(s) for s in dev_scores],
        notes=f"no training; label index (embeddings, from cache when present) + faiss "
        f"{build_seconds:.0f}s; top {COSINE_TOP} per document (exact: faiss flat top "
        f"{COSINE_TOP} per sentence, max over sentences)",
    )


def lexical_row(ctx: ExperimentContext) -> ScoredRun:
    """(c) The lexical channel alone (``icdbridge.model.lexical.matcher``), reading each note's
    English
    translation and, through the word gloss, its Spanish original
    (``icdbridge.model.lexical.channel.document_lexical_scores``)."""
    from icdbridge.model import document_lexical_scores
    from icdbridge.model.lexical import glosser_for

    start = time.perf_counter()
    matcher = ctx.lexical()
    glosser_for("es", ctx.terminology)  # the word gloss of the originals: built once, cached
    build_seconds = time.perf_counter() - start

    def scores(docs):
        return [document_lexical_scores(matcher, d, ctx.terminology) for d in docs]

    tune_scores = scores(ctx.tune_docs)
    start = time.perf_counter()
    dev_scores = scores(ctx.dev_docs)
    predict_seconds = time.perf_counter() - start
    return ScoredRun(
        dev_scores,
        tune_scores,
        build_seconds,
        predict_seconds,
        notes=f"dictionary of {len(matcher)} phrases and Spanish word gloss built in "
        f"{build_seconds:.1f}s (train time = build time; no training data used); reads the "
        "English text and the Spanish original",
    )


BASELINE_ROWS = {"tfidf": tfidf_row, "cosine": cosine_row, "lexical": lexical_row}
"""Row name → row function."""
