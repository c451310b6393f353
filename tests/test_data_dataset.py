"""The generic JSONL dataset format: round trip, strict validation, code report."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icdbridge.codes import get_terminology
from icdbridge.data import Document, check_codes, iter_jsonl, read_jsonl, write_jsonl
from icdbridge.errors import DataNotFoundError, InputFormatError


def _write(tmp_path, lines):
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_round_trip_keeps_everything(tmp_path):
    docs = [
        Document("a", "Fever.", ["R50.9"], "icd10cm", meta={"source": "x"}),
        Document("b", "No codes here.", [], "icd10cm"),
    ]
    path = tmp_path / "out" / "d.jsonl"
    assert write_jsonl(docs, path) == 2
    back = read_jsonl(path)
    assert back == docs
    assert json.loads(path.read_text().splitlines()[0])["source"] == "x"


def test_original_text_fields(tmp_path):
    row = {"id": "a", "text": "Fever.", "codes": [], "system": "icd10cm"}
    original = {"original_text": "Fiebre.", "original_language": "es"}
    path = _write(tmp_path, [json.dumps(row | original), json.dumps(row | {"id": "b"})])
    with_original, plain = read_jsonl(path)
    assert (with_original.original_text, with_original.original_language) == ("Fiebre.", "es")
    assert plain.original_text is None and plain.original_language is None
    assert with_original.to_dict()["original_text"] == "Fiebre."


def test_evidence_field(tmp_path):
    from icdbridge.data import Mention

    row = {"id": "a", "text": "Fever and cough.", "codes": ["R50.9", "R05.9"], "system": "icd10cm"}
    evidence = [
        {"code": "R50.9", "text": "Fever", "spans": [[0, 5]]},
        {"code": "R05.9", "text": "tos", "source": "original_text"},
    ]
    original = {"original_text": "Fiebre y tos.", "original_language": "es"}
    rows = [json.dumps(row | original | {"evidence": evidence}), json.dumps(row | {"id": "b"})]
    path = _write(tmp_path, rows)
    annotated, plain = read_jsonl(path)
    assert annotated.evidence == [
        Mention("R50.9", "Fever", "text"),
        Mention("R05.9", "tos", "original_text"),
    ]
    assert plain.evidence == []
    assert annotated.to_dict()["evidence"] == evidence  # written back as read


def test_blank_lines_are_not_rows(tmp_path):
    row = json.dumps({"id": "a", "text": "t", "codes": [], "system": "icd10cm"})
    path = _write(tmp_path, ["", row, "   "])
    assert [d.id for d in iter_jsonl(path)] == ["a"]


BASE = '{"id": "a", "text": "t", "codes": [], "system": "icd10cm"'


@pytest.mark.parametrize(
    ("line", "message", "value"),
    [
        ('{"id": "a", "text": "t", "codes": []', "invalid JSON", None),
        ('["a", "t"]', "expected a JSON object", None),
        ('{"id": "a", "text": "t", "codes": []}', "missing field 'system'", None),
        ('{"id": "a", "text": 3, "codes": [], "system": "icd10cm"}', "field 'text'", 3),
        ('{"id": "a", "text": "t", "codes": "E11.9", "system": "icd10cm"}', "'codes'", "E11.9"),
        ('{"id": "a", "text": "t", "codes": [1], "system": "icd10cm"}', "codes", 1),
        ('{"id": " ", "text": "t", "codes": [], "system": "icd10cm"}', "empty", " "),
        (
            '{"id": "a", "text": "t", "codes": [], "system": "icd10cm", "original_text": 5, '
            '"original_language": "es"}',
            "'original_text' must be a non-empty JSON string",
            5,
        ),
        (
            '{"id": "a", "text": "t", "codes": [], "system": "icd10cm", "original_text": "x"}',
            "'original_text' needs 'original_language'",
            "x",
        ),
        (BASE + ', "evidence": {"code": "E11.9"}}', "'evidence' must be a JSON list", None),
        (BASE + ', "evidence": ["E11.9"]}', "must be an object", "E11.9"),
        (BASE + ', "evidence": [{"code": "E11.9"}]}', "non-empty string 'text'", None),
        (
            BASE + ', "evidence": [{"code": "E11.9", "text": "t", "source": "x"}]}',
            "'source' must be one of",
            "x",
        ),
        (
            BASE + ', "evidence": [{"code": "E11.9", "text": "t", "source": "original_text"}]}',
            "needs the row's 'original_text'",
            None,
        ),
        (
            BASE + ', "evidence": [{"code": "E11.9", "text": "t", "spans": [[0, 9]]}]}',
            "offsets into its 'text'",
            [[0, 9]],
        ),
    ],
)
def test_malformed_rows_name_file_line_and_value(tmp_path, line, message, value):
    good = json.dumps({"id": "ok", "text": "t", "codes": [], "system": "icd10cm"})
    path = _write(tmp_path, [good, line])
    with pytest.raises(InputFormatError) as info:
        read_jsonl(path)
    error = info.value
    assert error.line == 2
    assert error.path == str(path)
    assert message in str(error)
    assert str(path) in str(error) and "line 2" in str(error)
    if value is not None:
        assert error.value == value


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.jsonl"
    row = json.dumps({"id": "a", "text": "t", "codes": ["E11.9"], "system": "icd10cm"})
    path.write_text("\ufeff" + row + "\n", encoding="utf-8")
    assert read_jsonl(path)[0].codes == ["E11.9"]


def test_duplicate_id_is_an_error(tmp_path):
    row = json.dumps({"id": "a", "text": "t", "codes": [], "system": "icd10cm"})
    path = _write(tmp_path, [row, row])
    with pytest.raises(InputFormatError, match=r"line 2: duplicate id \(first seen on line 1\)"):
        read_jsonl(path)


def test_write_refuses_duplicate_ids(tmp_path):
    with pytest.raises(InputFormatError, match="duplicate"):
        write_jsonl([Document("a", "x"), Document("a", "y")], tmp_path / "d.jsonl")


def test_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError, match="not found"):
        read_jsonl(tmp_path / "nope.jsonl")


def test_check_codes_counts_without_dropping():
    cm = get_terminology("icd10cm")
    docs = [Document("a", "", ["E11.9", "W19.XXX", "R51"]), Document("b", "", ["W19.XXX"])]
    report = check_codes(docs, cm)
    assert report.n_documents == 2 and report.n_assignments == 4
    assert report.undefined == {"W19.XXX": 2}
    assert report.non_leaf == {"R51": 1}
    assert docs[0].codes == ["E11.9", "W19.XXX", "R51"]
    assert "2 assignments (1 distinct codes) not defined" in report.summary()
    # W19.XXX is W19.XXXA written without its 7th character: a base training takes in
    assert report.bases == {"W19.XXX": 2}
    assert "of which 2 assignments (1 codes) are codes written without their 7th" in (
        report.summary()
    )
    assert check_codes([Document("c", "", ["XYZ.9"])], cm).bases == {}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1).filter(str.strip),
            st.text(),
            st.lists(st.text(min_size=1).filter(str.strip), max_size=4),
        ),
        max_size=6,
        unique_by=lambda t: t[0],
    )
)
def test_round_trip_property(tmp_path_factory, rows):
    docs = [Document(i, text, codes) for i, text, codes in rows]
    path = tmp_path_factory.mktemp("rt") / "d.jsonl"
    write_jsonl(docs, path)
    assert read_jsonl(path) == docs
