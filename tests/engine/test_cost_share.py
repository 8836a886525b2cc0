"""The first solve at an estimated cost share, and the proof that spares the re-solve.

``plan._proven_at_own_share`` lets a plan proven at one cost share count as proven at
its own: the bound falls by each drift line's steepest slope times its target's shift.
Checked here against brute force over every whole-share plan (the program's own
objective at the plan's own cost share, ``tests/engine/brute_force.py``), and, on bench
workbooks, against the path that re-solves.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from etf_rebalancer.engine import milp, model
from etf_rebalancer.engine import plan as plan_module
from etf_rebalancer.engine.market import MarketData
from etf_rebalancer.engine.plan import _PLAN_CACHE, plan_rebalance
from etf_rebalancer.planning.inputs import read_request
from tests.engine.brute_force import program_score, whole_plans
from tests.engine.test_knapsack import one_pool_problems
from tests.engine.test_least_drift import _bench_workbook


@st.composite
def costly_soft_problems(draw):
    """Tiny one-pool problems with fees (so the MILP runs them), in band mode or with a
    Min/Max, or neither."""
    base = draw(one_pool_problems(tiny=True, max_held=5))
    n = base.n
    width = draw(st.sampled_from([0.1, 0.2, 0.5]))
    max_w = np.array([draw(st.sampled_from([math.nan, 0.1, 0.4])) for _ in range(n)])
    assume(np.prod(base.buy_max + base.sell_max + 1) <= 3000)  # brute force stays quick
    return dataclasses.replace(
        base,
        fee_rate=draw(st.sampled_from([0.001, 0.01])),
        fee_min=draw(st.sampled_from([0.0, 1.0, 5.0])),
        mode=draw(st.sampled_from(["band", "full"])),
        band_lo=np.maximum(base.target * (1 - width), 0.0),
        band_hi=base.target * (1 + width),
        max_weight=max_w,
    )


def _own_share(problem: model.Problem, solution: model.Solution) -> float:
    return model.settle_pools(problem, solution.buy, solution.sell).costs / problem.value


MISSES = [0.0, 1e-7, 1e-6, 1e-5, 1e-3, 0.02, 0.1, -1e-3, -0.02, -0.1]


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(costly_soft_problems(), st.sampled_from(MISSES))
def test_a_plan_said_proven_at_its_own_share_is_not_beaten_there(problem, miss):
    """Solve at an estimate ``miss`` away from the plan's own cost share; where the proof
    says the plan is proven at its own share, no whole-share plan scores lower there
    (caps, then bands, then the objective within the MIP gap)."""
    first = milp.solve(problem)
    assume(first.method == "milp")
    estimate = max(_own_share(problem, first) + miss, 0.0)
    at_estimate = dataclasses.replace(problem, cost_share=estimate)
    solution = milp.solve(at_estimate)
    assume(solution.method == "milp")
    share = _own_share(problem, solution)
    proven = plan_module._proven_at_own_share(solution, at_estimate, share)
    event(f"proven at own share: {proven}")
    if not proven:
        return
    # The re-solve would be held to the breaches this plan has (the least the first
    # solve found): among the plans within them, none may score lower at ``share``.
    exact = dataclasses.replace(problem, cost_share=share)
    ours = program_score(exact, solution.buy, solution.sell)
    held = [
        score
        for score in (program_score(exact, buy, sell) for buy, sell in whole_plans(exact))
        if score[0] <= ours[0] + 1e-7 and score[1] <= ours[1] + 1e-7
    ]
    best = min(score[2] for score in held)
    assert ours[2] <= best + milp.MIP_REL_GAP * abs(best) + milp.MIP_ABS_GAP + 1e-12


def test_the_proof_needs_the_estimate_close():
    """The same proven plan: proven at its own share from an estimate equal to it, not
    from one 1e-3 away (drift targets that far apart can change the optimum)."""
    request = read_request(*_bench_workbook("all", 10, 0))
    formulation = plan_module._formulate(request, MarketData(), request.as_of)
    estimate = milp.cost_estimate(formulation.problem)
    assert estimate is not None
    start, share = estimate
    assert share == pytest.approx(
        model.settle_pools(formulation.problem, start.buy, start.sell).costs
        / formulation.problem.value
    )
    at_estimate = dataclasses.replace(formulation.problem, cost_share=share)
    solution = milp.solve(at_estimate, start=start)
    assert solution.method == "milp"
    own = _own_share(formulation.problem, solution)
    assert plan_module._proven_at_own_share(solution, at_estimate, own)
    assert not plan_module._proven_at_own_share(solution, at_estimate, own + 1e-3)


def test_small_plans_start_at_the_estimate_and_skip_the_re_solve(monkeypatch):
    """Up to COST_ESTIMATE_ASSETS the bench's "all" workbooks (fees, two pools, bands,
    caps) are solved once and proven, as good as the re-solving path's plans: the same
    breaches and, in the program's objective at each plan's own costs, within the MIP
    gap. (Band mode prices drift at BAND_DRIFT_WEIGHT, so plans far apart in shares can
    tie: at 20 assets the two paths sell 1,959 and 2,023 shares of one asset, 5e-9 apart.)"""
    assert plan_module.COST_ESTIMATE_ASSETS >= 10
    solves: list[float] = []
    real = milp.solve

    def spy(problem, guard_seconds=milp.GUARD_SECONDS, start=None):
        solves.append(problem.cost_share)
        return real(problem, guard_seconds, start)

    monkeypatch.setattr(milp, "solve", spy)
    for n, seed in ((6, 0), (10, 0), (10, 3), (20, 0)):
        plans = []
        for limit in (0, plan_module.COST_ESTIMATE_ASSETS):
            monkeypatch.setattr(plan_module, "COST_ESTIMATE_ASSETS", limit)
            solves.clear()
            _PLAN_CACHE.clear()
            request = read_request(*_bench_workbook("all", n, seed))
            plan = plan_rebalance(request, time_limit=10.0)
            problem = plan_module._formulate(request, MarketData(), request.as_of).problem
            plans.append(plan_module._exact_score(plan, problem))
            assert plan.method == "milp", (n, seed, limit)
            if limit:
                assert len(solves) == 1 and solves[0] > 0, (n, seed, solves)
            else:
                assert len(solves) == 2 and solves[0] == 0, (n, seed, solves)
        (once, twice) = plans[1], plans[0]
        gap = milp.MIP_ABS_GAP + milp.MIP_REL_GAP * abs(twice[2])
        assert once[:2] == pytest.approx(twice[:2], abs=model.BREACH_TOL), (n, seed)
        assert abs(once[2] - twice[2]) <= gap, (n, seed, once, twice)
