"""Packaging conventions: the version in one place, python -m sparsebolt, py.typed shipped."""
import subprocess
import sys
import tomllib
from pathlib import Path

import sparsebolt as sb

ROOT = Path(__file__).resolve().parents[1]


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_python_m_sparsebolt_prints_the_version():
    out = subprocess.run([sys.executable, "-m", "sparsebolt", "--version"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"sparsebolt, version {sb.__version__}"


def test_version_matches_pyproject_and_changelog():
    assert sb.__version__ == _pyproject()["project"]["version"]
    assert f"## [{sb.__version__}]" in (ROOT / "CHANGELOG.md").read_text()


def test_py_typed_is_in_the_package_and_its_package_data():
    assert (ROOT / "sparsebolt" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["sparsebolt"]
