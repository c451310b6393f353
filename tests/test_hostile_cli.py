"""Hostile input across the CLI: evaluate, codes, predict, label cache, datasets, train --resume.

Every refusal is checked with the shared harness (:mod:`cli_harness`): exit status 2, one
``error:`` line naming the offending file, no traceback, inputs byte-identical afterwards, nothing
at the final output path and no temporary output left behind. The security cases (a crafted run
folder, a custom system named ``../../escaped``, a publisher's reply naming ``../`` paths) prove
that nothing runs and nothing is written outside its folder. Hypothesis feeds ``evaluate`` random
bytes and random JSON.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_harness import assert_refused, digest, leftovers, run_cli

GOLD = '{"id": "d1", "codes": ["E11.9", "I10"]}\n{"id": "d2", "codes": ["J18.9"]}\n'
PRED = (
    '{"id": "d1", "scores": {"E11.9": 0.9, "I10": 0.4}}\n{"id": "d2", "scores": {"J18.9": 0.7}}\n'
)
NOT_UTF8 = b'{"id": "d1", "codes": ["E11.9"]}\n{"id": "d2", "codes": ["I10\xff\xfe"]}\n'


def _strict(text: str) -> object:
    """Parse JSON refusing the non-standard NaN / Infinity tokens."""

    def refuse(token: str) -> object:
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def check_refused(capsys, args, names, inputs, outputs, folder):
    """Run ``icdbridge ARGS``, assert a clean refusal (see the module docstring), return it."""
    before = digest(inputs)
    outputs_before = digest([o for o in outputs if o.is_file()])
    result = run_cli(args, capsys)
    assert_refused(result, names)
    assert digest(inputs) == before, "an input file was modified"
    for out in outputs:
        if out in outputs_before:
            assert digest([out]) == {out: outputs_before[out]}, f"{out} was modified"
        else:
            assert not out.exists(), f"{out} was written"
    assert leftovers(folder) == []
    return result


# --- evaluate ---------------------------------------------------------------------------------


def _files(tmp_path: Path, gold: str | bytes = GOLD, pred: str | bytes = PRED) -> tuple[Path, Path]:
    g, p = tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"
    for path, content in ((g, gold), (p, pred)):
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return g, p


EVALUATE_CASES = {
    # name: (gold, pred, extra files {name: bytes}, extra args, offending file name)
    "empty gold": ("", PRED, {}, [], "gold.jsonl"),
    "blank gold": ("\n  \n\t\n", PRED, {}, [], "gold.jsonl"),
    "gold not UTF-8": (NOT_UTF8, PRED, {}, [], "gold.jsonl"),
    "pred not UTF-8": (GOLD, NOT_UTF8, {}, [], "pred.jsonl"),
    "train gold not UTF-8": (GOLD, PRED, {"train.jsonl": NOT_UTF8}, ["--train-gold"], "train"),
    "NaN score": (GOLD, '{"id": "d1", "scores": {"E11.9": NaN}}\n', {}, [], "pred.jsonl"),
    "Infinity score": (GOLD, '{"id": "d1", "scores": {"I10": -Infinity}}\n', {}, [], "pred"),
    "score overflows a float": (GOLD, '{"id": "d1", "scores": {"I10": 1e400}}\n', {}, [], "pred"),
    "401-digit score": (GOLD, '{"id": "d1", "scores": {"I10": 1' + "0" * 400 + "}}\n", {}, [], "p"),
    "5000-digit integer": (GOLD, '{"id": 1' + "0" * 5000 + ', "codes": []}\n', {}, [], "pred"),
    "deeply nested JSON": (GOLD, '{"id": "d1", "codes": ' + "[" * 100_000 + "\n", {}, [], "pred"),
    "bad JSON": (GOLD, '{"id": "d1", "codes": [\n', {}, [], "pred.jsonl"),
    "gold is a folder": (None, PRED, {}, [], "gold.jsonl"),
    "NaN in validation scores": (
        GOLD,
        PRED,
        {"dev.jsonl": b'{"id": "d1", "scores": {"E11.9": NaN}}\n', "devgold.jsonl": GOLD.encode()},
        ["--tune-threshold-on", "--dev-gold"],
        "dev.jsonl",
    ),
    "NaN score in TSV": (GOLD, None, {"pred.tsv": b"d1\tE11.9\tnan\n"}, ["--pred"], "pred.tsv"),
    "label space not UTF-8": (GOLD, PRED, {"labels.txt": b"E11.9\n\xff\n"}, ["--label-space"], "l"),
    "CoPHE hierarchy not UTF-8": (
        GOLD,
        PRED,
        {"tree.json": b'{"E11.9": {"parents": ["E11\xff"]}}'},
        ["--hierarchy"],
        "tree.json",
    ),
    "CoPHE hierarchy with a huge number": (
        GOLD,
        PRED,
        {"tree.json": b'{"parents": 1' + b"0" * 5000 + b"}"},
        ["--hierarchy"],
        "tree.json",
    ),
}


@pytest.mark.parametrize("case", list(EVALUATE_CASES))
def test_evaluate_refuses_hostile_input(case, tmp_path, capsys):
    gold, pred, extra, options, name = EVALUATE_CASES[case]
    g, p = _files(tmp_path, gold or "", pred or PRED)
    if gold is None:
        g.unlink()
        g.mkdir()
    args = ["evaluate", "--gold", g, "--pred", p, "--out", tmp_path / "out", "--bootstrap", "0"]
    paths = []
    for (file_name, content), option in zip(extra.items(), options, strict=False):
        path = tmp_path / file_name
        path.write_bytes(content)
        paths.append(path)
        args += [option, path]
    if len(extra) > len(options):  # --tune-threshold-on F1 --dev-gold F2
        raise AssertionError("one option per extra file")
    if pred is None:  # the TSV replaces --pred
        args[args.index("--pred") + 1] = paths[0]
        del args[-2:]
    inputs = [g, p, *paths] if g.is_file() else [p, *paths]
    check_refused(capsys, args, name, inputs, [tmp_path / "out"], tmp_path)


def test_evaluate_refuses_an_existing_file_as_out(tmp_path, capsys):
    g, p = _files(tmp_path)
    out = tmp_path / "metrics"
    out.write_text("keep me")
    args = ["evaluate", "--gold", g, "--pred", p, "--out", out]
    check_refused(capsys, args, out, [g, p, out], [], tmp_path)
    assert out.read_text() == "keep me"


def test_evaluate_refuses_an_out_folder_holding_an_input_or_other_files(tmp_path, capsys):
    g, p = _files(tmp_path)
    args = ["evaluate", "--gold", g, "--pred", p, "--out", tmp_path, "--bootstrap", "0"]
    check_refused(capsys, args, tmp_path, [g, p], [tmp_path / "metrics.json"], tmp_path)
    notes = tmp_path / "mine"
    notes.mkdir()
    (notes / "thesis.tex").write_text("years of work")
    args[-3] = notes
    check_refused(capsys, args, notes, [g, p, notes / "thesis.tex"], [], tmp_path)
    assert sorted(p.name for p in notes.iterdir()) == ["thesis.tex"]


def test_evaluate_folder_is_replaced_whole_or_not_at_all(tmp_path, capsys, monkeypatch):
    """A failure while writing (here the plots) leaves the previous evaluation as it was."""
    import icdbridge.eval.report as report

    g, p = _files(tmp_path)
    out = tmp_path / "eval"
    args = ["evaluate", "--gold", g, "--pred", p, "--out", out, "--bootstrap", "0"]
    assert run_cli(args, capsys).code == 0
    before = digest(sorted(out.iterdir()))

    def broken(result, folder):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report, "_plots", broken)
    p.write_text('{"id": "d1", "scores": {"I10": 0.9}}\n')  # other metrics this time
    result = run_cli(args, capsys)
    assert result.code == 2 and "Traceback" not in result.err
    assert digest(sorted(out.iterdir())) == before
    assert leftovers(tmp_path) == []


def _evaluate(tmp_path, capsys, gold: str, pred: str, *options) -> tuple[dict, str, str]:
    g, p = _files(tmp_path, gold, pred)
    out = tmp_path / "out"
    result = run_cli(
        ["evaluate", "--gold", g, "--pred", p, "--out", out, "--bootstrap", "0", *options], capsys
    )
    assert result.code == 0, result.err
    metrics = _strict((out / "metrics.json").read_text(encoding="utf-8"))
    return metrics, (out / "report.md").read_text(encoding="utf-8"), result.out


def test_evaluate_uses_the_codes_the_model_chose(tmp_path, capsys):
    """`icdbridge predict` writes the chosen codes and the top-k scores: flat metrics use the
    codes (scores above 0.5 would predict 3 codes for d1), ranking uses the scores."""
    pred = (
        '{"id": "d1", "codes": ["E11.9"], "scores": {"E11.9": 0.99, "R50.9": 0.8, "I10": 0.6}}\n'
        '{"id": "d2", "codes": ["J18.9"], "scores": {"J18.9": 0.98, "R05.9": 0.7}}\n'
    )
    metrics, report, _ = _evaluate(tmp_path, capsys, GOLD, pred)
    flat = metrics["flat"]
    assert (flat["tp"]["value"], flat["fp"]["value"], flat["fn"]["value"]) == (2, 0, 1)
    assert metrics["inputs"]["flat_decision"] == "model codes"
    assert "flat metrics use: the codes the model chose" in report
    # d1: E11.9 at rank 1, I10 at rank 3 → AP (1 + 2/3) / 2; d2: J18.9 at rank 1 → AP 1
    assert metrics["ranking"]["map"]["value"] == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)


def test_evaluate_buckets_count_gold_codes_and_empty_ones_are_null(tmp_path, capsys):
    train = tmp_path / "train.jsonl"
    train.write_text(GOLD)  # every gold code seen: the unseen bucket has no gold code
    pred = '{"id": "d1", "codes": ["E11.9", "Z99.89"]}\n{"id": "d2", "codes": ["J18.9"]}\n'
    metrics, report, out = _evaluate(tmp_path, capsys, GOLD, pred, "--train-gold", train)
    unseen = metrics["by_frequency"]["unseen"]
    assert unseen["n_codes"]["value"] == 0  # Z99.89 is only predicted
    assert unseen["n_predicted_only_codes"]["value"] == 1
    assert unseen["micro_f1"]["value"] is None and unseen["recall@8"]["value"] is None
    assert metrics["by_frequency"]["few-shot"]["n_codes"]["value"] == 3
    assert "unseen recall@8 (0 gold codes)" in " ".join(out.split())
    assert "no codes" in out and "| unseen | 0 | no codes |" in report


def test_evaluate_sorts_chapters_naturally(tmp_path, capsys):
    gold = '{"id": "d1", "codes": ["J18.9", "C50.911", "E11.9"]}\n'
    metrics, _, _ = _evaluate(tmp_path, capsys, gold, gold, "--system", "icd10cm")
    assert list(metrics["by_chapter"]) == ["2", "4", "10"]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    gold=st.one_of(
        st.binary(max_size=200),
        st.lists(
            st.fixed_dictionaries(
                {"id": st.text(max_size=3), "codes": st.lists(st.text(max_size=6), max_size=3)}
            ),
            max_size=4,
        ).map(lambda rows: "".join(json.dumps(r) + "\n" for r in rows).encode()),
    ),
    pred=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=4),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(["id", "codes", "scores", "E11.9"]), inner)
            ),
            max_leaves=8,
        ).map(lambda value: (json.dumps(value) + "\n").encode()),
        st.lists(
            st.fixed_dictionaries(
                {
                    "id": st.sampled_from(["", "0", "1"]),
                    "scores": st.dictionaries(
                        st.sampled_from(["E11.9", "I10", "x"]), st.floats(), max_size=3
                    ),
                }
            ),
            max_size=3,
        ).map(lambda rows: "".join(json.dumps(r) + "\n" for r in rows).encode()),
    ),
)
def test_evaluate_random_files_never_crash(gold, pred, capsys):
    """Random bytes and random JSON: either an evaluation with strict JSON metrics, or a clean
    one-line refusal naming one of the files; never a traceback, never a modified input."""
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        g, p = _files(tmp, gold, pred)
        out = tmp / "out"
        before = digest([g, p])
        result = run_cli(
            ["evaluate", "--gold", g, "--pred", p, "--out", out, "--bootstrap", "0"], capsys
        )
        assert digest([g, p]) == before
        assert leftovers(tmp) == []
        if result.code == 0:
            _strict((out / "metrics.json").read_text(encoding="utf-8"))
        else:
            assert_refused(result, "gold.jsonl" if "gold.jsonl" in result.err else "pred.jsonl")
            assert not out.exists()


# --- codes ------------------------------------------------------------------------------------


def _tabulation_zip(compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("SimpleTabulation-ICD-11-MMS-en.txt", "Code\tTitle\n" + "x" * 50_000)
    return buffer.getvalue()


ZIPS = {
    "random bytes": os.urandom(300),
    "truncated": _tabulation_zip()[:400],
    "bad CRC": _tabulation_zip(zipfile.ZIP_STORED).replace(b"x" * 8, b"x" * 7 + b"y", 1),
    "empty": b"",
}


@pytest.mark.parametrize("kind", list(ZIPS))
def test_codes_refuses_a_corrupt_tabulation_zip(kind, tmp_path, capsys):
    path = tmp_path / "SimpleTabulation.zip"
    path.write_bytes(ZIPS[kind])
    args = ["codes", "lookup", "1A00", "--system", "icd11", "--icd11-tabulation", path]
    check_refused(capsys, args, path, [path], [], tmp_path)


def test_bad_crc_zip_is_really_damaged():
    """The CRC case above is a zip whose central directory is fine: only reading the member
    finds the damage (so the test covers reading, not just opening)."""
    with zipfile.ZipFile(io.BytesIO(ZIPS["bad CRC"])) as archive:
        assert archive.namelist()
        with pytest.raises(zipfile.BadZipFile):
            archive.read(archive.namelist()[0])


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_codes_refuses_a_hierarchy_file_that_is_not_utf8(suffix, tmp_path, capsys):
    path = tmp_path / f"national{suffix}"
    if suffix == ".csv":
        path.write_bytes(b"code,parent,title\nA00,,Chol\xe9ra\n")
    else:
        path.write_bytes(b'[{"code": "A00", "parent": null, "title": "Chol\xe9ra"}]')
    args = ["codes", "lookup", "A00", "--hierarchy", path]
    check_refused(capsys, args, path, [path], [], tmp_path)
    if suffix == ".csv":
        assert "national.csv, line 2: not UTF-8" in run_cli(args, capsys).err


HIERARCHY_FILES = {
    # name: (file name, content, line named in the error or None)
    "unterminated quote": (
        "national.csv",
        b'code,parent,title\nA00,,Cholera\nA01,,"Typhoid\nB00,,Herpes\n',
        3,
    ),
    "JSON nested too deeply": ("national.json", b"[" * 100_000, None),
    "JSON with a 5000-digit number": (
        "national.json",
        b'[{"code": "A00", "parent": null, "title": 1' + b"0" * 5000 + b"}]",
        None,
    ),
}


@pytest.mark.parametrize("case", list(HIERARCHY_FILES))
def test_codes_refuses_a_malformed_hierarchy_file(case, tmp_path, capsys):
    name, content, line = HIERARCHY_FILES[case]
    path = tmp_path / name
    path.write_bytes(content)
    args = ["codes", "lookup", "A00", "--hierarchy", path]
    result = check_refused(capsys, args, path, [path], [], tmp_path)
    if line is not None:
        assert f"{name}, line {line}:" in result.err


def test_codes_reads_a_hierarchy_title_longer_than_python_csv_default(tmp_path, capsys):
    """A 200,000-character title is read whatever ran before (one CSV field limit for all)."""
    import csv

    previous = csv.field_size_limit()
    csv.field_size_limit(131_072)  # Python's default, as in a fresh process
    try:
        path = tmp_path / "national.csv"
        path.write_bytes(b"code,parent,title\nA00,," + b"x" * 200_000 + b"\n")
        result = run_cli(["codes", "lookup", "A00", "--hierarchy", path, "--json"], capsys)
    finally:
        csv.field_size_limit(previous)
    assert result.code == 0, result.err
    assert "x" * 1000 in result.out


def _hierarchy(tmp_path: Path) -> Path:
    path = tmp_path / "national.csv"
    path.write_text("code,parent,title\nA00,,Cholera\nA00.0,A00,Classical cholera\n")
    return path


def test_codes_export_creates_a_missing_folder(tmp_path, capsys):
    source = _hierarchy(tmp_path)
    out = tmp_path / "new" / "deeper" / "copy.json"
    result = run_cli(["codes", "export", "--hierarchy", source, "-o", out], capsys)
    assert result.code == 0, result.err
    assert [n["code"] for n in json.loads(out.read_text())["nodes"]] == ["A00", "A00.0"]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("target", ["itself", "link to itself", "folder", "bad suffix", "under"])
def test_codes_export_refuses_a_bad_output(target, tmp_path, capsys):
    source = _hierarchy(tmp_path)
    out = {
        "itself": source,
        "link to itself": tmp_path / "link.csv",
        "folder": tmp_path,
        "bad suffix": tmp_path / "out.parquet",
        "under": source / "x.csv",
    }[target]
    if target == "link to itself":
        out.symlink_to(source)
    args = ["codes", "export", "--hierarchy", source, "-o", out]
    check_refused(capsys, args, out if target != "under" else source, [source], [], tmp_path)


def test_codes_export_interrupted_leaves_the_previous_file(tmp_path, capsys, monkeypatch):
    import csv

    source = _hierarchy(tmp_path)
    out = tmp_path / "copy.csv"
    out.write_text("previous export\n")

    class Broken(csv.DictWriter):
        def writerow(self, row):
            raise KeyboardInterrupt

    monkeypatch.setattr(csv, "DictWriter", Broken)
    result = run_cli(["codes", "export", "--hierarchy", source, "-o", out], capsys)
    assert result.code == 130 and "Traceback" not in result.err
    assert out.read_text() == "previous export\n"
    assert leftovers(tmp_path) == []


# --- predict (checks made before any model is loaded) -----------------------------------------


def _model_dir(folder: Path, *, config: object | None = None, weights: bytes | None = None) -> Path:
    """A model directory whose files pass the cheap checks (or the given broken ones)."""
    import torch
    from safetensors.torch import save

    from icdbridge.model.calibration import Calibrator
    from icdbridge.model.config import ModelConfig, PipelineConfig

    folder.mkdir(parents=True, exist_ok=True)
    if config is None:
        config = {
            "format_version": 2,
            "system": "icd10cm",
            "release": "2026",
            "pipeline": PipelineConfig().to_dict(),
            "model": ModelConfig(dim=8).to_dict(),
            "calibration": Calibrator().to_dict(),
            "has_memory": False,
        }
    text = config if isinstance(config, bytes) else json.dumps(config).encode()
    (folder / "config.json").write_bytes(text)
    if weights is None:
        weights = save({"unrelated": torch.zeros(2, 2)})
    (folder / "model.safetensors").write_bytes(weights)
    return folder


@pytest.fixture
def no_model_loading(monkeypatch):
    """Fail the test if predict gets as far as loading the model."""
    import icdbridge.model.io as pretrained

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the input was checked")

    monkeypatch.setattr(pretrained, "from_pretrained", refuse)


NOTES = '{"id": "n1", "text": "Fever and cough."}\n'
PREDICT_INPUTS = {
    "not UTF-8": b'{"id": "n1", "text": "Fi\xe8vre"}\n',
    "empty": b"",
    "blank": b"\n \n",
    "bad JSON": b'{"id": "n1", "text": \n',
    "no text": b'{"id": "n1"}\n',
    "array row": b"[1, 2]\n",
    "5000-digit integer": b'{"id": "n1", "text": "x", "n": 1' + b"0" * 5000 + b"}\n",
    "bad codes": b'{"id": "n1", "text": "x", "codes": "E11.9"}\n',
}


@pytest.mark.parametrize("case", list(PREDICT_INPUTS))
def test_predict_refuses_bad_input_before_loading(case, tmp_path, capsys, no_model_loading):
    model = _model_dir(tmp_path / "model")
    notes = tmp_path / "notes.jsonl"
    notes.write_bytes(PREDICT_INPUTS[case])
    out = tmp_path / "pred.jsonl"
    args = ["predict", model, notes, "-o", out]
    check_refused(capsys, args, notes, [notes, *model.iterdir()], [out], tmp_path)


@pytest.mark.parametrize("case", ["itself", "a folder", "under a file", "a model file"])
def test_predict_refuses_a_bad_output_before_loading(case, tmp_path, capsys, no_model_loading):
    model = _model_dir(tmp_path / "model")
    notes = tmp_path / "notes.jsonl"
    notes.write_text(NOTES)
    out = {
        "itself": notes,
        "a folder": tmp_path,
        "under a file": notes / "pred.jsonl",
        "a model file": model / "config.json",
    }[case]
    named = notes if case == "under a file" else out
    args = ["predict", model, notes, "-o", out]
    check_refused(capsys, args, named, [notes, *model.iterdir()], [], tmp_path)


def test_predict_accepts_unlabelled_notes_and_creates_the_output_folder(
    tmp_path, capsys, monkeypatch
):
    """Rows without codes or system pass the input check, and a missing output folder is
    created, before the model is loaded (here stopped right there)."""
    import icdbridge.model.io as pretrained
    from icdbridge.errors import IcdbridgeError

    def stop(*args, **kwargs):
        raise IcdbridgeError("stopped where the model would load")

    monkeypatch.setattr(pretrained, "from_pretrained", stop)
    model = _model_dir(tmp_path / "model")
    notes = tmp_path / "notes.jsonl"
    notes.write_text(NOTES + '{"id": "n2", "text": "Chest pain.", "codes": ["R07.9"]}\n')
    out = tmp_path / "new" / "pred.jsonl"
    result = run_cli(["predict", model, notes, "-o", out], capsys)
    assert result.code == 2 and "stopped where the model would load" in result.err
    assert out.parent.is_dir() and not out.exists()
    from icdbridge.data import read_unlabelled

    docs = read_unlabelled(notes)
    assert [(d.id, d.codes) for d in docs] == [("n1", []), ("n2", ["R07.9"])]


def _truncated_weights() -> bytes:
    import torch
    from safetensors.torch import save

    return save({"w": torch.zeros(64, 64)})[:-100]


MODEL_DIRS = {
    "config not JSON": ({"config": b"{not json"}, "config.json"),
    "config not UTF-8": ({"config": b'{"format_version": 2, "system": "\xff"}'}, "config.json"),
    "config without keys": ({"config": {"format_version": 2}}, "config.json"),
    "config a list": ({"config": [2]}, "config.json"),
    "config key of wrong type": (
        {"config": {"format_version": 2, "system": "icd10cm", "release": "2026",
                    "pipeline": [], "model": {}, "calibration": {}}},
        "config.json",
    ),
    "garbage weights": ({"weights": os.urandom(500)}, "model.safetensors"),
    "empty weights": ({"weights": b""}, "model.safetensors"),
    "truncated weights": ({"weights": _truncated_weights()}, "model.safetensors"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(MODEL_DIRS))
def test_predict_refuses_a_damaged_model_before_loading(case, tmp_path, capsys, no_model_loading):
    broken, name = MODEL_DIRS[case]
    model = _model_dir(tmp_path / "model", **broken)
    notes = tmp_path / "notes.jsonl"
    notes.write_text(NOTES)
    out = tmp_path / "pred.jsonl"
    args = ["predict", model, notes, "-o", out]
    check_refused(capsys, args, model / name, [notes, *model.iterdir()], [out], tmp_path)


def test_weights_that_do_not_fit_are_named(tmp_path):
    """Weights with a valid header but not this network's tensors fail while loading, still as
    one error naming the file (before any encoder or label space is built)."""
    from icdbridge.errors import InputFormatError
    from icdbridge.model.io import from_pretrained

    model = _model_dir(tmp_path / "model")
    with pytest.raises(InputFormatError, match=r"model\.safetensors: weights do not load"):
        from_pretrained(model)


# --- label cache ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["a file", "under a file", "impossible"])
def test_cache_folder_that_cannot_exist_is_one_line(where, tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    value = {
        "a file": blocker,
        "under a file": blocker / "cache",
        "impossible": Path("/proc/icdbridge-cache"),
    }[where]
    monkeypatch.setenv("ICDBRIDGE_CACHE", str(value))
    result = check_refused(capsys, ["cache", "list"], value, [blocker], [], tmp_path)
    assert "cache folder" in result.err and "ICDBRIDGE_CACHE" in result.err  # what to change


@pytest.fixture(scope="module")
def encoder():
    from icdbridge.model.text.encoder import TextEncoder

    return TextEncoder(precision="fp32")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong rows", "NaN"])
def test_a_damaged_cached_matrix_is_rebuilt(damage, encoder, tmp_path, caplog):
    import torch
    from safetensors.torch import save

    from icdbridge.codes import get_terminology
    from icdbridge.model.labels.cache import embed_labels

    terminology = get_terminology("icd10cm")
    codes = ["E11.9", "I10", "R50.9"]
    first = embed_labels(encoder, terminology, codes, cache_folder=tmp_path)
    (matrix,) = tmp_path.glob("*.safetensors")
    good = matrix.read_bytes()
    matrix.write_bytes(
        {
            "truncated": good[: len(good) // 2],
            "garbage": os.urandom(len(good)),
            "wrong rows": save({"matrix": torch.zeros(2, first.dim)}),
            "NaN": save({"matrix": torch.full((3, first.dim), math.nan)}),
        }[damage]
    )
    with caplog.at_level("WARNING"):
        again = embed_labels(encoder, terminology, codes, cache_folder=tmp_path)
    assert torch.equal(again.matrix, first.matrix)
    assert "damaged label-embedding cache file" in caplog.text and matrix.name in caplog.text
    assert matrix.read_bytes() == good  # rebuilt in place: later uses read it again
    caplog.clear()
    with caplog.at_level("WARNING"):
        embed_labels(encoder, terminology, codes, cache_folder=tmp_path)
    assert "damaged" not in caplog.text
    assert leftovers(tmp_path) == []


def test_a_custom_system_name_never_leaves_the_cache(encoder, tmp_path):
    from icdbridge.codes import load_hierarchy
    from icdbridge.model.labels.cache import cached_label_sets, embed_labels

    source = tmp_path / "data" / "national.json"
    source.parent.mkdir()
    nodes = [{"code": "A00", "parent": None, "title": "Cholera"}]
    source.write_text(json.dumps({"system": "../../escaped", "release": "../x", "nodes": nodes}))
    terminology = load_hierarchy(source)
    assert terminology.system == "../../escaped"
    cache = tmp_path / "a" / "b" / "cache"
    embed_labels(encoder, terminology, ["A00"], cache_folder=cache)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != source]
    assert written and all(p.parent == cache for p in written), written
    (entry,) = cached_label_sets(cache)
    assert entry.complete and entry.system == "../../escaped"


# --- datasets download ------------------------------------------------------------------------


def _zenodo(name: str, payload: bytes):
    import hashlib

    reply = {
        "files": [
            {
                "key": name,
                "checksum": "md5:" + hashlib.md5(payload).hexdigest(),
                "links": {"self": "https://example.org/file"},
            }
        ]
    }

    def fetch(url: str) -> bytes:
        return json.dumps(reply).encode() if "api/records" in url else payload

    return fetch


def _archive(member: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("final/train/trainD.tsv", "d1\te11.9\n")
        archive.writestr(member, "escaped")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name",
    ["../escaped.zip", "../../escaped.tsv", "/tmp/escaped.zip", ".bashrc", "a/b.zip", "SHA256SUMS"],
)
def test_download_refuses_file_names_outside_the_folder(name, tmp_path, capsys, monkeypatch):
    import icdbridge.data.download as download

    monkeypatch.setattr(download, "_http_get", _zenodo(name, b"payload"))
    out = tmp_path / "deep" / "data"
    args = ["datasets", "download", "codiesp", "-o", out]
    check_refused(capsys, args, repr(name), [], [], tmp_path)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("member", ["../../escaped.txt", "/tmp/icdbridge-escaped.txt"])
def test_download_refuses_archive_members_outside_the_folder(member, tmp_path, capsys, monkeypatch):
    import icdbridge.data.download as download

    monkeypatch.setattr(download, "_http_get", _zenodo("codiesp.zip", _archive(member)))
    out = tmp_path / "deep" / "data"
    check_refused(capsys, ["datasets", "download", "codiesp", "-o", out], member, [], [], tmp_path)
    assert not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/icdbridge-escaped.txt").exists()
    assert not (out / "final").exists()  # nothing of the archive was unpacked


# --- train --resume: a run folder is data, never code -----------------------------------------


class Payload:
    """Unpickling this creates the marker file: what a crafted checkpoint would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _run_folder(tmp_path: Path, best: str, checkpoint: object | None, name: str = "best.ckpt"):
    import torch

    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    record = {"best": best, "epochs": 1, "stopped_early": True, "history": []}
    (folder / "finished.json").write_text(json.dumps(record))
    if checkpoint is not None:
        torch.save(checkpoint, folder / name)
    return folder


def _resume(folder: Path):
    from icdbridge.model.config import ModelConfig, TrainConfig
    from icdbridge.model.train.loop import FeaturisedData, train_networks

    config = ModelConfig(dim=8)
    no_data = FeaturisedData(memory=None, train=[], dev=[])
    return train_networks(config, None, no_data, TrainConfig(epochs=1, members=1), folder, True)


def test_resume_never_unpickles_code(tmp_path):
    from icdbridge.errors import InputFormatError

    marker = tmp_path / "marker"
    folder = _run_folder(tmp_path, "best.ckpt", {"state_dict": Payload(marker)})
    with pytest.raises(InputFormatError, match=r"best\.ckpt: not a checkpoint of plain weights"):
        _resume(folder)
    assert not marker.exists()


def test_resume_never_unpickles_code_from_last_ckpt(tmp_path):
    from icdbridge.errors import InputFormatError

    marker = tmp_path / "marker"
    folder = _run_folder(tmp_path, "best.ckpt", Payload(marker), name="last.ckpt")
    (folder / "finished.json").unlink()  # an unfinished network resumes from last.ckpt
    with pytest.raises(InputFormatError, match=r"last\.ckpt: not a checkpoint of plain weights"):
        _resume(folder)
    assert not marker.exists()


@pytest.mark.parametrize("best", ["../../outside.ckpt", "/tmp/outside.ckpt", "link.ckpt"])
def test_resume_reads_only_inside_the_run_folder(best, tmp_path):
    import torch

    from icdbridge.paths import UnsafePathError

    outside = tmp_path / "outside.ckpt"
    torch.save({"state_dict": {}}, outside)
    folder = _run_folder(tmp_path, best if best != "/tmp/outside.ckpt" else str(outside), None)
    if best == "link.ckpt":
        (folder / "link.ckpt").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="leaves the folder"):
        _resume(folder)


def test_resume_loads_a_checkpoint_of_plain_weights(tmp_path):
    import torch

    from icdbridge.model.config import ModelConfig
    from icdbridge.model.net.network import LabelEmbeddingModel

    reference = LabelEmbeddingModel(ModelConfig(dim=8))
    weights = {f"model.{k}": v + 1 for k, v in reference.state_dict().items()}
    folder = _run_folder(tmp_path, "best.ckpt", {"state_dict": weights, "epoch": 3})
    model, history = _resume(folder)
    assert history == []
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[f"model.{key}"])


def test_a_damaged_finished_record_is_one_line(tmp_path):
    from icdbridge.errors import InputFormatError

    folder = _run_folder(tmp_path, "best.ckpt", None)
    (folder / "finished.json").write_text('{"best": 3}')
    with pytest.raises(InputFormatError, match=r"finished\.json: expected an object"):
        _resume(folder)


@pytest.mark.parametrize("case", ["out is a file", "out holds the input", "train not UTF-8"])
def test_train_refuses_before_training(case, tmp_path, capsys):
    train = tmp_path / "train.jsonl"
    dev = tmp_path / "dev.jsonl"
    row = '{"id": "a", "text": "fever", "codes": ["R50.9"], "system": "icd10cm"}\n'
    train.write_bytes(row.encode() if case != "train not UTF-8" else b'{"id": "\xff"}\n')
    dev.write_text(row)
    out = {"out is a file": dev, "out holds the input": tmp_path}.get(case, tmp_path / "model")
    named = {"out is a file": dev, "out holds the input": tmp_path}.get(case, train)
    args = ["train", "--train", train, "--dev", dev, "--out", out]
    check_refused(capsys, args, named, [train, dev], [tmp_path / "model"], tmp_path)


def test_old_mac_line_endings_are_read_and_lines_counted(tmp_path, capsys):
    """CR-only files (old Mac exports) read like any other; an error names the right line."""
    metrics, _, _ = _evaluate(tmp_path, capsys, GOLD.replace("\n", "\r"), PRED.replace("\n", "\r"))
    assert metrics["inputs"]["n_documents"] == 2 and metrics["flat"]["tp"]["value"] == 2
    g, p = _files(tmp_path, NOT_UTF8.replace(b"\n", b"\r"), PRED)
    result = run_cli(["evaluate", "--gold", g, "--pred", p, "--out", tmp_path / "o2"], capsys)
    assert "gold.jsonl, line 2: not UTF-8 text (byte 0xff at column 28)" in result.err
