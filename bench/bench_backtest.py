"""PORTFOLIO_BACKTEST through the UDF against bt 1.4.1, side by side: 20 assets x 8,313 days.

What is timed on our side is what Excel pays: ``udfs.PORTFOLIO_BACKTEST`` called
with the range as xlwings hands it over (a list of rows: ``datetime`` dates,
``float`` prices, ``None`` for a blank cell; a weights range of percents; a
settings range), so reading the cells is timed with the simulation. bt is
given the DataFrame it needs (no cell reading on its side), which favours bt.

Data: the real S&P 500 index closes 1990-2022 (tests/data/sp500_index_1990_2022.csv,
8,313 rows). Twenty synthetic assets are derived from its daily returns,
deterministically: asset j's return = beta_j * index return + seeded Gaussian
noise (numpy seed 6), so they are correlated like real equity ETFs but are
not real ETFs. Asset A19 lists a year late (blank cells, as ETF_HISTORY gives
them), so the mixed-calendar path is timed too.

Goal: our time <= 0.05 x bt's, with statistics equal to bt/ffn's (1e-9
relative on the daily values, 1e-9 absolute on the statistics).

Run:  python bench/bench_backtest.py      (prints both times, the parts and the ratio)
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

import bt
import ffn
import numpy as np
import pandas as pd

from etf_rebalancer import udfs
from etf_rebalancer.backtest.core import BacktestConfig, run_backtest
from etf_rebalancer.cells import read_price_table

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "sp500_index_1990_2022.csv"
ASSETS = 20
LATE = 252  # trading days A19 is blank before its first price
GOAL = 0.05  # our time must be at most 5% of bt's
REPEATS = 7


def synthetic_prices() -> pd.DataFrame:
    index = pd.read_csv(DATA, index_col=0, parse_dates=True).iloc[:, 0]
    market = index.pct_change().fillna(0.0).to_numpy()
    rng = np.random.default_rng(6)
    betas = np.linspace(0.6, 1.4, ASSETS)
    noise = rng.normal(0.0, 0.006, size=(len(market), ASSETS))
    noise[0] = 0.0
    returns = market[:, None] * betas + noise
    prices = 50.0 * np.cumprod(1.0 + returns, axis=0)
    frame = pd.DataFrame(prices, index=index.index, columns=[f"A{j:02d}" for j in range(ASSETS)])
    frame.iloc[:LATE, -1] = np.nan
    return frame


def excel_range(prices: pd.DataFrame) -> list[list[Any]]:
    """The prices as xlwings hands a UDF a range: rows of datetime, float and None."""
    rows: list[list[Any]] = [["Date", *prices.columns]]
    for date, values in zip(prices.index, prices.to_numpy().tolist(), strict=True):
        rows.append([date.to_pydatetime(), *(None if v != v else v for v in values)])
    return rows


def best(function, repeats: int = REPEATS) -> float:
    function()  # warm-up: imports, caches
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return min(timings)


def bench(prices: pd.DataFrame, whole: bool, fee_rate: float) -> bool:
    """One side-by-side run; True when the numbers agree and the speed goal is met."""
    tickers = list(prices.columns)
    weights = {t: 1.0 / ASSETS for t in tickers}
    label = "whole shares" if whole else "fractional shares"
    print(f"-- monthly, fee {fee_rate:.1%}, {label}")

    # bt buys when every asset has a price, as we do (it cannot buy a blank price).
    start_date = prices.dropna().index[0]
    bt_prices = prices.loc[start_date:].ffill()
    start = time.perf_counter()
    strategy = bt.Strategy(
        "mix", [bt.algos.RunMonthly(), bt.algos.WeighSpecified(**weights), bt.algos.Rebalance()]
    )
    test = bt.Backtest(
        strategy,
        bt_prices,
        commissions=lambda q, p: fee_rate * abs(q) * p,
        integer_positions=whole,
        progress_bar=False,
    )
    bt.run(test)
    bt_time = time.perf_counter() - start

    cells = excel_range(prices)
    weight_cells = [["Ticker", "Weight"], *([t, 100.0 / ASSETS] for t in tickers)]
    settings = [
        ["Setting", "Value"],
        ["rebalance", "monthly"],
        ["fee_rate", f"{fee_rate:.1%}"],
        ["whole_shares", whole],
    ]
    rows: list[list[Any]] = []

    def through_udf() -> None:
        rows[:] = udfs.PORTFOLIO_BACKTEST(cells, weight_cells, settings)

    udf_time = best(through_udf)
    read_time = best(lambda: read_price_table(cells))
    config = BacktestConfig(rebalance="monthly", fee_rate=fee_rate, whole_shares=whole)
    table = read_price_table(cells)
    core_time = best(lambda: run_backtest(table, weights, config))
    ours = dict((r[0], r[1]) for r in rows[1:])
    if "Total Return" not in ours:
        print(f"  FAIL: the UDF answered {rows}")
        return False

    equity = udfs.PORTFOLIO_EQUITY(cells, weight_cells, settings)
    values = test.strategy.values.iloc[1:].to_numpy()
    ours_values = np.array([r[1] for r in equity[1:]], dtype=float)
    same_dates = [r[0] for r in equity[1:]] == [
        d.to_pydatetime() for d in test.strategy.values.index[1:]
    ]
    worst_value = float(np.max(np.abs(ours_values / values - 1.0)))
    perf = ffn.calc_stats(test.strategy.prices.iloc[1:])
    expected = {
        "Total Return": perf.total_return,
        "CAGR": perf.cagr,
        "Volatility": perf.daily_vol,
        "Sharpe": perf.daily_sharpe,
        "Max Drawdown": perf.max_drawdown,
    }
    worst_stat = max(abs(float(ours[k]) - float(v)) for k, v in expected.items())
    for name, value in expected.items():
        print(f"  {name:<13} ours {float(ours[name]): .10f}   bt/ffn {float(value): .10f}")
    print(
        f"  start {ours['Start']:%Y-%m-%d} (bt {bt_prices.index[0]:%Y-%m-%d}), "
        f"rebalances: {ours['Rebalances']}, fees: {ours['Fees']:.2f} "
        f"(bt {test.strategy.fees.sum():.2f})"
    )
    print(
        f"  max relative difference of daily values: {worst_value:.2e}; "
        f"of statistics (absolute): {worst_stat:.2e}; same dates: {same_dates}"
    )
    ratio = udf_time / bt_time
    print(
        f"  bt: {bt_time * 1000:.1f} ms   PORTFOLIO_BACKTEST: {udf_time * 1000:.1f} ms "
        f"(best of {REPEATS}; reading the range {read_time * 1000:.1f} ms, "
        f"simulation {core_time * 1000:.1f} ms)"
    )
    print(f"  ratio ours/bt: {ratio:.4f} (goal <= {GOAL})")
    ok = (
        worst_value < 1e-9
        and worst_stat < 1e-9
        and same_dates
        and ours["Start"] == bt_prices.index[0].to_pydatetime()
        and ratio <= GOAL
    )
    print("  PASS" if ok else "  FAIL")
    return ok


def main() -> int:
    prices = synthetic_prices()
    print(
        f"data: {prices.shape[1]} synthetic assets x {prices.shape[0]} days "
        f"({prices.index[0].date()} to {prices.index[-1].date()}) from real S&P 500 returns; "
        f"{prices.columns[-1]} blank for its first {LATE} days"
    )
    print(f"run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC (times depend on the machine's load)")
    results = [bench(prices, whole, 0.001) for whole in (False, True)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
