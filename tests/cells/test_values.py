"""One cell at a time: numbers, weights, booleans, dates (the one-cell path)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from etf_rebalancer.cells import (
    SUM_TOLERANCE,
    check_band,
    parse_bool,
    parse_date,
    parse_number,
    parse_weight,
    sums_to_100,
    weights_to_fractions,
)
from etf_rebalancer.errors import InputError


def test_numbers_accept_separators_and_currency_signs():
    assert parse_number("₩1,234,000") == 1_234_000
    assert parse_number("$12.5") == 12.5
    assert parse_number("12%") == pytest.approx(0.12)
    assert parse_number(None) is None
    with pytest.raises(InputError, match=r"Shares must be a number, got 'ten' \(row 2\)"):
        parse_number("ten", what="Shares", where=" (row 2)")
    with pytest.raises(InputError):
        parse_number(float("inf"))
    with pytest.raises(InputError):
        parse_number(True)


@pytest.mark.parametrize(
    "column",
    [
        [0.5, 0.25, 0.25],
        [50, 25, 25],
        ["50%", "25%", "25%"],
        [50.0, "25%", 25.0],
    ],
)
def test_weights_as_fractions_percents_or_text_agree(column):
    assert weights_to_fractions(
        [parse_weight(v) for v in column], sums_to_one=True
    ) == pytest.approx([0.5, 0.25, 0.25])


def test_a_hundred_one_percent_targets_are_percents():
    cells = [parse_weight(1.0)] * 100
    assert weights_to_fractions(cells, sums_to_one=True)[0] == pytest.approx(0.01)


def test_band_column_over_one_is_percent():
    assert weights_to_fractions([parse_weight(v) for v in [10, 15, None]]) == [0.10, 0.15, None]
    assert weights_to_fractions([parse_weight(v) for v in [0.1, 0.2]]) == [0.1, 0.2]


def test_booleans_in_english_and_korean():
    assert parse_bool("yes", what="buy_only") is True
    assert parse_bool("아니오", what="buy_only") is False
    assert parse_bool(1.0, what="buy_only") is True
    with pytest.raises(InputError, match="buy_only must be TRUE or FALSE, got 'maybe'"):
        parse_bool("maybe", what="buy_only")


def test_dates_from_datetime_serial_and_text():
    assert parse_date(dt.datetime(2024, 1, 2, 15, 30)) == parse_date("2024-01-02")
    assert parse_date(45293.0) == parse_date("2024-01-02")
    with pytest.raises(InputError, match="start must be a date"):
        parse_date("soon", what="start")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1,234", 1234.0), ("1,234,567.5", 1234567.5), ("-1,000", -1000.0), ("12,345%", 123.45)],
)
def test_thousands_separators_in_groups_of_three_are_read(text, expected):
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["1.234,5", "0,1%", "1,5", "12,34", "1,2345", ",5", "1,,000"])
def test_a_comma_that_is_not_a_thousands_separator_is_refused(text):
    # "1.234,5" was read as 1.2345 and "0,1%" as 1%: a decimal comma must not be guessed.
    with pytest.raises(InputError, match=r"fee_rate has a comma that is not a thousands") as info:
        parse_number(text, what="fee_rate", where=" (settings row 3, fee_rate)")
    assert repr(text) in str(info.value) and "(settings row 3, fee_rate)" in str(info.value)
    assert "쉼표" in info.value.localized("ko")


def test_numpy_numbers_read_like_python_numbers():
    assert parse_number(np.float32(2.5)) == 2.5
    assert parse_number(np.int64(7)) == 7.0
    with pytest.raises(InputError):
        parse_number(np.bool_(True))
    with pytest.raises(InputError, match="must be a number"):
        parse_number(10**400)  # past float range: a message, not OverflowError


@pytest.mark.parametrize("text", ["-1", "1/2", "Jan", "0001-01-01", "today", "now", "2021-02-30"])
def test_text_that_is_no_excel_date_names_the_row(text):
    # "-1" was year -1 and failed later as "unexpected ValueError: year -1 is out of range".
    with pytest.raises(InputError, match=r"Date must be a date, got .* \(prices row 4\)"):
        parse_date(text, what="Date", where=" (prices row 4)")


def test_date_serials_keep_their_day_and_stay_in_excels_calendar():
    assert parse_date(45293.999999999) == pd.Timestamp("2024-01-02")  # the fraction is a time
    assert parse_date(1) == pd.Timestamp("1899-12-31")
    assert parse_date(2_958_465) == pd.Timestamp("9999-12-31")
    for serial in (0, -1, 2_958_466, float("nan")):
        with pytest.raises(InputError):
            parse_date(serial)
    with pytest.raises(InputError):
        parse_date(dt.date(1850, 1, 1))


def test_a_time_zone_keeps_the_local_date():
    aware = dt.datetime(2024, 1, 2, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    assert parse_date(aware) == pd.Timestamp("2024-01-02")
    assert parse_date("2024-01-02T23:30+09:00") == pd.Timestamp("2024-01-02")


def test_one_sum_tolerance_for_every_reader():
    assert SUM_TOLERANCE == 0.001
    assert sums_to_100((33.3 + 33.3 + 33.3) / 100)  # percents rounded to 0.1 each
    assert sums_to_100(0.999) and sums_to_100(1.001)
    assert not sums_to_100(0.998) and not sums_to_100(1.0025) and not sums_to_100(float("nan"))


def test_a_band_of_zero_is_allowed_a_negative_band_is_not():
    check_band(0.0, 0)
    check_band(None, None)
    with pytest.raises(InputError, match=r"Band must be 0 or more, got -5 \(targets row 2, QQQ\)"):
        check_band(-0.05, -5, where=" (targets row 2, QQQ)")
