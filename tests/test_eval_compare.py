"""`icdbridge evaluate --pred A --pred B --names ...`: runs side by side (issue 28 part 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_harness import run_cli
from icdbridge.errors import IcdbridgeError
from icdbridge.eval import compare_files, compare_runs, evaluate

# Hand-checked case (ICD-10-CM): the transferred run picks E11.65 for E11.9 (same category
# E11, another 4-character node E11.6) and J15.9 for J18.9 (same block J09-J18, another
# category); I10 is right in both runs.
GOLD = '{"id": "d1", "codes": ["E11.9", "I10"]}\n{"id": "d2", "codes": ["J18.9"]}\n'
IN_DOMAIN = '{"id": "d1", "codes": ["E11.9", "I10"]}\n{"id": "d2", "codes": ["J18.9"]}\n'
TRANSFERRED = '{"id": "d1", "codes": ["E11.65", "I10"]}\n{"id": "d2", "codes": ["J15.9"]}\n'
# E11.9 in 6 training documents (frequent), I10 in 1 (few-shot), J18.9 in none (unseen)
TRAIN = "".join(f'{{"id": "t{i}", "codes": ["E11.9"]}}\n' for i in range(6)) + (
    '{"id": "t6", "codes": ["I10"]}\n'
)


def _files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, text in (
        ("gold", GOLD),
        ("a", IN_DOMAIN),
        ("b", TRANSFERRED),
        ("train", TRAIN),
    ):
        paths[name] = tmp_path / f"{name}.jsonl"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def test_compare_files_by_hand(tmp_path):
    f = _files(tmp_path)
    comparison, results = compare_files(
        f["gold"],
        [f["a"], f["b"]],
        ["in-domain", "transferred"],
        system="icd10cm",
        train_gold=f["train"],
        bootstrap=0,
    )
    assert comparison.names == ["in-domain", "transferred"] and set(results) == set(
        comparison.names
    )
    t = comparison.tables
    assert t["headline"]["flat"]["micro_f1"] == {
        "in-domain": 1.0,
        "transferred": pytest.approx(1 / 3),
    }
    # transferred MAP: d1 ranks I10 second → (1/2)/2; d2 finds nothing → 0; mean 1/8
    assert t["headline"]["ranking"]["map"]["transferred"] == pytest.approx(1 / 8)
    levels = t["cophe_levels"]
    assert list(levels) == [
        "code",
        "5-character",
        "4-character",
        "category",
        "block",
        "chapter",
        "overall",
    ]
    f1 = {level: cells["micro_f1"]["transferred"] for level, cells in levels.items()}
    # code: I10 right, E11.65 and J15.9 wrong → TP 1, FP 2, FN 2; 4-character: E11.6 ≠ E11.9
    # and J15.9 ≠ J18.9 → 0; category: E11 and I10 right, J15 ≠ J18 → 2/3; block, chapter: 1
    assert f1["code"] == pytest.approx(1 / 3) and f1["4-character"] == 0.0
    assert f1["category"] == pytest.approx(2 / 3) and f1["block"] == f1["chapter"] == 1.0
    # overall: TP 1+0+0+2+3+3 = 9, FP 2+1+2+1 = 6, FN 2+2+1 = 5
    assert levels["overall"]["micro_precision"]["transferred"] == pytest.approx(9 / 15)
    assert levels["overall"]["micro_recall"]["transferred"] == pytest.approx(9 / 14)
    # the in-domain run has no 5-character code: nothing to count there
    assert levels["5-character"]["micro_f1"] == {"in-domain": None, "transferred": 0.0}
    assert all(
        cells["micro_f1"]["in-domain"] == 1.0 for k, cells in levels.items() if k != "5-character"
    )
    buckets = t["frequency_buckets"]
    assert {b: buckets[b]["recall@5"]["transferred"] for b in buckets} == {
        "unseen": 0.0,
        "few-shot": 1.0,
        "frequent": 0.0,
    }
    assert buckets["unseen"]["n_gold_pairs"] == {"in-domain": 1, "transferred": 1}
    chapters = t["chapters"]
    assert list(chapters) == ["4", "9", "10"]
    assert {c: chapters[c]["micro_f1"]["transferred"] for c in chapters} == {
        "4": 0.0,
        "9": 1.0,
        "10": 0.0,
    }
    assert chapters["10"]["n_gold"] == {"in-domain": 1, "transferred": 1}


def test_cli_comparison_writes_one_report_with_a_plot(tmp_path, capsys):
    f = _files(tmp_path)
    out = tmp_path / "cmp"
    result = run_cli(
        [
            "evaluate", "--gold", f["gold"], "--pred", f["a"], "--pred", f["b"],
            "--names", "in-domain,transferred", "--system", "icd10cm",
            "--train-gold", f["train"], "--bootstrap", "0", "--out", out,
        ],
        capsys,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == ["comparison.png", "metrics.json", "report.md"]
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["runs"] == ["in-domain", "transferred"] and metrics["reference"] == "in-domain"
    assert metrics["run_metrics"]["transferred"]["flat"]["tp"]["value"] == 1
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| category | 1.0000 | 1.0000 | 1.0000 | 0.6667 | 0.6667 | 0.6667 | -0.3333 |" in report
    assert "| unseen | 1 | recall@20 | 1.0000 | 0.0000 | -1.0000 |" in report
    assert "`transferred` loses most F1 at: CoPHE levels 4-character (-1.0000)" in report
    assert "CoPHE category micro_f1" in result.out


def test_compare_runs_refuses_different_gold_and_single_runs():
    gold = {"d1": {"A", "B"}}
    a = evaluate(gold, {"d1": ["A"]}, bootstrap=0)
    other = evaluate({"d1": {"A"}}, {"d1": ["A"]}, bootstrap=0)
    with pytest.raises(IcdbridgeError, match="different gold \\(n_gold_codes 2 and 1\\)"):
        compare_runs({"a": a, "b": other})
    with pytest.raises(IcdbridgeError, match="at least two runs, got 1"):
        compare_runs({"a": a})


def test_compare_runs_without_hierarchy_or_training_has_what_it_can():
    gold = {"d1": {"A", "B"}, "d2": {"C"}}
    c = compare_runs(
        {
            "x": evaluate(gold, {"d1": ["A", "B"], "d2": ["C"]}, bootstrap=0),
            "y": evaluate(gold, {"d1": ["B"], "d2": ["X"]}, bootstrap=0),
        }
    )
    assert list(c.tables) == ["headline", "cophe_levels"]
    assert c.tables["headline"]["flat"]["micro_recall"] == {"x": 1.0, "y": pytest.approx(1 / 3)}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--names", "a,b,c"], "--names gives 3 names for 2 --pred files"),
        (["--names", "a,a"], "run names must be distinct"),
        (["--pred-system", "icd10cm,icd9cm,icd11"], "--pred-system gives 3 systems for 2"),
    ],
)
def test_cli_comparison_refusals_are_one_line(tmp_path, capsys, extra, message):
    f = _files(tmp_path)
    args = ["evaluate", "--gold", f["gold"], "--pred", f["a"], "--pred", f["b"]]
    result = run_cli([*args, *extra, "--system", "icd10cm", "--out", tmp_path / "o"], capsys)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "o").exists()


def test_cli_names_need_several_runs(tmp_path, capsys):
    f = _files(tmp_path)
    args = ["evaluate", "--gold", f["gold"], "--pred", f["a"], "--names", "x"]
    result = run_cli([*args, "--out", tmp_path / "o"], capsys)
    assert result.code == 2 and "give two or more --pred" in result.err


def test_comparison_across_code_systems_maps_each_run(tmp_path):
    gold = tmp_path / "gold.tsv"
    gold.write_text("d1\tE11.9\nd1\tI10\n", encoding="utf-8")
    same = tmp_path / "icd10.tsv"
    same.write_text("d1\tE11.9\nd1\tI10\n", encoding="utf-8")
    legacy = tmp_path / "icd9.tsv"
    legacy.write_text("d1\t250.00\nd1\t401.9\n", encoding="utf-8")
    comparison, results = compare_files(
        gold,
        [same, legacy],
        ["in-system", "mapped"],
        pred_systems=[None, "icd9cm"],
        system="icd10cm",
        gold_system="icd10cm",
        bootstrap=0,
    )
    # 250.00 → E11.9 and 401.9 → I10 through the crosswalk (as in test_eval_io_cli)
    assert comparison.tables["headline"]["flat"]["micro_f1"] == {"in-system": 1.0, "mapped": 1.0}
    assert results["mapped"]["inputs"]["cross_system"]["pred_system"] == "icd9cm"
    assert results["in-system"]["inputs"]["cross_system"]["pred_system"] == "icd10cm"
