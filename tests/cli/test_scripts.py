"""scripts/_venv.sh refuses an old or missing Python before any setup, with a clear message."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def source_venv(tmp_path: Path, python: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "scripts").mkdir(exist_ok=True)
    shutil.copy2(ROOT / "scripts" / "_venv.sh", tmp_path / "scripts" / "_venv.sh")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "probe"\n')
    return subprocess.run(
        ["bash", "-c", "source scripts/_venv.sh demo"],
        cwd=tmp_path,
        env={**os.environ, "PYTHON": python},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_old_python_is_refused_first(tmp_path):
    fake = tmp_path / "python3.9"
    # Answers _venv.sh's two probes as Python 3.9 would (the version, then the check).
    fake.write_text('#!/bin/sh\ncase "$2" in *exit*) exit 1 ;; *) echo 3.9 ;; esac\n')
    fake.chmod(0o755)
    done = source_venv(tmp_path, str(fake))
    assert done.returncode == 1
    assert "needs Python 3.11 or newer" in done.stderr and "Python 3.9" in done.stderr
    assert "PYTHON=" in done.stderr  # says how to name another interpreter
    assert not (tmp_path / ".venv").exists()


def test_a_missing_python_is_named(tmp_path):
    done = source_venv(tmp_path, str(tmp_path / "no-such-python"))
    assert done.returncode == 1
    assert "no-such-python was not found" in done.stderr
    assert not (tmp_path / ".venv").exists()
