"""The exact search with fee_min, min_trade and several currency pools (engine/knapsack.py).

Checked against brute force over every whole-share plan (tiny cases) and against the
MILP with the search switched off (larger ones), both by the program's own objective
(:func:`.model.objective`, which settles conversions at least cost independently of
the search's Lagrangian).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from etf_rebalancer.engine import knapsack, milp
from tests.engine.brute_force import best_score
from tests.engine.test_knapsack import PROFILE as ONE_POOL_PROFILE
from tests.engine.test_knapsack import draw_weights, full_mode_problem, milp_only, search_budget

PROFILE = settings(ONE_POOL_PROFILE, max_examples=120)


@st.composite
def pooled_problems(draw, tiny=False):
    """Full-mode problems in one to three currency pools with fee_min/min_trade/fx_spread."""
    n = draw(st.integers(1 if tiny else 2, 3 if tiny else 7))
    pools = draw(st.integers(1, 2 if tiny else 3))
    price = np.array([float(draw(st.integers(5, 60 if tiny else 900))) for _ in range(n)])
    held = np.array([float(draw(st.integers(0, 4 if tiny else 40))) for _ in range(n)])
    pool = np.array([draw(st.integers(0, pools - 1)) for _ in range(n)])
    weights = draw_weights(draw, n)
    held_value = float(held @ price)
    top = 100 if tiny else 20_000
    cash = np.array([float(draw(st.integers(-top // 3, top))) for _ in range(pools)])
    value = held_value + float(cash.sum())
    assume(value > 0)
    buy_only = draw(st.booleans()) if np.all(cash >= 0) else False
    sell_max = np.zeros(n) if buy_only else held
    spendable = max(float(cash.sum()), 0.0) + (0.0 if buy_only else held_value)
    scale = value / 1000
    # Drawn in this order (the examples Hypothesis replays depend on it).
    sell_tax = np.array([draw(st.sampled_from([0.0, 0.0018, 0.05])) for _ in range(n)])
    fee_rate = draw(st.sampled_from([0.0, 0.001, 0.01]))
    fee_min = draw(st.sampled_from([0.0, 1.0, 5.0])) * scale
    min_trade = draw(st.sampled_from([0.0, 20.0, 80.0])) * scale
    fx_spread = draw(st.sampled_from([0.0, 0.002, 0.05]))
    return full_mode_problem(
        weights, price, held, sell_max, spendable, cash,
        pool=pool, sell_tax=sell_tax, fee_rate=fee_rate, fee_min=fee_min,
        min_trade=min_trade, fx_spread=fx_spread,
    )  # fmt: skip


def _check_plan(problem, solution):
    assert np.all(solution.buy == np.round(solution.buy))
    assert np.all(solution.sell == np.round(solution.sell))
    assert np.all((solution.buy == 0) | (solution.sell == 0))
    ours = milp.objective(problem, solution.buy, solution.sell)
    assert math.isfinite(ours)
    # The search's own total is the program's objective, computed independently.
    assert ours == pytest.approx(solution.objective, abs=1e-12)
    return ours


@PROFILE
@given(pooled_problems(tiny=True))
def test_pooled_search_is_optimal_against_brute_force(problem):
    assert knapsack.applies(problem)
    exact = knapsack.solve(problem)
    best = best_score(problem)[2]  # no caps or bands: the objective alone
    if not math.isfinite(best):
        assert exact is None
        return
    assert exact is not None and exact.method == "milp", exact
    assert _check_plan(problem, exact) <= best + 1e-12


@settings(PROFILE, max_examples=60)
@given(pooled_problems())
def test_pooled_search_scores_as_well_as_the_milp(problem):
    assert knapsack.applies(problem)
    reference = milp_only(problem)
    assume(reference.method == "milp")  # something proven to compare with
    exact = knapsack.solve(problem)
    assert exact is not None
    ours = _check_plan(problem, exact)
    theirs = milp.objective(problem, reference.buy, reference.sell)
    if exact.method == "milp":
        assert ours <= theirs + 1e-12
    else:
        # Budget spent: the gap it reports must be a true bound.
        assert ours - exact.extra["gap"] <= theirs + 1e-12


@PROFILE
@given(pooled_problems(tiny=True))
def test_pooled_search_gap_is_a_true_bound_when_the_budget_runs_out(problem):
    with search_budget("MAX_NODES", 3):
        found = knapsack.solve(problem)
    best = best_score(problem)[2]
    assume(found is not None and math.isfinite(best))
    ours = _check_plan(problem, found)
    assert ours >= best - 1e-12
    assert ours - found.extra.get("gap", 0.0) <= best + 1e-12
