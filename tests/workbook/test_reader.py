"""Reading workbooks from disk and answering quote needs from the Quotes sheet."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from etf_rebalancer.engine.market import QuoteNeeds
from etf_rebalancer.errors import InputError, WorkbookError
from etf_rebalancer.planning.market import market_from_quotes
from etf_rebalancer.workbook.reader import (
    MissingSheetsError,
    NotAWorkbookError,
    WorkbookNotFoundError,
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


def test_backtest_inputs_are_read_from_a_template_and_from_a_grid_of_values():
    from pathlib import Path

    from etf_rebalancer.workbook.reader import backtest_sheet_inputs

    root = Path(__file__).resolve().parents[2] / "workbook_templates"
    live = read_workbook(root / "korean-investor_ko.xlsx")
    assert live.backtest_settings[0] == ["설정", "값"]
    assert dict(live.backtest_settings[1:])["benchmark"] == "069500"  # text, zero kept
    assert (live.history_start, live.history_end) == (dt.datetime(2021, 1, 1), None)
    assert live.history_currency == "KRW"
    assert live.prices is None  # the ETF_HISTORY formula: nothing stored
    stored = read_workbook(root / "us-factor-mix_en.xlsx")
    assert stored.prices[0] == ["Date", "MTUM", "QUAL", "SIZE", "USMV", "VLUE"]
    assert len(stored.prices) == 2265 and stored.prices[1][0] == dt.datetime(2014, 1, 2)
    assert stored.history_end == dt.datetime(2022, 12, 28)

    # The Refresh button's view: values only, the table found by its header and the dates
    # by their labels; a lone section title "설정" is not the table's header.
    grid = [
        ["백테스트", None, None],
        ["설정", None, None],
        ["설정", "값", "설명"],
        ["rebalance", "monthly", "..."],
        ["benchmark", "QQQ", None],
        [None, None, None],
        ["이력 시작일", 44197.0, None],
        ["이력 종료일", None, None],
        ["가격 통화", "KRW", None],
    ]
    assert backtest_sheet_inputs(grid) == {
        "backtest_settings": [["설정", "값"], ["rebalance", "monthly"], ["benchmark", "QQQ"]],
        "history_start": 44197.0,
        "history_end": None,
        "history_currency": "KRW",
    }
    assert backtest_sheet_inputs([["nothing here"]]) == {
        "backtest_settings": None,
        "history_start": None,
        "history_end": None,
        "history_currency": None,
    }


def test_a_price_table_is_found_below_titles_and_ends_at_the_first_empty_row():
    from etf_rebalancer.workbook.reader import price_table

    grid = [
        ["My prices", None, None],
        [None, None, None],
        [None, "날짜", "QQQ"],
        [None, dt.datetime(2024, 1, 2), 400.0],
        [None, dt.datetime(2024, 1, 3), None],
        [None, None, None],
        [None, "notes below the table", None],
    ]
    assert price_table(grid) == [
        ["날짜", "QQQ"],
        [dt.datetime(2024, 1, 2), 400.0],
        [dt.datetime(2024, 1, 3)],
    ]
    assert price_table([["Error: VOO: no history"]]) is None
