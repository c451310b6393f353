"""A tiny synthetic terminology, corpus and encoder: the model pipeline without CodiEsp.

* :func:`write_terminology` — a custom hierarchy file of 3 chapters, 6 categories and 18 leaf
  codes with plain-English titles (some with synonyms), registered as system ``"synth"``.
* :func:`make_corpus` — seeded notes, each naming one to three conditions by their titles or
  synonyms amid filler sentences; their gold codes are the codes named.
* :func:`write_split` — such a corpus as ``train.jsonl`` and ``dev.jsonl`` files;
* :func:`documents` — corpus rows as :class:`~icdbridge.data.Document` objects;
  :func:`train_one_network` — the small one-network model several tests predict with;
  :func:`train_args` — ``icdbridge train`` arguments of such a model.
* :func:`write_encoder` — a 2-layer BERT (hidden size 32) built with ``transformers``'
  ``BertConfig`` and seeded random weights, with a word-level tokenizer vocabulary of the
  corpus' and the titles' words, saved as a local Hugging Face directory.

Everything is built in a second or two on a CPU; ``tests/test_model_synthetic.py`` trains,
saves, loads, resumes and predicts with it.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

SYSTEM = "synth"
"""System id the synthetic terminology is registered under."""

CHAPTERS = {
    "A": "Diseases of the kidney and urinary tract",
    "B": "Diseases of the heart and vessels",
    "C": "Diseases of the lung and airways",
}
CATEGORIES = {
    "A10": ("A", "Kidney stone"),
    "A20": ("A", "Infection of the bladder"),
    "B10": ("B", "Heart failure"),
    "B20": ("B", "High blood pressure"),
    "C10": ("C", "Pneumonia"),
    "C20": ("C", "Asthma"),
}
LEAVES = {
    "A10.0": ("Kidney stone of the left side", "left renal calculus"),
    "A10.1": ("Kidney stone of the right side", "right renal calculus"),
    "A10.9": ("Kidney stone unspecified", ""),
    "A20.0": ("Acute infection of the bladder", "acute cystitis"),
    "A20.1": ("Chronic infection of the bladder", "chronic cystitis"),
    "A20.9": ("Infection of the bladder unspecified", ""),
    "B10.0": ("Acute heart failure", ""),
    "B10.1": ("Chronic heart failure", "chronic cardiac insufficiency"),
    "B10.9": ("Heart failure unspecified", ""),
    "B20.0": ("Essential high blood pressure", "essential hypertension"),
    "B20.1": ("High blood pressure in pregnancy", "gestational hypertension"),
    "B20.9": ("High blood pressure unspecified", ""),
    "C10.0": ("Pneumonia due to bacteria", "bacterial pneumonia"),
    "C10.1": ("Pneumonia due to virus", "viral pneumonia"),
    "C10.9": ("Pneumonia unspecified", ""),
    "C20.0": ("Allergic asthma", ""),
    "C20.1": ("Asthma induced by exercise", "exercise induced bronchospasm"),
    "C20.9": ("Asthma unspecified", ""),
}
FILLER = [
    "The patient came to the clinic with his wife.",
    "She reports feeling tired for two weeks.",
    "Vital signs were stable on arrival.",
    "He was discharged home after three days.",
    "Laboratory tests were ordered and reviewed.",
    "No allergies to medication are known.",
    "The family history is not relevant.",
    "Follow up in the outpatient clinic was arranged.",
]


def write_terminology(folder: Path) -> Path:
    """Write the synthetic hierarchy (CSV) into ``folder`` and return its path."""
    rows = ["code,parent,title,kind,leaf,synonyms"]
    rows += [f"{code},,{title},chapter,false," for code, title in CHAPTERS.items()]
    rows += [
        f"{code},{parent},{title},category,false," for code, (parent, title) in CATEGORIES.items()
    ]
    for code, (title, synonym) in LEAVES.items():
        rows.append(f"{code},{code[:3]},{title},subcategory,true,{synonym}")
    path = Path(folder) / "synth.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


NEW_RELEASE = "v2"
"""Release id of :func:`write_new_release`."""
ADDED = {
    "A30": ("A", "Infection of the kidney", "category", ""),
    "A30.0": ("A30", "Acute infection of the kidney", "subcategory", "acute pyelonephritis"),
}
"""Codes :func:`write_new_release` adds: code → (parent, title, kind, synonym)."""
CHANGED = {"B20.0": "Essential primary high blood pressure"}
"""Leaves whose title :func:`write_new_release` rewrites: code → new title."""
REMOVED = ("C10.9",)
"""Leaves :func:`write_new_release` drops."""


def write_new_release(folder: Path) -> Path:
    """Write a newer release of the synthetic hierarchy (``synth-v2.csv``): :data:`ADDED`
    codes, :data:`CHANGED` titles, :data:`REMOVED` leaves; everything else as
    :func:`write_terminology`."""
    rows = write_terminology(folder).read_text(encoding="utf-8").splitlines()
    out = []
    for row in rows:
        code = row.split(",", 1)[0]
        if code in REMOVED:
            continue
        if code in CHANGED:
            fields = row.split(",")
            fields[2] = CHANGED[code]
            row = ",".join(fields)
        out.append(row)
    for code, (parent, title, kind, synonym) in ADDED.items():
        out.append(f"{code},{parent},{title},{kind},{str(kind == 'subcategory').lower()},{synonym}")
    path = Path(folder) / f"synth-{NEW_RELEASE}.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def make_corpus(n: int, seed: int = 0) -> list[dict[str, object]]:
    """``n`` seeded notes as JSONL rows ``{"id", "text", "codes", "system"}``.

    Codes ``C20.*`` never occur (unseen codes for zero-shot checks); each note names one to three
    other leaf codes by their title or synonym.
    """
    rng = random.Random(seed)
    codes = [c for c in LEAVES if not c.startswith("C20")]
    out = []
    for i in range(n):
        gold = rng.sample(codes, rng.randint(1, 3))
        sentences = rng.sample(FILLER, 2)
        for code in gold:
            title, synonym = LEAVES[code]
            name = synonym if synonym and rng.random() < 0.5 else title
            sentences.insert(rng.randrange(len(sentences) + 1), f"Diagnosis: {name.lower()}.")
        out.append(
            {"id": f"note-{i:03d}", "text": " ".join(sentences), "codes": gold, "system": SYSTEM}
        )
    return out


def documents(rows: Iterable[dict[str, object]]) -> list:
    """:func:`make_corpus` rows as :class:`~icdbridge.data.Document` objects."""
    from icdbridge.data import Document

    return [Document(r["id"], r["text"], list(r["codes"]), r["system"]) for r in rows]


def train_one_network(docs: Sequence, encoder: Path, out_dir: Path) -> None:
    """Train and save a one-network model of the synthetic system into ``out_dir``: 4 epochs,
    16 negatives, batches of 4, trained on ``docs[:30]`` and validated on the rest."""
    from icdbridge.model import PipelineConfig, TrainConfig, train_model

    train_model(
        docs[:30],
        docs[30:],
        PipelineConfig(system=SYSTEM, encoder=str(encoder)),
        train_config=TrainConfig(epochs=4, negatives=16, batch_size=4, members=1),
        out_dir=out_dir,
    )


def write_split(folder: Path, notes: int = 24, train: int = 18) -> tuple[Path, Path]:
    """Write ``notes`` corpus rows (:func:`make_corpus`) into ``folder`` as ``train.jsonl``
    (the first ``train``) and ``dev.jsonl`` (the rest); return the two paths."""
    import json

    rows = make_corpus(notes)
    paths = folder / "train.jsonl", folder / "dev.jsonl"
    for path, part in zip(paths, (rows[:train], rows[train:]), strict=True):
        path.write_text("".join(json.dumps(row) + "\n" for row in part), encoding="utf-8")
    return paths


def train_args(
    train: Path, dev: Path, out: Path, system: str, *options: object, epochs: int, members: int
) -> list[str]:
    """``icdbridge train`` arguments of a small model (16 negatives, batches of 4): ``out`` is
    item 6, ``options`` follow ``--system SYSTEM`` (from item 9 on)."""
    args = [
        "train",
        "--train", train,
        "--dev", dev,
        "--out", out,
        "--system", system,
        *options,
        "--epochs", epochs,
        "--members", members,
        "--negatives", 16,
        "--batch-size", 4,
    ]  # fmt: skip
    return [str(a) for a in args]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+|[0-9]+|[^\sa-z0-9]", text.lower())


def write_encoder(folder: Path, seed: int = 0, texts: Iterable[str] = ()) -> Path:
    """Save a 2-layer random BERT with a word-level vocabulary as a local HF directory (the
    synthetic corpus' and titles' words, and those of ``texts``)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words: set[str] = set()
    for text in [*CHAPTERS.values(), *(t for _, t in CATEGORIES.values()), *FILLER]:
        words.update(_words(text))
    for title, synonym in LEAVES.values():
        words.update(_words(f"{title} {synonym} diagnosis:"))
    for text in texts:
        words.update(_words(text))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words)]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), model_max_length=256)
    tokenizer.save_pretrained(str(folder))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
    )
    BertModel(config).save_pretrained(str(folder))
    return folder


@contextlib.contextmanager
def environment(root: Path, *systems: str) -> Iterator[Path]:
    """The setting of a synthetic-model test: a private label cache under ``root``, the
    synthetic terminology registered and its encoder written (yielded). On exit the cache
    variable is restored and :data:`SYSTEM` and ``systems`` (with every release registered
    for them) are unregistered."""
    from icdbridge.codes import get_terminology, register_hierarchy
    from icdbridge.codes.registry import CUSTOM_RELEASES, CUSTOM_SYSTEMS

    previous = os.environ.get("ICDBRIDGE_CACHE")
    os.environ["ICDBRIDGE_CACHE"] = str(root / "cache")
    try:
        register_hierarchy(SYSTEM, write_terminology(root))
        yield write_encoder(root / "encoder")
    finally:
        for system in (SYSTEM, *systems):
            CUSTOM_SYSTEMS.pop(system, None)
        for key in [k for k in CUSTOM_RELEASES if k[0] in (SYSTEM, *systems)]:
            del CUSTOM_RELEASES[key]
        get_terminology.cache_clear()
        if previous is None:
            os.environ.pop("ICDBRIDGE_CACHE", None)
        else:
            os.environ["ICDBRIDGE_CACHE"] = previous


def setting_fixture(name: str):
    """A module-scoped pytest fixture ``setting`` over :func:`environment`: a dict with the
    ``root`` folder, the synthetic ``encoder`` and an ``empty`` data folder (for
    ``ICDBRIDGE_DATA`` without any data). In a test module: ``setting =
    synthetic.setting_fixture("bases")``."""
    import pytest

    @pytest.fixture(scope="module")
    def setting(tmp_path_factory) -> Iterator[dict[str, Path]]:
        root = tmp_path_factory.mktemp(name)
        with environment(root) as encoder:
            empty = root / "no-data"
            empty.mkdir()
            yield {"root": root, "encoder": encoder, "empty": empty}

    return setting
