"""Plan these ranges, with this market source, on this date: the one path every entry point takes.

The UDFs, ``etf-rebal plan``, the Refresh button's values-only path and the
template builder's sample plans all call :func:`plan_ranges`; nothing else
reads ranges into a plan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from etf_rebalancer.engine.plan import Plan, plan_rebalance
from etf_rebalancer.planning.inputs import read_request
from etf_rebalancer.planning.market import MarketSource

__all__ = ["plan_ranges"]


def plan_ranges(
    holdings: Any,
    targets: Any,
    cash: Any = None,
    settings: Any = None,
    groups: Any = None,
    *,
    market: MarketSource,
    as_of: dt.date,
) -> Plan:
    """Read the contract's ranges, fetch only the quotes they lack, and plan.

    Parameters
    ----------
    holdings, targets, cash, settings, groups
        The raw ranges as Excel hands them to ``REBAL_ORDERS`` (lists of rows).
        A cash range of one cell is read as that number.
    market
        Where missing prices and FX rates come from (:class:`LiveQuotes`,
        :class:`SheetQuotes`); asked only when something is missing.
    as_of
        Date of the plan: picks the rates of dated tables (Korea's transaction
        tax). Required, so that no entry point plans with another date by default.

    Returns
    -------
    Plan
        The engine's plan (orders, summary and drift rows).

    Raises
    ------
    InputError
        Naming the range, row, ticker or setting of the first problem found.
    """
    request = read_request(holdings, targets, _one_cell(cash), settings, groups, as_of=as_of)
    needs = request.quote_needs()
    return plan_rebalance(request, market.market_for(needs) if needs else None)


def _one_cell(cash: Any) -> Any:
    # A Cash sheet holding one number (with or without a label) is the cash amount.
    if (
        isinstance(cash, list)
        and len(cash) == 1
        and isinstance(cash[0], list)
        and len(cash[0]) == 1
    ):
        return cash[0][0]
    return cash
