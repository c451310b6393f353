"""The software and machine a result was produced with, recorded next to the result.

Seeded runs give identical weights within one install, but not across installs: another
version of torch, transformers or faiss (none of which icdbridge pins) can train different
networks from the same seed. A saved model (``config.json``) and the experiment result files
therefore record :func:`software_environment`, so that two results can be told apart by what
produced them.
"""

from __future__ import annotations

import platform
import re
from importlib import metadata
from typing import Any

_PROJECT = "icdbridge"


def _requirement_names(distribution: str) -> list[str]:
    """Core requirements of ``distribution`` (no extras), as its installed metadata lists them."""
    names = []
    for requirement in metadata.requires(distribution) or []:
        if "extra ==" in requirement.replace('"', "").replace("'", ""):
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if match:
            names.append(match.group(1))
    return names


def package_versions() -> dict[str, str | None]:
    """Installed version of icdbridge and of each of its core requirements (``None``: missing).

    The list of requirements is read from icdbridge's installed metadata (``pyproject.toml``),
    so it follows the project's dependencies without a second list to keep in step.
    """
    try:
        names = [_PROJECT, *_requirement_names(_PROJECT)]
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        from icdbridge import __version__

        return {_PROJECT: __version__}
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def software_environment() -> dict[str, Any]:
    """Python, platform, CPU and package versions of this process, as a JSON-ready dict.

    Keys: ``python``, ``platform``, ``machine``, ``processor`` (the CPU model where the system
    tells it), ``cpu_bf16`` (whether the CPU does fast bfloat16 maths, which decides the
    encoder's default precision), ``torch_threads``, ``cuda`` (the device name, or ``None``) and
    ``packages`` (:func:`package_versions`).
    """
    import torch

    from icdbridge.model.text.encoder import bf16_supported

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cpu_bf16": bf16_supported("cpu"),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "packages": package_versions(),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
