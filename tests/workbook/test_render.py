"""Render templates as users see them (LibreOffice -> PDF -> PNG); skipped without the tools."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "render_templates", ROOT / "scripts/render_templates.py"
)
render_templates = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render_templates)

pytestmark = [
    pytest.mark.render,
    pytest.mark.skipif(
        not render_templates.tools_available(), reason="needs LibreOffice (soffice) and pdftoppm"
    ),
]


@pytest.mark.parametrize("name", ["tech-core_en.xlsx", "korean-investor_ko.xlsx"])
def test_template_renders_with_its_plan_visible(tmp_path, name):
    pages = render_templates.render(
        ROOT / "workbook_templates" / name, tmp_path, dpi=40, keep_pdf=True
    )
    assert len(pages) >= 8  # one page per sheet at least
    assert all(p.stat().st_size > 2_000 for p in pages)
    if shutil.which("pdftotext"):
        pdf = tmp_path / name.replace(".xlsx", ".pdf")
        text = subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True
        ).stdout
        # The Plan page shows real orders, not #NAME? errors.
        bought = "매수" if name.endswith("_ko.xlsx") else "BUY"
        assert bought in text and "#NAME" not in text
