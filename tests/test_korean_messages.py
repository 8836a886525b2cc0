"""Korean error messages name their place in Korean (issue 15's fuzzing finding).

Each case is a bad input to a UDF, written once with English headers; the
Korean workbook is the same ranges under Korean headers. The Korean answer
must be Korean throughout: after removing the user's own values (quoted), the
only ASCII words left may be tickers, currency codes and other upper-case
codes, setting keys and the setting values the contract names.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest

from etf_rebalancer import udfs

# Korean header words a Korean workbook uses (the templates' and the contract's aliases).
EN_TO_KO = {
    "Ticker": "티커",
    "Shares": "수량",
    "Price": "현재가",
    "Currency": "통화",
    "Type": "종류",
    "Account": "계좌",
    "Target": "목표비중",
    "Band": "허용범위",
    "Group": "그룹",
    "Min": "최소",
    "Max": "최대",
    "Amount": "금액",
    "Date": "날짜",
    "Weight": "비중",
    "Setting": "설정",
    "Value": "값",
}

SETTING_WORDS = {
    # planning keys
    "base_currency",
    "mode",
    "buy_only",
    "band_type",
    "band",
    "whole_shares",
    "min_trade",
    "fee_rate",
    "fee_min",
    "fx_spread",
    "fx",
    "language",
    # backtest keys
    "rebalance",
    "initial",
    "benchmark",
    # values the contract names
    "full",
    "relative",
    "absolute",
    "none",
    "monthly",
    "quarterly",
    "annual",
    "en",
    "ko",
}
# Provider names a quote failure may cite, and booleans echoed as the user typed them.
NAMES = {"Yahoo", "Finance", "HTTP", "True", "False"}

D = [dt.datetime(2024, 1, d) for d in (2, 3, 4, 5, 8)]


def H(*rows: list[Any], header: tuple[str, ...] = ("Ticker", "Shares", "Price", "Currency")):
    return [list(header), *[list(r) for r in rows]]


HOLD = H(["QQQ", 10.0, 500.0, "USD"])
TARGETS = [["Ticker", "Target"], ["QQQ", 100.0]]
PRICES = [["Date", "SPY", "QQQ"], *[[d, 100.0 + i, 200.0 + 2 * i] for i, d in enumerate(D)]]
WEIGHTS = [["Ticker", "Weight"], ["SPY", 60.0], ["QQQ", 40.0]]


def S(*pairs: tuple[str, Any]) -> list[list[Any]]:
    return [["Setting", "Value"], *[list(p) for p in pairs]]


def orders(holdings=HOLD, targets=TARGETS, cash=None, settings=None, groups=None):
    return ("REBAL_ORDERS", [holdings, targets, cash, settings, groups])


def backtest(prices=PRICES, weights=WEIGHTS, settings=None):
    return ("PORTFOLIO_BACKTEST", [prices, weights, settings])


def _prices_with(row: int, col: int, value: Any) -> list[list[Any]]:
    rows = [list(r) for r in PRICES]
    rows[row][col] = value
    return rows


CASES: dict[str, tuple[str, list[Any]]] = {
    "shares text": orders(H(["QQQ", "abc", 500.0, "USD"])),
    "shares negative": orders(H(["QQQ", -1.0, 500.0, "USD"])),
    "price text": orders(H(["QQQ", 1.0, "abc", "USD"])),
    "price negative": orders(H(["QQQ", 1.0, -5.0, "USD"])),
    "currency bad": orders(H(["QQQ", 1.0, 500.0, "US"])),
    "type bad": orders(
        H(
            ["QQQ", 1.0, 500.0, "USD", "BOND"],
            header=("Ticker", "Shares", "Price", "Currency", "Type"),
        )
    ),
    "ticker missing": orders(H([None, 1.0, 500.0, "USD"])),
    "ticker boolean": orders(H([True, 1.0, 500.0, "USD"])),
    "ticker twice": orders(H(["QQQ", 1.0, 500.0, "USD"], ["QQQ", 1.0, 500.0, "USD"])),
    "price differs by account": orders(
        H(
            ["QQQ", 1.0, 500.0, "USD", "A"],
            ["QQQ", 1.0, 501.0, "USD", "B"],
            header=("Ticker", "Shares", "Price", "Currency", "Account"),
        )
    ),
    "holdings no shares column": orders([["Ticker", "Price"], ["QQQ", 500.0]]),
    "holdings empty": orders([[None, None]]),
    "target ticker missing": orders(targets=[["Ticker", "Target"], [None, 100.0]]),
    "target twice": orders(targets=[["Ticker", "Target"], ["QQQ", 50.0], ["QQQ", 50.0]]),
    "target negative": orders(targets=[["Ticker", "Target"], ["QQQ", 110.0], ["VOO", -10.0]]),
    "target text": orders(targets=[["Ticker", "Target"], ["QQQ", "abc"]]),
    "band text": orders(targets=[["Ticker", "Target", "Band"], ["QQQ", 100.0, "abc"]]),
    "min above max": orders(targets=[["Ticker", "Target", "Min", "Max"], ["QQQ", 100.0, 0.5, 0.2]]),
    "max above 100%": orders(targets=[["Ticker", "Target", "Max"], ["QQQ", 100.0, 150.0]]),
    "targets sum": orders(targets=[["Ticker", "Target"], ["QQQ", 90.0]]),
    "group name missing": orders(groups=[["Group", "Max"], [None, 0.1]]),
    "group twice": orders(groups=[["Group", "Max"], ["a", 0.1], ["A", 0.2]]),
    "group max text": orders(groups=[["Group", "Max"], ["LEV", "abc"]]),
    "group max above 100%": orders(groups=[["Group", "Max"], ["LEV", 150.0]]),
    "cash text": orders(cash="abc"),
    "cash currency bad": orders(cash=[["Currency", "Amount"], ["US", 100.0], ["KRW", 1.0]]),
    "cash amount text": orders(cash=[["Currency", "Amount"], ["USD", "abc"], ["KRW", 1.0]]),
    "cash currency twice": orders(cash=[["Currency", "Amount"], ["USD", 1.0], ["USD", 2.0]]),
    "unknown setting": orders(settings=S(("bogus", 1.0))),
    "setting twice": orders(settings=S(("mode", "full"), ("Mode", "band"))),
    "mode bad": orders(settings=S(("mode", "x"))),
    "band_type bad": orders(settings=S(("band_type", "x"))),
    "buy_only bad": orders(settings=S(("buy_only", "maybe"))),
    "band negative": orders(settings=S(("band", "-5%"))),
    "fee_rate too high": orders(settings=S(("fee_rate", 0.5))),
    "fee_rate text": orders(settings=S(("fee_rate", "abc"))),
    "min_trade negative": orders(settings=S(("min_trade", -1.0))),
    "fx zero": orders(settings=S(("FX KRW", 0.0))),
    "base_currency bad": orders(settings=S(("base_currency", "dollars"))),
    "language bad": orders(settings=S(("language", "fr"))),
    "prices empty": backtest(prices=[[None, None]]),
    "prices no date column": backtest(prices=[["Day", "SPY"], [D[0], 1.0]]),
    "date bad": backtest(prices=_prices_with(2, 0, "abc")),
    "date twice": backtest(prices=_prices_with(2, 0, D[0])),
    "price cell text": backtest(prices=_prices_with(2, 1, "abc")),
    "price cell negative": backtest(prices=_prices_with(2, 1, -1.0)),
    "price ticker twice": backtest(prices=[["Date", "SPY", "SPY"], [D[0], 1.0, 1.0]]),
    "price ticker boolean": backtest(prices=[["Date", True], [D[0], 1.0]]),
    "price column missing": backtest(weights=[["Ticker", "Weight"], ["IWM", 100.0]]),
    "price column empty": backtest(
        prices=[["Date", "SPY", "QQQ"], *[[d, 1.0, None] for d in D]],
    ),
    "weight missing": backtest(weights=[["Ticker", "Weight"], ["SPY", None], ["QQQ", 100.0]]),
    "weight negative": backtest(weights=[["Ticker", "Weight"], ["SPY", 110.0], ["QQQ", -10.0]]),
    "weight twice": backtest(weights=[["Ticker", "Weight"], ["SPY", 50.0], ["SPY", 50.0]]),
    "weights sum": backtest(weights=[["Ticker", "Weight"], ["SPY", 50.0], ["QQQ", 40.0]]),
    "weights only cash": backtest(weights=[["Ticker", "Weight"], ["CASH", 100.0]]),
    "rebalance bad": backtest(settings=S(("rebalance", "x"))),
    "backtest band_type bad": backtest(settings=S(("band_type", "x"))),
    "backtest band bad": backtest(settings=S(("band", "abc"))),
    "backtest fee_rate bad": backtest(settings=S(("fee_rate", 0.5))),
    "initial bad": backtest(settings=S(("initial", -1.0))),
    "whole_shares bad": backtest(settings=S(("whole_shares", "maybe"))),
    "benchmark missing": backtest(settings=S(("benchmark", "IWM"))),
    "backtest unknown setting": backtest(settings=S(("bogus", 1.0))),
    "backtest language bad": backtest(settings=S(("language", "fr"))),
    "correl too short": ("PORTFOLIO_CORREL", [PRICES[:3]]),
}


def korean(value: Any) -> Any:
    """The same range under Korean headers (header row translated, the rest as is)."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        return [[EN_TO_KO.get(c, c) for c in value[0]], *[list(r) for r in value[1:]]]
    return value


def answer(name: str, lang: str) -> str:
    function, args = CASES[name]
    call: Callable[..., Any] = getattr(udfs, function)
    result = call(*(korean(a) if lang == "ko" else a for a in args))
    assert isinstance(result, list) and len(result) == 1 and len(result[0]) == 1, result
    return result[0][0]


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_WORD = re.compile(r"[A-Za-z][A-Za-z_]*")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def english_words(message: str) -> list[str]:
    """ASCII words of a message that are not codes, setting keys or setting values."""
    words = _WORD.findall(_QUOTED.sub("", message))
    return [w for w in words if not w.isupper() and w not in SETTING_WORDS and w not in NAMES]


@pytest.mark.parametrize("name", sorted(CASES))
def test_korean_message_has_no_english_words(name):
    text = answer(name, "ko")
    assert text.startswith("오류: ") and _HANGUL.search(text[4:]), text
    assert english_words(text) == [], text


@pytest.mark.parametrize("name", sorted(CASES))
def test_english_message_stays_english(name):
    text = answer(name, "en")
    assert text.startswith("Error: ") and not _HANGUL.search(text), text


def test_the_check_catches_english_location_text():
    # The finding of issue 15, as it read before: the check must flag it.
    assert english_words("오류: fee_rate 값은 숫자여야 합니다: 'x' (settings row 2, fee_rate)") == [
        "settings",
        "row",
    ]
    assert english_words("오류: 수량은 숫자여야 합니다: '열' (보유종목 2행, 069500)") == []


def test_messages_name_the_place_in_both_languages():
    assert answer("fee_rate text", "en").endswith("(settings row 2, fee_rate)")
    assert answer("fee_rate text", "ko").endswith("(설정 2행, fee_rate)")
    assert answer("price cell text", "en").endswith("(prices row 3, SPY)")
    assert answer("price cell text", "ko").endswith("(가격 3행, SPY)")
    assert answer("price ticker boolean", "ko").endswith("(가격 머리글, 2열)")
    assert answer("weight missing", "ko").endswith("(비중 2행, SPY)")
    assert answer("group max text", "ko").endswith("(그룹 2행, LEV)")


def test_missing_price_names_the_rows_in_korean(monkeypatch, tmp_path):
    monkeypatch.setenv("ETF_REBAL_OFFLINE", "1")
    monkeypatch.setenv("ETF_REBAL_CACHE_DIR", str(tmp_path))
    holdings = [["티커", "수량"], ["QQQ", 1.0]]
    text = udfs.REBAL_ORDERS(holdings, [["티커", "목표비중"], ["QQQ", 100.0]])[0][0]
    assert "(보유종목 2행, 목표비중 2행)" in text, text
    assert english_words(text) == [], text
    english = udfs.REBAL_ORDERS(korean_to_english(holdings), TARGETS)[0][0]
    assert "(holdings row 2, targets row 2)" in english


def korean_to_english(rows: list[list[Any]]) -> list[list[Any]]:
    back = {v: k for k, v in EN_TO_KO.items()}
    return [[back.get(c, c) for c in rows[0]], *rows[1:]]


def test_language_setting_decides_the_message_language():
    bad = H(["QQQ", "abc", 500.0, "USD"])
    ko_text = udfs.REBAL_ORDERS(bad, TARGETS, None, S(("language", "ko")))[0][0]
    assert ko_text == "오류: 수량은 숫자여야 합니다: 'abc' (보유종목 2행, QQQ)"
    en_text = udfs.REBAL_ORDERS(korean(bad), korean(TARGETS), None, S(("language", "en")))[0][0]
    assert en_text == "Error: Shares must be a number, got 'abc' (holdings row 2, QQQ)"
