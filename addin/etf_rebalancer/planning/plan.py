"""Plan these ranges, with this market source, on this date: the one path every entry point takes.

The UDFs, ``etf-rebal plan``, the Refresh button's values-only path and the
template builder's sample plans all call :func:`plan_ranges`; nothing else
reads ranges into a plan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from etf_rebalancer.engine.household import HouseholdPlan, plan_household
from etf_rebalancer.engine.plan import Plan, plan_rebalance
from etf_rebalancer.planning.inputs import household_requested, read_household, read_request
from etf_rebalancer.planning.market import MarketSource

__all__ = ["plan_ranges"]


def plan_ranges(
    holdings: Any,
    targets: Any,
    cash: Any = None,
    settings: Any = None,
    groups: Any = None,
    accounts: Any = None,
    *,
    market: MarketSource,
    as_of: dt.date,
) -> Plan | HouseholdPlan:
    """Read the contract's ranges, fetch only the quotes they lack, and plan.

    Parameters
    ----------
    holdings, targets, cash, settings, groups
        The raw ranges as Excel hands them to ``REBAL_ORDERS`` (lists of rows).
        A cash range of one cell is read as that number.
    market
        Where missing prices and FX rates come from (:class:`LiveQuotes`,
        :class:`SheetQuotes`); asked only when something is missing.
    accounts
        Optional ``Account``, ``Type`` [, ``Max Risky``] range. With it, or with a
        cash range that names accounts, the plan is a household plan
        (:class:`~etf_rebalancer.engine.household.HouseholdPlan`: orders per
        account); otherwise exactly the single-portfolio plan of before.
    as_of
        Date of the plan: picks the rates of dated tables (Korea's transaction
        tax, the account rules). Required, so that no entry point plans with
        another date by default.

    Returns
    -------
    Plan or HouseholdPlan
        The engine's plan (orders, summary and drift rows).

    Raises
    ------
    InputError
        Naming the range, row, ticker or setting of the first problem found.
    """
    cash = _one_cell(cash)
    if household_requested(cash, accounts):
        household = read_household(holdings, targets, cash, settings, groups, accounts, as_of)
        wanted = household.quote_needs()
        return plan_household(household, market.market_for(wanted) if wanted else None)
    request = read_request(holdings, targets, cash, settings, groups, as_of=as_of)
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
