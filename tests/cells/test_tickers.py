"""Tickers as typed: case, KRX codes typed as numbers, the cash row."""

from __future__ import annotations

import pytest

from etf_rebalancer.cells import (
    normalise_ticker,
)
from etf_rebalancer.errors import InputError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (69500.0, "069500"),
        (5930, "005930"),
        (" qqq ", "QQQ"),
        ("0030r0", "0030R0"),
        ("현금", "CASH"),
    ],
)
def test_tickers_are_normalised(value, expected):
    assert normalise_ticker(value) == expected


@pytest.mark.parametrize("value", [True, 1.5, -3.0, float("nan"), 12345678.0])
def test_non_text_tickers_are_rejected(value):
    with pytest.raises(InputError, match="Ticker must be text"):
        normalise_ticker(value, where=" (row 3)")
