"""The exhaustive optimum of a tiny problem *by the program's own objective*.

This checks that the solvers solve the program they build (a consistency check);
whether the program's optimum is what the contract promises is checked separately,
against the contract's definitions alone, in ``contract_brute_force.py``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np

from etf_rebalancer.engine import model

Score = tuple[float, float, float]


def program_score(problem: model.Problem, buy: np.ndarray, sell: np.ndarray) -> Score:
    """Cap breach, band breach, objective: the order the solver settles them in."""
    value = model.objective(problem, buy, sell)
    if not math.isfinite(value):
        return math.inf, math.inf, math.inf
    cap, band = model.breaches(problem, buy, sell)
    return cap, band, value


def best_score(problem: model.Problem) -> Score:
    """The lexicographically least :func:`program_score` over every whole-share trade.

    Each asset is bought or sold, never both, up to its bounds; breaches within
    ``1e-7`` count as equal.
    """
    best: Score = (math.inf, math.inf, math.inf)
    for buy, sell in whole_plans(problem):
        score = program_score(problem, buy, sell)
        if beats(score, best):
            best = score
    return best


def whole_plans(problem: model.Problem) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every whole-share trade: each asset bought or sold (never both) up to its bounds."""
    ranges = []
    for i in range(problem.n):
        options = [(b, 0.0) for b in range(int(problem.buy_max[i]) + 1)]
        options += [(0.0, s) for s in range(1, int(problem.sell_max[i]) + 1)]
        ranges.append(options)
    for combo in itertools.product(*ranges):
        yield np.array([float(c[0]) for c in combo]), np.array([float(c[1]) for c in combo])


def beats(a: Score, b: Score, tolerance: float = 0.0) -> bool:
    """Whether ``a`` is lexicographically below ``b`` (breaches within 1e-7 are ties)."""
    for x, y in ((a[0], b[0]), (a[1], b[1])):
        if x < y - 1e-7:
            return True
        if x > y + 1e-7:
            return False
    return a[2] < b[2] - tolerance
