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
