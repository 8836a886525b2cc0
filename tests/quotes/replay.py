"""Replay recorded Yahoo-shaped JSON through a real ``requests.Session`` (no network).

A :class:`ReplayAdapter` mounted on ``https://`` answers the URLs yfinance calls:
the cookie page (``fc.yahoo.com``), the crumb, the batch quote endpoint
(``/v7/finance/quote``, assembled from ``tests/data/yahoo/quote/<SYMBOL>.json``)
and the chart endpoint (``tests/data/yahoo/chart/<SYMBOL>.json``). Faults are
injected per host or per symbol: HTTP 429, a DNS failure, a maintenance page,
a hang, an immediate timeout, malformed JSON; or from the n-th quote request on
(a fault mid-batch); or as odd field values inside one symbol's quote. Every
request is recorded in ``adapter.log``.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

YAHOO = Path(__file__).resolve().parents[1] / "data" / "yahoo"

MAINTENANCE_HTML = (
    "<!DOCTYPE html><html><head><title>Yahoo</title></head><body>"
    "<h1>Will be right back...</h1><p>Thank you for your patience.</p>"
    "<p>Our engineers are working quickly to resolve the issue.</p></body></html>"
)
NOT_FOUND_CHART = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}
_SYNTHETIC = re.compile(r"^SYM(\d+)$")
# Yahoo's refusals of the batch quote endpoint, as users of several libraries report them.
REFUSALS = {
    "401crumb": (
        401,
        '{"finance":{"result":null,"error":{"code":"Unauthorized","description":"Invalid Crumb"}}}',
    ),
    "401access": (
        401,
        '{"finance":{"result":null,"error":{"code":"Unauthorized","description":'
        '"User is unable to access this feature - https://bit.ly/yahoo-finance-api-feedback"}}}',
    ),
    "403": (403, "<html><body>Forbidden</body></html>"),
}


class ReplayAdapter(HTTPAdapter):
    """An HTTP adapter answering from recorded fixtures, with injectable faults.

    Attributes
    ----------
    faults
        ``{"quote": "429" | "dns" | "maintenance" | "hang" | "timeout" | "json" | "500"
        | "401crumb" | "401access" | "403"}``
        and the same for ``"chart"``, ``"cookie"``, ``"crumb"``; ``"*"`` applies to
        every request.
    fail_symbols
        Symbols whose quote is left out of a batch answer (Yahoo's "unknown").
    quote_429_after
        Answer HTTP 429 to every quote request after this many (partial batch failure).
    quote_fault_after
        ``(n, fault)``: every quote request after the n-th gets ``fault`` (a fault mid-batch).
    patch_items
        Symbol -> fields merged into that symbol's recorded quote (odd values in one item).
    """

    def __init__(self, fixtures: Path = YAHOO) -> None:
        super().__init__()
        self.fixtures = fixtures
        self.faults: dict[str, str] = {}
        self.fail_symbols: set[str] = set()
        self.quote_429_after: int | None = None
        self.quote_fault_after: tuple[int, str] | None = None
        self.patch_items: dict[str, dict] = {}
        self.quote_needs_crumb = False  # True: a quote request without crumb gets 401
        self.injected = 0  # faults actually answered
        self.log: list[str] = []
        self.release = threading.Event()  # set it to end a simulated hang
        self._lock = threading.Lock()
        self._quote_requests = 0

    # -------------------------------------------------------------- helpers

    def count(self, kind: str) -> int:
        """Requests logged whose URL contains ``kind`` (e.g. ``"/v7/finance/quote"``)."""
        return sum(kind in url for url in self.log)

    def _response(
        self, request: requests.PreparedRequest, status: int, body: str | bytes, ctype: str
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = body.encode() if isinstance(body, str) else body
        response.headers = CaseInsensitiveDict({"Content-Type": ctype})
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        response.reason = {200: "OK", 404: "Not Found", 429: "Too Many Requests"}.get(status, "")
        return response

    def _json(self, request, status, payload):
        return self._response(request, status, json.dumps(payload), "application/json")

    def _fault(self, request, kind: str):
        fault = self.faults.get(kind) or self.faults.get("*")
        if fault is None:
            return None
        return self._inject(request, fault)

    def _inject(self, request, fault: str):
        with self._lock:
            self.injected += 1
        host = urlsplit(request.url).hostname
        if fault == "dns":
            raise requests.ConnectionError(
                f"HTTPSConnectionPool(host='{host}', port=443): Max retries exceeded "
                f"(Caused by NameResolutionError(\"Failed to resolve '{host}' "
                '([Errno -3] Temporary failure in name resolution)"))',
                request=request,
            )
        if fault == "hang":
            self.release.wait(30)
            raise requests.ReadTimeout(f"HTTPSConnectionPool(host='{host}'): Read timed out.")
        if fault == "timeout":
            raise requests.ReadTimeout(
                f"HTTPSConnectionPool(host='{host}', port=443): Read timed out. (read timeout=2)"
            )
        if fault == "json":  # cut off mid-answer
            return self._response(
                request,
                200,
                '{"quoteResponse":{"result":[{"symbol":"QQQ","regularMarketPr',
                "application/json",
            )
        if fault == "429":
            return self._response(request, 429, "Too Many Requests\r\n", "text/plain")
        if fault == "maintenance":
            return self._response(request, 200, MAINTENANCE_HTML, "text/html")
        if fault == "500":
            return self._response(request, 500, "<html>Internal error</html>", "text/html")
        if fault in REFUSALS:
            status, body = REFUSALS[fault]
            ctype = "application/json" if body.startswith("{") else "text/html"
            return self._response(request, status, body, ctype)
        raise AssertionError(f"unknown fault {fault}")

    # -------------------------------------------------------------- send

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = request.url or ""
        with self._lock:
            self.log.append(url)
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path
        if host == "fc.yahoo.com":
            return self._fault(request, "cookie") or self._response(request, 404, "", "text/html")
        if path.endswith("/v1/test/getcrumb"):
            return self._fault(request, "crumb") or self._response(
                request, 200, "Xr5Tq0aB1cD", "text/plain"
            )
        if path.startswith("/v7/finance/quote"):
            return self._quote(request, parse_qs(parts.query))
        if path.startswith("/v8/finance/chart/"):
            return self._chart(request, unquote(path.rsplit("/", 1)[1]))
        return self._response(request, 404, "<html>not found</html>", "text/html")

    def _quote(self, request, query):
        with self._lock:
            self._quote_requests += 1
            number = self._quote_requests
        if self.quote_429_after is not None and number > self.quote_429_after:
            return self._response(request, 429, "Too Many Requests\r\n", "text/plain")
        if self.quote_fault_after is not None and number > self.quote_fault_after[0]:
            return self._inject(request, self.quote_fault_after[1])
        fault = self._fault(request, "quote")
        if fault is not None:
            return fault
        if self.quote_needs_crumb and "crumb" not in query:
            return self._inject(request, "401crumb")
        symbols = [s for s in query.get("symbols", [""])[0].split(",") if s]
        result = [item for s in symbols if (item := self.quote_item(s)) is not None]
        return self._json(request, 200, {"quoteResponse": {"result": result, "error": None}})

    def quote_item(self, symbol: str) -> dict | None:
        """The recorded (or, for ``SYM<n>``, generated) quote of one symbol."""
        if symbol in self.fail_symbols:
            return None
        path = self.fixtures / "quote" / f"{symbol}.json"
        if path.exists():
            item = json.loads(path.read_text())
            item.update(self.patch_items.get(symbol, {}))
            return item
        match = _SYNTHETIC.match(symbol)
        if match:
            item = json.loads((self.fixtures / "quote" / "SPY.json").read_text())
            n = int(match.group(1))
            item.update(
                symbol=symbol,
                shortName=f"Synthetic {n}",
                longName=f"Synthetic ETF {n}",
                regularMarketPrice=100.0 + n,
                regularMarketPreviousClose=99.0 + n,
            )
            return item
        return None

    def _chart(self, request, symbol: str):
        fault = self._fault(request, "chart")
        if fault is not None:
            return fault
        path = self.fixtures / "chart" / f"{symbol}.json"
        if _SYNTHETIC.match(symbol):
            path = self.fixtures / "chart" / "QQQ.json"
        if path.exists():
            return self._response(request, 200, path.read_text(), "application/json")
        item = self.quote_item(symbol)
        if item is not None and "range=1d" in (request.url or ""):
            return self._json(request, 200, _one_day_chart(item))
        return self._json(request, 404, NOT_FOUND_CHART)


def _one_day_chart(item: dict) -> dict:
    """A ``range=1d`` chart answer for a symbol recorded only as a quote item.

    The chart endpoint's ``meta`` carries the same fields under the same names
    (``currency``, ``regularMarketPrice``, ``regularMarketTime``, ``longName``...;
    the previous close as ``chartPreviousClose``, the kind as ``instrumentType``),
    so the recorded quote answers the fallback path too.
    """
    meta = {
        "currency": item.get("currency"),
        "symbol": item.get("symbol"),
        "instrumentType": item.get("quoteType"),
        "regularMarketTime": item.get("regularMarketTime"),
        "regularMarketPrice": item.get("regularMarketPrice"),
        "chartPreviousClose": item.get("regularMarketPreviousClose"),
        "longName": item.get("longName"),
        "shortName": item.get("shortName"),
        "exchangeTimezoneName": item.get("exchangeTimezoneName", "UTC"),
        "dataGranularity": "1d",
        "range": "1d",
    }
    stamp = item.get("regularMarketTime")
    price = item.get("regularMarketPrice")
    return {
        "chart": {
            "result": [
                {
                    "meta": meta,
                    "timestamp": [stamp],
                    "indicators": {
                        "quote": [
                            {
                                "open": [price],
                                "high": [price],
                                "low": [price],
                                "close": [price],
                                "volume": [0],
                            }
                        ],
                        "adjclose": [{"adjclose": [price]}],
                    },
                }
            ],
            "error": None,
        }
    }


def replay_session(adapter: ReplayAdapter | None = None) -> tuple[requests.Session, ReplayAdapter]:
    """A plain ``requests.Session`` whose https traffic goes to a :class:`ReplayAdapter`."""
    adapter = adapter or ReplayAdapter()
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter


# ---------------------------------------------------------------- Naver Finance

NAVER = Path(__file__).resolve().parents[1] / "data" / "naver"
NAVER_TIME = 1763098200000  # 2025-11-14 05:30 UTC, 14:30 in Seoul


class NaverAdapter(HTTPAdapter):
    """Answers ``polling.finance.naver.com/api/realtime`` from ``tests/data/naver``.

    Attributes
    ----------
    encoding
        ``"utf-8"`` or ``"euc-kr"``: how the assembled answer is encoded.
    charset
        The ``charset`` the ``Content-Type`` header claims (``None``: as encoded).
    answer
        A file under ``answers/`` to send as is instead of assembling one.
    fault
        ``"403" | "429" | "500" | "dns" | "timeout" | "hang"`` for every request.
    patch_items
        Code -> fields merged into that code's item (``{"ms": "CLOSE"}``, ``{"tyn": "Y"}``).
    fail_codes
        Codes left out of the answer (unknown to Naver).
    """

    def __init__(self, fixtures: Path = NAVER) -> None:
        super().__init__()
        self.fixtures = fixtures
        self.encoding = "utf-8"
        self.charset: str | None = None
        self.answer: str | None = None
        self.fault: str | None = None
        self.patch_items: dict[str, dict] = {}
        self.fail_codes: set[str] = set()
        self.log: list[str] = []
        self.release = threading.Event()

    def _response(self, request, status: int, body: bytes, ctype: str) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = body
        response.headers = CaseInsensitiveDict({"Content-Type": ctype})
        response.url = request.url or ""
        response.request = request
        response.reason = {200: "OK", 403: "Forbidden", 429: "Too Many Requests"}.get(status, "")
        return response

    def codes(self, url: str) -> list[str]:
        """The codes a logged request asked for."""
        query = parse_qs(urlsplit(url).query).get("query", [""])[0]
        return [c for c in query.removeprefix("SERVICE_ITEM:").split(",") if c]

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = request.url or ""
        self.log.append(url)
        parts = urlsplit(url)
        if parts.hostname != "polling.finance.naver.com" or parts.path != "/api/realtime":
            return self._response(request, 404, b"<html>not found</html>", "text/html")
        if self.fault == "dns":
            raise requests.ConnectionError(
                "HTTPSConnectionPool(host='polling.finance.naver.com', port=443): Max retries "
                'exceeded (Caused by NameResolutionError("Failed to resolve"))',
                request=request,
            )
        if self.fault == "timeout":
            raise requests.ReadTimeout("HTTPSConnectionPool(host='polling.finance.naver.com')")
        if self.fault == "hang":
            self.release.wait(30)
            raise requests.ReadTimeout("HTTPSConnectionPool(host='polling.finance.naver.com')")
        if self.fault in ("403", "429", "500"):
            return self._response(request, int(self.fault), b"<html>error</html>", "text/html")
        if self.answer is not None:
            body = (self.fixtures / "answers" / self.answer).read_bytes()
            ctype = "text/html" if self.answer.endswith(".html") else "application/json"
            return self._response(request, 200, body, f"{ctype};charset=EUC-KR")
        datas = []
        for code in self.codes(url):
            path = self.fixtures / "item" / f"{code}.json"
            if code in self.fail_codes or not path.exists():
                continue
            item = json.loads(path.read_text(encoding="utf-8"))
            item.update(self.patch_items.get(code, {}))
            datas.append(item)
        payload = {
            "resultCode": "success",
            "result": {
                "pollingInterval": 7000,
                "areas": [{"name": "SERVICE_ITEM", "datas": datas}],
                "time": NAVER_TIME,
            },
        }
        body = json.dumps(payload, ensure_ascii=False).encode(self.encoding)
        charset = self.charset or self.encoding.upper()
        return self._response(request, 200, body, f"application/json;charset={charset}")


def naver_session(adapter: NaverAdapter | None = None) -> tuple[requests.Session, NaverAdapter]:
    """A plain ``requests.Session`` whose traffic goes to a :class:`NaverAdapter`."""
    adapter = adapter or NaverAdapter()
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter


# ---------------------------------------------------------------- KIS Open API

KIS = Path(__file__).resolve().parents[1] / "data" / "kis"


class KisAdapter(HTTPAdapter):
    """Answers the KIS token and inquire-price endpoints from ``tests/data/kis``.

    Attributes
    ----------
    expire_once
        Answer the next price request with the expired-token refusal.
    answer
        A file under ``tests/data/kis`` answering every price request.
    bad_key
        The token endpoint refuses the app key (HTTP 403).
    fault
        ``"500" | "dns"`` for every request.
    """

    def __init__(self) -> None:
        super().__init__()
        self.expire_once = False
        self.answer: str | None = None
        self.bad_key = False
        self.fault: str | None = None
        self.log: list[str] = []
        self.headers: list[dict[str, str]] = []

    def _json(self, request, status: int, payload) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json;charset=UTF-8"})
        response.url = request.url or ""
        response.request = request
        return response

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = request.url or ""
        self.log.append(url)
        self.headers.append(dict(request.headers))
        if self.fault == "dns":
            raise requests.ConnectionError("Failed to resolve 'openapi.koreainvestment.com'")
        if self.fault == "500":
            return self._json(request, 500, {"error": "internal"})
        path = urlsplit(url).path
        if path == "/oauth2/tokenP":
            if self.bad_key:
                return self._json(request, 403, json.loads((KIS / "bad_key.json").read_text()))
            return self._json(request, 200, json.loads((KIS / "token.json").read_text()))
        if path == "/uapi/domestic-stock/v1/quotations/inquire-price":
            if self.expire_once:
                self.expire_once = False
                return self._json(request, 500, json.loads((KIS / "expired.json").read_text()))
            if self.answer is not None:
                return self._json(request, 200, json.loads((KIS / self.answer).read_text()))
            code = parse_qs(urlsplit(url).query).get("FID_INPUT_ISCD", [""])[0]
            file = KIS / "price" / f"{code}.json"
            if not file.exists():
                file = KIS / "price" / "000000.json"
            return self._json(request, 200, json.loads(file.read_text(encoding="utf-8")))
        return self._json(request, 404, {"rt_cd": "1", "msg1": "not found"})


def kis_session(adapter: KisAdapter | None = None) -> tuple[requests.Session, KisAdapter]:
    """A plain ``requests.Session`` whose traffic goes to a :class:`KisAdapter`."""
    adapter = adapter or KisAdapter()
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter
