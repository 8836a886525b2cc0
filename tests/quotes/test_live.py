"""Live smoke test against Yahoo Finance: run with ``pytest --live``."""

from __future__ import annotations

import pytest

from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.service import QuoteService, fx_rate, price_field
from etf_rebalancer.quotes.yahoo import YahooProvider


@pytest.mark.live
def test_live_refresh(tmp_path):
    service = QuoteService(QuoteCache(tmp_path / "q.sqlite"), YahooProvider(cache_dir=tmp_path))
    report = service.refresh(["QQQ", "069500", "VUSA.L"], ["USD"], "KRW", timeout=30)
    assert not report.rate_limited, report.failures
    assert set(report.updated) >= {"QQQ", "069500", "USD/KRW"}, report.failures
    assert price_field(service, "QQQ") > 0
    assert price_field(service, "069500", "currency") == "KRW"
    assert price_field(service, "VUSA.L", "currency") == "GBP"
    assert 500 < fx_rate(service, "USD", "KRW") < 5000
    assert report.http_requests <= 6


@pytest.mark.live
def test_live_history_in_krw_for_the_korean_template(tmp_path):
    """The Korean investor's Prices sheet: KRX and US listings in KRW, mixed calendars."""
    import datetime as dt

    from etf_rebalancer.quotes.service import history_rows

    service = QuoteService(QuoteCache(tmp_path / "q.sqlite"), YahooProvider(cache_dir=tmp_path))
    start = dt.date.today() - dt.timedelta(days=60)
    local = history_rows(service, [["069500"], ["QQQ"]], start, None)
    krw = history_rows(service, [["069500"], ["QQQ"]], start, None, "KRW")
    assert krw[0] == ["Date", "069500", "QQQ"] and len(krw) > 30
    last = next(r for r in reversed(krw) if r[2] is not None)
    usd = next(r for r in local if r[0] == last[0])
    assert 500 < last[2] / usd[2] < 5000  # QQQ times a USD/KRW rate
    assert [r[1] for r in krw[1:]] == [r[1] for r in local[1:]]  # KRW listings unchanged
