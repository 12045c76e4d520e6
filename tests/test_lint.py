"""The code is ruff clean and mypy clean (configured in pyproject.toml)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(tool, *args):
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (pip install fastseq[test])")
    proc = subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]


def test_ruff():
    _run("ruff", "check", "src", "tests", "benchmarks", "examples", "docs")


def test_mypy():
    _run("mypy")
