"""Named operating points: fitted at the end of training, stored with the model, chosen at
prediction time (library and CLI alike), and old models load with ``balanced`` only."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import synthetic
from icdbridge.model.calibration import Calibrator
from icdbridge.model.operating_points import (
    OPERATING_POINTS,
    OperatingPointError,
    fit_operating_points,
)

HELD_OUT = "B20"
"""Codes of this category never occur in the training notes and are gold in validation notes,
so that the validation has unseen gold codes and the points differ."""


def _random_validation(seed: int):
    rng = np.random.default_rng(seed)
    codes = [f"c{i}" for i in range(30)]
    seen = set(codes[:15])
    scores, golds = [], []
    for _ in range(12):
        raw = {c: float(rng.normal(1.0 if c in seen else -1.0, 1.5)) for c in codes}
        scores.append(raw)
        golds.append(set(rng.choice(codes, size=3, replace=False).tolist()))
    return scores, golds, seen


@pytest.mark.parametrize("seed", range(5))
def test_each_point_is_the_grid_point_its_definition_names(seed):
    scores, golds, seen = _random_validation(seed)
    points = fit_operating_points(scores, golds, seen)
    assert list(points) == list(OPERATING_POINTS)
    # balanced is the calibration of a model before operating points (the harmonic mean)
    assert points["balanced"] == Calibrator().fit(scores, golds, seen)
    assert points["max-map"] == Calibrator(map_tolerance=0.0).fit(scores, golds, seen)
    grid, _, _ = Calibrator().grid(scores, golds, seen)
    best_map = max(p.map for p in grid)
    assert points["max-map"].validation_map_ == best_map
    unseen = points["unseen"]
    assert unseen.validation_map_ >= best_map - 0.1 - 1e-12
    within = [p.unseen_recall for p in grid if p.map >= best_map - 0.1 - 1e-12]
    assert unseen.validation_unseen_recall_ == max(within)
    assert unseen.validation_unseen_recall_ >= points["balanced"].validation_unseen_recall_ or (
        points["balanced"].validation_map_ < best_map - 0.1
    )
    # a MAP tolerance set at training replaces the harmonic mean for balanced only
    tolerant = fit_operating_points(scores, golds, seen, balanced_tolerance=0.05)
    assert tolerant["balanced"] == Calibrator(map_tolerance=0.05).fit(scores, golds, seen)
    assert tolerant["max-map"] == points["max-map"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A one-network synthetic model whose validation notes code B20.* (never in training)."""
    from icdbridge.model import PipelineConfig, TrainConfig, train_model

    root = tmp_path_factory.mktemp("points")
    with synthetic.environment(root) as encoder:
        rows = synthetic.make_corpus(160, seed=3)
        held = [r for r in rows if any(c.startswith(HELD_OUT) for c in r["codes"])]
        kept = [r for r in rows if r not in held]
        docs = synthetic.documents(kept + held)
        train, dev = docs[:30], docs[30:36] + docs[len(kept) : len(kept) + 8]
        out = root / "model"
        result = train_model(
            train,
            dev,
            PipelineConfig(system=synthetic.SYSTEM, encoder=str(encoder)),
            # 24 codes: every code is in the top 20, so the points weigh unseen recall@1
            train_config=TrainConfig(
                epochs=4, negatives=16, batch_size=4, members=1, calibration_recall_k=1
            ),
            out_dir=out,
        )
        for name, part in (("train", train), ("dev", dev)):
            with open(root / f"{name}.jsonl", "w", encoding="utf-8") as handle:
                for d in part:
                    row = {"id": d.id, "text": d.text, "codes": d.codes, "system": d.system}
                    handle.write(json.dumps(row) + "\n")
        yield {"root": root, "out": out, "result": result, "dev": dev, "encoder": encoder}


def _setting(calibrator: Calibrator) -> tuple[float, float]:
    return calibrator.unseen_offset_, calibrator.unseen_temperature_


def test_all_three_points_are_stored_with_the_model(model):
    config = json.loads((model["out"] / "config.json").read_text())
    stored = config["operating_points"]
    assert list(stored) == list(OPERATING_POINTS)
    assert stored["balanced"] == config["calibration"]  # what older readers use
    points = model["result"].predictor.operating_points
    assert {name: Calibrator.from_dict(entry) for name, entry in stored.items()} == points
    assert stored["max-map"]["map_tolerance"] == 0.0 and stored["unseen"]["map_tolerance"] == 0.1
    assert stored["balanced"]["map_tolerance"] is None
    for entry in stored.values():
        assert entry["validation_map"] is not None and entry["validation_unseen_recall"] is not None
    # the validation has unseen gold codes: max-map gives up unseen recall, unseen gains it
    assert stored["max-map"]["validation_map"] >= stored["balanced"]["validation_map"]
    assert (
        stored["unseen"]["validation_unseen_recall"]
        >= stored["max-map"]["validation_unseen_recall"]
    )
    assert len({_setting(p) for p in points.values()}) >= 2, "the points should differ here"


def test_each_point_ranks_and_thresholds_with_its_own_calibration(model):
    from icdbridge.model import load_model

    predictor = load_model(model["out"])
    dev = model["dev"]
    raw = predictor.raw_scores(dev)
    rankings = {}
    for name in OPERATING_POINTS:
        predictions = predictor.predict(dev, top_k=None, operating_point=name)
        point = predictor.operating_points[name]
        for prediction, scores in zip(predictions, raw, strict=True):
            assert prediction.scores == point.apply(scores, predictor.seen)
            assert prediction.predicted == [
                c for c, p in prediction.scores.items() if p >= point.threshold_
            ]
        rankings[name] = [list(p.scores) for p in predictions]
    default = predictor.predict(dev, top_k=None)
    assert [list(p.scores) for p in default] == rankings["balanced"]
    points = predictor.operating_points
    for a in OPERATING_POINTS:
        for b in OPERATING_POINTS:
            if _setting(points[a]) != _setting(points[b]):
                assert rankings[a] != rankings[b], (a, b)
    with pytest.raises(OperatingPointError, match="unknown operating point 'best'"):
        predictor.predict(dev, operating_point="best")


def _old_model(model, tmp_path):
    """A copy of the model as saved before operating points existed."""
    old = tmp_path / "old"
    shutil.copytree(model["out"], old, ignore=shutil.ignore_patterns("checkpoints"))
    config = json.loads((old / "config.json").read_text())
    del config["operating_points"]
    (old / "config.json").write_text(json.dumps(config))
    return old


def test_a_model_saved_before_operating_points_loads_with_balanced_only(model, tmp_path):
    from icdbridge.model import load_model

    old = load_model(_old_model(model, tmp_path))
    assert list(old.operating_points) == ["balanced"]
    new = load_model(model["out"])
    dev = model["dev"]
    assert [p.to_dict() for p in old.predict(dev)] == [p.to_dict() for p in new.predict(dev)]
    for name in ("max-map", "unseen"):
        with pytest.raises(OperatingPointError) as error:
            old.predict(dev, operating_point=name)
        message = str(error.value)
        assert "saved before operating points existed" in message and "'balanced'" in message
    with pytest.raises(OperatingPointError, match="saved before operating points"):
        load_model(_old_model(model, tmp_path / "again"), operating_point="unseen")


def test_predict_cli_picks_the_point_like_the_library(model, tmp_path, capfd):
    from icdbridge.cli.main import main
    from icdbridge.model import load_model

    dev = model["root"] / "dev.jsonl"
    predictor = load_model(model["out"])
    for name in OPERATING_POINTS:
        output = tmp_path / f"{name}.jsonl"
        with pytest.raises(SystemExit) as stop:
            main(["predict", str(model["out"]), str(dev), "-o", str(output),
                  "--operating-point", name, "--top-k", "7"])  # fmt: skip
        assert stop.value.code in (0, None)
        err = " ".join(capfd.readouterr().err.split())
        assert f"operating point {name}: validation MAP" in err
        rows = [json.loads(line) for line in output.read_text().splitlines()]
        library = predictor.predict(model["dev"], top_k=7, operating_point=name)
        assert [(r["codes"], r["scores"]) for r in rows] == [
            (p.predicted, p.scores) for p in library
        ]
    old = _old_model(model, tmp_path)
    for args, expected in (
        (["--operating-point", "max-map"], f"{old}: this model has no operating point 'max-map'"),
        (["--operating-point", "best"], "unknown operating point 'best'"),
    ):
        with pytest.raises(SystemExit) as stop:
            main(["predict", str(old), str(dev), "-o", str(tmp_path / "x.jsonl"), *args])
        assert stop.value.code == 2
        err = capfd.readouterr().err
        assert expected in " ".join(err.split()) and "Traceback" not in err
        assert not (tmp_path / "x.jsonl").exists()


def test_predict_help_lists_the_points():
    from typer.testing import CliRunner

    from icdbridge.cli.main import build_app

    done = CliRunner().invoke(build_app(), ["predict", "--help"], env={"COLUMNS": "200"})
    text = " ".join(done.output.split())
    assert "--operating-point" in text
    for name in OPERATING_POINTS:
        assert f"{name}:" in text


def test_the_routed_path_ranks_and_thresholds_with_the_chosen_point(model):
    """``icdbridge predict`` goes through :func:`~icdbridge.model.routed.load_routed`: in the
    training system it must give exactly the plain predictor's rows at every point."""
    from icdbridge.model import load_model, load_routed, predict_documents

    predictor = load_model(model["out"])
    routed = load_routed(model["out"], operating_point="max-map")
    dev = model["dev"]
    for name in OPERATING_POINTS:
        plain = predictor.predict(dev, top_k=None, operating_point=name)
        rows = routed.predict(dev, top_k=None, operating_point=name)
        assert [r.scores for r in rows] == [p.scores for p in plain], name
        assert [r.predicted for r in rows] == [p.predicted for p in plain], name
        assert routed.threshold_at(name) == predictor.operating_points[name].threshold_
    with pytest.raises(OperatingPointError, match="unknown operating point 'best'"):
        predict_documents(model["out"], dev, operating_point="best")
