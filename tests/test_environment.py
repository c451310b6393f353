"""The software environment recorded next to models and experiment results."""

from __future__ import annotations

import json
import platform
from importlib import metadata

import torch

from icdbridge.environment import package_versions, software_environment


def test_package_versions_follow_the_installed_requirements():
    versions = package_versions()
    assert versions["icdbridge"] == metadata.version("icdbridge")
    assert versions["torch"] == torch.__version__
    assert versions["faiss-cpu"] == metadata.version("faiss-cpu")
    # core requirements only: the extras (dev, gpu, pyhealth) are not listed
    assert "pytest" not in versions and "pyhealth" not in versions


def test_software_environment_is_json_ready_and_describes_this_process():
    environment = json.loads(json.dumps(software_environment()))
    assert environment["python"] == platform.python_version()
    assert environment["torch_threads"] == torch.get_num_threads()
    assert isinstance(environment["cpu_bf16"], bool)
    assert environment["packages"] == package_versions()
