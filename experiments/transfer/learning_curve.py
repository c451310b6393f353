"""Few-shot adaptation to a new dataset: a learning curve over N labelled notes of the target.

    python experiments/transfer/learning_curve.py                # every run of the TOML
    python experiments/transfer/learning_curve.py --seeds 0 --sizes 0 10 25   # a part
    python experiments/transfer/learning_curve.py --table-only   # the table from finished runs

The **source** model is trained on the CodiEsp train split in ICD-10-CM (``icdbridge train``,
settings in ``[source]``; trained by this script when its folder is absent). The **target**
dataset is one it never saw, coded in another system: the CodiEsp dev notes, whose gold
ICD-10-CM codes are mapped to ICD-9-CM through the CMS GEM 10→9 (one code per gold code, policy
``best``), as a legacy-coded dataset. For each seed, the target notes are shuffled into
``test_documents`` test notes and a labelled pool; N notes are drawn from the pool (nested: the
first N of the shuffled pool) and split into training notes and ``dev_share`` validation notes
(early stopping, calibration, threshold). Three ways to use them, all predicting over the whole
ICD-9-CM label space:

* ``warm`` — ``icdbridge train --init SOURCE`` (:mod:`icdbridge.model.train.warm_start`); at
  N = 0, the source model itself predicting in ICD-9-CM (zero-shot, nothing adapted);
* ``scratch`` — ``icdbridge train`` on the N notes alone;
* ``tfidf`` — one-vs-rest logistic regression over TF-IDF of the note (scikit-learn), over
  the codes of the training notes, threshold tuned on the validation notes.

Each run scores the seed's test notes with :func:`icdbridge.eval.evaluate` (MAP, micro-F1 of
the model's own decisions, CoPHE micro-F1 at the category, block and chapter levels of the
ICD-9-CM hierarchy). Each finished run is kept under ``work/source/runs/`` (a rerun skips it),
and the notes' piece embeddings in ``work/source/pieces.pt`` (a rerun does not encode them again);
``learning_curve.json`` and ``learning_curve.md`` (and ``learning_curve.png``) are written from
every finished run, next to this script.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
import tomllib
from collections import Counter
from dataclasses import replace
from pathlib import Path

from source_model import codiesp_model

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

METHODS = {
    "warm": "warm start (--init source)",
    "scratch": "from scratch",
    "tfidf": "TF-IDF one-vs-rest LR",
}
METRICS = {
    "map": "MAP",
    "micro_f1": "micro-F1",
    "cophe_category": "CoPHE category F1",
    "cophe_block": "CoPHE block F1",
    "cophe_chapter": "CoPHE chapter F1",
}
COPHE_LEVELS = ("category", "block", "chapter")


def settings() -> dict:
    """The TOML settings."""
    return tomllib.loads((HERE / "learning_curve.toml").read_text(encoding="utf-8"))


def source_model(config: dict) -> Path:
    """The source model directory; trained (CodiEsp train split, ICD-10-CM) when absent."""
    return codiesp_model(
        config["source"], config["data"], ("source_train.jsonl", "source_dev.jsonl")
    )


def target_documents(config: dict) -> tuple[list, dict]:
    """The target notes with their gold mapped to the target system, and what was dropped."""
    from icdbridge.crosswalk import get_crosswalk
    from icdbridge.crosswalk.policies import keep_best
    from icdbridge.data import load_codiesp

    target = config["target"]
    docs = load_codiesp(
        ROOT / config["data"]["codiesp"], split=target["split"], language=config["data"]["language"]
    )
    crosswalk = get_crosswalk(*target["crosswalk"])
    statuses: Counter = Counter()
    out = []
    for doc in docs:
        codes = []
        for code in dict.fromkeys(doc.codes):
            mapping = crosswalk.map(code)
            statuses[mapping.status] += 1
            if mapping.status in ("mapped", "combination", "category-expanded"):
                codes += [c for c in keep_best(mapping).codes if c]
        if codes:
            out.append(replace(doc, codes=list(dict.fromkeys(codes)), system=target["system"]))
    summary = {
        "documents": len(docs),
        "documents_kept": len(out),
        "source_codes_by_status": dict(sorted(statuses.items())),
        "target_assignments": sum(len(d.codes) for d in out),
        "distinct_target_codes": len({c for d in out for c in d.codes}),
    }
    return out, summary


def split(docs: list, seed: int, test_documents: int) -> tuple[list, list]:
    """``(test, pool)``: a seeded shuffle of ``docs`` (in id order first)."""
    order = sorted(docs, key=lambda d: d.id)
    random.Random(seed).shuffle(order)
    return order[:test_documents], order[test_documents:]


def labelled(pool: list, n: int, curve: dict) -> tuple[list, list]:
    """``(train, dev)`` of the first ``n`` pool notes (``dev_share`` of them, at least
    ``min_dev``, validate)."""
    chosen = pool[:n]
    dev = max(curve["min_dev"], round(curve["dev_share"] * n))
    return chosen[: n - dev], chosen[n - dev :]


def sizes_of(config: dict, pool: int, wanted: list | None = None) -> list[int]:
    """The N values (``"all"`` = the whole pool)."""
    values = wanted or config["curve"]["sizes"]
    return sorted({pool if str(v) == "all" else int(v) for v in values})


class Context:
    """What every run shares: encoder, ICD-9-CM label space, lexical channel, piece cache."""

    def __init__(self, config: dict, source: Path) -> None:
        from icdbridge.codes import get_terminology
        from icdbridge.eval import resolve_hierarchy
        from icdbridge.model import PipelineConfig, TextEncoder, build_label_space, build_lexical

        self.config = config
        self.source = source
        system = config["target"]["system"]
        self.terminology = get_terminology(system)
        self.pipeline = PipelineConfig(
            system=system,
            release=self.terminology.release,
            shortlist_k=config["target"]["shortlist_k"],
        )
        self.encoder = TextEncoder(self.pipeline.encoder, precision=self.pipeline.precision)
        self.space = build_label_space(self.encoder, self.terminology, self.pipeline)
        self.lexical = build_lexical(self.terminology, self.space.codes)
        self.pieces_file = ROOT / config["source"]["work"] / "pieces.pt"
        self.window_cache: dict = self._read_pieces()
        self._saved_pieces = self._count_pieces()
        self.hierarchy = resolve_hierarchy(system)
        self._zero_shot = None

    def _read_pieces(self) -> dict:
        """Piece embeddings of earlier runs (the notes' encoding is most of a run's cost)."""
        import torch

        if not self.pieces_file.is_file():
            return {}
        return torch.load(self.pieces_file, map_location="cpu", weights_only=True)

    def _count_pieces(self) -> int:
        return sum(len(texts) for texts in self.window_cache.values())

    def save_pieces(self) -> None:
        """Keep the piece embeddings on disk when runs added some (a rerun reads them)."""
        import torch

        from icdbridge.outputs import atomic_file

        if self._count_pieces() > self._saved_pieces:
            with atomic_file(self.pieces_file) as temp:
                torch.save(self.window_cache, temp)
            self._saved_pieces = self._count_pieces()

    def zero_shot(self):
        """The source model predicting in the target system (N = 0 of ``warm``)."""
        from icdbridge.model import load_model

        if self._zero_shot is None:
            self._zero_shot = load_model(self.source, system=self.config["target"]["system"])
            self._zero_shot.window_cache = self.window_cache
        return self._zero_shot

    def train(self, train: list, dev: list, seed: int, warm: bool):
        """A trained predictor (warm-started from the source model or not)."""
        from icdbridge.model import TrainConfig, train_model

        settings = self.config["train"]
        result = train_model(
            train,
            dev,
            self.pipeline,
            train_config=TrainConfig(
                members=settings["members"],
                epochs=settings["epochs"],
                patience=settings["patience"],
                seed=seed,
                init=str(self.source) if warm else None,
            ),
            encoder=self.encoder,
            space=self.space,
            lexical=self.lexical,
            window_cache=self.window_cache,
        )
        predictor = result.predictor
        predictor.window_cache = self.window_cache
        return predictor, result

    def predict(self, predictor, test: list) -> tuple[dict, dict]:
        """Scores (every candidate) and decided codes of each test note."""
        predictions = predictor.predict(test, top_k=None)
        return {p.id: p.scores for p in predictions}, {p.id: p.predicted for p in predictions}


def tfidf_run(train: list, dev: list, test: list, settings: dict) -> tuple[dict, dict, dict]:
    """One-vs-rest logistic regression over TF-IDF: test scores, test decisions, details."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    from icdbridge.eval import best_f1_threshold

    vectorizer = TfidfVectorizer(
        sublinear_tf=settings["sublinear_tf"], ngram_range=(1, settings["ngram_max"])
    )
    x = vectorizer.fit_transform([d.text for d in train])
    binarizer = MultiLabelBinarizer()
    y = binarizer.fit_transform([d.codes for d in train])
    classifier = OneVsRestClassifier(
        LogisticRegression(C=settings["c"], max_iter=settings["max_iter"])
    ).fit(x, y)
    codes = list(binarizer.classes_)

    def scores(docs: list) -> list[dict[str, float]]:
        probabilities = classifier.predict_proba(vectorizer.transform([d.text for d in docs]))
        return [dict(zip(codes, map(float, row), strict=True)) for row in probabilities]

    dev_scores = scores(dev)
    cells = [(s[c], c in d.codes) for s, d in zip(dev_scores, dev, strict=True) for c in codes]
    n_pos = sum(len(set(d.codes)) for d in dev)
    threshold, dev_f1 = best_f1_threshold(
        np.array([s for s, _ in cells]), np.array([h for _, h in cells], dtype=int), n_pos
    )
    test_scores = scores(test)
    ranked = {
        d.id: dict(sorted(s.items(), key=lambda kv: (-kv[1], kv[0])))
        for d, s in zip(test, test_scores, strict=True)
    }
    decided = {d.id: [c for c, p in ranked[d.id].items() if p >= threshold] for d in test}
    return ranked, decided, {"codes": len(codes), "threshold": threshold, "dev_f1": dev_f1}


def metrics(ctx: Context, test: list, scores: dict, decided: dict) -> dict:
    """MAP, micro-F1 and CoPHE level F1 of one run on the test notes."""
    from icdbridge.eval import evaluate

    result = evaluate(
        {d.id: d.codes for d in test},
        scores,
        hierarchy=ctx.hierarchy,
        decisions=decided,
        bootstrap=0,
    )
    levels = result["cophe"]["levels"]
    out = {
        "map": result["ranking"]["map"]["value"],
        "micro_f1": result["flat"]["micro_f1"]["value"],
        "micro_precision": result["flat"]["micro_precision"]["value"],
        "micro_recall": result["flat"]["micro_recall"]["value"],
        "recall@20": result["ranking"]["recall@20"]["value"],
    }
    for level in COPHE_LEVELS:
        out[f"cophe_{level}"] = levels[level]["micro_f1"]["value"]
    return out


def run_one(ctx: Context, method: str, n: int, seed: int, test: list, pool: list) -> dict:
    """One (method, N, seed) run: train what it needs, score the test notes."""
    started = time.perf_counter()
    record: dict = {"method": method, "n": n, "seed": seed, "test_documents": len(test)}
    if n == 0:
        if method != "warm":
            raise ValueError("only the source model predicts with N = 0")
        scores, decided = ctx.predict(ctx.zero_shot(), test)
        record["detail"] = {"zero_shot": True}
    else:
        train, dev = labelled(pool, n, ctx.config["curve"])
        record |= {"train_documents": len(train), "dev_documents": len(dev)}
        if method == "tfidf":
            scores, decided, detail = tfidf_run(train, dev, test, ctx.config["tfidf"])
        else:
            predictor, result = ctx.train(train, dev, seed, warm=method == "warm")
            scores, decided = ctx.predict(predictor, test)
            detail = {
                "epochs": len(result.history),
                "best_val_map": round(result.best_val_map, 4),
                "threshold": round(predictor.calibrator.threshold_, 4),
            }
            if result.warm_start is not None:
                detail["init_config_sha256"] = result.warm_start["config_sha256"]
                detail["init_copied_tensors"] = len(result.warm_start["copied"])
        record["detail"] = detail
    record["metrics"] = metrics(ctx, test, scores, decided)
    record["seconds"] = round(time.perf_counter() - started, 1)
    return record


def aggregate(records: list[dict], config: dict) -> list[dict]:
    """Mean and standard deviation over seeds per (N label, method)."""
    rows = []
    keys = sorted({(r["n_label"], r["n"], r["method"]) for r in records}, key=lambda k: k[1])
    for label, n, method in keys:
        runs = [r for r in records if r["n_label"] == label and r["method"] == method]
        row = {"n": label, "n_sort": n, "method": method, "seeds": sorted(r["seed"] for r in runs)}
        for metric in ("map", "micro_f1", "recall@20", *(f"cophe_{lv}" for lv in COPHE_LEVELS)):
            values = [r["metrics"][metric] for r in runs]
            row[metric] = {
                "mean": round(statistics.fmean(values), 4),
                "sd": round(statistics.stdev(values), 4) if len(values) > 1 else None,
            }
        row["seconds"] = round(statistics.fmean(r["seconds"] for r in runs), 1)
        rows.append(row)
    return rows


def _cell(value: dict) -> str:
    if value["sd"] is None:
        return f"{value['mean']:.3f}"
    return f"{value['mean']:.3f} ± {value['sd']:.3f}"


def markdown(result: dict) -> str:
    """The results as markdown tables."""
    config, target = result["settings"], result["target"]
    order = {m: i for i, m in enumerate(METHODS)}
    rows = sorted(result["table"], key=lambda r: (r["n_sort"], order[r["method"]]))
    lines = [
        "# Few-shot adaptation: CodiEsp ICD-10-CM model → CodiEsp dev notes coded in ICD-9-CM",
        "",
        "Written by `python experiments/transfer/learning_curve.py` (settings in "
        "`learning_curve.toml`). Mean ± standard deviation over the seeds listed; each seed has "
        f"its own split of the {target['documents_kept']} target notes into "
        f"{config['target']['test_documents']} test notes and a labelled pool of "
        f"{result['pool_documents']}, its own N notes and its own training seed. N labelled notes "
        f"= training notes + validation notes ({config['curve']['dev_share']:.0%}, at least "
        f"{config['curve']['min_dev']}). Every model ranks the whole ICD-9-CM label space "
        f"({result['label_space']:,} codes).",
        "",
        "| N | method | seeds | MAP | micro-F1 | CoPHE category F1 | CoPHE block F1 "
        "| CoPHE chapter F1 | s/run |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        title = METHODS[row["method"]]
        if row["n_sort"] == 0:
            title = "source model, zero-shot"
        cells = " | ".join(_cell(row[m]) for m in METRICS)
        seeds = ",".join(map(str, row["seeds"]))
        lines.append(f"| {row['n']} | {title} | {seeds} | {cells} | {row['seconds']} |")
    statuses = ", ".join(f"{k} {v}" for k, v in target["source_codes_by_status"].items())
    source = config["source"]
    train = config["train"]
    lines += [
        "",
        f"Target: {target['documents']} CodiEsp {config['target']['split']} notes, gold ICD-10-CM "
        f"codes mapped by the GEM 10→9 (policy `best`): {statuses} (ICD-10-CM gold codes by "
        f"mapping status; `no-map` and `not-in-release` are dropped), "
        f"{target['target_assignments']} ICD-9-CM assignments, "
        f"{target['distinct_target_codes']} distinct codes, {target['documents_kept']} notes kept.",
        f"Source model: `icdbridge train` on the CodiEsp {source['split']} split only (first "
        f"{source['fit_documents']} notes fit, the rest validate), ICD-10-CM, "
        f"--members {source['members']} --epochs {source['epochs']} --patience "
        f"{source['patience']}; config sha256 `{result['source_config_sha256']}`.",
        f"Adapted and from-scratch models: `--members {train['members']} --epochs "
        f"{train['epochs']} --patience {train['patience']}`, training seed = split seed, "
        "icdbridge defaults otherwise. TF-IDF: word 1–"
        f"{config['tfidf']['ngram_max']}-grams, one-vs-rest logistic regression (C = "
        f"{config['tfidf']['c']}) over the codes of the training notes.",
        f"Runs: {result['runs']} of {result['planned_runs']} planned. Total run time "
        f"{result['seconds']} s on {result['environment'].get('processor') or 'this machine'}.",
        "",
    ]
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    """MAP and micro-F1 against N, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from icdbridge.outputs import atomic_file

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for metric, axis in zip(("map", "micro_f1"), axes, strict=True):
        for method, title in METHODS.items():
            rows = sorted(
                (r for r in result["table"] if r["method"] == method or r["n_sort"] == 0),
                key=lambda r: r["n_sort"],
            )
            if method == "tfidf":
                rows = [r for r in rows if r["n_sort"] > 0]
            if not rows:
                continue
            xs = [r["n_sort"] for r in rows]
            ys = [r[metric]["mean"] for r in rows]
            errors = [r[metric]["sd"] or 0.0 for r in rows]
            axis.errorbar(xs, ys, yerr=errors, marker="o", capsize=3, label=title)
        axis.set_xlabel("labelled target notes (N)")
        axis.set_ylabel(METRICS[metric])
        axis.set_xscale("symlog", linthresh=10)
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.suptitle("CodiEsp ICD-10-CM model adapted to ICD-9-CM-coded notes")
    figure.tight_layout()
    with atomic_file(path) as temp:
        figure.savefig(temp, format="png", dpi=110)
    plt.close(figure)


def main() -> None:
    from icdbridge.environment import software_environment
    from icdbridge.outputs import check_output, write_json, write_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", help="default: the TOML's")
    parser.add_argument("--sizes", nargs="+", help="N values (default: the TOML's; 'all' too)")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), help="default: all")
    parser.add_argument(
        "--table-only", action="store_true", help="write the table from the finished runs"
    )
    args = parser.parse_args()
    config = settings()
    out_json, out_md, out_png = (HERE / f"learning_curve.{x}" for x in ("json", "md", "png"))
    for path in (out_json, out_md, out_png):
        check_output(path)
    started = time.perf_counter()
    seeds = args.seeds if args.seeds is not None else config["curve"]["seeds"]
    methods = args.methods or config["curve"]["methods"]
    # the source model is trained (when absent) only for the runs that need it
    needed = not args.table_only and "warm" in methods
    source = source_model(config) if needed else ROOT / config["source"]["dir"]
    runs_dir = ROOT / config["source"]["work"] / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    docs, target = target_documents(config)
    test_n = config["target"]["test_documents"]
    pool_n = len(docs) - test_n
    sizes = sizes_of(config, pool_n, args.sizes)
    ctx = None if args.table_only else Context(config, source)
    for seed in seeds:
        test, pool = split(docs, seed, test_n)
        for n in sizes:
            for method in methods:
                if n == 0 and method != "warm":
                    continue
                path = runs_dir / f"{method}-n{n}-seed{seed}.json"
                if path.is_file() or ctx is None:
                    continue
                try:
                    record = run_one(ctx, method, n, seed, test, pool)
                finally:
                    ctx.save_pieces()  # the notes encoded so far, even when a run fails
                write_json(path, record)
                shown = " ".join(f"{k} {v:.3f}" for k, v in record["metrics"].items())
                print(f"{method} N={n} seed={seed}: {shown} ({record['seconds']} s)", flush=True)
    records = []
    for path in sorted(runs_dir.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        record["n_label"] = "all" if record["n"] == pool_n else str(record["n"])
        records.append(record)
    table = aggregate(records, config)
    import hashlib

    planned = len(config["curve"]["seeds"]) * sum(
        1 if n == 0 else len(config["curve"]["methods"]) for n in sizes_of(config, pool_n)
    )
    from icdbridge.codes import get_terminology
    from icdbridge.model.labels.space import label_space_codes

    result = {
        "settings": config,
        "target": target,
        "pool_documents": pool_n,
        "label_space": len(label_space_codes(get_terminology(config["target"]["system"]), "all")),
        "source_config_sha256": (
            hashlib.sha256((source / "config.json").read_bytes()).hexdigest()
            if (source / "config.json").is_file()
            else "(not trained yet)"
        ),
        "runs": len(records),
        "planned_runs": planned,
        "table": table,
        "records": records,
        "seconds": round(sum(r["seconds"] for r in records), 1),
        "script_seconds": round(time.perf_counter() - started, 1),
        "environment": software_environment(),
    }
    write_json(out_json, result)
    write_text(out_md, markdown(result))
    if table:
        plot(result, out_png)
    print(markdown(result))


if __name__ == "__main__":
    main()
