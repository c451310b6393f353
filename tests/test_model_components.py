"""Pure-tensor tests of the model components: losses, scorer, hierarchy, network, calibration."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from icdbridge.model.calibration import (
    Calibrator,
    average_precision,
    harmonic_mean,
    mean_average_precision,
)
from icdbridge.model.config import ModelConfig
from icdbridge.model.features.registry import PAIR_FEATURES
from icdbridge.model.labels.tree import label_features, siblings
from icdbridge.model.net.hierarchy import HierarchyMixer
from icdbridge.model.net.losses import masked_bce, multi_positive_contrastive
from icdbridge.model.net.network import LabelEmbeddingModel
from icdbridge.model.net.scorer import LabelAttentionScorer

# ----------------------------------------------------------------------------- losses


def test_masked_bce_hand_computed():
    logits = torch.tensor([[0.0, 2.0, -1.0, 5.0]])
    targets = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    mask = torch.tensor([[True, True, True, False]])  # last entry is padding
    expected = (math.log(2) + math.log(1 + math.exp(2)) + math.log(1 + math.exp(-1))) / 3
    assert masked_bce(logits, targets, mask).item() == pytest.approx(expected, rel=1e-6)


def test_masked_bce_positive_weight():
    logits = torch.tensor([[0.0, 0.0]])
    targets = torch.tensor([[1.0, 0.0]])
    mask = torch.ones(1, 2, dtype=torch.bool)
    # weights 3 (positive) and 1 (negative), both terms log 2
    assert masked_bce(logits, targets, mask, positive_weight=3.0).item() == pytest.approx(
        math.log(2), rel=1e-6
    )
    logits = torch.tensor([[1.0, 0.0]])
    expected = (3 * math.log(1 + math.exp(-1)) + math.log(2)) / 4
    assert masked_bce(logits, targets, mask, positive_weight=3.0).item() == pytest.approx(
        expected, rel=1e-6
    )


def test_masked_bce_ignores_padding_values():
    logits = torch.tensor([[1.0, 100.0]])
    other = torch.tensor([[1.0, -100.0]])
    targets = torch.tensor([[1.0, 1.0]])
    mask = torch.tensor([[True, False]])
    assert masked_bce(logits, targets, mask) == masked_bce(other, targets, mask)


def test_contrastive_hand_computed():
    logits = torch.tensor([[2.0, 1.0, 0.0, 0.0]])
    targets = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, True, False]])
    # positives 2 and 1 each against the single negative 0
    expected = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(-1))) / 2
    value = multi_positive_contrastive(logits, targets, mask).item()
    assert value == pytest.approx(expected, rel=1e-6)


def test_in_batch_contrastive_hand_computed_and_exclusions():
    from icdbridge.model.net.losses import in_batch_contrastive

    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    keys = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    targets = torch.tensor([0, 1])
    # by hand, scale 1: query 0 logits (1, 0, 0.6), query 1 logits (0, 1, 0.8)
    expected = (
        -math.log(math.e / (math.e + 1 + math.exp(0.6)))
        - math.log(math.e / (1 + math.e + math.exp(0.8)))
    ) / 2
    assert in_batch_contrastive(q, keys, targets, scale=1.0).item() == pytest.approx(expected)
    # excluding key 2 for query 0 (another gold code of its document) removes it from its softmax
    excluded = torch.tensor([[False, False, True], [False, False, False]])
    expected = (
        -math.log(math.e / (math.e + 1)) - math.log(math.e / (1 + math.e + math.exp(0.8)))
    ) / 2
    value = in_batch_contrastive(q, keys, targets, excluded, scale=1.0).item()
    assert value == pytest.approx(expected)
    # a query's own target is never excluded
    own = torch.tensor([[True, False, False], [False, True, False]])
    assert math.isfinite(in_batch_contrastive(q, keys, targets, own, scale=1.0).item())


def test_contrastive_decreases_when_positive_rises():
    targets = torch.tensor([[1.0, 0.0, 0.0]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    low = multi_positive_contrastive(torch.tensor([[0.0, 1.0, 1.0]]), targets, mask)
    high = multi_positive_contrastive(torch.tensor([[3.0, 1.0, 1.0]]), targets, mask)
    assert high < low


# ----------------------------------------------------------------------------- scorer


def test_scorer_label_alone_equals_among_others():
    torch.manual_seed(0)
    scorer = LabelAttentionScorer(dim=8, hidden=4).double()
    windows = torch.randn(1, 5, 8, dtype=torch.float64)
    mask = torch.tensor([[True, True, True, False, False]])
    labels = torch.randn(1, 30, 8, dtype=torch.float64)
    together = scorer(labels, windows, mask)
    for i in (0, 7, 29):
        alone = scorer(labels[:, i : i + 1], windows, mask)
        # identical up to float64 rounding of the batched matrix products
        assert torch.allclose(
            alone.attention_score[0, 0], together.attention_score[0, i], atol=1e-12
        )
        assert torch.allclose(alone.attention[0, 0], together.attention[0, i], atol=1e-12)


def test_scorer_attention_is_a_distribution_over_real_windows():
    torch.manual_seed(1)
    scorer = LabelAttentionScorer(dim=6, hidden=3)
    windows = torch.randn(2, 4, 6)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    out = scorer(torch.randn(2, 3, 6), windows, mask)
    assert torch.allclose(out.attention.sum(-1), torch.ones(2, 3))
    assert torch.all(out.attention[0, :, 2:] == 0)
    assert out.attention_score.shape == (2, 3)


def test_scorer_max_cosine_hand_checked():
    scorer = LabelAttentionScorer(dim=2, hidden=2)
    windows = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    mask = torch.tensor([[True, True, False]])  # the diagonal window is padding
    labels = torch.tensor([[[1.0, 1.0]]])
    out = scorer(labels, windows, mask)
    assert out.max_cosine.item() == pytest.approx(1 / math.sqrt(2), rel=1e-6)


# ----------------------------------------------------------------------------- hierarchy


def test_untrained_mixer_is_identity_and_trained_mixer_borrows():
    mixer = HierarchyMixer(dim=4, max_ancestors=2)
    labels = torch.randn(3, 4)
    ancestors = torch.randn(3, 2, 4)
    mask = torch.tensor([[True, True], [True, False], [False, False]])
    assert torch.equal(mixer(labels, ancestors, mask), labels)
    with torch.no_grad():
        mixer.project.weight.copy_(torch.eye(4))
    out = mixer(labels, ancestors, mask)
    assert torch.equal(out[2], labels[2])  # no ancestors: untouched
    assert not torch.allclose(out[1], labels[1])
    # the second row only has its parent: changing the masked grand-parent changes nothing
    ancestors2 = ancestors.clone()
    ancestors2[1, 1] += 10
    assert torch.allclose(mixer(labels, ancestors2, mask)[1], out[1])


def test_label_space_ancestor_rows_and_siblings_on_icd10cm():
    """Each code's ancestor rows (nearest first, at most ``max_ancestors``) are derived rows:
    the normalised mean of the label embeddings of the codes below them in the space."""
    from icdbridge.codes import get_terminology
    from icdbridge.model.labels.cache import LabelEmbeddings
    from icdbridge.model.labels.space import LabelSpace

    terminology = get_terminology("icd10cm")
    codes = ["E11.9", "E11.8", "I10"]
    matrix = torch.nn.functional.normalize(
        torch.randn(3, 8, generator=torch.Generator().manual_seed(0)), dim=1
    )
    space = LabelSpace(LabelEmbeddings(codes, matrix), terminology, max_ancestors=2)
    e119, e118, i10 = (space.ancestor_index[space.row[c]].tolist() for c in codes)
    assert e119 == e118  # E11 then the block E08-E13, shared
    e11, block = e119
    assert block != e11 and min(e11, block) >= len(codes)
    expected = torch.nn.functional.normalize(matrix[0] + matrix[1], dim=0)
    assert torch.allclose(space.matrix[e11], expected, atol=1e-6)
    assert torch.allclose(space.matrix[block], expected, atol=1e-6)  # nothing else below it
    assert i10[0] not in (e11, block) and torch.allclose(space.matrix[i10[0]], matrix[2])
    assert space.ancestor_index[e11].tolist() == [-1, -1]  # derived rows have no ancestors
    sibs = siblings(terminology, "E11.9")
    assert "E11.8" in sibs and "E11.9" not in sibs


def test_label_features_read_off_icd10cm():
    from icdbridge.codes import get_terminology
    from icdbridge.model.features.registry import LABEL_FEATURES
    from icdbridge.model.labels.texts import nearest_defined

    terminology = get_terminology("icd10cm")

    def features(code: str) -> dict[str, float]:
        values = label_features(terminology, code, nearest_defined(terminology, code))
        return dict(zip(LABEL_FEATURES, values, strict=True))

    # S72.002 "Fracture of unspecified part of neck of left femur": a 7th-character base
    assert features("S72.002") == {
        "leaf": 0.0,
        "depth": features("S72.002")["depth"],
        "seventh_base": 1.0,
        "residual_other": 0.0,
        "residual_unspecified": 1.0,
    }
    assert features("S72.002A")["leaf"] == 1.0 and features("S72.002A")["seventh_base"] == 0.0
    assert features("S72.002A")["depth"] > features("S72.002")["depth"]
    assert features("S11.90")["seventh_base"] == 1.0  # children S11.90XA... (placeholder X)
    assert features("S11.90X")["leaf"] == 1.0  # undefined spelling: a dataset's terminal code
    assert features("S11.90X")["seventh_base"] == 1.0  # through its nearest defined prefix
    assert features("E11")["seventh_base"] == 0.0 and features("E11")["leaf"] == 0.0
    assert features("E11.69")["residual_other"] == 1.0  # "... with other specified complication"
    assert features("R52")["residual_unspecified"] == 1.0  # "Pain, unspecified"
    assert features("I10")["residual_unspecified"] == features("I10")["residual_other"] == 0.0


# ----------------------------------------------------------------------------- network


def _batch(n_labels: int = 6, features: int = len(PAIR_FEATURES)):
    torch.manual_seed(3)
    return dict(
        windows=torch.randn(2, 5, 16),
        window_mask=torch.tensor([[True] * 5, [True, True, False, False, False]]),
        labels=torch.randn(2, n_labels, 16),
        ancestors=torch.randn(2, n_labels, 3, 16),
        ancestor_mask=torch.ones(2, n_labels, 3, dtype=torch.bool),
        features=torch.rand(2, n_labels, features),
    )


def test_network_scores_are_independent_of_the_other_labels():
    model = LabelEmbeddingModel(
        ModelConfig(dim=16, hidden=8, max_ancestors=3, features=PAIR_FEATURES)
    ).double()
    batch = {k: v.double() if v.is_floating_point() else v for k, v in _batch().items()}
    with torch.no_grad():
        model.hierarchy.project.weight.normal_()  # make the hierarchy matter
        model.fusion_mlp[2].weight.normal_()
        full = model(**batch).logits
        part = model(
            batch["windows"],
            batch["window_mask"],
            batch["labels"][:, 2:3],
            batch["ancestors"][:, 2:3],
            batch["ancestor_mask"][:, 2:3],
            batch["features"][:, 2:3],
        ).logits
    assert torch.allclose(part[:, 0], full[:, 2], atol=1e-12)


def test_network_checks_feature_count():
    model = LabelEmbeddingModel(
        ModelConfig(dim=16, hidden=8, max_ancestors=3, features=PAIR_FEATURES)
    )
    batch = _batch(features=2)
    with pytest.raises(ValueError, match="pair features"):
        model(**batch)


def test_network_without_hierarchy_or_features():
    config = ModelConfig(dim=16, hidden=8, use_hierarchy=False, features=())
    model = LabelEmbeddingModel(config)
    batch = _batch()
    out = model(batch["windows"], batch["window_mask"], batch["labels"])
    assert out.logits.shape == (2, 6) and model.hierarchy is None
    assert ModelConfig.from_dict(config.to_dict()) == config


# ----------------------------------------------------------------------------- calibration


def test_average_precision_hand_computed():
    assert average_precision(["a", "x", "b"], {"a", "b"}) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision(["x", "a"], {"a", "missing"}) == pytest.approx(0.5 / 2)
    assert mean_average_precision([["a"], ["b"]], [{"a"}, set()]) == 1.0


def test_calibrator_finds_offset_that_lifts_unseen_codes():
    seen = {"s1", "s2", "s3"}
    # unseen gold code "u" is always scored 2 below the seen negatives: an offset fixes it
    scores = [{"s1": 1.0, "s2": 0.5, "u": -1.5}, {"s3": 0.8, "s1": 0.2, "u": -1.7}]
    golds = [{"u"}, {"u"}]
    calibrator = Calibrator().fit(scores, golds, seen)
    assert calibrator.validation_map_ == pytest.approx(1.0)
    assert calibrator.unseen_offset_ > 0
    ranked = calibrator.apply(scores[0], seen)
    assert next(iter(ranked)) == "u"
    assert 0 < calibrator.threshold_ < 1
    assert Calibrator.from_dict(calibrator.to_dict()) == calibrator


def test_calibrator_trades_bounded_map_for_unseen_recall():
    seen = {"s1", "s2", "s3"}
    # lifting unseen codes by 1.5 puts the unseen gold "u" first in doc 2 (AP 1/2 → 1) but
    # also the unseen negatives above the seen gold in doc 1 (AP 1 → 1/2) and doc 3 (1 → 1/4)
    scores = [
        {"s1": 1.0, "v": 0.5},
        {"s3": 1.0, "u": 0.0},
        {"s2": 1.0, "w1": 0.8, "w2": 0.7, "w3": 0.6},
    ]
    golds = [{"s1"}, {"u"}, {"s2"}]
    grid = {"offsets": (0.0, 1.5), "temperatures": (1.0,)}
    strict = Calibrator(map_tolerance=0.0, recall_k=1).fit(scores, golds, seen, **grid)
    # offset 0: MAP (1 + 1/2 + 1)/3 = 5/6, unseen recall 0; offset 1.5: MAP (1/2 + 1 + 1/4)/3
    assert strict.unseen_offset_ == 0.0
    assert strict.validation_map_ == pytest.approx(5 / 6)
    assert strict.validation_unseen_recall_ == 0.0
    loose = Calibrator(map_tolerance=0.3, recall_k=1).fit(scores, golds, seen, **grid)
    assert loose.unseen_offset_ == 1.5
    assert loose.validation_map_ == pytest.approx((1 / 2 + 1 + 1 / 4) / 3)
    assert loose.validation_unseen_recall_ == 1.0
    assert Calibrator.from_dict(loose.to_dict()) == loose
    # unseen gold codes missing from the candidates count as misses in the unseen recall
    partial = Calibrator(recall_k=1).fit([{"u": 0.0}], [{"u", "missing"}], set(), **grid)
    assert partial.validation_unseen_recall_ == 0.5
    # the default objective, the harmonic mean: offset 0 has H(5/6, 0) = 0, offset 1.5 has
    # H(7/12, 1) = 14/19
    harmonic = Calibrator(recall_k=1).fit(scores, golds, seen, **grid)
    assert harmonic.map_tolerance is None and harmonic.unseen_offset_ == 1.5
    assert harmonic_mean(harmonic.validation_map_, 1.0) == pytest.approx(14 / 19)
    # without unseen gold codes in validation the objective is MAP (the raw model)
    no_unseen = Calibrator(recall_k=1).fit(scores[:1], golds[:1], seen, **grid)
    assert no_unseen.unseen_offset_ == 0.0 and no_unseen.validation_unseen_recall_ is None


def test_calibrator_takes_the_seen_codes_of_each_documents_own_network():
    """Out-of-fold scores: each document comes with the codes its network saw."""
    scores = [{"a": 1.0, "b": 0.0}, {"a": 1.0, "b": 0.0}]
    golds = [{"b"}, {"a"}]
    grid = {"offsets": (0.0, 1.5), "temperatures": (1.0,)}
    # doc 1's network never saw "b" (its gold): lifting unseen codes puts it first; doc 2's
    # network saw both, so its ranking does not move
    per_document = Calibrator(recall_k=1).fit(scores, golds, [{"a"}, {"a", "b"}], **grid)
    assert per_document.unseen_offset_ == 1.5
    assert per_document.validation_map_ == 1.0 and per_document.validation_unseen_recall_ == 1.0
    # one set for all documents: lifting "b" now also spoils doc 2 (MAP stays 3/4)
    shared = Calibrator(recall_k=1).fit(scores, golds, {"a"}, **grid)
    assert shared.validation_map_ == pytest.approx(0.75)
    same = Calibrator(recall_k=1).fit(scores, golds, [{"a"}, {"a"}], **grid)
    assert same == shared
    with pytest.raises(ValueError, match="1 seen sets for 2 validation documents"):
        Calibrator().fit(scores, golds, [{"a"}])


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-5, 5), min_size=2, max_size=8),
    st.floats(-3, 3),
)
def test_calibration_keeps_order_within_seen_and_within_unseen(raws, offset):
    calibrator = Calibrator(unseen_offset_=offset, unseen_temperature_=1.5)
    codes = [f"c{i}" for i in range(len(raws))]
    seen = set(codes[::2])
    probs = calibrator.apply(dict(zip(codes, raws, strict=True)), seen)
    for group in (seen, set(codes) - seen):
        members = [c for c in codes if c in group]
        for a in members:
            for b in members:
                raw_a, raw_b = raws[codes.index(a)], raws[codes.index(b)]
                if raw_a > raw_b + 1e-9:
                    assert probs[a] >= probs[b]


def test_family_prior_is_leave_one_out_and_counts_a_document_once_per_family():
    from icdbridge.model.features.memory import TrainingMemory

    memory = TrainingMemory(k=2).fit(
        ["a", "b", "c"],
        ["kidney stone pain", "kidney stone left", "fever cough"],
        [["N20.0", "N20.1"], ["N20.0"], ["R50.9"]],
    )
    family = lambda code: code.split(".")[0]  # noqa: E731
    (_, prior_a, family_a), (_, _, family_new) = memory.features(
        ["a", "new"], ["kidney stone", "kidney stone"], family
    )
    assert "N20.1" not in prior_a  # own codes are left out of the code prior ...
    assert family_a["N20"] == pytest.approx(math.log1p(1) / math.log1p(2))  # ... and the family's
    # a new document sees both N20 documents once each, though one has two N20 codes
    assert family_new["N20"] == pytest.approx(math.log1p(2) / math.log1p(3))
    assert family_new["R50"] == pytest.approx(math.log1p(1) / math.log1p(3))


def test_hidden_codes_look_never_remembered_while_their_documents_still_vote():
    from icdbridge.model.features.memory import TrainingMemory

    memory = TrainingMemory(k=2).fit(
        ["a", "b", "c"],
        ["kidney stone pain", "kidney stone left", "fever cough"],
        [["N20.0", "N20.1"], ["N20.0", "R10.9"], ["R50.9"]],
    )
    family = lambda code: code.split(".")[0]  # noqa: E731
    (votes, prior, families), *_ = memory.features(["new"], ["kidney stone"], family)
    (h_votes, h_prior, h_families), *_ = memory.features(
        ["new"], ["kidney stone"], family, hidden={"N20.0", "R10.9"}
    )
    assert {"N20.0", "R10.9"} <= votes.keys() & prior.keys()
    assert not {"N20.0", "R10.9"} & (h_votes.keys() | h_prior.keys())
    # the hiding documents still vote for their other codes, with unchanged weights
    assert h_votes["N20.1"] == pytest.approx(votes["N20.1"])
    assert h_prior["N20.1"] == prior["N20.1"]
    # N20 is now coded in one document (through N20.1), R10 in none
    assert h_families["N20"] == pytest.approx(math.log1p(1) / math.log1p(3))
    assert "R10" in families and "R10" not in h_families


def test_hidden_codes_are_a_seeded_share_of_the_codes():
    from icdbridge.model.train.folds import hidden_codes

    codes = [f"C{i:02d}" for i in range(40)]
    chosen = hidden_codes(codes, 0.25, seed=3)
    assert len(chosen) == 10 and chosen <= set(codes)
    assert hidden_codes(list(reversed(codes)), 0.25, seed=3) == chosen
    assert hidden_codes(codes, 0.25, seed=4) != chosen
    assert hidden_codes(codes, 0.0, seed=3) == frozenset()


def test_pipeline_config_of_an_older_model_keeps_its_candidates():
    from icdbridge.model.config import PipelineConfig

    saved = PipelineConfig(family_expansion=30).to_dict()
    assert PipelineConfig.from_dict(saved) == PipelineConfig(family_expansion=30)
    del saved["family_expansion"]  # a model saved before family expansion existed
    assert PipelineConfig.from_dict(saved).family_expansion == 0
    del saved["use_original"]  # ... and before original texts were read
    assert PipelineConfig().use_original and not PipelineConfig.from_dict(saved).use_original
