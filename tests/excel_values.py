"""Hypothesis strategies for what Excel hands a UDF: cells, ragged ranges, header rows.

Excel delivers ``None`` for empty cells, ``float`` for numbers, ``str``, ``bool``
and ``datetime``; a range arrives as a list of rows (``ndim=2``). The fuzz tests
throw these at every UDF and check that nothing escapes and plans keep their
invariants.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from etf_rebalancer.cells import ALIASES

TICKERS = ["QQQ", "XLK", "SOXX", "TQQQ", "069500", "360750", "0030R0", "VWCE.DE", "CASH", "현금"]

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, 5e-324, 100.0, 1.0]),
    st.integers(min_value=-(10**20), max_value=10**20).map(float),
)
texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "25%", "abc", "1,000", "₩1,000", "TRUE", "#N/A", "예", "아니오"]),
    st.sampled_from(TICKERS),
)
dates = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9999, 12, 31))
cells = st.one_of(st.none(), numbers, texts, st.booleans(), dates)

header_names = st.one_of(
    st.sampled_from([alias for aliases in ALIASES.values() for alias in aliases]),
    st.sampled_from(["Ticker", "Shares", "Price", "Currency", "Target", "Band", "Group", "Max"]),
    texts,
    st.none(),
)


@st.composite
def ranges(draw: st.DrawFn, max_rows: int = 8, max_cols: int = 6) -> list[list[object]]:
    """A ragged range whose first row looks like a header (names may repeat or be missing)."""
    width = draw(st.integers(min_value=1, max_value=max_cols))
    header = draw(st.lists(header_names, min_size=1, max_size=width))
    body = draw(
        st.lists(st.lists(cells, min_size=0, max_size=width + 1), min_size=0, max_size=max_rows)
    )
    return [header, *body]


any_argument = st.one_of(st.none(), cells, ranges())


@st.composite
def holdings_ranges(draw: st.DrawFn) -> list[list[object]]:
    """Mostly well-formed holdings with occasional bad cells."""
    tickers = draw(st.lists(st.sampled_from(TICKERS[:8]), min_size=1, max_size=6))
    shares = st.one_of(st.floats(min_value=0, max_value=1e5), cells)
    price = st.one_of(st.floats(min_value=0.01, max_value=1e6), cells)
    rows = [
        [t, draw(shares), draw(price), draw(st.sampled_from(["USD", "KRW", "EUR", None]))]
        for t in tickers
    ]
    return [["Ticker", "Shares", "Price", "Currency"], *rows]


@st.composite
def targets_ranges(draw: st.DrawFn) -> list[list[object]]:
    """Mostly well-formed targets with occasional bad cells."""
    tickers = draw(st.lists(st.sampled_from(TICKERS), min_size=1, max_size=6))
    weight = st.one_of(st.floats(min_value=0, max_value=100), cells)
    return [["Ticker", "Target", "Band"], *[[t, draw(weight), draw(cells)] for t in tickers]]


@st.composite
def settings_ranges(draw: st.DrawFn) -> list[list[object]]:
    """Key/value settings drawn from real keys, odd values and unknown keys."""
    keys = st.sampled_from(
        [
            "base_currency",
            "mode",
            "buy_only",
            "band_type",
            "band",
            "whole_shares",
            "min_trade",
            "fee_rate",
            "fee_min",
            "fx_spread",
            "FX USD",
            "FX KRW",
            "FX EUR",
            "rebalance",
            "initial",
            "benchmark",
            "bogus",
        ]
    )
    values = st.one_of(
        cells, st.sampled_from(["full", "band", "USD", "KRW", "relative", "absolute"])
    )
    return draw(st.lists(st.tuples(keys, values).map(list), max_size=6))
