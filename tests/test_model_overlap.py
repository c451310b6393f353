"""Word overlap of code titles with a document (the ``"overlap"`` pair feature)."""

from __future__ import annotations

import math

import pytest

from conftest import digests_under_hash_seeds
from icdbridge.codes import get_terminology
from icdbridge.model.lexical.overlap import (
    WordOverlap,
    document_words,
    sentence_words,
    specific_words,
)


def test_overlap_is_the_idf_weighted_share_of_title_words_by_hand():
    overlap = WordOverlap(
        {
            "A": [frozenset({"cyst", "kidney"})],
            "B": [frozenset({"cyst", "liver"})],
            "C": [frozenset({"fever"})],
            "D": [],
        }
    )
    # df: cyst 2, kidney 1, liver 1, fever 1 over N = 4 codes
    assert overlap.idf["cyst"] == pytest.approx(math.log(2))
    assert overlap.idf["kidney"] == pytest.approx(math.log(4))
    scores = overlap.scores(frozenset({"kidney", "pain"}), ["A", "B", "C", "D", "unknown"])
    assert scores["A"] == pytest.approx(math.log(4) / (math.log(2) + math.log(4)))
    assert scores == pytest.approx({"A": 2 / 3, "B": 0.0, "C": 0.0, "D": 0.0, "unknown": 0.0})
    assert overlap.scores(frozenset({"cyst", "kidney"}), ["A"]) == {"A": pytest.approx(1.0)}


def test_overlap_tells_siblings_apart_on_real_titles():
    cm = get_terminology("icd10cm")
    codes = ["N05.1", "N05.2", "N05.9", "D29.8", "D29.4", "R50.9"]
    overlap = WordOverlap.build(cm, codes)
    assert specific_words(cm.description("N05.9")) == {"nephritic", "morphologic", "change"}
    # "focal and segmental" is what sets N05.1 apart from its siblings
    words = document_words("Renal biopsy: focal and segmental glomerulosclerosis.", None)
    scores = overlap.scores(words, codes)
    assert scores["N05.1"] > max(scores["N05.2"], scores["N05.9"])
    # the words of a document's original, glossed, count as well
    glossed = document_words("A mass of the tunica vaginalis.", "benign neoplasm male genital")
    scores = overlap.scores(glossed, codes)
    assert scores["D29.8"] > scores["D29.4"] > 0 and scores["R50.9"] == 0.0


def test_sentence_overlap_rewards_words_named_together():
    overlap = WordOverlap(
        {"A": [frozenset({"focal", "segmental"})], "B": [frozenset({"fever"})], "C": []}
    )
    scattered = sentence_words("Focal lesions. It was segmental. No fever.", None)
    assert scattered == [
        frozenset({"focal", "lesion"}),
        frozenset({"it", "segmental"}),
        frozenset({"no", "fever"}),
    ]
    together = sentence_words("Focal and segmental lesions.", "fever .")
    assert overlap.sentence_scores(scattered, ["A", "B", "C", "D"]) == pytest.approx(
        {"A": 0.5, "B": 1.0, "C": 0.0, "D": 0.0}
    )
    assert overlap.sentence_scores(together, ["A", "B"]) == pytest.approx({"A": 1.0, "B": 1.0})
    # the document-level overlap cannot tell the two apart
    assert overlap.scores(document_words("Focal lesions. It was segmental."), ["A"]) == {"A": 1.0}
    assert overlap.sentence_scores([], ["A"]) == {"A": 0.0}


def test_a_code_scores_its_best_phrase():
    overlap = WordOverlap(
        {
            "M34.9": [frozenset({"systemic", "sclerosis"}), frozenset({"scleroderma"})],
            "L94.0": [frozenset({"localized", "scleroderma"})],
            "R50.9": [frozenset({"fever"})],
            "R51.9": [frozenset({"headache"})],
        }
    )
    document = frozenset({"scleroderma", "skin"})
    assert overlap.scores(document, ["M34.9", "L94.0"])["M34.9"] == pytest.approx(1.0)
    assert overlap.sentence_scores([document], ["L94.0", "M34.9"])["M34.9"] == pytest.approx(1.0)
    assert overlap.top(document, 1) == ["M34.9"]
    cm = get_terminology("icd10cm")
    codes = ["D68.1", "D68.0", "D66", "R50.9"]  # D68.1 "Hereditary factor XI deficiency"
    words = document_words("Known hemophilia C.")  # ... and its synonym "Hemophilia C"
    with_synonyms = WordOverlap.build(cm, codes, synonyms=True).scores(words, codes)["D68.1"]
    titles_only = WordOverlap.build(cm, codes).scores(words, codes)["D68.1"]
    assert with_synonyms == pytest.approx(1.0) and titles_only == 0.0


_OVERLAP_DIGEST = """
import hashlib
from icdbridge.codes import get_terminology
from icdbridge.model.lexical.overlap import WordOverlap
cm = get_terminology("icd10cm")
overlap = WordOverlap.build(cm, cm.codes(), synonyms=True)
digest = hashlib.sha256(overlap.matrix.data.tobytes() + overlap.mass.tobytes())
print("DIGEST", digest.hexdigest())
"""


def test_overlap_values_do_not_depend_on_the_string_hash_seed():
    """Every word weight is summed in word order, not a set's: the values are bit-identical
    under any ``PYTHONHASHSEED`` (else near-ties of ``top`` fall differently per process)."""
    digests = set()
    for lines in digests_under_hash_seeds(_OVERLAP_DIGEST, ("1", "2", "3")):
        digests.update(lines)
    assert len(digests) == 1
