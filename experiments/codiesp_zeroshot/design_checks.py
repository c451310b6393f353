"""Design checks of the model pipeline, on the train split only (dev is never read here).

    python experiments/codiesp_zeroshot/design_checks.py      # -> design_checks.json

The train documents are split once, seeded: 350 *fit* (what counts as seen) and 100 *held-out*
documents scored here (the other 50 are left aside, as the tune slice of the main protocol is).
No model is trained: each check ranks the full label space (every ICD-10-CM 2026 code) with the
untuned encoder, so it isolates one design choice of the pipeline:

1. **pieces** — how notes are cut (``sentences``, ``clauses``, ``clauses`` + 6-word windows):
   max cosine over pieces against every label, MAP and unseen-code recall@20 in the full
   ranking, and recall@10 *among unseen codes* of cosine + 0.5 × lexical score;
2. **shortlist** — share of the held-out unseen gold codes inside the per-note candidate set
   (faiss top-K by max piece cosine, K = 150 / 300 / 600, with and without lexical matches);
3. **label texts** — description alone vs with synonyms vs with synonyms and one ancestor title:
   recall@10 among unseen codes of the cosine ranking (clause pieces).

Unseen = not in the 350 fit documents. Settings: ``settings.toml``, ``[design_checks]``.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _unseen_only_recall(docs, scores, frequency, k: int) -> float:
    hits = total = 0
    for doc, score in zip(docs, scores, strict=True):
        ranked = [c for c in sorted(score, key=lambda c: -score[c]) if not frequency.get(c)]
        position = {c: i for i, c in enumerate(ranked)}
        for code in set(doc.codes):
            if not frequency.get(code):
                total += 1
                hits += position.get(code, k) < k
    return hits / total if total else float("nan")


def main() -> None:
    import torch

    torch.set_num_threads(2)
    from harness import SETTINGS, ExperimentContext
    from metrics import mean_ap, recall_at_k_by_bucket, train_frequency

    from icdbridge.data import load_codiesp
    from icdbridge.environment import software_environment
    from icdbridge.model import LabelTextOptions, document_lexical_scores
    from icdbridge.model.labels import CandidateIndex
    from icdbridge.model.text import document_pieces
    from icdbridge.outputs import write_text

    checks = SETTINGS["design_checks"]
    train = load_codiesp(split="train")
    docs = sorted(train, key=lambda d: d.id)
    random.Random(checks["split_seed"]).shuffle(docs)
    start, end = checks["held_out"]
    fit, held_out = docs[end:], docs[start:end]
    ctx = ExperimentContext.for_codiesp(fit, fit=fit, tune=[], dev=held_out)  # space from fit
    frequency = train_frequency(fit)
    gold = [set(d.codes) for d in held_out]
    lexical = ctx.lexical()
    # the lexical channel as the pipeline uses it: the English text and the Spanish original
    lexical_scores = [document_lexical_scores(lexical, d, ctx.terminology) for d in held_out]
    description = LabelTextOptions(synonyms=False, ancestors=False)
    labels = ctx.label_embeddings(description)
    index = CandidateIndex(labels.codes, labels.matrix)
    encoder = ctx.encoder

    def pieces_of(text: str, mode: str) -> list[str]:
        base = "clauses" if mode.startswith("clauses") else mode
        out = [p.text for p in document_pieces(text, encoder.tokenizer, base)]
        if mode == "clauses+words":
            words = text.split()
            out += [" ".join(words[i : i + 6]) for i in range(0, max(len(words) - 5, 1), 3)]
        return list(dict.fromkeys(out))

    def cosine(mode: str, k: int = 64, size: int = 3000, index=index) -> list[dict[str, float]]:
        blocks = [encoder.embed(pieces_of(d.text, mode), max_length=130) for d in held_out]
        return index.shortlists(blocks, k, size)

    weight = checks["lexical_weight"]

    def fused(cos: list[dict[str, float]]) -> list[dict[str, float]]:
        return [
            {c: s.get(c, 0.3) + weight * lx.get(c, 0.0) for c in set(s) | set(lx)}
            for s, lx in zip(cos, lexical_scores, strict=True)
        ]

    report: dict[str, object] = {"fit": len(fit), "held_out": len(held_out)}
    unseen_pairs = sum(1 for g in gold for c in g if not frequency.get(c))
    report["held_out_unseen_pairs"] = unseen_pairs

    pieces_report = {}
    clause_cosine = None
    for mode in ("sentences", "clauses", "clauses+words"):
        cos = cosine(mode)
        if mode == "clauses":
            clause_cosine = cos
        pieces_report[mode] = {
            "pieces_per_note": sum(len(pieces_of(d.text, mode)) for d in held_out) / len(held_out),
            "map": mean_ap(gold, cos),
            "unseen_recall@20": recall_at_k_by_bucket(gold, cos, frequency, (20,))["unseen"][
                "recall@20"
            ],
            "unseen_only_recall@10_cos_plus_lexical": _unseen_only_recall(
                held_out, fused(cos), frequency, 10
            ),
        }
        print(mode, pieces_report[mode], flush=True)
    report["pieces"] = pieces_report

    shortlist_report = {}
    for size in checks["shortlist_sizes"]:
        cut = [dict(list(s.items())[:size]) for s in clause_cosine]
        for with_lexical in (False, True):
            covered = Counter()
            for doc, candidates, lx in zip(held_out, cut, lexical_scores, strict=True):
                pool = set(candidates) | (set(lx) if with_lexical else set())
                for code in set(doc.codes):
                    if not frequency.get(code):
                        covered[code in pool] += 1
            name = f"faiss top-{size}" + (" + lexical" if with_lexical else "")
            shortlist_report[name] = covered[True] / unseen_pairs
    print(shortlist_report, flush=True)
    report["unseen_gold_in_candidates"] = shortlist_report

    texts_report = {}
    for name, options in (
        ("description", description),
        ("description + synonyms", LabelTextOptions(synonyms=True, ancestors=False)),
        (
            "description + synonyms + 1 ancestor",
            LabelTextOptions(synonyms=True, ancestors=True, max_ancestors=1),
        ),
    ):
        embedded = ctx.label_embeddings(options)
        other = CandidateIndex(embedded.codes, embedded.matrix)
        cos = clause_cosine if options == description else cosine("clauses", index=other)
        texts_report[name] = _unseen_only_recall(held_out, cos, frequency, 10)
    print(texts_report, flush=True)
    report["label_texts_unseen_only_recall@10"] = texts_report
    report["environment"] = software_environment()
    write_text(HERE / "design_checks.json", json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
