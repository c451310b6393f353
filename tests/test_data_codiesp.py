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


def test_mentions_become_evidence(tmp_path, capsys):
    root = _layout(tmp_path, ["d1\te11.9\n", "d2\tr51\n"], {"d1": "Diabetes.", "d2": "Headache."})
    (root / "dev" / "devX.tsv").write_text(
        "d1\tDIAGNOSTICO\te11.9\tDiabetes\t4 12\n"
        "d1\tPROCEDIMIENTO\tbw03zzz\tRx\t0 2\n"
        "d2\tDIAGNOSTICO\tr51\tes Head\t0 2;4 8\n",
        encoding="utf-8",
    )
    english = load_codiesp(root, "dev")
    assert [(m.code, m.text, m.source) for m in english[0].evidence] == [
        ("E11.9", "Diabetes", "original_text")  # a procedure mention is not a diagnosis
    ]
    assert english[1].to_dict()["evidence"] == [
        {"code": "R51", "text": "es Head", "source": "original_text", "spans": [[0, 2], [4, 8]]}
    ]
    spanish = load_codiesp(root, "dev", "es")
    assert spanish[0].evidence[0].source == "text"  # the offsets are into the text itself
    out = tmp_path / "dev.jsonl"
    args = ["datasets", "prepare", "codiesp", "--from", str(root), "--split", "dev", "-o", str(out)]
    try:
        main(args)
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    assert read_jsonl(out)[1].evidence == english[1].evidence  # the JSONL keeps them
    assert "2 diagnosis mentions as evidence" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("row", "message", "value"),
    [
        ("d1\tDIAGNOSTICO\te11.9\tx\n", "expected 'articleID", "d1\tDIAGNOSTICO\te11.9\tx"),
        ("d1\tOTRO\te11.9\tx\t0 1\n", "expected 'articleID", "d1\tOTRO\te11.9\tx\t0 1"),
        ("d1\tDIAGNOSTICO\tnot-a-code\tx\t0 1\n", "not a valid ICD-10-CM code", "not-a-code"),
        ("d1\tDIAGNOSTICO\te11.9\tx\t0 99\n", "within the text (5 characters)", "0 99"),
        ("d1\tDIAGNOSTICO\te11.9\tx\t0 x\n", "offsets must be", "0 x"),
        ("ghost\tDIAGNOSTICO\te11.9\tx\t0 1\n", "without a text file", "ghost"),
    ],
)
def test_bad_mention_rows(tmp_path, row, message, value):
    root = _layout(tmp_path, ["d1\te11.9\n"], {"d1": "x"})  # the Spanish text is "es: x"
    (root / "dev" / "devX.tsv").write_text("d1\tDIAGNOSTICO\te11.9\tx\t4 5\n" + row)
    with pytest.raises(InputFormatError) as info:
        load_codiesp(root, "dev")
    assert message in str(info.value)
    assert info.value.line == 2 and info.value.value == value
    assert "devX.tsv" in str(info.value)


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
    # every diagnosis mention of trainX.tsv is some document's evidence, its words at its offsets
    mentions = [
        line.split("\t")
        for line in (root / "train" / "trainX.tsv").read_text(encoding="utf-8").splitlines()
        if "\tDIAGNOSTICO\t" in line
    ]
    entries = [(d, e) for d in train for e in d.meta.get("evidence", [])]
    assert len(entries) == len(mentions) > 7000
    assert all(e["code"] in d.codes for d, e in entries)  # each mention names a gold code
    exact = sum(
        " ".join(d.original_text[s:t] for s, t in e["spans"]) == e["text"] for d, e in entries
    )
    assert exact >= len(entries) - 5  # a few mentions drop a bracket or a trailing character


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
