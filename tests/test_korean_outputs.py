"""Every output table of every function in both languages (issue 15, CONTRACT.md "Language").

A Korean workbook (Korean headers, or the ``language`` setting ``ko``) gets
Korean headers, actions, statuses, summary values, backtest metrics and equity,
correlation and history headers; the numbers and tickers are the same as the
English answer's, cell for cell. The expected Korean words are written out
here, not taken from the label table under test.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etf_rebalancer import udfs
from etf_rebalancer.cells import read_table
from etf_rebalancer.quotes import service as service_module
from etf_rebalancer.quotes.base import History, Quote
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.memory import MemoryProvider
from etf_rebalancer.quotes.service import QuoteService
from tests.strategies import Portfolio, portfolios

EN_TO_KO = {
    "Ticker": "티커",
    "Name": "종목명",
    "Shares": "수량",
    "Price": "현재가",
    "Currency": "통화",
    "Target": "목표비중",
    "Band": "허용범위",
    "Amount": "금액",
    "Date": "날짜",
    "Weight": "비중",
    "Setting": "설정",
    "Value": "값",
}

HOLDINGS = [
    ["Ticker", "Name", "Shares", "Price", "Currency"],
    ["QQQ", "Invesco QQQ", 10.0, 500.0, "USD"],
    ["069500", "KODEX 200", 100.0, 35000.0, "KRW"],
    ["TQQQ", "ProShares UltraPro QQQ", 50.0, 80.0, "USD"],
    ["VOO", "Vanguard S&P 500", 3.0, 450.0, "USD"],
]
TARGETS = [
    ["Ticker", "Target", "Band"],
    ["QQQ", 40.0, None],
    ["069500", 30.0, None],
    ["TQQQ", 10.0, None],
    ["VOO", 15.0, 0.5],
    ["CASH", 5.0, None],
]
CASH = [["Currency", "Amount"], ["USD", 2000.0], ["KRW", 1_000_000.0]]
SETTINGS = [["Setting", "Value"], ["FX KRW", 1 / 1400], ["fee_rate", "0.1%"], ["band", 0.1]]

ORDERS_KO = [
    "티커",
    "매매구분",
    "수량",
    "현재가",
    "통화",
    "금액",
    "금액(기준통화)",
    "현재비중",
    "매매후비중",
    "목표비중",
]
DRIFT_KO = ["티커", "평가금액", "현재비중", "목표비중", "이탈도", "허용범위", "상태"]
WORDS_KO = {
    "BUY": "매수",
    "SELL": "매도",
    "OK": "적정",
    "OVER": "초과",
    "UNDER": "미달",
    "CASH": "현금",
    "full": "전체",
    "band": "밴드",
    "full (buy only)": "전체 (매수만)",
    "band (buy only)": "밴드 (매수만)",
}


def korean(rows: Any) -> Any:
    if isinstance(rows, list) and rows and isinstance(rows[0], list):
        return [[EN_TO_KO.get(c, c) for c in rows[0]], *[list(r) for r in rows[1:]]]
    return rows


def both(function, *args):
    """The English answer and the answer to the same ranges under Korean headers."""
    return function(*args), function(*(korean(a) for a in args))


def assert_same_numbers(english: list[list[Any]], korean_rows: list[list[Any]]) -> None:
    """Same shape, same numbers, dates and tickers; words only translated."""
    assert len(english) == len(korean_rows)
    for en_row, ko_row in zip(english[1:], korean_rows[1:], strict=True):
        assert len(en_row) == len(ko_row)
        for en, ko in zip(en_row, ko_row, strict=True):
            if isinstance(en, str):
                assert ko == WORDS_KO.get(en, en), (en, ko)
            else:
                assert type(ko) is type(en) and ko == en, (en, ko)


_ASCII_WORD = re.compile(r"[A-Za-z]{2,}")
_CODES = {"USD", "KRW", "MILP"}


def test_orders_in_both_languages():
    en, ko = both(udfs.REBAL_ORDERS, HOLDINGS, TARGETS, CASH, SETTINGS)
    assert en[0] == [
        "Ticker",
        "Action",
        "Shares",
        "Price",
        "Currency",
        "Amount",
        "Amount (base)",
        "Weight Before",
        "Weight After",
        "Target",
    ]
    assert ko[0] == ORDERS_KO
    assert {r[1] for r in en[1:]} == {"BUY", "SELL"}
    assert {r[1] for r in ko[1:]} == {"매수", "매도"}
    assert_same_numbers(en, ko)


def test_drift_in_both_languages():
    en, ko = both(udfs.REBAL_DRIFT, HOLDINGS, TARGETS, CASH, SETTINGS)
    assert en[0] == ["Ticker", "Value", "Weight", "Target", "Drift", "Band", "Status"]
    assert ko[0] == DRIFT_KO
    assert {r[6] for r in en[1:]} == {"OK", "OVER", "UNDER"}
    assert {r[6] for r in ko[1:]} == {"적정", "초과", "미달"}
    assert en[-1][0] == "CASH" and ko[-1][0] == "현금"
    assert_same_numbers(en, ko)


@pytest.mark.parametrize(
    ("settings", "mode_en", "mode_ko"),
    [
        ([], "full", "전체"),
        ([["mode", "band"], ["buy_only", True]], "band (buy only)", "밴드 (매수만)"),
    ],
)
def test_summary_in_both_languages(settings, mode_en, mode_ko):
    en, ko = both(udfs.REBAL_SUMMARY, HOLDINGS, TARGETS, CASH, SETTINGS + settings)
    assert en[0] == ["Item", "Value"] and ko[0] == ["항목", "값"]
    assert dict(r for r in en[1:] if r[0] != "Warning")["Mode"] == mode_en
    assert dict(r for r in ko[1:] if r[0] != "경고")["방식"] == mode_ko
    assert len(en) == len(ko)
    for en_row, ko_row in zip(en[1:], ko[1:], strict=True):
        item = ko_row[0]
        # Korean items: no English words but currency codes (as in "리밸런싱 전 현금 (USD)").
        assert set(_ASCII_WORD.findall(item)) <= _CODES, item
        if not isinstance(en_row[1], str):
            assert ko_row[1] == en_row[1], (en_row, ko_row)
        else:
            assert set(_ASCII_WORD.findall(ko_row[1])) <= _CODES | {"QQQ", "TQQQ", "VOO"}, ko_row


def test_korean_orders_read_back_as_holdings():
    # The Korean header words are the input aliases, so a Korean orders table pasted as a
    # holdings range reads the same tickers, shares, prices and currencies as the English.
    en, ko = both(udfs.REBAL_ORDERS, HOLDINGS, TARGETS, CASH, SETTINGS)
    columns = dict(required=["ticker", "shares"], optional=["price", "currency", "target"])
    en_table = read_table(en, name="holdings", **columns)
    ko_table = read_table(ko, name="holdings", **columns)
    pd.testing.assert_frame_equal(en_table, ko_table)


def test_language_setting_ko_and_en():
    ko = udfs.REBAL_ORDERS(HOLDINGS, TARGETS, CASH, [*SETTINGS, ["language", "ko"]])
    assert ko[0] == ORDERS_KO
    en = udfs.REBAL_DRIFT(*(korean(a) for a in (HOLDINGS, TARGETS, CASH, SETTINGS)))
    assert en[0] == DRIFT_KO  # Korean headers alone: Korean
    forced = udfs.REBAL_DRIFT(
        *(korean(a) for a in (HOLDINGS, TARGETS, CASH)),
        [*korean(SETTINGS), ["language", "en"]],
    )
    assert forced[0] == ["Ticker", "Value", "Weight", "Target", "Drift", "Band", "Status"]
    assert forced[-1][0] == "CASH"
    summary = udfs.REBAL_SUMMARY(HOLDINGS, TARGETS, CASH, [*SETTINGS, ["language", "한국어"]])
    assert summary[0] == ["항목", "값"]


def test_english_headers_with_korean_names_stay_english():
    names_first = [
        ["Name", "Ticker", "Shares", "Price", "Currency"],
        ["코덱스 200", "069500", 100.0, 35000.0, "KRW"],
        ["삼성전자", "005930", 10.0, 70000.0, "KRW"],
    ]
    targets = [["Ticker", "Target"], ["069500", 60.0], ["005930", 40.0]]
    settings = [["base_currency", "KRW"], ["mode", "전체"]]  # a Korean value is no header
    for function in (udfs.REBAL_ORDERS, udfs.REBAL_SUMMARY, udfs.REBAL_DRIFT):
        rows = function(names_first, targets, 1_000_000.0, settings)
        assert rows[0][0] in ("Ticker", "Item"), rows
    error = udfs.REBAL_ORDERS([["Name", "Ticker", "Shares"], ["코덱스", "069500", "열"]], targets)
    assert error[0][0].startswith("Error: Shares must be a number")


def test_korean_setting_values_plan_like_english_ones():
    english = [["mode", "band"], ["band_type", "absolute"], ["buy_only", False], ["band", 0.02]]
    korean_values = [
        ["mode", "밴드"],
        ["band_type", "절대"],
        ["buy_only", "아니오"],
        ["band", 0.02],
    ]
    for function in (udfs.REBAL_ORDERS, udfs.REBAL_DRIFT):
        assert function(HOLDINGS, TARGETS, CASH, SETTINGS[1:] + korean_values) == function(
            HOLDINGS, TARGETS, CASH, SETTINGS[1:] + english
        )
    relative = [["band_type", "상대"], ["whole_shares", "예"], ["mode", "전체"]]
    assert udfs.REBAL_ORDERS(HOLDINGS, TARGETS, CASH, SETTINGS[1:] + relative) == udfs.REBAL_ORDERS(
        HOLDINGS, TARGETS, CASH, [*SETTINGS[1:], ["band_type", "relative"], ["mode", "full"]]
    )


@settings(max_examples=25)  # nine plans per example
@given(portfolio=portfolios(whole_shares=None), mode=st.sampled_from([None, "band"]))
def test_any_workbook_gets_the_same_numbers_in_korean(portfolio: Portfolio, mode):
    keys = portfolio.settings + ([["mode", mode], ["band", 0.1]] if mode else [])
    english_args = (portfolio.holdings, portfolio.targets, portfolio.cash, keys or None)
    korean_args = (korean(portfolio.holdings), korean(portfolio.targets), portfolio.cash)
    for function in (udfs.REBAL_ORDERS, udfs.REBAL_DRIFT, udfs.REBAL_SUMMARY):
        en = function(*english_args)
        ko = function(*korean_args, keys or None)
        # The language setting alone gives the same Korean answer as Korean headers.
        assert function(*english_args[:3], [*keys, ["language", "ko"]]) == ko
        if len(en) == 1 and len(en[0]) == 1:  # an error: both languages fail alike
            assert en[0][0].startswith("Error: ") and ko[0][0].startswith("오류: ")
            continue
        if function is udfs.REBAL_SUMMARY:
            assert [r[1] for r in en if not isinstance(r[1], str)] == [
                r[1] for r in ko if not isinstance(r[1], str)
            ]
        else:
            assert_same_numbers(en, ko)


# ---------------------------------------------------------------- backtests

DAYS = pd.bdate_range("2024-01-02", periods=90)
PRICES = [
    ["Date", "SPY", "QQQ", "069500"],
    *[
        [d.to_pydatetime(), 400.0 + i, 300.0 + 2 * (i % 7), None if i == 0 else 35000.0 + 50 * i]
        for i, d in enumerate(DAYS)
    ],
]
WEIGHTS = [["Ticker", "Weight"], ["SPY", 50.0], ["QQQ", 30.0], ["069500", 20.0]]
BT_SETTINGS = [["Setting", "Value"], ["rebalance", "monthly"], ["benchmark", "SPY"]]

METRICS_KO = ["총수익률", "연평균 수익률", "변동성", "샤프지수", "최대 낙폭", "리밸런싱 횟수"]


def test_backtest_metrics_and_notice_in_both_languages():
    en, ko = both(udfs.PORTFOLIO_BACKTEST, PRICES, WEIGHTS, BT_SETTINGS)
    assert en[0] == ["Metric", "Value"] and ko[0] == ["지표", "값"]
    names_en = [r[0] for r in en[1:]]
    names_ko = [r[0] for r in ko[1:]]
    assert names_en[:6] == [
        "Total Return",
        "CAGR",
        "Volatility",
        "Sharpe",
        "Max Drawdown",
        "Rebalances",
    ]
    assert names_ko[:6] == METRICS_KO
    assert len(set(names_ko)) == len(names_ko)
    for name in names_ko:
        assert not _ASCII_WORD.search(name), name
    # 069500 has no price on the first day: the backtest says where it starts.
    assert en[-1][0] == "Notice" and en[-1][1].startswith("Backtest starts 2024-01-03")
    assert (
        ko[-1][0] == "알림"
        and ko[-1][1] == "백테스트는 069500의 첫 가격일 2024-01-03부터 시작합니다"
    )
    for en_row, ko_row in zip(en[1:-1], ko[1:-1], strict=True):
        assert ko_row[1] == en_row[1] and type(ko_row[1]) is type(en_row[1])


def test_backtest_language_setting():
    ko = udfs.PORTFOLIO_BACKTEST(PRICES, WEIGHTS, [*BT_SETTINGS, ["language", "ko"]])
    assert ko[0] == ["지표", "값"]
    en = udfs.PORTFOLIO_BACKTEST(
        korean(PRICES), korean(WEIGHTS), [*korean(BT_SETTINGS), ["language", "en"]]
    )
    assert en[0] == ["Metric", "Value"] and en[-1][0] == "Notice"


def test_korean_rebalance_values_backtest_like_english_ones():
    for korean_rule, rule in (("없음", "none"), ("매월", "monthly"), ("매분기", "quarterly")):
        settings = [["rebalance", korean_rule], ["band_type", "상대"], ["whole_shares", "예"]]
        english = [["rebalance", rule], ["band_type", "relative"], ["whole_shares", True]]
        assert udfs.PORTFOLIO_BACKTEST(PRICES, WEIGHTS, settings) == udfs.PORTFOLIO_BACKTEST(
            PRICES, WEIGHTS, english
        )
    assert udfs.PORTFOLIO_BACKTEST(PRICES, WEIGHTS, [["rebalance", "매년"]]) == (
        udfs.PORTFOLIO_BACKTEST(PRICES, WEIGHTS, [["rebalance", "annual"]])
    )


def test_equity_in_both_languages():
    en, ko = both(udfs.PORTFOLIO_EQUITY, PRICES, WEIGHTS, BT_SETTINGS)
    assert en[0] == ["Date", "Portfolio", "Benchmark"]
    assert ko[0] == ["날짜", "포트폴리오", "벤치마크"]
    assert en[1:] == ko[1:]
    assert isinstance(ko[1][0], dt.datetime)


def test_correlation_in_both_languages():
    en, ko = both(udfs.PORTFOLIO_CORREL, PRICES)
    assert en[0] == ["Ticker", "SPY", "QQQ", "069500"]
    assert ko[0] == ["티커", "SPY", "QQQ", "069500"]
    assert en[1:] == ko[1:]


@pytest.fixture
def memory_service(tmp_path, monkeypatch):
    days = pd.DatetimeIndex(DAYS[:5])
    frame = pd.DataFrame(
        {"close": [1.0, 2, 3, 4, 5], "adjclose": [1.0, 2, 3, 4, 5]}, index=days, dtype=float
    )
    provider = MemoryProvider(
        {"QQQ": Quote("QQQ", 5.0, "USD")}, {"QQQ": History("QQQ", "USD", frame)}
    )
    svc = QuoteService(QuoteCache(tmp_path / "q.sqlite"), provider)
    from etf_rebalancer.quotes import registry

    monkeypatch.setattr(service_module, "get_service", lambda *a, **k: svc)
    monkeypatch.setattr(registry, "get_service", lambda *a, **k: svc)
    yield svc
    svc.cache.close()


def test_history_header_in_both_languages(memory_service):
    start, end = DAYS[0].to_pydatetime(), DAYS[4].to_pydatetime()
    en = udfs.ETF_HISTORY("QQQ", start, end)
    assert en[0] == ["Date", "QQQ"] and len(en) == 6
    assert udfs.ETF_HISTORY("QQQ", start, end, "adjclose", "en") == en
    ko = udfs.ETF_HISTORY("QQQ", start, end, "adjclose", "ko")
    assert ko[0] == ["날짜", "QQQ"] and ko[1:] == en[1:]
    # The Korean history feeds a backtest that answers in Korean.
    rows = udfs.PORTFOLIO_BACKTEST(ko, [["Ticker", "Weight"], ["QQQ", 1.0]])
    assert rows[0] == ["지표", "값"]


def test_history_errors_follow_the_language(memory_service):
    ko = udfs.ETF_HISTORY("QQQ", "2024-02-01", "2024-01-01", None, "ko")[0][0]
    assert ko.startswith("오류: ")
    en = udfs.ETF_HISTORY("QQQ", "2024-02-01", "2024-01-01")[0][0]
    assert en.startswith("Error: ")
