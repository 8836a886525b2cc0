"""The rebalancing optimisation: a sparse mixed-integer program for HiGHS, and a greedy fallback.

Everything is measured in *weights*: money in the base currency divided by the
reference value ``V`` of the portfolio after trading (holdings plus cash,
less money to raise; fees are small and left out of ``V`` so the program stays
linear). For asset ``i`` with base-currency price ``P_i`` let ``a_i = P_i / V``.

Variables (all bounded below by 0)
    ``b_i``, ``s_i``  shares bought / sold (integer with whole shares; ``s_i <= held``;
                      ``s_i = 0`` when buy-only)
    ``yb_i``, ``ys_i`` binaries "an order is placed" (``b_i <= U_i yb_i``,
                      ``s_i <= held_i ys_i``, ``yb_i + ys_i <= 1``), only when ``fee_min``
                      or ``min_trade`` is set: they carry those and the per-order cost.
                      Without them the per-order cost is left out: 2n big-M binaries make
                      HiGHS stall (past its time limit) at 500 assets, and the wash cost
                      below already rules out pointless orders
    ``f_i``           fee of asset ``i`` when ``fee_min > 0``
                      (``f_i >= fee_rate a_i (b_i + s_i)``, ``f_i >= fee_min (yb_i + ys_i)``)
    ``e+_ik, e-_ik``  pieces of the deviation ``w_i - t_i`` (assets and cash), K+1 per
                      side: piece ``k`` is ``width_k`` wide and costs ``1 + k eps``, a
                      convex piecewise-linear penalty whose total is the drift and whose
                      slope rises with the deviation, so leftover cash goes to the most
                      underweight assets first (in proportion to their targets)
    ``c_p``           cash left in currency pool ``p`` (``>= 0``: never overdrawn; money
                      to raise enters as a negative starting balance)
    ``x_pq``          money converted from pool ``p`` to pool ``q``; ``fx_spread`` of it is lost
    ``u_j, l_j``      slacks of soft constraints: bands (band mode), per-asset Min/Max and
                      group caps. They keep every request feasible (buy-only while an
                      asset is over its cap) with a penalty that dwarfs everything else;
                      the plan reports what is left of them as breaches.

Objective (minimised)
    ``full`` mode: drift (with the tie-breaking slopes) + ``COST_WEIGHT`` x (fees + tax +
    FX spread) + ``ORDER_COST`` x orders + soft-constraint penalties.
    ``band`` mode: ``BAND_PENALTY`` x distance outside the bands + ``TURNOVER_COST`` x
    traded value + ``BAND_DRIFT_WEIGHT`` x drift + costs: an asset outside its band is
    traded to the band edge, not to target (turnover costs more than the drift it
    would remove), which is the cost-optimal policy; the small drift term decides
    where cash goes.

Costs weigh more than the drift they could buy (``COST_WEIGHT`` > the steepest
drift slope), so the program never "spends" surplus cash on fees or FX round trips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

__all__ = [
    "BAND_PENALTY",
    "COST_WEIGHT",
    "ORDER_COST",
    "Problem",
    "Solution",
    "greedy",
    "objective",
    "solve",
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
#: The objective is handed to HiGHS multiplied by this: in weight units the small terms
#: (turnover cost x price/value, ~1e-8) sit below HiGHS's dual tolerance (1e-7) and the
#: search wanders among plans it cannot tell apart; scaled, it proves optimality ~2x sooner.
OBJECTIVE_SCALE = 1e4
#: HiGHS relative MIP gap: well below one order's cost on a typical objective.
MIP_REL_GAP = 1e-6
#: Share of the time limit the exact one-pool search (:mod:`.knapsack`) may use first.
KNAPSACK_SHARE = 0.75
#: Add the convex-hull cuts on each asset's deviation (whole shares).
HULL_CUTS = True


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

    @property
    def n(self) -> int:
        return len(self.price)


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


class _Builder:
    """Collects variable blocks and sparse constraint rows in COO form."""

    def __init__(self) -> None:
        self.lb: list[np.ndarray] = []
        self.ub: list[np.ndarray] = []
        self.cost: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.size = 0
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.row_lo: list[float] = []
        self.row_hi: list[float] = []

    def block(self, count: int, lb: object, ub: object, cost: object, integer: bool) -> np.ndarray:
        start = self.size
        self.size += count
        self.lb.append(np.broadcast_to(np.asarray(lb, dtype=float), (count,)).copy())
        self.ub.append(np.broadcast_to(np.asarray(ub, dtype=float), (count,)).copy())
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=float), (count,)).copy())
        self.integer.append(np.full(count, 1 if integer else 0, dtype=np.uint8))
        return np.arange(start, start + count)

    def rows_add(
        self, cols: np.ndarray, vals: object, row_of: object, lo: object, hi: object
    ) -> None:
        """Add len(lo) rows; entry k goes to new row row_of[k], column cols[k]."""
        base = len(self.row_lo)
        self.rows.append(np.asarray(row_of, dtype=np.int64) + base)
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(vals, dtype=float))
        self.row_lo.extend(np.asarray(lo, dtype=float).tolist())
        self.row_hi.extend(np.asarray(hi, dtype=float).tolist())

    def matrix(self) -> sparse.csr_array:
        return sparse.csr_array(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(len(self.row_lo), self.size),
        )


def _widths(target: float) -> np.ndarray:
    scale = max(target, 0.01)
    return np.array([w * scale for w in PIECE_WIDTHS] + [np.inf])


def _slopes(weight: float) -> np.ndarray:
    return weight * (1.0 + PIECE_SLOPE_STEP * np.arange(len(PIECE_WIDTHS) + 1))


def solve(problem: Problem, time_limit: float = 0.8) -> Solution:
    """Solve ``problem`` exactly; fall back to :func:`greedy` when it cannot.

    One-pool problems without side constraints (:func:`.knapsack.applies`) go to the
    exact search of :mod:`.knapsack` first (``KNAPSACK_SHARE`` of the time limit);
    everything else, and whatever that search cannot finish, to HiGHS.

    Parameters
    ----------
    problem
        The arrays of a rebalance.
    time_limit
        Seconds HiGHS may take. When it runs out with a feasible plan that plan is
        used (``method="milp-time-limit"``); without one, the greedy plan is.
    """
    import time

    started = time.perf_counter()
    from . import knapsack

    if not knapsack.applies(problem):
        return _solve_milp(problem, time_limit, started)
    # The common case (one cash pool, no side constraints): an exact search that is
    # much faster than HiGHS; past its budget it hands over to the MILP with the time
    # left, and the better plan of the two (by this program's objective) is kept.
    found = knapsack.solve(problem, time_limit=KNAPSACK_SHARE * time_limit)
    if found is not None and found.method == "milp":
        return found
    left = max(time_limit - (time.perf_counter() - started), 0.01)
    solution = _solve_milp(problem, left, started)
    if found is None or solution.method == "milp":
        return solution
    if objective(problem, found.buy, found.sell) < objective(problem, solution.buy, solution.sell):
        gap = min(found.extra["gap"], solution.extra.get("gap", math.inf))
        solution.buy, solution.sell = found.buy, found.sell
        solution.method = "milp-time-limit"
        solution.detail = "time limit; the knapsack search's plan beat the MILP's"
        solution.objective = found.objective
        solution.extra["gap"] = gap
    return solution


def _solve_milp(problem: Problem, time_limit: float, started: float) -> Solution:
    import time

    try:
        model, layout = _build(problem)
        result = milp(
            c=np.asarray(model["c"]) * OBJECTIVE_SCALE,
            integrality=model["integrality"],
            bounds=Bounds(model["lb"], model["ub"]),
            constraints=LinearConstraint(model["A"], model["lo"], model["hi"]),
            options={
                "time_limit": max(float(time_limit), 0.01),
                "mip_rel_gap": MIP_REL_GAP,
                "presolve": True,
            },
        )
    except (ValueError, MemoryError) as error:  # a model HiGHS refuses: degrade, don't fail
        fallback = greedy(problem)
        fallback.detail = f"solver error: {error}"
        fallback.seconds = time.perf_counter() - started
        return fallback
    seconds = time.perf_counter() - started
    if result.x is not None and result.status in (0, 1):
        x = np.asarray(result.x)
        buy, sell = x[layout["b"]], x[layout["s"]]
        if problem.whole:
            buy, sell = np.round(buy), np.round(sell)
        # Buying and selling one asset is never better than the net trade (same weights,
        # fewer costs): net them, in case solver tolerances left both.
        net = np.clip(buy, 0.0, problem.buy_max) - np.clip(sell, 0.0, problem.sell_max)
        buy, sell = np.maximum(net, 0.0), np.maximum(-net, 0.0)
        method = "milp" if result.status == 0 else "milp-time-limit"
        value = float(result.fun) / OBJECTIVE_SCALE
        solution = Solution(buy, sell, method, str(result.message), value)
        if method == "milp-time-limit":
            # An unproven incumbent can be poor on big problems: keep the greedy plan
            # instead when the program's own objective says it is better.
            fallback = greedy(problem)
            if objective(problem, fallback.buy, fallback.sell) < objective(problem, buy, sell):
                solution.buy, solution.sell = fallback.buy, fallback.sell
                solution.detail = "time limit; the greedy plan beat the best found"
        solution.seconds = seconds
        bound = getattr(result, "mip_dual_bound", None)
        if bound is not None and math.isfinite(bound):
            # Proven distance to the optimum, in drift units (weight fractions).
            solution.extra["gap"] = max(value - float(bound) / OBJECTIVE_SCALE, 0.0)
        return solution
    fallback = greedy(problem)
    fallback.detail = str(result.message)
    fallback.seconds = time.perf_counter() - started
    return fallback


def _order_binaries(
    bld: _Builder,
    problem: Problem,
    a: np.ndarray,
    b: np.ndarray,
    s: np.ndarray,
    fee_rate: float,
    fee_min: float,
    min_trade: float,
    cost_weight: float,
) -> np.ndarray:
    """Binaries per order: order cost, ``min_trade`` and ``fee_min``; returns fee columns."""
    n = problem.n
    idx = np.arange(n)
    yb = bld.block(n, 0.0, (problem.buy_max > 0).astype(float), ORDER_COST, True)
    ys = bld.block(n, 0.0, (problem.sell_max > 0).astype(float), ORDER_COST, True)
    # b <= U yb ; s <= H ys ; yb + ys <= 1
    bld.rows_add(
        np.concatenate([b, yb]), np.concatenate([np.ones(n), -problem.buy_max]),
        np.concatenate([idx, idx]), np.full(n, -np.inf), np.zeros(n),
    )  # fmt: skip
    bld.rows_add(
        np.concatenate([s, ys]), np.concatenate([np.ones(n), -problem.sell_max]),
        np.concatenate([idx, idx]), np.full(n, -np.inf), np.zeros(n),
    )  # fmt: skip
    bld.rows_add(
        np.concatenate([yb, ys]), np.ones(2 * n), np.concatenate([idx, idx]),
        np.full(n, -np.inf), np.ones(n),
    )  # fmt: skip
    if min_trade > 0:
        bld.rows_add(
            np.concatenate([b, yb]), np.concatenate([a, np.full(n, -min_trade)]),
            np.concatenate([idx, idx]), np.zeros(n), np.full(n, np.inf),
        )  # fmt: skip
        bld.rows_add(
            np.concatenate([s, ys]), np.concatenate([a, np.full(n, -min_trade)]),
            np.concatenate([idx, idx]), np.zeros(n), np.full(n, np.inf),
        )  # fmt: skip
    fee = np.empty(0, dtype=np.int64)
    if fee_min > 0:
        fee = bld.block(n, 0.0, np.inf, cost_weight, False)
        bld.rows_add(
            np.concatenate([fee, b, s]),
            np.concatenate([np.ones(n), -fee_rate * a, -fee_rate * a]),
            np.concatenate([idx, idx, idx]), np.zeros(n), np.full(n, np.inf),
        )  # fmt: skip
        bld.rows_add(
            np.concatenate([fee, yb, ys]),
            np.concatenate([np.ones(n), np.full(n, -fee_min), np.full(n, -fee_min)]),
            np.concatenate([idx, idx, idx]), np.zeros(n), np.full(n, np.inf),
        )  # fmt: skip

    return fee


def uses_order_binaries(problem: Problem) -> bool:
    """Whether the program has per-order binaries (needed for ``fee_min``/``min_trade``)."""
    return problem.fee_min > 0 or problem.min_trade > 0


def _build(problem: Problem) -> tuple[dict[str, object], dict[str, np.ndarray]]:
    n = problem.n
    pools = len(problem.cash_start)
    a = problem.price / problem.value
    band_mode = problem.mode == "band"
    drift_weight = BAND_DRIFT_WEIGHT if band_mode else 1.0
    cost_weight = COST_WEIGHT * (BAND_PENALTY if band_mode else 1.0)
    turnover = TURNOVER_COST if band_mode else WASH_COST
    fee_rate, spread = problem.fee_rate, problem.fx_spread
    fee_min, min_trade = problem.fee_min / problem.value, problem.min_trade / problem.value
    use_fee_var = fee_min > 0

    bld = _Builder()
    trade_cost_b = a * turnover + (0.0 if use_fee_var else cost_weight * fee_rate * a)
    trade_cost_s = a * turnover + cost_weight * a * problem.sell_tax
    if not use_fee_var:
        trade_cost_s = trade_cost_s + cost_weight * fee_rate * a
    b = bld.block(n, 0.0, problem.buy_max, trade_cost_b, problem.whole)
    s = bld.block(n, 0.0, problem.sell_max, trade_cost_s, problem.whole)
    idx = np.arange(n)
    fee = np.empty(0, dtype=np.int64)
    if uses_order_binaries(problem):
        fee = _order_binaries(bld, problem, a, b, s, fee_rate, fee_min, min_trade, cost_weight)
    # Deviation pieces: assets 0..n-1, cash n.
    lines = n + 1
    pieces = len(PIECE_WIDTHS) + 1
    targets = np.append(problem.target, problem.cash_target)
    widths = np.concatenate([_widths(t) for t in targets])
    slopes = np.tile(_slopes(drift_weight), lines)
    e_pos = bld.block(lines * pieces, 0.0, widths, slopes, False)
    e_neg = bld.block(lines * pieces, 0.0, widths, slopes, False)
    cash = bld.block(pools, 0.0, np.inf, 0.0, False)
    pairs = [(p, q) for p in range(pools) for q in range(pools) if p != q]
    flows = bld.block(len(pairs), 0.0, np.inf, cost_weight * spread + WASH_COST, False)

    line_of_piece = np.repeat(np.arange(lines), pieces)
    # Asset deviation: a b - a s - sum e+ + sum e- = t - held a
    asset_pieces = line_of_piece < n
    bld.rows_add(
        np.concatenate([b, s, e_pos[asset_pieces], e_neg[asset_pieces]]),
        np.concatenate([a, -a, -np.ones(n * pieces), np.ones(n * pieces)]),
        np.concatenate([idx, idx, line_of_piece[asset_pieces], line_of_piece[asset_pieces]]),
        problem.target - problem.held * a, problem.target - problem.held * a,
    )  # fmt: skip
    if problem.whole and HULL_CUTS:
        # Convex-hull cut of |x a - t| over whole shares x: between the two share counts
        # around target the deviation is at least the chord through them. Valid for every
        # whole-share plan (so the optimum is unchanged) and it makes the LP relaxation a
        # fractional knapsack, which is what lets branch-and-bound finish quickly.
        tau = problem.target / a
        floor_shares = problem.held + np.floor(tau - problem.held + 1e-12)
        delta = np.clip((tau - floor_shares) * a, 0.0, a)
        chord = a - 2.0 * delta
        bld.rows_add(
            np.concatenate([e_pos[asset_pieces], e_neg[asset_pieces], b, s]),
            np.concatenate([np.ones(2 * n * pieces), -chord, chord]),
            np.concatenate([line_of_piece[asset_pieces]] * 2 + [idx, idx]),
            delta + chord * (problem.held - floor_shares), np.full(n, np.inf),
        )  # fmt: skip
    # Cash deviation: sum c - sum e+ + sum e- = t_cash
    bld.rows_add(
        np.concatenate([cash, e_pos[~asset_pieces], e_neg[~asset_pieces]]),
        np.concatenate([np.ones(pools), -np.ones(pieces), np.ones(pieces)]),
        np.zeros(pools + 2 * pieces, dtype=np.int64), [problem.cash_target], [problem.cash_target],
    )  # fmt: skip
    # Pools: c_p - sum_{i in p} (a s (1 - fee - tax) - a b (1 + fee)) [+ f_i]
    #        + sum_q x_pq - (1 - spread) sum_q x_qp = start_p
    sell_net = a * (1.0 - problem.sell_tax - (0.0 if use_fee_var else fee_rate))
    buy_gross = a * (1.0 + (0.0 if use_fee_var else fee_rate))
    cols = [cash, s, b]
    vals = [np.ones(pools), -sell_net, buy_gross]
    rows = [np.arange(pools), problem.pool, problem.pool]
    if use_fee_var:
        cols.append(fee)
        vals.append(np.ones(n))
        rows.append(problem.pool)
    if pairs:
        src = np.array([p for p, _ in pairs])
        dst = np.array([q for _, q in pairs])
        cols += [flows, flows]
        vals += [np.ones(len(pairs)), np.full(len(pairs), -(1.0 - spread))]
        rows += [src, dst]
    start = problem.cash_start / problem.value
    bld.rows_add(np.concatenate(cols), np.concatenate(vals), np.concatenate(rows), start, start)

    # Soft constraints: rows lo <= a b - a s (+/- slack) <= hi on the weight change.
    def soft_bounds(lo: np.ndarray, hi: np.ndarray, penalty: float) -> None:
        base = problem.held * a
        for bound, sign in ((hi, -1.0), (lo, 1.0)):
            have = np.flatnonzero(np.isfinite(bound))
            if not len(have):
                continue
            k = len(have)
            slack = bld.block(k, 0.0, np.inf, penalty, False)
            r = np.arange(k)
            rhs = bound[have] - base[have]
            bld.rows_add(
                np.concatenate([b[have], s[have], slack]),
                np.concatenate([a[have], -a[have], np.full(k, sign)]),
                np.concatenate([r, r, r]),
                rhs if sign > 0 else np.full(k, -np.inf),
                rhs if sign < 0 else np.full(k, np.inf),
            )

    soft_bounds(problem.min_weight, problem.max_weight, CAP_PENALTY)
    if band_mode:
        soft_bounds(problem.band_lo, problem.band_hi, BAND_PENALTY)
        for bound, sign in ((problem.cash_hi, -1.0), (problem.cash_lo, 1.0)):
            slack = bld.block(1, 0.0, np.inf, BAND_PENALTY, False)
            bld.rows_add(
                np.concatenate([cash, slack]), np.append(np.ones(pools), sign),
                np.zeros(pools + 1, dtype=np.int64),
                [bound if sign > 0 else -np.inf], [bound if sign < 0 else np.inf],
            )  # fmt: skip
    for _label, members, lo, hi in problem.groups:
        m = len(members)
        base_weight = float(np.sum(problem.held[members] * a[members]))
        for group_bound, sign in ((hi, -1.0), (lo, 1.0)):
            if group_bound is None:
                continue
            slack = bld.block(1, 0.0, np.inf, CAP_PENALTY, False)
            rhs = group_bound - base_weight
            bld.rows_add(
                np.concatenate([b[members], s[members], slack]),
                np.concatenate([a[members], -a[members], [sign]]),
                np.zeros(2 * m + 1, dtype=np.int64),
                [rhs if sign > 0 else -np.inf], [rhs if sign < 0 else np.inf],
            )  # fmt: skip

    model: dict[str, object] = {
        "c": np.concatenate(bld.cost),
        "integrality": np.concatenate(bld.integer),
        "lb": np.concatenate(bld.lb),
        "ub": np.concatenate(bld.ub),
        "A": bld.matrix(),
        "lo": np.array(bld.row_lo),
        "hi": np.array(bld.row_hi),
    }
    return model, {"b": b, "s": s}


def objective(problem: Problem, buy: np.ndarray, sell: np.ndarray) -> float:
    """The program's objective for given trades, computed directly (used to check optimality).

    Conversions between pools are settled at least cost, as the program would.
    Returns ``inf`` for trades the program forbids (overdrawn cash, sales
    beyond holdings, orders below ``min_trade``).
    """
    n = problem.n
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
    total = 0.0
    for w, t in zip(
        np.append(weights, cash_after), np.append(problem.target, problem.cash_target), strict=True
    ):
        total += _piecewise(w - t, t) * drift_weight
    if uses_order_binaries(problem):
        total += ORDER_COST * int(orders.sum())
    turnover = TURNOVER_COST if band_mode else WASH_COST
    total += turnover * float((buy_value + sell_value).sum())
    total += cost_weight * (float(fee.sum()) + float(tax.sum()) + lost)
    total += WASH_COST * (deficit / (1.0 - problem.fx_spread) if deficit else 0.0)

    for i in range(n):
        total += CAP_PENALTY * (_excess(weights[i], problem.min_weight[i], problem.max_weight[i]))
        if band_mode:
            total += BAND_PENALTY * _excess(weights[i], problem.band_lo[i], problem.band_hi[i])
    if band_mode:
        total += BAND_PENALTY * _excess(cash_after, problem.cash_lo, problem.cash_hi)
    for _label, members, lo, hi in problem.groups:
        total += CAP_PENALTY * _excess(
            float(weights[members].sum()),
            math.nan if lo is None else lo,
            math.nan if hi is None else hi,
        )
    return total


def _excess(w: float, lo: float, hi: float) -> float:
    out = 0.0
    if math.isfinite(hi):
        out += max(0.0, w - hi)
    if math.isfinite(lo):
        out += max(0.0, lo - w)
    return out


def _piecewise(deviation: float, target: float) -> float:
    widths = _widths(target)
    slopes = _slopes(1.0)
    left, total = abs(deviation), 0.0
    for width, slope in zip(widths, slopes, strict=True):
        take = min(left, width)
        total += take * slope
        left -= take
        if left <= 0:
            break
    return total


def greedy(problem: Problem) -> Solution:
    """A quick whole-share plan when the program cannot be solved in time.

    Sells what is over target (or over its Max) down to it, sells more (largest
    overweight first) while money to raise is short, then buys the most
    underweight assets with what cash allows, assuming every purchase pays the
    FX spread and the larger of the fee and ``fee_min`` (so it never overdraws).
    Orders below ``min_trade`` are dropped.
    """
    n = problem.n
    total = problem.value
    price = problem.price
    step = 1.0 if problem.whole else 1e-6

    def floor(x: np.ndarray | float) -> np.ndarray:
        return np.floor(np.asarray(x) / step + 1e-9) * step

    held_value = problem.held * price
    goal = problem.target * total
    cap = np.where(np.isfinite(problem.max_weight), problem.max_weight * total, np.inf)
    goal = np.minimum(goal, cap)
    if problem.mode == "band":
        goal = np.clip(held_value, problem.band_lo * total, problem.band_hi * total)
    sell = np.minimum(problem.sell_max, floor(np.maximum(held_value - goal, 0.0) / price))
    sell = np.where(sell * price < problem.min_trade, 0.0, sell)

    def order_fee(value: np.ndarray) -> np.ndarray:
        fee = problem.fee_rate * value
        if problem.fee_min > 0:
            fee = np.where(value > 0, np.maximum(fee, problem.fee_min), 0.0)
        return fee

    def budget(buy: np.ndarray, sell: np.ndarray) -> float:
        proceeds = sell * price
        net = proceeds * (1.0 - problem.sell_tax) - order_fee(proceeds)
        spend = buy * price * (1.0 + problem.fx_spread) + order_fee(buy * price)
        return float(problem.cash_start.sum() + net.sum() - spend.sum())

    buy = np.zeros(n)
    # Raise money: sell from the most overweight positions until the pools balance.
    order = np.argsort(-(held_value - sell * price - goal), kind="stable")
    for i in order:
        while budget(buy, sell) < 0 and sell[i] + step <= problem.sell_max[i] + 1e-12:
            need = -budget(buy, sell)
            more = max(step, floor(need / price[i]))
            sell[i] = min(problem.sell_max[i], sell[i] + more)
        if budget(buy, sell) >= 0:
            break
    reserve = problem.cash_target * total
    spare = budget(buy, sell) - reserve
    if spare > 0:
        deficit = goal - (problem.held - sell) * price
        for i in np.argsort(-deficit / np.maximum(goal, 1e-12), kind="stable"):
            if deficit[i] <= 0 or problem.buy_max[i] <= 0:
                continue
            unit = price[i] * (1.0 + problem.fx_spread + problem.fee_rate)
            shares = floor(min(deficit[i], spare) / unit)
            if shares * price[i] < problem.min_trade or shares <= 0:
                continue
            trial = buy.copy()
            trial[i] = shares
            while shares > 0 and budget(trial, sell) < reserve:
                shares -= step
                trial[i] = shares
            if shares > 0 and shares * price[i] >= problem.min_trade:
                buy[i] = shares
                spare = budget(buy, sell) - reserve
    return Solution(buy, np.asarray(sell, dtype=float), "greedy")
