"""Reading workbooks from disk and answering quote needs from the Quotes sheet."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from etf_rebalancer.engine.market import QuoteNeeds
from etf_rebalancer.errors import InputError, WorkbookError
from etf_rebalancer.workbook.reader import (
    MissingSheetsError,
    NotAWorkbookError,
    WorkbookNotFoundError,
    market_from_quotes,
    read_workbook,
)

HEADER = ["Ticker", "Price", "Currency", "Time", "Status", "Source"]
WHEN = dt.datetime(2026, 11, 20)


def test_sheets_without_tables_are_read_from_their_first_nonempty_row(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "보유종목"
    ws["B3"], ws["C3"], ws["E3"] = "티커", "수량", "memo"  # a gap ends the range
    ws["B4"], ws["C4"], ws["E4"] = 69500, 10, "ignored"
    ws["B5"], ws["C5"] = "QQQ", "=1+1"
    wb.create_sheet("목표비중").append(["티커", "목표비중"])
    path = tmp_path / "k.xlsx"
    wb.save(path)
    ranges = read_workbook(path)
    assert ranges.lang == "ko"
    # numbers arrive as floats, as Excel hands them; formulas count as missing
    assert ranges.holdings == [["티커", "수량"], [69500.0, 10.0], ["QQQ", None]]
    assert ranges.cash is None and ranges.quotes is None


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: None, WorkbookNotFoundError),
        (lambda p: p.write_text("not a zip"), NotAWorkbookError),
        (lambda p: p.mkdir(), NotAWorkbookError),
    ],
)
def test_bad_files_raise_workbook_errors_in_both_languages(tmp_path, make, kind):
    path = tmp_path / "x.xlsx"
    make(path)
    with pytest.raises(kind) as info:
        read_workbook(path)
    assert isinstance(info.value, WorkbookError)
    assert info.value.message_ko and "x.xlsx" in info.value.message


def test_missing_sheets_are_named(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    path = tmp_path / "d.xlsx"
    wb.save(path)
    with pytest.raises(MissingSheetsError, match=r"Holdings \(보유종목\), Targets \(목표비중\)"):
        read_workbook(path)


def test_market_from_quotes_prices_fx_inverse_and_cross():
    rows = [
        HEADER,
        ["069500", 56350, "KRW", WHEN, "fresh", "yahoo"],
        ["XAIX.DE", 150, "EUR", WHEN, "fresh", "yahoo"],
        ["USD/KRW", 1450, "KRW", WHEN, "fresh", "yahoo"],
        ["EUR/USD", 1.2, "USD", WHEN, "fresh", "yahoo"],
    ]
    needs = QuoteNeeds(("069500.KS", "XAIX.DE"), ("USD", "EUR"), "KRW")
    market = market_from_quotes(rows, needs)
    assert market.prices == {"069500.KS": 56350, "XAIX.DE": 150}
    assert market.currencies["XAIX.DE"] == "EUR"
    assert market.fx["USD"] == 1450
    assert market.fx["EUR"] == pytest.approx(1.2 * 1450)
    assert not market.failures
    assert "2026-11-20" in market.notices[0].message
    inverse = market_from_quotes(rows, QuoteNeeds((), ("KRW",), "USD"))
    assert inverse.fx["KRW"] == pytest.approx(1 / 1450)


def test_market_from_quotes_reports_what_is_missing_and_sample_prices():
    rows = [HEADER, ["QQQ", 600, "USD", WHEN, "sample", "sample (not live)"]]
    market = market_from_quotes(rows, QuoteNeeds(("QQQ", "SPY"), ("JPY",), "USD"))
    assert set(market.failures) == {"SPY", "JPY"}
    assert "SPY" in market.failures["SPY"].message
    assert "SAMPLE" in market.notices[0].message and market.notices[0].message_ko


def test_a_bad_price_on_the_quotes_sheet_names_its_row():
    with pytest.raises(InputError, match=r"Quotes row 2, QQQ"):
        market_from_quotes([HEADER, ["QQQ", "n/a", "USD"]], QuoteNeeds(("QQQ",), (), "USD"))
