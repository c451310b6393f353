"""Cross-lingual lexical channel: Spanish word rules, learned word translations, the gloss and
its way back to the original text, and the pipeline feature it feeds."""

from __future__ import annotations

from collections import Counter

import pytest

from icdbridge.codes import get_terminology
from icdbridge.codes.translations import parallel_titles, supported_languages
from icdbridge.data import Document
from icdbridge.errors import UnknownSystemError
from icdbridge.model.lexical.gloss import (
    SPANISH,
    Gloss,
    Glosser,
    WordTranslator,
    check_language,
    cognate_key,
    glosser_for,
)
from icdbridge.model.lexical.matcher import LexicalMatcher


def test_spanish_words_fold_accents_drop_stop_words_and_keep_offsets():
    text = "Úlceras venosas de la pierna"
    words = SPANISH.words(text)
    assert [w for w, _, _ in words] == ["ulcer", "venos", "piern"]
    assert [text[s:e] for _, s, e in words] == ["Úlceras", "venosas", "pierna"]
    # negation cues are kept (unstemmed) so the lexical channel still sees them
    assert [w for w, _, _ in SPANISH.words("sin fiebre")] == ["sin", "fiebre"]


def test_cognate_key_meets_across_spellings():
    assert cognate_key("criptococosis") == cognate_key("cryptococcosis")
    assert cognate_key("polihidramnios") == cognate_key("polyhydramnios")
    assert cognate_key("nefritis") != cognate_key("neuritis")


def _toy_translator() -> WordTranslator:
    pairs = [
        ("Tuberculosis of kidney", "Tuberculosis del riñón"),
        ("Cyst of kidney", "Quiste del riñón"),
        ("Calculus of kidney", "Cálculo del riñón"),
        ("Cyst of liver", "Quiste del hígado"),
        ("Abscess of liver", "Absceso del hígado"),
        ("Macroglossia", "Macroglosia"),
    ]
    words = ["tuberculosis", "kidney", "cyst", "cysts", "calculus", "liver", "abscess"]
    words += ["macroglossia", "vesical"]
    return WordTranslator(SPANISH).fit(pairs, Counter(words))


def test_competitive_linking_learns_word_translations():
    translator = _toy_translator()
    assert translator.translate("rinon") == ("kidney",)
    assert translator.translate("higad") == ("liver",)
    assert translator.translate("quiste") == ("cyst",)
    assert translator.translate("calcul") == ("calculus",)
    assert translator.translate("macroglosi") == ("macroglossia",)
    assert translator.translate("sin") == ("without",)  # fixed word
    assert translator.translate("38") == ("38",)
    assert translator.translate("perro") == ()  # unknown, no cognate


def test_cognate_fallback_needs_a_word_of_the_vocabulary():
    translator = _toy_translator()
    # absent from the titles, but spelled like a vocabulary word
    assert translator.translate("absces") == ("abscess",)
    assert translator.translate("tuberculosi") == ("tuberculosis",)
    # any surface word of the terminology, also one the English side stems to another word
    assert translator.translate("vesical") == ("vesical",)


def test_gloss_maps_every_word_back_to_the_original():
    glosser = Glosser(_toy_translator())
    text = "Quiste del riñón. Absceso hepático; sin tuberculosis."
    gloss = glosser.gloss(text)
    assert gloss.text.split(" . ")[0] == "cyst kidney"
    for start, end, source_start, source_end in gloss.pieces:
        english = gloss.text[start:end]
        assert english in {"cyst", "kidney", "abscess", "without", "tuberculosis"}
        assert text[source_start:source_end].lower() in {
            "quiste",
            "riñón",
            "absceso",
            "sin",
            "tuberculosis",
        }
    cyst = gloss.text.index("cyst")
    kidney = gloss.text.index("kidney") + len("kidney")
    assert text[slice(*gloss.source_span(cyst, kidney))] == "Quiste del riñón"
    assert gloss.source_span(len(gloss.text) + 5, len(gloss.text) + 9) is None
    assert Gloss("", []).source_span(0, 1) is None
    assert glosser.gloss("").text == ""


def test_gloss_lines_cut_into_pieces_that_map_back_to_source_sentences():
    from icdbridge.model.text.pieces import split_sentences

    text = "Quiste del riñón. Absceso hepático; sin tuberculosis."
    gloss = Glosser(_toy_translator()).gloss(text)
    assert len(gloss.lines) == len(gloss.text) and "\n" in gloss.lines
    pieces = [w for w in split_sentences(gloss.lines) if w.text.strip()]
    assert [text[slice(*gloss.source_span(w.char_start, w.char_end))] for w in pieces] == [
        "Quiste del riñón",
        "Absceso",  # the toy vocabulary lacks "hepático"; the gloss breaks at ";" too
        "sin tuberculosis",
    ]


def test_parallel_titles_and_languages():
    assert supported_languages() == ("es",)
    pairs = parallel_titles("es")
    assert len(pairs) == 12_030  # the count docs/terminologies.md and docs/model.md quote
    assert pairs["Q38.2"] == ("Macroglossia", "Macroglosia")
    assert all("-" not in code for code in pairs)
    with pytest.raises(UnknownSystemError, match="'xx'"):
        parallel_titles("xx")
    assert check_language("es") and not check_language("fr") and not check_language(None)
    with pytest.raises(UnknownSystemError, match="cannot be read"):
        glosser_for("fr", get_terminology("icd10cm"))


@pytest.fixture(scope="module")
def spanish():
    return glosser_for("es", get_terminology("icd10cm"))


def test_real_spanish_gloss_reaches_icd10cm_titles(spanish):
    cm = get_terminology("icd10cm")
    codes = ["Q38.2", "L10.0", "H33.102", "H33.101", "H33.109", "I87.2", "M25.562", "R50.9"]
    matcher = LexicalMatcher.build(cm, codes)
    text = (
        "Presenta macroglosia y pénfigo vulgar. Retinosquisis en ojo izquierdo. "
        "Insuficiencia venosa crónica. Dolor en la rodilla izquierda. Sin fiebre."
    )
    gloss = spanish.gloss(text)
    hits = matcher.match(gloss.text)
    assert {"Q38.2", "L10.0", "H33.102", "I87.2", "M25.562"} <= set(hits)
    assert "H33.101" not in hits  # the right eye was not named
    assert hits["R50.9"].score < 0.5  # "sin fiebre": negated
    span = gloss.source_span(*hits["L10.0"].spans[0])
    assert text[span[0] : span[1]].lower() in {"pénfigo", "vulgar"}


def test_original_matches_feed_the_pipeline(spanish):
    from icdbridge.model.lexical.channel import original_matches

    cm = get_terminology("icd10cm")
    matcher = LexicalMatcher.build(cm, ["Q38.2", "Z68.41", "J18.9"])
    doc = Document(
        "d1",
        "The tongue showed a discrete macrog.",  # a mangled machine translation
        meta={"original_text": "Discreta macroglosia, IMC de 41,3.", "original_language": "es"},
    )
    found = original_matches(matcher, doc, cm)
    assert set(found) == {"Q38.2", "Z68.41"}
    assert [doc.original_text[s:e] for s, e in found["Q38.2"][1]] == ["macroglosia"]
    assert doc.original_text[slice(*found["Z68.41"][1][0])] == "IMC de 41,3"
    assert found["Z68.41"][0] == pytest.approx(1.0)
    assert original_matches(matcher, Document("d2", "text"), cm) == {}
    unreadable = Document("d3", "x", meta={"original_text": "x", "original_language": "fr"})
    assert original_matches(matcher, unreadable, cm) == {}


def test_lexical_score_is_the_best_of_text_and_original(spanish):
    from icdbridge.model.lexical.channel import (
        ORIGINAL_WEIGHT,
        document_lexical_scores,
        lexical_matches,
        original_matches,
    )

    cm = get_terminology("icd10cm")
    matcher = LexicalMatcher.build(cm, ["Q38.2", "R50.9"])
    doc = Document(
        "d1",
        "Fever and a discrete macrog.",
        meta={"original_text": "Fiebre y discreta macroglosia.", "original_language": "es"},
    )
    in_text = lexical_matches(matcher, doc.text)
    in_original = original_matches(matcher, doc, cm)
    scores = document_lexical_scores(matcher, doc, cm)
    assert "Q38.2" not in in_text  # only the original names it
    assert scores["Q38.2"] == pytest.approx(ORIGINAL_WEIGHT * in_original["Q38.2"][0])
    assert scores["R50.9"] == pytest.approx(
        max(in_text["R50.9"][0], ORIGINAL_WEIGHT * in_original["R50.9"][0])
    )
    assert document_lexical_scores(matcher, doc, cm, use_original=False) == {
        code: score for code, (score, _) in in_text.items()
    }


def test_unread_originals_are_counted_by_language():
    from icdbridge.model.lexical.gloss import describe_unread, unread_originals

    def doc(doc_id, language=None):
        meta = {"original_text": "texto", "original_language": language} if language else {}
        return Document(doc_id, "text", meta=meta)

    docs = [doc("a", "es"), doc("b", "fr"), doc("c", "fr"), doc("d", "pt"), doc("e")]
    assert unread_originals(docs) == {"fr": 2, "pt": 1}
    assert unread_originals(docs, use_original=False) == {"es": 1, "fr": 2, "pt": 1}
    assert unread_originals([doc("a", "es"), doc("e")]) == {}
    assert describe_unread(unread_originals([doc("a", "es")])) is None
    message = describe_unread(unread_originals(docs))
    assert message.startswith("3 documents carry an original_text that is not read (fr: 2, pt: 1")
    assert "use_original" in describe_unread({"es": 1}, use_original=False)


def test_spanish_clinical_words_abbreviations_and_letters_are_glossed(spanish):
    gloss = spanish.gloss("Déficit de vitamina K y del factor XI. VHC positivo. Escotoma central.")
    words = gloss.text.split()
    assert {"deficiency", "vitamin", "k", "factor", "xi", "hepatitis", "c", "scotoma"} <= set(words)
    assert "poor" not in words  # the one title pair with "déficit" links it to "poor"
    cm = get_terminology("icd10cm")
    hits = LexicalMatcher.build(cm, ["E56.1", "B19.20", "H53.419"]).match(gloss.text)
    assert "E56.1" in hits
    # inflections share one lexicon entry; word-initial es- meets English s- (escleritis)
    for word, english in (
        ("fumadora", "nicotine"),
        ("ferropénica", "iron"),
        ("escleritis", "scleritis"),
    ):
        assert english in spanish.gloss(word).text.split()
