"""Naver Finance first for KRX codes, Yahoo behind it: replayed answers through real sessions."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from etf_rebalancer import udfs
from etf_rebalancer.quotes.base import BadDataError, NetworkError, NotFoundError, Quote
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.functions import history_rows, price_field
from etf_rebalancer.quotes.naver import NaverProvider, decode_body
from etf_rebalancer.quotes.routing import KrxFirst
from etf_rebalancer.quotes.service import QuoteService
from etf_rebalancer.quotes.yahoo import YahooProvider
from tests.quotes.replay import NAVER, NAVER_TIME, ReplayAdapter, naver_session, replay_session

SEOUL_AFTERNOON = dt.datetime.fromtimestamp(NAVER_TIME / 1000, tz=dt.UTC)


@pytest.fixture
def naver():
    session, adapter = naver_session()
    return NaverProvider(session), adapter


@pytest.fixture
def routed(naver, tmp_path, clock):
    provider, nadapter = naver
    session, yadapter = replay_session(ReplayAdapter())
    routed = KrxFirst(provider, YahooProvider(session, cache_dir=tmp_path))
    svc = QuoteService(QuoteCache(tmp_path / "q.sqlite"), routed, clock=clock, cold_timeout=3)
    yield svc, nadapter, yadapter
    svc.cache.close()


# ---------------------------------------------------------------- the provider alone


def test_good_batch_is_one_request_with_korean_names(naver):
    provider, adapter = naver
    got = provider.fetch_quotes(["005930", "069500.KS", "247540.KQ", "0030R0"], timeout=2)
    assert len(adapter.log) == 1 and provider.http_requests == 1
    assert adapter.codes(adapter.log[0]) == ["005930", "069500", "247540", "0030R0"]
    assert {s: q.name for s, q in got.items()} == {
        "005930": "삼성전자",
        "069500.KS": "KODEX 200",
        "247540.KQ": "에코프로비엠",
        "0030R0": "예시 ETF 0030R0",
    }
    kodex = got["069500.KS"]
    assert isinstance(kodex, Quote)
    assert (kodex.price, kodex.previous_close, kodex.currency) == (56850.0, 56780.0, "KRW")
    assert (kodex.kind, got["005930"].kind) == ("ETF", "EQUITY")  # nav is null for stocks
    assert (kodex.source, kodex.delay, kodex.time) == ("naver", "real-time", SEOUL_AFTERNOON)
    assert kodex.symbol == "069500"  # Naver does not say which board


def test_chunks_many_codes(naver):
    provider, adapter = naver
    provider.chunk_size = 2
    provider.fetch_quotes(["005930", "069500", "247540", "0030R0", "005930.KS"], timeout=2)
    assert sorted(len(adapter.codes(u)) for u in adapter.log) == [2, 2]


@pytest.mark.parametrize("charset", [None, "UTF-8", "EUC-KR"])
@pytest.mark.parametrize("encoding", ["utf-8", "euc-kr"])
def test_euc_kr_and_utf8_decode_alike_whatever_the_header_says(naver, encoding, charset):
    provider, adapter = naver
    adapter.encoding, adapter.charset = encoding, charset
    got = provider.fetch_quotes(["005930", "069500"], timeout=2)
    assert [q.name for q in got.values()] == ["삼성전자", "KODEX 200"]


def test_recorded_euc_kr_answer(naver):
    provider, adapter = naver
    raw = (NAVER / "answers" / "batch_euckr.json").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is EUC-KR
    assert "삼성전자" in decode_body(raw)
    adapter.answer = "batch_euckr.json"
    got = provider.fetch_quotes(["005930", "069500"], timeout=2)
    assert got["005930"].name == "삼성전자" and got["069500"].price == 56850.0


def test_unknown_code_is_not_found(naver):
    provider, adapter = naver
    got = provider.fetch_quotes(["069500", "999990", "QQQ"], timeout=2)
    assert isinstance(got["069500"], Quote)
    assert isinstance(got["999990"].error, NotFoundError)
    assert "999990" in got["999990"].error.message
    assert isinstance(got["QQQ"].error, NotFoundError)  # not a KRX code: never sent
    assert adapter.codes(adapter.log[0]) == ["069500", "999990"]


@pytest.mark.parametrize(
    ("patch", "delay"),
    [
        ({"ms": "CLOSE"}, "market closed"),
        ({"ms": "PREOPEN"}, "before the open"),
        ({"tyn": "Y"}, "trading halted"),
        ({"ms": "CLOSE", "tyn": "Y"}, "trading halted"),
    ],
)
def test_market_closed_and_trading_halt_are_said(naver, patch, delay):
    provider, adapter = naver
    adapter.patch_items["005930"] = patch
    got = provider.fetch_quotes(["005930"], timeout=2)["005930"]
    assert isinstance(got, Quote) and got.price == 97500.0 and got.delay == delay


@pytest.mark.parametrize(
    "answer", ["not_success.json", "no_areas.json", "empty_body.txt", "maintenance.html"]
)
def test_changed_or_empty_payload_is_bad_data(naver, answer):
    provider, adapter = naver
    adapter.answer = answer
    got = provider.fetch_quotes(["005930", "069500"], timeout=2)
    for failure in got.values():
        assert isinstance(failure.error, BadDataError), failure
    assert "069500" in got["069500"].error.message and "005930" not in got["069500"].error.message


def test_empty_datas_is_not_found(naver):
    provider, adapter = naver
    adapter.answer = "empty_datas.json"
    assert isinstance(provider.fetch_quotes(["069500"], timeout=2)["069500"].error, NotFoundError)


@pytest.mark.parametrize(
    "patch",
    [{"nv": None}, {"nv": 0}, {"nv": "-"}, {"ms": "SUSPENDED"}, {"nv": [1]}],
    ids=["null", "zero", "dash", "new-state", "list"],
)
def test_odd_fields_fail_that_code_only(naver, patch):
    provider, adapter = naver
    adapter.patch_items["069500"] = patch
    got = provider.fetch_quotes(["005930", "069500"], timeout=2)
    assert isinstance(got["005930"], Quote)
    assert isinstance(got["069500"].error, BadDataError)


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("500", BadDataError),
        ("403", BadDataError),
        ("dns", NetworkError),
        ("timeout", NetworkError),
    ],
)
def test_http_and_network_errors_are_values(naver, fault, kind):
    provider, adapter = naver
    adapter.fault = fault
    got = provider.fetch_quotes(["005930", "069500"], timeout=2)
    assert all(isinstance(f.error, kind) for f in got.values())
    assert "005930" not in got["069500"].error.message  # one message per code


def test_comma_numbers_are_read(naver):
    provider, adapter = naver
    adapter.patch_items["005930"] = {"nv": "97,500", "pcv": "97,200"}
    got = provider.fetch_quotes(["005930"], timeout=2)["005930"]
    assert (got.price, got.previous_close) == (97500.0, 97200.0)


# ---------------------------------------------------------------- routed, through the service


def test_krx_from_naver_the_rest_from_yahoo(routed):
    svc, nadapter, yadapter = routed
    report = svc.refresh(["069500", "QQQ", "247540"], ["USD"], "KRW")
    assert report.ok, report.failures
    assert len(nadapter.log) == 1  # both KRX codes in one Naver request
    sent = ",".join(yadapter.log)
    assert "069500" not in sent and "247540" not in sent  # Yahoo never asked for them
    assert price_field(svc, "069500") == 56850.0
    assert price_field(svc, "069500", "name") == "KODEX 200"
    assert udfs._scalar("en", lambda: price_field(svc, "069500", "status")) == (
        "fresh (real-time, Naver)"
    )
    assert price_field(svc, "QQQ", "status") == "fresh (real-time, Yahoo)"
    assert price_field(svc, "USD/KRW", "status") == "fresh (real-time, Yahoo)"
    rows = {r[0]: r for r in report.rows}
    assert rows["069500"][4:] == ("fresh (real-time, Naver)", "naver")
    assert rows["QQQ"][5] == "yahoo"
    # Naver does not say the board: nothing is remembered from it.
    assert svc.cache.resolved("069500") is None


def test_naver_market_closed_shows_in_status(routed):
    svc, nadapter, _ = routed
    nadapter.patch_items["069500"] = {"ms": "CLOSE"}
    svc.refresh(["069500"])
    assert price_field(svc, "069500", "status") == "fresh (market closed, Naver)"


@pytest.mark.parametrize(
    "break_naver",
    [
        lambda a: setattr(a, "fault", "500"),
        lambda a: setattr(a, "fault", "403"),
        lambda a: setattr(a, "fault", "dns"),
        lambda a: setattr(a, "answer", "no_areas.json"),
        lambda a: setattr(a, "answer", "not_success.json"),
        lambda a: setattr(a, "answer", "maintenance.html"),
        lambda a: a.fail_codes.add("069500"),
        lambda a: a.patch_items.update({"069500": {"ms": "SUSPENDED"}}),
    ],
    ids=["500", "403", "dns", "changed", "not-success", "html", "unknown", "odd-state"],
)
def test_anything_unexpected_fails_over_to_yahoo(routed, break_naver):
    svc, nadapter, yadapter = routed
    break_naver(nadapter)
    report = svc.refresh(["069500", "005930"])
    assert "069500" in report.updated
    assert price_field(svc, "069500") == 56780.0  # Yahoo's recorded price
    assert price_field(svc, "069500", "status") == "fresh (delayed 20 min, Yahoo)"
    assert price_field(svc, "069500", "name") == "Samsung KODEX 200 Securities ETF"
    assert svc.cache.resolved("069500") == "069500.KS"  # Yahoo's answer names the board
    assert yadapter.count("/v7/finance/quote") == 1


def test_both_down_names_only_the_code(routed):
    svc, nadapter, yadapter = routed
    nadapter.fault = "dns"
    yadapter.faults["*"] = "dns"
    report = svc.refresh(["069500", "005930"])
    assert set(report.failures) == {"069500", "005930"}
    message = report.failures["069500"].message
    assert "069500" in message and "005930" not in message


def test_a_provider_bug_in_naver_leaves_the_code_to_yahoo(routed, monkeypatch):
    svc, _, _ = routed

    def boom(*args, **kwargs):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(svc.provider.primary, "fetch_quotes", boom)
    assert svc.refresh(["069500"]).ok
    assert price_field(svc, "069500", "status") == "fresh (delayed 20 min, Yahoo)"


def test_krx_history_stays_on_yahoo(routed):
    svc, nadapter, _ = routed
    svc.refresh(["069500"])
    rows = history_rows(svc, "069500", "2025-11-10", "2025-11-14")
    assert rows[1] == [dt.datetime(2025, 11, 10), 57100.0]
    assert not any("chart" in u for u in nadapter.log)
    assert svc.cache.resolved("069500") == "069500.KS"


def test_hanging_naver_costs_a_cell_about_the_budget(tmp_path, clock):
    session, nadapter = naver_session()
    nadapter.fault = "hang"
    ysession, _ = replay_session()
    svc = QuoteService(
        QuoteCache(tmp_path / "q.sqlite"),
        KrxFirst(NaverProvider(session), YahooProvider(ysession, cache_dir=tmp_path)),
        clock=clock,
    )
    try:
        started = time.monotonic()
        answers = [
            udfs._scalar("en", lambda t=t: price_field(svc, t)) for t in ["069500", "005930"]
        ]
        elapsed = time.monotonic() - started
    finally:
        nadapter.release.set()
    assert elapsed < 1.6, elapsed
    assert all(isinstance(a, str) for a in answers)
    assert threading.active_count() < 50
