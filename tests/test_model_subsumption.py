"""The subsumed-match flag (``lexical_subsumed``): a code whose every lexical match lies inside a
longer match of another code, on the real ICD-10-CM titles and (where the data is present) the
real Index phrases.

The flag is computed from the matcher's own spans, in the note and in its original; a code
mentioned on its own anywhere is not subsumed, and a model reads the flag only when its
configuration names it and its lexical channel is on.
"""

from __future__ import annotations

import pytest

import synthetic
from conftest import require_data
from icdbridge.data import Document

CODES = ["E11.40", "E11.44", "E11.9", "N20.0", "N20.1", "N20.2", "I10", "I11.0", "I11.9"]


@pytest.fixture(scope="module")
def icd10cm():
    from icdbridge.codes import get_terminology

    return get_terminology("icd10cm")


def _subsumed(matcher, text: str) -> set[str]:
    from icdbridge.model.lexical.channel import lexical_matches
    from icdbridge.model.lexical.subsumption import subsumed_codes

    return set(
        subsumed_codes({c: spans for c, (_, spans) in lexical_matches(matcher, text).items()})
    )


def test_the_shorter_title_inside_a_longer_one_is_subsumed(icd10cm) -> None:
    from icdbridge.model.lexical.channel import build_lexical, lexical_matches

    titles = build_lexical(icd10cm, CODES, [])
    text = "Type 2 diabetes mellitus with diabetic amyotrophy. Hypertension."
    matched = lexical_matches(titles, text)
    assert {"E11.44", "E11.9", "I10"} <= set(matched)
    # E11.9's "type 2 diabetes mellitus" is inside E11.44's match; I10 stands on its own
    assert _subsumed(titles, text) == {"E11.9"}
    # mentioned once more on its own, it is not subsumed
    assert "E11.9" not in _subsumed(titles, text + " Later, type 2 diabetes mellitus.")
    # one title alone: nothing longer to be inside
    assert _subsumed(titles, "Calculus of kidney.") == set()


def test_index_phrases_subsume_too(icd10cm) -> None:
    from icdbridge.model.lexical.channel import build_lexical

    require_data("icd10cm-index-2025")
    index = build_lexical(icd10cm, CODES, ["index", "drug", "neoplasm"])
    # the Index's "Calculus, kidney, with calculus, ureter" leads to N20.2 and covers both
    assert {"N20.0", "N20.1"} <= _subsumed(index, "Calculus of kidney and ureter.")
    assert "N20.2" not in _subsumed(index, "Calculus of kidney and ureter.")


def test_a_mention_in_either_text_keeps_a_code() -> None:
    from icdbridge.model.lexical.subsumption import subsumed_codes, subsumed_everywhere

    english = {"E11.44": [(0, 49, 1.1)], "E11.9": [(0, 24, 0.9)]}
    assert subsumed_codes(english) == {"E11.9"}
    # an equal span does not subsume: neither covers more
    assert subsumed_codes({"A": [(0, 5)], "B": [(0, 5)]}) == frozenset()
    # spread over two codes is not inside one
    assert subsumed_codes({"A": [(0, 10)], "B": [(0, 6)], "C": [(5, 12)]}) == {"B"}
    assert subsumed_everywhere([english, {"E11.9": [(3, 9)]}]) == frozenset()
    assert subsumed_everywhere([english, {"E11.44": [(0, 30)]}]) == {"E11.9"}
    assert subsumed_everywhere([]) == frozenset()


def test_the_flag_is_a_lexical_feature() -> None:
    from icdbridge.model import PipelineConfig
    from icdbridge.model.features.registry import (
        LEXICAL_FEATURES,
        PAIR_FEATURES,
        SUBSUMPTION_FEATURES,
        model_features,
    )

    assert set(SUBSUMPTION_FEATURES) <= set(PAIR_FEATURES) & LEXICAL_FEATURES
    assert set(SUBSUMPTION_FEATURES) <= set(model_features(PipelineConfig()))
    assert not set(SUBSUMPTION_FEATURES) & set(model_features(PipelineConfig(use_lexical=False)))


setting = synthetic.setting_fixture("subsumption")
"""A private label cache, the synthetic encoder and an empty data folder."""


def test_a_model_reading_the_flag_fills_it(setting) -> None:
    from icdbridge.model import ModelConfig, PipelineConfig, TrainConfig, train_model
    from icdbridge.model.features.registry import DEFAULT_FEATURES, PAIR_FEATURES

    notes = [
        ("Type 2 diabetes mellitus with diabetic amyotrophy.", ["E11.44"]),
        ("Calculus of kidney.", ["N20.0"]),
        ("Hypertension.", ["I10"]),
    ]
    docs = [
        Document(f"d{i}", f"Seen today. {note} Follow up.", codes, "icd10cm")
        for i, (note, codes) in enumerate(notes * 4)
    ]
    column = PAIR_FEATURES.index("lexical_subsumed")
    flags = {}
    for name, features in (
        (
            "reads",
            tuple(f for f in PAIR_FEATURES if f in DEFAULT_FEATURES or f == "lexical_subsumed"),
        ),
        ("default", DEFAULT_FEATURES),
    ):
        predictor = train_model(
            docs[:8],
            docs[8:],
            PipelineConfig(encoder=str(setting["encoder"]), index_phrases=[]),
            ModelConfig(features=features),
            TrainConfig(epochs=1, negatives=8, batch_size=4, members=1),
            label_codes=CODES,
        ).predictor
        [featured] = predictor.featurize(docs[:1])
        flags[name] = dict(
            zip(featured.candidates, featured.features[:, column].tolist(), strict=True)
        )
    assert flags["reads"]["E11.9"] == 1.0
    assert flags["reads"]["E11.44"] == 0.0
    # a model that does not read it leaves its column at 0
    assert set(flags["default"].values()) == {0.0}
