"""Fuzz every UDF with Excel-shaped values: nothing escapes, every answer is a cell or a grid.

CI runs a small number of examples; a fuzz run uses the ``fuzz`` Hypothesis
profile (``HYPOTHESIS_PROFILE=fuzz``: 10,000 examples per function). The
profiles are registered and chosen in ``tests/conftest.py``.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etf_rebalancer import udfs
from tests.excel_values import (
    any_argument,
    cells,
    holdings_ranges,
    ranges,
    settings_ranges,
    targets_ranges,
)

SCALAR_TYPES = (str, float, int, bool, dt.datetime, type(None))


def assert_cell_or_grid(result: object) -> None:
    """What xlwings can write back: one scalar, or a rectangular list of rows of scalars."""
    if isinstance(result, list):
        assert result, "an empty list would leave the cell blank"
        assert all(isinstance(row, list) for row in result)
        widths = {len(row) for row in result}
        assert len(widths) == 1, f"ragged result cannot spill: widths {widths}"
        for row in result:
            for value in row:
                assert isinstance(value, SCALAR_TYPES), value
                if isinstance(value, float):
                    assert math.isfinite(value), f"non-finite number in output: {result}"
    else:
        assert isinstance(result, SCALAR_TYPES), result
        if isinstance(result, float):
            assert math.isfinite(result)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("ETF_REBAL_OFFLINE", "1")


@given(ticker=cells, field=st.one_of(st.none(), cells))
def test_etf_price_never_raises(ticker, field):
    assert_cell_or_grid(udfs.ETF_PRICE(ticker, field))


@given(a=cells, b=cells)
def test_etf_fx_never_raises(a, b):
    assert_cell_or_grid(udfs.ETF_FX(a, b))


@given(tickers=any_argument, start=cells, end=cells, field=cells)
def test_etf_history_never_raises(tickers, start, end, field):
    assert_cell_or_grid(udfs.ETF_HISTORY(tickers, start, end, field))


REBAL = [udfs.REBAL_ORDERS, udfs.REBAL_SUMMARY, udfs.REBAL_DRIFT]


@pytest.mark.parametrize("function", REBAL, ids=lambda f: f.__name__)
@given(
    holdings=st.one_of(holdings_ranges(), ranges(), any_argument),
    targets=st.one_of(targets_ranges(), ranges(), any_argument),
    cash=st.one_of(cells, ranges(max_cols=2)),
    config=st.one_of(st.none(), settings_ranges()),
    groups=st.one_of(st.none(), ranges(max_cols=3)),
)
def test_rebalance_functions_never_raise(function, holdings, targets, cash, config, groups):
    assert_cell_or_grid(function(holdings, targets, cash, config, groups))


@pytest.mark.parametrize(
    "function", [udfs.PORTFOLIO_BACKTEST, udfs.PORTFOLIO_EQUITY], ids=lambda f: f.__name__
)
@given(
    prices=ranges(),
    weights=st.one_of(ranges(), any_argument),
    config=st.one_of(st.none(), settings_ranges()),
)
def test_backtest_functions_never_raise(function, prices, weights, config):
    assert_cell_or_grid(function(prices, weights, config))


@given(prices=st.one_of(ranges(), any_argument))
def test_correl_never_raises(prices):
    assert_cell_or_grid(udfs.PORTFOLIO_CORREL(prices))
