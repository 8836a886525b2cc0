"""PORTFOLIO_BACKTEST, _EQUITY and _CORREL called as plain functions with Excel values."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from etf_rebalancer import udfs
from etf_rebalancer.backtest.core import BacktestConfig, run_backtest
from etf_rebalancer.backtest.stats import METRICS

# Excel serial 45294 = 2024-01-03; 069500 typed into a General cell arrives as 69500.0.
PRICES = [
    ["Date", "SPY", 69500.0, "QQQ"],
    [dt.datetime(2024, 1, 2), 470.0, 35000.0, 400.0],
    [45294.0, 468.0, None, 398.0],
    [dt.datetime(2024, 1, 4), 467.0, 34800.0, 395.0],
    ["2024-02-01", 480.0, 35500.0, 410.0],
    [dt.datetime(2024, 2, 2), 485.0, 35200.0, 420.0],
    [None, None, None, None],
]
WEIGHTS = [["Ticker", "Weight"], ["SPY", 50], ["069500", "30%"], [None, None]]
SETTINGS = [["rebalance", "monthly"], ["fee_rate", "0.1%"], ["benchmark", "QQQ"]]


def as_frame() -> pd.DataFrame:
    dates = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-02-01", "2024-02-02"])
    return pd.DataFrame(
        {
            "SPY": [470, 468, 467, 480, 485],
            "069500": [35000, None, 34800, 35500, 35200],
            "QQQ": [400, 398, 395, 410, 420],
        },
        index=dates,
        dtype=float,
    )


def test_backtest_rows_equal_the_pure_api():
    rows = udfs.PORTFOLIO_BACKTEST(PRICES, [*WEIGHTS, ["CASH", 20]], SETTINGS)
    assert rows[0] == ["Metric", "Value"]
    names = [r[0] for r in rows[1:]]
    assert names[:6] == list(METRICS[:6])
    assert "Benchmark CAGR" in names and "Correlation to Benchmark" in names
    expected = run_backtest(
        as_frame(),
        {"SPY": 0.5, "069500": 0.3},
        BacktestConfig("monthly", fee_rate=0.001, benchmark="QQQ"),
    )
    values = dict((r[0], r[1]) for r in rows[1:])
    assert values["Total Return"] == pytest.approx(expected.stats["Total Return"])
    assert values["Rebalances"] == 1
    assert values["Start"] == dt.datetime(2024, 1, 2)
    assert all(isinstance(r[1], float | int | dt.datetime | type(None)) for r in rows[1:])


def test_equity_rows_with_benchmark():
    rows = udfs.PORTFOLIO_EQUITY(PRICES, [["Ticker", "Weight"], ["SPY", 1]], SETTINGS)
    assert rows[0] == ["Date", "Portfolio", "Benchmark"]
    assert [r[0] for r in rows[1:]][:2] == [dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 3)]
    first, last = rows[1], rows[-1]
    assert first[1] == pytest.approx(1_000_000 * (1 - 0.001 / 1.001))  # bought net of the fee
    assert first[2] == 1_000_000
    assert last[2] == pytest.approx(1_000_000 * 420 / 400)


def test_korean_headers_and_band_column():
    weights = [["종목코드", "비중", "허용범위"], ["SPY", 0.6, 0.05], [69500, 0.4, None]]
    rows = udfs.PORTFOLIO_BACKTEST(PRICES, weights, [["band_type", "absolute"], ["band", 0.5]])
    assert rows[0] == ["지표", "값"], rows  # a Korean workbook is answered in Korean


def test_correlation_matrix():
    rows = udfs.PORTFOLIO_CORREL(PRICES)
    assert rows[0] == ["Ticker", "SPY", "069500", "QQQ"]
    assert [r[0] for r in rows[1:]] == ["SPY", "069500", "QQQ"]
    for i in range(1, 4):
        assert rows[i][i] == pytest.approx(1.0)
        for j in range(1, 4):
            assert rows[i][j] == pytest.approx(rows[j][i])
    returns = as_frame().ffill().pct_change().iloc[1:]
    assert rows[1][3] == pytest.approx(returns["SPY"].corr(returns["QQQ"]))


@pytest.mark.parametrize(
    ("prices", "weights", "settings", "words"),
    [
        (PRICES, [*WEIGHTS, ["CASH", 20]], [["rebalence", "monthly"]], ["rebalence", "row 1"]),
        (PRICES, [*WEIGHTS, ["CASH", 20]], [["rebalance", "weekly"]], ["rebalance", "weekly"]),
        (PRICES, [*WEIGHTS, ["CASH", 20]], [["fee_rate", 5]], ["fee_rate", "row 1"]),
        (PRICES, [*WEIGHTS, ["CASH", 20]], [["benchmark", "VTI"]], ["VTI", "benchmark"]),
        (PRICES, [*WEIGHTS, ["CASH", 20]], [["whole_shares", "maybe"]], ["whole_shares"]),
        (PRICES, WEIGHTS, None, ["100%", "80.00%"]),
        (PRICES, [["Ticker", "Weight"], ["VTI", 1]], None, ["VTI"]),
        (PRICES, [["Ticker", "Weight"], ["SPY", "half"]], None, ["row 2", "SPY"]),
        (PRICES, [["Ticker", "Weight"], ["SPY", 0.5], ["SPY", 0.5]], None, ["SPY", "twice"]),
        (PRICES, [["Name", "Weight"], ["SPY", 1]], None, ["Ticker"]),
        (
            [["Date", "SPY"], [dt.datetime(2024, 1, 2), "n/a"], [45295.0, 1.0]],
            [["Ticker", "Weight"], ["SPY", 1]],
            None,
            ["row 2", "SPY"],
        ),
        (
            [["Date", "SPY"], ["soon", 1.0], [45295.0, 1.0]],
            [["Ticker", "Weight"], ["SPY", 1]],
            None,
            ["row 2", "Date"],
        ),
        ([["Day", "SPY"], [45294.0, 1.0]], [["Ticker", "Weight"], ["SPY", 1]], None, ["Date"]),
        (
            [["Date", "SPY"], [45294.0, 1.0], [45294.0, 2.0]],
            [["Ticker", "Weight"], ["SPY", 1]],
            None,
            ["twice", "rows 2 and 3"],
        ),
        (
            [["Date", "SPY"], [45294.0, -1.0], [45295.0, 2.0]],
            [["Ticker", "Weight"], ["SPY", 1]],
            None,
            ["positive", "SPY"],
        ),
        (
            [["Date", "SPY"], [45294.0, 1.0]],
            [["Ticker", "Weight"], ["SPY", 1]],
            None,
            ["two dates"],
        ),
        (None, None, None, ["empty"]),
    ],
)
def test_bad_input_is_a_short_text_naming_the_place(prices, weights, settings, words):
    for function in (udfs.PORTFOLIO_BACKTEST, udfs.PORTFOLIO_EQUITY):
        result = function(prices, weights, settings)
        assert isinstance(result, list) and len(result) == 1 and len(result[0]) == 1, result
        text = result[0][0]
        assert text.startswith("Error: ") and "unexpected" not in text, text
        for word in words:
            assert word in text, (word, text)


def test_korean_workbook_gets_korean_errors():
    result = udfs.PORTFOLIO_BACKTEST(PRICES, [["티커", "비중"], ["SPY", 50]], None)
    assert result[0][0].startswith("오류: ") and "100%" in result[0][0]


def test_correl_bad_input():
    result = udfs.PORTFOLIO_CORREL([["Date", "SPY"], [45294.0, 1.0], [45295.0, "x"]])
    assert result[0][0].startswith("Error: ") and "row 3" in result[0][0]


def test_an_upstream_error_in_prices_is_passed_on_not_hidden(monkeypatch):
    """Offline with an empty cache, ETF_HISTORY's words reach the Backtest sheet's cells."""
    monkeypatch.setenv("ETF_REBAL_OFFLINE", "1")
    history = udfs.ETF_HISTORY([["VOO"], ["QQQ"]], "2021-01-01")
    assert history[0][0].startswith("Error: ") and "VOO" in history[0][0]
    weights = [["Ticker", "Weight"], ["VOO", 0.6], ["QQQ", 0.4]]
    for function in (udfs.PORTFOLIO_BACKTEST, udfs.PORTFOLIO_EQUITY):
        text = function(history, weights, [["rebalance", "quarterly"]])[0][0]
        assert text.startswith("Error: prices holds an error, not prices: Error: ")
        assert "VOO" in text
    assert "holds an error" in udfs.PORTFOLIO_CORREL(history)[0][0]
    assert "#N/A" in udfs.PORTFOLIO_BACKTEST([["#N/A"]], weights, None)[0][0]


def test_sheet_inputs_assemble_what_the_backtest_sheet_hands_its_formulas():
    from etf_rebalancer.backtest.sheet import sheet_inputs

    targets = [
        ["티커", "목표비중", "허용범위"],
        ["QQQ", 0.5, 0.1],
        ["069500", 0.5, None],
        [None, None, None],
    ]
    settings = [["설정", "값", "설명"], ["Fee Rate", 0.01, "x"], ["benchmark", "VOO", "y"]]
    weights, merged, tickers = sheet_inputs(targets, settings, {"fee_rate": 0.002, "band": 0.1})
    assert weights == [["Ticker", "Weight"], ["QQQ", 0.5], ["069500", 0.5]]
    assert merged == [
        ["설정", "값"],
        ["Fee Rate", 0.002],  # the override replaces the key however it is spelled
        ["benchmark", "VOO"],
        ["band", 0.1],
        ["rebalance", "quarterly"],
    ]
    assert tickers == ["VOO", "QQQ", "069500"]
    # Without a settings table: quarterly, no benchmark; a misspelt key is kept for
    # PORTFOLIO_BACKTEST to name, not mistaken for a header.
    assert sheet_inputs(targets, None)[1:] == (
        [["Setting", "Value"], ["rebalance", "quarterly"]],
        ["QQQ", "069500"],
    )
    typo = sheet_inputs(targets, [["rebalnce", "monthly"]])[1]
    assert (
        "rebalnce"
        in udfs.PORTFOLIO_BACKTEST(PRICES, [["Ticker", "Weight"], ["SPY", 1]], typo)[0][0]
    )
