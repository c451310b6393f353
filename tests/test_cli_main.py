"""The CLI entry point: user errors are one line and exit status 2, never a traceback."""

from __future__ import annotations

import pytest

from icdbridge.cli import main as cli


def test_help_lists_every_registered_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in [*cli.GROUPS, *cli.COMMANDS]:
        assert name in out


def test_user_error_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["codes", "lookup", "E11.9", "--system", "icd99"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "icd99" in err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["no-such-command"])
    assert exit_info.value.code != 0
    assert "Traceback" not in capsys.readouterr().err


def test_train_defaults_are_the_library_defaults() -> None:
    """The CLI writes its defaults out (so that --help shows them without importing torch);
    they must stay those of the library."""
    import inspect

    from icdbridge.cli.train import train_command
    from icdbridge.model.config import PipelineConfig

    options = inspect.signature(train_command).parameters
    for name in ("shortlist_k", "family_expansion", "overlap_k", "index_overlap_k"):
        assert options[name].default == getattr(PipelineConfig, name), name


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    import icdbridge

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"icdbridge {icdbridge.__version__}"


def test_default_data_folder_does_not_depend_on_the_current_directory(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``../shared/data`` is taken from the project root (the folder of pyproject.toml), from
    any working directory, and returned absolute (as errors print it)."""
    from pathlib import Path

    from icdbridge.paths import data_dir, project_root

    monkeypatch.delenv("ICDBRIDGE_DATA", raising=False)
    root = Path(__file__).resolve().parents[1]
    assert project_root() == root
    monkeypatch.chdir(tmp_path)
    assert data_dir() == (root.parent / "shared" / "data").absolute()
    assert data_dir().is_absolute()
    monkeypatch.setenv("ICDBRIDGE_DATA", "relative/data")
    assert data_dir() == tmp_path / "relative" / "data"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--index-phrases", "index,glossary"], "glossary"),
        (["--index-phrases", "drug", "--system", "icd9cm"], "icd10cm"),
        (["--index-phrases", "index", "--index-source", "/no/such/index"], "/no/such/index"),
        (["--precision", "fp16"], "precision"),
    ],
)
def test_train_refuses_bad_index_and_precision_options_before_any_work(
    tmp_path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"id": "1", "text": "x", "codes": ["I10"]}\n', encoding="utf-8")
    out = tmp_path / "model"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--train", str(notes), "--dev", str(notes), "--out", str(out), *options])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()
