"""Candidate retrieval over label embeddings with faiss: shortlist K codes per document.

Scoring every one of ~74,000 ICD-10-CM codes with attention is too slow on a CPU, so a
:class:`CandidateIndex` (faiss inner-product index over L2-normalised label embeddings, i.e.
cosine similarity) finds, for each window / sentence embedding of a document, its top-``k``
labels; the document's shortlist is the union over its pieces, each code scored by its **maximum**
similarity over the pieces, cut to the ``size`` best (:meth:`CandidateIndex.shortlist`).

Index kinds (registry :data:`INDEX_KINDS`): ``"flat"`` (exact ``IndexFlatIP``, default) and
``"hnsw"`` (approximate ``IndexHNSWFlat`` with inner product). With ``faiss-gpu`` installed and a
GPU visible, flat indexes are moved to the GPU (``use_gpu="auto"``).

:func:`shortlist_recall` measures the fraction of gold (document, code) pairs that survive the
shortlist — the ceiling of any reranker working on it. :func:`sentence_cosine` is the zero-shot
cosine baseline: each label against each sentence, max over sentences.

Example:
    >>> import torch
    >>> m = torch.nn.functional.normalize(torch.eye(3), dim=1)
    >>> index = CandidateIndex(["A00", "B00", "C00"], m)
    >>> index.search(m[:1], k=2)[1][0]
    ['A00', 'B00']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from icdbridge.model.labels.cache import LabelEmbeddings
    from icdbridge.model.text.encoder import TextEncoder


def _flat(dim: int, **_: Any):
    import faiss

    return faiss.IndexFlatIP(dim)


def _hnsw(dim: int, hnsw_m: int = 32, ef_search: int = 128, **_: Any):
    import faiss

    index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efSearch = ef_search
    index.hnsw.efConstruction = 80
    return index


INDEX_KINDS: dict[str, Callable[..., Any]] = {"flat": _flat, "hnsw": _hnsw}
"""Index kind → factory ``(dim, **options) -> faiss index``."""

SEARCH_BATCH = 8192
"""Most queries :meth:`CandidateIndex.shortlists` sends to faiss in one search (bounds the
``(queries, k)`` result arrays while keeping the matrix products large)."""


def _as_numpy(vectors: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(vectors, torch.Tensor):
        vectors = vectors.detach().to("cpu", torch.float32).numpy()
    return np.ascontiguousarray(vectors, dtype=np.float32)


def gpu_available() -> bool:
    """Whether faiss was built with GPU support and sees a GPU."""
    import faiss

    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


class CandidateIndex:
    """A faiss index over label embeddings that returns codes.

    Args:
        codes: Label codes, in row order of ``matrix``. A code may own several rows (a title
            and its aliases, :mod:`~icdbridge.model.labels.aliases`): the shortlist scores it
            by its best row.
        matrix: ``(len(codes), dim)`` label embeddings (L2-normalised for cosine scores).
        kind: One of :data:`INDEX_KINDS`.
        use_gpu: ``"auto"`` (GPU when faiss-gpu sees one, flat indexes only), ``True`` or
            ``False``.
        **options: Options of the index factory (``hnsw_m``, ``ef_search``).
    """

    def __init__(
        self,
        codes: Sequence[str],
        matrix: torch.Tensor | np.ndarray,
        *,
        kind: str = "flat",
        use_gpu: bool | str = "auto",
        **options: Any,
    ) -> None:
        if kind not in INDEX_KINDS:
            raise ValueError(f"unknown index kind {kind!r} (expected one of {list(INDEX_KINDS)})")
        vectors = _as_numpy(matrix)
        if vectors.ndim != 2 or vectors.shape[0] != len(codes):
            raise ValueError(f"matrix of shape {vectors.shape} does not match {len(codes)} codes")
        self.codes = list(codes)
        self.kind = kind
        self.dim = int(vectors.shape[1])
        index = INDEX_KINDS[kind](self.dim, **options)
        self.on_gpu = False
        if kind == "flat" and (use_gpu is True or (use_gpu == "auto" and gpu_available())):
            import faiss

            self._gpu_resources = faiss.StandardGpuResources()
            index = faiss.index_cpu_to_gpu(self._gpu_resources, 0, index)
            self.on_gpu = True
        index.add(vectors)
        self.index = index

    @classmethod
    def from_embeddings(cls, labels: LabelEmbeddings, **kwargs: Any) -> CandidateIndex:
        """Build an index over :class:`~icdbridge.model.labels.cache.LabelEmbeddings`."""
        return cls(labels.codes, labels.matrix, **kwargs)

    def __len__(self) -> int:
        return len(self.codes)

    def search_ids(
        self, queries: torch.Tensor | np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Raw faiss search: ``(scores, row ids)``, each ``(n_queries, k)``; -1 ids pad."""
        vectors = _as_numpy(queries)
        if vectors.ndim == 1:
            vectors = vectors[None, :]
        k = max(1, min(k, len(self.codes)))
        return self.index.search(vectors, k)

    def search(
        self, queries: torch.Tensor | np.ndarray, k: int
    ) -> tuple[np.ndarray, list[list[str]]]:
        """Top-``k`` labels of each query: ``(scores (n, k), codes per query)``, best first."""
        scores, ids = self.search_ids(queries, k)
        codes = [[self.codes[i] for i in row if i >= 0] for row in ids]
        return scores, codes

    def shortlist(
        self, piece_vectors: torch.Tensor | np.ndarray, k: int = 50, size: int = 200
    ) -> dict[str, float]:
        """One document's shortlist: union of each piece's top-``k``, max score, best ``size``.

        Args:
            piece_vectors: ``(n_pieces, dim)`` embeddings of the document's windows/sentences.
            k: Labels retrieved per piece.
            size: Codes kept in the shortlist (``K``).

        Returns:
            Code → max cosine over the pieces, ordered best first (dict insertion order).
        """
        return self.shortlists([piece_vectors], k, size)[0]

    def _merge(self, scores: np.ndarray, ids: np.ndarray, size: int) -> dict[str, float]:
        codes = self.codes
        best: dict[str, float] = {}
        for row_scores, row_ids in zip(scores, ids, strict=True):
            for score, i in zip(row_scores.tolist(), row_ids.tolist(), strict=True):
                if i >= 0 and score > best.get(codes[i], -np.inf):
                    best[codes[i]] = score
        return dict(sorted(best.items(), key=lambda item: -item[1])[:size])

    def shortlists(
        self,
        documents: Iterable[torch.Tensor | np.ndarray],
        k: int = 50,
        size: int = 200,
    ) -> list[dict[str, float]]:
        """:meth:`shortlist` for each document's piece embeddings, in one faiss search.

        The pieces of all documents are searched together, up to :data:`SEARCH_BATCH` queries
        at a time: a few large matrix products instead of one small product per document (same
        results).
        """
        pieces = [_as_numpy(vectors) for vectors in documents]
        pieces = [p[None, :] if p.ndim == 1 else p for p in pieces]
        out: list[dict[str, float]] = []
        group: list[np.ndarray] = []
        queued = 0
        for i, block in enumerate(pieces):
            group.append(block)
            queued += len(block)
            if i + 1 == len(pieces) or queued + len(pieces[i + 1]) > SEARCH_BATCH:
                scores, ids = self.search_ids(np.concatenate(group), k)
                start = 0
                for member in group:
                    end = start + len(member)
                    out.append(self._merge(scores[start:end], ids[start:end], size))
                    start = end
                group, queued = [], 0
        return out


def shortlist_recall(shortlists: Sequence[Iterable[str]], gold: Sequence[Iterable[str]]) -> float:
    """Micro recall of shortlists: gold (document, code) pairs inside the shortlist / all pairs.

    Example:
        >>> shortlist_recall([{"A", "B"}, {"C"}], [["A", "D"], ["C"]])
        0.6666666666666666
    """
    if len(shortlists) != len(gold):
        raise ValueError(f"{len(shortlists)} shortlists for {len(gold)} documents")
    hits = total = 0
    for candidates, codes in zip(shortlists, gold, strict=True):
        candidates = set(candidates)
        for code in set(codes):
            total += 1
            hits += code in candidates
    return hits / total if total else float("nan")


def sentence_cosine(
    encoder: TextEncoder, index: CandidateIndex, texts: Sequence[str], top: int = 200
) -> list[dict[str, float]]:
    """The zero-shot cosine baseline: code → max over sentences of cosine(label, sentence).

    Each text is cut into sentences (:func:`~icdbridge.model.text.pieces.split_sentences`; a text
    without one is its own sentence), all sentences are encoded in one batched call, and the
    exact ``top`` labels per sentence are merged per text, keeping the ``top`` best by maximum
    (one batched faiss search, as the model's shortlist).
    """
    from icdbridge.model.text.pieces import split_sentences

    sentences = [[s.text for s in split_sentences(t) if s.text.strip()] or [t] for t in texts]
    flat = [s for doc in sentences for s in doc]
    vectors = encoder.embed(flat, batch_size=64, max_length=256)
    blocks, start = [], 0
    for doc in sentences:
        blocks.append(vectors[start : start + len(doc)])
        start += len(doc)
    return index.shortlists(blocks, top, top)
