"""The ICD-10-CM Index material in the lexical channel (``model.lexical.index_phrases``).

Hand-made paths first, then real Index entries from ``../shared/data/icd10cm-index-2025``
(skipped with a reason when absent): a note's wording that only the Index carries leads to its
code — a Table of Drugs substance to the T code of the column its cue names, a Neoplasm Table
site to the C code of its behaviour, an Index subterm path to its code —, the switch off is the
channel of titles alone, and a model trained on a synthetic terminology reads an Index phrase.
"""

from __future__ import annotations

import pytest

from conftest import require_data
from icdbridge.codes import get_terminology
from icdbridge.codes.index import AlphabeticIndex, IndexDocument, IndexTerm, TableCell
from icdbridge.model.lexical import LexicalMatcher
from icdbridge.model.lexical.index_phrases import (
    CHILD_FACTOR,
    INDEX_WEIGHT,
    index_phrases,
    load_index_for,
    path_phrases,
    with_index_phrases,
)

INDEX_DIR = ("icd10cm-index-2025",)


# ----------------------------------------------------------------- hand-made paths
def test_path_phrases_word_forms_and_modifiers() -> None:
    # main-term word forms give one phrase each; "with" is a function word
    assert path_phrases(("Diabetes, diabetic", "with", "amyotrophy")) == [
        ("diabete", "amyotrophy"),
        ("diabetic", "amyotrophy"),
    ]
    # an inverted main term keeps its head word; NEC and brackets are no words
    assert path_phrases(("Effect, adverse", "atmospheric pressure")) == [
        ("effect", "atmospheric", "pressure")
    ]
    assert path_phrases(("Obstruction", "larynx NEC")) == [("obstruction", "larynx")]
    assert path_phrases(("Fracture", "bone(s)")) == [("fracture", "bone")]
    # a subterm's single-word alternatives are forms too
    assert path_phrases(("Thrombosis", "puerperal, postpartum")) == [
        ("thrombosis", "puerperal"),
        ("thrombosis", "postpartum"),
    ]
    # the cue of a table column joins the words; generic-only phrases are dropped
    assert path_phrases(("Acetaminophen",), "overdose") == [("acetaminophen", "overdose")]
    assert path_phrases(("Disease",)) == []


def _tiny_index() -> AlphabeticIndex:
    """One Index path, one drug row, one neoplasm row (hand-made, ICD-10-CM codes)."""
    index = IndexDocument(
        "index",
        "sample",
        terms=[
            IndexTerm(0, "index", 0, None, ("Diabetes, diabetic",), ("(mellitus)",)),
            IndexTerm(1, "index", 1, 0, ("Diabetes, diabetic", "amyotrophy"), ("", ""), "E11.44"),
        ],
    )
    drug = IndexDocument(
        "drug",
        "sample",
        terms=[
            IndexTerm(
                0,
                "drug",
                0,
                None,
                ("Paracetamol",),
                ("",),
                cells=(
                    TableCell("poisoning_accidental", "Poisoning Accidental", "T39.1X1"),
                    TableCell("poisoning_intentional", "Poisoning Intentional", "T39.1X2"),
                    TableCell("adverse_effect", "Adverse effect", "T39.1X5"),
                ),
            )
        ],
    )
    neoplasm = IndexDocument(
        "neoplasm",
        "sample",
        terms=[
            IndexTerm(0, "neoplasm", 0, None, ("Neoplasm, neoplastic",), ("",)),
            IndexTerm(
                1,
                "neoplasm",
                1,
                0,
                ("Neoplasm, neoplastic", "liver"),
                ("", ""),
                cells=(
                    TableCell("malignant_primary", "Malignant Primary", "C22.9"),
                    TableCell("malignant_secondary", "Malignant Secondary", "C78.7"),
                ),
            ),
        ],
    )
    return AlphabeticIndex({"index": index, "drug": drug, "neoplasm": neoplasm})


def test_hand_made_index_phrases_and_their_targets() -> None:
    terminology = get_terminology("icd10cm")
    codes = ["E11.44", "T39.1X1", "T39.1X1A", "T39.1X2", "T39.1X5", "C22.9", "C78.7"]
    phrases = {
        (words, code): weight
        for words, _, code, weight in index_phrases(_tiny_index(), terminology, codes)
    }
    assert phrases[(("diabete", "amyotrophy"), "E11.44")] == INDEX_WEIGHT
    assert phrases[(("diabetic", "amyotrophy"), "E11.44")] == INDEX_WEIGHT
    # a category (T39.1X1) targets itself and, a little lower, its initial-encounter child
    assert phrases[(("paracetamol", "overdose"), "T39.1X1")] == INDEX_WEIGHT
    assert phrases[(("paracetamol", "overdose"), "T39.1X1A")] == INDEX_WEIGHT * CHILD_FACTOR
    assert (("paracetamol", "suicide"), "T39.1X2") in phrases
    assert (("paracetamol", "overdose"), "T39.1X2") not in phrases
    # the site without "Neoplasm, neoplastic", with the behaviour's cue
    assert (("liver", "metastasis"), "C78.7") in phrases
    assert (("liver", "carcinoma"), "C22.9") in phrases
    assert not any(code == "C78.7" and "carcinoma" in words for words, code in phrases)
    # only the documents asked for
    only_drugs = {c for _, _, c, _ in index_phrases(_tiny_index(), terminology, codes, ["drug"])}
    assert only_drugs <= {"T39.1X1", "T39.1X1A", "T39.1X2", "T39.1X5"}
    with pytest.raises(ValueError, match="unknown Index sources"):
        list(index_phrases(_tiny_index(), terminology, codes, ["drugs"]))


def test_switch_off_is_the_channel_of_titles() -> None:
    from icdbridge.model.config import PipelineConfig
    from icdbridge.model.lexical.channel import build_lexical

    terminology = get_terminology("icd10cm")
    codes = ["E11.44", "T39.1X1", "C78.7"]
    base = build_lexical(terminology, codes)
    same = build_lexical(terminology, codes, ())
    assert [(p.words, p.targets) for p in same.phrases] == [
        (p.words, p.targets) for p in base.phrases
    ]
    note = "Diabetic amyotrophy. Paracetamol overdose. Liver metastasis."
    assert not base.match(note)  # the titles do not carry these words
    extended = with_index_phrases(base, terminology, _tiny_index())
    assert set(extended.match(note)) == {"E11.44", "T39.1X1", "C78.7"}
    assert len(base.phrases) < len(extended.phrases)  # the original is left unchanged
    # a model saved before Index phrases existed keeps the titles alone
    assert PipelineConfig.from_dict({"system": "icd10cm"}).index_phrases == []
    assert PipelineConfig().from_dict(PipelineConfig().to_dict()) == PipelineConfig()


def test_index_phrases_need_icd10cm() -> None:
    from icdbridge.errors import UnknownSystemError

    with pytest.raises(UnknownSystemError, match="ICD-10-CM"):
        load_index_for(get_terminology("icd10"))


# ----------------------------------------------------------------- real Index entries
@pytest.fixture(scope="module")
def real() -> tuple[LexicalMatcher, LexicalMatcher]:
    require_data(*INDEX_DIR)
    terminology = get_terminology("icd10cm")
    codes = [
        *("T39.1X1", "T39.1X2", "T39.1X5", "T36.0X5", "T42.4X1", "T42.4X2"),
        *("C78.7", "C22.0", "C22.9", "C34.9", "C34.90", "C34.91", "C34.92", "C50.91"),
        *("E11.44", "E11.9", "J69.0", "S32.401", "S32.402", "S32.409", "K76.0"),
    ]
    base = LexicalMatcher.build(terminology, codes)
    return base, with_index_phrases(base, terminology, load_index_for(terminology))


@pytest.mark.parametrize(
    "note, code",
    [
        ("Paracetamol overdose.", "T39.1X1"),  # drug table: accidental poisoning column
        ("Suicide attempt by ingestion of paracetamol.", "T39.1X2"),  # intentional self-harm
        ("Rash induced by amoxicillin.", "T36.0X5"),  # adverse effect column
        ("Lorazepam intoxication.", "T42.4X1"),  # a benzodiazepine row
        ("Liver metastasis.", "C78.7"),  # neoplasm table: malignant secondary
        ("Carcinoma of the lung.", "C34.9"),  # malignant primary, a dash code ...
        ("Carcinoma of the lung.", "C34.90"),  # ... and its children
        ("Diabetic amyotrophy.", "E11.44"),  # Index term path: Diabetes › with › amyotrophy
    ],
)
def test_real_index_wording_leads_to_its_code(real, note: str, code: str) -> None:
    base, extended = real
    assert code in extended.match(note)
    if code not in ("C34.9", "C34.90"):  # titles carry "carcinoma of lung" through a variant
        assert code not in base.match(note)


def test_real_drug_columns_are_told_apart(real) -> None:
    _, extended = real
    overdose = extended.match("Paracetamol overdose.")
    assert "T39.1X2" not in overdose and "T39.1X5" not in overdose
    adverse = extended.match("Hepatitis induced by paracetamol.")
    assert "T39.1X5" in adverse and "T39.1X1" not in adverse


# ----------------------------------------------------------------- a model reads them
def test_synthetic_model_uses_an_index_phrase(tmp_path, monkeypatch) -> None:
    """A synthetic terminology whose Index says ``Nephrolithiasis`` → ``A10.9`` (no title has
    the word): the trained model's lexical channel matches it, with the note's span as
    evidence; without the Index the word is matched nowhere."""
    import synthetic
    from icdbridge.codes import register_hierarchy
    from icdbridge.codes.registry import CUSTOM_SYSTEMS
    from icdbridge.data import Document
    from icdbridge.model import PipelineConfig, TrainConfig, train_model

    monkeypatch.setenv("ICDBRIDGE_CACHE", str(tmp_path / "cache"))
    register_hierarchy(synthetic.SYSTEM, synthetic.write_terminology(tmp_path))
    try:
        terminology = get_terminology(synthetic.SYSTEM)
        encoder = synthetic.write_encoder(tmp_path / "encoder")
        rows = synthetic.make_corpus(24)
        docs = synthetic.documents(rows)
        term = IndexTerm(0, "index", 0, None, ("Nephrolithiasis",), ("",), code="A10.9")
        index = AlphabeticIndex({"index": IndexDocument("index", "sample", terms=[term])})
        base = LexicalMatcher.build(terminology, terminology.codes())
        lexical = with_index_phrases(base, terminology, index, ["index"])
        result = train_model(
            docs[:18],
            docs[18:],
            PipelineConfig(system=synthetic.SYSTEM, encoder=str(encoder)),
            train_config=TrainConfig(epochs=2, negatives=8, batch_size=4, members=1),
            lexical=lexical,
        )
        note = Document("n", "Seen today. Diagnosis: nephrolithiasis.", [], synthetic.SYSTEM)
        [prediction] = result.predictor.predict([note], top_k=None, explain=True)
        spans = [note.text[s["start"] : s["end"]] for s in prediction.evidence.get("A10.9", [])]
        assert "nephrolithiasis" in spans
        assert "A10.9" not in base.match(note.text)
    finally:
        CUSTOM_SYSTEMS.pop(synthetic.SYSTEM, None)
        get_terminology.cache_clear()
