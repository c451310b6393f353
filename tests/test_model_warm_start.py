"""Warm start (``TrainConfig.init`` / ``icdbridge train --init``) on the synthetic fixture.

A model trained in the synthetic system ``synth`` initialises new networks: in the same system
and in ``synth9``, a second custom system with other code names for the same conditions (as a
CodiEsp ICD-10-CM model is adapted to notes coded in ICD-9-CM).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil

import pytest

import synthetic
from icdbridge.data import Document

OTHER = "synth9"
"""The second synthetic system: the same hierarchy with chapters A, B, C renamed R, S, T."""
RENAME = str.maketrans("ABC", "RST")


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """Both registered systems, the encoder, documents in each and a private label cache."""
    from icdbridge.codes import register_hierarchy

    root = tmp_path_factory.mktemp("warm")
    with synthetic.environment(root, OTHER) as encoder:
        source = synthetic.write_terminology(root)
        (root / "other").mkdir()
        other = root / "other" / "synth9.csv"
        lines = source.read_text(encoding="utf-8").splitlines()
        renamed = [lines[0]]
        for line in lines[1:]:
            code, parent, rest = line.split(",", 2)
            renamed.append(f"{code.translate(RENAME)},{parent.translate(RENAME)},{rest}")
        other.write_text("\n".join(renamed) + "\n", encoding="utf-8")
        register_hierarchy(OTHER, other)
        rows = synthetic.make_corpus(40)
        docs = synthetic.documents(rows)
        target_rows = [
            {**r, "id": f"t-{r['id']}", "codes": [c.translate(RENAME) for c in r["codes"]],
             "system": OTHER}
            for r in synthetic.make_corpus(16, seed=7)
        ]  # fmt: skip
        target = synthetic.documents(target_rows)
        for name, part in (("target_train", target_rows[:10]), ("target_dev", target_rows[10:])):
            with open(root / f"{name}.jsonl", "w", encoding="utf-8") as handle:
                handle.writelines(json.dumps(row) + "\n" for row in part)
        yield {
            "root": root,
            "encoder": encoder,
            "train": docs[:30],
            "dev": docs[30:],
            "target_train": target[:10],
            "target_dev": target[10:],
        }


def _pipeline(synth, system=synthetic.SYSTEM, **changes):
    from icdbridge.model import PipelineConfig

    return PipelineConfig(**{"system": system, "encoder": str(synth["encoder"]), **changes})


def _train_config(**changes):
    from icdbridge.model import TrainConfig

    return TrainConfig(**{"epochs": 3, "negatives": 16, "batch_size": 4, "members": 2, **changes})


@pytest.fixture(scope="module")
def source(synth):
    """A two-network model trained in ``synth`` (the model warm starts begin from)."""
    from icdbridge.model import train_model

    out = synth["root"] / "source"
    train_model(
        synth["train"], synth["dev"], _pipeline(synth), train_config=_train_config(), out_dir=out
    )
    return out


def _saved_weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_warm_start_copies_the_saved_weights_into_a_fresh_network(source):
    import torch

    from icdbridge.model.net.network import LabelEmbeddingModel
    from icdbridge.model.train.warm_start import read_warm_start

    init = read_warm_start(source)
    saved = _saved_weights(source)
    torch.manual_seed(123)
    fresh = LabelEmbeddingModel(init.model_config)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    init.apply(fresh, member=3)  # network 3 of a new ensemble starts from saved network 1
    after = fresh.state_dict()
    assert init.fresh == [] and init.matched.keys() == {"fusion.weight", "fusion_mlp.0.weight"}
    for name, value in after.items():
        assert torch.equal(value, saved[f"members.1.{name}"]), name
    assert not torch.equal(after["scorer.query.weight"], before["scorer.query.weight"])
    assert not torch.equal(saved["members.0.scorer.query.weight"], after["scorer.query.weight"])


def test_fusion_columns_are_matched_by_feature_name(source):
    import torch

    from icdbridge.model.net.network import INITIAL_FUSION, LabelEmbeddingModel
    from icdbridge.model.train.warm_start import fusion_columns, read_warm_start

    init = read_warm_start(source)
    saved = _saved_weights(source)["members.0.fusion.weight"]
    old = fusion_columns(init.features)
    kept = tuple(f for f in init.features if f != "lexical")
    config = init.model_config
    network = LabelEmbeddingModel(type(config).from_dict({**config.to_dict(), "features": kept}))
    init.apply(network)
    new = fusion_columns(kept)
    weight = network.state_dict()["fusion.weight"]
    assert weight.shape[1] == saved.shape[1] - 1
    for column in new:
        assert torch.equal(weight[:, new.index(column)], saved[:, old.index(column)]), column
    assert "lexical" not in init.matched["fusion.weight"]
    assert INITIAL_FUSION["lexical"] != 0  # the dropped column really was a trained input


def test_warm_start_in_another_system_trains_saves_loads_and_predicts(synth, source, tmp_path):
    from icdbridge.model import load_model, train_model
    from icdbridge.model.io import read_config

    out = tmp_path / "adapted"
    result = train_model(
        synth["target_train"],
        synth["target_dev"],
        _pipeline(synth, OTHER),
        train_config=_train_config(members=1, epochs=2, init=str(source)),
        out_dir=out,
    )
    config = read_config(out)
    assert config["system"] == OTHER
    record = config["extra"]["init"]
    digest = hashlib.sha256((source / "config.json").read_bytes()).hexdigest()
    assert record["path"] == str(source.resolve()) and record["config_sha256"] == digest
    assert record["system"] == synthetic.SYSTEM and record["members"] == 2
    assert "scorer.query.weight" in record["copied"]
    assert config["extra"]["train_config"]["init"] == str(source)
    assert result.warm_start == record
    # label space, memory and calibration are the new system's
    predictor = load_model(out)
    assert all(c[0] in "RST" for c in predictor.space.codes)
    assert predictor.seen == {c for d in synth["target_train"] for c in d.codes}
    note = Document("n", "He came in. Diagnosis: acute cystitis.", [], OTHER)
    [prediction] = predictor.predict([note], top_k=3)
    assert next(iter(prediction.scores)) == "R20.0"
    again = result.predictor.predict([note], top_k=3)
    assert [p.to_dict() for p in again] == [prediction.to_dict()]


def test_the_warm_started_network_starts_from_the_saved_one(synth, source):
    """With a learning rate of 0 training changes nothing: the trained network is the saved
    one; with the default rate it moves away from it (and a fresh start differs from both)."""
    import torch

    from icdbridge.model import train_model

    saved = _saved_weights(source)
    kept = train_model(
        synth["target_train"],
        synth["target_dev"],
        _pipeline(synth, OTHER),
        train_config=_train_config(members=1, epochs=1, learning_rate=0.0, init=str(source)),
    )
    moved = train_model(
        synth["target_train"],
        synth["target_dev"],
        _pipeline(synth, OTHER),
        train_config=_train_config(members=1, epochs=2, init=str(source)),
    )
    scratch = train_model(
        synth["target_train"],
        synth["target_dev"],
        _pipeline(synth, OTHER),
        train_config=_train_config(members=1, epochs=2),
    )
    name = "scorer.key.weight"
    start = saved[f"members.0.{name}"]
    assert torch.equal(kept.predictor.model.state_dict()[name], start)
    assert not torch.equal(moved.predictor.model.state_dict()[name], start)
    assert not torch.allclose(scratch.predictor.model.state_dict()[name], start, atol=1e-3)
    assert scratch.warm_start is None


def test_refused_warm_starts_name_the_problem(synth, source, tmp_path):
    from icdbridge.errors import DataNotFoundError, IcdbridgeError, InputFormatError
    from icdbridge.model import train_model

    def run(init, **kwargs):
        pipeline = kwargs.pop("pipeline", _pipeline(synth, OTHER))
        return train_model(
            synth["target_train"],
            synth["target_dev"],
            pipeline,
            train_config=_train_config(members=1, epochs=1, init=str(init)),
            **kwargs,
        )

    missing = tmp_path / "nothing"
    with pytest.raises(DataNotFoundError, match=re.escape(str(missing))):
        run(missing)
    damaged = tmp_path / "damaged"
    shutil.copytree(source, damaged, ignore=shutil.ignore_patterns("checkpoints"))
    weights = damaged / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(InputFormatError, match=re.escape("model.safetensors")):
        run(damaged)
    other_encoder = synthetic.write_encoder(tmp_path / "other-encoder", seed=1)
    with pytest.raises(
        IcdbridgeError, match=re.escape(f"{source.resolve()}: trained with the encoder")
    ):
        run(source, pipeline=_pipeline(synth, OTHER, encoder=str(other_encoder)))
    with pytest.raises(IcdbridgeError, match="exclusive"):
        run(source, out_dir=tmp_path / "new", resume=True)
    with pytest.raises(IcdbridgeError, match="overwrite the model it starts from"):
        run(source, out_dir=source)


def test_an_encoder_of_another_width_is_refused(source):
    from icdbridge.errors import IcdbridgeError
    from icdbridge.model.train.warm_start import read_warm_start

    init = read_warm_start(source)
    init.check_dim(32)
    with pytest.raises(IcdbridgeError, match=r"32-dimensional embeddings, the encoder gives 384"):
        init.check_dim(384)


def test_cli_warm_start_and_its_refusals(synth, source, tmp_path, capfd):
    from icdbridge.cli.main import main
    from icdbridge.model.io import read_config

    root, out = synth["root"], tmp_path / "cli-model"
    args = synthetic.train_args(
        root / "target_train.jsonl", root / "target_dev.jsonl", out, OTHER,
        "--init", source, epochs=1, members=1,
    )  # fmt: skip
    capfd.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code in (0, None)
    err = capfd.readouterr().err
    assert f"warm start from {source.resolve()}" in err, err
    assert read_config(out)["extra"]["init"]["path"] == str(source.resolve())
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in [*args, "--resume"]])
    assert stop.value.code not in (0, None)
    assert "exclusive" in capfd.readouterr().err
    missing = tmp_path / "no-model"
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in [*args[:10], missing, *args[11:]]])
    assert stop.value.code not in (0, None)
    err = capfd.readouterr().err
    assert str(missing) in err and "Traceback" not in err
