"""The exhaustive optimum of a tiny rebalancing problem, the yardstick for the solvers."""

from __future__ import annotations

import itertools
import math

import numpy as np

from etf_rebalancer.engine import milp


def best_objective(problem: milp.Problem) -> float:
    """The lowest objective over every whole-share trade (``inf`` when none is feasible).

    Each asset is bought or sold, never both, up to its bounds.
    """
    best = math.inf
    ranges = []
    for i in range(problem.n):
        options = [(b, 0.0) for b in range(int(problem.buy_max[i]) + 1)]
        options += [(0.0, s) for s in range(1, int(problem.sell_max[i]) + 1)]
        ranges.append(options)
    for combo in itertools.product(*ranges):
        buy = np.array([float(c[0]) for c in combo])
        sell = np.array([float(c[1]) for c in combo])
        best = min(best, milp.objective(problem, buy, sell))
    return best
