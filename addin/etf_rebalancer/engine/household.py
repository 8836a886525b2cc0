"""Household rebalancing: one drift objective over the whole household, orders per account.

A household holds several accounts (일반/위탁, ISA, 연금저축, IRP/DC), each with
its own cash and its own rules (:mod:`.account_rules`). The targets are for the
household; the orders are per (asset, account). :func:`plan_household` solves
one exact mixed-integer program for HiGHS:

Variables (money in weights: base-currency value over the household's reference
value ``V``; for asset ``i`` with base price ``P_i`` let ``a_i = P_i / V``)
    ``b_j``, ``s_j``   shares bought / sold of position ``j = (asset, account)``
                       (integer with whole shares; ``s_j <= held_j``; ``s_j = 0``
                       buy-only; ``b_j = 0`` when the account may not buy the asset)
    ``yb_j``, ``ys_j`` order binaries, only with ``fee_min`` or ``min_trade``
    ``f_j``            fee of position ``j``'s order when ``fee_min > 0``
    ``e+``, ``e-``     pieces of each household deviation ``w_i - t_i`` (and cash):
                       slope 1 (the contract's drift) plus a tie-breaking rise of
                       ``PIECE_SLOPE_STEP`` per piece, so leftover cash goes to the
                       most underweight assets without trading drift for evenness
    ``c_q``            cash left in pool ``q = (account, currency)`` (``>= 0``)
    ``x_qr``           conversion between two pools of the same account (costs
                       ``fx_spread``); there is no variable between accounts, so cash
                       never moves from one account to another
    slacks             of the soft constraints (risky caps, Min/Max, group caps,
                       bands in band mode), priced far above any drift so that a
                       cap is kept whenever trades can reach it and the plan
                       reports by how much it is missed otherwise

The household weight of asset ``i`` after trading is
``sum_k a_i (held_ik + b_ik - s_ik)``; the risky cap of account ``k`` is
``sum_{i risky} a_i x_ik <= cap (sum_i a_i x_ik + sum_q c_kq)``, i.e. measured
on the account's value after trades and costs.

The solve is deterministic: HiGHS runs with a node limit, never a time limit,
so the plan does not depend on the machine's load. Money is settled after
solving from the share counts alone, per account and currency (conversions
inside an account cover a pool's shortfall, base currency first), so the
reported cash is exact arithmetic on the orders.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from etf_rebalancer.cells import CASH_TICKER
from etf_rebalancer.cells.labels import (
    ACCOUNT_LABELS,
    DRIFT_HEADER,
    ORDER_HEADER,
    SOLVER_LABELS,
    SUMMARY_HEADER,
    SUMMARY_HEADER_KO,
    SUMMARY_LABELS,
)
from etf_rebalancer.engine import account_rules, tax
from etf_rebalancer.engine.market import MarketData
from etf_rebalancer.engine.model import gap_text, hull_chord

# The band and status rules and the percent text are the single-account plan's own.
from etf_rebalancer.engine.plan import _band, _pct, _status
from etf_rebalancer.engine.request import RebalanceRequest
from etf_rebalancer.errors import InputError, Notice, SolverError

__all__ = [
    "Account",
    "HouseholdPlan",
    "HouseholdRequest",
    "Position",
    "plan_household",
]

#: Deviation pieces as fractions of max(target, 1%), and the slope rise per piece.
PIECE_WIDTHS = (0.05, 0.05, 0.10, 0.20)
PIECE_SLOPE_STEP = 1e-5
#: Cost per unit of traded weight: rules out pointless orders among equally good plans.
WASH_COST = 1e-6
#: Cost of one order (only when order binaries exist: ``fee_min`` or ``min_trade``).
ORDER_COST = 1e-6
#: Fees, tax and FX spread weigh more than the drift they could buy.
COST_WEIGHT = 2.0
#: Per unit of breach of a soft constraint (risky cap, Min/Max, group caps). Moving a
#: weight w out of breach changes the drift by at most 2w plus its costs (COST_WEIGHT x
#: fee and tax), so 10 always prefers keeping a cap; larger values only hurt HiGHS's scaling.
CAP_PENALTY = 10.0
#: Band mode: distance outside a band, turnover, and the drift tie-breaker.
BAND_PENALTY = 1e2
TURNOVER_COST = 2e-3
BAND_DRIFT_WEIGHT = 1e-3
#: The objective is scaled for HiGHS so that the small terms sit above its tolerances.
OBJECTIVE_SCALE = 1e2
#: "Proven optimal" means within this of the least objective (drift units: 2e-5 is
#: 0.002 percentage points of drift, 2,000 KRW on a 100M KRW household). Closing the
#: last hair below it is a subset-sum proof over every account's leftover cash, which
#: costs HiGHS orders of magnitude more nodes for no visible difference in the plan.
DRIFT_GAP = 2e-5
#: Branch-and-bound nodes HiGHS may explore: a work limit, not a clock, so the same
#: household always gets the same plan; past it the best plan found is used and said so.
NODE_LIMIT = 2_000
#: Last-resort wall-clock guard (seconds): without it a 4 x 500 household searched for
#: minutes and froze Excel. When it fires the plan depends on the machine's speed, and
#: the summary says so. Well above what the node limit takes on a template household
#: (2-6 s here), so that machine load does not decide a template-sized plan.
GUARD_SECONDS = 30.0
#: Households with more positions (asset x account pairs) than this skip branch-and-bound:
#: see solve_rounded. Chosen by size, so the route, like the plan, is the inputs' alone.
#: Measured on the bench's households (positions: MILP time): 173: 2.2 s, 208: 2.0 s,
#: 258: 3.8 s (all proven), 295: 16 s (node limit), 347: 30 s (the guard).
LARGE_POSITIONS = 250
#: Households with at most this many positions get each shared asset's household trade
#: as an integer column, and HiGHS without presolve (see :meth:`_Formulation.build`).
#: Measured (``bench/bench_accounts.py --sweep``: 4 accounts x 6-12 assets, 20-42
#: positions, seeds 1-8): proven 23 -> 29 of 32 households, median 0.17-0.97 s ->
#: 0.06-0.27 s per size; the korean-investor template (19 positions: node limit, gap
#: 5.3e-4, 113,000 nodes did not move the bound) is proven in 0.2 s. At 16 assets (56
#: positions) about even; 20 (70): two of four faster, two slower; 50 (173): mostly slower.
TOTALS_POSITIONS = 60
_WEIGHT_TOL = 1e-9


# ---------------------------------------------------------------- request


@dataclass(frozen=True)
class Account:
    """One account of the household.

    Attributes
    ----------
    key
        Case-folded name (``""``: the default account); what positions and cash refer to.
    name
        The name as the user wrote it (first spelling met).
    kind
        ``general``, ``isa``, ``pension``, ``irp`` or ``dc``.
    max_risky
        The ``Max Risky`` column (a fraction of the account), overriding the type's cap.
    row
        Row in the ``accounts`` range, or ``None`` for an account named only in
        holdings or cash.
    """

    key: str
    name: str
    kind: str = "general"
    max_risky: float | None = None
    row: int | None = None

    @property
    def label(self) -> str:
        return self.name or "default"

    def label_ko(self) -> str:
        return self.name or "기본 계좌"


@dataclass(frozen=True)
class Position:
    """Shares of one ticker held in one account (``row``: its holdings row)."""

    ticker: str
    account: str
    shares: float
    row: int


@dataclass(frozen=True)
class HouseholdRequest:
    """A rebalance request whose holdings and cash are split over accounts.

    Attributes
    ----------
    request
        The household-level request (assets with shares summed over accounts,
        cash summed per currency): targets, settings, groups, prices given.
    accounts
        Every account named in holdings, cash or the accounts range, by key.
    positions
        One per (ticker, account) with shares.
    cash
        ``(account key, currency, amount)``; negative: money to raise there.
    classes
        Ticker -> asset class (``equity`` when the targets say nothing).
    """

    request: RebalanceRequest
    accounts: tuple[Account, ...]
    positions: tuple[Position, ...]
    cash: tuple[tuple[str, str, float], ...]
    classes: Mapping[str, str] = field(default_factory=dict)

    def quote_needs(self) -> Any:
        """What the household request lacks (the same as its household-level request)."""
        return self.request.quote_needs()


# ---------------------------------------------------------------- plan


@dataclass
class HouseholdPlan:
    """A solved household rebalance: per-asset and per-position arrays, cash per pool.

    Positions ``j`` pair an asset index ``pos_asset[j]`` with an account index
    ``pos_account[j]``; pools ``q`` pair an account with a currency. Weights are
    household weights (fractions of every account together, cash included).
    """

    base_currency: str
    mode: str
    buy_only: bool
    whole_shares: bool
    tickers: list[str]
    price: np.ndarray
    currency: list[str]
    fx: np.ndarray
    target: np.ndarray
    band_lo: np.ndarray
    band_hi: np.ndarray
    band_width: np.ndarray
    cash_target: float
    cash_band: tuple[float, float, float]
    accounts: list[Account]
    caps: list[float | None]
    pos_asset: np.ndarray
    pos_account: np.ndarray
    pos_held: np.ndarray
    pos_risky: np.ndarray
    buy: np.ndarray
    sell: np.ndarray
    pool_account: np.ndarray
    pool_currency: list[str]
    pool_fx: np.ndarray
    cash_start: np.ndarray  # pool currency
    cash_end: np.ndarray  # pool currency
    fees_value: float = 0.0
    tax_value: float = 0.0
    fx_cost_value: float = 0.0
    conversions: list[tuple[int, str, str, float]] = field(default_factory=list)
    method: str = "none"
    notices: list[Notice] = field(default_factory=list)

    # ------------------------------------------------------------ derived numbers

    @property
    def price_value(self) -> np.ndarray:
        return self.price * self.fx

    def _per_asset(self, per_position: np.ndarray) -> np.ndarray:
        return np.bincount(self.pos_asset, weights=per_position, minlength=len(self.tickers))

    @property
    def held(self) -> np.ndarray:
        return self._per_asset(self.pos_held)

    @property
    def shares_after(self) -> np.ndarray:
        return self._per_asset(self.pos_held + self.buy - self.sell)

    @property
    def cash_before_value(self) -> float:
        start = self.cash_start * self.pool_fx
        return float(start[start > 0].sum())

    @property
    def raise_value(self) -> float:
        start = self.cash_start * self.pool_fx
        return float(-start[start < 0].sum())

    @property
    def cash_after_value(self) -> float:
        return float((self.cash_end * self.pool_fx).sum())

    @property
    def value_before(self) -> float:
        return float((self.held * self.price_value).sum()) + self.cash_before_value

    @property
    def value_after(self) -> float:
        return float((self.shares_after * self.price_value).sum()) + self.cash_after_value

    def weights_before(self) -> tuple[np.ndarray, float]:
        total = self.value_before
        if total <= 0:
            return np.zeros(len(self.tickers)), 0.0
        return self.held * self.price_value / total, self.cash_before_value / total

    def weights_after(self) -> tuple[np.ndarray, float]:
        total = self.value_after
        if total <= 0:
            return np.zeros(len(self.tickers)), 0.0
        return self.shares_after * self.price_value / total, self.cash_after_value / total

    def drift(self, after: bool) -> tuple[float, float]:
        """Sum and largest of ``|weight - target|`` over assets and cash (household)."""
        weights, cash = self.weights_after() if after else self.weights_before()
        gaps = np.abs(np.append(weights - self.target, cash - self.cash_target))
        return float(gaps.sum()), float(gaps.max(initial=0.0))

    def account_value_after(self, k: int) -> float:
        mine = self.pos_account == k
        after = (self.pos_held + self.buy - self.sell)[mine]
        value = float((after * self.price_value[self.pos_asset[mine]]).sum())
        pools = self.pool_account == k
        return value + float((self.cash_end[pools] * self.pool_fx[pools]).sum())

    def risky_weight_after(self, k: int) -> float:
        """Risky assets over the account's value after trading (0 for an empty account)."""
        mine = (self.pos_account == k) & self.pos_risky
        after = (self.pos_held + self.buy - self.sell)[mine]
        risky = float((after * self.price_value[self.pos_asset[mine]]).sum())
        total = self.account_value_after(k)
        return risky / total if total > 0 else 0.0

    @property
    def order_count(self) -> int:
        return int(((self.buy > 0) | (self.sell > 0)).sum())

    # ------------------------------------------------------------ rows

    def order_rows(self) -> list[list[Any]]:
        """``REBAL_ORDERS`` with ``Account`` last: sells, then buys, by ticker then account."""
        before, _ = self.weights_before()
        after, _ = self.weights_after()
        rows: list[list[Any]] = [[*ORDER_HEADER, ACCOUNT_LABELS["account"][0]]]
        keys = [(self.tickers[i], self.accounts[k].key) for i, k in zip(
            self.pos_asset, self.pos_account, strict=True
        )]  # fmt: skip
        order = sorted(range(len(keys)), key=lambda j: keys[j])
        for action, shares in (("SELL", self.sell), ("BUY", self.buy)):
            for j in order:
                if shares[j] <= 0:
                    continue
                i = int(self.pos_asset[j])
                amount = float(shares[j] * self.price[i])
                rows.append(
                    [
                        self.tickers[i],
                        action,
                        _num(shares[j]),
                        _num(self.price[i]),
                        self.currency[i],
                        amount,
                        float(amount * self.fx[i]),
                        _num(before[i]),
                        _num(after[i]),
                        _num(self.target[i]),
                        self.accounts[int(self.pos_account[j])].name,
                    ]
                )
        return rows

    def summary_rows(self, lang: str = "en") -> list[list[Any]]:
        """``REBAL_SUMMARY`` with cash per account and currency and IRP/DC risky weights."""
        k = 1 if lang == "ko" else 0

        def label(key: str, suffix: str = "") -> str:
            return SUMMARY_LABELS[key][k] + suffix

        def account_name(index: int) -> str:
            account = self.accounts[index]
            return account.label_ko() if k else account.label

        traded = self.price_value[self.pos_asset]
        bought = float((self.buy * traded).sum())
        sold = float((self.sell * traded).sum())
        drift_before, max_before = self.drift(after=False)
        drift_after, max_after = self.drift(after=True)
        mode = self.mode + ((" (매수만)" if k else " (buy only)") if self.buy_only else "")
        rows: list[list[Any]] = [
            list(SUMMARY_HEADER_KO if k else SUMMARY_HEADER),
            [label("base"), self.base_currency],
            [label("mode"), mode],
            [label("value_before"), _num(self.value_before)],
            [label("cash_before"), _num(self.cash_before_value)],
        ]
        if self.raise_value > 0:
            rows.append([label("raise"), _num(self.raise_value)])
        rows.append([label("cash_after"), _num(self.cash_after_value)])
        for q in range(len(self.pool_currency)):
            if self.cash_start[q] == 0 and self.cash_end[q] == 0:
                continue  # a pool the plan never touched (no cash, no order in it)
            where = f" ({account_name(int(self.pool_account[q]))}, {self.pool_currency[q]})"
            rows.append([label("cash_before", where), _num(self.cash_start[q])])
            rows.append([label("cash_after", where), _num(self.cash_end[q])])
        rows += [
            [label("value_after"), _num(self.value_after)],
            [label("bought"), _num(bought)],
            [label("sold"), _num(sold)],
            [label("fees"), _num(self.fees_value)],
            [label("tax"), _num(self.tax_value)],
            [label("fx_cost"), _num(self.fx_cost_value)],
        ]
        for index, source, dest, amount in self.conversions:
            rows.append(
                [label("convert", f" {source}→{dest} ({account_name(index)})"), _num(amount)]
            )
        rows += [
            [label("orders"), self.order_count],
            [
                label("turnover"),
                _num((bought + sold) / self.value_before if self.value_before else 0.0),
            ],
            [label("drift_before"), _num(drift_before)],
            [label("drift_after"), _num(drift_after)],
            [label("max_before"), _num(max_before)],
            [label("max_after"), _num(max_after)],
        ]
        for index, cap in enumerate(self.caps):
            if cap is None:
                continue
            where = f" ({account_name(index)})"
            rows.append(
                [ACCOUNT_LABELS["risky_after"][k] + where, _num(self.risky_weight_after(index))]
            )
            rows.append([ACCOUNT_LABELS["risky_limit"][k] + where, _num(cap)])
        rows.append([label("solver"), SOLVER_LABELS[self.method][k]])
        rows += [[label("warning"), notice.localized(lang)] for notice in self.notices]
        return rows

    def drift_rows(self) -> list[list[Any]]:
        """``REBAL_DRIFT``: household weights now, one row per ticker then ``CASH``."""
        weights, cash = self.weights_before()
        values = self.held * self.price_value
        rows: list[list[Any]] = [list(DRIFT_HEADER)]
        for i, ticker in enumerate(self.tickers):
            rows.append(
                [
                    ticker,
                    _num(values[i]),
                    _num(weights[i]),
                    _num(self.target[i]),
                    _num(weights[i] - self.target[i]),
                    _num(self.band_width[i]),
                    _status(weights[i], self.band_lo[i], self.band_hi[i]),
                ]
            )
        lo, hi, width = self.cash_band
        rows.append(
            [
                CASH_TICKER,
                _num(self.cash_before_value),
                _num(cash),
                _num(self.cash_target),
                _num(cash - self.cash_target),
                _num(width),
                _status(cash, lo, hi),
            ]
        )
        return rows


def _num(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        return 0.0
    number = round(number, 10)
    return 0.0 if number == 0 else number


def _is_etf(kind: str | None) -> bool | None:
    if kind is None:
        return None
    folded = kind.strip().upper()
    if folded in ("ETF", "ETN", "FUND", "MUTUALFUND"):
        return True
    if folded in ("STOCK", "EQUITY", "SHARE"):
        return False
    return None


def _round(weight: float | None) -> float | None:
    return None if weight is None else round(weight, 12)


# ---------------------------------------------------------------- planning

_CACHE: OrderedDict[str, HouseholdPlan] = OrderedDict()
_CACHE_SIZE = 8


def plan_household(
    household: HouseholdRequest,
    market: MarketData | None = None,
    as_of: dt.date | None = None,
) -> HouseholdPlan:
    """Plan per-account orders that bring the household to its targets.

    The three ``REBAL_*`` tables of one workbook ask for the same plan, so the
    last few plans are kept (keyed by the full inputs) and repeats get a copy.

    Parameters
    ----------
    household
        What :func:`~etf_rebalancer.planning.inputs.read_household` read.
    market
        Quotes for what ``household.quote_needs()`` listed, or ``None``.
    as_of
        Plan date for the dated tables (transaction tax, account rules);
        overrides ``household.request.as_of``; ``None`` there too: latest rows.

    Returns
    -------
    HouseholdPlan

    Raises
    ------
    InputError
        A missing price, currency or FX rate, or money to raise that an account
        cannot give (naming the ticker, currency or account).
    SolverError
        HiGHS found no plan (should not happen: every rule but cash and
        holdings is soft).
    """
    # The guard is in the key: a plan it cut short must not answer for one it did not.
    key = repr((household, market, as_of, GUARD_SECONDS))
    cached = _CACHE.get(key)
    if cached is None:
        cached = _Formulation(household, market or MarketData(), as_of).plan()
        _CACHE[key] = cached
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return copy.deepcopy(cached)


class _Formulation:
    """The arrays of one household problem, its MILP, and the settled plan."""

    def __init__(self, household: HouseholdRequest, market: MarketData, as_of: dt.date | None):
        request = household.request
        self.household = household
        self.market = market
        self.solver_message = ""
        self.config = config = request.settings
        self.base = base = config.base_currency
        self.date = as_of if as_of is not None else request.as_of
        self.notices: list[Notice] = list(market.notices)

        # ---- assets with a price (a price-only row with nothing to hold is dropped)
        kept = []
        for asset in request.assets:
            quoted = asset.price if asset.price is not None else market.prices.get(asset.ticker)
            listed = asset.currency or market.currencies.get(asset.ticker)
            if quoted is None or listed is None:
                if asset.shares == 0 and asset.target == 0:
                    continue
                failure = market.failures.get(asset.ticker)
                what = "price" if quoted is None else "currency"
                reason = f": {failure.message}" if failure else ""
                raise InputError(
                    f"No {what} for {asset.ticker} ({asset.rows}){reason}; "
                    "add Price and Currency columns to holdings or refresh quotes",
                    f"{asset.ticker}의 {'가격' if quoted is None else '통화'}이(가) 없습니다 "
                    f"({asset.rows}); 보유종목에 현재가·통화 열을 추가하거나 시세를 새로 고치세요",
                )
            if not (isinstance(quoted, int | float) and math.isfinite(quoted) and quoted > 0):
                raise InputError(
                    f"Price of {asset.ticker} must be more than 0, got {quoted!r}",
                    f"{asset.ticker}의 가격은 0보다 커야 합니다: {quoted!r}",
                )
            kept.append((asset, float(quoted), str(listed).upper()))
        if not kept:
            raise InputError("No asset to plan for", "계획할 종목이 없습니다")
        self.assets = [a for a, _, _ in kept]
        self.tickers = [a.ticker for a in self.assets]
        index = {t: i for i, t in enumerate(self.tickers)}
        self.price = np.array([p for _, p, _ in kept])
        self.currency = [c for _, _, c in kept]
        self.fx = np.array([self.rate(c) for c in self.currency])
        self.price_value = self.price * self.fx
        # Weights rounded to 12 decimals: targets written as percents (25 -> 0.25) differ
        # from fractions by float noise, which must not steer HiGHS's search elsewhere.
        self.target = np.round(np.array([a.target for a in self.assets]), 12)
        self.cash_target = round(request.cash_target, 12)
        n = len(kept)

        # ---- Korea's transaction tax on KRX stock sales (unknown kind: taxed and said so)
        rate = tax.krx_sale_tax_rate(self.date)
        self.sell_tax = np.zeros(n)
        self.assumed_stock: set[str] = set()
        for i, asset in enumerate(self.assets):
            if not tax.is_krx_listing(asset.ticker):
                continue
            is_etf = _is_etf(asset.kind)
            if is_etf is None:
                is_etf = _is_etf(market.kinds.get(asset.ticker))
            if is_etf is None and tax.name_looks_like_etf(
                asset.name or market.names.get(asset.ticker)
            ):
                is_etf = True
            if is_etf is None:
                self.assumed_stock.add(asset.ticker)
            if not is_etf:
                self.sell_tax[i] = rate
        self.classes = [household.classes.get(t, "equity") for t in self.tickers]
        self.domestic = [tax.is_krx_listing(t) for t in self.tickers]

        # ---- accounts, their rules and positions
        self.accounts = list(household.accounts)
        account_index = {a.key: k for k, a in enumerate(self.accounts)}
        self.rules = [account_rules.rules_for(a.kind, self.date) for a in self.accounts]
        self.caps: list[float | None] = [
            a.max_risky if a.max_risky is not None else r.risky_cap
            for a, r in zip(self.accounts, self.rules, strict=True)
        ]
        held: dict[tuple[int, int], float] = {}
        for position in household.positions:
            if position.ticker in index:
                held[(account_index[position.account], index[position.ticker])] = position.shares
        pairs: list[tuple[int, int, float, bool]] = []  # (account, asset, held, may buy)
        for k, rules in enumerate(self.rules):
            for i in range(n):
                shares = held.get((k, i), 0.0)
                may_buy = rules.may_buy(self.domestic[i], self.classes[i])
                if shares > 0 or may_buy:
                    pairs.append((k, i, shares, may_buy))
        self.pos_account = np.array([p[0] for p in pairs], dtype=np.int64)
        self.pos_asset = np.array([p[1] for p in pairs], dtype=np.int64)
        self.pos_held = np.array([p[2] for p in pairs], dtype=float)
        self.pos_may_buy = np.array([p[3] for p in pairs], dtype=bool)
        self.pos_risky = np.array(
            [self.classes[i] not in account_rules.SAFE_CLASSES for i in self.pos_asset],
            dtype=bool,
        )

        # ---- cash pools: (account, currency) for the base, the account's cash, its listings
        start: dict[tuple[int, str], float] = {}
        for key, currency, amount in household.cash:
            slot = (account_index[key], currency)
            start[slot] = start.get(slot, 0.0) + amount
        pool_keys = set(start) | {(k, base) for k in range(len(self.accounts))}
        pool_keys |= {(int(k), self.currency[int(i)]) for k, i in zip(
            self.pos_account, self.pos_asset, strict=True
        )}  # fmt: skip
        ordered = sorted(pool_keys, key=lambda kc: (kc[0], kc[1] != base, kc[1]))
        self.pool_account = np.array([k for k, _ in ordered], dtype=np.int64)
        self.pool_currency = [c for _, c in ordered]
        self.pool_fx = np.array([self.rate(c) for c in self.pool_currency])
        self.cash_start = np.array([start.get(kc, 0.0) for kc in ordered])
        pool_of = {kc: q for q, kc in enumerate(ordered)}
        self.pos_pool = np.array(
            [pool_of[(int(k), self.currency[int(i)])] for k, i in zip(
                self.pos_account, self.pos_asset, strict=True
            )],
            dtype=np.int64,
        )  # fmt: skip

        # ---- the household's reference value and per-account money checks
        start_value = self.cash_start * self.pool_fx
        held_value = self.pos_held * self.price_value[self.pos_asset]
        self.value = float(held_value.sum() + start_value.sum())
        if float(held_value.sum() + start_value[start_value > 0].sum()) <= 0:
            raise InputError(
                "The portfolio is empty: no shares held and no cash",
                "포트폴리오가 비어 있습니다: 보유 수량도 현금도 없습니다",
            )
        if self.value <= 0:
            raise InputError(
                f"Cannot raise {-start_value[start_value < 0].sum():,.2f} {base}: the household "
                "holds less than that",
                f"{-start_value[start_value < 0].sum():,.2f} {base}을(를) 마련할 수 없습니다",
            )
        whole = config.whole_shares
        self.sell_max = (
            np.zeros(len(pairs))
            if config.buy_only
            else (np.floor(self.pos_held) if whole else self.pos_held.copy())
        )
        sell_tax_pos = self.sell_tax[self.pos_asset]
        self.buy_max = np.zeros(len(pairs))
        for k, account in enumerate(self.accounts):
            mine = self.pos_account == k
            pools = self.pool_account == k
            cash_k = start_value[pools]
            proceeds = self.sell_max[mine] * self.price_value[self.pos_asset[mine]]
            net = proceeds * (1 - sell_tax_pos[mine] - config.fee_rate)
            raisable = float(cash_k.sum() + net.sum()) - config.fee_min * int(
                (self.sell_max[mine] > 0).sum()
            )
            if cash_k.sum() < 0 and raisable * (1 - config.fx_spread) < -1e-9:
                extra = " with buy_only TRUE" if config.buy_only else ""
                raise InputError(
                    f"Cannot raise {-cash_k.sum():,.2f} {base} in account {account.label}{extra}:"
                    f" its holdings that may be sold and its cash come to "
                    f"{raisable - cash_k.sum():,.2f} {base}",
                    f"계좌 {account.label_ko()}에서 {-cash_k.sum():,.2f} {base}을(를) 마련할 수 "
                    f"없습니다: 매도 가능한 보유분과 현금이 {raisable - cash_k.sum():,.2f} "
                    f"{base}입니다",
                )
            spendable = float(cash_k[cash_k > 0].sum()) + float(proceeds.sum())
            price_k = self.price_value[self.pos_asset[mine]]
            room = spendable / price_k
            self.buy_max[mine] = np.where(
                self.pos_may_buy[mine], np.floor(room) if whole else room, 0.0
            )

        # ---- bands, Min/Max and groups (household weights)
        band_default = config.band
        bands = [
            _band(a.target, a.band if a.band is not None else band_default, config.band_type)
            for a in self.assets
        ]
        self.band_lo = np.round(np.array([b[0] for b in bands]), 12)
        self.band_hi = np.round(np.array([b[1] for b in bands]), 12)
        self.band_width = np.round(np.array([b[2] for b in bands]), 12)
        lo, hi, width = _band(
            request.cash_target,
            request.cash_band if request.cash_band is not None else band_default,
            config.band_type,
        )
        self.cash_band = (round(lo, 12), round(hi, 12), round(width, 12))
        self.min_weight = np.round(
            np.array([np.nan if a.min_weight is None else a.min_weight for a in self.assets]), 12
        )
        self.max_weight = np.round(
            np.array([np.nan if a.max_weight is None else a.max_weight for a in self.assets]), 12
        )
        members: dict[str, list[int]] = {}
        for i, asset in enumerate(self.assets):
            if asset.group is not None:
                members.setdefault(asset.group, []).append(i)
        self.groups = [
            (cap.label, np.array(members[key]), _round(cap.min_weight), _round(cap.max_weight))
            for key, cap in sorted(request.groups.items())
            if key in members
        ]
        for key, cap in sorted(request.groups.items()):
            if key not in members:
                self.notices.append(
                    Notice(
                        f"Group {cap.label} (groups row {cap.row}) has no asset in targets",
                        f"그룹 {cap.label} ({cap.row}행)에 속한 종목이 목표비중에 없습니다",
                    )
                )

    def rate(self, currency: str) -> float:
        if currency == self.base:
            return 1.0
        value = self.config.fx.get(currency, self.market.fx.get(currency))
        if value is None or not math.isfinite(value) or value <= 0:
            failure = self.market.failures.get(currency)
            reason = f": {failure.message}" if failure else ""
            raise InputError(
                f"No FX rate for {currency} in {self.base}{reason}; add a setting "
                f"'FX {currency}' (value of one {currency} in {self.base})",
                f"{currency}→{self.base} 환율이 없습니다; 설정에 'FX {currency}' 를 추가하세요",
            )
        return float(value)

    # ------------------------------------------------------------ the program

    def build(self, hard_caps: bool = True) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        """The MILP as arrays; returns it with the buy and sell column indices.

        With ``hard_caps`` a risky cap that trades can reach (:meth:`cap_reachable`) is a
        hard constraint: with whole shares no finite penalty can stop one lumpy share
        from breaching it by a hair for a large drift gain. Unreachable caps stay soft.
        """
        config = self.config
        band_mode = config.mode == "band"
        drift_weight = BAND_DRIFT_WEIGHT if band_mode else 1.0
        cost_weight = COST_WEIGHT * (BAND_PENALTY if band_mode else 1.0)
        turnover = TURNOVER_COST if band_mode else WASH_COST
        n, npos, npool = len(self.tickers), len(self.pos_asset), len(self.pool_currency)
        value = self.value
        a_asset = self.price_value / value
        a = a_asset[self.pos_asset]
        tax_pos = self.sell_tax[self.pos_asset]
        fee_rate, spread = config.fee_rate, config.fx_spread
        fee_min, min_trade = config.fee_min / value, config.min_trade / value
        use_fee_var = fee_min > 0
        linear_fee = 0.0 if use_fee_var else fee_rate
        bld = _Builder()
        whole = config.whole_shares

        b = bld.block(npos, 0.0, self.buy_max, a * (turnover + cost_weight * linear_fee), whole)
        s = bld.block(
            npos, 0.0, self.sell_max, a * (turnover + cost_weight * (linear_fee + tax_pos)), whole
        )
        j = np.arange(npos)
        fee = np.empty(0, dtype=np.int64)
        if use_fee_var or min_trade > 0:
            yb = bld.block(npos, 0.0, (self.buy_max > 0).astype(float), ORDER_COST, True)
            ys = bld.block(npos, 0.0, (self.sell_max > 0).astype(float), ORDER_COST, True)
            ones, inf, zero = np.ones(npos), np.full(npos, np.inf), np.zeros(npos)
            bld.rows(np.r_[b, yb], np.r_[ones, -self.buy_max], np.r_[j, j], -inf, zero)
            bld.rows(np.r_[s, ys], np.r_[ones, -self.sell_max], np.r_[j, j], -inf, zero)
            bld.rows(np.r_[yb, ys], np.r_[ones, ones], np.r_[j, j], -inf, ones)
            if min_trade > 0:
                mt = np.full(npos, -min_trade)
                bld.rows(np.r_[b, yb], np.r_[a, mt], np.r_[j, j], zero, inf)
                bld.rows(np.r_[s, ys], np.r_[a, mt], np.r_[j, j], zero, inf)
            if use_fee_var:
                fee = bld.block(npos, 0.0, np.inf, cost_weight, False)
                bld.rows(
                    np.r_[fee, b, s], np.r_[ones, -fee_rate * a, -fee_rate * a],
                    np.r_[j, j, j], zero, inf,
                )  # fmt: skip
                fm = np.full(npos, -fee_min)
                bld.rows(np.r_[fee, yb, ys], np.r_[ones, fm, fm], np.r_[j, j, j], zero, inf)

        # Household deviation pieces: assets 0..n-1, cash n.
        pieces = len(PIECE_WIDTHS) + 1
        lines = n + 1
        targets = np.append(self.target, self.cash_target)
        widths = np.concatenate(
            [[w * max(t, 0.01) for w in PIECE_WIDTHS] + [np.inf] for t in targets]
        )
        slopes = np.tile(drift_weight * (1.0 + PIECE_SLOPE_STEP * np.arange(pieces)), lines)
        e_pos = bld.block(lines * pieces, 0.0, widths, slopes, False)
        e_neg = bld.block(lines * pieces, 0.0, widths, slopes, False)
        line = np.repeat(np.arange(lines), pieces)
        on_asset = line < n
        held_asset = np.bincount(self.pos_asset, weights=self.pos_held, minlength=n)
        rhs = self.target - held_asset * a_asset
        m = int(on_asset.sum())
        bld.rows(
            np.r_[b, s, e_pos[on_asset], e_neg[on_asset]],
            np.r_[a, -a, -np.ones(m), np.ones(m)],
            np.r_[self.pos_asset, self.pos_asset, line[on_asset], line[on_asset]],
            rhs, rhs,
        )  # fmt: skip
        if whole:
            # Convex-hull cut of |x a - t| over the household's whole shares x (valid for
            # every whole-share plan): it makes the relaxation a fractional knapsack.
            tau = self.target / a_asset
            floor_shares, delta, chord = hull_chord(a_asset, tau, held_asset)
            bld.rows(
                np.r_[e_pos[on_asset], e_neg[on_asset], b, s],
                np.r_[np.ones(2 * m), -chord[self.pos_asset], chord[self.pos_asset]],
                np.r_[line[on_asset], line[on_asset], self.pos_asset, self.pos_asset],
                delta + chord * (held_asset - floor_shares), np.full(n, np.inf),
            )  # fmt: skip
        cash = bld.block(npool, 0.0, np.inf, 0.0, False)
        bld.rows(
            np.r_[cash, e_pos[~on_asset], e_neg[~on_asset]],
            np.r_[np.ones(npool), -np.ones(pieces), np.ones(pieces)],
            np.zeros(npool + 2 * pieces, dtype=np.int64),
            [self.cash_target], [self.cash_target],
        )  # fmt: skip
        # Pools: c_q - sum_{j in q} (net sale - gross buy) + fees + out - (1 - spread) in = start
        pairs = [
            (p, q)
            for p in range(npool)
            for q in range(npool)
            if p != q and self.pool_account[p] == self.pool_account[q]
        ]
        flows = bld.block(len(pairs), 0.0, np.inf, cost_weight * spread + WASH_COST, False)
        cols = [cash, s, b]
        vals = [np.ones(npool), -a * (1.0 - tax_pos - linear_fee), a * (1.0 + linear_fee)]
        rows = [np.arange(npool), self.pos_pool, self.pos_pool]
        if use_fee_var:
            cols.append(fee)
            vals.append(np.ones(npos))
            rows.append(self.pos_pool)
        if pairs:
            cols += [flows, flows]
            vals += [np.ones(len(pairs)), np.full(len(pairs), -(1.0 - spread))]
            rows += [np.array([p for p, _ in pairs]), np.array([q for _, q in pairs])]
        start = self.cash_start * self.pool_fx / value
        bld.rows(np.concatenate(cols), np.concatenate(vals), np.concatenate(rows), start, start)

        # Risky caps: sum_j (risky_j - cap) a_j x_j - cap sum_q c_q <= slack.
        for k, cap in enumerate(self.caps):
            if cap is None:
                continue
            mine = np.flatnonzero(self.pos_account == k)
            pools = np.flatnonzero(self.pool_account == k)
            coef = (self.pos_risky[mine].astype(float) - cap) * a[mine]
            hard = hard_caps and self.cap_reachable(k, cap)
            slack = bld.block(1, 0.0, 0.0 if hard else np.inf, CAP_PENALTY, False)
            bld.rows(
                np.r_[b[mine], s[mine], cash[pools], slack],
                np.r_[coef, -coef, np.full(len(pools), -cap), [-1.0]],
                np.zeros(2 * len(mine) + len(pools) + 1, dtype=np.int64),
                [-np.inf], [-float((coef * self.pos_held[mine]).sum())],
            )  # fmt: skip

        # Soft bounds on household weights: per asset (Min/Max, bands) and per group.
        def soft(members: np.ndarray, lo: float, hi: float, penalty: float) -> None:
            cols_m = np.flatnonzero(np.isin(self.pos_asset, members))
            base = float((held_asset[members] * a_asset[members]).sum())
            for bound, sign in ((hi, -1.0), (lo, 1.0)):
                if not math.isfinite(bound):
                    continue
                slack = bld.block(1, 0.0, np.inf, penalty, False)
                bld.rows(
                    np.r_[b[cols_m], s[cols_m], slack],
                    np.r_[a[cols_m], -a[cols_m], [sign]],
                    np.zeros(2 * len(cols_m) + 1, dtype=np.int64),
                    [bound - base if sign > 0 else -np.inf],
                    [bound - base if sign < 0 else np.inf],
                )  # fmt: skip

        for i in range(n):
            if np.isfinite(self.min_weight[i]) or np.isfinite(self.max_weight[i]):
                soft(np.array([i]), self.min_weight[i], self.max_weight[i], CAP_PENALTY)
            if band_mode:
                soft(np.array([i]), self.band_lo[i], self.band_hi[i], BAND_PENALTY)
        for _label, group, lo_g, hi_g in self.groups:
            soft(
                group,
                math.nan if lo_g is None else lo_g,
                math.nan if hi_g is None else hi_g,
                CAP_PENALTY,
            )
        if band_mode:
            for bound, sign in ((self.cash_band[1], -1.0), (self.cash_band[0], 1.0)):
                slack = bld.block(1, 0.0, np.inf, BAND_PENALTY, False)
                bld.rows(
                    np.r_[cash, slack], np.r_[np.ones(npool), [sign]],
                    np.zeros(npool + 1, dtype=np.int64),
                    [bound if sign > 0 else -np.inf], [bound if sign < 0 else np.inf],
                )  # fmt: skip
        presolve = True
        if whole and npos <= TOTALS_POSITIONS:
            # Each held-in-several-accounts asset's household trade as one integer column:
            # branching on it splits the drift's floor or ceiling directly, where
            # branching on one account's shares lets the others make up the difference.
            # (Presolve would substitute the columns away again, so it is off.)
            counts = np.bincount(self.pos_asset, minlength=n)
            shared = np.flatnonzero(counts >= 2)
            lows = np.bincount(self.pos_asset, weights=self.sell_max, minlength=n)[shared]
            highs = np.bincount(self.pos_asset, weights=self.buy_max, minlength=n)[shared]
            total = bld.block(len(shared), -lows, highs, 0.0, True)
            row_of = np.searchsorted(shared, self.pos_asset)
            of_shared = np.isin(self.pos_asset, shared)
            k, m_shared = len(shared), int(of_shared.sum())
            bld.rows(
                np.r_[total, b[of_shared], s[of_shared]],
                np.r_[-np.ones(k), np.ones(m_shared), -np.ones(m_shared)],
                np.r_[np.arange(k), row_of[of_shared], row_of[of_shared]],
                np.zeros(k), np.zeros(k),
            )  # fmt: skip
            presolve = not len(shared)
        model = bld.model()
        model["presolve"] = presolve
        return model, b, s

    def cap_reachable(self, k: int, cap: float) -> bool:
        """Whether account ``k`` can end at or under its risky cap (before costs).

        Cash and safe assets are never risky, so the least risky weight an account can
        reach is what it cannot sell (everything when buy-only, share fractions
        otherwise) over its value now. Costs of selling could tip a borderline case over:
        :meth:`solve` then retries with the cap soft.
        """
        mine = self.pos_account == k
        price = self.price_value[self.pos_asset[mine]]
        risky = self.pos_risky[mine]
        kept = (self.pos_held[mine] - self.sell_max[mine])[risky] @ price[risky]
        pools = self.pool_account == k
        value = self.pos_held[mine] @ price + float(
            (self.cash_start[pools] * self.pool_fx[pools]).sum()
        )
        return bool(value > 0 and kept <= cap * value * (1 - 1e-9))

    def solve(self) -> tuple[np.ndarray, np.ndarray, str, str]:
        if self.config.whole_shares and len(self.pos_asset) > LARGE_POSITIONS:
            return self.solve_rounded()
        result, b, s = self.run_milp(hard_caps=True)
        if result.status == 2:  # infeasible: a cap judged reachable is not, after costs
            result, b, s = self.run_milp(hard_caps=False)
        # scipy does not know HiGHS's "solution limit" status (what the node limit gives):
        # it arrives as status 4 with the incumbent in x.
        limited = result.status == 1 or (result.status == 4 and "limit" in str(result.message))
        if result.x is None or not (result.status == 0 or limited):
            raise SolverError(
                f"The household optimiser found no plan: {result.message}",
                f"가구 최적화 계산이 계획을 찾지 못했습니다: {result.message}",
            )
        x = np.asarray(result.x)
        return self.finish(result, x[b], x[s])

    def run_milp(self, hard_caps: bool) -> tuple[Any, np.ndarray, np.ndarray]:
        model, b, s = self.build(hard_caps)
        return self.solve_program(model), b, s

    def solve_program(self, model: dict[str, Any], relaxed: bool = False) -> Any:
        """HiGHS on the program (its LP relaxation when ``relaxed``), work-bounded."""
        # Imported here: scipy.optimize costs ~0.3 s, and a plan without accounts never needs it.
        from scipy.optimize import Bounds, LinearConstraint, milp

        integrality = np.zeros_like(model["integrality"]) if relaxed else model["integrality"]
        try:
            with warnings.catch_warnings():
                # scipy passes options it does not list (mip_abs_gap) to HiGHS verbatim
                # and warns that it does so; a HiGHS that lacks one (an older Pyodide's)
                # skips it, with a warning too.
                warnings.simplefilter("ignore", RuntimeWarning)
                warnings.filterwarnings("ignore", "Unrecognized options")
                result = milp(
                    c=model["c"] * OBJECTIVE_SCALE,
                    integrality=integrality,
                    bounds=Bounds(model["lb"], model["ub"]),
                    constraints=LinearConstraint(model["A"], model["lo"], model["hi"]),
                    options={
                        "node_limit": NODE_LIMIT,
                        "time_limit": GUARD_SECONDS,
                        "mip_rel_gap": 1e-9,  # the absolute gap below decides
                        "mip_abs_gap": DRIFT_GAP * OBJECTIVE_SCALE,
                        "presolve": bool(model.get("presolve", True)),
                        # As in milp._highs: RENS took half of every run (4 x 50: 3.8 s
                        # -> 2.0 s, both proven optimal).
                        "mip_heuristic_run_rens": False,
                    },
                )
        except (ValueError, MemoryError) as error:
            raise SolverError(
                f"The household optimiser refused the problem: {error}",
                f"가구 최적화 계산이 문제를 처리하지 못했습니다: {error}",
            ) from error
        return result

    def solve_rounded(self) -> tuple[np.ndarray, np.ndarray, str, str]:
        """A large household: the LP relaxation, rounded to whole shares and topped up.

        Branch-and-bound on thousands of positions ends on the wall-clock guard (4 x 500:
        30 s), where load decides the plan. Here purchases round down and sales round
        down too, except risky sales in an account with a risky cap (rounded up, so the
        cap holds); :meth:`settle` repairs a hair of overdraft. Then whole shares are
        bought one at a time, always the one that lowers drift most net of its fee,
        while an account's cash and cap allow. The LP optimum bounds the gap.
        """
        model, b, s = self.build(hard_caps=True)
        relaxed = self.solve_program(model, relaxed=True)
        if relaxed.status == 2:  # infeasible: a cap judged reachable is not, after costs
            model, b, s = self.build(hard_caps=False)
            relaxed = self.solve_program(model, relaxed=True)
        if relaxed.x is None or relaxed.status != 0:
            raise SolverError(
                f"The household optimiser found no plan: {relaxed.message}",
                f"가구 최적화 계산이 계획을 찾지 못했습니다: {relaxed.message}",
            )
        x = np.asarray(relaxed.x)
        net = x[b] - x[s]
        capped = np.array([self.caps[int(k)] is not None for k in self.pos_account], dtype=bool)
        up = capped & self.pos_risky & (net < 0)
        net = np.where(up, -np.ceil(-net - 1e-9), np.floor(net + 1e-9))
        net = np.clip(net, -self.sell_max, self.buy_max)
        buy, sell = np.maximum(net, 0.0), np.maximum(-net, 0.0)
        price = self.price_value[self.pos_asset]
        small = (buy + sell) * price < self.config.min_trade
        buy, sell = np.where(small, 0.0, buy), np.where(small, 0.0, sell)
        if self.config.mode == "full":  # band mode keeps what rounding leaves in cash
            buy = self.topped_up(buy, sell)
        # The plan's own objective: the program with its trades fixed (an LP).
        fixed = dict(model)
        lb, ub = np.asarray(model["lb"], dtype=float).copy(), np.asarray(model["ub"]).copy()
        lb[b], ub[b], lb[s], ub[s] = buy, buy, sell, sell
        fixed["lb"], fixed["ub"] = lb, ub
        scored = self.solve_program(fixed, relaxed=True)
        self.solver_message = "LP relaxation rounded"
        self.gap = math.nan
        if scored.status == 0:
            self.gap = max(float(scored.fun) - float(relaxed.fun), 0.0) / OBJECTIVE_SCALE
        return buy, sell, "lp-rounded", self.solver_message

    def topped_up(self, buy: np.ndarray, sell: np.ndarray) -> np.ndarray:
        """``buy`` plus whole shares, one at a time, while one lowers the drift net of cost."""
        config = self.config
        buy = buy.copy()
        value, spread = self.value, config.fx_spread
        price = self.price_value[self.pos_asset]
        fee, tax_paid = self._costs(buy, sell)
        end = self.cash_start * self.pool_fx
        np.add.at(end, self.pos_pool, (sell - buy) * price - fee - tax_paid)
        holding = np.zeros(len(self.tickers))
        np.add.at(holding, self.pos_asset, (self.pos_held + buy - sell) * price)
        account_value = np.zeros(len(self.accounts))
        np.add.at(account_value, self.pos_account, (self.pos_held + buy - sell) * price)
        np.add.at(account_value, self.pool_account, end)
        risky = np.zeros(len(self.accounts))
        np.add.at(
            risky, self.pos_account, np.where(self.pos_risky, self.pos_held + buy - sell, 0) * price
        )
        cap = np.array([math.inf if c is None else c for c in self.caps])
        target = self.target * value
        cash_goal = self.household.request.cash_target * value
        open_ok = (buy > 0) | (config.min_trade <= price)
        allowed = self.pos_may_buy & (sell == 0) & open_ok
        # Caps come before drift: no share is added past an asset's Max or a group's cap.
        ceiling = np.where(np.isfinite(self.max_weight), self.max_weight * value, np.inf)
        group_of = np.full(len(self.tickers), -1)
        group_room = []
        for g, (_label, members, _lo, hi) in enumerate(self.groups):
            group_of[members] = g
            group_room.append(math.inf if hi is None else hi * value)
        room = np.array([*group_room, math.inf])  # the last slot: no group
        group_value = np.zeros(len(room))
        np.add.at(group_value, np.where(group_of >= 0, group_of, len(room) - 1), holding)
        cost_weight = COST_WEIGHT * (BAND_PENALTY if config.mode == "band" else 1.0)
        for _ in range(int(min(self.buy_max.sum(), 50 * len(buy) + 1000))):
            traded = buy * price
            fee_now = config.fee_rate * traded
            fee_new = config.fee_rate * (traded + price)
            if config.fee_min > 0:
                fee_now = np.where(traded > 0, np.maximum(fee_now, config.fee_min), 0.0)
                fee_new = np.maximum(fee_new, config.fee_min)
            extra = fee_new - fee_now
            cost = price + extra
            q, k = self.pos_pool, self.pos_account
            before_pos, before_neg = np.maximum(end[q], 0.0), np.maximum(-end[q], 0.0)
            after = end[q] - cost
            surplus = np.zeros(len(self.accounts))
            deficit = np.zeros(len(self.accounts))
            np.add.at(surplus, self.pool_account, np.maximum(end, 0.0))
            np.add.at(deficit, self.pool_account, np.maximum(-end, 0.0))
            new_surplus = surplus[k] - before_pos + np.maximum(after, 0.0)
            new_deficit = deficit[k] - before_neg + np.maximum(-after, 0.0)
            fits = new_surplus * (1.0 - spread) >= new_deficit
            new_risky = risky[k] + np.where(self.pos_risky, price, 0.0)
            limit = np.where(np.isfinite(cap[k]), cap[k], 0.0) * (account_value[k] - extra)
            fits &= ~self.pos_risky | ~np.isfinite(cap[k]) | (new_risky <= limit)
            fits &= allowed & (buy + 1 <= self.buy_max)
            i = self.pos_asset
            fits &= holding[i] + price <= ceiling[i]
            slot = np.where(group_of[i] >= 0, group_of[i], len(room) - 1)
            fits &= group_value[slot] + price <= room[slot]
            if not np.any(fits):
                break
            gain = np.abs(holding[i] - target[i]) - np.abs(holding[i] + price - target[i])
            cash_now = float(end.sum())
            gain += abs(cash_now - cash_goal) - np.abs(cash_now - cost - cash_goal)
            gain -= cost_weight * extra
            gain = np.where(fits, gain, -np.inf)
            j = int(np.argmax(gain))
            if gain[j] <= 1e-12 * value:
                break
            buy[j] += 1.0
            end[q[j]] -= cost[j]
            holding[i[j]] += price[j]
            group_value[slot[j]] += price[j]
            account_value[k[j]] -= extra[j]
            if self.pos_risky[j]:
                risky[k[j]] += price[j]
        return buy

    def _costs(self, buy: np.ndarray, sell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        price = self.price_value[self.pos_asset]
        traded = (buy + sell) * price
        fee = self.config.fee_rate * traded
        if self.config.fee_min > 0:
            fee = np.where(traded > 0, np.maximum(fee, self.config.fee_min), 0.0)
        return fee, self.sell_tax[self.pos_asset] * sell * price

    def finish(
        self, result: Any, buy: np.ndarray, sell: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, str, str]:
        if self.config.whole_shares:
            buy, sell = np.round(buy), np.round(sell)
        net = np.clip(buy, 0.0, self.buy_max) - np.clip(sell, 0.0, self.sell_max)
        hair = 1e-9 * max(self.value, 1.0)
        price = self.price_value[self.pos_asset]
        buy = np.where(np.maximum(net, 0.0) * price < hair, 0.0, np.maximum(net, 0.0))
        sell = np.where(np.maximum(-net, 0.0) * price < hair, 0.0, np.maximum(-net, 0.0))
        method = "milp" if result.status == 0 else "milp-node-limit"
        self.solver_message = str(result.message)
        bound = getattr(result, "mip_dual_bound", None)
        self.gap = math.nan
        if method != "milp" and bound is not None and math.isfinite(bound):
            # Proven distance from the least objective, in drift units (weight fractions).
            self.gap = max(float(result.fun) - float(bound), 0.0) / OBJECTIVE_SCALE
        return buy, sell, method, str(result.message)

    # ------------------------------------------------------------ settle and report

    def plan(self) -> HouseholdPlan:
        buy, sell, method, _detail = self.solve()
        config = self.config
        plan = HouseholdPlan(
            base_currency=self.base,
            mode=config.mode,
            buy_only=config.buy_only,
            whole_shares=config.whole_shares,
            tickers=self.tickers,
            price=self.price,
            currency=self.currency,
            fx=self.fx,
            target=self.target,
            band_lo=self.band_lo,
            band_hi=self.band_hi,
            band_width=self.band_width,
            cash_target=self.household.request.cash_target,
            cash_band=self.cash_band,
            accounts=self.accounts,
            caps=self.caps,
            pos_asset=self.pos_asset,
            pos_account=self.pos_account,
            pos_held=self.pos_held,
            pos_risky=self.pos_risky,
            buy=buy,
            sell=sell,
            pool_account=self.pool_account,
            pool_currency=self.pool_currency,
            pool_fx=self.pool_fx,
            cash_start=self.cash_start,
            cash_end=self.cash_start.copy(),
            method=method,
            notices=self.notices,
        )
        self.settle(plan)
        if "time limit" in self.solver_message.casefold():
            plan.notices.append(
                Notice(
                    f"The optimiser hit its {GUARD_SECONDS:g} s wall-clock guard: this plan "
                    "depends on the machine's speed and may differ on recalculation",
                    f"최적화 계산이 {GUARD_SECONDS:g}초 시간 보호 한도에 도달했습니다: 이 계획은 "
                    "컴퓨터 속도에 따라 달라질 수 있습니다",
                )
            )
        proven = math.isfinite(self.gap)
        gap_en = f"proven within {gap_text(self.gap)} of the least drift" if proven else ""
        gap_ko = f"최소 이탈도와의 차이 {gap_text(self.gap)} 이내" if proven else ""
        if proven and (plan.mode == "band" or self.breached(plan)):
            # The program's gap weighs distance outside bands and caps far above drift.
            gap_en = (
                f"the proven gap ({gap_text(self.gap)}) is in the optimiser's weighted objective, "
                "where bands and caps weigh far more than drift"
            )
            gap_ko = (
                f"증명된 차이({gap_text(self.gap)})는 이탈도가 아니라 밴드·한도를 훨씬 무겁게 "
                "치는 최적화 목적함수 기준입니다"
            )
        if method == "lp-rounded":
            count = len(self.pos_asset)
            plan.notices.append(
                Notice(
                    f"A large household ({count:,} positions): the plan is the optimiser's LP "
                    "relaxation rounded to whole shares and topped up"
                    f"{f' ({gap_en})' if proven else ''}, the same one every time for these "
                    "inputs",
                    f"큰 가구 ({count:,}개 보유 위치): LP 완화 해를 정수 주식으로 반올림하고 "
                    f"남은 현금을 채운 계획입니다{f' ({gap_ko})' if proven else ''}; 같은 "
                    "입력에는 항상 같은 계획",
                )
            )
        if method == "milp-node-limit":
            within = f"; {gap_en}" if proven else ""
            within_ko = f"; {gap_ko}" if proven else ""
            plan.notices.append(
                Notice(
                    f"The optimiser reached its limit of {NODE_LIMIT:,} search nodes: the best "
                    f"plan found is shown (the same one every time for these inputs){within}",
                    f"최적화 계산이 탐색 노드 한도({NODE_LIMIT:,})에 도달했습니다: 찾은 최선의 "
                    f"계획입니다 (같은 입력에는 항상 같은 계획){within_ko}",
                )
            )
        plan.notices.extend(self.report(plan))
        return plan

    def order_costs(self, plan: HouseholdPlan) -> tuple[np.ndarray, np.ndarray]:
        """Fee and tax of each position's order, in the base currency."""
        return self._costs(plan.buy, plan.sell)

    def settle(self, plan: HouseholdPlan) -> None:
        """Cash per (account, currency) after the orders; conversions only inside an account."""
        step = 1.0 if plan.whole_shares else 1e-6
        tolerance = 1e-9 * max(self.value, 1.0)
        spread = self.config.fx_spread
        price = self.price_value[self.pos_asset]
        while True:
            fee, tax_paid = self.order_costs(plan)
            flow = (plan.sell - plan.buy) * price - fee - tax_paid
            end = plan.cash_start * plan.pool_fx
            np.add.at(end, self.pos_pool, flow)
            short_account = None
            for k in range(len(self.accounts)):
                pools = self.pool_account == k
                deficit = float(-end[pools][end[pools] < 0].sum())
                surplus = float(end[pools][end[pools] > 0].sum())
                if surplus * (1.0 - spread) < deficit - tolerance:
                    short_account = (k, deficit - surplus * (1.0 - spread))
                    break
            if short_account is None:
                break
            # Short by solver tolerance: drop the account's buy that is most over target.
            k, short = short_account
            buys = np.flatnonzero((plan.buy > 0) & (self.pos_account == k))
            if not len(buys):
                raise SolverError(
                    f"The plan overdraws the cash of account {self.accounts[k].label}",
                    f"계획이 계좌 {self.accounts[k].label_ko()}의 현금을 초과합니다",
                )
            weights, _ = plan.weights_after()
            gap = weights[self.pos_asset[buys]] - self.target[self.pos_asset[buys]]
            worst = buys[int(np.argmax(gap))]
            less = max(step, math.ceil(short / price[worst] / step) * step)
            plan.buy[worst] = max(plan.buy[worst] - less, 0.0)
        conversions: list[tuple[int, str, str, float]] = []
        lost = 0.0
        for q in np.flatnonzero(end < 0):
            need = -end[q] / (1.0 - spread)
            for p in np.flatnonzero(self.pool_account == self.pool_account[q]):
                if need <= 0:
                    break
                if end[p] <= 0:
                    continue
                take = min(end[p], need)
                end[p] -= take
                end[q] += take * (1.0 - spread)
                need -= take
                lost += take * spread
                conversions.append(
                    (
                        int(self.pool_account[q]),
                        self.pool_currency[p],
                        self.pool_currency[q],
                        float(take / self.pool_fx[p]),
                    )
                )
            end[q] = max(end[q], 0.0)
        plan.cash_end = np.maximum(end, 0.0) / plan.pool_fx
        plan.fees_value = float(fee.sum())
        plan.tax_value = float(tax_paid.sum())
        plan.fx_cost_value = lost
        plan.conversions = conversions
        if not (np.any(plan.buy > 0) or np.any(plan.sell > 0)):
            plan.method = "none"

    def breached(self, plan: HouseholdPlan) -> bool:
        """Whether the plan leaves a risky cap, a Min/Max or a group cap breached."""
        weights, _ = plan.weights_after()
        for k, cap in enumerate(self.caps):
            if cap is not None and plan.risky_weight_after(k) > cap + 1e-6:
                return True
        hi = np.nan_to_num(self.max_weight, nan=np.inf)
        lo = np.nan_to_num(self.min_weight, nan=-np.inf)
        if np.any(weights > hi + 1e-6) or np.any(weights < lo - 1e-6):
            return True
        for _label, members, lo_g, hi_g in self.groups:
            weight = float(weights[members].sum())
            if (hi_g is not None and weight > hi_g + 1e-6) or (
                lo_g is not None and weight < lo_g - 1e-6
            ):
                return True
        return False

    def report(self, plan: HouseholdPlan) -> list[Notice]:
        """Warnings: forbidden holdings, missed risky caps, breaches, unreachable bands."""
        out: list[Notice] = []
        weights, _ = plan.weights_after()
        for j in np.flatnonzero((self.pos_held > 0) & ~self.pos_may_buy):
            account = self.accounts[int(self.pos_account[j])]
            ticker = self.tickers[int(self.pos_asset[j])]
            out.append(
                Notice(
                    f"{ticker} is held in {account.label} ({account.kind}), which may not buy "
                    "it: it is kept or sold there, never bought",
                    f"{ticker}은(는) {account.label_ko()} ({account.kind}) 계좌에서 매수할 수 "
                    "없는 종목입니다: 보유하거나 매도만 합니다",
                )
            )
        for k, cap in enumerate(self.caps):
            if cap is None:
                continue
            risky = plan.risky_weight_after(k)
            if risky > cap + 1e-6:
                account = self.accounts[k]
                gap = (risky - cap) * 100
                out.append(
                    Notice(
                        f"{account.label}: risky assets are {_pct(risky)} of the account after "
                        f"trading, above its limit {_pct(cap)} by {gap:.2f} percentage points "
                        "(the allowed trades cannot reach it)",
                        f"{account.label_ko()}: 거래 후 위험자산 비중 {_pct(risky)}, 한도 "
                        f"{_pct(cap)}을(를) {gap:.2f}%p 초과합니다 (허용된 거래로는 맞출 수 "
                        "없습니다)",
                    )
                )
        for i, ticker in enumerate(self.tickers):
            asset = self.assets[i]
            if asset.held and not asset.targeted and asset.shares > 0:
                out.append(
                    Notice(
                        f"{ticker} is held but not in targets: its target is taken as 0%",
                        f"{ticker}은(는) 보유 중이지만 목표비중에 없어 목표 0%로 봅니다",
                    )
                )
            hi, lo = self.max_weight[i], self.min_weight[i]
            if np.isfinite(hi) and weights[i] > hi + 1e-6:
                out.append(_breach(ticker, "Max", "최대", weights[i], hi))
            if np.isfinite(lo) and weights[i] < lo - 1e-6:
                out.append(_breach(ticker, "Min", "최소", weights[i], lo))
            if (
                plan.mode == "band"
                and _status(weights[i], self.band_lo[i], self.band_hi[i]) != "OK"
            ):
                out.append(
                    Notice(
                        f"{ticker} stays outside its band {_pct(self.band_lo[i])}–"
                        f"{_pct(self.band_hi[i])} at {_pct(weights[i])}: whole shares, cash, "
                        "account rules or constraints cannot bring it inside",
                        f"{ticker}은(는) 허용범위 {_pct(self.band_lo[i])}–"
                        f"{_pct(self.band_hi[i])} 밖({_pct(weights[i])})에 남습니다",
                    )
                )
            sold = plan.sell[self.pos_asset == i].sum()
            if ticker in self.assumed_stock and sold > 0:
                out.append(
                    Notice(
                        f"{ticker}: instrument type unknown, Korea's transaction tax "
                        f"({_pct(self.sell_tax[i])}) was assumed on its sale; add a Type column "
                        "(ETF/STOCK) to holdings",
                        f"{ticker}: 종목 유형을 알 수 없어 매도 시 증권거래세 "
                        f"({_pct(self.sell_tax[i])})를 가정했습니다; "
                        "보유종목에 종류 열(ETF/STOCK)을 추가하세요",
                    )
                )
        for label, members, lo_g, hi_g in self.groups:
            weight = float(weights[members].sum())
            if hi_g is not None and weight > hi_g + 1e-6:
                out.append(_breach(f"group {label}", "Max", "최대", weight, hi_g))
            if lo_g is not None and weight < lo_g - 1e-6:
                out.append(_breach(f"group {label}", "Min", "최소", weight, lo_g))
        return out


def _breach(what: str, bound: str, bound_ko: str, weight: float, limit: float) -> Notice:
    gap = abs(weight - limit) * 100
    side, side_ko = ("above", "초과") if bound == "Max" else ("below", "미달")
    return Notice(
        f"{what} is {_pct(weight)} after trading, {side} its {bound} {_pct(limit)} by "
        f"{gap:.2f} percentage points",
        f"{what.replace('group ', '그룹 ')}: 거래 후 {_pct(weight)}, "
        f"{bound_ko} {_pct(limit)}을(를) {gap:.2f}%p {side_ko}",
    )


class _Builder:
    """Variable blocks and sparse constraint rows (COO) for one MILP."""

    def __init__(self) -> None:
        self.lb: list[np.ndarray] = []
        self.ub: list[np.ndarray] = []
        self.cost: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.size = 0
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def block(self, count: int, lb: Any, ub: Any, cost: Any, integer: bool) -> np.ndarray:
        start = self.size
        self.size += count
        for store, value in ((self.lb, lb), (self.ub, ub), (self.cost, cost)):
            store.append(np.broadcast_to(np.asarray(value, dtype=float), (count,)).copy())
        self.integer.append(np.full(count, 1 if integer else 0, dtype=np.uint8))
        return np.arange(start, start + count)

    def rows(self, cols: Any, vals: Any, row_of: Any, lo: Any, hi: Any) -> None:
        """Add ``len(lo)`` rows; entry ``e`` goes to new row ``row_of[e]``, column ``cols[e]``."""
        base = len(self.lo)
        self.r.append(np.asarray(row_of, dtype=np.int64) + base)
        self.c.append(np.asarray(cols, dtype=np.int64))
        self.v.append(np.asarray(vals, dtype=float))
        self.lo.extend(np.asarray(lo, dtype=float).ravel().tolist())
        self.hi.extend(np.asarray(hi, dtype=float).ravel().tolist())

    def model(self) -> dict[str, Any]:
        matrix = sparse.csr_array(
            (np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))),
            shape=(len(self.lo), self.size),
        )
        return {
            "c": np.concatenate(self.cost),
            "integrality": np.concatenate(self.integer),
            "lb": np.concatenate(self.lb),
            "ub": np.concatenate(self.ub),
            "A": matrix,
            "lo": np.array(self.lo),
            "hi": np.array(self.hi),
        }
