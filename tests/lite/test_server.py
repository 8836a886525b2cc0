"""``etf-rebal quotes serve`` and the Lite Refresh client, against each other on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import urllib.request

import pytest

from etf_rebalancer.lite import host
from etf_rebalancer.quotes import service as service_module
from etf_rebalancer.quotes.base import Quote
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.memory import MemoryProvider
from etf_rebalancer.quotes.server import LITE_ORIGIN, make_server

WHEN = dt.datetime(2026, 11, 30, 21, 0, tzinfo=dt.UTC)


@pytest.fixture
def quote_service(tmp_path):
    provider = MemoryProvider(
        {
            "QQQ": Quote("QQQ", 640.0, "USD", time=WHEN, kind="ETF"),
            "VOO": Quote("VOO", 620.0, "USD", time=WHEN, kind="ETF"),
            "KRW=X": Quote("KRW=X", 1400.0, "KRW", time=WHEN, kind="CURRENCY"),
        }
    )
    return service_module.QuoteService(QuoteCache(tmp_path / "q.sqlite"), provider)


@pytest.fixture
def server(loopback, quote_service):
    server = make_server("127.0.0.1", 0, service=quote_service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_default_is_loopback():
    server = make_server(port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_lite_client_gets_the_rows_refresh_would_write(server, quote_service):
    url = host.quotes_url(server, ["QQQ", "VOO"], ["USD"], "KRW")
    data = asyncio.run(host.fetch_json(url))  # the Lite script's own client
    rows = host.quote_rows_from_json(data, "en")
    assert rows[0] == ["Ticker", "Price", "Currency", "Time", "Status", "Source"]
    by_ticker = {r[0]: r for r in rows[1:]}
    assert by_ticker["QQQ"][1] == 640.0 and by_ticker["VOO"][2] == "USD"
    assert by_ticker["USD/KRW"][1] == 1400.0
    assert isinstance(by_ticker["QQQ"][3], dt.datetime)  # time comes back as a date
    # The same rows `etf-rebal refresh` writes for these needs (the service's own report).
    report = quote_service.refresh(["QQQ", "VOO"], ["USD"], "KRW")
    assert [r[0] for r in report.rows] == [r[0] for r in rows[1:]]
    assert [r[1] for r in report.rows] == [r[1] for r in rows[1:]]


def test_rows_from_the_server_price_a_lite_plan(server):
    url = host.quotes_url(server, ["QQQ", "VOO"], [], "USD")
    quotes = host.quote_rows_from_json(asyncio.run(host.fetch_json(url)), "en")
    orders = host.REBAL_ORDERS(
        [["Ticker", "Shares"], ["QQQ", 10.0], ["VOO", 0.0]],
        [["Ticker", "Target"], ["QQQ", 0.5], ["VOO", 0.5]],
        1000.0,
        [["Setting", "Value"], ["quote_endpoint", server]],  # Lite's own key is accepted
        None,
        None,
        quotes,
    )
    assert orders[0][0] == "Ticker", orders
    assert {r[0] for r in orders[1:]} <= {"QQQ", "VOO"} and len(orders) > 1


def test_cors_headers_for_lites_origin(server):
    with urllib.request.urlopen(server + "/health", timeout=5) as response:
        assert response.headers["Access-Control-Allow-Origin"] == LITE_ORIGIN
        assert json.loads(response.read()) == {"ok": True}
    preflight = urllib.request.Request(server + "/quotes", method="OPTIONS")
    with urllib.request.urlopen(preflight, timeout=5) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == LITE_ORIGIN
        assert response.headers["Access-Control-Allow-Private-Network"] == "true"
        assert "GET" in response.headers["Access-Control-Allow-Methods"]


def test_bad_requests_answer_json_errors(server):
    for path, status in (("/nope", 404), ("/fx?from=USD&to=", 400)):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(server + path, timeout=5)
        assert caught.value.code == status
        assert "error" in json.loads(caught.value.read())
        assert caught.value.headers["Access-Control-Allow-Origin"] == LITE_ORIGIN
