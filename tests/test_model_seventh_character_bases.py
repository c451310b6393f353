"""The 7th-character bases (``PipelineConfig.seventh_character_bases``): ICD-10-CM codes written
without their 7th character (``S62.92X`` for ``S62.92XA``), as CodiEsp writes them.

On the real release and Index material (``../shared/data/icd10cm-index-2025``): which codes are
bases, how a label space takes them in, that training resolves "auto" from its gold codes and
saves the answer, that the title and Index phrases of the code a base writes reach it, and that
another code system has none.
"""

from __future__ import annotations

import pytest

import synthetic
from conftest import require_data
from icdbridge.codes import get_terminology
from icdbridge.codes.bases import seventh_character_bases
from icdbridge.data import Document
from icdbridge.model.labels.space import label_space_codes, resolve_seventh_character_bases

INDEX_DIR = ("icd10cm-index-2025",)


@pytest.fixture(scope="module")
def icd10cm():
    return get_terminology("icd10cm")


def test_bases_are_the_codes_without_their_7th_character(icd10cm) -> None:
    bases = seventh_character_bases(icd10cm)
    assert bases == sorted(set(bases))
    # written with placeholders, the release does not define them; each stands for a code
    # whose every child adds the 7th character
    for base in ("S62.92X", "T68.XXX", "S10.0XX", "W21.00X", "O60.10X"):
        assert base in bases and icd10cm.get(base) is None
        assert any(icd10cm.get(base + ch) is not None for ch in "ABDS0123459")
    # a 6-character base the release defines (S72.002 of S72.002A) is a code already
    assert "S72.002" not in bases and icd10cm.get("S72.002") is not None
    # 7-character codes that are not extensions of an undefined base are not bases
    assert "E11.359" not in bases and "R40.241" not in bases
    assert all(len(b.replace(".", "")) == 6 for b in bases)
    assert seventh_character_bases(get_terminology("icd10who")) == []


def test_a_label_space_takes_them_in_before_the_extra_codes(icd10cm) -> None:
    plain = label_space_codes(icd10cm, "all", ["S62.92X", "XYZ.1"])
    with_bases = label_space_codes(icd10cm, "all", ["S62.92X", "XYZ.1"], bases=True)
    bases = seventh_character_bases(icd10cm)
    release = icd10cm.codes()
    assert plain == [*release, "S62.92X", "XYZ.1"]
    assert with_bases == [*release, *bases, "XYZ.1"]  # S62.92X once, among the bases
    on, line = resolve_seventh_character_bases(icd10cm, ["I10", "S62.92X"], None)
    assert on and "1 training code is written" in line and "e.g. S62.92X" in line
    assert f"all {len(bases):,} of ICD-10-CM" in line
    assert not resolve_seventh_character_bases(icd10cm, ["I10", "S62.92XA", "S72.002"], None)[0]
    assert resolve_seventh_character_bases(icd10cm, ["I10"], True) == (
        True,
        "7th-character bases: on (asked)",
    )


def test_index_phrases_reach_the_base_of_the_code_they_print(icd10cm) -> None:
    from icdbridge.model.lexical.channel import build_lexical

    require_data(*INDEX_DIR)
    codes = ["S52.9", "S52.90", "S52.91", "S52.92", "S52.92X", "S52.92XA", "I10"]
    note = "Fracture of the left radius."
    with_bases = build_lexical(icd10cm, codes, ["index"], bases=True).match(note)
    without = build_lexical(icd10cm, codes, ["index"]).match(note)
    # "Fracture, radius" prints S52.9-: its child S52.92 and, with bases, S52.92's base
    assert "S52.92" in with_bases and "S52.92" in without
    assert "S52.92X" in with_bases
    assert with_bases["S52.92X"].score == pytest.approx(with_bases["S52.92"].score)
    # the titles reach a base through the code it writes (its longest defined prefix), always
    titles = build_lexical(icd10cm, codes, []).match("Unspecified fracture of left forearm.")
    assert "S52.92X" in titles


setting = synthetic.setting_fixture("bases")
"""A private label cache, the synthetic encoder and an empty data folder."""


@pytest.mark.parametrize(
    ("gold", "expected"), [(["S62.92X", "I10"], True), (["S62.92XA", "I10"], False)]
)
def test_training_resolves_auto_from_its_gold_codes_and_saves_it(
    setting, gold: list[str], expected: bool
) -> None:
    import json

    from icdbridge.model import PipelineConfig, TrainConfig, train_model
    from icdbridge.model.io import from_pretrained

    codes = ["S62.92", "S62.92X", "S62.92XA", "I10", "R51.9"]
    notes = [("Fracture of the left wrist.", gold[:1]), ("Hypertension.", gold[1:])]
    docs = [
        Document(f"d{i}", f"Seen today. {note} Follow up.", codes, "icd10cm")
        for i, (note, codes) in enumerate(notes * 4)
    ]
    out = setting["root"] / f"model-{expected}"
    result = train_model(
        docs[:6],
        docs[6:],
        PipelineConfig(encoder=str(setting["encoder"]), index_phrases=[],
                       seventh_character_bases=None),
        train_config=TrainConfig(epochs=1, negatives=4, batch_size=4, members=1),
        label_codes=codes,
        out_dir=out,
    )  # fmt: skip
    assert result.predictor.config.seventh_character_bases is expected
    saved = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert saved["pipeline"]["seventh_character_bases"] is expected
    assert from_pretrained(out, label_codes=codes).config.seventh_character_bases is expected


def test_the_training_label_space_of_a_model_names_its_bases(icd10cm) -> None:
    from icdbridge.model import PipelineConfig
    from icdbridge.model.routes import training_label_space

    def config(bases: bool) -> dict:
        pipeline = PipelineConfig(seventh_character_bases=bases, extra_codes=["S62.92X"])
        return {"system": "icd10cm", "release": icd10cm.release, "pipeline": pipeline.to_dict()}

    assert "T68.XXX" in training_label_space(config(True))
    assert "T68.XXX" not in training_label_space(config(False))
    assert "S62.92X" in training_label_space(config(False))  # a training spelling
    # a model saved before the setting existed has no bases
    assert PipelineConfig.from_dict({}).seventh_character_bases is False


def test_cli_train_says_whether_it_took_the_bases_in(setting, tmp_path, capsys) -> None:
    """``icdbridge train`` prints the resolved setting (a synthetic system has no bases) and
    refuses an unknown value before any work."""
    import json

    from cli_harness import run_cli

    train, dev = synthetic.write_split(tmp_path)
    args = synthetic.train_args(
        train, dev, tmp_path / "model", synthetic.SYSTEM,
        "--encoder", setting["encoder"], epochs=1, members=1,
    )  # fmt: skip
    result = run_cli(args, capsys)
    assert result.code == 0, result.err
    assert "7th-character bases: off (auto: no training code is written without" in result.err
    config = json.loads((tmp_path / "model" / "config.json").read_text(encoding="utf-8"))
    assert config["pipeline"]["seventh_character_bases"] is False
    refused = run_cli([*args, "--seventh-character-bases", "maybe"], capsys)
    assert refused.code == 2 and "--seventh-character-bases" in refused.err
