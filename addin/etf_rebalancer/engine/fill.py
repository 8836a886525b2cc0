"""Bring each group's sum to its cap or floor to the cent: a subset sum over its members.

A binding group cap (or floor) leaves drift on the table that no single-share move can
take: when every member is below its target, the group's drift is the cap's slack, and
one share more of any member breaks the cap. What whole shares allow is a combination
of a few members' share changes whose value lands just under the slack; that is a
subset sum over the members' prices in cents, which branch-and-bound and the local
searches find slowly or not at all (bench caps workbooks of 20 to 50 assets: the whole
gap between the knapsack search's plan and the LP bound was the caps' slack, $0.30 to
$1.20 of each group on $1M).

:func:`filled_groups` solves it by meet in the middle: per group bound, the members
with most room split into two halves, every combination of share changes within
``COMBINATIONS`` enumerated per half, and for each of one half's sums the other half's
largest that still fits. Candidates are scored by the drift they leave (the contract's,
then the tie-breaker's) and the best few checked with :func:`.model.objective` and
:func:`.model.breaches`; a plan is only replaced by one with a lower objective without
the tie-breaker and no more cap breach. Everything is counted (members, steps, rounds,
checks), so the answer is a function of the problem alone.
"""

from __future__ import annotations

import math

import numpy as np

from .model import (
    BREACH_TOL,
    COST_WEIGHT,
    PIECE_SLOPE_STEP,
    Problem,
    breaches,
    objective,
    piecewise,
    settle_pools,
)

__all__ = ["filled_groups"]

#: Members per group bound whose share changes are combined (two halves of three).
MEMBERS = 6
#: Combinations per half: share changes of -12..12 for three members (25**3), wider
#: for fewer (two: -62..62; one: -7,812..7,812), whose sums are otherwise too sparse to
#: land within cents of a bound (12 to 16 assets: 10 to 30 cents short with -12..12).
COMBINATIONS = 15_625
#: Passes over the groups (they share the cash).
ROUNDS = 2
#: Candidates per group bound checked with the exact objective.
CHECKS = 8
#: Candidates ranked by the tie-breaker too (the rest by the drift alone).
RANKED = 64
#: Objective (weights) a candidate must save to replace the plan.
SAVING = 1e-12


def filled_groups(
    problem: Problem, buy: np.ndarray, sell: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The plan ``buy``/``sell`` with each group's sum moved as close to its bound as whole
    shares of a few members allow, where that lowers the drift (see the module).

    Full mode, whole shares and group bounds only; otherwise the plan is returned as is.
    The returned arrays are the given ones when nothing better was found.
    """
    if problem.mode != "full" or not problem.whole or not problem.groups:
        return buy, sell
    best = (buy, sell)
    score = _scores(problem, buy, sell)
    cap = breaches(problem, buy, sell)[0]
    for _ in range(ROUNDS):
        moved = False
        for _label, members, lo, hi in problem.groups:
            for bound, sign in ((hi, 1.0), (lo, -1.0)):
                if bound is None:
                    continue
                found = _fill(problem, best, np.asarray(members), float(bound), sign, score, cap)
                if found is not None:
                    best, score = found
                    moved = True
        if not moved:
            break
    return best


def _scores(problem: Problem, buy: np.ndarray, sell: np.ndarray) -> tuple[float, float]:
    return objective(problem, buy, sell, tie_break=False), objective(problem, buy, sell)


def _fill(
    problem: Problem,
    plan: tuple[np.ndarray, np.ndarray],
    members: np.ndarray,
    bound: float,
    sign: float,
    score: tuple[float, float],
    cap: float,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[float, float]] | None:
    """The best plan moving ``members`` toward ``bound`` (``sign`` +1: a cap, -1: a floor)."""
    buy, sell = plan
    shares = problem.held + buy - sell
    price = problem.price
    # Weights as objective() has them: of ``value``, bounds times the share left after costs.
    settled_k = 1.0 - settle_pools(problem, buy, sell).costs / problem.value
    total = float(shares[members] @ price[members])
    room = sign * (bound * settled_k * problem.value - total)
    if not (0.01 <= room < math.inf):
        return None  # within a cent already (or past the bound: the breach is not ours)
    low = -(shares - (problem.held - problem.sell_max))
    high = problem.held + problem.buy_max - shares
    # Within each member's own Min/Max (as breaches() has them), where it is inside them.
    unit = price / (settled_k * problem.value)
    with np.errstate(invalid="ignore"):
        floor_shares = np.ceil(problem.min_weight / unit - 1e-9)
        ceiling_shares = np.floor(problem.max_weight / unit + 1e-9)
    low = np.where(floor_shares <= shares, np.maximum(low, floor_shares - shares), low)
    high = np.where(ceiling_shares >= shares, np.minimum(high, ceiling_shares - shares), high)
    # Toward the bound (+), members below target first: their drift falls as they rise.
    gap = sign * (problem.target[members] * problem.shrink * problem.value
                  - shares[members] * price[members])  # fmt: skip
    # Toward the bound no further than one share past target: beyond it the drift rises,
    # and the closest sum would otherwise be found there (a floor 9 cents short).
    plateau = np.maximum(np.floor(gap / price[members] + 1e-9), 0.0) + 1.0
    if sign > 0:
        high[members] = np.minimum(high[members], plateau)
    else:
        low[members] = np.maximum(low[members], -plateau)
    chosen = members[np.argsort(-gap, kind="stable")]
    chosen = chosen[(high[chosen] - low[chosen]) > 0][:MEMBERS]
    if len(chosen) < 2:
        return None
    # The cheapest members in the smaller half, whose reach is the longer: they take the
    # most shares to offset the others (caps at 10 assets, seed 0: the least drift sells
    # 112 shares of a $45 member against 4 of a $630 one and 11 of a $690 one).
    chosen = chosen[np.argsort(price[chosen], kind="stable")]
    half = len(chosen) // 2
    for part in (chosen[:half], chosen[half:]):
        reach = (round(COMBINATIONS ** (1.0 / len(part))) - 1) // 2
        low[part] = np.maximum(low[part], -reach)
        high[part] = np.minimum(high[part], reach)
    cents = np.round(price * 100.0).astype(np.int64)
    # Changes toward the bound are +; a floor's members move down.
    steps_low = np.where(sign > 0, low, -high).astype(np.int64)
    steps_high = np.where(sign > 0, high, -low).astype(np.int64)
    left_sums, left = _combinations(chosen[:half], cents, steps_low, steps_high)
    right_sums, right = _combinations(chosen[half:], cents, steps_low, steps_high)
    order = np.argsort(right_sums, kind="stable")
    right_sums, right = right_sums[order], right[order]
    limit = math.floor(room * 100.0 + 1e-6)
    pick = np.searchsorted(right_sums, limit - left_sums, side="right") - 1
    fits = pick >= 0
    if not np.any(fits):
        return None
    # Changes of the chosen members only, one row per candidate.
    deltas = np.concatenate([left[fits], right[pick[fits]]], axis=1) * sign
    rank = _drift_changes(problem, shares, deltas, chosen)[:CHECKS]
    for row in rank:
        trade = shares - problem.held
        trade[chosen] += deltas[row]
        new_buy, new_sell = np.maximum(trade, 0.0), np.maximum(-trade, 0.0)
        candidate = _scores(problem, new_buy, new_sell)
        better = candidate[0] < score[0] - SAVING or (
            candidate[0] <= score[0] + SAVING and candidate[1] < score[1] - SAVING
        )
        if not (math.isfinite(candidate[0]) and better):
            continue
        if breaches(problem, new_buy, new_sell)[0] > cap + BREACH_TOL:
            continue
        # The ranking is the objective's own order up to fees: the first that holds wins.
        return (new_buy, new_sell), candidate
    return None


def _combinations(
    assets: np.ndarray, cents: np.ndarray, low: np.ndarray, high: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every combination of share changes of ``assets`` in ``low..high``: value (cents), changes."""
    axes = [np.arange(int(low[i]), int(high[i]) + 1, dtype=np.int64) for i in assets]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(assets))
    return grid @ cents[assets], grid


def _drift_changes(
    problem: Problem, shares: np.ndarray, deltas: np.ndarray, assets: np.ndarray
) -> np.ndarray:
    """Rows of ``deltas`` (changes of ``assets``, cash paying for them) by the drift they
    leave and the proportional costs they add (as the objective without the tie-breaker
    weighs them), then (among the best ``RANKED``) the tie-breaker's drift.

    ``fee_min`` and the cost share are left out (the exact check adds them): this only
    ranks. Without the costs every fill under a fee rate was a round trip, a sale and a
    purchase where purchases alone land as close (caps at 20 assets: 1e-5 of fees).
    """
    a = problem.price / problem.value
    k = problem.shrink
    before = shares[assets] * a[assets]
    after = before + deltas * a[assets]
    cash = (problem.cash_start.sum() - (shares - problem.held) @ problem.price) / problem.value
    cash_after = cash - deltas @ a[assets]
    target = problem.target[assets] * k
    cash_target = problem.cash_target * k
    # The drift's own change; what every row shares (the plan's drift before) is left out.
    untied = np.abs(after - target).sum(axis=1) + np.abs(cash_after - cash_target)
    if problem.fee_rate > 0 or bool(np.any(problem.sell_tax[assets] > 0)):
        trade = (shares - problem.held)[assets]
        moved = trade + deltas
        bought = np.maximum(moved, 0.0) - np.maximum(trade, 0.0)
        sold = np.maximum(-moved, 0.0) - np.maximum(-trade, 0.0)
        rate = COST_WEIGHT * problem.fee_rate
        costs = (bought * rate + sold * (rate + COST_WEIGHT * problem.sell_tax[assets])) @ a[assets]
        untied = untied + costs
    # Equal to the last SAVING: float noise must not decide between plateau moves.
    untied = np.round(untied / SAVING)
    best = np.argsort(untied, kind="stable")[:RANKED]
    scale = np.maximum(problem.target[assets], 0.01)
    tied = piecewise(after[best] - target, scale, PIECE_SLOPE_STEP).sum(axis=1) + piecewise(
        cash_after[best] - cash_target, np.array(max(problem.cash_target, 0.01)), PIECE_SLOPE_STEP
    )
    return best[np.lexsort((tied, untied[best]))]
