"""The install docs/clients.md documents, with no package index: a venv of Debian's Python that sees Debian's packages
(python3-venv, python3-wheel, python3-pandas), then ``pip install --no-build-isolation``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import tradestore

CLIENT = Path(__file__).resolve().parents[1]
DEBIAN_PYTHON = "/usr/bin/python3"


def test_documented_install_builds_without_an_index_and_imports_from_the_venv(tmp_path: Path) -> None:
    # A copy: pip builds a local directory in place, and the checkout must stay clean.
    source = tmp_path / "python"
    shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests", "benchmarks"))
    venv = tmp_path / ".venv"
    subprocess.run([DEBIAN_PYTHON, "-m", "venv", "--system-site-packages", str(venv)], check=True, capture_output=True, timeout=120)

    install = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation", "--no-index", str(source)],
                             capture_output=True, text=True, timeout=300)

    assert install.returncode == 0, install.stdout + install.stderr
    probe = "import pathlib, tradestore, pandas; print(pathlib.Path(tradestore.__file__).parent); print(tradestore.__version__)"
    imported = subprocess.run([str(venv / "bin" / "python"), "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    location, version = imported.stdout.split()
    assert Path(location).is_relative_to(venv), f"tradestore imported from {location}, not from the venv"
    assert version == tradestore.__version__
