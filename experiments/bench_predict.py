"""Benchmark: label-index build speed and document throughput over the full ICD-10-CM space.

    python experiments/bench_predict.py                  # sample-based, a few minutes
    python experiments/bench_predict.py --full-labels    # also encode every label for real
    python experiments/bench_predict.py --model MODEL_DIR   # add the trained model's throughput

Everything is measured in the same run on the same machine (2 torch threads by default), and
reported as ratios against anchors measured here, because the CPU is shared:

1. **Label encoding.** Anchor: a *naive* encoder loop — the label texts in their release order,
   batches of 32 padded to the longest text (up to 256 tokens), ``torch.no_grad``. Ours:
   :meth:`TextEncoder.embed` as used by :func:`icdbridge.model.labels.cache.embed_labels` (dedup,
   length-sorted batches of 128, ``max_length`` 64, ``torch.inference_mode``). Both encode the same
   random sample of label texts; times are extrapolated to the whole label space (``--full-labels``
   measures the real build instead of extrapolating ours). The faiss index build is timed too.
2. **Documents/s** on CodiEsp-length notes (CodiEsp dev, English) over every code of the
   release (the model's default label space): zero-shot cosine baseline (sentences → encoder →
   exact faiss top-200 per sentence, max over sentences; one batched search for all notes), the
   lexical channel (on the English text alone, and with each note's Spanish original read
   through the word gloss, whose one-off build is timed apart), the clause-piece shortlist of
   the model's pipeline, and — when ``--model`` is given and ``experiments/bench_model.py``
   exists — the trained model (MODEL HOOK below); ``--compare-shortlist K`` also times the same
   model predicting with a faiss shortlist of ``K`` codes (each of the two timed twice,
   alternately; the faster run of each is kept).
3. **Quantisation check** (``--int8``): dynamic int8 quantisation of the encoder's linear layers:
   speed-up and the overlap of its top-20 cosine labels with the float model's.

Writes ``experiments/bench_predict.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
HERE = Path(__file__).resolve().parent


# ----------------------------------------------------------------------------- MODEL HOOK
def model_predict_factory(model_dir: Path | None) -> Callable[..., Any] | None:
    """MODEL HOOK: return ``predict(documents)`` for the trained model, or ``None``.

    Implemented by the model's own file ``experiments/bench_model.py``, which must define
    ``make_predict(model_dir: Path)`` returning ``predict(documents, shortlist_k=None)`` — a
    function that scores documents over the whole ICD-10-CM 2026 label space (encoding
    included); ``shortlist_k`` replaces the model's faiss shortlist size for that call
    (``--compare-shortlist``). Loading time is not part of the throughput.
    """
    if model_dir is None:
        return None
    try:
        from bench_model import make_predict
    except ImportError as error:
        print(f"--model given but experiments/bench_model.py is missing: {error}")
        return None
    return make_predict(model_dir)


# ----------------------------------------------------------------------------- helpers
def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


SETTINGS: dict = tomllib.loads(
    (Path(__file__).resolve().parent / "bench.toml").read_text(encoding="utf-8")
)["bench_predict"]
"""Defaults of this benchmark (``bench.toml``, ``[bench_predict]``); command-line options win."""


def naive_encode(encoder, texts: Sequence[str], batch_size: int = 32) -> None:
    """The anchor: release order, pad to longest (<= 256 tokens), no_grad, no dedup."""
    import torch

    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            batch = encoder.tokenizer(
                list(texts[i : i + batch_size]),
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
            )
            hidden = encoder(batch["input_ids"], batch["attention_mask"])
            encoder.pool(hidden, batch["attention_mask"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sample", type=int, default=SETTINGS["sample"], help="label texts in the sample"
    )
    parser.add_argument(
        "--docs", type=int, default=SETTINGS["docs"], help="CodiEsp dev documents to score"
    )
    parser.add_argument("--threads", type=int, default=SETTINGS["threads"])
    parser.add_argument("--full-labels", action="store_true", help="encode every label for real")
    parser.add_argument("--int8", action="store_true", help="also test dynamic int8 quantisation")
    parser.add_argument("--model", type=Path, default=None, help="trained model dir (MODEL HOOK)")
    parser.add_argument(
        "--compare-shortlist",
        type=int,
        default=None,
        metavar="K",
        help="also time the trained model with a faiss shortlist of K codes",
    )
    parser.add_argument("--out", type=Path, default=HERE / "bench_predict.json")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from icdbridge.codes import get_terminology
    from icdbridge.data import load_codiesp
    from icdbridge.environment import software_environment
    from icdbridge.model import (
        LabelTextOptions,
        PipelineConfig,
        TextEncoder,
        document_lexical_scores,
    )
    from icdbridge.model.features import encode_documents
    from icdbridge.model.labels import (
        DEFAULT_LABEL_MAX_LENGTH,
        CandidateIndex,
        label_texts,
        sentence_cosine,
    )
    from icdbridge.model.lexical import LexicalMatcher, glosser_for
    from icdbridge.model.text import bf16_supported, split_sentences
    from icdbridge.outputs import write_text

    report: dict[str, Any] = {
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "bf16_supported": None,
        "environment": software_environment(),
    }
    cm = get_terminology("icd10cm", "2026")
    encoder = TextEncoder()
    report["bf16_supported"] = bf16_supported()
    leaves = cm.codes(leaves_only=True)
    all_codes = cm.codes()  # every code of the release (leaves and categories)
    description_texts = [cm.description(c) for c in all_codes]
    full_texts = list(label_texts(cm, leaves, synonyms=True, ancestors=True).values())
    rng = random.Random(0)

    # ---------------------------------------------------------------- 1. label encoding
    label_rows = {}
    for name, texts in [
        (f"descriptions of all {len(all_codes)} codes", description_texts),
        (
            f"full label texts (description; synonyms; ancestors) of {len(leaves)} leaves",
            full_texts,
        ),
    ]:
        sample = rng.sample(texts, min(args.sample, len(texts)))
        warm = sample[: min(256, len(sample))]
        naive_encode(encoder, warm)  # warm-up passes (kernel creation), not timed
        _, naive_s = timed(lambda sample=sample: naive_encode(encoder, sample))
        speeds = {}
        for precision in ("fp32", "bf16"):
            if precision == "bf16" and not bf16_supported():
                continue
            encoder.precision = precision
            encoder.embed(sample, batch_size=128, max_length=DEFAULT_LABEL_MAX_LENGTH)  # warm-up
            vectors, seconds = timed(
                lambda sample=sample: encoder.embed(
                    sample, batch_size=128, max_length=DEFAULT_LABEL_MAX_LENGTH
                )
            )
            speeds[precision] = (seconds, vectors)
        encoder.precision = "fp32"
        distinct = len(set(texts))
        row = {
            "labels": len(texts),
            "distinct_texts": distinct,
            "sample": len(sample),
            "naive_labels_per_s": len(sample) / naive_s,
            "naive_full_minutes_extrapolated": len(texts) * naive_s / len(sample) / 60,
        }
        for precision, (seconds, _) in speeds.items():
            row[f"ours_{precision}_labels_per_s"] = len(sample) / seconds
            minutes = distinct * seconds / len(sample) / 60
            row[f"ours_{precision}_full_minutes_extrapolated"] = minutes
            row[f"speedup_{precision}"] = row["naive_full_minutes_extrapolated"] / minutes
        if "bf16" in speeds:
            f32, b16 = speeds["fp32"][1], speeds["bf16"][1]
            row["bf16_mean_cosine_to_fp32"] = float(
                torch.nn.functional.cosine_similarity(f32, b16).mean()
            )
            queries = rng.sample(texts, 64)
            encoder.precision = "fp32"
            q32 = encoder.embed(queries)
            encoder.precision = "bf16"
            q16 = encoder.embed(queries)
            encoder.precision = "fp32"
            top32 = torch.topk(q32 @ f32.T, 20).indices.tolist()
            top16 = torch.topk(q16 @ b16.T, 20).indices.tolist()
            row["bf16_top20_overlap"] = sum(
                len(set(a) & set(b)) for a, b in zip(top32, top16, strict=True)
            ) / (20 * len(queries))
        label_rows[name] = row
        print(name, json.dumps(row, indent=1), flush=True)
    report["label_encoding"] = label_rows

    # the label space documents are scored over: every code of the release, as the model's default
    description_options = LabelTextOptions(synonyms=False, ancestors=False)
    if args.full_labels:
        matrix, full_s = timed(
            lambda: encoder.embed(
                description_texts, batch_size=128, max_length=DEFAULT_LABEL_MAX_LENGTH
            )
        )
        report["full_description_encoding_s"] = full_s
        report["full_description_labels_per_s"] = len(all_codes) / full_s
    else:
        from icdbridge.model import embed_labels

        labels, cache_s = timed(lambda: embed_labels(encoder, cm, all_codes, description_options))
        matrix = labels.matrix
        report["description_embeddings_from_cache_s"] = cache_s
    index, index_s = timed(lambda: CandidateIndex(all_codes, matrix))
    report["faiss_flat_build_s"] = index_s
    report["faiss_flat_labels"] = len(all_codes)

    # ---------------------------------------------------------------- 2. documents/s
    docs = load_codiesp(split="dev")[: args.docs]
    texts = [d.text for d in docs]
    report["docs"] = len(docs)
    report["mean_doc_chars"] = sum(map(len, texts)) / len(texts)

    _, cosine_s = timed(lambda: sentence_cosine(encoder, index, texts, 200))
    throughput = {"zero-shot cosine baseline": len(docs) / cosine_s}
    matcher, lexical_build_s = timed(lambda: LexicalMatcher.build(cm, all_codes))
    report["lexical_build_s"] = lexical_build_s
    _, gloss_build_s = timed(lambda: glosser_for("es", cm))
    report["spanish_gloss_build_s"] = gloss_build_s
    _, lexical_s = timed(lambda: [matcher.scores(t) for t in texts])
    throughput["lexical channel (English text)"] = len(docs) / lexical_s
    _, both_s = timed(lambda: [document_lexical_scores(matcher, d, cm) for d in docs])
    throughput["lexical channel (English + Spanish original)"] = len(docs) / both_s

    config = PipelineConfig()

    def piece_shortlist() -> list[dict[str, float]]:
        encoded = encode_documents(encoder, texts, config)
        vectors = [v for _, v in encoded]
        return index.shortlists(vectors, config.per_window_k, config.shortlist_k)

    _, shortlist_s = timed(piece_shortlist)
    throughput[f"clause-piece shortlist (K={config.shortlist_k})"] = len(docs) / shortlist_s
    predict = model_predict_factory(args.model)
    if predict is not None and args.compare_shortlist is not None:
        model_runs: list[float] = []
        other_runs: list[float] = []
        for _ in range(2):
            model_runs.append(timed(lambda: predict(docs))[1])
            other_runs.append(timed(lambda: predict(docs, shortlist_k=args.compare_shortlist))[1])
        throughput["trained model"] = len(docs) / min(model_runs)
        name = f"trained model, shortlist {args.compare_shortlist}"
        throughput[name] = len(docs) / min(other_runs)
    elif predict is not None:
        _, model_s = timed(lambda: predict(docs))
        throughput["trained model"] = len(docs) / model_s
    report["docs_per_s"] = throughput
    report["ratio_to_cosine_baseline"] = {
        k: v / throughput["zero-shot cosine baseline"] for k, v in throughput.items()
    }
    print(json.dumps(report["docs_per_s"], indent=1), flush=True)

    # ---------------------------------------------------------------- 3. int8 check
    if args.int8:
        quantized = TextEncoder(precision="fp32")
        encoder.precision = "fp32"  # compare int8 with float32
        quantized.model = torch.ao.quantization.quantize_dynamic(
            quantized.model, {torch.nn.Linear}, dtype=torch.qint8
        )
        sample = rng.sample(description_texts, min(args.sample, len(description_texts)))
        f_labels, float_s = timed(lambda: encoder.embed(sample, batch_size=128, max_length=64))
        q_labels, int8_s = timed(lambda: quantized.embed(sample, batch_size=128, max_length=64))
        sentences = [s.text for t in texts[:10] for s in split_sentences(t) if s.text.strip()]
        top_f = torch.topk(encoder.embed(sentences) @ f_labels.T, 20).indices.tolist()
        top_q = torch.topk(quantized.embed(sentences) @ q_labels.T, 20).indices.tolist()
        overlap = sum(len(set(a) & set(b)) for a, b in zip(top_f, top_q, strict=True)) / (
            20 * len(top_f)
        )
        cos = torch.nn.functional.cosine_similarity(q_labels, f_labels).mean()
        encoder.precision = "fp32"
        report["int8"] = {
            "speedup": float_s / int8_s,
            "mean_cosine_int8_vs_float_label_vectors": float(cos),
            "top20_overlap_over_sample_labels": overlap,
        }
        print(json.dumps(report["int8"], indent=1))

    write_text(args.out, json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
