"""The CodiEsp model the transfer experiments start from, trained once per settings table.

Each experiment names its model in its TOML file (a table with ``dir``, ``work``,
``fit_documents`` and, optionally, ``split``, ``members``, ``epochs``, ``patience``,
``index-phrases``, ``shortlist-k``; absent ones are ``icdbridge train``'s defaults). The model
is trained on the CodiEsp **train** split only: its first ``fit_documents`` notes fit the
networks, the rest stop training early and calibrate. No dev note is seen.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
OPTIONS = ("members", "epochs", "patience", "index-phrases", "shortlist-k")


def codiesp_model(
    model: dict, data: dict, names: tuple[str, str] = ("train.jsonl", "train_dev.jsonl")
) -> Path:
    """The model directory ``model["dir"]``; trained with the ``icdbridge`` CLI when absent.

    Args:
        model: The experiment's model settings (see the module docstring).
        data: The ``[data]`` settings: ``codiesp`` (folder) and ``language``.
        names: File names, in ``model["work"]``, of the fitting and the validation notes.
    """
    out = ROOT / model["dir"]
    if (out / "config.json").is_file():
        return out
    work = ROOT / model["work"]
    work.mkdir(parents=True, exist_ok=True)
    everything = work / "train_all.jsonl"
    icdbridge = [sys.executable, "-m", "icdbridge.cli.main"]
    subprocess.run(
        [*icdbridge, "datasets", "prepare", "codiesp", "--from", str(ROOT / data["codiesp"]),
         "--split", model.get("split", "train"), "--language", data["language"],
         "-o", str(everything)],
        check=True,
    )  # fmt: skip
    lines = everything.read_text(encoding="utf-8").splitlines(keepends=True)
    fit, dev = (work / name for name in names)
    fit.write_text("".join(lines[: model["fit_documents"]]), encoding="utf-8")
    dev.write_text("".join(lines[model["fit_documents"] :]), encoding="utf-8")
    options = [f"--{name}={model[name]}" for name in OPTIONS if name in model]
    subprocess.run(
        [*icdbridge, "train", "--train", str(fit), "--dev", str(dev), "--out", str(out), *options],
        check=True,
    )
    return out
