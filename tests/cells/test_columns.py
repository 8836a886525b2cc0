"""Whole columns at once (number_column, date_column) against the one-cell parsers.

The column readers exist for speed only: for any column, every cell must get
the value the one-cell parser gives it, and every cell that parser refuses
must be refused with the very same English and Korean message.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etf_rebalancer.cells import (
    date_column,
    number_column,
    parse_date,
    parse_dates,
    parse_number,
    parse_numbers,
)
from etf_rebalancer.errors import InputError

plain_floats = st.floats(allow_nan=True, allow_infinity=True)
prices = st.floats(min_value=-10.0, max_value=1e6, allow_nan=False)
odd_numbers = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([np.float64(2.5), np.float32(1.5), np.int64(3), np.float32("nan")]),
    st.sampled_from([True, False, np.bool_(True), pd.NA, pd.NaT, complex(1, 1)]),
)
number_texts = st.one_of(
    st.sampled_from(
        ["370", " 1,234.5 ", "1.234,5", "0,1%", "12%", "$5", "₩1,000", "nan", "inf", "", "  "]
    ),
    st.sampled_from(["1e3", "-0", ".5", "5.", "1_000", "#N/A", "Error: offline", "abc"]),
    st.text(alphabet="0123456789,.-%$ e", max_size=8),
)
datetimes = st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31))
aware = st.datetimes(
    min_value=dt.datetime(1950, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=9))]),
)
serials = st.one_of(
    st.floats(min_value=-10, max_value=3_000_000, allow_nan=False),
    st.integers(min_value=-5, max_value=3_000_000),
    st.sampled_from([1.0, 60.0, 61.0, 45293.9999999999, 2_958_465.5, 2_958_466.0]),
)
date_texts = st.one_of(
    st.dates(min_value=dt.date(1, 1, 1)).map(lambda d: d.isoformat()),
    st.dates().map(lambda d: f"  {d.isoformat()} "),
    st.sampled_from(["2021-02-30", "-1", "today", "1/2", "2021-09", "9/20/2021", "20210920"]),
    st.sampled_from(["2021-09-20T10:00+09:00", "0000-01-01", "99999-01-01", "soon", ""]),
)
anything = st.one_of(
    st.none(),
    plain_floats,
    number_texts,
    odd_numbers,
    datetimes,
    st.dates(),
    date_texts,
    st.booleans(),
)


def mostly(main: st.SearchStrategy, other: st.SearchStrategy = anything) -> st.SearchStrategy:
    """Columns that are mostly one kind (the fast paths) with a few odd cells (the slow path)."""
    return st.one_of(
        st.lists(st.one_of(main, st.none()), max_size=30),
        st.lists(st.one_of(main, main, main, other), max_size=30),
    )


number_columns = st.one_of(
    mostly(plain_floats),
    mostly(prices),
    mostly(st.integers(min_value=-(10**6), max_value=10**6)),
    mostly(number_texts),
    st.lists(anything, max_size=30),
)
date_columns = st.one_of(
    mostly(datetimes),
    mostly(st.dates()),
    mostly(aware),
    mostly(serials),
    mostly(date_texts),
    st.lists(anything, max_size=30),
)


def where(i: int) -> str:
    return f" (prices row {i + 2}, QQQ)"


def same_error(got: InputError, expected: InputError) -> None:
    assert str(got) == str(expected)
    assert got.localized("ko") == expected.localized("ko")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(number_columns)
def test_number_column_reads_every_cell_as_parse_number_does(cells):
    numbers, errors = number_column(cells, what="Price", where=where)
    assert numbers.dtype == np.float64 and len(numbers) == len(cells)
    for i, cell in enumerate(cells):
        try:
            expected = parse_number(cell, what="Price", where=where(i))
        except InputError as error:
            assert i in errors, f"cell {cell!r} refused one at a time, accepted in a column"
            same_error(errors[i], error)
            assert math.isnan(numbers[i])
        else:
            assert i not in errors, f"cell {cell!r} accepted one at a time, refused in a column"
            if expected is None:
                assert math.isnan(numbers[i])
            else:
                assert numbers[i] == expected


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(date_columns)
def test_date_column_reads_every_cell_as_parse_date_does(cells):
    dates, errors = date_column(cells, what="Date", where=where)
    assert dates.dtype == np.dtype("datetime64[us]") and len(dates) == len(cells)
    for i, cell in enumerate(cells):
        try:
            expected = parse_date(cell, what="Date", where=where(i))
        except InputError as error:
            assert i in errors, f"cell {cell!r} refused one at a time, accepted in a column"
            same_error(errors[i], error)
            assert np.isnat(dates[i])
        else:
            assert i not in errors, f"cell {cell!r} accepted one at a time, refused in a column"
            assert dates[i] == expected.to_datetime64()


@settings(max_examples=200, deadline=None)
@given(number_columns)
def test_parse_numbers_raises_the_first_error_met_top_down(cells):
    first = None
    for i, cell in enumerate(cells):
        try:
            parse_number(cell, what="Price", where=where(i))
        except InputError as error:
            first = error
            break
    if first is None:
        assert len(parse_numbers(cells, what="Price", where=where)) == len(cells)
    else:
        with pytest.raises(InputError) as info:
            parse_numbers(cells, what="Price", where=where)
        same_error(info.value, first)


def test_a_long_column_of_plain_cells_is_read_at_once():
    days = pd.date_range("1990-01-01", periods=5000, freq="D")
    cells = [d.to_pydatetime() for d in days]
    assert (parse_dates(cells) == days.to_numpy(dtype="datetime64[us]")).all()
    values = [float(i) if i % 7 else None for i in range(1, 5001)]
    numbers = parse_numbers(values)
    assert np.isnan(numbers[6]) and numbers[0] == 1.0 and numbers[-2] == 4999.0


def test_column_errors_name_the_row_and_column():
    with pytest.raises(InputError, match=r"Price must be a number, got 'x' \(prices row 4, QQQ\)"):
        parse_numbers([1.0, None, "x", "y"], what="Price", where=where)
    with pytest.raises(InputError, match=r"Date must be a date, got '-1' \(prices row 3, QQQ\)"):
        parse_dates([dt.datetime(2020, 1, 1), "-1", None], what="Date", where=where)


excel_days = st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31))


@settings(max_examples=300, deadline=None)
@given(st.lists(excel_days, min_size=1, max_size=20), st.data())
def test_dates_round_trip_in_every_form_excel_delivers(days, data):
    # The same day as a datetime (with a time of day), a date, a serial or ISO text reads
    # back as that day, one cell at a time and a whole column at once.
    forms = [
        lambda d: dt.datetime(d.year, d.month, d.day, 15, 30),
        lambda d: d,
        lambda d: float((d - dt.date(1899, 12, 30)).days) + 0.25,
        lambda d: d.isoformat(),
    ]
    cells = [data.draw(st.sampled_from(forms))(d) for d in days]
    expected = np.array([np.datetime64(d, "us") for d in days])
    assert (parse_dates(cells) == expected).all()
    assert [parse_date(c).to_datetime64() for c in cells] == list(expected)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.decimals(min_value=-1e9, max_value=1e9, places=2), min_size=1, max_size=20))
def test_numbers_round_trip_through_thousands_separated_text(values):
    cells = [f"{v:,.2f}" for v in values]  # 1234567.5 -> "1,234,567.50"
    expected = [float(v) for v in values]
    assert parse_numbers(cells).tolist() == expected
    assert [parse_number(c) for c in cells] == expected
    percents = [f"{v:,.2f}%" for v in values]
    assert parse_numbers(percents).tolist() == [float(v) / 100 for v in values]
