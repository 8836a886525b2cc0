"""The Yahoo provider against replayed Yahoo answers: batches, unknowns, 429, outages, GBp, KRX."""

from __future__ import annotations

import datetime as dt

import pytest

from etf_rebalancer.quotes.base import (
    BadDataError,
    Failure,
    History,
    NetworkError,
    NotFoundError,
    Quote,
    RateLimitedError,
)


def test_good_batch_is_one_quote_request(yahoo, adapter):
    results = yahoo.fetch_quotes(["QQQ", "SPY", "VWCE.DE"], timeout=2)
    assert adapter.count("/v7/finance/quote") == 1
    qqq = results["QQQ"]
    assert isinstance(qqq, Quote)
    assert (qqq.price, qqq.currency, qqq.previous_close, qqq.kind) == (608.86, "USD", 621.08, "ETF")
    assert qqq.name == "Invesco QQQ Trust"
    assert qqq.time == dt.datetime(2025, 11, 14, 20, 0, tzinfo=dt.UTC)
    assert results["VWCE.DE"].currency == "EUR"
    assert yahoo.http_requests == len(adapter.log)


def test_unknown_symbol_is_a_not_found_value(yahoo):
    results = yahoo.fetch_quotes(["QQQ", "NOSUCH"], timeout=2)
    assert isinstance(results["QQQ"], Quote)
    assert isinstance(results["NOSUCH"], Failure)
    assert isinstance(results["NOSUCH"].error, NotFoundError)
    assert "NOSUCH" in results["NOSUCH"].error.message


def test_london_pence_become_pounds(yahoo):
    vusa = yahoo.fetch_quotes(["VUSA.L"], timeout=2)["VUSA.L"]
    assert vusa.currency == "GBP"
    assert vusa.price == pytest.approx(94.125)
    assert vusa.previous_close == pytest.approx(94.70)


def test_fx_pairs(yahoo):
    results = yahoo.fetch_quotes(["KRW=X", "EURUSD=X"], timeout=2)
    assert results["KRW=X"].price == 1457.35 and results["KRW=X"].kind == "CURRENCY"
    assert results["EURUSD=X"].currency == "USD"


def test_korean_code_on_kosdaq_found_in_the_same_request(yahoo, adapter):
    results = yahoo.fetch_quotes(["247540.KS", "247540.KQ"], timeout=2)
    assert isinstance(results["247540.KS"].error, NotFoundError)
    assert results["247540.KQ"].price == 151300.0
    assert adapter.count("/v7/finance/quote") == 1


def test_http_429_stops_the_batch_and_marks_the_rest(yahoo, adapter):
    yahoo.chunk_size = 2
    yahoo.max_workers = 1  # deterministic order: chunk 1 answers, chunk 2 gets 429
    adapter.quote_429_after = 1
    symbols = ["QQQ", "SPY", "VWCE.DE", "VUSA.L", "KRW=X", "JPY=X"]
    results = yahoo.fetch_quotes(symbols, timeout=2)
    assert isinstance(results["QQQ"], Quote) and isinstance(results["SPY"], Quote)
    for symbol in symbols[2:]:
        assert isinstance(results[symbol].error, RateLimitedError), symbol
    assert "HTTP 429" in results["VWCE.DE"].error.message
    assert "earlier in this refresh" in results["KRW=X"].error.message
    # the third chunk was never sent; yfinance itself retries a failed request once
    assert adapter.count("/v7/finance/quote") == 1 + 2
    assert not any("JPY" in url for url in adapter.log)


def test_maintenance_page_is_bad_data(yahoo, adapter):
    adapter.faults["quote"] = "maintenance"
    failure = yahoo.fetch_quotes(["QQQ"], timeout=2)["QQQ"]
    assert isinstance(failure.error, BadDataError)
    assert "maintenance" in failure.error.message
    assert failure.error.localized("ko").startswith("Yahoo Finance 점검")


def test_server_error_is_bad_data(yahoo, adapter):
    adapter.faults["quote"] = "500"
    failure = yahoo.fetch_quotes(["QQQ"], timeout=2)["QQQ"]
    assert isinstance(failure.error, BadDataError)
    assert "HTTP 500" in failure.error.message


@pytest.mark.parametrize("where", ["*", "quote"])
def test_dns_failure_is_network(yahoo, adapter, where):
    # With plain requests, yfinance 1.7 turns a DNS failure on fc.yahoo.com into an
    # AttributeError (requests has no DNSError): the cause chain is what tells.
    adapter.faults[where] = "dns"
    failure = yahoo.fetch_quotes(["QQQ", "SPY"], timeout=2)["SPY"]
    assert isinstance(failure.error, NetworkError)
    # One message per symbol naming only it: cached, it never names another workbook's tickers.
    assert "SPY" in failure.error.message and "QQQ" not in failure.error.message


def test_history_adjusted_and_dated_in_exchange_time(yahoo, adapter):
    results = yahoo.fetch_history(
        ["QQQ", "069500.KS"], dt.date(2025, 11, 10), dt.date(2025, 11, 14), timeout=2
    )
    qqq, kodex = results["QQQ"], results["069500.KS"]
    assert isinstance(qqq, History) and isinstance(kodex, History)
    assert list(qqq.frame.index.date) == [dt.date(2025, 11, d) for d in range(10, 15)]
    # KRX bars are stamped 00:00 UTC; read in UTC they would still be the right day,
    # but only the exchange timezone keeps them right for every market
    assert list(kodex.frame.index.date) == [dt.date(2025, 11, d) for d in range(10, 15)]
    assert qqq.frame["adjclose"].iloc[-1] == 606.69 and qqq.frame["close"].iloc[-1] == 608.86
    assert adapter.count("/v8/finance/chart/") == 2


def test_history_pence_and_unknown(yahoo):
    results = yahoo.fetch_history(
        ["VUSA.L", "NOSUCH"], dt.date(2025, 11, 10), dt.date(2025, 11, 14), timeout=2
    )
    assert results["VUSA.L"].currency == "GBP"
    assert results["VUSA.L"].frame["close"].iloc[-1] == pytest.approx(94.125)
    assert isinstance(results["NOSUCH"].error, NotFoundError)
