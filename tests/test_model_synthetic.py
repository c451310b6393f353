"""The whole model pipeline on a synthetic terminology, corpus and encoder, in seconds.

No CodiEsp and no MiniLM: ``tests/synthetic.py`` writes an 18-leaf hierarchy (registered as
system ``synth``), seeded notes naming its conditions, and a 2-layer random BERT with a word-level
vocabulary. Training, saving, loading, resuming, predicting and the CLI all run on them.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import synthetic
from icdbridge.data import Document

N_TRAIN, N_DEV = 30, 10


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """The registered terminology, the encoder folder, documents and a private label cache."""
    from icdbridge.codes import get_terminology

    root = tmp_path_factory.mktemp("synth")
    with synthetic.environment(root) as encoder:
        rows = synthetic.make_corpus(N_TRAIN + N_DEV)
        for name, part in (("train", rows[:N_TRAIN]), ("dev", rows[N_TRAIN:])):
            with open(root / f"{name}.jsonl", "w", encoding="utf-8") as handle:
                handle.writelines(json.dumps(row) + "\n" for row in part)
        docs = synthetic.documents(rows)
        yield {
            "root": root,
            "encoder": encoder,
            "train": docs[:N_TRAIN],
            "dev": docs[N_TRAIN:],
            "terminology": get_terminology(synthetic.SYSTEM),
        }


def _pipeline(synth):
    from icdbridge.model import PipelineConfig

    return PipelineConfig(system=synthetic.SYSTEM, encoder=str(synth["encoder"]))


def _train_config(**changes):
    from icdbridge.model import TrainConfig

    return TrainConfig(**{"epochs": 4, "negatives": 16, "batch_size": 4, "members": 2, **changes})


@pytest.fixture(scope="module")
def trained(synth):
    from icdbridge.model import train_model

    out = synth["root"] / "model"
    result = train_model(
        synth["train"], synth["dev"], _pipeline(synth), train_config=_train_config(), out_dir=out
    )
    return result, out


def _mean_ap(predictions, docs) -> float:
    from icdbridge.eval.ranking import average_precision

    ranked = {p.id: list(p.scores) for p in predictions}
    return sum(average_precision(ranked[d.id], d.codes) for d in docs) / len(docs)


def test_trained_model_ranks_the_named_codes_first(synth, trained):
    result, _ = trained
    predictions = result.predictor.predict(synth["dev"], top_k=None)
    assert _mean_ap(predictions, synth["dev"]) > 0.8
    # a control: the same rankings scored against other notes' codes are far worse
    shuffled = [
        Document(d.id, d.text, o.codes, d.system)
        for d, o in zip(synth["dev"], synth["dev"][1:] + synth["dev"][:1], strict=True)
    ]
    assert _mean_ap(predictions, shuffled) < 0.5
    assert [h["member"] for h in result.history].count(0) == 4  # epochs of network 1
    assert len(result.member_val_maps) == 2


def test_codes_never_seen_in_training_are_predicted_from_their_text(synth, trained):
    result, _ = trained
    seen = {c for d in synth["train"] for c in d.codes}
    assert not any(c.startswith("C20") for c in seen)
    note = Document("new", "She was admitted. Diagnosis: allergic asthma.", [], synthetic.SYSTEM)
    [prediction] = result.predictor.predict([note], top_k=3, explain=True)
    assert "C20.0" in prediction.scores
    spans = prediction.evidence["C20.0"]
    assert any(note.text[s["start"] : s["end"]].lower() == "allergic asthma" for s in spans)


def test_save_load_round_trip_gives_identical_predictions(synth, trained):
    from icdbridge.model import load_model

    result, out = trained
    loaded = load_model(out)
    original = result.predictor.predict(synth["dev"], top_k=10, explain=True)
    again = loaded.predict(synth["dev"], top_k=10, explain=True)
    assert [p.to_dict() for p in again] == [p.to_dict() for p in original]
    assert loaded.config == result.predictor.config
    assert loaded.calibrator == result.predictor.calibrator


def test_a_prebuilt_encoder_s_precision_is_the_one_the_model_records(synth):
    from icdbridge.model import TextEncoder, train_model

    encoder = TextEncoder(synth["encoder"], precision="bf16")
    result = train_model(
        synth["train"], synth["dev"], _pipeline(synth), train_config=_train_config(members=1),
        encoder=encoder,
    )  # fmt: skip
    assert _pipeline(synth).precision == "fp32"
    assert result.predictor.config.precision == "bf16"


def test_a_loaded_model_encodes_at_the_precision_it_was_trained_with(trained):
    from icdbridge.model import load_model

    result, out = trained
    assert result.predictor.config.precision == "fp32"
    assert load_model(out).encoder.precision == "fp32"
    config = out / "config.json"
    saved = json.loads(config.read_text())
    try:
        saved["pipeline"]["precision"] = "bf16"
        config.write_text(json.dumps(saved))
        assert load_model(out).encoder.precision == "bf16"
    finally:
        saved["pipeline"]["precision"] = "fp32"
        config.write_text(json.dumps(saved))


def test_training_leaves_the_callers_settings_unchanged(synth):
    from icdbridge.model import ModelConfig, train_model

    pipeline, model_config = _pipeline(synth), ModelConfig()
    before = (copy.deepcopy(pipeline), copy.deepcopy(model_config))
    result = train_model(
        synth["train"][:10],
        synth["dev"][:3],
        pipeline,
        model_config,
        _train_config(epochs=1, members=1),
    )
    assert (pipeline, model_config) == before
    assert result.predictor.config.system == synthetic.SYSTEM
    assert result.predictor.model.config.max_ancestors == pipeline.max_ancestors


def test_resuming_a_finished_run_retrains_nothing(synth, tmp_path):
    from icdbridge.model import load_model, train_model

    out = tmp_path / "model"
    config = _train_config(epochs=2)
    first = train_model(
        synth["train"], synth["dev"], _pipeline(synth), train_config=config, out_dir=out
    )
    stamps = {p: p.stat().st_mtime_ns for p in (out / "checkpoints").rglob("*.ckpt")}
    again = train_model(
        synth["train"],
        synth["dev"],
        _pipeline(synth),
        train_config=config,
        out_dir=out,
        resume=True,
    )
    assert again.history == first.history
    assert {p: p.stat().st_mtime_ns for p in (out / "checkpoints").rglob("*.ckpt")} == stamps
    a = load_model(out).predict(synth["dev"], top_k=5)
    b = first.predictor.predict(synth["dev"], top_k=5)
    assert [p.to_dict() for p in a] == [p.to_dict() for p in b]


def test_loading_and_predicting_never_import_lightning(synth, trained):
    """Inference needs the network, its weights and its label index, not the training code."""
    _, out = trained
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import synthetic
        from icdbridge.codes import register_hierarchy
        from icdbridge.data import Document
        from icdbridge.model import load_model

        register_hierarchy("synth", {str(synth["root"] / "synth.csv")!r})
        predictor = load_model({str(out)!r})
        [p] = predictor.predict([Document("x", "Diagnosis: acute cystitis.", [], "synth")])
        assert p.scores, "no prediction"
        loaded = sorted(m for m in sys.modules if "lightning" in m)
        print("LIGHTNING", loaded)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "LIGHTNING []" in done.stdout, done.stdout


def test_cli_train_and_predict_are_quiet_and_log_their_phases(synth, tmp_path, capfd, caplog):
    """``icdbridge train`` in a log: no Lightning chatter, one line per network with its
    duration; ``--verbose`` brings Lightning's lines back."""
    from icdbridge.cli.main import main

    root, out = synth["root"], tmp_path / "model"
    args = synthetic.train_args(
        root / "train.jsonl", root / "dev.jsonl", out, synthetic.SYSTEM,
        "--encoder", synth["encoder"], epochs=2, members=2,
    )  # fmt: skip
    capfd.readouterr()
    caplog.set_level("INFO")
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code in (0, None)
    err = capfd.readouterr().err + "".join(r.getMessage() for r in caplog.records)
    for chatter in ("GPU available", "TPU available", "litlogger", "deprecated", "Epoch 0/"):
        assert chatter not in err, err
    assert "training network 1/2: 2 epochs, best validation MAP" in err
    assert "training network 2/2" in err
    for point in ("balanced", "max-map", "unseen"):  # each operating point's validation numbers
        assert f"{point}: validation MAP" in err, err
    assert "saved" in err
    predictions = tmp_path / "predictions.jsonl"
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(out), str(root / "dev.jsonl"), "-o", str(predictions)])
    assert stop.value.code in (0, None)
    err = capfd.readouterr().err
    assert "GPU available" not in err and "Loading weights" not in err
    assert len(predictions.read_text().splitlines()) == N_DEV
    caplog.clear()
    with pytest.raises(SystemExit):
        main([str(a) for a in [*args[:6], tmp_path / "verbose", *args[7:]]] + ["--verbose"])
    assert any("GPU available" in r.getMessage() for r in caplog.records)


def test_cli_train_keeps_the_shortlist_size_it_is_given(synth, tmp_path, capsys):
    """``icdbridge train --shortlist-k N`` trains and saves a model whose faiss shortlist keeps
    N codes per note; the loaded model predicts with it."""
    from cli_harness import run_cli
    from icdbridge.model import load_model

    root, out = synth["root"], tmp_path / "model"
    args = synthetic.train_args(
        root / "train.jsonl", root / "dev.jsonl", out, synthetic.SYSTEM,
        "--encoder", synth["encoder"], "--shortlist-k", "3", epochs=1, members=1,
    )  # fmt: skip
    result = run_cli(args, capsys)
    assert result.code == 0, result.err
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["pipeline"]["shortlist_k"] == 3
    assert load_model(out).config.shortlist_k == 3
