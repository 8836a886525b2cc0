"""The rebalancing optimisation: a sparse mixed-integer program for HiGHS, bounded by work.

Everything is measured in *weights*: money in the base currency divided by the
reference value ``V`` of the portfolio (holdings plus cash, less money to raise).
Targets and bounds are applied as ``weight x (1 - cost_share)``: the weights of the
portfolio *after* costs when ``cost_share`` is the plan's cost (see
:class:`.model.Problem`), so the program stays linear and measures what the
contract measures. For asset ``i`` with base-currency price ``P_i`` let ``a_i = P_i / V``.
An asset whose one share is worth less than ``TINY_WEIGHT`` of ``V`` is modelled by
value (continuous, in units of ``TINY_WEIGHT``) and rounded down to whole shares after:
its coefficients would otherwise sit below HiGHS's tolerances and vanish.

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
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import sparse

try:
    # highspy gives HiGHS's one-thread, fixed-seed, node-budgeted runs and a warm start.
    import highspy
except ImportError:  # Pyodide (the Lite edition) has only scipy's bundled HiGHS
    highspy = None  # type: ignore[assignment]

from . import envelope, fill, group_bound, knapsack
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
    better,
    breaches,
    excesses,
    hull_chord,
    objective,
    settle_pools,
    slopes,
    uses_order_binaries,
    widths,
)

__all__ = ["Problem", "Solution", "greedy", "objective", "solve"]

#: The program counts money in units of value / WEIGHT_UNITS (a weight of 1 is 10,000
#: units). In plain weights HiGHS's feasibility tolerance (1e-6 to 1e-7 per row) is worth
#: a hundredth of a share per row and, summed over the rows, more drift than separates
#: distinct plans: "optimal" plans differing by 1e-3 of the objective were seen.
WEIGHT_UNITS = 1e4
#: Add the convex-hull cuts on each asset's deviation (whole shares).
HULL_CUTS = True
#: The LP route's relaxation gets the envelope cuts of each asset's cost (see
#: :mod:`.envelope`): this many rounds, each adding the cuts its LP point violates. On the
#: bench's "all" workbooks they tighten the proven gap 14-27x (200 assets: 0.140 -> 0.005,
#: 500: 0.668 -> 0.049 in the program's units) for 0.05-0.3 s; a third round added 1e-5.
#: Not in branch-and-bound: with every edge as a row, the bench's 10- to 50-asset "all"
#: models' root bound rose (239 -> 356 of 458 at 10 assets) but HiGHS took 2-4x longer.
ENVELOPE_ROUNDS = 2
#: ... up to this many assets: at 1,000 the plan took 0.6 -> 2.2 s, at 2,000 the first
#: round's warm-started re-solve alone 1.6 s (the plan 1.0 -> 2.8 s, over the 2 s goal).
ENVELOPE_MAX_ASSETS = 600
#: One share below this weight of the portfolio: modelled by value (see the module doc).
TINY_WEIGHT = 1e-6
#: The deterministic work budget: branch-and-bound nodes HiGHS may explore. The plan is a
#: function of the inputs alone because this, not a clock, is what stops the search.
NODE_BUDGET = 200
#: Above LIGHT_HEURISTICS_ASSETS (21 to LARGE_MODEL_ASSETS assets) a run on the default
#: budget gets this many nodes instead, and HiGHS does not restart its search from the
#: root after fixing columns there (the restart re-presolves the model and throws the
#: tree away). Bench "all" workbooks (fees, two pools, bands, caps), seeds 0-5: at 12-25
#: assets 11 -> 18 of 24 plans proven, 10 lexicographically better, 2 worse (by 2.8e-7
#: and 5e-6 of the objective), 12 the same, time +3%; at 30-50 assets 3 -> 4 of 18
#: proven, 10 better (band breach up to 4.7e-7 less, objective up to 6e-5 lower), 7
#: worse (band breach up to 2.4e-7 more), time -18% (a 200-node run without the restart
#: takes 40% less). caps, pools and band at 12-50 assets: all 108 plans the same. (Measured
#: when LIGHT_HEURISTICS_ASSETS was 10; 11-20 assets now take LIGHT_NODE_BUDGET.)
DEEP_NODE_BUDGET = 800
DEEP_OPTIONS: dict[str, bool | int] = {"mip_allow_restart": False}
#: Larger problems (assets) skip branch-and-bound: see _lp_rounded. Chosen by size before
#: HiGHS runs, so the route, like the plan, depends on the inputs alone.
LARGE_MODEL_ASSETS = 50
#: From this many assets the LP route's relaxations are solved unscaled with Dantzig
#: pricing ("all" at 1,000 / 2,000 assets: 0.7 -> 0.5 s and 4.4 -> 2.2 s for the same
#: optimum; no gain at 500), falling back to HiGHS's defaults if that fails.
UNSCALED_LP_ASSETS = 1000
#: From this many assets the LP route's first LP leaves out fee_min and min_trade (see
#: _lp_rounded): at 2,000 assets it takes 1.1 s instead of 4.6 s; at 100-1,000 assets
#: its rounded plans scored 1-8% worse on the program's objective, so not below.
GUIDE_LP_ASSETS = 1500
#: A plan of the knapsack search with group caps proven within this of the optimum
#: (full mode: weights, 0.001 percentage points of drift, a tenth of what the summary
#: shows) is not handed to HiGHS: its node budget could only buy less, at seconds a run.
HANDOVER_GAP = 1e-5
#: Last-resort wall-clock guard (seconds); when it fires the plan depends on machine
#: speed, and :mod:`.plan` says so in the summary.
GUARD_SECONDS = 5.0


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

    def block(
        self, count: int, lb: object, ub: object, cost: object, integer: object
    ) -> np.ndarray:
        start = self.size
        self.size += count
        self.lb.append(np.broadcast_to(np.asarray(lb, dtype=float), (count,)).copy())
        self.ub.append(np.broadcast_to(np.asarray(ub, dtype=float), (count,)).copy())
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=float), (count,)).copy())
        flags = np.broadcast_to(np.asarray(integer, dtype=bool), (count,))
        self.integer.append(flags.astype(np.uint8))
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


def solve(
    problem: Problem, guard_seconds: float = GUARD_SECONDS, start: Solution | None = None
) -> Solution:
    """Solve ``problem`` (see :func:`_solve`); an unproven plan in full mode then gives way
    to one with less contract drift: the drift comes before the tie-breaker's spread.

    Up to ``LEAST_DRIFT_ASSETS`` assets HiGHS runs the program without the tie-breaker
    (:func:`_least_drift_program`), which can also prove the least drift; then, and on
    larger models alone, the local search without it (:func:`.knapsack.least_drift`).
    """
    started = time.perf_counter()
    solution = _solve(problem, guard_seconds, start)
    if solution.method != "milp-time-limit" or problem.mode != "full":
        return solution
    deadline = started + guard_seconds
    if "filled" not in solution.extra:
        _filled(problem, solution, deadline)
        if solution.method == "milp":
            solution.seconds = time.perf_counter() - started
            return solution
    before = solution.objective
    found = solution.buy, solution.sell
    if problem.n <= LEAST_DRIFT_ASSETS and highspy is not None and not solution.extra.get("guard"):
        _least_drift_program(problem, solution, deadline)
    if solution.method != "milp":
        buy, sell, stopped = knapsack.least_drift(problem, solution.buy, solution.sell, deadline)
        if buy is not solution.buy:
            solution.buy, solution.sell = buy, sell
            solution.detail += "; less drift found without the tie-breaker"
        if stopped:
            solution.extra["guard"] = 1.0
    if solution.buy is not found[0] or solution.sell is not found[1]:
        solution.objective = objective(problem, solution.buy, solution.sell)
        # The gap stays measured from the same bound (the weighted program's).
        if math.isfinite(before) and "gap" in solution.extra:
            solution.extra["gap"] += max(solution.objective - before, 0.0)
    bound = solution.extra.pop("untied_bound", None)
    if bound is not None and "gap" in solution.extra:
        # The untied program's bound states the drift's own gap, which the weighted
        # program's (its objective's spread included) overstates: caps 10, 1.1e-4 vs 2e-6.
        untied = objective(problem, solution.buy, solution.sell, tie_break=False)
        solution.extra["gap"] = min(solution.extra["gap"], max(untied - bound, 0.0))
    solution.seconds = time.perf_counter() - started
    return solution


#: Assets up to which an unproven plan with group bounds is filled (fill.filled_groups)
#: and checked against the LP bound of the program without the tie-breaker. That bound
#: is tight when each group has several members (caps at 20 to 50 assets: the filled
#: plans lie 1e-8 to 5e-8 above it, inside the MIP gap) and weak at 500 (4.5e-3 below
#: the best plan HiGHS finds), where its LP alone takes 50 ms.
FILL_ASSETS = 200


def _filled(problem: Problem, solution: Solution, deadline: float) -> None:
    """``solution`` (unproven, full mode) with its group sums brought to their bounds to
    the cent (:func:`.fill.filled_groups`), and proven the least drift when the LP bound
    of the program without the tie-breaker says so: ``method="milp"``.

    The LP (each asset's drift its convex hull over whole shares, see :func:`_build`) is
    a relaxation of every plan, so a plan that keeps every cap and lies within the MIP
    gap of it has the least drift whole shares allow, as a proof by HiGHS would say.
    Where the LP is not close enough, :func:`.group_bound.least_untied` (exact per group,
    by enumeration) may be.
    """
    solution.extra["filled"] = 1.0
    if problem.mode != "full" or not problem.groups or problem.n > FILL_ASSETS:
        return
    buy, sell = fill.filled_groups(problem, solution.buy, solution.sell)
    if buy is not solution.buy:
        value = objective(problem, buy, sell)
        if "gap" in solution.extra and math.isfinite(solution.objective):
            # Still measured from the same bound.
            solution.extra["gap"] = max(solution.extra["gap"] + value - solution.objective, 0.0)
        solution.buy, solution.sell, solution.objective = buy, sell, value
        solution.detail += "; group sums brought to their bounds"
    if breaches(problem, buy, sell)[0] > BREACH_TOL:
        return  # a plan that breaches a cap is not proven by a bound that prices breaches
    model, _layout = _build(problem, tie_break=False)
    relaxation = {**model, "integrality": np.zeros_like(np.asarray(model["integrality"]))}
    relaxed = _lp(relaxation, deadline - time.perf_counter())
    if relaxed is None:
        if time.perf_counter() >= deadline:
            solution.extra["guard"] = 1.0  # the wall clock, not the inputs, ended it: say so
        return
    bound, by = relaxed[1], "the LP bound"
    untied = objective(problem, buy, sell, tie_break=False)
    if untied > bound + MIP_ABS_GAP + MIP_REL_GAP * abs(bound):
        # Groups of one to three members, which whole shares cannot fill as the LP does
        # (caps at 6 and 8 assets: the LP 5e-6 to 8e-5 under the least drift): their
        # exact bound by enumeration, where it is small enough to count.
        exact = group_bound.least_untied(problem)
        if exact is not None and exact[0] > bound:
            bound, by = exact[0], "the groups' exact bound"
        reached = None if exact is None or exact[1] is None else (exact[0], exact[1])
        if reached is not None and untied > bound + MIP_ABS_GAP + MIP_REL_GAP * abs(bound):
            # The separable problem's own best plan reaches the bound, so it has the least
            # drift; filled again for the spread at equal drift. (It often does on tiny
            # problems; on the bench's caps workbooks the cash is what binds, and there
            # the separable best plan overdraws it.)
            trade = reached[1] - problem.held
            best_buy, best_sell = fill.filled_groups(
                problem, np.maximum(trade, 0.0), np.maximum(-trade, 0.0)
            )
            best = objective(problem, best_buy, best_sell, tie_break=False)
            kept = breaches(problem, best_buy, best_sell)[0] <= BREACH_TOL
            if kept and best < untied:
                value = objective(problem, best_buy, best_sell)
                if "gap" in solution.extra and math.isfinite(solution.objective):
                    gap = solution.extra["gap"] + value - solution.objective
                    solution.extra["gap"] = max(gap, 0.0)
                solution.buy, solution.sell, solution.objective = best_buy, best_sell, value
                solution.detail += "; the groups' exact plan has less drift"
                untied, bound, by = best, max(bound, reached[0]), "the groups' exact bound"
    solution.extra["untied_bound"] = bound
    if untied <= bound + MIP_ABS_GAP + MIP_REL_GAP * abs(bound):
        solution.method = "milp"
        solution.detail += f"; least drift proven by {by}"
        solution.extra.pop("gap", None)
        solution.extra.pop("untied_bound", None)


def _untied_next(problem: Problem, found: Solution) -> bool:
    """Whether the knapsack search's unproven plan goes straight to the program without
    the tie-breaker (:func:`_least_drift_program`, from :func:`solve`): full mode with
    group bounds, all kept, on a model small enough for it."""
    return (
        problem.mode == "full"
        and bool(problem.groups)
        and problem.n <= LEAST_DRIFT_ASSETS
        and highspy is not None
        and breaches(problem, found.buy, found.sell)[0] <= BREACH_TOL
    )


#: Nodes HiGHS may spend on the program without the tie-breaker (_least_drift_program):
#: LEAST_DRIFT_WORK / assets, within LEAST_DRIFT_NODES (10,000: caps 6 seed 1 unproven;
#: 25,000: caps 10 at 0.68 s for 4e-6 of drift). With its flat drift pieces the
#: relaxation is tight (caps at 50 assets: the optimum lies 1.1e-8 above it, where the
#: weighted program's bound stays 3e-6 below its best plan after 20,000 nodes), and on
#: the bench's caps workbooks this proves the least drift of most with 6 to 10 assets
#: (0.1-0.3 s) and finds less drift than the weighted plan on most up to 20. At 50 it
#: found less on one seed of three (8e-7), for 0.1-0.5 s each: only up to
#: LEAST_DRIFT_ASSETS, above which the local search alone looks (knapsack.least_drift).
LEAST_DRIFT_ASSETS = 20
LEAST_DRIFT_WORK = 15_000
LEAST_DRIFT_NODES = (500, 2500)


def _least_drift_nodes(n: int) -> int:
    low, high = LEAST_DRIFT_NODES
    return max(low, min(high, LEAST_DRIFT_WORK // max(n, 1)))


def _least_drift_program(problem: Problem, solution: Solution, deadline: float) -> None:
    """Settle the drift before the tie-breaker: ``solution`` (full mode, unproven) is
    replaced by the plan of the program without the tie-breaker when that has less
    contract drift and no more cap breach, spread by :func:`.knapsack.spread` at equal
    drift; when that program is proven optimal and caps are kept (or their least breach
    proven), the plan is the least drift whole shares allow: ``method="milp"``.

    The weighted program's rising slopes spread cash over underweight assets among plans
    of equal drift, but HiGHS proves a plan of that program slowly (its relaxation spreads
    fractional shares evenly, which whole shares cannot) and, unproven, its best plan can
    carry more drift than the least (bench caps workbooks of 6 to 20 assets: 2e-6 to
    1.5e-4 more, every one of them).
    """
    cap_breach = breaches(problem, solution.buy, solution.sell)[0]
    model, layout = _build(problem, tie_break=False)
    if len(layout["cap"]):
        # No more cap breach than the plan's: caps come before drift.
        model = _limited(model, layout["cap"], (cap_breach + BREACH_TOL) * WEIGHT_UNITS)
    left = max(deadline - time.perf_counter(), 0.01)
    flat, _ = _run(model, layout, problem, left, solution, nodes=_least_drift_nodes(problem.n))
    if flat is None or flat.extra.get("guard"):
        return
    if knapsack.less_drift(problem, (solution.buy, solution.sell), (flat.buy, flat.sell)):
        buy, sell, stopped = knapsack.spread(problem, flat.buy, flat.sell, deadline)
        solution.buy, solution.sell = buy, sell
        solution.detail += "; less drift found by the program without the tie-breaker"
        if stopped:
            solution.extra["guard"] = 1.0
    caps_settled = cap_breach <= BREACH_TOL or "held_cap" in solution.extra
    if solution.extra.get("guard") or not caps_settled or "gap" not in flat.extra:
        return
    # A bound on the drift (and costs) of every plan keeping the caps: the summary's
    # "proven within ... of the least drift" is measured from it (see solve), the best
    # of HiGHS's and _filled's.
    bound = max(flat.objective - flat.extra["gap"], solution.extra.get("untied_bound", -math.inf))
    solution.extra["untied_bound"] = bound
    untied = objective(problem, solution.buy, solution.sell, tie_break=False)
    if flat.method == "milp" and untied <= bound + MIP_ABS_GAP + MIP_REL_GAP * abs(bound):
        solution.method = "milp"
        solution.detail += "; least drift proven by the program without the tie-breaker"
        solution.extra.pop("gap", None)


def _solve(
    problem: Problem, guard_seconds: float = GUARD_SECONDS, start: Solution | None = None
) -> Solution:
    """Solve ``problem`` within the deterministic work budget; fall back to :func:`greedy`.

    One-pool problems without side constraints or costs (:func:`.knapsack.applies`)
    go to the exact search of :mod:`.knapsack` first; everything else, and whatever
    that search cannot finish within its step budget, to HiGHS (warm-started from the
    best plan at hand), which stops after a node budget chosen by size (``LIGHT_NODE_BUDGET``,
    ``DEEP_NODE_BUDGET``; ``NODE_BUDGET`` in Lite's scipy runs).

    Parameters
    ----------
    problem
        The arrays of a rebalance.
    guard_seconds
        Wall-clock guard for HiGHS. Normally the node budget ends the search well
        before it; if the guard fires the result is marked ``extra["guard"] = 1``.
    start
        A plan to start HiGHS from instead of the greedy one (the same problem's plan
        at an earlier cost share, see :mod:`.plan`).

    Returns
    -------
    Solution
        ``method`` is ``"milp"`` when proven optimal, ``"milp-time-limit"`` when the
        budget ran out first (``extra["gap"]`` is the proven gap), ``"greedy"`` when
        no optimiser produced a plan.
    """
    started = time.perf_counter()
    if not knapsack.applies(problem):
        return _solve_milp(problem, guard_seconds, started, start)
    found = knapsack.solve(problem)
    if found is not None and found.method != "milp":
        _filled(problem, found, started + guard_seconds)
    gap = math.inf if found is None else found.extra.get("gap", math.inf)
    if found is not None and (
        found.method == "milp"
        or (problem.groups and (gap <= HANDOVER_GAP or problem.n > LARGE_MODEL_ASSETS))
    ):
        # With group caps the search's budget is small by design (knapsack.MAX_NODES_GROUPS);
        # past it its plan stands when the proof is this close, or when the model is too
        # large for branch-and-bound: the LP route's relaxation is no tighter than the
        # search's (the convex hull per asset) and its rounding no better than the
        # search's local optimum. (A finite gap: the breach-only check did not fail.)
        found.seconds = time.perf_counter() - started
        return found
    if found is not None and _untied_next(problem, found):
        # The weighted program would only be overruled by the untied one (see solve):
        # caps 6, 0.46 s of its 0.6 s.
        found.seconds = time.perf_counter() - started
        return found
    solution = _solve_milp(problem, guard_seconds, started, found)
    if found is None or solution.method == "milp":
        return solution
    if objective(problem, found.buy, found.sell) < objective(problem, solution.buy, solution.sell):
        gap = min(found.extra["gap"], solution.extra.get("gap", math.inf))
        solution.buy, solution.sell = found.buy, found.sell
        solution.method = "milp-time-limit"
        solution.detail = "work budget spent; the knapsack search's plan beat the MILP's"
        solution.objective = found.objective
        solution.extra["gap"] = gap
    return solution


_quiet = {"done": False}


def _new_highs() -> highspy.Highs:
    """A Highs object; the process's first one is made with stdout muted.

    HiGHS prints its banner on the first ``Highs()`` of a process, before any
    option can turn output off; it would land in ``etf-rebal plan -f csv`` output.
    """
    if _quiet["done"]:
        return highspy.Highs()
    import contextlib
    import io
    import os
    import sys

    _quiet["done"] = True
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no real stdout (a GUI host): nothing to mute
        return highspy.Highs()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        with contextlib.redirect_stdout(io.StringIO()):
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _highs(
    model: dict[str, object],
    guard_seconds: float,
    nodes: int | None = None,
    options: Mapping[str, bool | int] | None = None,
) -> highspy.Highs:
    """HiGHS with ``model`` passed, one thread, seed 0, ``nodes`` (default
    ``NODE_BUDGET``) and ``options`` on top (``LIGHT_OPTIONS``, ``DEEP_OPTIONS``)."""
    matrix = sparse.csc_array(model["A"])
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
    lp.col_cost_ = np.asarray(model["c"], dtype=float)
    lp.col_lower_ = np.asarray(model["lb"], dtype=float)
    lp.col_upper_ = np.asarray(model["ub"], dtype=float)
    lp.row_lower_ = np.asarray(model["lo"], dtype=float)
    lp.row_upper_ = np.asarray(model["hi"], dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    integer, continuous = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
    lp.integrality_ = [integer if v else continuous for v in np.asarray(model["integrality"])]
    highs = _new_highs()
    # One thread and a fixed seed: HiGHS is then deterministic, node for node.
    for key, value in (
        ("output_flag", False),
        ("threads", 1),
        ("random_seed", 0),
        ("mip_rel_gap", MIP_REL_GAP),
        ("mip_abs_gap", MIP_ABS_GAP * WEIGHT_UNITS),
        ("mip_max_nodes", NODE_BUDGET if nodes is None else nodes),
        # RENS (a sub-MIP around the root LP) took a third to half of every run on the
        # bench's 10- and 50-asset models with fees (pools 50: 2.7 s -> 1.5 s, "all" 50:
        # 5.8 s -> 3.7 s for the same 200 nodes), for plans no better: the warm start
        # and RINS already supply them.
        ("mip_heuristic_run_rens", False),
        ("time_limit", max(float(guard_seconds), 0.01)),
    ):
        highs.setOptionValue(key, value)
    for key, value in (options or {}).items():
        highs.setOptionValue(key, value)
    highs.passModel(lp)
    return highs


#: Up to this many assets every run on the default budget (the least-breach programs'
#: and the main program's) gets LIGHT_NODE_BUDGET nodes with LIGHT_OPTIONS: there the
#: warm start and the proof, not HiGHS's search for plans, decide the time, and a node
#: costs 0.05-0.5 ms, so a budget of 200 left small plans unproven that a few hundred
#: nodes more prove. Bench "all" workbooks (fees, two pools, bands, caps) against
#: the runs before (200 nodes and HiGHS's heuristics at 4-10 assets, in the least-breach
#: runs too; 800 nodes without the restart at 11-20): at 4-10 assets, seeds 0-11, 81 ->
#: 84 of 84 proven, 80 plans the same and 4 better, 5.9 -> 5.2 s in total (10 assets
#: seed 5: 0.27 -> 0.16 s, its least-band run 163 -> 84 ms); at 11-20 assets, seeds
#: 0-11, 62 -> 67 of 72 proven, 54 the same, 10 better and 8 worse (all but one by less
#: than 1e-7 of the objective, the MIP gap's order), 26.3 -> 22.0 s. caps, pools and
#: band at 4-20 assets (150 workbooks): the same plans. Not above: at 25-30 assets
#: (seeds 0-5) 7 plans better, 3 worse, 3 -> 4 of 12 proven, but 15% more time; there
#: DEEP_NODE_BUDGET's runs stay. (Before, at 10 assets, the same options alone: "all"
#: 2.17 -> 1.78 s at 6-10 assets with every plan the same; the least-breach runs kept
#: HiGHS's heuristics because at 200 nodes one found a breach 4e-7 larger without them.)
LIGHT_HEURISTICS_ASSETS = 20
#: The node budget of those runs (see LIGHT_HEURISTICS_ASSETS): 5,000 proved 3 more of
#: the 72 at 11-20 assets for 8% more time and up to 0.9 s a plan.
LIGHT_NODE_BUDGET = 2000
#: What those runs change. RINS and the feasibility jump: off. The root reduced-cost
#: heuristic (a sub-MIP on the columns the root LP prices near zero) and cuts kept in
#: the LP for only one round without being tight (HiGHS's default: 10). Measured at 6-10
#: assets, seeds 0-5 ("all", caps, pools, band): all 72 plans the same, "all" 2.17 ->
#: 1.78 s in total (10 assets seed 0: its main run 0.19 -> 0.08 s, 61 -> 44 nodes);
#: either alone gained less (1.89 s, 2.09 s).
LIGHT_OPTIONS: dict[str, bool | int] = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_feasibility_jump": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_lp_age_limit": 1,
}


#: Price of fees and conversions in the least-breach programs (see _solve_milp).
LOOSENING_COST = 1.5


def _solve_milp(
    problem: Problem, guard_seconds: float, started: float, start: Solution | None
) -> Solution:
    """HiGHS on the program, caps and bands first: lexicographically, not by weights.

    Caps (group and per-asset Min/Max) first: when the starting plan breaches one, a
    first program finds the least breach whole shares allow and holds the breach to it
    (:func:`_settled_first`); then the same for bands in band mode, from that
    least-breach plan; then the main program, held to both. A kind whose least breach
    that could not settle is settled the same way after the main program, which then
    runs once more. So no penalty weighting can trade a keepable cap or band for drift
    or turnover.

    The breach each kind is held to, when proven the least (no breach, or a
    least-breach program HiGHS solved to optimality), is returned in
    ``extra["held_cap"]`` and ``extra["held_band"]``. A ``start`` that carries them
    (the same problem at an earlier cost share: only the drift targets differ, so the
    least breaches are the same and some plan keeps both) has them imposed at once,
    and that kind's phases are not run again.
    """
    try:
        large = problem.n > LARGE_MODEL_ASSETS
        model, layout = _build(problem)
        hint = start if start is not None else greedy(problem)
        held: dict[str, float] = {}
        if start is not None and not large:
            for kind in ("cap", "band"):
                bound = start.extra.get(f"held_{kind}")
                if bound is not None and len(layout[kind]):
                    model = _limited(model, layout[kind], bound)
                    held[kind] = bound
        imposed = bool(held)

        def left() -> float:
            # One guard for the whole solve, not per run: the phases share it.
            return max(guard_seconds - (time.perf_counter() - started), 0.01)

        settled: list[str] = []
        if large:
            # HiGHS's root cut rounds do not look at the clock (88 s seen for a 10 s guard
            # at 2,000 assets in two pools): a model this size gets its LP relaxation,
            # rounded and repaired, with the LP's bound as the proven gap.
            solution, x = _lp_rounded(model, layout, problem, left()), None
        else:
            unlimited = model
            if start is None and (len(layout["cap"]) or len(layout["band"])):
                hint = _rounded_hint(model, layout, problem, hint, left())
            model, first_hint, settled = _settled_first(model, layout, problem, hint, held, left)
            solution, x = _run(model, layout, problem, left(), first_hint)
            if solution is None and settled:
                # The breaches held at once found no plan within the budget: settle anew.
                for kind in settled:
                    held.pop(kind, None)
                model, settled = unlimited, []
                solution, x = _run(model, layout, problem, left(), hint)
        # A kind's least breach, once found below the plan's, is held while the next kind
        # is settled from that least-breach plan; the main program runs again once, at
        # the end. (Again after each kind ran up to five programs: "all" at 10 assets.)
        pending: tuple[Solution, np.ndarray] | None = None
        for kind in ("cap", "band"):
            cols = layout[kind]
            if kind in held or kind in settled:
                continue
            if solution is None or x is None or not len(cols) or solution.extra.get("guard"):
                continue
            plan_x = x if pending is None else pending[1]
            breach = float(plan_x[cols].sum())
            least_proven = breach <= BREACH_TOL * WEIGHT_UNITS
            if breach > BREACH_TOL * WEIGHT_UNITS:
                from_plan = solution if pending is None else pending[0]
                run = _least_run(model, layout, problem, cols, from_plan, left)
                if run is not None:
                    first, x_first, least = run
                    least_proven = first.method == "milp"
                    if least < breach - BREACH_TOL * WEIGHT_UNITS:
                        model = _limited(model, cols, least + BREACH_TOL * WEIGHT_UNITS)
                        if least_proven:
                            held[kind] = least + BREACH_TOL * WEIGHT_UNITS
                        pending = first, x_first
                        continue
            # Keep this kind's breach where it is while the next kind is settled.
            model = _limited(model, cols, breach + BREACH_TOL * WEIGHT_UNITS)
            if least_proven:
                held[kind] = breach + BREACH_TOL * WEIGHT_UNITS
        if pending is not None:
            again, x_again = _run(model, layout, problem, left(), pending[0])
            if again is not None:
                again.extra["guard"] = max(
                    again.extra.get("guard", 0.0), float(bool(pending[0].extra.get("guard")))
                )
                solution, x = again, x_again
    except (ValueError, MemoryError, RuntimeError) as error:  # a model HiGHS refuses
        fallback = greedy(problem)
        fallback.detail = f"solver error: {error}"
        fallback.seconds = time.perf_counter() - started
        return fallback
    if solution is None and imposed:
        # The held breaches found no plan within the budget: settle them anew.
        return _solve_milp(problem, guard_seconds, started, None)
    if solution is None:
        fallback = greedy(problem)
        fallback.detail = "no feasible plan within the work budget"
        fallback.seconds = time.perf_counter() - started
        return fallback
    solution.seconds = time.perf_counter() - started
    for kind, bound in held.items():
        solution.extra[f"held_{kind}"] = bound
    if solution.method != "milp":
        # An unproven incumbent can be poor: keep the greedy plan instead when the
        # program's own objective says it is better.
        fallback = greedy(problem)
        if objective(problem, fallback.buy, fallback.sell) < objective(
            problem, solution.buy, solution.sell
        ):
            solution.buy, solution.sell = fallback.buy, fallback.sell
            solution.detail = "work budget spent; the greedy plan beat the best found"
    return solution


def cost_estimate(
    problem: Problem, guard_seconds: float = GUARD_SECONDS
) -> tuple[Solution, float] | None:
    """The plan branch-and-bound will start from (:func:`_rounded_hint`) and its cost
    share (0 when it does not pay), so that the first solve can take that as its cost
    share and start there (see :mod:`.plan`); ``None`` where that start is not the rounded
    LP plan (no caps or bands, the knapsack search's route, the LP route).

    A plan's costs are what its orders pay, so the rounded plan's, a few shares away from
    the optimum's, are close to the optimum's: then one solve is proven at the plan's own
    cost share, and the re-solve can be skipped (:func:`.plan._proven_at_own_share`).
    """
    if problem.n > LARGE_MODEL_ASSETS or knapsack.applies(problem):
        return None
    model, layout = _build(problem)
    if not (len(layout["cap"]) or len(layout["band"])):
        return None
    rounded = _lp_rounded(model, layout, problem, guard_seconds)
    if rounded is None or rounded.extra.get("guard"):
        return None  # a clock-cut rounding must not decide the plan
    hint = _better_start(problem, rounded, greedy(problem))
    settled = settle_pools(problem, hint.buy, hint.sell)
    return hint, settled.costs / problem.value if settled.feasible else 0.0


def _rounded_hint(
    model: dict[str, object],
    layout: dict[str, np.ndarray],
    problem: Problem,
    greedy_plan: Solution,
    guard_seconds: float,
) -> Solution:
    """The plan to start from: the LP relaxation's, rounded (:func:`_lp_rounded`), when it
    breaches the caps, then the bands, less than the greedy plan, or as little at a lower
    objective; else the greedy plan.

    The greedy plan ignores caps: on the bench's "all" workbooks (caps, bands, fees, two
    pools) it breaches them by 0.05 to 0.14 of the portfolio, where the rounded plan, in
    11 to 25 ms, keeps every cap and leaves the bands within a few shares of their least
    breach. A kept cap then needs no least-breach program (0.05 to 1.2 s of HiGHS).
    """
    rounded = _lp_rounded(model, layout, problem, guard_seconds)
    if rounded is None or rounded.extra.get("guard"):
        return greedy_plan  # a clock-cut rounding must not decide the plan
    return _better_start(problem, rounded, greedy_plan)


def _better_start(problem: Problem, rounded: Solution, greedy_plan: Solution) -> Solution:
    """The rounded plan when it breaches the caps, then the bands, less than the greedy
    plan, or as little at a lower objective; else the greedy plan."""
    ours = (*breaches(problem, rounded.buy, rounded.sell), rounded.objective)
    theirs = (
        *breaches(problem, greedy_plan.buy, greedy_plan.sell),
        objective(problem, greedy_plan.buy, greedy_plan.sell),
    )
    return rounded if better(ours, theirs, tolerance=0.0) else greedy_plan


def _settled_first(
    model: dict[str, object],
    layout: dict[str, np.ndarray],
    problem: Problem,
    hint: Solution,
    held: dict[str, float],
    left: Callable[[], float],
) -> tuple[dict[str, object], Solution, list[str]]:
    """Caps, then bands, settled before the main program runs: ``model`` held to each
    kind's least breach, the plan to start the main program from, and the kinds settled.

    A kind the ``hint`` (see :func:`_rounded_hint`) keeps has no breach to find: it is
    held at nil at once (the hint proves that least). For a kind the hint breaches, the
    least-breach program runs from the best plan so far (at 10 assets HiGHS proves these
    in 1 to 43 nodes) and the breach it finds is held, in ``held`` too when proven.
    Settled first, the main program runs once: settled after it, twice ("all" at 10
    assets: the first run, from the greedy plan's breached caps, took 0.38 s of 0.81 s).
    """
    settled: list[str] = []
    cap, band = breaches(problem, hint.buy, hint.sell)
    for kind, breach in (("cap", cap), ("band", band)):
        cols = layout[kind]
        if kind in held or not len(cols):
            continue
        if breach <= BREACH_TOL:
            bound, proven = BREACH_TOL * WEIGHT_UNITS, True
        else:
            run = _least_run(model, layout, problem, cols, hint, left)
            if run is None or run[0].extra.get("guard"):
                continue  # left to the phases after the main run
            first, _x, least = run
            bound = least + BREACH_TOL * WEIGHT_UNITS
            proven, hint = first.method == "milp", first
        model = _limited(model, cols, bound)
        settled.append(kind)
        if proven:
            held[kind] = bound
    return model, hint, settled


def _least_run(
    model: dict[str, object],
    layout: dict[str, np.ndarray],
    problem: Problem,
    cols: np.ndarray,
    start: Solution,
    left: Callable[[], float],
) -> tuple[Solution, np.ndarray, float] | None:
    """The least-breach program of columns ``cols`` (:func:`_least_breach`) run from
    ``start``: its plan, its columns' values and the breach it found (weight units);
    ``None`` without a plan."""
    first, x_first = _run(
        _least_breach(model, layout, problem, cols), layout, problem, left(), start
    )
    if first is None or x_first is None:
        return None
    return first, x_first, float(x_first[cols].sum())


def _least_breach(
    model: dict[str, object], layout: dict[str, np.ndarray], problem: Problem, cols: np.ndarray
) -> dict[str, object]:
    """``model`` minimising the breach in columns ``cols`` instead (and money spent)."""
    least_model = dict(model)
    cost = np.zeros_like(np.asarray(model["c"], dtype=float))
    cost[cols] = 1.0
    # Money spent loosens lower bounds (they apply to the value after costs) by at most
    # the sum of the lower bounds (<= 1) per unit: priced above that, no fee or
    # conversion is ever paid just to shrink the portfolio.
    cost[layout["fee"]] = LOOSENING_COST
    cost[layout["flows"]] = LOOSENING_COST * problem.fx_spread
    least_model["c"] = cost
    return least_model


def _limited(model: dict[str, object], cols: np.ndarray, bound: float) -> dict[str, object]:
    """``model`` with one more row: the sum of columns ``cols`` at most ``bound``."""
    matrix = sparse.csr_array(model["A"])
    row = sparse.csr_array(
        (np.ones(len(cols)), (np.zeros(len(cols), dtype=np.int64), cols)),
        shape=(1, matrix.shape[1]),
    )
    out = dict(model)
    out["A"] = sparse.vstack([matrix, row], format="csr")
    out["lo"] = np.append(np.asarray(model["lo"]), -np.inf)
    out["hi"] = np.append(np.asarray(model["hi"]), bound)
    return out


def _run(
    model: dict[str, object],
    layout: dict[str, np.ndarray],
    problem: Problem,
    guard_seconds: float,
    hint: Solution,
    nodes: int | None = None,
) -> tuple[Solution | None, np.ndarray | None]:
    """One HiGHS run from a partial start (share counts); ``None`` without a plan.
    ``nodes``: a node budget other than the default one (``LIGHT_NODE_BUDGET`` up to
    ``LIGHT_HEURISTICS_ASSETS``, ``DEEP_NODE_BUDGET`` above)."""
    if highspy is None:
        return _run_scipy(model, layout, problem, guard_seconds)
    started = time.perf_counter()
    options: Mapping[str, bool | int] | None = None
    if problem.n <= LIGHT_HEURISTICS_ASSETS:
        nodes, options = LIGHT_NODE_BUDGET if nodes is None else nodes, LIGHT_OPTIONS
    elif nodes is None:
        nodes, options = DEEP_NODE_BUDGET, DEEP_OPTIONS
    highs = _highs(model, guard_seconds, nodes, options)
    unit = layout["unit"]
    cols = np.concatenate([layout["b"], layout["s"]])
    vals = np.concatenate([hint.buy, hint.sell]) / np.concatenate([unit, unit])
    # A partial start (share counts only): HiGHS completes the rest by an LP.
    highs.setSolution(len(cols), cols.astype(np.int32), vals.astype(float))
    _run_highs(highs)
    x = np.asarray(highs.getSolution().col_value)
    reported = float(highs.getInfo().objective_function_value)
    cost = np.asarray(model["c"], dtype=float)
    if len(x) == len(cost) and abs(float(cost @ x) - reported) > 1e-6 * max(1.0, abs(reported)):
        # HiGHS 1.16 with presolve and a partial start can call a plan optimal with an
        # objective its own solution does not have (-1000 reported, 51.7 true, on a
        # two-asset least-breach program): run again without the start.
        left = max(guard_seconds - (time.perf_counter() - started), 0.01)
        highs = _highs(model, left, nodes, options)
        _run_highs(highs)
        x = np.asarray(highs.getSolution().col_value)
    status = highs.getModelStatus()
    info = highs.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return None, None
    proven = status == highspy.HighsModelStatus.kOptimal
    solution = _solution(x, layout, problem, proven, highs.modelStatusToString(status))
    solution.objective = float(info.objective_function_value) / WEIGHT_UNITS
    bound = float(info.mip_dual_bound)
    if math.isfinite(bound):
        # Proven distance to the optimum, in drift units (weight fractions).
        solution.extra["gap"] = max(solution.objective - bound / WEIGHT_UNITS, 0.0)
    solution.extra["nodes"] = float(info.mip_node_count)
    solution.extra["guard"] = float(status == highspy.HighsModelStatus.kTimeLimit)
    return solution, x


def _scipy_milp(model: dict[str, object], guard_seconds: float, options: dict[str, object]) -> Any:
    """``scipy.optimize.milp`` on ``model`` (its integrality as given), within the guard."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    matrix = sparse.csr_array(model["A"])
    # Pyodide's scipy 1.14 refuses int64 sparse indices ("Buffer dtype mismatch").
    matrix.indices = matrix.indices.astype(np.int32)
    matrix.indptr = matrix.indptr.astype(np.int32)
    with warnings.catch_warnings():
        # Options scipy does not list (mip_heuristic_run_rens) go to HiGHS verbatim, and it
        # warns that they do; a HiGHS that lacks one skips it, with a warning too.
        warnings.filterwarnings("ignore", "Unrecognized options")
        return milp(
            np.asarray(model["c"], dtype=float),
            integrality=np.asarray(model["integrality"]),
            bounds=Bounds(
                np.asarray(model["lb"], dtype=float), np.asarray(model["ub"], dtype=float)
            ),
            constraints=LinearConstraint(
                matrix, np.asarray(model["lo"], dtype=float), np.asarray(model["hi"], dtype=float)
            ),
            options={"disp": False, "time_limit": max(float(guard_seconds), 0.01), **options},
        )


def _run_highs(highs: highspy.Highs) -> None:
    if highs.run() == highspy.HighsStatus.kError:
        # HiGHS's task scheduler is process-wide: if another user in this process (cvxpy,
        # scipy) started it with more threads, a one-thread run is refused. Reset, retry.
        highspy.Highs.resetGlobalScheduler(True)
        highs.run()


def _run_scipy(
    model: dict[str, object],
    layout: dict[str, np.ndarray],
    problem: Problem,
    guard_seconds: float,
) -> tuple[Solution | None, np.ndarray | None]:
    """The same run through ``scipy.optimize.milp`` (no warm start), where highspy is absent."""
    result = _scipy_milp(
        model,
        guard_seconds,
        {"node_limit": NODE_BUDGET, "mip_rel_gap": MIP_REL_GAP, "mip_heuristic_run_rens": False},
    )
    if result.x is None:
        return None, None
    x = np.asarray(result.x)
    solution = _solution(x, layout, problem, result.status == 0, str(result.message))
    solution.objective = float(result.fun) / WEIGHT_UNITS
    bound = getattr(result, "mip_dual_bound", None)
    if bound is not None and math.isfinite(bound):
        solution.extra["gap"] = max(solution.objective - float(bound) / WEIGHT_UNITS, 0.0)
    solution.extra["nodes"] = float(getattr(result, "mip_node_count", 0) or 0)
    solution.extra["guard"] = float("time limit" in str(result.message).casefold())
    return solution, x


def _lp_rounded(
    model: dict[str, object],
    layout: dict[str, np.ndarray],
    problem: Problem,
    guard_seconds: float,
) -> Solution | None:
    """The LP relaxation's plan in whole shares, made to fit the cash: for large models.

    Rounded by :func:`_rounded_plan`. The LP optimum bounds the program's objective from
    below, so ``extra["gap"]`` is a proven gap. From :data:`GUIDE_LP_ASSETS` on, the
    first LP is that of the problem without ``fee_min`` and ``min_trade`` (no order
    binaries), with kappa and the conversions allowed ``fee_min`` more per asset: every
    plan of the program is a point of it (same trades and kappa, fees no higher, cash
    no lower) at no higher objective, so its optimum is a bound too.

    ``None`` when the LP is not solved; the greedy plan, marked as guard-cut, when the
    guard stopped it.
    """
    started = time.perf_counter()
    relaxed = dict(model)
    relaxed["integrality"] = np.zeros_like(np.asarray(model["integrality"]))
    guide, guide_layout = relaxed, layout
    fast = problem.n >= UNSCALED_LP_ASSETS
    if len(layout["yb"]) and problem.n >= GUIDE_LP_ASSETS:
        # The order binaries' rows (8 per asset) are two thirds of the LP and weak in it
        # (the relaxation puts fee_min on b / max shares of a binary); without fee_min and
        # min_trade, and with the costs allowed fee_min more per order, it is a
        # relaxation still (all 2,000: 24,580 -> 8,580 rows, 4.6 -> 1.1 s).
        guide, guide_layout = _build(
            replace(problem, fee_min=0.0, min_trade=0.0), extra_fee=problem.fee_min
        )
        guide["integrality"] = np.zeros_like(np.asarray(guide["integrality"]))
    uncut: list[np.ndarray] = []
    solved = _lp(guide, guard_seconds, fast, uncut)
    if solved is None:
        if time.perf_counter() - started < guard_seconds:
            return None
        # The guard stopped the LP: the greedy plan, reported as cut by the clock.
        fallback = greedy(problem)
        fallback.method = "milp-time-limit"
        fallback.detail = "the wall-clock guard stopped the LP relaxation: greedy plan"
        fallback.extra["guard"] = 1.0
        return fallback
    x, bound = solved
    best: tuple[np.ndarray, np.ndarray, bool] | None = None
    best_score = (math.inf, math.inf, math.inf)
    # The envelope cuts move the LP point to where the bound is tight, which is not
    # always where rounding does best (bench "all", 100-500 assets: 5 of 9 plans better,
    # 4 worse): the plan from each point, the better kept (bounded by the cut LP's).
    for point in [x, *uncut]:
        planned = _plan_from_lp(
            problem, layout, guide_layout, relaxed, point, (started, guard_seconds, fast)
        )
        if planned is None:
            continue
        scored = planned[:2]
        if problem.mode == "full" and problem.groups and problem.n <= FILL_ASSETS:
            # Scored as _filled will leave them (group sums brought to their bounds): on
            # fuzzed caps problems 5 of 250 choices went the other way before filling.
            scored = fill.filled_groups(problem, *scored)
        score = (*breaches(problem, *scored), objective(problem, *scored))
        if best is None or better(score, best_score):
            best, best_score = planned, score
    if best is None:
        return None
    buy, sell, stopped = best
    solution = Solution(
        buy, sell, "milp-time-limit", "large model: the LP relaxation's plan, rounded", 0.0
    )
    solution.objective = objective(problem, buy, sell)
    solution.extra["gap"] = max(solution.objective - bound, 0.0)
    solution.extra["nodes"] = 0.0
    solution.extra["guard"] = float(stopped)
    return solution


def _plan_from_lp(
    problem: Problem,
    layout: dict[str, np.ndarray],
    guide_layout: dict[str, np.ndarray],
    relaxed: dict[str, object],
    x: np.ndarray,
    clock: tuple[float, float, bool],
) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """Whole-share orders from the (guide) LP point ``x``: the orders the relaxation
    places fixed and the LP solved again, rounded, polished, caps then bands kept.
    ``clock`` is when the route started, its guard and whether LPs run unscaled; the last
    item returned says whether the guard cut the repairs short."""
    started, guard_seconds, fast = clock
    unit = layout["unit"]
    trade = (x[guide_layout["b"]] - x[guide_layout["s"]]) * unit
    fixed_cut = False
    # By the model alone, not by how much of the guard is left: a clock deciding whether
    # this LP runs would let the machine's load decide the plan.
    if len(layout["yb"]):
        # The relaxation spreads fee_min over fractional order binaries (the guide LP
        # leaves it out), so it places many small orders that min_trade and fee_min
        # then make wrong. Fix which orders exist (those worth min_trade in the
        # relaxation), pay their fee_min in full, and solve the LP again: only whole
        # shares are relaxed then.
        value = np.abs(trade) * problem.price
        keep = value >= max(problem.min_trade, 1e-9 * problem.value)
        lb = np.asarray(relaxed["lb"], dtype=float).copy()
        ub = np.asarray(relaxed["ub"], dtype=float).copy()
        yb, ys, b, s = layout["yb"], layout["ys"], layout["b"], layout["s"]
        buys, sells = keep & (trade > 0), keep & (trade < 0)
        ub[yb] = np.where(buys, ub[yb], 0.0)
        lb[yb] = np.where(buys, ub[yb], 0.0)
        ub[ys] = np.where(sells, ub[ys], 0.0)
        lb[ys] = np.where(sells, ub[ys], 0.0)
        ub[b] = np.where(buys, ub[b], 0.0)
        ub[s] = np.where(sells, ub[s], 0.0)
        fixed = dict(relaxed)
        fixed["lb"], fixed["ub"] = lb, ub
        # Orders fixed, fee_min paid: what is left to cut is whole shares alone.
        fixed["separator"] = None
        again = _lp(fixed, guard_seconds - (time.perf_counter() - started), fast)
        if again is not None:
            trade = (again[0][layout["b"]] - again[0][layout["s"]]) * unit
        else:  # infeasible (the plan stays the relaxation's) or cut by the guard: say so
            fixed_cut = time.perf_counter() - started >= guard_seconds
    buy, sell = _rounded_plan(problem, trade)
    if buy is None or sell is None:
        return None
    # Rounding leaves caps and bands the relaxation kept a share or two outside (at 500
    # assets with bands, caps, two pools and fees: the program's objective 19.0 -> 2.1,
    # caps breached by 0.018 -> 0.0001 of the portfolio, in 0.13 s).
    buy, sell, stopped = knapsack.polish(problem, buy, sell, started + guard_seconds)
    buy, sell, cut = knapsack.kept_caps(problem, buy, sell, started + guard_seconds)
    stopped = stopped or cut
    buy, sell, cut = knapsack.kept_bands(problem, buy, sell, started + guard_seconds)
    return buy, sell, stopped or cut or fixed_cut


def _lp(
    model: dict[str, object],
    guard_seconds: float,
    fast: bool = False,
    uncut: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, float] | None:
    """Column values and optimum (weights) of an LP, or ``None`` when it is not solved.

    ``fast``: unscaled, Dantzig pricing (see :data:`UNSCALED_LP_ASSETS`); should that
    not end optimal, the LP is solved again with HiGHS's defaults. A model with a
    separator gets :data:`ENVELOPE_ROUNDS` rounds of envelope cuts (see :mod:`.envelope`),
    and its optimum is that of the LP with them; the point before the first cut is
    appended to ``uncut`` when given.
    """
    separator = model.get("separator")
    rounds = ENVELOPE_ROUNDS if isinstance(separator, _Separator) else 0
    if highspy is None:  # Lite: scipy's HiGHS (the model's integrality is already off)
        for round_ in range(rounds + 1):
            result = _scipy_milp(model, guard_seconds, {})
            if result.status != 0 or result.x is None:
                return None
            x = np.asarray(result.x)
            if round_ == rounds:
                break
            assert isinstance(separator, _Separator)
            cols, vals, row_of, lo = separator.cuts(x)
            if not len(lo):
                break
            if uncut is not None and round_ == 0:
                uncut.append(x)
            model = _with_rows(model, (cols, vals, row_of, lo))
        return x, float(result.fun) / WEIGHT_UNITS
    started = time.perf_counter()
    highs = _highs(model, max(guard_seconds, 0.01))
    if fast:
        highs.setOptionValue("simplex_scale_strategy", 0)
        highs.setOptionValue("simplex_dual_edge_weight_strategy", 0)
    _run_highs(highs)
    if fast and highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        left = guard_seconds - (time.perf_counter() - started)
        if left <= 0.01:
            return None
        return _lp(model, left, uncut=uncut)
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    for round_ in range(rounds):
        # Rounds counted, not timed: the bound, like the plan, is the inputs' alone.
        assert isinstance(separator, _Separator)
        x = np.asarray(highs.getSolution().col_value)
        cols, vals, row_of, lo = separator.cuts(x)
        if not len(lo):
            break
        if uncut is not None and round_ == 0:
            uncut.append(x)
        starts = np.searchsorted(row_of, np.arange(len(lo)))
        highs.addRows(
            len(lo), lo, np.full(len(lo), np.inf), len(cols),
            starts.astype(np.int32), cols.astype(np.int32), vals,
        )  # fmt: skip
        highs.setOptionValue(
            "time_limit", max(guard_seconds - (time.perf_counter() - started), 0.01)
        )
        _run_highs(highs)
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
    value = float(highs.getInfo().objective_function_value) / WEIGHT_UNITS
    return np.asarray(highs.getSolution().col_value), value


def _with_rows(
    model: dict[str, object], rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
) -> dict[str, object]:
    """``model`` with rows ``lo <= ...`` given as (columns, values, row of each, ``lo``)."""
    cols, vals, row_of, lo = rows
    matrix = sparse.csr_array(model["A"])
    extra = sparse.csr_array((vals, (row_of, cols)), shape=(len(lo), matrix.shape[1]))
    out = dict(model)
    out["A"] = sparse.vstack([matrix, extra], format="csr")
    out["lo"] = np.append(np.asarray(model["lo"]), lo)
    out["hi"] = np.append(np.asarray(model["hi"]), np.full(len(lo), np.inf))
    return out


def _rounded_plan(
    problem: Problem, trade: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """Whole-share orders near the relaxed trades ``trade`` that the cash can pay.

    Each trade goes to the neighbouring share count with the smaller Min/Max (then
    band) breach of its own, else the nearer one. If that overdraws the cash or breaches
    more than taking every such purchase back down would, the purchases rounded up by
    the least are taken back first (bisection on how many), which keeps the cash at
    work (rounding all down leaves about half a share per asset idle). The better of
    that and the all-down plan by the program's objective is returned.
    """
    if not problem.whole:
        buy = np.maximum(trade, 0.0)
        sell = np.minimum(np.maximum(-trade, 0.0), problem.sell_max)
        return _fitted(problem, buy, sell)
    lo = np.maximum(np.floor(trade + 1e-9), -np.floor(problem.sell_max + 1e-9))
    hi = np.minimum(lo + 1.0, np.floor(problem.buy_max + 1e-9))
    fractional = (trade - lo > 1e-9) & (hi > lo)
    # Per asset, the share count whose Min/Max (then band) breach is smaller; on a tie
    # the nearer one. Rounding an asset over its Max or under its Min would otherwise
    # spend a cap the relaxation kept.
    # Bounds are weights of the value after costs: those of the relaxed plan's orders.
    costs = settle_pools(problem, np.maximum(trade, 0.0), np.maximum(-trade, 0.0)).costs
    k = 1.0 - costs / problem.value
    cap_lo, band_lo = _own_breach(problem, lo, k)
    cap_hi, band_hi = _own_breach(problem, hi, k)
    nearer_up = trade - lo >= 0.5
    up = np.where(
        np.abs(cap_hi - cap_lo) > 1e-12,
        cap_hi < cap_lo,
        np.where(np.abs(band_hi - band_lo) > 1e-12, band_hi < band_lo, nearer_up),
    )
    x = _groups_kept(problem, np.where(fractional & up, hi, lo), trade, k)
    # Raised purchases whose own breach does not grow when taken back down, least
    # rounded-up first: those are what the cash fit may give back.
    revertible = fractional & up & (hi > 0) & (cap_lo <= cap_hi + 1e-12)
    revertible &= band_lo <= band_hi + 1e-12
    raised = np.flatnonzero(revertible)
    raised = raised[np.argsort(trade[raised] - lo[raised], kind="stable")]

    def plan_with(k: int) -> tuple[np.ndarray, np.ndarray]:
        net = x.copy()
        net[raised[:k]] = lo[raised[:k]]
        return _dropped(problem, np.maximum(net, 0.0)), _dropped(problem, np.maximum(-net, 0.0))

    floor_buy, floor_sell = _fitted(problem, *plan_with(len(raised)))
    if floor_buy is None or floor_sell is None:
        return None, None
    limit = breaches(problem, floor_buy, floor_sell)

    def fits(k: int) -> bool:
        buy, sell = plan_with(k)
        if not settle_pools(problem, buy, sell).feasible:
            return False
        cap, band = breaches(problem, buy, sell)
        return cap <= limit[0] + 1e-12 and band <= limit[1] + 1e-12

    low, high = 0, len(raised)
    if not fits(high):
        return floor_buy, floor_sell  # the cash needed purchases shrunk: _fitted did it
    while low < high:
        mid = (low + high) // 2
        if fits(mid):
            high = mid
        else:
            low = mid + 1
    buy, sell = plan_with(high)
    if objective(problem, buy, sell) <= objective(problem, floor_buy, floor_sell):
        return buy, sell
    return floor_buy, floor_sell


def _groups_kept(problem: Problem, x: np.ndarray, trade: np.ndarray, k: float) -> np.ndarray:
    """``x`` (net whole-share trades) with each group cap and floor the rounding broke
    mended one share at a time, where that share costs its asset the least breach.

    Rounding each member to its own better neighbour can leave a group over its cap by
    a share or two; the local search that follows then mends it with whatever share
    gains most at once, the dearest, selling members out of their bands ("all" at 500
    assets: four expensive members of the capped group sold out, 0.017 of band breach).
    Here the share taken (or added) is the one whose own Min/Max, then band, breach
    grows least per unit of weight, on a tie the one rounded furthest from ``trade``.
    """
    x = x.copy()
    a = problem.price / problem.value
    low = -np.floor(problem.sell_max + 1e-9)
    high = np.floor(problem.buy_max + 1e-9)
    for _label, members, g_lo, g_hi in problem.groups:
        for bound, step in ((g_hi, -1.0), (g_lo, 1.0)):
            if bound is None:
                continue
            limit = bound * k
            # Rounding moved each member by under a share: two steps per member mend that
            # (a cap the relaxation itself missed is the local search's to mend).
            for _ in range(2 * len(members)):
                weight = float(np.sum(a[members] * (problem.held[members] + x[members])))
                if (weight - limit) * -step <= 1e-12:
                    break
                inside = (x[members] + step >= low[members]) & (x[members] + step <= high[members])
                movable = members[inside]
                if not len(movable):
                    break
                cap_now, band_now = _own_breach(problem, x, k)
                moved = x.copy()
                moved[movable] += step
                cap_then, band_then = _own_breach(problem, moved, k)
                per = a[movable]
                score = np.lexsort(
                    (
                        -(x[movable] - trade[movable]) * -step,
                        (band_then[movable] - band_now[movable]) / per,
                        (cap_then[movable] - cap_now[movable]) / per,
                    )
                )
                x[movable[score[0]]] += step
    return x


def _own_breach(problem: Problem, trade: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Each asset's distance outside its Min/Max and (band mode) its band, at ``trade``.

    ``k`` is the share of the value left after costs (what the bounds are weights of).
    """
    weight = (problem.held + trade) * problem.price / problem.value
    cap = excesses(weight, problem.min_weight * k, problem.max_weight * k)
    band = (
        excesses(weight, problem.band_lo * k, problem.band_hi * k)
        if problem.mode == "band"
        else 0.0 * cap
    )
    return cap, band


def _dropped(problem: Problem, orders: np.ndarray) -> np.ndarray:
    """Orders below ``min_trade`` left out."""
    if problem.min_trade <= 0:
        return orders
    return np.where(orders * problem.price < problem.min_trade, 0.0, orders)


def _fitted(
    problem: Problem, buy: np.ndarray, sell: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """``buy``/``sell`` without orders below ``min_trade``, purchases shrunk to fit the cash."""
    buy, sell = _dropped(problem, buy), _dropped(problem, sell)
    if settle_pools(problem, buy, sell).feasible:
        return buy, sell
    # Purchases of assets with a Min (or a band) are what keeps them inside: shrink the
    # others first, and all of them only if that is not enough.
    bounded = np.isfinite(problem.min_weight)
    if problem.mode == "band":
        bounded |= np.isfinite(problem.band_lo)
    for shrinkable in (~bounded, np.ones(len(buy), dtype=bool)):

        def shrunk(factor: float, shrinkable: np.ndarray = shrinkable) -> np.ndarray:
            return np.where(shrinkable, _shrunk(buy, factor, problem), buy)

        if not settle_pools(problem, shrunk(0.0), sell).feasible:
            continue
        low, high = 0.0, 1.0
        for _ in range(40):
            mid = 0.5 * (low + high)
            if settle_pools(problem, shrunk(mid), sell).feasible:
                low = mid
            else:
                high = mid
        return shrunk(low), sell
    return None, None


def _shrunk(buy: np.ndarray, factor: float, problem: Problem) -> np.ndarray:
    out = buy * factor
    out = np.floor(out + 1e-9) if problem.whole else out
    if problem.min_trade > 0:
        out = np.where(out * problem.price < problem.min_trade, 0.0, out)
    return out


def _solution(
    x: np.ndarray, layout: dict[str, np.ndarray], problem: Problem, proven: bool, status: str
) -> Solution:
    """Trades from a solver's column values: whole shares rounded, buys and sells netted."""
    unit = layout["unit"]
    buy, sell = x[layout["b"]] * unit, x[layout["s"]] * unit
    if problem.whole:
        # Share columns are integral up to tolerance; value-modelled (tiny) ones round down.
        tiny = unit != 1.0
        buy = np.where(tiny, np.floor(buy + 1e-9), np.round(buy))
        sell = np.where(tiny, np.floor(sell + 1e-9), np.round(sell))
    # Buying and selling one asset is never better than the net trade (same weights,
    # fewer costs): net them, in case solver tolerances left both.
    net = np.clip(buy, 0.0, problem.buy_max) - np.clip(sell, 0.0, problem.sell_max)
    buy, sell = np.maximum(net, 0.0), np.maximum(-net, 0.0)
    return Solution(buy, sell, "milp" if proven else "milp-time-limit", status, 0.0)


class _Separator:
    """The envelope cuts (:mod:`.envelope`) of one program, added as LPs violate them."""

    def __init__(
        self,
        costs: envelope.Costs,
        assets: np.ndarray,
        own: np.ndarray,
        weights: np.ndarray,
        kappa: tuple[np.ndarray, int],
    ) -> None:
        self.costs, self.assets = costs, assets
        # Each asset's columns (buy, sell first; -1 pads) and their objective costs.
        self.own, self.weights = own, weights
        # kappa's coefficient per asset (empty without a cost column) and its column.
        self.kappa, self.kappa_col = kappa
        self.lines: tuple[np.ndarray, np.ndarray] | None = None

    def cuts(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows (columns, values, row of each entry, lower bounds) the LP point ``x``
        violates by more than the solver's gap tolerance."""
        mask = self.own >= 0
        values = np.where(mask, x[np.maximum(self.own, 0)], 0.0)
        paid = (values * self.weights).sum(axis=1)
        if len(self.kappa):
            paid = paid + self.kappa * x[self.kappa_col]
        trade = values[:, 0] - values[:, 1]
        if self.lines is None:
            self.lines = envelope.edges(self.costs)  # once per program, when first needed
        rows, alpha, beta = envelope.separate(self.lines, trade, paid, MIP_ABS_GAP * WEIGHT_UNITS)
        if not len(rows):
            empty = np.empty(0)
            return np.empty(0, dtype=np.int64), empty, np.empty(0, dtype=np.int64), empty
        weights = self.weights[rows].copy()
        weights[:, 0] -= beta
        weights[:, 1] += beta
        cols, vals = self.own[rows], weights
        if len(self.kappa):
            cols = np.concatenate([cols, np.full((len(rows), 1), self.kappa_col)], axis=1)
            vals = np.concatenate([vals, self.kappa[rows][:, None]], axis=1)
        keep = cols >= 0
        row_of = np.broadcast_to(np.arange(len(rows))[:, None], cols.shape)
        return cols[keep], vals[keep], row_of[keep], alpha


def _separator(
    problem: Problem,
    assets: np.ndarray,
    trade: dict[str, np.ndarray],
    pieces: tuple[np.ndarray, np.ndarray, int],
    owned: list[tuple[np.ndarray, np.ndarray]],
    kappa: np.ndarray,
    cost: np.ndarray,
    bounds: list[tuple[np.ndarray, np.ndarray, float]],
    arrays: list[np.ndarray],
    scalars: dict[str, float],
) -> _Separator:
    """The envelope cuts' separator of ``_build``'s program (whole-share assets ``assets``)."""
    av, base, target, buy_ub, sell_ub, tax = arrays
    e_pos, e_neg, width = pieces
    slack_lists: list[list[int]] = [[] for _ in range(problem.n)]
    for have, slack in owned:
        for i, col in zip(have.tolist(), slack.tolist(), strict=True):
            slack_lists[i].append(col)
    blocks = [trade["b"][assets, None], trade["s"][assets, None]]
    for key in ("fee", "yb", "ys"):
        if len(trade[key]):
            blocks.append(trade[key][assets, None])
    spots = assets[:, None] * width + np.arange(width)[None, :]
    blocks += [e_pos[spots], e_neg[spots]]
    most = max((len(slack_lists[i]) for i in assets.tolist()), default=0)
    padded = np.full((len(assets), most), -1, dtype=np.int64)
    for row, i in enumerate(assets.tolist()):
        padded[row, : len(slack_lists[i])] = slack_lists[i]
    own = np.concatenate([*blocks, padded], axis=1)
    weights = np.where(own >= 0, cost[np.maximum(own, 0)], 0.0)
    table = envelope.Costs(
        weight=av[assets],
        base=base[assets],
        target=target[assets],
        widths=np.stack([widths(float(t)) for t in problem.target[assets].tolist()]) * WEIGHT_UNITS,
        slopes=slopes(scalars["drift_weight"], scalars["step"]),
        bounds=tuple((lo[assets], hi[assets], p) for lo, hi, p in bounds),
        tax=tax[assets],
        low=np.floor(sell_ub[assets] + 1e-9),
        high=np.floor(buy_ub[assets] + 1e-9),
        least=np.maximum(1.0, np.floor(scalars["min_trade"] / av[assets] + 1e-9)),
        turnover=scalars["turnover"],
        rate=scalars["rate"],
        fee_min=scalars["fee_min"],
        order=scalars["order"],
    )
    # kappa's coefficient: lower bounds shrink with it (see the module doc of .envelope).
    g = np.zeros(len(assets))
    for lo, _hi, p in bounds:
        g += p * np.where(np.isfinite(lo[assets]), lo[assets], 0.0) / WEIGHT_UNITS
    if not len(kappa):
        return _Separator(table, assets, own, weights, (np.empty(0), -1))
    return _Separator(table, assets, own, weights, (g, int(kappa[0])))


def _order_binaries(
    bld: _Builder,
    upper: tuple[np.ndarray, np.ndarray],
    a: np.ndarray,
    b: np.ndarray,
    s: np.ndarray,
    fees: tuple[float, float, float],
    cost_weight: float,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Binaries per order: order cost, ``min_trade`` and ``fee_min``.

    Returns the fee columns and the buy and sell binaries' columns.

    ``upper`` bounds the buy and sell columns, ``a`` is each column unit's weight and
    ``fees`` is ``(fee_rate, fee_min, min_trade)`` with money as weights.
    """
    buy_ub, sell_ub = upper
    fee_rate, fee_min, min_trade = fees
    n = len(a)
    idx = np.arange(n)
    order_cost = ORDER_COST * WEIGHT_UNITS
    yb = bld.block(n, 0.0, (buy_ub > 0).astype(float), order_cost, True)
    ys = bld.block(n, 0.0, (sell_ub > 0).astype(float), order_cost, True)
    # b <= U yb ; s <= H ys ; yb + ys <= 1
    bld.rows_add(
        np.concatenate([b, yb]), np.concatenate([np.ones(n), -buy_ub]),
        np.concatenate([idx, idx]), np.full(n, -np.inf), np.zeros(n),
    )  # fmt: skip
    bld.rows_add(
        np.concatenate([s, ys]), np.concatenate([np.ones(n), -sell_ub]),
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

    return fee, (yb, ys)


def _build(
    problem: Problem, extra_fee: float = 0.0, tie_break: bool = True
) -> tuple[dict[str, object], dict[str, np.ndarray]]:
    """The program of ``problem`` as arrays, and where its columns are (``layout``).

    ``tie_break=False`` (full mode): without the tie-breakers, the drift pieces' rising
    slopes and the price of turnover, as :func:`.model.objective` with ``tie_break=False``
    (see :func:`_least_drift_program`).

    ``extra_fee`` (money per order, normally 0) lets the costs behind the bounds (kappa)
    and each pool's conversions exceed what the orders' fees here come to by that much
    per asset that may trade: with ``extra_fee = fee_min`` the program of the same
    problem without ``fee_min`` and ``min_trade`` is then a relaxation of the one with
    them (see :func:`_lp_rounded`).
    """
    n = problem.n
    pools = len(problem.cash_start)
    units = WEIGHT_UNITS
    a = problem.price / problem.value * units
    k = problem.shrink * units
    # Variable units: one share, or TINY_WEIGHT of value for an asset too cheap to model
    # by shares (its coefficients would vanish below the solver's tolerances).
    unit = np.where(a < TINY_WEIGHT * units, TINY_WEIGHT * units / a, 1.0)
    share_cols = unit == 1.0
    buy_ub, sell_ub = problem.buy_max / unit, problem.sell_max / unit
    av = a * unit
    band_mode = problem.mode == "band"
    drift_weight = BAND_DRIFT_WEIGHT if band_mode else 1.0
    cost_weight = COST_WEIGHT * (BAND_PENALTY if band_mode else 1.0)
    untied = not tie_break and not band_mode
    turnover = TURNOVER_COST if band_mode else (0.0 if untied else WASH_COST)
    fee_rate, spread = problem.fee_rate, problem.fx_spread
    fee_min = problem.fee_min / problem.value * units
    min_trade = problem.min_trade / problem.value * units
    use_fee_var = fee_min > 0

    bld = _Builder()
    trade_cost_b = av * turnover + (0.0 if use_fee_var else cost_weight * fee_rate * av)
    trade_cost_s = av * turnover + cost_weight * av * problem.sell_tax
    if not use_fee_var:
        trade_cost_s = trade_cost_s + cost_weight * fee_rate * av
    integral = share_cols & problem.whole
    b = bld.block(n, 0.0, buy_ub, trade_cost_b, integral)
    s = bld.block(n, 0.0, sell_ub, trade_cost_s, integral)
    idx = np.arange(n)
    fee = np.empty(0, dtype=np.int64)
    fee_binaries = (fee, fee)
    if uses_order_binaries(problem):
        fee, fee_binaries = _order_binaries(
            bld, (buy_ub, sell_ub), av, b, s, (fee_rate, fee_min, min_trade), cost_weight
        )
    # Deviation pieces: assets 0..n-1, cash n.
    lines = n + 1
    pieces = len(PIECE_WIDTHS) + 1
    targets = np.append(problem.target, problem.cash_target)
    piece_widths = np.concatenate([widths(t) for t in targets]) * units
    piece_slopes = np.tile(slopes(drift_weight, 0.0 if untied else PIECE_SLOPE_STEP), lines)
    e_pos = bld.block(lines * pieces, 0.0, piece_widths, piece_slopes, False)
    e_neg = bld.block(lines * pieces, 0.0, piece_widths, piece_slopes, False)
    cash = bld.block(pools, 0.0, np.inf, 0.0, False)
    pairs = [(p, q) for p in range(pools) for q in range(pools) if p != q]
    flows = bld.block(len(pairs), 0.0, np.inf, cost_weight * spread + WASH_COST, False)

    line_of_piece = np.repeat(np.arange(lines), pieces)
    # Asset deviation: a b - a s - sum e+ + sum e- = t - held a
    asset_pieces = line_of_piece < n
    bld.rows_add(
        np.concatenate([b, s, e_pos[asset_pieces], e_neg[asset_pieces]]),
        np.concatenate([av, -av, -np.ones(n * pieces), np.ones(n * pieces)]),
        np.concatenate([idx, idx, line_of_piece[asset_pieces], line_of_piece[asset_pieces]]),
        problem.target * k - problem.held * a, problem.target * k - problem.held * a,
    )  # fmt: skip
    cut = np.flatnonzero(integral)
    if HULL_CUTS and len(cut):
        # Convex-hull cut of |x a - t| over whole shares x: between the two share counts
        # around target the deviation is at least the chord through them. Valid for every
        # whole-share plan (so the optimum is unchanged) and it makes the LP relaxation a
        # fractional knapsack, which is what lets branch-and-bound finish quickly.
        ac, held_c = a[cut], problem.held[cut]
        tau = problem.target[cut] * k / ac
        floor_shares, delta, chord = hull_chord(ac, tau, held_c)
        piece_of = (cut[:, None] * pieces + np.arange(pieces)[None, :]).ravel()
        row_of = np.repeat(np.arange(len(cut)), pieces)
        r = np.arange(len(cut))
        bld.rows_add(
            np.concatenate([e_pos[piece_of], e_neg[piece_of], b[cut], s[cut]]),
            np.concatenate([np.ones(2 * len(piece_of)), -chord, chord]),
            np.concatenate([row_of, row_of, r, r]),
            delta + chord * (held_c - floor_shares), np.full(len(cut), np.inf),
        )  # fmt: skip
    # Cash deviation: sum c - sum e+ + sum e- = t_cash
    bld.rows_add(
        np.concatenate([cash, e_pos[~asset_pieces], e_neg[~asset_pieces]]),
        np.concatenate([np.ones(pools), -np.ones(pieces), np.ones(pieces)]),
        np.zeros(pools + 2 * pieces, dtype=np.int64),
        [problem.cash_target * k], [problem.cash_target * k],
    )  # fmt: skip
    # Pools: c_p - sum_{i in p} (a s (1 - fee - tax) - a b (1 + fee)) [+ f_i]
    #        + sum_q x_pq - (1 - spread) sum_q x_qp = start_p
    sell_net = av * (1.0 - problem.sell_tax - (0.0 if use_fee_var else fee_rate))
    buy_gross = av * (1.0 + (0.0 if use_fee_var else fee_rate))
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
    start = problem.cash_start / problem.value * units
    bld.rows_add(np.concatenate(cols), np.concatenate(vals), np.concatenate(rows), start, start)
    # kappa: the costs (fees, tax, FX spread). Bands and caps are weights of the value
    # after costs, V (1 - kappa): w <= hi is  a x <= hi (1 - kappa),  linear in kappa.
    has_costs = fee_rate > 0 or fee_min > 0 or bool(np.any(problem.sell_tax > 0))
    has_costs = has_costs or (bool(pairs) and spread > 0) or extra_fee > 0
    # Fees an order may cost beyond rate x value (fee_min), per asset: 0 unless relaxing.
    extra = np.where((buy_ub > 0) | (sell_ub > 0), extra_fee / problem.value * units, 0.0)
    kappa = bld.block(1, 0.0, np.inf, 0.0, False) if has_costs else np.empty(0, dtype=np.int64)
    # Costs can only be what the orders incur: no fee above rate x value + fee_min, no
    # conversion into a pool beyond what it spends. Without these a program that values
    # kappa (bounds shrink with it) would burn money to loosen every band and cap.
    if use_fee_var:
        yb, ys = fee_binaries
        bld.rows_add(
            np.concatenate([fee, b, s, yb, ys]),
            np.concatenate([np.ones(n), -fee_rate * av, -fee_rate * av,
                            np.full(n, -fee_min), np.full(n, -fee_min)]),
            np.concatenate([idx] * 5), np.full(n, -np.inf), np.zeros(n),
        )  # fmt: skip
    if pairs:
        dst_of = np.array([q for _, q in pairs])
        fc = [flows, b]
        fv = [np.full(len(pairs), 1.0 - spread), -buy_gross]
        fr = [dst_of, problem.pool]
        if use_fee_var:
            fc.append(fee)
            fv.append(-np.ones(n))
            fr.append(problem.pool)
        bld.rows_add(
            np.concatenate(fc), np.concatenate(fv), np.concatenate(fr),
            np.full(pools, -np.inf), np.bincount(problem.pool, extra, minlength=pools),
        )  # fmt: skip
    if has_costs:
        kc, kv = [kappa, s], [np.ones(1), -problem.sell_tax * av]
        if use_fee_var:
            kc.append(fee)
            kv.append(-np.ones(n))
        elif fee_rate > 0:
            kc += [b, s]
            kv += [-fee_rate * av, -fee_rate * av]
        if pairs:
            kc.append(flows)
            kv.append(np.full(len(pairs), -spread))
        cat = np.concatenate(kc)
        bld.rows_add(
            cat, np.concatenate(kv), np.zeros(len(cat), dtype=np.int64), [0.0], [extra.sum()]
        )

    def on_kappa(bound: np.ndarray, rows: np.ndarray) -> tuple[list[np.ndarray], ...]:
        """Columns, values and rows of ``+bound x kappa`` for rows ``rows``."""
        if not has_costs:
            return [], [], []
        return [np.full(len(rows), kappa[0])], [np.asarray(bound, dtype=float)], [rows]

    # Soft constraints: rows lo <= a b - a s (+/- slack) <= hi on the weight change.
    slacks: dict[str, list[np.ndarray]] = {"cap": [], "band": []}
    owned: list[tuple[np.ndarray, np.ndarray]] = []  # (assets, their slack columns)

    def soft_bounds(lo: np.ndarray, hi: np.ndarray, penalty: float, kind: str) -> None:
        base = problem.held * a
        for bound, sign in ((hi, -1.0), (lo, 1.0)):
            have = np.flatnonzero(np.isfinite(bound))
            if not len(have):
                continue
            m = len(have)
            slack = bld.block(m, 0.0, np.inf, penalty, False)
            slacks[kind].append(slack)
            owned.append((have, slack))
            r = np.arange(m)
            rhs = bound[have] * units - base[have]
            kc, kv, kr = on_kappa(bound[have], r)
            bld.rows_add(
                np.concatenate([b[have], s[have], slack, *kc]),
                np.concatenate([av[have], -av[have], np.full(m, sign), *kv]),
                np.concatenate([r, r, r, *kr]),
                rhs if sign > 0 else np.full(m, -np.inf),
                rhs if sign < 0 else np.full(m, np.inf),
            )

    soft_bounds(problem.min_weight, problem.max_weight, CAP_PENALTY, "cap")
    if band_mode:
        soft_bounds(problem.band_lo, problem.band_hi, BAND_PENALTY, "band")
        for weight, sign in ((problem.cash_hi, -1.0), (problem.cash_lo, 1.0)):
            if not math.isfinite(weight):
                continue  # no cash target: idle cash is not a band breach
            bound = weight * units
            slack = bld.block(1, 0.0, np.inf, BAND_PENALTY, False)
            slacks["band"].append(slack)
            kc, kv, kr = on_kappa(np.array([weight]), np.zeros(1, dtype=np.int64))
            bld.rows_add(
                np.concatenate([cash, slack, *kc]), np.concatenate([np.ones(pools), [sign], *kv]),
                np.concatenate([np.zeros(pools + 1, dtype=np.int64), *kr]),
                [bound if sign > 0 else -np.inf], [bound if sign < 0 else np.inf],
            )  # fmt: skip
    for _label, members, lo, hi in problem.groups:
        m = len(members)
        base_weight = float(np.sum(problem.held[members] * a[members]))
        for limit, sign in ((hi, -1.0), (lo, 1.0)):
            if limit is None:
                continue
            slack = bld.block(1, 0.0, np.inf, CAP_PENALTY, False)
            slacks["cap"].append(slack)
            rhs = limit * units - base_weight
            kc, kv, kr = on_kappa(np.array([limit]), np.zeros(1, dtype=np.int64))
            bld.rows_add(
                np.concatenate([b[members], s[members], slack, *kc]),
                np.concatenate([av[members], -av[members], [sign], *kv]),
                np.concatenate([np.zeros(2 * m + 1, dtype=np.int64), *kr]),
                [rhs if sign > 0 else -np.inf], [rhs if sign < 0 else np.inf],
            )  # fmt: skip

    separator = None
    if LARGE_MODEL_ASSETS < n <= ENVELOPE_MAX_ASSETS and len(cut):
        bounds = [(problem.min_weight * units, problem.max_weight * units, CAP_PENALTY)]
        if band_mode:
            bounds.append((problem.band_lo * units, problem.band_hi * units, BAND_PENALTY))
        separator = _separator(
            problem,
            cut,
            {"b": b, "s": s, "fee": fee, "yb": fee_binaries[0], "ys": fee_binaries[1]},
            (e_pos, e_neg, pieces),
            owned,
            kappa,
            np.concatenate(bld.cost),
            bounds,
            [av, problem.held * a, problem.target * k, buy_ub, sell_ub,
             cost_weight * problem.sell_tax],
            {
                "turnover": turnover + (0.0 if use_fee_var else cost_weight * fee_rate),
                "rate": cost_weight * fee_rate if use_fee_var else 0.0,
                "fee_min": cost_weight * fee_min,
                "order": ORDER_COST * units if uses_order_binaries(problem) else 0.0,
                "min_trade": min_trade,
                "drift_weight": drift_weight,
                "step": 0.0 if untied else PIECE_SLOPE_STEP,
            },
        )  # fmt: skip
    model: dict[str, object] = {
        "c": np.concatenate(bld.cost),
        "integrality": np.concatenate(bld.integer),
        "lb": np.concatenate(bld.lb),
        "ub": np.concatenate(bld.ub),
        "A": bld.matrix(),
        "lo": np.array(bld.row_lo),
        "hi": np.array(bld.row_hi),
        "separator": separator,
    }
    empty = np.empty(0, dtype=np.int64)
    layout = {
        "b": b,
        "s": s,
        "unit": unit,
        "cap": np.concatenate(slacks["cap"]) if slacks["cap"] else empty,
        "band": np.concatenate(slacks["band"]) if slacks["band"] else empty,
        "fee": fee,
        "flows": flows,
        "yb": fee_binaries[0],
        "ys": fee_binaries[1],
    }
    return model, layout
