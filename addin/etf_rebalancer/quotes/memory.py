"""The in-memory quote provider: offline use, examples and tests (no network)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd

from etf_rebalancer.errors import QuoteError
from etf_rebalancer.quotes.base import (
    Failure,
    History,
    HistoryResult,
    NotFoundError,
    Quote,
    QuoteResult,
)

__all__ = ["MemoryProvider"]


class MemoryProvider:
    """A provider that answers from dictionaries; the offline twin of the Yahoo provider.

    Parameters
    ----------
    quotes
        Symbol -> :class:`Quote` (prices in the listing's major unit).
    histories
        Symbol -> :class:`History`.
    failures
        Symbol -> error to answer instead (simulates rate limits, outages...).

    ``calls`` records each fetch as ``(method, symbols)``, so tests can check how
    many batches a service made.
    """

    name = "memory"

    def __init__(
        self,
        quotes: Mapping[str, Quote] | None = None,
        histories: Mapping[str, History] | None = None,
        failures: Mapping[str, QuoteError] | None = None,
    ) -> None:
        self.quotes: dict[str, Quote] = dict(quotes or {})
        self.histories: dict[str, History] = dict(histories or {})
        self.failures: dict[str, QuoteError] = dict(failures or {})
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.http_requests = 0

    def fetch_quotes(self, symbols: Sequence[str], *, timeout: float) -> dict[str, QuoteResult]:
        """Answer each symbol from the dictionaries; unknown symbols are :class:`NotFoundError`."""
        self.calls.append(("quotes", tuple(symbols)))
        out: dict[str, QuoteResult] = {}
        for symbol in symbols:
            if symbol in self.failures:
                out[symbol] = Failure(symbol, self.failures[symbol])
            elif symbol in self.quotes:
                out[symbol] = self.quotes[symbol]
            else:
                out[symbol] = Failure(symbol, _not_found(symbol))
        return out

    def fetch_history(
        self, symbols: Sequence[str], start: dt.date, end: dt.date, *, timeout: float
    ) -> dict[str, HistoryResult]:
        """Slice the stored histories to ``start..end``."""
        self.calls.append(("history", tuple(symbols)))
        out: dict[str, HistoryResult] = {}
        for symbol in symbols:
            if symbol in self.failures:
                out[symbol] = Failure(symbol, self.failures[symbol])
            elif symbol in self.histories:
                hist = self.histories[symbol]
                frame = hist.frame.loc[pd.Timestamp(start) : pd.Timestamp(end)]
                out[symbol] = History(symbol, hist.currency, frame)
            else:
                out[symbol] = Failure(symbol, _not_found(symbol))
        return out


def _not_found(symbol: str) -> NotFoundError:
    return NotFoundError(
        f"{symbol}: no such symbol in the offline quote table",
        f"{symbol}: 오프라인 시세표에 없는 종목입니다",
    )
