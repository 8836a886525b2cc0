"""An exact lower bound on the drift of small capped groups: enumeration, not an LP.

For one currency pool without costs the drift without the tie-breaker is

    sum_i |w_i - t_i| + |c - t_c|,     c = c0 - sum_i a_i (x_i - held_i),

with ``w_i = a_i x_i`` (``a_i`` the price as a weight). Since ``|c - t_c| >= s (c - t_c)``
for ``s`` = +1 and -1, every plan's drift is at least

    s (c0 - t_c + sum_i a_i held_i) + sum_i h_i(x_i),   h_i(x) = |a_i x - t_i| - s a_i x,

which separates into one term per asset. The caps, floors and per-asset Min/Max only
couple the members of one group, so the least of that sum is the sum of each group's
least (and each lone asset's), found exactly: each lone asset at its best share count
(``h_i`` is convex, so a kink or an end), each group by meet in the middle over every
share count its members can have (each half enumerated, the other half's least ``h``
per sum found by a running minimum over its sorted sums, or a sparse table when the
group has a cap and a floor). When the best plan of that separable problem leaves the
cash at or above zero and on the side of its target that ``s`` assumed, the bound is
the least drift itself and that plan reaches it; in any case the bound holds for every
plan that keeps the caps.

The LP relaxation with hull cuts sees a cap as a line the members can fill exactly with
fractional shares. With one to three members per group (caps at 4 to 8 assets) whole
shares cannot, and that LP stays 5e-6 to 8e-5 under the least drift, where this bound
proves the filled plans of 6 and 8 assets optimal. Counted, never timed: a group whose
halves would exceed ``ENUMERATION`` combinations gives no bound.
"""

from __future__ import annotations

import math

import numpy as np

from .model import Problem, hull_chord

__all__ = ["least_untied"]

#: Combinations per half of a group's members (each member over all its share counts).
ENUMERATION = 250_000


def applies(problem: Problem) -> bool:
    """One pool, no costs, full mode, whole shares: where the drift is the sum above."""
    return (
        problem.mode == "full"
        and problem.whole
        and len(problem.cash_start) == 1
        and problem.fee_rate <= 0
        and problem.fee_min <= 0
        and problem.min_trade <= 0
        and not bool(np.any(problem.sell_tax > 0))
        and problem.value > 0
        and bool(np.all(np.isfinite(problem.buy_max)))
        and bool(np.all(np.isfinite(problem.sell_max)))
    )


def least_untied(problem: Problem) -> tuple[float, np.ndarray | None] | None:
    """A lower bound on the objective without the tie-breaker of every plan that keeps the
    caps (groups and per-asset Min/Max): the larger of the bounds for ``s`` = +1 and -1
    (see the module), and share counts after trading that reach it when the separable
    problem's best plan for an ``s`` leaves the cash at or above zero and on the side of
    its target that ``s`` assumed (that plan then has the least drift of every plan that
    keeps the caps), else ``None`` in their place. ``None`` when the problem is of
    another kind or too large to enumerate. Weights of ``value``, targets and bounds
    times ``shrink``, as :func:`.model.objective` has them.
    """
    return _least(problem)


def _least(problem: Problem) -> tuple[float, np.ndarray | None] | None:
    if not applies(problem):
        return None
    members = [np.asarray(m) for _, m, lo, hi in problem.groups if lo is not None or hi is not None]
    grouped = np.concatenate(members) if members else np.empty(0, dtype=np.int64)
    if len(np.unique(grouped)) != len(grouped):
        return None  # overlapping groups do not separate
    a = problem.price / problem.value
    k = problem.shrink
    target = problem.target * k
    low = problem.held - problem.sell_max
    high = problem.held + problem.buy_max
    with np.errstate(invalid="ignore", divide="ignore"):
        # Per-asset Min/Max as share ranges (a plan outside them breaches a cap).
        fewest = np.ceil(problem.min_weight * k / a - 1e-9)
        most = np.floor(problem.max_weight * k / a + 1e-9)
    low = np.where(np.isfinite(fewest), np.maximum(low, fewest), low)
    high = np.where(np.isfinite(most), np.minimum(high, most), high)
    if np.any(low > high):
        return None  # no plan keeps every Min/Max: nothing to bound
    cash_base = float(problem.cash_start[0]) / problem.value + float(problem.held @ a)
    cash_target = problem.cash_target * k
    alone = np.ones(problem.n, dtype=bool)
    alone[grouped] = False
    best, reached = -math.inf, None
    for s in (1.0, -1.0):
        total = s * (cash_base - cash_target)
        shares = np.zeros(problem.n)
        exact = True
        least, counts = _lone_least(a[alone], target[alone], low[alone], high[alone], s)
        total += float(least.sum())
        shares[alone] = counts
        for _label, group, lo, hi in problem.groups:
            if lo is None and hi is None:
                continue
            group = np.asarray(group)
            found = _group_least(a, target, low, high, group, lo, hi, k, s)
            if found is None:
                total = -math.inf  # no share counts keep the group
                break
            total += found[0]
            if found[1] is None:
                exact = False  # bounded by its relaxation: no plan of this s reaches it
            else:
                shares[group] = found[1]
        if not math.isfinite(total):
            continue
        best = max(best, total)
        cash = cash_base - float(shares @ a)
        if exact and cash >= -1e-12 and s * (cash - cash_target) >= -1e-12:
            reached = shares  # its drift is this bound, so every bound is this one
    if not math.isfinite(best):
        return None
    return best, reached


def _h(a: np.ndarray, t: np.ndarray, x: np.ndarray, s: float) -> np.ndarray:
    return np.abs(a * x - t) - s * a * x


def _lone_least(
    a: np.ndarray, t: np.ndarray, low: np.ndarray, high: np.ndarray, s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Least ``h`` per asset over its share range, and the share count: convex, so at a
    kink or an end."""
    tau = t / a
    candidates = np.stack([low, high, np.floor(tau), np.ceil(tau)])
    candidates = np.clip(candidates, low, high)
    values = _h(a, t, candidates, s)
    pick = values.argmin(axis=0)
    columns = np.arange(len(a))
    return values[pick, columns], candidates[pick, columns]


def _group_least(
    a: np.ndarray,
    t: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    group: np.ndarray,
    lo: float | None,
    hi: float | None,
    k: float,
    s: float,
) -> tuple[float, np.ndarray | None] | None:
    """Least sum of ``h`` over the group's share counts with its weight within its bounds,
    and those share counts (in ``group``'s order); for a group with too many combinations
    to count, its LP relaxation's bound and ``None``. ``None`` when nothing keeps it."""
    cap = math.inf if hi is None else hi * k + 1e-12
    floor = -math.inf if lo is None else lo * k - 1e-12
    counts_of = [_candidates(a[i], t[i], low[i], high[i], s, lo is None, hi is None) for i in group]
    halves = _halves(np.array([len(c) for c in counts_of], dtype=float))
    if halves is None:
        relaxed = _group_relaxed(a, t, low, high, group, lo, hi, k, s)
        return None if relaxed is None else (relaxed, None)
    at = a[group], t[group]
    left_w, left_h = _enumerate(*at, [counts_of[j] for j in halves[0]], halves[0], s)
    right_w, right_h = _enumerate(*at, [counts_of[j] for j in halves[1]], halves[1], s)
    order = np.argsort(right_w, kind="stable")
    right_w, right_h = right_w[order], right_h[order]
    # For each left sum: the least right h with the total weight within [floor, cap].
    start = np.searchsorted(right_w, floor - left_w, side="left")
    stop = np.searchsorted(right_w, cap - left_w, side="right")
    if math.isfinite(floor) and math.isfinite(cap):
        minima = _range_minima(right_h, start, stop)
    elif len(right_h) == 0:
        minima = np.full(len(left_w), np.inf)
    elif math.isfinite(cap):
        # One bound: a running minimum (the sparse table is 18 of them at 250,000).
        prefix = np.minimum.accumulate(right_h)
        minima = np.where(stop > 0, prefix[np.maximum(stop - 1, 0)], np.inf)
    else:
        suffix = np.minimum.accumulate(right_h[::-1])[::-1]
        last = len(right_h) - 1
        minima = np.where(start <= last, suffix[np.minimum(start, last)], np.inf)
    values = left_h + minima
    least = float(values.min()) if len(values) else math.inf
    if not math.isfinite(least):
        return None
    row = int(values.argmin())
    col = int(start[row] + right_h[start[row] : stop[row]].argmin())
    counts = np.zeros(len(group))
    for side, index in ((halves[0], row), (halves[1], int(order[col]))):
        sizes = [len(counts_of[j]) for j in side]
        if side:
            for j, position in zip(side, np.unravel_index(index, sizes), strict=True):
                counts[j] = counts_of[j][position]
    return least, counts


#: Units of the relaxation's rows (weights x RELAXED_UNITS), and what its optimum gives up
#: to HiGHS's tolerances (weights) so that it stays a bound.
RELAXED_UNITS = 1e4
RELAXED_MARGIN = 1e-10


def _group_relaxed(
    a: np.ndarray,
    t: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    group: np.ndarray,
    lo: float | None,
    hi: float | None,
    k: float,
    s: float,
) -> float | None:
    """A lower bound on the group's least ``h``: its LP relaxation, each member's
    deviation at least its convex hull over whole shares (the chord between the share
    counts around target, as in :func:`.milp._build`). ``None`` when it is infeasible."""
    from scipy.optimize import linprog

    m = len(group)
    units = RELAXED_UNITS
    w = a[group] * units
    tt = t[group] * units
    base, gap, chord = hull_chord(w, tt / w, np.zeros(m))
    eye = np.eye(m)
    # Columns: x (shares), e (deviation). e >= w x - t, e >= t - w x, e >= chord line.
    rows = np.vstack([
        np.hstack([np.diag(w), -eye]),
        np.hstack([-np.diag(w), -eye]),
        np.hstack([np.diag(chord), -eye]),
    ])  # fmt: skip
    rhs = np.concatenate([tt, -tt, chord * base - gap])
    cap = math.inf if hi is None else hi * k * units
    floor = -math.inf if lo is None else lo * k * units
    if math.isfinite(cap):
        rows = np.vstack([rows, np.concatenate([w, np.zeros(m)])])
        rhs = np.append(rhs, cap)
    if math.isfinite(floor):
        rows = np.vstack([rows, np.concatenate([-w, np.zeros(m)])])
        rhs = np.append(rhs, -floor)
    cost = np.concatenate([-s * w, np.ones(m)])
    bounds = [(low[i], high[i]) for i in group] + [(0.0, None)] * m
    result = linprog(cost, A_ub=rows, b_ub=rhs, bounds=bounds, method="highs")
    if result.status != 0:
        return None
    return float(result.fun) / units - RELAXED_MARGIN


def _candidates(
    a: float, t: float, low: float, high: float, s: float, no_floor: bool, no_cap: bool
) -> np.ndarray:
    """Share counts that keep the group's least ``h`` (every plan maps onto them).

    ``h`` falls below target and is flat above for ``s`` = +1 (flat below, rising above
    for -1). With a cap alone, a member past target can move back to it at no cost in
    ``h`` and with less weight; with a floor alone, one short of target can move up to it.
    """
    tau = t / a
    if s > 0 and no_floor:
        return np.arange(low, max(min(high, math.ceil(tau)), low) + 1.0)
    if s > 0 and no_cap:
        # Below target: up to it (less h, more weight); above it h is flat, and the most
        # weight, ``high``, serves the floor best.
        return np.unique(np.clip([math.floor(tau), math.ceil(tau), high], low, high))
    if s < 0 and no_floor:
        # Below target h is flat: the least weight, ``low``, serves the cap best; above it
        # h rises, so back to target.
        return np.unique(np.clip([low, math.floor(tau)], low, high))
    if s < 0 and no_cap:
        return np.arange(max(low, min(math.floor(tau), high)), high + 1.0)
    return np.arange(low, high + 1.0)


def _halves(sizes: np.ndarray) -> tuple[list[int], list[int]] | None:
    """Members split in two (largest first, to the smaller product), or ``None`` when a
    half would exceed ``ENUMERATION`` combinations."""
    left: list[int] = []
    right: list[int] = []
    left_size = right_size = 1.0
    for j in np.argsort(-sizes, kind="stable").tolist():
        if left_size <= right_size:
            left.append(j)
            left_size *= sizes[j]
        else:
            right.append(j)
            right_size *= sizes[j]
    if max(left_size, right_size) > ENUMERATION:
        return None
    return left, right


def _enumerate(
    a: np.ndarray, t: np.ndarray, counts: list[np.ndarray], which: list[int], s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Weight and ``h`` of every combination of the members ``which`` (none: one zero)."""
    weight, cost = np.zeros(1), np.zeros(1)
    for j, x in zip(which, counts, strict=True):
        weight = (weight[:, None] + a[j] * x[None, :]).ravel()
        cost = (cost[:, None] + _h(a[j : j + 1], t[j : j + 1], x, s)[None, :]).ravel()
    return weight, cost


def _range_minima(values: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """``min(values[start:stop])`` per pair (``inf`` when empty), by a sparse table."""
    n = len(values)
    out = np.full(len(start), np.inf)
    if n == 0:
        return out
    table = [values]
    span = 1
    while 2 * span <= n:
        prev = table[-1]
        table.append(np.minimum(prev[: len(prev) - span], prev[span:]))
        span *= 2
    length = stop - start
    ok = length > 0
    level = np.zeros(len(start), dtype=np.int64)
    level[ok] = np.floor(np.log2(length[ok])).astype(np.int64)
    for lev in np.unique(level[ok]).tolist():
        rows = ok & (level == lev)
        width = 1 << lev
        row = table[lev]
        out[rows] = np.minimum(row[start[rows]], row[stop[rows] - width])
    return out
