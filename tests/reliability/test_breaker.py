"""One breaker for the quote layer: a hung network costs about 1 s per burst, then nothing.

The network is a real loopback server that accepts connections and never
answers (``tests/quotes/loopback.py``): requests connect, then wait for their
read timeout, as with a silent proxy or a captive portal.
"""

from __future__ import annotations

import time

import pytest

from etf_rebalancer import udfs
from etf_rebalancer.quotes.breaker import BUDGET, Breaker
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.functions import fx_rate, history_rows, price_field
from etf_rebalancer.quotes.naver import NaverProvider
from etf_rebalancer.quotes.routing import KrxFirst
from etf_rebalancer.quotes.service import QuoteService
from etf_rebalancer.quotes.yahoo import YahooProvider
from tests.quotes.loopback import HangingServer, allow_loopback, loopback_session
from tests.quotes.replay import ReplayAdapter, replay_session

CELLS = ["QQQ", "069500", "SPY", "VWCE.DE", "0030R0"]


@pytest.fixture
def hung(tmp_path, monkeypatch):
    allow_loopback(monkeypatch)
    with HangingServer(lifetime=30) as server:
        provider = KrxFirst(
            NaverProvider(loopback_session(server.port)),
            YahooProvider(loopback_session(server.port), cache_dir=tmp_path),
        )
        svc = QuoteService(QuoteCache(tmp_path / "q.sqlite"), provider)
        yield svc, server
        svc.cache.close()


def _recalc(svc: QuoteService) -> tuple[float, list]:
    """Every quote function once, as a recalculation of a cold workbook would call them."""
    started = time.monotonic()
    answers = [udfs._scalar("en", lambda t=t: price_field(svc, t)) for t in CELLS]
    answers.append(udfs._scalar("en", lambda: price_field(svc, "069500", "status")))
    answers.append(udfs._scalar("en", lambda: fx_rate(svc, "USD", "KRW")))
    answers.append(udfs._table("en", lambda: history_rows(svc, "QQQ", "2025-01-02", "2025-06-30")))
    answers.append(udfs._table("en", lambda: history_rows(svc, "069500", "2025-01-02")))
    return time.monotonic() - started, answers


def test_hung_network_costs_about_one_budget_then_nothing(hung):
    svc, server = hung
    first, answers = _recalc(svc)
    assert first < BUDGET + 0.6, first
    assert server.accepted >= 1  # the requests really went out and hung
    assert all(isinstance(a, str) for a in answers[:-2]), answers
    assert all(isinstance(t[0][0], str) and len(t) == 1 for t in answers[-2:])
    assert svc.breaker.is_open
    # Every later recalculation, ETF_HISTORY included, answers at once.
    for _ in range(3):
        again, answers = _recalc(svc)
        assert again < 0.3, again
    assert "press Refresh" in answers[0]


def test_refresh_closes_the_breaker_and_tries_again(hung):
    svc, _ = hung
    _recalc(svc)
    assert svc.breaker.is_open
    started = time.monotonic()
    report = svc.refresh(["QQQ"], timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert not report.ok
    assert svc.breaker.is_open  # the refresh failed too: cells still do not wait


def test_back_off_expires():
    now = [0.0]
    breaker = Breaker(budget=1.0, burst=3.0, clock=lambda: now[0])
    assert breaker.allowance() == 1.0
    breaker.spend(0.7)
    assert breaker.allowance() == pytest.approx(0.3)  # same burst: what is left
    now[0] = 3.5
    assert breaker.allowance() == 1.0  # a new burst
    breaker.trip(60.0)
    assert breaker.allowance() == 0.0 and breaker.is_open
    now[0] = 64.0
    assert breaker.allowance() == 1.0 and not breaker.is_open
    breaker.trip(60.0)
    breaker.reset()
    assert breaker.allowance() == 1.0


def test_cached_prices_are_answered_while_open(hung, tmp_path):
    svc, _ = hung
    from etf_rebalancer.quotes.cache import CachedQuote

    svc.cache.put([CachedQuote("QQQ", "QQQ", 600.0, "USD", fetched_at=time.time())])
    _recalc(svc)
    started = time.monotonic()
    assert price_field(svc, "QQQ") == 600.0
    assert time.monotonic() - started < 0.05


def test_commands_get_patience_cells_do_not(hung):
    svc, _ = hung
    _recalc(svc)
    assert svc.breaker.is_open
    started = time.monotonic()
    with svc.patience(1.5):  # etf-rebal backtest, the Refresh button's backtest sheet
        history_rows_answer = udfs._table(
            "en", lambda: history_rows(svc, "SPY", "2025-01-02", "2025-03-31")
        )
    waited = time.monotonic() - started
    assert 1.3 <= waited < 2.2, waited  # it tried again, for longer than a cell may
    assert isinstance(history_rows_answer[0][0], str)
    assert svc.breaker.budget == BUDGET  # cells are back on the ~1 s allowance


class _Slow(ReplayAdapter):
    """Yahoo answering, but only after ``delay`` seconds (a slow network, not a dead one)."""

    delay = 1.6

    def send(self, request, **kwargs):
        if "/v7/finance/quote" in (request.url or ""):
            time.sleep(self.delay)
        return super().send(request, **kwargs)


def test_a_late_answer_is_stored_for_the_next_recalculation(tmp_path):
    session, adapter = replay_session(_Slow())
    svc = QuoteService(
        QuoteCache(tmp_path / "q.sqlite"), YahooProvider(session, cache_dir=tmp_path)
    )
    started = time.monotonic()
    first = udfs._scalar("en", lambda: price_field(svc, "QQQ"))
    assert time.monotonic() - started < BUDGET + 0.4
    assert isinstance(first, str) and "QQQ" in first  # the cell did not wait for it
    deadline = time.monotonic() + 5
    # Stored, and the breaker closed again: a slow network is not a dead one.
    while svc.lookup("QQQ") is None or svc.lookup("QQQ").price is None or svc.breaker.is_open:
        assert time.monotonic() < deadline, "the late answer was never stored"
        time.sleep(0.05)
    sent = adapter.count("/v7/finance/quote")
    assert price_field(svc, "QQQ") == 608.86  # the next recalculation has it, no new request
    assert adapter.count("/v7/finance/quote") == sent
    svc.cache.close()
