"""Ranges with a header row: aliases in English and Korean, blank rows, language."""

from __future__ import annotations

import pytest

from etf_rebalancer.cells import (
    detect_language,
    read_table,
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


def test_language_follows_the_headers():
    assert detect_language([["티커", "수량"]], None) == "ko"
    assert detect_language([["Ticker", "Shares"]], [["mode", "band"]]) == "en"
