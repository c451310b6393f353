"""The sibling margins (``SIBLING_MARGIN_FEATURES``): a code's word overlap with the note minus
the best of its siblings', for its title and for its ICD-10-CM Index phrases.

On the real terminology and Index material (``../shared/data/icd10cm-index-2025``): the margin
is positive for the sibling whose distinguishing words the note names, negative for the others,
the same whatever else is scored beside the code, and a model reads the two features only when
its configuration names them (they are not among the defaults) and its components allow them.
"""

from __future__ import annotations

import pytest

import synthetic
from conftest import require_data
from icdbridge.data import Document

INDEX_DIR = ("icd10cm-index-2025",)
CODES = ["E11.40", "E11.44", "E11.10", "E11.11", "E11.9", "N20.0", "N20.1", "N20.2", "I10"]


@pytest.fixture(scope="module")
def icd10cm():
    from icdbridge.codes import get_terminology

    return get_terminology("icd10cm")


@pytest.fixture(scope="module")
def lexical(icd10cm):
    from icdbridge.model.lexical.channel import build_lexical

    require_data(*INDEX_DIR)
    return build_lexical(icd10cm, CODES, ["index", "drug", "neoplasm"])


def _margins(overlap, text: str, terminology, codes=CODES) -> dict[str, float]:
    from icdbridge.model.lexical.overlap import document_words

    return dict(
        zip(codes, overlap.sibling_margins(document_words(text), codes, terminology), strict=True)
    )


def test_index_margin_favours_the_sibling_the_note_names(lexical, icd10cm) -> None:
    from icdbridge.model.lexical.overlap import document_words

    text = "Type 2 diabetic with amyotrophy."
    margins = _margins(lexical.index_overlap, text, icd10cm)
    overlap = lexical.index_overlap.scores(document_words(text), ["E11.40", "E11.44"])
    # E11.44's Index path is fully named; its sibling E11.40 (a parent's other child) is not
    assert margins["E11.44"] == pytest.approx(overlap["E11.44"] - overlap["E11.40"])
    assert margins["E11.44"] > 0 > margins["E11.40"]
    assert margins["E11.40"] == pytest.approx(-margins["E11.44"])
    # the words the family shares do not set a code apart: N20.1 and N20.2 both name the ureter
    ureter = _margins(lexical.index_overlap, "Stone in the ureter.", icd10cm)
    assert ureter["N20.1"] == ureter["N20.2"] == 0.0 > ureter["N20.0"]
    # a code with no overlap and no sibling with any has margin 0
    assert ureter["I10"] == 0.0


def test_margin_does_not_depend_on_the_codes_scored_with_it(lexical, icd10cm) -> None:
    text = "Type 2 diabetic with amyotrophy."
    alone = _margins(lexical.index_overlap, text, icd10cm, ["E11.40"])
    assert alone["E11.40"] == _margins(lexical.index_overlap, text, icd10cm)["E11.40"]
    # a code outside the table: overlap 0, no sibling in it
    assert _margins(lexical.index_overlap, text, icd10cm, ["Q99.9", "XYZ"]) == {
        "Q99.9": 0.0,
        "XYZ": 0.0,
    }


def test_title_margin_over_the_whole_release(icd10cm) -> None:
    from icdbridge.model.lexical.overlap import WordOverlap, document_words

    codes = [c for c in icd10cm.codes() if c.startswith("N20")]
    overlap = WordOverlap.build(icd10cm, codes)
    margins = _margins(overlap, "Calculus of the kidney, left side.", icd10cm, codes)
    # N20.0 "Calculus of kidney" beats its siblings by N20.2's kidney-and-ureter half
    assert margins["N20.0"] == pytest.approx(0.5)
    assert margins["N20.1"] < 0 and margins["N20.2"] < 0
    assert all(-1.0 <= m <= 1.0 for m in margins.values())
    # N20 itself, a category, has no sibling among these codes: its margin is its overlap
    words = document_words("Calculus of the kidney, left side.")
    assert margins["N20"] == pytest.approx(overlap.scores(words, ["N20"])["N20"])
    assert margins["N20"] > 0


def test_margins_are_chosen_features_not_defaults() -> None:
    from icdbridge.model import PipelineConfig
    from icdbridge.model.features.registry import (
        DEFAULT_FEATURES,
        PAIR_FEATURES,
        SIBLING_MARGIN_FEATURES,
        model_features,
    )

    assert set(SIBLING_MARGIN_FEATURES) <= set(PAIR_FEATURES)
    assert not set(SIBLING_MARGIN_FEATURES) & set(DEFAULT_FEATURES)
    with_index = PipelineConfig(index_phrases=["index"])
    assert set(SIBLING_MARGIN_FEATURES) <= set(model_features(with_index))
    # they read the code tree (dropped without the hierarchy) and the lexical channel
    assert not set(SIBLING_MARGIN_FEATURES) & set(model_features(with_index, use_hierarchy=False))
    assert not set(SIBLING_MARGIN_FEATURES) & set(
        model_features(PipelineConfig(index_phrases=["index"], use_lexical=False))
    )
    # the Index one needs Index phrases
    titles = model_features(PipelineConfig(index_phrases=[]))
    assert "sibling_margin" in titles and "index_sibling_margin" not in titles


setting = synthetic.setting_fixture("sibling-margins")
"""A private label cache, the synthetic encoder and an empty data folder."""


def test_a_model_reading_the_margins_fills_them_and_keeps_them(setting) -> None:
    from icdbridge.model import ModelConfig, PipelineConfig, TrainConfig, train_model
    from icdbridge.model.features.featurize import FeatureInputs, featurize
    from icdbridge.model.features.registry import (
        DEFAULT_FEATURES,
        PAIR_FEATURES,
        SIBLING_MARGIN_FEATURES,
    )
    from icdbridge.model.io import from_pretrained

    require_data(*INDEX_DIR)
    notes = [
        ("Diabetic amyotrophy.", ["E11.44"]),
        ("Stone in the ureter.", ["N20.1"]),
        ("Hypertension.", ["I10"]),
    ]
    docs = [
        Document(f"d{i}", f"Seen today. {note} Follow up.", codes, "icd10cm")
        for i, (note, codes) in enumerate(notes * 6)
    ]
    out = setting["root"] / "model"
    features = tuple(f for f in PAIR_FEATURES if f in DEFAULT_FEATURES + SIBLING_MARGIN_FEATURES)
    result = train_model(
        docs[:12],
        docs[12:],
        PipelineConfig(encoder=str(setting["encoder"])),
        ModelConfig(features=features),
        TrainConfig(epochs=2, negatives=8, batch_size=4, members=1),
        label_codes=CODES,
        out_dir=out,
    )
    predictor = result.predictor
    assert set(SIBLING_MARGIN_FEATURES) <= set(predictor.model.config.features)
    [featured] = featurize(
        docs[:1],
        FeatureInputs(
            predictor.encoder,
            predictor.space,
            predictor.config,
            None,
            predictor.lexical,
            predictor.model.config.features,
        ),
    )
    index_margin = featured.features[:, PAIR_FEATURES.index("index_sibling_margin")]
    assert index_margin[featured.candidates.index("E11.44")] > 0
    assert index_margin[featured.candidates.index("E11.40")] < 0
    loaded = from_pretrained(out, label_codes=CODES)
    assert set(SIBLING_MARGIN_FEATURES) <= set(loaded.model.config.features)
    test = [Document("t", "Stone in the ureter and diabetic amyotrophy.", [], "icd10cm")]
    assert loaded.predict(test)[0].scores == pytest.approx(predictor.predict(test)[0].scores)
    # the default model does not compute them: their columns stay 0
    plain = train_model(
        docs[:12],
        docs[12:],
        PipelineConfig(encoder=str(setting["encoder"])),
        ModelConfig(),
        TrainConfig(epochs=1, negatives=8, batch_size=4, members=1),
        label_codes=CODES,
    ).predictor
    assert not set(SIBLING_MARGIN_FEATURES) & set(plain.model.config.features)
    [featured] = featurize(
        docs[:1],
        FeatureInputs(
            plain.encoder,
            plain.space,
            plain.config,
            None,
            plain.lexical,
            plain.model.config.features,
        ),
    )
    columns = [PAIR_FEATURES.index(f) for f in SIBLING_MARGIN_FEATURES]
    assert featured.features[:, columns].abs().sum() == 0


def test_cli_train_sibling_margins_option(setting, tmp_path, capsys) -> None:
    """``icdbridge train --sibling-margins`` trains a model that reads them (a synthetic system
    has no Index phrases: the title margin only); the default does not."""
    import json

    from cli_harness import run_cli

    train, dev = synthetic.write_split(tmp_path)
    features = {}
    for option in ("--sibling-margins", "--no-sibling-margins"):
        out = tmp_path / option
        args = synthetic.train_args(
            train, dev, out, synthetic.SYSTEM,
            "--encoder", setting["encoder"], option, epochs=1, members=1,
        )  # fmt: skip
        result = run_cli(args, capsys)
        assert result.code == 0, result.err
        config = json.loads((out / "config.json").read_text(encoding="utf-8"))
        features[option] = config["model"]["features"]
    assert "sibling_margin" in features["--sibling-margins"]
    assert "index_sibling_margin" not in features["--sibling-margins"]
    assert not {"sibling_margin", "index_sibling_margin"} & set(features["--no-sibling-margins"])
