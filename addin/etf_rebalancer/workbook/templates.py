"""Build the template workbooks (XlsxWriter, in memory): tables, formulas, formats and help.

:func:`build_template` returns the bytes of one ``.xlsx``; only the CLI writes
them to disk. A template is one Excel Table per input sheet (header in row 1,
so the reader and the Refresh macro find it by sheet name), a Plan sheet whose
``REBAL_*`` cells are real dynamic-array formulas, a Quotes sheet of dated
sample prices and a "How to use" sheet.

Offline behaviour: the price column is
``=IF(ISNUMBER(ETF_PRICE(t)), ETF_PRICE(t), <Quotes sheet price of t>)``, so a
workbook opened without the add-in, or with it but offline and an empty quote
cache, still prices every row from the Quotes sheet; those cells turn orange
so nobody mistakes a sample for a live price.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from etf_rebalancer.cells.labels import DRIFT_HEADER as ENGINE_DRIFT_HEADER
from etf_rebalancer.cells.labels import ORDER_HEADER
from etf_rebalancer.cells.labels import SUMMARY_HEADER as ENGINE_SUMMARY_HEADER
from etf_rebalancer.cells.labels import label as output_label
from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.backtest_sheets import write_backtest, write_prices
from etf_rebalancer.workbook.portfolios import (
    INSTRUMENTS,
    SAMPLE_DATE,
    SAMPLE_FX,
    SAMPLE_SOURCE,
    SAMPLE_STATUS,
    Portfolio,
    Text,
    stored_history_rows,
)
from etf_rebalancer.workbook.styles import (
    BOOLEAN_FORMAT,
    DATE_FORMAT,
    NUMBER_FORMAT,
    PERCENT_FORMAT,
    SHARES_FORMAT,
    Formats,
    page_setup,
    spill_names,
    write_spill,
)

# A fixed creation date keeps rebuilt files identical (docProps/core.xml).
BUILD_DATE = dt.datetime(2026, 1, 1)

# The contract headers, from the engine that fills them.
ORDERS_HEADER = tuple(ORDER_HEADER)
SUMMARY_HEADER = tuple(ENGINE_SUMMARY_HEADER)
DRIFT_HEADER = tuple(ENGINE_DRIFT_HEADER)

# Columns (0-based) of the three spills on the Plan sheet; side by side so that
# each can grow downwards without running into another (#SPILL!).
PLAN_ORDERS_COL = 0
PLAN_SUMMARY_COL = PLAN_ORDERS_COL + len(ORDERS_HEADER) + 1
PLAN_DRIFT_COL = PLAN_SUMMARY_COL + len(SUMMARY_HEADER) + 1
PLAN_FORMULA_ROW = 2  # row 3: title in row 1, a hint in row 2

HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "holdings": {
        "en": ("Ticker", "Name", "Shares", "Price", "Currency", "Account"),
        "ko": ("티커", "종목명", "수량", "현재가", "통화", "계좌"),
    },
    "targets": {
        "en": ("Ticker", "Target", "Band", "Group", "Min", "Max"),
        "ko": ("티커", "목표비중", "허용범위", "그룹", "최소", "최대"),
    },
    "groups": {"en": ("Group", "Max", "Min"), "ko": ("그룹", "최대", "최소")},
    "cash": {"en": ("Currency", "Amount"), "ko": ("통화", "금액")},
    "settings": layout.SETTINGS_HEADERS,
    "quotes": {"en": layout.QUOTES_HEADER, "ko": layout.QUOTES_HEADER_KO},
}

SETTING_HELP: dict[str, Text] = {
    "base_currency": Text(
        "Currency every value is measured in (USD, KRW, EUR...)",
        "모든 금액을 환산하는 기준 통화 (USD, KRW, EUR...)",
    ),
    "mode": Text(
        "full: trade to target; band: trade only as far as needed to get inside the bands",
        "full: 목표비중까지 매매; band: 허용범위 안으로 들어올 만큼만 매매",
    ),
    "buy_only": Text("TRUE: never sell, only invest cash", "TRUE: 매도 없이 현금으로 매수만"),
    "band_type": Text(
        "relative: 10% of a 20% target is 18-22%; absolute: percentage points",
        "relative: 목표 20%의 10%는 18~22%; absolute: %포인트",
    ),
    "band": Text("Default band for assets without their own", "종목별 허용범위가 없을 때의 기본값"),
    "whole_shares": Text("TRUE: whole shares only", "TRUE: 정수 주식만 거래"),
    "min_trade": Text(
        "Skip orders smaller than this (base currency)", "이보다 작은 주문은 생략 (기준 통화)"
    ),
    "fee_rate": Text("Commission as a fraction of the amount", "수수료율 (거래금액 대비)"),
    "fee_min": Text("Minimum commission per order (base currency)", "주문당 최소 수수료"),
    "fx_spread": Text(
        "Cost of converting currency, as a fraction", "환전 스프레드 (거래금액 대비)"
    ),
}

_VALIDATION_LISTS: dict[str, list[str]] = {
    "mode": ["full", "band"],
    "band_type": ["relative", "absolute"],
    "buy_only": ["TRUE", "FALSE"],
    "whole_shares": ["TRUE", "FALSE"],
    "base_currency": ["USD", "KRW", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "HKD"],
}
_CURRENCIES = _VALIDATION_LISTS["base_currency"]

LABELS: dict[str, Text] = {
    "orders": Text("Orders", "주문"),
    "summary": Text("Summary", "요약"),
    "drift": Text("Drift", "비중 이탈"),
    "plan_hint": Text(
        "Live formulas: =REBAL_ORDERS / =REBAL_SUMMARY / =REBAL_DRIFT over the tables. Rows in "
        "red are outside their band. Numbers shown before Excel recalculates are the plan for "
        "the sample prices.",
        "실시간 수식: 표를 참조하는 =REBAL_ORDERS / =REBAL_SUMMARY / =REBAL_DRIFT. 빨간 행은 "
        "허용범위를 벗어난 종목입니다. 엑셀이 다시 계산하기 전의 숫자는 샘플 가격 기준 계획입니다.",
    ),
    "chart": Text("Current vs target weight", "현재 비중 vs 목표 비중"),
    "weight": Text("Current", "현재"),
    "target": Text("Target", "목표"),
    "sample_note": Text(
        f"SAMPLE PRICES, NOT LIVE: illustrative values written on {SAMPLE_DATE:%Y-%m-%d} so the "
        "workbook works offline. Press Refresh (ETF Rebalancer ribbon) or run "
        "`etf-rebal refresh FILE` for live quotes.",
        f"샘플 가격(실시간 아님): 오프라인에서도 동작하도록 {SAMPLE_DATE:%Y-%m-%d}에 적어 둔 "
        "예시 값입니다. 리본의 새로고침 또는 `etf-rebal refresh 파일` 로 실시간 시세를 받으세요.",
    ),
    "price_note": Text(
        "Orange price = ETF_PRICE had no number (add-in missing, offline, unknown ticker) and "
        "the Quotes sheet price was used: check its Time and Status.",
        "주황색 가격 = ETF_PRICE 값이 없어(추가 기능 없음, 오프라인, 알 수 없는 티커) 시세 "
        "시트 가격을 썼다는 뜻입니다: 시각과 상태를 확인하세요.",
    ),
    "notes": Text("Notes", "메모"),
}


def _help_lines(portfolio: Portfolio, lang: str) -> list[tuple[str, str]]:
    """The How-to sheet as (style, text) lines; style is title, heading or text."""
    s = layout.sheet_name
    base = portfolio.base_currency
    history_en = history_ko = "ETF_HISTORY"
    if stored := stored_history_rows(portfolio):
        first, last = stored[1][0].year, stored[-1][0].year  # type: ignore[attr-defined]
        history_en, history_ko = f"stored closes, {first}-{last}", f"저장된 {first}~{last}년 종가"
    en = [
        ("title", f"{portfolio.title.en}: how to use this workbook"),
        ("text", portfolio.description.en),
        *(("text", n.en) for n in portfolio.notes),
        ("heading", "Steps"),
        (
            "text",
            f"1. {s('holdings')}: one row per ETF you own: ticker, shares, account. "
            "Korean codes such as 069500 are typed as text. Price fills itself (below).",
        ),
        (
            "text",
            f"2. {s('targets')}: target weight per ticker (must add up to 100%); "
            "optional Band (e.g. 10%), Group, Min and Max. A CASH row targets a cash weight.",
        ),
        ("text", f"3. {s('groups')}: caps on groups of assets, e.g. leveraged at most 10%."),
        ("text", f"4. {s('cash')}: cash per currency to invest (negative = money to raise)."),
        (
            "text",
            f"5. {s('settings')}: base currency ({base} here), mode (full/band), "
            "buy_only, bands, whole shares, minimum trade, fees. Dropdowns list the choices.",
        ),
        (
            "text",
            f"6. {s('plan')}: the orders to place (REBAL_ORDERS), a summary with cash, "
            "fees and warnings (REBAL_SUMMARY) and the drift of every asset (REBAL_DRIFT).",
        ),
        (
            "text",
            f"7. {s('backtest')}: the target mix against one ETF ({portfolio.benchmark} here) "
            f"over daily history on the {s('prices')} sheet ({history_en}): return, CAGR, "
            "volatility, drawdown, correlation and a chart. Change its calendar, band, fees "
            "and benchmark in its own settings table.",
        ),
        ("heading", "Prices: live and offline"),
        (
            "text",
            "The Price column is =ETF_PRICE(ticker) when the add-in has a price, otherwise "
            f"the price on the {s('quotes')} sheet. Offline, or without the add-in, the workbook "
            "still works from that sheet; such prices turn orange.",
        ),
        ("text", LABELS["sample_note"].en),
        ("heading", "Command line"),
        ("text", "etf-rebal plan FILE --offline   prints the same plan from the Quotes sheet"),
        ("text", "etf-rebal plan FILE             fetches live quotes first"),
        ("text", "etf-rebal refresh FILE          writes live quotes into FILE.refreshed.xlsx"),
        ("text", "etf-rebal backtest FILE         prints the Backtest sheet's results"),
        ("heading", "Not investment advice"),
        ("text", "The workbook computes orders from your inputs; check them before trading."),
    ]
    ko = [
        ("title", f"{portfolio.title.ko}: 사용 방법"),
        ("text", portfolio.description.ko),
        *(("text", n.ko) for n in portfolio.notes),
        ("heading", "순서"),
        (
            "text",
            f"1. {s('holdings', 'ko')}: 보유한 ETF를 한 행씩: 티커, 수량, 계좌. 069500 같은 "
            "국내 종목코드는 텍스트로 입력합니다. 현재가는 자동으로 채워집니다(아래).",
        ),
        (
            "text",
            f"2. {s('targets', 'ko')}: 종목별 목표비중(합계 100%); 선택으로 허용범위(예: 10%), "
            "그룹, 최소, 최대. 현금 행은 현금 목표비중입니다.",
        ),
        ("text", f"3. {s('groups', 'ko')}: 종목 묶음의 한도, 예: 레버리지 합계 최대 10%."),
        ("text", f"4. {s('cash', 'ko')}: 통화별 투자할 현금(음수 = 마련할 금액)."),
        (
            "text",
            f"5. {s('settings', 'ko')}: 기준 통화(여기서는 {base}), 방식(full/band), "
            "매수만, 허용범위, 정수 주식, 최소 거래금액, 수수료. 목록에서 고를 수 있습니다.",
        ),
        (
            "text",
            f"6. {s('plan', 'ko')}: 낼 주문(REBAL_ORDERS), 현금·수수료·경고 요약"
            "(REBAL_SUMMARY), 종목별 비중 이탈(REBAL_DRIFT).",
        ),
        (
            "text",
            f"7. {s('backtest', 'ko')}: 목표 비중을 ETF 하나(여기서는 {portfolio.benchmark})와 "
            f"{s('prices', 'ko')} 시트의 일별 가격이력({history_ko})으로 비교: 수익률, CAGR, "
            "변동성, 낙폭, 상관계수와 차트. 달력, 허용범위, 수수료, 벤치마크는 그 시트의 "
            "설정 표에서 바꿉니다.",
        ),
        ("heading", "가격: 실시간과 오프라인"),
        (
            "text",
            "현재가 열은 추가 기능이 가격을 주면 =ETF_PRICE(티커), 아니면 "
            f"{s('quotes', 'ko')} 시트의 가격입니다. 오프라인이거나 추가 기능이 없어도 그 시트로 "
            "동작하며, 그런 가격은 주황색으로 표시됩니다.",
        ),
        ("text", LABELS["sample_note"].ko),
        ("heading", "명령줄"),
        ("text", "etf-rebal plan 파일 --offline   시세 시트로 같은 계획을 출력"),
        ("text", "etf-rebal plan 파일             실시간 시세를 먼저 받음"),
        ("text", "etf-rebal refresh 파일          실시간 시세를 파일.refreshed.xlsx 에 기록"),
        ("text", "etf-rebal backtest 파일         백테스트 시트의 결과를 출력"),
        ("heading", "투자 권유가 아닙니다"),
        ("text", "입력한 값으로 주문을 계산할 뿐입니다; 거래 전에 확인하세요."),
    ]
    return ko if lang == "ko" else en


# ---------------------------------------------------------------- sample data


def quote_rows(portfolio: Portfolio) -> list[list[Any]]:
    """Rows of the Quotes sheet (no header): one per ticker, then one per FX pair."""
    rows: list[list[Any]] = []
    for ticker in portfolio.tickers():
        inst = INSTRUMENTS[ticker]
        rows.append(
            [ticker, inst.sample_price, inst.currency, SAMPLE_DATE, SAMPLE_STATUS, SAMPLE_SOURCE]
        )
    base = portfolio.base_currency
    for ccy in portfolio.fx_currencies:
        if (ccy, base) in SAMPLE_FX:
            pair, rate = f"{ccy}/{base}", SAMPLE_FX[(ccy, base)]
        else:
            pair, rate = f"{base}/{ccy}", SAMPLE_FX[(base, ccy)]
        rows.append([pair, rate, pair.split("/")[1], SAMPLE_DATE, SAMPLE_STATUS, SAMPLE_SOURCE])
    return rows


def sample_ranges(portfolio: Portfolio, lang: str) -> dict[str, list[list[Any]]]:
    """The raw ranges Excel hands ``REBAL_*`` for the template with its sample prices.

    Exactly what ``Holdings[#All]`` etc. evaluate to offline (price column from the
    Quotes sheet), as lists of rows with the header first.
    """
    h = HEADERS
    holdings: list[list[Any]] = [list(h["holdings"][lang])]
    for item in portfolio.holdings:
        inst = INSTRUMENTS[item.ticker]
        holdings.append(
            [
                item.ticker,
                inst.name.get(lang),
                float(item.shares),
                inst.sample_price,
                inst.currency,
                item.account or None,
            ]
        )
    targets: list[list[Any]] = [list(h["targets"][lang])]
    for t in portfolio.targets:
        targets.append([t.ticker, t.target, t.band, t.group or None, t.min, t.max])
    groups: list[list[Any]] = [list(h["groups"][lang])]
    groups += [[g.group, g.max, g.min] for g in portfolio.groups]
    cash: list[list[Any]] = [list(h["cash"][lang])] + [[c, a] for c, a in portfolio.cash]
    settings: list[list[Any]] = [list(h["settings"][lang])]
    settings += [[k, v, SETTING_HELP[k].get(lang)] for k, v in portfolio.settings]
    return {
        "holdings": holdings,
        "targets": targets,
        "cash": cash,
        "settings": settings,
        "groups": groups,
    }


def sample_plan(portfolio: Portfolio, lang: str) -> dict[str, list[list[Any]]] | None:
    """Orders, summary and drift the engine computes for the sample prices.

    Written as the cached results of the Plan sheet's formulas, so the workbook
    shows a real plan before Excel recalculates (and in LibreOffice, which does
    not know the UDFs). ``None`` when there is no plan to show: a blank starter,
    or an engine that is not installed.
    """
    if not portfolio.holdings and not portfolio.targets:
        return None
    from etf_rebalancer.planning import SheetQuotes, plan_ranges, plan_tables

    ranges = sample_ranges(portfolio, lang)
    quotes = [list(HEADERS["quotes"][lang]), *quote_rows(portfolio)]
    plan = plan_ranges(
        ranges["holdings"],
        ranges["targets"],
        ranges["cash"],
        ranges["settings"],
        ranges["groups"],
        market=SheetQuotes(quotes),
        as_of=SAMPLE_DATE.date(),
    )
    return plan_tables(plan, lang)  # what the REBAL_* formulas answer in this language


# ---------------------------------------------------------------- building


def _table_cols(headers: Sequence[str]) -> list[dict[str, Any]]:
    return [{"header": h} for h in headers]


def _add_table(
    ws: Worksheet,
    name: str,
    headers: Sequence[str],
    rows: int,
    columns: list[dict[str, Any]] | None = None,
    header_format: Any = None,
) -> None:
    """Add a table with its header in row 1 and ``rows`` data rows (at least one)."""
    columns = columns or _table_cols(headers)
    if header_format is not None:
        # Explicit header look: not every spreadsheet program draws Excel table styles.
        for column in columns:
            column.setdefault("header_format", header_format)
    page_setup(ws)
    ws.add_table(
        0,
        0,
        max(rows, 1),
        len(headers) - 1,
        {
            "name": name,
            "style": "Table Style Medium 2",
            "columns": columns,
        },
    )
    ws.freeze_panes(1, 0)


def _write_notes(ws: Worksheet, col: int, title: str, lines: Sequence[str], fmt: Formats) -> None:
    if not lines:
        return
    ws.set_column(col, col, 70, fmt.get(text_wrap=True, valign="top"))
    ws.write_string(0, col, title, fmt.get(bold=True))
    for i, line in enumerate(lines, start=1):
        ws.write_string(i, col, line, fmt.get(text_wrap=True, valign="top"))


def _price_formula(lang: str) -> str:
    t, p = HEADERS["quotes"][lang][0], HEADERS["quotes"][lang][1]
    # The stored form Excel itself writes for [@Ticker] (other programs parse only this one).
    me = f"{layout.TABLES['holdings']}[[#This Row],[{HEADERS['holdings'][lang][0]}]]"
    quotes = layout.TABLES["quotes"]
    return (
        f'=IF({me}="","",IF(ISNUMBER(ETF_PRICE({me})),ETF_PRICE({me}),'
        f"IFERROR(INDEX({quotes}[{p}],MATCH({me},{quotes}[{t}],0)),ETF_PRICE({me}))))"
    )


def _rebal_formula(function: str) -> str:
    t = layout.TABLES
    args = ",".join(f"{t[k]}[#All]" for k in ("holdings", "targets", "cash", "settings", "groups"))
    return f"={function}({args})"


def _write_holdings(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    ws = wb.add_worksheet(layout.sheet_name("holdings", lang))
    headers = HEADERS["holdings"][lang]
    price_formula = _price_formula(lang)
    n = len(portfolio.holdings)
    columns = _table_cols(headers)
    columns[3]["formula"] = price_formula
    columns[3]["format"] = fmt.get(num_format=NUMBER_FORMAT)
    _add_table(ws, layout.TABLES["holdings"], headers, n, columns, fmt.header)
    ws.set_column(0, 0, 11)
    ws.set_column(1, 1, 44)
    ws.set_column(2, 2, 10, fmt.get(num_format=SHARES_FORMAT))
    ws.set_column(3, 3, 13)
    ws.set_column(4, 5, 12)
    # Per-row formula with its currency's format and the sample price as cached value.
    row_formula = price_formula
    for i, item in enumerate(portfolio.holdings, start=1):
        inst = INSTRUMENTS[item.ticker]
        ws.write_string(i, 0, item.ticker)
        ws.write_string(i, 1, inst.name.get(lang))
        ws.write_number(i, 2, item.shares, fmt.get(num_format=SHARES_FORMAT))
        ws.write_formula(i, 3, row_formula, fmt.money(inst.currency), inst.sample_price)
        ws.write_string(i, 4, inst.currency)
        if item.account:
            ws.write_string(i, 5, item.account)
    last = max(n, 1) + 200  # validation and highlighting also cover rows the user adds
    ws.data_validation(1, 4, last, 4, {"validate": "list", "source": _CURRENCIES})
    ws.conditional_format(
        1,
        3,
        last,
        3,
        {
            "type": "formula",
            "criteria": '=AND($A2<>"",NOT(ISNUMBER(ETF_PRICE($A2))))',
            "format": fmt.get(bg_color="#FCE4D6", font_color="#9C5700"),
        },
    )
    _write_notes(
        ws, len(headers) + 1, LABELS["notes"].get(lang), [LABELS["price_note"].get(lang)], fmt
    )


def _write_targets(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    ws = wb.add_worksheet(layout.sheet_name("targets", lang))
    headers = HEADERS["targets"][lang]
    n = len(portfolio.targets)
    pct = fmt.get(num_format=PERCENT_FORMAT)
    _add_table(ws, layout.TABLES["targets"], headers, n, None, fmt.header)
    ws.set_column(0, 0, 11)
    ws.set_column(1, 2, 10, pct)
    ws.set_column(3, 3, 12)
    ws.set_column(4, 5, 10, pct)
    for i, t in enumerate(portfolio.targets, start=1):
        ws.write_string(i, 0, t.ticker)
        ws.write_number(i, 1, t.target, pct)
        for col, value in ((2, t.band), (4, t.min), (5, t.max)):
            if value is not None:
                ws.write_number(i, col, value, pct)
        if t.group:
            ws.write_string(i, 3, t.group)
    last = max(n, 1) + 200
    ws.data_validation(
        1,
        1,
        last,
        2,
        {
            "validate": "decimal",
            "criteria": "between",
            "minimum": 0,
            "maximum": 1,
            "error_message": "A weight between 0% and 100% / 0%~100% 사이의 비중",
        },
    )
    _write_notes(
        ws, len(headers) + 1, LABELS["notes"].get(lang), [n.get(lang) for n in portfolio.notes], fmt
    )


def _write_groups(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    ws = wb.add_worksheet(layout.sheet_name("groups", lang))
    headers = HEADERS["groups"][lang]
    pct = fmt.get(num_format=PERCENT_FORMAT)
    _add_table(ws, layout.TABLES["groups"], headers, len(portfolio.groups), None, fmt.header)
    ws.set_column(0, 0, 14)
    ws.set_column(1, 2, 10, pct)
    for i, g in enumerate(portfolio.groups, start=1):
        ws.write_string(i, 0, g.group)
        for col, value in ((1, g.max), (2, g.min)):
            if value is not None:
                ws.write_number(i, col, value, pct)


def _write_cash(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    ws = wb.add_worksheet(layout.sheet_name("cash", lang))
    headers = HEADERS["cash"][lang]
    _add_table(ws, layout.TABLES["cash"], headers, len(portfolio.cash), None, fmt.header)
    ws.set_column(0, 0, 10)
    ws.set_column(1, 1, 16, fmt.get(num_format=NUMBER_FORMAT))
    for i, (ccy, amount) in enumerate(portfolio.cash, start=1):
        ws.write_string(i, 0, ccy)
        ws.write_number(i, 1, amount, fmt.money(ccy))
    ws.data_validation(1, 0, 50, 0, {"validate": "list", "source": _CURRENCIES})


def _write_settings(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    ws = wb.add_worksheet(layout.sheet_name("settings", lang))
    headers = HEADERS["settings"][lang]
    _add_table(ws, layout.TABLES["settings"], headers, len(portfolio.settings), None, fmt.header)
    ws.set_column(0, 0, 15)
    ws.set_column(1, 1, 12)
    ws.set_column(2, 2, 70)
    base = portfolio.base_currency
    for i, (key, value) in enumerate(portfolio.settings, start=1):
        ws.write_string(i, 0, key)
        if isinstance(value, bool):
            ws.write_boolean(i, 1, value, fmt.get(align="right", num_format=BOOLEAN_FORMAT))
        elif isinstance(value, str):
            ws.write_string(i, 1, value, fmt.get(align="right"))
        elif key in ("band", "fee_rate", "fx_spread"):
            ws.write_number(i, 1, float(value), fmt.get(num_format="0.0##%"))  # type: ignore[arg-type]
        else:
            ws.write_number(i, 1, float(value), fmt.money(base))  # type: ignore[arg-type]
        ws.write_string(i, 2, SETTING_HELP[key].get(lang))
        if key in _VALIDATION_LISTS:
            ws.data_validation(i, 1, i, 1, {"validate": "list", "source": _VALIDATION_LISTS[key]})


def _write_quotes(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    ws = wb.add_worksheet(layout.sheet_name("quotes", lang))
    headers = HEADERS["quotes"][lang]
    rows = quote_rows(portfolio)
    _add_table(ws, layout.TABLES["quotes"], headers, len(rows), None, fmt.header)
    ws.set_column(0, 0, 11)
    ws.set_column(1, 1, 13, fmt.get(num_format=NUMBER_FORMAT))
    ws.set_column(2, 2, 9)
    ws.set_column(3, 3, 17, fmt.get(num_format=DATE_FORMAT))
    ws.set_column(4, 4, 10)
    ws.set_column(5, 5, 18)
    sample = fmt.get(font_color="#9C5700", bg_color="#FFF2CC")
    for i, row in enumerate(rows, start=1):
        ticker, price, ccy, when, status, source = row
        ws.write_string(i, 0, ticker)
        is_fx = "/" in ticker
        ws.write_number(i, 1, price, fmt.get(num_format="#,##0.0000") if is_fx else fmt.money(ccy))
        ws.write_string(i, 2, ccy)
        ws.write_datetime(i, 3, when, fmt.get(num_format=DATE_FORMAT))
        ws.write_string(i, 4, status, sample)
        ws.write_string(i, 5, source, sample)
    label_col = len(headers) + 1
    ws.set_column(label_col, label_col, 14)
    ws.set_column(label_col + 1, label_col + 1, 70, fmt.get(text_wrap=True, valign="top"))
    ws.write_string(
        0, label_col, layout.LAST_REFRESH_LABEL[1 if lang == "ko" else 0], fmt.get(bold=True)
    )
    ws.write_datetime(0, label_col + 1, SAMPLE_DATE, fmt.get(num_format=DATE_FORMAT, align="left"))
    ws.write_string(
        2,
        label_col + 1,
        LABELS["sample_note"].get(lang),
        fmt.get(text_wrap=True, valign="top", bold=True, font_color="#9C0006", bg_color="#FFC7CE"),
    )


def _write_spill(
    ws: Worksheet,
    col: int,
    function: str,
    header: Sequence[str],
    rows: list[list[Any]] | None,
    row_format: Any = None,
) -> None:
    """Write one REBAL_* dynamic-array formula with its cached result (if known).

    ``row_format(row) -> format | None`` formats a whole cached row (the summary
    mixes money and fractions in one column).
    """
    write_spill(
        ws, PLAN_FORMULA_ROW, col, _rebal_formula(function), rows or [[header[0]]], row_format
    )


def _write_plan(
    wb: Workbook,
    portfolio: Portfolio,
    lang: str,
    fmt: Formats,
    plan: dict[str, list[list[Any]]] | None,
) -> None:
    ws = wb.add_worksheet(layout.sheet_name("plan", lang))
    page_setup(ws)
    base = portfolio.base_currency
    pct = fmt.get(num_format=PERCENT_FORMAT)
    money = fmt.money(base)
    number = fmt.get(num_format=NUMBER_FORMAT)
    o, s, d = PLAN_ORDERS_COL, PLAN_SUMMARY_COL, PLAN_DRIFT_COL
    # Column formats apply to whatever the spills return, however long.
    ws.set_column(o + 0, o + 1, 9)
    ws.set_column(o + 2, o + 2, 9, fmt.get(num_format=SHARES_FORMAT))
    ws.set_column(o + 3, o + 3, 11, number)
    ws.set_column(o + 4, o + 4, 9)
    ws.set_column(o + 5, o + 5, 12, number)
    ws.set_column(o + 6, o + 6, 14, money)
    ws.set_column(o + 7, o + 9, 14, pct)
    ws.set_column(s - 1, s - 1, 2)
    ws.set_column(s, s, 30)
    ws.set_column(s + 1, s + 1, 16, fmt.get(num_format="#,##0.####"))
    ws.set_column(d - 1, d - 1, 2)
    ws.set_column(d, d, 10)
    ws.set_column(d + 1, d + 1, 14, money)
    ws.set_column(d + 2, d + 5, 9, pct)
    ws.set_column(d + 6, d + 6, 8)

    title = fmt.get(bold=True, font_size=13)
    ws.write_string(0, o, f"{LABELS['orders'].get(lang)} · {portfolio.title.get(lang)}", title)
    ws.write_string(0, s, LABELS["summary"].get(lang), title)
    ws.write_string(0, d, LABELS["drift"].get(lang), title)
    ws.write_string(1, o, LABELS["plan_hint"].get(lang), fmt.get(italic=True, font_color="#595959"))
    ws.freeze_panes(PLAN_FORMULA_ROW + 1, 0)
    ws.set_row(PLAN_FORMULA_ROW, None, fmt.get(bold=True, bottom=1, bg_color="#DDEBF7"))

    plan = plan or {}
    _write_spill(ws, o, "REBAL_ORDERS", ORDERS_HEADER, plan.get("orders"))
    fraction_words = ("drift", "turnover", "weight", "이탈", "회전", "비중")

    def summary_format(row: list[Any]) -> Any:
        item = str(row[0]).casefold() if row else ""
        if len(row) > 1 and isinstance(row[1], float):
            return pct if any(w in item for w in fraction_words) else money
        return None

    _write_spill(ws, s, "REBAL_SUMMARY", SUMMARY_HEADER, plan.get("summary"), summary_format)
    _write_spill(ws, d, "REBAL_DRIFT", DRIFT_HEADER, plan.get("drift"))

    # Drift outside the band: the whole drift row in red.
    first = PLAN_FORMULA_ROW + 1
    status_col = xlsxwriter.utility.xl_col_to_name(d + len(DRIFT_HEADER) - 1)
    ws.conditional_format(
        first,
        d,
        first + 200,
        d + len(DRIFT_HEADER) - 1,
        {
            "type": "formula",
            "criteria": f'=OR(${status_col}{first + 1}="{output_label("OVER", lang)}",'
            f'${status_col}{first + 1}="{output_label("UNDER", lang)}")',
            "format": fmt.get(bg_color="#FFC7CE", font_color="#9C0006"),
        },
    )
    ws.conditional_format(
        first,
        o + 1,
        first + 200,
        o + 1,
        {
            "type": "cell",
            "criteria": "==",
            "value": f'"{output_label("SELL", lang)}"',
            "format": fmt.get(font_color="#9C0006", bold=True),
        },
    )
    ws.conditional_format(
        first,
        o + 1,
        first + 200,
        o + 1,
        {
            "type": "cell",
            "criteria": "==",
            "value": f'"{output_label("BUY", lang)}"',
            "format": fmt.get(font_color="#006100", bold=True),
        },
    )

    # Current vs target weight, over the drift spill's rows.
    drift_rows = plan.get("drift")
    n = len(drift_rows) - 1 if drift_rows else len(portfolio.tickers())
    if n <= 0:
        return
    sheet = layout.sheet_name("plan", lang)
    chart = wb.add_chart({"type": "column"})
    # Series over names that measure the drift spill (OFFSET/COUNTA), so the chart
    # grows and shrinks with the holdings instead of keeping the template's rows.
    names = spill_names(
        wb, sheet, PLAN_FORMULA_ROW + 1, d, {"PlanTickers": 0, "PlanWeight": 2, "PlanTarget": 3}
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
                "values_data": [row[column] for row in cached] or None,
                "fill": {"color": color},
            }
        )
    chart.set_title({"name": LABELS["chart"].get(lang), "name_font": {"size": 12}})
    chart.set_y_axis({"num_format": "0%", "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 620, "height": 300})
    orders_rows = len(plan.get("orders") or []) or 1
    anchor = PLAN_FORMULA_ROW + max(orders_rows, n + 1) + 2
    ws.insert_chart(anchor, o, chart)


def _write_help(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    ws = wb.add_worksheet(layout.sheet_name("help", lang))
    page_setup(ws)
    ws.set_column(0, 0, 110, fmt.get(text_wrap=True, valign="top"))
    styles = {
        "title": fmt.get(bold=True, font_size=14),
        "heading": fmt.get(bold=True, font_size=11, top=1),
        "text": fmt.get(text_wrap=True, valign="top"),
    }
    for i, (style, text) in enumerate(_help_lines(portfolio, lang)):
        ws.write_string(i, 0, text, styles[style])
        lines = -(-_display_width(text) // 115)  # the 110-wide column holds ~115 characters
        if style == "text" and lines > 1:
            # Spreadsheet programs do not all grow a wrapped row when opening a file.
            ws.set_row(i, 15 * lines)


def _display_width(text: str) -> int:
    """Width in narrow characters: Hangul and other wide characters count twice."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def build_template(
    portfolio: Portfolio, lang: str = "en", plan: dict[str, list[list[Any]]] | None = None
) -> bytes:
    """Build one template workbook in memory.

    Parameters
    ----------
    portfolio
        The seed portfolio (see :mod:`etf_rebalancer.workbook.portfolios`).
    lang
        ``"en"`` or ``"ko"``: sheet names, headers and texts.
    plan
        Cached results for the Plan sheet's formulas (``orders``, ``summary``,
        ``drift`` rows); computed with the engine from the sample prices when omitted.

    Returns
    -------
    bytes
        The ``.xlsx`` file.
    """
    if lang not in ("en", "ko"):
        raise ValueError(f"lang must be 'en' or 'ko', got {lang!r}")
    if plan is None:
        plan = sample_plan(portfolio, lang)
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True})
    wb.set_properties(
        {
            "title": f"ETF Rebalancer · {portfolio.title.get(lang)}",
            "subject": portfolio.description.get(lang),
            "author": "ETF Rebalancer",
            "created": BUILD_DATE,
            "comments": "Generated by etf-rebal templates build",
        }
    )
    wb.set_calc_mode("auto")
    fmt = Formats(wb)
    _write_plan(wb, portfolio, lang, fmt, plan)
    _write_holdings(wb, portfolio, lang, fmt)
    _write_targets(wb, portfolio, lang, fmt)
    _write_groups(wb, portfolio, lang, fmt)
    _write_cash(wb, portfolio, lang, fmt)
    _write_settings(wb, portfolio, lang, fmt)
    write_backtest(wb, portfolio, lang, fmt)
    write_prices(wb, portfolio, lang, fmt)
    _write_quotes(wb, portfolio, lang, fmt)
    _write_help(wb, portfolio, lang, fmt)
    wb.close()
    return buffer.getvalue()
