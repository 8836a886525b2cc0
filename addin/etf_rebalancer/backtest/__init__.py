"""Pure, vectorised portfolio backtests and statistics (bt/ffn conventions)."""

from etf_rebalancer.backtest.core import BacktestConfig, BacktestResult, compare, run_backtest

__all__ = ["BacktestConfig", "BacktestResult", "compare", "run_backtest"]
