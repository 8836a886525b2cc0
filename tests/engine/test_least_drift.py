"""The drift before the tie-breaker: unproven full-mode plans give way to less drift."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from etf_rebalancer.engine import knapsack, milp, model
from etf_rebalancer.engine import plan as plan_module
from etf_rebalancer.engine.market import MarketData
from etf_rebalancer.engine.plan import _PLAN_CACHE, plan_rebalance
from etf_rebalancer.planning.inputs import read_request

from .test_knapsack import bench_problem

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_engine.py"


def _bench_workbook(regime: str, n: int, seed: int):
    spec = importlib.util.spec_from_file_location("bench_engine", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.workbook(regime, n, seed)


def _single_moves_that_lower_drift(problem: milp.Problem, buy, sell) -> list[int]:
    """Assets where one share more or fewer lowers the contract drift, keeps the caps and
    does not raise the objective without the tie-breaker: counted here, not by the
    search."""
    x = buy - sell
    drift = model.contract_drift(problem, buy, sell)
    untied = model.objective(problem, buy, sell, tie_break=False)
    cap = model.breaches(problem, buy, sell)[0]
    found = []
    for i in range(problem.n):
        for step in (1.0, -1.0):
            y = x.copy()
            y[i] += step
            b, s = np.maximum(y, 0.0), np.maximum(-y, 0.0)
            value = model.objective(problem, b, s, tie_break=False)
            if not math.isfinite(value) or value >= untied:
                continue
            if model.breaches(problem, b, s)[0] > cap + milp.BREACH_TOL:
                continue
            if model.contract_drift(problem, b, s) < drift - knapsack.LEAST_DRIFT_TOL:
                found.append(i)
    return found


def test_caps_plan_of_the_bench_gives_its_spread_back_for_drift():
    """Bench caps at 10 assets, seed 2: the weighted search's plan (unproven) left 5.2e-5
    more drift than single shares moved without the tie-breaker show. (Its group sums
    filled to the cent, the plan is now proven by the LP bound.)"""
    _PLAN_CACHE.clear()
    request = read_request(*_bench_workbook("caps", 10, 2))
    plan = plan_rebalance(request, time_limit=10.0)
    assert plan.method == "milp"
    drift, _largest = plan.drift(after=True)
    assert drift < 0.22983  # 0.229878 before
    captured = {}
    real = milp.solve

    def spy(problem, *args, **kwargs):
        solution = real(problem, *args, **kwargs)
        captured["plan"] = problem, solution
        return solution

    _PLAN_CACHE.clear()
    try:
        milp.solve = spy
        plan_rebalance(request, time_limit=10.0)
    finally:
        milp.solve = real
    problem, solution = captured["plan"]
    assert not _single_moves_that_lower_drift(problem, solution.buy, solution.sell)


def test_least_drift_mends_a_plan_a_share_off_and_leaves_optima_alone():
    problem = bench_problem(n=12, seed=3)
    best = knapsack.solve(problem)
    assert best is not None and best.method == "milp"
    same_buy, same_sell, _ = knapsack.least_drift(problem, best.buy, best.sell)
    assert model.contract_drift(problem, same_buy, same_sell) == model.contract_drift(
        problem, best.buy, best.sell
    )
    # One share moved from the most underweight asset to the most overweight one.
    weights = best.buy * problem.price / problem.value
    under, over = int(np.argmax(problem.target - weights)), int(np.argmax(weights - problem.target))
    worse_buy = best.buy.copy()
    worse_buy[under] -= 1.0 if worse_buy[under] >= 1 else 0.0
    worse_buy[over] += 1.0
    if not model.settle_pools(problem, worse_buy, best.sell).feasible:
        worse_buy[over] -= 1.0
    before = model.contract_drift(problem, worse_buy, best.sell)
    assert before > model.contract_drift(problem, best.buy, best.sell)
    mended_buy, mended_sell, stopped = knapsack.least_drift(problem, worse_buy, best.sell)
    assert not stopped
    assert model.contract_drift(problem, mended_buy, mended_sell) < before
    band = dataclasses.replace(problem, mode="band")
    kept_buy, kept_sell, _ = knapsack.least_drift(band, worse_buy, best.sell)
    assert kept_buy is worse_buy and kept_sell is best.sell  # band mode: not this rule


def test_the_light_heuristics_leave_small_plans_as_they_were(monkeypatch):
    """Up to LIGHT_HEURISTICS_ASSETS HiGHS runs with LIGHT_OPTIONS (no RINS, feasibility
    jump or root reduced-cost sub-MIP, cuts aged out of the LP after one round), for
    speed only: the orders are those HiGHS's defaults give ("all": fees, two pools,
    bands and caps; caps alone), and a proven plan stays proven."""
    assert milp.LIGHT_HEURISTICS_ASSETS >= 10
    assert milp.LIGHT_OPTIONS["mip_lp_age_limit"] < 10  # HiGHS's default: not a no-op
    light: list[bool] = []
    real = milp._highs

    def spy(model, guard_seconds, nodes=None, options=None):
        light.append(options is milp.LIGHT_OPTIONS)
        return real(model, guard_seconds, nodes, options)

    monkeypatch.setattr(milp, "_highs", spy)
    cases = (("all", 10, 0), ("all", 10, 1), ("all", 6, 3), ("caps", 6, 1), ("caps", 8, 4))
    for regime, n, seed in cases:
        plans = []
        for limit in (0, milp.LIGHT_HEURISTICS_ASSETS):
            monkeypatch.setattr(milp, "LIGHT_HEURISTICS_ASSETS", limit)
            light.clear()
            _PLAN_CACHE.clear()
            plan = plan_rebalance(read_request(*_bench_workbook(regime, n, seed)), time_limit=10.0)
            plans.append((plan.method, [tuple(r) for r in plan.order_rows()]))
            if regime == "all":  # branch-and-bound ran (caps may be proven without it)
                assert any(light) == bool(limit), (regime, n, seed, light)
        assert plans[0] == plans[1], (regime, n, seed)
        if regime == "all":
            assert plans[1][0] == "milp", (regime, n, seed)


def test_small_models_hand_an_unfinished_search_to_highs_sooner(monkeypatch):
    """Up to SMALL_MODEL_ASSETS (where branch-and-bound takes over) the search stops at
    MAX_NODES_SMALL: a band-mode workbook whose search spent all 200,000 nodes without a
    proof gets the same orders, proven, from HiGHS."""
    assert knapsack.SMALL_MODEL_ASSETS == milp.LARGE_MODEL_ASSETS
    assert knapsack.MAX_NODES_SMALL < knapsack.MAX_NODES
    plans = []
    for small in (knapsack.MAX_NODES, knapsack.MAX_NODES_SMALL):
        monkeypatch.setattr(knapsack, "MAX_NODES_SMALL", small)
        _PLAN_CACHE.clear()
        plan = plan_rebalance(read_request(*_bench_workbook("band", 15, 0)), time_limit=10.0)
        plans.append((plan.method, [tuple(row) for row in plan.order_rows()]))
    assert plans[0] == plans[1]
    assert plans[1][0] == "milp"


def _scored_plan(regime: str, n: int, seed: int) -> tuple[str, plan_module.Score]:
    """The bench workbook's plan, planned anew: its method and exact score (cap breach,
    band breach, the program's objective at the plan's own costs)."""
    _PLAN_CACHE.clear()
    request = read_request(*_bench_workbook(regime, n, seed))
    plan = plan_rebalance(request, time_limit=10.0)
    problem = plan_module._formulate(request, MarketData(), request.as_of).problem
    return plan.method, plan_module._exact_score(plan, problem)


def test_deeper_runs_above_the_light_sizes_prove_more(monkeypatch):
    """Above LIGHT_HEURISTICS_ASSETS a run on the default budget gets DEEP_NODE_BUDGET
    nodes without HiGHS's restart: the bench's "all" workbook of 22 assets (seed 0), left
    at the node limit by 200 nodes with the restart, is proven, at no worse a score."""
    assert milp.DEEP_NODE_BUDGET > milp.NODE_BUDGET
    assert milp.DEEP_OPTIONS == {"mip_allow_restart": False}
    assert milp.LIGHT_HEURISTICS_ASSETS < 22
    scored = []
    for budget, options in ((milp.NODE_BUDGET, {}), (milp.DEEP_NODE_BUDGET, milp.DEEP_OPTIONS)):
        monkeypatch.setattr(milp, "DEEP_NODE_BUDGET", budget)
        monkeypatch.setattr(milp, "DEEP_OPTIONS", options)
        scored.append(_scored_plan("all", 22, 0))
    (before, old), (after, new) = scored
    assert before == "milp-time-limit" and after == "milp"
    assert not model.better(old, new, tolerance=0.0)


@pytest.mark.parametrize(("n", "seed"), [(8, 3), (18, 8)])
def test_the_light_runs_budget_proves_small_plans_200_nodes_left_open(monkeypatch, n, seed):
    """Up to LIGHT_HEURISTICS_ASSETS a run gets LIGHT_NODE_BUDGET nodes: nodes cost well
    under a millisecond there. The bench's "all" workbooks of 8 assets (seed 3) and 18
    (seed 8), left at the node limit by 200 nodes (and, at 18, by the deeper runs' 800
    without the light options), are proven, at no worse a score."""
    assert n <= milp.LIGHT_HEURISTICS_ASSETS
    assert milp.LIGHT_NODE_BUDGET > milp.DEEP_NODE_BUDGET > milp.NODE_BUDGET
    scored = []
    for limit, budget in ((10, milp.NODE_BUDGET), (n, milp.LIGHT_NODE_BUDGET)):
        # Before: 200 nodes up to 10 assets, the deeper runs above.
        monkeypatch.setattr(milp, "LIGHT_HEURISTICS_ASSETS", limit)
        monkeypatch.setattr(milp, "LIGHT_NODE_BUDGET", budget)
        scored.append(_scored_plan("all", n, seed))
    (before, old), (after, new) = scored
    assert before == "milp-time-limit" and after == "milp"
    assert not model.better(old, new, tolerance=0.0)
