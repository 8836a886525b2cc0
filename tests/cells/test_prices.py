"""read_price_table: whole columns at once, answering exactly as reading row by row would."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etf_rebalancer.cells import (
    as_rows,
    is_blank,
    normalise_ticker,
    parse_date,
    parse_number,
    read_price_table,
)
from etf_rebalancer.cells.labels import ko, where
from etf_rebalancer.errors import InputError


def row_by_row(values: Any, name: str = "prices") -> pd.DataFrame:
    """The reader as it was before columns were read at once: one cell at a time.

    Only the body is re-implemented (header checks are shared code); it is the
    reference the vectorised reader must match, value for value and message
    for message.
    """
    rows = as_rows(values)
    header = rows[0]
    date_col = next(i for i, c in enumerate(header) if str(c).casefold() == "date")
    columns = {
        normalise_ticker(c): i for i, c in enumerate(header) if i != date_col and not is_blank(c)
    }
    dates, data, seen = [], [], {}
    for index, row in enumerate(rows[1:], start=2):
        padded = list(row) + [None] * (len(header) - len(row))
        if all(is_blank(v) for v in padded):
            continue
        date = parse_date(padded[date_col], what="Date", where=where(name, index))
        if date in seen:
            raise InputError(
                f"{name} has the date {date.date()} twice (rows {seen[date]} and {index})",
                f"{ko(name)}에 {date.date()} 날짜가 두 번 있습니다 ({seen[date]}행, {index}행)",
            )
        seen[date] = index
        prices = []
        for ticker, col in columns.items():
            place = where(name, index, ticker)
            price = parse_number(padded[col], what="Price", where=place)
            if price is not None and price <= 0:
                raise InputError(
                    f"Price must be positive, got {padded[col]!r}{place}",
                    f"가격은 0보다 커야 합니다: {padded[col]!r}{ko(place)}",
                )
            prices.append(math.nan if price is None else price)
        dates.append(date)
        data.append(prices)
    index = pd.DatetimeIndex(dates, name="Date").as_unit("us")
    return pd.DataFrame(data, index=index, columns=list(columns), dtype=float).sort_index()


day = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2020, 1, 20))
date_cells = st.one_of(
    day.map(lambda d: dt.datetime(d.year, d.month, d.day)),
    day.map(lambda d: dt.datetime(d.year, d.month, d.day, 16, 30)),
    day.map(lambda d: d.isoformat()),
    day.map(lambda d: float((d - dt.date(1899, 12, 30)).days)),
    st.sampled_from([None, "-1", "soon", True, 0.0, "2020-02-30"]),
)
price_cells = st.one_of(
    st.floats(min_value=0.5, max_value=1000.0),
    st.none(),
    st.floats(min_value=0.5, max_value=1000.0),
    st.sampled_from([0.0, -1.0, float("inf"), float("nan"), "12.5", "1,5", "#N/A", "", True]),
)


@st.composite
def price_ranges(draw: st.DrawFn) -> list[list[Any]]:
    names = st.sampled_from(["QQQ", "SPY", 69500.0, "XLK"])
    tickers = draw(st.lists(names, unique=True, min_size=1, max_size=3))
    notes = draw(st.booleans())  # a column without a header (notes beside the prices)
    header = ["Date", *tickers, *([None] if notes else [])]
    clean = draw(st.booleans())  # half the ranges are well formed, so most reach the data
    rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        if clean:
            date = draw(date_cells.filter(lambda v: isinstance(v, dt.datetime)))
            row = [date, *(draw(st.floats(min_value=0.5, max_value=1000.0)) for _ in tickers)]
        else:
            row = [draw(date_cells), *(draw(price_cells) for _ in tickers)]
        if notes:
            row.append(draw(st.sampled_from([None, None, "note", ""])))
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            row = [None] * len(row)  # a blank row
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            row = row[: draw(st.integers(min_value=0, max_value=len(row)))]  # a ragged row
        rows.append(row)
    return [header, *rows]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(price_ranges())
def test_columns_at_once_answer_as_row_by_row(values):
    try:
        expected = row_by_row(values)
    except InputError as error:
        with pytest.raises(InputError) as info:
            read_price_table(values)
        assert str(info.value) == str(error)
        assert info.value.localized("ko") == error.localized("ko")
    else:
        got = read_price_table(values)
        pd.testing.assert_frame_equal(got, expected)


def test_a_price_history_as_excel_hands_it_over():
    values = [
        ["Date", "SPY", 69500.0, None],
        [dt.datetime(2024, 1, 2), 470.0, 35000.0, None],
        [45294.0, 468.0, None, "note"],
        [None, None, None, None],
        ["2024-01-04", "467", 34800.0, None],
    ]
    table = read_price_table(values)
    assert list(table.columns) == ["SPY", "069500"]
    assert list(table.index) == list(pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"]))
    assert table["SPY"].tolist() == [470.0, 468.0, 467.0]
    assert np.isnan(table.loc["2024-01-03", "069500"])


JAN2, JAN3 = dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 3)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["-1", 1.0]], r"Date must be a date, got '-1' \(prices row 2\)"),
        ([[JAN2, 1.0], ["2024-01-02", 2.0]], r"date 2024-01-02 twice \(rows 2 and 3\)"),
        ([[JAN2, "1.234,5"]], r"not a thousands separator: '1.234,5' \(prices row 2, QQQ\)"),
        ([[JAN2, 2.0], [JAN3, -2.0]], r"must be positive, got -2.0 \(prices row 3, QQQ\)"),
        # The first problem met reading down the range wins, whatever its kind.
        ([[JAN2, 0.0], ["soon", 1.0]], r"must be positive, got 0.0 \(prices row 2, QQQ\)"),
    ],
)
def test_messages_name_the_row_and_the_ticker(rows, message):
    with pytest.raises(InputError, match=message):
        read_price_table([["Date", "QQQ"], *rows])


def test_one_error_cell_passes_its_words_on():
    with pytest.raises(InputError, match="prices holds an error, not prices: #N/A"):
        read_price_table([["#N/A"]])
