"""Our backtest against bt 1.4.1 and ffn on real prices: same values and statistics to 1e-6."""

from __future__ import annotations

import bt
import ffn
import numpy as np
import pandas as pd
import pytest

from etf_rebalancer.backtest.core import BacktestConfig, run_backtest

WEIGHTS = {"MTUM": 0.3, "QUAL": 0.2, "SIZE": 0.1, "USMV": 0.25, "VLUE": 0.15}
CALENDAR = {
    "monthly": bt.algos.RunMonthly,
    "quarterly": bt.algos.RunQuarterly,
    "annual": bt.algos.RunYearly,
    "none": bt.algos.RunOnce,
}


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    from tests.conftest import DATA

    return pd.read_csv(DATA / "us_factor_etfs_2014_2022.csv", index_col=0, parse_dates=True)


class BandTrigger(bt.Algo):
    """True when any weight is outside its band (relative or absolute), as our core defines it.

    Written here, not in the package, so bt and we are compared on the same rule.
    """

    def __init__(self, targets: dict[str, float], band: float, band_type: str) -> None:
        super().__init__()
        self.targets = targets
        self.limits = {t: band * w if band_type == "relative" else band for t, w in targets.items()}
        self.fired: list[pd.Timestamp] = []

    def __call__(self, target) -> bool:
        for name, goal in self.targets.items():
            child = target.children.get(name)
            weight = child.weight if child is not None else 0.0
            if abs(weight - goal) > self.limits[name]:
                self.fired.append(target.now)
                return True
        return False


def run_bt(prices, rule, fee_rate, whole, band=None, band_type="relative"):
    trigger = BandTrigger(WEIGHTS, band, band_type) if band else CALENDAR[rule]()
    strategy = bt.Strategy(
        "mix", [trigger, bt.algos.WeighSpecified(**WEIGHTS), bt.algos.Rebalance()]
    )
    test = bt.Backtest(
        strategy,
        prices,
        commissions=lambda q, p: fee_rate * abs(q) * p,
        integer_positions=whole,
        progress_bar=False,
    )
    bt.run(test)
    return test, test.strategy.stack.algos[0]  # Backtest runs a deep copy of the strategy


def ffn_stats(series: pd.Series) -> dict[str, float]:
    perf = ffn.calc_stats(series)
    return {
        "Total Return": perf.total_return,
        "CAGR": perf.cagr,
        "Volatility": perf.daily_vol,
        "Sharpe": perf.daily_sharpe,
        "Max Drawdown": perf.max_drawdown,
    }


CASES = [
    *[(rule, None) for rule in CALENDAR],
    ("none", 0.20),  # 20% relative band, checked at every close
]


@pytest.mark.parametrize("whole", [False, True], ids=["fractional", "whole"])
@pytest.mark.parametrize("fee_rate", [0.0, 0.001], ids=["nofee", "fee10bp"])
@pytest.mark.parametrize(("rule", "band"), CASES, ids=[f"{r}-{b}" for r, b in CASES])
def test_matches_bt(prices, rule, band, fee_rate, whole):
    test, trigger = run_bt(prices, rule, fee_rate, whole, band=band)
    config = BacktestConfig(rebalance=rule, band=band, fee_rate=fee_rate, whole_shares=whole)
    ours = run_backtest(prices, WEIGHTS, config)

    # bt prepends a row (initial capital, the day before the data); ours starts at the first close.
    values = test.strategy.values.iloc[1:]
    assert values.index.equals(ours.equity.index)
    np.testing.assert_allclose(ours.equity.to_numpy(), values.to_numpy(), rtol=1e-9)

    expected = ffn_stats(test.strategy.prices.iloc[1:])
    for name, value in expected.items():
        assert ours.stats[name] == pytest.approx(value, abs=1e-6), name

    assert ours.stats["Fees"] == pytest.approx(test.strategy.fees.sum(), rel=1e-9, abs=1e-6)
    positions = test.positions.iloc[1:]
    np.testing.assert_allclose(
        ours.shares.to_numpy(),
        positions.loc[ours.rebalance_dates, list(WEIGHTS)].to_numpy(),
        rtol=1e-9,
    )
    if band:
        assert list(ours.rebalance_dates) == trigger.fired
        assert ours.stats["Rebalances"] == len(trigger.fired) - 1 > 0
    else:
        # every calendar trade day changes positions in bt too
        traded = test.positions.diff().abs().sum(axis=1) > 0
        assert set(ours.rebalance_dates) <= set(positions.index)
        assert ours.stats["Rebalances"] == len(ours.rebalance_dates) - 1
        assert traded.loc[ours.rebalance_dates].all()


@pytest.mark.parametrize("band_type", ["relative", "absolute"])
def test_band_types_match_bt(prices, band_type):
    band = 0.10 if band_type == "relative" else 0.03
    test, trigger = run_bt(prices, "none", 0.0005, False, band=band, band_type=band_type)
    ours = run_backtest(
        prices,
        WEIGHTS,
        BacktestConfig(rebalance="none", band=band, band_type=band_type, fee_rate=0.0005),
    )
    assert list(ours.rebalance_dates) == trigger.fired
    np.testing.assert_allclose(
        ours.equity.to_numpy(), test.strategy.values.iloc[1:].to_numpy(), rtol=1e-9
    )


def test_benchmark_rows_match_ffn(prices):
    ours = run_backtest(
        prices, {"MTUM": 0.5, "QUAL": 0.5}, BacktestConfig(rebalance="monthly", benchmark="USMV")
    )
    expected = ffn_stats(prices["USMV"])
    for name, value in expected.items():
        assert ours.stats[f"Benchmark {name}"] == pytest.approx(value, abs=1e-6), name
    returns = pd.concat([ours.equity, prices["USMV"]], axis=1).pct_change().dropna()
    assert ours.stats["Correlation to Benchmark"] == pytest.approx(returns.corr().iloc[0, 1])
    assert ours.benchmark is not None
    assert ours.benchmark.iloc[0] == ours.equity.iloc[0]
