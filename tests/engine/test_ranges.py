"""Reading raw Excel ranges: headers, aliases, weights, Korean codes, settings."""

from __future__ import annotations

import datetime as dt

import pytest

from etf_rebalancer.cells import (
    detect_language,
    normalise_ticker,
    parse_bool,
    parse_date,
    parse_number,
    parse_weight,
    read_key_values,
    read_table,
    unknown_keys_error,
    weights_to_fractions,
)
from etf_rebalancer.errors import InputError


def test_headers_match_in_english_and_korean_in_any_order():
    en = read_table(
        [["Shares", "TICKER", "Notes"], [10.0, "qqq", "x"]],
        name="holdings",
        required=["ticker", "shares"],
    )
    ko = read_table(
        [["종목코드", "수량"], ["069500", 3.0]], name="holdings", required=["ticker", "shares"]
    )
    assert en.to_dict("records") == [{"ticker": "qqq", "shares": 10.0, "row": 2}]
    assert ko.to_dict("records") == [{"ticker": "069500", "shares": 3.0, "row": 2}]


def test_header_spelling_ignores_case_spaces_underscores_and_dashes():
    table = read_table(
        [["ticker", "Target_Weight"], ["A", 1.0]], name="targets", required=["ticker", "target"]
    )
    assert list(table.columns) == ["ticker", "target", "row"]


def test_blank_rows_are_skipped_but_row_numbers_stay_those_the_user_sees():
    table = read_table(
        [["Ticker", "Shares"], [None, None], ["", "  "], ["QQQ", 1.0]],
        name="holdings",
        required=["ticker", "shares"],
    )
    assert table["row"].tolist() == [4]


def test_missing_column_names_the_range_and_the_header_it_found():
    with pytest.raises(InputError, match=r"holdings needs a column Shares .*'Ticker', 'Qty2'"):
        read_table([["Ticker", "Qty2"], ["A", 1]], name="holdings", required=["ticker", "shares"])


def test_empty_range_is_an_error():
    with pytest.raises(InputError, match="targets range is empty"):
        read_table([[None, None]], name="targets", required=["ticker", "target"])


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


def test_settings_keys_are_folded_and_fx_keys_keep_their_currency():
    kv = read_key_values([["Key", "Value"], ["Base Currency", "KRW"], ["FX usd", 1400.0]])
    assert set(kv) == {"base_currency", "fx usd"}
    assert kv["fx usd"].row == 3


def test_duplicate_and_unknown_setting_keys_are_named():
    with pytest.raises(InputError, match=r"key 'mode' twice \(rows 1 and 2\)"):
        read_key_values([["mode", "full"], ["mode", "band"]])
    error = unknown_keys_error(read_key_values([["mood", "x"], ["FX EUR", 1.1]]), {"mode", "fx *"})
    assert error is not None
    assert "'mood' (row 1)" in str(error)
    assert "FX EUR" not in str(error)


def test_language_follows_the_headers():
    assert detect_language([["티커", "수량"]], None) == "ko"
    assert detect_language([["Ticker", "Shares"]], [["mode", "band"]]) == "en"
