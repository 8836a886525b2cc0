"""Fixtures for the quote layer: replayed Yahoo sessions, fake clocks, fresh services."""

from __future__ import annotations

import pytest

from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.service import QuoteService
from etf_rebalancer.quotes.yahoo import YahooProvider
from tests.quotes.replay import replay_session


class FakeClock:
    """Epoch seconds that only move when a test says so."""

    def __init__(self, now: float = 1_763_160_000.0) -> None:  # 2025-11-14 22:40 UTC
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def yahoo(adapter, tmp_path) -> YahooProvider:
    session, _ = replay_session(adapter)
    return YahooProvider(session, cache_dir=tmp_path)


@pytest.fixture
def service(yahoo, tmp_path, clock) -> QuoteService:
    svc = QuoteService(QuoteCache(tmp_path / "quotes.sqlite"), yahoo, clock=clock, cold_timeout=3)
    yield svc
    svc.cache.close()
