"""The Yahoo Finance provider: the only module that imports yfinance.

Quotes come from Yahoo's batch quote endpoint (``/v7/finance/quote?symbols=A,B,C``,
the one yfinance's ``Ticker.info`` uses), called through yfinance's own
``YfData`` session so its cookie/crumb handling applies: one request answers
up to :data:`CHUNK_SIZE` symbols. Daily history comes from the chart endpoint
(one request per symbol, as ``yf.download`` does), parsed by yfinance's
``utils.parse_quotes``. Every transport error is translated here, once, into
the project's :class:`~etf_rebalancer.errors.QuoteError` kinds and returned as
a :class:`~etf_rebalancer.quotes.base.Failure` value, one per symbol naming
only that symbol (a cached message never names another workbook's tickers).

When Yahoo refuses the batch endpoint (HTTP 401 "Invalid Crumb" or "User is
unable to access this feature", 403, a failed cookie/crumb step: users of
several libraries report these through 2025-2026), the same call falls back to
the per-symbol chart endpoint (``/v8/finance/chart/SYM?range=1d``, whose
``meta`` carries the last price), :data:`MAX_WORKERS` requests at a time,
within the same deadline, and remembers for :data:`CHART_PATH_MEMORY` seconds
that the chart path is the one that works.

Every quote says how late it is (``Quote.delay``): Yahoo's KRX quotes are
about 20 minutes late (use Naver for real-time KRX prices), US listings and
FX are real-time, other exchanges say their delay in ``exchangeDataDelayedBy``.

yfinance logs its own retries (``Cookie/crumb fetch failed ...``) on the
``yfinance`` logger; a ``NullHandler`` there keeps Python's last-resort handler
from printing them on stderr: what went wrong is reported once, as a value.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import requests
import yfinance as yf
from yfinance import utils as yf_utils
from yfinance.data import YfData
from yfinance.exceptions import (
    YFDataException,
    YFException,
    YFRateLimitError,
    YFTickerMissingError,
)

from etf_rebalancer.errors import QuoteError
from etf_rebalancer.quotes.base import (
    BadDataError,
    Failure,
    History,
    HistoryResult,
    NetworkError,
    NotFoundError,
    Quote,
    QuoteResult,
    RateLimitedError,
)
from etf_rebalancer.quotes.symbols import major_currency

__all__ = ["CHART_URL", "CHUNK_SIZE", "QUOTE_URL", "YahooProvider", "translate_error"]

log = logging.getLogger(__name__)
# Third-party warnings are not the user's messages: see the module notes.
logging.getLogger("yfinance").addHandler(logging.NullHandler())
logging.getLogger("yfinance").propagate = False

QUOTE_URL = "https://query1.finance.yahoo.com/v7/finance/quote"
CHART_URL = "https://query2.finance.yahoo.com/v8/finance/chart/{symbol}"
CHUNK_SIZE = 50  # symbols per quote request; Yahoo's page answers well beyond this
MAX_WORKERS = 4  # concurrent requests per refresh: polite to Yahoo, fast enough for 100s
CHART_PATH_MEMORY = 1800.0  # seconds the chart path is used after the batch path was refused
KRX_DELAY_MINUTES = 20  # Yahoo's .KS/.KQ quotes during Korean trading hours

_MAINTENANCE_MARKERS = ("Will be right back", "CURRENTLY DOWN", "<html", "<!DOCTYPE")

# YfData is a process-wide singleton holding one session and its crumb; a crumb
# minted under another session's cookies is invalid, so re-binding resets it.
_bind_lock = threading.Lock()
_bound_session: list[Any] = [None]


def _bind(session: requests.Session | None) -> YfData:
    with _bind_lock:
        if session is None:
            return YfData()
        data = YfData(session=session)
        if _bound_session[0] is not session:
            _bound_session[0] = session
            with data._cookie_lock:
                data._crumb = None
                data._cookie = None
            data.cache_get.cache_clear()
        return data


class YahooProvider:
    """Quotes and daily history from Yahoo Finance, batched.

    Parameters
    ----------
    session
        A ``requests.Session`` to send requests through (tests mount a replay
        adapter on it; it needs ``YF_DISABLE_CURL_CFFI=1``). ``None`` lets
        yfinance choose (``curl_cffi`` when installed).
    cache_dir
        Where yfinance keeps its cookie and timezone caches (kept beside ours,
        never in the user's global yfinance folder when given).
    chunk_size, max_workers
        Symbols per quote request and requests in flight at once.
    """

    name = "yahoo"

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        cache_dir: Path | str | None = None,
        chunk_size: int = CHUNK_SIZE,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        self._session = session
        self.chunk_size = chunk_size
        self.max_workers = max_workers
        self.http_requests = 0
        self._count_lock = threading.Lock()
        self._chart_until = 0.0  # monotonic time until which quotes use the chart path
        self.clock = time.monotonic
        self._hooked = False
        if isinstance(session, requests.Session):
            session.hooks.setdefault("response", []).append(self._count_response)
            self._hooked = True
        if cache_dir is not None:
            folder = Path(cache_dir) / "yfinance"
            folder.mkdir(parents=True, exist_ok=True)
            yf.set_tz_cache_location(str(folder))

    def _count_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        with self._count_lock:
            self.http_requests += 1

    def _count_call(self) -> None:
        # Without a requests session (curl_cffi) only our own calls can be counted.
        if not self._hooked:
            with self._count_lock:
                self.http_requests += 1

    # ------------------------------------------------------------ quotes

    def fetch_quotes(self, symbols: Sequence[str], *, timeout: float) -> dict[str, QuoteResult]:
        """Fetch symbols in chunks, a few requests at a time; stop at the first HTTP 429.

        Chunks not yet sent when a rate limit answers are marked
        :class:`RateLimitedError` without being sent: Yahoo's limit is per
        client, so more requests would only extend it. A refused batch
        endpoint falls back to the chart path (see the module notes); the
        whole call stays within ``2 * timeout`` (the service's deadline).
        """
        unique = list(dict.fromkeys(s.upper() for s in symbols))
        deadline = self.clock() + 2 * timeout
        if self.clock() < self._chart_until:
            return self.chart_quotes(unique, timeout=timeout, deadline=deadline)
        chunks = [unique[i : i + self.chunk_size] for i in range(0, len(unique), self.chunk_size)]
        stop = threading.Event()

        def run(chunk: list[str]) -> dict[str, QuoteResult]:
            if stop.is_set():
                return _fail_each(chunk, _skipped)
            try:
                payload = self._get_json(
                    QUOTE_URL,
                    {
                        "symbols": ",".join(chunk),
                        "formatted": "false",
                        "lang": "en-US",
                        "region": "US",
                    },
                    timeout,
                )
            except Exception as error:
                if refused(error):
                    # The same refresh goes on through the chart endpoint, and remembers it.
                    self._chart_until = self.clock() + CHART_PATH_MEMORY
                    return self.chart_quotes(chunk, timeout=timeout, deadline=deadline)
                if isinstance(translate_error(error, chunk), RateLimitedError):
                    stop.set()
                return _fail_each(chunk, partial(translate_error, error))
            return parse_quote_response(payload, chunk)

        return self._run_batches(chunks, run)

    def chart_quotes(
        self, symbols: Sequence[str], *, timeout: float, deadline: float | None = None
    ) -> dict[str, QuoteResult]:
        """Quotes from the per-symbol chart endpoint, :attr:`max_workers` at a time.

        Symbols whose turn comes after ``deadline`` (monotonic) are not sent:
        they fail as :class:`NetworkError`, like a batch that ran out of time.
        """
        stop = threading.Event()

        def run(chunk: list[str]) -> dict[str, QuoteResult]:
            symbol = chunk[0]
            if stop.is_set():
                return _fail_each(chunk, _skipped)
            left = timeout if deadline is None else min(timeout, deadline - self.clock())
            if left <= 0:
                return _fail_each(chunk, _out_of_time)
            try:
                payload = self._get_json(
                    CHART_URL.format(symbol=quote(symbol, safe="^=")),
                    {"range": "1d", "interval": "1d", "includePrePost": "false"},
                    left,
                )
            except Exception as error:
                if isinstance(translate_error(error, chunk), RateLimitedError):
                    stop.set()
                return _fail_each(chunk, partial(translate_error, error))
            return {symbol: parse_chart_quote(payload, symbol)}

        return self._run_batches([[s] for s in dict.fromkeys(symbols)], run)

    def _run_batches(
        self, chunks: list[list[str]], run: Callable[[list[str]], Mapping[str, Any]]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not chunks:
            return out
        if len(chunks) == 1:
            out.update(run(chunks[0]))
            return out
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(chunks))) as pool:
            for part in pool.map(run, chunks):
                out.update(part)
        return out

    def _get_json(self, url: str, params: dict[str, str], timeout: float) -> Any:
        data = _bind(self._session)
        self._count_call()
        response = data.get(url, params=params, timeout=timeout)
        text = response.text or ""
        if response.status_code == 429 or text.startswith("Too Many Requests"):
            raise YFRateLimitError()
        if response.status_code == 404 and "chart" in text:
            return response.json()  # the chart endpoint explains unknown symbols in JSON
        response.raise_for_status()
        return response.json()

    # ------------------------------------------------------------ history

    def fetch_history(
        self, symbols: Sequence[str], start: dt.date, end: dt.date, *, timeout: float
    ) -> dict[str, HistoryResult]:
        """Daily close and adjusted close per symbol, one chart request each."""
        unique = list(dict.fromkeys(s.upper() for s in symbols))
        stop = threading.Event()
        period1 = int(pd.Timestamp(start).tz_localize("UTC").timestamp()) - 86_400
        period2 = int(pd.Timestamp(end).tz_localize("UTC").timestamp()) + 2 * 86_400

        def run(chunk: list[str]) -> dict[str, HistoryResult]:
            symbol = chunk[0]
            if stop.is_set():
                return _fail_each(chunk, _skipped)
            try:
                payload = self._get_json(
                    # Quoted: a ticker comes from a cell and must not steer the URL path.
                    CHART_URL.format(symbol=quote(symbol, safe="^=")),
                    {
                        "period1": str(period1),
                        "period2": str(period2),
                        "interval": "1d",
                        "includePrePost": "false",
                        "events": "div,splits",
                    },
                    timeout,
                )
                return {symbol: parse_chart_history(payload, symbol, start, end)}
            except Exception as error:
                if isinstance(translate_error(error, chunk), RateLimitedError):
                    stop.set()
                return _fail_each(chunk, partial(translate_error, error))

        return self._run_batches([[s] for s in unique], run)


# ---------------------------------------------------------------- parsing


def parse_quote_response(payload: Any, symbols: Sequence[str]) -> dict[str, QuoteResult]:
    """Turn a ``/v7/finance/quote`` answer into a result per requested symbol.

    Yahoo leaves unknown symbols out of ``quoteResponse.result``; they become
    :class:`NotFoundError`. Prices in pence (``GBp``) are turned into pounds.
    """
    try:
        results = payload["quoteResponse"]["result"]
        if results is None:
            results = []
        if not isinstance(results, list):
            raise TypeError("result is not a list")
    except (KeyError, TypeError) as error:
        why = f"unexpected quote answer ({error})"
        return _fail_each(symbols, lambda one: _bad_data(one, why))
    found = {
        str(item.get("symbol", "")).upper(): item for item in results if isinstance(item, dict)
    }
    out: dict[str, QuoteResult] = {}
    for symbol in symbols:
        item = found.get(symbol.upper())
        if item is None:
            out[symbol] = Failure(
                symbol,
                NotFoundError(
                    f"{symbol}: Yahoo Finance has no such symbol",
                    f"{symbol}: Yahoo Finance에 없는 종목입니다",
                ),
            )
            continue
        price = _number(item.get("regularMarketPrice"))
        currency_raw = item.get("currency") or item.get("financialCurrency") or ""
        if price is None or price <= 0 or not currency_raw:
            out[symbol] = Failure(symbol, _bad_data([symbol], "no price or currency in the answer"))
            continue
        currency, factor = major_currency(str(currency_raw))
        previous = _number(item.get("regularMarketPreviousClose"))
        stamp = _number(item.get("regularMarketTime"))
        out[symbol] = Quote(
            symbol=symbol,
            price=price * factor,
            currency=currency,
            previous_close=previous * factor if previous is not None else None,
            time=_utc_time(stamp),
            name=str(item.get("longName") or item.get("shortName") or "").strip(),
            kind=str(item.get("quoteType") or "").upper(),
            source="yahoo",
            delay=quote_delay(symbol, _number(item.get("exchangeDataDelayedBy"))),
        )
    return out


def parse_chart_quote(payload: Any, symbol: str) -> QuoteResult:
    """The last price in a ``/v8/finance/chart`` answer's ``meta`` (the fallback path)."""
    try:
        chart = payload["chart"]
        if chart.get("error"):
            description = chart["error"].get("description") or chart["error"].get("code")
            return Failure(
                symbol,
                NotFoundError(
                    f"{symbol}: Yahoo Finance has no such symbol ({description})",
                    f"{symbol}: Yahoo Finance에 없는 종목입니다 ({description})",
                ),
            )
        meta = chart["result"][0]["meta"]
    except (KeyError, TypeError, IndexError, AttributeError) as error:
        return Failure(symbol, _bad_data([symbol], f"unexpected chart answer ({error})"))
    price = _number(meta.get("regularMarketPrice"))
    currency_raw = meta.get("currency") or ""
    if price is None or price <= 0 or not currency_raw:
        return Failure(symbol, _bad_data([symbol], "no price or currency in the chart answer"))
    currency, factor = major_currency(str(currency_raw))
    previous = _number(meta.get("chartPreviousClose"))
    if previous is None:
        previous = _number(meta.get("previousClose"))
    return Quote(
        symbol=symbol,
        price=price * factor,
        currency=currency,
        previous_close=previous * factor if previous is not None else None,
        time=_utc_time(_number(meta.get("regularMarketTime"))),
        name=str(meta.get("longName") or meta.get("shortName") or "").strip(),
        kind=str(meta.get("instrumentType") or "").upper(),
        source="yahoo",
        delay=quote_delay(symbol, None),
    )


def quote_delay(symbol: str, delayed_by: float | None) -> str:
    """How late Yahoo's quote of ``symbol`` is, in the status cell's words."""
    text = symbol.upper()
    if text.endswith((".KS", ".KQ")):
        return f"delayed {KRX_DELAY_MINUTES} min"
    if delayed_by and delayed_by > 0:
        return f"delayed {delayed_by:g} min"
    if text.endswith("=X") or "." not in text:
        return "real-time"  # FX, and US listings (Yahoo shows Nasdaq/Cboe real-time prices)
    return "delayed"


def parse_chart_history(payload: Any, symbol: str, start: dt.date, end: dt.date) -> HistoryResult:
    """Turn a ``/v8/finance/chart`` answer into daily closes, dated in the exchange's timezone."""
    try:
        chart = payload["chart"]
        if chart.get("error"):
            description = chart["error"].get("description") or chart["error"].get("code")
            return Failure(
                symbol,
                NotFoundError(
                    f"{symbol}: Yahoo Finance has no history ({description})",
                    f"{symbol}: Yahoo Finance에 가격 이력이 없습니다 ({description})",
                ),
            )
        result = chart["result"][0]
        meta = result.get("meta") or {}
        if "timestamp" not in result:
            frame = pd.DataFrame({"close": [], "adjclose": []}, index=pd.DatetimeIndex([]))
        else:
            with warnings.catch_warnings():
                # yfinance 1.7 calls sort_index(inplace=True), deprecated in pandas 3.1
                warnings.simplefilter("ignore")
                quotes = yf_utils.parse_quotes(result)
            tz = meta.get("exchangeTimezoneName") or "UTC"
            index = quotes.index.tz_localize("UTC").tz_convert(tz).tz_localize(None).normalize()
            frame = pd.DataFrame(
                {
                    "close": quotes["Close"].to_numpy(dtype=float),
                    "adjclose": quotes["Adj Close"].to_numpy(dtype=float),
                },
                index=index,
            )
            frame = frame[~frame.index.duplicated(keep="last")].dropna(how="all")
        currency, factor = major_currency(str(meta.get("currency") or ""))
        if not currency:
            return Failure(symbol, _bad_data([symbol], "no currency in the chart answer"))
        frame = frame.loc[pd.Timestamp(start) : pd.Timestamp(end)] * factor
        return History(symbol, currency, frame)
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as error:
        return Failure(symbol, _bad_data([symbol], f"unexpected chart answer ({error})"))


# ---------------------------------------------------------------- errors

_REFUSAL_MARKERS = ("invalid crumb", "unable to access this feature", "invalid cookie")


def refused(error: BaseException) -> bool:
    """True when Yahoo refused the batch endpoint itself (401/403, crumb or cookie trouble).

    A rate limit (429), a timeout or a missing symbol is not a refusal: the
    chart endpoint would fare no better.
    """
    for e in _chain(error):
        if isinstance(e, requests.HTTPError) and _status(e) in (401, 403):
            return True
        text = str(e).lower()
        if isinstance(e, YFException | requests.HTTPError) and any(
            m in text for m in _REFUSAL_MARKERS
        ):
            return True
    return False


def translate_error(error: BaseException, symbols: Sequence[str]) -> QuoteError:
    """Map anything yfinance or requests raised to one of the project's error kinds."""
    names = _names(symbols)
    chain = _chain(error)
    if any(isinstance(e, YFRateLimitError) for e in chain) or any(
        isinstance(e, requests.HTTPError) and _status(e) == 429 for e in chain
    ):
        return RateLimitedError(
            f"Yahoo Finance rate limit (HTTP 429) for {names}: wait a few minutes, then Refresh",
            f"Yahoo Finance 요청 한도 초과(HTTP 429): {names}; 몇 분 뒤 새로고침하세요",
        )
    for e in chain:
        if isinstance(e, requests.Timeout | TimeoutError):
            return NetworkError(
                f"Yahoo Finance did not answer in time for {names}",
                f"Yahoo Finance 응답 시간 초과: {names}",
            )
        # requests' own errors are OSErrors too: only transport failures count here
        if isinstance(e, requests.ConnectionError | ConnectionError) or (
            isinstance(e, OSError) and not isinstance(e, requests.RequestException)
        ):
            return NetworkError(
                f"No connection to Yahoo Finance for {names} ({type(e).__name__})",
                f"Yahoo Finance에 연결할 수 없습니다: {names} ({type(e).__name__})",
            )
    for e in chain:
        if isinstance(e, requests.HTTPError):
            status = _status(e)
            if status == 404:
                return NotFoundError(
                    f"{names}: Yahoo Finance has no such symbol (HTTP 404)",
                    f"{names}: Yahoo Finance에 없는 종목입니다 (HTTP 404)",
                )
            return BadDataError(
                f"Yahoo Finance refused the request for {names} (HTTP {status})",
                f"Yahoo Finance가 요청을 거절했습니다: {names} (HTTP {status})",
            )
        if isinstance(e, json.JSONDecodeError):
            document = getattr(e, "doc", "") or ""
            if any(marker in document for marker in _MAINTENANCE_MARKERS):
                return _maintenance(names)
            return _bad_data(symbols, "the answer is not JSON")
        if isinstance(e, YFDataException) and "DOWN" in str(e):
            return _maintenance(names)
        if isinstance(e, YFTickerMissingError):
            return NotFoundError(
                f"{names}: Yahoo Finance has no such symbol ({e})",
                f"{names}: Yahoo Finance에 없는 종목입니다 ({e})",
            )
    if isinstance(error, YFException):
        return _bad_data(symbols, str(error))
    log.warning("unexpected error from yfinance", exc_info=error)
    return _bad_data(symbols, f"unexpected {type(error).__name__}: {error}")


def _chain(error: BaseException) -> list[BaseException]:
    """The error and what it was raised from or during.

    yfinance 1.7 with plain ``requests`` turns a DNS failure on its cookie
    request into ``AttributeError`` (it catches ``requests.exceptions.DNSError``,
    which only curl_cffi has): the real cause sits in ``__context__``.
    """
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _status(error: requests.HTTPError) -> int:
    response = error.response
    return int(response.status_code) if response is not None else 0


def _names(symbols: Sequence[str]) -> str:
    shown = ", ".join(symbols[:5])
    return shown + (f" and {len(symbols) - 5} more" if len(symbols) > 5 else "")


def _maintenance(names: str) -> BadDataError:
    return BadDataError(
        f"Yahoo Finance is down for maintenance (no prices for {names}); try again later",
        f"Yahoo Finance 점검 중입니다 ({names} 가격 없음); 나중에 다시 시도하세요",
    )


def _bad_data(symbols: Sequence[str], why: str) -> BadDataError:
    names = _names(symbols)
    return BadDataError(
        f"Yahoo Finance sent unusable data for {names}: {why}",
        f"Yahoo Finance 데이터를 쓸 수 없습니다: {names}: {why}",
    )


def _out_of_time(symbols: Sequence[str]) -> NetworkError:
    names = _names(symbols)
    return NetworkError(
        f"Not fetched: this refresh ran out of time before {names}",
        f"가져오지 않음: 이번 새로고침 시간이 {names} 전에 다 됐습니다",
    )


def _skipped(symbols: Sequence[str]) -> RateLimitedError:
    names = _names(symbols)
    return RateLimitedError(
        f"Not fetched: Yahoo Finance rate limit (HTTP 429) hit earlier in this refresh ({names})",
        f"가져오지 않음: 이번 새로고침 중 Yahoo Finance 요청 한도 초과(HTTP 429) ({names})",
    )


def _fail_each(
    symbols: Sequence[str], error_for: Callable[[list[str]], QuoteError]
) -> dict[str, Any]:
    """A failure per symbol whose message names only that symbol."""
    return {s: Failure(s, error_for([s])) for s in symbols}


def _utc_time(stamp: float | None) -> dt.datetime | None:
    """An epoch stamp as a UTC time; an absurd one (1e20) is no time, not a failed batch."""
    if not stamp:
        return None
    try:
        return dt.datetime.fromtimestamp(stamp, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("raw")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None
