"""The quote service: cache-first answers for UDFs, CLI and engine, and one batched refresh.

How a cell gets its price
-------------------------
Every ``ETF_PRICE``/``ETF_FX`` call reads the cache (an in-memory snapshot of
the SQLite file): a warm workbook makes no network call however many cells it
has, and a stale price is still answered (``ETF_PRICE(t, "status")`` says how
old it is). Prices change only when the user presses Refresh
(:meth:`QuoteService.refresh`, one batch for the whole workbook) or when a cell
asks for a ticker the cache has never seen:

* the first such cell fetches, in one request with a short total timeout
  (:data:`COLD_TIMEOUT`), its own ticker plus every ticker other cells asked
  for earlier and did not get (the *wanted* list, kept in the cache file);
* cells that miss in the next :data:`COLD_QUIET` seconds (the rest of the same
  recalculation) do not fetch: they answer "no price yet for X: press Refresh"
  and join the wanted list, so the next fetch, Refresh or F9, gets them all in
  one batch. A cold workbook of 50 cells therefore costs one batched request,
  never 50.
* after a network failure no cell fetches for :data:`NETWORK_BACKOFF` seconds,
  and after an HTTP 429 for :data:`RATE_LIMIT_BACKOFF` seconds, so an offline
  laptop answers every cell at once from the cache instead of waiting per cell.

``ETF_REBAL_OFFLINE=1`` removes the network provider altogether.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from etf_rebalancer.cells import (
    CASH_TICKER,
    as_rows,
    is_blank,
    normalise_header,
    normalise_ticker,
    parse_date,
)
from etf_rebalancer.errors import InputError, Notice, QuoteError
from etf_rebalancer.quotes.base import (
    ERROR_KINDS,
    Failure,
    History,
    NetworkError,
    NotFoundError,
    OfflineError,
    Provider,
    Quote,
    RateLimitedError,
)
from etf_rebalancer.quotes.cache import CachedQuote, QuoteCache
from etf_rebalancer.quotes.symbols import (
    candidates,
    fx_ticker,
    is_currency,
    major_currency,
    parse_fx_ticker,
)

__all__ = [
    "FIELDS",
    "QuoteService",
    "RefreshReport",
    "fx_rate",
    "get_service",
    "history_rows",
    "price_field",
]

STALE_AFTER = 3600.0  # seconds after which a fetched price is reported stale
COLD_TIMEOUT = 4.0  # a cell waits at most this long for an on-demand fetch
COLD_QUIET = 2.0  # after an on-demand fetch, other misses wait for Refresh
NETWORK_BACKOFF = 60.0  # no on-demand fetch this long after a network failure
RATE_LIMIT_BACKOFF = 900.0  # ...and this long after Yahoo answered HTTP 429
REFRESH_TIMEOUT = 30.0  # total seconds an explicit refresh may take
REFRESH_RATE_LIMIT_PAUSE = 60.0  # an explicit refresh right after a 429 does not ask again

FIELDS = ("price", "currency", "previous_close", "change", "time", "name", "status")
_FIELD_ALIASES = {
    "": "price",
    "last": "price",
    "previousclose": "previous_close",
    "prevclose": "previous_close",
    "현재가": "price",
    "가격": "price",
    "통화": "currency",
    "전일종가": "previous_close",
    "등락률": "change",
    "시각": "time",
    "이름": "name",
    "종목명": "name",
    "상태": "status",
}
_HISTORY_FIELDS = {"adjclose": "adjclose", "adjustedclose": "adjclose", "close": "close"}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RefreshReport:
    """What one refresh did.

    Attributes
    ----------
    requested
        Cache keys asked for: tickers (``QQQ``, ``069500``) and FX pairs (``USD/KRW``).
    updated
        Keys that got a fresh price.
    failures
        Key -> why it got none (a :class:`~etf_rebalancer.errors.QuoteError`
        subclass from :mod:`etf_rebalancer.quotes.base`); the cache keeps the
        last good price of each.
    rate_limited
        True when Yahoo answered HTTP 429 and the rest of the batch was skipped.
    http_requests
        Requests the provider sent for this refresh (cookie and crumb included).
    started_at, finished_at
        Timezone-aware UTC times.
    notices
        Warnings to show (a rebuilt cache, a rate limit...).
    rows
        Quotes-sheet rows, one per requested key, in the order of
        ``workbook.layout.QUOTES_HEADER``: ``Ticker, Price, Currency, Time, Status, Source``.
    """

    requested: tuple[str, ...]
    updated: tuple[str, ...]
    failures: Mapping[str, QuoteError]
    rate_limited: bool
    http_requests: int
    started_at: dt.datetime
    finished_at: dt.datetime
    notices: tuple[Notice, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when every requested key got a fresh price."""
        return not self.failures


class QuoteService:
    """Cache-first quotes with a batched refresh; one per process (see :func:`get_service`).

    Parameters
    ----------
    cache
        The quote cache.
    provider
        The network provider, or a zero-argument factory building it on first
        use (importing yfinance takes a second); ``None`` works offline.
    clock
        Epoch seconds now (tests pass a fake clock).
    """

    def __init__(
        self,
        cache: QuoteCache,
        provider: Provider | Callable[[], Provider] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        stale_after: float = STALE_AFTER,
        cold_timeout: float = COLD_TIMEOUT,
    ) -> None:
        self.cache = cache
        self._provider = provider
        self.clock = clock
        self.stale_after = stale_after
        self.cold_timeout = cold_timeout
        self._cold_lock = threading.Lock()
        self._blocked_until = 0.0  # monotonic time before which cells do not fetch
        self._rate_limited_at: float | None = None

    # ------------------------------------------------------------ provider

    @property
    def offline(self) -> bool:
        """True when no network provider is configured."""
        return self._provider is None

    @property
    def provider(self) -> Provider | None:
        """The network provider, built on first use."""
        if self._provider is not None and not hasattr(self._provider, "fetch_quotes"):
            factory = self._provider
            assert callable(factory)
            self._provider = factory()
        return self._provider  # type: ignore[return-value]

    # ------------------------------------------------------------ reading

    def lookup(self, key: str) -> CachedQuote | None:
        """The cached row of a ticker or FX key, no network."""
        return self.cache.get(key)

    def quote(self, key: str) -> CachedQuote:
        """The cached row of ``key``, fetching it on a cold miss (see the module notes).

        Raises
        ------
        QuoteError
            No price was ever had for ``key``: working offline, waiting for
            Refresh, or the fetch failed (the error kind says why).
        """
        row = self.cache.get(key)
        if row is None:
            self._cold([key])
            row = self.cache.get(key)
        if row is None:
            raise self._missing_error(key)
        if row.effective_price is None:
            raise _row_error(row)
        return row

    def ensure(self, keys: Iterable[str]) -> None:
        """Fetch, in one batch, whichever of ``keys`` the cache lacks (for REBAL_* and the CLI)."""
        missing = [k for k in dict.fromkeys(keys) if self.cache.get(k) is None]
        if missing:
            self._cold(missing, quiet=False)

    def want(self, keys: Iterable[str]) -> None:
        """Note keys a workbook needs, so the next on-demand fetch includes them."""
        self.cache.want(list(keys), self.clock())

    def _missing_error(self, key: str) -> QuoteError:
        if self.offline:
            return OfflineError(
                f"No cached price for {key} and working offline: refresh prices when online, "
                "or type the price into the holdings",
                f"{key}: 저장된 가격이 없고 오프라인입니다; "
                "온라인에서 새로고침하거나 가격을 직접 입력하세요",
            )
        if self._rate_limited_at is not None and time.monotonic() < self._blocked_until:
            return RateLimitedError(
                f"No price yet for {key}: Yahoo Finance asked us to slow down (HTTP 429); "
                "press Refresh in a few minutes",
                f"{key}: 아직 가격이 없습니다; Yahoo Finance 요청 한도 초과(HTTP 429), "
                "몇 분 뒤 새로고침하세요",
            )
        return QuoteError(
            f"No price yet for {key}: press Refresh (prices are fetched in one batch)",
            f"{key}: 아직 가격이 없습니다; 새로고침을 누르세요",
        )

    # ------------------------------------------------------------ fetching

    def _cold(self, keys: list[str], *, quiet: bool = True) -> None:
        """The on-demand fetch policy: at most one batch per quiet window, none in a backoff."""
        if self.offline:
            return
        now = time.monotonic()
        if (quiet and now < self._blocked_until) or (
            not quiet and self._rate_limited_at is not None and now < self._blocked_until
        ):
            self.want(keys)
            return
        if not self._cold_lock.acquire(blocking=False):
            self.want(keys)  # another thread is fetching; don't queue behind it
            return
        try:
            self._blocked_until = math.inf
            wanted = [k for k in self.cache.wanted() if self.cache.get(k) is None]
            batch = list(dict.fromkeys([*keys, *wanted]))
            report = self._fetch(batch, total_timeout=self.cold_timeout)
            self.cache.unwant(batch)
            self._blocked_until = time.monotonic() + _backoff(report)
        finally:
            if self._blocked_until == math.inf:
                self._blocked_until = time.monotonic() + NETWORK_BACKOFF
            self._cold_lock.release()

    def refresh(
        self,
        tickers: Iterable[Any],
        currencies: Iterable[str] = (),
        base_currency: str | None = None,
        progress: Progress | None = None,
        *,
        timeout: float = REFRESH_TIMEOUT,
    ) -> RefreshReport:
        """Fetch every quote a workbook needs in one batch and store it in the cache.

        Parameters
        ----------
        tickers
            Tickers as the workbook has them (``"QQQ"``, ``"069500"``, 69500.0,
            ``"USD/KRW"``); blanks and ``CASH`` are skipped.
        currencies
            Currencies the holdings are in; with ``base_currency`` each becomes an
            FX pair ``CCY/BASE`` (``USD/KRW``).
        base_currency
            The workbook's base currency.
        progress
            Called with short English status texts as the refresh goes.
        timeout
            Total seconds the refresh may take before the rest is marked failed.

        Returns
        -------
        RefreshReport
            Never raises for a failed fetch: failures are in ``report.failures``
            and the cache keeps each failed key's last good price.
        """
        keys: list[str] = []
        for value in tickers:
            if is_blank(value):
                continue
            key = normalise_ticker(value)
            if key != CASH_TICKER:
                keys.append(key)
        if base_currency:
            base = major_currency(base_currency)[0]
            for currency in currencies:
                ccy = major_currency(currency)[0]
                if ccy and ccy != base:
                    keys.append(fx_ticker(ccy, base))
        keys = list(dict.fromkeys(keys))
        if progress:
            progress(f"fetching {len(keys)} quotes")
        report = self._fetch(keys, total_timeout=timeout, explicit=True)
        self.cache.unwant(keys)
        if progress:
            progress(f"{len(report.updated)} updated, {len(report.failures)} failed")
        return report

    def _fetch(
        self, keys: list[str], *, total_timeout: float, explicit: bool = False
    ) -> RefreshReport:
        started = self.clock()
        provider = self.provider
        notices: list[Notice] = list(self.cache.notices)
        self.cache.notices.clear()
        symbols_for: dict[str, tuple[str, ...]] = {}
        for key in keys:
            remembered = self.cache.resolved(key)
            symbols_for[key] = (remembered,) if remembered else candidates(key)
        all_symbols = list(dict.fromkeys(s for group in symbols_for.values() for s in group))
        results: Mapping[str, Quote | Failure]
        requests_before = provider.http_requests if provider else 0
        pause = self._rate_limit_pause() if explicit else None
        if provider is None:
            offline = OfflineError(
                "working offline: no quotes fetched", "오프라인: 시세를 받지 않았습니다"
            )
            results = {s: Failure(s, offline) for s in all_symbols}
        elif pause is not None:
            results = {s: Failure(s, pause) for s in all_symbols}
        elif not all_symbols:
            results = {}
        else:
            # A per-request timeout below the total leaves room for yfinance's cookie step.
            per_request = max(1.0, total_timeout / 2)
            results = _with_deadline(
                lambda: provider.fetch_quotes(all_symbols, timeout=per_request),
                total_timeout,
                all_symbols,
            )
        now = self.clock()
        updated: list[str] = []
        failures: dict[str, QuoteError] = {}
        rows: list[CachedQuote] = []
        remember: list[tuple[str, str]] = []
        source = provider.name if provider else "offline"
        for key, group in symbols_for.items():
            found = next((results[s] for s in group if isinstance(results.get(s), Quote)), None)
            old = self.cache.get(key)
            if isinstance(found, Quote):
                rows.append(_row_from_quote(key, found, old, source, now))
                updated.append(key)
                if len(group) > 1 or found.symbol != group[0]:
                    remember.append((key, found.symbol))
                continue
            error = _group_error(key, group, results)
            failures[key] = error
            rows.append(_row_from_failure(key, group[0], error, old, now))
        self.cache.put(rows)
        self.cache.remember(remember)
        rate_limited = any(isinstance(e, RateLimitedError) for e in failures.values())
        if rate_limited and pause is None:
            self._rate_limited_at = time.monotonic()
            self._blocked_until = time.monotonic() + RATE_LIMIT_BACKOFF
            notices.append(
                Notice(
                    "Yahoo Finance rate limit (HTTP 429): the rest of this refresh was skipped; "
                    "cached prices are kept. Try again in a few minutes.",
                    "Yahoo Finance 요청 한도 초과(HTTP 429): 나머지 종목은 건너뛰고 "
                    "저장된 가격을 유지합니다. 몇 분 뒤 다시 시도하세요.",
                )
            )
        finished = self.clock()
        return RefreshReport(
            requested=tuple(keys),
            updated=tuple(updated),
            failures=failures,
            rate_limited=rate_limited,
            http_requests=(provider.http_requests - requests_before) if provider else 0,
            started_at=_utc(started),
            finished_at=_utc(finished),
            notices=tuple(notices),
            rows=tuple(self.sheet_row(k) for k in keys),
        )

    def _rate_limit_pause(self) -> RateLimitedError | None:
        if self._rate_limited_at is None:
            return None
        waited = time.monotonic() - self._rate_limited_at
        if waited >= REFRESH_RATE_LIMIT_PAUSE:
            return None
        left = math.ceil(REFRESH_RATE_LIMIT_PAUSE - waited)
        return RateLimitedError(
            f"Not fetched: Yahoo Finance rate limit (HTTP 429) {int(waited)} s ago; "
            f"try again in {left} s",
            f"가져오지 않음: {int(waited)}초 전 Yahoo Finance 요청 한도 초과(HTTP 429); "
            f"{left}초 뒤 다시 시도하세요",
        )

    # ------------------------------------------------------------ overrides

    def set_override(self, ticker: Any, price: float, currency: str | None = None) -> None:
        """Use ``price`` (in ``currency``, or the fetched currency) for ``ticker`` until cleared.

        Manual prices win over fetched ones; a later refresh keeps the override
        and still records the fetched price beside it. FX pairs are set with
        tickers like ``"USD/KRW"`` (KRW for one USD).
        """
        key = normalise_ticker(ticker)
        if isinstance(price, bool) or not isinstance(price, int | float):
            raise InputError(
                f"Override price must be a number, got {price!r} ({key})",
                f"수동 가격은 숫자여야 합니다: {price!r} ({key})",
            )
        if not math.isfinite(price) or price <= 0:
            raise InputError(
                f"Override price must be a positive number, got {price!r} ({key})",
                f"수동 가격은 0보다 큰 숫자여야 합니다: {price!r} ({key})",
            )
        ccy, factor = major_currency(currency or "")
        pair = parse_fx_ticker(key)
        if pair and not ccy:
            ccy = pair[1]
        if ccy and not is_currency(ccy):
            raise InputError(
                f"Override currency must be a three-letter code, got {currency!r} ({key})",
                f"수동 가격의 통화는 세 글자 코드여야 합니다: {currency!r} ({key})",
            )
        old = self.cache.get(key) or CachedQuote(key, candidates(key)[0])
        self.cache.put(
            [
                replace(
                    old,
                    override_price=float(price) * factor,
                    override_currency=ccy,
                    override_at=self.clock(),
                )
            ]
        )

    def clear_override(self, ticker: Any) -> None:
        """Go back to fetched prices for ``ticker``."""
        key = normalise_ticker(ticker)
        old = self.cache.get(key)
        if old is None:
            return
        if old.price is None and not old.error:
            self.cache.delete([key])
        else:
            self.cache.put(
                [replace(old, override_price=None, override_currency="", override_at=None)]
            )

    # ------------------------------------------------------------ status and FX

    def age(self, row: CachedQuote) -> float | None:
        """Seconds since the price in use was fetched or set."""
        if row.override_price is not None and row.override_at is not None:
            return max(0.0, self.clock() - row.override_at)
        if row.fetched_at is None:
            return None
        return max(0.0, self.clock() - row.fetched_at)

    def is_stale(self, row: CachedQuote) -> bool:
        """True when the price in use is older than ``stale_after`` or its last fetch failed."""
        if row.override_price is not None:
            return False
        age = self.age(row)
        return age is None or age > self.stale_after or bool(row.error)

    def status(self, row: CachedQuote) -> str:
        """``fresh``, ``stale (3 h)``, ``manual (2 d)`` or ``error: ...``."""
        if row.override_price is not None:
            return f"manual ({_age_text(self.age(row) or 0.0)})"
        if row.price is None:
            return f"error: {row.error or 'no price'}"
        age = self.age(row) or 0.0
        if row.error:
            return f"error: {row.error} (last price {_age_text(age)} old)"
        if age <= self.stale_after:
            return "fresh"
        return f"stale ({_age_text(age)})"

    def sheet_row(self, key: str) -> tuple[Any, ...]:
        """One Quotes-sheet row: ``Ticker, Price, Currency, Time, Status, Source``."""
        row = self.cache.get(key)
        if row is None:
            return (key, None, None, None, "error: not fetched", "")
        stamp = row.as_of or row.fetched_at
        return (
            key,
            row.effective_price,
            row.effective_currency or None,
            _local(stamp) if stamp else None,
            self.status(row),
            "manual" if row.override_price is not None else row.source,
        )

    def fx(self, from_currency: str, to_currency: str) -> tuple[float, list[CachedQuote]]:
        """Units of ``to_currency`` for one ``from_currency`` and the cached rows it came from.

        Tries the direct pair, its inverse, then a cross through USD; a cold
        miss fetches the direct pair (see the module notes).

        Raises
        ------
        QuoteError
            No rate can be had.
        """
        base, base_factor = major_currency(from_currency)
        quote, quote_factor = major_currency(to_currency)
        scale = base_factor / quote_factor
        if base == quote:
            return scale, []
        found = self._fx_cached(base, quote)
        if found is None:
            key = fx_ticker(base, quote)
            self._cold([key])
            found = self._fx_cached(base, quote)
        if found is None:
            row = self.cache.get(fx_ticker(base, quote))
            if row is not None and row.error:
                raise _row_error(row)
            raise self._missing_error(fx_ticker(base, quote))
        rate, rows = found
        return rate * scale, rows

    def _fx_cached(self, base: str, quote: str) -> tuple[float, list[CachedQuote]] | None:
        def leg(a: str, b: str) -> tuple[float, CachedQuote] | None:
            if a == b:
                return None
            direct = self.cache.get(fx_ticker(a, b))
            if direct is not None and direct.effective_price:
                return direct.effective_price, direct
            inverse = self.cache.get(fx_ticker(b, a))
            if inverse is not None and inverse.effective_price:
                return 1.0 / inverse.effective_price, inverse
            return None

        one = leg(base, quote)
        if one is not None:
            return one[0], [one[1]]
        if "USD" in (base, quote):
            return None
        first, second = leg(base, "USD"), leg("USD", quote)
        if first is None or second is None:
            return None
        return first[0] * second[0], [first[1], second[1]]

    # ------------------------------------------------------------ history

    def history(
        self, keys: Sequence[str], start: dt.date, end: dt.date
    ) -> dict[str, History | Failure]:
        """Daily closes per ticker, ``start`` to ``end``: cache first, the missing in one batch."""
        today = dt.datetime.fromtimestamp(self.clock()).date()
        out: dict[str, History | Failure] = {}
        unresolved = [k for k in keys if len(candidates(k)) > 1 and not self.cache.resolved(k)]
        if unresolved and not self.offline:
            self.ensure(unresolved)
        need: dict[str, str] = {}
        for key in keys:
            symbol = self.cache.resolved(key) or candidates(key)[0]
            cover = self.cache.history_coverage(symbol)
            recent = cover is not None and self.clock() - cover.fetched_at <= self.stale_after
            covered = (
                cover is not None
                and cover.start <= start
                and (cover.end >= end or (cover.end >= min(end, today) and recent))
            )
            if covered and cover is not None:
                out[key] = History(symbol, cover.currency, self.cache.history(symbol, start, end))
            else:
                need[key] = symbol
        if not need:
            return out
        provider = None if self.offline else self.provider
        fetch_end = min(end, today)
        if provider is not None and start <= fetch_end:
            results = _with_deadline(
                lambda: provider.fetch_history(
                    list(need.values()), start, fetch_end, timeout=self.cold_timeout
                ),
                self.cold_timeout * 2,
                list(need.values()),
            )
        else:
            results = {}
        now = self.clock()
        for key, symbol in need.items():
            result = results.get(symbol)
            if isinstance(result, History):
                self.cache.put_history(symbol, result.currency, result.frame, start, end, now)
                out[key] = result
                continue
            cover = self.cache.history_coverage(symbol)
            if cover is not None:  # offline or failed: answer what is cached
                out[key] = History(symbol, cover.currency, self.cache.history(symbol, start, end))
            elif isinstance(result, Failure):
                out[key] = Failure(symbol, result.error)
            elif self.offline:
                out[key] = Failure(
                    symbol,
                    OfflineError(
                        f"No cached history for {key} from {start} and working offline: "
                        "calculate once online, or paste prices (Date, then one column per "
                        "ticker) in place of ETF_HISTORY",
                        f"{key}: {start}부터의 저장된 가격이력이 없고 오프라인입니다; 온라인에서 "
                        "한 번 계산하거나 ETF_HISTORY 대신 가격표(날짜, 티커별 열)를 붙여 넣으세요",
                    ),
                )
            else:
                out[key] = Failure(symbol, self._missing_error(key))
        return out


# ---------------------------------------------------------------- UDF bodies


def price_field(service: QuoteService, ticker: Any, field: Any = "price") -> Any:
    """Body of ``ETF_PRICE(ticker, [field])``: one value from the cache.

    Returns
    -------
    float or str or datetime.datetime
        ``price`` and ``previous_close`` in the listing currency (pounds, not
        pence); ``change`` as a fraction of the previous close; ``time`` as a
        naive datetime in the computer's local time (Excel has no timezones);
        ``currency``, ``name`` and ``status`` as text.

    Raises
    ------
    InputError, QuoteError
        Blank or malformed ticker, unknown field, no price available.
    """
    if is_blank(ticker):
        raise InputError("ticker must be given, got an empty cell", "티커가 비어 있습니다")
    key = normalise_ticker(ticker, where=" (ETF_PRICE ticker)")
    if key == CASH_TICKER:
        raise InputError(
            "ticker must be a listed security, got CASH", "티커는 상장 종목이어야 합니다: 현금"
        )
    name = _price_field_name(field)
    if name == "status":
        row = service.lookup(key)
        if row is None:
            try:
                row = service.quote(key)
            except QuoteError as error:
                row = service.lookup(key)
                if row is None:
                    return f"error: {error.message}"
        return service.status(row)
    row = service.quote(key)
    if name == "price":
        return row.effective_price
    if name == "currency":
        return row.effective_currency or _no_value(key, "currency")
    if name == "name":
        return row.name or key
    if name == "previous_close":
        if row.previous_close is None:
            raise _no_value(key, "previous close")
        return row.previous_close
    if name == "change":
        price = row.effective_price
        if row.previous_close is None or not row.previous_close or price is None:
            raise _no_value(key, "previous close")
        return price / row.previous_close - 1.0
    # time
    stamp = row.override_at if row.override_price is not None else (row.as_of or row.fetched_at)
    if stamp is None:
        raise _no_value(key, "time")
    return _local(stamp)


def fx_rate(service: QuoteService, from_currency: Any, to_currency: Any) -> float:
    """Body of ``ETF_FX(from, to)``: units of ``to`` for one unit of ``from``."""
    base = _currency_argument(from_currency, "from_currency")
    quote = _currency_argument(to_currency, "to_currency")
    rate, _rows = service.fx(base, quote)
    return rate


def history_rows(
    service: QuoteService, tickers: Any, start: Any, end: Any = None, field: Any = "adjclose"
) -> list[list[Any]]:
    """Body of ``ETF_HISTORY``: ``Date`` then one column per ticker, oldest first.

    Days on which only some tickers traded (different exchanges' holidays) keep
    a blank (``None``) for the others. ``field`` is ``adjclose`` (default) or
    ``close``, optionally with a currency (``"KRW"``, ``"close USD"``): every
    price is then converted into it at that day's FX close (the pair's history,
    fetched in the same way), so a backtest of a mixed-currency mix carries the
    currency moves its investor does.
    """
    keys: list[str] = []
    for row_index, row in enumerate(as_rows(tickers), start=1):
        for cell in row:
            if is_blank(cell):
                continue
            key = normalise_ticker(cell, where=f" (tickers cell {row_index})")
            if key != CASH_TICKER:
                keys.append(key)
    keys = list(dict.fromkeys(keys))
    if not keys:
        raise InputError("tickers must name at least one ticker, got none", "티커가 없습니다")
    first = parse_date(start, what="start").date()
    if is_blank(end):
        last = dt.datetime.fromtimestamp(service.clock()).date()
    else:
        last = parse_date(end, what="end").date()
    if last < first:
        raise InputError(
            f"end must not be before start, got start {first} and end {last}",
            f"종료일이 시작일보다 앞설 수 없습니다: 시작 {first}, 종료 {last}",
        )
    column, target = _history_field(field)
    results = service.history(keys, first, last)
    failed = [(k, r) for k, r in results.items() if isinstance(r, Failure)]
    if failed:
        key, failure = failed[0]
        assert isinstance(failure, Failure)
        error = failure.error
        if key in error.message:
            raise error
        raise type(error)(f"{key}: {error.message}", f"{key}: {error.localized('ko')}")
    series = {k: r.frame[column] for k, r in results.items() if isinstance(r, History)}
    if target is not None:
        currencies = {
            k: major_currency(r.currency)[0] for k, r in results.items() if isinstance(r, History)
        }
        series = _convert(service, series, currencies, target, first, last)
    table = pd.DataFrame(series).sort_index()
    if table.empty:
        raise QuoteError(
            f"No prices for {', '.join(keys)} between {first} and {last}",
            f"{', '.join(keys)}: {first}~{last} 기간의 가격이 없습니다",
        )
    out: list[list[Any]] = [["Date", *keys]]
    for day, values in zip(table.index, table[keys].to_numpy(), strict=True):
        out.append(
            [
                day.to_pydatetime(),
                *(float(v) if v == v and math.isfinite(v) else None for v in values),
            ]
        )
    return out


# ---------------------------------------------------------------- process-wide service

_services: dict[tuple[str, bool], QuoteService] = {}
_services_lock = threading.Lock()


def cache_dir() -> Path:
    """``$ETF_REBAL_CACHE_DIR`` if set, else the platform's user cache folder."""
    configured = os.environ.get("ETF_REBAL_CACHE_DIR")
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_cache_dir("etf-rebalancer", appauthor=False))


def get_service(offline: bool | None = None) -> QuoteService:
    """The process-wide service for the current cache folder and offline setting.

    Cheap after the first call (two environment lookups and a dictionary hit).
    ``ETF_REBAL_OFFLINE=1`` (or ``offline=True``) gives a service with no
    network provider: it answers from the cache only.
    """
    if offline is None:
        offline = os.environ.get("ETF_REBAL_OFFLINE", "").strip().lower() in ("1", "true", "yes")
    key = (os.environ.get("ETF_REBAL_CACHE_DIR", ""), offline)
    service = _services.get(key)
    if service is not None:
        return service
    with _services_lock:
        service = _services.get(key)
        if service is None:
            service = _build_service(offline=key[1])
            _services[key] = service
    return service


def _build_service(*, offline: bool) -> QuoteService:
    folder = cache_dir()
    notices: list[Notice] = []
    try:
        cache = QuoteCache(folder / "quotes.sqlite")
    except (OSError, Exception) as error:  # an unusable folder must not stop the add-in
        cache = QuoteCache(":memory:")
        notices.append(
            Notice(
                f"The quote cache folder {folder} cannot be used ({error}); prices are kept "
                "in memory until Excel closes",
                f"시세 캐시 폴더 {folder}를 쓸 수 없습니다({error}); 가격은 Excel을 닫을 때까지만 "
                "메모리에 보관됩니다",
            )
        )
    cache.notices.extend(notices)
    if offline:
        return QuoteService(cache, None)

    def make_provider() -> Provider:
        from etf_rebalancer.quotes.yahoo import YahooProvider

        return YahooProvider(cache_dir=folder)

    return QuoteService(cache, make_provider)


def reset_services() -> None:
    """Forget every process-wide service (tests; a changed cache folder)."""
    with _services_lock:
        for service in _services.values():
            service.cache.close()
        _services.clear()


# ---------------------------------------------------------------- helpers


def _with_deadline(
    call: Callable[[], Mapping[str, Any]], seconds: float, symbols: Sequence[str]
) -> Mapping[str, Any]:
    """Run ``call`` in a daemon thread; past the deadline answer network failures.

    yfinance's cookie request has its own 30 s timeout; Excel must not wait that
    long, so the caller stops waiting and the thread finishes on its own.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = call()
        except Exception as error:  # a provider bug: report it per symbol
            box["error"] = error

    thread = threading.Thread(target=target, name="quote-fetch", daemon=True)
    thread.start()
    thread.join(seconds)
    if "result" in box:
        return box["result"]
    names = ", ".join(symbols[:5]) + (" ..." if len(symbols) > 5 else "")
    if "error" in box:
        error: QuoteError = NetworkError(
            f"Quote fetch failed for {names}: {box['error']}",
            f"시세를 받지 못했습니다: {names}: {box['error']}",
        )
    else:
        error = NetworkError(
            f"Yahoo Finance did not answer within {seconds:g} s for {names}",
            f"Yahoo Finance가 {seconds:g}초 안에 응답하지 않았습니다: {names}",
        )
    return {s: Failure(s, error) for s in symbols}


def _backoff(report: RefreshReport) -> float:
    if report.rate_limited:
        return RATE_LIMIT_BACKOFF
    if report.failures and all(isinstance(e, NetworkError) for e in report.failures.values()):
        return NETWORK_BACKOFF
    return COLD_QUIET


def _group_error(key: str, group: tuple[str, ...], results: Mapping[str, Any]) -> QuoteError:
    failures = [results[s] for s in group if isinstance(results.get(s), Failure)]
    if not failures:
        return NetworkError(f"{key}: no answer", f"{key}: 응답 없음")
    # A KRX code missing from both boards is "not found"; any other failure explains more.
    other = next((f for f in failures if not isinstance(f.error, NotFoundError)), None)
    if other is not None:
        return other.error
    if len(group) > 1:
        boards = " or ".join(group)
        return NotFoundError(
            f"{key}: not found on Yahoo Finance as {boards}",
            f"{key}: Yahoo Finance에서 {boards} 종목을 찾을 수 없습니다",
        )
    error = failures[0].error
    if key != group[0] and key not in error.message:
        return type(error)(f"{key}: {error.message}", f"{key}: {error.localized('ko')}")
    return error


def _row_from_quote(
    key: str, quote: Quote, old: CachedQuote | None, source: str, now: float
) -> CachedQuote:
    return CachedQuote(
        ticker=key,
        symbol=quote.symbol,
        price=quote.price,
        currency=quote.currency,
        previous_close=quote.previous_close,
        as_of=quote.time.timestamp() if quote.time else None,
        name=quote.name,
        kind=quote.kind,
        source=source,
        fetched_at=now,
        override_price=old.override_price if old else None,
        override_currency=old.override_currency if old else "",
        override_at=old.override_at if old else None,
    )


def _row_from_failure(
    key: str, symbol: str, error: QuoteError, old: CachedQuote | None, now: float
) -> CachedQuote:
    base = old if old is not None else CachedQuote(key, symbol)
    return replace(
        base,
        error=error.message,
        error_ko=error.message_ko or "",
        error_kind=str(getattr(error, "kind", "error")),
        error_at=now,
    )


def _row_error(row: CachedQuote) -> QuoteError:
    cls = ERROR_KINDS.get(row.error_kind, QuoteError)
    message = row.error or f"no price for {row.ticker}"
    if row.ticker not in message:
        message = f"{row.ticker}: {message}"
    return cls(message, row.error_ko or None)


def _no_value(key: str, what: str) -> QuoteError:
    return QuoteError(f"{key}: no {what} in the quote", f"{key}: 시세에 {what} 값이 없습니다")


def _price_field_name(field: Any) -> str:
    if is_blank(field):
        return "price"
    if not isinstance(field, str):
        raise InputError(
            f"field must be one of {', '.join(FIELDS)}, got {field!r}",
            f"field는 {', '.join(FIELDS)} 중 하나여야 합니다: {field!r}",
        )
    folded = normalise_header(field)
    for name in FIELDS:
        if folded == normalise_header(name):
            return name
    if folded in _FIELD_ALIASES:
        return _FIELD_ALIASES[folded]
    raise InputError(
        f"field must be one of {', '.join(FIELDS)}, got {field!r}",
        f"field는 {', '.join(FIELDS)} 중 하나여야 합니다: {field!r}",
    )


def _history_field(field: Any) -> tuple[str, str | None]:
    """``(column, currency)`` of ETF_HISTORY's ``field``: ``adjclose`` (default) or
    ``close``, optionally followed or replaced by a currency to convert into
    (``KRW``, ``close USD``)."""
    if is_blank(field):
        return "adjclose", None
    if isinstance(field, str) and normalise_header(field) in _HISTORY_FIELDS:
        return _HISTORY_FIELDS[normalise_header(field)], None  # "Adjusted Close"
    words = field.split() if isinstance(field, str) else []
    column: str | None = None
    currency: str | None = None
    valid = bool(words)
    for word in words:
        name = _HISTORY_FIELDS.get(normalise_header(word))
        if name and column is None:
            column = name
        elif currency is None and is_currency(word.upper()):
            currency = word.upper()
        else:
            valid = False
    if not valid:
        raise InputError(
            "field must be adjclose or close, and/or a currency to convert into "
            f"(such as KRW or close USD), got {field!r}",
            "field는 adjclose 또는 close, 그리고/또는 환산할 통화(예: KRW, close USD)여야 "
            f"합니다: {field!r}",
        )
    return column or "adjclose", currency


def _convert(
    service: QuoteService,
    series: dict[str, pd.Series],
    currencies: dict[str, str],
    target: str,
    first: dt.date,
    last: dt.date,
) -> dict[str, pd.Series]:
    """Each series times its currency's daily rate into ``target`` (the last rate known
    on that day: FX trades through other exchanges' holidays, not always the reverse)."""
    pairs = {c: fx_ticker(c, target) for c in set(currencies.values()) if c != target}
    if not pairs:
        return series
    # A week's lead, so a listing's first close has a rate even after an FX holiday.
    fx = service.history(list(pairs.values()), first - dt.timedelta(days=7), last)
    rates: dict[str, pd.Series] = {}
    for currency, pair in pairs.items():
        result = fx[pair]
        if isinstance(result, Failure):
            error = result.error
            raise type(error)(
                f"{pair} (to convert prices into {target}): {error.message}",
                f"{pair} ({target} 환산용): {error.localized('ko')}",
            )
        rates[currency] = result.frame["close"].dropna()
    out = {}
    for key, values in series.items():
        currency = currencies[key]
        if currency == target:
            out[key] = values
            continue
        rate = rates[currency]
        on_days = rate.reindex(rate.index.union(values.index)).ffill().reindex(values.index)
        out[key] = values * on_days
    return out


def _currency_argument(value: Any, what: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    iso = major_currency(text)[0] if text else ""
    if not is_currency(iso) and not is_currency(text):
        raise InputError(
            f"{what} must be a three-letter currency code such as USD or KRW, got {value!r}",
            f"{what} 값은 USD, KRW 같은 세 글자 통화 코드여야 합니다: {value!r}",
        )
    return text if text in ("GBp", "ILA", "ZAc") else text.upper()


def _age_text(seconds: float) -> str:
    if seconds < 90:
        return f"{max(0, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} d"


def _local(stamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp).replace(microsecond=0)


def _utc(stamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC)
