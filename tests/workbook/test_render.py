"""Templates as users see them, with and without the add-in (LibreOffice headless).

LibreOffice knows none of the add-in's functions, so a full recalculation in it is
what Excel without the add-in shows. Skipped, with the reason, when LibreOffice,
pdftoppm or pdftotext are missing; ``-m render`` selects these tests.
"""

from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.portfolios import PORTFOLIOS, template_filename
from etf_rebalancer.workbook.samples import sample_plan
from etf_rebalancer.workbook.start_sheet import status_formula
from etf_rebalancer.workbook.texts import LABELS, START

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "workbook_templates"
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
CASES = [(p.for_lang(lang), lang) for p in PORTFOLIOS for lang in ("en", "ko")]
NAMES = [template_filename(p, lang) for p, lang in CASES]
STAND_IN_VERSION = "9.9.9"


def _with_a_loaded_add_in(data: bytes) -> bytes:
    """The workbook as Excel with the add-in evaluates the status cell: ETF_VERSION()
    stood in by the text it returns (LibreOffice cannot load the add-in itself)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = part.decode()
                assert "ETF_VERSION()" in text
                part = text.replace("ETF_VERSION()", f"&quot;{STAND_IN_VERSION}&quot;").encode()
            target.writestr(info, part)
    return out.getvalue()


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory) -> dict[str, openpyxl.Workbook]:
    """Every shipped template (and a stand-in with the add-in) after a full recalculation,
    in one LibreOffice run."""
    tmp = tmp_path_factory.mktemp("recalc")
    loaded = tmp / "loaded_en.xlsx"
    loaded.write_bytes(_with_a_loaded_add_in((TEMPLATES / "tech-core_en.xlsx").read_bytes()))
    paths = render_templates.recalculated_all([*(TEMPLATES / n for n in NAMES), loaded], tmp)
    return {p.name.replace(".recalculated", ""): p for p in paths}


@pytest.mark.parametrize("name", NAMES)
def test_no_error_cell_after_a_full_recalculation_without_the_add_in(recalculated, name):
    assert render_templates.error_cells(recalculated[name]) == []


@pytest.mark.parametrize(("portfolio", "lang"), CASES, ids=NAMES)
def test_without_the_add_in_start_says_so_and_holdings_still_compute(recalculated, portfolio, lang):
    wb = openpyxl.load_workbook(recalculated[template_filename(portfolio, lang)], data_only=True)
    assert wb.sheetnames[0] == layout.sheet_name("start", lang)
    ((start_sheet, status_cell),) = [
        (d[0], d[1].replace("$", ""))
        for d in wb.defined_names[layout.ADDIN_STATUS_NAME].destinations
    ]
    assert wb[start_sheet][status_cell].value == START["not_loaded"].get(lang)
    plan = wb[layout.sheet_name("plan", lang)]
    assert plan["B3"].value == LABELS["addin_missing"].get(lang)
    assert plan["C3"].value in ("", None) and plan["B4"].value in ("", None)
    # The Holdings sheet's plain-Excel weights, evaluated by LibreOffice, equal the
    # engine's current weights (REBAL_DRIFT) for the same sample prices.
    holdings = wb[layout.sheet_name("holdings", lang)]
    shown = {
        holdings.cell(r, 1).value: holdings.cell(r, 8).value
        for r in range(2, len(portfolio.holdings) + 2)
    }
    drift = {row[0]: row[2] for row in sample_plan(portfolio, lang)["drift"][1:]}
    assert shown == pytest.approx({t: drift[t] for t in shown}, abs=1e-9)


def test_the_status_cell_names_the_version_when_the_add_in_answers(recalculated):
    wb = openpyxl.load_workbook(recalculated["loaded_en.xlsx"], data_only=True)
    values = [c.value for row in wb.worksheets[0].iter_rows() for c in row]
    assert f"{START['loaded'].en}{STAND_IN_VERSION}" in values
    assert "ETF_VERSION()" in status_formula("en")


@pytest.mark.parametrize("name", ["tech-core_en.xlsx", "korean-investor_ko.xlsx"])
def test_template_renders_with_its_plan_visible(tmp_path, name):
    if not shutil.which("pdftotext"):
        pytest.skip("needs pdftotext (poppler-utils) to read the rendered Plan page")
    pages = render_templates.render(TEMPLATES / name, tmp_path, dpi=40, keep_pdf=True)
    assert len(pages) >= 9  # one page per sheet at least
    assert all(p.stat().st_size > 2_000 for p in pages)
    pdf = tmp_path / name.replace(".xlsx", ".pdf")
    text = subprocess.run(
        ["pdftotext", "-f", "2", "-l", "2", str(pdf), "-"], capture_output=True, text=True
    ).stdout
    # The Plan page (after Start) shows real orders, not #NAME? errors.
    bought = "매수" if name.endswith("_ko.xlsx") else "BUY"
    assert bought in text and "#NAME" not in text
