"""The quote service through replayed Yahoo answers: cache-first cells, one batched refresh."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time

import pytest

from etf_rebalancer import udfs
from etf_rebalancer.engine.market import QuoteNeeds
from etf_rebalancer.errors import InputError, QuoteError
from etf_rebalancer.planning.market import market_data_for
from etf_rebalancer.quotes import service as service_module
from etf_rebalancer.quotes.base import NetworkError, NotFoundError, RateLimitedError
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.service import (
    QuoteService,
    fx_rate,
    get_service,
    history_rows,
    price_field,
)
from etf_rebalancer.quotes.yahoo import YahooProvider
from tests.quotes.replay import replay_session


def test_refresh_is_one_batch_and_fills_the_cache(service, adapter):
    report = service.refresh(
        ["QQQ", 69500.0, "VUSA.L", "CASH", None], currencies=["USD", "GBP"], base_currency="KRW"
    )
    assert report.requested == ("QQQ", "069500", "VUSA.L", "USD/KRW", "GBP/KRW")
    assert set(report.updated) == {"QQQ", "069500", "VUSA.L", "USD/KRW"}
    assert isinstance(report.failures["GBP/KRW"], NotFoundError)
    assert adapter.count("/v7/finance/quote") == 1
    assert report.http_requests == len(adapter.log)
    assert report.rows[0][:3] == ("QQQ", 608.86, "USD")
    assert report.rows[0][4] == "fresh (real-time, Yahoo)"
    assert service.cache.resolved("069500") == "069500.KS"


def test_warm_cache_makes_no_request(service, adapter):
    service.refresh(["QQQ", "SPY"])
    before = len(adapter.log)
    for _ in range(50):
        assert price_field(service, "QQQ", "price") == 608.86
        assert price_field(service, "SPY", None) == 671.93
    assert len(adapter.log) == before


def test_cold_cells_cost_one_batch_not_one_per_cell(service, adapter):
    tickers = ["QQQ", "SPY", "VWCE.DE", "VUSA.L", "247540"]
    answers = [udfs._scalar("en", lambda t=t: price_field(service, t)) for t in tickers]
    assert answers[0] == 608.86  # the first cold cell fetched
    assert all("press Refresh" in a for a in answers[1:])  # the rest of the recalc waited
    assert adapter.count("/v7/finance/quote") == 1
    service._quiet_until = 0.0
    assert price_field(service, "SPY") == 671.93  # next miss fetches every wanted ticker
    assert adapter.count("/v7/finance/quote") == 2
    assert price_field(service, "247540") == 151300.0  # KOSDAQ, resolved in that batch
    assert price_field(service, "VUSA.L", "currency") == "GBP"
    assert adapter.count("/v7/finance/quote") == 2
    assert service.cache.resolved("247540") == "247540.KQ"


def test_failed_refresh_keeps_last_price_and_reports_error(service, adapter, clock):
    service.refresh(["QQQ"])
    clock.advance(3 * 3600)
    adapter.faults["*"] = "dns"
    report = service.refresh(["QQQ"])
    assert isinstance(report.failures["QQQ"], NetworkError)
    assert price_field(service, "QQQ") == 608.86
    status = price_field(service, "QQQ", "status")
    assert status.startswith("error: No connection to Yahoo Finance")
    assert status.endswith("(last price 3 h old)")


def test_status_fresh_then_stale(service, clock):
    service.refresh(["QQQ"])
    assert price_field(service, "QQQ", "status") == "fresh (real-time, Yahoo)"
    clock.advance(3 * 3600)
    assert price_field(service, "QQQ", "status") == "stale (3 h, real-time, Yahoo)"


def test_fields(service):
    service.refresh(["QQQ"])
    assert price_field(service, "qqq", "Previous Close") == 621.08
    assert price_field(service, "QQQ", "change") == pytest.approx(608.86 / 621.08 - 1)
    assert price_field(service, "QQQ", "name") == "Invesco QQQ Trust"
    when = price_field(service, "QQQ", "time")
    assert when == dt.datetime.fromtimestamp(1763150400)
    with pytest.raises(InputError, match="field must be one of price, currency"):
        price_field(service, "QQQ", "bid")


def test_override_wins_and_survives_refresh(service):
    service.refresh(["QQQ"])
    service.set_override("QQQ", 600.0, "USD")
    service.refresh(["QQQ"])
    assert price_field(service, "QQQ") == 600.0
    assert price_field(service, "QQQ", "status").startswith("manual")
    service.clear_override("QQQ")
    assert price_field(service, "QQQ") == 608.86
    with pytest.raises(InputError, match="must be a positive number"):
        service.set_override("QQQ", -1.0)


def test_rate_limit_backs_off_instead_of_retrying(service, adapter):
    adapter.faults["quote"] = "429"
    report = service.refresh(["QQQ", "SPY"])
    assert report.rate_limited and report.notices
    assert all(isinstance(e, RateLimitedError) for e in report.failures.values())
    sent = adapter.count("/v7/finance/quote")
    again = service.refresh(["QQQ", "SPY"])  # an impatient second click
    assert "try again in" in again.failures["QQQ"].message
    for ticker in ["VWCE.DE", "VUSA.L", "069500"]:  # cells don't fetch during the backoff
        assert "HTTP 429" in udfs._scalar("en", lambda t=ticker: price_field(service, t))
    assert adapter.count("/v7/finance/quote") == sent


def test_fx_direct_inverse_and_cross(service):
    service.refresh([], currencies=["USD", "EUR"], base_currency="KRW")
    assert fx_rate(service, "USD", "KRW") == 1457.35
    assert fx_rate(service, "krw", "usd") == pytest.approx(1 / 1457.35)
    assert fx_rate(service, "EUR", "KRW") == 1693.12
    assert fx_rate(service, "USD", "USD") == 1.0
    assert fx_rate(service, "GBp", "GBP") == 0.01
    with pytest.raises(InputError, match="to_currency must be a three-letter"):
        fx_rate(service, "USD", "dollars")


def test_fx_cross_through_usd_without_a_fetch(service, adapter):
    service.refresh([], currencies=["EUR"], base_currency="USD")
    service.refresh([], currencies=["USD"], base_currency="KRW")
    sent = len(adapter.log)
    assert fx_rate(service, "EUR", "KRW") == pytest.approx(1.1618 * 1457.35)
    assert len(adapter.log) == sent


def test_fx_cold_fetch(service, adapter):
    assert fx_rate(service, "USD", "JPY") == 154.57
    assert any("JPY%3DX" in url or "JPY=X" in url for url in adapter.log)


def test_history_rows_cached_after_first_fetch(service, adapter, clock):
    rows = history_rows(service, [["QQQ", "069500"]], "2025-11-10", "2025-11-14")
    assert rows[0] == ["Date", "QQQ", "069500"]
    assert rows[1] == [dt.datetime(2025, 11, 10), 621.0, 57100.0]
    assert len(rows) == 6
    # An unresolved KRX code asks both boards in the same batch and remembers the one answering.
    charts = {u.split("/chart/")[1].split("?")[0] for u in adapter.log if "/chart/" in u}
    assert charts == {"QQQ", "069500.KS", "069500.KQ"}
    assert service.cache.resolved("069500") == "069500.KS"
    sent = adapter.count("/v8/finance/chart/")
    close = history_rows(service, "QQQ", dt.datetime(2025, 11, 10), 45975.0, "close")
    assert close[-1] == [dt.datetime(2025, 11, 14), 608.86]
    history_rows(service, "069500", "2025-11-10", "2025-11-14")
    assert adapter.count("/v8/finance/chart/") == sent  # both answered from the cache
    with pytest.raises(QuoteError, match="NOSUCH"):
        history_rows(service, "NOSUCH", "2025-11-10", "2025-11-14")
    with pytest.raises(InputError, match="end must not be before start"):
        history_rows(service, "QQQ", "2025-11-14", "2025-11-10")


def test_market_data_for_fills_prices_fx_kinds_names(service, clock):
    needs = QuoteNeeds(
        tickers=("QQQ", "069500", "NOSUCH"), currencies=("USD",), base_currency="KRW"
    )
    market = market_data_for(needs, service)
    assert market.prices == {"QQQ": 608.86, "069500": 56780.0}
    assert market.currencies == {"QQQ": "USD", "069500": "KRW"}
    assert market.kinds == {"QQQ": "ETF", "069500": "ETF"}
    assert market.names["069500"] == "Samsung KODEX 200 Securities ETF"
    assert market.fx == {"USD": 1457.35}
    assert "NOSUCH" in market.failures and not market.notices
    clock.advance(2 * 86400)
    stale = market_data_for(needs, service)
    text = "QQQ price is not fresh: stale (2 d, real-time, Yahoo)"
    assert any(text in n.message for n in stale.notices)


def test_offline_answers_fast_from_cache(tmp_path, clock, monkeypatch):
    cache = QuoteCache(tmp_path / "quotes.sqlite")
    online = QuoteService(
        cache, YahooProvider(replay_session()[0], cache_dir=tmp_path), clock=clock
    )
    online.refresh(["QQQ"])
    offline = QuoteService(QuoteCache(tmp_path / "quotes.sqlite"), None, clock=clock)
    clock.advance(5 * 3600)
    assert price_field(offline, "QQQ") == 608.86
    assert price_field(offline, "QQQ", "status") == "stale (5 h, real-time, Yahoo)"
    with pytest.raises(QuoteError, match="No cached price for SPY and working offline"):
        price_field(offline, "SPY")


def test_hung_network_never_hangs_a_cell(tmp_path, clock):
    session, adapter = replay_session()
    adapter.faults["*"] = "hang"
    svc = QuoteService(
        QuoteCache(tmp_path / "q.sqlite"),
        YahooProvider(session, cache_dir=tmp_path),
        clock=clock,
        cold_timeout=0.5,
    )
    started = time.monotonic()
    first = udfs._scalar("en", lambda: price_field(svc, "QQQ"))
    others = [udfs._scalar("en", lambda t=t: price_field(svc, t)) for t in ["SPY", "VWCE.DE"]]
    elapsed = time.monotonic() - started
    adapter.release.set()
    assert "no answer from the quote server within 0.5 s" in first
    assert all("press Refresh" in text for text in others)
    assert elapsed < 2.0


def test_corrupt_cache_is_rebuilt(tmp_path):
    path = tmp_path / "quotes.sqlite"
    path.write_bytes(b"this is not a database, it was overwritten" * 100)
    cache = QuoteCache(path)
    assert cache.notices and "rebuilt" in cache.notices[0].message
    assert cache.get("QQQ") is None
    assert any(p.name.startswith("quotes.sqlite.corrupt-") for p in tmp_path.iterdir())
    sqlite3.connect(path).execute("SELECT * FROM quotes").fetchall()


def test_readers_never_see_torn_rows(service, clock):
    service.refresh(["QQQ"])
    stop = threading.Event()
    seen: list[tuple] = []

    def reader():
        while not stop.is_set():
            row = service.lookup("QQQ")
            seen.append((row.override_price, row.override_currency))

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(200):
        service.set_override("QQQ", 500.0 + i, "USD" if i % 2 else "EUR")
    stop.set()
    thread.join()
    pairs = {(500.0 + i, "USD" if i % 2 else "EUR") for i in range(200)} | {(None, "")}
    assert set(seen) <= pairs


def test_another_process_writes_are_seen(service, tmp_path, clock):
    service.refresh(["QQQ"])
    other = QuoteCache(tmp_path / "quotes.sqlite")
    row = other.get("QQQ")
    from dataclasses import replace

    other.put([replace(row, price=700.0)])
    service.cache._next_check = 0.0
    assert price_field(service, "QQQ") == 700.0


def test_get_service_is_process_wide_and_offline_aware(monkeypatch, tmp_path):
    monkeypatch.setenv("ETF_REBAL_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("ETF_REBAL_OFFLINE", "1")
    first = get_service()
    assert first is get_service() and first.offline
    assert (tmp_path / "quotes.sqlite").exists()
    monkeypatch.delenv("ETF_REBAL_OFFLINE")
    assert not get_service().offline
    assert service_module.cache_dir() == tmp_path


def test_udfs_answer_text_offline(monkeypatch):
    monkeypatch.setenv("ETF_REBAL_OFFLINE", "1")
    assert "No cached price for QQQ" in udfs.ETF_PRICE("QQQ")
    assert udfs.ETF_PRICE(69500.0, "status").startswith("error: No cached price for 069500")
    assert "USD/KRW" in udfs.ETF_FX("USD", "KRW")
    history = udfs.ETF_HISTORY("QQQ", "2025-01-01")[0][0]
    assert history.startswith("Error: No cached history for QQQ from 2025-01-01")
    assert "paste prices" in history
    get_service().set_override("QQQ", 400, "USD")
    assert udfs.ETF_PRICE("QQQ") == 400.0
