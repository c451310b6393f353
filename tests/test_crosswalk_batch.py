"""The batch path of Crosswalk.map_many: C kernel and pure Python give the same results."""

from __future__ import annotations

import gc
import os
import shutil
import sys
import sysconfig

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icdbridge.crosswalk import get_crosswalk
from icdbridge.crosswalk.chain import PURE_PYTHON_VARIABLE, Crosswalk, batch_kernel

try:
    from icdbridge.crosswalk import _batch
except ImportError:  # reported by test_kernel_is_built_in_this_install
    _batch = None

needs_kernel = pytest.mark.skipif(
    _batch is None, reason="C kernel not built (see test_kernel_is_built_in_this_install)"
)


class Code(str):
    """A str subclass: the kernel must leave it to Python (it could override __hash__/__eq__)."""


class Collider:
    """A dict key whose hash equals a string's; its __eq__ empties the list being mapped."""

    def __init__(self, text: str, victim: list[object]) -> None:
        self.text, self.victim = text, victim

    def __hash__(self) -> int:
        return hash(self.text)

    def __eq__(self, other: object) -> bool:
        self.victim.clear()
        return False


class Collector:
    """A dict key whose hash equals a string's; its __eq__ runs the garbage collector."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __hash__(self) -> int:
        return hash(self.text)

    def __eq__(self, other: object) -> bool:
        gc.collect()
        return False


def _compiler() -> str | None:
    cc = sysconfig.get_config_var("CC")
    return shutil.which(cc.split()[0]) if cc else None


def test_kernel_is_built_in_this_install() -> None:
    if _batch is None:
        reason = (
            "icdbridge.crosswalk._batch is not importable; reinstall (pip install -e .) with a C "
            "compiler present"
        )
        if os.environ.get("CI") or _compiler():
            pytest.fail(f"{reason} (a compiler is available here: {_compiler()})")
        pytest.skip(f"{reason}: no C compiler on this machine, the pure-Python path is used")
    wanted = None if os.environ.get(PURE_PYTHON_VARIABLE) == "1" else _batch
    assert batch_kernel() is wanted


def test_environment_variable_forces_the_pure_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PURE_PYTHON_VARIABLE, "1")
    batch_kernel.cache_clear()
    try:
        assert batch_kernel() is None
        crosswalk = get_crosswalk("icd9cm", "icd10cm")
        assert [m.codes for m in crosswalk.map_many(["0389", "073.0", None])] == [
            ["A41.9"],
            ["A70", "J17"],
            [],
        ]
    finally:
        monkeypatch.undo()
        batch_kernel.cache_clear()
    assert batch_kernel() is _batch


# --------------------------------------------------------------------- the kernel on its own
@needs_kernel
def test_kernel_hand_case() -> None:
    a, b, five = object(), object(), object()
    fast = {"a": a, "b": b, 5: five}
    same, fresh = "a", ("a" + ".")[:-1]
    codes = [same, "b", None, 5, "zz", same, [1], Code("a"), ("a",), fresh, "a\x00", fresh, 5.0]
    results, raw = _batch.lookup(fast, codes)
    assert results == [a, b, None, five, None, a, None, None, None, a, None, a, five]
    assert list(memoryview(raw).cast("q")) == [2, 4, 6, 7, 8, 10]  # None is not a key here
    assert _batch.lookup(fast, []) == ([], b"")


@needs_kernel
@pytest.mark.parametrize("cache_limit", [0, 1, 3, 65536])
def test_kernel_keeps_reference_counts(cache_limit: int) -> None:
    value, key = object(), "".join(["0", "389"])
    fast = {"0389": value}
    codes = [key, "x", key] * 50
    before = sys.getrefcount(value), sys.getrefcount(key)
    results, _ = _batch.lookup(fast, codes, cache_limit=cache_limit)
    assert sys.getrefcount(value) == before[0] + 100  # one per result, the cache let go
    del results
    assert (sys.getrefcount(value), sys.getrefcount(key)) == before


@needs_kernel
def test_kernel_rejects_wrong_types() -> None:
    with pytest.raises(TypeError):
        _batch.lookup({}, ("a",))
    with pytest.raises(TypeError):
        _batch.lookup([], ["a"])


@needs_kernel
def test_kernel_survives_a_list_emptied_during_the_pass() -> None:
    codes: list[object] = ["abc", "abc", "def"]
    fast = {Collider("abc", codes): 1, "def": 2}
    with pytest.raises(RuntimeError, match="changed size"):
        _batch.lookup(fast, codes)


@needs_kernel
def test_kernel_survives_a_garbage_collection_during_the_pass() -> None:
    value = [object()]  # a container, tracked by the collector
    fast = {Collector("abc"): 1, "x": value}
    codes = ["x"] * 100 + ["abc"] + [("x" + ".")[:-1] for _ in range(100)]
    before = sys.getrefcount(value)
    results, raw = _batch.lookup(fast, codes)
    assert results == [value] * 100 + [None] + [value] * 100
    assert list(memoryview(raw).cast("q")) == [100]
    assert sys.getrefcount(value) == before + 200
    del results
    gc.collect()
    assert sys.getrefcount(value) == before


@needs_kernel
def test_kernel_after_the_cache_is_full_and_no_longer_probed() -> None:
    fast = {str(i): i for i in range(100)}
    distinct = [(str(i % 100) + ".")[:-1] for i in range(20_000)]  # fills, then rarely hits
    shared = list(fast) * 100  # repeated objects after the cache stopped being probed
    codes = [*distinct, *shared, "missing"]
    for limit in (0, 8, 65536):
        results, raw = _batch.lookup(fast, codes, cache_limit=limit)
        assert results == [*(int(c) for c in distinct), *(int(c) for c in shared), None]
        assert list(memoryview(raw).cast("q")) == [len(codes) - 1]


# Short ASCII keys (text cache), NUL inside, 8 and 9 characters, non-ASCII (dictionary only).
KEYS = ["a", "b", "ab", "", " a", "a\x00", "\x00", "abcdefgh", "abcdefghi", "é", "aé", "0389"]
kernel_values = st.one_of(
    st.sampled_from(KEYS),  # the same objects again and again
    st.sampled_from(KEYS).map(lambda c: (c + ".")[:-1]),  # equal strings, distinct objects
    st.sampled_from(KEYS).map(lambda c: c + "\x00"),  # the same bytes, one more character
    st.text(max_size=3),
    st.none(),
    st.integers(-3, 3),
    st.floats(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.tuples(st.sampled_from(KEYS)),
    st.sampled_from(KEYS).map(Code),
)
PLAIN = (str, int, float, bool, type(None))  # what the kernel looks up itself


@needs_kernel
@given(st.lists(kernel_values, max_size=60), st.integers(0, 6))
@settings(max_examples=300, deadline=None)
def test_kernel_matches_a_reference(codes: list[object], cache_limit: int) -> None:
    fast: dict[object, object] = {key: object() for key in KEYS}
    fast[1] = object()
    fast[None] = object()
    fast[("a",)] = object()  # a tuple key: still left to Python
    results, raw = _batch.lookup(fast, codes, cache_limit=cache_limit)
    known = [type(c) in PLAIN and c in fast for c in codes]
    assert results == [fast[c] if k else None for c, k in zip(codes, known, strict=True)]
    assert all(r is fast[c] for c, r, k in zip(codes, results, known, strict=True) if k)
    assert list(memoryview(raw).cast("q")) == [i for i, k in enumerate(known) if not k]


# --------------------------------------------------------------------- map_many, both paths
@pytest.fixture(scope="module")
def pairs() -> dict[str, tuple[Crosswalk, Crosswalk]]:
    """Per direction, a kernel crosswalk and a pure-Python one over the same tables.

    Both see the same inputs in the same order, so their memos evolve alike and every result,
    and which results are shared objects, must agree.
    """
    out = {}
    for source, target in (("icd9cm", "icd10cm"), ("icd10cm", "icd9cm"), ("icd9cm", "icd10who")):
        hops = get_crosswalk(source, target).hops
        out[f"{source}-{target}"] = (Crosswalk(hops), Crosswalk(hops, use_kernel=False))
    return out


SPELLINGS = [
    "038.9",
    "0389",
    " 038.9 ",
    "0389\t",
    "e888.9",
    "E8889",
    "073.0",
    "0730",
    "365.70",
    "250.00",
    "25000",
    "V58.69",
    "999.99",
    "038.90",
    "A41.9",
    "A419",
    "a41.9",
    "E11.9",
    "Z68.1",
]
map_values = st.one_of(
    st.sampled_from(SPELLINGS),
    st.sampled_from(SPELLINGS).map(lambda c: (c + ".")[:-1]),
    st.sampled_from(SPELLINGS).map(Code),
    st.text(max_size=8),
    st.none(),
    st.integers(-2, 100_000),
    st.floats(),
    st.booleans(),
    st.lists(st.text(max_size=2), max_size=2),
    st.tuples(st.sampled_from(SPELLINGS)),
)


def _sharing(results: list[object]) -> list[int]:
    """For each result, the position of the first identical object."""
    first: dict[int, int] = {}
    return [first.setdefault(id(r), i) for i, r in enumerate(results)]


@given(
    st.sampled_from(["icd9cm-icd10cm", "icd10cm-icd9cm", "icd9cm-icd10who"]),
    st.lists(map_values, max_size=40),
    st.sampled_from(["all", "all", "best"]),
)
@settings(max_examples=200, deadline=None)
def test_kernel_and_pure_paths_agree(
    pairs: dict[str, tuple[Crosswalk, Crosswalk]], pair: str, codes: list[object], policy: str
) -> None:
    kernel, pure = pairs[pair]
    got, want = kernel.map_many(codes, policy), pure.map_many(codes, policy)
    assert len(got) == len(want) == len(codes)
    assert [m.to_dict() for m in got] == [m.to_dict() for m in want]
    assert _sharing(got) == _sharing(want)
    for code, mapping in zip(codes, got, strict=True):
        if not isinstance(code, str):
            assert mapping.status == "invalid-code"


def test_every_icd9_code_same_objects_either_way() -> None:
    from icdbridge.codes import get_terminology

    icd9 = get_terminology("icd9cm")
    dotted = icd9.codes(leaves_only=True)
    codes = [*dotted, *(icd9.to_undotted(c) for c in dotted)]
    crosswalk = Crosswalk(get_crosswalk("icd9cm", "icd10cm").hops)
    with_kernel = crosswalk.map_many(codes)
    crosswalk.use_kernel = False
    without = crosswalk.map_many(codes)
    assert all(a is b for a, b in zip(with_kernel, without, strict=True))
    assert with_kernel[dotted.index("038.9")].codes == ["A41.9"]
    assert {m.status for m in with_kernel} >= {"combination", "no-map", "mapped"}
