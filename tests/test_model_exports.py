"""The public names of icdbridge.model and its sub-packages (served lazily, model/_exports.py)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

PACKAGES = [
    "icdbridge.model",
    "icdbridge.model.text",
    "icdbridge.model.labels",
    "icdbridge.model.lexical",
    "icdbridge.model.features",
    "icdbridge.model.net",
    "icdbridge.model.train",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_resolves_and_none_is_a_module_name(name):
    package = importlib.import_module(name)
    modules = {info.name for info in pkgutil.iter_modules(package.__path__)}
    # the import system binds a package attribute to its submodule of the same name, which
    # would hide an exported function of that name
    assert not set(package.__all__) & modules
    assert package.__all__ == sorted(set(package.__all__)) and package.__all__
    for export in package.__all__:
        value = getattr(package, export)
        assert value is not None and not isinstance(value, type(package)), export
    assert dir(package) == package.__all__


def test_importing_the_packages_loads_neither_torch_nor_lightning():
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in PACKAGES)
        + "print('torch' in sys.modules, 'pytorch_lightning' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
