"""End-to-end tests of the label-embedding model on 30 real CodiEsp documents.

A small label space keeps them fast on a 2-core CPU: the gold codes of the 30 documents, their
hierarchy siblings and 150 random ICD-10-CM leaves (seeded), embedded once per session with the
real default encoder (MiniLM) into a temporary cache folder.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace

import pytest
import torch

from conftest import digests_under_hash_seeds, require_data

pytestmark = pytest.mark.slow

N_TRAIN, N_DEV = 20, 10


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """Encoder, terminology, documents and label space shared by the tests (built once)."""
    require_data("codiesp", "train")
    import os

    previous = os.environ.get("ICDBRIDGE_CACHE")
    os.environ["ICDBRIDGE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    from icdbridge.codes import get_terminology
    from icdbridge.data import load_codiesp
    from icdbridge.model.config import PipelineConfig
    from icdbridge.model.labels.space import build_label_space
    from icdbridge.model.labels.tree import siblings
    from icdbridge.model.lexical.channel import build_lexical
    from icdbridge.model.text.encoder import TextEncoder

    terminology = get_terminology("icd10cm")
    docs = load_codiesp(split="train")[: N_TRAIN + N_DEV]
    gold = sorted({c for d in docs for c in d.codes})
    near = {s for c in gold for s in siblings(terminology, c, 5)}
    rng = random.Random(0)
    extra = rng.sample(terminology.codes(leaves_only=True), 150)
    codes = sorted(set(gold) | near | set(extra))
    encoder = TextEncoder()
    config = PipelineConfig(window_tokens=96, window_stride=96)
    space = build_label_space(encoder, terminology, config, codes)
    lexical = build_lexical(terminology, space.codes)
    yield {
        "terminology": terminology,
        "train": docs[:N_TRAIN],
        "dev": docs[N_TRAIN:],
        "encoder": encoder,
        "config": config,
        "space": space,
        "lexical": lexical,
        "window_cache": {},
    }
    if previous is None:
        os.environ.pop("ICDBRIDGE_CACHE", None)
    else:
        os.environ["ICDBRIDGE_CACHE"] = previous


def _train(
    tiny,
    docs=None,
    epochs=6,
    seed=0,
    finetune_epochs=0,
    members=1,
    calibration_folds=0,
    hidden_codes=0.0,
    finetune_mined=True,
    finetune_evidence=True,
    finetune_labels=True,
    init=None,
    **kwargs,
):
    """One network unless ``members`` says otherwise (the default model's three networks would
    triple these tests' training time; the ensemble has tests of its own)."""
    from icdbridge.model.config import TrainConfig
    from icdbridge.model.train.loop import train_model

    return train_model(
        docs or tiny["train"],
        tiny["dev"],
        replace(tiny["config"]),
        train_config=TrainConfig(
            epochs=epochs,
            batch_size=4,
            negatives=64,
            seed=seed,
            learning_rate=1e-2,
            patience=10,
            finetune_epochs=finetune_epochs,
            finetune_batch_size=16,
            finetune_mined=finetune_mined,
            finetune_evidence=finetune_evidence,
            finetune_labels=finetune_labels,
            init=init,
            members=members,
            calibration_folds=calibration_folds,
            hidden_codes=hidden_codes,
        ),
        encoder=tiny["encoder"],
        space=tiny["space"],
        lexical=tiny["lexical"],
        window_cache=tiny["window_cache"],
        **kwargs,
    )


@pytest.fixture(scope="session")
def trained(tiny):
    return _train(tiny)


def _dev_map(predictor, docs) -> float:
    from icdbridge.model.calibration import mean_average_precision

    predictor.window_cache = None
    predictions = predictor.predict(docs, top_k=None)
    return mean_average_precision([list(p.scores) for p in predictions], [d.codes for d in docs])


def test_end_to_end_beats_shuffled_label_control(tiny, trained):
    rng = random.Random(1)
    shuffled_codes = [list(d.codes) for d in tiny["train"]]
    rng.shuffle(shuffled_codes)
    control_docs = [replace(d, codes=c) for d, c in zip(tiny["train"], shuffled_codes, strict=True)]
    control = _train(tiny, docs=control_docs)
    real_map = _dev_map(trained.predictor, tiny["dev"])
    control_map = _dev_map(control.predictor, tiny["dev"])
    assert len(trained.history) >= 1
    assert real_map > control_map + 0.02, (real_map, control_map)


def test_predictions_rank_over_the_label_space_with_evidence(tiny, trained):
    doc = tiny["dev"][0]
    [prediction] = trained.predictor.predict([doc], top_k=10, explain=True)
    assert len(prediction.scores) == 10
    values = list(prediction.scores.values())
    assert values == sorted(values, reverse=True)
    assert all(0.0 <= v <= 1.0 for v in values)
    assert set(prediction.scores) <= set(tiny["space"].codes)
    fields = set()
    for code, spans in prediction.evidence.items():
        assert spans, code
        for span in spans:
            # lexical matches in the Spanish original point into the original text
            field = span.get("field", "text")
            fields.add(field)
            source = doc.original_text if field == "original_text" else doc.text
            assert source[span["start"] : span["end"]] == span["text"]
    assert "original_text" in fields  # the CodiEsp notes carry their Spanish original


def test_gloss_pieces_join_the_attention_and_their_evidence_points_into_the_original(tiny, trained):
    from icdbridge.model.config import PipelineConfig
    from icdbridge.model.predict import evidence_for

    doc = tiny["dev"][0]
    predictor = trained.predictor
    assert predictor.config.gloss_pieces  # the default
    [features] = predictor.featurize([doc])
    n_text, n_gloss = len(features.spans), len(features.original_piece_spans)
    assert n_gloss > 0 and features.windows.shape[0] == n_text + n_gloss
    for start, end in features.original_piece_spans:
        assert 0 <= start < end <= len(doc.original_text)
    # the attention's best piece is a gloss piece: its evidence is a span of the original
    attention = torch.zeros(len(features.candidates), n_text + n_gloss)
    attention[0, n_text + 1] = 1.0
    [span, *_] = [
        s
        for s in evidence_for(features, features.candidates[0], attention, 0)
        if s["source"] == "attention"
    ]
    start, end = features.original_piece_spans[1]
    assert span["field"] == "original_text" and (span["start"], span["end"]) == (start, end)
    assert span["text"] == doc.original_text[start:end]
    # without gloss pieces the windows are the text's own, as models saved before them read
    predictor.config = replace(predictor.config, gloss_pieces=False)
    try:
        [plain] = predictor.featurize([doc])
    finally:
        predictor.config = replace(predictor.config, gloss_pieces=True)
    assert plain.windows.shape[0] == n_text and not plain.original_piece_spans
    assert torch.equal(plain.windows, features.windows[:n_text])
    saved_before = {k: v for k, v in predictor.config.to_dict().items() if k != "gloss_pieces"}
    assert not PipelineConfig.from_dict(saved_before).gloss_pieces


def test_family_expansion_adds_the_family_of_the_best_codes(tiny, trained):
    """The candidates take in the parent, siblings and children of the best faiss, lexical and
    neighbour codes (on by default since cv_family.json), and nothing else; without the
    expansion those relatives stay out."""
    from icdbridge.model.config import PipelineConfig

    predictor = trained.predictor
    assert predictor.config.family_expansion == PipelineConfig().family_expansion > 0
    doc = tiny["dev"][0]
    base = predictor.config
    try:  # a short faiss shortlist leaves room in the small label space for the families
        predictor.config = replace(base, shortlist_k=5, family_expansion=0)
        [plain] = predictor.featurize([doc])
        predictor.config = replace(base, shortlist_k=5, family_expansion=3)
        [expanded] = predictor.featurize([doc])
    finally:
        predictor.config = base
    before, after = set(plain.candidates), set(expanded.candidates)
    added = after - before
    assert before < after
    relatives = {r for code in before for r in predictor.space.relatives(code)}
    assert added <= relatives
    assert len(added) >= 3  # the family of at least one code


def test_code_absent_from_training_gets_finite_non_constant_scores(tiny, trained):
    predictor = trained.predictor
    seen = predictor.seen
    raw = predictor.raw_scores(tiny["dev"][:3])
    unseen_scores = [s for doc in raw for code, s in doc.items() if code not in seen]
    assert len(unseen_scores) > 10
    assert all(math.isfinite(s) for s in unseen_scores)
    assert len({round(s, 6) for s in unseen_scores}) > 5
    # one specific never-seen code scores differently in two documents
    unseen_code = next(c for c in tiny["space"].codes if c not in seen)
    from icdbridge.model.predict import score_documents

    features = predictor.featurize(tiny["dev"][:2])
    from icdbridge.model.features.batch import DocumentFeatures

    forced = [
        DocumentFeatures(
            id=f.id,
            text=f.text,
            spans=f.spans,
            windows=f.windows,
            candidates=[unseen_code],
            label_index=torch.tensor([tiny["space"].row[unseen_code]]),
            features=torch.zeros(1, f.features.shape[1]),
            hardness=torch.ones(1),
        )
        for f in features
    ]
    scores = [s[unseen_code] for s, _ in score_documents(predictor.model, tiny["space"], forced)]
    assert all(math.isfinite(s) for s in scores)
    assert scores[0] != scores[1]


def test_save_load_round_trip_gives_identical_predictions(tiny, trained, tmp_path):
    from icdbridge.model.io import from_pretrained, read_config, save_pretrained

    predictor = trained.predictor
    predictor.window_cache = None
    save_pretrained(predictor, tmp_path / "model")
    loaded = from_pretrained(tmp_path / "model", label_codes=tiny["space"].codes)
    docs = tiny["dev"][:4]
    before = predictor.predict(docs, top_k=30, explain=True)
    after = loaded.predict(docs, top_k=30, explain=True)
    for a, b in zip(before, after, strict=True):
        assert list(a.scores) == list(b.scores)
        assert a.scores == pytest.approx(b.scores, abs=1e-6)
        assert a.predicted == b.predicted
        assert a.evidence == b.evidence
    assert loaded.calibrator == predictor.calibrator
    environment = read_config(tmp_path / "model")["environment"]  # what produced the weights
    assert environment["packages"]["torch"] == torch.__version__


def test_a_model_without_overlap_features_never_builds_the_overlap_table(tiny, tmp_path):
    """Models saved before the word-overlap features existed do not read them: predicting with
    one neither builds the release's overlap table nor changes its scores."""
    from icdbridge.model.config import ModelConfig
    from icdbridge.model.features.featurize import featurize
    from icdbridge.model.features.registry import (
        DEFAULT_FEATURES,
        OVERLAP_FEATURES,
        PAIR_FEATURES,
    )
    from icdbridge.model.io import from_pretrained, save_pretrained
    from icdbridge.model.predict import score_documents

    features = tuple(f for f in DEFAULT_FEATURES if f not in OVERLAP_FEATURES)
    result = _train(tiny, epochs=2, model_config=ModelConfig(features=features))
    save_pretrained(result.predictor, tmp_path / "model")
    loaded = from_pretrained(tmp_path / "model", label_codes=tiny["space"].codes)
    assert not loaded.needs_word_overlap
    docs = tiny["dev"][:3]
    predictions = loaded.predict(docs, top_k=20)
    assert "overlap" not in vars(loaded.space)  # the cached_property was never computed
    every = featurize(docs, replace(loaded.feature_inputs, features=None))
    assert every[0].features[:, PAIR_FEATURES.index("overlap")].abs().sum() > 0
    raw = [s for s, _ in score_documents(loaded.model, loaded.space, every)]
    for prediction, full in zip(predictions, raw, strict=True):
        expected = loaded.calibrator.apply(full, loaded.seen)
        assert list(prediction.scores) == list(expected)[:20]
        assert prediction.scores == pytest.approx({c: expected[c] for c in prediction.scores})


def test_cli_predict_reports_originals_it_cannot_read(tiny, trained, tmp_path, monkeypatch, capsys):
    """A note whose original is in a language without a title table is scored from its English
    text, every row is written, and the command says how many originals were not read."""
    import json

    import icdbridge.model.io as pretrained
    from icdbridge.cli.main import main

    predictor = trained.predictor
    predictor.window_cache = None
    pretrained.save_pretrained(predictor, tmp_path / "model")
    real = pretrained.from_pretrained
    monkeypatch.setattr(  # the tiny label space instead of all 98,000 codes
        pretrained,
        "from_pretrained",
        lambda folder, **options: real(folder, label_codes=tiny["space"].codes),
    )
    notes = tmp_path / "notes.jsonl"
    rows = [d.to_dict() for d in tiny["dev"][:3]]
    for row in rows:  # its mentions' offsets point into the original replaced below
        row.pop("evidence", None)
    rows[1] |= {"original_text": "Febre e tosse.", "original_language": "pt"}
    rows[2] |= {"original_text": "Fiebre y tos.", "original_language": "es"}
    notes.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "pred.jsonl"
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(tmp_path / "model"), str(notes), "-o", str(out)])
    assert exit_info.value.code == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "1 document carries an original_text that is not read (pt: 1; languages read: es)" in err
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [
        r["id"] for r in rows
    ]


def test_cli_predict_codes_unlabelled_notes_into_a_new_folder(
    tiny, trained, tmp_path, monkeypatch, capsys
):
    """Notes without codes or system are the normal input of prediction; a missing output
    folder is created; the predictions are written whole (no temporary file left)."""
    import json

    import icdbridge.model.io as pretrained
    from icdbridge.cli.main import main
    from icdbridge.outputs import TEMP_PREFIX

    predictor = trained.predictor
    predictor.window_cache = None
    pretrained.save_pretrained(predictor, tmp_path / "model")
    real = pretrained.from_pretrained
    monkeypatch.setattr(
        pretrained,
        "from_pretrained",
        lambda folder, **options: real(folder, label_codes=tiny["space"].codes),
    )
    notes = tmp_path / "notes.jsonl"
    rows = [{"id": d.id, "text": d.text} for d in tiny["dev"][:2]]
    notes.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "new" / "folder" / "pred.jsonl"
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(tmp_path / "model"), str(notes), "-o", str(out)])
    assert exit_info.value.code == 0, capsys.readouterr().err
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in written] == [r["id"] for r in rows]
    assert all(row["scores"] and set(row["codes"]) <= set(row["scores"]) for row in written)
    assert not list(tmp_path.rglob(f"{TEMP_PREFIX}*"))


def test_saving_a_model_over_a_run_folder_keeps_its_checkpoints(tiny, trained, tmp_path):
    """``icdbridge train`` saves the model into the folder holding ``checkpoints/``: the model
    files are replaced, the checkpoints stay, and nothing temporary is left."""
    from icdbridge.model.io import read_config, save_pretrained
    from icdbridge.outputs import TEMP_PREFIX

    folder = tmp_path / "run"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "last.ckpt").write_bytes(b"kept")
    (folder / "memory.json").write_text("stale")  # a file of an earlier model
    trained.predictor.window_cache = None
    save_pretrained(trained.predictor, folder)
    assert (folder / "checkpoints" / "last.ckpt").read_bytes() == b"kept"
    assert read_config(folder)["has_memory"] == (trained.predictor.memory is not None)
    assert (folder / "memory.json").read_text() != "stale"
    assert not list(folder.rglob(f"{TEMP_PREFIX}*"))


def test_finetuned_encoder_is_trained_saved_and_restored(tiny, tmp_path):
    from icdbridge.model.io import ENCODER_DIR, from_pretrained, save_pretrained

    before = tiny["encoder"].fingerprint()
    result = _train(tiny, epochs=2, finetune_epochs=1)
    assert result.finetune is not None and result.finetune.pairs > 100
    # the notes' annotated mentions (CodiEsp's trainX.tsv) are pairs too, beside the mined ones
    assert 0 < result.finetune.evidence_pairs < result.finetune.pairs
    assert result.finetune.losses and all(math.isfinite(x) for x in result.finetune.losses)
    predictor = result.predictor
    assert tiny["encoder"].fingerprint() == before  # the caller's encoder is left alone
    assert predictor.encoder.fingerprint() != before
    assert predictor.config.finetuned_encoder
    # label embeddings were recomputed with the tuned encoder
    assert not torch.allclose(predictor.space.matrix, tiny["space"].matrix)
    save_pretrained(predictor, tmp_path / "model")
    assert (tmp_path / "model" / ENCODER_DIR / "model.safetensors").is_file()
    loaded = from_pretrained(tmp_path / "model", label_codes=tiny["space"].codes)
    assert loaded.encoder.fingerprint() == predictor.encoder.fingerprint()
    docs = tiny["dev"][:3]
    for a, b in zip(predictor.predict(docs, top_k=20), loaded.predict(docs, top_k=20), strict=True):
        assert list(a.scores) == list(b.scores)
        assert a.scores == pytest.approx(b.scores, abs=1e-6)


def _unannotated(docs):
    """``docs`` without their annotated mentions (``evidence``)."""
    return [replace(d, meta={k: v for k, v in d.meta.items() if k != "evidence"}) for d in docs]


def test_fine_tuning_on_annotated_mentions_alone(tiny):
    result = _train(tiny, epochs=1, finetune_epochs=1, finetune_mined=False)
    tuned = result.finetune
    # no mined pair: every pair is an annotated mention, and the encoder did learn from them
    assert tuned is not None and tuned.pairs == tuned.evidence_pairs > 50
    assert tuned.losses and all(math.isfinite(x) for x in tuned.losses)
    assert result.predictor.encoder.fingerprint() != tiny["encoder"].fingerprint()


def test_fine_tuning_without_mined_pairs_needs_annotated_mentions(tiny):
    from icdbridge.errors import IcdbridgeError

    with pytest.raises(IcdbridgeError, match="finetune_evidence must be on"):
        _train(tiny, finetune_epochs=1, finetune_mined=False, finetune_evidence=False)
    with pytest.raises(IcdbridgeError, match="no training document has any"):
        _train(tiny, _unannotated(tiny["train"]), finetune_epochs=1, finetune_mined=False)
    # annotated, but no mention names a gold code of the note: no pair, so no fine-tuning
    stray = [
        replace(d, meta={**d.meta, "evidence": [{"code": "A00.0", "text": "cholera"}]})
        for d in tiny["train"]
        if "A00.0" not in d.codes
    ]
    with pytest.raises(IcdbridgeError, match="fine-tuning found no training pair"):
        _train(tiny, stray, finetune_epochs=1, finetune_mined=False)


def test_note_side_fine_tuning_keeps_the_label_space(tiny, tmp_path):
    from icdbridge.errors import IcdbridgeError
    from icdbridge.model.io import ENCODER_DIR, from_pretrained, save_pretrained
    from icdbridge.model.text.encoder import TextEncoder

    base = tiny["encoder"].fingerprint()
    result = _train(tiny, epochs=1, finetune_epochs=1, finetune_mined=False, finetune_labels=False)
    predictor = result.predictor
    assert result.finetune is not None and result.finetune.losses
    assert all(math.isfinite(x) for x in result.finetune.losses)
    # the notes' encoder learned; the label embeddings are the untuned encoder's, as they were
    assert predictor.encoder.fingerprint() != base
    assert predictor.config.tuned_notes_only
    assert torch.equal(predictor.space.matrix, tiny["space"].matrix)
    save_pretrained(predictor, tmp_path / "model")
    loaded = from_pretrained(tmp_path / "model", label_codes=tiny["space"].codes)
    assert loaded.encoder.fingerprint() == predictor.encoder.fingerprint()
    assert torch.allclose(loaded.space.matrix, tiny["space"].matrix, atol=1e-6)
    docs = tiny["dev"][:3]
    for a, b in zip(predictor.predict(docs, top_k=20), loaded.predict(docs, top_k=20), strict=True):
        assert list(a.scores) == list(b.scores)
        assert a.scores == pytest.approx(b.scores, abs=1e-6)
    # ``encoder=`` names the notes' encoder; the label texts keep the untuned one either way
    probe = ["cholera due to vibrio cholerae", "fever"]
    untuned = TextEncoder(predictor.config.encoder, precision=predictor.config.precision)
    tuned_vectors = predictor.encoder.embed(probe)
    untuned_vectors = untuned.embed(probe)
    assert not torch.allclose(tuned_vectors, untuned_vectors, atol=1e-4)
    for override, notes in (
        (tmp_path / "model" / ENCODER_DIR, tuned_vectors),
        (untuned.path, untuned_vectors),  # the untuned encoder's folder, named explicitly
    ):
        chosen = from_pretrained(
            tmp_path / "model", encoder=override, label_codes=tiny["space"].codes
        )
        assert torch.allclose(chosen.encoder.embed(probe), notes, atol=1e-5)
        assert torch.allclose(chosen.space.matrix, tiny["space"].matrix, atol=1e-6)
    # a warm start keeps both encoders: the tuned one of notes, the untuned one of label texts
    warm = _train(tiny, epochs=1, init=str(tmp_path / "model")).predictor
    assert warm.encoder.fingerprint() == predictor.encoder.fingerprint()
    assert warm.config.tuned_notes_only
    assert torch.equal(warm.space.matrix, tiny["space"].matrix)
    # tuning its one encoder on both sides again is refused before any work
    with pytest.raises(IcdbridgeError, match="fine-tuned on the note side only"):
        _train(tiny, finetune_epochs=1, init=str(tmp_path / "model"))


def test_annotated_mentions_are_fine_tuning_pairs(tiny):
    from icdbridge.model.lexical.gloss import glosser_for
    from icdbridge.model.train.finetune import evidence_pairs

    docs, space = tiny["train"], tiny["space"]
    pairs = evidence_pairs(tiny["encoder"], docs, space, hard_negatives=3)
    glosser = glosser_for("es", tiny["terminology"])
    # each mention of the Spanish original enters through its English gloss
    expected = {
        (glosser.gloss(m.text).text.strip(), m.code)
        for d in docs
        for m in d.evidence
        if m.code in space.row and glosser.gloss(m.text).text.strip()
    }
    assert {(p.piece, p.code) for p in pairs} == expected and len(expected) > 50
    assert ("pain .", "R52") in expected  # "dolores" glossed
    for pair in pairs:
        assert pair.code in pair.gold
        assert 0 < len(pair.hard) <= 3 and not set(pair.hard) & pair.gold
    assert evidence_pairs(tiny["encoder"], _unannotated(docs), space) == []


def test_seeded_runs_are_reproducible(tiny, trained):
    again = _train(tiny)
    first = trained.predictor.model.state_dict()
    second = again.predictor.model.state_dict()
    for name, tensor in first.items():
        assert torch.equal(tensor, second[name]), name


_DIGEST_SCRIPT = """
import hashlib, random, sys
import torch
from icdbridge.codes import get_terminology
from icdbridge.data import load_codiesp
from icdbridge.model.text.encoder import TextEncoder
from icdbridge.model.labels.tree import siblings
from icdbridge.model.config import PipelineConfig
from icdbridge.model.labels.space import build_label_space
from icdbridge.model.lexical.channel import build_lexical
from icdbridge.model.config import TrainConfig
from icdbridge.model.train.loop import train_model

torch.set_num_threads(1)
terminology = get_terminology("icd10cm")
docs = load_codiesp(split="train")[:12]
gold = sorted({c for d in docs for c in d.codes})
near = {s for c in gold for s in siblings(terminology, c, 3)}
codes = sorted(set(gold) | near | set(random.Random(0).sample(terminology.codes(), 60)))
encoder = TextEncoder()
config = PipelineConfig(window_tokens=96, window_stride=96)
space = build_label_space(encoder, terminology, config, codes)
result = train_model(
    docs[:8], docs[8:], config,
    train_config=TrainConfig(epochs=2, batch_size=4, negatives=32, seed=3, learning_rate=1e-2),
    encoder=encoder, space=space, lexical=build_lexical(terminology, space.codes),
)
digest = hashlib.sha256()
for name, tensor in sorted(result.predictor.model.state_dict().items()):
    digest.update(name.encode() + tensor.numpy().tobytes())
print("DIGEST", digest.hexdigest())
"""


def test_training_is_reproducible_across_processes(tmp_path):
    """Same seed, other Python hash seeds (set iteration orders): bit-identical weights."""
    require_data("codiesp", "train")
    digests = digests_under_hash_seeds(
        _DIGEST_SCRIPT, ("1", "2"), {"ICDBRIDGE_CACHE": str(tmp_path)}
    )
    assert digests[0] and digests[0] == digests[1]


def test_checkpoints_resume(tiny, tmp_path):
    folder = tmp_path / "ckpt"
    first = _train(tiny, epochs=2, checkpoint_dir=folder)
    assert (folder / "last.ckpt").is_file()
    resumed = _train(tiny, epochs=3, checkpoint_dir=folder, resume=True)
    assert [h["epoch"] for h in first.history] == [0, 1]
    # the epochs before the interruption are reported too (kept in the checkpoint)
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2]
    assert resumed.history[:2] == first.history


def test_ensemble_is_the_mean_of_its_networks_trained_alone(tiny, tmp_path):
    """``members=3`` trains the networks that seeds 0, 1 and 2 train alone and averages their
    logits; calibration is fitted on the average, and the ensemble survives save → load."""
    from icdbridge.model.io import from_pretrained, read_config, save_pretrained
    from icdbridge.model.net.network import NetworkEnsemble, member_count

    ensemble = _train(tiny, epochs=2, members=3)
    alone = [_train(tiny, epochs=2, seed=seed) for seed in range(3)]
    model = ensemble.predictor.model
    assert isinstance(model, NetworkEnsemble) and member_count(model) == 3
    for network, single in zip(model.members, alone, strict=True):
        for name, tensor in single.predictor.model.state_dict().items():
            assert torch.equal(network.state_dict()[name], tensor), name
    assert [h["member"] for h in ensemble.history] == [0, 0, 1, 1, 2, 2]
    assert ensemble.member_val_maps == [a.best_val_map for a in alone]
    docs = tiny["dev"][:3]
    mean = [
        {code: sum(run[code] for run in runs) / 3 for code in runs[0]}
        for runs in zip(*(a.predictor.raw_scores(docs) for a in alone), strict=True)
    ]
    for got, want in zip(ensemble.predictor.raw_scores(docs), mean, strict=True):
        assert got.keys() == want.keys()
        assert got == pytest.approx(want, abs=1e-5)
    assert not math.isclose(ensemble.best_val_map, ensemble.member_val_maps[0])
    ensemble.predictor.window_cache = None
    save_pretrained(ensemble.predictor, tmp_path / "model")
    assert read_config(tmp_path / "model")["members"] == 3
    loaded = from_pretrained(tmp_path / "model", label_codes=tiny["space"].codes)
    assert member_count(loaded.model) == 3
    before = ensemble.predictor.predict(docs, top_k=20, explain=True)
    after = loaded.predict(docs, top_k=20, explain=True)
    for a, b in zip(before, after, strict=True):
        assert list(a.scores) == list(b.scores) and a.evidence == b.evidence


def test_a_model_saved_before_ensembles_loads_as_one_network(tiny, trained, tmp_path):
    import json

    from icdbridge.model.io import CONFIG_NAME, from_pretrained, save_pretrained
    from icdbridge.model.net.network import LabelEmbeddingModel

    trained.predictor.window_cache = None
    folder = save_pretrained(trained.predictor, tmp_path / "model")
    config = json.loads((folder / CONFIG_NAME).read_text())
    assert config.pop("members") == 1
    (folder / CONFIG_NAME).write_text(json.dumps(config))
    loaded = from_pretrained(folder, label_codes=tiny["space"].codes)
    assert type(loaded.model) is LabelEmbeddingModel
    docs = tiny["dev"][:2]
    for a, b in zip(loaded.raw_scores(docs), trained.predictor.raw_scores(docs), strict=True):
        assert a == pytest.approx(b)


def test_resuming_an_ensemble_keeps_the_networks_already_trained(tiny, tmp_path):
    """An interrupted ensemble resumes where it stopped: finished networks are loaded, not
    trained one more epoch; the unfinished one continues from its last checkpoint."""
    from icdbridge.model.train.loop import FINISHED_NAME

    folder = tmp_path / "full"
    full = _train(tiny, epochs=2, members=2, checkpoint_dir=folder)
    for member in (0, 1):
        assert (folder / f"member-{member}" / FINISHED_NAME).is_file()
    again = _train(tiny, epochs=2, members=2, checkpoint_dir=folder, resume=True)
    assert again.history == full.history
    for name, tensor in full.predictor.model.state_dict().items():
        assert torch.equal(again.predictor.model.state_dict()[name], tensor), name
    # what an ensemble run interrupted during network 1's second epoch leaves behind
    folder = tmp_path / "interrupted"
    _train(tiny, epochs=2, seed=0, checkpoint_dir=folder / "member-0")
    _train(tiny, epochs=1, seed=1, checkpoint_dir=folder / "member-1")
    resumed = _train(tiny, epochs=2, members=2, checkpoint_dir=folder, resume=True)
    assert [(h["member"], h["epoch"]) for h in resumed.history] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert resumed.history[:2] == full.history[:2]
    first = resumed.predictor.model.members[0].state_dict()
    for name, tensor in full.predictor.model.members[0].state_dict().items():
        assert torch.equal(first[name], tensor), name


def test_out_of_fold_calibration_is_fitted_on_every_labelled_document(tiny, tmp_path):
    """With calibration folds the calibrator is fitted on scores of all training and validation
    documents, each from a network trained for a fixed number of epochs without its fold (its
    unseen codes: those absent from the other folds); the main networks are the same as
    without, and the fold networks resume from their checkpoints."""
    from icdbridge.model.calibration import Calibrator
    from icdbridge.model.train.folds import seeded_folds
    from icdbridge.model.train.loop import FINISHED_NAME

    folder = tmp_path / "checkpoints"
    result = _train(tiny, epochs=3, calibration_folds=3, checkpoint_dir=folder)
    plain = _train(tiny, epochs=3)
    for name, tensor in plain.predictor.model.state_dict().items():
        assert torch.equal(result.predictor.model.state_dict()[name], tensor), name
    assert plain.calibration == {
        "source": "validation",
        "documents": len(tiny["dev"]),
        "unseen_pairs": sum(len(set(d.codes) - plain.predictor.seen) for d in tiny["dev"]),
    }
    labelled = [*tiny["train"], *tiny["dev"]]
    parts = seeded_folds(labelled, 3, 0)
    assert sorted(d.id for part in parts for d in part) == sorted(d.id for d in labelled)
    assert [len(part) for part in parts] == [10, 10, 10]
    unseen = 0
    for k, held in enumerate(parts):
        rest_codes = {c for j, part in enumerate(parts) if j != k for d in part for c in d.codes}
        unseen += sum(len(set(d.codes) - rest_codes) for d in held)
    fitted = result.calibration
    assert fitted["source"] == "out-of-fold" and fitted["folds"] == 3
    assert fitted["documents"] == len(labelled) and fitted["unseen_pairs"] == unseen > 0
    maps = [h["val_map"] for h in plain.history]
    assert fitted["epochs"] == 1 + maps.index(max(maps))  # the main network's best epoch count
    for k in range(3):  # a fixed number of epochs: the fold never chooses its network's weights
        record = json.loads((folder / "calibration" / f"fold-{k}" / FINISHED_NAME).read_text())
        assert len(record["history"]) == fitted["epochs"] and record["best"] == "last.ckpt"
    assert result.predictor.calibrator.validation_map_ != plain.predictor.calibrator.validation_map_
    resumed = _train(tiny, epochs=3, calibration_folds=3, checkpoint_dir=folder, resume=True)
    assert resumed.calibration == fitted
    assert resumed.predictor.calibrator == result.predictor.calibrator
    assert isinstance(resumed.predictor.calibrator, Calibrator)


def test_calibration_folds_must_leave_a_training_document(tiny):
    from icdbridge.errors import IcdbridgeError

    with pytest.raises(IcdbridgeError, match="calibration_folds must be 0 or between 2"):
        _train(tiny, epochs=1, calibration_folds=1)
    with pytest.raises(IcdbridgeError, match="calibration_folds"):
        _train(tiny, epochs=1, calibration_folds=N_TRAIN + N_DEV + 1)


def test_hidden_codes_train_as_unseen_and_validate_as_seen(tiny, monkeypatch):
    """``hidden_codes``: the hidden codes carry no memory features in the training notes (the
    networks see them as codes never coded), while validation sees the whole memory."""
    from icdbridge.errors import IcdbridgeError
    from icdbridge.model.features.registry import PAIR_FEATURES
    from icdbridge.model.train import loop as training

    captured = {}
    original = training.featurise_training_data

    def spy(*args, **kwargs):
        captured["out"] = original(*args, **kwargs)
        return captured["out"]

    monkeypatch.setattr(training, "featurise_training_data", spy)
    result = _train(tiny, epochs=1, hidden_codes=0.5)
    data = captured["out"]
    memory, train_features, dev_features = data.memory, data.train, data.dev
    hidden = training.hidden_codes(memory.seen, 0.5, seed=0)
    assert len(hidden) == len(memory.seen) // 2
    seen = PAIR_FEATURES.index("seen")
    for part, expect_hidden in ((train_features, True), (dev_features, False)):
        flags = {
            code: float(doc.features[i, seen])
            for doc in part
            for i, code in enumerate(doc.candidates)
            if code in hidden
        }
        assert flags, "hidden codes are among the candidates"
        assert all(v == 0.0 for v in flags.values()) == expect_hidden
    assert result.predictor.seen == memory.seen  # prediction uses the whole memory
    with pytest.raises(IcdbridgeError, match="hidden_codes must be a share"):
        _train(tiny, epochs=1, hidden_codes=1.0)


def test_from_pretrained_rejects_a_folder_that_is_not_a_model(tmp_path):
    from icdbridge.errors import DataNotFoundError
    from icdbridge.model.io import from_pretrained

    with pytest.raises(DataNotFoundError, match="not an icdbridge model directory"):
        from_pretrained(tmp_path)


def test_cli_predict_reports_a_bad_model_dir_in_one_line(tmp_path, capsys):
    from icdbridge.cli.main import main

    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"id": "a", "text": "fever", "codes": [], "system": "icd10cm"}\n')
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(tmp_path), str(notes), "-o", str(tmp_path / "out.jsonl")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not an icdbridge model directory" in err
    assert "Traceback" not in err


def test_load_documents_names_file_and_code(tmp_path):
    from icdbridge.codes import get_terminology
    from icdbridge.errors import InputFormatError
    from icdbridge.model.train.loop import load_documents

    path = tmp_path / "train.jsonl"
    path.write_text(
        '{"id": "a", "text": "x", "codes": ["e119"], "system": "icd10cm"}\n'
        '{"id": "b", "text": "y", "codes": ["NOT A CODE!"], "system": "icd10cm"}\n'
    )
    with pytest.raises(InputFormatError, match=r"train\.jsonl.*document 'b'.*NOT A CODE"):
        load_documents(path, get_terminology("icd10cm"))
    path.write_text('{"id": "a", "text": "x", "codes": ["e119"], "system": "icd10cm"}\n')
    assert load_documents(path, get_terminology("icd10cm"))[0].codes == ["E11.9"]


def test_demo_codes_the_shipped_notes_with_evidence(capsys):
    from icdbridge.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--no-tour", "--top", "5"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "demo-1" in out and "demo-5" in out
    # the pneumonia note's pneumonia code is among its top 5, with its lexical evidence
    assert "J18.9" in out and "'pneumonia'" in out
    # demo-6's English mangles "pemphigus vulgaris": its Spanish original gives the code
    demo6 = out[out.index("demo-6") :]
    assert "L10.0" in demo6 and "original" in demo6 and "pénfigo" in demo6


def test_demo_says_when_a_notes_original_is_not_read(tmp_path, capsys):
    import json

    from icdbridge.cli.main import main

    notes = tmp_path / "notes.jsonl"
    rows = [
        {
            "id": "n1",
            "text": "Community-acquired pneumonia.",
            "codes": [],
            "system": "icd10cm",
            "original_text": "Pneumonia adquirida na comunidade.",
            "original_language": "pt",
        },
        {
            "id": "n2",
            "text": "Pemphigus vulgar.",
            "codes": [],
            "system": "icd10cm",
            "original_text": "Pénfigo vulgar.",
            "original_language": "es",
        },
    ]
    notes.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--no-tour", "--top", "3", "--notes", str(notes)])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    n1, n2 = out[out.index("n1:") : out.index("n2:")], out[out.index("n2:") :]
    assert "the original was not read (not a language read)" in n1 and "J18.9" in n1
    assert "not read" not in n2 and "L10.0" in n2


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--family-expansion", "-1"),
        ("--shortlist-k", "0"),
        ("--overlap-k", "-5"),
        ("--calibration-tolerance", "-0.1"),
        ("--members", "0"),
        ("--calibration-folds", "1"),
        ("--calibration-folds", "-2"),
        ("--hidden-codes", "1"),
        ("--hidden-codes", "-0.1"),
    ],
)
def test_cli_train_refuses_a_negative_option(tmp_path, capsys, option, value):
    from icdbridge.cli.main import main

    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"id": "a", "text": "fever", "codes": ["R50.9"], "system": "icd10cm"}\n')
    args = ["train", "--train", str(notes), "--dev", str(notes), "--out", str(tmp_path / "m")]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, option, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()
