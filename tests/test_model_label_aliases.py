"""Label aliases: the ICD-10-CM Index paths as more label texts of their codes.

Checked on the real Index material (``../shared/data/icd10cm-index-2025``): which paths become
aliases of which codes (dash codes landing on their label-space children, table cells left
out), the faiss index scoring a code by its best text, the ``alias_cosine`` feature against a
brute-force computation, and a small model (the synthetic encoder of ``tests/synthetic.py``)
trained with aliases: the aliases travel in the model folder, loading needs no Index material,
and the damaged file is refused with the file and line named.
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import synthetic
from conftest import require_data
from icd_fixtures import descendants, note_documents
from icdbridge.data import Document
from icdbridge.errors import DataNotFoundError, InputFormatError
from icdbridge.model.labels.aliases import ALIASES_NAME, LabelAliases, read_aliases, write_aliases

INDEX_DIR = ("icd10cm-index-2025",)
CATEGORIES = ("E11.1", "E11.4", "J69", "J18", "N20", "K76", "I10")
NOTES = [
    ("Diabetic amyotrophy.", ["E11.44"]),
    ("Aspiration pneumonia.", ["J69.0"]),
    ("Pneumonia.", ["J18.9"]),
    ("Kidney stone.", ["N20.0"]),
    ("Hypertension.", ["I10"]),
]


def _label_codes() -> list[str]:
    return descendants(CATEGORIES)


def _aliases(codes: list[str] | None = None) -> LabelAliases:
    from icdbridge.codes import get_terminology
    from icdbridge.codes.index import load_index

    require_data(*INDEX_DIR)
    return LabelAliases.build(load_index(), get_terminology("icd10cm"), codes or _label_codes())


def _texts_of(aliases: LabelAliases, code: str) -> list[str]:
    return [t for c, t in zip(aliases.codes, aliases.texts, strict=True) if c == code]


# ------------------------------------------------------------------------- the aliases
def test_index_paths_become_aliases_of_their_codes() -> None:
    aliases = _aliases()
    assert "Diabetes, diabetic, with, amyotrophy" in _texts_of(aliases, "E11.44")
    assert "Stone, kidney" in _texts_of(aliases, "N20.0")
    assert "Aspiration, pneumonia" in _texts_of(aliases, "J69.0")
    # the Index prints E11.1- for this path: it lands on the category (in the label space)
    # and its billable codes, as the Index phrases' targets do
    ketoacidosis = "Diabetes, diabetic, type 2, with, coma due to, ketoacidosis"
    assert {c for c, t in zip(aliases.codes, aliases.texts, strict=True) if t == ketoacidosis} == {
        "E11.1",
        "E11.10",
        "E11.11",
    }
    assert set(aliases.codes) <= set(_label_codes())
    assert len(set(zip(aliases.codes, aliases.texts, strict=True))) == len(aliases)
    assert aliases.provenance["documents"] == ["index"]
    assert aliases.provenance["index_release"] == "2025"


def test_table_cells_are_not_aliases() -> None:
    from icdbridge.codes import get_terminology

    codes = [c for c in get_terminology("icd10cm").codes() if c.startswith("T39.1")]
    aliases = _aliases(codes)
    # the Table of Drugs leads to T39.1X1 (paracetamol poisoning); the Index terms give
    # only their own paths, never a substance with a column heading
    assert not any(t.endswith(("poisoning accidental", "adverse effect")) for t in aliases.texts)
    assert "Poisoning, acetaminophen" not in aliases.texts


def test_restricted_keeps_the_aliases_of_the_codes_given() -> None:
    aliases = _aliases()
    kept = aliases.restricted(["N20.0", "I10"])
    assert set(kept.codes) == {"N20.0", "I10"}
    assert _texts_of(kept, "N20.0") == _texts_of(aliases, "N20.0")
    assert kept.provenance == aliases.provenance


def test_aliases_round_trip_and_damaged_files_are_refused(tmp_path) -> None:
    aliases = _aliases()
    record = write_aliases(aliases, tmp_path)
    config = {"index_aliases": record}
    assert read_aliases(tmp_path, config) == aliases
    assert read_aliases(tmp_path, {}) is None
    path = tmp_path / ALIASES_NAME
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = json.dumps({"code": "N20.0"})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="SHA-256"):
        read_aliases(tmp_path, config)
    record["sha256"] = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    with pytest.raises(InputFormatError) as error:
        read_aliases(tmp_path, config)
    assert error.value.line == 3 and ALIASES_NAME in str(error.value)
    with pytest.raises(InputFormatError, match="not a label-alias record"):
        read_aliases(tmp_path, {"index_aliases": ["not", "a", "record"]})
    path.unlink()
    with pytest.raises(DataNotFoundError, match=ALIASES_NAME):
        read_aliases(tmp_path, config)


# ------------------------------------------------------------------ faiss and the feature
def test_the_index_scores_a_code_by_its_best_row() -> None:
    from icdbridge.model.labels.index import CandidateIndex

    rows = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.6, 0.0, 0.8]]), dim=1
    )
    index = CandidateIndex(["A", "B", "C", "A"], rows)  # "A" has a title and an alias
    query = torch.tensor([[0.0, 0.0, 1.0]])
    shortlist = index.shortlist(query, k=4, size=3)
    assert list(shortlist) == ["C", "A", "B"]  # each code once, "A" by its alias (0.8)
    assert shortlist["A"] == pytest.approx(0.8)


setting = synthetic.setting_fixture("aliases")
"""A private label cache, the synthetic encoder and an empty data folder."""


def _space(encoder_path):
    from icdbridge.codes import get_terminology
    from icdbridge.model import PipelineConfig
    from icdbridge.model.labels.space import build_label_space
    from icdbridge.model.text.encoder import TextEncoder

    encoder = TextEncoder(str(encoder_path))
    terminology = get_terminology("icd10cm")
    space = build_label_space(encoder, terminology, PipelineConfig(), _label_codes())
    return space, encoder


def test_alias_cosines_are_the_best_cosine_over_pieces_and_aliases(setting) -> None:
    space, encoder = _space(setting["encoder"])
    aliases = _aliases()
    with_aliases = space.with_aliases(aliases, encoder)
    assert space.label_aliases is None and space.alias_matrix is None  # the original is kept
    pieces = encoder.embed(["stone in the kidney", "aspiration pneumonia"])
    codes = ["N20.0", "I10", "J69.0", "J18.9", "E11.44", "K76.0"]
    got = with_aliases.alias_cosines(pieces, codes)
    for code, value in zip(codes, got, strict=True):
        texts = _texts_of(aliases, code)
        expected = (encoder.embed(texts) @ pieces.T).max().item() if texts else 0.0
        assert value == pytest.approx(expected, abs=1e-5), code
    assert space.alias_cosines(pieces, codes) == [0.0] * len(codes)
    # the shortlist scores each code by its best text, title or alias
    shortlist = with_aliases.index.shortlist(pieces, k=len(with_aliases.index), size=len(space))
    titles = space.index.shortlist(pieces, k=len(space), size=len(space))
    assert set(shortlist) == set(titles)  # each code once
    for code in codes:
        assert shortlist[code] == pytest.approx(max(titles[code], got[codes.index(code)]), 1e-5)


# ------------------------------------------------------------------------ with the model
def _documents() -> list[Document]:
    return note_documents(NOTES, 6)


@pytest.fixture(scope="module")
def alias_model(setting):
    from icdbridge.model import PipelineConfig, TrainConfig, train_model

    require_data(*INDEX_DIR)
    docs = _documents()
    out = setting["root"] / "alias-model"
    result = train_model(
        docs[:20],
        docs[20:],
        PipelineConfig(encoder=str(setting["encoder"]), index_aliases=True),
        train_config=TrainConfig(epochs=2, negatives=8, batch_size=4, members=1),
        label_codes=_label_codes(),
        out_dir=out,
    )
    return result, out


def _rankings(predictor) -> list[list[tuple[str, float]]]:
    docs = [Document(d.id, d.text, [], "icd10cm") for d in _documents()[:5]]
    return [
        [(code, round(score, 6)) for code, score in p.scores.items()]
        for p in predictor.predict(docs, top_k=None)
    ]


def test_a_model_with_aliases_reads_the_feature_and_carries_them(
    alias_model, setting, monkeypatch
) -> None:
    from icdbridge.model.features.featurize import FeatureInputs, featurize
    from icdbridge.model.features.registry import PAIR_FEATURES
    from icdbridge.model.io import from_pretrained

    result, out = alias_model
    predictor = result.predictor
    assert predictor.config.uses_index_aliases
    assert "alias_cosine" in predictor.model.config.features
    config = json.loads((out / "config.json").read_text())
    assert config["pipeline"]["index_aliases"] is True
    assert config["index_aliases"]["aliases"] == len(predictor.space.label_aliases) > 0
    [featured] = featurize(
        _documents()[:1],
        FeatureInputs(predictor.encoder, predictor.space, predictor.config, None, None),
    )
    column = featured.features[:, PAIR_FEATURES.index("alias_cosine")]
    assert column.abs().sum() > 0
    # loading needs no Index material: the aliases come from the model folder
    monkeypatch.setenv("ICDBRIDGE_DATA", str(setting["empty"]))
    loaded = from_pretrained(out, label_codes=_label_codes())
    assert loaded.space.label_aliases == predictor.space.label_aliases
    assert _rankings(loaded) == _rankings(predictor)


def test_aliases_come_only_with_the_index_terms(alias_model, setting) -> None:
    from icdbridge.model import PipelineConfig, TrainConfig, train_model

    _, out = alias_model
    docs = _documents()
    result = train_model(
        docs[:20],
        docs[20:],
        PipelineConfig(encoder=str(setting["encoder"]), index_aliases=True, index_phrases=[]),
        train_config=TrainConfig(epochs=1, negatives=8, batch_size=4, members=1),
        label_codes=_label_codes(),
        out_dir=setting["root"] / "no-index",
    )
    assert not result.predictor.config.uses_index_aliases
    assert result.predictor.space.label_aliases is None
    assert "alias_cosine" not in result.predictor.model.config.features
    assert not (setting["root"] / "no-index" / ALIASES_NAME).exists()
    # a model whose aliases file is gone is damaged, and said to be
    broken = setting["root"] / "broken"
    shutil.copytree(out, broken)
    (broken / ALIASES_NAME).unlink()
    from icdbridge.model.io import from_pretrained

    with pytest.raises(DataNotFoundError, match=ALIASES_NAME):
        from_pretrained(broken, label_codes=_label_codes())


def test_configs_saved_before_aliases_load_without_them() -> None:
    from icdbridge.model.config import PipelineConfig
    from icdbridge.model.features.registry import model_features

    legacy = PipelineConfig.from_dict({"system": "icd10cm", "index_phrases": ["index"]})
    assert legacy.index_aliases is False and not legacy.uses_index_aliases
    assert "alias_cosine" not in model_features(legacy)
    assert "alias_cosine" in model_features(
        PipelineConfig(index_phrases=["index"], index_aliases=True)
    )
