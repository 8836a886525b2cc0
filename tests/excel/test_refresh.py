"""The Refresh button against xlwings' real remote engine: a workbook payload in, actions out."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
import xlwings as xw

from etf_rebalancer.engine.market import QuoteNeeds
from etf_rebalancer.errors import QuoteError
from etf_rebalancer.excel import refresh as rf
from etf_rebalancer.workbook import layout

NOW = dt.datetime(2025, 3, 14, 9, 30, 0)

HOLDINGS = [
    ["Ticker", "Shares", "Price", "Currency", "Account"],
    ["QQQ", 10, None, "USD", "ISA"],
    [69500, 30, None, "KRW", "ISA"],  # 069500 typed into a General cell
    ["VWCE.DE", 5, None, "EUR", "Broker"],
    [None, None, None, None, None],
    ["CASH", 1000, None, "USD", "Broker"],
]
TARGETS = [
    ["Ticker", "Target", "Band"],
    ["QQQ", 40, 10],
    ["069500", 30, 10],
    ["VWCE.DE", 20, 10],
    ["TLT", 10, 10],
]
SETTINGS = [["Key", "Value"], ["base_currency", "KRW"], ["mode", "full"]]


def sheet(name: str, values: list[list]) -> dict:
    return {"name": name, "values": values, "pictures": [], "tables": [], "charts": []}


def payload(*sheets: dict) -> dict:
    """What the Office.js client of xlwings 0.37.8 sends for a workbook."""
    return {
        "client": "Office.js",
        "version": xw.__version__,
        "book": {"name": "portfolio.xlsx", "active_sheet_index": 0, "selection": "A1"},
        "names": [],
        "sheets": list(sheets),
    }


class MemoryQuotes:
    """In-memory twin of the quote layer: fixed quotes, records the batch it was asked for."""

    def __init__(self, prices: dict, fx: dict, fail: Exception | None = None) -> None:
        self.prices, self.rates, self.fail = prices, fx, fail
        self.batches: list[tuple] = []

    def refresh(self, tickers, currencies, base_currency, progress):
        self.batches.append((tuple(tickers), tuple(currencies), base_currency))
        if self.fail:
            raise self.fail
        if progress:
            progress(f"{len(tickers)} updated")

    def quote(self, ticker):
        if ticker not in self.prices:
            raise QuoteError(f"{ticker}: not found", f"{ticker}: 종목을 찾을 수 없습니다")
        price, currency = self.prices[ticker]
        return price, currency, dt.datetime(2025, 3, 13, 21, 0), "OK", "memory"

    def fx(self, from_currency, to_currency):
        return self.rates[(from_currency, to_currency)], None, "OK", "memory"


QUOTES = MemoryQuotes(
    {"QQQ": (480.25, "USD"), "069500": (35_000.0, "KRW"), "VWCE.DE": (120.5, "EUR")},
    {("USD", "KRW"): 1450.0, ("EUR", "KRW"): 1580.0},
)


@pytest.fixture
def book(remote_engine):
    def make(*sheets):
        return xw.Book(json=copy.deepcopy(payload(*sheets)))

    return make


def actions(book, func: str) -> list[dict]:
    return [a for a in book.json()["actions"] if a["func"] == func]


def test_collect_needs_reads_tickers_and_currencies():
    needs = rf.collect_needs({"holdings": HOLDINGS, "targets": TARGETS, "settings": SETTINGS})
    assert needs.tickers == ("QQQ", "069500", "VWCE.DE", "TLT")
    assert needs.currencies == ("USD", "EUR")
    assert needs.base_currency == "KRW"


def test_quote_rows_name_failures_in_the_status_column():
    needs = QuoteNeeds(("QQQ", "TLT"), ("USD",), "KRW")
    rows = rf.quote_rows(QUOTES, needs)
    assert rows[0] == list(layout.QUOTES_HEADER)
    assert rows[1] == ["QQQ", 480.25, "USD", dt.datetime(2025, 3, 13, 21, 0), "OK", "memory"]
    assert rows[2] == ["TLT", "", "", "", "TLT: not found", ""]
    assert rows[3] == ["USD/KRW", 1450.0, "KRW", "", "OK", "memory"]
    assert rf.quote_rows(QUOTES, needs, "ko")[0] == list(layout.QUOTES_HEADER_KO)


def test_refresh_adds_the_quotes_sheet_and_recalculates(book):
    wb = book(sheet("Holdings", HOLDINGS), sheet("Targets", TARGETS), sheet("Settings", SETTINGS))
    quotes = MemoryQuotes(QUOTES.prices, QUOTES.rates)
    assert rf.refresh(wb, quotes=quotes, values_only=False, now=lambda: NOW) is True

    # One batch with everything the workbook needs.
    assert quotes.batches == [(("QQQ", "069500", "VWCE.DE", "TLT"), ("USD", "EUR"), "KRW")]
    (add,) = actions(wb, "addSheet")
    assert add["args"] == [3, "Quotes"]
    writes = [a for a in actions(wb, "setValues") if a["sheet_position"] == 3]
    table, label = writes[0], writes[1]
    assert (table["start_row"], table["start_column"]) == (0, 0)
    assert table["values"][0] == list(layout.QUOTES_HEADER)
    assert table["values"][1] == ["QQQ", 480.25, "USD", "2025-03-13 21:00:00", "OK", "memory"]
    assert table["values"][4] == ["TLT", "", "", "", "TLT: not found", ""]
    assert table["values"][5:] == [
        ["USD/KRW", 1450.0, "KRW", "", "OK", "memory"],
        ["EUR/KRW", 1580.0, "KRW", "", "OK", "memory"],
    ]
    assert (label["start_row"], label["start_column"]) == (0, 7)
    assert label["values"] == [["Last refresh", "2025-03-14 09:30:00"]]
    # Recalculate after writing, so every formula sees the new prices.
    funcs = [a["func"] for a in wb.json()["actions"]]
    assert funcs[-1] == "calculate"
    assert not actions(wb, "alert")


def test_refresh_overwrites_an_existing_korean_quotes_sheet_and_blanks_stale_rows(book):
    old = [list(layout.QUOTES_HEADER_KO)] + [[f"OLD{i}", 1, "USD", "", "OK", ""] for i in range(8)]
    wb = book(
        sheet("보유종목", [["티커", "수량"], ["QQQ", 3]]),
        sheet("목표비중", [["티커", "목표비중"], ["QQQ", 100]]),
        sheet("시세", old),
    )
    assert rf.refresh(wb, quotes=QUOTES, values_only=False, now=lambda: NOW)
    assert not actions(wb, "addSheet")
    writes = [a for a in actions(wb, "setValues") if a["sheet_position"] == 2]
    assert writes[0]["values"][0] == list(layout.QUOTES_HEADER_KO)
    assert writes[0]["values"][1][:3] == ["QQQ", 480.25, "USD"]
    # Rows 3..9 held the old table: blanked, not left behind.
    stale = writes[1]
    assert (stale["start_row"], stale["row_count"]) == (2, 7)
    assert all(v == "" for row in stale["values"] for v in row)
    assert writes[2]["values"] == [["마지막 갱신", "2025-03-14 09:30:00"]]


def test_failed_fetch_shows_a_message_box_and_writes_nothing(book):
    wb = book(sheet("Holdings", HOLDINGS), sheet("Targets", TARGETS))
    failing = MemoryQuotes({}, {}, fail=QuoteError("Yahoo rate limit: try again in a minute"))
    assert rf.refresh(wb, quotes=failing, values_only=False) is False
    (alert,) = actions(wb, "alert")
    assert alert["args"][0] == "Refresh failed: Yahoo rate limit: try again in a minute"
    assert alert["args"][1] == "ETF Rebalancer"
    assert alert["args"][3] == "critical"
    assert not actions(wb, "setValues") and not actions(wb, "calculate")


def test_missing_holdings_sheet_is_named_in_the_message(book):
    wb = book(sheet("Sheet1", [["hello"]]))
    assert rf.refresh(wb, quotes=QUOTES, values_only=False) is False
    (alert,) = actions(wb, "alert")
    assert "Holdings sheet" in alert["args"][0]


def test_values_only_writes_orders_and_drift_to_their_own_sheet(book):
    orders = [["Ticker", "Action", "Shares"], ["QQQ", "BUY", 2.0]]
    drift = [["Ticker", "Value", "Weight", "Target"], ["QQQ", 4802.5, 0.5, 0.4]]
    seen = {}

    def planner(sheets, source, as_of):
        seen["holdings"] = sheets["holdings"]
        seen["source"] = source
        return orders, drift

    wb = book(sheet("Holdings", HOLDINGS), sheet("Targets", TARGETS), sheet("Settings", SETTINGS))
    assert rf.refresh(wb, quotes=QUOTES, values_only=True, planner=planner, now=lambda: NOW)
    assert seen["holdings"][2][0] == 69500  # raw values, as a UDF would get them
    assert seen["source"] is QUOTES
    (plan_sheet,) = [a for a in actions(wb, "addSheet") if a["args"][1] == "Plan (values)"]
    position = plan_sheet["args"][0]
    (write,) = [a for a in actions(wb, "setValues") if a["sheet_position"] == position]
    assert write["values"] == [
        ["Ticker", "Action", "Shares", ""],
        ["QQQ", "BUY", 2.0, ""],
        ["", "", "", ""],
        ["Ticker", "Value", "Weight", "Target"],
        ["QQQ", 4802.5, 0.5, 0.4],
    ]
    assert [a["func"] for a in wb.json()["actions"]][-1] == "calculate"


def test_refresh_through_the_real_quote_service(book, tmp_path):
    """The macro against quotes.service itself (in-memory provider): signatures and rows agree."""
    from etf_rebalancer.quotes.base import Quote
    from etf_rebalancer.quotes.cache import QuoteCache
    from etf_rebalancer.quotes.memory import MemoryProvider
    from etf_rebalancer.quotes.service import QuoteService

    at = dt.datetime(2025, 3, 13, 21, 0, tzinfo=dt.UTC)
    provider = MemoryProvider(
        {
            "QQQ": Quote("QQQ", 480.25, "USD", 478.0, at, "Invesco QQQ", "ETF"),
            "KRW=X": Quote("KRW=X", 1450.0, "KRW", 1449.0, at, "USD/KRW", "CURRENCY"),
        }
    )
    service = QuoteService(QuoteCache(tmp_path / "q.sqlite"), provider)
    wb = book(
        sheet("Holdings", [["Ticker", "Shares", "Currency"], ["QQQ", 3, "USD"]]),
        sheet("Targets", [["Ticker", "Target"], ["QQQ", 100]]),
        sheet("Settings", [["Key", "Value"], ["base_currency", "KRW"]]),
    )
    statuses: list[str] = []
    source = rf.ServiceQuotes(service)
    original = source.refresh

    def spy(tickers, currencies, base, progress):
        def record(text):
            statuses.append(text)
            progress(text)

        return original(tickers, currencies, base, record)

    source.refresh = spy
    assert rf.refresh(wb, quotes=source, values_only=False, now=lambda: NOW) is True
    assert statuses, "the quote layer reported progress through the macro's callback"
    (table, _label) = [a for a in actions(wb, "setValues") if a["sheet_position"] == 3]
    rows = {row[0]: row for row in table["values"][1:]}
    assert rows["QQQ"][1:3] == [480.25, "USD"]
    assert rows["QQQ"][4] == "fresh" or rows["QQQ"][4].startswith("stale")
    assert rows["USD/KRW"][1:3] == [1450.0, "KRW"]
    assert not actions(wb, "alert")


def test_values_only_plans_with_the_engine_and_leaves_the_plan_formulas_alone(book, tmp_path):
    """macOS path end to end: real engine, real quote service, the Plan sheet untouched."""
    from etf_rebalancer.quotes.base import Quote
    from etf_rebalancer.quotes.cache import QuoteCache
    from etf_rebalancer.quotes.memory import MemoryProvider
    from etf_rebalancer.quotes.service import QuoteService

    provider = MemoryProvider(
        {"QQQ": Quote("QQQ", 500.0, "USD"), "SPY": Quote("SPY", 250.0, "USD")}
    )
    service = QuoteService(QuoteCache(tmp_path / "q.sqlite"), provider)
    plan_formulas = [["Orders"], ["=REBAL_ORDERS(Holdings[#All],Targets[#All])"]]
    wb = book(
        sheet("Plan", plan_formulas),
        sheet("Holdings", [["Ticker", "Shares"], ["QQQ", 10], ["SPY", 0]]),
        sheet("Targets", [["Ticker", "Target"], ["QQQ", 50], ["SPY", 50]]),
    )
    assert rf.refresh(wb, quotes=rf.ServiceQuotes(service), values_only=True, now=lambda: NOW)
    assert not actions(wb, "alert")
    assert not [a for a in actions(wb, "setValues") if a["sheet_position"] == 0]
    (added,) = [a for a in actions(wb, "addSheet") if a["args"][1] == "Plan (values)"]
    (write,) = [a for a in actions(wb, "setValues") if a["sheet_position"] == added["args"][0]]
    orders = write["values"]
    assert orders[0][:3] == ["Ticker", "Action", "Shares"]
    trades = {row[0]: (row[1], row[2]) for row in orders[1:3]}
    assert trades == {"QQQ": ("SELL", 5), "SPY": ("BUY", 10)}


def _backtest_grid(history_to):
    """The Backtest sheet's values as the template lays them out (results not calculated)."""
    note = "#NAME?"  # what the PORTFOLIO_* cells show where UDFs cannot run
    return [
        ["Backtest · mine", None, None, None, None],
        ["Settings", None, None, None, "Results"],
        ["Setting", "Value", "Description", None, note],
        ["rebalance", "quarterly", "…", None, None],
        ["fee_rate", 0.001, "…", None, None],
        ["initial", 10_000, "…", None, None],
        ["benchmark", "SIZE", "…", None, None],
        [None, None, None, None, None],
        ["History from", 44197.0, "…", None, None],  # 2021-01-01 as Excel hands it over
        ["History to", history_to, "…", None, None],
        ["Prices in", "USD", "…", None, None],
    ]


def _factor_provider(tickers):
    import pandas as pd

    from etf_rebalancer.quotes.base import History, Quote
    from etf_rebalancer.quotes.memory import MemoryProvider

    frame = pd.read_csv(
        "tests/data/us_factor_etfs_2014_2022.csv", index_col="Date", parse_dates=True
    )
    histories = {
        t: History(t, "USD", pd.DataFrame({"close": frame[t], "adjclose": frame[t]}))
        for t in tickers
    }
    quotes = {t: Quote(t, float(frame[t].iloc[-1]), "USD") for t in tickers}
    return MemoryProvider(quotes, histories), frame


def test_values_only_backtests_the_backtest_sheet_with_fetched_history(book, tmp_path):
    """macOS: Backtest (values) gets what PORTFOLIO_BACKTEST and _EQUITY would spill."""
    from etf_rebalancer.backtest.sheet import backtest_stats_rows
    from etf_rebalancer.quotes.cache import QuoteCache
    from etf_rebalancer.quotes.service import QuoteService

    provider, frame = _factor_provider(["MTUM", "QUAL", "SIZE"])
    service = QuoteService(QuoteCache(tmp_path / "q.sqlite"), provider)
    wb = book(
        sheet("Holdings", [["Ticker", "Shares"], ["MTUM", 10], ["QUAL", 10]]),
        sheet("Targets", [["Ticker", "Target"], ["MTUM", 60], ["QUAL", 40]]),
        sheet("Backtest", _backtest_grid("2022-12-28")),
        sheet("Prices", [["Price history"], [None], [None], ["#NAME?"]]),
    )
    assert rf.refresh(wb, quotes=rf.ServiceQuotes(service), values_only=True, now=lambda: NOW)
    assert not actions(wb, "alert")
    assert ("history", ("SIZE", "MTUM", "QUAL")) in provider.calls
    (added,) = [a for a in actions(wb, "addSheet") if a["args"][1] == "Backtest (values)"]
    (write,) = [a for a in actions(wb, "setValues") if a["sheet_position"] == added["args"][0]]
    rows = write["values"]
    assert rows[0] == ["Metric", "Value", "", "Date", "Portfolio", "Benchmark"]  # None is ""
    got = {r[0]: r[1] for r in rows[1:] if r[0]}
    # The same numbers as the UDF's body on the same prices, weights and settings.
    part = frame.loc["2021-01-01":"2022-12-28", ["SIZE", "MTUM", "QUAL"]].reset_index()
    prices = [["Date", "SIZE", "MTUM", "QUAL"]] + [
        [d.to_pydatetime(), *v] for d, *v in part.itertuples(index=False)
    ]
    expected = backtest_stats_rows(
        prices,
        [["Ticker", "Weight"], ["MTUM", 60], ["QUAL", 40]],
        [
            ["rebalance", "quarterly"],
            ["fee_rate", 0.001],
            ["initial", 10000],
            ["benchmark", "SIZE"],
        ],
    )
    for name, value in expected[1:]:
        if isinstance(value, float):
            assert got[name] == pytest.approx(value, rel=1e-12), name
    size = frame.loc["2021-01-01":"2022-12-28", "SIZE"]
    assert got["Benchmark Total Return"] == pytest.approx(size.iloc[-1] / size.iloc[0] - 1)
    equity = [r[3:] for r in rows[1:]]
    assert len(equity) == len(size) and equity[-1][1] == pytest.approx(got["Final Value"])


def _backtest_values(wb) -> list[list]:
    (added,) = [a for a in actions(wb, "addSheet") if a["args"][1] == "Backtest (values)"]
    (write,) = [a for a in actions(wb, "setValues") if a["sheet_position"] == added["args"][0]]
    return write["values"]


def test_values_only_backtest_uses_a_pasted_price_table_and_reports_errors_in_place(book, tmp_path):
    from etf_rebalancer.quotes.cache import QuoteCache
    from etf_rebalancer.quotes.service import QuoteService

    provider, frame = _factor_provider(["MTUM", "QUAL"])
    service = QuoteService(QuoteCache(tmp_path / "q.sqlite"), provider)
    pasted = [["Date", "MTUM", "QUAL", "SIZE"]] + [
        [d.strftime("%Y-%m-%d"), *v]
        for d, *v in frame[["MTUM", "QUAL", "SIZE"]].iloc[-60:].itertuples()
    ]
    holdings = sheet("Holdings", [["Ticker", "Shares"], ["MTUM", 10], ["QUAL", 10]])
    targets = sheet("Targets", [["Ticker", "Target"], ["MTUM", 60], ["QUAL", 40]])
    wb = book(
        holdings,
        targets,
        sheet("Backtest", _backtest_grid(None)),
        sheet("Prices", [["My prices"], [None], *pasted]),
    )
    assert rf.refresh(wb, quotes=rf.ServiceQuotes(service), values_only=True, now=lambda: NOW)
    assert not [c for c in provider.calls if c[0] == "history"]
    got = {r[0]: r[1] for r in _backtest_values(wb)[1:] if r[0]}
    size = frame["SIZE"].iloc[-60:]
    assert got["Benchmark Total Return"] == pytest.approx(size.iloc[-1] / size.iloc[0] - 1)

    # No pasted table and no history for the benchmark: the error sits where results go.
    wb = book(holdings, targets, sheet("Backtest", _backtest_grid("2022-12-28")))
    assert rf.refresh(wb, quotes=rf.ServiceQuotes(service), values_only=True, now=lambda: NOW)
    text = _backtest_values(wb)[0][0]
    assert text.startswith("Error: ") and "SIZE" in text
    assert not actions(wb, "alert")


# ---------------------------------------------------------------- function registration


def test_refresh_registers_the_functions_before_recalculating(book):
    wb = book(sheet("Holdings", HOLDINGS), sheet("Targets", TARGETS), sheet("Settings", SETTINGS))
    calls = []
    assert rf.refresh(wb, quotes=QUOTES, values_only=False, register=calls.append) is True
    assert len(calls) == 1
    assert actions(wb, "calculate") and not actions(wb, "alert")


def test_refused_registration_names_the_trust_setting_after_the_quotes_are_written(book):
    from etf_rebalancer.errors import WorkbookError
    from etf_rebalancer.excel.register import TRUST_SETTING_EN, TRUST_SETTING_KO

    def refuse(_app):
        raise WorkbookError(TRUST_SETTING_EN, TRUST_SETTING_KO)

    wb = book(sheet("Holdings", HOLDINGS), sheet("Targets", TARGETS), sheet("Settings", SETTINGS))
    assert rf.refresh(wb, quotes=QUOTES, values_only=False, register=refuse) is False
    (alert,) = actions(wb, "alert")
    assert "Trust access to the VBA project object model" in alert["args"][0]
    assert actions(wb, "setValues") and actions(wb, "calculate")  # quotes written, recalculated
