"""Inputs and the `icdbridge evaluate` command: formats, reported problems, outputs."""

from __future__ import annotations

import json

import pytest

from conftest import require_data
from icdbridge.cli.main import main
from icdbridge.errors import InputFormatError
from icdbridge.eval import evaluate_files, read_codes, resolve_hierarchy

FIXTURE_GOLD = [
    ("t1", "427.31"),
    ("t1", "401.9"),
    ("t2", "427.31"),
    ("t2", "427.32"),
    ("t2", "250.00"),
    ("t3", "042"),
    ("t3", "428.0"),
    ("t4", "250.00"),
    ("t4", "250.01"),
]
FIXTURE_PRED = [
    ("t1", "427.32"),
    ("t1", "401.9"),
    ("t2", "427.31"),
    ("t2", "250.01"),
    ("t3", "042"),
    ("t3", "427.41"),
    ("t5", "401.1"),
]


def _run(argv: list[str]) -> int:
    """Run the CLI in-process; the exit status (0 when it returns normally)."""
    try:
        main(argv)
    except SystemExit as exit_:
        return exit_.code or 0
    return 0


def _write_tsv(path, rows, header=None):
    lines = [header] if header else []
    lines += ["\t".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "pred.jsonl"
    path.write_text('{"id": "a", "codes": ["E11.9"]}\n{"id": "b", "codes": \n', encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"pred\.jsonl, line 2"):
        read_codes(path)
    path.write_text('{"id": "a", "scores": {"E11.9": "high"}}\n', encoding="utf-8")
    with pytest.raises(InputFormatError, match="line 1: score is not a number"):
        read_codes(path)


def test_tsv_header_scores_ranking_and_bad_rows(tmp_path):
    path = _write_tsv(
        tmp_path / "p.tsv",
        [("d1", "e11.9", "0.2"), ("d1", "I10", "0.9"), ("d1", "I10", "0.1")],
        header="id\tcode\tscore",
    )
    tree = resolve_hierarchy(system="icd10cm")
    read = read_codes(path, tree)
    assert read.docs == {"d1": ["I10", "E11.9"]}
    assert read.issue_counts() == {"header row": 1, "repeated code": 1}
    # an invalid code in the first row is data, not a header: kept and reported
    first_bad = _write_tsv(tmp_path / "f.tsv", [("doc1", "notacode"), ("doc1", "I10")])
    read = read_codes(first_bad, tree)
    assert read.docs == {"doc1": ["NOTACODE", "I10"]}
    assert [(i.line, i.kind) for i in read.issues] == [(1, "invalid code")]
    bad = _write_tsv(tmp_path / "bad.tsv", [("d1", "I10", "0.9"), ("d1", "E11.9", "x")])
    with pytest.raises(InputFormatError, match=r"bad\.tsv, line 2: score is not a number"):
        read_codes(bad, tree)
    ragged = _write_tsv(tmp_path / "ragged.tsv", [("d1", "I10"), ("d1", "E11.9", "0.3")])
    with pytest.raises(InputFormatError, match="line 2: expected 2 columns"):
        read_codes(ragged, tree)


def test_invalid_and_unknown_codes_are_reported_not_dropped(tmp_path):
    tree = resolve_hierarchy(system="icd10cm")
    path = _write_tsv(tmp_path / "g.tsv", [("d1", "I10"), ("d1", "not-a-code"), ("d1", "E11.99")])
    read = read_codes(path, tree)
    assert read.docs["d1"] == ["I10", "NOT-A-CODE", "E11.99"]
    kinds = {(i.line, i.kind) for i in read.issues}
    assert kinds == {(2, "invalid code"), (3, "code not in hierarchy")}


def test_codiesp_dev_gold_reads_every_row():
    path = require_data("codiesp", "dev", "devD.tsv")
    read = read_codes(path, resolve_hierarchy(system="icd10cm"))
    n_lines = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    repeated = read.issue_counts().get("repeated code", 0)
    assert sum(len(c) for c in read.docs.values()) + repeated == n_lines
    assert len(read.docs) == 250
    assert all(code == code.upper() for codes in read.docs.values() for code in codes)


def test_evaluate_files_missing_and_unknown_documents(tmp_path):
    gold = _write_tsv(tmp_path / "g.tsv", [("a", "I10"), ("b", "E11.9")])
    pred = _write_tsv(tmp_path / "p.tsv", [("a", "I10"), ("zz", "E11.9")])
    result = evaluate_files(gold, pred, system="icd10cm", bootstrap=0)
    assert result["inputs"]["documents_without_predictions"] == ["b"]
    assert result["inputs"]["predicted_documents_not_in_gold"] == ["zz"]
    assert result["flat"]["tp"]["value"] == 1
    assert result["flat"]["fn"]["value"] == 1
    assert result["flat"]["fp"]["value"] == 0


def test_cli_cophe_compat_fixture_writes_outputs(tmp_path, capsys):
    hierarchy = require_data("cophe-icd9", "icd9_graph_desc.json")
    # t5 has no gold code: a JSONL gold file can list it
    gold = tmp_path / "gold.jsonl"
    docs: dict[str, list[str]] = {"t1": [], "t2": [], "t3": [], "t4": [], "t5": []}
    for doc, code in FIXTURE_GOLD:
        docs[doc].append(code)
    gold.write_text(
        "".join(json.dumps({"id": d, "codes": c}) + "\n" for d, c in docs.items()), encoding="utf-8"
    )
    pred = _write_tsv(tmp_path / "pred.tsv", FIXTURE_PRED)
    out = tmp_path / "out"
    status = _run(
        [
            "evaluate",
            "--gold",
            str(gold),
            "--pred",
            str(pred),
            "--hierarchy",
            str(hierarchy),
            "--cophe-mode",
            "compat",
            "--bootstrap",
            "50",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    overall = metrics["cophe"]["overall"]
    assert (overall["tp"]["value"], overall["fp"]["value"], overall["fn"]["value"]) == (16, 8, 16)
    assert round(overall["micro_f1"]["value"], 6) == 0.571429
    assert "ci95" in overall["micro_f1"]
    assert metrics["cophe"]["levels"]["L2"]["set_based"]["fn"]["value"] == 2
    assert metrics["inputs"]["n_documents_without_predictions"] == 1  # t4
    for name in (
        "report.md",
        "per_code.tsv",
        "precision_recall.png",
        "recall_at_k.png",
        "cophe_levels.png",
    ):
        assert (out / name).stat().st_size > 0
    assert "CoPHE (compat mode)" in (out / "report.md").read_text(encoding="utf-8")
    assert "micro_f1" in capsys.readouterr().out


def test_cli_bad_input_is_one_line_error(tmp_path, capsys):
    gold = tmp_path / "g.jsonl"
    gold.write_text("not json\n", encoding="utf-8")
    status = _run(
        ["evaluate", "--gold", str(gold), "--pred", str(gold), "--out", str(tmp_path / "out")]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "g.jsonl, line 1" in err


def test_cli_tune_threshold_needs_dev_gold(tmp_path, capsys):
    gold = _write_tsv(tmp_path / "g.tsv", [("a", "I10")])
    pred = _write_tsv(tmp_path / "p.tsv", [("a", "I10", "0.7")])
    status = _run(
        [
            "evaluate",
            "--gold",
            str(gold),
            "--pred",
            str(pred),
            "--tune-threshold-on",
            str(pred),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert status == 2
    assert "--dev-gold" in capsys.readouterr().err


def test_cross_system_evaluation_maps_both_sides(tmp_path):
    gold = _write_tsv(tmp_path / "g.tsv", [("d1", "e11.9"), ("d1", "I10"), ("d2", "J45.909")])
    pred = _write_tsv(
        tmp_path / "p.tsv", [("d1", "250.00"), ("d1", "401.9"), ("d1", "999.99"), ("d2", "493.90")]
    )
    result = evaluate_files(
        gold, pred, gold_system="icd10cm", pred_system="icd9cm", common="icd10who", bootstrap=0
    )
    # 250.00 → E11.9, 401.9 → I10, 493.90 → J45.9 (= J45.909 in WHO ICD-10); 999.99 has no
    # target and stays as an UNMAPPED token, i.e. one false positive
    assert (
        result["flat"]["tp"]["value"],
        result["flat"]["fp"]["value"],
        result["flat"]["fn"]["value"],
    ) == (3, 1, 0)
    mapping = result["inputs"]["cross_system"]["mapping"][str(pred)]
    assert mapping["codes_by_outcome"]["none"] == 1
    assert mapping["unmapped_examples"] == ["999.99 (not-in-release)"]
    assert result["inputs"]["system"] == "icd10who"


def _trectools_map(gold_rows, pred_rows, valid) -> float:
    """The CodiEsp official MAP, re-implemented with pandas the way the official script does.

    ``codiespD_P_evaluation.py``: lower-case codes, drop repeated rows (first kept), drop
    predicted codes outside the valid list, then trectools ``get_map(trec_eval=False)``.
    """
    import pandas as pd

    gs = pd.DataFrame(gold_rows, columns=["query", "docid"])
    gs["docid"] = gs["docid"].str.lower()
    gs = gs.drop_duplicates(["query", "docid"])
    gs["rel"] = 1
    run = pd.DataFrame(pred_rows, columns=["query", "docid"])
    run["docid"] = run["docid"].str.lower()
    run = run.drop_duplicates(["query", "docid"])
    run = run[run["docid"].isin(valid)]
    top = run.groupby("query")[["query", "docid"]].head(1000).copy()
    top["rank"] = top.groupby("query").cumcount() + 1
    sel = pd.merge(top, gs[["query", "docid", "rel"]], how="left")
    sel["rel"] = sel.groupby("query")["rel"].cumsum()
    sel["ap"] = sel["rel"] / sel["rank"]
    per_query = sel[["query", "ap"]].groupby("query").sum()
    queries = set(run["query"]) & set(gs["query"])
    nrel = gs[gs["query"].isin(queries)].groupby("query")["rel"].sum()
    per_query = per_query["ap"] / nrel
    return float(per_query.sum() / len(queries))


def test_map_codiesp_matches_official_definition_on_codiesp_dev(tmp_path):
    import random

    path = require_data("codiesp", "dev", "devD.tsv")
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line]
    rng = random.Random(0)
    docs = sorted({doc for doc, _ in rows})
    codes = sorted({code for _, code in rows})
    pred_rows = []
    for doc in docs[:-10]:  # the last 10 documents get no prediction at all
        mine = [code for d, code in rows if d == doc]
        guesses = [c for c in mine if rng.random() < 0.6] + rng.sample(codes, 5)
        guesses += ["CODE0"] if rng.random() < 0.2 else []  # invalid codes are filtered
        rng.shuffle(guesses)
        pred_rows += [(doc, code) for code in guesses]
    pred = _write_tsv(tmp_path / "pred.tsv", pred_rows)
    result = evaluate_files(path, pred, system="icd10cm", bootstrap=0)
    tree = resolve_hierarchy(system="icd10cm")
    valid = {c.lower() for _, c in rows + pred_rows if tree.contains(tree.normalize(c))}
    expected = _trectools_map(rows, pred_rows, valid)
    assert result["ranking"]["map_codiesp"]["value"] == pytest.approx(expected, abs=1e-12)
    # ours counts the 10 documents without predictions as AP 0, so it is lower
    assert result["ranking"]["map"]["value"] < expected
