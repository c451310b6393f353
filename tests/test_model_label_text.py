"""Label texts and the label-embedding cache (rebuilt only when texts change)."""

from __future__ import annotations

import pytest
import torch

from icdbridge.codes import get_terminology
from icdbridge.errors import NotDefinedError
from icdbridge.model.labels.cache import LabelEmbeddings, embed_labels
from icdbridge.model.labels.texts import (
    LabelTextOptions,
    clean_title,
    label_text,
    label_texts,
    nearest_defined,
)

CODES = ["E11.9", "I10", "R50.9", "J18.9", "S72.001A"]


@pytest.fixture(scope="module")
def cm():
    return get_terminology("icd10cm")


@pytest.fixture(scope="module")
def encoder():
    from icdbridge.model.text.encoder import TextEncoder

    return TextEncoder(precision="fp32")  # float32: embeddings independent of batch composition


def test_label_text_parts(cm):
    assert label_text(cm, "E11.9", synonyms=False, ancestors=False) == (
        "Type 2 diabetes mellitus without complications"
    )
    assert label_text(
        cm, "I10", synonyms=True, ancestors=True, max_ancestors=1, max_synonyms=1
    ) == ("Essential (primary) hypertension; also: high blood pressure; in: Hypertensive diseases")
    # J18 has the same title as J18.9: skipped, the block comes next (its range removed)
    assert label_text(cm, "J18.9", ancestors=True, max_ancestors=2) == (
        "Pneumonia, unspecified organism; in: Influenza and pneumonia; "
        "Diseases of the respiratory system"
    )
    assert clean_title("Diabetes mellitus (E08-E13)") == "Diabetes mellitus"


def test_undefined_codes_use_the_nearest_defined_prefix(cm):
    assert nearest_defined(cm, "W19.XXX") == "W19"
    assert nearest_defined(cm, "E11.9") == "E11.9"
    assert label_text(cm, "W19.XXX", synonyms=False, ancestors=False) == "Unspecified fall"
    with pytest.raises(NotDefinedError):
        label_text(cm, "W19.XXX", undefined="error")


def test_label_texts_default_is_every_leaf(cm):
    texts = label_texts(cm, ["e119", "W19.XXX"], synonyms=False, ancestors=False)
    assert list(texts) == ["E11.9", "W19.XXX"]
    with pytest.raises(TypeError):
        label_texts(cm, ["E11.9"], no_such_option=True)


def test_label_embeddings_subset():
    m = torch.nn.functional.normalize(torch.randn(3, 4), dim=1)
    labels = LabelEmbeddings(["A", "B", "C"], m, ["a", "b", "c"])
    sub = labels.subset(["C", "A"])
    assert sub.codes == ["C", "A"] and torch.equal(sub.matrix[0], m[2])
    assert "B" in labels and labels.index_of("B") == 1
    with pytest.raises(ValueError):
        LabelEmbeddings(["A"], m)


def test_cache_reused_and_rebuilt_only_when_texts_change(cm, encoder, tmp_path, monkeypatch):
    calls: list[int] = []
    real_embed = encoder.embed

    def counting_embed(texts, **kwargs):
        calls.append(len(texts))
        return real_embed(texts, **kwargs)

    monkeypatch.setattr(encoder, "embed", counting_embed)
    opts = LabelTextOptions(synonyms=False, ancestors=False)
    first = embed_labels(encoder, cm, CODES, opts, cache_folder=tmp_path)
    assert calls == [5]
    assert first.matrix.shape == (5, 384) and first.codes == CODES
    assert torch.allclose(
        first.matrix[0], real_embed([first.texts[0]], max_length=64)[0], atol=1e-5
    )

    again = embed_labels(encoder, cm, CODES, opts, cache_folder=tmp_path)
    assert calls == [5]  # same texts: read from disk, nothing encoded
    assert again.key == first.key and torch.equal(again.matrix, first.matrix)

    more = embed_labels(encoder, cm, [*CODES, "K35.80"], opts, cache_folder=tmp_path)
    assert calls == [5, 1]  # new key (texts changed), only the new text is encoded
    assert more.key != first.key
    assert torch.equal(more.matrix[:5], first.matrix)

    embed_labels(
        encoder, cm, CODES, LabelTextOptions(synonyms=True, ancestors=False), cache_folder=tmp_path
    )
    assert calls[-1] == 2  # only I10 and R50.9 have synonyms: only their texts changed


def test_cache_key_depends_on_encoder_weights(cm, encoder, tmp_path):
    opts = LabelTextOptions(synonyms=False, ancestors=False)
    a = embed_labels(encoder, cm, CODES[:2], opts, cache_folder=tmp_path)
    from icdbridge.model.text.encoder import TextEncoder

    other = TextEncoder(precision="fp32")
    with torch.no_grad():
        next(other.model.parameters()).mul_(1.01)
    b = embed_labels(other, cm, CODES[:2], opts, cache_folder=tmp_path)
    assert a.key != b.key
    c = embed_labels(TextEncoder(precision="bf16"), cm, CODES[:2], opts, cache_folder=tmp_path)
    assert c.key != a.key  # another precision is another cache entry
