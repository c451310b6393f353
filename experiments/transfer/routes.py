"""A CodiEsp ICD-10-CM model predicting in ICD-11 and ICD-9-CM: direct, crosswalk and blend.

    python experiments/transfer/routes.py --choose   # the blend grid on held-out TRAIN notes
    python experiments/transfer/routes.py            # the table on CodiEsp dev notes
    python experiments/transfer/routes.py --choose --then-table     # both, one process

The model (trained by this script on the CodiEsp train split when absent: its first
``fit_documents`` documents fit the network, the rest stop training early and calibrate) ranks
ICD-10-CM codes. Each target system is scored by the three routes of
:mod:`icdbridge.model.routes`:

* ``direct`` — the target system's codes scored from their descriptions and hierarchy;
* ``crosswalk`` — the ICD-10-CM scores propagated along the crosswalk's weighted edges;
* ``blend`` — ``w · crosswalk + (1 − w) · direct``.

Gold ICD-10-CM codes are mapped into each target through the crosswalk (policy
``gold_policy``, the default of ``icdbridge evaluate`` across systems). Metrics come from
:func:`icdbridge.eval.evaluate`: MAP over each route's full ranking, micro-F1 of the codes the
route predicts (:func:`icdbridge.model.routes.route_decisions`: at or above the model's validated
threshold on ``direct``; on ``crosswalk`` and ``blend`` the strongest targets of the trained
system's predicted codes), and the CoPHE-style per-level scores of the target hierarchy.

``--choose`` scores the grid of ``[choose]`` (combiner × blend weight) on the held-out train
documents (``fit_documents`` onwards: never used to fit the network, never a dev document) and
writes ``routes_choice.json``; the library defaults (``DEFAULT_COMBINE``,
``DEFAULT_BLEND_WEIGHT`` in ``icdbridge/model/routes.py``) were set from it. The table run
always uses the library defaults.

Settings: ``routes.toml``; results: ``routes.json`` and ``routes.md`` (and
``routes_choice.json``), written next to this script.
"""

from __future__ import annotations

import os
import time
import tomllib
from pathlib import Path

from source_model import codiesp_model

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROUTE_NAMES = ("direct", "crosswalk", "blend")


def settings() -> dict:
    """The TOML settings."""
    return tomllib.loads((HERE / "routes.toml").read_text(encoding="utf-8"))


def train_model(config: dict) -> Path:
    """The model directory; trained (CodiEsp train split only) when absent."""
    return codiesp_model(config["model"], config["data"])


def documents(config: dict, split: str):
    """CodiEsp documents of ``split`` (``"train-held-out"``: the train documents from
    ``fit_documents`` on)."""
    from icdbridge.data import load_codiesp

    data, language = ROOT / config["data"]["codiesp"], config["data"]["language"]
    if split == "train-held-out":
        docs = load_codiesp(data, split="train", language=language)
        return docs[config["model"]["fit_documents"] :]
    return load_codiesp(data, split=split, language=language)


def source_scores(config: dict, routed, docs, split: str) -> list[dict[str, float]]:
    """The trained system's scores of ``docs`` (cached in the work folder per model and split:
    they do not depend on the target system or route)."""
    import json

    model = ROOT / config["model"]["dir"]
    stamp = (model / "config.json").stat().st_mtime_ns
    path = ROOT / config["model"]["work"] / f"sources-{split}.json"
    if path.is_file():
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached["model"] == stamp and cached["ids"] == [d.id for d in docs]:
            return cached["scores"]
    from icdbridge.outputs import write_json

    scores = routed.source_scores(docs, progress=True)
    write_json(path, {"model": stamp, "ids": [d.id for d in docs], "scores": scores})
    return scores


def mapped_gold(docs, target: str, policy: str) -> tuple[dict[str, list[str]], dict]:
    """Gold codes of ``docs`` mapped from ICD-10-CM into ``target`` (see the module docstring),
    and the count of distinct gold codes by crosswalk outcome."""
    from icdbridge.codes.icd11 import split_cluster
    from icdbridge.crosswalk import get_crosswalk
    from icdbridge.eval.crossversion import unmapped_token

    crosswalk = get_crosswalk("icd10cm", target)
    outcomes: dict[str, int] = {}
    cache: dict[str, list[str]] = {}
    gold = {}
    for doc in docs:
        codes: dict[str, None] = {}
        for code in doc.codes:
            if code not in cache:
                mapping = crosswalk.map(code, policy=policy)
                outcomes[mapping.outcome] = outcomes.get(mapping.outcome, 0) + 1
                targets = [
                    (split_cluster(c) or (c,))[0] if target == "icd11" else c for c in mapping.codes
                ]
                cache[code] = list(dict.fromkeys(targets)) or [unmapped_token("icd10cm", code)]
            codes.update(dict.fromkeys(cache[code]))
        gold[doc.id] = list(codes)
    return gold, dict(sorted(outcomes.items()))


def metrics(gold, scores, threshold: float, terminology=None, decided=None) -> dict:
    """MAP, micro-F1 (of the codes ``decided`` per document: by default those at or above
    ``threshold``) and, with ``terminology``, the per-level scores, from
    :func:`icdbridge.eval.evaluate`."""
    from icdbridge.eval import TerminologyHierarchy, evaluate

    ids = list(gold)
    predictions = {i: s for i, s in zip(ids, scores, strict=True)}
    if decided is None:
        decided = [[c for c, p in s.items() if p >= threshold] for s in scores]
    decisions = dict(zip(ids, decided, strict=True))
    hierarchy = TerminologyHierarchy(terminology) if terminology is not None else None
    result = evaluate(gold, predictions, hierarchy=hierarchy, decisions=decisions, bootstrap=0)
    out = {
        "map": round(result["ranking"]["map"]["value"], 4),
        "recall@20": round(result["ranking"]["recall@20"]["value"], 4),
        "micro_f1": round(result["flat"]["micro_f1"]["value"], 4),
        "micro_precision": round(result["flat"]["micro_precision"]["value"], 4),
        "micro_recall": round(result["flat"]["micro_recall"]["value"], 4),
    }
    if hierarchy is not None:
        out["levels"] = {
            level: round(values["micro_f1"]["value"], 4)
            for level, values in result["by_level"].items()
            if isinstance(values, dict) and "micro_f1" in values
        }
    return out


_LOADED: dict = {}


def routed_for(model: Path, system: str):
    """The model loaded for ``system`` by the ``blend`` route (once per process)."""
    from icdbridge.model import load_routed

    if system not in _LOADED:
        _LOADED[system] = load_routed(model, system=system, route="blend", progress=True)
    return _LOADED[system]


def choose(config: dict, model: Path) -> dict:
    """Score the grid of ``[choose]`` on the held-out train documents."""
    from icdbridge.model.routes import blend, propagate

    grid = config["choose"]
    docs = documents(config, "train-held-out")
    sources = None
    per_system = {}
    for system in grid["systems"]:
        routed = routed_for(model, system)
        if sources is None:
            sources = source_scores(config, routed, docs, "train-held-out")
        gold, _ = mapped_gold(docs, system, config["targets"]["gold_policy"])
        propagated = {
            c: [propagate(s, routed.edges, c) for s in sources] for c in grid["combiners"]
        }
        k = routed.reach_k
        reached = [
            list(
                dict.fromkeys(
                    code for c in grid["combiners"] for code in list(propagated[c][i])[:k]
                )
            )
            for i in range(len(docs))
        ]
        direct = [d for d, _ in routed.direct_scores(docs, reached, progress=True)]
        table = {}
        for combiner in grid["combiners"]:
            for weight in grid["weights"]:
                mixed = [
                    blend(d, p, weight) for d, p in zip(direct, propagated[combiner], strict=True)
                ]
                table[f"{combiner}@{weight}"] = metrics(gold, mixed, routed.threshold)["map"]
        per_system[system] = table
        print(system, table, flush=True)
    keys = list(next(iter(per_system.values())))
    mean = {k: round(sum(t[k] for t in per_system.values()) / len(per_system), 4) for k in keys}
    best = max(keys, key=lambda k: (mean[k], -keys.index(k)))
    combiner, weight = best.split("@")
    return {
        "documents": len(docs),
        "split": f"CodiEsp train, documents {config['model']['fit_documents']} onwards "
        "(held out from the network's fitting)",
        "map": per_system,
        "mean_map": mean,
        "chosen": {"combine": combiner, "blend_weight": float(weight), "mean_map": mean[best]},
    }


def table(config: dict, model: Path, done=None, chosen: dict | None = None) -> dict:
    """The three routes per target system on the evaluation split, with the library defaults
    (or ``chosen`` ``{"combine", "blend_weight"}`` of a ``--choose`` run in the same process);
    ``done(result)`` is called after each system (the results so far are written)."""
    from icdbridge.model.routes import (
        DEFAULT_BLEND_WEIGHT,
        DEFAULT_COMBINE,
        EdgeWeights,
        route_decisions,
    )

    combine = chosen["combine"] if chosen else DEFAULT_COMBINE
    weight = chosen["blend_weight"] if chosen else DEFAULT_BLEND_WEIGHT

    docs = documents(config, config["data"]["eval_split"])
    if config["data"].get("eval_documents"):
        docs = docs[: config["data"]["eval_documents"]]
    sources = None
    out = {}
    for system in config["targets"]["systems"]:
        routed = routed_for(model, system)
        routed.combine, routed.blend_weight = combine, weight
        if sources is None:
            sources = source_scores(config, routed, docs, config["data"]["eval_split"])
        gold, outcomes = mapped_gold(docs, system, config["targets"]["gold_policy"])
        scores = routed.route_scores(docs, sources, progress=True)
        terminology = routed.terminology
        out[system] = {
            "release": terminology.release,
            "label_space": len(routed.direct.space),
            "gold_codes_by_outcome": outcomes,
            "gold_occurrences": sum(len(g) for g in gold.values()),
            "routes": {
                name: metrics(
                    gold,
                    scores[name],
                    routed.threshold,
                    terminology,
                    [
                        route_decisions(name, s, src, routed.edges, routed.threshold)
                        for s, src in zip(scores[name], scores["sources"], strict=True)
                    ],
                )
                for name in ROUTE_NAMES
            },
        }
        print(system, {k: v["map"] for k, v in out[system]["routes"].items()}, flush=True)
        result = {
            "documents": len(docs),
            "split": config["data"]["eval_split"],
            "combine": combine,
            "blend_weight": weight,
            "library_defaults": combine == DEFAULT_COMBINE and weight == DEFAULT_BLEND_WEIGHT,
            "edge_weights": EdgeWeights().__dict__,
            "targets": out,
        }
        if done is not None:
            done(result)
    return result


def markdown(result: dict, choice: dict | None) -> str:
    """The results as markdown."""
    lines = [
        "# Predicting in another code system: direct, crosswalk, blend (CodiEsp dev)",
        "",
        "Written by `python experiments/transfer/routes.py` (settings in `routes.toml`). An "
        "ICD-10-CM model trained on the CodiEsp train split (one network; "
        f"`{result['model']}`) ranks the codes of each target system for the "
        f"{result['documents']} CodiEsp {result['split']} notes; gold ICD-10-CM codes mapped "
        f"through the crosswalk (policy `{result['gold_policy']}`). Blend: crosswalk weight "
        f"{result['blend_weight']}, combiner {result['combine']}"
        + (
            " (the library defaults)"
            if result["library_defaults"]
            else " (NOT the library defaults)"
        )
        + ". Micro-F1 of the codes each route predicts (direct: at the model's validated "
        "threshold; crosswalk and blend: the strongest crosswalk targets of the codes the model "
        "predicts, `route_decisions`); per level: micro-F1 after mapping codes to that "
        "level of the target hierarchy.",
        "",
    ]
    for system, row in result["targets"].items():
        levels = next(iter(row["routes"].values())).get("levels", {})
        names = list(levels)
        lines += [
            f"## {system} {row['release']} ({row['label_space']:,} codes)",
            "",
            "| route | MAP | recall@20 | micro-F1 | precision | recall | "
            + " | ".join(f"F1 {n}" for n in names)
            + " |",
            "|---|---:|---:|---:|---:|---:|" + "---:|" * len(names),
        ]
        for name, m in row["routes"].items():
            cells = [
                m["map"],
                m["recall@20"],
                m["micro_f1"],
                m["micro_precision"],
                m["micro_recall"],
            ]
            cells += [m["levels"].get(n) for n in names]
            lines.append(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
        outcomes = ", ".join(f"{k} {v}" for k, v in row["gold_codes_by_outcome"].items())
        lines += ["", f"Distinct gold codes by crosswalk outcome: {outcomes}.", ""]
    if choice is not None:
        c = choice["chosen"]
        lines += [
            "## Choosing the blend (held-out train documents, `--choose`)",
            "",
            f"{choice['documents']} documents: {choice['split']}. MAP per (combiner, crosswalk "
            f"weight); chosen: {c['combine']} at {c['blend_weight']} (mean MAP {c['mean_map']}).",
            "",
            "| combiner @ weight | " + " | ".join(choice["map"]) + " | mean |",
            "|---|" + "---:|" * (len(choice["map"]) + 1),
        ]
        for key, mean in choice["mean_map"].items():
            cells = [choice["map"][s][key] for s in choice["map"]] + [mean]
            lines.append(f"| {key} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
        lines.append("")
    lines.append(f"Run time {result['seconds']} s.")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    import argparse
    import json

    from icdbridge.outputs import check_output, write_json, write_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--choose", action="store_true", help="score the blend grid on held-out train documents"
    )
    parser.add_argument(
        "--then-table",
        action="store_true",
        help="with --choose: then the dev table, with the chosen blend, in the same process",
    )
    args = parser.parse_args()
    config = settings()
    start = time.perf_counter()
    choice_path = HERE / "routes_choice.json"
    json_path, md_path = HERE / "routes.json", HERE / "routes.md"
    if args.choose:
        check_output(choice_path)
    if not args.choose or args.then_table:
        for path in (json_path, md_path):
            check_output(path)
    model = train_model(config)
    chosen = None
    if args.choose:
        choice = choose(config, model)
        choice["seconds"] = round(time.perf_counter() - start, 1)
        write_json(choice_path, choice)
        print(json.dumps(choice["chosen"]))
        if not args.then_table:
            return
        chosen = choice["chosen"]
    choice = json.loads(choice_path.read_text(encoding="utf-8")) if choice_path.is_file() else None

    def done(result: dict) -> None:
        result["model"] = config["model"]["dir"]
        result["gold_policy"] = config["targets"]["gold_policy"]
        result["seconds"] = round(time.perf_counter() - start, 1)
        write_json(json_path, result)
        write_text(md_path, markdown(result, choice))

    result = table(config, model, done, chosen)
    print(markdown(result, choice))
    if not result["library_defaults"]:
        print(
            f"NOTE: the table used combine={result['combine']} blend_weight="
            f"{result['blend_weight']}; set DEFAULT_COMBINE / DEFAULT_BLEND_WEIGHT in "
            "icdbridge/model/routes.py to them"
        )


if __name__ == "__main__":
    main()
