"""Exact fast path for the common rebalance: one cash pool, whole shares, no side constraints.

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

The search has a fixed budget counted in steps (nodes, window widths, alternatives,
local-search rounds), never in seconds, so its answer is a function of the problem
alone. Past it, or when a problem has another structure, the caller runs the MILP;
a ``method="milp"`` answer from here is the proven optimum (within ``1e-12`` of it).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .greedy import greedy
from .model import (
    BAND_DRIFT_WEIGHT,
    BAND_PENALTY,
    CAP_PENALTY,
    COST_WEIGHT,
    MIP_ABS_GAP,
    MIP_REL_GAP,
    PIECE_WIDTHS,
    TURNOVER_COST,
    WASH_COST,
    Problem,
    Solution,
    objective,
    piecewise,
    slopes,
)

__all__ = ["applies", "solve"]

#: Search budget before handing the problem to the MILP.
MAX_NODES = 200_000
#: Widest window of share counts per asset, and most alternatives over all assets.
MAX_WINDOW = 4096
MAX_ALTERNATIVES = 50_000
#: Plans within this of the incumbent are not searched for (weight units).
TOLERANCE = 1e-12
#: Breach (weights) below which a cap or band counts as kept: milp.BREACH_TOL.
BREACH_TOL = 1e-7
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

    Band mode and per-asset Min/Max are separable too, but their bounds are weights of
    the value *after* costs (the MILP's cost variable): they come here only when no
    cost can arise (no fee, no tax), where that value is the value before.
    """
    costless = problem.fee_rate <= 0 and not bool(np.any(problem.sell_tax > 0))
    bounded = not (
        bool(np.all(np.isnan(problem.min_weight))) and bool(np.all(np.isnan(problem.max_weight)))
    )
    return (
        (problem.mode == "full" or costless)
        and (not bounded or costless)
        and problem.whole
        and len(problem.cash_start) == 1
        and problem.fee_min <= 0
        and problem.min_trade <= 0
        and problem.value > 0
        and all(lo is None and hi is None for _, _, lo, hi in problem.groups)
        and bool(np.all(np.isfinite(problem.buy_max)))
        and bool(np.all(np.isfinite(problem.sell_max)))
        and bool(np.all(problem.pool == 0))
    )


#: Weights of the breach-only program (see solve): a cap before a band.
_LEAST_BREACH_WEIGHTS = {"cap": 1e4, "band": 1.0}


class _Model:
    def __init__(self, problem: Problem, breach_only: bool = False) -> None:
        a = problem.price / problem.value
        fee, tax = problem.fee_rate, problem.sell_tax
        band = problem.mode == "band"
        # The program's weights (see .milp): band mode trades to the band edge, its
        # turnover cost outweighing the small drift term that decides where cash goes.
        self.drift_weight = BAND_DRIFT_WEIGHT if band else 1.0
        turnover = TURNOVER_COST if band else WASH_COST
        self.cost_weight = COST_WEIGHT * (BAND_PENALTY if band else 1.0)
        self.costless = fee <= 0 and not bool(np.any(tax > 0))
        self.a = a
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
        soft = [(problem.min_weight, problem.max_weight, CAP_PENALTY)]
        if band:
            soft.append((problem.band_lo, problem.band_hi, BAND_PENALTY))
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
        self.cash_penalty = BAND_PENALTY
        if breach_only:
            # Only the distance outside caps and bands counts: the least breach whole
            # shares allow, which the weighted program's answer must match (see solve).
            self.drift_weight = 0.0
            self.buy_cost = np.zeros(len(a))
            self.sell_cost = np.zeros(len(a))
            self.soft = [
                (lo, hi, _LEAST_BREACH_WEIGHTS["cap" if penalty == CAP_PENALTY else "band"])
                for lo, hi, penalty in self.soft
            ]
            self.cash_penalty = _LEAST_BREACH_WEIGHTS["band"]
        self.buy_cash = a * (1.0 + fee)  # cash paid per share bought
        self.sell_cash = a * (1.0 - tax - fee)  # cash received per share sold
        self.c0 = float(problem.cash_start[0] / problem.value)
        self.cash_target = float(problem.cash_target * problem.shrink)
        self.cash_scale = max(self.cash_target, 0.01)
        steps = [float(v) for v in slopes(1.0)]
        self.cash_pieces = [
            (w * self.cash_scale, slope) for w, slope in zip(PIECE_WIDTHS, steps[:-1], strict=False)
        ]
        self.cash_last_slope = steps[-1]
        self.c_max = self.c0 + float((self.sell_cash * -self.lo).sum())
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
        raw = np.column_stack([*edges, np.zeros(len(a))])
        cand = np.concatenate([np.floor(raw), np.ceil(raw)], axis=1)
        cand = np.concatenate([cand, self.lo[:, None], self.hi[:, None]], axis=1)
        self.candidates = np.clip(cand, self.lo[:, None], self.hi[:, None])

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
        out = self.drift_weight * piecewise(weight - target, scale)
        out = out + np.where(x > 0, x * bc, -x * sc)
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
        return np.where(x > 0, -x * bcash, -x * scash)

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

    def lagrangian(self, mu: float) -> tuple[float, np.ndarray, float, float]:
        """L(mu), the per-asset argmins, the cash argmin and the subgradient."""
        phi = self.f(self.candidates) + mu * self.dc(self.candidates)
        pick = np.argmin(phi, axis=1)
        rows = np.arange(len(pick))
        x = self.candidates[rows, pick]
        cash_vals = np.array([self.g(c) - mu * c for c in self.cash_breaks])
        k = int(np.argmin(cash_vals))
        value = float(phi[rows, pick].sum()) + float(cash_vals[k]) + mu * self.c0
        slope = self.c0 + float(self.dc(x).sum()) - float(self.cash_breaks[k])
        return value, x, float(self.cash_breaks[k]), slope

    def total(self, x: np.ndarray) -> float:
        c = self.c0 + float(self.dc(x).sum())
        return float(self.f(x).sum()) + self.g(c)


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
        method, detail = "milp", "exact knapsack search (one cash pool): proved optimal"
    else:
        method, detail = "milp-time-limit", "knapsack search budget spent: best plan found"
    if gap == 0.0 and not _least_breach(problem, model, x):
        # Caps and bands come first, lexicographically (as in the MILP): a weighted
        # optimum that a plan with less breach beats is not the answer; the MILP's
        # least-breach phases take over from it.
        method, detail = "milp-time-limit", "a plan with less breach may exist"
        gap = math.inf
    solution = Solution(buy, sell, method, detail, value)
    if gap:
        solution.extra["gap"] = gap
    return solution


def _least_breach(problem: Problem, model: _Model, x: np.ndarray) -> bool:
    """Whether plan ``x`` (net share changes) has the least breach whole shares allow."""
    if not model.soft and not model.cash_soft:
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
    lo, hi = -1.0, 0.95 * model.cost_weight
    if model.costless:
        hi = 2.0 * CAP_PENALTY
    seen: list[np.ndarray] = []
    best_value, best_mu = -math.inf, 0.0

    def probe(mu: float) -> float:
        nonlocal best_value, best_mu
        value, x, _, slope = model.lagrangian(mu)
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


def _improve(model: _Model, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Local search from a feasible plan: best single +-1 share or pair swap, repeated."""
    x = x.copy()
    for _ in range(MAX_IMPROVE + 2 * len(x)):
        c = model.c0 + float(model.dc(x).sum())
        base_f, base_dc, here = model.f(x), model.dc(x), model.g(c)
        step_f, step_dc = [], []
        for d in (1.0, -1.0):
            moved = np.clip(x + d, model.lo, model.hi)
            step_f.append(np.where(moved == x, np.inf, model.f(moved) - base_f))
            step_dc.append(model.dc(moved) - base_dc)
        up_f, down_f = step_f
        up_dc, down_dc = step_dc
        # Singles: one share more or fewer of one asset.
        cash_single = np.concatenate([up_dc, down_dc]) + c
        single = np.concatenate([up_f, down_f]) + _cash_penalty(model, cash_single) - here
        # Pairs: one share fewer of i, one more of j, among the cheapest moves each way
        # (all n x n pairs cost seconds per round at 2,000 assets; this only seeds the
        # proof, so a good pair is enough).
        downs = _cheapest(down_f, PAIR_CANDIDATES)
        ups = _cheapest(up_f, PAIR_CANDIDATES)
        cash_pair = c + down_dc[downs][:, None] + up_dc[ups][None, :]
        pair = down_f[downs][:, None] + up_f[ups][None, :] + _cash_penalty(model, cash_pair) - here
        pair[downs[:, None] == ups[None, :]] = np.inf  # one share fewer and more of one asset
        k_single, k_pair = int(np.argmin(single)), int(np.argmin(pair))
        gain_single = float(single.flat[k_single])
        gain_pair = float(pair.flat[k_pair])
        if min(gain_single, gain_pair) >= -TOLERANCE:
            break
        if gain_single <= gain_pair:
            n = len(x)
            x[k_single % n] += 1.0 if k_single < n else -1.0
        else:
            i, j = divmod(k_pair, len(ups))
            x[downs[i]] -= 1.0
            x[ups[j]] += 1.0
    return x, model.total(x)


def _cheapest(values: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` smallest values, in index order (ties: lower index)."""
    if len(values) <= count:
        return np.arange(len(values))
    return np.sort(np.argsort(values, kind="stable")[:count])


def _cash_penalty(model: _Model, cash: np.ndarray) -> np.ndarray:
    out = model.drift_weight * piecewise(cash - model.cash_target, np.asarray(model.cash_scale))
    for edge, sign in model.cash_soft:
        out = out + model.cash_penalty * np.maximum(sign * (cash - edge), 0.0)
    return np.where(cash < -1e-15, np.inf, out)


def _search(model: _Model, problem: Problem) -> tuple[np.ndarray, float]:
    """The best plan and its proven gap (0 when the search finished)."""
    mu, tried = _best_mu(model)
    bound, x_hat, _, _ = model.lagrangian(mu)
    n = len(x_hat)
    # Incumbent: the best feasible of the Lagrangian plans seen and the greedy plan.
    fallback = greedy(problem)
    starts = [*tried, x_hat, fallback.buy - fallback.sell]
    best_x, best = x_hat, math.inf
    for candidate in starts:
        candidate = np.clip(np.round(candidate), model.lo, model.hi)
        value = model.total(candidate)
        if value < best:
            best_x, best = candidate, value
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

    def unproven() -> tuple[np.ndarray, float]:
        if best - bound <= proven_within():
            return np.asarray(best_x, dtype=float), 0.0
        return np.asarray(best_x, dtype=float), max(best - bound, TOLERANCE)

    if best - bound <= proven_within():
        return unproven()

    phi_hat = model.f(x_hat) + mu * model.dc(x_hat)

    def reduced(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return model.f(x, rows) + mu * model.dc(x, rows) - phi_hat[rows][:, None]

    gap = best - bound + TOLERANCE
    # Alternatives per asset: share counts other than x_hat with reduced cost <= gap.
    alts: list[list[tuple[float, float, float]]] = [[] for _ in range(n)]
    rows = np.arange(n)
    width = 4
    total_alts = 0
    while len(rows):
        offsets = np.arange(-width, width + 1, dtype=float)
        xs = x_hat[rows][:, None] + offsets[None, :]
        inside = (xs >= model.lo[rows][:, None]) & (xs <= model.hi[rows][:, None])
        clipped = np.clip(xs, model.lo[rows][:, None], model.hi[rows][:, None])
        r = np.where(inside, reduced(clipped, rows), np.inf)
        keep = r <= gap
        edge = keep[:, 0] | keep[:, -1]
        done = rows[~edge]
        for j, row in zip(np.flatnonzero(~edge), done, strict=True):
            for col in np.flatnonzero(keep[j]):
                if offsets[col] != 0:
                    xv = float(xs[j, col])
                    dcv = float(model.dc(np.array([xv]), np.array([row]))[0])
                    alts[row].append((float(r[j, col]), xv, dcv))
            total_alts += len(alts[row])
        if total_alts > MAX_ALTERNATIVES:
            return unproven()
        rows = rows[edge]
        width *= 4
        if width > MAX_WINDOW and len(rows):
            return unproven()
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
    rho_up = [math.inf] * (m + 1)
    rho_down = [math.inf] * (m + 1)
    for k in range(m - 1, -1, -1):
        up, down = rho_up[k + 1], rho_down[k + 1]
        item = core[k]
        for r_val, _, dcv in alts[item]:
            move = dcv - float(dc_hat[item])
            if move > 0:
                up = min(up, r_val / move)
            elif move < 0:
                down = min(down, r_val / -move)
        rho_up[k], rho_down[k] = up, down

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

    def cash_bound(c: float, k: int) -> float:
        """Least r_c plus the reduced cost of moving the cash from c, items k.. free."""
        out = r_cash(c)
        if c < c_best:
            up = rho_up[k]
            if up < math.inf:
                for target, r_target in below:
                    if target > c:
                        out = min(out, r_target + up * (target - c))
        elif c > c_best:
            down = rho_down[k]
            if down < math.inf:
                for target, r_target in above:
                    if target < c:
                        out = min(out, r_target + down * (c - target))
        return out

    x = x_hat.copy()
    nodes = 0
    cash_hat = model.c0 + float(dc_hat.sum())

    def visit(k: int, spent: float, cash: float) -> None:
        nonlocal nodes, best, best_x
        nodes += 1
        if nodes > MAX_NODES:
            raise _OverBudgetError
        bound_here = bound + spent + cash_bound(cash, k)
        if bound_here >= best - proven_within():
            return
        if k == m:
            best, best_x = bound_here, x.copy()
            return
        i = core[k]
        visit(k + 1, spent, cash)
        keep_x = x[i]
        for r_val, xv, dcv in alts[i]:
            if bound + spent + r_val >= best - proven_within():
                break
            x[i] = xv
            visit(k + 1, spent + r_val, cash + dcv - dc_hat[i])
        x[i] = keep_x

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, m + 200))
    try:
        visit(0, 0.0, cash_hat)
    except _OverBudgetError:
        return unproven()
    finally:
        sys.setrecursionlimit(limit)
    return np.asarray(best_x, dtype=float), 0.0
