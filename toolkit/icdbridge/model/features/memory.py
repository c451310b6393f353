"""Training memory: what the model remembers of its training documents (no per-label weights).

Three pair features come from the training documents themselves rather than from learned
parameters:

- ``neighbours``: similarity-weighted vote of the ``k`` most similar training documents (TF-IDF
  cosine over word uni- and bi-grams) — the classic nearest-neighbour coder, as a feature;
- ``prior``: ``log(1 + n_c) / log(1 + N)`` where ``n_c`` is the number of training documents
  coded with ``c``;
- ``seen``: 1 when ``n_c > 0`` (what the calibration uses to put unseen codes on the same scale);
- ``family_votes`` / ``family_prior``: the same vote and prior summed over the code's *family*
  (its category in the hierarchy, e.g. ``N20`` for ``N20.1``; the caller says what a family
  is). A code never coded in training whose siblings are — ``N20.1`` when the training notes
  code ``N20.0`` — is no longer indistinguishable from a code of a category nobody codes.

A code never seen in training gets 0 for the first three and is scored from its embedding and the
lexical channel only. During training the features of a training document are computed
*leave-one-out* (its own codes are not counted and it is not its own neighbour), so the network
sees codes that look unseen and learns not to rely on the memory alone.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import numpy as np
from scipy import sparse


class TrainingMemory:
    """TF-IDF neighbour memory and code counts of the training documents.

    Args:
        k: Neighbours that vote.
    """

    def __init__(self, k: int = 20) -> None:
        self.k = k

    def fit(self, ids: Sequence[str], texts: Sequence[str], codes: Sequence[Sequence[str]]):
        """Remember documents (ids, texts and their gold codes). Returns ``self``."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
        self.matrix_ = vectorizer.fit_transform(list(texts)).tocsr().astype(np.float32)
        self.vocabulary_ = {term: int(i) for term, i in vectorizer.vocabulary_.items()}
        self.idf_ = vectorizer.idf_.astype(np.float32)
        self.ids_ = list(ids)
        self.codes_ = [sorted(set(c)) for c in codes]
        self.counts_ = Counter(code for doc in self.codes_ for code in doc)
        self._vectorizer = vectorizer
        return self

    @property
    def seen(self) -> frozenset[str]:
        """Codes of at least one remembered document."""
        return frozenset(self.counts_)

    def _vectorize(self, texts: Sequence[str]) -> sparse.csr_matrix:
        if getattr(self, "_vectorizer", None) is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            vectorizer = TfidfVectorizer(
                sublinear_tf=True, ngram_range=(1, 2), vocabulary=self.vocabulary_
            )
            vectorizer.idf_ = self.idf_
            self._vectorizer = vectorizer
        return self._vectorizer.transform(list(texts)).tocsr()

    def features(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        family: Callable[[str], str] | None = None,
        hidden: Collection[str] = (),
    ) -> list[tuple[dict[str, float], dict[str, float], dict[str, float]]]:
        """Per document: ``(neighbour votes, prior, family prior)``, leave-one-out by id.

        A document whose id is remembered is neither its own neighbour nor counted in the prior.

        Args:
            ids: Document ids (a remembered id is left out of its own features).
            texts: Their texts.
            family: Code → family key (e.g. its category). The family prior is
                ``log(1 + n_f) / log(1 + N)`` with ``n_f`` the training documents coded with
                any code of family ``f``, keyed by family; ``None``: an empty dictionary.
                (Family votes are the sum of ``votes`` over a family, which the caller forms.)
            hidden: Codes treated as never remembered (*simulated unseen codes*): no votes, no
                prior, and a document counts for a family only through its other codes. The
                documents themselves stay neighbours; only these codes are kept out of what
                they tell.
        """
        sims = (self._vectorize(texts) @ self.matrix_.T).toarray()
        row_of = {doc_id: i for i, doc_id in enumerate(self.ids_)}
        total = len(self.ids_)
        hidden = frozenset(hidden)
        codes_of, remembered = self.codes_, self.counts_
        if hidden:
            codes_of = [[c for c in doc if c not in hidden] for doc in self.codes_]
            remembered = Counter(code for doc in codes_of for code in doc)
        # training documents per family (a document counts once per family)
        family_counts = (
            Counter(f for doc in codes_of for f in {family(c) for c in doc})
            if family is not None
            else Counter()
        )
        out = []
        for q, doc_id in enumerate(ids):
            own = row_of.get(doc_id)
            row = sims[q].copy()
            counts = remembered
            n_docs = total
            if own is not None:
                row[own] = -1.0
                counts = counts - Counter(self.codes_[own])
                n_docs = total - 1
            top = np.argsort(-row, kind="stable")[: self.k]
            votes: dict[str, float] = {}
            weight = float(sum(max(row[j], 0.0) for j in top)) or 1.0
            for j in top:
                if row[j] <= 0:
                    continue
                for code in codes_of[j]:
                    votes[code] = votes.get(code, 0.0) + float(row[j]) / weight
            scale = math.log1p(max(n_docs, 1))
            prior = {code: math.log1p(n) / scale for code, n in counts.items() if n > 0}
            family_prior: dict[str, float] = {}
            if family is not None:
                families = family_counts
                if own is not None:
                    families = families - Counter({family(c) for c in codes_of[own]})
                family_prior = {f: math.log1p(n) / scale for f, n in families.items() if n > 0}
            out.append((votes, prior, family_prior))
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> None:
        """Write ``memory.json`` and ``memory.safetensors`` into ``folder``."""
        import torch
        from safetensors.torch import save_file

        folder = Path(folder)
        matrix = self.matrix_.tocsr()
        save_file(
            {
                "data": torch.from_numpy(matrix.data.astype(np.float32)),
                "indices": torch.from_numpy(matrix.indices.astype(np.int64)),
                "indptr": torch.from_numpy(matrix.indptr.astype(np.int64)),
                "idf": torch.from_numpy(self.idf_.astype(np.float32)),
            },
            str(folder / "memory.safetensors"),
        )
        meta = {
            "k": self.k,
            "shape": list(matrix.shape),
            "ids": self.ids_,
            "codes": self.codes_,
            "vocabulary": self.vocabulary_,
        }
        (folder / "memory.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> TrainingMemory:
        """Inverse of :meth:`save`."""
        from safetensors.torch import load_file

        folder = Path(folder)
        meta = json.loads((folder / "memory.json").read_text("utf-8"))
        tensors = load_file(str(folder / "memory.safetensors"))
        memory = cls(k=int(meta["k"]))
        memory.matrix_ = sparse.csr_matrix(
            (
                tensors["data"].numpy(),
                tensors["indices"].numpy(),
                tensors["indptr"].numpy(),
            ),
            shape=tuple(meta["shape"]),
        )
        memory.idf_ = tensors["idf"].numpy()
        memory.vocabulary_ = meta["vocabulary"]
        memory.ids_ = meta["ids"]
        memory.codes_ = meta["codes"]
        memory.counts_ = Counter(code for doc in memory.codes_ for code in doc)
        memory._vectorizer = None
        return memory
