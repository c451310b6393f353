"""faiss candidate index: exact search, per-document shortlist, shortlist recall."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from icdbridge.model.labels.cache import LabelEmbeddings
from icdbridge.model.labels.index import CandidateIndex, shortlist_recall


def _unit(rows):
    return torch.nn.functional.normalize(torch.tensor(rows, dtype=torch.float32), dim=1)


LABELS = _unit([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
CODES = ["A00", "B00", "C00", "D00"]


def test_search_by_hand():
    index = CandidateIndex(CODES, LABELS)
    scores, codes = index.search(_unit([[1, 0, 0]]), k=2)
    assert codes == [["A00", "D00"]]
    assert np.allclose(scores[0], [1.0, 2**-0.5], atol=1e-6)
    assert len(index) == 4 and not index.on_gpu


def test_shortlist_takes_max_over_pieces():
    index = CandidateIndex(CODES, LABELS)
    pieces = _unit([[1, 0, 0], [0, 0, 1]])
    shortlist = index.shortlist(pieces, k=2, size=3)
    # piece 1: A00 1.0, D00 .707; piece 2: C00 1.0, then a 0.0 tie
    assert list(shortlist)[:2] in (["A00", "C00"], ["C00", "A00"])
    assert shortlist["A00"] == pytest.approx(1.0) and shortlist["C00"] == pytest.approx(1.0)
    assert len(shortlist) == 3
    assert index.shortlists([pieces, pieces[:1]], k=1, size=5)[1] == {"A00": pytest.approx(1.0)}


def test_shortlist_equals_brute_force_max_over_pieces():
    generator = torch.Generator().manual_seed(0)
    labels = torch.nn.functional.normalize(torch.randn(500, 16, generator=generator), dim=1)
    pieces = torch.nn.functional.normalize(torch.randn(7, 16, generator=generator), dim=1)
    codes = [f"C{i:03d}" for i in range(500)]
    index = CandidateIndex.from_embeddings(LabelEmbeddings(codes, labels))
    shortlist = index.shortlist(pieces, k=20, size=20)
    brute = (pieces @ labels.T).max(dim=0).values
    top = torch.topk(brute, 20).indices.tolist()
    assert set(shortlist) == {codes[i] for i in top}
    for code, score in shortlist.items():
        assert score == pytest.approx(float(brute[codes.index(code)]), abs=1e-5)


def test_batched_shortlists_equal_one_search_per_document(monkeypatch):
    import icdbridge.model.labels.index as retrieval

    monkeypatch.setattr(retrieval, "SEARCH_BATCH", 500)
    generator = torch.Generator().manual_seed(2)
    labels = torch.nn.functional.normalize(torch.randn(300, 16, generator=generator), dim=1)
    codes = [f"C{i:03d}" for i in range(300)]
    index = CandidateIndex(codes, labels)
    # 3,000 pieces in all, at most 500 per search: several faiss calls, one of a single document
    documents = [
        torch.nn.functional.normalize(torch.randn(n, 16, generator=generator), dim=1)
        for n in [1, 7, 2500, 3, 489]
    ]
    calls = []
    search = index.search_ids
    monkeypatch.setattr(index, "search_ids", lambda q, k: calls.append(len(q)) or search(q, k))
    batched = index.shortlists(documents, k=10, size=25)
    assert calls == [8, 2500, 492]
    for vectors, shortlist in zip(documents, batched, strict=True):
        assert shortlist == index.shortlist(vectors, k=10, size=25)  # searched alone
    assert index.shortlists([], k=10, size=25) == []


def test_hnsw_finds_exact_neighbours_on_easy_data():
    generator = torch.Generator().manual_seed(1)
    labels = torch.nn.functional.normalize(torch.randn(300, 8, generator=generator), dim=1)
    codes = [str(i) for i in range(300)]
    flat = CandidateIndex(codes, labels)
    hnsw = CandidateIndex(codes, labels, kind="hnsw")
    _, a = flat.search(labels[:10], 5)
    _, b = hnsw.search(labels[:10], 5)
    overlap = np.mean([len(set(x) & set(y)) / 5 for x, y in zip(a, b, strict=True)])
    assert overlap >= 0.9


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown index kind"):
        CandidateIndex(CODES, LABELS, kind="ivf")
    with pytest.raises(ValueError, match="does not match"):
        CandidateIndex(CODES[:2], LABELS)


def test_shortlist_recall_by_hand():
    assert shortlist_recall([{"A", "B"}, {"C"}], [["A", "D"], ["C"]]) == pytest.approx(2 / 3)
    assert shortlist_recall([{"A"}], [["A", "A"]]) == 1.0
    with pytest.raises(ValueError):
        shortlist_recall([{"A"}], [])


def test_sentence_cosine_is_the_max_over_sentences():
    from icdbridge.model.labels.index import CandidateIndex, sentence_cosine

    axes = {"fever": 0, "cough": 1, "rash": 2}

    class KeywordEncoder:  # one axis per keyword: cosine 1 with its label, 0 with the others
        def embed(self, texts, batch_size=64, max_length=256):
            out = torch.zeros(len(texts), 3)
            for i, text in enumerate(texts):
                for word, axis in axes.items():
                    out[i, axis] += word in text.lower()
            return torch.nn.functional.normalize(out + 1e-6, dim=1)

    index = CandidateIndex(["R50.9", "R05", "R21"], torch.eye(3))
    texts = ["High fever. Then a dry cough.", "A rash", ""]
    scores = sentence_cosine(KeywordEncoder(), index, texts, top=2)
    assert set(scores[0]) == {"R50.9", "R05"}  # each sentence finds its own code, max over them
    assert scores[0]["R50.9"] == pytest.approx(1.0, abs=1e-4)
    assert max(scores[1], key=scores[1].get) == "R21"
    assert len(scores) == 3  # an empty text is still a row, never dropped
