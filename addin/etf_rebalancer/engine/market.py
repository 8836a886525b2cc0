"""What the engine needs from outside (prices, currencies, FX) and how it is handed in.

The engine never fetches anything: a request says which quotes it lacks
(:class:`QuoteNeeds`) and the caller (``udfs.py``, the CLI) answers with a
:class:`MarketData` built by the quote layer (``etf_rebalancer.planning.market``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from etf_rebalancer.errors import Notice


@dataclass(frozen=True)
class QuoteNeeds:
    """Quotes a rebalance request cannot do without.

    Attributes
    ----------
    tickers
        Tickers whose price or currency was not given in the holdings range.
    currencies
        Currencies (other than the base) with no ``FX <CCY>`` setting.
    base_currency
        The base currency FX rates must be expressed in.
    """

    tickers: tuple[str, ...]
    currencies: tuple[str, ...]
    base_currency: str

    def __bool__(self) -> bool:
        return bool(self.tickers or self.currencies)


@dataclass(frozen=True)
class MarketData:
    """Quotes answered by the quote layer for a :class:`QuoteNeeds`.

    Attributes
    ----------
    prices
        Ticker -> last price in its listing currency (pence already turned into pounds).
    currencies
        Ticker -> ISO listing currency.
    fx
        Currency -> value of one unit in the base currency.
    notices
        Warnings to show in ``REBAL_SUMMARY`` (stale prices, manual overrides...).
    kinds
        Ticker -> instrument kind as the listing reports it (``"ETF"``, ``"EQUITY"``...);
        decides e.g. whether Korea's transaction tax applies to a sale.
    names
        Ticker -> display name.
    failures
        Ticker or currency -> why it could not be had; the engine reports these
        as errors naming the ticker.
    """

    prices: Mapping[str, float] = field(default_factory=dict)
    currencies: Mapping[str, str] = field(default_factory=dict)
    fx: Mapping[str, float] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    notices: tuple[Notice, ...] = ()
    failures: Mapping[str, Notice] = field(default_factory=dict)
