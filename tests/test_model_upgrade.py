"""A model predicts in a newer release than it was trained with, without retraining.

The synthetic terminology (``tests/synthetic.py``) is trained with; its release ``v2`` adds a
category and a leaf (``A30``, ``A30.0`` *Acute infection of the kidney*), rewrites one title
(``B20.0``) and drops a leaf seen in training (``C10.9``).
"""

from __future__ import annotations

import json

import pytest

import synthetic
from icdbridge.data import Document

V2 = synthetic.NEW_RELEASE
KIDNEY_NOTE = "She was admitted with fever. Diagnosis: acute infection of the kidney."


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A one-network synthetic model trained with the first release (label cache private)."""
    from icdbridge.codes import register_hierarchy

    root = tmp_path_factory.mktemp("upgrade")
    with synthetic.environment(root) as encoder:
        register_hierarchy(synthetic.SYSTEM, synthetic.write_new_release(root), release=V2)
        docs = synthetic.documents(synthetic.make_corpus(40))
        assert any("C10.9" in d.codes for d in docs[:30])  # a removed code was seen in training
        out = root / "model"
        synthetic.train_one_network(docs, encoder, out)
        notes = root / "notes.jsonl"
        notes.write_text(
            json.dumps({"id": "kidney", "text": KIDNEY_NOTE})
            + "\n"
            + "".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in docs[30:]),
            encoding="utf-8",
        )
        yield {"root": root, "out": out, "notes": notes}


@pytest.fixture
def encoded_texts(monkeypatch):
    """Every text the label encoder embeds while the fixture is active."""
    from icdbridge.model.text.encoder import TextEncoder

    texts: list[str] = []
    original = TextEncoder.embed

    def counting(self, batch, *args, **kwargs):
        texts.extend(batch)
        return original(self, batch, *args, **kwargs)

    monkeypatch.setattr(TextEncoder, "embed", counting)
    return texts


def test_only_new_or_changed_label_texts_are_encoded(model, encoded_texts):
    from icdbridge.model import load_model

    same = load_model(model["out"])
    assert encoded_texts == []  # the training release: every text from the cache
    assert same.release_changes is None
    upgraded = load_model(model["out"], release=V2)
    new_texts = {title for _, title, _, _ in synthetic.ADDED.values()}
    assert sorted(encoded_texts) == sorted(new_texts | set(synthetic.CHANGED.values()))
    changes = upgraded.release_changes
    assert changes.encoded == len(encoded_texts) == 3
    assert changes.added == frozenset(synthetic.ADDED)
    assert changes.changed == frozenset(synthetic.CHANGED)
    assert changes.removed == synthetic.REMOVED
    assert (changes.trained_release, changes.release) == ("custom", V2)
    assert "C10.9" not in upgraded.space.row and "A30.0" in upgraded.space.row
    encoded_texts.clear()
    load_model(model["out"], release=V2)
    assert encoded_texts == []  # the new release is cached now


def test_an_added_code_ranks_first_for_a_note_that_describes_it(model):
    from icdbridge.model import load_model

    note = Document("kidney", KIDNEY_NOTE, [], synthetic.SYSTEM)
    [old] = load_model(model["out"]).predict([note], top_k=5)
    assert "A30.0" not in old.scores  # the training release does not have it
    assert old.release_changes is None and "release_changes" not in old.to_dict()
    predictor = load_model(model["out"], release=V2)
    assert "A30.0" not in predictor.seen  # never coded in training: scored as unseen
    [new] = predictor.predict([note], top_k=5, explain=True)
    assert next(iter(new.scores)) == "A30.0", new.scores
    assert new.release_changes["A30.0"] == "added"
    assert set(new.release_changes) <= set(new.scores)
    assert all(predictor.release_changes.mark(c) == m for c, m in new.release_changes.items())
    assert new.to_dict()["release_changes"] == new.release_changes
    spans = new.evidence["A30.0"]
    assert any(
        KIDNEY_NOTE[s["start"] : s["end"]].lower().endswith("infection of the kidney")
        for s in spans
    )


def test_predict_cli_marks_the_codes_added_since_the_training_release(model, tmp_path, capfd):
    from icdbridge.cli.main import main

    output = tmp_path / "v2.jsonl"
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(model["out"]), str(model["notes"]), "-o", str(output), "-r", V2])
    assert stop.value.code in (0, None)
    err = capfd.readouterr().err
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert all("release_changes" in row for row in rows)
    kidney = rows[0]
    assert kidney["id"] == "kidney" and kidney["release_changes"]["A30.0"] == "added"
    assert next(iter(kidney["scores"])) == "A30.0"
    line = " ".join(err.split())
    assert (
        f"synth {V2} against the training release custom: 2 codes added, 1 changed, 1 removed;"
        in line
    ), err
    assert "label texts encoded (the others from the label-embedding cache)" in line
    ranked = sum("A30.0" in row["scores"] or "A30" in row["scores"] for row in rows)
    assert f"{ranked} of {len(rows)} documents rank an added code" in line
    same = tmp_path / "same.jsonl"
    with pytest.raises(SystemExit):
        main(["predict", str(model["out"]), str(model["notes"]), "-o", str(same)])
    assert all("release_changes" not in json.loads(line) for line in same.read_text().splitlines())
    assert "against the training release" not in capfd.readouterr().err


def test_release_changes_compare_label_texts_with_the_models_options(tmp_path):
    """``changed`` follows the label text the encoder reads: with ancestors in it, a code whose
    own title is unchanged but whose category was renamed is changed too."""
    from icdbridge.codes.hierarchy_file import load_hierarchy
    from icdbridge.model.labels.texts import label_texts
    from icdbridge.model.upgrade import release_changes

    old = load_hierarchy(synthetic.write_terminology(tmp_path), system="s", release="1")
    path = synthetic.write_new_release(tmp_path)
    path.write_text(path.read_text().replace("B20,B,High blood pressure,", "B20,B,Hypertension,"))
    new = load_hierarchy(path, system="s", release="2")
    codes = new.codes()
    for options, changed in (
        ({}, {"B20", "B20.0"}),
        ({"ancestors": True}, {"B20", "B20.0", "B20.1", "B20.9"}),
    ):
        texts = list(label_texts(new, codes, **options).values())
        changes = release_changes(old, new, codes, texts, options, old.codes())
        assert changes.changed == changed
        assert changes.added == {"A30", "A30.0"}
        assert changes.removed == ("C10.9",)


def test_icd10cm_2024_to_2026_marks_agree_with_the_release_diff():
    """The marks of ICD-10-CM FY2024 → 2026 (every code, description texts): each billable code
    ``icdbridge codes diff`` lists as added is marked added, each one it lists as removed is
    removed or now a category, and a changed code's description differs between the
    releases."""
    from icdbridge.codes import get_terminology
    from icdbridge.codes.summary import release_diff
    from icdbridge.model.labels.space import label_space_codes
    from icdbridge.model.labels.texts import label_texts
    from icdbridge.model.upgrade import release_changes

    old, new = get_terminology("icd10cm", "2024"), get_terminology("icd10cm", "2026")
    codes = label_space_codes(new, "all")
    texts = list(label_texts(new, codes).values())
    changes = release_changes(old, new, codes, texts, {}, label_space_codes(old, "all"))
    diff = release_diff("icd10cm", "2024", "2026")
    assert set(diff["added"]) <= changes.added
    # a billable code no longer billable is removed, or kept as a category of new codes (B88.0)
    removed = set(changes.removed)
    assert all(c in removed or new.children(c) for c in diff["removed"])
    assert removed and removed <= set(diff["removed"])
    assert changes.added.isdisjoint(changes.changed)
    assert all(old.get(c) is None for c in changes.added)
    assert changes.changed and all(
        old.description(c) != new.description(c) for c in changes.changed
    )
    assert "C50.A0" in changes.added  # FY2025: malignant neoplasm of overlapping sites of breast
