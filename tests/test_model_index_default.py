"""The ICD-10-CM Index phrases by default ("auto") and with the model (``index_store``).

A small ICD-10-CM model (71 codes of the label space, the synthetic encoder of
``tests/synthetic.py``) trains with the library default: the Index material of
``../shared/data/icd10cm-index-2025`` is found, so its phrases join the lexical channel, the
saved config records the documents used, and the phrases travel in the model folder. Loading it
with no Index material (``ICDBRIDGE_DATA`` an empty folder) gives the same phrase table and the
same rankings; loading it into another code system leaves them out. Without the material the
default trains without them and says so; an explicit list without the material is refused
before any work.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

import synthetic
from cli_harness import assert_refused, run_cli
from conftest import require_data
from icd_fixtures import descendants, note_documents
from icdbridge.data import Document
from icdbridge.errors import DataNotFoundError, InputFormatError, UnknownSystemError
from icdbridge.model.config import DEFAULT_INDEX_PHRASES
from icdbridge.model.lexical.index_choice import (
    index_option,
    parse_index_option,
    resolve_index_phrases,
)
from icdbridge.model.lexical.index_phrases import UnknownIndexDocumentError
from icdbridge.model.lexical.index_store import CONFIG_KEY, INDEX_PHRASES_NAME

INDEX_DIR = ("icd10cm-index-2025",)
CATEGORIES = ("T39.1", "C78.7", "C22", "E11.4", "J69", "J18", "N20", "K76", "I10")
NOTES = [
    ("Paracetamol overdose.", ["T39.1X1A"]),
    ("Liver metastasis.", ["C78.7"]),
    ("Diabetic amyotrophy.", ["E11.44"]),
    ("Aspiration pneumonia.", ["J69.0"]),
    ("Pneumonia.", ["J18.9"]),
    ("Kidney stone.", ["N20.0"]),
    ("Hypertension.", ["I10"]),
]


def _label_codes() -> list[str]:
    """The categories above and their descendants (no subsequent-encounter or sequela code)."""
    return descendants(CATEGORIES, later_encounters=False)


def _documents() -> list[Document]:
    return note_documents(NOTES, 5)


def _train(encoder: Path, out: Path | None, **pipeline_settings):
    from icdbridge.model import PipelineConfig, TrainConfig, train_model

    docs = _documents()
    return train_model(
        docs[:25],
        docs[25:],
        PipelineConfig(encoder=str(encoder), **pipeline_settings),
        train_config=TrainConfig(epochs=2, negatives=8, batch_size=4, members=1),
        label_codes=_label_codes(),
        out_dir=out,
        progress=True,
    )


setting = synthetic.setting_fixture("index-default")
"""A private label cache, the synthetic encoder and an empty data folder."""


@pytest.fixture(scope="module")
def auto_model(setting):
    """An ICD-10-CM model trained with the default ``index_phrases`` (``None``: auto) where the
    Index material is found; the training output."""
    require_data(*INDEX_DIR)
    out = setting["root"] / "auto-model"
    log = io.StringIO()
    with contextlib.redirect_stderr(log):
        result = _train(setting["encoder"], out)
    return result, out, log.getvalue()


def _phrase_table(lexical) -> list[tuple]:
    return [(p.words, p.text, p.targets) for p in lexical.phrases]


def _rankings(predictor) -> list[list[tuple[str, float]]]:
    docs = [Document(d.id, d.text, [], "icd10cm") for d in _documents()[:7]]
    return [
        [(code, round(score, 6)) for code, score in p.scores.items()]
        for p in predictor.predict(docs, top_k=None)
    ]


# ----------------------------------------------------------------- the option and "auto"
def test_index_option_round_trip() -> None:
    assert parse_index_option("auto") is None
    assert parse_index_option("none") == [] == parse_index_option("")
    assert parse_index_option(" index, drug ,index") == ["index", "drug"]
    for value in (None, [], ["index", "drug"]):
        assert parse_index_option(index_option(value)) == value
    with pytest.raises(UnknownIndexDocumentError, match="drugs"):
        parse_index_option("index,drugs")


def test_auto_resolution_follows_the_system_and_the_material(tmp_path) -> None:
    shared = require_data(*INDEX_DIR)
    found = resolve_index_phrases("icd10cm", None, shared)
    assert found.documents == list(DEFAULT_INDEX_PHRASES) and found.auto
    assert str(shared) in found.line
    other = resolve_index_phrases("icd9cm", None, shared)
    assert other.documents == [] and "icd9cm" in other.line
    # a folder with only the Neoplasm Table: that one, and the line names what is missing
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "icd10cm_neoplasm_2025.xml").symlink_to(shared / "icd10cm_neoplasm_2025.xml")
    some = resolve_index_phrases("icd10cm", None, partial)
    assert some.documents == ["neoplasm"]
    assert "no index, drug document" in some.line
    # an empty folder: none, with where it looked and how to get the material
    empty = tmp_path / "empty"
    empty.mkdir()
    none = resolve_index_phrases("icd10cm", None, empty)
    assert none.documents == []
    assert f"not found at {empty}" in none.line
    assert "icdbridge datasets download icd10cm-index" in none.line
    # a named source that does not exist is a typo, not "no material"
    with pytest.raises(DataNotFoundError, match="index-source"):
        resolve_index_phrases("icd10cm", None, tmp_path / "typo")
    # an explicit list is required; switched off is off
    with pytest.raises(DataNotFoundError, match="no drug document"):
        resolve_index_phrases("icd10cm", ["neoplasm", "drug"], partial)
    with pytest.raises(UnknownSystemError, match="ICD-10-CM"):
        resolve_index_phrases("icd9cm", ["index"], shared)
    assert resolve_index_phrases("icd10cm", [], empty).documents == []


# ----------------------------------------------------------------- auto with the material
def test_auto_with_the_material_saves_the_list_and_the_phrases(auto_model) -> None:
    result, out, log = auto_model
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["pipeline"]["index_phrases"] == list(DEFAULT_INDEX_PHRASES)
    assert result.predictor.config.index_phrases == list(DEFAULT_INDEX_PHRASES)
    assert "Index phrases: index, drug, neoplasm (auto: Index material at" in log
    # the other "auto" of training says its choice too (every code here has its 7th character)
    assert "7th-character bases: off (auto: no training code is written without" in log
    assert config["pipeline"]["seventh_character_bases"] is False
    record = config[CONFIG_KEY]
    assert record["file"] == INDEX_PHRASES_NAME and record["system"] == "icd10cm"
    assert record["documents"] == list(DEFAULT_INDEX_PHRASES)
    assert record["index_release"] == "2025"
    shared = require_data(*INDEX_DIR)
    from icdbridge.data.download import file_checksum

    for entry in record["files"]:  # each source file by name and SHA-256
        assert entry["sha256"] == file_checksum(shared / entry["name"])
    assert {e["document"] for e in record["files"]} == set(DEFAULT_INDEX_PHRASES)
    lines = (out / INDEX_PHRASES_NAME).read_text(encoding="utf-8").splitlines()
    assert len(lines) == record["phrases"] == len(result.predictor.lexical.index_phrases) > 100
    first = json.loads(lines[0])
    assert set(first) == {"words", "text", "targets"}
    codes = set(_label_codes())
    assert all(code in codes for line in lines for code, _ in json.loads(line)["targets"])


def test_loaded_channel_is_the_training_one_even_without_the_material(
    auto_model, setting, monkeypatch
) -> None:
    from icdbridge.model.io import from_pretrained

    result, out, _ = auto_model
    trained = _phrase_table(result.predictor.lexical)
    with_material = from_pretrained(out, label_codes=_label_codes())
    assert _phrase_table(with_material.lexical) == trained
    monkeypatch.setenv("ICDBRIDGE_DATA", str(setting["empty"]))
    with pytest.raises(DataNotFoundError):  # the material is really out of reach now
        resolve_index_phrases("icd10cm", ["index"])
    without = from_pretrained(out, label_codes=_label_codes())
    assert _phrase_table(without.lexical) == trained
    assert without.lexical.index_phrases.documents == tuple(DEFAULT_INDEX_PHRASES)
    assert _rankings(without) == _rankings(with_material)
    # an Index-only wording still reaches its code through the saved phrases
    assert "T39.1X1" in without.lexical.match("Paracetamol overdose.")


def test_a_smaller_label_space_keeps_the_phrases_of_its_codes(auto_model) -> None:
    from icdbridge.model.io import from_pretrained

    _, out, _ = auto_model
    codes = [c for c in _label_codes() if not c.startswith("T39")]
    loaded = from_pretrained(out, label_codes=codes)
    targets = {code for p in loaded.lexical.index_phrases.phrases for code, _ in p.targets}
    assert targets and targets <= set(codes)
    assert "T39.1X1" not in loaded.lexical.match("Paracetamol overdose.")
    assert "C78.7" in loaded.lexical.match("Liver metastasis.")


def test_a_model_with_index_phrases_predicts_into_another_system(auto_model, setting) -> None:
    from icdbridge.model.io import from_pretrained
    from icdbridge.model.routed import load_routed

    _, out, _ = auto_model
    other = from_pretrained(out, system=synthetic.SYSTEM)
    assert other.lexical is not None and other.lexical.index_phrases is None
    [prediction] = other.predict([Document("n", "Acute cystitis.", [], synthetic.SYSTEM)])
    assert prediction.scores and all(code[0] in "ABC" for code in prediction.scores)
    routed = load_routed(out, synthetic.SYSTEM)
    assert "Index phrases are not used" in routed.describe()
    assert "Index phrases" not in load_routed(out).describe()


def test_a_model_saved_before_the_phrases_were_kept_rereads_the_material(
    auto_model, tmp_path
) -> None:
    from icdbridge.model.io import from_pretrained

    result, out, _ = auto_model
    old = tmp_path / "old-model"
    shutil.copytree(out, old, ignore=shutil.ignore_patterns("checkpoints"))
    (old / INDEX_PHRASES_NAME).unlink()
    config = json.loads((old / "config.json").read_text(encoding="utf-8"))
    del config[CONFIG_KEY]
    (old / "config.json").write_text(json.dumps(config), encoding="utf-8")
    loaded = from_pretrained(old, label_codes=_label_codes())
    assert _phrase_table(loaded.lexical) == _phrase_table(result.predictor.lexical)


def test_a_damaged_phrase_file_is_refused(auto_model, tmp_path) -> None:
    from icdbridge.model.io import check_model_dir, from_pretrained

    _, out, _ = auto_model
    damaged = tmp_path / "damaged"
    shutil.copytree(out, damaged, ignore=shutil.ignore_patterns("checkpoints"))
    path = damaged / INDEX_PHRASES_NAME
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = '{"words": ["x"], "text": "x", "targets": [["C78.7", NaN]]}'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="SHA-256"):
        from_pretrained(damaged, label_codes=_label_codes())
    # the same line with a recomputed checksum: the line itself is named
    import hashlib

    config = json.loads((damaged / "config.json").read_text(encoding="utf-8"))
    config[CONFIG_KEY]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (damaged / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(InputFormatError, match="line 3"):
        from_pretrained(damaged, label_codes=_label_codes())
    path.unlink()
    with pytest.raises(DataNotFoundError, match=INDEX_PHRASES_NAME):
        check_model_dir(damaged)


# ----------------------------------------------------------------- without the material
def test_auto_without_the_material_trains_without_and_says_so(setting, monkeypatch) -> None:
    monkeypatch.setenv("ICDBRIDGE_DATA", str(setting["empty"]))
    out = setting["root"] / "no-index-model"
    log = io.StringIO()
    with contextlib.redirect_stderr(log):
        result = _train(setting["encoder"], out)
    notice = [line for line in log.getvalue().splitlines() if "Index material" in line]
    expected = setting["empty"] / "icd10cm-index-2025"
    assert notice == [
        f"ICD-10-CM Index material not found at {expected}: training without Index phrases "
        "(index, drug, neoplasm); get it with `icdbridge datasets download icd10cm-index` or "
        "pass --index-source (PipelineConfig.index_source)"
    ]
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["pipeline"]["index_phrases"] == []
    assert CONFIG_KEY not in config and not (out / INDEX_PHRASES_NAME).exists()
    assert result.predictor.lexical.index_phrases is None


def test_an_explicit_list_without_the_material_is_refused_before_any_work(
    setting, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("ICDBRIDGE_DATA", str(setting["empty"]))
    # a missing encoder would fail later: the Index is checked first
    with pytest.raises(DataNotFoundError, match="icdbridge datasets download icd10cm-index"):
        _train(tmp_path / "no-encoder", None, index_phrases=["index", "drug"])
    with pytest.raises(UnknownSystemError):
        _train(tmp_path / "no-encoder", None, system="icd9cm", index_phrases=["index"])


def test_cli_train_says_which_index_phrases_it_used(setting, monkeypatch, capsys, tmp_path):
    root = setting["root"]
    train, dev = synthetic.write_split(tmp_path)
    args = synthetic.train_args(
        train, dev, tmp_path / "model", synthetic.SYSTEM, "--encoder", setting["encoder"],
        epochs=1, members=1,
    )  # fmt: skip
    result = run_cli(args, capsys)
    assert result.code == 0, result.err
    assert "Index phrases: none (auto: they are ICD-10-CM's, the label space is synth)" in (
        result.err
    )
    config = json.loads((tmp_path / "model" / "config.json").read_text(encoding="utf-8"))
    assert config["pipeline"]["index_phrases"] == []
    # an explicit list: ICD-10-CM only, and the material must be there (before any work)
    refused = run_cli([*args, "--index-phrases", "drug"], capsys)
    assert refused.code == 2 and "--system icd10cm" in refused.err
    monkeypatch.setenv("ICDBRIDGE_DATA", str(setting["empty"]))
    icd = [a if a != synthetic.SYSTEM else "icd10cm" for a in args]
    icd[icd.index(str(tmp_path / "model"))] = str(tmp_path / "icd-model")
    missing = run_cli([*icd, "--index-phrases", "index,drug"], capsys)
    assert_refused(missing, setting["empty"] / "icd10cm-index-2025")
    assert not (tmp_path / "icd-model").exists()
    unknown = run_cli([*icd, "--index-phrases", "index,drugs"], capsys)
    assert unknown.code == 2 and "drugs" in unknown.err
    assert root.exists()


def test_a_warm_start_resolves_the_index_of_its_own_run(auto_model, setting) -> None:
    """``--init`` from a model with Index phrases: the new run resolves its own (a synthetic
    system: none) and trains; the new model has no Index phrases to carry."""
    from icdbridge.model import PipelineConfig, TrainConfig, train_model

    _, source, _ = auto_model
    docs = synthetic.documents(synthetic.make_corpus(24))
    out = setting["root"] / "warm"
    result = train_model(
        docs[:18],
        docs[18:],
        PipelineConfig(system=synthetic.SYSTEM),
        train_config=TrainConfig(epochs=1, negatives=8, batch_size=4, members=1, init=str(source)),
        out_dir=out,
    )
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["pipeline"]["index_phrases"] == [] and CONFIG_KEY not in config
    assert result.warm_start is not None and result.predictor.lexical.index_phrases is None
