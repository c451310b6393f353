"""Predicting in another code system: route choice, crosswalk propagation, the training label space.

Hand-computed propagation on a tiny crosswalk first; then a small model trained on the synthetic
terminology of ``tests/synthetic.py`` (system ``synth``) predicting in a second synthetic system
(``synth2``: the same conditions under other codes) directly, through a hand-built crosswalk and
blended, from the library and the CLI; then the real crosswalks and releases.
"""

from __future__ import annotations

import json

import pytest

import synthetic
from icdbridge.crosswalk.model import Exactness, Mapping, Target
from icdbridge.data import Document
from icdbridge.errors import IcdbridgeError
from icdbridge.model.routes import (
    EdgeWeights,
    blend,
    mapping_edges,
    outside_training,
    propagate,
    resolve_route,
)


def _target(code, exactness=Exactness.EXACT, **changes) -> Target:
    return Target(code, "toy", exactness, "toy-table", "1", **changes)


def _mapping(*targets: Target, code: str = "S1") -> Mapping:
    return Mapping(code, code, "toysource", "toy", tuple(targets), "mapped")


# ---------------------------------------------------------------- edge weights and propagation
def test_edge_weight_multiplies_exactness_residual_combination_and_alternative():
    weights = EdgeWeights(
        exact=1.0, unknown=0.8, approximate=0.6, residual=0.5, combination=0.9, alternative=0.25
    )
    assert weights.weight(_target("X")) == 1.0
    assert weights.weight(_target("X", Exactness.UNKNOWN)) == 0.8
    assert weights.weight(_target("X", Exactness.APPROXIMATE, residual=True)) == pytest.approx(0.3)
    combined = _target("X", Exactness.APPROXIMATE, scenario=1, choice_list=2)
    assert weights.weight(combined) == pytest.approx(0.54)
    assert weights.weight(combined, primary=False) == pytest.approx(0.135)
    # the weakest hop of a chained path decides its exactness; a residual anywhere counts
    hop = _target("M", Exactness.APPROXIMATE, residual=True)
    assert weights.weight(_target("X").chained((hop,))) == pytest.approx(0.3)
    assert weights.weight(_target("X", Exactness.NONE)) == 0.0
    with pytest.raises(ValueError, match="residual"):
        EdgeWeights(residual=1.5)


def test_mapping_edges_keep_the_heaviest_path_and_mark_the_best_pick():
    mapping = _mapping(
        _target("A1", Exactness.APPROXIMATE),  # an alternative: not the best pick
        _target("B2"),  # exact: the crosswalk's best pick
        _target("B2", Exactness.APPROXIMATE),  # a weaker second path to B2
        _target(None, Exactness.NONE),  # a code-less row reaches nothing
    )
    weights = EdgeWeights(approximate=0.6, alternative=0.5)
    assert mapping_edges(mapping, weights) == {"A1": pytest.approx(0.3), "B2": 1.0}
    # one target: no alternative to prefer it to
    assert mapping_edges(_mapping(_target("A1", Exactness.APPROXIMATE)), weights) == {
        "A1": pytest.approx(0.6)
    }
    # keep renames or drops targets (e.g. a cluster to its stem, a code the release lacks)
    keep = {"A1": "A1-stem"}.get
    assert mapping_edges(mapping, weights, keep) == {"A1-stem": pytest.approx(0.3)}
    assert mapping_edges(_mapping(_target(None, Exactness.NONE)), weights) == {}


def test_propagation_combines_several_sources_by_noisy_or_or_max():
    edges = {"S1": {"X": 1.0, "Y": 0.5}, "S2": {"X": 0.5, "Z": 0.2}, "S3": {}}
    scores = {"S1": 0.6, "S2": 0.8, "S3": 0.9, "S4": 0.7}  # S3, S4 reach nothing
    noisy = propagate(scores, edges.get, "noisy-or")
    # X: 1 - (1 - 1.0*0.6)(1 - 0.5*0.8) = 1 - 0.4*0.6 = 0.76; Y: 0.3; Z: 0.16
    assert noisy == {"X": pytest.approx(0.76), "Y": pytest.approx(0.3), "Z": pytest.approx(0.16)}
    assert list(noisy) == ["X", "Y", "Z"]  # best first
    best = propagate(scores, edges.get, "max")
    assert best == {"X": pytest.approx(0.6), "Y": pytest.approx(0.3), "Z": pytest.approx(0.16)}
    # a second source never lowers a target; noisy-or raises it above either alone
    assert noisy["X"] > max(1.0 * 0.6, 0.5 * 0.8)
    assert propagate({"S1": 0.0}, edges.get) == {}
    with pytest.raises(IcdbridgeError, match="combiner"):
        propagate(scores, edges.get, "mean")


def test_blend_mixes_crosswalk_and_direct_scores_and_keeps_unreached_codes():
    direct = {"X": 0.2, "W": 0.6}
    crosswalk = {"X": 0.9, "Y": 0.4}
    mixed = blend(direct, crosswalk, 0.75)
    assert mixed == {
        "X": pytest.approx(0.725),  # 0.75*0.9 + 0.25*0.2
        "Y": pytest.approx(0.3),  # reached only by the crosswalk
        "W": pytest.approx(0.15),  # not reached: direct score alone, weighted
    }
    assert blend(direct, crosswalk, 1.0) == {"X": 0.9, "Y": 0.4, "W": 0.0}
    assert blend(direct, crosswalk, 0.0) == {"W": 0.6, "X": 0.2, "Y": 0.0}
    with pytest.raises(IcdbridgeError, match="blend weight"):
        blend(direct, crosswalk, 1.2)


def test_route_choice_blends_when_a_crosswalk_links_the_systems():
    assert resolve_route("auto", "icd10cm", "icd11", linked=True) == "blend"
    assert resolve_route("auto", "synth", "synth2", linked=False) == "direct"
    assert resolve_route("auto", "icd10cm", "icd10cm", linked=False) == "direct"
    assert resolve_route("crosswalk", "icd10cm", "icd9cm", linked=True) == "crosswalk"
    assert resolve_route("direct", "icd10cm", "icd11", linked=True) == "direct"
    with pytest.raises(IcdbridgeError, match="no crosswalk path from synth to synth2"):
        resolve_route("blend", "synth", "synth2", linked=False)
    with pytest.raises(IcdbridgeError, match="trained on"):
        resolve_route("crosswalk", "icd10cm", "icd10cm", linked=False)
    with pytest.raises(IcdbridgeError, match="unknown route"):
        resolve_route("fastest", "icd10cm", "icd11", linked=True)


def test_every_code_of_another_system_is_outside_the_training_label_space():
    class Release:
        def __init__(self, system, release):
            self.system, self.release = system, release

    config = {"system": "icd10cm", "release": "2026", "pipeline": {"system": "icd10cm"}}
    # WHO ICD-10 I10 is spelled like ICD-10-CM I10 but belongs to another system
    assert outside_training(config, Release("icd10who", "2019"), ["I10", "A00"]) == {"I10", "A00"}
    assert outside_training(config, Release("icd10cm", "2026"), ["I10"]) == frozenset()
    trained = frozenset({"I10"})
    assert outside_training(config, Release("icd10cm", "2027"), ["I10", "Z99.9"], trained) == {
        "Z99.9"
    }


# ---------------------------------------------------------------- a synthetic model, two systems
SECOND = "synth2"


def _second_code(code: str) -> str:
    return f"Q{code}"


def _write_second_system(folder) -> object:
    """``synth2``: every synthetic node under a ``Q``-prefixed code, same titles."""
    rows = ["code,parent,title,kind,leaf,synonyms"]
    for code, title in synthetic.CHAPTERS.items():
        rows.append(f"{_second_code(code)},,{title},chapter,false,")
    for code, (parent, title) in synthetic.CATEGORIES.items():
        rows.append(f"{_second_code(code)},{_second_code(parent)},{title},category,false,")
    for code, (title, _) in synthetic.LEAVES.items():
        rows.append(f"{_second_code(code)},{_second_code(code[:3])},{title},subcategory,true,")
    path = folder / f"{SECOND}.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _toy_crosswalk():
    """A hand-built crosswalk synth → synth2: each leaf to its Q twin, exact; ``A10.0`` also to
    ``QA10.9`` (approximate, an alternative) and both ``B20.0`` and ``B20.1`` to ``QB20.9``."""
    from icdbridge.crosswalk.chain import Crosswalk
    from icdbridge.crosswalk.hops import TableHop

    class ToyHop(TableHop):
        source_system, target_system, name, release = synthetic.SYSTEM, SECOND, "toy", "1"

        def __init__(self):
            table = {}
            for code in synthetic.LEAVES:
                table[code] = [Target(_second_code(code), SECOND, Exactness.EXACT, "toy", "1")]
            table["A10.0"].append(Target("QA10.9", SECOND, Exactness.APPROXIMATE, "toy", "1"))
            for code in ("B20.0", "B20.1"):
                table[code].append(Target("QB20.9", SECOND, Exactness.APPROXIMATE, "toy", "1"))
            self.table = {code: tuple(targets) for code, targets in table.items()}

    return Crosswalk([ToyHop()])


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """A small synthetic model (one network) and the second system's hierarchy file."""
    root = tmp_path_factory.mktemp("routes")
    with synthetic.environment(root, SECOND) as encoder:
        rows = synthetic.make_corpus(40)
        docs = synthetic.documents(rows)
        with open(root / "dev.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows[30:])
        model = root / "model"
        synthetic.train_one_network(docs, encoder, model)
        yield {"root": root, "model": model, "dev": docs[30:], "second": _write_second_system(root)}


ASTHMA = Document("asthma", "She was admitted. Diagnosis: allergic asthma.", [], synthetic.SYSTEM)
STONE = Document("stone", "Pain for days. Diagnosis: kidney stone of the left side.", [], "x")


def test_direct_route_scores_another_system_from_its_descriptions(synth):
    from icdbridge.model import load_routed

    routed = load_routed(synth["model"], hierarchy=synth["second"])
    assert routed.route == "direct"  # no crosswalk links synth to synth2
    assert routed.direct.memory is None and routed.direct.seen == frozenset()
    [asthma, stone] = routed.predict([ASTHMA, STONE], top_k=5)
    assert next(iter(asthma.scores)) == "QC20.0"  # never seen in training, in another system
    assert next(iter(stone.scores)) == "QA10.0"
    row = stone.to_dict()
    assert row["route"] == "direct"
    assert row["outside_training"] == list(stone.scores)  # every code of synth2 is outside
    assert "all outside the training label space (synth custom)" in routed.describe()
    assert "training memory off" in routed.describe()


def test_the_training_system_itself_is_inside_the_training_label_space(synth):
    from icdbridge.model import load_model, load_routed

    routed = load_routed(synth["model"])
    assert routed.route == "direct" and routed.direct.memory is not None
    [row] = routed.predict([STONE], top_k=5)
    assert row.outside == [] and row.route == "direct"
    # the same row as the plain predictor's, plus the route and the codes outside
    [plain] = load_model(synth["model"]).predict([STONE], top_k=5, explain=True)
    [explained] = routed.predict([STONE], top_k=5, explain=True)
    assert explained.to_dict() == {**plain.to_dict(), "route": "direct", "outside_training": []}
    assert row.scores == pytest.approx(plain.scores)
    assert "all inside the training label space" in routed.describe()


def test_a_new_release_of_the_training_system_marks_only_its_added_codes(synth, tmp_path):
    from icdbridge.model import load_routed

    nodes = [
        {"code": c, "parent": "", "title": t, "kind": "chapter"}
        for c, t in synthetic.CHAPTERS.items()
    ]
    nodes += [
        {"code": c, "parent": p, "title": t, "kind": "category"}
        for c, (p, t) in synthetic.CATEGORIES.items()
    ]
    nodes += [
        {"code": c, "parent": c[:3], "title": t, "kind": "subcategory"}
        for c, (t, _) in synthetic.LEAVES.items()
    ]
    nodes.append(
        {
            "code": "C20.2",
            "parent": "C20",
            "title": "Asthma caused by cold air",
            "kind": "subcategory",
        }
    )
    path = tmp_path / "synth-v2.json"
    path.write_text(json.dumps({"system": synthetic.SYSTEM, "release": "v2", "nodes": nodes}))
    try:
        routed = load_routed(synth["model"], hierarchy=path)
        assert routed.terminology.release == "v2"
        assert routed.outside() == {"C20.2"}
        [row] = routed.predict(
            [Document("cold", "Diagnosis: asthma caused by cold air.")], top_k=None
        )
        assert row.outside == ["C20.2"]
        assert "1 of 25 outside the training label space" in routed.describe()
    finally:
        from icdbridge.codes import register_hierarchy

        register_hierarchy(synthetic.SYSTEM, synth["root"] / "synth.csv")


def test_crosswalk_route_propagates_the_trained_systems_scores(synth):
    from icdbridge.model import load_model, load_routed
    from icdbridge.model.routes import EdgeWeights

    weights = EdgeWeights(approximate=0.6, alternative=0.5)
    routed = load_routed(
        synth["model"], hierarchy=synth["second"], route="crosswalk", crosswalk=_toy_crosswalk(),
        weights=weights,
    )  # fmt: skip
    [row] = routed.predict([STONE], top_k=None, explain=True)
    [source] = load_model(synth["model"]).predict([STONE], top_k=None)
    p = source.scores
    assert row.route == "crosswalk"
    assert next(iter(row.scores)) == "QA10.0"
    # one exact source: the source's probability
    assert row.scores["QA10.0"] == pytest.approx(p["A10.0"])
    # QA10.9: its twin A10.9 (exact) and A10.0 (approximate alternative: 0.6 * 0.5), noisy-or
    expected = 1 - (1 - p["A10.9"]) * (1 - 0.3 * p["A10.0"])
    assert row.scores["QA10.9"] == pytest.approx(expected)
    assert row.crosswalk["QA10.0"][0] == {
        "from": "A10.0",
        "score": round(p["A10.0"], 4),
        "edge": 1.0,
    }
    assert set(row.outside) == set(row.scores)
    # the decision travels: each predicted source code predicts its strongest targets
    predicted_sources = [c for c, s in p.items() if s >= routed.threshold]
    assert "A10.0" in predicted_sources
    strongest = set()
    for code in predicted_sources:
        edges = routed.edges(code)
        strongest |= {t for t, w in edges.items() if edges and w == max(edges.values())}
    assert row.predicted == [c for c in row.scores if c in strongest]
    assert "QA10.0" in row.predicted


def test_blend_route_mixes_the_two_routes_with_its_weight(synth):
    from icdbridge.model import load_routed

    def routed(weight):
        return load_routed(
            synth["model"], hierarchy=synth["second"], route="blend", crosswalk=_toy_crosswalk(),
            blend_weight=weight,
        )  # fmt: skip

    half = routed(0.5)
    scores = half.route_scores([STONE, ASTHMA])
    [row, asthma] = half.predict([STONE, ASTHMA], top_k=None)
    assert row.route == "blend"
    for code, value in row.scores.items():
        expected = 0.5 * scores["crosswalk"][0].get(code, 0.0) + 0.5 * scores["direct"][0].get(
            code, 0.0
        )
        assert value == pytest.approx(expected)
    # the codes the crosswalk reaches are scored directly too
    assert set(scores["crosswalk"][0]) <= set(scores["direct"][0])
    assert next(iter(asthma.scores)) == "QC20.0"
    # blend predicts the crosswalk's decisions and the codes whose blended score reaches the
    # threshold
    crosswalk_row = load_routed(
        synth["model"], hierarchy=synth["second"], route="crosswalk", crosswalk=_toy_crosswalk()
    ).predict([STONE], top_k=None)[0]
    assert "QA10.0" in crosswalk_row.predicted
    assert row.predicted == [
        c for c, s in row.scores.items() if c in crosswalk_row.predicted or s >= half.threshold
    ]
    [only_crosswalk] = routed(1.0).predict([STONE], top_k=None)
    assert {c: s for c, s in only_crosswalk.scores.items() if s > 0} == pytest.approx(
        scores["crosswalk"][0]
    )


def test_crosswalk_routes_need_a_crosswalk(synth):
    from icdbridge.model import load_routed

    with pytest.raises(IcdbridgeError, match="no crosswalk path from synth to synth2"):
        load_routed(synth["model"], hierarchy=synth["second"], route="crosswalk")
    with pytest.raises(IcdbridgeError, match="not both"):
        load_routed(synth["model"], system="icd11", hierarchy=synth["second"])


def test_cli_predicts_in_a_hierarchy_file_and_says_what_lies_outside(synth, tmp_path, capfd):
    from icdbridge.cli.main import main

    out = tmp_path / "pred.jsonl"
    args = ["predict", str(synth["model"]), str(synth["root"] / "dev.jsonl"), "-o", str(out)]
    capfd.readouterr()
    with pytest.raises(SystemExit) as stop:
        main([*args, "--hierarchy", str(synth["second"]), "--top-k", "4"])
    assert stop.value.code in (0, None)
    err = capfd.readouterr().err
    assert (
        "synth2 custom: 24 codes, all outside the training label space (synth custom)"
        in " ".join(err.split())
    )
    assert "route direct" in err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(synth["dev"])
    for row in rows:
        assert row["route"] == "direct"
        assert row["outside_training"] == list(row["scores"]) and len(row["scores"]) == 4
        assert all(code.startswith("Q") for code in row["scores"])
    with pytest.raises(SystemExit) as stop:
        main(
            [
                *args[:-1],
                str(tmp_path / "x.jsonl"),
                "--hierarchy",
                str(synth["second"]),
                "--route",
                "blend",
            ]
        )
    assert stop.value.code not in (0, None)
    err = capfd.readouterr().err
    assert "no crosswalk path from synth to synth2" in " ".join(err.split())
    assert not (tmp_path / "x.jsonl").exists()
    with pytest.raises(SystemExit) as stop:  # resolved as the single engine does, before Spark
        main([*args, "--engine", "spark", "--route", "crosswalk"])
    assert stop.value.code not in (0, None)
    assert "--route crosswalk needs a crosswalk to synth: it is the system the model was" in (
        " ".join(capfd.readouterr().err.split())
    )
    with pytest.raises(SystemExit) as stop:
        main([*args, "--route", "fastest"])
    assert stop.value.code not in (0, None)
    assert "--route must be one of auto, direct, crosswalk, blend" in " ".join(
        capfd.readouterr().err.split()
    )


# ---------------------------------------------------------------- real crosswalks and releases
@pytest.mark.slow
@pytest.mark.parametrize(
    ("system", "release", "code"),
    [("icd9cm", None, "493.00"), ("icd10who", None, "J45.0"), ("icd11", None, "CA23.0"),
     ("icd10cm", "2024", "J45.909")],
)  # fmt: skip
def test_the_synthetic_model_predicts_in_every_real_system(
    synth, shared_data, system, release, code
):
    """The direct route into each real system (a label space of a few hundred of its codes):
    every code is outside the training label space and the memory is off."""
    from icdbridge.codes import get_terminology
    from icdbridge.model import load_routed

    terminology = get_terminology(system, release)
    codes = [code, *[c for c in terminology.codes()[:300] if c != code]]
    routed = load_routed(synth["model"], system=system, release=release, label_codes=codes)
    assert routed.route == "direct" and routed.direct.memory is None
    assert routed.terminology.release == terminology.release
    [row] = routed.predict([ASTHMA], top_k=10)
    assert len(row.scores) == 10 and set(row.scores) <= set(codes)
    assert row.outside == list(row.scores)
    assert routed.outside() == set(codes)
    assert "all outside the training label space (synth custom)" in routed.describe()


def test_real_crosswalk_edges_from_icd10cm_to_icd11(shared_data):
    from icdbridge.crosswalk import get_crosswalk

    mapping = get_crosswalk("icd10cm", "icd11").map("I10")
    # the 2024 WHO tables state no relation (unknown); BA00.Z is a residual category
    weights = EdgeWeights()
    assert mapping_edges(mapping, weights) == {
        "BA00.Z": pytest.approx(weights.unknown * weights.residual)
    }
    # ICD-10-CM -> ICD-9-CM (GEM): E11.9 reaches 250.00, approximate by the GEM flags
    gem = mapping_edges(get_crosswalk("icd10cm", "icd9cm").map("E11.9"))
    assert gem == {"250.00": pytest.approx(EdgeWeights().approximate)}


def test_another_icd10cm_release_marks_the_codes_added_since_training(shared_data):
    from icdbridge.codes import get_terminology
    from icdbridge.model.labels.space import label_space_codes

    config = {"system": "icd10cm", "release": "2024", "pipeline": {"system": "icd10cm"}}
    newer = get_terminology("icd10cm", "2026")
    codes = label_space_codes(newer)
    outside = outside_training(config, newer, codes)
    older = set(label_space_codes(get_terminology("icd10cm", "2024")))
    assert outside == {c for c in codes if c not in older}
    assert 0 < len(outside) < len(codes) // 10
