"""Diagnostic: how many *unseen* dev gold codes can the model rows reach at all?

The model reranks candidates = faiss shortlist (top ``shortlist_k`` by max piece cosine over the
whole label space) + lexical matches + codes seen in training. A dev gold code absent from the
train split can only be found through the first two; this script reports the recall of unseen
gold pairs within the faiss shortlist, the lexical matches and their union (the ceiling of
unseen recall@k for rows (d)(e)(f)), with the same label space and settings as ``model_rows.py``.

    python experiments/codiesp_zeroshot/unseen_ceiling.py   # -> unseen_ceiling.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    from harness import ExperimentContext

    from icdbridge.data import load_codiesp
    from icdbridge.model.label_text import LabelTextOptions
    from icdbridge.model.predictor import PipelineConfig, encode_documents, lexical_matches
    from icdbridge.model.retrieval import CandidateIndex

    train = load_codiesp(split="train")
    dev = load_codiesp(split="dev")
    ctx = ExperimentContext.for_codiesp(train, fit=train, tune=[], dev=dev)
    labels = ctx.label_embeddings(LabelTextOptions(synonyms=False, ancestors=False))
    index = CandidateIndex(labels.codes, labels.matrix)
    config = PipelineConfig()
    encoded = encode_documents(ctx.encoder, [d.text for d in dev], config)
    lexical = ctx.lexical()
    seen = {c for d in train for c in d.codes}
    counts = {"pairs": 0, "faiss": 0, "lexical": 0, "union": 0}
    for doc, (_, pieces) in zip(dev, encoded, strict=True):
        shortlist = set(index.shortlist(pieces, config.per_window_k, config.shortlist_k))
        matched = set(lexical_matches(lexical, doc.text))
        for code in set(doc.codes) - seen:
            counts["pairs"] += 1
            counts["faiss"] += code in shortlist
            counts["lexical"] += code in matched
            counts["union"] += code in shortlist or code in matched
    result = {k: counts[k] / counts["pairs"] for k in ("faiss", "lexical", "union")}
    result["unseen_pairs"] = counts["pairs"]
    result["shortlist_k"] = config.shortlist_k
    print(result)
    (HERE / "unseen_ceiling.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
