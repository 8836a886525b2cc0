"""Exact fast path for the common rebalance: separable costs, whole shares, few coupling rows.

With ``mode="full"``, one currency pool, whole shares, no ``fee_min``/``min_trade``,
no Min/Max and no group caps, the program of :mod:`.milp` is

    minimise  sum_i f_i(x_i) + g(c)   over integer x_i in [-sell_max_i, buy_max_i]
    with      c = c0 + sum_i dc_i(x_i) >= 0

where ``x_i`` is the net change in shares, ``f_i`` the asset's drift penalty (the
convex piecewise-linear tie-breaker of :func:`.model.piecewise`) plus its trade costs,
``dc_i`` the cash the trade brings (a concave, two-slope function: gross cost of a
purchase, net proceeds of a sale) and ``g`` the cash's drift penalty. (Buying and
selling one asset at once is never better than the net trade, so the net change
describes every plan the program could choose.)

Exact method (Lagrangian bound + depth-first search, knapsack "core" style)

For any multiplier ``mu`` and any feasible plan,
``F(x) = L(mu) + sum_i r_i(x_i) + r_c(c)`` where ``phi_i = f_i + mu dc_i``,
``r_i = phi_i - min phi_i >= 0``, ``r_c = (g - mu c) - min_{0<=c<=c_max}(g - mu c) >= 0``
and ``L(mu) = sum_i min phi_i + min(g - mu c) + mu c0`` (an identity, since
``c0 + sum dc_i - c = 0``). So a plan can beat an incumbent ``U`` only if
``sum_i r_i(x_i) < U - L(mu)``: per asset only the few share counts with small
reduced cost can appear, and a depth-first search over those, bounded by the
reduced costs taken so far plus the least cost of bringing the cash to where
``r_c`` is small (using the cheapest cash per unit of reduced cost among the
assets still free), enumerates every plan that could beat ``U``. ``mu`` is
chosen by bisection to maximise ``L`` (the LP bound), which only affects speed.
The search runs under rising ceilings (``CEILINGS``) before the incumbent's own: under
a low one few share counts qualify and the depth-first search is short; one that
finishes with no plan proves the optimum lies above it, one that finds a plan has
found the optimum (at 2,000 assets the optimum sat a quarter of the way from the
bound to the first plan, and the search under that plan alone found it last, after
113,000 of 117,000 nodes).

``fee_min`` and ``min_trade`` keep the problem separable: ``f_i`` and ``dc_i`` gain the
fixed part of each order's fee (``max(rate x value, fee_min) - rate x value``) and
share counts below the smallest order are forbidden. ``phi_i`` is then convex on each
side of 0 and at 0, not across it, so alternatives are searched per segment (the sell
side from ``-min_shares`` down, 0, the buy side from ``min_shares`` up).

Several currency pools (``fx_spread``): each asset's cash goes to its pool's balance
``d_p``; the pools left short are filled by converting from the others (as
:func:`.model.objective` settles them), so the cash term is ``G(d) = g(T) + k D`` with
``T = sum_p h(d_p)`` (``h(d) = d``, or ``d / (1 - spread)`` when short) and ``D`` the
shortfall. A multiplier ``mu`` on ``T`` and ``lam_p`` on each pool's balance give
``phi_i = f_i + lam_p(i) dc_i`` and one more residual per pool (see
:meth:`_Model.pool_lagrangian`), a bound as strong as the LP relaxation; the search
bounds each pool by its own assets, like a group.

Group caps and floors (disjoint groups, no costs) add one multiplier ``nu_g`` per group
for the constraint ``s_g = sum_{i in g} a_i (held_i + x_i)``: ``phi_i`` gains
``nu_g a_i x_i`` and each group a term ``r_g(s_g) >= 0`` like the cash's. ``mu`` and
``nu`` are then the duals of the LP relaxation (each ``f_i``'s convex hull), which
maximise ``L`` jointly.

The search has a fixed budget counted in steps (nodes, window widths, alternatives,
local-search rounds), never in seconds, so its answer is a function of the problem
alone. Past it, or when a problem has another structure, the caller runs the MILP;
a ``method="milp"`` answer from here is the proven optimum (within ``1e-12`` of it).
(:func:`polish`, which the MILP's LP route calls, also stops at that caller's
wall-clock guard, and says so.)
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .greedy import greedy
from .model import (
    BAND_DRIFT_WEIGHT,
    BAND_PENALTY,
    BREACH_TOL,
    CAP_PENALTY,
    COST_WEIGHT,
    MIP_ABS_GAP,
    MIP_REL_GAP,
    ORDER_COST,
    PIECE_SLOPE_STEP,
    PIECE_WIDTHS,
    TURNOVER_COST,
    WASH_COST,
    Problem,
    Solution,
    breaches,
    contract_drift,
    excesses,
    objective,
    piecewise,
    settle_pools,
    slopes,
    uses_order_binaries,
)

__all__ = [
    "applies",
    "kept_bands",
    "kept_caps",
    "least_drift",
    "less_drift",
    "polish",
    "solve",
    "spread",
]

#: Search budget before handing the problem to the MILP.
MAX_NODES = 200_000
#: ... and up to SMALL_MODEL_ASSETS assets (milp.LARGE_MODEL_ASSETS: where HiGHS's
#: branch-and-bound takes over from an unproven search) this many at most. Band mode, 66
#: bench workbooks of 4-50 assets (seeds 0-5): every search that proved its plan needed
#: fewer, but one (15 assets, seed 0) spent all 200,000 nodes (80 ms) before HiGHS
#: proved the plan in 16 ms; the slowest plan went 0.107 -> 0.077 s. One changed its
#: orders (4 assets, seed 3: the search proved its plan after more than 50,000 nodes,
#: HiGHS another within 1e-11 of it).
MAX_NODES_SMALL = 50_000
SMALL_MODEL_ASSETS = 50
#: The same with group caps or floors. Their bound is weaker (a group's weight must land
#: just inside its cap, a subset-sum over its members' share counts, which the Lagrangian
#: does not see), and the full budget was spent on every bench workbook (3-8 s) without
#: a proof: here the search mostly supplies a good first plan and its proven gap, and
#: .fill the subset sum. On the bench's caps workbooks (4 to 100 assets, 6 seeds each)
#: 100 nodes gave the same plans and gaps as 5,000, in a third of the time.
MAX_NODES_GROUPS = 100
#: The same with fee_min, min_trade or several pools: this many plus MAX_NODES_PER_ASSET
#: per asset, at most MAX_NODES_COSTS_CAP. Each node costs more there (a bound per
#: pool, ~25 us), and the fixed fees' gap can leave the bound far from the plans: on
#: fuzzed two- and three-pool workbooks with large fee_min/min_trade a 200,000-node
#: search spent 4-7 s without a proof, where HiGHS from its plan needed under a second.
#: With this budget every bench workbook is proven (10 to 2,000 assets; one of ten
#: seeds at 200 assets needs 20,000-40,000 nodes).
MAX_NODES_COSTS = 10_000
MAX_NODES_PER_ASSET = 200
MAX_NODES_COSTS_CAP = 50_000
#: Widest window of share counts per asset, and most alternatives over all assets.
MAX_WINDOW = 4096
MAX_ALTERNATIVES = 50_000
#: Bisection steps for each pool's multiplier (see _Model.pool_lagrangian): its interval is
#: about (2 + mu) fx_spread wide, so 30 halvings leave ~1e-11.
POOL_BISECTIONS = 30
#: Bisection steps towards a plan that pays when no first plan does (_feasible_start).
FEASIBLE_BISECTIONS = 30
#: The search's ceilings, as shares of the way from the bound to the first plan (see
#: _search); the last must be 1.
CEILINGS = (1 / 16, 1 / 4, 1.0)
#: Plans within this of the incumbent are not searched for (weight units).
TOLERANCE = 1e-12
#: Rounds of local search for a good first plan (it only speeds up the proof): this many
#: plus two per asset (a round moves one share, and a large portfolio needs more of them
#: before the bound can prove it), and how many of the cheapest single moves each way its
#: pair moves combine.
MAX_IMPROVE = 200
PAIR_CANDIDATES = 128


class _OverBudgetError(Exception):
    pass


def applies(problem: Problem) -> bool:
    """Whether ``problem`` has the structure this solver handles exactly.

    Band mode, per-asset Min/Max and group caps (each asset in one group at most) have
    bounds that are weights of the value *after* costs (the MILP's cost variable): they
    come here only when no cost can arise (no fee, no tax), where that value is the
    value before. ``fee_min``, ``min_trade`` and several currency pools (with
    ``fx_spread``) come here in ``full`` mode without such bounds: each asset's cost and
    cash are then still its own (see :class:`_Model`).
    """
    costless = problem.fee_rate <= 0 and not bool(np.any(problem.sell_tax > 0))
    bounded = not (
        bool(np.all(np.isnan(problem.min_weight))) and bool(np.all(np.isnan(problem.max_weight)))
    )
    members = [m for _, m, lo, hi in problem.groups if lo is not None or hi is not None]
    grouped = np.concatenate(members) if members else np.empty(0, dtype=np.int64)
    # Each asset in at most one group: the search bounds each group on its own.
    disjoint = len(np.unique(grouped)) == len(grouped)
    one_pool = len(problem.cash_start) == 1 and bool(np.all(problem.pool == 0))
    plain = one_pool and problem.fee_min <= 0 and problem.min_trade <= 0
    structure = (
        (problem.mode == "full" or costless)
        and (not bounded or costless)
        and (not members or (costless and disjoint))
    )
    costs_only = problem.mode == "full" and not bounded and not members
    return (
        ((plain and structure) or (costs_only and 0.0 <= problem.fx_spread < 0.5))
        and problem.whole
        and problem.value > 0
        and bool(np.all(np.isfinite(problem.buy_max)))
        and bool(np.all(np.isfinite(problem.sell_max)))
    )


def _min_shares(a: np.ndarray, min_trade: float) -> np.ndarray:
    """The fewest shares per order worth ``min_trade`` (weights), as
    :func:`.model.objective` tests it (``value >= min_trade - 1e-12``); at least 1."""
    if min_trade <= 0:
        return np.ones(len(a))
    shares = np.ceil((min_trade - 1e-12) / a)
    # One fewer where the division rounded up past a count that is worth enough.
    shares = np.where((shares - 1.0) * a >= min_trade - 1e-12, shares - 1.0, shares)
    return np.maximum(shares, 1.0)


#: Weights of the breach-only program (see solve): a cap before a band.
_LEAST_BREACH_WEIGHTS = {"cap": 1e4, "band": 1.0}


class _Model:
    def __init__(
        self,
        problem: Problem,
        breach_only: bool = False,
        cap_scale: float = 1.0,
        band_scale: float = 1.0,
        tie_break: bool = True,
    ) -> None:
        # The drift pieces' slope step: 0 weighs the contract's drift alone (least_drift).
        self.piece_step = PIECE_SLOPE_STEP if tie_break else 0.0
        a = problem.price / problem.value
        fee, tax = problem.fee_rate, problem.sell_tax
        band = problem.mode == "band"
        # The program's weights (see .milp): band mode trades to the band edge, its
        # turnover cost outweighing the small drift term that decides where cash goes.
        self.drift_weight = BAND_DRIFT_WEIGHT if band else 1.0
        turnover = TURNOVER_COST if band else WASH_COST
        if not tie_break and not band:
            # Without the tie-breaker only the drift (and what money costs) may move the
            # plan: turnover's tiny price would walk it along plateaus of equal drift.
            turnover = 0.0
        self.cost_weight = COST_WEIGHT * (BAND_PENALTY if band else 1.0)
        self.costless = fee <= 0 and not bool(np.any(tax > 0))
        self.a = a
        # fee_min and min_trade (see applies): a fixed part of each order's fee and a
        # smallest order, in shares per asset. f_i is then convex on each side of 0
        # (and 0 itself), not across it: the search treats the sides as segments.
        self.fee_rate = fee
        self.fee_min = problem.fee_min / problem.value
        self.order_cost = ORDER_COST if uses_order_binaries(problem) else 0.0
        self.min_shares = _min_shares(a, problem.min_trade / problem.value)
        self.segmented = self.fee_min > 0 or problem.min_trade > 0
        # Currency pools: each asset's cash goes to its pool; the cash penalty is that of
        # their total after converting into the pools left short (fx_spread lost).
        self.pool = np.asarray(problem.pool, dtype=np.int64)
        self.pools = len(problem.cash_start)
        self.c0_pools = np.asarray(problem.cash_start, dtype=float) / problem.value
        self.spread = float(problem.fx_spread)
        if self.pools > 1 and self.spread > 0:
            # Cash priced above the cost weight would make a conversion look free (the
            # bound of _search relies on mu <= 0.95 COST_WEIGHT; see there).
            self.costless = False
        self.held = problem.held
        self.target = problem.target * problem.shrink
        self.scale = np.maximum(problem.target, 0.01)
        self.lo = -np.floor(problem.sell_max + 1e-9)
        self.hi = np.floor(problem.buy_max + 1e-9)
        self.buy_cost = a * (turnover + self.cost_weight * fee)
        self.sell_cost = a * (turnover + self.cost_weight * (fee + tax))
        # Soft bounds on each asset's weight (NaN: none), each with its penalty per unit
        # outside: Min/Max always, the bands in band mode. No costs here, so the value
        # they are weights of is the value before trading (see applies).
        # cap_scale > 1: caps far above any drift (see _kept_caps).
        self.cap_penalty = CAP_PENALTY * cap_scale
        soft = [(problem.min_weight, problem.max_weight, self.cap_penalty)]
        if band:
            soft.append((problem.band_lo, problem.band_hi, BAND_PENALTY * band_scale))
        self.soft = [
            (lo, hi, weight)
            for lo, hi, weight in soft
            if np.any(np.isfinite(lo)) or np.any(np.isfinite(hi))
        ]
        self.cash_soft: list[tuple[float, float]] = []
        if band:
            self.cash_soft = [
                (edge, sign)
                for edge, sign in ((problem.cash_lo, -1.0), (problem.cash_hi, 1.0))
                if math.isfinite(edge)
            ]
        self.cash_penalty = BAND_PENALTY * band_scale
        # Group caps and floors: soft bounds on the sum of their members' weights (disjoint
        # groups, see applies), each with a multiplier nu that prices a unit of group weight
        # in the Lagrangian bound (set by _dual_prices; 0 is valid, only weaker).
        capped = [
            (m, lo, hi) for _, m, lo, hi in problem.groups if lo is not None or hi is not None
        ]
        self.group_of = np.full(len(a), -1, dtype=np.int64)
        for g, (members, _, _) in enumerate(capped):
            self.group_of[members] = g
        self.group_lo = np.array([math.nan if lo is None else lo for _, lo, _ in capped])
        self.group_hi = np.array([math.nan if hi is None else hi for _, _, hi in capped])
        self.group_held = np.array([float((a * problem.held)[m].sum()) for m, _, _ in capped])
        self.group_range = [
            (
                float((a * (problem.held + self.lo))[m].sum()),
                float((a * (problem.held + self.hi))[m].sum()),
            )
            for m, _, _ in capped
        ]
        self.group_penalty = self.cap_penalty
        self.group_nu = np.zeros(len(capped))
        if breach_only:
            # Only the distance outside caps and bands counts: the least breach whole
            # shares allow, which the weighted program's answer must match (see solve).
            self.drift_weight = 0.0
            self.buy_cost = np.zeros(len(a))
            self.sell_cost = np.zeros(len(a))
            self.soft = [
                (lo, hi, _LEAST_BREACH_WEIGHTS["cap" if penalty == self.cap_penalty else "band"])
                for lo, hi, penalty in self.soft
            ]
            self.cash_penalty = _LEAST_BREACH_WEIGHTS["band"]
            self.group_penalty = _LEAST_BREACH_WEIGHTS["cap"]
        self.buy_cash = a * (1.0 + fee)  # cash paid per share bought
        self.sell_cash = a * (1.0 - tax - fee)  # cash received per share sold
        self.c0 = float(self.c0_pools.sum()) if self.pools > 1 else float(self.c0_pools[0])
        self.cash_target = float(problem.cash_target * problem.shrink)
        self.cash_scale = max(self.cash_target, 0.01)
        steps = [float(v) for v in slopes(1.0, self.piece_step)]
        self.cash_pieces = [
            (w * self.cash_scale, slope) for w, slope in zip(PIECE_WIDTHS, steps[:-1], strict=False)
        ]
        self.cash_last_slope = steps[-1]
        self.c_max = self.c0 + float((self.sell_cash * -self.lo).sum())
        # Each pool's reachable balances: every asset bought to its most, or sold out; and
        # where xi_p (see pool_lagrangian) bends within them. The search reads both per node.
        least, most = self.dc(self.hi), self.dc(self.lo)
        self.pool_range = [
            (
                float(self.c0_pools[p] + least[self.pool == p].sum()),
                float(self.c0_pools[p] + most[self.pool == p].sum()),
            )
            for p in range(self.pools)
        ]
        self.pool_points = [
            sorted({lo, hi, *([0.0] if lo < 0.0 < hi else [])}) for lo, hi in self.pool_range
        ]
        #: The cost of a unit of shortfall (see pool_lagrangian).
        self.pool_k = (self.cost_weight * self.spread + WASH_COST) / (1.0 - self.spread)
        cum = np.cumsum([0.0, *PIECE_WIDTHS])
        breaks = [self.cash_target + s * w * self.cash_scale for w in cum for s in (-1, 1)]
        breaks += [edge for edge, _ in self.cash_soft]
        self.cash_breaks = np.array(
            sorted({0.0, self.c_max, *[b for b in breaks if 0.0 <= b <= self.c_max]})
        )
        # Breakpoints of f_i in x (deviation piece edges, soft bounds, and 0): candidates
        # for argmin.
        edges = [(self.target + s * w * self.scale) / a - self.held for w in cum for s in (-1, 1)]
        for lo, hi, _ in self.soft:
            edges += [np.nan_to_num(bound, nan=0.0) / a - self.held for bound in (lo, hi)]
        if self.segmented:
            # The segments' ends, and where the fee rate overtakes fee_min.
            edges += [self.min_shares, -self.min_shares]
            if self.fee_min > 0 and fee > 0:
                edges += [self.fee_min / (fee * a), -self.fee_min / (fee * a)]
        raw = np.column_stack([*edges, np.zeros(len(a))])
        cand = np.concatenate([np.floor(raw), np.ceil(raw)], axis=1)
        cand = np.concatenate([cand, self.lo[:, None], self.hi[:, None]], axis=1)
        self.candidates = np.clip(cand, self.lo[:, None], self.hi[:, None])
        self._cand_terms: tuple[np.ndarray, np.ndarray] | None = None
        self._break_terms: list[tuple[float, float]] | None = None

    def f(self, x: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Drift + trade costs of each asset (rows) at net share changes ``x``."""
        a, held = self.a[rows], self.held[rows]
        if x.ndim == 2:
            a, held = a[:, None], held[:, None]
            scale, target = self.scale[rows][:, None], self.target[rows][:, None]
            bc, sc = self.buy_cost[rows][:, None], self.sell_cost[rows][:, None]
        else:
            scale, target = self.scale[rows], self.target[rows]
            bc, sc = self.buy_cost[rows], self.sell_cost[rows]
        weight = a * (held + x)
        out = self.drift_weight * piecewise(weight - target, scale, self.piece_step)
        out = out + np.where(x > 0, x * bc, -x * sc)
        if self.segmented:
            out = out + self._fixed(x, a, rows, cost=True)
        for lo, hi, penalty in self.soft:
            lo_r, hi_r = lo[rows], hi[rows]
            if x.ndim == 2:
                lo_r, hi_r = lo_r[:, None], hi_r[:, None]
            below = np.where(np.isnan(lo_r), 0.0, np.maximum(np.nan_to_num(lo_r) - weight, 0.0))
            above = np.where(np.isnan(hi_r), 0.0, np.maximum(weight - np.nan_to_num(hi_r), 0.0))
            out = out + penalty * (below + above)
        return out

    def dc(self, x: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        bcash, scash = self.buy_cash[rows], self.sell_cash[rows]
        if x.ndim == 2:
            bcash, scash = bcash[:, None], scash[:, None]
        out = np.where(x > 0, -x * bcash, -x * scash)
        if self.segmented:
            a = self.a[rows][:, None] if x.ndim == 2 else self.a[rows]
            out = out - self._fixed(x, a, rows, cost=False)
        return out

    def _fixed(
        self, x: np.ndarray, a: np.ndarray, rows: np.ndarray | slice, cost: bool
    ) -> np.ndarray:
        """What ``fee_min`` adds to an order's fee (the fee is ``max(rate x value, fee_min)``),
        in cost units (``cost``: with the order cost, and ``inf`` below ``min_trade``) or
        in cash."""
        order = x != 0
        extra = np.where(order, np.maximum(self.fee_min - self.fee_rate * a * np.abs(x), 0.0), 0.0)
        if not cost:
            return extra
        out = self.cost_weight * extra + np.where(order, self.order_cost, 0.0)
        small = self.min_shares[rows][:, None] if x.ndim == 2 else self.min_shares[rows]
        return np.where(order & (np.abs(x) < small), np.inf, out)

    def pool_cash(self, d: np.ndarray) -> np.ndarray:
        """The cash penalty of pool balances ``d`` (last axis: pools), conversions settled.

        The pools left short are filled from the others at least cost (as
        :func:`.model.objective` settles them): ``F = deficit / (1 - spread)`` converted,
        ``spread F`` lost and priced as a cost, ``inf`` when the total cannot cover it.
        """
        deficit = np.maximum(-d, 0.0).sum(axis=-1)
        flow = deficit / (1.0 - self.spread)
        lost = self.spread * flow
        total = d.sum(axis=-1) - lost
        return _cash_penalty(self, total) + self.cost_weight * lost + WASH_COST * flow

    def g(self, c: float) -> float:
        """Cash drift penalty (pure Python: the search calls it per node)."""
        if c < -1e-15:
            return math.inf
        left, total = abs(c - self.cash_target), 0.0
        for width, slope in self.cash_pieces:
            take = min(left, width)
            total += take * slope
            left -= take
        total = (total + left * self.cash_last_slope) * self.drift_weight
        for edge, sign in self.cash_soft:
            total += self.cash_penalty * max(sign * (c - edge), 0.0)
        return total

    def nu(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Each asset's group multiplier (0 outside every group)."""
        g = self.group_of[rows]
        return np.where(g >= 0, self.group_nu[np.maximum(g, 0)] if len(self.group_nu) else 0.0, 0.0)

    def phi(
        self, x: np.ndarray, mu: float | np.ndarray, rows: np.ndarray | slice = slice(None)
    ) -> np.ndarray:
        """The Lagrangian's per-asset terms: f + mu dc + nu (weight moved into the group).

        ``mu`` is the cash's multiplier, or one per asset (its pool's, see
        :meth:`pool_lagrangian`)."""
        a, nu = self.a[rows], self.nu(rows)
        if isinstance(mu, np.ndarray):
            mu = mu[rows]
            if x.ndim == 2:
                mu = mu[:, None]
        if x.ndim == 2:
            a, nu = a[:, None], nu[:, None]
        return self.f(x, rows) + mu * self.dc(x, rows) + nu * a * x

    # Pools (several currencies). With d_p a pool's cash before conversions, the cash
    # penalty of pool_cash is G(d) = g(T) + k sum_p max(-d_p, 0), T = sum_p h(d_p), where
    # h(d) = d for d >= 0 and d / (1 - spread) below (a shortfall is filled by converting
    # d / (1 - spread)) and k = (COST_WEIGHT spread + WASH_COST) / (1 - spread). With a
    # multiplier mu on T and lam_p on each pool's balance,
    #     F = sum_i (f_i + lam_p(i) dc_i) + (g(T) - mu T) + sum_p (xi_p(d_p) - lam_p d_p)
    #         + sum_p lam_p c0_p,      xi_p(d) = mu h(d) + k max(-d, 0),
    # and L(mu, lam) is the sum of each term's least value: as strong as the LP
    # relaxation (g is the conjugate's envelope; xi_p is convex for mu <= COST_WEIGHT).

    def pool_h(self, d: float) -> float:
        return d if d >= 0.0 else d / (1.0 - self.spread)

    def pool_xi(self, d: float, mu: float, lam: float) -> float:
        """xi_p(d) - lam_p d (pure Python)."""
        return mu * self.pool_h(d) + self.pool_k * max(-d, 0.0) - lam * d

    def pool_lagrangian(
        self, mu: float
    ) -> tuple[float, np.ndarray, np.ndarray, float, float, list[float]]:
        """max over lam of L(mu, lam): its value, the argmins x, lam, T's argmin, the
        supergradient in mu, and each pool's least xi_p - lam_p d (see above).

        For a given mu, L separates by pool, and each lam_p lies between xi_p's two
        slopes (outside, the pool's term pushes its balance to an end it cannot
        reach). A pool whose trades leave it cash at lam_p = mu takes that end; one
        left short at the other slope takes that one; between, the pool ends at 0 and
        lam_p is found by bisection (all such pools in step).
        """
        cash_vals = [g - mu * c for c, g in self.cash_break_terms()]
        k = int(np.argmin(cash_vals))
        # phi at the candidates is f + lam dc (no groups with pools, see applies).
        cand_f, cand_dc = self.candidate_terms()
        rows = np.arange(len(self.a))
        ranges = np.array(self.pool_range)
        zero = np.clip(0.0, ranges[:, 0], ranges[:, 1])
        points = np.column_stack([ranges[:, 0], zero, ranges[:, 1]])
        xi = mu * np.where(points >= 0.0, points, points / (1.0 - self.spread))
        xi = xi + self.pool_k * np.maximum(-points, 0.0)
        best = np.full(self.pools, -math.inf)
        best_lam = np.zeros(self.pools)
        best_x = np.zeros(len(self.a))
        best_d = np.zeros(self.pools)
        best_floor = np.zeros(self.pools)

        def evaluate(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            phi = cand_f + lam[self.pool][:, None] * cand_dc
            pick = np.argmin(phi, axis=1)
            per_pool = np.bincount(self.pool, weights=phi[rows, pick], minlength=self.pools)
            demand = self.c0_pools + np.bincount(
                self.pool, weights=cand_dc[rows, pick], minlength=self.pools
            )
            terms = xi - lam[:, None] * points
            j = np.argmin(terms, axis=1)
            ends = points[np.arange(self.pools), j]
            floor = terms[np.arange(self.pools), j]
            value = per_pool + floor + lam * self.c0_pools
            better = value > best
            best[better], best_lam[better] = value[better], lam[better]
            best_d[better], best_floor[better] = demand[better], floor[better]
            take = better[self.pool]
            best_x[take] = self.candidates[rows, pick][take]
            # The balance the trades leave, and the supergradient in lam_p: that balance
            # less the one xi_p wants.
            return demand, demand - ends

        lo = np.full(self.pools, mu / (1.0 - self.spread) - self.pool_k)
        hi = np.full(self.pools, mu)
        # At either slope xi_p is flat on one side of 0: a balance there is its argmin.
        settled = evaluate(hi)[0] >= 0.0
        settled |= evaluate(lo)[0] <= 0.0
        for _ in range(POOL_BISECTIONS):
            if settled.all():
                break
            lam = 0.5 * (lo + hi)
            up = evaluate(lam)[1] > 0.0
            lo = np.where(~settled & up, lam, lo)
            hi = np.where(~settled & ~up, lam, hi)
        value = float(best.sum()) + float(cash_vals[k])
        # In mu: the total the pools' balances make (at lam's best each pool's xi term
        # can take the balance its trades leave) less the cash g prefers.
        slope = sum(self.pool_h(float(d)) for d in best_d) - float(self.cash_breaks[k])
        floors = [float(v) for v in best_floor]
        return value, best_x, best_lam, float(self.cash_breaks[k]), slope, floors

    def h(self, g: int, s: float) -> float:
        """Penalty of group ``g`` at group weight ``s`` (pure Python, per search node;
        :meth:`_h` is the same for arrays)."""
        out = 0.0
        if math.isfinite(self.group_hi[g]):
            out += max(0.0, s - self.group_hi[g])
        if math.isfinite(self.group_lo[g]):
            out += max(0.0, self.group_lo[g] - s)
        return self.group_penalty * out

    def group_moves(self, rows: np.ndarray, moved: np.ndarray, sums: np.ndarray) -> np.ndarray:
        """Change of the group penalties when assets ``rows`` move their weight by ``moved``
        (one asset at a time; 0 for assets in no group), at group weights ``sums``."""
        g = self.group_of[rows]
        inside = g >= 0
        out = np.zeros(np.broadcast(rows, moved).shape)
        if not len(self.group_nu) or not np.any(inside):
            return out
        gi = np.maximum(g, 0)
        here = sums[gi]
        return np.where(inside, self._h(gi, here + moved) - self._h(gi, here), 0.0)

    def _h(self, g: np.ndarray, s: np.ndarray) -> np.ndarray:
        hi, lo = self.group_hi[g], self.group_lo[g]
        above = np.where(np.isfinite(hi), np.maximum(s - np.nan_to_num(hi), 0.0), 0.0)
        below = np.where(np.isfinite(lo), np.maximum(np.nan_to_num(lo) - s, 0.0), 0.0)
        return self.group_penalty * (above + below)

    def group_breaks(self, g: int) -> list[float]:
        """Where group ``g``'s penalty bends, within the weights its members can reach."""
        s_lo, s_hi = self.group_range[g]
        edges = [self.group_lo[g], self.group_hi[g]]
        return sorted({s_lo, s_hi, *[e for e in edges if math.isfinite(e) and s_lo < e < s_hi]})

    def group_min(self, g: int) -> float:
        """Least of h_g(s) - nu_g s over the reachable group weights (piecewise linear)."""
        nu = float(self.group_nu[g])
        return min(self.h(g, s) - nu * s for s in self.group_breaks(g))

    def group_sums(self, x: np.ndarray) -> np.ndarray:
        weight = self.a * (self.held + x)
        grouped = self.group_of >= 0
        return np.bincount(
            self.group_of[grouped], weights=weight[grouped], minlength=len(self.group_nu)
        )

    def cash_break_terms(self) -> list[tuple[float, float]]:
        """``(c, g(c))`` at the cash breaks, computed once (as floats: the same values the
        multiplier's bisection computed per call before)."""
        if self._break_terms is None:
            self._break_terms = [(float(c), self.g(float(c))) for c in self.cash_breaks]
        return self._break_terms

    def candidate_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """f and dc at the candidates, computed once: every multiplier tried reads them."""
        if self._cand_terms is None:
            self._cand_terms = (self.f(self.candidates), self.dc(self.candidates))
        return self._cand_terms

    def lagrangian(self, mu: float) -> tuple[float, np.ndarray, float, float]:
        """L(mu), the per-asset argmins, the cash argmin and the subgradient."""
        # phi (see there) from the cached terms, in the same order of operations.
        cand_f, cand_dc = self.candidate_terms()
        phi = cand_f + mu * cand_dc + self.nu()[:, None] * self.a[:, None] * self.candidates
        pick = np.argmin(phi, axis=1)
        rows = np.arange(len(pick))
        x = self.candidates[rows, pick]
        cash_vals = np.array([g - mu * c for c, g in self.cash_break_terms()])
        k = int(np.argmin(cash_vals))
        value = float(phi[rows, pick].sum()) + float(cash_vals[k]) + mu * self.c0
        for g in range(len(self.group_nu)):
            # h_g(s_g) = (h_g(s) - nu s) + nu (held weight + weight moved): the identity.
            value += self.group_min(g) + float(self.group_nu[g]) * float(self.group_held[g])
        slope = self.c0 + float(self.dc(x).sum()) - float(self.cash_breaks[k])
        return value, x, float(self.cash_breaks[k]), slope

    def total(self, x: np.ndarray) -> float:
        groups = sum(self.h(g, s) for g, s in enumerate(self.group_sums(x)))
        if self.pools > 1:
            cash = float(self.pool_cash(self.balances(x))[()])
        else:
            cash = self.g(self.c0 + float(self.dc(x).sum()))
        return float(self.f(x).sum()) + cash + groups

    def balances(self, x: np.ndarray) -> np.ndarray:
        """Each pool's cash after the trades ``x``, before conversions."""
        return self.c0_pools + np.bincount(self.pool, weights=self.dc(x), minlength=self.pools)


def solve(problem: Problem) -> Solution | None:
    """The proven-optimal plan of ``problem`` (``method="milp"``), within a step budget.

    Past the budget: the best plan found, ``method="milp-time-limit"`` with the proven
    gap in ``extra["gap"]``, for the caller to hand to the MILP; ``None`` when not even
    a feasible plan was found (or ``problem`` has another structure).
    """
    if not applies(problem):
        return None
    model = _Model(problem)
    try:
        x, gap = _search(model, problem)
    except _OverBudgetError:
        return None
    buy, sell = np.maximum(x, 0.0), np.maximum(-x, 0.0)
    value = objective(problem, buy, sell)
    if gap == 0.0:
        method, detail = "milp", "exact knapsack search: proved optimal"
    else:
        method, detail = "milp-time-limit", "knapsack search budget spent: best plan found"
    if gap == 0.0 and not _least_breach(problem, model, x):
        # Caps and bands come first, lexicographically (as in the MILP): a weighted
        # optimum that a plan with less breach beats is not the answer; the MILP's
        # least-breach phases take over from it.
        method, detail = "milp-time-limit", "a plan with less breach may exist"
        gap = math.inf
    capped = any(w == model.cap_penalty for _, _, w in model.soft) or len(model.group_nu)
    if gap and capped and breaches(problem, buy, sell)[0] > BREACH_TOL:
        kept = _kept_caps(problem, x)
        if kept is not None:
            # A plan with less cap breach. The search's bound (its plan's value less the
            # gap) still bounds every plan of the program, this one included.
            floor = model.total(x) - gap
            x = kept
            buy, sell = np.maximum(x, 0.0), np.maximum(-x, 0.0)
            value = objective(problem, buy, sell)
            gap = max(value - floor, TOLERANCE) if math.isfinite(floor) else math.inf
            method, detail = "milp-time-limit", "knapsack search: caps kept first, best plan found"
    solution = Solution(buy, sell, method, detail, value)
    if gap:
        solution.extra["gap"] = gap
    return solution


#: Contract drift :func:`least_drift` must save (weights: 1e-7 percentage points) for a
#: plan to be replaced: below it, moves along a plateau of equal drift only undo the
#: tie-breaker's spread.
LEAST_DRIFT_TOL = 1e-9
#: Partners per round whose pair :func:`_mended_in_groups` checks exactly.
MEND_CHECKS = 1
#: Caps' penalty factor in the search run after a breach-only one (see _kept_caps): a
#: breach of BREACH_TOL then costs more than any drift (at most 2).
STRICT_CAP_SCALE = 1e4
#: Bands' penalty factor in :func:`kept_bands`: a band breach of BREACH_TOL then costs
#: more than a fee_min order of 1e-6 of the value at the cost weight.
STRICT_BAND_SCALE = 1e4


def _kept_caps(problem: Problem, x: np.ndarray) -> np.ndarray | None:
    """A plan with less cap breach than ``x``, found within the step budget, else ``None``.

    The weighted objective prices a breach at CAP_PENALTY per unit of weight, so a breach
    smaller than what mending it costs in drift survives it (a Max missed by 1e-6 that
    one share sold would keep). The breach-only search from ``x`` finds less breach; the
    weighted search run from there with caps STRICT_CAP_SCALE times dearer keeps it and
    spends the rest on drift.
    """

    def cap_breach(y: np.ndarray) -> float:
        return breaches(problem, np.maximum(y, 0.0), np.maximum(-y, 0.0))[0]

    have = cap_breach(x)

    try:
        # Only a plan with less breach is wanted, not a proof: the local search's.
        least, _gap = _search(_Model(problem, breach_only=True), problem, start=x, node_budget=0)
    except _OverBudgetError:
        return None
    if cap_breach(least) >= have - BREACH_TOL:
        return None
    try:
        strict, _gap = _search(
            _Model(problem, cap_scale=STRICT_CAP_SCALE), problem, start=least, node_budget=0
        )
    except _OverBudgetError:
        return least
    return strict if cap_breach(strict) <= cap_breach(least) + BREACH_TOL else least


def _least_breach(problem: Problem, model: _Model, x: np.ndarray) -> bool:
    """Whether plan ``x`` (net share changes) has the least breach whole shares allow."""
    if not model.soft and not model.cash_soft and not len(model.group_nu):
        return True
    least = _Model(problem, breach_only=True)
    have = least.total(x)
    if have <= BREACH_TOL:
        return True
    try:
        best, gap = _search(least, problem)
    except _OverBudgetError:
        return False
    return gap == 0.0 and have <= least.total(best) + BREACH_TOL


def _best_mu(model: _Model) -> tuple[float, list[np.ndarray]]:
    # mu stays below the cost weight: there every phi_i is convex (trade costs outweigh
    # the cash a round trip would free), which the search below relies on. Without costs
    # a round trip frees nothing and phi_i is convex for every mu; cash may then be worth
    # up to a soft bound's penalty (a Min that only buying reaches). Any mu is a valid
    # bound; this one only needs to be good.
    if len(model.group_nu):
        relaxed = _dual_prices(model)
        if relaxed is not None:
            # The LP's duals maximise L jointly (cash and groups): no bisection needed.
            # Its plan rounded down keeps the caps it fills; to the nearest, it is closer
            # to the drift it reaches.
            x_mu, mu = relaxed
            return mu, [np.floor(x_mu + 1e-9), np.round(x_mu), model.lagrangian(mu)[1]]
    lo, hi = -1.0, 0.95 * model.cost_weight
    if model.costless:
        hi = 2.0 * model.cap_penalty

    def one_pool(mu: float) -> tuple[float, np.ndarray, float]:
        value, x, _, slope = model.lagrangian(mu)
        return value, x, slope

    return _bisect_mu(one_pool, lo, hi)


def _best_pool_mu(model: _Model) -> tuple[float, list[np.ndarray]]:
    """:func:`_best_mu` for several pools: mu by bisection on max over lam of L(mu, lam)."""

    def pooled(mu: float) -> tuple[float, np.ndarray, float]:
        value, x, _, _, slope, _ = model.pool_lagrangian(mu)
        return value, x, slope

    return _bisect_mu(pooled, -1.0, 0.95 * model.cost_weight)


def _bisect_mu(
    lagrangian: Callable[[float], tuple[float, np.ndarray, float]], lo: float, hi: float
) -> tuple[float, list[np.ndarray]]:
    """The mu of the best L(mu) seen by bisection on its supergradient, and the last plans.

    ``lagrangian(mu)`` gives L(mu), its argmin plan and the supergradient. ``lo`` is
    widened until the supergradient is positive there.
    """
    seen: list[np.ndarray] = []
    best_value, best_mu = -math.inf, 0.0

    def probe(mu: float) -> float:
        nonlocal best_value, best_mu
        value, x, slope = lagrangian(mu)
        seen.append(x)
        if value > best_value:
            best_value, best_mu = value, mu
        return slope

    while probe(lo) < 0 and lo > -1e6:
        lo *= 8
    if probe(hi) > 0:
        return best_mu, seen[-6:]
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if probe(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-8:  # any mu is a valid bound; this close, L is near its best
            break
    return best_mu, seen[-6:]


def _dual_prices(model: _Model) -> tuple[np.ndarray, float] | None:
    """Set the group multipliers to the duals of the search's LP relaxation (its best bound).

    Returns the relaxation's share changes (fractional: a good first plan once rounded)
    and the cash's multiplier ``mu``.

    The relaxation is exact per asset: with no costs (see applies) each f_i is convex in
    whole shares and the cash a trade brings is linear, so the chords between the
    candidate share counts (floor and ceiling of every kink) are f_i's convex hull. One
    cash row and one row per group couple the assets; their duals are the prices that
    make the Lagrangian bound the LP bound. If the LP fails, the multipliers stay 0 (a
    valid, weaker bound).
    """
    from scipy import sparse
    from scipy.optimize import linprog

    n, groups = len(model.a), len(model.group_nu)
    cand = np.sort(model.candidates, axis=1)
    values = model.f(cand)
    length = np.diff(cand, axis=1)
    slope = np.divide(np.diff(values, axis=1), length, out=np.zeros_like(length), where=length > 0)
    x0 = cand[:, 0]
    pieces = length.shape[1]
    breaks = model.cash_breaks
    cash_len = np.diff(breaks)
    cash_slope = np.diff([model.g(float(c)) for c in breaks]) / np.maximum(cash_len, 1e-300)
    # Columns: asset pieces (n x pieces), cash pieces, then per group s_g, above_g, below_g.
    n_delta, n_cash = n * pieces, len(cash_len)
    first_group = n_delta + n_cash
    slacks = np.tile([0.0, model.group_penalty, model.group_penalty], groups)
    cost = np.concatenate([slope.ravel(), cash_slope, slacks])
    lower = np.zeros(len(cost))
    upper = np.concatenate([length.ravel(), cash_len, np.tile([np.inf, np.inf, np.inf], groups)])
    lower[first_group::3] = -np.inf
    weight = np.repeat(model.a, pieces)
    asset = np.repeat(np.arange(n), pieces)
    grouped = model.group_of[asset] >= 0
    delta = np.arange(n_delta)
    rows = [np.zeros(n_delta, dtype=np.int64), np.zeros(n_cash, dtype=np.int64)]
    cols = [delta, n_delta + np.arange(n_cash)]
    vals = [weight, np.ones(n_cash)]
    rows += [1 + model.group_of[asset][grouped], 1 + np.arange(groups)]
    cols += [delta[grouped], first_group + 3 * np.arange(groups)]
    vals += [-weight[grouped], np.ones(groups)]
    a_eq = sparse.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(1 + groups, len(cost)),
    )
    held_group = model.group_sums(x0)
    b_eq = np.concatenate([[model.c0 - float(model.a @ x0) - float(breaks[0])], held_group])
    ub_rows: list[int] = []
    ub_cols: list[int] = []
    ub_vals: list[float] = []
    b_ub: list[float] = []
    for g in range(groups):
        s_col = first_group + 3 * g
        for sign, edge, slack in ((1.0, model.group_hi[g], 1), (-1.0, model.group_lo[g], 2)):
            if math.isfinite(edge):
                r = len(b_ub)
                ub_rows += [r, r]
                ub_cols += [s_col, s_col + slack]
                ub_vals += [sign, -1.0]
                b_ub.append(sign * edge)
    a_ub = (
        sparse.csr_array((ub_vals, (ub_rows, ub_cols)), shape=(len(b_ub), len(cost)))
        if b_ub
        else None
    )
    try:
        result = linprog(
            cost,
            A_ub=a_ub,
            b_ub=np.array(b_ub) if b_ub else None,
            A_eq=a_eq,
            b_eq=b_eq,
            bounds=np.column_stack([lower, upper]),
            method="highs",
        )
    except ValueError:
        return None
    if result.status != 0 or result.eqlin is None:
        return None
    model.group_nu = np.asarray(result.eqlin.marginals[1:], dtype=float)
    mu = float(result.eqlin.marginals[0])
    return x0 + result.x[:n_delta].reshape(n, pieces).sum(axis=1), mu


def polish(
    problem: Problem, buy: np.ndarray, sell: np.ndarray, deadline: float | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The plan ``buy``/``sell`` after this module's local search, if that scores better.

    For plans made another way (the MILP's LP route: a rounded relaxation). The search
    runs on this module's program, whatever the problem's structure: it weighs bands
    and caps as weights of the value before costs and settles pools as
    :func:`.model.objective` does, so it is only a way to find moves. The moved plan is
    kept when :func:`.model.objective` (the program's exact objective, costs and all)
    says it is better; else the plan comes back unchanged.

    ``deadline`` (``time.perf_counter()``) is the caller's wall-clock guard: the local
    search stops there, and the third value says it did (the plan then depends on the
    machine's speed, which the caller reports).
    """
    if not _searchable(problem):
        return buy, sell, False
    moved_buy, moved_sell, stopped = _searched(
        _Model(_after_costs(problem, buy, sell)), buy, sell, deadline
    )
    if objective(problem, moved_buy, moved_sell) < objective(problem, buy, sell):
        return moved_buy, moved_sell, stopped
    return buy, sell, stopped


def _searchable(problem: Problem) -> bool:
    """Whether this module's local search can start from a plan of ``problem``."""
    finite = bool(np.all(np.isfinite(problem.buy_max))) and bool(
        np.all(np.isfinite(problem.sell_max))
    )
    return problem.whole and finite and problem.value > 0


def _searched(
    model: _Model,
    buy: np.ndarray,
    sell: np.ndarray,
    deadline: float | None,
    rounds: int | None = None,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The local search's plan from ``buy``/``sell`` on ``model``, and whether it stopped
    at ``deadline`` (see :func:`polish`)."""
    x, _ = _improve(model, buy - sell, deadline, rounds)
    stopped = deadline is not None and time.perf_counter() >= deadline
    return np.maximum(x, 0.0), np.maximum(-x, 0.0), stopped


def _after_costs(problem: Problem, buy: np.ndarray, sell: np.ndarray) -> Problem:
    """``problem`` with every weight bound times the value left after the plan's costs.

    The program's bounds are weights of the value after costs; this module's model (built
    for costless problems) reads them as weights of the value before. For the local
    search from a plan with costs, the plan's own costs are the best estimate: without
    them a group looked kept that the costs put over its cap ("all" at 500 assets: two
    caps over by 6e-5 each, invisible to the search).
    """
    k = 1.0 - settle_pools(problem, buy, sell).costs / problem.value
    if not 0.0 < k < 1.0:
        return problem
    return replace(
        problem,
        min_weight=problem.min_weight * k,
        max_weight=problem.max_weight * k,
        band_lo=problem.band_lo * k,
        band_hi=problem.band_hi * k,
        cash_lo=problem.cash_lo * k,
        cash_hi=problem.cash_hi * k,
        groups=tuple(
            (label, members, None if lo is None else lo * k, None if hi is None else hi * k)
            for label, members, lo, hi in problem.groups
        ),
    )


def kept_caps(
    problem: Problem, buy: np.ndarray, sell: np.ndarray, deadline: float | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The plan ``buy``/``sell`` with less cap breach, if this module's local search with
    caps :data:`STRICT_CAP_SCALE` times dearer finds one; else the plan unchanged.

    Caps come before bands and drift, lexicographically (as in the MILP's phases): the
    weighted objective :func:`polish` keeps prices a cap's breach at CAP_PENALTY, so it
    keeps a cap missed by a share when mending it costs a band more than that. A plan is
    taken when its cap breach is lower by more than ``BREACH_TOL``. The search reads the
    bounds on the plan's own costs (:func:`_after_costs`). Then Min/Max breaches inside
    capped or floored groups are mended in pairs (:func:`_mended_in_groups`).
    ``deadline`` and the third value as in :func:`polish`.
    """
    have = breaches(problem, buy, sell)[0]
    if have <= BREACH_TOL or not _searchable(problem):
        return buy, sell, False
    strict = _Model(_after_costs(problem, buy, sell), cap_scale=STRICT_CAP_SCALE)
    moved_buy, moved_sell, stopped = _searched(strict, buy, sell, deadline)
    if not math.isfinite(objective(problem, moved_buy, moved_sell)):
        return buy, sell, stopped
    if breaches(problem, moved_buy, moved_sell)[0] >= have - BREACH_TOL:
        moved_buy, moved_sell = buy, sell
    moved_buy, moved_sell = _mended_in_groups(problem, moved_buy, moved_sell, deadline)
    stopped = stopped or (deadline is not None and time.perf_counter() >= deadline)
    return moved_buy, moved_sell, stopped


def least_drift(
    problem: Problem, buy: np.ndarray, sell: np.ndarray, deadline: float | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """In full mode, the plan ``buy``/``sell`` with less contract drift, if this module's
    local search without the tie-breaker finds one (no more cap breach, and a lower
    objective without the tie-breaker); else the plan unchanged.

    The drift pieces' rising slopes spread cash over underweight assets among equally
    good plans, but a weighted optimum can buy that spread with drift: caps at 10 assets
    (seed 2 of the bench) left 5.2e-5 more drift than one share moved shows. The drift
    comes first: such a plan is replaced. ``deadline`` and the third value as in
    :func:`polish`.
    """
    if problem.mode != "full" or not _searchable(problem):
        return buy, sell, False
    moved_buy, moved_sell, stopped = _searched(
        _Model(problem, tie_break=False), buy, sell, deadline, MAX_IMPROVE
    )
    if less_drift(problem, (buy, sell), (moved_buy, moved_sell)):
        return moved_buy, moved_sell, stopped
    return buy, sell, stopped


def less_drift(
    problem: Problem, plan: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray]
) -> bool:
    """Whether plan ``other`` (buy, sell) should replace ``plan`` for its drift: less
    contract drift (by more than LEAST_DRIFT_TOL), no more cap breach, and a lower
    objective without the tie-breaker (the terms of :func:`least_drift` and of the MILP's
    program without the tie-breaker)."""
    untied = objective(problem, *other, tie_break=False)
    if not math.isfinite(untied) or untied >= objective(problem, *plan, tie_break=False):
        return False
    if contract_drift(problem, *other) >= contract_drift(problem, *plan) - LEAST_DRIFT_TOL:
        return False
    return _no_more_cap_breach(problem, plan, other)


def _no_more_cap_breach(
    problem: Problem, plan: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray]
) -> bool:
    return breaches(problem, *other)[0] <= breaches(problem, *plan)[0] + BREACH_TOL


def spread(
    problem: Problem, buy: np.ndarray, sell: np.ndarray, deadline: float | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The plan ``buy``/``sell`` after the local search with the tie-breaker, kept only
    when its objective without the tie-breaker (the drift and costs) and its cap breach
    are no higher: the spread among plans of equal drift, never bought with drift (the
    reverse of :func:`least_drift`). ``deadline`` and the third value as in :func:`polish`.
    """
    if not _searchable(problem):
        return buy, sell, False
    moved_buy, moved_sell, stopped = _searched(
        _Model(_after_costs(problem, buy, sell)), buy, sell, deadline
    )
    untied = objective(problem, moved_buy, moved_sell, tie_break=False)
    held = untied <= objective(problem, buy, sell, tie_break=False) + LEAST_DRIFT_TOL
    kept = _no_more_cap_breach(problem, (buy, sell), (moved_buy, moved_sell))
    if held and kept and objective(problem, moved_buy, moved_sell) < objective(problem, buy, sell):
        return moved_buy, moved_sell, stopped
    return buy, sell, stopped


def kept_bands(
    problem: Problem, buy: np.ndarray, sell: np.ndarray, deadline: float | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """In band mode, the plan ``buy``/``sell`` with less band breach and no more cap
    breach, if the local search with bands :data:`STRICT_BAND_SCALE` times dearer (caps
    dearer still) finds one; else the plan unchanged.

    Bands come before drift and costs: the weighted objective prices a band's breach at
    BAND_PENALTY, so the polish takes a band missed by 2e-6 of the value to save a fee
    (band mode at 100 assets with fee_min). ``deadline`` and the third value as in
    :func:`polish`.
    """
    have = breaches(problem, buy, sell)
    if problem.mode != "band" or have[1] <= BREACH_TOL or not _searchable(problem):
        return buy, sell, False
    strict = _Model(
        _after_costs(problem, buy, sell),
        cap_scale=STRICT_CAP_SCALE * STRICT_BAND_SCALE,
        band_scale=STRICT_BAND_SCALE,
    )
    moved_buy, moved_sell, stopped = _searched(strict, buy, sell, deadline)
    if not math.isfinite(objective(problem, moved_buy, moved_sell)):
        return buy, sell, stopped
    now = breaches(problem, moved_buy, moved_sell)
    if now[1] < have[1] - BREACH_TOL and now[0] <= have[0] + BREACH_TOL:
        return moved_buy, moved_sell, stopped
    return buy, sell, stopped


def _mended_in_groups(
    problem: Problem, buy: np.ndarray, sell: np.ndarray, deadline: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``buy``/``sell`` with Min/Max breaches mended by a share, its group paid back by
    the opposite share of another member, while that lowers the cap breach.

    A member over its Max inside a group held at its floor (or under its Min inside a
    group at its cap) cannot move alone without breaching the group; the local search's
    pairs are drawn from the cheapest moves overall and miss the member that could
    move with it ("all" at 500 assets: three of these left, 6e-5 to 1e-4 of breach).
    Each round ranks every member as the partner of the worst-breached asset by the cap
    breach, then band breach, the pair leaves (the plan's costs held), and takes the
    best of the first :data:`MEND_CHECKS` that :func:`.model.breaches` (costs and all)
    confirms. At most two rounds per breached asset and :data:`MAX_IMPROVE` in all (a
    bounded number of steps), or until ``deadline``.
    """
    x = buy - sell
    a = problem.price / problem.value
    low, high = -np.floor(problem.sell_max + 1e-9), np.floor(problem.buy_max + 1e-9)
    band = problem.mode == "band"
    group_of = np.full(problem.n, -1, dtype=np.int64)
    for g, (_label, members, lo, hi) in enumerate(problem.groups):
        if lo is not None or hi is not None:
            group_of[members] = g

    best = breaches(problem, buy, sell)
    tried: set[int] = set()
    breached = excesses((problem.held + x) * a, problem.min_weight, problem.max_weight) > 0
    for _ in range(min(2 * int(np.sum(breached)), MAX_IMPROVE)):
        if best[0] <= BREACH_TOL:
            break
        if deadline is not None and time.perf_counter() >= deadline:
            break
        costs = settle_pools(problem, np.maximum(x, 0.0), np.maximum(-x, 0.0)).costs
        k = 1.0 - costs / problem.value
        w = (problem.held + x) * a
        own = excesses(w, problem.min_weight * k, problem.max_weight * k)
        own[list(tried)] = 0.0
        i = int(np.argmax(own))
        if own[i] <= BREACH_TOL:
            break
        tried.add(i)
        g = int(group_of[i])
        step = -1.0 if w[i] > problem.max_weight[i] * k else 1.0
        if g < 0 or not low[i] <= x[i] + step <= high[i]:
            continue
        _label, members, g_lo, g_hi = problem.groups[g]
        j = members[(members != i) & (low[members] <= x[members] - step)]
        j = j[x[j] - step <= high[j]]
        if not len(j):
            continue
        w_i = w[i] + step * a[i]
        w_j = w[j] - step * a[j]
        total = float(w[members].sum())
        moved_total = total + step * (a[i] - a[j])
        g_bounds = (
            math.nan if g_lo is None else g_lo * k,
            math.nan if g_hi is None else g_hi * k,
        )
        cap_change = (
            excesses(
                np.array([w_i]),
                problem.min_weight[i : i + 1] * k,
                problem.max_weight[i : i + 1] * k,
            )
            + excesses(w_j, problem.min_weight[j] * k, problem.max_weight[j] * k)
            - own[i]
            - excesses(w[j], problem.min_weight[j] * k, problem.max_weight[j] * k)
            + excesses(moved_total, np.full(len(j), g_bounds[0]), np.full(len(j), g_bounds[1]))
            - excesses(np.array([total]), np.array([g_bounds[0]]), np.array([g_bounds[1]]))
        )
        band_change = np.zeros(len(j))
        if band:
            band_change = (
                excesses(
                    np.array([w_i]), problem.band_lo[i : i + 1] * k, problem.band_hi[i : i + 1] * k
                )
                + excesses(w_j, problem.band_lo[j] * k, problem.band_hi[j] * k)
                - excesses(
                    w[i : i + 1], problem.band_lo[i : i + 1] * k, problem.band_hi[i : i + 1] * k
                )
                - excesses(w[j], problem.band_lo[j] * k, problem.band_hi[j] * k)
            )
        order = np.lexsort((band_change, cap_change))
        found = None
        for partner in j[order[:MEND_CHECKS]]:
            y = x.copy()
            y[i] += step
            y[partner] -= step
            y_buy, y_sell = np.maximum(y, 0.0), np.maximum(-y, 0.0)
            if not math.isfinite(objective(problem, y_buy, y_sell)):
                continue
            score = breaches(problem, y_buy, y_sell)
            if score[0] < best[0] - BREACH_TOL and (found is None or score < found[0]):
                found = (score, y)
        if found is not None:
            best, x = found
            tried.clear()
    return np.maximum(x, 0.0), np.maximum(-x, 0.0)


def _improve(
    model: _Model, x: np.ndarray, deadline: float | None = None, rounds: int | None = None
) -> tuple[np.ndarray, float]:
    """Local search from a feasible plan: best single +-1 share or pair swap, repeated
    (until no move helps, ``rounds`` of them (default ``MAX_IMPROVE`` + 2 per asset), or
    ``deadline``: see :func:`polish`)."""
    x = x.copy()
    best, total = x.copy(), model.total(x)
    seen = {x.tobytes()}
    pools = model.pools > 1
    onehot = np.eye(model.pools)[model.pool]
    for _ in range(MAX_IMPROVE + 2 * len(x) if rounds is None else rounds):
        if deadline is not None and time.perf_counter() >= deadline:
            break
        c = model.c0 + float(model.dc(x).sum())
        base_f, base_dc = model.f(x), model.dc(x)
        balances = model.balances(x) if pools else np.empty(0)
        here = float(model.pool_cash(balances)[()]) if pools else model.g(c)
        if not math.isfinite(here):
            # A start this model cannot price (cash overdrawn as it reads them, where the
            # program's costs or tolerance differ) has no gains to rank: each would be
            # inf - inf, and the search would wander on NaN for its whole budget.
            break

        step_f, step_dc, step_dx = [], [], []
        for d in (1.0, -1.0):
            moved = np.clip(x + d, model.lo, model.hi)
            if model.segmented:
                # Below min_trade a step of one share is no order at all: step to 0.
                moved = np.where(
                    (moved != 0) & (np.abs(moved) < model.min_shares),
                    np.where(np.abs(x) < np.abs(moved), d * model.min_shares, 0.0),
                    moved,
                )
                moved = np.clip(moved, model.lo, model.hi)
            step_f.append(np.where(moved == x, np.inf, model.f(moved) - base_f))
            step_dc.append(model.dc(moved) - base_dc)
            step_dx.append(moved - x)
        up_f, down_f = step_f
        up_dc, down_dc = step_dc
        up_dx, down_dx = step_dx
        rows = np.arange(len(x))
        sums = model.group_sums(x)
        if len(model.group_nu):
            up_f = up_f + model.group_moves(rows, model.a, sums)
            down_f = down_f + model.group_moves(rows, -model.a, sums)
        # Singles: one share more or fewer of one asset.
        both = np.concatenate([rows, rows])
        single = np.concatenate([up_f, down_f]) + _moved_cash(
            model, c, balances, onehot, ((both, np.concatenate([up_dc, down_dc])),)
        )
        single = single - here
        # Pairs: one share fewer of i, one more of j, among the cheapest moves each way
        # (all n x n pairs cost seconds per round at 2,000 assets; this only seeds the
        # proof, so a good pair is enough).
        downs = _cheapest(down_f, PAIR_CANDIDATES)
        ups = _cheapest(up_f, PAIR_CANDIDATES)
        pair_cash = _moved_cash(
            model,
            c,
            balances,
            onehot,
            ((downs[:, None], down_dc[downs][:, None]), (ups[None, :], up_dc[ups][None, :])),
        )
        pair = down_f[downs][:, None] + up_f[ups][None, :] + pair_cash - here
        if len(model.group_nu):
            # Within one group the two moves net out: its penalty changes once, not twice.
            gd, gu = model.group_of[downs][:, None], model.group_of[ups][None, :]
            same = (gd == gu) & (gd >= 0)
            if np.any(same):
                net = model.a[ups][None, :] - model.a[downs][:, None]
                joint = model.group_moves(np.broadcast_to(downs[:, None], net.shape), net, sums)
                single_moves = (
                    model.group_moves(downs, -model.a[downs], sums)[:, None]
                    + model.group_moves(ups, model.a[ups], sums)[None, :]
                )
                pair = pair + np.where(same, joint - single_moves, 0.0)
        pair[downs[:, None] == ups[None, :]] = np.inf  # one share fewer and more of one asset
        k_single, k_pair = int(np.argmin(single)), int(np.argmin(pair))
        gain_single = float(single.flat[k_single])
        gain_pair = float(pair.flat[k_pair])
        if min(gain_single, gain_pair) >= -TOLERANCE:
            break
        if gain_single <= gain_pair:
            n = len(x)
            k = k_single % n
            assets = np.array([k])
            steps = np.array([(up_dx if k_single < n else down_dx)[k]])
        else:
            i, j = divmod(k_pair, len(ups))
            assets = np.array([downs[i], ups[j]])
            steps = np.array([down_dx[downs[i]], up_dx[ups[j]]])
        x[assets] += steps
        # The gains are the model's own terms, summed move by move, and can misjudge a
        # move (an interaction they leave out). A misjudged move can still lead on to a
        # better plan, so it is taken; but the plan returned is the best the model's total
        # saw, and a plan seen before ends the search: between two such plans it stepped
        # back and forth for its whole budget ("all", 10 assets: 0.25 s), ending on the
        # worse one when the rounds came out odd.
        now = model.total(x)
        if np.all(np.abs(steps) == 1.0):  # not a jump to 0 or to the least order
            x, now = _line_searched(model, x, assets, steps, now)
        if now < total:
            best, total = x.copy(), now
        state = x.tobytes()
        if state in seen:
            break
        seen.add(state)
    return best, total


def _line_searched(
    model: _Model, x: np.ndarray, assets: np.ndarray, steps: np.ndarray, now: float
) -> tuple[np.ndarray, float]:
    """``x`` after a move of ``assets`` by ``steps`` (one share each; total ``now``), with
    that move made 2, 4, 8... times instead while the model's total keeps falling.

    One share a round, a start 154 shares from an asset's band took the search's whole
    budget (band mode, 25 assets: 250 rounds, 78 ms of a 97 ms plan) and ended short of it,
    as did a pair of assets trading one share at a time. A trade under ``min_trade`` is no
    plan here: the line stops before one.
    """
    start = x[assets] - steps
    best_x, best_total = x, now
    times = 2.0
    while True:
        to = np.clip(start + times * steps, model.lo[assets], model.hi[assets])
        if np.array_equal(to, best_x[assets]):
            break
        if model.segmented and np.any((to != 0) & (np.abs(to) < model.min_shares[assets])):
            break
        y = best_x.copy()
        y[assets] = to
        total = model.total(y)
        if not total < best_total - TOLERANCE:
            break
        best_x, best_total = y, total
        times *= 2.0
    return best_x, best_total


def _feasible_start(model: _Model, x: np.ndarray) -> np.ndarray | None:
    """A plan that pays, between ``x`` and the plan that leaves the most cash in every pool
    (``None``: no plan pays).

    The most cash: each asset sold out where that brings cash (a sale under
    ``fee_min`` may not), else left alone. Bisection (a fixed number of steps) on how
    far each trade moves towards it; orders under ``min_trade`` are dropped (purchases)
    or raised to it (sales).
    """
    most = np.where(model.dc(model.lo) > 0, model.lo, 0.0)

    def blend(t: float) -> np.ndarray:
        y = np.clip(np.floor(x + (most - x) * t), model.lo, model.hi)
        small = (y != 0) & (np.abs(y) < model.min_shares)
        sale = np.where(model.lo <= -model.min_shares, -model.min_shares, 0.0)
        return np.where(small, np.where(y > 0, 0.0, sale), y)

    lo, hi = 0.0, 1.0
    if not math.isfinite(model.total(blend(hi))):
        return None
    for _ in range(FEASIBLE_BISECTIONS):
        mid = 0.5 * (lo + hi)
        if math.isfinite(model.total(blend(mid))):
            hi = mid
        else:
            lo = mid
    return blend(hi)


def _moved_cash(
    model: _Model,
    cash: float,
    balances: np.ndarray,
    onehot: np.ndarray,
    moves: tuple[tuple[np.ndarray, np.ndarray], ...],
) -> np.ndarray:
    """The cash penalty after ``moves`` (assets, the cash each brings; broadcast together)
    from total ``cash`` (one pool) or pool ``balances``; ``onehot`` maps assets to pools."""
    if model.pools == 1:
        after: float | np.ndarray = cash
        for _, dc in moves:
            after = after + dc
        return _cash_penalty(model, np.asarray(after))
    d = balances
    for assets, dc in moves:
        d = d + onehot[assets] * dc[..., None]
    return model.pool_cash(d)


def _cheapest(values: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` smallest values, in index order (ties: lower index)."""
    if len(values) <= count:
        return np.arange(len(values))
    return np.sort(np.argsort(values, kind="stable")[:count])


def _cash_penalty(model: _Model, cash: np.ndarray) -> np.ndarray:
    out = model.drift_weight * piecewise(
        cash - model.cash_target, np.asarray(model.cash_scale), model.piece_step
    )
    for edge, sign in model.cash_soft:
        out = out + model.cash_penalty * np.maximum(sign * (cash - edge), 0.0)
    return np.where(cash < -1e-15, np.inf, out)


def _suffix_rates(
    core: list[int],
    alts: list[list[tuple[float, float, float]]],
    move: Callable[[int, float, float], float],
    member: list[bool] | None = None,
) -> tuple[list[float], list[float]]:
    """Per suffix ``core[k:]``: the least reduced cost per unit ``move`` up and down.

    ``move(item, shares, cash)`` is what an alternative moves (cash, a group's weight);
    only items with ``member[item]`` count (all when ``None``).
    """
    m = len(core)
    ups, downs = [math.inf] * (m + 1), [math.inf] * (m + 1)
    for k in range(m - 1, -1, -1):
        up, down = ups[k + 1], downs[k + 1]
        item = core[k]
        if member is None or member[item]:
            for r_val, xv, dcv in alts[item]:
                step = move(item, xv, dcv)
                if step > 0:
                    up = min(up, r_val / step)
                elif step < 0:
                    down = min(down, r_val / -step)
        ups[k], downs[k] = up, down
    return ups, downs


def _segments(
    model: _Model, mu: float | np.ndarray, x_hat: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where the search looks for alternatives: (asset, centre, lowest, highest) per segment.

    Without ``fee_min``/``min_trade`` phi_i is convex over all share counts: one segment
    per asset, centred on ``x_hat``. With them, each side of 0 (from the smallest order
    on) and 0 itself, each centred on its least phi among the candidates (f_i's kinks
    and the segment's ends are among them, so that is the segment's least).
    """
    n = len(x_hat)
    if not model.segmented:
        return np.arange(n), x_hat.copy(), model.lo.copy(), model.hi.copy()
    cand = model.candidates
    phi = model.phi(cand, mu)
    rows, centre, seg_lo, seg_hi = [np.arange(n)], [np.zeros(n)], [np.zeros(n)], [np.zeros(n)]
    sides = (
        (cand >= model.min_shares[:, None], model.min_shares, model.hi),
        (cand <= -model.min_shares[:, None], model.lo, -model.min_shares),
    )
    for mask, lo, hi in sides:
        values = np.where(mask, phi, np.inf)
        pick = np.argmin(values, axis=1)
        has = (lo <= hi) & np.isfinite(values[np.arange(n), pick])
        rows.append(np.flatnonzero(has))
        centre.append(cand[has, pick[has]])
        seg_lo.append(lo[has])
        seg_hi.append(hi[has])
    return tuple(np.concatenate(v) for v in (rows, centre, seg_lo, seg_hi))  # type: ignore[return-value]


def _search(
    model: _Model,
    problem: Problem,
    start: np.ndarray | None = None,
    node_budget: int | None = None,
) -> tuple[np.ndarray, float]:
    """The best plan and its proven gap (0 when the search finished); ``start``: one more
    first plan; ``node_budget``: other than the structure's."""
    pools = model.pools > 1
    floors: list[float] = []
    mus: float | np.ndarray
    if pools:
        mu, tried = _best_pool_mu(model)
        bound, x_hat, lam, _, _, floors = model.pool_lagrangian(mu)
        mus = lam[model.pool]
    else:
        mu, tried = _best_mu(model)
        bound, x_hat, _, _ = model.lagrangian(mu)
        mus, lam = mu, np.empty(0)
    n = len(x_hat)
    # Incumbent: the best feasible of the Lagrangian plans seen and the greedy plan.
    fallback = greedy(problem)
    starts = [*tried, x_hat, fallback.buy - fallback.sell]
    if start is not None:
        starts.append(start)
    best_x, best = x_hat, math.inf
    for candidate in starts:
        candidate = np.clip(np.round(candidate), model.lo, model.hi)
        value = model.total(candidate)
        if value < best:
            best_x, best = candidate, value
    if not math.isfinite(best) and (pools or model.segmented):
        # Pools short of cash after conversion, or orders under min_trade: move towards
        # selling all that may be sold (the most cash there is) until the plan pays.
        repaired = _feasible_start(model, x_hat)
        if repaired is not None:
            best_x, best = repaired, model.total(repaired)
    if not math.isfinite(best):
        raise _OverBudgetError
    best_x, best = _improve(model, best_x)

    def proven_within() -> float:
        # Full mode: exact (TOLERANCE). Band mode weighs drift by 1e-3, and its nearly flat
        # objective kept the search going through its whole budget for plans that differ
        # by nothing visible: there "optimal" is the MILP's own (MIP_ABS_GAP/MIP_REL_GAP).
        if model.drift_weight >= 1.0:
            return TOLERANCE
        return max(TOLERANCE, MIP_ABS_GAP, MIP_REL_GAP * abs(best))

    def unproven_from(floor: float) -> tuple[np.ndarray, float]:
        """The incumbent and its gap to ``floor``, a proven lower bound."""
        if best - floor <= proven_within():
            return np.asarray(best_x, dtype=float), 0.0
        return np.asarray(best_x, dtype=float), max(best - floor, TOLERANCE)

    def unproven() -> tuple[np.ndarray, float]:
        return unproven_from(bound)

    if best - bound <= proven_within():
        return unproven()

    phi_hat = model.phi(x_hat, mus)

    def reduced(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return model.phi(x, mus, rows) - phi_hat[rows][:, None]

    nodes = 0
    budget = MAX_NODES_GROUPS if len(model.group_nu) else MAX_NODES
    if n <= SMALL_MODEL_ASSETS:
        budget = min(budget, MAX_NODES_SMALL)
    if pools or model.segmented:
        budget = min(budget, MAX_NODES_COSTS + MAX_NODES_PER_ASSET * n, MAX_NODES_COSTS_CAP)
    if node_budget is not None:
        budget = node_budget

    def explore(ceiling: float) -> bool:
        """Every plan below ``ceiling`` (keeping the best); False when its alternatives
        are too many to list (see MAX_ALTERNATIVES), so the search cannot finish."""
        nonlocal nodes, best, best_x
        gap = ceiling - bound + TOLERANCE
        # Alternatives per asset: share counts other than x_hat with reduced cost <= gap,
        # found in windows growing around each segment's least phi (phi is convex there, so
        # a window whose ends are dearer than the gap holds all of the segment's).
        alts: list[list[tuple[float, float, float]]] = [[] for _ in range(n)]
        tasks = _segments(model, mus, x_hat)
        width = 4
        total_alts = 0
        while len(tasks[0]):
            rows, centre, seg_lo, seg_hi = tasks
            offsets = np.arange(-width, width + 1, dtype=float)
            xs = centre[:, None] + offsets[None, :]
            inside = (xs >= seg_lo[:, None]) & (xs <= seg_hi[:, None])
            clipped = np.clip(xs, seg_lo[:, None], seg_hi[:, None])
            r = np.where(inside, reduced(clipped, rows), np.inf)
            keep = r <= gap
            edge = keep[:, 0] | keep[:, -1]
            finished = np.flatnonzero(~edge)
            cash = model.dc(clipped[finished], rows[finished]) if len(finished) else clipped[:0]
            for f, j in enumerate(finished):
                row = int(rows[j])
                for col in np.flatnonzero(keep[j]):
                    xv = float(xs[j, col])
                    if xv != x_hat[row]:
                        alts[row].append((float(r[j, col]), xv, float(cash[f, col])))
                        total_alts += 1
            if total_alts > MAX_ALTERNATIVES:
                return False
            tasks = (rows[edge], centre[edge], seg_lo[edge], seg_hi[edge])
            width *= 4
            if width > MAX_WINDOW and len(tasks[0]):
                return False
        dc_hat = model.dc(x_hat)
        core = [i for i in range(n) if alts[i]]

        # Cheapest reduced cost per unit of cash first: the bound below then tightens
        # quickly with depth (expknap's ratio order around the break item).
        def ratio(i: int) -> float:
            return min(r / max(abs(dcv - float(dc_hat[i])), 1e-300) for r, _, dcv in alts[i])

        core.sort(key=ratio)
        for i in core:
            alts[i].sort()
        # Cheapest reduced cost per unit of cash, up and down, among the core's suffix.
        m = len(core)

        def cash_move(item: int, _xv: float, dcv: float) -> float:
            return dcv - float(dc_hat[item])

        rho_up, rho_down = _suffix_rates(core, alts, cash_move)

        cash_min = min(model.g(c) - mu * c for c in model.cash_breaks)
        breaks = [float(c) for c in model.cash_breaks]
        c_max = model.c_max

        def r_cash(c: float) -> float:
            if c < -1e-15 or c > c_max + 1e-12:
                return math.inf
            return model.g(c) - mu * c - cash_min

        # r_c is convex with its least value at c_best: from c, only the breaks on the way
        # to c_best can lower the bound (moving away raises both r_c and the moving cost).
        at_breaks = [(c, r_cash(c)) for c in breaks]
        c_best = min(at_breaks, key=lambda item: item[1])[0]
        below = [item for item in at_breaks if item[0] <= c_best]
        above = [item for item in at_breaks if item[0] >= c_best]

        # With pools the cash bound is on T = sum_p h(d_p), which moves by at most
        # 1 / (1 - spread) per unit of cash a trade brings.
        t_scale = 1.0 - model.spread if model.pools > 1 else 1.0

        ups = [v * t_scale for v in rho_up]
        downs = [v * t_scale for v in rho_down]

        def cash_bound(c: float, k: int) -> float:
            """Least r_c plus the reduced cost of moving the cash from c, items k.. free."""
            out = r_cash(c)
            if c < c_best:
                up = ups[k]
                if up < math.inf:
                    for target, r_target in below:
                        if target > c:
                            value = r_target + up * (target - c)
                            if value < out:
                                out = value
            elif c > c_best:
                down = downs[k]
                if down < math.inf:
                    for target, r_target in above:
                        if target < c:
                            value = r_target + down * (c - target)
                            if value < out:
                                out = value
            return out

        # Groups: r_g(s) = h_g(s) - nu_g s - min(h_g - nu_g s) >= 0 is each group's share of
        # F - L. The same bound as the cash's, per group: the least r_g plus the reduced cost
        # of moving the group's weight there with its members still free (items k..).
        n_groups = len(model.group_nu)
        group_of = [int(g) for g in model.group_of]
        a_list = [float(v) for v in model.a]
        group_rho: list[tuple[list[float], list[float]]] = []
        group_points: list[list[float]] = []
        group_floor = [model.group_min(g) for g in range(n_groups)]

        def weight_move(item: int, xv: float, _dcv: float) -> float:
            return a_list[item] * (xv - float(x_hat[item]))

        for g in range(n_groups):
            group_rho.append(_suffix_rates(core, alts, weight_move, [v == g for v in group_of]))
            group_points.append(model.group_breaks(g))

        def r_group(g: int, s: float) -> float:
            return model.h(g, s) - float(model.group_nu[g]) * s - group_floor[g]

        def group_bound(g: int, s: float, k: int) -> float:
            out = r_group(g, s)
            up, down = group_rho[g][0][k], group_rho[g][1][k]
            for point in group_points[g]:
                rho = up if point > s else down
                if rho < math.inf:
                    out = min(out, r_group(g, point) + rho * abs(point - s))
            return out

        # Pools: F - L also holds each pool's r_p(d_p) = xi_p(d_p) - lam_p d_p - min >= 0
        # (see _Model.pool_lagrangian), bounded per pool like a group, by its own items.
        pool_of = [int(p) for p in model.pool]
        balances = [float(v) for v in model.balances(x_hat)] if pools else []
        lams = [float(v) for v in lam] if pools else []
        pool_rho: list[tuple[list[float], list[float]]] = []
        for p in range(model.pools if pools else 0):
            pool_rho.append(_suffix_rates(core, alts, cash_move, [v == p for v in pool_of]))

        def r_pool(p: int, d: float) -> float:
            return model.pool_xi(d, mu, lams[p]) - floors[p]

        def pool_bound(p: int, d: float, k: int) -> float:
            out = r_pool(p, d)
            up, down = pool_rho[p][0][k], pool_rho[p][1][k]
            for point in model.pool_points[p]:
                rho = up if point > d else down
                if rho < math.inf:
                    out = min(out, r_pool(p, point) + rho * abs(point - d))
            return out

        def rest_bound(k: int, cash: float, sums: list[float]) -> float:
            # One free item can move both the cash and its group: the larger bound, not the
            # sum (at k == m nothing is free and the two are exact, so they add).
            if pools:
                total = sum(model.pool_h(v) for v in balances)
                if k == m:
                    return r_cash(total) + sum(r_pool(p, v) for p, v in enumerate(balances))
                return max(
                    cash_bound(total, k), sum(pool_bound(p, v, k) for p, v in enumerate(balances))
                )
            if not n_groups:
                return cash_bound(cash, k)
            groups = sum(group_bound(g, sums[g], k) for g in range(n_groups))
            if k == m:
                return r_cash(cash) + groups
            return max(cash_bound(cash, k), groups)

        x = x_hat.copy()
        cash_hat = model.c0 + float(dc_hat.sum())
        sums_hat = [float(v) for v in model.group_sums(x_hat)]

        # What a plan must come under to be searched for (best less the tolerance), kept
        # beside best: the search tests it at every node and alternative.
        cut = min(ceiling, best - proven_within())
        dc_list = [float(v) for v in dc_hat]
        plain = not pools and not n_groups

        def visit(k: int, spent: float, cash: float) -> None:
            nonlocal nodes, best, best_x, cut
            nodes += 1
            if nodes > budget:
                raise _OverBudgetError
            rest = cash_bound(cash, k) if plain else rest_bound(k, cash, sums_hat)
            bound_here = bound + spent + rest
            if bound_here >= cut:
                return
            if k == m:
                best, best_x = bound_here, x.copy()
                cut = best - proven_within()
                return
            i = core[k]
            visit(k + 1, spent, cash)
            keep_x = x[i]
            g = group_of[i]
            dch = dc_list[i]
            for r_val, xv, dcv in alts[i]:
                if bound + spent + r_val >= cut:
                    break
                x[i] = xv
                if g >= 0:
                    moved = a_list[i] * (xv - float(keep_x))
                    sums_hat[g] += moved
                if pools:
                    saved = balances[pool_of[i]]
                    balances[pool_of[i]] = saved + dcv - dch
                visit(k + 1, spent + r_val, cash + dcv - dch)
                if pools:
                    balances[pool_of[i]] = saved
                if g >= 0:
                    sums_hat[g] -= moved
            x[i] = keep_x

        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, m + 200))
        try:
            visit(0, 0.0, cash_hat)
        finally:
            sys.setrecursionlimit(limit)
        return True

    # Ceilings below the incumbent first, rising: a search under a low ceiling lists
    # few alternatives and prunes hard, and the optimum is often far below the first
    # plan (found last by a search under the incumbent alone). A search that finishes
    # without a plan proves the optimum is at least its ceiling.
    floor = bound
    for share in CEILINGS:
        ceiling = min(floor + share * (best - floor), best)
        try:
            finished = explore(ceiling)
        except _OverBudgetError:
            return unproven_from(floor)
        if not finished:
            return unproven_from(floor)
        if best < ceiling or ceiling >= best:
            # Every plan below the ceiling was seen, the best of them kept.
            return np.asarray(best_x, dtype=float), 0.0
        floor = ceiling
    return np.asarray(best_x, dtype=float), 0.0
