"""`icdbridge cache`: listing and clearing the label-embedding cache on real cached sets."""

from __future__ import annotations

import os
import threading
import time

import pytest

from icdbridge.cli import main as cli
from icdbridge.codes import get_terminology
from icdbridge.model.labels.cache import CACHE_SUBDIR, cached_label_sets, embed_labels
from icdbridge.model.labels.texts import LabelTextOptions

CODES = ["E11.9", "I10", "R50.9"]
DAY = 24 * 3600


@pytest.fixture(scope="module")
def encoder():
    from icdbridge.model.text.encoder import TextEncoder

    return TextEncoder()


@pytest.fixture
def folder(tmp_path, monkeypatch, encoder):
    """A cache with two complete sets (the second used 20 days ago) and the leftover file of an
    interrupted build (5 days ago)."""
    monkeypatch.setenv("ICDBRIDGE_CACHE", str(tmp_path))
    folder = tmp_path / CACHE_SUBDIR
    cm = get_terminology("icd10cm")
    embed_labels(
        encoder, cm, CODES, LabelTextOptions(synonyms=True, ancestors=False), cache_folder=folder
    )
    old = embed_labels(
        encoder, cm, CODES, LabelTextOptions(synonyms=False, ancestors=False), cache_folder=folder
    )
    then = time.time() - 20 * DAY
    for path in folder.glob(f"*{old.key[:20]}*"):
        os.utime(path, (then, then))
    leftover = folder / "icd10cm-2026-0123456789abcdef0123.safetensors.4242.tmp"
    leftover.write_bytes(b"x" * 10)
    os.utime(leftover, (then + 15 * DAY, then + 15 * DAY))
    return folder


def run(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["cache", *args])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_list_describes_every_set_most_recent_first(folder, capsys):
    sets = cached_label_sets(folder)
    assert [s.complete for s in sets] == [True, False, True]
    assert sets[0].options["synonyms"] and not sets[2].options["synonyms"]
    assert sets[0].n_codes == 3 and sets[0].precision == "fp32"
    code, out, _ = run(["list"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert "description + 3 synonyms" in lines[1]
    assert "incomplete" in lines[2]
    assert "icd10cm 2026, 3 codes, fp32, description, encoder" in lines[3]
    assert lines[-1].startswith("3 sets")


def test_a_cache_hit_marks_the_set_used(folder, encoder):
    stale = cached_label_sets(folder)[-1]
    assert time.time() - stale.last_used.timestamp() > 19 * DAY
    embed_labels(
        encoder,
        get_terminology("icd10cm"),
        CODES,
        LabelTextOptions(synonyms=False, ancestors=False),
        cache_folder=folder,
    )
    again = {s.key: s for s in cached_label_sets(folder)}[stale.key]
    assert time.time() - again.last_used.timestamp() < DAY


def test_clear_needs_all_or_a_filter(folder, capsys):
    for args in (["clear"], ["clear", "--all", "--system", "icd10cm"]):
        code, _, err = run(args, capsys)
        assert code == 2 and "--all" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(["clear", "--unused-days", "-1"], capsys)
    assert code == 2 and "-1" in err
    assert len(cached_label_sets(folder)) == 3


def test_clear_by_filters(folder, capsys, encoder):
    files = sorted(folder.iterdir())
    code, out, _ = run(["clear", "--unused-days", "10", "--dry-run"], capsys)
    assert code == 0 and "would remove" in out and sorted(folder.iterdir()) == files

    code, out, _ = run(["clear", "--incomplete"], capsys)
    assert code == 0 and "removed 1 sets" in out
    assert all(s.complete for s in cached_label_sets(folder))

    stale = cached_label_sets(folder)[-1]
    code, out, _ = run(["clear", "--unused-days", "10"], capsys)
    assert code == 0 and "removed 1 sets" in out
    assert [s.key for s in cached_label_sets(folder)] != [stale.key]
    assert len(cached_label_sets(folder)) == 1

    code, out, _ = run(["clear", "--system", "icd9cm"], capsys)
    assert code == 0 and "nothing to remove" in out
    code, out, _ = run(["clear", "--all"], capsys)
    assert code == 0 and cached_label_sets(folder) == []
    code, out, _ = run(["list"], capsys)
    assert "no label embeddings cached" in out

    # a removed set is simply encoded again
    again = embed_labels(
        encoder,
        get_terminology("icd10cm"),
        CODES,
        LabelTextOptions(synonyms=False, ancestors=False),
        cache_folder=folder,
    )
    assert again.key == stale.key


def test_a_removal_waits_for_a_build_in_progress(folder, encoder):
    from filelock import FileLock

    from icdbridge.model.labels.cache import LOCK_NAME, remove_label_sets

    assert (folder / LOCK_NAME).is_file()  # written by the builds of the fixture
    victim = cached_label_sets(folder)[0]
    build = FileLock(str(folder / LOCK_NAME))  # what a builder holds while it encodes and writes
    build.acquire()
    remover = threading.Thread(target=remove_label_sets, args=([victim],))
    remover.start()
    remover.join(0.5)
    try:
        assert remover.is_alive()  # it cannot pass the lock
        assert all(path.exists() for path in victim.files)
    finally:
        build.release()
    remover.join()
    assert not any(path.exists() for path in victim.files)
    assert victim.key not in {s.key for s in cached_label_sets(folder)}


def test_a_build_waits_for_the_lock(folder, encoder):
    from filelock import FileLock

    from icdbridge.model.labels.cache import LOCK_NAME

    cm = get_terminology("icd10cm")
    options = LabelTextOptions(synonyms=False, ancestors=True)
    held = FileLock(str(folder / LOCK_NAME))
    held.acquire()
    results = []

    def build() -> None:
        results.append(embed_labels(encoder, cm, CODES, options, cache_folder=folder))

    builder = threading.Thread(target=build)
    builder.start()
    builder.join(0.5)
    try:
        assert builder.is_alive() and not results
    finally:
        held.release()
    builder.join()
    again = embed_labels(encoder, cm, CODES, options, cache_folder=folder)  # now a cache hit
    assert results[0].key == again.key and len(cached_label_sets(folder)) == 4
    assert (results[0].matrix == again.matrix).all()
