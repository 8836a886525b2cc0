"""KRX listings to Naver Finance first, everything else (and every Naver failure) to Yahoo.

:class:`KrxFirst` is itself a :class:`~etf_rebalancer.quotes.base.Provider`:
in one ``fetch_quotes`` call it sends the KRX codes to the primary provider
(Naver, real-time) while the other symbols go to the fallback (Yahoo), then
asks the fallback for every KRX code the primary did not answer with a
usable quote, whatever the reason (unknown code, outage, a changed answer).
Daily history always comes from the fallback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from etf_rebalancer.quotes.base import HistoryResult, Provider, Quote, QuoteResult

__all__ = ["KrxFirst"]


class _Routable(Provider, Protocol):
    def handles(self, symbol: str) -> bool:  # pragma: no cover - protocol
        """True for the symbols this provider is asked first."""
        ...


class KrxFirst:
    """Route KRX symbols to ``primary`` with ``fallback`` behind it.

    Parameters
    ----------
    primary
        Asked first for the symbols it :meth:`handles` (the Naver provider).
    fallback
        Asked for everything else, for what ``primary`` failed, and for history.
    """

    name = "naver+yahoo"

    def __init__(self, primary: _Routable, fallback: Provider) -> None:
        self.primary = primary
        self.fallback = fallback

    @property
    def http_requests(self) -> int:
        """Requests both providers sent so far."""
        return self.primary.http_requests + self.fallback.http_requests

    def fetch_quotes(self, symbols: Sequence[str], *, timeout: float) -> dict[str, QuoteResult]:
        """One result per symbol: the primary's quote when usable, else the fallback's answer."""
        unique = list(dict.fromkeys(symbols))
        krx = [s for s in unique if self.primary.handles(s)]
        other = [s for s in unique if not self.primary.handles(s)]
        out: dict[str, QuoteResult] = {}
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(_ask_safely, self.primary.fetch_quotes, krx, timeout)
            rest = pool.submit(_ask, self.fallback.fetch_quotes, other, timeout)
            primary = first.result()
            out.update(rest.result())
        retry = [s for s in krx if not isinstance(primary.get(s), Quote)]
        out.update({s: r for s, r in primary.items() if isinstance(r, Quote)})
        if retry:
            out.update(_ask(self.fallback.fetch_quotes, retry, timeout))
        return {s: out[s] for s in unique if s in out}

    def fetch_history(
        self, symbols: Sequence[str], start: dt.date, end: dt.date, *, timeout: float
    ) -> Mapping[str, HistoryResult]:
        """Daily closes from the fallback (Yahoo's adjusted closes)."""
        return self.fallback.fetch_history(symbols, start, end, timeout=timeout)


def _ask_safely(
    fetch: Callable[..., Mapping[str, QuoteResult]], symbols: list[str], timeout: float
) -> Mapping[str, QuoteResult]:
    """The primary's answer; a bug in it (an exception) leaves every symbol to the fallback."""
    try:
        return _ask(fetch, symbols, timeout)
    except Exception:
        return {}


def _ask(
    fetch: Callable[..., Mapping[str, QuoteResult]], symbols: list[str], timeout: float
) -> Mapping[str, QuoteResult]:
    if not symbols:
        return {}
    return fetch(symbols, timeout=timeout)
