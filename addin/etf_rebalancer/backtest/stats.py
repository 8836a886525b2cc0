"""Performance statistics of a value series, computed as ffn computes them.

Daily simple returns ``P_t / P_{t-1} - 1``; ``Volatility`` = sample standard
deviation × √252 (ffn ``daily_vol``); ``Sharpe`` = mean / sample std × √252
with a zero risk-free rate (ffn ``daily_sharpe``); ``CAGR`` uses years of
365.25 days between the first and last date (ffn ``year_frac``);
``Max Drawdown`` = min(P / running max P) − 1, a negative number.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = [
    "BENCHMARK_METRICS",
    "METRICS",
    "TRADING_DAYS",
    "average_correlation",
    "cagr",
    "max_drawdown",
    "performance",
    "sharpe",
    "summary",
    "volatility",
    "year_fraction",
]

TRADING_DAYS = 252
_SECONDS_PER_YEAR = 365.25 * 24 * 3600

# Output rows, in the contract's order; the first six are fixed by CONTRACT.md.
METRICS = (
    "Total Return",
    "CAGR",
    "Volatility",
    "Sharpe",
    "Max Drawdown",
    "Rebalances",
    "Avg Correlation",
    "Turnover (per year)",
    "Fees",
    "Final Value",
    "Start",
    "End",
)
BENCHMARK_METRICS = (
    "Benchmark Total Return",
    "Benchmark CAGR",
    "Benchmark Volatility",
    "Benchmark Sharpe",
    "Benchmark Max Drawdown",
    "Correlation to Benchmark",
)


def year_fraction(start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Years between two dates, 365.25 days each (ffn's ``year_frac``)."""
    return (end - start).total_seconds() / _SECONDS_PER_YEAR


def _returns(values: np.ndarray) -> np.ndarray:
    return values[1:] / values[:-1] - 1.0


def volatility(values: np.ndarray) -> float:
    """Annualised sample standard deviation of daily simple returns."""
    r = _returns(values)
    return float(np.std(r, ddof=1) * math.sqrt(TRADING_DAYS)) if len(r) > 1 else math.nan


def sharpe(values: np.ndarray) -> float:
    """Annualised mean / sample std of daily simple returns (risk-free 0); NaN when flat."""
    r = _returns(values)
    if len(r) < 2:
        return math.nan
    std = float(np.std(r, ddof=1))
    return float(np.mean(r)) / std * math.sqrt(TRADING_DAYS) if std > 0 else math.nan


def cagr(values: np.ndarray, dates: pd.DatetimeIndex) -> float:
    """Compound annual growth rate from the first to the last date."""
    years = year_fraction(dates[0], dates[-1])
    return float((values[-1] / values[0]) ** (1.0 / years) - 1.0) if years > 0 else math.nan


def max_drawdown(values: np.ndarray) -> float:
    """Worst fall from a running peak, ``min(P / cummax P) - 1`` (zero or negative)."""
    return float((values / np.maximum.accumulate(values)).min() - 1.0)


def performance(values: np.ndarray, dates: pd.DatetimeIndex) -> dict[str, float]:
    """Total Return, CAGR, Volatility, Sharpe and Max Drawdown of one value series."""
    return {
        "Total Return": float(values[-1] / values[0] - 1.0),
        "CAGR": cagr(values, dates),
        "Volatility": volatility(values),
        "Sharpe": sharpe(values),
        "Max Drawdown": max_drawdown(values),
    }


def average_correlation(prices: np.ndarray) -> float:
    """Mean of the pairwise correlations of the columns' daily returns (NaN for one column)."""
    k = prices.shape[1]
    if k < 2 or len(prices) < 3:
        return math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.corrcoef(_returns(prices), rowvar=False)
    upper = corr[np.triu_indices(k, 1)]
    upper = upper[np.isfinite(upper)]
    return float(upper.mean()) if upper.size else math.nan


def summary(
    values: np.ndarray,
    dates: pd.DatetimeIndex,
    *,
    rebalances: int,
    avg_correlation: float,
    turnover: float,
    fees: float,
    benchmark: np.ndarray | None = None,
) -> dict[str, float | int | pd.Timestamp]:
    """Every metric of a backtest, keyed and ordered as :data:`METRICS` (+ benchmark rows)."""
    out: dict[str, float | int | pd.Timestamp] = dict(performance(values, dates))
    out.update(
        {
            "Rebalances": rebalances,
            "Avg Correlation": avg_correlation,
            "Turnover (per year)": turnover,
            "Fees": fees,
            "Final Value": float(values[-1]),
            "Start": dates[0],
            "End": dates[-1],
        }
    )
    if benchmark is not None:
        for name, value in performance(benchmark, dates).items():
            out[f"Benchmark {name}"] = value
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.corrcoef(_returns(values), _returns(benchmark))[0, 1]
        out["Correlation to Benchmark"] = float(corr)
    return out
