"""Lite editions: the same workbook as the desktop template, plus the code as Lite stores it."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from etf_rebalancer.cli import _check_safe, app
from etf_rebalancer.errors import RebalancerError, WorkbookError
from etf_rebalancer.lite import webext
from etf_rebalancer.lite.bundle import REQUIREMENTS, build_files
from etf_rebalancer.lite.keep import check_code_kept, code_parts, refuse_lossy_write
from etf_rebalancer.lite.template import (
    LITE_FUNCTIONS,
    extract_files,
    lite_edition,
    rewrite_formula,
)
from etf_rebalancer.workbook.quotes_sheet import changed_parts, replace_quotes
from tests.lite.conftest import DESKTOP_TEMPLATES, LITE

# The structure of the web extension in the real Lite workbooks cited in
# etf_rebalancer/lite/webext.py (amararun/xlwings-lite-apps-codes-docs, six workbooks saved by
# Lite 1.0.0.0-11 to -18): element order, the store add-in reference, property names.
REAL_SKELETON = [
    "webextension",
    "reference",
    "alternateReferences",
    "reference",
    "properties",
    "property",
    "property",
    "property",
    "property",
    "bindings",
    "snapshot",
    "extLst",
    "ext",
    "containsCustomFunctions",
    "ext",
    "customFunctionIdList",
]
REAL_REFERENCE = {"id": "wa200008175", "version": "1.0.0.0", "storeType": "OMEX"}
REAL_ALTERNATE = {
    "id": "WA200008175",
    "version": "1.0.0.0",
    "store": "WA200008175",
    "storeType": "OMEX",
}
REAL_PROPERTY_NAMES = {"main.py", "pyodideVersion", "addinVersion", "requirements.txt"}
REAL_TASKPANE = {"dockstate": "right", "width": "438", "row": "3"}
MIRROR = Path("/work/.mirror/amararun+xlwings-lite-apps-codes-docs/repo")
CITED = "yahoo-finance/YLENS_YAHOO_FINANCE_ANALYZER_Z.xlsx"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {n: package.read(n) for n in package.namelist()}


def _tables(parts: dict[str, bytes]) -> list[tuple[str, str]]:
    out = []
    for name, data in parts.items():
        if name.startswith("xl/tables/"):
            tag = re.search(rb"<table\b[^>]*>", data).group(0).decode()  # type: ignore[union-attr]
            out.append(
                (
                    re.search(r'displayName="([^"]*)"', tag).group(1),
                    re.search(r'ref="([^"]*)"', tag).group(1),
                )  # type: ignore[union-attr]
            )
    return sorted(out)


def _sheets(parts: dict[str, bytes]) -> list[str]:
    return re.findall(r'<sheet name="([^"]*)"', parts["xl/workbook.xml"].decode())


def _lite(desktop: Path) -> Path:
    return LITE / desktop.name


# ---------------------------------------------------------------- the templates


@pytest.mark.parametrize("desktop", DESKTOP_TEMPLATES, ids=lambda p: p.stem)
def test_committed_lite_edition_is_the_build_of_its_desktop_template(desktop):
    # Byte-stable, and not stale: rebuilding from the committed desktop file gives the same bytes.
    # Compared by digest: pytest's diff of two 400 kB byte strings ran for over ten minutes.
    committed = hashlib.sha256(_lite(desktop).read_bytes()).hexdigest()
    built = hashlib.sha256(lite_edition(desktop.read_bytes(), desktop.stem)).hexdigest()
    assert committed == built, "stale Lite edition: run `etf-rebal templates build`"


@pytest.mark.parametrize("desktop", DESKTOP_TEMPLATES, ids=lambda p: p.stem)
def test_same_sheets_and_tables_and_only_lites_changes(desktop):
    before, after = _parts(desktop.read_bytes()), _parts(_lite(desktop).read_bytes())
    assert _sheets(after) == _sheets(before)
    assert _tables(after) == _tables(before)
    assert set(after) - set(before) == set(webext.PARTS)
    changed = {n for n in before if before[n] != after[n]}
    assert changed <= {"_rels/.rels", "[Content_Types].xml"} | {
        n for n in before if n.startswith("xl/worksheets/sheet")
    }
    for name in changed - {"_rels/.rels", "[Content_Types].xml"}:
        # A sheet changed only where a formula calls one of the functions.
        old = re.sub(r"<f\b[^>]*>[^<]*</f>", "", before[name].decode())
        new = re.sub(r"<f\b[^>]*>[^<]*</f>", "", after[name].decode())
        assert old == new, name


@pytest.mark.parametrize("desktop", DESKTOP_TEMPLATES, ids=lambda p: p.stem)
def test_formulas_call_the_lite_functions_and_price_from_quotes(desktop):
    parts = _parts(_lite(desktop).read_bytes())
    formulas = [
        f
        for n, data in parts.items()
        if n.startswith("xl/worksheets/sheet")
        for f in re.findall(r"<f\b[^>]*>([^<]*)</f>", data.decode())
    ]
    calls = re.findall(
        r"(?<![A-Za-z0-9_.])(_xldudf_)?(" + "|".join(LITE_FUNCTIONS) + r")\(", " ".join(formulas)
    )
    assert calls and all(prefix == "_xldudf_" for prefix, _ in calls)
    rebal = [f for f in formulas if "_xldudf_REBAL_" in f]
    assert len(rebal) == 3
    # Each call passes the Quotes table last (inside the add-in-missing guard).
    assert all(re.search(r"_xldudf_REBAL_\w+\([^()]*,Quotes\[#All\]\)", f) for f in rebal)


def test_rewrite_formula_cases():
    assert (
        rewrite_formula("REBAL_ORDERS(A1:B2,C1:D2)")
        == "_xldudf_REBAL_ORDERS(A1:B2,C1:D2,,,,,Quotes[#All])"
    )
    assert rewrite_formula("REBAL_SUMMARY()") == "_xldudf_REBAL_SUMMARY(,,,,,,Quotes[#All])"
    assert rewrite_formula('IF(A1="REBAL_ORDERS(x)",PORTFOLIO_CORREL(B:B),0)') == (
        'IF(A1="REBAL_ORDERS(x)",_xldudf_PORTFOLIO_CORREL(B:B),0)'
    )
    assert rewrite_formula("MY_ETF_PRICE(1)+X.ETF_PRICE(2)") == "MY_ETF_PRICE(1)+X.ETF_PRICE(2)"
    assert (
        rewrite_formula("REBAL_DRIFT(IF(A1,B1,C1),D1)", None)
        == "_xldudf_REBAL_DRIFT(IF(A1,B1,C1),D1)"
    )


def test_a_lite_edition_is_not_made_twice():
    lite = _lite(DESKTOP_TEMPLATES[0]).read_bytes()
    with pytest.raises(WorkbookError, match="already carries"):
        lite_edition(lite, "again")


# ---------------------------------------------------------------- the web extension


@pytest.mark.parametrize("desktop", DESKTOP_TEMPLATES[:2], ids=lambda p: p.stem)
def test_webextension_has_the_structure_of_real_lite_workbooks(desktop):
    parts = _parts(_lite(desktop).read_bytes())
    root = ET.fromstring(parts[webext.WEBEXTENSION])
    assert [_local(e.tag) for e in root.iter()] == REAL_SKELETON
    refs = [e for e in root.iter() if _local(e.tag) == "reference"]
    assert {k: refs[0].get(k) for k in REAL_REFERENCE} == REAL_REFERENCE
    assert dict(refs[1].attrib) == REAL_ALTERNATE
    names = [e.get("name") for e in root.iter() if _local(e.tag) == "property"]
    assert set(names) == REAL_PROPERTY_NAMES and names[0] == "main.py"
    pane = next(
        e for e in ET.fromstring(parts[webext.TASKPANES]).iter() if _local(e.tag) == "taskpane"
    )
    assert {k: pane.get(k) for k in REAL_TASKPANE} == REAL_TASKPANE
    rels = parts["_rels/.rels"].decode()
    assert f'Type="{webext.TASKPANES_REL_TYPE}" Target="{webext.TASKPANES}"' in rels
    types = parts["[Content_Types].xml"].decode()
    for part, kind in webext.CONTENT_TYPES.items():
        assert f'<Override PartName="{part}" ContentType="{kind}"/>' in types
    assert webext.WEBEXTENSION_REL_TYPE in parts[webext.TASKPANES_RELS].decode()


@pytest.mark.skipif(not MIRROR.exists(), reason="the cited Lite workbooks are not fetched here")
def test_against_a_real_lite_workbook():
    data = subprocess.run(
        ["git", "-C", str(MIRROR), "show", f"HEAD:{CITED}"], capture_output=True, check=True
    ).stdout
    parts = _parts(data)
    root = ET.fromstring(parts[webext.WEBEXTENSION])
    assert [_local(e.tag) for e in root.iter()] == REAL_SKELETON
    raw = dict(
        re.findall(
            r'<we:property name="([^"]*)" value="([^"]*)"/>', parts[webext.WEBEXTENSION].decode()
        )
    )
    decoded = webext.read_properties(parts[webext.WEBEXTENSION])
    # Our encoder writes the very bytes Lite wrote, for every property of a real workbook.
    assert {k: webext.encode_value(v) for k, v in decoded.items()} == raw
    assert "import xlwings" in decoded["main.py"]


@given(st.text())
def test_property_values_round_trip(text):
    encoded = webext.encode_value(text)
    assert '"' not in encoded and "<" not in encoded and "\n" not in encoded
    assert webext.decode_value(encoded) == text


def test_extract_gives_the_built_files(tmp_path):
    lite = _lite(DESKTOP_TEMPLATES[0])
    files = extract_files(lite.read_bytes())
    built = build_files()
    assert files["main.py"] == built["main.py"]
    assert files["requirements.txt"] == REQUIREMENTS
    result = CliRunner().invoke(app, ["lite", "extract", str(lite), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "main.py").read_text(encoding="utf-8") == built["main.py"]
    assert (tmp_path / "out" / "requirements.txt").read_text(encoding="utf-8") == REQUIREMENTS
    assert (tmp_path / "out" / "rebal_lite" / "engine" / "milp.py").exists()
    assert '"pyodideVersion"' in (tmp_path / "out" / "lite.json").read_text()


def test_extract_refuses_a_workbook_without_lite_code(tmp_path):
    result = CliRunner().invoke(app, ["lite", "extract", str(DESKTOP_TEMPLATES[0]), str(tmp_path)])
    assert result.exit_code != 0
    assert "No xlwings Lite code" in result.output


# ---------------------------------------------------------------- never lose the code


def test_refresh_keeps_the_web_extension_byte_for_byte():
    lite = _lite(DESKTOP_TEMPLATES[-1]).read_bytes()  # us-factor-mix_ko
    rows = [
        ["QUAL", 191.0, "USD", None, "ok", "memory"],
        ["USD/KRW", 1400.0, "KRW", None, "ok", "memory"],
    ]
    import datetime as dt

    after = replace_quotes(lite, rows, dt.datetime(2026, 12, 1, 9, 0))
    _check_safe(lite, after)  # etf-rebal refresh's own guard accepts it
    check_code_kept(lite, after)
    assert code_parts(after) == code_parts(lite)
    assert not (changed_parts(lite, after) & set(webext.PARTS))


def test_a_write_that_drops_the_code_is_refused(tmp_path):
    lite = _lite(DESKTOP_TEMPLATES[0]).read_bytes()
    path = tmp_path / "book.xlsx"
    path.write_bytes(lite)
    openpyxl.load_workbook(path).save(path)  # what an openpyxl round trip does
    dropped = path.read_bytes()
    assert not code_parts(dropped)
    with pytest.raises(WorkbookError, match="Lite code would be lost"):
        check_code_kept(lite, dropped)
    with pytest.raises(RebalancerError):
        _check_safe(lite, dropped)  # etf-rebal refresh would refuse it too
    with pytest.raises(WorkbookError, match="openpyxl"):
        refuse_lossy_write(lite)
    refuse_lossy_write(DESKTOP_TEMPLATES[0].read_bytes())  # nothing to lose: allowed


def test_the_lite_version_is_the_package_version():
    from etf_rebalancer import __version__
    from etf_rebalancer.lite import host

    assert __version__ == host.LITE_VERSION
