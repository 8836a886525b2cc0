"""The Plan sheet: ``REBAL_ORDERS``, ``REBAL_SUMMARY`` and ``REBAL_DRIFT`` spilled side by side.

Each spill can grow downwards without running into another (#SPILL!); a Name
column beside the orders and the drift looks each code up in the Holdings
table (the contract's spill columns stay as they are). Number formats follow
the rows whatever their count: conditional formats keyed on the orders'
Currency column and on the summary's item name, not styles frozen from the
sample plan. The chart sits right of the drift spill, so no spill grows into it.

Every formula answers ``EtfAddinMissing`` (the Start sheet's short text) when
the add-in is not loaded, instead of ``#NAME?``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from xlsxwriter.utility import xl_col_to_name, xl_range_abs
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from etf_rebalancer.cells.labels import DRIFT_HEADER, ORDER_HEADER, SUMMARY_HEADER
from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.layout import HEADERS
from etf_rebalancer.workbook.portfolios import INSTRUMENTS, SAMPLE_DATE, Portfolio
from etf_rebalancer.workbook.styles import (
    FRACTION_FORMAT,
    MONEY_FORMATS,
    NUMBER_FORMAT,
    PERCENT_FORMAT,
    SHARES_FORMAT,
    CachedText,
    Formats,
    cached_number,
    guarded,
    page_setup,
    spill_names,
    write_spill,
)
from etf_rebalancer.workbook.texts import LABELS, STATUS

ORDERS_HEADER = tuple(ORDER_HEADER)
DRIFT_HEADERS = tuple(DRIFT_HEADER)
SUMMARY_HEADERS = tuple(SUMMARY_HEADER)

# Columns (0-based) of the Plan sheet.
NAME_COL = 0  # A: Name of each order's ticker
ORDERS_COL = NAME_COL + 1  # B: REBAL_ORDERS
SUMMARY_COL = ORDERS_COL + len(ORDERS_HEADER) + 1  # M: REBAL_SUMMARY
DRIFT_NAME_COL = SUMMARY_COL + len(SUMMARY_HEADERS) + 1  # P: Name of each drift ticker
DRIFT_COL = DRIFT_NAME_COL + 1  # Q: REBAL_DRIFT
CHART_COL = DRIFT_COL + len(DRIFT_HEADERS) + 1  # Y: the weights chart


class PlanColumns(NamedTuple):
    """Where each block of the Plan sheet starts (0-based columns)."""

    orders: int
    summary: int
    drift_name: int
    drift: int
    chart: int


def plan_columns(portfolio: Portfolio) -> PlanColumns:
    """The Plan sheet's columns: a household template's orders carry one more column
    (``Account`` after ``Target``), so everything right of them moves one column on."""
    shift = 1 if portfolio.accounts else 0
    return PlanColumns(
        ORDERS_COL,
        SUMMARY_COL + shift,
        DRIFT_NAME_COL + shift,
        DRIFT_COL + shift,
        CHART_COL + shift,
    )


FORMULA_ROW = 2  # row 3: title in row 1, a hint and the prices' date in row 2
NAME_ROWS = 150  # how far down the Name columns look up codes
FORMAT_ROWS = 200  # how far the conditional formats reach

_FRACTION_WORDS = ("drift", "turnover", "이탈", "회전")
_COUNT_ITEMS = ("Orders", "주문 수")
# Household summaries' per-account risky weights and caps (IRP/DC).
_HOUSEHOLD_FRACTION_WORDS = ("risky", "위험자산")


def rebal_formula(function: str, household: bool = False) -> str:
    """``=REBAL_X(Holdings[#All],Targets[#All],Cash[#All],Settings[#All],Groups[#All])``;
    a household template (``household``) adds ``Accounts[#All]`` as the sixth range."""
    t = layout.TABLES
    tables = ["holdings", "targets", "cash", "settings", "groups"]
    if household:
        tables.append("accounts")
    args = ",".join(f"{t[k]}[#All]" for k in tables)
    return f"={function}({args})"


def _name_formula(lang: str, ticker_cell: str) -> str:
    ticker, name = HEADERS["holdings"][lang][:2]
    h = layout.TABLES["holdings"]
    return (
        f'=IF({ticker_cell}="","",IFERROR(INDEX({h}[{name}],MATCH({ticker_cell},{h}[{ticker}],0)),'
        '""))'
    )


def _write_names(
    ws: Worksheet,
    col: int,
    ticker_col: int,
    rows: Sequence[Sequence[Any]] | None,
    portfolio: Portfolio,
    lang: str,
    fmt: Formats,
) -> None:
    """A Name column beside a spill: one lookup formula per row, cached with the sample names."""
    held = {h.ticker: INSTRUMENTS[h.ticker].name.get(lang) for h in portfolio.holdings}
    cached = [str(r[0]) for r in (rows or [])[1:]]
    ws.write_string(FORMULA_ROW, col, LABELS["name"].get(lang))
    grey = fmt.get(font_color="#404040")
    letter = xl_col_to_name(ticker_col)
    for i in range(NAME_ROWS):
        row = FORMULA_ROW + 1 + i
        value = held.get(cached[i], "") if i < len(cached) else ""
        ws.write_formula(row, col, _name_formula(lang, f"${letter}{row + 1}"), grey, value)


def _money_by_currency(
    ws: Worksheet, fmt: Formats, first_col: int, last_col: int, currency_col: int
) -> None:
    """Cells in their row's currency format, keyed on that row's Currency cell."""
    first = FORMULA_ROW + 1
    letter = xl_col_to_name(currency_col)
    for currency in MONEY_FORMATS:
        ws.conditional_format(
            first,
            first_col,
            first + FORMAT_ROWS,
            last_col,
            {
                "type": "formula",
                "criteria": f'=${letter}{first + 1}="{currency}"',
                "format": fmt.money(currency),
            },
        )


def _summary_formats(
    ws: Worksheet, fmt: Formats, summary_col: int = SUMMARY_COL, household: bool = False
) -> None:
    """The summary's Value column by item: fractions as %, counts as integers, per-pool
    cash in that pool's currency (``Cash after (USD)``, in a household template
    ``Cash after (IRP, USD)``); the rest in the base currency."""
    first = FORMULA_ROW + 1
    item = f"${xl_col_to_name(summary_col)}{first + 1}"
    fractions = _FRACTION_WORDS + (_HOUSEHOLD_FRACTION_WORDS if household else ())
    rules: list[tuple[str, Any]] = [
        (
            "=OR(" + ",".join(f'ISNUMBER(SEARCH("{w}",{item}))' for w in fractions) + ")",
            fmt.get(num_format=PERCENT_FORMAT),
        ),
        ("=OR(" + ",".join(f'{item}="{w}"' for w in _COUNT_ITEMS) + ")", fmt.get(num_format="0")),
    ]
    for c in MONEY_FORMATS:
        found = f'ISNUMBER(SEARCH("({c})",{item}))'
        if household:  # the account comes first: "(IRP, KRW)"
            found = f'OR({found},ISNUMBER(SEARCH(", {c})",{item})))'
        rules.append((f"={found}", fmt.money(c)))
    for criteria, cell_format in rules:
        ws.conditional_format(
            first,
            summary_col + 1,
            first + FORMAT_ROWS,
            summary_col + 1,
            {"type": "formula", "criteria": criteria, "format": cell_format},
        )


def _either(cell: str, words: Sequence[str]) -> str:
    return "=OR(" + ",".join(f'{cell}="{w}"' for w in words) + ")"


def write_plan(
    wb: Workbook,
    portfolio: Portfolio,
    lang: str,
    fmt: Formats,
    plan: dict[str, list[list[Any]]] | None,
) -> None:
    """Add the Plan sheet (three guarded spills, Name columns, a dated row and a chart)."""
    sheet = layout.sheet_name("plan", lang)
    ws = wb.add_worksheet(sheet)
    page_setup(ws, fit=False)
    base = portfolio.base_currency
    pct = fmt.get(num_format=PERCENT_FORMAT)
    money = fmt.money(base)
    cols = plan_columns(portfolio)
    household = bool(portfolio.accounts)
    o, s, d = cols.orders, cols.summary, cols.drift
    n_orders = len(ORDERS_HEADER) + (1 if household else 0)
    # Column formats apply to whatever the spills return, however long; the
    # conditional formats below refine them by row.
    ws.set_column(NAME_COL, NAME_COL, 22)
    ws.set_column(o + 0, o + 0, 9)
    ws.set_column(o + 1, o + 1, 7)
    ws.set_column(o + 2, o + 2, 8, fmt.get(num_format=SHARES_FORMAT))
    ws.set_column(o + 3, o + 3, 11, fmt.get(num_format=NUMBER_FORMAT))
    ws.set_column(o + 4, o + 4, 8)
    ws.set_column(o + 5, o + 5, 12, fmt.get(num_format=NUMBER_FORMAT))
    ws.set_column(o + 6, o + 6, 13, money)
    ws.set_column(o + 7, o + 9, 9, pct)
    if household:  # the Account column after Target
        ws.set_column(o + 10, o + 10, 11, fmt.get(indent=1))
    ws.set_column(s - 1, s - 1, 2)
    # Household summaries name the account in the item (``Cash after (Pension, KRW)``).
    ws.set_column(s, s, 34 if household else 28)
    ws.set_column(s + 1, s + 1, 16, money)
    ws.set_column(cols.drift_name - 1, cols.drift_name - 1, 2)
    ws.set_column(cols.drift_name, cols.drift_name, 24)
    ws.set_column(d, d, 9)
    ws.set_column(d + 1, d + 1, 13, money)
    ws.set_column(d + 2, d + 5, 8, pct)
    ws.set_column(d + 6, d + 6, 8)
    ws.set_column(cols.chart - 1, cols.chart - 1, 2)

    title = fmt.get(bold=True, font_size=13)
    ws.write_string(
        0, NAME_COL, f"{LABELS['orders'].get(lang)} · {portfolio.title.get(lang)}", title
    )
    ws.write_string(0, s, LABELS["summary"].get(lang), title)
    ws.write_string(0, cols.drift_name, LABELS["drift"].get(lang), title)
    # The hint wraps over the orders' width (two rows' height), never cut at the page edge.
    ws.merge_range(
        1,
        NAME_COL,
        1,
        o + n_orders - 1,
        LABELS["plan_hint"].get(lang),
        fmt.get(italic=True, font_color="#595959", text_wrap=True, valign="top"),
    )
    ws.set_row(1, 30)
    # The date of the prices the shown plan used: a recipient of a saved file sees
    # the sender's plan with the sender's date until Excel recalculates.
    ticker, time = HEADERS["holdings"][lang][0], HEADERS["quotes"][lang][3]
    first_ticker = f"INDEX({layout.TABLES['holdings']}[{ticker}],1)"
    quote_time = f'ETF_PRICE({first_ticker},"time")'
    ws.write_string(1, s, LABELS["as_of"].get(lang), fmt.get(bold=True, align="right"))
    ws.write_formula(
        1,
        s + 1,
        f"=IF(ISNUMBER({quote_time}),{quote_time},"
        f'IFERROR(INDEX({layout.TABLES["quotes"]}[{time}],1),""))',
        fmt.get(num_format="yyyy-mm-dd hh:mm", bold=True, align="left"),
        # A formula's cached date is its serial number (what Excel stores).
        (SAMPLE_DATE - dt.datetime(1899, 12, 30)).total_seconds() / 86400,
    )
    ws.freeze_panes(FORMULA_ROW + 1, 0)
    # Header row: wrapped so "Weight Before" fits a narrow percent column.
    header_row = fmt.get(bold=True, bottom=1, bg_color="#DDEBF7", text_wrap=True, valign="bottom")
    ws.set_row(FORMULA_ROW, 30, header_row)

    plan = plan or {}
    for col, function, key in (
        (o, "REBAL_ORDERS", "orders"),
        (s, "REBAL_SUMMARY", "summary"),
        (d, "REBAL_DRIFT", "drift"),
    ):
        rows = plan.get(key) or [[CachedText(LABELS["addin_missing"].get(lang))]]
        anchor = xl_range_abs(FORMULA_ROW, col, FORMULA_ROW + len(rows) - 1, col + len(rows[0]) - 1)
        formula = guarded(rebal_formula(function, household), anchor)
        write_spill(ws, FORMULA_ROW, col, formula, rows)
    _write_names(ws, NAME_COL, o, plan.get("orders"), portfolio, lang, fmt)
    _write_names(ws, cols.drift_name, d, plan.get("drift"), portfolio, lang, fmt)

    first = FORMULA_ROW + 1
    last = first + FORMAT_ROWS
    # Orders: action in colour, counts as integers (decimals only for fractions),
    # Price and Amount in the listing currency.
    action = f"${xl_col_to_name(o + 1)}{first + 1}"
    sell, buy = ["SELL", "매도"], ["BUY", "매수"]
    for words, colour in ((sell, "#9C0006"), (buy, "#006100")):
        ws.conditional_format(
            first,
            o + 1,
            last,
            o + 1,
            {
                "type": "formula",
                "criteria": _either(action, words),
                "format": fmt.get(font_color=colour, bold=True),
            },
        )
    shares = f"{xl_col_to_name(o + 2)}{first + 1}"
    ws.conditional_format(
        first,
        o + 2,
        last,
        o + 2,
        {
            "type": "formula",
            "criteria": f"=AND(ISNUMBER({shares}),MOD({shares},1)<>0)",
            "format": fmt.get(num_format=FRACTION_FORMAT),
        },
    )
    _money_by_currency(ws, fmt, o + 3, o + 3, o + 4)
    _money_by_currency(ws, fmt, o + 5, o + 5, o + 4)
    _summary_formats(ws, fmt, s, household)
    # Drift outside the band: the whole drift row in red.
    status = f"${xl_col_to_name(d + len(DRIFT_HEADERS) - 1)}{first + 1}"
    words = [STATUS[k].en for k in ("over", "under")] + [STATUS[k].ko for k in ("over", "under")]
    ws.conditional_format(
        first,
        cols.drift_name,
        last,
        d + len(DRIFT_HEADERS) - 1,
        {
            "type": "formula",
            "criteria": _either(status, words),
            "format": fmt.get(bg_color="#FFC7CE", font_color="#9C0006"),
        },
    )

    drift_rows = plan.get("drift")
    n = len(drift_rows) - 1 if drift_rows else len(portfolio.tickers())
    longest = max(len(plan.get(k) or [[]]) for k in ("orders", "summary", "drift"))
    # Printing: the orders on the first page, summary and drift on the next, the
    # chart on the last; the title rows repeat on every page.
    ws.repeat_rows(0, FORMULA_ROW)
    ws.set_v_pagebreaks([s - 1, cols.chart - 1])
    ws.print_area(0, 0, FORMULA_ROW + max(longest, 22) + 1, cols.chart + 9)
    ws.set_print_scale(75)
    if n <= 0:
        return
    chart = wb.add_chart({"type": "column"})
    # Series over names that measure the drift spill (OFFSET/COUNTA), so the chart
    # grows and shrinks with the holdings instead of keeping the template's rows.
    names = spill_names(
        wb, sheet, FORMULA_ROW + 1, d, {"PlanTickers": 0, "PlanWeight": 2, "PlanTarget": 3}
    )
    # The cached points (what viewers that do not evaluate names draw) are the
    # cached drift rows'.
    cached = list((drift_rows or [])[1:])
    for label, name, column, color in (
        ("weight", names["PlanWeight"], 2, "#4472C4"),
        ("target", names["PlanTarget"], 3, "#A5A5A5"),
    ):
        chart.add_series(
            {
                "name": LABELS[label].get(lang),
                "categories": names["PlanTickers"],
                "values": name,
                "categories_data": [row[0] for row in cached] or None,
                "values_data": [cached_number(row[column]) for row in cached] or None,
                "fill": {"color": color},
            }
        )
    chart.set_title({"name": LABELS["chart"].get(lang), "name_font": {"size": 12}})
    chart.set_y_axis({"num_format": "0%", "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 620, "height": 320})
    ws.insert_chart(FORMULA_ROW, cols.chart, chart)
