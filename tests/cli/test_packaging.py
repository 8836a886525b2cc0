"""A built wheel carries what a plain `pip install` user needs: templates, docs, licences."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """Build the wheel from a copy of the checkout (offline: no build isolation, no index)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    for folder in ("addin", "workbook_templates", "docs"):
        shutil.copytree(
            ROOT / folder,
            src / folder,
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "img"),
        )
    # A Lite edition, as another branch adds them: the build's glob must take it too.
    (src / "workbook_templates" / "lite").mkdir(exist_ok=True)
    shutil.copy2(
        ROOT / "workbook_templates" / "starter_en.xlsx",
        src / "workbook_templates" / "lite" / "probe-lite_en.xlsx",
    )
    out = tmp_path_factory.mktemp("wheel")
    offline = ["--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", *offline, str(src), "-w", str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("etf_rebalancer-*.whl")
    return zipfile.ZipFile(path)


@pytest.mark.slow
def test_wheel_ships_every_template_and_the_lite_ones(wheel):
    names = set(wheel.namelist())
    committed = sorted(p.name for p in (ROOT / "workbook_templates").glob("*.xlsx"))
    assert committed
    for name in committed:
        shipped = f"etf_rebalancer/workbook_templates/{name}"
        assert wheel.read(shipped) == (ROOT / "workbook_templates" / name).read_bytes()
    assert "etf_rebalancer/workbook_templates/lite/probe-lite_en.xlsx" in names


@pytest.mark.slow
def test_wheel_ships_the_reference_and_both_licences(wheel):
    names = set(wheel.namelist())
    assert "etf_rebalancer/docs/reference.md" in names
    licences = {n.rsplit("/", 1)[-1] for n in names if ".dist-info/licenses/" in n}
    assert licences == {"LICENSE", "LICENSE-skfolio"}
    assert "etf_rebalancer/data/LICENSE-skfolio" in names  # beside the data it covers
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = wheel.read(meta).decode()
    assert "License-Expression: MIT" in text
    assert wheel.read(next(n for n in names if n.endswith("licenses/LICENSE"))).startswith(
        b"MIT License"
    )
