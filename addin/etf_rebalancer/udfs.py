"""The Excel functions users register (``UDF_MODULES = etf_rebalancer.udfs``).

Each function is a thin wrapper: raw Excel values in, one call into the
package, plain values (a number, a text, or a list of rows) out. Errors are
turned into one short cell text here and nowhere else; nothing ever raises
into Excel. The contract for names, arguments and outputs is
``docs/reference.md`` (from ``docs/CONTRACT.md``).

UDF parameters carry no type hints on purpose: xlwings reads a parameter's
annotation as the converter to apply, and a ``list | None`` hint would break
conversion in Excel.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import xlwings as xw

from etf_rebalancer.cells import detect_language, is_krx_code
from etf_rebalancer.cells.headers import LANGUAGES
from etf_rebalancer.errors import RebalancerError

log = logging.getLogger(__name__)

CATEGORY = "ETF Rebalancer"

_ERROR_PREFIX = {"en": "Error: ", "ko": "오류: "}

_DOC_HOLDINGS = (
    "Holdings with a header: Ticker, Shares [, Price, Currency, Account] / "
    "보유 종목: 티커, 수량 [, 현재가, 통화, 계좌]"
)
_DOC_TARGETS = (
    "Targets with a header: Ticker, Target [, Band, Group, Min, Max]; a CASH row targets cash / "
    "목표: 티커, 목표비중 [, 허용범위, 그룹, 최소, 최대]; 현금 행은 현금 비중"
)
_DOC_CASH = (
    "Cash to invest (negative: to raise) in the base currency, or a Currency, Amount range / "
    "투자할 현금(음수는 인출), 또는 통화, 금액 범위"
)
_DOC_SETTINGS = (
    "Two columns key, value: base_currency, mode, buy_only, band, band_type, whole_shares, "
    "min_trade, fee_rate, fee_min, fx_spread, FX <CCY> / 설정: 키, 값"
)
_DOC_GROUPS = "Group caps: Group, Max [, Min], e.g. leveraged 10% / 그룹 한도: 그룹, 최대 [, 최소]"
_DOC_ACCOUNTS = (
    "Accounts: Account, Type (general/isa/pension/irp/dc) [, Max Risky]; orders per account / "
    "계좌: 계좌, 유형 (위탁/ISA/연금저축/IRP/DC) [, 위험자산한도]"
)


def _cell_error(error: Exception, lang: str) -> str:
    if isinstance(error, RebalancerError):
        text = error.localized(lang)
    else:
        # A bug, not bad input: keep the cell readable and the traceback in the log.
        log.exception("unexpected error in a UDF", exc_info=error)
        text = f"unexpected {type(error).__name__}: {error}"
    return _ERROR_PREFIX.get(lang, _ERROR_PREFIX["en"]) + text


def _scalar(lang: str, compute: Callable[[], Any]) -> Any:
    try:
        return compute()
    except Exception as error:  # the edge: nothing may raise into a cell
        return _cell_error(error, lang)


def _table(lang: str, compute: Callable[[], list[list[Any]]]) -> list[list[Any]]:
    try:
        return compute()
    except Exception as error:  # the edge: nothing may raise into a cell
        return [[_cell_error(error, lang)]]


def _ticker_language(ticker: Any) -> str:
    text = str(ticker).strip().upper() if ticker is not None else ""
    return "ko" if is_krx_code(text) or detect_language([[text]]) == "ko" else "en"


# ---------------------------------------------------------------- add-in status


@xw.func(category=CATEGORY)
def ETF_VERSION():
    """Version of the loaded add-in (a template's Start sheet shows it) / 추가 기능 버전."""
    from etf_rebalancer import __version__

    return __version__


# ---------------------------------------------------------------- quotes


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("ticker", doc="Ticker such as QQQ, 069500 or VWCE.DE / 티커 (예: QQQ, 069500)")
@xw.arg(
    "field",
    doc="price (default), currency, previous_close, change, time, name, status / 항목 (기본 price)",
)
def ETF_PRICE(ticker, field="price"):
    """Latest price of a ticker in its listing currency, from the quote cache / 최신 가격."""
    from etf_rebalancer.quotes.functions import price_field
    from etf_rebalancer.quotes.registry import get_service

    return _scalar(_ticker_language(ticker), lambda: price_field(get_service(), ticker, field))


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("from_currency", doc="Currency to convert from, e.g. USD / 원래 통화 (예: USD)")
@xw.arg("to_currency", doc="Currency to convert to, e.g. KRW / 바꿀 통화 (예: KRW)")
def ETF_FX(from_currency, to_currency):
    """Units of to_currency for one unit of from_currency / 환율."""
    from etf_rebalancer.quotes.functions import fx_rate
    from etf_rebalancer.quotes.registry import get_service

    return _scalar("en", lambda: fx_rate(get_service(), from_currency, to_currency))


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("tickers", ndim=2, doc="One or more tickers (a cell or a range) / 티커 (셀 또는 범위)")
@xw.arg("start", doc="First date / 시작일")
@xw.arg("end", doc="Last date (default: today) / 종료일 (기본: 오늘)")
@xw.arg(
    "field",
    doc="adjclose (default) or close, and/or a currency to convert into (KRW, close USD) / "
    "adjclose(기본) 또는 close, 환산할 통화 (KRW 등)",
)
@xw.arg("language", doc="en (default) or ko: the Date header as 날짜, messages in Korean / 언어")
def ETF_HISTORY(tickers, start, end=None, field="adjclose", language=None):
    """Daily history table: Date, then one column per ticker / 일별 가격 표."""
    from etf_rebalancer.cells.labels import localize_rows
    from etf_rebalancer.quotes.functions import history_rows
    from etf_rebalancer.quotes.registry import get_service

    # Nothing in ETF_HISTORY's arguments says which language the workbook speaks (a KRX
    # code is no sign: English workbooks hold them too), so Korean is asked for.
    lang = _history_language(language)
    return _table(
        lang,
        lambda: localize_rows(
            "history", history_rows(get_service(), tickers, start, end, field), lang
        ),
    )


def _history_language(language):
    if isinstance(language, str) and language.strip():
        return LANGUAGES.get(language.strip().casefold(), "en")
    return "en"


# ---------------------------------------------------------------- rebalancing


def _rebalance_plan(holdings, targets, cash, settings, groups, accounts=None):
    from etf_rebalancer.planning import LiveQuotes, plan_ranges

    # The engine has no clock: the edge dates the plan (Korea's transaction tax table).
    return plan_ranges(
        holdings,
        targets,
        cash,
        settings,
        groups,
        accounts,
        market=LiveQuotes(),
        as_of=dt.date.today(),
    )


def _rebalance_language(holdings, targets, cash, settings, groups, accounts=None):
    from etf_rebalancer.planning import plan_language

    return plan_language(holdings, targets, cash, settings, groups, accounts)


def _rebalance_table(table, holdings, targets, cash, settings, groups, accounts=None):
    from etf_rebalancer.planning import plan_rows

    lang = _rebalance_language(holdings, targets, cash, settings, groups, accounts)
    return _table(
        lang,
        lambda: plan_rows(
            _rebalance_plan(holdings, targets, cash, settings, groups, accounts), table, lang
        ),
    )


@xw.func(category=CATEGORY, call_in_wizard=False)  # may fetch missing quotes
@xw.arg("holdings", ndim=2, doc=_DOC_HOLDINGS)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS)
@xw.arg("cash", doc=_DOC_CASH)
@xw.arg("settings", ndim=2, doc=_DOC_SETTINGS)
@xw.arg("groups", ndim=2, doc=_DOC_GROUPS)
@xw.arg("accounts", ndim=2, doc=_DOC_ACCOUNTS)
def REBAL_ORDERS(holdings, targets, cash=None, settings=None, groups=None, accounts=None):
    """Orders that bring the portfolio to its targets, in whole shares / 리밸런싱 주문표."""
    return _rebalance_table("orders", holdings, targets, cash, settings, groups, accounts)


@xw.func(category=CATEGORY, call_in_wizard=False)  # may fetch missing quotes
@xw.arg("holdings", ndim=2, doc=_DOC_HOLDINGS)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS)
@xw.arg("cash", doc=_DOC_CASH)
@xw.arg("settings", ndim=2, doc=_DOC_SETTINGS)
@xw.arg("groups", ndim=2, doc=_DOC_GROUPS)
@xw.arg("accounts", ndim=2, doc=_DOC_ACCOUNTS)
def REBAL_SUMMARY(holdings, targets, cash=None, settings=None, groups=None, accounts=None):
    """Cash, fees, turnover, drift and warnings of the plan / 리밸런싱 요약."""
    return _rebalance_table("summary", holdings, targets, cash, settings, groups, accounts)


@xw.func(category=CATEGORY, call_in_wizard=False)  # may fetch missing quotes
@xw.arg("holdings", ndim=2, doc=_DOC_HOLDINGS)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS)
@xw.arg("cash", doc=_DOC_CASH)
@xw.arg("settings", ndim=2, doc=_DOC_SETTINGS)
@xw.arg("groups", ndim=2, doc=_DOC_GROUPS)
@xw.arg("accounts", ndim=2, doc=_DOC_ACCOUNTS)
def REBAL_DRIFT(holdings, targets, cash=None, settings=None, groups=None, accounts=None):
    """Current weight, target, drift and band status per asset / 비중 이탈 현황."""
    return _rebalance_table("drift", holdings, targets, cash, settings, groups, accounts)


# ---------------------------------------------------------------- backtests

_DOC_PRICES = "Daily closes: Date, then one column per ticker (or ETF_HISTORY) / 일별 종가 표"
_DOC_WEIGHTS = "Ticker, Weight / 티커, 비중"
_DOC_BT_SETTINGS = (
    "key, value: rebalance (none/monthly/quarterly/annual), band, band_type, fee_rate, "
    "initial, whole_shares, benchmark / 백테스트 설정"
)


@xw.func(category=CATEGORY)
@xw.arg("prices", ndim=2, doc=_DOC_PRICES)
@xw.arg("weights", ndim=2, doc=_DOC_WEIGHTS)
@xw.arg("settings", ndim=2, doc=_DOC_BT_SETTINGS)
def PORTFOLIO_BACKTEST(prices, weights, settings=None):
    """Total return, CAGR, volatility, Sharpe, drawdown of a rebalanced mix / 백테스트 결과."""
    from etf_rebalancer.backtest.sheet import backtest_stats_rows

    lang = detect_language(prices, weights, settings=settings)
    return _table(lang, lambda: backtest_stats_rows(prices, weights, settings, lang))


@xw.func(category=CATEGORY)
@xw.arg("prices", ndim=2, doc=_DOC_PRICES)
@xw.arg("weights", ndim=2, doc=_DOC_WEIGHTS)
@xw.arg("settings", ndim=2, doc=_DOC_BT_SETTINGS)
def PORTFOLIO_EQUITY(prices, weights, settings=None):
    """Value series of the same backtest (Date, Portfolio [, Benchmark]) / 평가액 추이."""
    from etf_rebalancer.backtest.sheet import backtest_equity_rows

    lang = detect_language(prices, weights, settings=settings)
    return _table(lang, lambda: backtest_equity_rows(prices, weights, settings, lang))


@xw.func(category=CATEGORY)
@xw.arg("prices", ndim=2, doc=_DOC_PRICES)
def PORTFOLIO_CORREL(prices):
    """Correlation matrix of daily simple returns / 일간 수익률 상관계수."""
    from etf_rebalancer.backtest.sheet import correlation_rows

    lang = detect_language(prices)
    return _table(lang, lambda: correlation_rows(prices, lang))
