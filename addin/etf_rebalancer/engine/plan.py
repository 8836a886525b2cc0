"""Plan a rebalance: resolve quotes, solve, settle cash per currency, and lay out the result rows.

:func:`plan_rebalance` turns a :class:`~etf_rebalancer.engine.request.RebalanceRequest`
and the quotes it lacked (:class:`~etf_rebalancer.engine.market.MarketData`)
into a :class:`Plan`, whose ``order_rows``, ``summary_rows`` and ``drift_rows``
are the tables of ``REBAL_ORDERS``, ``REBAL_SUMMARY`` and ``REBAL_DRIFT``.

Money is settled after solving, from the chosen share counts alone: fees,
Korea's transaction tax and FX conversions are recomputed, conversions cover
each currency pool's shortfall from the others at the ``fx_spread`` (base
currency pool first, then by currency code), and a buy is trimmed if the
solver's feasibility tolerance left a pool a few cents short. So the reported
cash is exact arithmetic on the orders, never the solver's rounding.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from etf_rebalancer.cells import CASH_TICKER
from etf_rebalancer.cells.labels import (
    DRIFT_HEADER,
    ORDER_HEADER,
    SOLVER_LABELS,
    SUMMARY_HEADER,
    SUMMARY_HEADER_KO,
    SUMMARY_LABELS,
    ko,
)
from etf_rebalancer.engine import milp, model, tax
from etf_rebalancer.engine.greedy import greedy
from etf_rebalancer.engine.market import MarketData
from etf_rebalancer.engine.request import Asset, RebalanceRequest
from etf_rebalancer.errors import InputError, Notice, SolverError

__all__ = ["Plan", "plan_rebalance"]

#: Weight tolerance when judging bands and caps after trading (a rounding hair).
_WEIGHT_TOL = 1e-9
_PLAN_CACHE: OrderedDict[str, Plan] = OrderedDict()
_PLAN_CACHE_SIZE = 8
#: Wall-clock guard (seconds) on the optimiser. What ends a search is its deterministic
#: work budget (:data:`.milp.NODE_BUDGET`, the knapsack's step budget), so the plan is a
#: function of the inputs; this guard only stops a pathological solve, and the summary
#: says so when it fires (then the plan may depend on the machine's speed).
DEFAULT_TIME_LIMIT = 10.0


@dataclass
class Plan:
    """A solved rebalance: per-asset arrays (sorted by ticker), cash per pool, notices.

    Money called ``*_value`` is in the base currency; ``amount`` is in a listing
    or pool currency. Weights are fractions of the whole portfolio, cash included:
    before trading over ``value_before`` (holdings plus positive cash), after
    trading over ``value_after`` (what is left once costs are paid and money to
    raise is taken out).
    """

    base_currency: str
    mode: str
    buy_only: bool
    whole_shares: bool
    tickers: list[str]
    price: np.ndarray
    currency: list[str]
    fx: np.ndarray
    held: np.ndarray
    buy: np.ndarray
    sell: np.ndarray
    target: np.ndarray
    band_lo: np.ndarray
    band_hi: np.ndarray
    band_width: np.ndarray
    cash_target: float
    cash_band: tuple[float, float, float]
    pools: list[str]
    pool_fx: np.ndarray
    cash_start: np.ndarray  # pool currency
    cash_end: np.ndarray  # pool currency
    fees_value: float
    tax_value: float
    fx_cost_value: float
    conversions: list[tuple[str, str, float]]  # (from, to, amount in `from` currency)
    method: str
    notices: list[Notice] = field(default_factory=list)

    # ------------------------------------------------------------ derived numbers

    @property
    def price_value(self) -> np.ndarray:
        """Price of one share in the base currency."""
        return self.price * self.fx

    @property
    def value_before(self) -> float:
        """Holdings plus positive cash, before trading (base currency)."""
        start = self.cash_start * self.pool_fx
        return float((self.held * self.price_value).sum() + start[start > 0].sum())

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
    def shares_after(self) -> np.ndarray:
        return self.held + self.buy - self.sell

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
        """Sum and largest of ``|weight - target|`` over assets and cash (fractions)."""
        weights, cash = self.weights_after() if after else self.weights_before()
        gaps = np.abs(np.append(weights - self.target, cash - self.cash_target))
        return float(gaps.sum()), float(gaps.max(initial=0.0))

    @property
    def order_count(self) -> int:
        return int(((self.buy > 0) | (self.sell > 0)).sum())

    # ------------------------------------------------------------ rows

    def order_rows(self) -> list[list[Any]]:
        """``REBAL_ORDERS``: header, then sells, then buys, each by ticker."""
        before, _ = self.weights_before()
        after, _ = self.weights_after()
        rows: list[list[Any]] = [list(ORDER_HEADER)]
        for action, shares in (("SELL", self.sell), ("BUY", self.buy)):
            for i in np.argsort(np.array(self.tickers, dtype=object), kind="stable"):
                if shares[i] <= 0:
                    continue
                amount = float(shares[i] * self.price[i])
                rows.append(
                    [
                        self.tickers[i],
                        action,
                        float(shares[i]),  # exact: Shares x Price = Amount
                        _num(self.price[i]),
                        self.currency[i],
                        amount,
                        float(amount * self.fx[i]),
                        _num(before[i]),
                        _num(after[i]),
                        _num(self.target[i]),
                    ]
                )
        return rows

    def summary_rows(self, lang: str = "en") -> list[list[Any]]:
        """``REBAL_SUMMARY``: ``Item``, ``Value`` rows in English or Korean (``lang="ko"``)."""
        k = 1 if lang == "ko" else 0

        def label(key: str, suffix: str = "") -> str:
            return SUMMARY_LABELS[key][k] + suffix

        bought = float((self.buy * self.price_value).sum())
        sold = float((self.sell * self.price_value).sum())
        drift_before, max_before = self.drift(after=False)
        drift_after, max_after = self.drift(after=True)
        mode = self.mode + (" (buy only)" if self.buy_only and not k else "")
        if k and self.buy_only:
            mode += " (매수만)"
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
        if len(self.pools) > 1 or (self.pools and self.pools[0] != self.base_currency):
            for currency, start, end in zip(
                self.pools, self.cash_start, self.cash_end, strict=True
            ):
                rows.append([label("cash_before", f" ({currency})"), _num(start)])
                rows.append([label("cash_after", f" ({currency})"), _num(end)])
        rows += [
            [label("value_after"), _num(self.value_after)],
            [label("bought"), _num(bought)],
            [label("sold"), _num(sold)],
            [label("fees"), _num(self.fees_value)],
            [label("tax"), _num(self.tax_value)],
            [label("fx_cost"), _num(self.fx_cost_value)],
        ]
        for source, dest, amount in self.conversions:
            rows.append([label("convert", f" {source}→{dest}"), _num(amount)])
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
            [label("solver"), SOLVER_LABELS[self.method][k]],
        ]
        rows += [[label("warning"), notice.localized(lang)] for notice in self.notices]
        return rows

    def drift_rows(self) -> list[list[Any]]:
        """``REBAL_DRIFT``: the portfolio as it is now, one row per ticker then ``CASH``.

        ``Band`` is the band's half-width in weight points (``0.02`` for a 10%
        relative band on a 20% target); ``Status`` is ``OVER``/``UNDER`` outside it.
        """
        weights, cash = self.weights_before()
        values = self.held * self.price_value
        rows: list[list[Any]] = [list(DRIFT_HEADER)]
        for i, ticker in enumerate(self.tickers):
            status = _status(weights[i], self.band_lo[i], self.band_hi[i])
            rows.append(
                [
                    ticker,
                    _num(values[i]),
                    _num(weights[i]),
                    _num(self.target[i]),
                    _num(weights[i] - self.target[i]),
                    _num(self.band_width[i]),
                    status,
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
    """A plain, finite Python float for Excel (``-0.0`` and float noise cleaned)."""
    number = float(value)
    if not math.isfinite(number):
        return 0.0
    number = round(number, 10)
    return 0.0 if number == 0 else number


def _status(weight: float, lo: float, hi: float) -> str:
    if weight > hi + _WEIGHT_TOL:
        return "OVER"
    if weight < lo - _WEIGHT_TOL:
        return "UNDER"
    return "OK"


def _band(target: float, band: float, band_type: str) -> tuple[float, float, float]:
    width = target * band if band_type == "relative" else band
    return max(target - width, 0.0), min(target + width, 1.0), width


def _kind_is_etf(kind: str | None) -> bool | None:
    if kind is None:
        return None
    folded = kind.strip().upper()
    if folded in ("ETF", "ETN", "FUND", "MUTUALFUND"):
        return True
    if folded in ("STOCK", "EQUITY", "SHARE"):
        return False
    return None


def plan_rebalance(
    request: RebalanceRequest,
    market: MarketData | None = None,
    as_of: dt.date | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> Plan:
    """Plan the orders for ``request``.

    A workbook usually shows ``REBAL_ORDERS``, ``REBAL_SUMMARY`` and ``REBAL_DRIFT``
    of the same ranges, so the last few plans are kept (keyed by the request's
    full contents) and a repeat call gets a copy of the same plan: one solve, and
    the three tables agree even when a time limit made the solve timing-dependent.

    Parameters
    ----------
    request
        What :func:`~etf_rebalancer.planning.inputs.read_request` read.
    market
        Quotes for what ``request.quote_needs()`` listed, or ``None`` when nothing was needed.
    as_of
        Trade date for dated tables (Korea's transaction tax); overrides
        ``request.as_of``. The engine has no clock: ``None`` everywhere means the
        latest rates (the edge passes today's date).
    time_limit
        Wall-clock guard in seconds: a last resort, reported in the summary when it
        fires. The work budget, not this, normally ends the search.

    Returns
    -------
    Plan

    Raises
    ------
    InputError
        A price, currency or FX rate is missing (naming the ticker or currency),
        or the money to raise exceeds what the portfolio can give.
    """
    key = repr((request, market, as_of, time_limit))
    cached = _PLAN_CACHE.get(key)
    if cached is None:
        cached = _plan_uncached(request, market, as_of, time_limit)
        _PLAN_CACHE[key] = cached
        while len(_PLAN_CACHE) > _PLAN_CACHE_SIZE:
            _PLAN_CACHE.popitem(last=False)
    else:
        _PLAN_CACHE.move_to_end(key)
    return copy.deepcopy(cached)


def _plan_uncached(
    request: RebalanceRequest,
    market: MarketData | None,
    as_of: dt.date | None,
    time_limit: float,
) -> Plan:
    market = market or MarketData()
    formulation = _formulate(request, market, as_of if as_of is not None else request.as_of)
    plan = _solve(formulation, time_limit)
    plan.notices.extend(_report(plan, formulation.problem, request, formulation.assumed_stock))
    return plan


@dataclass
class _Formulation:
    """A request turned into the solver's :class:`~.model.Problem` plus what the plan shows."""

    problem: model.Problem
    base: str
    mode: str
    buy_only: bool
    tickers: list[str]
    price: np.ndarray
    currency: list[str]
    fx: np.ndarray
    pools: list[str]
    pool_fx: np.ndarray
    cash_start: np.ndarray  # pool currency
    band_width: np.ndarray
    cash_band: tuple[float, float, float]
    notices: list[Notice]
    assumed_stock: set[str]


def _priced_assets(request: RebalanceRequest, market: MarketData) -> list[tuple[Asset, float, str]]:
    """Each relevant asset with its price and listing currency; names what is missing."""
    assets = []
    for asset in request.assets:
        quoted = asset.price if asset.price is not None else market.prices.get(asset.ticker)
        listed = asset.currency or market.currencies.get(asset.ticker)
        if quoted is None or listed is None:
            if asset.shares == 0 and asset.target == 0:
                continue  # a price-only row with nothing to hold: irrelevant
            failure = market.failures.get(asset.ticker)
            what = "price" if quoted is None else "currency"
            # One sentence and the reason: the reason already says what to do.
            reason = f": {failure.message}" if failure else ""
            reason_ko = f": {failure.localized('ko')}" if failure else ""
            raise InputError(
                f"No {what} for {asset.ticker} ({asset.rows})"
                + (reason or f": add a {what.capitalize()} column or refresh quotes"),
                f"{asset.ticker}의 {'가격' if quoted is None else '통화'}이(가) 없습니다 "
                f"({ko(asset.rows)})"
                + (reason_ko or ": 보유종목에 현재가·통화 열을 추가하거나 시세를 새로 고치세요"),
            )
        if not (isinstance(quoted, int | float) and math.isfinite(quoted) and quoted > 0):
            raise InputError(
                f"Price of {asset.ticker} must be more than 0, got {quoted!r}",
                f"{asset.ticker}의 가격은 0보다 커야 합니다: {quoted!r}",
            )
        assets.append((asset, float(quoted), str(listed).upper()))
    if not assets:
        raise InputError("No asset to plan for", "계획할 종목이 없습니다")
    return assets


def _weight(value: float) -> float:
    """A weight rounded to ``WEIGHT_DECIMALS``: equal inputs tie the same way."""
    return round(float(value), model.WEIGHT_DECIMALS)


def _formulate(request: RebalanceRequest, market: MarketData, date: dt.date | None) -> _Formulation:
    """Prices, FX, tax, bands and caps of ``request`` as the solver's arrays."""
    config = request.settings
    base = config.base_currency
    notices: list[Notice] = list(market.notices)
    assets = _priced_assets(request, market)

    def rate(currency: str) -> float:
        if currency == base:
            return 1.0
        value = config.fx.get(currency, market.fx.get(currency))
        if value is None or not math.isfinite(value) or value <= 0:
            failure = market.failures.get(currency)
            reason = f": {failure.message}" if failure else ""
            raise InputError(
                f"No FX rate for {currency} in {base}{reason}; add a setting 'FX {currency}' "
                f"(value of one {currency} in {base})",
                f"{currency}→{base} 환율이 없습니다; 설정에 'FX {currency}' 를 추가하세요",
            )
        return float(value)

    pools = sorted(
        {c for _, _, c in assets} | set(request.cash) | {base}, key=lambda c: (c != base, c)
    )
    pool_fx = np.array([rate(c) for c in pools])
    cash_start = np.array([request.cash.get(c, 0.0) for c in pools])
    tickers = [a.ticker for a, _, _ in assets]
    price = np.array([p for _, p, _ in assets])
    currency = [c for _, _, c in assets]
    fx = np.array([rate(c) for c in currency])
    held = np.array([a.shares for a, _, _ in assets])
    target = np.array([_weight(a.target) for a, _, _ in assets])
    price_value = price * fx
    sell_tax, assumed_stock = _sale_tax(assets, market, date)

    held_value = held * price_value
    start_value = cash_start * pool_fx
    value_ref = float(held_value.sum() + start_value.sum())
    if float(held_value.sum() + start_value[start_value > 0].sum()) <= 0:
        raise InputError(
            "The portfolio is empty: no shares held and no cash",
            "포트폴리오가 비어 있습니다: 보유 수량도 현금도 없습니다",
        )
    whole = config.whole_shares
    sell_max = np.zeros(len(assets)) if config.buy_only else (np.floor(held) if whole else held)
    sellable = float(
        (sell_max * price_value * (1 - sell_tax - config.fee_rate)).sum()
        - config.fee_min * int((sell_max > 0).sum())
    )
    raisable = float(start_value.sum()) + sellable
    if start_value.sum() < 0 and (value_ref <= 0 or raisable * (1 - config.fx_spread) < 0):
        extra = " with buy_only TRUE" if config.buy_only else ""
        to_raise = float(-start_value[start_value < 0].sum())
        # What may pay for it: sales net of costs plus the cash the other pools hold.
        available = max(sellable, 0.0) + float(start_value[start_value > 0].sum())
        raise InputError(
            f"Cannot raise {to_raise:,.2f} {base}{extra}: the holdings that may be "
            f"sold and the cash come to {available:,.2f} {base}",
            f"{to_raise:,.2f} {base}을(를) 마련할 수 없습니다: "
            f"매도 가능한 보유분과 현금이 {available:,.2f} {base}입니다",
        )

    band_default = config.band
    bands = [
        _band(_weight(a.target), a.band if a.band is not None else band_default, config.band_type)
        for a, _, _ in assets
    ]
    cash_target = _weight(request.cash_target)
    cash_band = _band(
        cash_target,
        request.cash_band if request.cash_band is not None else band_default,
        config.band_type,
    )
    spendable = float(start_value[start_value > 0].sum()) + (
        0.0 if config.buy_only else float(held_value.sum())
    )
    buy_max = np.floor(spendable / price_value) if whole else spendable / price_value
    min_weight = np.array(
        [np.nan if a.min_weight is None else _weight(a.min_weight) for a, _, _ in assets]
    )
    max_weight = np.array(
        [np.nan if a.max_weight is None else _weight(a.max_weight) for a, _, _ in assets]
    )
    group_members: dict[str, list[int]] = {}
    for i, (a, _, _) in enumerate(assets):
        if a.group is not None:
            group_members.setdefault(a.group, []).append(i)
    groups = tuple(
        (
            cap.label,
            np.array(group_members[key]),
            None if cap.min_weight is None else _weight(cap.min_weight),
            None if cap.max_weight is None else _weight(cap.max_weight),
        )
        for key, cap in sorted(request.groups.items())
        if key in group_members
    )
    for key, cap in sorted(request.groups.items()):
        if key not in group_members:
            notices.append(
                Notice(
                    f"Group {cap.label} (groups row {cap.row}) has no asset in targets",
                    f"그룹 {cap.label} ({cap.row}행)에 속한 종목이 목표비중에 없습니다",
                )
            )
    # Without a cash target, cash has no band to keep: idle cash (what whole shares
    # leave over) must not be traded against like a band breach.
    cash_lo, cash_hi = (cash_band[0], cash_band[1]) if cash_target > 0 else (math.nan, math.nan)
    problem = model.Problem(
        value=value_ref,
        price=price_value,
        held=held,
        target=target,
        pool=np.array([pools.index(c) for c in currency]),
        sell_tax=sell_tax,
        buy_max=buy_max,
        sell_max=sell_max,
        band_lo=np.array([b[0] for b in bands]),
        band_hi=np.array([b[1] for b in bands]),
        min_weight=min_weight,
        max_weight=max_weight,
        cash_start=start_value,
        cash_target=cash_target,
        cash_lo=cash_lo,
        cash_hi=cash_hi,
        groups=groups,
        mode=config.mode,
        whole=whole,
        fee_rate=config.fee_rate,
        fee_min=config.fee_min,
        min_trade=config.min_trade,
        fx_spread=config.fx_spread,
    )
    return _Formulation(
        problem=problem,
        base=base,
        mode=config.mode,
        buy_only=config.buy_only,
        tickers=tickers,
        price=price,
        currency=currency,
        fx=fx,
        pools=pools,
        pool_fx=pool_fx,
        cash_start=cash_start,
        band_width=np.array([b[2] for b in bands]),
        cash_band=cash_band,
        notices=notices,
        assumed_stock=assumed_stock,
    )


def _sale_tax(
    assets: list[tuple[Asset, float, str]], market: MarketData, date: dt.date | None
) -> tuple[np.ndarray, set[str]]:
    """Korea's transaction tax on KRX stock sales; an unknown kind is taxed and said so."""
    tax_rate = tax.krx_sale_tax_rate(date)
    sell_tax = np.zeros(len(assets))
    assumed_stock: set[str] = set()
    for i, (asset, _, _) in enumerate(assets):
        if not tax.is_krx_listing(asset.ticker):
            continue
        is_etf = _kind_is_etf(asset.kind)
        if is_etf is None:
            is_etf = _kind_is_etf(market.kinds.get(asset.ticker))
        if is_etf is None:
            name = asset.name or market.names.get(asset.ticker)
            is_etf = True if tax.name_looks_like_etf(name) else None
        if is_etf is None:
            assumed_stock.add(asset.ticker)
        if not is_etf:
            sell_tax[i] = tax_rate
    return sell_tax, assumed_stock


#: Re-solves with the previous plan's actual costs (see :attr:`.model.Problem.cost_share`).
COST_ROUNDS = 1
#: ... only for template-sized workbooks: a re-solve doubles the work, and on large ones
#: the estimate error (cost share x weight, ~1e-6) is below the proven gap anyway.
COST_ROUNDS_MAX_ASSETS = 60
#: Up to this many assets (the branch-and-bound route's, milp.LARGE_MODEL_ASSETS) the
#: first solve takes the cost share of the plan it starts from (:func:`.milp.cost_estimate`),
#: so a proven plan comes out proven at its own cost share and the re-solve is skipped
#: (:func:`_proven_at_own_share`). Bench "all" workbooks (fees, two pools, bands, caps),
#: seeds 0-5: at 6-10 assets the 17 proven plans kept their orders, now in one solve (the
#: 18th, budget-bound, 2e-6 worse in the program's units), 1.75 -> 1.32 s in total (10
#: assets seed 0: 0.23 -> 0.15 s); at 12-25 assets (with milp.DEEP_NODE_BUDGET) 14 the
#: same, 6 lexicographically better, 4 worse (objective up to 1.8e-6), 18 of 24 proven
#: before and after, 14.3 -> 12.1 s; at 30-50, 10 better, 6 worse, 2 the same, 4 of 18
#: proven before and after, 30.4 -> 29.6 s. caps, pools and band: the same plans.
COST_ESTIMATE_ASSETS = 50
#: Fractional share counts are kept to this many decimals (so Shares x Price = Amount).
SHARE_DECIMALS = 6


def _solve(formulation: _Formulation, time_limit: float) -> Plan:
    """Solve, settle the cash, re-solve at the plan's actual costs, check the result."""
    problem = formulation.problem
    started = time.perf_counter()
    rounds = COST_ROUNDS if problem.n <= COST_ROUNDS_MAX_ASSETS else 0
    estimated = rounds and problem.n <= COST_ESTIMATE_ASSETS
    estimate = milp.cost_estimate(problem, time_limit) if estimated else None
    start = None
    if estimate is not None:
        # The first solve starts from that plan and takes its costs as the cost share.
        start, share = estimate
        problem = dataclasses.replace(problem, cost_share=share)
    solution = milp.solve(problem, guard_seconds=time_limit, start=start)
    plan = _settled_plan(formulation, solution)
    best_score = _exact_score(plan, problem)
    # Drift targets are weights of the value after costs: the program applies them as
    # target x (1 - cost_share); re-solve once at the plan's actual costs. (The MILP's
    # bands and caps take the costs exactly, through its cost variable.)
    for _ in range(rounds):
        share = _cost_share(plan, problem)
        if abs(share - problem.cost_share) <= 1e-12 or solution.method != "milp":
            # Only a proven plan is re-solved. An unproven one spent its work budget: a
            # second budget-bound search would double the time ("all" at 50 assets:
            # 5 s -> 10 s, into the wall-clock guard, where load would decide the plan),
            # for a correction (the cost share, ~1e-4 of drift) its proven gap states.
            break
        if _proven_at_own_share(solution, problem, share):
            break
        problem = dataclasses.replace(problem, cost_share=share)
        # The guard covers the whole plan: the re-solve gets what is left of it.
        again = milp.solve(
            problem, guard_seconds=time_limit - (time.perf_counter() - started), start=solution
        )
        if again.extra.get("guard"):
            continue  # a clock-cut re-solve must not replace a work-bounded plan
        candidate = _settled_plan(formulation, again)
        score = _exact_score(candidate, formulation.problem)
        if model.better(score, best_score):
            plan, solution, best_score = candidate, again, score
    _check(plan, formulation, solution, best_score)
    _stand_still_if_worse(plan, formulation)
    _solver_notice(plan, solution, time_limit, formulation.problem)
    return plan


def _proven_at_own_share(solution: model.Solution, problem: model.Problem, share: float) -> bool:
    """Whether ``solution``, proven optimal at ``problem.cost_share``, is proven optimal at
    ``share`` too (its plan's own cost share), so that no re-solve could find better.

    Only the drift targets move with the cost share, each line's (assets and cash) by
    ``target x |share - cost_share|``, and each line's penalty changes by at most its
    steepest slope times that: every plan's objective falls by at most the sum, so the
    proven bound does too. The plan is proven when its objective at ``share`` lies within
    the MIP gap of that lowered bound. In band mode, where drift weighs
    BAND_DRIFT_WEIGHT, this holds when the first solve's estimate (the costs of the plan
    it started from) was close: "all" at 10 assets, 1e-7 of drift per 1e-4 of cost share.
    """
    gap = solution.extra.get("gap")
    if gap is None or not math.isfinite(solution.objective):
        return False
    weight = model.BAND_DRIFT_WEIGHT if problem.mode == "band" else 1.0
    steepest = float(model.slopes(weight)[-1])
    targets = float(problem.target.sum()) + problem.cash_target
    bound = solution.objective - gap - steepest * targets * abs(share - problem.cost_share)
    at_share = model.objective(
        dataclasses.replace(problem, cost_share=share), solution.buy, solution.sell
    )
    return at_share <= bound + milp.MIP_ABS_GAP + milp.MIP_REL_GAP * abs(bound)


def _cost_share(plan: Plan, problem: model.Problem) -> float:
    return (plan.fees_value + plan.tax_value + plan.fx_cost_value) / problem.value


Score = tuple[float, float, float]


def _exact_score(plan: Plan, problem: model.Problem) -> Score:
    """Cap breach, band breach, then the program's objective, with the plan's actual costs.

    Compared lexicographically (:func:`.model.better`): a kept cap or band is never
    traded for drift. The costs make the weights those of the contract (after costs).
    """
    exact = dataclasses.replace(problem, cost_share=_cost_share(plan, problem))
    cap, band = model.breaches(exact, plan.buy, plan.sell)
    return cap, band, model.objective(exact, plan.buy, plan.sell)


def _paid_for(problem: model.Problem, buy: np.ndarray, sell: np.ndarray, step: float) -> np.ndarray:
    """``buy`` less what the rounding of the sales no longer pays for.

    Rounding a sale down to ``step`` shares gives up a little of its proceeds (4e-6 USD
    was seen), which can leave a purchase rounded the same way short: the largest
    purchase gives back whole steps until the pools pay again, with no tolerance.
    """
    buy = buy.copy()
    for _ in range(len(buy)):
        settled = model.settle_pools(problem, buy, sell)
        end = problem.cash_start.astype(float).copy()
        flow = (sell - buy) * problem.price - settled.fee - settled.tax
        np.add.at(end, problem.pool, flow)
        short = float(-end[end < 0].sum()) - float(end[end > 0].sum()) * (1.0 - problem.fx_spread)
        if short <= 0 or not np.any(buy > 0):
            break
        i = int(np.argmax(buy * problem.price))
        per_share = problem.price[i] * (1.0 + problem.fee_rate)
        steps = math.ceil(short / per_share / step + 1e-9)
        buy[i] = max(round(buy[i] - steps * step, SHARE_DECIMALS), 0.0)
    return buy


def _settled_plan(formulation: _Formulation, solution: model.Solution) -> Plan:
    problem = formulation.problem
    # Solver tolerance can leave a hair of a share on an asset (2.9e-16 with fractional
    # shares): no order, and a "BUY 0.0" row would break Shares > 0 and min_trade.
    hair = 1e-9 * max(problem.value, 1.0)
    buy = np.where(solution.buy * problem.price < hair, 0.0, solution.buy)
    sell = np.where(solution.sell * problem.price < hair, 0.0, solution.sell)
    if not problem.whole:
        # Round down (never spend or sell more than the solver planned) to a share count
        # the order table shows exactly.
        step = 10.0**-SHARE_DECIMALS
        buy = np.floor(buy / step + 1e-6) * step
        sell = np.minimum(np.floor(sell / step + 1e-6) * step, problem.sell_max)
        buy, sell = np.round(buy, SHARE_DECIMALS), np.round(sell, SHARE_DECIMALS)
        buy = _paid_for(problem, buy, sell, step)
    plan = Plan(
        base_currency=formulation.base,
        mode=formulation.mode,
        buy_only=formulation.buy_only,
        whole_shares=problem.whole,
        tickers=formulation.tickers,
        price=formulation.price,
        currency=formulation.currency,
        fx=formulation.fx,
        held=problem.held,
        buy=buy,
        sell=sell,
        target=problem.target,
        band_lo=problem.band_lo,
        band_hi=problem.band_hi,
        band_width=formulation.band_width,
        cash_target=problem.cash_target,
        cash_band=formulation.cash_band,
        pools=formulation.pools,
        pool_fx=formulation.pool_fx,
        cash_start=formulation.cash_start,
        cash_end=formulation.cash_start.copy(),
        fees_value=0.0,
        tax_value=0.0,
        fx_cost_value=0.0,
        conversions=[],
        method=solution.method if plan_has_trades(buy, sell) else "none",
        notices=list(formulation.notices),
    )
    _settle(plan, problem)
    return plan


def _check(plan: Plan, formulation: _Formulation, solution: model.Solution, score: Score) -> None:
    """Never call a plan optimal that a simple plan beats on the contract's own terms.

    The solver's plan is checked, after settling, against the greedy plan and against
    not trading, each scored with its actual costs. A better rival replaces it; if it
    is better by more than the solver's tolerances (gaps, and the rounding of assets
    modelled by value), the model failed and the plan is not called optimal.
    """
    problem = formulation.problem
    tiny = int(np.sum(problem.price / problem.value < milp.TINY_WEIGHT))
    tolerance = milp.MIP_ABS_GAP + milp.MIP_REL_GAP * abs(score[2]) + milp.TINY_WEIGHT * tiny
    for other in (greedy(problem), model.Solution(np.zeros(problem.n), np.zeros(problem.n), "")):
        other.method = plan.method
        try:
            rival = _settled_plan(formulation, other)
        except SolverError:
            continue  # not a plan at all (money to raise left unraised)
        rival_score = _exact_score(rival, problem)
        if not model.better(rival_score, score):
            continue
        plan.buy, plan.sell = rival.buy, rival.sell
        _settle(plan, problem)
        if model.better(rival_score, score, tolerance) and solution.method == "milp":
            solution.method = "milp-time-limit"
            solution.detail = "the solver's plan failed the check against the contract's drift"
            solution.extra.pop("gap", None)
        plan.method = solution.method if plan_has_trades(plan.buy, plan.sell) else "none"
        score = rival_score


def _stand_still_if_worse(plan: Plan, formulation: _Formulation) -> None:
    problem = formulation.problem
    if (
        problem.mode == "full"
        and problem.cash_start.min(initial=0.0) >= 0
        and not problem.groups
        and np.all(np.isnan(problem.min_weight))
        and np.all(np.isnan(problem.max_weight))
        and plan.drift(after=True)[0] > plan.drift(after=False)[0]
    ):
        # Costs can make trading worse than standing still (the program weighs a cost
        # above the drift it buys); then stand still.
        plan.buy, plan.sell = np.zeros_like(plan.buy), np.zeros_like(plan.sell)
        plan.method = "none"
        _settle(plan, problem)


def _solver_notice(
    plan: Plan, solution: model.Solution, time_limit: float, problem: model.Problem
) -> None:
    if solution.method == "greedy":
        plan.notices.append(
            Notice(
                f"The optimiser gave no plan ({solution.detail}): greedy fallback used, "
                "the drift left may not be the least possible",
                f"최적화 계산이 실패하여 ({solution.detail}) 그리디 대체 계산을 사용했습니다; "
                "남은 이탈도가 최소가 아닐 수 있습니다",
            )
        )
        return
    if solution.extra.get("guard"):
        plan.notices.append(
            Notice(
                f"The optimiser hit its {time_limit:g} s wall-clock guard: this plan "
                "depends on the machine's speed and may differ on recalculation",
                f"최적화 계산이 {time_limit:g}초 시간 보호 한도에 도달했습니다: 이 계획은 "
                "컴퓨터 속도에 따라 달라질 수 있습니다",
            )
        )
    if solution.method == "milp-time-limit" and plan.method != "none":
        gap = solution.extra.get("gap", math.nan)
        shown = model.gap_text(gap)
        within = f"; proven within {shown} of the least drift" if math.isfinite(gap) else ""
        within_ko = f"; 최소 이탈도와의 차이 {shown} 이내" if math.isfinite(gap) else ""
        if math.isfinite(gap) and (
            plan.mode != "full" or max(model.breaches(problem, plan.buy, plan.sell)) > 1e-9
        ):
            # The gap is the program's: with a band mode objective or a breach it weighs
            # distance outside bands and caps (x1,000 and more), so it is no drift.
            within = (
                f"; the proven gap ({shown}) is in the optimiser's weighted objective, "
                "where bands and caps weigh far more than drift"
            )
            within_ko = (
                f"; 증명된 차이({shown})는 이탈도가 아니라 밴드·한도를 훨씬 무겁게 "
                "치는 최적화 목적함수 기준입니다"
            )
        plan.notices.append(
            Notice(
                f"The optimiser reached its work budget ({solution.detail}): the best plan "
                f"found is shown{within}",
                f"최적화 계산이 작업 한도에 도달했습니다 ({solution.detail}): 찾은 최선의 "
                f"계획입니다{within_ko}",
            )
        )


def plan_has_trades(buy: np.ndarray, sell: np.ndarray) -> bool:
    """True when any order is placed."""
    return bool(np.any(buy > 0) or np.any(sell > 0))


def order_costs(plan: Plan, problem: model.Problem) -> tuple[np.ndarray, np.ndarray]:
    """Fee and tax of each asset's order, in the base currency."""
    traded = (plan.buy + plan.sell) * plan.price_value
    fee = problem.fee_rate * traded
    if problem.fee_min > 0:
        fee = np.where(traded > 0, np.maximum(fee, problem.fee_min), 0.0)
    return fee, problem.sell_tax * plan.sell * plan.price_value


def _settle(plan: Plan, problem: model.Problem) -> None:
    """Cash per pool after the orders, covering shortfalls by conversion; trim buys if short."""
    step = 1.0 if plan.whole_shares else 10.0**-SHARE_DECIMALS
    tolerance = 1e-9 * max(problem.value, 1.0)
    spread = problem.fx_spread
    rounds = 4 * len(plan.buy) + 8  # each round trims one buy: bounded whatever the plan
    for round_ in range(rounds + 1):
        fee, tax_paid = order_costs(plan, problem)
        flow = (plan.sell - plan.buy) * plan.price_value - fee - tax_paid
        end = plan.cash_start * plan.pool_fx
        np.add.at(end, problem.pool, flow)
        deficit = float(-end[end < 0].sum())
        surplus = float(end[end > 0].sum())
        if surplus * (1.0 - spread) >= deficit - tolerance:
            break
        buys = np.flatnonzero(plan.buy > 0)
        if not len(buys) or round_ == rounds:
            raise SolverError(
                "The plan overdraws cash and no purchase can be trimmed",
                "계획이 현금을 초과하며 줄일 매수 주문이 없습니다",
            )
        if round_ == rounds - 1:
            plan.buy = np.zeros_like(plan.buy)  # last resort: no purchase at all
            continue
        # Short by solver tolerance (or a greedy slip): trim the buy most over target.
        weights = plan.weights_after()[0]
        worst = buys[np.argmax(weights[buys] - plan.target[buys])]
        short = deficit - surplus * (1.0 - spread)
        less = max(step, math.ceil(short / plan.price_value[worst] / step) * step)
        plan.buy[worst] = max(plan.buy[worst] - less, 0.0)
    conversions: list[tuple[str, str, float]] = []
    lost = 0.0
    for q in np.flatnonzero(end < 0):
        need = -end[q] / (1.0 - spread)
        for p in range(len(end)):  # base first, then by currency code
            if need <= 0:
                break
            if end[p] <= 0:
                continue
            take = min(end[p], need)
            end[p] -= take
            end[q] += take * (1.0 - spread)
            need -= take
            lost += take * spread
            conversions.append((plan.pools[p], plan.pools[q], float(take / plan.pool_fx[p])))
        end[q] = max(end[q], 0.0)  # a rounding hair below zero after conversion
    plan.cash_end = np.maximum(end, 0.0) / plan.pool_fx
    plan.fees_value = float(fee.sum())
    plan.tax_value = float(tax_paid.sum())
    plan.fx_cost_value = lost
    plan.conversions = conversions
    plan.method = plan.method if plan_has_trades(plan.buy, plan.sell) else "none"


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def _report(
    plan: Plan, problem: model.Problem, request: RebalanceRequest, assumed_stock: set[str]
) -> list[Notice]:
    """Warnings about the finished plan: breached caps, unreachable bands, unlisted holdings."""
    out: list[Notice] = []
    weights, _ = plan.weights_after()
    targeted = {a.ticker: a for a in request.assets}
    for i, ticker in enumerate(plan.tickers):
        asset = targeted[ticker]
        if asset.held and not asset.targeted and asset.shares > 0:
            out.append(
                Notice(
                    f"{ticker} is held but not in targets: its target is taken as 0%",
                    f"{ticker}은(는) 보유 중이지만 목표비중에 없어 목표 0%로 봅니다",
                )
            )
        hi, lo = problem.max_weight[i], problem.min_weight[i]
        if np.isfinite(hi) and weights[i] > hi + 1e-6:
            out.append(_breach(ticker, "Max", "최대", weights[i], hi))
        if np.isfinite(lo) and weights[i] < lo - 1e-6:
            out.append(_breach(ticker, "Min", "최소", weights[i], lo))
        if plan.mode == "band" and _status(weights[i], plan.band_lo[i], plan.band_hi[i]) != "OK":
            out.append(
                Notice(
                    f"{ticker} stays outside its band {_pct(plan.band_lo[i])}–"
                    f"{_pct(plan.band_hi[i])} at {_pct(weights[i])}: whole shares, cash or "
                    "constraints cannot bring it inside",
                    f"{ticker}은(는) 허용범위 {_pct(plan.band_lo[i])}–{_pct(plan.band_hi[i])} "
                    f"밖({_pct(weights[i])})에 남습니다: 정수 주식, 현금 또는 제약 때문입니다",
                )
            )
        if ticker in assumed_stock and plan.sell[i] > 0:
            out.append(
                Notice(
                    f"{ticker}: instrument type unknown, Korea's transaction tax "
                    f"({_pct(problem.sell_tax[i])}) was assumed on its sale; add a Type column "
                    "(ETF/STOCK) to holdings",
                    f"{ticker}: 종목 유형을 알 수 없어 매도 시 증권거래세 "
                    f"({_pct(problem.sell_tax[i])})를 가정했습니다; "
                    "보유종목에 종류 열(ETF/STOCK)을 추가하세요",
                )
            )
    for label, members, lo_g, hi_g in problem.groups:
        weight = float(weights[members].sum())
        if hi_g is not None and weight > hi_g + 1e-6:
            out.append(_breach(f"group {label}", "Max", "최대", weight, hi_g))
        if lo_g is not None and weight < lo_g - 1e-6:
            out.append(_breach(f"group {label}", "Min", "최소", weight, lo_g))
    return out


def _breach(what: str, bound: str, bound_ko: str, weight: float, limit: float) -> Notice:
    gap = abs(weight - limit) * 100
    side, side_ko = ("above", "초과") if bound == "Max" else ("below", "미달")
    what_ko = what.replace("group ", "그룹 ")
    return Notice(
        f"{what} is {_pct(weight)} after trading, {side} its {bound} {_pct(limit)} by "
        f"{gap:.2f} percentage points",
        f"{what_ko}: 거래 후 {_pct(weight)}, {bound_ko} {_pct(limit)}을(를) {gap:.2f}%p {side_ko}",
    )
