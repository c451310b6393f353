"""Text-aware migration on CodiEsp dev: is the original code recovered after a round trip?

    python experiments/transfer/text_migration.py          # trains the model first if absent
    python experiments/transfer/text_migration.py --policies first,best     # no model needed

Each gold ICD-10-CM code of each CodiEsp dev document is mapped back to ICD-9-CM (GEM 10→9,
every target kept), and each ICD-9-CM code reached is mapped forward again (GEM 9→10). The
forward candidates are cut to one pick by three policies:

* ``first`` — the first-listed candidate (the crosswalk's own order; a GEM combination is
  completed with the first code of each of its choice lists);
* ``best`` — the ``best`` policy (unspecified-for-unspecified, title similarity, exactness);
* ``text`` — the ``text`` policy: the candidates ordered by the model's score for the document's
  note (:mod:`icdbridge.crosswalk.text_policy`), the best picked.

An item (document, original code, ICD-9-CM code) is *recovered* when the pick contains the
original code. Items whose original code the backward GEM does not map code-to-code (no map,
category inputs expanded to descendants, codes not in the GEM release) are counted and left
out. Rates are given over all items, over items with at least two forward candidates and over
items with at least ``many`` (the TOML). The model is trained on the CodiEsp train split only
(the transfer experiments' shared source model, ``source_model.py``: one network, its first
``fit_documents`` documents fitting it, the rest for early stopping and calibration), and never
sees a dev document.

Settings: ``text_migration.toml``; results: ``text_migration.json`` and ``text_migration.md``,
written next to this script.
"""

from __future__ import annotations

import os
import time
import tomllib
from collections import Counter
from pathlib import Path

from source_model import codiesp_model

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

POLICIES = ("first", "best", "text")
TITLES = {"first": "first-listed", "best": "best", "text": "text"}


def settings() -> dict:
    """The TOML settings."""
    return tomllib.loads((HERE / "text_migration.toml").read_text(encoding="utf-8"))


def train_model(config: dict) -> Path:
    """The model directory; trained (CodiEsp train split only) when absent."""
    return codiesp_model(config["model"], config["data"])


def items(config: dict):
    """``(documents, items)``: per item the document index, original code, ICD-9-CM code and
    forward mapping; plus the counts of gold codes left out, by reason."""
    from icdbridge.crosswalk import get_crosswalk
    from icdbridge.crosswalk.text_policy import candidates_of
    from icdbridge.data import load_codiesp

    docs = load_codiesp(
        ROOT / config["data"]["codiesp"], split=config["data"]["eval_split"],
        language=config["data"]["language"],
    )  # fmt: skip
    back = get_crosswalk(*config["migration"]["back"])
    forward = get_crosswalk(*config["migration"]["forward"])
    out, left_out = [], Counter()
    for i, doc in enumerate(docs):
        for original in dict.fromkeys(doc.codes):
            mapping = back.map(original)
            if mapping.status not in ("mapped", "combination"):
                left_out[mapping.status] += 1
                continue
            for icd9 in candidates_of(mapping):
                out.append((i, mapping.code or original, icd9, forward.map(icd9)))
    return docs, out, left_out


def picks(
    docs, found, model: Path | None, forward_target: str, policies=POLICIES
) -> dict[str, list[tuple[str, ...]]]:
    """Per policy, the pick of every item (``text`` only with a model)."""
    from icdbridge.crosswalk.policies import keep_best
    from icdbridge.crosswalk.text_policy import load_scorer, rank_by_text, rank_rows

    mappings = [mapping for _, _, _, mapping in found]
    notes = [docs[i].text for i, _, _, _ in found]
    out = {
        "first": [rank_by_text(m, None).pick for m in mappings],
        "best": [tuple(keep_best(m).codes) for m in mappings],
    }
    if "text" in policies:
        scorer = load_scorer(model, forward_target)
        out["text"] = [r.pick for r in rank_rows(mappings, notes, scorer)]
    return {name: out[name] for name in policies}


def table(found, chosen: dict[str, list[tuple[str, ...]]], many: int) -> dict:
    """Recovery rates per group of items (all, ≥ 2 candidates, ≥ ``many`` candidates)."""
    from icdbridge.crosswalk.text_policy import candidates_of

    sizes = [len(candidates_of(mapping)) for _, _, _, mapping in found]
    groups = {"all": 1, "2+ candidates": 2, f"{many}+ candidates": many}
    out = {}
    for name, least in groups.items():
        rows = [k for k, size in enumerate(sizes) if size >= least]
        reachable = sum(found[k][1] in candidates_of(found[k][3]) for k in rows)
        row = {"items": len(rows), "original among candidates": _rate(reachable, len(rows))}
        for policy in chosen:
            hits = sum(found[k][1] in chosen[policy][k] for k in rows)
            row[policy] = _rate(hits, len(rows))
        out[name] = row
    return out


def _rate(hits: int, total: int) -> dict:
    return {"recovered": hits, "rate": round(hits / total, 4) if total else None}


def markdown(result: dict) -> str:
    """The results as a markdown table."""
    lines = [
        "# Text-aware migration: CodiEsp dev, ICD-10-CM → ICD-9-CM → ICD-10-CM",
        "",
        "Written by `python experiments/transfer/text_migration.py` (settings in "
        "`text_migration.toml`). Share of items whose pick contains the original ICD-10-CM code.",
        "",
        "| items | n | original among candidates | "
        + " | ".join(TITLES[p] for p in result["policies"])
        + " |",
        "|---|---:|---:|" + "---:|" * len(result["policies"]),
    ]
    for name, row in result["table"].items():
        cells = [row["original among candidates"], *(row[p] for p in result["policies"])]
        rates = " | ".join(f"{c['rate']:.3f} ({c['recovered']})" for c in cells)
        lines.append(f"| {name} | {row['items']} | {rates} |")
    left = ", ".join(f"{k} {v}" for k, v in sorted(result["left_out"].items()))
    lines += [
        "",
        f"{result['documents']} dev documents, {result['gold_codes']} distinct (document, code) "
        f"pairs; left out (not mapped code-to-code by GEM 10→9): {left}.",
        f"Model: `{result['model']}` (CodiEsp train split only). Run time {result['seconds']} s."
        if "text" in result["policies"]
        else f"No model (policies: {', '.join(result['policies'])}). "
        f"Run time {result['seconds']} s.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    import argparse

    from icdbridge.outputs import check_output, write_json, write_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--policies", default=",".join(POLICIES), help="comma-separated, of: first, best, text"
    )
    policies = tuple(parser.parse_args().policies.split(","))
    if not set(policies) <= set(POLICIES):
        parser.error(f"--policies: choose among {', '.join(POLICIES)}")
    config = settings()
    json_path, md_path = HERE / "text_migration.json", HERE / "text_migration.md"
    for path in (json_path, md_path):
        check_output(path)
    start = time.perf_counter()
    model = train_model(config) if "text" in policies else None
    docs, found, left_out = items(config)
    chosen = picks(docs, found, model, config["migration"]["forward"][1], policies)
    result = {
        "policies": list(policies),
        "documents": len(docs),
        "gold_codes": sum(len(dict.fromkeys(d.codes)) for d in docs),
        "left_out": dict(left_out),
        "model": config["model"]["dir"],
        "table": table(found, chosen, config["migration"]["many"]),
        "seconds": round(time.perf_counter() - start, 1),
    }
    write_json(json_path, result)
    write_text(md_path, markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
