"""Template workbooks: layout snapshots, dynamic arrays, stable rebuilds, shipped files current."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest

from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.portfolios import PORTFOLIOS, STARTER, template_filename
from etf_rebalancer.workbook.templates import HEADERS, build_template, sample_plan, sample_ranges
from tests.workbook.snapshot import array_formula_cells, layout_snapshot, norm

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).parent / "snapshots"
CASES = [(p, lang) for p in PORTFOLIOS for lang in ("en", "ko")]
IDS = [template_filename(p, lang) for p, lang in CASES]


@pytest.fixture(scope="module")
def built() -> dict[str, bytes]:
    return {template_filename(p, lang): build_template(p, lang) for p, lang in CASES}


@pytest.mark.parametrize("name", IDS)
def test_layout_matches_its_snapshot(built, name):
    """Set UPDATE_SNAPSHOTS=1 to rewrite the snapshots after a deliberate change."""
    snap = json.loads(json.dumps(layout_snapshot(built[name]), ensure_ascii=False, default=str))
    path = SNAPSHOTS / (name.removesuffix(".xlsx") + ".json")
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(json.dumps(snap, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    assert snap == json.loads(path.read_text())


@pytest.mark.parametrize(("portfolio", "lang"), CASES, ids=IDS)
def test_rebal_formulas_are_dynamic_arrays_not_implicit_intersection(built, portfolio, lang):
    data = built[template_filename(portfolio, lang)]
    plan_sheet = layout.sheet_name("plan", lang)
    assert array_formula_cells(data)[plan_sheet] == ["A3", "L3", "O3"]
    package = zipfile.ZipFile(io.BytesIO(data))
    assert "xl/metadata.xml" in package.namelist()  # what makes cm="1" a dynamic array
    wb = openpyxl.load_workbook(io.BytesIO(data))
    texts = [wb[plan_sheet][c].value.text for c in ("A3", "L3", "O3")]
    args = "(Holdings[#All],Targets[#All],Cash[#All],Settings[#All],Groups[#All])"
    assert texts == [f"=REBAL_{f}{args}" for f in ("ORDERS", "SUMMARY", "DRIFT")]
    assert not any("@" in t or "_xlfn" in t for t in texts)


@pytest.mark.parametrize(("portfolio", "lang"), CASES, ids=IDS)
def test_sheets_tables_and_headers_follow_the_shared_layout(built, portfolio, lang):
    wb = openpyxl.load_workbook(io.BytesIO(built[template_filename(portfolio, lang)]))
    for canonical in ("holdings", "targets", "groups", "cash", "settings", "quotes"):
        ws = wb[layout.sheet_name(canonical, lang)]
        table = ws.tables[layout.TABLES[canonical]]
        assert table.ref.startswith("A1:")
        assert [c.name for c in table.tableColumns] == list(HEADERS[canonical][lang])
        assert ws.freeze_panes == "A2"
    assert wb.sheetnames[-1] == layout.sheet_name("help", lang)
    quotes = wb[layout.sheet_name("quotes", lang)]
    header = layout.QUOTES_HEADER_KO if lang == "ko" else layout.QUOTES_HEADER
    assert [c.value for c in quotes[1][: len(header)]] == list(header)
    if portfolio is not STARTER:
        statuses = {quotes.cell(r, 5).value for r in range(2, quotes.max_row + 1)} - {None}
        assert statuses == {"sample"}


def test_prices_are_formulas_with_currency_formats(built):
    wb = openpyxl.load_workbook(io.BytesIO(built["korean-investor_en.xlsx"]))
    ws = wb["Holdings"]
    assert ws["D2"].value.startswith("=IF(Holdings[[#This Row],[Ticker]]")
    assert "ETF_PRICE(" in ws["D2"].value and "INDEX(Quotes[Price]" in ws["D2"].value
    assert ws["A2"].value == "069500"  # text, the leading zero kept
    assert "₩" in ws["D2"].number_format and ws["D4"].number_format.startswith("$")
    assert wb["Targets"]["B2"].number_format.endswith("%")


def test_ai_chain_explains_exai_and_uses_a_real_european_etf(built):
    for name in ("ai-value-chain_en.xlsx", "ai-value-chain_ko.xlsx"):
        wb = openpyxl.load_workbook(io.BytesIO(built[name]))
        text = " ".join(
            str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value
        )
        assert "EXAI" in text and "XAIX.DE" in text
        assert "ETF가 아닙니다" in text or "not an ETF" in text


def test_seed_targets_are_as_specified():
    from etf_rebalancer.workbook.portfolios import (
        AI_VALUE_CHAIN,
        KOREAN_INVESTOR,
        TECH_CORE,
        TECH_SUBSECTORS,
    )

    def weights(p):
        return {t.ticker: t.target for t in p.targets}

    assert weights(AI_VALUE_CHAIN) == {"QQQ": 0.5, "XAIX.DE": 0.25, "KARS": 0.25}
    assert dict(AI_VALUE_CHAIN.settings)["band"] == 0.10
    core = weights(TECH_CORE)
    assert core["QQQ"] / (core["QQQ"] + core["XLK"]) == pytest.approx(0.6)
    assert {g.group: (g.min, g.max) for g in TECH_CORE.groups}["tech"] == (0.15, 0.25)
    assert next(t for t in TECH_CORE.targets if t.ticker == "TQQQ").max == 0.05
    sub = {t.ticker: t for t in TECH_SUBSECTORS.targets}
    assert {k: v.target for k, v in sub.items() if v.target} == {
        "QQQ": 0.5,
        "SOXX": 0.2,
        "XLK": 0.2,
        "ARKK": 0.1,
    }
    assert sub["SOXX"].band == 0.15 and sub["ARKK"].max == 0.10
    assert {g.group: g.max for g in TECH_SUBSECTORS.groups} == {"leveraged": 0.10}
    assert KOREAN_INVESTOR.base_currency == "KRW"
    assert {c for c, _ in KOREAN_INVESTOR.cash} == {"KRW", "USD"}
    for p in PORTFOLIOS:
        if p.targets:
            assert sum(t.target for t in p.targets) == pytest.approx(1.0)


def test_rebuilding_changes_nothing(built):
    again = build_template(PORTFOLIOS[1], "en")
    assert again == built[template_filename(PORTFOLIOS[1], "en")]


@pytest.mark.parametrize("name", IDS)
def test_shipped_templates_are_current(built, name):
    """workbook_templates/ must be what `etf-rebal templates build` writes (timestamps aside)."""
    shipped = zipfile.ZipFile(ROOT / "workbook_templates" / name)
    fresh = zipfile.ZipFile(io.BytesIO(built[name]))
    assert sorted(shipped.namelist()) == sorted(fresh.namelist())
    differ = [n for n in fresh.namelist() if shipped.read(n) != fresh.read(n)]
    assert set(differ) <= {"docProps/core.xml"}, f"run `etf-rebal templates build`: {differ}"


@pytest.mark.parametrize(("portfolio", "lang"), CASES[:-2], ids=IDS[:-2])
def test_cached_plan_is_the_engine_plan_for_the_sample_prices(built, portfolio, lang):
    """What the workbook shows before recalculating is a real plan, not placeholders."""
    plan = sample_plan(portfolio, lang)
    assert plan is not None and len(plan["orders"]) > 1
    wb = openpyxl.load_workbook(
        io.BytesIO(built[template_filename(portfolio, lang)]), data_only=True
    )
    ws = wb[layout.sheet_name("plan", lang)]
    for col, rows in ((1, plan["orders"]), (12, plan["summary"]), (15, plan["drift"])):
        for i, row in enumerate(rows[1:], start=4):
            got = [ws.cell(i, col + j).value for j in range(len(row))]
            assert [norm(v) for v in got] == [norm(v) for v in row]


def test_sample_ranges_are_what_the_reader_reads_plus_prices(tmp_path, built):
    from etf_rebalancer.workbook.reader import read_workbook

    portfolio, lang = PORTFOLIOS[3], "ko"
    path = tmp_path / "k.xlsx"
    path.write_bytes(built[template_filename(portfolio, lang)])
    ranges = read_workbook(path)
    expected = sample_ranges(portfolio, lang)
    # The price column is a formula: the reader leaves it empty for the quote layer.
    assert [r[:3] + r[4:] for r in ranges.holdings] == [r[:3] + r[4:] for r in expected["holdings"]]
    assert all(r[3] is None for r in ranges.holdings[1:])
    assert ranges.targets == expected["targets"]
    assert ranges.settings == expected["settings"]
    assert ranges.cash == expected["cash"]


@pytest.mark.parametrize(("portfolio", "lang"), CASES[:-2], ids=IDS[:-2])
def test_charts_follow_their_spills_and_cache_what_the_plan_shows(built, portfolio, lang):
    """Series run over OFFSET/COUNTA names, so a chart grows with the holdings or history;
    the Plan chart also caches the cached drift rows for viewers that do not evaluate names."""
    from tests.workbook.snapshot import chart_series

    data = built[template_filename(portfolio, lang)]
    wb = openpyxl.load_workbook(io.BytesIO(data))
    plan = wb[layout.sheet_name("plan", lang)]
    names = {n: d.attr_text for n, d in plan.defined_names.items()}
    sheet = plan.title
    assert names["PlanTickers"] == (
        f"OFFSET({sheet}!$O$4,0,0,MAX(1,COUNTA({sheet}!$O$4:$O$1003)),1)"
    )
    assert names["PlanWeight"].startswith(f"OFFSET({sheet}!$Q$4,")  # Weight beside Ticker
    assert names["PlanTarget"].startswith(f"OFFSET({sheet}!$R$4,")
    backtest = wb[layout.sheet_name("backtest", lang)]
    equity = {n: d.attr_text for n, d in backtest.defined_names.items()}
    assert sorted(equity) == ["EquityBenchmark", "EquityDates", "EquityPortfolio"]
    assert all(f"COUNTA({backtest.title}!$H$7:$H$20006)" in v for v in equity.values())
    series = chart_series(data)
    assert series["xl/charts/chart1.xml"] == [
        f"{sheet}!{n}" for n in ("PlanTickers", "PlanWeight", "PlanTickers", "PlanTarget")
    ]
    assert series["xl/charts/chart2.xml"][1] == f"{backtest.title}!EquityPortfolio"
    # The cached points are the cached drift rows' weights and targets.
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/charts/chart1.xml").decode()
    import re

    caches = re.findall(r"<c:numCache>(.*?)</c:numCache>", xml)
    points = [[float(v) for v in re.findall(r"<c:v>(.*?)</c:v>", c)] for c in caches]
    drift = sample_plan(portfolio, lang)["drift"][1:]
    assert points == [[r[2] for r in drift], [r[3] for r in drift]]
