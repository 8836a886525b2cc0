"""The xlwings Lite custom functions and scripts: the body of every Lite edition's ``main.py``.

This module is never imported by the package at run time: :mod:`.bundle` reads
its source and appends it to ``main.py``, renaming ``etf_rebalancer`` to the
embedded package. It is a real module so that ruff, mypy and the tests check it,
and it imports only what travels (cells, engine, backtest, planning's pure
parts) plus xlwings' Lite API (``func``, ``arg``, ``script``: registered by
Lite the way its docs show, ``@func`` on a top-level function of ``main.py``;
Lite has no namespace of its own, so ``REBAL_ORDERS`` is typed as
``=REBAL_ORDERS(...)`` and stored in the file as ``_xldudf_REBAL_ORDERS``).

Functions: the contract's ``REBAL_ORDERS``, ``REBAL_SUMMARY``, ``REBAL_DRIFT``
(arguments as on the desktop, plus a last optional ``quotes``: the Quotes
table, which prices whatever the holdings do not), ``PORTFOLIO_BACKTEST``,
``PORTFOLIO_EQUITY``, ``PORTFOLIO_CORREL``; ``ETF_PRICE``, ``ETF_FX`` and
``ETF_HISTORY`` answer with a short text saying where Lite's prices come from,
so that the templates' price formulas fall back to the Quotes sheet. Script
``refresh_quotes`` fills the Quotes table from the Settings key
``quote_endpoint`` (``etf-rebal quotes serve``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import urllib.parse
from collections.abc import Callable
from typing import Any

import xlwings as xw
from xlwings import arg, func, script

from etf_rebalancer.backtest.sheet import (
    backtest_equity_rows,
    backtest_stats_rows,
    correlation_rows,
)
from etf_rebalancer.cells import (
    detect_language,
    is_blank,
    normalise_ticker,
    read_key_values,
    read_table,
    setting_key,
)
from etf_rebalancer.cells.labels import QUOTES_HEADER, QUOTES_HEADER_KO
from etf_rebalancer.errors import InputError, RebalancerError
from etf_rebalancer.planning.market import QuoteRow, SheetQuotes, quote_table
from etf_rebalancer.planning.plan import plan_ranges
from etf_rebalancer.planning.rows import plan_language, plan_rows
from etf_rebalancer.planning.symbols import refresh_symbols

_ERROR_PREFIX = {"en": "Error: ", "ko": "오류: "}
#: The package version the embedded code was generated from.
LITE_VERSION = "0.1.0"
#: The Settings key naming where ``refresh_quotes`` fetches quotes (read only by Lite).
QUOTE_ENDPOINT_KEY = "quote_endpoint"
#: Label of the rows ``REBAL_SUMMARY`` adds in Lite: where each price came from and its age.
PRICE_SOURCE_LABEL = {"en": "Price source", "ko": "가격 출처"}

_DOC_HOLDINGS = "Holdings: Ticker, Shares [, Price, Currency, Account] / 보유 종목"
_DOC_TARGETS = "Targets: Ticker, Target [, Band, Group, Min, Max] / 목표 비중"
_DOC_CASH = "Cash in the base currency, or a Currency, Amount range / 현금"
_DOC_SETTINGS = "Settings: key, value (base_currency, mode, band, ...) / 설정"
_DOC_GROUPS = "Group caps: Group, Max [, Min] / 그룹 한도"
_DOC_ACCOUNTS = "Accounts: Account, Type [, Max Risky] / 계좌: 계좌, 유형 [, 위험자산한도]"
_DOC_QUOTES = "The Quotes table: Ticker, Price, Currency, Time, Status, Source / 시세 표"
_DOC_PRICES = "Daily closes: Date, then one column per ticker / 일별 종가 표"
_DOC_WEIGHTS = "Ticker, Weight / 티커, 비중"
_DOC_BT_SETTINGS = "key, value: rebalance, band, band_type, fee_rate, initial, ... / 백테스트 설정"


# ---------------------------------------------------------------- the edge


def _cell_error(error: Exception, lang: str) -> str:
    if isinstance(error, RebalancerError):
        text = error.localized(lang)
    else:
        # A bug, not bad input: a readable cell (Lite shows the traceback in its log).
        text = f"unexpected {type(error).__name__}: {error}"
    return _ERROR_PREFIX.get(lang, _ERROR_PREFIX["en"]) + text


def _table(lang: str, compute: Callable[[], list[list[Any]]]) -> list[list[Any]]:
    try:
        return compute()
    except Exception as error:  # the edge: nothing may raise into a cell
        return [[_cell_error(error, lang)]]


def _language(*ranges: Any, settings: Any = None) -> str:
    # The desktop UDFs' rule (cells.detect_language), guarded: a guess is never a cell's error.
    try:
        return detect_language(*ranges, settings=settings)
    except Exception:
        return "en"


def _plan_language(
    holdings: Any, targets: Any, cash: Any, settings: Any, groups: Any, accounts: Any
) -> str:
    try:
        return plan_language(holdings, targets, cash, _plan_settings(settings), groups, accounts)
    except Exception:
        return "en"


def _plan_settings(settings: Any) -> Any:
    """The Settings rows without ``quote_endpoint`` (a Lite key the planner does not know)."""
    if not isinstance(settings, list):
        return settings
    return [
        row
        for row in settings
        if not (
            isinstance(row, list)
            and row
            and isinstance(row[0], str)
            and setting_key(row[0]) == QUOTE_ENDPOINT_KEY
        )
    ]


def _plan(
    holdings: Any, targets: Any, cash: Any, settings: Any, groups: Any, accounts: Any, quotes: Any
) -> Any:
    # The engine has no clock: the edge dates the plan (Korea's transaction tax table).
    return plan_ranges(
        holdings,
        targets,
        cash,
        _plan_settings(settings),
        groups,
        accounts,
        market=SheetQuotes(quotes),
        as_of=dt.date.today(),
    )


# ---------------------------------------------------------------- price sources


def _forms(ticker: str) -> list[str]:
    stem, _, suffix = ticker.partition(".")
    if suffix in ("KS", "KQ"):
        return [ticker, stem]
    return [ticker, f"{ticker}.KS", f"{ticker}.KQ"]


def _tickers(values: Any, name: str) -> list[tuple[str, Any]]:
    """(ticker, typed price or None) of a holdings or targets range, in order."""
    try:
        frame = read_table(values, name=name, required=["ticker"], optional=["price"])
    except InputError:
        return []
    out = []
    for _, row in frame.iterrows():
        if is_blank(row["ticker"]):
            continue
        try:
            ticker = normalise_ticker(row["ticker"])
        except InputError:
            continue
        price = row["price"] if "price" in frame.columns else None
        out.append((ticker, None if is_blank(price) else price))
    return out


def price_source_rows(
    holdings: Any, targets: Any, quotes: Any, lang: str, as_of: dt.date
) -> list[list[Any]]:
    """One summary row per priced ticker: price, currency, source and age (days before ``as_of``).

    A holdings price that differs from the Quotes row (or has none) is
    reported as typed in Holdings.
    """
    try:
        table = quote_table(quotes)
    except InputError:
        table = []
    by_ticker: dict[str, QuoteRow] = {}
    for row in table:
        by_ticker.setdefault(row.ticker, row)
    typed_en, typed_ko = "typed in Holdings", "보유 종목에 입력"
    missing_en, missing_ko = "not on the Quotes sheet", "시세 시트에 없음"
    rows: list[list[Any]] = []
    seen: set[str] = set()
    for ticker, typed in [*_tickers(holdings, "holdings"), *_tickers(targets, "targets")]:
        if ticker in seen or ticker in ("CASH", "현금"):
            continue
        seen.add(ticker)
        quote = next((by_ticker[f] for f in _forms(ticker) if f in by_ticker), None)
        label = f"{PRICE_SOURCE_LABEL[lang]} {ticker}"
        typed_number = typed if isinstance(typed, int | float) else None
        if quote is None or quote.price is None:
            text = (typed_ko if lang == "ko" else typed_en) if typed_number else None
            rows.append([label, text or (missing_ko if lang == "ko" else missing_en)])
            continue
        if typed_number is not None and not math.isclose(typed_number, quote.price, rel_tol=1e-9):
            rows.append([label, f"{typed_number:g} · {typed_ko if lang == 'ko' else typed_en}"])
            continue
        source = quote.source or quote.status or ("시세 시트" if lang == "ko" else "Quotes sheet")
        parts = [f"{quote.price:g} {quote.currency}".strip(), source]
        if quote.time is not None:
            age = (as_of - quote.time.date()).days
            when = f"{quote.time:%Y-%m-%d %H:%M}"
            parts.append(f"{when} ({age}일 전)" if lang == "ko" else f"{when} ({age} d old)")
        rows.append([label, " · ".join(parts)])
    return rows


# ---------------------------------------------------------------- rebalancing


@func
@arg("holdings", ndim=2, doc=_DOC_HOLDINGS)
@arg("targets", ndim=2, doc=_DOC_TARGETS)
@arg("cash", doc=_DOC_CASH)
@arg("settings", ndim=2, doc=_DOC_SETTINGS)
@arg("groups", ndim=2, doc=_DOC_GROUPS)
@arg("quotes", ndim=2, doc=_DOC_QUOTES)
@arg("accounts", ndim=2, doc=_DOC_ACCOUNTS)
def REBAL_ORDERS(
    holdings, targets, cash=None, settings=None, groups=None, accounts=None, quotes=None
):
    """Orders that bring the portfolio to its targets, in whole shares / 리밸런싱 주문표."""
    lang = _plan_language(holdings, targets, cash, settings, groups, accounts)
    return _table(
        lang,
        lambda: plan_rows(
            _plan(holdings, targets, cash, settings, groups, accounts, quotes), "orders", lang
        ),
    )


@func
@arg("holdings", ndim=2, doc=_DOC_HOLDINGS)
@arg("targets", ndim=2, doc=_DOC_TARGETS)
@arg("cash", doc=_DOC_CASH)
@arg("settings", ndim=2, doc=_DOC_SETTINGS)
@arg("groups", ndim=2, doc=_DOC_GROUPS)
@arg("quotes", ndim=2, doc=_DOC_QUOTES)
@arg("accounts", ndim=2, doc=_DOC_ACCOUNTS)
def REBAL_SUMMARY(
    holdings, targets, cash=None, settings=None, groups=None, accounts=None, quotes=None
):
    """Cash, fees, turnover, drift, warnings, and each price's source and age / 리밸런싱 요약."""
    lang = _plan_language(holdings, targets, cash, settings, groups, accounts)

    def compute() -> list[list[Any]]:
        plan = _plan(holdings, targets, cash, settings, groups, accounts, quotes)
        rows = plan_rows(plan, "summary", lang)
        return rows + price_source_rows(holdings, targets, quotes, lang, dt.date.today())

    return _table(lang, compute)


@func
@arg("holdings", ndim=2, doc=_DOC_HOLDINGS)
@arg("targets", ndim=2, doc=_DOC_TARGETS)
@arg("cash", doc=_DOC_CASH)
@arg("settings", ndim=2, doc=_DOC_SETTINGS)
@arg("groups", ndim=2, doc=_DOC_GROUPS)
@arg("quotes", ndim=2, doc=_DOC_QUOTES)
@arg("accounts", ndim=2, doc=_DOC_ACCOUNTS)
def REBAL_DRIFT(
    holdings, targets, cash=None, settings=None, groups=None, accounts=None, quotes=None
):
    """Current weight, target, drift and band status per asset / 비중 이탈 현황."""
    lang = _plan_language(holdings, targets, cash, settings, groups, accounts)
    return _table(
        lang,
        lambda: plan_rows(
            _plan(holdings, targets, cash, settings, groups, accounts, quotes), "drift", lang
        ),
    )


# ---------------------------------------------------------------- backtests


@func
@arg("prices", ndim=2, doc=_DOC_PRICES)
@arg("weights", ndim=2, doc=_DOC_WEIGHTS)
@arg("settings", ndim=2, doc=_DOC_BT_SETTINGS)
def PORTFOLIO_BACKTEST(prices, weights, settings=None):
    """Total return, CAGR, volatility, Sharpe, drawdown of a rebalanced mix / 백테스트 결과."""
    lang = _language(prices, weights, settings=settings)
    return _table(lang, lambda: backtest_stats_rows(prices, weights, settings, lang))


@func
@arg("prices", ndim=2, doc=_DOC_PRICES)
@arg("weights", ndim=2, doc=_DOC_WEIGHTS)
@arg("settings", ndim=2, doc=_DOC_BT_SETTINGS)
def PORTFOLIO_EQUITY(prices, weights, settings=None):
    """Value series of the same backtest (Date, Portfolio [, Benchmark]) / 평가액 추이."""
    lang = _language(prices, weights, settings=settings)
    return _table(lang, lambda: backtest_equity_rows(prices, weights, settings, lang))


@func
@arg("prices", ndim=2, doc=_DOC_PRICES)
def PORTFOLIO_CORREL(prices):
    """Correlation matrix of daily simple returns / 일간 수익률 상관계수."""
    lang = _language(prices)
    return _table(lang, lambda: correlation_rows(prices, lang))


# ---------------------------------------------------------------- live-quote stand-ins

_NO_LIVE = {
    "en": "Error: no live quotes in Lite; prices come from the Quotes sheet (add a row for {x})",
    "ko": "오류: Lite에서는 실시간 시세가 없습니다. 시세 시트에 {x} 행을 추가하세요",
}
_NO_HISTORY = {
    "en": "Error: no price history in Lite; paste Date + one column per ticker here",
    "ko": "오류: Lite에서는 가격 이력을 받지 않습니다. 날짜와 종목별 열을 여기에 붙여 넣으세요",
}


@func
@arg("ticker", doc="Ticker / 티커")
@arg("field", doc="price (default), currency, ... / 항목")
def ETF_PRICE(ticker, field="price"):
    """Lite: says that prices come from the Quotes sheet (templates then read it) / 시세 안내."""
    text = "" if ticker is None else str(ticker).strip()
    lang = _language([[text]])
    return _NO_LIVE[lang].format(x=text or "?")


@func
@arg("from_currency", doc="Currency to convert from / 원래 통화")
@arg("to_currency", doc="Currency to convert to / 바꿀 통화")
def ETF_FX(from_currency, to_currency):
    """Lite: says that FX rates come from the Quotes sheet (rows such as USD/KRW) / 환율 안내."""
    return _NO_LIVE["en"].format(x=f"{from_currency}/{to_currency}")


@func
@arg("tickers", ndim=2, doc="Tickers / 티커")
@arg("start", doc="First date / 시작일")
@arg("end", doc="Last date / 종료일")
@arg("field", doc="adjclose, close, or a currency / 항목")
@arg("language", doc="en or ko / 언어")
def ETF_HISTORY(tickers, start, end=None, field="adjclose", language=None):
    """Lite: says that history must be pasted (browsers may not call Yahoo) / 가격 이력 안내."""
    lang = "ko" if str(language or "").strip().casefold() in ("ko", "korean", "한국어") else "en"
    return [[_NO_HISTORY[lang]]]


@func
def ETF_VERSION():
    """Version of the code this workbook carries (the Start sheet's status cell) / 버전."""
    return f"{LITE_VERSION} (Lite)"


# ---------------------------------------------------------------- refresh from an endpoint


def quotes_url(endpoint: str, tickers: list[str], currencies: list[str], base: str) -> str:
    """The ``etf-rebal quotes serve`` URL that answers these tickers and currencies."""
    query = urllib.parse.urlencode(
        {"tickers": ",".join(tickers), "currencies": ",".join(currencies), "base": base}
    )
    return endpoint.rstrip("/") + "/quotes?" + query


async def fetch_json(url: str, timeout: float = 10.0) -> Any:
    """GET ``url`` as JSON: the browser's fetch under Pyodide, urllib under CPython."""
    try:
        from pyodide.http import pyfetch
    except ImportError:
        import urllib.request

        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    response = await pyfetch(url)
    if not response.ok:
        raise InputError(f"{url} answered HTTP {response.status}")
    return await response.json()


def quote_rows_from_json(data: Any, lang: str) -> list[list[Any]]:
    """The Quotes table (header first) from the server's JSON answer."""
    header = list(QUOTES_HEADER_KO if lang == "ko" else QUOTES_HEADER)
    rows: list[list[Any]] = [header]
    for row in data.get("rows", []):
        cells = list(row)[: len(header)] + [None] * (len(header) - len(row))
        if isinstance(cells[3], str) and cells[3]:
            with contextlib.suppress(ValueError):
                cells[3] = dt.datetime.fromisoformat(cells[3])
        rows.append(cells)
    return rows


def _table_values(book: Any, name: str) -> Any:
    for sheet in book.sheets:
        for table in sheet.tables:
            if table.name == name:
                return table.range.value, table
    return None, None


@script
async def refresh_quotes(book: xw.Book):
    """Fill the Quotes table from the Settings key quote_endpoint (etf-rebal quotes serve)."""
    settings, _ = _table_values(book, "Settings")
    holdings, _ = _table_values(book, "Holdings")
    targets, _ = _table_values(book, "Targets")
    cash, _ = _table_values(book, "Cash")
    quotes, table = _table_values(book, "Quotes")
    lang = _language(holdings, targets, settings)
    values = read_key_values(settings or [], name="settings")
    endpoint = values.get(QUOTE_ENDPOINT_KEY)
    if endpoint is None or is_blank(endpoint.value) or table is None:
        print("Set quote_endpoint in Settings (e.g. http://127.0.0.1:8765) to refresh quotes")
        return
    # The same needs `etf-rebal refresh` and the desktop Refresh button ask for.
    needs = refresh_symbols(holdings, targets, cash, settings)
    url = quotes_url(
        str(endpoint.value), list(needs.tickers), list(needs.currencies), needs.base_currency
    )
    data = await fetch_json(url)
    rows = quote_rows_from_json(data, lang)
    old = len(quotes) if quotes else 0
    sheet = table.range.sheet
    top_left = table.range[0, 0]
    if old > len(rows):
        sheet.range(
            top_left.offset(len(rows), 0), top_left.offset(old - 1, len(rows[0]) - 1)
        ).clear_contents()
    top_left.resize(len(rows), len(rows[0])).value = rows
    table.resize(top_left.resize(max(len(rows), 2), len(rows[0])))
    for notice in data.get("notices", []):
        print(notice)
