"""From ranges to a plan: read the contract's ranges, ask a market source for what they lack, plan.

This layer sits above the engine, backtest and quotes and below the workbook,
Excel and CLI edges, which all plan through :func:`plan_ranges`.
"""

from etf_rebalancer.planning.market import LiveQuotes, MarketSource, SheetQuotes
from etf_rebalancer.planning.plan import plan_ranges
from etf_rebalancer.planning.rows import plan_language, plan_rows, plan_tables

__all__ = [
    "LiveQuotes",
    "MarketSource",
    "SheetQuotes",
    "plan_language",
    "plan_ranges",
    "plan_rows",
    "plan_tables",
]
