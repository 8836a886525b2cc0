"""Quote faults replayed mid-batch: the cache keeps the last good price, flags it, and recovers.

Every scenario runs against the real ``QuoteService``, ``QuoteCache`` (SQLite)
and ``YahooProvider`` (yfinance over a replayed ``requests`` session), with two
symbols per request so the fault can hit the second request of a refresh
while the first one has answered.
"""

from __future__ import annotations

import math
import time

import pytest

from etf_rebalancer import udfs
from etf_rebalancer.engine.market import QuoteNeeds
from etf_rebalancer.planning.market import market_data_for
from etf_rebalancer.quotes import service as service_module
from etf_rebalancer.quotes.base import BadDataError, NetworkError, NotFoundError, RateLimitedError
from etf_rebalancer.quotes.service import price_field

# Requests: [QQQ, SPY] answers; [VWCE.DE, VUSA.L] and [069500.KS] meet the fault.
TICKERS = ["QQQ", "SPY", "VWCE.DE", "VUSA.L", "069500"]
FIRST_CHUNK = {"QQQ", "SPY"}
LATER = [t for t in TICKERS if t not in FIRST_CHUNK]

FAULTS = {
    "429": RateLimitedError,
    "dns": NetworkError,
    "timeout": NetworkError,
    "maintenance": BadDataError,
    "json": BadDataError,
    "500": BadDataError,
}


def _fault_from_second_request(adapter, fault: str) -> None:
    adapter.quote_fault_after = (adapter.count("/v7/finance/quote") + 1, fault)


def _prices(service) -> dict[str, float]:
    return {t: price_field(service, t) for t in TICKERS}


@pytest.fixture
def warm(service, clock):
    """A first refresh that worked, then two hours pass (a fetched price is stale after 1 h)."""
    report = service.refresh(TICKERS)
    assert report.ok, report.failures
    prices = _prices(service)
    clock.advance(2 * 3600)
    return prices


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_mid_batch_keeps_flags_and_recovers(
    service, adapter, clock, warm, fault, monkeypatch
):
    _fault_from_second_request(adapter, fault)
    report = service.refresh(TICKERS)
    assert adapter.injected >= 1
    # The first request's answers are fresh; everything later failed with the right kind.
    assert set(report.updated) == FIRST_CHUNK
    assert set(report.failures) == set(LATER)
    assert all(isinstance(e, FAULTS[fault]) for e in report.failures.values()), report.failures
    assert report.rate_limited is (fault == "429")
    for ticker in FIRST_CHUNK:
        assert price_field(service, ticker, "status").startswith("fresh (")
    for ticker in LATER:
        # The last good price is kept and answered; the status flags it.
        assert price_field(service, ticker) == warm[ticker]
        status = price_field(service, ticker, "status")
        assert status.startswith("error: ") and status.endswith("(last price 2 h old)"), status
        assert service.is_stale(service.lookup(ticker))
    rows = {row[0]: row for row in report.rows}
    assert all(rows[t][1] == warm[t] and rows[t][4].startswith("error: ") for t in LATER)
    # A plan made now says which prices are not fresh.
    needs = QuoteNeeds(tickers=tuple(TICKERS), currencies=(), base_currency="USD")
    notices = " ".join(n.message for n in market_data_for(needs, service).notices)
    assert all(f"{t} price is not fresh: error" in notices for t in LATER), notices

    # The fault clears (for a 429: once the pause has passed): the next refresh recovers.
    adapter.quote_fault_after = None
    monkeypatch.setattr(service_module, "REFRESH_RATE_LIMIT_PAUSE", 0.0)
    clock.advance(60)
    again = service.refresh(TICKERS)
    assert again.ok and set(again.updated) == set(TICKERS)
    for ticker in TICKERS:
        assert price_field(service, ticker, "status").startswith("fresh (")
        row = service.lookup(ticker)
        assert row.error == "" and not service.is_stale(row)
    assert _prices(service) == warm  # the replay answers the same prices


def test_rate_limit_mid_batch_sends_nothing_more(service, adapter, warm):
    _fault_from_second_request(adapter, "429")
    sent = adapter.count("/v7/finance/quote")
    report = service.refresh(TICKERS)
    # One good request, the 429 (and yfinance's one retry); the third request is never sent.
    assert adapter.count("/v7/finance/quote") - sent <= 3
    assert "earlier in this refresh" in report.failures["069500"].message
    assert any("rate limit" in n.message for n in report.notices)


def test_partial_batch_marks_only_the_missing_symbol(service, adapter, warm):
    adapter.fail_symbols = {"SPY"}
    report = service.refresh(TICKERS)
    assert set(report.updated) == set(TICKERS) - {"SPY"}
    assert isinstance(report.failures["SPY"], NotFoundError)
    assert price_field(service, "SPY") == warm["SPY"]
    assert price_field(service, "SPY", "status").startswith("error: SPY: Yahoo Finance has no")
    adapter.fail_symbols = set()
    assert service.refresh(TICKERS).ok
    assert price_field(service, "SPY", "status") == "fresh (real-time, Yahoo)"


@pytest.mark.parametrize(
    "patch",
    [
        {"regularMarketPrice": None},
        {"regularMarketPrice": "608.86"},
        {"regularMarketPrice": -1.0},
        {"regularMarketPrice": 0},
        {"regularMarketPrice": True},
        {"regularMarketPrice": {"fmt": "608.86"}},
        {"currency": None},
        {"currency": ""},
        {"regularMarketTime": 1e20},
        {"regularMarketTime": -1e20},
        {"regularMarketTime": "yesterday"},
        {"regularMarketPreviousClose": "n/a"},
        {"longName": {"nested": ["odd"]}, "shortName": None},
    ],
    ids=lambda p: ",".join(f"{k}={v!r}" for k, v in p.items()),
)
def test_one_malformed_item_fails_only_its_symbol(service, adapter, warm, patch):
    adapter.patch_items["QQQ"] = patch
    report = service.refresh(TICKERS)
    others = set(TICKERS) - {"QQQ"}
    assert others <= set(report.updated), report.failures
    if "QQQ" in report.failures:  # unusable price: the last good one stays
        assert isinstance(report.failures["QQQ"], BadDataError), report.failures["QQQ"]
        assert price_field(service, "QQQ") == warm["QQQ"]
    else:  # usable price, odd extras ignored
        price = price_field(service, "QQQ")
        assert isinstance(price, float) and math.isfinite(price) and price > 0
    for field in ("price", "currency", "time", "name", "status", "change"):
        value = udfs._scalar("en", lambda f=field: price_field(service, "QQQ", f))
        assert value is not None and not (isinstance(value, float) and not math.isfinite(value))


def test_hang_mid_batch_is_cut_at_the_deadline_and_recovers(service, adapter, warm):
    _fault_from_second_request(adapter, "hang")
    started = time.monotonic()
    report = service.refresh(TICKERS, timeout=1.0)
    elapsed = time.monotonic() - started
    adapter.release.set()
    assert elapsed < 3.0
    # The provider call as a whole missed the deadline: every key failed, none was lost.
    assert set(report.failures) == set(TICKERS)
    assert all(isinstance(e, NetworkError) for e in report.failures.values())
    assert _prices(service) == warm
    adapter.quote_fault_after = None
    assert service.refresh(TICKERS).ok


def test_whole_batch_malformed_then_recovers(service, adapter, warm):
    adapter.faults["quote"] = "json"
    report = service.refresh(TICKERS)
    assert set(report.failures) == set(TICKERS)
    assert all("not JSON" in e.message for e in report.failures.values())
    assert _prices(service) == warm
    del adapter.faults["quote"]
    assert service.refresh(TICKERS).ok
