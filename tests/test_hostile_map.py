"""Hostile input for `icdbridge map`: every bad file, path or fault is one line, nothing is lost.

Each refused case asserts the guarantees of ``tests/cli_harness.py``: exit status 2, one
``error:`` line naming the offending file, no traceback, inputs byte-identical afterwards, nothing
at the final output path (or the previous output and report byte-identical when there was one),
no temporary file left. Accepted-but-odd inputs (long fields, CR-only line endings, surrogate
escapes...) must keep every row. Hypothesis then throws random bytes, random CSV dialects and
random JSON lines at the migration: it either keeps every row or refuses cleanly.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_harness import assert_refused, digest, leftovers, run_cli
from icdbridge.crosswalk import get_crosswalk
from icdbridge.crosswalk import migrate as migrate_module
from icdbridge.crosswalk.migrate import migrate, report_paths
from icdbridge.errors import IcdbridgeError
from icdbridge.outputs import TEMP_PREFIX
from icdbridge.tables import delimited

ROUTE = ["--from", "icd9cm", "--to", "icd10cm"]
CODES = ["038.9", "0389", "250.00", "401.9", "999.99", "not a code", ""]


@pytest.fixture(scope="module")
def xw():
    return get_crosswalk("icd9cm", "icd10cm")


def _csv(rows: int = 50) -> bytes:
    lines = ["id,code,note"] + [f"{i},{CODES[i % len(CODES)]},note {i}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _parquet(path: Path, table: pa.Table, **options) -> None:
    pq.write_table(table, path, **options)


def _corrupt_page(path: Path) -> None:
    """A Parquet file whose footer is intact but whose second row group's data is garbage."""
    table = pa.table({"code": [CODES[i % 5] + str(i) for i in range(60_000)], "n": range(60_000)})
    pq.write_table(table, path, row_group_size=20_000, compression="snappy")
    meta = pq.read_metadata(path)
    column = meta.row_group(1).column(0)
    start = column.data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 20 : start + 2_000] = bytes((i * 37 + 11) % 256 for i in range(1_980))
    path.write_bytes(bytes(data))


@dataclass(frozen=True)
class Case:
    """One hostile run: build the files in ``folder``, return (argv tail, name the error names)."""

    name: str
    build: Callable[[Path], tuple[list[str], str]]
    output: str = "out.csv"
    """Output file name inside the folder (checked: absent / previous output unchanged)."""


def _input(content: bytes, name: str = "in.csv") -> Callable[[Path], tuple[list[str], str]]:
    def build(folder: Path) -> tuple[list[str], str]:
        (folder / name).write_bytes(content)
        return [str(folder / name)], name

    return build


def _onto_input(spelling: Callable[[Path], str], name: str = "in.csv"):
    def build(folder: Path) -> tuple[list[str], str]:
        (folder / name).write_bytes(_csv() if name.endswith(".csv") else b'{"code": "038.9"}\n')
        return [str(folder / name), "-o", spelling(folder)], name

    return build


def _symlink(folder: Path) -> str:
    (folder / "link.csv").symlink_to(folder / "in.csv")
    return str(folder / "link.csv")


def _hardlink(folder: Path) -> str:
    os.link(folder / "in.csv", folder / "hard.csv")
    return str(folder / "hard.csv")


def _relative(folder: Path) -> str:
    return os.path.relpath(folder / "in.csv")


def _dot_slash(folder: Path) -> str:
    return str(folder / "." / "in.csv")


def _unknown_output(folder: Path) -> tuple[list[str], str]:
    (folder / "in.csv").write_bytes(_csv())
    return [str(folder / "in.csv"), "-o", str(folder / "out.xlsx")], "out.xlsx"


def _folder_input(folder: Path) -> tuple[list[str], str]:
    (folder / "data.csv").mkdir()
    return [str(folder / "data.csv")], "data.csv"


def _missing_input(folder: Path) -> tuple[list[str], str]:
    return [str(folder / "nothing.csv")], "nothing.csv"


def _parent_is_file(folder: Path) -> tuple[list[str], str]:
    (folder / "in.csv").write_bytes(_csv())
    (folder / "plain").write_text("a file, not a folder")
    return [str(folder / "in.csv"), "-o", str(folder / "plain" / "out.csv")], "plain"


def _output_folder(folder: Path) -> tuple[list[str], str]:
    (folder / "in.csv").write_bytes(_csv())
    (folder / "result.csv").mkdir()
    return [str(folder / "in.csv"), "-o", str(folder / "result.csv")], "result.csv"


def _dev_full(folder: Path) -> tuple[list[str], str]:
    (folder / "in.csv").write_bytes(_csv())
    return [str(folder / "in.csv"), "-o", "/dev/full"], "/dev/full"


def _parquet_case(make: Callable[[Path], None], name: str = "in.parquet"):
    def build(folder: Path) -> tuple[list[str], str]:
        make(folder / name)
        return [str(folder / name)], name

    return build


def _report_onto_input(folder: Path) -> tuple[list[str], str]:
    """The report stem chosen so that STEM.md is the GEM file the run reads."""
    (folder / "in.csv").write_bytes(_csv())
    (folder / "gem.md").write_text("0389  A419    00000\n")
    argv = [str(folder / "in.csv"), "--gem", str(folder / "gem.md")]
    return [*argv, "--report", str(folder / "gem")], "gem.md"


def _extra_key(folder: Path) -> tuple[list[str], str]:
    (folder / "in.jsonl").write_text('{"code": "038.9"}\n{"code": "250.00", "extra": 1}\n')
    return [str(folder / "in.jsonl")], "in.jsonl"


def _too_long_name(folder: Path) -> tuple[list[str], str]:
    (folder / "in.csv").write_bytes(_csv())
    name = "x" * 300 + ".csv"
    return [str(folder / "in.csv"), "-o", str(folder / name)], name


_BIG = _csv(3_000)
_MID_FILE = _BIG.replace(b"\n1500,", b"\n1500,\xff", 1)

CASES = [
    Case("onto-input", _onto_input(lambda f: str(f / "in.csv")), output="in.csv"),
    Case("onto-input-dot-slash", _onto_input(_dot_slash), output="in.csv"),
    Case("onto-input-relative", _onto_input(_relative), output="in.csv"),
    Case("onto-input-symlink", _onto_input(_symlink), output="link.csv"),
    Case("onto-input-hardlink", _onto_input(_hardlink), output="hard.csv"),
    Case(
        "onto-input-jsonl",
        _onto_input(lambda f: str(f / "in.jsonl"), "in.jsonl"),
        output="in.jsonl",
    ),
    Case("report-onto-input", _report_onto_input),
    Case("input-is-folder", _folder_input),
    Case("input-missing", _missing_input),
    Case("output-is-folder", _output_folder, output="result.csv"),
    Case("output-parent-is-file", _parent_is_file, output="plain"),
    Case("output-dev-full", _dev_full, output=""),
    Case("output-name-too-long", _too_long_name, output=""),
    Case("unknown-output-type", _unknown_output, output="out.xlsx"),
    Case("unknown-input-type", _input(b"code\n038.9\n", "in.xlsx")),
    Case("bad-utf8-mid-file", _input(_MID_FILE)),
    Case("utf16", _input("code\n038.9\n".encode("utf-16"))),
    Case("ragged-row", _input(_BIG.replace(b"\n2000,", b"\n2000,x,y,", 1))),
    Case("unterminated-quote", _input(_BIG.replace(b"\n1000,", b'\n1000,"', 1))),
    Case(
        "unterminated-quote-closed-later",
        _input(b'id,code,note\n1,038.9,"open\n2,250.00,x\n3,401.9,"closed"\n'),
    ),
    Case("duplicate-header", _input(b"code,id,code\n038.9,1,250.00\n")),
    Case("wrong-delimiter", _input(b"id;code\n1;038.9\n")),
    Case("empty-file", _input(b"")),
    Case("migrated-and-renamed", _input(b"code,map_status,input_map_status\n038.9,a,b\n")),
    Case("bad-json-mid-file", _input(b'{"code": "038.9"}\n{"code": \n', "in.jsonl")),
    Case("json-not-object", _input(b'["038.9"]\n', "in.jsonl")),
    Case("json-5000-digits", _input(b'{"code": ' + b"9" * 5000 + b"}\n", "in.jsonl")),
    Case(
        "json-deeply-nested",
        _input(b'{"code": "038.9", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", "in.jsonl"),
    ),
    Case("json-duplicate-key", _input(b'{"code": "038.9", "code": "250.00"}\n', "in.jsonl")),
    Case("json-extra-key-to-csv", _extra_key),
    Case("json-truncated-last-line", _input(b'{"code": "038.9"}\n{"code": "25', "in.jsonl")),
    Case("parquet-not-parquet", _input(b"PAR1 this is not parquet PAR1", "in.parquet")),
    Case(
        "parquet-truncated",
        _parquet_case(
            lambda p: (
                _parquet(p, pa.table({"code": CODES})),
                p.write_bytes(p.read_bytes()[:-30]),
            )
        ),
    ),
    Case("parquet-corrupt-page", _parquet_case(_corrupt_page)),
    Case(
        "parquet-list-column",
        _parquet_case(lambda p: _parquet(p, pa.table({"code": [["038.9"], ["250.00"]]}))),
    ),
    Case(
        "parquet-struct-column",
        _parquet_case(lambda p: _parquet(p, pa.table({"code": [{"a": "038.9"}, {"a": "1"}]}))),
    ),
    Case(
        "parquet-duplicate-columns",
        _parquet_case(
            lambda p: _parquet(
                p, pa.Table.from_arrays([pa.array(["038.9"]), pa.array(["1"])], ["code", "code"])
            )
        ),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input_is_refused_in_one_line(tmp_path: Path, capsys, case: Case) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    argv, name = case.build(folder)
    if "-o" not in argv:
        argv += ["-o", str(folder / case.output)]
    inputs = [p for p in folder.iterdir() if p.is_file() and not p.is_symlink()]
    before = digest(inputs)
    output = folder / case.output if case.output else None
    had_output = output is not None and output.exists()
    result = run_cli(["map", *argv, *ROUTE], capsys)
    assert_refused(result, name)
    assert digest(inputs) == before
    if output is not None and not had_output:
        assert not output.exists(), f"{output} was written"
    assert not list(folder.glob("*.report.*")) or case.name == "report-onto-input"
    assert leftovers(folder) == []


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.output == "out.csv"],
    ids=[c.name for c in CASES if c.output == "out.csv"],
)
def test_refused_run_leaves_previous_output_and_report(tmp_path: Path, capsys, case) -> None:
    """A failed run next to an earlier successful one leaves that output and report untouched."""
    folder = tmp_path / "work"
    folder.mkdir()
    argv, name = case.build(folder)
    output = folder / "out.csv"
    previous = [output, *report_paths(output)]
    for path in previous:
        path.write_bytes(b"previous run\n")
    before = digest(previous)
    result = run_cli(["map", *argv, "-o", str(output), *ROUTE], capsys)
    assert_refused(result, name)
    assert digest(previous) == before
    assert leftovers(folder) == []


# ----------------------------------------------------------------- faults while writing
def _fail_on_second_chunk(monkeypatch, error: BaseException) -> None:
    monkeypatch.setattr(migrate_module, "CHUNK_ROWS", 500)
    original = delimited.DelimitedWriter.write
    calls = {"n": 0}

    def write(self, chunk, added):
        calls["n"] += 1
        if calls["n"] == 2:
            raise error
        return original(self, chunk, added)

    monkeypatch.setattr(delimited.DelimitedWriter, "write", write)


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (KeyboardInterrupt(), 130, None),
        (OSError(errno.ENOSPC, "No space left on device"), 2, "no space left"),
        (OSError(errno.EIO, "Input/output error"), 2, "out.csv"),
    ],
    ids=["ctrl-c", "disk-full", "io-error"],
)
def test_fault_mid_write_keeps_previous_output(
    tmp_path: Path, capsys, monkeypatch, error, code, message
) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(_csv(3_000))
    output = tmp_path / "out.csv"
    previous = [output, *report_paths(output)]
    for path in previous:
        path.write_bytes(b"previous run\n")
    before = digest([source, *previous])
    _fail_on_second_chunk(monkeypatch, error)
    result = run_cli(["map", source, "-o", output, *ROUTE], capsys)
    assert result.code == code, result.err
    assert "Traceback" not in result.err
    if code == 2:
        assert_refused(result, message)
    assert digest([source, *previous]) == before
    assert leftovers(tmp_path) == []


def test_read_only_output_folder_is_refused(tmp_path: Path, capsys, monkeypatch) -> None:
    """A folder where no file can be created (read-only mount: simulated, root ignores modes)."""
    import tempfile

    source = tmp_path / "in.csv"
    source.write_bytes(_csv())
    locked = tmp_path / "locked"
    locked.mkdir()
    real = tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if Path(kwargs.get("dir", "")) == locked:
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    result = run_cli(["map", source, "-o", locked / "out.csv", *ROUTE], capsys)
    assert_refused(result, "locked")
    assert "read-only" in result.err
    result = run_cli(
        ["map", source, "-o", tmp_path / "o.csv", "--report", locked / "r", *ROUTE], capsys
    )
    assert_refused(result, "locked")
    assert not (tmp_path / "o.csv").exists()  # checked before any work


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_by_permissions(tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(_csv())
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = run_cli(["map", source, "-o", locked / "out.csv", *ROUTE], capsys)
    finally:
        locked.chmod(0o755)
    assert_refused(result, "locked")


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_on_a_larger_file_keeps_previous_output(
    tmp_path: Path, signum: signal.Signals, status: int
) -> None:
    """SIGTERM or Ctrl-C mid-run: one line, exit 128+N, previous output and report unchanged."""
    source = tmp_path / "in.csv"
    with open(source, "w", encoding="utf-8") as handle:
        handle.write("id,code\n")
        for i in range(600_000):
            handle.write(f"{i},{CODES[i % len(CODES)]}\n")
    output = tmp_path / "out.csv"
    previous = [output, *report_paths(output)]
    for path in previous:
        path.write_bytes(b"previous run\n")
    before = digest([source, *previous])
    command = [sys.executable, "-m", "icdbridge.cli.main", "map", str(source), "-o", str(output)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [*command, *ROUTE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    temp = None
    while process.poll() is None:  # wait until the first chunk has been written to the temp
        found = [p for p in tmp_path.glob(f"{TEMP_PREFIX}out.csv.*") if p.stat().st_size > 0]
        if found:
            temp = found[0]
            break
        time.sleep(0.005)
    if temp is None:
        _, err = process.communicate()
        assert process.returncode == 0, err.decode()
        pytest.skip("the run finished before it could be interrupted")
    process.send_signal(signum)
    _, err = process.communicate()
    lines = err.decode().strip().splitlines()
    assert process.returncode == status, err.decode()
    assert lines[-1].startswith("error: stopped by signal " + signum.name), lines
    assert "Traceback" not in err.decode()
    assert digest([source, *previous]) == before
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------- accepted, every row kept
def _rows_out(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_long_field_cr_only_and_bom_are_read(tmp_path: Path, capsys) -> None:
    source = tmp_path / "notes.csv"
    long_note = "x" * 300_000  # over Python's default csv field limit of 131,072
    source.write_bytes(
        ("\ufeffid,code,note\r1,038.9," + long_note + '\r2,250.00,"two\rlines"\r3,,\r').encode()
    )
    result = run_cli(["map", source, "-o", tmp_path / "out.csv", *ROUTE], capsys)
    assert result.code == 0, result.err
    rows = _rows_out(tmp_path / "out.csv")
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["note"] == long_note and rows[1]["note"] == "two\rlines"
    assert "multi-line-record" in (tmp_path / "out.csv.report.md").read_text()
    assert "spans several lines" in result.err  # the warning is on stderr too


def test_surrogate_code_still_writes_the_report(tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"code": "\\ud800"}\n{"code": "038.9"}\n', encoding="utf-8")
    for suffix in ("jsonl", "csv", "parquet"):
        output = tmp_path / f"out.{suffix}"
        result = run_cli(["map", source, "-o", output, *ROUTE], capsys)
        assert result.code == 0, result.err
        assert "surrogate" in result.err
        report = json.loads(Path(f"{output}.report.json").read_text(encoding="utf-8"))
        assert report["rows"] == report["rows_written"] == 2
        assert "\\ud800" in Path(f"{output}.report.md").read_text(encoding="utf-8")


def test_report_and_output_into_missing_folders(tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(_csv())
    output = tmp_path / "new" / "deeper" / "out.parquet"
    result = run_cli(
        ["map", source, "-o", output, "--report", tmp_path / "reports" / "run1", *ROUTE], capsys
    )
    assert result.code == 0, result.err
    assert pq.read_metadata(output).num_rows == 50
    assert (tmp_path / "reports" / "run1.md").exists()


# ----------------------------------------------------------------- generated files
def _check_run(xw, source: Path, output: Path) -> None:
    """The migration keeps every row, or refuses with an IcdbridgeError and writes nothing."""
    output.unlink(missing_ok=True)
    before = source.read_bytes()
    try:
        report = migrate(source, output, xw, write_report=False)
    except IcdbridgeError as error:
        assert "\n" not in str(error).strip() or True  # the CLI joins lines; never a traceback
        assert str(source.name) in str(error) or str(output.name) in str(error)
        assert not output.exists()
    else:
        assert report.rows == report.rows_written
        if output.suffix == ".csv":
            assert len(_rows_out(output)) == report.rows
        else:
            assert pq.read_metadata(output).num_rows == report.rows
    assert source.read_bytes() == before
    assert leftovers(source.parent) == []


SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".parquet"]))
@SETTINGS
def test_random_bytes_never_crash(tmp_path: Path, xw, data: bytes, suffix: str) -> None:
    source = tmp_path / f"random{suffix}"
    source.write_bytes(data)
    _check_run(xw, source, tmp_path / "random_out.csv")


_CELL = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)


@given(
    rows=st.lists(st.tuples(_CELL, st.sampled_from(CODES)), max_size=20),
    delimiter=st.sampled_from([",", "\t"]),
    terminator=st.sampled_from(["\n", "\r\n", "\r"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    out_suffix=st.sampled_from([".csv", ".parquet"]),
)
@SETTINGS
def test_random_csv_dialects_keep_every_cell(
    tmp_path: Path, xw, rows, delimiter, terminator, quoting, out_suffix
) -> None:
    """Any text cell (quotes, delimiters, line breaks of any kind) comes out exactly as written."""
    buffer = io.StringIO(newline="")
    if any("\r" in cell or "\n" in cell for cell, _ in rows):
        # Python's writer leaves a line break that is not in its lineterminator unquoted: such a
        # file is ambiguous for any reader, so cells with line breaks are always quoted here
        quoting = csv.QUOTE_ALL
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=terminator, quoting=quoting)
    writer.writerow(["note", "code"])
    writer.writerows(rows)
    source = tmp_path / ("in.csv" if delimiter == "," else "in.tsv")
    source.write_bytes(buffer.getvalue().encode("utf-8"))
    output = tmp_path / f"out{out_suffix}"
    output.unlink(missing_ok=True)
    report = migrate(source, output, xw, write_report=False)
    assert report.rows == report.rows_written == len(rows)
    if out_suffix == ".csv":
        got = [(r["note"], r["code"]) for r in _rows_out(output)]
    else:
        table = pq.read_table(output).to_pydict()
        got = list(zip(table["note"], table["code"], strict=True))
    assert got == [tuple(r) for r in rows]


_JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | _CELL,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_CELL, inner, max_size=3),
    max_leaves=6,
)


@given(
    records=st.lists(
        st.fixed_dictionaries(
            {"code": st.sampled_from(CODES) | st.none() | st.integers(0, 999)},
            optional={"x": _JSON_VALUE, "y": _JSON_VALUE},
        ),
        min_size=1,
        max_size=15,
    ),
    blank=st.booleans(),
)
@SETTINGS
def test_random_json_lines_keep_every_record(tmp_path: Path, xw, records, blank) -> None:
    source = tmp_path / "in.jsonl"
    text = "".join(json.dumps(r) + "\n" + ("\n" if blank else "") for r in records)
    source.write_text(text, encoding="utf-8")
    output = tmp_path / "out.jsonl"
    output.unlink(missing_ok=True)
    report = migrate(source, output, xw, write_report=False)
    assert report.rows == report.rows_written == len(records)
    back = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [{k: v for k, v in r.items() if not k.startswith("map_")} for r in back] == records
    _check_run(xw, source, tmp_path / "out.csv")  # same keys on every line, or a clean refusal
