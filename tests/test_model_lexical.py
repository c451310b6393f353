"""Lexical channel: exact / bag matches with spans pointing at the text, negation, categories."""

from __future__ import annotations

import doctest
import importlib

import pytest

from conftest import require_data
from icdbridge.codes import get_terminology
from icdbridge.model.lexical import LexicalMatcher, content_words, shortened_forms, stem

SMALL = ["R50.9", "J18.9", "I10", "E11.9", "E11.65", "S72.001A", "S72.001D", "K35.80", "N20.0"]


@pytest.fixture(scope="module")
def cm():
    return get_terminology("icd10cm")


@pytest.fixture(scope="module")
def small(cm):
    return LexicalMatcher.build(cm, SMALL)


def test_words_and_forms():
    assert (
        stem("kidneys") == "kidney" and stem("injuries") == "injury" and stem("pelvis") == "pelvis"
    )
    assert content_words("Fracture of the Femurs") == ["fracture", "femur"]
    assert "Pneumonia" in shortened_forms("Pneumonia, unspecified organism")
    assert "Essential hypertension" in shortened_forms("Essential (primary) hypertension")
    assert shortened_forms("Fracture of femur, subsequent encounter for closed fracture") == []
    assert "acute appendicitis" in shortened_forms("Unspecified acute appendicitis")
    assert "Hemangioma" in shortened_forms("Hemangioma unspecified site")
    assert "Fever" in shortened_forms("Fever NOS")
    assert shortened_forms("Pain in unspecified joint") == []  # would drop "joint"
    assert shortened_forms("Fistula, unspecified joint") == []  # the site is not a qualifier
    assert shortened_forms("Vomiting without nausea") == []  # a specific "without"
    assert shortened_forms("Elevated prostate specific antigen [PSA]") == [
        "Elevated prostate specific antigen"
    ]
    forms = shortened_forms("Human immunodeficiency virus [HIV] disease")
    assert "HIV disease" in forms and "HIV" in forms
    assert "Type 2 diabetes mellitus" in shortened_forms(
        "Type 2 diabetes mellitus without complications"
    )


def test_spans_point_at_the_matched_text(small):
    text = "The patient had pneumonia and essential hypertension; fever resolved."
    hits = small.match(text)
    assert {"J18.9", "I10", "R50.9"} <= set(hits)
    for code, phrase in [("J18.9", "pneumonia"), ("R50.9", "fever")]:
        assert [text[a:b] for a, b in hits[code].spans] == [phrase]
    assert text[slice(*hits["I10"].spans[0])] == "essential hypertension"
    assert hits["I10"].kind == "exact"


def test_bag_match_in_any_order(small):
    text = "X-ray showed a right femur neck fracture."
    hit = small.match(text)["S72.001A"]
    assert hit.kind == "bag"
    assert {text[a:b] for a, b in hit.spans} >= {"right", "femur", "neck", "fracture"}
    assert "S72.001D" not in small.match(text)  # subsequent encounter needs its full wording


def test_negation_lowers_the_score(small):
    pos = small.match("She has fever.")["R50.9"].score
    neg = small.match("She has no fever.")["R50.9"].score
    assert neg < pos * 0.5


def test_category_phrase_goes_to_its_default_leaf(small):
    hits = small.match("Known type 2 diabetes mellitus.")
    assert "E11.9" in hits and "E11.65" not in hits
    assert hits["E11.9"].score < 1.0  # inherited from the category E11, weighted down


def test_category_in_the_label_space_ranks_below_its_default_leaf(cm):
    matcher = LexicalMatcher.build(cm, ["E11", "E11.9", "E11.65", "R51", "R51.9", "W19.XXX"])
    hits = matcher.match("Known type 2 diabetes mellitus. Headache. Unspecified fall.")
    assert hits["E11.9"].score > hits["E11"].score > 0
    assert "E11.65" not in hits
    assert hits["R51.9"].score > hits["R51"].score
    assert hits["W19.XXX"].score >= 1.0  # undefined spelling: its prefix's phrase, full weight


def test_label_space_restricts_codes(cm):
    matcher = LexicalMatcher.build(cm, ["R50.9"])
    assert set(matcher.match("fever and pneumonia")) == {"R50.9"}


def test_sentences_do_not_leak_bags(small):
    assert "S72.001A" not in small.match("Right femur is fine. Neck fracture of the hand.")


def test_full_label_space_on_real_documents(cm):
    from icdbridge.data import load_codiesp

    require_data("codiesp")
    matcher = LexicalMatcher.build(cm)
    docs = load_codiesp(split="dev")[:40]
    found = total = 0
    for doc in docs:
        hits = matcher.match(doc.text)
        for hit in hits.values():
            for a, b in hit.spans:
                assert 0 <= a < b <= len(doc.text)
        found += len(set(doc.codes) & set(hits))
        total += len(set(doc.codes))
    assert found / total > 0.2  # dictionary recall on real notes, well above chance


def test_clinical_variants_bridge_note_and_title_wording(cm):
    codes = ["N20.0", "N20.1", "C79.31", "C56.2", "C56.9", "K56.1", "J12.0", "C71.9"]
    lex = LexicalMatcher.build(cm, codes)
    text = (
        "Ultrasound showed renal lithiasis. CT: brain metastases. "
        "Left ovarian adenocarcinoma. Intestinal invagination. Adenovirus pneumonia."
    )
    hits = lex.match(text)
    for code in ("N20.0", "C79.31", "C56.2", "K56.1", "J12.0"):
        assert code in hits, code
    assert text[slice(*hits["N20.0"].spans[0])] in ("renal", "renal lithiasis", "lithiasis")
    assert hits["N20.0"].kind in ("exact", "bag")
    # the canonical word is applied to both sides, and only to whole words
    assert stem("renal") == "kidney" and stem("metastases") == "metastasis"
    assert stem("adrenal") == "adrenal"
    # a canonical word is stemmed like any other: "pancreatic" meets "pancreas"
    assert stem("pancreatic") == stem("pancreas")
    from icdbridge.model.lexical_variants import WORD_VARIANTS

    for canonical in set(WORD_VARIANTS.values()):
        assert stem(canonical) == stem(stem(canonical)), canonical
    # the ureter was not named: no ureter stone; "brain metastases" is not a primary brain tumour
    assert "N20.1" not in hits and "C71.9" not in hits


def test_coordination_reads_and_as_and_or():
    from icdbridge.model.lexical_variants import coordination_variants, phrase_variants

    assert coordination_variants("Irritability and anger") == ["Irritability", "anger"]
    assert coordination_variants("Echinococcosis, other and unspecified") == []
    assert coordination_variants("Malignant neoplasm of bronchus and lung") == [
        "Malignant neoplasm of bronchus",
        "Malignant neoplasm of lung",
    ]
    # a coordination after a qualifier is not split
    assert coordination_variants("Nausea with vomiting and diarrhea") == []
    # variants of the rewritten title are split as well, without repeats
    variants = phrase_variants("Malignant neoplasm of bronchus and lung")
    assert "cancer of lung" in variants and len(variants) == len(set(variants))


def test_one_word_variants_only_from_short_titles(cm):
    # "Irritability and anger" (two words): "anger" alone codes R45.4; the alternatives of a
    # longer title keep its other words ("Other disorders of kidney in diseases ...")
    lex = LexicalMatcher.build(cm, ["R45.4", "N29"])
    assert "R45.4" in lex.match("Episodes of anger.")
    n29 = [p.words for p in lex.phrases if any(code == "N29" for code, _ in p.targets)]
    assert ("disorder", "ureter", "disease", "classified", "elsewhere") in [
        tuple(w for w in words if w != "other") for words in n29
    ]
    assert all(len(words) >= 2 for words in n29)


@pytest.mark.parametrize("module", ["lexical", "lexical_variants"])
def test_docstring_examples(module):
    mod = importlib.import_module(f"icdbridge.model.{module}")
    result = doctest.testmod(mod)
    assert result.attempted > 0 and result.failed == 0
