"""Every whole-share plan of a tiny workbook, scored by the contract's definitions alone.

Independent of the engine: it reads no engine module and shares none of its
arithmetic. For each net trade per asset (never buying and selling one asset) it
charges the contract's costs (``fee_rate`` with ``fee_min`` per order, orders
below ``min_trade`` refused), settles each currency pool (a shortfall is covered
from the other pools at ``fx_spread``; cash may never go below zero), and measures
weights of the value *after* trading and costs: the drift is the sum of
``|weight - target|`` over assets and cash, bands and caps are kept or not.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Case:
    """A tiny workbook: what the brute force scores, and the Excel ranges the engine reads."""

    tickers: list[str]
    price: list[float]  # listing currency
    currency: list[str]
    held: list[int]
    target: list[float]  # fractions; cash gets 1 - sum
    cash: dict[str, float]
    fx: dict[str, float] = field(default_factory=dict)  # value of one unit in USD
    fee_rate: float = 0.0
    fee_min: float = 0.0
    min_trade: float = 0.0
    fx_spread: float = 0.0
    mode: str = "full"
    band: float = 0.0  # relative
    groups: dict[str, tuple[list[str], float | None, float | None]] = field(default_factory=dict)
    cash_row: bool = False

    @property
    def cash_target(self) -> float:
        return max(0.0, 1.0 - sum(self.target))

    def ranges(self) -> tuple[Any, ...]:
        """``holdings, targets, cash, settings, groups`` as a REBAL_* call gets them."""
        holdings: list[list[Any]] = [["Ticker", "Shares", "Price", "Currency"]]
        holdings += [
            [t, float(h), float(p), c]
            for t, h, p, c in zip(self.tickers, self.held, self.price, self.currency, strict=True)
        ]
        member = {t: g for g, (ts, _, _) in self.groups.items() for t in ts}
        targets: list[list[Any]] = [["Ticker", "Target", "Group"]]
        targets += [
            [t, f"{w * 100:g}%", member.get(t)]
            for t, w in zip(self.tickers, self.target, strict=True)
        ]
        if self.cash_row or self.cash_target > 0:
            targets.append(["CASH", f"{self.cash_target * 100:g}%", None])
        cash = [["Currency", "Amount"]] + [[c, float(v)] for c, v in self.cash.items()]
        settings: list[list[Any]] = [[f"FX {c}", v] for c, v in self.fx.items()]
        for key in ("fee_rate", "fee_min", "min_trade", "fx_spread"):
            if getattr(self, key):
                settings.append([key, getattr(self, key)])
        if self.mode == "band":
            settings += [["mode", "band"], ["band", self.band]]
        groups = None
        if self.groups:
            groups = [["Group", "Max", "Min"]] + [
                [g, hi, lo] for g, (_, lo, hi) in self.groups.items()
            ]
        return holdings, targets, cash, settings or None, groups


@dataclass
class Scored:
    """Every feasible plan (rows of ``net``) with its drift, costs and kept constraints."""

    net: np.ndarray
    drift: np.ndarray
    costs: np.ndarray
    bands_kept: np.ndarray
    caps_kept: np.ndarray
    cap_breach: np.ndarray  # summed weight beyond the caps (0 when every cap is kept)


def score(case: Case, net: np.ndarray) -> Scored:
    """Score net share changes (one plan per row); infeasible plans are dropped."""
    net = np.atleast_2d(np.asarray(net, dtype=float))
    fx = np.array([1.0 if c == "USD" else case.fx[c] for c in case.currency])
    price = np.array(case.price) * fx  # USD per share
    held = np.array(case.held, dtype=float)
    traded = np.abs(net) * price
    orders = net != 0
    ok = ~np.any(orders & (traded < case.min_trade - 1e-9), axis=1)
    ok &= np.all(held + net >= 0, axis=1)
    fee = np.where(orders, np.maximum(case.fee_rate * traded, case.fee_min), 0.0)
    pools = sorted(set(case.currency) | set(case.cash))
    end = np.zeros((len(net), len(pools)))
    for p, pool in enumerate(pools):
        rate = 1.0 if pool == "USD" else case.fx[pool]
        end[:, p] = case.cash.get(pool, 0.0) * rate
        members = [i for i, c in enumerate(case.currency) if c == pool]
        if members:
            end[:, p] -= (net[:, members] * price[members] + fee[:, members]).sum(axis=1)
    deficit = -np.where(end < 0, end, 0.0).sum(axis=1)
    surplus = np.where(end > 0, end, 0.0).sum(axis=1)
    ok &= surplus * (1 - case.fx_spread) >= deficit - 1e-9
    lost = deficit * case.fx_spread / (1 - case.fx_spread)
    cash_after = end.sum(axis=1) - lost
    holdings = (held + net) * price
    value = holdings.sum(axis=1) + cash_after
    weights = holdings / value[:, None]
    cash_weight = cash_after / value
    target = np.array(case.target)
    drift = np.abs(weights - target).sum(axis=1) + np.abs(cash_weight - case.cash_target)
    tol = 1e-9
    lo, hi = target * (1 - case.band), target * (1 + case.band)
    bands = np.all((weights >= lo - tol) & (weights <= hi + tol), axis=1)
    if case.cash_target > 0:
        # A CASH target row has a band like any asset (without one, idle cash has none).
        c_lo, c_hi = case.cash_target * (1 - case.band), case.cash_target * (1 + case.band)
        bands &= (cash_weight >= c_lo - tol) & (cash_weight <= c_hi + tol)
    breach = np.zeros(len(net))
    for members, g_lo, g_hi in case.groups.values():
        idx = [case.tickers.index(t) for t in members]
        total = weights[:, idx].sum(axis=1)
        if g_hi is not None:
            breach += np.maximum(total - g_hi, 0.0)
        if g_lo is not None:
            breach += np.maximum(g_lo - total, 0.0)
    costs = fee.sum(axis=1) + lost
    caps = breach <= tol
    return Scored(net[ok], drift[ok], costs[ok], bands[ok], caps[ok], breach[ok])


def every_plan(case: Case) -> Scored:
    """All whole-share plans: each asset from selling all it holds to spending all the cash."""
    fx = np.array([1.0 if c == "USD" else case.fx[c] for c in case.currency])
    price = np.array(case.price) * fx
    wealth = sum(v * (1.0 if c == "USD" else case.fx[c]) for c, v in case.cash.items())
    wealth += float(np.dot(case.held, price))
    ranges = [range(-h, int(wealth // p) + 1) for h, p in zip(case.held, price, strict=True)]
    net = np.array(list(itertools.product(*ranges)), dtype=float)
    return score(case, net)
