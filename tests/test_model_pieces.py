"""Document pieces: windows cover every character, sentences, clauses, modes; exact spans."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icdbridge.model.text.encoder import default_encoder_path
from icdbridge.model.text.pieces import (
    PIECE_MODES,
    document_pieces,
    split_clauses,
    split_sentences,
    split_windows,
)


@cache
def _tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(default_encoder_path()), local_files_only=True)


@pytest.fixture(scope="module")
def tokenizer():
    return _tokenizer()


def _check_cover(text, windows):
    covered = [False] * len(text)
    for w in windows:
        assert w.text == text[w.char_start : w.char_end]
        for i in range(w.char_start, w.char_end):
            covered[i] = True
    assert all(covered)
    assert windows[0].char_start == 0 and windows[-1].char_end == len(text)


def test_windows_cover_a_long_text(tokenizer):
    text = " ".join(f"Sentence {i} mentions hypertension and nephrolithiasis." for i in range(60))
    windows = split_windows(text, tokenizer, window_tokens=32)
    assert len(windows) > 10
    _check_cover(text, windows)
    for w in windows:
        assert w.text[:1] != "#"
        n = len(tokenizer(w.text, add_special_tokens=False)["input_ids"])
        assert n <= 32 + 8  # a window start is moved back to the start of its word at most
    overlapping = split_windows(text, tokenizer, window_tokens=32, stride=16)
    _check_cover(text, overlapping)
    assert len(overlapping) > len(windows)


def test_short_and_empty_texts(tokenizer):
    assert [(w.char_start, w.char_end) for w in split_windows("", tokenizer)] == [(0, 0)]
    assert split_windows("fever", tokenizer)[0].text == "fever"
    with pytest.raises(ValueError):
        split_windows("x", tokenizer, window_tokens=8, stride=9)


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400), st.integers(2, 24))
def test_windows_cover_every_character_property(text, window):
    tokenizer = _tokenizer()
    _check_cover_or_empty(text, split_windows(text, tokenizer, window_tokens=window))


def _check_cover_or_empty(text, windows):
    if not text:
        assert windows[0].text == ""
        return
    _check_cover(text, windows)


def test_sentences_cover_text():
    text = "Fever of 40 C. Pain in the hip.\nNo cough!\n\nEnd"
    pieces = split_sentences(text)
    assert [p.text.strip() for p in pieces] == [
        "Fever of 40 C.",
        "Pain in the hip.",
        "No cough!",
        "End",
    ]
    assert "".join(p.text for p in pieces) == text


def test_clauses_split_at_punctuation_and_joining_words():
    text = "A 34-year-old male, diagnosed with Klinefelter's syndrome, who came for loss of vision."
    clauses = split_clauses(text, start=100)
    assert [c.text for c in clauses] == [
        "A 34-year-old male",
        "diagnosed",
        "Klinefelter's syndrome",
        "came for loss of vision.",
    ]
    for clause in clauses:  # spans are exact, in document coordinates
        assert text[clause.char_start - 100 : clause.char_end - 100] == clause.text
    assert split_clauses("   ") == [] and split_clauses(" (.) ") == []
    assert [c.text for c in split_clauses("hypertension")] == ["hypertension"]


def test_clause_pieces_are_sentences_plus_their_clauses(tokenizer):
    text = "Fever and cough.\nHistory: maternal uncle suffers Alport syndrome (confirmed).\nStable."
    pieces = document_pieces(text, tokenizer, "clauses")
    texts = [p.text for p in pieces]
    assert texts == [
        "Fever and cough.",
        "Fever",
        "cough.",
        "History: maternal uncle suffers Alport syndrome (confirmed).",
        "History",
        "maternal uncle suffers Alport syndrome",
        "confirmed",
        "Stable.",
    ]
    for piece in pieces:
        assert text[piece.char_start : piece.char_end] == piece.text
    assert [p.text for p in document_pieces(text, tokenizer, "sentences")] == [
        "Fever and cough.",
        "History: maternal uncle suffers Alport syndrome (confirmed).",
        "Stable.",
    ]


def test_long_sentences_are_cut_to_the_token_budget(tokenizer):
    text = "Pain " + ", ".join(f"lesion {i} of the left femur" for i in range(80)) + "."
    for mode in ("sentences", "clauses"):
        pieces = document_pieces(text, tokenizer, mode, max_tokens=32, stride=32)
        for piece in pieces:
            assert text[piece.char_start : piece.char_end] == piece.text
            assert len(tokenizer(piece.text, add_special_tokens=False)["input_ids"]) <= 32 + 8
        assert len(pieces) > 10


@settings(max_examples=30, deadline=None)
@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(sorted(PIECE_MODES)),
)
def test_every_mode_gives_exact_spans_and_at_least_one_piece(text, mode):
    pieces = document_pieces(text, _tokenizer(), mode, max_tokens=16, stride=12)
    assert pieces
    for piece in pieces:
        assert text[piece.char_start : piece.char_end] == piece.text


def test_unknown_mode(tokenizer):
    with pytest.raises(ValueError, match="unknown piece mode"):
        document_pieces("x", tokenizer, "paragraphs")
