"""The walkthrough of docs/transfer.md ("I have a new coded dataset in system S"), end to end.

Every step runs through the ``icdbridge`` CLI in this process, exactly as the walkthrough prints
it (only the paths and the small training settings differ), on small notes written here:

* a one-network ICD-10-CM **2024** model (the "model trained elsewhere") is trained on notes
  naming real ICD-10-CM conditions by their titles, with the tiny encoder of
  ``tests/synthetic.py`` (whose vocabulary holds the titles' words);
* the "new dataset" is ICD-9-CM-coded: other notes naming the same conditions, their gold codes
  the ICD-10-CM codes mapped to ICD-9-CM by the library's crosswalk (policy ``best``).

Then steps 2 to 8: predict in ICD-9-CM (route ``auto`` = ``blend``), evaluate, warm-start on
the ICD-9-CM notes, compare both runs, an operating point, the text-aware migration of a small
CSV and a newer ICD-10-CM release (2026). Each step's output is read back and checked: rows are
never lost, the route and the codes outside the training label space are recorded, the
comparison holds both runs at every CoPHE level, the adapted model is an ICD-9-CM model.

Needs the real terminologies and crosswalks (``$ICDBRIDGE_DATA`` is not needed: they ship with
the package); the whole walkthrough takes about a minute and a half on two CPU cores, most of
it building the label spaces of the full ICD-10-CM releases (98,000 codes).
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

import synthetic
from cli_harness import CliResult, run_cli

pytestmark = pytest.mark.slow

CODES = (
    "N20.0", "N30.00", "N30.20", "I50.9", "I10", "O13.9", "J18.9", "J15.9", "J12.9",
    "J45.909", "J45.990", "E11.9", "K35.80", "N39.0",
)  # fmt: skip
"""Real ICD-10-CM codes (in the 2024 and 2026 releases) the notes name by their titles."""
TRAINED_RELEASE, NEWER_RELEASE = "2024", "2026"

LEGACY = [  # (dx, note): ICD-9-CM codes with several ICD-10-CM candidates, one, and none
    ("780.79", "Since a viral infection she suffers a postviral fatigue syndrome."),
    ("595.0", "Burning on urination. Diagnosis: acute cystitis without hematuria."),
    ("540.9", "Pain in the right lower quadrant. Diagnosis: unspecified acute appendicitis."),
    ("401.9", "Diagnosis: essential (primary) hypertension."),
    ("V99.99", "A code no release of ICD-9-CM defines: the row is kept, unmapped."),
]


def _notes(n: int, seed: int, titles: dict[str, str]) -> list[dict[str, object]]:
    """``n`` notes naming one to three of :data:`CODES` by title amid filler (ICD-10-CM gold)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        gold = rng.sample(CODES, rng.randint(1, 3))
        sentences = rng.sample(synthetic.FILLER, 2)
        for code in gold:
            sentences.insert(rng.randrange(len(sentences) + 1), f"Diagnosis: {titles[code]}.")
        rows.append({"id": f"s{seed}-{i:03d}", "text": " ".join(sentences), "codes": gold})
    return rows


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _ok(result: CliResult) -> str:
    """The run's stderr (rich wraps lines: joined by single spaces), after checking it ran."""
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    return " ".join(result.err.split())


@pytest.fixture
def walk(tmp_path, monkeypatch):
    """Notes in both systems, the encoder and a private label-embedding cache."""
    from icdbridge.codes import get_terminology
    from icdbridge.crosswalk import map_code

    monkeypatch.setenv("ICDBRIDGE_CACHE", str(tmp_path / "cache"))
    icd10 = get_terminology("icd10cm", TRAINED_RELEASE)
    titles = {code: icd10.description(code).lower() for code in CODES}
    to_icd9 = {code: map_code(code, "icd10cm", "icd9cm", policy="best").codes for code in CODES}
    assert all(to_icd9.values())  # every condition has an ICD-9-CM code
    icd9 = get_terminology("icd9cm")
    texts = [*titles.values(), *(icd9.description(c) for cs in to_icd9.values() for c in cs)]
    texts += [note for _, note in LEGACY]
    encoder = synthetic.write_encoder(tmp_path / "encoder", texts=texts)
    source = [{**row, "system": "icd10cm"} for row in _notes(40, 0, titles)]
    target = [
        {**row, "codes": sorted({c for code in row["codes"] for c in to_icd9[code]}),
         "system": "icd9cm"}
        for row in _notes(36, 1, titles)
    ]  # fmt: skip
    return {
        "root": tmp_path,
        "encoder": encoder,
        "train": _write_jsonl(tmp_path / "train10.jsonl", source[:30]),
        "dev": _write_jsonl(tmp_path / "dev10.jsonl", source[30:]),
        "test": _write_jsonl(tmp_path / "test.jsonl", target[:12]),
        "few": _write_jsonl(tmp_path / "few.jsonl", target[12:30]),
        "few_dev": _write_jsonl(tmp_path / "few_dev.jsonl", target[30:]),
    }


def test_the_transfer_walkthrough_runs_end_to_end(walk, capsys):
    from icdbridge.codes import get_terminology

    root = walk["root"]
    model, adapted = root / "model", root / "adapted"
    test_ids = [row["id"] for row in _read_jsonl(walk["test"])]
    icd9 = get_terminology("icd9cm")

    # the model trained elsewhere: ICD-10-CM 2024, one small network
    args = synthetic.train_args(
        walk["train"], walk["dev"], model, "icd10cm",
        "--release", TRAINED_RELEASE, "--encoder", walk["encoder"], epochs=2, members=1,
    )  # fmt: skip
    _ok(run_cli(args, capsys))
    assert json.loads((model / "config.json").read_text())["release"] == TRAINED_RELEASE

    # 2. predict in S with the model as it is: route auto is blend (a crosswalk links the two)
    zero = root / "zero.jsonl"
    err = _ok(run_cli(["predict", model, walk["test"], "--system", "icd9cm", "-o", zero], capsys))
    assert "all outside the training label space (icd10cm 2024)" in err
    assert "route blend (crosswalk icd10cm → icd9cm" in err
    rows = _read_jsonl(zero)
    assert [row["id"] for row in rows] == test_ids  # every note, in order
    for row in rows:
        assert row["route"] == "blend"
        assert row["outside_training"] == list(row["scores"])  # ICD-9-CM: every code outside
        assert len(row["scores"]) == 50 and all(icd9.get(c) for c in row["scores"])
        assert set(row["codes"]) <= set(row["scores"])
        assert list(row["scores"].values()) == sorted(row["scores"].values(), reverse=True)

    # 3. evaluate it hierarchically
    err = _ok(
        run_cli(
            ["evaluate", "--gold", walk["test"], "--pred", zero, "--system", "icd9cm",
             "--out", root / "eval_zero"],
            capsys,
        )
    )  # fmt: skip
    metrics = json.loads((root / "eval_zero" / "metrics.json").read_text())
    assert metrics["inputs"]["n_documents"] == len(test_ids)
    assert metrics["inputs"]["n_documents_without_predictions"] == 0
    assert metrics["inputs"]["hierarchy"] == "icd9cm"
    assert (root / "eval_zero" / "report.md").is_file()

    # 4. adapt with the labelled notes: warm start, calibration refitted on ICD-9-CM
    args = [
        "train", "--init", model, "--train", walk["few"], "--dev", walk["few_dev"],
        "--system", "icd9cm", "--out", adapted,
        "--epochs", 2, "--members", 1, "--negatives", 16, "--batch-size", 4,
    ]  # fmt: skip
    err = _ok(run_cli(args, capsys))
    assert f"warm start from {model} (icd10cm {TRAINED_RELEASE}" in err
    config = json.loads((adapted / "config.json").read_text())
    assert config["system"] == "icd9cm" and config["pipeline"]["system"] == "icd9cm"
    assert config["extra"]["init"]["system"] == "icd10cm"
    assert config["extra"]["init"]["release"] == TRAINED_RELEASE
    adapted_pred = root / "adapted.jsonl"
    err = _ok(run_cli(["predict", adapted, walk["test"], "-o", adapted_pred], capsys))
    assert "all inside the training label space (icd9cm" in err and "route direct" in err
    adapted_rows = _read_jsonl(adapted_pred)
    assert [row["id"] for row in adapted_rows] == test_ids
    assert all(row["route"] == "direct" and row["outside_training"] == [] for row in adapted_rows)

    # 5. compare the runs side by side
    compare = root / "compare"
    _ok(
        run_cli(
            ["evaluate", "--gold", walk["test"], "--pred", zero, "--pred", adapted_pred,
             "--names", "zero-shot,adapted", "--system", "icd9cm", "--out", compare],
            capsys,
        )
    )  # fmt: skip
    report = json.loads((compare / "metrics.json").read_text())
    runs = ["zero-shot", "adapted"]
    assert report["runs"] == runs and report["reference"] == "zero-shot"
    levels = report["tables"]["cophe_levels"]
    assert {"code", "category", "chapter"} <= set(levels)
    for level, values in levels.items():
        for metric in ("micro_precision", "micro_recall", "micro_f1"):
            assert set(values[metric]) == set(runs), (level, metric)
    for name in runs:  # each run's own metrics are those of `evaluate` on it alone
        assert report["run_metrics"][name]["inputs"]["n_documents"] == len(test_ids)
    assert report["run_metrics"]["zero-shot"]["ranking"] == metrics["ranking"]
    assert (compare / "comparison.png").stat().st_size > 0
    assert "zero-shot" in (compare / "report.md").read_text()

    # 6. pick an operating point
    point = root / "unseen.jsonl"
    err = _ok(
        run_cli(
            ["predict", adapted, walk["test"], "--operating-point", "unseen", "-o", point],
            capsys,
        )
    )
    assert "operating point unseen:" in err
    assert [row["id"] for row in _read_jsonl(point)] == test_ids

    # 7. migrate the codes instead of the model: the note ranks each code's candidates
    legacy = root / "legacy.csv"
    with open(legacy, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "dx", "note"])
        writer.writerows([f"r{i}", dx, note] for i, (dx, note) in enumerate(LEGACY))
    migrated = root / "migrated.csv"
    err = _ok(
        run_cli(
            ["map", legacy, "--from", "icd9cm", "--to", "icd10cm", "--column", "dx",
             "--text-column", "note", "--model", adapted, "--policy", "text", "-o", migrated],
            capsys,
        )
    )  # fmt: skip
    with open(migrated, encoding="utf-8", newline="") as handle:
        out = list(csv.DictReader(handle))
    assert [row["id"] for row in out] == [f"r{i}" for i in range(len(LEGACY))]  # no row lost
    assert [row["dx"] for row in out] == [dx for dx, _ in LEGACY]
    for row in out[:3]:  # several candidates: ranked by the note, with scores
        ranked = _list(row["map_text_ranked"])
        scores = [float(s) for s in _list(row["map_text_scores"])]
        assert row["map_text_order"] == "text"
        assert sorted(ranked) == sorted(_list(row["map_targets"])) and len(ranked) > 1
        assert len(scores) == len(ranked) and len(set(scores)) > 1
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
        assert _list(row["map_text_pick"])[0] == ranked[0]
    assert _list(out[0]["map_text_ranked"])[0] in {"G93.3", "G93.31"}  # postviral fatigue
    assert out[3]["map_text_order"] == "crosswalk: one candidate"
    assert _list(out[3]["map_text_ranked"]) == ["I10"] and out[3]["map_text_scores"] == ""
    assert out[4]["map_status"] == "not-in-release" and out[4]["map_text_ranked"] == ""

    # 8. a newer release of the trained system: no retraining, the added codes marked
    newer = root / "newer.jsonl"
    err = _ok(
        run_cli(["predict", model, walk["dev"], "--release", NEWER_RELEASE, "-o", newer], capsys)
    )
    assert f"ICD-10-CM {NEWER_RELEASE}" in err
    assert "outside the training label space (icd10cm 2024)" in err and "route direct" in err
    rows = _read_jsonl(newer)
    assert [row["id"] for row in rows] == [row["id"] for row in _read_jsonl(walk["dev"])]
    added = set(get_terminology("icd10cm", NEWER_RELEASE).codes()) - set(
        get_terminology("icd10cm", TRAINED_RELEASE).codes()
    )
    assert added
    for row in rows:
        assert row["route"] == "direct"
        marks = row.get("release_changes", {})
        assert set(marks.values()) <= {"added", "changed"}
        assert {c for c, mark in marks.items() if mark == "added"} == set(row["scores"]) & added
        assert row["outside_training"] == [c for c in row["scores"] if c in added]


def _list(value: str) -> list[str]:
    """A list cell of ``icdbridge map``'s CSV output."""
    return [part for part in value.split(";") if part]
