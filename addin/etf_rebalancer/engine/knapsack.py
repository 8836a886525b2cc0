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
    COST_WEIGHT,
    PIECE_WIDTHS,
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
#: Rounds of local search for a good first plan (it only speeds up the proof).
MAX_IMPROVE = 200


class _OverBudgetError(Exception):
    pass


def applies(problem: Problem) -> bool:
    """Whether ``problem`` has the structure this solver handles exactly."""
    return (
        problem.mode == "full"
        and problem.whole
        and len(problem.cash_start) == 1
        and problem.fee_min <= 0
        and problem.min_trade <= 0
        and problem.value > 0
        and bool(np.all(np.isnan(problem.min_weight)))
        and bool(np.all(np.isnan(problem.max_weight)))
        and all(lo is None and hi is None for _, _, lo, hi in problem.groups)
        and bool(np.all(np.isfinite(problem.buy_max)))
        and bool(np.all(np.isfinite(problem.sell_max)))
        and bool(np.all(problem.pool == 0))
    )


class _Model:
    def __init__(self, problem: Problem) -> None:
        a = problem.price / problem.value
        fee, tax = problem.fee_rate, problem.sell_tax
        self.a = a
        self.held = problem.held
        self.target = problem.target * problem.shrink
        self.scale = np.maximum(problem.target, 0.01)
        self.lo = -np.floor(problem.sell_max + 1e-9)
        self.hi = np.floor(problem.buy_max + 1e-9)
        self.buy_cost = a * (WASH_COST + COST_WEIGHT * fee)
        self.sell_cost = a * (WASH_COST + COST_WEIGHT * (fee + tax))
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
        self.cash_breaks = np.array(
            sorted({0.0, self.c_max, *[b for b in breaks if 0.0 <= b <= self.c_max]})
        )
        # Breakpoints of f_i in x (deviation piece edges, and 0): candidates for argmin.
        edges = [(self.target + s * w * self.scale) / a - self.held for w in cum for s in (-1, 1)]
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
        drift = piecewise(a * (held + x) - target, scale)
        return drift + np.where(x > 0, x * bc, -x * sc)

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
        return total + left * self.cash_last_slope

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
    try:
        x, gap = _search(_Model(problem), problem)
    except _OverBudgetError:
        return None
    buy, sell = np.maximum(x, 0.0), np.maximum(-x, 0.0)
    value = objective(problem, buy, sell)
    if gap == 0.0:
        method, detail = "milp", "exact knapsack search (one cash pool): proved optimal"
    else:
        method, detail = "milp-time-limit", "knapsack search budget spent: best plan found"
    solution = Solution(buy, sell, method, detail, value)
    if gap:
        solution.extra["gap"] = gap
    return solution


def _best_mu(model: _Model) -> tuple[float, list[np.ndarray]]:
    # mu stays below COST_WEIGHT: there every phi_i is convex (trade costs outweigh the
    # cash a round trip would free), which the search below relies on. Any mu is a
    # valid bound; this one only needs to be good.
    lo, hi = -1.0, 0.95 * COST_WEIGHT
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
    for _ in range(MAX_IMPROVE):
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
        # Pairs: one share fewer of i, one more of j.
        cash_pair = c + down_dc[:, None] + up_dc[None, :]
        pair = down_f[:, None] + up_f[None, :] + _cash_penalty(model, cash_pair) - here
        np.fill_diagonal(pair, np.inf)  # one share fewer and one more of one asset: no move
        k_single, k_pair = int(np.argmin(single)), int(np.argmin(pair))
        gain_single = float(single.flat[k_single])
        gain_pair = float(pair.flat[k_pair])
        if min(gain_single, gain_pair) >= -TOLERANCE:
            break
        if gain_single <= gain_pair:
            n = len(x)
            x[k_single % n] += 1.0 if k_single < n else -1.0
        else:
            i, j = divmod(k_pair, len(x))
            x[i] -= 1.0
            x[j] += 1.0
    return x, model.total(x)


def _cash_penalty(model: _Model, cash: np.ndarray) -> np.ndarray:
    drift = piecewise(cash - model.cash_target, np.asarray(model.cash_scale))
    return np.where(cash < -1e-15, np.inf, drift)


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

    def unproven() -> tuple[np.ndarray, float]:
        return np.asarray(best_x, dtype=float), max(best - bound, TOLERANCE)

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
        if bound_here >= best - TOLERANCE:
            return
        if k == m:
            best, best_x = bound_here, x.copy()
            return
        i = core[k]
        visit(k + 1, spent, cash)
        keep_x = x[i]
        for r_val, xv, dcv in alts[i]:
            if bound + spent + r_val >= best - TOLERANCE:
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
