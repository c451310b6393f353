"""Diagnostic: how many *unseen* dev gold codes can the model rows reach at all?

The model reranks candidates = faiss shortlist (top ``shortlist_k`` by max piece cosine over the
whole label space, the pieces of the note and, by default, of its original's gloss) + lexical
matches (in the English text and in the Spanish original) + codes seen in training. A dev gold code
absent from the train split can only be found through the first two; this script reports the recall
of unseen gold pairs within the faiss shortlist, the lexical matches (of each text and both), their
union, and the whole candidate set of the default pipeline (which adds, when it is on, the family
expansion: parent, siblings and children of the best shortlist, lexical and neighbour codes) — the
ceiling of unseen recall@k of row (d) —, with the same label space and settings as
``model_rows.py`` (the training memory of the whole train split). It also reports the share of
dev gold pairs that are unseen and the share of train gold pairs that look unseen under the
training memory's leave-one-out (their code is in no other train note).

    python experiments/codiesp_zeroshot/unseen_ceiling.py   # -> unseen_ceiling.json
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    from harness import ExperimentContext

    from icdbridge.data import load_codiesp
    from icdbridge.environment import software_environment
    from icdbridge.model import LabelTextOptions, PipelineConfig
    from icdbridge.model.features import FeatureInputs, TrainingMemory
    from icdbridge.model.features.featurize import featurize
    from icdbridge.model.lexical import lexical_matches, original_matches
    from icdbridge.outputs import write_text

    train = load_codiesp(split="train")
    dev = load_codiesp(split="dev")
    ctx = ExperimentContext.for_codiesp(train, fit=train, tune=[], dev=dev)
    space = ctx.label_space(LabelTextOptions(synonyms=False, ancestors=False))
    config = PipelineConfig()
    lexical = ctx.lexical()
    seen = {c for d in train for c in d.codes}
    memory = TrainingMemory(config.neighbours_k).fit(
        [d.id for d in train], [d.text for d in train], [d.codes for d in train]
    )
    features = featurize(dev, FeatureInputs(ctx.encoder, space, config, memory, lexical))
    keys = ("faiss", "lexical, English", "lexical, Spanish original", "lexical", "union")
    counts = dict.fromkeys(("pairs", *keys, "candidates"), 0)
    for doc, featured in zip(dev, features, strict=True):
        pieces = featured.windows  # the note's pieces, then its gloss pieces
        shortlist = set(space.index.shortlist(pieces, config.per_window_k, config.shortlist_k))
        english = set(lexical_matches(lexical, doc.text))
        original = set(original_matches(lexical, doc, ctx.terminology))
        candidates = set(featured.candidates)
        for code in set(doc.codes) - seen:
            counts["pairs"] += 1
            counts["faiss"] += code in shortlist
            counts["lexical, English"] += code in english
            counts["lexical, Spanish original"] += code in original
            counts["lexical"] += code in english | original
            counts["union"] += code in shortlist | english | original
            counts["candidates"] += code in candidates
    result = {k: counts[k] / counts["pairs"] for k in (*keys, "candidates")}
    result["unseen_pairs"] = counts["pairs"]
    result["shortlist_k"] = config.shortlist_k
    result["family_expansion"] = config.family_expansion
    result["gloss_pieces"] = config.gloss_pieces
    # how often a gold code is unseen: dev pairs against the train split, and train pairs under
    # the leave-one-out of the training memory (a code no other train note is coded with)
    per_code = Counter(code for d in train for code in set(d.codes))
    train_pairs = [code for d in train for code in set(d.codes)]
    dev_pairs = [code for d in dev for code in set(d.codes)]
    result["dev_pairs_unseen_share"] = sum(c not in seen for c in dev_pairs) / len(dev_pairs)
    result["train_pairs_unseen_leave_one_out_share"] = sum(
        per_code[c] == 1 for c in train_pairs
    ) / len(train_pairs)
    print(result)
    result["environment"] = software_environment()
    write_text(HERE / "unseen_ceiling.json", json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
