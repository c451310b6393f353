"""Lexical channel: exact / bag matches with spans pointing at the text, negation, categories."""

from __future__ import annotations

import pytest

from conftest import require_data
from icdbridge.codes import get_terminology
from icdbridge.model.lexical.matcher import (
    LexicalHit,
    LexicalMatcher,
    content_words,
    sentence_tokens,
    shortened_forms,
    stem,
)

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
    assert hit.kind == "compact"  # side by side, in another order
    assert {text[a:b] for a, b in hit.spans} >= {"right", "femur", "neck", "fracture"}
    assert "S72.001D" not in small.match(text)  # subsequent encounter needs its full wording
    scattered = "Fracture seen on X-ray of the right leg, the neck of the femur was displaced."
    far = small.match(scattered)["S72.001A"]
    assert far.kind == "bag" and far.score < hit.score


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
    assert hits["N20.0"].kind in ("exact", "compact")
    # the canonical word is applied to both sides, and only to whole words
    assert stem("renal") == "kidney" and stem("metastases") == "metastasis"
    assert stem("adrenal") == "adrenal"
    # a canonical word is stemmed like any other: "pancreatic" meets "pancreas"
    assert stem("pancreatic") == stem("pancreas")
    from icdbridge.model.lexical.variants import WORD_VARIANTS

    for canonical in set(WORD_VARIANTS.values()):
        assert stem(canonical) == stem(stem(canonical)), canonical
    # the ureter was not named: no ureter stone; "brain metastases" is not a primary brain tumour
    assert "N20.1" not in hits and "C71.9" not in hits


def test_coordination_reads_and_as_and_or():
    from icdbridge.model.lexical.variants import coordination_variants, phrase_variants

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


def test_possessive_s_is_not_a_word(cm):
    assert content_words("Barrett's esophagus") == ["barrett", *content_words("esophagus")]
    matcher = LexicalMatcher.build(cm, ["K22.70"])
    text = "Biopsy confirmed Barrett esophagus. Crohn’s disease later."
    assert text[slice(*matcher.match(text)["K22.70"].spans[0])] == "Barrett esophagus"
    # offsets still point at the text when the apostrophe is there
    spans = sentence_tokens("Crohn's disease")[0]
    assert [w for w, *_ in spans] == ["crohn", "disease"] and spans[1][1] == 8


def test_residual_other_titles_match_their_unqualified_words(cm):
    matcher = LexicalMatcher.build(cm, ["M86.60", "M86.9", "M86.8X9"])
    hits = matcher.match("Chronic osteomyelitis of the tibia.")
    assert "M86.60" in hits and hits["M86.60"].kind == "exact"
    # "Other chronic osteomyelitis" is the code a chronic osteomyelitis is coded with, below a
    # description match but above nothing; a bare "osteomyelitis" goes to the unspecified code
    bare = matcher.match("Osteomyelitis.")
    assert bare["M86.9"].score > bare.get("M86.8X9", LexicalHit("", 0.0)).score
    assert "M86.60" not in bare


def test_side_words_select_the_lateral_code(cm):
    from icdbridge.model.lexical.matcher import lateral_codes

    codes = ["M25.561", "M25.562", "M25.569", "M25.531", "M25.532", "M25.539", "H33.101"]
    codes += ["H33.102", "H33.103", "H33.109"]
    lateral = lateral_codes(cm, codes)
    assert lateral["M25.569"] == {"right": "M25.561", "left": "M25.562"}
    assert lateral["H33.109"] == {"right": "H33.101", "left": "H33.102", "bilateral": "H33.103"}
    assert "M25.562" not in lateral  # a code with a side has no other side to go to
    matcher = LexicalMatcher.build(cm, codes)
    hits = matcher.match("Knee pain on the left side since June.")
    assert "M25.562" in hits and "M25.561" not in hits
    # an inclusion term of a category ("Hypertropia" under H50.2) reaches the sided leaf
    strabismus = LexicalMatcher.build(cm, ["H50.21", "H50.22", "H50.2"])
    found = strabismus.match("Hypertropia of the left eye.")
    assert "H50.22" in found and "H50.21" not in found
    assert found["H50.22"].score < found["H50.2"].score / 0.8  # LATERAL_WEIGHT of the match
    text = "Pain in both wrists."  # no bilateral wrist code: both sides
    both = matcher.match(text)
    assert {"M25.531", "M25.532"} <= set(both)
    assert "both" in [text[a:b] for a, b in both["M25.531"].spans]
    assert {"H33.103"} <= set(matcher.match("Bilateral retinoschisis."))
    assert not {"M25.561", "M25.562"} & set(matcher.match("Knee pain. The left hand is fine."))


def test_measured_values_give_range_codes(cm):
    matcher = LexicalMatcher.build(cm, ["Z68.41", "Z68.4", "Z68.1", "Z3A.16", "Z3A.01", "Z3A.49"])
    text = "Obese (BMI: 41.3 kg/m2), pregnant at 16 weeks of gestation."
    hits = matcher.match(text)
    assert hits["Z68.41"].kind == "measure" and hits["Z68.41"].score == pytest.approx(1.0)
    assert hits["Z68.4"].score < hits["Z68.41"].score  # the category, below its leaf
    assert text[slice(*hits["Z3A.16"].spans[0])] == "16 weeks of gestation"
    assert "Z68.1" not in hits
    assert set(matcher.match("gestational age of 45 weeks")) == {"Z3A.49"}
    assert set(matcher.measure_hits("IMC de 17,7; gestante de 6 semanas", "es")) == {
        "Z68.1",
        "Z3A.01",
    }
    assert matcher.measure_hits("IMC de 17,7", "fr") == {}
