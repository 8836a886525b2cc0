"""Hypothesis strategies for well-formed rebalance requests (attrs-style: one module).

``portfolios()`` draws small portfolios as the raw Excel values a REBAL_* call
receives: a holdings range with Price and Currency (so no quote layer is
needed), a targets range summing to 100%, cash and settings. Small on purpose:
the properties hold at any size and small cases keep the suite fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

TICKERS = ["QQQ", "SPY", "TLT", "GLD", "069500", "360750"]


@dataclass
class Portfolio:
    """Raw arguments of a REBAL_* call, plus the parts tests transform (targets as percents)."""

    holdings: list[list[Any]]
    targets: list[list[Any]]
    cash: Any
    settings: list[list[Any]] = field(default_factory=list)

    def args(self) -> tuple[Any, ...]:
        return self.holdings, self.targets, self.cash, self.settings or None


@st.composite
def portfolios(
    draw: st.DrawFn,
    *,
    max_assets: int = 4,
    whole_shares: bool | None = True,
    allow_fees: bool = True,
    allow_buy_only: bool = True,
    allow_cash_row: bool = True,
) -> Portfolio:
    """A small single-currency portfolio with targets in percents summing to exactly 100."""
    tickers = draw(st.lists(st.sampled_from(TICKERS), min_size=1, max_size=max_assets, unique=True))
    prices = [
        draw(st.integers(min_value=1, max_value=500)) + draw(st.sampled_from([0, 0.25, 0.5]))
        for _ in tickers
    ]
    shares = [float(draw(st.integers(min_value=0, max_value=40))) for _ in tickers]
    holdings: list[list[Any]] = [["Ticker", "Shares", "Price", "Currency"]]
    holdings += [[t, s, float(p), "USD"] for t, s, p in zip(tickers, shares, prices, strict=True)]
    rows = list(tickers)
    if allow_cash_row and draw(st.booleans()):
        rows.append("CASH")
    # Integer percents summing to 100: cut points on 0..100.
    cuts = sorted(
        draw(st.lists(st.integers(0, 100), min_size=len(rows) - 1, max_size=len(rows) - 1))
    )
    bounds = [0, *cuts, 100]
    weights = [float(bounds[i + 1] - bounds[i]) for i in range(len(rows))]
    targets: list[list[Any]] = [["Ticker", "Target"]]
    targets += [[t, w] for t, w in zip(rows, weights, strict=True)]
    cash = float(draw(st.integers(min_value=0, max_value=5000)))
    if sum(s * p for s, p in zip(shares, prices, strict=True)) + cash == 0:
        cash = 100.0
    settings: list[list[Any]] = []
    if whole_shares is None:
        whole_shares = draw(st.booleans())
    if not whole_shares:
        settings.append(["whole_shares", False])
    if allow_fees and draw(st.booleans()):
        settings.append(["fee_rate", draw(st.sampled_from([0.001, 0.0025]))])
    if allow_buy_only and draw(st.booleans()):
        settings.append(["buy_only", True])
    return Portfolio(holdings, targets, cash, settings)
