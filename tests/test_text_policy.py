"""The ``text`` migration policy: each row's crosswalk candidates ordered by its note.

Fast tests use a hand-written scorer (a candidate's score is the share of its title's words found
in the note), so every number can be checked on paper; the slow tests train a small real model
(the pattern of ``test_model_pipeline``) and show a note moving the candidate it describes first.
"""

from __future__ import annotations

import csv
import json
import re

import pytest

from cli_harness import assert_refused, run_cli
from test_model_pipeline import _train, tiny  # noqa: F401  (session fixtures reused)

# ICD-9-CM 780.79 "other malaise and fatigue" → four GEM targets, in GEM order; G93.3
# (postviral fatigue) is a category in ICD-10-CM 2026, followed by its three billable leaves
MALAISE = ("G93.3", "G93.31", "G93.32", "G93.39", "R53.1", "R53.81", "R53.83")


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def title_scorer(calls: list | None = None):
    """Scores a candidate by the share of its ICD-10-CM title's words present in the note."""
    from icdbridge.crosswalk.hops import title_of

    def score(notes, candidates):
        if calls is not None:
            calls.append((list(notes), [list(c) for c in candidates]))
        out = []
        for note, codes in zip(notes, candidates, strict=True):
            words = _words(note)
            scores = {}
            for code in codes:
                title = _words(title_of("icd10cm", code))
                scores[code] = len(title & words) / len(title)
            out.append(scores)
        return out

    return score


def _mapping(code: str):
    from icdbridge.crosswalk import map_code

    return map_code(code, "icd9cm", "icd10cm")


def test_candidates_keep_the_crosswalk_order():
    from icdbridge.crosswalk.text_policy import candidates_of

    assert candidates_of(_mapping("780.79")) == list(MALAISE)


def test_scores_order_the_candidates_and_the_best_is_picked():
    from icdbridge.crosswalk.text_policy import rank_by_text

    ranking = rank_by_text(_mapping("780.79"), {"G93.3": 0.1, "R53.1": 0.7, "R53.83": 0.3})
    # G93.3's leaves and R53.81 have no score: after the scored ones, in crosswalk order
    assert ranking.ranked == ("R53.1", "R53.83", "G93.3", "G93.31", "G93.32", "G93.39", "R53.81")
    assert ranking.scores == (0.7, 0.3, 0.1, None, None, None, None)
    assert ranking.pick == ("R53.1",)
    assert ranking.order == "text"


def test_ties_keep_the_crosswalk_order():
    from icdbridge.crosswalk.text_policy import rank_by_text

    ranking = rank_by_text(_mapping("780.79"), dict.fromkeys(MALAISE, 0.5))
    # the pick is never the non-billable category G93.3 while its leaves are ranked
    assert ranking.ranked == MALAISE and ranking.pick == ("G93.31",)


@pytest.mark.parametrize(
    ("code", "scores", "order", "ranked", "pick"),
    [
        ("780.79", None, "crosswalk: no text", MALAISE, ("G93.31",)),
        ("780.79", {}, "crosswalk: no candidate scored", MALAISE, ("G93.31",)),
        ("599.0", {"N39.0": 0.2}, "crosswalk: one candidate", ("N39.0",), ("N39.0",)),
        ("999999", {"X": 1.0}, "crosswalk: no candidates", (), ()),
    ],
)
def test_rows_not_ranked_by_text_keep_the_crosswalk_order_and_say_why(
    code, scores, order, ranked, pick
):
    from icdbridge.crosswalk.text_policy import rank_by_text

    ranking = rank_by_text(_mapping(code), scores)
    assert ranking.order == order
    assert ranking.ranked == ranked
    assert ranking.pick == pick  # the first-listed billable code


def test_a_combination_is_picked_whole():
    from icdbridge.crosswalk.text_policy import rank_by_text

    # 073.0 ornithosis with pneumonia → A70 (choice list 1) + J17 (choice list 2)
    ranking = rank_by_text(_mapping("073.0"), {"A70": 0.2, "J17": 0.9})
    assert ranking.ranked == ("J17", "A70")
    assert ranking.pick == ("A70", "J17")  # in choice-list order: a complete combination


def test_each_distinct_note_is_scored_once_with_its_rows_candidates():
    from icdbridge.crosswalk.text_policy import rank_rows

    calls: list = []
    note = "Weakness of both legs."
    mappings = [_mapping(c) for c in ("780.79", "780.79", "599.0", "780.79", "073.0")]
    notes = [note, note, note, "   ", note]
    rankings = rank_rows(mappings, notes, title_scorer(calls))
    assert len(calls) == 1
    [(scored_notes, candidates)] = calls
    assert scored_notes == [note]
    assert candidates == [[*MALAISE, "A70", "J17"]]  # 599.0 has one candidate: not scored
    assert [r.order for r in rankings] == [
        "text",
        "text",
        "crosswalk: one candidate",
        "crosswalk: no text",
        "text",
    ]
    assert rankings[0].ranked[0] == "R53.1"  # "Weakness"


def test_notes_are_scored_in_batches(monkeypatch):
    from icdbridge.crosswalk import text_policy

    monkeypatch.setattr(text_policy, "NOTE_BATCH", 2)
    calls: list = []
    notes = [f"note {i} weakness" for i in range(5)]
    text_policy.rank_rows([_mapping("780.79")] * 5, notes, title_scorer(calls))
    assert [len(n) for n, _ in calls] == [2, 2, 1]


ROWS = [
    ("780.79", "Progressive weakness of the legs."),
    ("780.79", "Postviral fatigue and related syndromes after influenza."),
    ("780.79", ""),
    ("599.0", "Urinary tract infection."),
    ("not-a-code", "Weakness."),
    ("073.0", "Pneumonia."),
]


def _write_csv(path, rows=ROWS):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "dx", "note"])
        for i, (code, note) in enumerate(rows):
            writer.writerow([f"r{i}", code, note])
    return path


def _read_csv(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _migrate(tmp_path, source, name, explode=False, text=True):
    from icdbridge.crosswalk import get_crosswalk
    from icdbridge.crosswalk.migrate import migrate
    from icdbridge.crosswalk.text_policy import TextColumns

    columns = TextColumns("note", title_scorer()) if text else None
    out = tmp_path / name
    crosswalk = get_crosswalk("icd9cm", "icd10cm")
    migrate(source, out, crosswalk, column="dx", explode=explode, text=columns)
    return out, columns


def test_a_text_migration_keeps_every_row_and_every_lossless_column(tmp_path):
    source = _write_csv(tmp_path / "in.csv")
    out, columns = _migrate(tmp_path, source, "text.csv")
    plain, _ = _migrate(tmp_path, source, "plain.csv", text=False)
    rows, lossless = _read_csv(out), _read_csv(plain)
    assert len(rows) == len(ROWS)
    for row, before in zip(rows, lossless, strict=True):
        assert {k: row[k] for k in before} == before  # the existing columns are unchanged
    assert [r["map_text_order"] for r in rows] == [
        "text",
        "text",
        "crosswalk: no text",
        "crosswalk: one candidate",
        "crosswalk: no candidates",
        "text",
    ]
    first = [r["map_text_ranked"].split(";")[0] for r in rows]
    assert first[:4] == ["R53.1", "G93.3", "G93.3", "N39.0"]
    assert rows[0]["map_text_scores"].split(";")[0] == "1.0000"  # {weakness} ⊂ note
    assert rows[2]["map_text_ranked"] == ";".join(MALAISE) and rows[2]["map_text_scores"] == ";" * 6
    assert rows[5]["map_text_pick"] == "A70;J17"
    assert sorted(rows[1]["map_text_ranked"].split(";")) == sorted(MALAISE)  # lossless
    assert columns.orders == {
        "text": 3,
        "crosswalk: no text": 1,
        "crosswalk: one candidate": 1,
        "crosswalk: no candidates": 1,
    }


def test_an_exploded_text_migration_gives_each_target_its_rank_and_score(tmp_path):
    import pyarrow.parquet as pq

    source = _write_csv(tmp_path / "in.csv")
    out, _ = _migrate(tmp_path, source, "text.parquet", explode=True)
    table = pq.read_table(out).to_pylist()
    weakness = [r for r in table if r["id"] == "r0"]
    assert [r["map_target"] for r in weakness] == list(MALAISE)  # crosswalk order kept
    ranks = {r["map_target"]: r["map_text_rank"] for r in weakness}
    assert ranks["R53.1"] == "1"
    assert sorted(ranks.values()) == [str(i) for i in range(1, 8)]
    assert [r["map_text_picked"] for r in weakness] == ["no"] * 4 + ["yes", "no", "no"]
    missing = [r for r in table if r["id"] == "r4"]
    assert len(missing) == 1 and missing[0]["map_text_order"] == "crosswalk: no candidates"
    assert {r["id"] for r in table} == {f"r{i}" for i in range(len(ROWS))}


def test_jsonl_notes_with_missing_or_null_text_are_kept_in_crosswalk_order(tmp_path):
    source = tmp_path / "in.jsonl"
    rows = [
        {"dx": "780.79", "note": "weakness"},
        {"dx": "780.79", "note": None},
        {"dx": "780.79"},
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out, _ = _migrate(tmp_path, source, "out.jsonl")
    result = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["map_text_order"] for r in result] == ["text", *["crosswalk: no text"] * 2]
    assert result[0]["map_text_ranked"][0] == "R53.1"
    assert result[2]["map_text_ranked"] == list(MALAISE)


def test_cli_refuses_a_missing_text_column_in_one_line(tmp_path, capsys):
    source = _write_csv(tmp_path / "in.csv")
    result = run_cli(
        ["map", source, "--column", "dx", "--policy", "text", "--text-column", "notes",
         "--model", tmp_path / "model", "-o", tmp_path / "out.csv"],
        capsys,
    )  # fmt: skip
    assert_refused(result, source)
    assert "'notes'" in result.err and "line 1" in result.err
    assert not (tmp_path / "out.csv").exists()


def test_cli_refuses_a_folder_that_is_not_a_model_in_one_line(tmp_path, capsys):
    source = _write_csv(tmp_path / "in.csv")
    (tmp_path / "model").mkdir()
    result = run_cli(
        ["map", source, "--column", "dx", "--policy", "text", "--text-column", "note",
         "--model", tmp_path / "model", "-o", tmp_path / "out.csv"],
        capsys,
    )  # fmt: skip
    assert_refused(result, tmp_path / "model")
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--policy", "text", "--model", "m"], "--text-column"),
        (["--policy", "text", "--text-column", "note"], "--model"),
        (["--policy", "best", "--text-column", "note"], "--policy text"),
        (
            ["--policy", "text", "--text-column", "note", "--model", "m", "--code", "780.79"],
            "--code",
        ),
    ],
)
def test_cli_refuses_incomplete_text_options_in_one_line(tmp_path, capsys, extra, said):
    source = _write_csv(tmp_path / "in.csv")
    result = run_cli(["map", source, "--column", "dx", *extra, "-o", tmp_path / "o.csv"], capsys)
    assert_refused(result, said)


def test_cli_refuses_writing_over_the_model(tmp_path, capsys):
    source = _write_csv(tmp_path / "in.csv")
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    result = run_cli(
        ["map", source, "--column", "dx", "--policy", "text", "--text-column", "note",
         "--model", model, "-o", model / "config.json"],
        capsys,
    )  # fmt: skip
    assert_refused(result, model / "config.json")
    assert (model / "config.json").read_text() == "{}"


# ------------------------------------------------------------------------- a real small model


@pytest.fixture(scope="module")
def saved_model(tiny, tmp_path_factory):  # noqa: F811
    from icdbridge.model.io import save_pretrained

    result = _train(tiny, epochs=2)
    folder = tmp_path_factory.mktemp("text-model") / "model"
    save_pretrained(result.predictor, folder)
    return folder, [*tiny["space"].codes, *MALAISE]


NOTES = {
    "R53.1": "The patient reports marked weakness of both legs and arms.",
    "G93.31": "Since a viral infection she suffers a postviral fatigue syndrome.",
}


@pytest.mark.slow
def test_a_note_moves_the_candidate_it_describes_first(saved_model, tmp_path, monkeypatch, capsys):
    from icdbridge.crosswalk import text_policy

    folder, codes = saved_model
    real = text_policy.load_scorer
    monkeypatch.setattr(  # the whole-release label space would take minutes: the tiny one
        text_policy, "load_scorer", lambda model, system: real(model, system, label_codes=codes)
    )
    source = tmp_path / "notes.jsonl"
    rows = [{"id": code, "dx": "780.79", "note": note} for code, note in NOTES.items()]
    rows += [
        {"id": "none", "dx": "780.79", "note": ""},
        {"id": "one", "dx": "599.0", "note": "UTI"},
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    result = run_cli(
        ["map", source, "--from", "icd9cm", "--to", "icd10cm", "--column", "dx", "--policy",
         "text", "--text-column", "note", "--model", folder, "-o", out],
        capsys,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "map_text_order text: 2 rows" in result.out
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in got] == [r["id"] for r in rows]  # every row, in order
    for row in got[:2]:
        assert row["map_text_order"] == "text"
        # the pick is the code the note describes; G93.3, its category (not billable in
        # ICD-10-CM 2026), may rank first but is never picked
        assert row["map_text_pick"][0] == row["id"]
        assert row["map_text_ranked"][0] in {row["id"], "G93.3"}
        scores = [float(s) for s in row["map_text_scores"]]
        assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1
        assert sorted(row["map_text_ranked"]) == sorted(MALAISE)
        assert row["map_targets"] == list(MALAISE)  # the lossless column is untouched
    assert got[2]["map_text_order"] == "crosswalk: no text"
    assert got[2]["map_text_ranked"] == list(MALAISE) and got[2]["map_text_scores"] == [""] * 7
    assert got[3]["map_text_order"] == "crosswalk: one candidate"


def _scorer(model, system, codes):
    from icdbridge.crosswalk.text_policy import load_scorer

    return load_scorer(model, system, label_codes=codes)


@pytest.mark.slow
def test_the_model_scores_every_candidate_of_the_label_space(saved_model):
    folder, codes = saved_model
    scorer = _scorer(folder, "icd10cm", codes)
    [scores] = scorer([NOTES["R53.1"]], [[*MALAISE, "NOT.A.CODE"]])
    assert set(scores) == set(MALAISE)  # a code outside the label space is not scored
    assert all(0.0 <= p <= 1.0 for p in scores.values())


@pytest.mark.slow
def test_cli_refuses_a_missing_text_column_before_loading_a_real_model(
    saved_model, tmp_path, capsys, monkeypatch
):
    from icdbridge.crosswalk import text_policy

    def never(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(text_policy, "load_scorer", never)
    folder, _ = saved_model
    source = _write_csv(tmp_path / "in.csv")
    result = run_cli(
        ["map", source, "--column", "dx", "--policy", "text", "--text-column", "text",
         "--model", folder, "-o", tmp_path / "out.csv"],
        capsys,
    )  # fmt: skip
    assert_refused(result, source)
