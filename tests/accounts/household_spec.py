"""Small households as plain data, their Excel ranges, and an exhaustive reference optimum.

The reference (:func:`brute_force_drift`) knows nothing of the MILP: it tries every
whole-share trade per (asset, account), keeps those the contract allows (cash per
account never below zero, no sale beyond the account's shares, no buy the account's
type forbids, the IRP/DC risky cap when any plan keeps it) and scores each by the
contract's drift: the sum over assets and cash of |household weight after - target|.
No fees or FX spread here, so the household's value does not change with trading.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

RISKY_CAP = {"irp": 0.7, "dc": 0.7}
#: Who may buy what, written from the contract's table (not from engine/account_rules.py).
DOMESTIC_ONLY = {"isa", "pension", "irp", "dc"}
NO_LEVERAGED = {"pension", "irp", "dc"}


@dataclass(frozen=True)
class SpecAsset:
    ticker: str
    price: float
    currency: str  # "KRW" (domestic codes) or "USD"
    target: float
    cls: str = "equity"

    @property
    def domestic(self) -> bool:
        return len(self.ticker) == 6 and self.ticker[0].isdigit()


@dataclass(frozen=True)
class SpecAccount:
    name: str
    kind: str
    cash: float  # in the account's cash currency
    currency: str = "KRW"
    max_risky: float | None = None


@dataclass
class Spec:
    assets: list[SpecAsset]
    accounts: list[SpecAccount]
    held: dict[tuple[str, str], int]
    fx_usd: float = 1000.0
    settings: dict[str, object] = field(default_factory=dict)

    def fx(self, currency: str) -> float:
        return 1.0 if currency == "KRW" else self.fx_usd

    def may_buy(self, asset: SpecAsset, account: SpecAccount) -> bool:
        if account.kind in DOMESTIC_ONLY and not asset.domestic:
            return False
        return not (account.kind in NO_LEVERAGED and asset.cls in ("leveraged", "inverse"))

    def cap(self, account: SpecAccount) -> float | None:
        return account.max_risky if account.max_risky is not None else RISKY_CAP.get(account.kind)

    def ranges(self, korean: bool = False) -> dict[str, list[list[object]]]:
        """The ranges a workbook would hand REBAL_* (English or Korean headers)."""
        # Type ETF: KRX ETFs pay no transaction tax, so trading keeps the household's value.
        h = ["티커", "수량", "현재가", "통화", "계좌", "유형"] if korean else [
            "Ticker", "Shares", "Price", "Currency", "Account", "Type"
        ]  # fmt: skip
        holdings: list[list[object]] = [h]
        by_ticker = {a.ticker: a for a in self.assets}
        for (ticker, account), shares in sorted(self.held.items()):
            a = by_ticker[ticker]
            holdings.append([ticker, float(shares), a.price, a.currency, account, "ETF"])
        for a in self.assets:  # price rows for assets nobody holds yet
            if not any(t == a.ticker for t, _ in self.held):
                holdings.append([a.ticker, 0.0, a.price, a.currency, None, "ETF"])
        targets: list[list[object]] = [
            ["티커", "목표비중", "자산군"] if korean else ["Ticker", "Target", "Class"]
        ]
        names = {"equity": "주식", "bond": "채권", "cash": "현금성", "leveraged": "레버리지",
                 "inverse": "인버스"}  # fmt: skip
        for a in self.assets:
            targets.append([a.ticker, a.target, names[a.cls] if korean else a.cls])
        rest = 1.0 - sum(a.target for a in self.assets)
        if rest > 1e-12:
            targets.append(["현금" if korean else "CASH", rest, None])
        cash: list[list[object]] = [
            ["계좌", "통화", "금액"] if korean else ["Account", "Currency", "Amount"]
        ]
        cash += [[acc.name, acc.currency, acc.cash] for acc in self.accounts]
        kinds = {
            "general": "위탁",
            "isa": "ISA",
            "pension": "연금저축",
            "irp": "IRP",
            "dc": "퇴직연금",
        }
        accounts: list[list[object]] = [
            ["계좌", "유형", "위험자산한도"] if korean else ["Account", "Type", "Max Risky"]
        ]
        for acc in self.accounts:
            accounts.append([acc.name, kinds[acc.kind] if korean else acc.kind, acc.max_risky])
        settings: list[list[object]] = [["설정", "값"] if korean else ["Key", "Value"]]
        settings += [["base_currency", "KRW"], ["FX USD", self.fx_usd]]
        settings += [[k, v] for k, v in self.settings.items()]
        return {
            "holdings": holdings,
            "targets": targets,
            "cash": cash,
            "settings": settings,
            "accounts": accounts,
        }


def brute_force_drift(spec: Spec, whole: bool = True) -> tuple[float, bool]:
    """Least contract drift over every allowed whole-share plan, and whether the caps held.

    Returns ``(drift, caps_kept)``: when no plan keeps every risky cap the least drift
    over all otherwise allowed plans is returned with ``caps_kept=False``.
    """
    buy_only = bool(spec.settings.get("buy_only", False))
    cash_value = {acc.name: acc.cash * spec.fx(acc.currency) for acc in spec.accounts}
    positions = []  # (asset, account, held, options)
    for acc in spec.accounts:
        sellable = sum(
            shares * a.price * spec.fx(a.currency)
            for a in spec.assets
            for (t, n), shares in spec.held.items()
            if t == a.ticker and n == acc.name
        )
        budget = max(cash_value[acc.name], 0.0) + (0.0 if buy_only else sellable)
        for a in spec.assets:
            held = spec.held.get((a.ticker, acc.name), 0)
            price = a.price * spec.fx(a.currency)
            top = math.floor(budget / price + 1e-9) if spec.may_buy(a, acc) else 0
            trades = list(range(0, top + 1)) + (
                [] if buy_only else [-s for s in range(1, held + 1)]
            )
            if held or top:
                positions.append((a, acc, held, trades))
    value = sum(cash_value.values()) + sum(
        shares * a.price * spec.fx(a.currency)
        for a in spec.assets
        for (t, _n), shares in spec.held.items()
        if t == a.ticker
    )
    cash_target = 1.0 - sum(a.target for a in spec.assets)
    best = {True: math.inf, False: math.inf}
    for combo in itertools.product(*(p[3] for p in positions)):
        cash = dict(cash_value)
        after: dict[str, float] = {}
        risky: dict[str, float] = {}
        account_assets: dict[str, float] = {}
        for (a, acc, held, _), trade in zip(positions, combo, strict=True):
            price = a.price * spec.fx(a.currency)
            cash[acc.name] -= trade * price
            shares = held + trade
            after[a.ticker] = after.get(a.ticker, 0.0) + shares * price
            account_assets[acc.name] = account_assets.get(acc.name, 0.0) + shares * price
            if a.cls not in ("bond", "cash"):
                risky[acc.name] = risky.get(acc.name, 0.0) + shares * price
        if any(c < -1e-9 for c in cash.values()):
            continue
        caps_kept = True
        for acc in spec.accounts:
            cap = spec.cap(acc)
            if cap is None:
                continue
            total = account_assets.get(acc.name, 0.0) + cash[acc.name]
            if risky.get(acc.name, 0.0) > cap * total + 1e-9:
                caps_kept = False
        drift = sum(abs(after.get(a.ticker, 0.0) / value - a.target) for a in spec.assets)
        drift += abs(sum(cash.values()) / value - cash_target)
        best[caps_kept] = min(best[caps_kept], drift)
    if math.isfinite(best[True]):
        return best[True], True
    return best[False], False
