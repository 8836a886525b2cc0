"""The quote service: cache-first answers for cells, CLI and planning, and one batched refresh.

How a cell gets its price
-------------------------
Every ``ETF_PRICE``/``ETF_FX`` call reads the cache (an in-memory snapshot of
the SQLite file): a warm workbook makes no network call however many cells it
has, and a stale price is still answered (``ETF_PRICE(t, "status")`` says how
old it is, where it came from and how late that source is). Prices change only
when the user presses Refresh (:meth:`QuoteService.refresh`, one batch for the
whole workbook) or when a cell asks for a ticker the cache has never seen:

* the first such cell fetches, in one request, its own ticker plus every
  ticker other cells asked for earlier and did not get (the *wanted* list,
  kept in the cache file); it waits only what the shared
  :class:`~etf_rebalancer.quotes.breaker.Breaker` allows (about 1 s per
  recalculation in all). An answer arriving later is still stored, so the next
  recalculation finds it;
* cells that miss in the next :data:`COLD_QUIET` seconds (the rest of the same
  recalculation) do not fetch: they answer "no price yet for X: press Refresh"
  and join the wanted list. A cold workbook of 50 cells costs one batch.
* a fetch that times out or finds no network trips the breaker for
  :data:`NETWORK_BACKOFF` seconds (:data:`RATE_LIMIT_BACKOFF` after HTTP 429):
  until then, or until Refresh, every cell, ``ETF_HISTORY`` included, answers
  at once from the cache or with its message.

``ETF_REBAL_OFFLINE=1`` removes the network providers altogether. The UDF
bodies live in :mod:`etf_rebalancer.quotes.functions`, the process-wide
service in :mod:`etf_rebalancer.quotes.registry`, the FX rule in
:mod:`etf_rebalancer.cells.fx`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from etf_rebalancer.cells import CASH_TICKER, is_blank, normalise_ticker
from etf_rebalancer.cells.fx import cross_rate
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
from etf_rebalancer.quotes.breaker import Breaker
from etf_rebalancer.quotes.cache import CachedQuote, QuoteCache
from etf_rebalancer.quotes.rows import quote_row
from etf_rebalancer.quotes.symbols import (
    candidates,
    fx_ticker,
    is_currency,
    major_currency,
    parse_fx_ticker,
)

__all__ = ["QuoteService", "RefreshReport"]

STALE_AFTER = 3600.0  # seconds after which a fetched price is reported stale
COLD_QUIET = 2.0  # after an on-demand fetch, other misses wait for Refresh
LATE_TIMEOUT = 8.0  # per-request timeout of an on-demand fetch finishing after its cell
NETWORK_BACKOFF = 60.0  # no cell waits this long after a network failure
RATE_LIMIT_BACKOFF = 900.0  # ...and this long after Yahoo answered HTTP 429
REFRESH_TIMEOUT = 30.0  # total seconds an explicit refresh may take
REFRESH_RATE_LIMIT_PAUSE = 60.0  # an explicit refresh right after a 429 does not ask again

_SOURCE_NAMES = {"naver": "Naver", "yahoo": "Yahoo", "kis": "KIS", "memory": "offline table"}

Progress = Callable[[str], None]
Rows = list[CachedQuote]


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
    """Cache-first quotes with a batched refresh; one per process (see ``registry.get_service``).

    Parameters
    ----------
    cache
        The quote cache.
    provider
        The network provider, or a zero-argument factory building it on first
        use (importing yfinance takes a second); ``None`` works offline.
    clock
        Epoch seconds now (tests pass a fake clock).
    breaker
        The waiting allowance shared by every on-demand fetch (a fresh
        :class:`~etf_rebalancer.quotes.breaker.Breaker` by default).
    """

    def __init__(
        self,
        cache: QuoteCache,
        provider: Provider | Callable[[], Provider] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        stale_after: float = STALE_AFTER,
        cold_timeout: float | None = None,
        breaker: Breaker | None = None,
    ) -> None:
        self.cache = cache
        self._provider = provider
        self.clock = clock
        self.stale_after = stale_after
        self.breaker = breaker or Breaker()
        if cold_timeout is not None:  # tests: a longer wait per burst
            self.breaker.budget = cold_timeout
        self._cold_lock = threading.Lock()
        self._quiet_until = 0.0  # monotonic time before which cells do not fetch
        self._rate_limited_at: float | None = None
        self._in_flight = threading.Event()  # an on-demand fetch still running
        self._patient = False  # inside patience(): an explicit command is fetching

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
            if not callable(factory):
                raise TypeError(f"provider must be a Provider or a factory, got {factory!r}")
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

    def ensure(self, keys: Iterable[str], *, timeout: float | None = None) -> None:
        """Fetch, in one batch, whichever of ``keys`` the cache lacks (REBAL_*, the CLI).

        ``timeout`` (the CLI) waits that long whatever the breaker says; without
        it (a cell) the wait comes from the breaker's shared allowance.
        """
        missing = [k for k in dict.fromkeys(keys) if self.cache.get(k) is None]
        if not missing:
            return
        if timeout is not None and not self.offline:
            self._fetch(missing, total_timeout=timeout, explicit=True)
            self.cache.unwant(missing)
        else:
            self._cold(missing, quiet=False)

    @contextlib.contextmanager
    def patience(self, seconds: float) -> Iterator[None]:
        """Let on-demand fetches inside the block wait up to ``seconds`` in all.

        For explicit commands (``etf-rebal backtest``, the Refresh button's
        backtest sheet), never for cells: the breaker is closed first, as a
        Refresh would, and its cell budget comes back afterwards.
        """
        budget = self.breaker.budget
        self.breaker.reset()
        self.breaker.budget = seconds
        self._patient = True  # and it does not leave its fetch to one still running
        try:
            yield
        finally:
            self.breaker.budget = budget
            self._patient = False

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
        if self._rate_limited_at is not None and self.breaker.is_open:
            return RateLimitedError(
                f"No price yet for {key}: Yahoo Finance asked us to slow down (HTTP 429); "
                "press Refresh in a few minutes",
                f"{key}: 아직 가격이 없습니다; Yahoo Finance 요청 한도 초과(HTTP 429), "
                "몇 분 뒤 새로고침하세요",
            )
        if self.breaker.is_open:
            return NetworkError(
                f"No price yet for {key}: the quote servers did not answer just now; "
                "press Refresh to try again",
                f"{key}: 아직 가격이 없습니다; 시세 서버가 방금 응답하지 않았습니다. "
                "새로고침을 눌러 다시 시도하세요",
            )
        return QuoteError(
            f"No price yet for {key}: press Refresh (prices are fetched in one batch)",
            f"{key}: 아직 가격이 없습니다; 새로고침을 누르세요",
        )

    # ------------------------------------------------------------ fetching

    def _cold(self, keys: list[str], *, quiet: bool = True) -> None:
        """The on-demand fetch policy: one batch per quiet window, waits from the breaker."""
        if self.offline:
            return
        if (quiet and time.monotonic() < self._quiet_until) or self._in_flight.is_set():
            self.want(keys)
            return
        wait = self.breaker.allowance()
        if wait <= 0:
            self.want(keys)
            return
        if not self._cold_lock.acquire(blocking=False):
            self.want(keys)  # another thread is fetching; don't queue behind it
            return
        try:
            wanted = [k for k in self.cache.wanted() if self.cache.get(k) is None]
            batch = list(dict.fromkeys([*keys, *wanted]))
            self._fetch(batch, total_timeout=wait)
            self.cache.unwant(batch)
            self._quiet_until = time.monotonic() + COLD_QUIET
        finally:
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
        """Fetch ``keys`` in one provider call, store the answers, trip the breaker on failure.

        An explicit fetch (Refresh, the CLI) resets the breaker first and waits
        ``total_timeout``; an on-demand one waits what the breaker allows and
        lets a late answer be stored when it arrives.
        """
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
        source = provider.name if provider else "offline"
        timed_out = False
        if explicit and pause is None:
            self.breaker.reset()
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
            # On demand, the request may outlive the cell's wait: its answer is stored late.
            per_request = (
                max(1.0, total_timeout / 2) if explicit else max(LATE_TIMEOUT, total_timeout)
            )

            def late(answer: Mapping[str, Any]) -> None:
                updated, _ = self._store(symbols_for, answer, source, only_found=True)
                if updated:  # slow, not gone: cells may fetch again
                    self.breaker.reset()

            began = time.monotonic()
            results, timed_out = self._with_deadline(
                lambda: provider.fetch_quotes(all_symbols, timeout=per_request),
                total_timeout,
                all_symbols,
                late=None if explicit else late,
            )
            if not explicit:
                self.breaker.spend(time.monotonic() - began)
        updated, failures = self._store(symbols_for, results, source)
        rate_limited = any(isinstance(e, RateLimitedError) for e in failures.values())
        if rate_limited and pause is None:
            self._rate_limited_at = time.monotonic()
            self.breaker.trip(RATE_LIMIT_BACKOFF, next(iter(failures.values())))
            notices.append(
                Notice(
                    "Yahoo Finance rate limit (HTTP 429): the rest of this refresh was skipped; "
                    "cached prices are kept. Try again in a few minutes.",
                    "Yahoo Finance 요청 한도 초과(HTTP 429): 나머지 종목은 건너뛰고 "
                    "저장된 가격을 유지합니다. 몇 분 뒤 다시 시도하세요.",
                )
            )
        elif provider and pause is None and (timed_out or _all_network(failures.values())):
            self.breaker.trip(NETWORK_BACKOFF, next(iter(failures.values()), None))
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

    def _store(
        self,
        symbols_for: Mapping[str, tuple[str, ...]],
        results: Mapping[str, Any],
        source: str,
        *,
        only_found: bool = False,
    ) -> tuple[list[str], dict[str, QuoteError]]:
        """Write one row per key (its quote, or its last good price and why it has none)."""
        now = self.clock()
        updated: list[str] = []
        failures: dict[str, QuoteError] = {}
        rows: Rows = []
        remember: list[tuple[str, str]] = []
        for key, group in symbols_for.items():
            found = next((results[s] for s in group if isinstance(results.get(s), Quote)), None)
            old = self.cache.get(key)
            if isinstance(found, Quote):
                rows.append(_row_from_quote(key, found, old, found.source or source, now))
                updated.append(key)
                # Only a board the answer names is remembered (Naver answers bare codes).
                if found.symbol in group and (len(group) > 1 or found.symbol != group[0]):
                    remember.append((key, found.symbol))
                continue
            if only_found:
                continue
            error = _group_error(key, group, results)
            failures[key] = error
            rows.append(_row_from_failure(key, group[0], error, old, now))
        self.cache.put(rows)
        self.cache.remember(remember)
        return updated, failures

    def _with_deadline(
        self,
        call: Callable[[], Mapping[str, Any]],
        seconds: float,
        symbols: Sequence[str],
        *,
        late: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> tuple[Mapping[str, Any], bool]:
        """Run ``call`` in a daemon thread and wait ``seconds``: ``(results, timed_out)``.

        Past the deadline every symbol gets a network failure naming only
        itself; with ``late`` the answer, when it comes, is handed to it (and
        no other on-demand fetch starts until then).
        """
        box: dict[str, Any] = {}
        lock = threading.Lock()
        done = threading.Event()
        if late is not None:
            self._in_flight.set()

        def target() -> None:
            try:
                result: Any = call()
            except Exception as error:  # a provider bug: report it per symbol
                result, box["error"] = None, error
            with lock:
                box["result"] = result
                done.set()
                if box.get("abandoned") and result is not None and late is not None:
                    try:
                        late(result)
                    finally:
                        self._in_flight.clear()
                elif late is not None:
                    self._in_flight.clear()

        thread = threading.Thread(target=target, name="quote-fetch", daemon=True)
        thread.start()
        done.wait(max(0.0, seconds))
        with lock:
            if box.get("result") is not None:
                return box["result"], False
            box["abandoned"] = True
            error = box.get("error")
        if error is not None:
            return {s: Failure(s, _call_failed(s, error)) for s in symbols}, False
        return {s: Failure(s, _no_answer(s, seconds)) for s in symbols}, True

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
        """``fresh (real-time, Naver)``, ``stale (3 h, delayed 20 min, Yahoo)``, ``manual (2 d)``,
        or ``error: ...``: how old, from where, and how late that source is."""
        if row.override_price is not None:
            return f"manual ({_age_text(self.age(row) or 0.0)})"
        if row.price is None:
            return f"error: {row.error or 'no price'}"
        age = self.age(row) or 0.0
        if row.error:
            return f"error: {row.error} (last price {_age_text(age)} old)"
        origin = ", ".join(p for p in (row.delay, _SOURCE_NAMES.get(row.source, "")) if p)
        if age <= self.stale_after:
            return f"fresh ({origin})" if row.delay else "fresh"
        return f"stale ({_age_text(age)}, {origin})" if row.delay else f"stale ({_age_text(age)})"

    def sheet_row(self, key: str) -> tuple[Any, ...]:
        """One Quotes-sheet row (:func:`~etf_rebalancer.quotes.rows.quote_row`)."""
        row = self.cache.get(key)
        if row is None:
            return quote_row(key, None, None, None, "error: not fetched", "")
        stamp = row.as_of or row.fetched_at
        return quote_row(
            key,
            row.effective_price,
            row.effective_currency,
            _local(stamp) if stamp else None,
            self.status(row),
            "manual" if row.override_price is not None else row.source,
        )

    def fx(self, from_currency: str, to_currency: str) -> tuple[float, Rows]:
        """Units of ``to_currency`` for one ``from_currency`` and the cached rows it came from.

        The one FX rule (:func:`~etf_rebalancer.cells.fx.cross_rate`): the
        direct pair, its inverse, or a cross through USD or another cached
        currency; a cold miss fetches the direct pair (see the module notes).

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

    def _fx_cached(self, base: str, quote: str) -> tuple[float, Rows] | None:
        def rate_of(a: str, b: str) -> float | None:
            row = self.cache.get(fx_ticker(a, b))
            return row.effective_price if row is not None else None

        found = cross_rate(rate_of, base, quote)  # direct, inverse, via USD: no scan
        if found is None:
            via = {c for k in self.cache.all() if (pair := parse_fx_ticker(k)) for c in pair}
            found = cross_rate(rate_of, base, quote, via)
        if found is None:
            return None
        rate, pairs = found
        rows = [r for a, b in pairs if (r := self.cache.get(fx_ticker(a, b))) is not None]
        return rate, rows

    # ------------------------------------------------------------ history

    def history(
        self, keys: Sequence[str], start: dt.date, end: dt.date
    ) -> dict[str, History | Failure]:
        """Daily closes per ticker, ``start`` to ``end``: cache first, the missing in one batch.

        A KRX code whose board is not known yet asks for both boards' history in
        the same batch and remembers the one that answers. The wait comes from
        the breaker, as for quotes: with the network gone, cached history (or a
        message) is answered at once.
        """
        today = dt.datetime.fromtimestamp(self.clock()).date()
        out: dict[str, History | Failure] = {}
        need: dict[str, tuple[str, ...]] = {}
        for key in keys:
            resolved = self.cache.resolved(key)
            options = (resolved,) if resolved else candidates(key)
            hit = next((s for s in options if self._covered(s, start, end, today)), None)
            if hit is not None:
                cover = self.cache.history_coverage(hit)
                currency = cover.currency if cover is not None else ""
                out[key] = History(hit, currency, self.cache.history(hit, start, end))
            else:
                need[key] = options
        if not need:
            return out
        provider = None if self.offline else self.provider
        fetch_end = min(end, today)
        symbols = list(dict.fromkeys(s for group in need.values() for s in group))
        results: Mapping[str, Any] = {}
        wait = self.breaker.allowance() if provider is not None else 0.0
        free = self._patient or not self._in_flight.is_set()
        if provider is not None and start <= fetch_end and wait > 0 and free:

            def late(answer: Mapping[str, Any]) -> None:
                if self._store_history(need, answer, start, end):
                    self.breaker.reset()  # slow, not gone: cells may fetch again

            began = time.monotonic()
            results, timed_out = self._with_deadline(
                lambda: provider.fetch_history(
                    symbols, start, fetch_end, timeout=max(LATE_TIMEOUT, wait)
                ),
                wait,
                symbols,
                late=late,
            )
            self.breaker.spend(time.monotonic() - began)
            failed = [r.error for r in results.values() if isinstance(r, Failure)]
            if timed_out or (failed and len(failed) == len(results) and _all_network(failed)):
                self.breaker.trip(NETWORK_BACKOFF, failed[0] if failed else None)
        got = self._store_history(need, results, start, end)
        for key, options in need.items():
            if key in got:
                out[key] = got[key]
                continue
            cover_symbol = next((s for s in options if self.cache.history_coverage(s)), None)
            if cover_symbol is not None:  # offline or failed: answer what is cached
                cover = self.cache.history_coverage(cover_symbol)
                currency = cover.currency if cover is not None else ""
                out[key] = History(
                    cover_symbol, currency, self.cache.history(cover_symbol, start, end)
                )
                continue
            result = next(
                (results[s] for s in options if isinstance(results.get(s), Failure)), None
            )
            if isinstance(result, Failure):
                out[key] = Failure(options[0], _group_error(key, options, results))
            elif self.offline:
                out[key] = Failure(options[0], _offline_history(key, start))
            else:
                out[key] = Failure(options[0], self._missing_error(key))
        return out

    def _covered(self, symbol: str, start: dt.date, end: dt.date, today: dt.date) -> bool:
        cover = self.cache.history_coverage(symbol)
        if cover is None or cover.start > start:
            return False
        recent = self.clock() - cover.fetched_at <= self.stale_after
        return cover.end >= end or (cover.end >= min(end, today) and recent)

    def _store_history(
        self,
        need: Mapping[str, tuple[str, ...]],
        results: Mapping[str, Any],
        start: dt.date,
        end: dt.date,
    ) -> dict[str, History]:
        now = self.clock()
        got: dict[str, History] = {}
        for key, options in need.items():
            answers = [results[s] for s in options if isinstance(results.get(s), History)]
            found = next((h for h in answers if not h.frame.empty), answers[0] if answers else None)
            if found is None:
                continue
            self.cache.put_history(found.symbol, found.currency, found.frame, start, end, now)
            if len(options) > 1:
                self.cache.remember([(key, found.symbol)])
            got[key] = found
        return got


# ---------------------------------------------------------------- helpers


def _all_network(errors: Iterable[QuoteError]) -> bool:
    errors = list(errors)
    return bool(errors) and all(isinstance(e, NetworkError) for e in errors)


def _no_answer(symbol: str, seconds: float) -> NetworkError:
    return NetworkError(
        f"{symbol}: no answer from the quote server within {seconds:.1f} s "
        "(slow or no network); press Refresh to try again",
        f"{symbol}: 시세 서버가 {seconds:.1f}초 안에 응답하지 않았습니다(네트워크 느림/끊김); "
        "새로고침을 눌러 다시 시도하세요",
    )


def _call_failed(symbol: str, error: BaseException) -> NetworkError:
    return NetworkError(
        f"{symbol}: quote fetch failed ({type(error).__name__}: {error})",
        f"{symbol}: 시세를 받지 못했습니다 ({type(error).__name__}: {error})",
    )


def _offline_history(key: str, start: dt.date) -> OfflineError:
    return OfflineError(
        f"No cached history for {key} from {start} and working offline: "
        "calculate once online, or paste prices (Date, then one column per "
        "ticker) in place of ETF_HISTORY",
        f"{key}: {start}부터의 저장된 가격이력이 없고 오프라인입니다; 온라인에서 "
        "한 번 계산하거나 ETF_HISTORY 대신 가격표(날짜, 티커별 열)를 붙여 넣으세요",
    )


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
        delay=quote.delay,
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


# ---------------------------------------------------------------- moved names


def __getattr__(name: str) -> Any:
    """Names that lived here before the split, found where they live now (no import cycle)."""
    if name in ("FIELDS", "fx_rate", "history_rows", "price_field"):
        from etf_rebalancer.quotes import functions

        return getattr(functions, name)
    if name in ("cache_dir", "get_service", "reset_services"):
        from etf_rebalancer.quotes import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
