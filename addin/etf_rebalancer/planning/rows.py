"""A plan's output tables in the workbook's language: the one place plans meet labels.

The engine writes canonical English rows (the contract for English workbooks
and the CLI's csv/json); every edge that shows a plan (the UDFs, the CLI, the
template builder) asks here for its tables in ``"en"`` or ``"ko"``, so a
Korean workbook gets the same numbers under Korean headers, actions
(``매수``/``매도``), statuses (``적정``/``초과``/``미달``) and summary values.
"""

from __future__ import annotations

from typing import Any

from etf_rebalancer.cells import detect_language
from etf_rebalancer.cells.labels import localize_rows
from etf_rebalancer.engine.household import HouseholdPlan
from etf_rebalancer.engine.plan import Plan

#: Either plan answers the same three tables.
AnyPlan = Plan | HouseholdPlan

__all__ = ["PLAN_TABLES", "plan_language", "plan_rows", "plan_tables"]

#: The tables of a plan, as REBAL_ORDERS, REBAL_SUMMARY and REBAL_DRIFT return them.
PLAN_TABLES = ("orders", "summary", "drift")


def plan_language(
    holdings: Any,
    targets: Any,
    cash: Any = None,
    settings: Any = None,
    groups: Any = None,
    accounts: Any = None,
) -> str:
    """The language a REBAL_* call answers in (see ``detect_language``): ``"en"`` or ``"ko"``.

    Korean when a header of the ranges (or a settings key) is Korean, unless the
    ``language`` setting says otherwise; data cells (names, accounts) never count.
    """
    return detect_language(holdings, targets, cash, groups, accounts, settings=settings)


def plan_rows(plan: AnyPlan, table: str, lang: str = "en") -> list[list[Any]]:
    """One output table of ``plan`` (``orders``, ``summary`` or ``drift``) in ``lang``."""
    if table == "orders":
        return localize_rows("orders", plan.order_rows(), lang)
    if table == "summary":
        return localize_rows("summary", plan.summary_rows(lang), lang)
    if table == "drift":
        return localize_rows("drift", plan.drift_rows(), lang)
    raise ValueError(f"unknown plan table {table!r}; expected one of {PLAN_TABLES}")


def plan_tables(plan: AnyPlan, lang: str = "en") -> dict[str, list[list[Any]]]:
    """All three tables of ``plan`` in ``lang``, keyed as :data:`PLAN_TABLES`."""
    return {table: plan_rows(plan, table, lang) for table in PLAN_TABLES}
