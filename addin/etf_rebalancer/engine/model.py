"""The rebalance reduced to arrays, its objective and the contract's drift: shared by every solver.

:class:`Problem` is what :mod:`.plan` hands to the solvers (:mod:`.knapsack`,
:mod:`.milp`, :mod:`.greedy`); :class:`Solution` is what they hand back.
:func:`objective` scores a plan by the program's objective (the solvers' common
yardstick) and :func:`contract_drift` by the contract's own definition (weights
after costs), which is what a plan is checked against before it is called optimal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "BAND_PENALTY",
    "COST_WEIGHT",
    "MIP_ABS_GAP",
    "MIP_REL_GAP",
    "ORDER_COST",
    "Problem",
    "Solution",
    "better",
    "breaches",
    "contract_drift",
    "excesses",
    "objective",
    "piecewise",
    "settle_pools",
    "uses_order_binaries",
]

#: Tie-breaker: pieces of the deviation, as fractions of max(target, 1%), and slope step.
PIECE_WIDTHS = (0.05, 0.05, 0.10, 0.20)
PIECE_SLOPE_STEP = 1e-3
#: Cost of one order, in weight units (1e-6 = 0.0001 percentage points of drift); counted
#: when order binaries exist (``fee_min`` or ``min_trade`` set), see :func:`uses_order_binaries`.
ORDER_COST = 1e-6
#: Small cost per unit of turnover in full mode: rules out pointless orders among equally
#: good plans. Above HiGHS's absolute MIP gap (1e-6) so the solver cannot ignore it.
WASH_COST = 1e-5
#: Soft constraints (Min/Max, group caps) per unit of breach.
CAP_PENALTY = 1e3
#: Band mode: distance outside a band, turnover and the drift tie-breaker.
BAND_PENALTY = 1e2
TURNOVER_COST = 2e-3
BAND_DRIFT_WEIGHT = 1e-3
#: Money lost to fees, tax and FX spread, relative to the heaviest drift slope.
COST_WEIGHT = 2.0
#: "Optimal" means within MIP_REL_GAP of the objective or MIP_ABS_GAP (weight units: 1e-8
#: is a millionth of a percentage point) of the proven bound, for every solver alike.
MIP_REL_GAP = 1e-6
MIP_ABS_GAP = 1e-8
#: Breach (weights) below which a band or cap counts as kept.
BREACH_TOL = 1e-7
#: Weights are rounded to this many decimals when a problem is built, so that equal
#: inputs written differently (``19%`` and ``0.19``: ``1.1900000000000002``) tie the same way.
WEIGHT_DECIMALS = 12


@dataclass(frozen=True)
class Problem:
    """A rebalance reduced to arrays (assets sorted by ticker), money in the base currency.

    ``min_weight``/``max_weight`` use NaN for "no bound"; ``groups`` lists
    ``(label, member indices, min weight or None, max weight or None)``; ``pool``
    maps each asset to its currency pool (index into ``cash_start``).
    """

    value: float
    price: np.ndarray
    held: np.ndarray
    target: np.ndarray
    pool: np.ndarray
    sell_tax: np.ndarray
    buy_max: np.ndarray
    sell_max: np.ndarray
    band_lo: np.ndarray
    band_hi: np.ndarray
    min_weight: np.ndarray
    max_weight: np.ndarray
    cash_start: np.ndarray
    cash_target: float
    cash_lo: float
    cash_hi: float
    groups: tuple[tuple[str, np.ndarray, float | None, float | None], ...] = ()
    mode: str = "full"
    whole: bool = True
    fee_rate: float = 0.0
    fee_min: float = 0.0
    min_trade: float = 0.0
    fx_spread: float = 0.0
    #: Share of ``value`` expected to go to fees, tax and FX spread. Every weight bound and
    #: target is applied as ``weight x (1 - cost_share)`` of ``value``, which is that weight
    #: of the portfolio *after* costs (the contract's weights) when the estimate is right;
    #: :mod:`.plan` re-solves with the plan's actual costs until it is.
    cost_share: float = 0.0

    @property
    def n(self) -> int:
        return len(self.price)

    @property
    def shrink(self) -> float:
        """Value after costs over ``value``: the factor on every weight target and bound."""
        return 1.0 - self.cost_share


@dataclass
class Solution:
    """Shares to buy and sell per asset, and how they were found.

    ``method`` is ``"milp"`` (proved optimal), ``"milp-time-limit"`` (best found
    when time ran out) or ``"greedy"`` (fallback); ``detail`` says why.
    """

    buy: np.ndarray
    sell: np.ndarray
    method: str
    detail: str = ""
    objective: float = math.nan
    seconds: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


def hull_chord(
    a: np.ndarray, tau: np.ndarray, held: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The convex-hull cut of ``|a x - t|`` over whole shares ``x`` (``tau = t / a``): the
    share count just below target (counted from ``held``), the deviation there and the
    chord's slope to the next one. Every whole-share ``x`` has a deviation of at least
    ``delta + chord (x - floor_shares)``, so the cut is valid for every plan; it makes an
    LP relaxation a fractional knapsack."""
    floor_shares = held + np.floor(tau - held + 1e-12)
    delta = np.clip((tau - floor_shares) * a, 0.0, a)
    return floor_shares, delta, a - 2.0 * delta


def gap_text(gap: float) -> str:
    """A proven gap (weights) as the summary writes it: six decimals, or two significant
    digits below 1e-6, which six decimals would show as a proof of 0."""
    return f"{gap:.6f}" if gap >= 1e-6 or gap == 0 else f"{gap:.1e}"


def widths(target: float) -> np.ndarray:
    scale = max(target, 0.01)
    return np.array([w * scale for w in PIECE_WIDTHS] + [np.inf])


def slopes(weight: float, step: float = PIECE_SLOPE_STEP) -> np.ndarray:
    """Each piece's slope: ``weight``, rising by ``step`` per piece (0: the drift alone)."""
    return weight * (1.0 + step * np.arange(len(PIECE_WIDTHS) + 1))


def uses_order_binaries(problem: Problem) -> bool:
    """Whether the program has per-order binaries (needed for ``fee_min``/``min_trade``)."""
    return problem.fee_min > 0 or problem.min_trade > 0


def objective(problem: Problem, buy: np.ndarray, sell: np.ndarray, tie_break: bool = True) -> float:
    """The program's objective for given trades, computed directly (used to check optimality).

    ``tie_break=False``: without the tie-breakers (the rise of the drift pieces' slopes,
    see :func:`slopes`, and in full mode the price of turnover), so the drift counts as
    the contract's: the program's first objective, before any spread or wash.

    Conversions between pools are settled at least cost, as the program would.
    Returns ``inf`` for trades the program forbids (overdrawn cash, sales
    beyond holdings, orders below ``min_trade``).
    """
    band_mode = problem.mode == "band"
    drift_weight = BAND_DRIFT_WEIGHT if band_mode else 1.0
    cost_weight = COST_WEIGHT * (BAND_PENALTY if band_mode else 1.0)
    value = problem.value
    a = problem.price / value
    if np.any(sell > problem.sell_max + 1e-9) or np.any(buy > problem.buy_max + 1e-9):
        return math.inf
    if np.any((buy > 0) & (sell > 0)):
        return math.inf
    buy_value, sell_value = a * buy, a * sell
    orders = (buy > 0) | (sell > 0)
    if problem.min_trade > 0 and np.any(
        orders & (buy_value + sell_value < problem.min_trade / value - 1e-12)
    ):
        return math.inf
    fee = np.where(orders, np.maximum(problem.fee_rate * (buy_value + sell_value), 0.0), 0.0)
    if problem.fee_min > 0:
        fee = np.where(orders, np.maximum(fee, problem.fee_min / value), 0.0)
    tax = problem.sell_tax * sell_value
    pools = problem.cash_start / value
    delta = np.zeros(len(pools))
    np.add.at(delta, problem.pool, sell_value - buy_value - fee - tax)
    end = pools + delta
    deficit = float(-end[end < 0].sum())
    surplus = float(end[end > 0].sum())
    lost = deficit * problem.fx_spread / (1.0 - problem.fx_spread) if deficit else 0.0
    if surplus - deficit - lost < -1e-9:
        return math.inf
    cash_after = float(end.sum()) - lost
    weights = problem.held * a + buy_value - sell_value
    k = problem.shrink
    total = 0.0
    targets = np.append(problem.target, problem.cash_target)
    step = PIECE_SLOPE_STEP if tie_break else 0.0
    drifts = piecewise(
        np.append(weights, cash_after) - targets * k, np.maximum(targets, 0.01), step
    )
    # Added one by one, left to right: the sum the per-asset loop made, to the last bit.
    for value in (drifts * drift_weight).tolist():
        total += value
    if uses_order_binaries(problem):
        total += ORDER_COST * int(orders.sum())
    turnover = TURNOVER_COST if band_mode else (WASH_COST if tie_break else 0.0)
    total += turnover * float((buy_value + sell_value).sum())
    total += cost_weight * (float(fee.sum()) + float(tax.sum()) + lost)
    total += WASH_COST * (deficit / (1.0 - problem.fx_spread) if deficit else 0.0)

    # Bands and caps are weights of the value after these very costs (as the MILP has them).
    k = 1.0 - (float(fee.sum()) + float(tax.sum()) + lost)
    caps = (
        CAP_PENALTY * excesses(weights, problem.min_weight * k, problem.max_weight * k)
    ).tolist()
    if band_mode:
        bands = BAND_PENALTY * excesses(weights, problem.band_lo * k, problem.band_hi * k)
        for cap_i, band_i in zip(caps, bands.tolist(), strict=True):  # in the loop's order
            total += cap_i
            total += band_i
    else:
        for cap_i in caps:
            total += cap_i
    if band_mode:
        total += BAND_PENALTY * _excess(cash_after, problem.cash_lo * k, problem.cash_hi * k)
    for _label, members, lo, hi in problem.groups:
        total += CAP_PENALTY * _excess(
            float(weights[members].sum()),
            math.nan if lo is None else lo * k,
            math.nan if hi is None else hi * k,
        )
    return total


def excesses(w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distance of each weight outside ``[lo, hi]`` (NaN or infinite bounds: none), as
    :func:`_excess` per element."""
    above = np.where(np.isfinite(hi), np.maximum(0.0, w - np.nan_to_num(hi)), 0.0)
    below = np.where(np.isfinite(lo), np.maximum(0.0, np.nan_to_num(lo) - w), 0.0)
    return above + below


def _excess(w: float, lo: float, hi: float) -> float:
    out = 0.0
    if math.isfinite(hi):
        out += max(0.0, w - hi)
    if math.isfinite(lo):
        out += max(0.0, lo - w)
    return out


def piecewise(
    deviation: np.ndarray, scale: np.ndarray, step: float = PIECE_SLOPE_STEP
) -> np.ndarray:
    """Vectorised drift penalty of deviations (``scale = max(target, 1%)``), slope 1 at 0;
    ``step`` as in :func:`slopes`."""
    left = np.abs(deviation)
    total = np.zeros(np.broadcast(deviation, scale).shape)
    steps = slopes(1.0, step)
    for width, slope in zip(PIECE_WIDTHS, steps[:-1], strict=False):
        take = np.minimum(left, width * scale)
        total = total + take * slope
        left = left - take
    return total + left * steps[-1]


@dataclass(frozen=True)
class Settled:
    """Money after a plan's orders (base currency): pools after conversions, and costs."""

    feasible: bool
    cash_end: np.ndarray
    fee: np.ndarray
    tax: np.ndarray
    fx_lost: float

    @property
    def costs(self) -> float:
        return float(self.fee.sum() + self.tax.sum()) + self.fx_lost


def settle_pools(problem: Problem, buy: np.ndarray, sell: np.ndarray) -> Settled:
    """Fees, tax and the conversions that cover each pool's shortfall at ``fx_spread``.

    ``feasible`` is False when the pools together cannot pay (cash would go below zero).
    """
    traded = (buy + sell) * problem.price
    orders = traded > 0
    fee = problem.fee_rate * traded
    if problem.fee_min > 0:
        fee = np.where(orders, np.maximum(fee, problem.fee_min), 0.0)
    tax = problem.sell_tax * sell * problem.price
    end = problem.cash_start.astype(float).copy()
    np.add.at(end, problem.pool, (sell - buy) * problem.price - fee - tax)
    spread = problem.fx_spread
    deficit = float(-end[end < 0].sum())
    surplus = float(end[end > 0].sum())
    tolerance = 1e-9 * max(problem.value, 1.0)
    feasible = surplus * (1.0 - spread) >= deficit - tolerance
    lost = deficit * spread / (1.0 - spread) if deficit else 0.0
    cash = end.copy()
    if deficit:
        # Conversions draw on surplus pools in order; only the total matters for weights.
        need = deficit / (1.0 - spread)
        for p in range(len(cash)):
            take = min(max(cash[p], 0.0), need)
            cash[p] -= take
            need -= take
        cash = np.maximum(cash, 0.0)
    return Settled(bool(feasible), cash, fee, tax, lost)


def contract_drift(problem: Problem, buy: np.ndarray, sell: np.ndarray) -> float:
    """The contract's drift of a plan: sum of |weight - target| over assets and cash.

    Weights are fractions of the value after trading (holdings at the problem's
    prices plus cash left once fees, tax and FX spread are paid); ``inf`` when the
    plan overdraws cash or sells more than is held. Independent of the program's
    objective, so a solver's "optimal" can be checked against it.
    """
    if np.any(sell > problem.sell_max + 1e-9) or np.any(buy > problem.buy_max + 1e-9):
        return math.inf
    settled = settle_pools(problem, buy, sell)
    if not settled.feasible:
        return math.inf
    holdings = (problem.held + buy - sell) * problem.price
    cash = float(settled.cash_end.sum())
    total = float(holdings.sum()) + cash
    if total <= 0:
        return math.inf
    gaps = np.abs(holdings / total - problem.target).sum()
    return float(gaps + abs(cash / total - problem.cash_target))


def breaches(problem: Problem, buy: np.ndarray, sell: np.ndarray) -> tuple[float, float]:
    """Total weight outside the caps (group and per-asset Min/Max) and, in band mode, the bands.

    Weights as the program has them: of ``value``, bounds times the share of it left
    after the plan's own costs (the contract's weights after costs).
    """
    a = problem.price / problem.value
    settled = settle_pools(problem, buy, sell)
    k = 1.0 - settled.costs / problem.value
    weights = (problem.held + buy - sell) * a
    # Summed left to right as Python floats: the same number _excess per asset gave.
    cap = sum(excesses(weights, problem.min_weight * k, problem.max_weight * k).tolist())
    for _label, members, lo, hi in problem.groups:
        cap += _excess(
            float(weights[members].sum()),
            math.nan if lo is None else lo * k,
            math.nan if hi is None else hi * k,
        )
    band = 0.0
    if problem.mode == "band":
        band = sum(excesses(weights, problem.band_lo * k, problem.band_hi * k).tolist())
        band += _excess(
            float(settled.cash_end.sum()) / problem.value, problem.cash_lo * k, problem.cash_hi * k
        )
    return float(cap), float(band)


def better(
    a: tuple[float, float, float], b: tuple[float, float, float], tolerance: float = 1e-15
) -> bool:
    """Whether score ``a`` (cap breach, band breach, objective) beats ``b``: a breach lower
    by more than ``BREACH_TOL`` first, caps before bands, then an objective lower by more
    than ``tolerance``. A kept cap or band is never traded for drift."""
    for x, y in ((a[0], b[0]), (a[1], b[1])):
        if x < y - BREACH_TOL:
            return True
        if x > y + BREACH_TOL:
            return False
    return a[2] < b[2] - tolerance
