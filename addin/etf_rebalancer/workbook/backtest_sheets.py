"""The templates' Backtest and Prices sheets: the target mix against a single-ETF benchmark.

The Prices sheet holds one live formula,
``=ETF_HISTORY(BacktestTickers, BacktestStart, BacktestEnd, BacktestCurrency)``:
daily closes of the benchmark and of every ticker in the Targets table, from
the first date on the Backtest sheet, converted into its "Prices in" currency.
The Backtest sheet runs the contract's functions over it::

    =PORTFOLIO_BACKTEST(Prices!A4#, Targets[[#All],[Ticker]:[Target]], BacktestSettings[...])
    =PORTFOLIO_EQUITY(...same...)      value series, charted beside it
    =PORTFOLIO_CORREL(Prices!A4#)      correlation matrix of daily returns

each wrapped in ``IFERROR(..., EtfAddinMissing)`` so that, without the add-in,
they answer the Start sheet's "add-in not loaded" instead of ``#NAME?``. The
tickers column is one ``INDEX(Targets[Ticker], n)`` per row (plain Excel, no
FILTER), so it also works where dynamic-array functions do not.

so the backtest follows the Targets table: add a row there and the history and
results follow. Only the Backtest sheet's own settings (calendar, band, fees,
benchmark) differ from the Plan's.

What a template shows before Excel recalculates (the formulas' cached values):
for the seeds, a note, not numbers, because no price history of their ETFs is
stored and inventing one would show made-up returns (with the add-in, Excel
recalculates on opening and fills everything from the quote cache). A
portfolio with ``stored_history`` gets a ``PriceHistory`` table of real closes
on its Prices sheet instead of the formula, and its results cached exactly as
the formulas compute them. ``etf-rebal backtest FILE`` prints the same table.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter.utility import xl_col_to_name, xl_range_abs, xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook

from etf_rebalancer.cells import detect_language
from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.layout import HEADERS
from etf_rebalancer.workbook.portfolios import (
    BACKTEST_START,
    Portfolio,
    Text,
    stored_history_rows,
)
from etf_rebalancer.workbook.styles import (
    BOOLEAN_FORMAT,
    NUMBER_FORMAT,
    Formats,
    cached_number,
    guarded,
    page_setup,
    spill_names,
    write_spill,
)

__all__ = [
    "BACKTEST_TABLE",
    "NAMES",
    "backtest_formulas",
    "backtest_results",
    "backtest_settings",
    "backtest_tickers",
    "write_backtest",
    "write_prices",
]

BACKTEST_TABLE = layout.TABLES["backtest"]

NAMES = layout.BACKTEST_NAMES

# Cells (0-based row, col) of the Backtest sheet.
SETTINGS_ROW = 5  # the table's header row (row 6)
RESULTS_COL = 4  # E: PORTFOLIO_BACKTEST (Metric, Value)
EQUITY_COL = 7  # H: PORTFOLIO_EQUITY (Date, Portfolio, Benchmark)
CORREL_COL = 11  # L: PORTFOLIO_CORREL, below the chart
CORREL_ROW = 24
FORMULA_ROW = 5
TICKER_ROWS = 200  # how far down BacktestTickers reaches (the targets' spill)
CHART_ROWS = 20000  # how far the chart's names count equity rows: 80 years of trading days
PRICES_ROW = 3  # Prices!A4: the ETF_HISTORY spill

_PERCENT_METRICS = (
    "Total Return",
    "CAGR",
    "Volatility",
    "Max Drawdown",
    "Turnover (per year)",
    "Benchmark Total Return",
    "Benchmark CAGR",
    "Benchmark Volatility",
    "Benchmark Max Drawdown",
)
_RATIO_METRICS = ("Sharpe", "Benchmark Sharpe", "Avg Correlation", "Correlation to Benchmark")
_MONEY_METRICS = ("Fees", "Final Value")
_DATE_METRICS = ("Start", "End")

SETTING_HELP: dict[str, Text] = {
    "rebalance": Text(
        "none, monthly, quarterly or annual (first trading day of each)",
        "none, monthly, quarterly, annual (매 기간 첫 거래일)",
    ),
    "band": Text(
        "Blank: calendar only. 10%: only when an asset leaves its band",
        "비우면 달력대로. 10%: 종목이 허용범위를 벗어날 때만",
    ),
    "band_type": Text("relative or absolute (as on the Settings sheet)", "relative 또는 absolute"),
    "fee_rate": Text("Commission as a fraction of each trade", "거래금액 대비 수수료율"),
    "initial": Text("Amount invested on the first date", "첫날 투자 금액"),
    "whole_shares": Text("TRUE: whole shares only", "TRUE: 정수 주식만"),
    "benchmark": Text("The single ETF to compare with", "비교할 ETF 하나"),
}

LABELS: dict[str, Text] = {
    "title": Text("Backtest", "백테스트"),
    "hint": Text(
        "Live formulas: =PORTFOLIO_BACKTEST, =PORTFOLIO_EQUITY and =PORTFOLIO_CORREL over the "
        "Prices sheet (=ETF_HISTORY of the benchmark and the Targets tickers) and the Targets "
        "table's weights. Change the settings below; the Plan is not affected.",
        "실시간 수식: 가격이력 시트(벤치마크와 목표비중 티커의 =ETF_HISTORY)와 목표비중 표의 "
        "비중으로 =PORTFOLIO_BACKTEST, =PORTFOLIO_EQUITY, =PORTFOLIO_CORREL 을 계산합니다. "
        "아래 설정을 바꿔도 주문 계획에는 영향이 없습니다.",
    ),
    "hint_stored": Text(
        "Live formulas: =PORTFOLIO_BACKTEST, =PORTFOLIO_EQUITY and =PORTFOLIO_CORREL over the "
        "price table on the Prices sheet and the Targets table's weights. Change the settings "
        "below; the Plan is not affected.",
        "실시간 수식: 가격이력 시트의 가격표와 목표비중 표의 비중으로 =PORTFOLIO_BACKTEST, "
        "=PORTFOLIO_EQUITY, =PORTFOLIO_CORREL 을 계산합니다. 아래 설정을 바꿔도 주문 계획에는 "
        "영향이 없습니다.",
    ),
    "currency": Text(
        'Prices are converted into the "Prices in" currency at each day\'s FX close, so a KRW '
        "investor's QQQ carries the USD/KRW moves too. Past results do not predict future ones.",
        "가격은 '가격 통화'로 매일의 환율 종가를 적용해 환산하므로 원화 투자자의 QQQ에는 "
        "USD/KRW 변동도 반영됩니다. 과거 성과가 미래를 보장하지 않습니다.",
    ),
    # For a portfolio in one currency: no sentence about another currency's investors.
    "single_currency": Text(
        "Past results do not predict future ones.", "과거 성과가 미래를 보장하지 않습니다."
    ),
    "inputs": Text("Settings", "설정"),
    "results": Text("Results", "결과"),
    "equity": Text("Value over time", "평가액 추이"),
    "correl": Text("Correlation of daily returns", "일간 수익률 상관계수"),
    "history_from": Text(*layout.HISTORY_LABELS["start"]),
    "history_from_help": Text(
        "The backtest starts once every ETF has a price",
        "모든 ETF에 가격이 생긴 날부터 백테스트",
    ),
    "history_to": Text(*layout.HISTORY_LABELS["end"]),
    "history_to_help": Text("Blank: up to today", "비우면 오늘까지"),
    "currency_label": Text(*layout.HISTORY_LABELS["currency"]),
    "currency_help": Text(
        "Prices converted into this currency at each day's FX close (blank: each ETF's own)",
        "이 통화로 매일의 환율 종가를 적용해 환산 (비우면 각 ETF 자기 통화)",
    ),
    "tickers": Text("Tickers in Prices", "가격이력 티커"),
    "tickers_help": Text(
        "The benchmark, then the Targets table (formulas)",
        "벤치마크, 그다음 목표비중 표 (수식)",
    ),
    "chart": Text("Target mix vs benchmark", "목표 비중 vs 벤치마크"),
    "portfolio": Text("Target mix", "목표 비중"),
    "benchmark": Text("Benchmark", "벤치마크"),
    "pending": Text(
        "No history yet: calculated by Excel with the add-in",
        "아직 가격이력 없음: 추가 기능이 있는 엑셀에서 계산",
    ),
    "chart_empty": Text(
        "No history yet: the chart fills once the Prices sheet has prices",
        "아직 가격이력 없음: 가격이력 시트에 가격이 생기면 차트가 그려집니다",
    ),
    "no_history": Text(
        "This file stores no price history, so results appear once Excel calculates with the "
        "add-in; `etf-rebal backtest FILE` prints the same table from the command line.",
        "이 파일에는 가격이력이 없으므로 추가 기능이 있는 엑셀에서 계산해야 결과가 "
        "나타납니다; `etf-rebal backtest 파일` 은 같은 표를 명령줄에 출력합니다.",
    ),
    "prices_title": Text("Price history for the Backtest sheet", "백테스트 시트용 가격이력"),
    "prices_hint": Text(
        "=ETF_HISTORY(BacktestTickers, BacktestStart, BacktestEnd, BacktestCurrency): daily "
        "adjusted closes from the quote cache (fetched once when online), converted into the "
        "Backtest sheet's currency. To backtest your own data, replace the formula with a "
        "pasted table: Date, then one column per ticker.",
        "=ETF_HISTORY(BacktestTickers, BacktestStart, BacktestEnd, BacktestCurrency): 시세 "
        "캐시의 일별 수정종가(온라인일 때 한 번 받음)를 백테스트 시트의 통화로 환산. 직접 가진 "
        "데이터를 쓰려면 수식 대신 날짜, 티커별 열로 된 표를 붙여 넣으세요.",
    ),
    "stored_history": Text(
        "Results below are computed from the price table stored on the Prices sheet "
        "(real closes); Excel recalculates them with the add-in.",
        "아래 결과는 가격이력 시트에 저장된 가격표(실제 종가)로 계산한 값이며, 추가 기능이 "
        "있는 엑셀이 다시 계산합니다.",
    ),
    "prices_stored": Text(
        "Stored adjusted closes (PriceHistory table): iShares factor ETFs 2014-01-02 to "
        "2022-12-28 from skfolio's factors dataset (BSD-3-Clause). Add rows or columns to the "
        "table, or replace it with =ETF_HISTORY(BacktestTickers, BacktestStart, BacktestEnd, "
        "BacktestCurrency) "
        "in A4 and the Backtest formulas' PriceHistory[#All] with Prices!A4#.",
        "저장된 수정종가(PriceHistory 표): skfolio factors 데이터셋(BSD-3-Clause)의 "
        "아이셰어즈 팩터 ETF 2014-01-02~2022-12-28. 표에 행이나 열을 추가하거나, A4에 "
        "=ETF_HISTORY(BacktestTickers, BacktestStart, BacktestEnd, BacktestCurrency)를 넣고 "
        "백테스트 수식의 "
        "PriceHistory[#All]을 가격이력!A4#으로 바꾸세요.",
    ),
    "prices_pending": Text(
        "No history yet: it loads here when Excel calculates =ETF_HISTORY with the add-in.",
        "아직 가격이력 없음: 추가 기능이 있는 엑셀에서 =ETF_HISTORY 를 계산하면 여기에 나타납니다.",
    ),
    "prices_print": Text(
        "Printing shows the first rows only; the table continues below.",
        "인쇄하면 처음 몇 행만 나옵니다; 표는 아래로 이어집니다.",
    ),
}


def backtest_settings(portfolio: Portfolio) -> list[tuple[str, Any]]:
    """The Backtest sheet's settings (PORTFOLIO_BACKTEST keys) for a seed portfolio.

    Quarterly without a band, the calendar the seeds' notes describe; fees
    and band type as on the Settings sheet; whole shares off so the result is
    the mix's, not the rounding's.
    """
    plan = dict(portfolio.settings)
    initial = 10_000_000.0 if portfolio.base_currency == "KRW" else 10_000.0
    return [
        ("rebalance", "quarterly"),
        ("band", None),
        ("band_type", str(plan.get("band_type", "relative"))),
        ("fee_rate", float(plan.get("fee_rate", 0.0))),  # type: ignore[arg-type]
        ("initial", initial),
        ("whole_shares", False),
        ("benchmark", portfolio.benchmark),
    ]


def backtest_tickers(portfolio: Portfolio) -> list[str]:
    """What ``BacktestTickers`` holds: the benchmark, then the Targets tickers."""
    return [portfolio.benchmark] + [t.ticker for t in portfolio.targets]


def _sheet_ref(name: str) -> str:
    return name if name.isascii() and name.isalnum() else "'" + name.replace("'", "''") + "'"


def _anchor(row: int, col: int, size: tuple[int, int] = (1, 1)) -> str:
    """The range a formula at (row, col) fills with a saved result of ``size`` rows x cols."""
    return xl_range_abs(row, col, row + size[0] - 1, col + size[1] - 1)


def backtest_formulas(
    lang: str, stored: bool = False, sizes: dict[str, tuple[int, int]] | None = None
) -> dict[str, str]:
    """The formulas of the Backtest and Prices sheets, as typed in Excel (``A4#`` spelled out).

    ``stored``: the Prices sheet holds a price table (``PriceHistory``) instead
    of the ``ETF_HISTORY`` spill. ``sizes``: rows x columns of the saved results
    (``stats``, ``equity``, ``correl``) the add-in-missing fallback must cover.
    """
    sizes = sizes or {}
    if stored:
        prices = f"{layout.TABLES['prices']}[#All]"
    else:
        sheet = _sheet_ref(layout.sheet_name("prices", lang))
        prices = f"ANCHORARRAY({sheet}!$A${PRICES_ROW + 1})"
    ticker, target = HEADERS["targets"][lang][:2]
    weights = f"{layout.TABLES['targets']}[[#All],[{ticker}]:[{target}]]"
    key, value = layout.SETTINGS_HEADERS[lang][:2]
    settings = f"{BACKTEST_TABLE}[[#All],[{key}]:[{value}]]"
    targets = f"{layout.TABLES['targets']}[{ticker}]"
    # A Korean workbook asks ETF_HISTORY for Korean (날짜), so the backtest and correlation
    # over its spill answer in Korean too; nothing else in the arguments says the language.
    language = ',"ko"' if lang == "ko" else ""
    return {
        "history": guarded(
            f"=ETF_HISTORY({NAMES['tickers']},{NAMES['start']},{NAMES['end']},"
            f"{NAMES['currency']}{language})",
            _anchor(PRICES_ROW, 0),
        ),
        "stats": guarded(
            f"=PORTFOLIO_BACKTEST({prices},{weights},{settings})",
            _anchor(FORMULA_ROW, RESULTS_COL, sizes.get("stats", (1, 1))),
        ),
        "equity": guarded(
            f"=PORTFOLIO_EQUITY({prices},{weights},{settings})",
            _anchor(FORMULA_ROW, EQUITY_COL, sizes.get("equity", (1, 1))),
        ),
        "correl": guarded(
            f"=PORTFOLIO_CORREL({prices})",
            _anchor(CORREL_ROW, CORREL_COL, sizes.get("correl", (1, 1))),
        ),
        "benchmark": (
            f'=IFERROR(INDEX({BACKTEST_TABLE}[{value}],MATCH("benchmark",'
            f'{BACKTEST_TABLE}[{key}],0))&"","")'
        ),
        # Row n of the tickers column (n = 1, 2, ...): "" past the table's end.
        "targets": f'=IFERROR(INDEX({targets},{{n}})&"","")',
    }


def backtest_results(portfolio: Portfolio, lang: str) -> dict[str, list[list[Any]]] | None:
    """What the Backtest sheet's formulas return over a stored price table (else ``None``).

    The template caches these, computed by the same bodies the UDFs run, from
    exactly the ranges the formulas name.
    """
    prices = stored_history_rows(portfolio)
    if not prices:
        return None
    from etf_rebalancer.backtest.sheet import (
        backtest_rows,
        correlation_rows,
    )

    weights: list[list[Any]] = [list(HEADERS["targets"][lang][:2])]
    weights += [[t.ticker, t.target] for t in portfolio.targets]
    settings: list[list[Any]] = [list(layout.SETTINGS_HEADERS[lang][:2])]
    settings += [[k, v] for k, v in backtest_settings(portfolio)]
    # The language each formula answers in, decided as the UDFs decide it (PORTFOLIO_CORREL
    # sees only the price table, so its header decides).
    stats, equity = backtest_rows(
        prices, weights, settings, detect_language(prices, weights, settings=settings)
    )
    correl = correlation_rows(prices, detect_language(prices))
    return {"prices": prices, "stats": stats, "equity": equity, "correl": correl}


def _name_ref(sheet: str, row: int, col: int, last_row: int | None = None) -> str:
    ref = f"={_sheet_ref(sheet)}!{xl_rowcol_to_cell(row, col, True, True)}"
    if last_row is not None:
        ref += ":" + xl_rowcol_to_cell(last_row, col, True, True)
    return ref


def write_backtest(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    """Add the Backtest sheet: settings table, dates, tickers, three spills and a chart."""
    name = layout.sheet_name("backtest", lang)
    ws = wb.add_worksheet(name)
    page_setup(ws)
    ws.fit_to_pages(1, 1)
    results = backtest_results(portfolio, lang)
    sizes = {
        key: (len(results[key]), max(len(r) for r in results[key]))
        for key in ("stats", "equity", "correl")
        if results is not None
    }
    formulas = backtest_formulas(lang, stored=results is not None, sizes=sizes)
    base = portfolio.base_currency
    pct = fmt.get(num_format="0.0##%")
    date = fmt.get(num_format="yyyy-mm-dd", align="left")
    date_only = fmt.get(num_format="yyyy-mm-dd")
    italic = fmt.get(italic=True, font_color="#595959")
    pending = fmt.get(italic=True, font_color="#9C5700", bg_color="#FFF2CC")
    title = fmt.get(bold=True, font_size=13)
    section = fmt.get(bold=True, font_size=11)

    ws.set_column(0, 0, 16)
    ws.set_column(1, 1, 12)
    ws.set_column(2, 2, 60, fmt.get(font_color="#595959"))
    ws.set_column(3, 3, 2)
    ws.set_column(RESULTS_COL, RESULTS_COL, 26)
    ws.set_column(RESULTS_COL + 1, RESULTS_COL + 1, 14, fmt.get(num_format=NUMBER_FORMAT))
    ws.set_column(RESULTS_COL + 2, RESULTS_COL + 2, 2)
    ws.set_column(EQUITY_COL, EQUITY_COL, 11, fmt.get(num_format="yyyy-mm-dd"))
    ws.set_column(EQUITY_COL + 1, EQUITY_COL + 2, 13, fmt.money(base))
    ws.set_column(EQUITY_COL + 3, EQUITY_COL + 3, 2)
    ws.set_column(CORREL_COL, CORREL_COL + 12, 9, fmt.get(num_format="0.00"))

    ws.write_string(0, 0, f"{LABELS['title'].get(lang)} · {portfolio.title.get(lang)}", title)
    ws.write_string(1, 0, LABELS["hint_stored" if results else "hint"].get(lang), italic)
    several = len({i.currency for i in _instruments(portfolio)} | {portfolio.base_currency}) > 1
    ws.write_string(2, 0, LABELS["currency" if several else "single_currency"].get(lang), italic)
    if results is None:
        ws.write_string(3, 0, LABELS["no_history"].get(lang), italic)
    else:
        ws.write_string(3, 0, LABELS["stored_history"].get(lang), italic)
    ws.write_string(4, 0, LABELS["inputs"].get(lang), section)
    ws.write_string(4, RESULTS_COL, LABELS["results"].get(lang), section)
    ws.write_string(4, EQUITY_COL, LABELS["equity"].get(lang), section)
    ws.freeze_panes(FORMULA_ROW + 1, 0)

    # Settings: a table (its own name, so the formulas survive moving it).
    settings = backtest_settings(portfolio)
    headers = layout.SETTINGS_HEADERS[lang]
    ws.add_table(
        SETTINGS_ROW,
        0,
        SETTINGS_ROW + len(settings),
        2,
        {
            "name": BACKTEST_TABLE,
            "style": "Table Style Medium 2",
            "columns": [{"header": h, "header_format": fmt.header} for h in headers],
        },
    )
    right = fmt.get(align="right")
    for i, (key, value) in enumerate(settings, start=SETTINGS_ROW + 1):
        ws.write_string(i, 0, key)
        if value is None:
            ws.write_blank(i, 1, None, pct if key == "band" else None)
        elif isinstance(value, bool):
            ws.write_boolean(i, 1, value, fmt.get(align="right", num_format=BOOLEAN_FORMAT))
        elif isinstance(value, str):
            ws.write_string(i, 1, value, right)
        elif key == "fee_rate":
            ws.write_number(i, 1, value, pct)
        else:
            ws.write_number(i, 1, value, fmt.money(base))
        ws.write_string(i, 2, SETTING_HELP[key].get(lang))
        choices = {
            "rebalance": ["none", "monthly", "quarterly", "annual"],
            "band_type": ["relative", "absolute"],
            "whole_shares": ["TRUE", "FALSE"],
        }.get(key)
        if choices:
            ws.data_validation(i, 1, i, 1, {"validate": "list", "source": choices})

    # History dates and the tickers ETF_HISTORY fetches, as workbook names.
    row = SETTINGS_ROW + len(settings) + 2
    stored = results["prices"] if results else None
    ws.write_string(row, 0, LABELS["history_from"].get(lang), fmt.get(bold=True))
    ws.write_datetime(row, 1, stored[1][0] if stored else BACKTEST_START, date)
    ws.write_string(row, 2, LABELS["history_from_help"].get(lang))
    wb.define_name(NAMES["start"], _name_ref(name, row, 1))
    row += 1
    ws.write_string(row, 0, LABELS["history_to"].get(lang), fmt.get(bold=True))
    if stored:
        ws.write_datetime(row, 1, stored[-1][0], date)
    else:
        ws.write_blank(row, 1, None, date)
    ws.write_string(row, 2, LABELS["history_to_help"].get(lang))
    wb.define_name(NAMES["end"], _name_ref(name, row, 1))
    row += 1
    ws.write_string(row, 0, LABELS["currency_label"].get(lang), fmt.get(bold=True))
    ws.write_string(row, 1, portfolio.base_currency, fmt.get(align="right"))
    ws.write_string(row, 2, LABELS["currency_help"].get(lang))
    ws.data_validation(
        row, 1, row, 1, {"validate": "list", "source": ["USD", "KRW", "EUR", "JPY", "GBP"]}
    )
    wb.define_name(NAMES["currency"], _name_ref(name, row, 1))
    row += 2
    ws.write_string(row, 0, LABELS["tickers"].get(lang), fmt.get(bold=True, bottom=1))
    ws.write_string(row, 2, LABELS["tickers_help"].get(lang))
    first = row + 1
    ws.write_formula(first, 0, formulas["benchmark"], None, portfolio.benchmark)
    tickers = [t.ticker for t in portfolio.targets]
    for n in range(1, TICKER_ROWS + 1):
        cached = tickers[n - 1] if n <= len(tickers) else ""
        ws.write_formula(first + n, 0, formulas["targets"].format(n=n), None, cached)
    wb.define_name(NAMES["tickers"], _name_ref(name, first, 0, first + TICKER_ROWS))

    # Results: three spills, cached as what they compute over a stored table, else
    # as a note until Excel calculates them.
    note = LABELS["pending"].get(lang)
    ws.write_string(CORREL_ROW - 1, CORREL_COL, LABELS["correl"].get(lang), section)
    for row, col, key in (
        (FORMULA_ROW, RESULTS_COL, "stats"),
        (FORMULA_ROW, EQUITY_COL, "equity"),
        (CORREL_ROW, CORREL_COL, "correl"),
    ):
        if results is None:
            ws.write_dynamic_array_formula(row, col, row, col, formulas[key], pending, note)
        else:
            write_spill(ws, row, col, formulas[key], results[key], date_format=date_only)
    _metric_formats(ws, fmt, base)

    chart = wb.add_chart({"type": "line"})
    # Series over names sized by the equity spill (OFFSET/COUNTA): as many days as
    # the history has, never a fixed block of rows padded with blanks.
    names = spill_names(
        wb,
        name,
        FORMULA_ROW + 1,
        EQUITY_COL,
        {"EquityDates": 0, "EquityPortfolio": 1, "EquityBenchmark": 2},
        rows=CHART_ROWS,
    )
    equity = results["equity"][1:] if results else []
    for series, column, label, color in (
        ("EquityPortfolio", 1, LABELS["portfolio"].get(lang), "#4472C4"),
        (
            "EquityBenchmark",
            2,
            f"{LABELS['benchmark'].get(lang)} ({portfolio.benchmark})",
            "#A5A5A5",
        ),
    ):
        chart.add_series(
            {
                "name": label,
                "categories": names["EquityDates"],
                "values": names[series],
                # Cached points for viewers that do not evaluate names.
                "categories_data": [f"{r[0]:%Y-%m-%d}" for r in equity] or None,
                "values_data": [cached_number(r[column]) for r in equity] or None,
                "line": {"color": color, "width": 1.5},
            }
        )
    # The title says "no history yet" until the equity spill has a first date.
    first_date = xl_rowcol_to_cell(FORMULA_ROW + 1, EQUITY_COL)
    chart_title, chart_empty = LABELS["chart"].get(lang), LABELS["chart_empty"].get(lang)
    ws.write_formula(
        4,
        EQUITY_COL + 3,
        f'=IF(ISNUMBER({first_date}),"{chart_title}","{chart_empty}")',
        fmt.get(font_color="#FFFFFF"),
        chart_title if results else chart_empty,
    )
    chart.set_title({"name": [name, 4, EQUITY_COL + 3], "name_font": {"size": 12}})
    chart.set_x_axis({"date_axis": True, "num_format": "yyyy", "major_unit_type": "years"})
    chart.set_y_axis({"num_format": "#,##0", "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 640, "height": 340})
    ws.insert_chart(FORMULA_ROW, CORREL_COL, chart)
    # One page: settings, results, the chart and the correlations (not 2,000 rows of
    # value series).
    ws.print_area(0, 0, CORREL_ROW + len(portfolio.targets) + 2, CORREL_COL + 9)


def _instruments(portfolio: Portfolio) -> list[Any]:
    from etf_rebalancer.workbook.portfolios import INSTRUMENTS

    return [INSTRUMENTS[t] for t in [portfolio.benchmark, *portfolio.tickers()] if t in INSTRUMENTS]


def _metric_formats(ws: Any, fmt: Formats, base: str) -> None:
    """Number formats by metric name: one Value column holds %, ratios, money and dates."""
    col = xl_col_to_name(RESULTS_COL)
    first, last = FORMULA_ROW + 1, FORMULA_ROW + 60
    for names, cell_format in (
        (_PERCENT_METRICS, fmt.get(num_format="0.00%")),
        (_RATIO_METRICS, fmt.get(num_format="0.00")),
        (("Rebalances",), fmt.get(num_format="0")),
        (_MONEY_METRICS, fmt.money(base)),
        (_DATE_METRICS, fmt.get(num_format="yyyy-mm-dd")),
    ):
        test = ",".join(f'${col}{first + 1}="{n}"' for n in names)
        ws.conditional_format(
            first,
            RESULTS_COL + 1,
            last,
            RESULTS_COL + 1,
            {"type": "formula", "criteria": f"=OR({test})", "format": cell_format},
        )


def write_prices(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    """Add the Prices sheet: the ETF_HISTORY spill the Backtest sheet reads, or a stored table."""
    ws = wb.add_worksheet(layout.sheet_name("prices", lang))
    page_setup(ws)
    ws.set_column(0, 0, 11, fmt.get(num_format="yyyy-mm-dd"))
    ws.set_column(1, 30, 11, fmt.get(num_format=NUMBER_FORMAT))
    ws.write_string(0, 0, LABELS["prices_title"].get(lang), fmt.get(bold=True, font_size=13))
    stored = stored_history_rows(portfolio)
    hint = LABELS["prices_stored" if stored else "prices_hint"].get(lang)
    ws.write_string(1, 0, hint, fmt.get(italic=True, font_color="#595959"))
    ws.freeze_panes(PRICES_ROW + 1, 1)
    if stored:
        ws.add_table(
            PRICES_ROW,
            0,
            PRICES_ROW + len(stored) - 1,
            len(stored[0]) - 1,
            {
                "name": layout.TABLES["prices"],
                "style": "Table Style Light 1",
                "columns": [{"header": str(h), "header_format": fmt.header} for h in stored[0]],
            },
        )
        date = fmt.get(num_format="yyyy-mm-dd")
        for i, values in enumerate(stored[1:], start=PRICES_ROW + 1):
            ws.write_datetime(i, 0, values[0], date)
            for j, value in enumerate(values[1:], start=1):
                if value is not None:
                    ws.write_number(i, j, value)
        ws.write_string(2, 0, LABELS["prices_print"].get(lang), fmt.get(italic=True))
        ws.repeat_rows(PRICES_ROW)
        ws.print_area(0, 0, PRICES_ROW + 40, len(stored[0]) - 1)
        return
    ws.set_row(PRICES_ROW, None, fmt.get(bold=True, bottom=1, bg_color="#DDEBF7"))
    ws.write_dynamic_array_formula(
        PRICES_ROW,
        0,
        PRICES_ROW,
        0,
        backtest_formulas(lang)["history"],
        fmt.get(italic=True, font_color="#9C5700", bg_color="#FFF2CC"),
        LABELS["prices_pending"].get(lang),
    )
