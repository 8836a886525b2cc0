"""Hand-checked backtests on tiny price tables, the calendar policy, and invariants."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etf_rebalancer.backtest import stats
from etf_rebalancer.backtest.core import (
    BacktestConfig,
    align_prices,
    compare,
    rebalance_candidates,
    run_backtest,
)
from etf_rebalancer.errors import InputError


def frame(dates: list[str], **columns: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {k: [math.nan if v is None else v for v in vals] for k, vals in columns.items()},
        index=pd.DatetimeIndex(dates),
        dtype=float,
    )


def test_buy_and_hold_by_hand():
    prices = frame(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"],
                   A=[10, 20, 20, 10], B=[10, 10, 10, 10])  # fmt: skip
    result = run_backtest(prices, {"A": 0.5, "B": 0.5}, BacktestConfig("none", initial=1000))
    assert result.equity.tolist() == [1000, 1500, 1500, 1000]
    assert result.shares.iloc[0].tolist() == [50, 50]
    assert result.stats["Total Return"] == 0
    assert result.stats["Max Drawdown"] == pytest.approx(1000 / 1500 - 1)
    assert result.stats["Rebalances"] == 0
    assert result.stats["Fees"] == 0


def test_monthly_rebalance_by_hand():
    prices = frame(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"],
                   A=[10, 20, 20, 40], B=[10, 10, 10, 10])  # fmt: skip
    result = run_backtest(prices, {"A": 0.5, "B": 0.5}, BacktestConfig("monthly", initial=1000))
    # Feb 1: 1500 split 750/750 -> 37.5 A and 75 B; Feb 2: 37.5 * 40 + 750.
    assert result.equity.tolist() == [1000, 1500, 1500, 2250]
    assert list(result.rebalance_dates) == list(pd.to_datetime(["2024-01-30", "2024-02-01"]))
    assert result.shares.iloc[1].tolist() == [37.5, 75]
    assert result.stats["Rebalances"] == 1
    assert result.turnover.iloc[1] == pytest.approx(500 / 2 / 1500)  # sold 250 A, bought 250 B


def test_fees_by_hand():
    prices = frame(["2024-01-02", "2024-01-03"], A=[10, 10], B=[10, 10])
    result = run_backtest(
        prices, {"A": 0.5, "B": 0.5}, BacktestConfig("none", fee_rate=0.01, initial=1000)
    )
    # A purchase spends its 500 including the 1% fee: 500 / 10.1 shares.
    assert result.shares.iloc[0].tolist() == pytest.approx([500 / 10.1] * 2)
    assert result.stats["Fees"] == pytest.approx(2 * 0.01 * 500 / 1.01)
    assert result.equity.iloc[0] == pytest.approx(1000 - 2 * 0.01 * 500 / 1.01)


def test_whole_shares_by_hand():
    prices = frame(["2024-01-02", "2024-01-03"], A=[30, 30], B=[70, 70])
    result = run_backtest(
        prices, {"A": 0.5, "B": 0.5}, BacktestConfig("none", whole_shares=True, initial=1000)
    )
    assert result.shares.iloc[0].tolist() == [16, 7]  # 480 + 490, 30 left in cash
    assert result.equity.tolist() == [1000, 1000]


def test_absolute_band_rebalances_on_the_breach_day():
    prices = frame(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"],
                   A=[10, 11, 13, 13], B=[10, 10, 10, 10])  # fmt: skip
    config = BacktestConfig("none", band=0.05, band_type="absolute", initial=1000)
    result = run_backtest(prices, {"A": 0.5, "B": 0.5}, config)
    # Day 2: A weight 550/1050 = 0.524 (inside 0.45-0.55); day 3: 650/1150 = 0.565 (outside).
    assert list(result.rebalance_dates) == list(pd.to_datetime(["2024-01-02", "2024-01-04"]))
    assert result.shares.iloc[1].tolist() == pytest.approx([575 / 13, 57.5])


def test_relative_band_is_a_fraction_of_the_target():
    prices = frame(["2024-01-02", "2024-01-03", "2024-01-04"], A=[10, 10.5, 12], B=[10, 10, 10])
    # target 0.2 with a 10% relative band: 0.18-0.22.
    config = BacktestConfig("none", band=0.10, band_type="relative", initial=1000)
    result = run_backtest(prices, {"A": 0.2, "B": 0.8}, config)
    # Day 2: 210/1010 = 0.208 inside; day 3: 240/1040 = 0.231 outside.
    assert list(result.rebalance_dates) == list(pd.to_datetime(["2024-01-02", "2024-01-04"]))


def test_calendar_candidates_skip_the_last_date_like_bt():
    dates = pd.DatetimeIndex(["2024-01-30", "2024-02-01", "2024-03-28", "2024-04-01", "2024-05-02"])
    assert rebalance_candidates(dates, "monthly").tolist() == [0, 1, 2, 3]  # not 4: last date
    assert rebalance_candidates(dates, "quarterly").tolist() == [0, 3]
    assert rebalance_candidates(dates, "annual").tolist() == [0]
    assert rebalance_candidates(dates, "none").tolist() == [0]


def test_krx_holiday_takes_the_last_close():
    # 2024-02-09/12: Seollal, KRX closed while NYSE traded; 069500 blank those days.
    prices = frame(["2024-02-08", "2024-02-09", "2024-02-12", "2024-02-13"],
                   SPY=[100, 102, 101, 103], **{"069500": [30000, None, None, 31500]})  # fmt: skip
    aligned, notices = align_prices(prices, ["SPY", "069500"])
    assert aligned["069500"].tolist() == [30000, 30000, 30000, 31500]
    assert notices == []
    result = run_backtest(prices, {"SPY": 0.5, "069500": 0.5}, BacktestConfig("none", initial=1000))
    assert result.equity.tolist() == pytest.approx([1000, 1010, 1005, 1040])


def test_backtest_starts_when_every_asset_has_a_price():
    prices = frame(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"],
                   A=[10, 11, 12, 13], B=[None, None, 10, 11])  # fmt: skip
    result = run_backtest(prices, {"A": 0.5, "B": 0.5}, BacktestConfig("none"))
    assert result.equity.index[0] == pd.Timestamp("2024-01-04")
    assert "2024-01-04" in result.notices[0].message and "B" in result.notices[0].message


def test_stats_by_hand():
    values = np.array([100.0, 110.0, 99.0, 120.0])
    dates = pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-03", "2021-01-01"])
    r = np.array([0.1, -0.1, 120 / 99 - 1])
    out = stats.performance(values, dates)
    assert out["Total Return"] == pytest.approx(0.2)
    assert out["Volatility"] == pytest.approx(np.std(r, ddof=1) * math.sqrt(252))
    assert out["Sharpe"] == pytest.approx(r.mean() / np.std(r, ddof=1) * math.sqrt(252))
    assert out["CAGR"] == pytest.approx(1.2 ** (365.25 / 366) - 1)
    assert out["Max Drawdown"] == pytest.approx(99 / 110 - 1)
    assert math.isnan(stats.sharpe(np.array([1.0, 1.0, 1.0])))


def test_compare_mixes_on_the_same_dates():
    prices = frame(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"],
                   QQQ=[10, 11, 12, 13], EU=[20, 19, 21, 22], KARS=[None, 5, 6, 5])  # fmt: skip
    table = compare(
        prices, {"Mix": {"QQQ": 0.5, "EU": 0.25, "KARS": 0.25}, "QQQ alone": {"QQQ": 1.0}}
    )
    assert list(table.columns) == ["Mix", "QQQ alone"]
    assert list(table.index[:6]) == list(stats.METRICS[:6])
    assert table.loc["Start", "QQQ alone"] == pd.Timestamp("2024-01-31")  # KARS starts later
    assert table.loc["Total Return", "QQQ alone"] == pytest.approx(13 / 11 - 1)
    assert table.loc["Rebalances", "QQQ alone"] == 0  # one asset is always on target


@pytest.mark.parametrize(
    ("weights", "config", "match"),
    [
        ({"A": 0.7, "B": 0.7}, BacktestConfig(), "at most 100%"),
        ({"A": -0.1, "B": 1.1}, BacktestConfig(), "Weight must be"),
        ({"Z": 1.0}, BacktestConfig(), "no column for Z"),
    ],
)
def test_bad_weights_raise(weights, config, match):
    prices = frame(["2024-01-02", "2024-01-03"], A=[1, 2], B=[1, 2])
    with pytest.raises(InputError, match=match):
        run_backtest(prices, weights, config)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"rebalance": "weekly"}, "rebalance must be"),
        ({"fee_rate": 0.5}, "fee_rate must be"),
        ({"band": -0.1}, "band must be"),
        ({"initial": 0}, "initial must be"),
        ({"band_type": "percent"}, "band_type must be"),
    ],
)
def test_bad_config_raises(options, match):
    with pytest.raises(InputError, match=match):
        BacktestConfig(**options)


@settings(max_examples=30, deadline=None)
@given(
    scale=st.floats(0.01, 100.0),
    seed=st.integers(0, 2**16),
    rule=st.sampled_from(["none", "monthly", "quarterly"]),
    fee_rate=st.sampled_from([0.0, 0.002]),
)
def test_value_scales_with_initial_and_not_with_price_units(scale, seed, rule, fee_rate):
    """Metamorphic: other price units leave equity unchanged; k x initial gives k x equity."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2023-01-02", periods=90)
    prices = pd.DataFrame(
        50 * np.cumprod(1 + rng.normal(0, 0.01, (90, 3)), axis=0), index=dates, columns=list("ABC")
    )
    weights = {"A": 0.5, "B": 0.3, "C": 0.2}
    config = BacktestConfig(rule, fee_rate=fee_rate, initial=10_000)
    base = run_backtest(prices, weights, config)
    rescaled = run_backtest(prices * scale, weights, config)
    np.testing.assert_allclose(rescaled.equity, base.equity, rtol=1e-9)
    bigger = run_backtest(prices, weights, BacktestConfig(rule, fee_rate=fee_rate, initial=30_000))
    np.testing.assert_allclose(bigger.equity, 3 * base.equity, rtol=1e-9)
    # Without fees, value is conserved through every rebalance: fees explain all the gap.
    free = run_backtest(prices, weights, BacktestConfig(rule, initial=10_000))
    gap = free.equity.iloc[-1] - base.equity.iloc[-1]
    assert gap >= -1e-9
    assert (gap > 0) == (fee_rate > 0)
