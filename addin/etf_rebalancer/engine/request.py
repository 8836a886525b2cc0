"""The validated rebalance request the engine plans: assets, cash pools, settings, caps.

Built from Excel values by :mod:`etf_rebalancer.planning.inputs`; the engine
only ever sees these typed, validated objects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from etf_rebalancer.engine.market import QuoteNeeds

__all__ = ["Asset", "GroupCap", "RebalanceRequest", "Settings"]


@dataclass(frozen=True)
class Asset:
    """One ticker of the portfolio (held, targeted, or both).

    Attributes
    ----------
    ticker
        Upper-case ticker; Korean codes as six characters (``069500``).
    shares
        Shares held, summed over accounts (0 for a target not yet held).
    price, currency
        From the holdings range when given; ``None`` means the quote layer supplies it.
    target
        Target weight (fraction of the whole portfolio, cash included).
    band
        Band from the targets' Band column (as written: relative or absolute per
        ``band_type``); ``None`` means the ``band`` setting.
    min_weight, max_weight
        Per-asset bounds on the weight after trading (soft: a breach is reported).
    group
        Group name (case-folded) for the ``groups`` caps, or ``None``.
    kind
        ``"ETF"``/``"STOCK"`` from the holdings' Type column, else ``None``.
    name
        Display name from the holdings' Name column, else ``None``.
    held, targeted
        Whether the ticker appears in holdings / targets.
    rows
        Row numbers (header = row 1) where it appears, for messages.
    """

    ticker: str
    shares: float
    price: float | None
    currency: str | None
    target: float
    band: float | None = None
    min_weight: float | None = None
    max_weight: float | None = None
    group: str | None = None
    kind: str | None = None
    name: str | None = None
    held: bool = True
    targeted: bool = True
    rows: str = ""


@dataclass(frozen=True)
class GroupCap:
    """Bounds on the summed weight of a group's assets; ``label`` keeps the user's spelling."""

    label: str
    max_weight: float | None
    min_weight: float | None
    row: int


@dataclass(frozen=True)
class Settings:
    """Validated settings with the contract's defaults.

    ``fee_rate`` and ``fx_spread`` are fractions (``0.001`` or ``"0.1%"``);
    ``min_trade`` and ``fee_min`` are amounts in the base currency; ``band`` is a
    fraction (relative to the target, or weight points when ``band_type`` is
    ``absolute``); ``fx`` maps a currency to the value of one unit in the base currency.
    """

    base_currency: str = "USD"
    mode: str = "full"
    buy_only: bool = False
    band_type: str = "relative"
    band: float = 0.0
    whole_shares: bool = True
    min_trade: float = 0.0
    fee_rate: float = 0.0
    fee_min: float = 0.0
    fx_spread: float = 0.0
    fx: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RebalanceRequest:
    """Everything a plan needs except quotes the caller still has to fetch.

    Attributes
    ----------
    assets
        One :class:`Asset` per ticker, sorted by ticker (so nothing depends on row order).
    cash
        Currency -> amount in that currency; negative means money to raise.
    cash_target
        Target weight of cash (the ``CASH`` target row; 0 when absent).
    cash_band
        Band of the cash row, or ``None`` for the default band.
    settings
        The validated :class:`Settings`.
    groups
        Case-folded group name -> :class:`GroupCap`.
    as_of
        Date the plan is for; picks the rate from dated tables such as Korea's
        transaction tax. The engine has no clock: the edge (``udfs.py``, the CLI)
        passes today's date; ``None`` means the latest rate in each table.
    """

    assets: tuple[Asset, ...]
    cash: Mapping[str, float]
    cash_target: float
    cash_band: float | None
    settings: Settings
    groups: Mapping[str, GroupCap]
    as_of: dt.date | None = None

    def quote_needs(self) -> QuoteNeeds:
        """Tickers lacking a price or currency, and currencies lacking an ``FX`` setting."""
        base = self.settings.base_currency
        tickers = tuple(a.ticker for a in self.assets if a.price is None or a.currency is None)
        known = {a.currency for a in self.assets if a.currency} | set(self.cash)
        currencies = tuple(sorted(c for c in known if c != base and c not in self.settings.fx))
        return QuoteNeeds(tickers=tickers, currencies=currencies, base_currency=base)
