"""`icdbridge codes`: lookup, search, diff, export; one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_harness import run_cli
from conftest import require_data


def test_lookup_json(capsys) -> None:
    code, out, _ = run_cli(["codes", "lookup", "e119", "--system", "icd10cm", "--json"], capsys)
    info = json.loads(out)
    assert code == 0
    assert info["normalized"] == "E11.9" and info["release"] == "2026"
    assert [a["code"] for a in info["ancestors"]] == ["E11", "E08-E13", "4"]
    assert info["ancestors"][0]["title"] == "Type 2 diabetes mellitus"
    assert info["leaf"] is True and info["block"] == "E08-E13"


def test_lookup_table_icd9(capsys) -> None:
    code, out, _ = run_cli(["codes", "lookup", "25000", "-s", "icd9cm"], capsys)
    assert code == 0
    assert "250.00" in out and "249-259" in out and "Diabetes mellitus" in out


def test_lookup_icd11_with_tabulation_option(capsys) -> None:
    path = require_data("who-icd11", "SimpleTabulation-ICD-11-MMS-en-2024-01.zip")
    args = ["codes", "lookup", "5A11", "-s", "icd11", "--icd11-tabulation", str(path), "--json"]
    code, out, _ = run_cli(args, capsys)
    info = json.loads(out)
    assert code == 0 and info["chapter"] == "05"
    assert info["description"] == "Type 2 diabetes mellitus"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["codes", "lookup", "E11.9", "-s", "icd99"], "icd99"),
        (["codes", "lookup", "E1!9", "-s", "icd10cm"], "E1!9"),
        (["codes", "lookup", "A00.7", "-s", "icd10who"], "A00.7"),
        (["codes", "lookup", "E11.9", "-s", "icd10cm", "-r", "1999"], "1999"),
        (
            ["codes", "lookup", "5A11", "-s", "icd11", "--icd11-tabulation", "/no/such.zip"],
            "icd.who.int",
        ),
        (
            ["codes", "lookup", "5A11", "-s", "icd11", "--icd11-tabulation", "/no/such.zip"],
            "(command line: --icd11-tabulation PATH)",
        ),
        (["codes", "lookup", "I10"], "--system"),
        (["codes", "diff", "-s", "icd9cm", "--from", "v32", "--to", "v32"], "icd9cm"),
    ],
)
def test_user_errors_are_one_line(args: list[str], needle: str, capsys) -> None:
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_search(capsys) -> None:
    code, out, _ = run_cli(
        ["codes", "search", "essential hypertension", "-s", "icd10who", "-n", "3", "--json"], capsys
    )
    hits = json.loads(out)
    assert code == 0 and len(hits) == 3
    assert hits[0]["code"] == "I10" and hits[0]["score"] == 1.0


def test_diff(capsys) -> None:
    code, out, _ = run_cli(["codes", "diff", "--from", "2024", "--to", "2026", "--json"], capsys)
    diff = json.loads(out)
    assert code == 0
    assert diff["counts"]["added"] == len(diff["added"]) == 739
    assert diff["counts"]["removed"] == len(diff["removed"]) == 64


def test_export_then_lookup_custom(tmp_path: Path, capsys) -> None:
    target = tmp_path / "who.json"
    code, out, _ = run_cli(["codes", "export", "-s", "icd10who", "-o", str(target)], capsys)
    assert code == 0 and "12542" in out and target.exists()
    code, out, _ = run_cli(["codes", "lookup", "i10", "--hierarchy", str(target), "--json"], capsys)
    info = json.loads(out)
    assert info["system"] == "icd10who" and info["release"] == "2019"
    assert [a["code"] for a in info["ancestors"]] == ["I10-I15", "IX"]


def test_help_has_examples(capsys) -> None:
    code, out, _ = run_cli(["codes", "lookup", "--help"], capsys)
    assert code == 0 and "Examples" in out and "--hierarchy" in out
