"""The provider interface: quotes, histories and typed failures returned as values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from etf_rebalancer.errors import BadDataError as BadDataError
from etf_rebalancer.errors import NetworkError as NetworkError
from etf_rebalancer.errors import NotFoundError as NotFoundError
from etf_rebalancer.errors import OfflineError as OfflineError
from etf_rebalancer.errors import QuoteError
from etf_rebalancer.errors import RateLimitedError as RateLimitedError

__all__ = [
    "BadDataError",
    "Failure",
    "History",
    "HistoryResult",
    "NetworkError",
    "NotFoundError",
    "OfflineError",
    "Provider",
    "Quote",
    "QuoteResult",
    "RateLimitedError",
]


ERROR_KINDS: dict[str, type[QuoteError]] = {
    cls.kind: cls
    for cls in (NotFoundError, RateLimitedError, NetworkError, BadDataError, OfflineError)
}


@dataclass(frozen=True)
class Quote:
    """One price as a provider reports it, already in a whole currency unit.

    Attributes
    ----------
    symbol
        The provider's symbol (``069500.KS``, ``KRW=X``, ``VUSA.L``).
    price
        Last price in ``currency`` (London pence already turned into pounds).
    currency
        ISO currency code of ``price``.
    previous_close
        The previous session's close, same unit as ``price``; ``None`` when unknown.
    time
        When the price was traded (timezone-aware UTC); ``None`` when unknown.
    name
        Display name, ``""`` when unknown.
    kind
        Instrument kind as the listing reports it (``"ETF"``, ``"EQUITY"``, ``"CURRENCY"``).
    source
        The provider that answered (``"naver"``, ``"yahoo"``); ``""`` lets the
        service name its provider.
    delay
        How current ``price`` is, in words for the status cell: ``"real-time"``,
        ``"delayed 20 min"``, ``"market closed"``, ``"trading halted"``; ``""``
        when the provider does not say.
    """

    symbol: str
    price: float
    currency: str
    previous_close: float | None = None
    time: dt.datetime | None = None
    name: str = ""
    kind: str = ""
    source: str = ""
    delay: str = ""


@dataclass(frozen=True)
class Failure:
    """Why one symbol could not be had; the error is a value, not raised.

    Attributes
    ----------
    symbol
        The provider symbol that failed.
    error
        A :class:`~etf_rebalancer.errors.QuoteError` subclass instance
        (:class:`NotFoundError`, :class:`RateLimitedError`, :class:`NetworkError`,
        :class:`BadDataError`, :class:`OfflineError`) with English and Korean text.
    """

    symbol: str
    error: QuoteError

    @property
    def kind(self) -> str:
        """Short failure kind (``"not found"``, ``"rate limited"``, ``"network"``...)."""
        return str(getattr(self.error, "kind", "error"))


@dataclass(frozen=True)
class History:
    """Daily closes of one symbol, in ``currency`` (pence already turned into pounds).

    ``frame`` has a naive ``DatetimeIndex`` of trading days and float columns
    ``close`` and ``adjclose`` (dividend- and split-adjusted close).
    """

    symbol: str
    currency: str
    frame: pd.DataFrame


QuoteResult = Quote | Failure
HistoryResult = History | Failure


class Provider(Protocol):
    """A source of quotes; every requested symbol gets a result, failures included.

    Implementations never raise for a symbol's failure: they return a
    :class:`Failure` in its place. ``http_requests`` counts the requests made so
    far (0 for offline providers), so a refresh can report its cost.
    """

    name: str

    @property
    def http_requests(self) -> int:  # pragma: no cover - protocol
        """Requests sent so far (a plain attribute in most providers)."""
        ...

    def fetch_quotes(
        self, symbols: Sequence[str], *, timeout: float
    ) -> Mapping[str, QuoteResult]:  # pragma: no cover - protocol
        """Return a result per symbol; stop early (failures for the rest) on a rate limit."""
        ...

    def fetch_history(
        self, symbols: Sequence[str], start: dt.date, end: dt.date, *, timeout: float
    ) -> Mapping[str, HistoryResult]:  # pragma: no cover - protocol
        """Daily closes from ``start`` to ``end`` inclusive, one result per symbol."""
        ...
