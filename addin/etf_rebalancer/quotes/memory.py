"""In-memory and CSV quote providers: offline use, examples and tests (no network)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

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
from etf_rebalancer.quotes.symbols import major_currency

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

    @classmethod
    def from_csv(
        cls, quotes_csv: Path | str, history_csv: Path | str | None = None
    ) -> MemoryProvider:
        """Load quotes (and optionally daily histories) from CSV files.

        ``quotes_csv`` columns: ``symbol, price, currency`` and optionally
        ``previous_close, time`` (ISO, UTC), ``name``, ``kind``. ``history_csv``
        columns: ``symbol, date, close`` and optionally ``adjclose``, ``currency``.
        Prices in a minor unit (``GBp``) are turned into the major one.
        """
        quotes: dict[str, Quote] = {}
        with open(quotes_csv, newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                symbol = row["symbol"].strip().upper()
                currency, factor = major_currency(row["currency"])
                prev = (row.get("previous_close") or "").strip()
                when = (row.get("time") or "").strip()
                quotes[symbol] = Quote(
                    symbol=symbol,
                    price=float(row["price"]) * factor,
                    currency=currency,
                    previous_close=float(prev) * factor if prev else None,
                    time=_utc(when) if when else None,
                    name=(row.get("name") or "").strip(),
                    kind=(row.get("kind") or "").strip().upper(),
                )
        histories: dict[str, History] = {}
        if history_csv is not None:
            table = pd.read_csv(history_csv, parse_dates=["date"])
            for symbol, part in table.groupby("symbol"):
                currency, factor = major_currency(
                    str(part["currency"].iloc[0]) if "currency" in part else ""
                )
                frame = pd.DataFrame(
                    {
                        "close": part["close"].astype(float).to_numpy() * factor,
                        "adjclose": (part["adjclose"] if "adjclose" in part else part["close"])
                        .astype(float)
                        .to_numpy()
                        * factor,
                    },
                    index=pd.DatetimeIndex(part["date"]).normalize(),
                ).sort_index()
                key = str(symbol).strip().upper()
                histories[key] = History(key, currency, frame)
        return cls(quotes, histories)


def _utc(text: str) -> dt.datetime:
    stamp = dt.datetime.fromisoformat(text)
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


def _not_found(symbol: str) -> NotFoundError:
    return NotFoundError(
        f"{symbol}: no such symbol in the offline quote table",
        f"{symbol}: 오프라인 시세표에 없는 종목입니다",
    )
