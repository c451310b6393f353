"""The Index phrases in the original-language text (``PipelineConfig.index_in_original``).

On the real Index material (``../shared/data/icd10cm-index-2025``) and the real Spanish gloss:
by default the word gloss of a note's Spanish original meets the Index phrases as it meets the
titles; with the switch off it meets the titles alone (``LexicalMatcher.without_index``), the
Index word overlap reads the English sentences only, and the English text still meets the
Index. Row (w) of the CodiEsp table measures what this carries across (docs/model.md).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

import synthetic
from conftest import require_data
from icdbridge.data import Document

INDEX_DIR = ("icd10cm-index-2025",)
CODES = ["E11.40", "E11.44", "E11.9", "J69.0", "J18.9", "N20.0", "N20.1", "I10"]
INDEX = ["index", "drug", "neoplasm"]


@pytest.fixture(scope="module")
def terminology():
    from icdbridge.codes import get_terminology

    return get_terminology("icd10cm")


def test_without_index_is_the_title_table_of_the_same_label_space(terminology) -> None:
    from icdbridge.model.lexical import LexicalMatcher
    from icdbridge.model.lexical.channel import build_lexical
    from icdbridge.model.lexical.index_phrases import add_index_phrases

    require_data(*INDEX_DIR)
    titles = LexicalMatcher.build(terminology, CODES)
    assert titles.without_index is titles and titles.title_phrases is None
    full = build_lexical(terminology, CODES, INDEX)
    plain = full.without_index
    assert plain is full.without_index  # built once
    assert plain.index_phrases is None and plain.codes == full.codes
    assert [(p.words, p.targets) for p in plain.phrases] == [
        (p.words, p.targets) for p in titles.phrases
    ]
    # "Amyotrophy › diabetic" is an Index path: no title of the label space says it
    assert "E11.44" in full.match("Diabetic amyotrophy.")
    assert "E11.44" not in plain.match("Diabetic amyotrophy.")
    assert "N20.1" in plain.match("Calculus of the ureter.")  # the titles stay
    # a second set of Index phrases keeps the titles of the first matcher, not its Index
    twice = add_index_phrases(full, full.index_phrases)
    assert [p.words for p in twice.without_index.phrases] == [p.words for p in titles.phrases]


setting = synthetic.setting_fixture("index-in-original")
"""A private label cache, the synthetic encoder and an empty data folder."""


def test_the_gloss_meets_the_index_only_when_index_in_original(setting) -> None:
    from icdbridge.model import ModelConfig, PipelineConfig, TrainConfig, train_model
    from icdbridge.model.features.featurize import FeatureInputs, featurize
    from icdbridge.model.features.registry import PAIR_FEATURES

    require_data(*INDEX_DIR)
    assert PipelineConfig().index_in_original  # the default: the Index reads the gloss too
    docs = [
        Document(f"d{i}", f"Seen today. {note} Follow up.", codes, "icd10cm")
        for i, (note, codes) in enumerate(
            [("Diabetic amyotrophy.", ["E11.44"]), ("Kidney stone.", ["N20.0"])] * 3
        )
    ]
    result = train_model(
        docs[:4],
        docs[4:],
        PipelineConfig(encoder=str(setting["encoder"]), index_phrases=INDEX),
        ModelConfig(),
        TrainConfig(epochs=1, negatives=4, batch_size=4, members=1),
        label_codes=CODES,
    )
    predictor = result.predictor
    # the English translation lost the word; the Spanish original has it
    note = Document(
        "t",
        "Weakness of the thigh muscles.",
        meta={"original_text": "Amiotrofia diabética.", "original_language": "es"},
    )
    english = Document("e", "Diabetic amyotrophy.")

    def features(doc: Document, index_in_original: bool) -> dict[str, dict[str, float]]:
        config = replace(predictor.config, index_in_original=index_in_original)
        inputs = FeatureInputs(predictor.encoder, predictor.space, config, None, predictor.lexical)
        [featured] = featurize([doc], inputs)
        return {
            name: {
                code: float(featured.features[i, PAIR_FEATURES.index(name)])
                for i, code in enumerate(featured.candidates)
            }
            for name in ("lexical", "index_overlap", "index_sentence_overlap")
        }

    both, english_only = features(note, True), features(note, False)
    assert both["lexical"]["E11.44"] > 0.5  # the gloss "amyotrophy diabetic" meets the Index
    assert english_only["lexical"].get("E11.44", 0.0) == 0.0
    assert both["index_overlap"]["E11.44"] == pytest.approx(1.0)
    assert english_only["index_overlap"].get("E11.44", 0.0) < 0.5
    assert english_only["index_sentence_overlap"].get("E11.44", 0.0) < 0.5
    # the English text meets the Index either way
    for setting_on in (True, False):
        assert features(english, setting_on)["lexical"]["E11.44"] > 0.5
    # a note without an original is featurized the same with the switch on or off
    assert features(english, True) == features(english, False)


def test_cli_train_records_the_switch(setting, capsys, tmp_path) -> None:
    import json

    from cli_harness import run_cli

    train, dev = synthetic.write_split(tmp_path)
    args = synthetic.train_args(
        train, dev, tmp_path / "model", synthetic.SYSTEM,
        "--encoder", setting["encoder"], "--no-index-in-original",
        epochs=1, members=1,
    )  # fmt: skip
    result = run_cli(args, capsys)
    assert result.code == 0, result.err
    config = json.loads((tmp_path / "model" / "config.json").read_text(encoding="utf-8"))
    assert config["pipeline"]["index_in_original"] is False
