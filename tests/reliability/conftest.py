"""Fixtures for the reliability tests: a replayed Yahoo service with small chunks, a fake clock."""

from __future__ import annotations

import pytest

from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.service import QuoteService
from etf_rebalancer.quotes.yahoo import YahooProvider
from tests.quotes.replay import replay_session


@pytest.fixture
def service(adapter, tmp_path, clock):
    """The real service over replayed Yahoo; two symbols per request, one at a time.

    Small, sequential chunks make "mid-batch" deterministic: the first request
    answers, the fault hits the second and later ones.
    """
    session, _ = replay_session(adapter)
    provider = YahooProvider(session, cache_dir=tmp_path, chunk_size=2, max_workers=1)
    svc = QuoteService(QuoteCache(tmp_path / "quotes.sqlite"), provider, clock=clock)
    yield svc
    svc.cache.close()
