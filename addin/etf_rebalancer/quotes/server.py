"""``etf-rebal quotes serve``: quotes and FX from the quote layer as JSON, for xlwings Lite.

Browsers may not call Yahoo or Naver (no CORS headers), so a Lite workbook
cannot fetch prices itself. This small server (standard library
:mod:`http.server`, loopback by default) answers from
:func:`etf_rebalancer.quotes.service.get_service` with the CORS header Lite's
origin needs: Lite's code runs on ``https://addin.xlwings.org`` (its docs' "Web
API Requests" page names this origin for ``Access-Control-Allow-Origin``).
Preflights also get ``Access-Control-Allow-Private-Network`` (Chrome's private
network access rule for a public page calling ``127.0.0.1``).

Endpoints (GET):

- ``/quotes?tickers=QQQ,069500&currencies=USD&base=KRW``: the rows
  ``etf-rebal refresh`` writes into a Quotes sheet (Ticker, Price, Currency,
  Time, Status, Source) as ``{"header", "rows", "notices", "failures"}``;
- ``/fx?from=USD&to=KRW``: ``{"from", "to", "rate"}``;
- ``/health``: ``{"ok": true}``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from etf_rebalancer.cells.labels import QUOTES_HEADER
from etf_rebalancer.errors import RebalancerError
from etf_rebalancer.quotes.service import QuoteService, fx_rate, get_service

__all__ = ["LITE_ORIGIN", "make_server", "serve"]

#: Where xlwings Lite's Python runs (a self-hosted Lite has its own origin: ``--origin``).
LITE_ORIGIN = "https://addin.xlwings.org"
#: At most this many tickers per request: one workbook's worth, not a crawl.
MAX_TICKERS = 200


def _json_cell(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def quotes_answer(service: QuoteService, query: dict[str, list[str]]) -> dict[str, Any]:
    """The ``/quotes`` answer: the Quotes-sheet rows of one refresh."""
    tickers = _split(query.get("tickers", []))
    if len(tickers) > MAX_TICKERS:
        raise ValueError(f"at most {MAX_TICKERS} tickers per request, got {len(tickers)}")
    currencies = _split(query.get("currencies", []))
    base = (query.get("base") or [""])[0] or None
    report = service.refresh(tickers, currencies, base)
    return {
        "header": list(QUOTES_HEADER),
        "rows": [[_json_cell(c) for c in row] for row in report.rows],
        "notices": [n.localized("en") for n in report.notices],
        "failures": {k: str(e) for k, e in report.failures.items()},
    }


def fx_answer(service: QuoteService, query: dict[str, list[str]]) -> dict[str, Any]:
    """The ``/fx`` answer: units of ``to`` for one ``from``."""
    source = (query.get("from") or [""])[0]
    target = (query.get("to") or [""])[0]
    return {"from": source, "to": target, "rate": fx_rate(service, source, target)}


def _handler(service_for: Callable[[], QuoteService], origin: str) -> type[BaseHTTPRequestHandler]:
    routes = {"/quotes": quotes_answer, "/fx": fx_answer}

    class Handler(BaseHTTPRequestHandler):
        server_version = "etf-rebal-quotes"

        def _cors(self) -> None:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_OPTIONS(self) -> None:
            self.send_response(204)
            self._cors()
            self.send_header("Access-Control-Allow-Methods", "GET, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Access-Control-Allow-Private-Network", "true")
            self.send_header("Access-Control-Max-Age", "600")
            self.end_headers()

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/health":
                self._send(200, {"ok": True})
                return
            route = routes.get(url.path)
            if route is None:
                self._send(404, {"error": f"unknown path {url.path}: use /quotes or /fx"})
                return
            try:
                self._send(200, route(service_for(), parse_qs(url.query)))
            except (RebalancerError, ValueError) as error:
                self._send(400, {"error": str(error)})
            except Exception as error:  # the edge: answer, never drop the connection
                self._send(500, {"error": f"unexpected {type(error).__name__}: {error}"})

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet by default: the CLI prints one line per start

    return Handler


def make_server(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    origin: str = LITE_ORIGIN,
    service: QuoteService | None = None,
) -> ThreadingHTTPServer:
    """A quote server bound to ``host:port`` (``port=0``: any free port); not started.

    Parameters
    ----------
    host
        Interface to listen on; loopback unless the user asks otherwise.
    origin
        The origin allowed by CORS (``*`` allows any page).
    service
        The quote service (default: the process-wide one, read at each request).
    """
    return ThreadingHTTPServer((host, port), _handler(lambda: service or get_service(), origin))


def serve(server: ThreadingHTTPServer, stop: threading.Event | None = None) -> None:
    """Answer requests until interrupted (or until ``stop`` is set)."""
    if stop is None:
        server.serve_forever()
        return
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stop.wait()
    server.shutdown()
