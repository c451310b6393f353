"""CodiEsp loader: real data (skipped when absent) and a hand-made layout with bad rows."""

from __future__ import annotations

import pytest

from conftest import require_data
from icdbridge.cli.main import main
from icdbridge.data import load_codiesp, load_codiesp_report, read_jsonl
from icdbridge.errors import DataNotFoundError, InputFormatError


def _layout(tmp_path, rows, texts):
    split = tmp_path / "codiesp" / "dev"
    (split / "text_files_en").mkdir(parents=True)
    (split / "text_files").mkdir()
    (split / "devD.tsv").write_text("".join(rows), encoding="utf-8")
    for name, text in texts.items():
        (split / "text_files_en" / f"{name}.txt").write_text(text, encoding="utf-8")
        (split / "text_files" / f"{name}.txt").write_text("es: " + text, encoding="utf-8")
    return tmp_path / "codiesp"


def test_small_layout(tmp_path):
    root = _layout(
        tmp_path,
        ["d1\te11.9\n", "d1\tw19.xxx\n", "d1\te11.9\n", "d2\tr51\n"],
        {"d1": "Diabetes.\nFell.\n", "d2": "Headache.", "d3": "Nothing coded."},
    )
    docs, report = load_codiesp_report(root, "dev")
    assert [d.id for d in docs] == ["d1", "d2", "d3"]
    assert docs[0].codes == ["E11.9", "W19.XXX"]  # normalised, repeat kept once, undefined kept
    assert docs[0].text == "Diabetes.\nFell.\n"
    assert docs[2].codes == []  # documents without codes are kept
    assert report.undefined == {"W19.XXX": 1}
    assert report.non_leaf == {"R51": 1}
    assert load_codiesp(root, "dev", "es")[1].text == "es: Headache."
    # English documents carry their Spanish original; Spanish ones have none
    assert (docs[1].original_text, docs[1].original_language) == ("es: Headache.", "es")
    assert load_codiesp(root, "dev", "es")[1].original_text is None
    # the split folder itself is accepted too
    assert [d.id for d in load_codiesp(root / "dev", "dev")] == ["d1", "d2", "d3"]


def test_strict_policy_refuses_undefined(tmp_path):
    root = _layout(tmp_path, ["d1\tw19.xxx\n"], {"d1": "x"})
    with pytest.raises(InputFormatError, match="not defined in ICD-10-CM"):
        load_codiesp(root, "dev", on_undefined="error")


@pytest.mark.parametrize(
    ("row", "message", "value"),
    [
        ("d1\n", "2 non-empty columns", "d1"),
        ("d1\te11.9\textra\n", "2 non-empty columns", "d1\te11.9\textra"),
        ("d1\tnot-a-code\n", "not a valid ICD-10-CM code", "not-a-code"),
        ("ghost\te11.9\n", "no text file", "ghost"),
    ],
)
def test_bad_rows(tmp_path, row, message, value):
    root = _layout(tmp_path, ["d1\te11.9\n", row], {"d1": "x"})
    with pytest.raises(InputFormatError) as info:
        load_codiesp(root, "dev")
    assert message in str(info.value)
    assert info.value.line == 2
    assert info.value.value == value
    assert "devD.tsv" in str(info.value)


def test_missing_layout(tmp_path):
    with pytest.raises(DataNotFoundError, match="no CodiEsp dev split"):
        load_codiesp(tmp_path, "dev")
    with pytest.raises(InputFormatError, match="language"):
        load_codiesp(tmp_path, "dev", language="fr")


def test_real_codiesp_splits():
    root = require_data("codiesp")
    train, report = load_codiesp_report(root, "train")
    dev = load_codiesp(root, "dev")
    assert len(train) == 500 and len(dev) == 250
    assert len({d.id for d in train} & {d.id for d in dev}) == 0
    # every TSV row is accounted for: distinct (doc, code) pairs of the file
    rows = {
        tuple(line.split("\t"))
        for line in (root / "dev" / "devD.tsv").read_text().splitlines()
        if line.strip()
    }
    assert sum(len(d.codes) for d in dev) == len(rows)
    assert all(c == c.upper() for d in train for c in d.codes)
    assert report.n_assignments == sum(len(d.codes) for d in train)
    assert report.undefined  # CodiEsp (2018) has codes ICD-10-CM 2026 does not define
    assert all(d.text.strip() for d in dev)
    assert all(d.original_language == "es" and d.original_text.strip() for d in dev)


def test_cli_prepare(tmp_path, capsys):
    root = _layout(tmp_path, ["d1\te11.9\n", "d1\tw19.xxx\n"], {"d1": "Diabetes."})
    out = tmp_path / "dev.jsonl"
    args = ["datasets", "prepare", "codiesp", "--from", str(root), "--split", "dev", "-o", str(out)]
    try:
        main(args)
    except SystemExit as exit_:  # Typer's standalone mode exits 0 on success
        assert exit_.code in (0, None)
    docs = read_jsonl(out)
    assert docs[0].codes == ["E11.9", "W19.XXX"]
    assert docs[0].original_text == "es: Diabetes." and docs[0].original_language == "es"
    printed = capsys.readouterr().out
    assert "wrote 1 documents" in printed and "W19.XXX" in printed
    assert "1 with their Spanish original_text" in printed


def test_cli_prepare_error_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["datasets", "prepare", "codiesp", "--from", str(tmp_path), "-o", "x.jsonl"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
