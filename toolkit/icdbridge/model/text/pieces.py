"""Document pieces: the spans of text the encoder embeds and the label-wise attention reads.

Three ways to cut a document (registry :data:`PIECE_MODES`, chosen by
``PipelineConfig.pieces``), each piece knowing its exact character span so that attention
weights point back into the text as evidence:

* ``"windows"`` — overlapping token windows (:func:`split_windows`), covering every character;
* ``"sentences"`` — sentences (:func:`split_sentences`), a sentence longer than the token budget
  cut into windows;
* ``"clauses"`` (default) — the sentences **plus** their clauses (:func:`split_clauses`): the
  parts between commas, semicolons, colons, brackets and clause-joining words such as ``and``,
  ``with``, ``who``, ``due to``. A clinical sentence often names several conditions; its mean
  embedding blurs them, while a clause such as "a maternal uncle suffers Alport syndrome"
  embeds close to the code's description. Measured on a split of the CodiEsp train documents
  by ``experiments/codiesp_zeroshot/design_checks.py`` (figures in ``docs/model.md``).

Every mode returns at least one piece (an empty text gives one empty-span piece).

Example:
    >>> [w.text for w in split_clauses("Fever, cough and dyspnoea due to pneumonia.")]
    ['Fever', 'cough', 'dyspnoea', 'pneumonia.']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Window:
    """A piece of a document: its text and its character span ``text[char_start:char_end]``."""

    text: str
    char_start: int
    char_end: int


def split_windows(
    text: str,
    tokenizer: Any,
    window_tokens: int = 128,
    stride: int | None = None,
) -> list[Window]:
    """Split ``text`` into windows of at most about ``window_tokens`` tokens, covering every char.

    Window starts are snapped back to the first token of a word (a window never starts inside a
    word). Consecutive windows start ``stride`` tokens apart (default: ``window_tokens``, no
    overlap); each window's span is extended to the next window's start, and the last one to the
    end of the text, so the union of the spans is the whole text (whitespace included).

    Args:
        text: The document.
        tokenizer: A Hugging Face *fast* tokenizer (it must return offset mappings).
        window_tokens: Maximum number of word-piece tokens per window (special tokens excluded).
        stride: Tokens between consecutive window starts (``<= window_tokens``).

    Returns:
        At least one window (a single empty-span window for an empty text).

    Raises:
        ValueError: ``window_tokens < 1`` or ``stride`` not in ``1..window_tokens``.
    """
    if window_tokens < 1:
        raise ValueError(f"window_tokens must be >= 1 (got {window_tokens})")
    stride = window_tokens if stride is None else stride
    if not 1 <= stride <= window_tokens:
        raise ValueError(f"stride must be in 1..window_tokens={window_tokens} (got {stride})")
    encoding = tokenizer(
        text, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False
    )
    offsets = encoding["offset_mapping"]
    n = len(offsets)
    if n <= window_tokens:
        return [Window(text, 0, len(text))]
    word_ids = encoding.word_ids()
    starts: list[int] = [0]
    while starts[-1] + window_tokens < n:
        start = starts[-1] + stride
        while (
            start > starts[-1] + 1
            and word_ids[start] is not None
            and (word_ids[start] == word_ids[start - 1])
        ):
            start -= 1
        starts.append(start)
    windows: list[Window] = []
    for i, start in enumerate(starts):
        char_start = 0 if i == 0 else offsets[start][0]
        if i + 1 < len(starts):
            end_token = min(start + window_tokens, n) - 1
            char_end = max(offsets[end_token][1], offsets[starts[i + 1]][0])
        else:
            char_end = len(text)
        windows.append(Window(text[char_start:char_end], char_start, char_end))
    return windows


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÁÉÍÓÚÑ0-9(])|\n+")


def split_sentences(text: str) -> list[Window]:
    """Split ``text`` into sentences (line breaks and ``. `` before a capital), with char spans.

    Spans are contiguous and cover the whole text; empty (whitespace-only) pieces are merged into
    the previous sentence so none is returned empty unless the text itself is.
    """
    pieces: list[Window] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if text[start:end].strip() or not pieces:
            pieces.append(Window(text[start:end], start, end))
        else:
            last = pieces[-1]
            pieces[-1] = Window(text[last.char_start : end], last.char_start, end)
        start = end
    if start < len(text) or not pieces:
        if text[start:].strip() or not pieces:
            pieces.append(Window(text[start:], start, len(text)))
        else:
            last = pieces[-1]
            pieces[-1] = Window(text[last.char_start :], last.char_start, len(text))
    return pieces


_CLAUSE_BREAK = re.compile(
    r"[,;:()\[\]]|\s(?:and|with|without|who|which|after|due to|secondary to|but|or)\s",
    re.IGNORECASE,
)
"""Where a sentence is cut into clauses (``without`` is a break here, not lost: the clause after
it keeps the condition, and the sentence piece keeps the whole)."""


def split_clauses(text: str, start: int = 0) -> list[Window]:
    """Split ``text`` (usually one sentence) into clauses, stripped, with char spans.

    Args:
        text: The text to split.
        start: Offset of ``text`` in its document (added to every span).

    Returns:
        The clauses that hold a letter or digit, in order (possibly just one: the whole
        stripped text; none for a text without letters or digits).
    """
    out: list[Window] = []
    position = 0
    for match in [*_CLAUSE_BREAK.finditer(text), None]:
        end = match.start() if match is not None else len(text)
        piece = text[position:end]
        stripped = piece.strip()
        if any(ch.isalnum() for ch in stripped):
            lead = len(piece) - len(piece.lstrip())
            begin = start + position + lead
            out.append(Window(stripped, begin, begin + len(stripped)))
        if match is not None:
            position = match.end()
    return out


def _sentence_pieces(text: str, tokenizer: Any, max_tokens: int, stride: int) -> list[Window]:
    pieces: list[Window] = []
    for sentence in split_sentences(text):
        if not sentence.text.strip():
            continue
        windows = split_windows(sentence.text, tokenizer, max_tokens, stride)
        if len(windows) == 1:
            lead = len(sentence.text) - len(sentence.text.lstrip())
            stripped = sentence.text.strip()
            begin = sentence.char_start + lead
            pieces.append(Window(stripped, begin, begin + len(stripped)))
            continue
        shift = sentence.char_start
        pieces += [Window(w.text, w.char_start + shift, w.char_end + shift) for w in windows]
    return pieces


def _windows(text: str, tokenizer: Any, max_tokens: int, stride: int) -> list[Window]:
    return split_windows(text, tokenizer, max_tokens, stride)


def _sentences(text: str, tokenizer: Any, max_tokens: int, stride: int) -> list[Window]:
    return _sentence_pieces(text, tokenizer, max_tokens, stride) or [Window(text, 0, len(text))]


def _clauses(text: str, tokenizer: Any, max_tokens: int, stride: int) -> list[Window]:
    pieces: list[Window] = []
    seen: set[tuple[int, int]] = set()
    for sentence in _sentence_pieces(text, tokenizer, max_tokens, stride):
        clauses = split_clauses(sentence.text, sentence.char_start)
        for piece in [sentence, *(clauses if len(clauses) > 1 else [])]:
            if (piece.char_start, piece.char_end) not in seen:
                seen.add((piece.char_start, piece.char_end))
                pieces.append(piece)
    return pieces or [Window(text, 0, len(text))]


PIECE_MODES: dict[str, Callable[[str, Any, int, int], list[Window]]] = {
    "windows": _windows,
    "sentences": _sentences,
    "clauses": _clauses,
}
"""Piece mode → ``(text, tokenizer, max_tokens, stride) -> pieces``."""


def document_pieces(
    text: str, tokenizer: Any, mode: str = "clauses", max_tokens: int = 128, stride: int = 96
) -> list[Window]:
    """Cut a document into pieces (see the module docstring).

    Args:
        text: The document.
        tokenizer: A Hugging Face fast tokenizer (offsets are needed for windows).
        mode: One of :data:`PIECE_MODES`.
        max_tokens: Token budget of a piece (longer sentences are cut into windows).
        stride: Tokens between window starts.

    Raises:
        ValueError: unknown mode.
    """
    if mode not in PIECE_MODES:
        raise ValueError(f"unknown piece mode {mode!r} (expected one of {', '.join(PIECE_MODES)})")
    return PIECE_MODES[mode](text, tokenizer, max_tokens, stride)
