"""The four entry points (UDFs, CLI, Refresh macro, template builder) give one plan.

They all go through ``planning.plan_ranges``; this checks that nothing between
the ranges and the plan differs: the reading, the cash range, the quotes asked
for and the plan's date. Quotes come from the workbook's own Quotes sheet for
all four, and "today" is pinned to the template's sample date.
"""

from __future__ import annotations

import copy
import datetime as dt
import types
from pathlib import Path

import pytest
import xlwings as xw

from etf_rebalancer import cli, udfs
from etf_rebalancer.excel import refresh as rf
from etf_rebalancer.planning import market as market_module
from etf_rebalancer.planning.market import SheetQuotes
from etf_rebalancer.workbook import portfolios, templates
from etf_rebalancer.workbook.reader import read_workbook
from tests.excel.test_refresh import payload, sheet

ROOT = Path(__file__).resolve().parents[2]
DAY = portfolios.SAMPLE_DATE.date()


class _PinnedDate(dt.date):
    @classmethod
    def today(cls) -> _PinnedDate:
        return cls(DAY.year, DAY.month, DAY.day)


def _pinned_datetime_module() -> types.SimpleNamespace:
    return types.SimpleNamespace(**{**vars(dt), "date": _PinnedDate})


class _NoFetch:
    """A quote source for the Refresh macro whose batch is a no-op (quotes are on the sheet)."""

    service = None

    def refresh(self, tickers, currencies, base_currency, progress):
        return None

    def quote(self, ticker):
        return None, None, None, "OK", "sheet"

    def fx(self, from_currency, to_currency):
        return None, None, "OK", "sheet"


@pytest.mark.parametrize("name", ["korean-investor", "tech-core"])
def test_udfs_cli_refresh_and_builder_plan_alike(name, monkeypatch, remote_engine):
    path = ROOT / "workbook_templates" / f"{name}_en.xlsx"
    ranges = read_workbook(path)
    sheet_quotes = SheetQuotes(ranges.quotes)
    # The live source answers from the same Quotes sheet the offline paths read.
    monkeypatch.setattr(
        market_module.LiveQuotes, "market_for", lambda self, n: sheet_quotes.market_for(n)
    )
    monkeypatch.setattr(udfs, "dt", _pinned_datetime_module())
    monkeypatch.setattr(cli, "dt", _pinned_datetime_module())

    from_udf = udfs.REBAL_ORDERS(*ranges.request_args())
    from_cli = cli.compute_plan(ranges, offline=True).order_rows()

    planned: list[tuple[list, dt.date]] = []

    def spy(sheets, source, as_of):
        orders, drift = rf.engine_plan(sheets, source, as_of)
        planned.append((orders, as_of))
        return orders, drift

    book = xw.Book(
        json=copy.deepcopy(
            payload(
                *(
                    sheet(ranges.sheets[key], value)
                    for key, value in (
                        ("holdings", ranges.holdings),
                        ("targets", ranges.targets),
                        ("cash", ranges.cash),
                        ("settings", ranges.settings),
                        ("groups", ranges.groups),
                        ("accounts", ranges.accounts),  # korean-investor: a household
                    )
                    if value is not None and key in ranges.sheets
                )
            )
        )
    )
    noon = dt.datetime.combine(DAY, dt.time(12, 0))
    assert rf.refresh(book, quotes=_NoFetch(), values_only=True, planner=spy, now=lambda: noon)
    (from_refresh, refresh_day), *_ = planned

    portfolio = next(
        p for p in portfolios.PORTFOLIOS if portfolios.template_filename(p, "en") == path.name
    )
    plan = templates.sample_plan(portfolio, "en")
    assert plan is not None
    from_builder = plan["orders"]

    assert refresh_day == DAY  # the macro dates its plan (it used to pass no date)
    assert len(from_udf) > 1, from_udf  # a plan with orders, not an error cell
    assert from_udf == from_cli == from_refresh == from_builder
