"""Template workbooks: layout snapshots, dynamic arrays, stable rebuilds, shipped files current.

Snapshots are never written by a normal run: a missing or different snapshot
fails. ``UPDATE_SNAPSHOTS=1`` rewrites them after a deliberate change (review
the diff).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries
from xlsxwriter.utility import xl_range_abs, xl_rowcol_to_cell

from etf_rebalancer.cells.labels import SUMMARY_LABELS
from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.portfolios import (
    INSTRUMENTS,
    PORTFOLIOS,
    SAMPLE_FX,
    STARTER,
    template_filename,
)
from etf_rebalancer.workbook.templates import HEADERS, build_template, sample_plan, sample_ranges
from tests.workbook.snapshot import array_formula_cells, layout_snapshot, norm

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).parent / "snapshots"
CASES = [(p.for_lang(lang), lang) for p in PORTFOLIOS for lang in ("en", "ko")]
PLAN_SPILLS = ["B3", "M3", "Q3"]
# A household template's orders have one more column (Account), so summary and drift
# start one column further right.
HOUSEHOLD_SPILLS = ["B3", "N3", "R3"]
IDS = [template_filename(p, lang) for p, lang in CASES]


def spills(portfolio) -> list[str]:
    return HOUSEHOLD_SPILLS if portfolio.accounts else PLAN_SPILLS


@pytest.fixture(scope="module")
def built() -> dict[str, bytes]:
    return {template_filename(p, lang): build_template(p, lang) for p, lang in CASES}


@pytest.mark.parametrize("name", IDS)
def test_layout_matches_its_snapshot(built, name):
    """Set UPDATE_SNAPSHOTS=1 to rewrite the snapshots after a deliberate change."""
    snap = json.loads(json.dumps(layout_snapshot(built[name]), ensure_ascii=False, default=str))
    path = SNAPSHOTS / (name.removesuffix(".xlsx") + ".json")
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(json.dumps(snap, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    assert path.exists(), f"no snapshot {path.name}: run with UPDATE_SNAPSHOTS=1 and review it"
    assert snap == json.loads(path.read_text())


@pytest.mark.parametrize(("portfolio", "lang"), CASES, ids=IDS)
def test_rebal_formulas_are_dynamic_arrays_not_implicit_intersection(built, portfolio, lang):
    data = built[template_filename(portfolio, lang)]
    plan_sheet = layout.sheet_name("plan", lang)
    assert array_formula_cells(data)[plan_sheet] == spills(portfolio)
    package = zipfile.ZipFile(io.BytesIO(data))
    assert "xl/metadata.xml" in package.namelist()  # what makes cm="1" a dynamic array
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb[plan_sheet]
    args = "(Holdings[#All],Targets[#All],Cash[#All],Settings[#All],Groups[#All])"
    if portfolio.accounts:  # the sixth range, the Accounts table
        args = args[:-1] + ",Accounts[#All])"
    for cell, function in zip(spills(portfolio), ("ORDERS", "SUMMARY", "DRIFT"), strict=True):
        text = ws[cell].value.text
        # Without the add-in: the Start sheet's text in the anchor and blanks over the
        # saved result's area (programs that keep that size), never #NAME?.
        min_col, min_row, max_col, max_row = range_boundaries(ws[cell].value.ref)
        area = xl_range_abs(min_row - 1, min_col - 1, max_row - 1, max_col - 1)
        first = xl_rowcol_to_cell(min_row - 1, min_col - 1, True, True)
        fallback = (
            f'IF((ROW({area})=ROW({first}))*(COLUMN({area})=COLUMN({first})),EtfAddinMissing,"")'
            if ":" in area
            else "EtfAddinMissing"
        )
        assert text == f"=IFERROR(REBAL_{function}{args},{fallback})", text
        assert "@" not in text and "_xlfn" not in text


@pytest.mark.parametrize(("portfolio", "lang"), CASES, ids=IDS)
def test_sheets_tables_and_headers_follow_the_shared_layout(built, portfolio, lang):
    wb = openpyxl.load_workbook(io.BytesIO(built[template_filename(portfolio, lang)]))
    canonicals = ["holdings", "targets", "groups", "cash", "settings", "quotes"]
    if portfolio.accounts:
        canonicals.append("accounts")
        assert layout.sheet_name("accounts", lang) in wb.sheetnames
    else:
        assert layout.find_sheet(wb.sheetnames, "accounts") is None
    for canonical in canonicals:
        ws = wb[layout.sheet_name(canonical, lang)]
        table = ws.tables[layout.TABLES[canonical]]
        assert table.ref.startswith("A1:")
        computed = layout.COMPUTED_HEADERS.get(canonical, {}).get(lang, ())
        extra = (
            layout.ACCOUNT_COLUMNS.get(canonical, {}).get(lang, ()) if portfolio.accounts else ()
        )
        assert [c.name for c in table.tableColumns] == [
            *HEADERS[canonical][lang],
            *extra,
            *computed,
        ]
        assert ws.freeze_panes == "A2"
    assert wb.sheetnames[0] == layout.sheet_name("start", lang)
    assert wb.active.title == wb.sheetnames[0]
    assert wb.sheetnames[-1] == layout.sheet_name("help", lang)
    quotes = wb[layout.sheet_name("quotes", lang)]
    header = layout.QUOTES_HEADER_KO if lang == "ko" else layout.QUOTES_HEADER
    assert [c.value for c in quotes[1][: len(header)]] == list(header)
    if portfolio.holdings:
        statuses = {quotes.cell(r, 5).value for r in range(2, quotes.max_row + 1)} - {None}
        assert statuses == {"sample"}


def test_prices_are_formulas_with_currency_formats(built):
    wb = openpyxl.load_workbook(io.BytesIO(built["korean-investor_en.xlsx"]))
    ws = wb["Holdings"]
    assert ws["D2"].value.startswith("=IF(Holdings[[#This Row],[Ticker]]")
    assert "ETF_PRICE(" in ws["D2"].value and "INDEX(Quotes[Price]" in ws["D2"].value
    # A KRX code typed as a number (69500) still finds its Quotes row.
    assert 'MATCH(TEXT(Holdings[[#This Row],[Ticker]],"000000"),Quotes[Ticker],0)' in ws["D2"].value
    assert ws["A4"].value == "069500"  # text, the leading zero kept
    assert ws["A4"].number_format == "@"  # and what a user types there stays text
    assert "₩" in ws["D4"].number_format and ws["D2"].number_format.startswith("$")
    assert ws["C2"].number_format == "#,##0"  # counts never show a trailing dot
    assert wb["Targets"]["B2"].number_format.endswith("%")
    assert wb["Cash"]["B3"].number_format == '"₩"#,##0' and wb["Cash"]["B2"].number_format == (
        "$#,##0.00"
    )


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
    assert {c for c, _, _ in KOREAN_INVESTOR.cash_rows()} == {"KRW", "USD"}
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


@pytest.mark.parametrize(("portfolio", "lang"), CASES, ids=IDS)
def test_cached_plan_is_the_plan_for_the_sample_prices(built, portfolio, lang):
    """What the workbook shows before recalculating is the plan, cell for cell (12 digits)."""
    plan = sample_plan(portfolio, lang)
    assert plan is not None and len(plan["orders"]) > 1
    wb = openpyxl.load_workbook(
        io.BytesIO(built[template_filename(portfolio, lang)]), data_only=True
    )
    ws = wb[layout.sheet_name("plan", lang)]
    shift = 1 if portfolio.accounts else 0  # the orders' Account column
    for col, rows in (
        (2, plan["orders"]),
        (13 + shift, plan["summary"]),
        (17 + shift, plan["drift"]),
    ):
        for i, row in enumerate(rows[1:], start=4):
            got = [ws.cell(i, col + j).value for j in range(len(row))]
            assert [norm(v) for v in got] == [norm(v) for v in row]
    # The Name column beside the orders: each code's name from the Holdings table.
    names = {r[0]: r[1] for r in sample_ranges(portfolio, lang)["holdings"][1:]}
    for i, row in enumerate(plan["orders"][1:], start=4):
        assert ws.cell(i, 1).value == names.get(row[0], "")


def _fx(portfolio, currency: str) -> float:
    base = portfolio.base_currency
    if currency == base:
        return 1.0
    if (currency, base) in SAMPLE_FX:
        return SAMPLE_FX[(currency, base)]
    return 1.0 / SAMPLE_FX[(base, currency)]


@pytest.mark.parametrize(("portfolio", "lang"), CASES, ids=IDS)
def test_sample_plan_checks_out_by_hand(portfolio, lang):
    """The shown plan recomputed from the seed's holdings, prices and orders alone:
    whole shares, Amount = Shares x Price, weights before and after, cash after,
    fees, caps and the minimum trade (not the engine compared with itself)."""
    plan = sample_plan(portfolio, lang)
    settings = dict(portfolio.settings)
    summary = {r[0]: r[1] for r in plan["summary"][1:]}
    item = {k: v[1 if lang == "ko" else 0] for k, v in SUMMARY_LABELS.items()}
    shares: dict[str, float] = {}  # the household's, over every account
    for h in portfolio.holdings:
        shares[h.ticker] = shares.get(h.ticker, 0.0) + float(h.shares)
    price = {
        t: INSTRUMENTS[t].sample_price * _fx(portfolio, INSTRUMENTS[t].currency)
        for t in portfolio.tickers()
    }
    cash_before = sum(a * _fx(portfolio, c) for c, a, _ in portfolio.cash_rows())
    total = sum(shares[t] * price[t] for t in shares) + cash_before
    after = dict(shares)
    flows = traded = 0.0
    for row in plan["orders"][1:]:
        ticker, action, n, p, ccy, amount, amount_base, w_before = row[:8]
        assert n == int(n) and n > 0
        assert p == INSTRUMENTS[ticker].sample_price and ccy == INSTRUMENTS[ticker].currency
        assert amount == pytest.approx(n * p)
        assert amount_base == pytest.approx(amount * _fx(portfolio, ccy))
        assert amount_base >= float(settings["min_trade"])
        assert w_before == pytest.approx(shares.get(ticker, 0.0) * price[ticker] / total)
        sign = 1 if action in ("BUY", "매수") else -1
        assert action in ("BUY", "SELL", "매수", "매도")
        after[ticker] = after.get(ticker, 0.0) + sign * n
        flows += sign * amount_base
        traded += amount_base
    fees = float(settings["fee_rate"]) * traded  # fee_min is 0 in every seed
    assert summary[item["fees"]] == pytest.approx(fees)
    costs = fees + summary[item["tax"]] + summary[item["fx_cost"]]
    assert summary[item["cash_before"]] == pytest.approx(cash_before)
    assert summary[item["cash_after"]] == pytest.approx(cash_before - flows - costs)
    total_after = total - costs
    assert summary[item["value_after"]] == pytest.approx(total_after)
    weights = {t: after[t] * price[t] / total_after for t in after}
    for row in plan["orders"][1:]:  # Weight After (a household's Account comes after Target)
        assert row[8] == pytest.approx(weights[row[0]])
    # The caps the seed states hold after the orders.
    for t in portfolio.targets:
        if t.max is not None:
            assert weights.get(t.ticker, 0.0) <= t.max + 1e-9
    for cap in portfolio.group_caps():
        members = [t.ticker for t in portfolio.targets if t.group == cap.group]
        weight = sum(weights.get(m, 0.0) for m in members)
        assert weight <= cap.max + 1e-9 and weight >= (cap.min or 0.0) - 1e-9
    # Drift rows: weight = value / total before, as the Holdings sheet computes it.
    for ticker, value, weight, *_ in plan["drift"][1:]:
        if ticker in shares:
            assert value == pytest.approx(shares[ticker] * price[ticker])
            assert weight == pytest.approx(value / total)


def test_sample_ranges_are_what_the_reader_reads_plus_prices(tmp_path, built):
    from etf_rebalancer.workbook.reader import read_workbook

    portfolio, lang = PORTFOLIOS[3], "ko"
    path = tmp_path / "k.xlsx"
    path.write_bytes(built[template_filename(portfolio, lang)])
    ranges = read_workbook(path)
    expected = sample_ranges(portfolio, lang)
    # The price column and the computed columns are formulas: the reader leaves them
    # empty (the quote layer prices the holdings).
    width = len(HEADERS["holdings"][lang])
    got = [r[:width] for r in ranges.holdings]
    assert [r[:3] + r[4:] for r in got] == [r[:3] + r[4:] for r in expected["holdings"]]
    assert all(r[3] is None for r in got[1:])
    assert ranges.targets == expected["targets"]
    assert ranges.settings == expected["settings"]
    assert [r[:3] for r in ranges.cash] == expected["cash"]  # Currency, Amount, Account
    assert ranges.accounts == expected["accounts"]
    assert [r[0] for r in ranges.accounts[1:]] == ["위탁", "ISA", "연금저축", "IRP"]


def test_groups_sheet_lists_every_group_the_targets_use(built):
    for portfolio, lang in CASES:
        wb = openpyxl.load_workbook(io.BytesIO(built[template_filename(portfolio, lang)]))
        ws = wb[layout.sheet_name("groups", lang)]
        listed = {ws.cell(r, 1).value for r in range(2, ws.max_row + 1)} - {None}
        used = {t.group for t in portfolio.targets if t.group}
        assert used <= listed, (portfolio.slug, used - listed)


def test_texts_a_user_can_trust(built):
    """No "the article", no KRW sentence in a USD-only template; the starter shows an
    example row and starts in KRW with a Korean benchmark in Korean."""
    for name, data in built.items():
        wb = openpyxl.load_workbook(io.BytesIO(data))
        text = " ".join(
            str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value
        )
        assert "article" not in text.casefold() and "기사" not in text, name
        currencies = {
            r[2] for r in wb.worksheets[-2].iter_rows(min_row=2, max_col=3, values_only=True)
        }
        if currencies <= {"USD", None}:
            assert "KRW" not in text.replace("KRW, EUR", ""), name
    starter_ko = sample_ranges(STARTER, "ko")
    assert dict((r[0], r[1]) for r in starter_ko["settings"][1:])["base_currency"] == "KRW"
    assert STARTER.for_lang("ko").benchmark == "069500"
    assert len(sample_ranges(STARTER, "en")["holdings"]) == 2  # header and one example


@pytest.mark.parametrize(("portfolio", "lang"), CASES, ids=IDS)
def test_charts_follow_their_spills_and_cache_what_the_plan_shows(built, portfolio, lang):
    """Series run over OFFSET/COUNTA names, so a chart grows with the holdings or history;
    the Plan chart also caches the cached drift rows for viewers that do not evaluate names."""
    from tests.workbook.snapshot import chart_series

    data = built[template_filename(portfolio, lang)]
    wb = openpyxl.load_workbook(io.BytesIO(data))
    plan = wb[layout.sheet_name("plan", lang)]
    names = {n: d.attr_text for n, d in plan.defined_names.items()}
    sheet = plan.title
    q, w, t = ("R", "T", "U") if portfolio.accounts else ("Q", "S", "T")
    assert names["PlanTickers"] == (
        f"OFFSET({sheet}!${q}$4,0,0,MAX(1,COUNTA({sheet}!${q}$4:${q}$1003)),1)"
    )
    assert names["PlanWeight"].startswith(f"OFFSET({sheet}!${w}$4,")  # Weight beside Ticker
    assert names["PlanTarget"].startswith(f"OFFSET({sheet}!${t}$4,")
    backtest = wb[layout.sheet_name("backtest", lang)]
    equity = {n: d.attr_text for n, d in backtest.defined_names.items()}
    assert sorted(equity) == ["EquityBenchmark", "EquityDates", "EquityPortfolio"]
    assert all(f"COUNTA({backtest.title}!$H$7:$H$20006)" in v for v in equity.values())
    series = chart_series(data)
    assert series["xl/charts/chart1.xml"] == [
        f"{sheet}!{n}" for n in ("PlanTickers", "PlanWeight", "PlanTickers", "PlanTarget")
    ]
    # The backtest chart's title is a cell: "no history yet" until the equity spill has a date.
    assert series["xl/charts/chart2.xml"][0].endswith("!$K$5")
    assert series["xl/charts/chart2.xml"][2] == f"{backtest.title}!EquityPortfolio"
    # The cached points are the cached drift rows' weights and targets.
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/charts/chart1.xml").decode()
    import re

    caches = re.findall(r"<c:numCache>(.*?)</c:numCache>", xml)
    points = [[float(v) for v in re.findall(r"<c:v>(.*?)</c:v>", c)] for c in caches]
    drift = sample_plan(portfolio, lang)["drift"][1:]
    assert points == [[norm(r[2]) for r in drift], [norm(r[3]) for r in drift]]


def test_plan_formats_follow_the_spills_by_currency_and_item(built):
    """Money in its own currency whatever the spill's length: conditional formats keyed on
    the orders' Currency column and on the summary's item, integer share counts."""
    from etf_rebalancer.workbook.styles import MONEY_FORMATS

    data = built["korean-investor_ko.xlsx"]
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb[layout.sheet_name("plan", "ko")]
    rules = {}
    for rng in ws.conditional_formatting:
        for rule in rng.rules:
            fmt = rule.dxf.numFmt.formatCode if rule.dxf and rule.dxf.numFmt else None
            rules.setdefault(str(rng.sqref), []).append((rule.formula[0], fmt))
    # Price (E) and Amount (G) by the row's Currency (F), 200 rows down.
    for column in ("E", "G"):
        by_currency = dict(rules[f"{column}4:{column}204"])
        assert by_currency['$F4="KRW"'] == '"₩"#,##0' == MONEY_FORMATS["KRW"]
        assert by_currency['$F4="USD"'] == "$#,##0.00"
    shares = dict(rules["D4:D204"])
    assert shares["AND(ISNUMBER(D4),MOD(D4,1)<>0)"] == "#,##0.######"
    # A household template: the summary one column right of the orders' Account (L).
    summary = dict(rules["O4:O204"])
    usd = 'OR(ISNUMBER(SEARCH("(USD)",$N4)),ISNUMBER(SEARCH(", USD)",$N4)))'
    assert summary[usd] == "$#,##0.00"  # a USD pool's cash, also "(위탁, USD)"
    assert any(f == "0.0%" and "이탈" in k for k, f in summary.items())
    assert any(f == "0.0%" and "위험자산" in k for k, f in summary.items())  # IRP risky
    assert any(f == "0" and "주문 수" in k for k, f in summary.items())
    # Column formats for what no rule matches: base-currency money, integer counts.
    assert ws.column_dimensions["H"].number_format == '"₩"#,##0'  # Amount (base)
    assert ws.column_dimensions["O"].number_format == '"₩"#,##0'
    assert ws.column_dimensions["D"].number_format == "#,##0"
