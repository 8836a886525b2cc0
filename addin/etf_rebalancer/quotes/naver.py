"""The Naver Finance provider: real-time KRX prices and Korean names, many codes per request.

Naver's web pages poll an unofficial JSON endpoint,
``https://polling.finance.naver.com/api/realtime?query=SERVICE_ITEM:005930,069500``,
that answers every listed KRX code (KOSPI and KOSDAQ, stocks and ETFs, codes
with letters such as ``0030R0``) in one request. Nothing documents it; the
shapes below were learned from public code that calls it, and are replayed in
``tests/data/naver/``:

* ``nanbean/money`` ``server/api/stock.js``: many codes joined by commas in one
  query; ``resultCode == "success"``; items in ``result.areas[0].datas`` with
  ``cd`` (code), ``nm`` (name), ``nv`` (current price).
* ``seolbee/ServerStock`` ``crollStock.js`` and ``hyunsikhwang/Python``
  ``parse_nv_kospi.py``: the body is EUC-KR (decoded with ``iconv.decode(body,
  'EUC-KR')`` / ``.decode('euc-kr')``); the issue
  ``karnelll/edencrew-flutter-watchlist-choiseohee#2`` reports the same.
  Newer answers have been seen in UTF-8, so both are accepted here.
* A Rust client's unit tests (found by the code search, repository not named by
  it) record a whole item: ``{"cd":"005930","nm":"삼성전자","sv":58800,
  "nv":58500,"cv":300,"cr":0.51,"rf":"5","mt":"1","ms":"CLOSE","tyn":"N",
  "pcv":58800,"ov":...,"hv":...,"lv":...,"aq":...,"aa":...,"nav":null,...}``
  and the envelope ``{"resultCode":"success","result":{"pollingInterval":50000,
  "areas":[{"name":"SERVICE_ITEM","datas":[...]}],"time":1603889630919}}``;
  ``ms`` (market state) is ``PREOPEN``, ``OPEN`` or ``CLOSE``; a failed query
  answers ``{"resultCode":"..."}`` without ``result``.

Fields used: ``cd``, ``nm``, ``nv`` (price, KRW), ``pcv`` (previous close,
falling back to ``sv``, the base price), ``ms``, ``tyn`` (``"Y"``: trading
halted), ``nav`` (not null for ETFs), ``result.time`` (epoch milliseconds).
Anything else in an answer is ignored; anything missing or unexpected in what
is used (another ``resultCode``, no ``datas``, an unknown ``ms``, a price that
is not a positive number, an HTML page) is a :class:`BadDataError` per code, so
the caller asks Yahoo instead. A code absent from ``datas`` is
:class:`NotFoundError`. Only ``requests`` is used: yfinance stays in
:mod:`etf_rebalancer.quotes.yahoo`.

Daily history is not fetched here (``fetch_history`` answers failures): KRX
history stays on Yahoo's chart endpoint, whose adjusted closes include
distributions.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from etf_rebalancer.cells import is_krx_code
from etf_rebalancer.errors import QuoteError
from etf_rebalancer.quotes.base import (
    BadDataError,
    Failure,
    HistoryResult,
    NetworkError,
    NotFoundError,
    Quote,
    QuoteResult,
    RateLimitedError,
)

__all__ = ["CHUNK_SIZE", "REALTIME_URL", "NaverProvider", "decode_body", "parse_realtime"]

REALTIME_URL = "https://polling.finance.naver.com/api/realtime"
CHUNK_SIZE = 40  # codes per request; public callers send 30 to 100+
MAX_WORKERS = 2
_HEADERS = {
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) etf-rebalancer",
    "Referer": "https://finance.naver.com/",
    "Accept": "application/json",
}
# What each market state means for the price shown (the status cell's words).
_STATES = {"OPEN": "real-time", "CLOSE": "market closed", "PREOPEN": "before the open"}


class NaverProvider:
    """KRX quotes from Naver Finance's polling endpoint, batched.

    Parameters
    ----------
    session
        The ``requests.Session`` to use (tests mount a replay adapter on it).
    chunk_size
        Codes per request.

    Symbols are KRX codes, bare (``069500``) or with Yahoo's board suffix
    (``069500.KS``, ``247540.KQ``); a result comes back under each symbol as
    asked, its :attr:`Quote.symbol` being the bare code (Naver does not say
    which board lists it).
    """

    name = "naver"

    def __init__(
        self, session: requests.Session | None = None, *, chunk_size: int = CHUNK_SIZE
    ) -> None:
        self.session = session or requests.Session()
        self.chunk_size = chunk_size
        self.http_requests = 0
        self._lock = threading.Lock()

    @staticmethod
    def handles(symbol: str) -> bool:
        """True for a KRX code, bare or with ``.KS``/``.KQ``."""
        return is_krx_code(_code(symbol))

    def fetch_quotes(self, symbols: Sequence[str], *, timeout: float) -> dict[str, QuoteResult]:
        """One result per symbol; several codes per request."""
        by_code: dict[str, list[str]] = {}
        out: dict[str, QuoteResult] = {}
        for symbol in dict.fromkeys(symbols):
            code = _code(symbol)
            if not is_krx_code(code):
                out[symbol] = Failure(symbol, _not_krx(symbol))
            else:
                by_code.setdefault(code, []).append(symbol)
        codes = list(by_code)
        chunks = [codes[i : i + self.chunk_size] for i in range(0, len(codes), self.chunk_size)]
        results: dict[str, QuoteResult] = {}
        if len(chunks) == 1:
            results.update(self._chunk(chunks[0], timeout))
        elif chunks:
            with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(chunks))) as pool:
                for part in pool.map(lambda c: self._chunk(c, timeout), chunks):
                    results.update(part)
        for code, asked in by_code.items():
            for symbol in asked:
                result = results[code]
                out[symbol] = result if isinstance(result, Quote) else Failure(symbol, result.error)
        return out

    def fetch_history(
        self, symbols: Sequence[str], start: dt.date, end: dt.date, *, timeout: float
    ) -> dict[str, HistoryResult]:
        """Not offered: daily KRX history comes from Yahoo (see the module notes)."""
        error = BadDataError(
            "Naver Finance history is not used: daily KRX history comes from Yahoo Finance",
            "네이버 금융 가격이력은 쓰지 않습니다: KRX 일별 가격은 Yahoo Finance에서 받습니다",
        )
        return {s: Failure(s, error) for s in symbols}

    def _chunk(self, codes: list[str], timeout: float) -> dict[str, QuoteResult]:
        with self._lock:
            self.http_requests += 1
        try:
            response = self.session.get(
                REALTIME_URL,
                params={"query": "SERVICE_ITEM:" + ",".join(codes)},
                headers=_HEADERS,
                timeout=timeout,
            )
        except requests.Timeout:
            return _fail_each(codes, NetworkError, "did not answer in time")
        except (requests.ConnectionError, OSError) as error:
            return _fail_each(codes, NetworkError, f"no connection ({type(error).__name__})")
        except requests.RequestException as error:
            return _fail_each(codes, BadDataError, f"request failed ({error})")
        if response.status_code == 429:
            return _fail_each(codes, RateLimitedError, "asked us to slow down (HTTP 429)")
        if response.status_code != 200:
            why = f"answered HTTP {response.status_code}"
            return _fail_each(codes, BadDataError, why)
        try:
            payload = json.loads(decode_body(response.content))
        except (ValueError, UnicodeDecodeError):
            return _fail_each(codes, BadDataError, "the answer is not JSON")
        return parse_realtime(payload, codes)


# ---------------------------------------------------------------- parsing


def decode_body(content: bytes) -> str:
    """The answer's text, UTF-8 or EUC-KR (CP949, its superset) whatever the header says.

    Hangul in EUC-KR is almost never valid UTF-8, so UTF-8 is tried first and a
    failure means EUC-KR; trusting the ``charset`` header would garble the
    answers whose header and body disagree.
    """
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp949")


def parse_realtime(payload: Any, codes: Sequence[str]) -> dict[str, QuoteResult]:
    """Turn a polling answer into a result per requested code (see the module notes)."""
    try:
        if not isinstance(payload, dict) or payload.get("resultCode") != "success":
            code = payload.get("resultCode") if isinstance(payload, dict) else None
            raise TypeError(f"resultCode {code!r}")
        result = payload["result"]
        areas = result["areas"]
        if not isinstance(areas, list) or not areas:
            raise TypeError("no areas")
        area = next((a for a in areas if a.get("name") == "SERVICE_ITEM"), areas[0])
        datas = area["datas"]
        if not isinstance(datas, list):
            raise TypeError("datas is not a list")
        stamp = result.get("time")
    except (KeyError, TypeError, AttributeError) as error:
        return _fail_each(codes, BadDataError, f"unexpected answer ({error})")
    when = _time(stamp)
    found = {str(item.get("cd", "")).upper(): item for item in datas if isinstance(item, dict)}
    out: dict[str, QuoteResult] = {}
    for code in codes:
        item = found.get(code.upper())
        if item is None:
            out[code] = Failure(
                code,
                NotFoundError(
                    f"{code}: Naver Finance has no such KRX code",
                    f"{code}: 네이버 금융에 없는 종목코드입니다",
                ),
            )
            continue
        out[code] = _quote(code, item, when)
    return out


def _quote(code: str, item: dict[str, Any], when: dt.datetime | None) -> QuoteResult:
    price = _number(item.get("nv"))
    previous = _number(item.get("pcv"))
    if previous is None:
        previous = _number(item.get("sv"))
    state = item.get("ms")
    if price is None or price <= 0:
        return Failure(code, _error(BadDataError, [code], "no price in the answer"))
    if state not in _STATES:
        return Failure(code, _error(BadDataError, [code], f"unknown market state {state!r}"))
    delay = "trading halted" if item.get("tyn") == "Y" else _STATES[str(state)]
    return Quote(
        symbol=code,
        price=price,
        currency="KRW",
        previous_close=previous if previous and previous > 0 else None,
        time=when,
        name=str(item.get("nm") or "").strip(),
        kind="ETF" if item.get("nav") is not None else "EQUITY",
        source="naver",
        delay=delay,
    )


# ---------------------------------------------------------------- helpers


def _code(symbol: str) -> str:
    text = symbol.strip().upper()
    stem, dot, suffix = text.partition(".")
    return stem if dot and suffix in ("KS", "KQ") else text


def _number(value: Any) -> float | None:
    if isinstance(value, str):  # some answers carry "58,500"
        value = value.replace(",", "").strip()
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


def _time(stamp: Any) -> dt.datetime | None:
    number = _number(stamp)
    if not number:
        return None
    try:
        return dt.datetime.fromtimestamp(number / 1000.0, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _names(codes: Sequence[str]) -> str:
    shown = ", ".join(codes[:5])
    return shown + (f" and {len(codes) - 5} more" if len(codes) > 5 else "")


def _error(cls: type[QuoteError], codes: Sequence[str], why: str) -> QuoteError:
    names = _names(codes)
    return cls(f"Naver Finance {why} for {names}", f"네이버 금융 응답 문제({why}): {names}")


def _not_krx(symbol: str) -> NotFoundError:
    return NotFoundError(
        f"{symbol}: not a KRX code (Naver Finance answers KRX codes only)",
        f"{symbol}: KRX 종목코드가 아닙니다 (네이버 금융은 KRX 종목만 답합니다)",
    )


def _fail_each(codes: Sequence[str], cls: type[QuoteError], why: str) -> dict[str, QuoteResult]:
    # One error per code naming only it: a cached message never names another workbook's codes.
    return {c: Failure(c, _error(cls, [c], why)) for c in codes}
