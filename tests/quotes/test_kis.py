"""The optional KIS Open API provider: the user's own app key from the environment, replayed."""

from __future__ import annotations

import pytest

from etf_rebalancer.quotes import registry
from etf_rebalancer.quotes.base import BadDataError, NetworkError, NotFoundError, Quote
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.functions import price_field
from etf_rebalancer.quotes.kis import KEY_ENV, SECRET_ENV, KisProvider
from etf_rebalancer.quotes.naver import NaverProvider
from etf_rebalancer.quotes.routing import KrxFirst
from etf_rebalancer.quotes.service import QuoteService
from etf_rebalancer.quotes.yahoo import YahooProvider
from tests.quotes.replay import kis_session, naver_session, replay_session

KEY, SECRET = "test-key-PS00000000", "test-secret-00000000"


@pytest.fixture
def kis():
    session, adapter = kis_session()
    return KisProvider(KEY, SECRET, session), adapter


def test_token_once_then_one_request_per_code(kis):
    provider, adapter = kis
    got = provider.fetch_quotes(["069500", "005930.KS"], timeout=2)
    assert (got["069500"].price, got["069500"].previous_close) == (56860.0, 56780.0)
    assert got["005930.KS"].price == 97600.0
    assert got["069500"].source == "kis" and got["069500"].delay == "real-time"
    assert sum("/oauth2/tokenP" in u for u in adapter.log) == 1
    prices = [h for u, h in zip(adapter.log, adapter.headers, strict=True) if "inquire" in u]
    assert len(prices) == 2
    assert all(h["tr_id"] == "FHKST01010100" and h["appkey"] == KEY for h in prices)
    assert all(h["authorization"].startswith("Bearer eyJ") for h in prices)
    provider.fetch_quotes(["069500"], timeout=2)
    assert sum("/oauth2/tokenP" in u for u in adapter.log) == 1  # the token is reused


def test_unknown_code_answers_zeros_and_is_not_found(kis):
    provider, _ = kis
    failure = provider.fetch_quotes(["999990"], timeout=2)["999990"]
    assert isinstance(failure.error, NotFoundError) and "999990" in failure.error.message


def test_expired_token_is_renewed_once(kis):
    provider, adapter = kis
    provider.fetch_quotes(["069500"], timeout=2)
    adapter.expire_once = True
    assert isinstance(provider.fetch_quotes(["069500"], timeout=2)["069500"], Quote)
    assert sum("/oauth2/tokenP" in u for u in adapter.log) == 2


@pytest.mark.parametrize(
    ("setup", "kind"),
    [
        (lambda a: setattr(a, "answer", "too_many.json"), BadDataError),
        (lambda a: setattr(a, "bad_key", True), BadDataError),
        (lambda a: setattr(a, "fault", "500"), BadDataError),
        (lambda a: setattr(a, "fault", "dns"), NetworkError),
    ],
    ids=["refused", "bad-key", "500", "dns"],
)
def test_failures_are_values_naming_the_code(kis, setup, kind):
    provider, adapter = kis
    setup(adapter)
    got = provider.fetch_quotes(["069500", "005930"], timeout=2)
    for symbol, failure in got.items():
        assert isinstance(failure.error, kind), failure
        assert symbol in failure.error.message
    assert "005930" not in got["069500"].error.message


def test_first_for_krx_with_naver_and_yahoo_behind(tmp_path, clock):
    ksession, kadapter = kis_session()
    nsession, nadapter = naver_session()
    ysession, _ = replay_session()
    chain = KrxFirst(
        KisProvider(KEY, SECRET, ksession),
        KrxFirst(NaverProvider(nsession), YahooProvider(ysession, cache_dir=tmp_path)),
    )
    svc = QuoteService(QuoteCache(tmp_path / "q.sqlite"), chain, clock=clock)
    svc.refresh(["069500", "QQQ"])
    assert price_field(svc, "069500") == 56860.0
    assert price_field(svc, "069500", "status") == "fresh (real-time, KIS)"
    assert price_field(svc, "QQQ", "status") == "fresh (real-time, Yahoo)"
    assert not nadapter.log  # Naver was not needed
    kadapter.fault = "500"
    svc.refresh(["069500"])
    assert price_field(svc, "069500", "status") == "fresh (real-time, Naver)"
    # The credentials are never written anywhere: not in the cache file.
    svc.cache.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("q.sqlite*"))
    assert KEY.encode() not in stored and SECRET.encode() not in stored
    assert KEY not in repr(chain.primary)


def test_enabled_only_by_the_environment(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(SECRET_ENV, raising=False)
    assert KisProvider.from_env() is None
    monkeypatch.setenv(KEY_ENV, KEY)
    assert KisProvider.from_env() is None  # both are needed
    monkeypatch.setenv(SECRET_ENV, SECRET)
    assert isinstance(KisProvider.from_env(), KisProvider)
    monkeypatch.setenv("ETF_REBAL_OFFLINE", "0")
    provider = registry.get_service(offline=False).provider
    assert isinstance(provider, KrxFirst) and isinstance(provider.primary, KisProvider)
