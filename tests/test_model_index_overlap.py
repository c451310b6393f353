"""The word overlap of codes' ICD-10-CM Index phrases with a note (``INDEX_OVERLAP_FEATURES``).

On the real Index material (``../shared/data/icd10cm-index-2025``): the graded form of the
Index phrases' all-or-nothing match scores a code by its best Index phrase, tells siblings apart
by the words their Index paths differ in, and a model (the two features are in the default
since cross-validation: docs/model.md) reads them, saves them and predicts the same after
loading; a model without Index phrases does not read them.
"""

from __future__ import annotations

import pytest

import synthetic
from conftest import require_data
from icdbridge.data import Document

INDEX_DIR = ("icd10cm-index-2025",)
CODES = ["E11.40", "E11.44", "E11.10", "E11.11", "E11.9", "N20.0", "N20.1", "I10", "R51.9"]


@pytest.fixture(scope="module")
def lexical():
    from icdbridge.codes import get_terminology
    from icdbridge.model.lexical.channel import build_lexical

    require_data(*INDEX_DIR)
    return build_lexical(get_terminology("icd10cm"), CODES, ["index", "drug", "neoplasm"])


def _overlap(lexical, text: str) -> dict[str, float]:
    from icdbridge.model.lexical.overlap import document_words

    return lexical.index_overlap.scores(document_words(text), CODES)


def test_siblings_are_told_apart_by_their_index_words(lexical) -> None:
    amyotrophy = _overlap(lexical, "Type 2 diabetic with amyotrophy of the thigh.")
    assert amyotrophy["E11.44"] == pytest.approx(1.0)
    assert amyotrophy["E11.40"] < 1.0  # its Index paths need "neuropathy" or the like
    coma = _overlap(lexical, "Diabetes type 2, ketoacidosis with coma.")
    assert coma["E11.11"] == pytest.approx(1.0)
    ureter = _overlap(lexical, "Stone in the ureter.")
    assert ureter["N20.1"] > ureter["N20.0"]


def test_overlap_is_graded_and_zero_without_index_words(lexical) -> None:
    partial = _overlap(lexical, "A calculus was seen.")  # kidney stone paths: half their words
    assert 0.0 < partial["N20.0"] < 1.0
    assert _overlap(lexical, "Nothing relevant here.")["N20.0"] == 0.0
    from icdbridge.codes import get_terminology
    from icdbridge.model.lexical.channel import build_lexical

    assert build_lexical(get_terminology("icd10cm"), CODES, []).index_overlap is None


setting = synthetic.setting_fixture("index-overlap")
"""A private label cache, the synthetic encoder and an empty data folder."""


def test_a_model_reading_the_index_overlap_keeps_it(setting) -> None:
    from icdbridge.model import ModelConfig, PipelineConfig, TrainConfig, train_model
    from icdbridge.model.features.featurize import FeatureInputs, featurize
    from icdbridge.model.features.registry import (
        DEFAULT_FEATURES,
        INDEX_OVERLAP_FEATURES,
        PAIR_FEATURES,
    )
    from icdbridge.model.io import from_pretrained

    require_data(*INDEX_DIR)
    assert set(INDEX_OVERLAP_FEATURES) <= set(DEFAULT_FEATURES)  # chosen: on by default
    notes = [
        ("Diabetic amyotrophy.", ["E11.44"]),
        ("Kidney stone.", ["N20.0"]),
        ("Hypertension.", ["I10"]),
    ]
    docs = [
        Document(f"d{i}", f"Seen today. {note} Follow up.", codes, "icd10cm")
        for i, (note, codes) in enumerate(notes * 6)
    ]
    out = setting["root"] / "model"
    result = train_model(
        docs[:12],
        docs[12:],
        PipelineConfig(encoder=str(setting["encoder"])),
        ModelConfig(),
        TrainConfig(epochs=2, negatives=8, batch_size=4, members=1),
        label_codes=CODES,
        out_dir=out,
    )
    predictor = result.predictor
    assert set(INDEX_OVERLAP_FEATURES) <= set(predictor.model.config.features)
    [featured] = featurize(
        docs[:1],
        FeatureInputs(
            predictor.encoder, predictor.space, predictor.config, None, predictor.lexical
        ),
    )
    column = featured.features[:, PAIR_FEATURES.index("index_overlap")]
    row = featured.candidates.index("E11.44")
    assert column[row] == pytest.approx(1.0)
    loaded = from_pretrained(out, label_codes=CODES)
    test = [Document("t", "Kidney stone and diabetic amyotrophy.", [], "icd10cm")]
    assert loaded.predict(test)[0].scores == pytest.approx(predictor.predict(test)[0].scores)
    # without Index phrases the features are not used
    plain = train_model(
        docs[:12],
        docs[12:],
        PipelineConfig(encoder=str(setting["encoder"]), index_phrases=[]),
        ModelConfig(),
        TrainConfig(epochs=1, negatives=8, batch_size=4, members=1),
        label_codes=CODES,
    )
    assert not set(INDEX_OVERLAP_FEATURES) & set(plain.predictor.model.config.features)


def test_index_overlap_candidates_are_the_codes_the_index_words_cover_most(setting) -> None:
    """``PipelineConfig.index_overlap_k``: the codes of highest Index word overlap with the
    note join the candidates (off by default), and nothing else does."""
    from dataclasses import replace

    from icdbridge.model import ModelConfig, PipelineConfig, TrainConfig, train_model
    from icdbridge.model.features.featurize import FeatureInputs, featurize
    from icdbridge.model.lexical.overlap import document_words

    require_data(*INDEX_DIR)
    assert PipelineConfig().index_overlap_k == 0
    docs = [
        Document(f"d{i}", "Seen today. Kidney stone. Follow up.", ["N20.0"], "icd10cm")
        for i in range(6)
    ]
    result = train_model(
        docs[:4],
        docs[4:],
        PipelineConfig(encoder=str(setting["encoder"]), shortlist_k=1, family_expansion=0),
        ModelConfig(),
        TrainConfig(epochs=1, negatives=4, batch_size=4, members=1),
        label_codes=CODES,
    )
    predictor = result.predictor
    # the words of E11.11's Index path (Diabetes, type 2, with, ketoacidosis, with coma) in part
    note = Document("t", "Known diabetic, type 2, now in coma.", [], "icd10cm")

    def candidates(k: int) -> set[str]:
        config = replace(predictor.config, index_overlap_k=k)
        inputs = FeatureInputs(predictor.encoder, predictor.space, config, None, predictor.lexical)
        return set(featurize([note], inputs)[0].candidates)

    before, after = candidates(0), candidates(2)
    top = predictor.lexical.index_overlap.top(document_words(note.text), 2)
    assert "E11.11" in top
    assert after - before and after - before <= set(top)
    assert before <= after
