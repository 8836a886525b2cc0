"""Yahoo refuses the batch quote endpoint: the same call falls back to the chart endpoint."""

from __future__ import annotations

import threading
import time

import pytest

from etf_rebalancer.quotes import yahoo as yahoo_module
from etf_rebalancer.quotes.base import NetworkError, NotFoundError, Quote, RateLimitedError
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.functions import price_field
from etf_rebalancer.quotes.service import QuoteService
from etf_rebalancer.quotes.yahoo import YahooProvider
from tests.quotes.replay import ReplayAdapter, replay_session

SYMBOLS = ["QQQ", "VUSA.L", "069500.KS"]
REFUSALS = ["401crumb", "401access", "403"]


@pytest.mark.parametrize("refusal", REFUSALS)
def test_refused_batch_falls_back_to_chart_in_the_same_call(yahoo, adapter, refusal):
    adapter.faults["quote"] = refusal
    got = yahoo.fetch_quotes(SYMBOLS, timeout=2)
    assert all(isinstance(q, Quote) for q in got.values()), got
    assert got["QQQ"].price == 608.86 and got["QQQ"].currency == "USD"
    assert got["VUSA.L"].currency == "GBP"  # pence turned into pounds on this path too
    assert got["069500.KS"].delay == "delayed 20 min"
    assert got["QQQ"].source == "yahoo" and got["QQQ"].kind == "ETF"
    charts = {u.split("/chart/")[1].split("?")[0] for u in adapter.log if "/chart/" in u}
    assert charts == set(SYMBOLS)


def test_the_working_path_is_remembered_for_a_while(yahoo, adapter):
    now = [1000.0]
    yahoo.clock = lambda: now[0]
    adapter.faults["quote"] = "401crumb"
    yahoo.fetch_quotes(["QQQ"], timeout=2)
    batch = adapter.count("/v7/finance/quote")
    assert yahoo.fetch_quotes(["SPY"], timeout=2)["SPY"].price == 671.93
    assert adapter.count("/v7/finance/quote") == batch  # straight to the chart path
    now[0] += yahoo_module.CHART_PATH_MEMORY + 1
    del adapter.faults["quote"]
    charts = adapter.count("/v8/finance/chart/")
    assert isinstance(yahoo.fetch_quotes(["QQQ"], timeout=2)["QQQ"], Quote)
    assert adapter.count("/v7/finance/quote") == batch + 1  # tried the batch path again
    assert adapter.count("/v8/finance/chart/") == charts


def test_cookie_failure_then_crumbless_refusal(yahoo, adapter):
    adapter.faults["crumb"] = "dns"  # the cookie/crumb step fails: yfinance goes on without
    adapter.quote_needs_crumb = True
    got = yahoo.fetch_quotes(["QQQ", "SPY"], timeout=2)
    assert all(isinstance(q, Quote) for q in got.values()), got
    assert adapter.count("/v8/finance/chart/") >= 2


@pytest.mark.parametrize(("fault", "kind"), [("429", RateLimitedError), ("dns", NetworkError)])
def test_rate_limits_and_outages_are_not_refusals(yahoo, adapter, fault, kind):
    adapter.faults["quote"] = fault
    got = yahoo.fetch_quotes(["QQQ", "SPY"], timeout=2)
    assert all(isinstance(f.error, kind) for f in got.values())
    assert adapter.count("/v8/finance/chart/") == 0


def test_unknown_symbol_on_the_chart_path(yahoo, adapter):
    adapter.faults["quote"] = "401crumb"
    got = yahoo.fetch_quotes(["QQQ", "NOSUCH"], timeout=2)
    assert isinstance(got["QQQ"], Quote)
    assert isinstance(got["NOSUCH"].error, NotFoundError)
    assert "QQQ" not in got["NOSUCH"].error.message


class _Counting(ReplayAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.peak = 0
        self._count = threading.Lock()

    def send(self, request, **kwargs):
        if "/chart/" not in (request.url or ""):
            return super().send(request, **kwargs)
        with self._count:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(0.02)
            return super().send(request, **kwargs)
        finally:
            with self._count:
                self.active -= 1


def test_chart_fallback_concurrency_is_bounded(tmp_path):
    session, adapter = replay_session(_Counting())
    provider = YahooProvider(session, cache_dir=tmp_path, max_workers=2)
    adapter.faults["quote"] = "403"
    got = provider.fetch_quotes([f"SYM{n}" for n in range(8)], timeout=2)
    assert all(isinstance(q, Quote) for q in got.values())
    assert 1 <= adapter.peak <= 2


def test_chart_fallback_keeps_the_deadline(yahoo, adapter):
    ticks = iter(range(0, 1000, 1))
    yahoo.clock = lambda: float(next(ticks))  # one second per look at the clock
    yahoo.max_workers = 1
    adapter.faults["quote"] = "401crumb"
    got = yahoo.fetch_quotes([f"SYM{n}" for n in range(6)], timeout=2)
    late = [s for s, r in got.items() if not isinstance(r, Quote)]
    assert late, "every symbol was fetched although the deadline had passed"
    for symbol in late:
        assert isinstance(got[symbol].error, NetworkError)
        assert "ran out of time" in got[symbol].error.message


def test_refresh_survives_a_refusal(tmp_path, clock):
    session, adapter = replay_session()
    adapter.faults["quote"] = "401access"
    svc = QuoteService(
        QuoteCache(tmp_path / "q.sqlite"), YahooProvider(session, cache_dir=tmp_path), clock=clock
    )
    report = svc.refresh(["QQQ", "069500", "USD/KRW"])
    assert report.ok, report.failures
    assert price_field(svc, "069500", "status") == "fresh (delayed 20 min, Yahoo)"
    assert price_field(svc, "USD/KRW") == pytest.approx(1457.35)
    svc.cache.close()
