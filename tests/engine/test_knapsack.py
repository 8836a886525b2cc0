"""The exact one-pool search (engine/knapsack.py) against the MILP and brute force."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from etf_rebalancer.engine import knapsack, milp
from tests.engine.brute_force import beats, best_score, program_score, whole_plans

PROFILE = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def draw_weights(draw, n: int) -> np.ndarray:
    """Targets of ``n`` assets and, last, cash: fractions in steps of 0.001 summing to 1."""
    cuts = sorted(draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n)))
    bounds = [0, *cuts, 1000]
    return np.array([bounds[i + 1] - bounds[i] for i in range(n + 1)], dtype=float) / 1000


def full_mode_problem(
    weights: np.ndarray,
    price: np.ndarray,
    held: np.ndarray,
    sell_max: np.ndarray,
    spendable: float,
    cash: np.ndarray,
    **rest,
) -> milp.Problem:
    """A full-mode, whole-share problem without Min/Max: targets and cash target from
    ``weights`` (assets, then cash), purchases bounded by what ``spendable`` buys."""
    n = len(price)
    return milp.Problem(
        value=float(held @ price + cash.sum()),
        price=price,
        held=held,
        target=weights[:n],
        buy_max=np.floor(spendable / price),
        sell_max=sell_max,
        band_lo=weights[:n],
        band_hi=weights[:n],
        min_weight=np.full(n, math.nan),
        max_weight=np.full(n, math.nan),
        cash_start=cash,
        cash_target=float(weights[n]),
        cash_lo=float(weights[n]),
        cash_hi=float(weights[n]),
        whole=True,
        **rest,
    )


@st.composite
def one_pool_problems(draw, max_assets=6, max_held=30, tiny=False):
    """One-pool, full-mode problems: held portfolios, fees, tax, cash targets, money to raise."""
    n = draw(st.integers(1 if tiny else 2, 3 if tiny else max_assets))
    price = np.array([float(draw(st.integers(5, 80 if tiny else 900))) for _ in range(n)])
    held = np.array([float(draw(st.integers(0, max_held))) for _ in range(n)])
    weights = draw_weights(draw, n)
    held_value = float(held @ price)
    cash = float(draw(st.integers(-int(held_value * 0.3), 120 if tiny else 20_000)))
    value = held_value + cash
    assume(value > 0 and held_value + max(cash, 0.0) > 0)
    buy_only = draw(st.booleans()) if cash >= 0 else False
    fee_rate = draw(st.sampled_from([0.0, 0.001, 0.01]))
    sell_tax = np.array([draw(st.sampled_from([0.0, 0.0018, 0.05])) for _ in range(n)])
    sell_max = np.zeros(n) if buy_only else held
    spendable = max(cash, 0.0) + (0.0 if buy_only else held_value)
    return full_mode_problem(
        weights, price, held, sell_max, spendable, np.array([cash]),
        pool=np.zeros(n, dtype=int), sell_tax=sell_tax, fee_rate=fee_rate,
    )  # fmt: skip


@contextlib.contextmanager
def search_budget(name: str, nodes: int):
    """The search's node budget ``knapsack.<name>`` set to ``nodes`` for a while (Hypothesis
    tests cannot take pytest's monkeypatch: it is not reset between examples)."""
    saved = getattr(knapsack, name)
    setattr(knapsack, name, nodes)
    try:
        yield
    finally:
        setattr(knapsack, name, saved)


def milp_only(problem, guard_seconds=10.0):
    """The MILP's answer, with the fast path switched off."""
    saved = knapsack.applies
    knapsack.applies = lambda _problem: False
    try:
        return milp.solve(problem, guard_seconds=guard_seconds)
    finally:
        knapsack.applies = saved


@PROFILE
@given(one_pool_problems())
def test_fast_path_scores_as_well_as_the_milp(problem):
    assert knapsack.applies(problem)
    reference = milp_only(problem)
    exact = knapsack.solve(problem)
    if reference.method != "milp":
        assume(False)  # nothing proven to compare with (infeasible money to raise)
    assert exact is not None
    ours = milp.objective(problem, exact.buy, exact.sell)
    theirs = milp.objective(problem, reference.buy, reference.sell)
    assert math.isfinite(ours)
    assert np.all(exact.buy == np.round(exact.buy)) and np.all(exact.sell == np.round(exact.sell))
    assert np.all((exact.buy == 0) | (exact.sell == 0))
    assert ours == pytest.approx(exact.objective, abs=1e-12)
    # Never worse than the MILP's optimum (full mode: the search is exact); the MILP may
    # stop within its relative gap.
    assert ours <= theirs + 1e-12
    assert ours >= theirs - milp.MIP_REL_GAP * abs(theirs) - milp.MIP_ABS_GAP - 1e-9


@PROFILE
@given(one_pool_problems(tiny=True, max_held=5))
def test_fast_path_is_optimal_against_brute_force(problem):
    exact = knapsack.solve(problem)
    best = best_score(problem)[2]  # no caps or bands here: the objective alone
    if not math.isfinite(best):
        assert exact is None
        return
    assert exact is not None
    assert milp.objective(problem, exact.buy, exact.sell) <= best + 1e-12


def bench_problem(n=50, seed=0, budget=100_000.0):
    """The structure of bench/bench_engine.py: invest cash from nothing, one currency."""
    rng = np.random.default_rng(seed)
    price = np.round(np.exp(rng.uniform(np.log(15), np.log(900), n)), 2)
    target = rng.dirichlet(np.ones(n))
    return milp.Problem(
        value=budget,
        price=price,
        held=np.zeros(n),
        target=target,
        pool=np.zeros(n, dtype=int),
        sell_tax=np.zeros(n),
        buy_max=np.floor(budget / price),
        sell_max=np.zeros(n),
        band_lo=target,
        band_hi=target,
        min_weight=np.full(n, math.nan),
        max_weight=np.full(n, math.nan),
        cash_start=np.array([budget]),
        cash_target=0.0,
        cash_lo=0.0,
        cash_hi=0.0,
    )


@pytest.mark.parametrize("seed", range(5))
def test_bench_structure_takes_the_fast_path_and_matches_the_milp(seed):
    problem = bench_problem(seed=seed)
    solution = milp.solve(problem)
    assert solution.method == "milp"
    assert solution.detail.startswith("exact knapsack search")
    reference = milp_only(problem)
    assert reference.method == "milp"
    ours = milp.objective(problem, solution.buy, solution.sell)
    assert ours <= milp.objective(problem, reference.buy, reference.sell) + 1e-12


def test_other_structures_keep_the_milp():
    problem = bench_problem(n=5)
    cap = np.array([0.1, *[math.nan] * 4])
    for change in (
        # Bands and Min/Max are weights of the value after costs: with costs, the MILP.
        {"mode": "band", "fee_rate": 0.001},
        {"mode": "band", "sell_tax": np.full(5, 0.0018)},
        {"max_weight": cap, "fee_rate": 0.001},
        {"whole": False},
        {"groups": (("G", np.array([0, 1]), None, 0.2),), "fee_rate": 0.001},
        # Overlapping groups: the search bounds each group on its own.
        {"groups": (("G", np.array([0, 1]), None, 0.2), ("H", np.array([1, 2]), 0.1, None))},
        # fee_min, min_trade and pools come to the search only without bounds or caps.
        {"fee_min": 1.0, "max_weight": cap},
        {"min_trade": 10.0, "groups": (("G", np.array([0, 1]), None, 0.2),)},
        {**two_pools, "mode": "band"},
    ):
        other = milp.Problem(**{**problem.__dict__, **change})
        assert not knapsack.applies(other), change
        assert not milp.solve(other).detail.startswith("exact knapsack search")


two_pools = {"cash_start": np.array([50_000.0, 50_000.0]), "pool": np.array([0, 1, 0, 1, 0])}


def test_costs_and_pools_take_the_search_in_full_mode():
    problem = bench_problem(n=5)
    for change in (
        {"fee_min": 1.0},
        {"min_trade": 10.0},
        two_pools,
        {**two_pools, "fee_rate": 0.001, "fee_min": 1.0, "min_trade": 50.0, "fx_spread": 0.002},
    ):
        other = milp.Problem(**{**problem.__dict__, **change})
        assert knapsack.applies(other), change
        assert milp.solve(other).detail.startswith("exact knapsack search"), change


def test_search_budget_hands_over_and_keeps_the_better_plan(monkeypatch):
    problem = bench_problem(n=200, seed=1, budget=1_000_000.0)
    monkeypatch.setattr(knapsack, "MAX_NODES", 10)
    found = knapsack.solve(problem)
    assert found is not None and found.method == "milp-time-limit"
    assert 0 < found.extra["gap"] < 0.01
    solution = milp.solve(problem)
    ours = milp.objective(problem, solution.buy, solution.sell)
    assert math.isfinite(ours)
    assert ours <= milp.objective(problem, found.buy, found.sell) + 1e-12
    if solution.method != "milp":
        assert solution.method == "milp-time-limit" and solution.extra["gap"] > 0


@st.composite
def costless_soft_problems(draw):
    """One-pool problems without costs, in band mode or with per-asset Min/Max (or both)."""
    base = draw(one_pool_problems(tiny=True, max_held=5))
    n = base.n
    band = draw(st.booleans())
    width = draw(st.sampled_from([0.0, 0.1, 0.2, 0.5]))
    lo = np.maximum(base.target * (1 - width), 0.0)
    hi = base.target * (1 + width)
    min_w = np.array([draw(st.sampled_from([math.nan, 0.05, 0.3])) for _ in range(n)])
    max_w = np.array([draw(st.sampled_from([math.nan, 0.1, 0.4])) for _ in range(n)])
    if not band:
        assume(np.any(np.isfinite(min_w)) or np.any(np.isfinite(max_w)))
    cash_w = draw(st.sampled_from([0.0, 0.1]))
    return milp.Problem(
        **{
            **base.__dict__,
            "fee_rate": 0.0,
            "sell_tax": np.zeros(n),
            "mode": "band" if band else "full",
            "band_lo": lo,
            "band_hi": hi,
            "min_weight": min_w,
            "max_weight": max_w,
            "cash_lo": base.cash_target * (1 - width) if cash_w else math.nan,
            "cash_hi": base.cash_target * (1 + width) if cash_w else math.nan,
        }
    )


@PROFILE
@given(costless_soft_problems())
def test_band_and_min_max_fast_path_is_lexicographically_optimal_against_brute_force(problem):
    """Caps, then bands, then the objective: as the brute force ranks every whole plan."""
    assert knapsack.applies(problem)
    exact = knapsack.solve(problem)
    best = best_score(problem)
    if not math.isfinite(best[2]):
        assert exact is None or exact.method != "milp"
        return
    if exact is None or exact.method != "milp":
        return  # handed to the MILP (a plan with less breach exists, or over budget)
    assert_lexicographically_optimal(program_score(problem, exact.buy, exact.sell), best)


def assert_lexicographically_optimal(ours, best):
    """Caps, then bands within 1e-7 of the brute force's; then the objective within the
    MILP's own gaps."""
    assert ours[0] <= best[0] + 1e-7
    assert ours[1] <= best[1] + 1e-7
    if abs(ours[0] - best[0]) <= 1e-7 and abs(ours[1] - best[1]) <= 1e-7:
        slack = milp.MIP_REL_GAP * abs(best[2]) + milp.MIP_ABS_GAP + 1e-12
        assert ours[2] <= best[2] + slack


@PROFILE
@given(costless_soft_problems())
def test_band_and_min_max_plans_through_milp_solve_are_never_beaten(problem):
    """Whatever path milp.solve takes (fast path or hand-over), no whole plan beats it."""
    solution = milp.solve(problem)
    best = best_score(problem)
    assume(math.isfinite(best[2]))
    ours = program_score(problem, solution.buy, solution.sell)
    assert not beats(best, ours, milp.MIP_REL_GAP * abs(best[2]) + milp.MIP_ABS_GAP + 1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_band_mode_held_portfolio_is_never_beaten_by_a_long_milp(seed):
    """A held 50-asset portfolio in band mode: the fast path (or its hand-over to the MILP
    when its step budget runs out) against the MILP alone with a 60 s guard."""
    rng = np.random.default_rng(seed)
    problem = bench_problem(n=50, seed=seed, budget=1_000_000.0)
    held = np.floor(problem.target * rng.uniform(0.6, 1.4, 50) * 970_000 / problem.price)
    value = float(held @ problem.price) + 30_000.0
    problem = milp.Problem(
        **{
            **problem.__dict__,
            "value": value,
            "held": held,
            "sell_max": held,
            "buy_max": np.floor((value) / problem.price),
            "cash_start": np.array([30_000.0]),
            "mode": "band",
            "band_lo": problem.target * 0.8,
            "band_hi": problem.target * 1.2,
            "cash_lo": math.nan,
            "cash_hi": math.nan,
        }
    )
    solution = milp.solve(problem)
    reference = milp_only(problem, guard_seconds=60.0)
    ours = program_score(problem, solution.buy, solution.sell)
    theirs = program_score(problem, reference.buy, reference.sell)
    assert not beats(theirs, ours, milp.MIP_REL_GAP * abs(theirs[2]) + milp.MIP_ABS_GAP)


@st.composite
def costless_group_problems(draw):
    """Costless one-pool problems with group caps or floors (disjoint), Min/Max and bands."""
    base = draw(costless_soft_problems()) if draw(st.booleans()) else None
    if base is None:
        plain = draw(one_pool_problems(tiny=True, max_held=5))
        base = milp.Problem(**{**plain.__dict__, "fee_rate": 0.0, "sell_tax": np.zeros(plain.n)})
    n = base.n
    assume(n >= 2)
    split = draw(st.integers(1, n))
    members = [np.arange(split)] + ([np.arange(split, n)] if split < n else [])
    groups = []
    for g, m in enumerate(members):
        held = float((base.held * base.price)[m].sum() / base.value)
        hi = draw(st.sampled_from([None, 0.2, 0.5, round(held, 4)]))
        lo = draw(st.sampled_from([None, 0.1, 0.4]))
        if hi is not None or lo is not None:
            groups.append((f"G{g}", m, lo, hi))
    assume(groups)
    return milp.Problem(**{**base.__dict__, "groups": tuple(groups)})


@PROFILE
@given(costless_group_problems())
def test_group_caps_in_the_search_against_brute_force(problem):
    """Caps first, then bands, then the objective; an unproven plan's gap is a true bound."""
    assert knapsack.applies(problem)
    exact = knapsack.solve(problem)
    best = best_score(problem)
    if not math.isfinite(best[2]):
        assert exact is None or exact.method != "milp"
        return
    assert exact is not None
    ours = program_score(problem, exact.buy, exact.sell)
    value = milp.objective(problem, exact.buy, exact.sell)
    # Bound: no whole plan scores below the plan's objective minus its proven gap.
    optimum = min(
        milp.objective(problem, b, s) for b, s in whole_plans(problem)
    )  # the weighted optimum, caps and bands included by their penalties
    gap = exact.extra.get("gap", 0.0)
    if math.isfinite(gap):
        assert optimum >= value - gap - 1e-9
    if exact.method == "milp":
        assert_lexicographically_optimal(ours, best)


@PROFILE
@given(costless_group_problems())
def test_group_search_gap_is_a_true_bound_when_the_budget_runs_out(problem):
    """With almost no search budget the plan comes from the LP duals and local search; its
    gap must still bound the distance to the brute-force optimum (weighted program)."""
    with search_budget("MAX_NODES_GROUPS", 1):
        exact = knapsack.solve(problem)
    plans = list(whole_plans(problem))
    optimum = min(milp.objective(problem, b, s) for b, s in plans)
    if not math.isfinite(optimum):
        assert exact is None or exact.method != "milp"
        return
    assert exact is not None
    value = milp.objective(problem, exact.buy, exact.sell)
    assert math.isfinite(value)
    gap = exact.extra.get("gap", 0.0)
    assert optimum >= value - gap - 1e-9


@PROFILE
@given(costless_group_problems())
def test_group_cap_plans_through_milp_solve_are_never_beaten_beyond_their_gap(problem):
    solution = milp.solve(problem)
    best = best_score(problem)
    assume(math.isfinite(best[2]))
    ours = program_score(problem, solution.buy, solution.sell)
    gap = solution.extra.get("gap", 0.0) if solution.method != "milp" else 0.0
    tolerance = milp.MIP_REL_GAP * abs(best[2]) + milp.MIP_ABS_GAP + 1e-9
    if solution.method == "milp":
        assert not beats(best, ours, tolerance)
    else:
        # Unproven: within its gap of the weighted optimum (caps weigh 1e3 per unit there).
        optimum = min(milp.objective(problem, b, s) for b, s in whole_plans(problem))
        assert milp.objective(problem, solution.buy, solution.sell) <= optimum + gap + 1e-9


def test_a_keepable_cap_is_kept_when_highs_misreports_a_warm_started_run():
    """Hypothesis found this: sell 4 keeps asset 1 under its Max (0.4) and its group over
    its floor, sell 3 misses the Max by 0.0052. HiGHS, warm-started from the sell-3 plan
    with presolve on, called the least-breach program optimal at an objective of -1000
    while its solution had breach 51.7; the caps-first rule then kept the breach."""
    nan = math.nan
    problem = milp.Problem(
        value=232.0, price=np.array([6.0, 47.0]), held=np.array([0.0, 5.0]),
        target=np.array([0.005, 0.33]), pool=np.array([0, 0]), sell_tax=np.zeros(2),
        buy_max=np.array([39.0, 5.0]), sell_max=np.array([0.0, 5.0]),
        band_lo=np.array([0.005, 0.33]), band_hi=np.array([0.005, 0.33]),
        min_weight=np.array([nan, nan]), max_weight=np.array([nan, 0.4]),
        cash_start=np.array([-3.0]), cash_target=0.665, cash_lo=nan, cash_hi=nan,
        groups=(("G1", np.array([1]), 0.1, None),), mode="band",
    )  # fmt: skip
    solution = milp.solve(problem)
    assert solution.sell[1] == 4.0  # by hand: 47 / 232 = 0.203, inside [0.1, 0.4]
    assert program_score(problem, solution.buy, solution.sell)[0] == 0.0


def test_a_hair_of_breach_the_weighted_search_would_keep_is_mended_first():
    """A Max missed by 1e-6 costs 1e-3 in the weighted objective, mending it (one share
    sold) 0.02 of drift: the weighted optimum keeps the breach, caps come first."""
    problem = milp.Problem(
        value=1000.0, price=np.array([10.0, 10.0]), held=np.array([10.0, 90.0]),
        target=np.array([0.1, 0.9]), pool=np.zeros(2, dtype=int), sell_tax=np.zeros(2),
        buy_max=np.array([0.0, 0.0]), sell_max=np.array([10.0, 90.0]),
        band_lo=np.array([0.1, 0.9]), band_hi=np.array([0.1, 0.9]),
        min_weight=np.array([math.nan, math.nan]), max_weight=np.array([0.099999, math.nan]),
        cash_start=np.array([0.0]), cash_target=0.0, cash_lo=0.0, cash_hi=0.0,
    )  # fmt: skip
    weighted = knapsack._Model(problem)
    kept_breach = weighted.total(np.zeros(2))
    assert kept_breach < weighted.total(np.array([-1.0, 0.0]))  # the weights prefer it
    solution = knapsack.solve(problem)
    assert solution is not None
    assert milp.breaches(problem, solution.buy, solution.sell)[0] == 0.0
    assert solution.sell[0] == 1.0 and solution.method == "milp-time-limit"
    # And the MILP (lexicographic by phases) agrees on the plan.
    reference = milp_only(problem)
    assert np.array_equal(reference.sell, solution.sell)
    assert np.array_equal(reference.buy, solution.buy)


@contextlib.contextmanager
def one_ceiling():
    """The search under the incumbent alone (no lower ceilings first)."""
    saved = knapsack.CEILINGS
    knapsack.CEILINGS = (1.0,)
    try:
        yield
    finally:
        knapsack.CEILINGS = saved


@PROFILE
@given(one_pool_problems())
def test_rising_ceilings_find_what_one_search_under_the_incumbent_finds(problem):
    rising = knapsack.solve(problem)
    with one_ceiling():
        single = knapsack.solve(problem)
    assert (rising is None) == (single is None)
    if rising is None or single is None:
        return
    assert rising.method == single.method == "milp"
    ours = milp.objective(problem, rising.buy, rising.sell)
    assert ours == pytest.approx(milp.objective(problem, single.buy, single.sell), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_a_ceiling_searched_in_vain_is_a_true_bound_when_the_budget_runs_out(seed):
    """Out of budget, the gap is to the highest ceiling below which no plan was found: at
    most the root's, and still no more than the distance to the proven optimum."""
    problem = bench_problem(n=300, seed=seed)
    optimum = knapsack.solve(problem)
    assert optimum is not None and optimum.method == "milp"
    best = milp.objective(problem, optimum.buy, optimum.sell)
    gaps = []
    for ceilings in (knapsack.CEILINGS, (1.0,)):
        saved = knapsack.CEILINGS
        knapsack.CEILINGS = ceilings
        try:
            with search_budget("MAX_NODES", 400):
                short = knapsack.solve(problem)
        finally:
            knapsack.CEILINGS = saved
        assert short is not None
        value = milp.objective(problem, short.buy, short.sell)
        gap = short.extra.get("gap", 0.0)
        assert best >= value - gap - 1e-12
        gaps.append(gap)
    rising, root = gaps
    assert rising < root


def test_a_plan_with_caps_kept_first_keeps_a_true_gap():
    """The caps-first repair moves away from the search's plan; its gap is then measured
    from the search's bound, which must still be below every whole-share plan. Most
    examples do not take the repair (they are only solved, not brute-forced); enough do."""
    seen: list[float] = []

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(costless_group_problems())
    def check(problem):
        with search_budget("MAX_NODES_GROUPS", 1):
            exact = knapsack.solve(problem)
        if exact is None or "caps kept first" not in exact.detail:
            return
        gap = exact.extra.get("gap", math.inf)
        if not math.isfinite(gap):
            return
        seen.append(gap)
        optimum = min(milp.objective(problem, b, s) for b, s in whole_plans(problem))
        assert optimum >= milp.objective(problem, exact.buy, exact.sell) - gap - 1e-9

    check()
    # Not vacuous. How many of the 300 take the repair depends on which examples
    # Hypothesis draws, and that on what ran before in the process (2 to 19 seen; the
    # plans of examples drawn in both were the same): at least one must.
    assert seen


def test_the_local_search_leaves_a_plan_it_cannot_price_alone(recwarn):
    """A start whose cash the search's model reads as overdrawn (a plan spending the cash
    to a hair below 0 passes the program's tolerance) has no gains to rank: the local
    search returns it as it is, without computing inf - inf (a fuzzing run saw NaN
    warnings from knapsack._improve)."""
    weights = np.array([0.5, 0.5, 0.0])
    price = np.array([10.0, 20.0])
    problem = full_mode_problem(
        weights, price, np.array([5.0, 5.0]), np.array([5.0, 5.0]), 100.0, np.array([100.0]),
        pool=np.zeros(2, dtype=int), sell_tax=np.zeros(2),
    )  # fmt: skip
    model = knapsack._Model(problem)
    overdrawn = np.array([11.0, 0.0])  # 110 spent of 100
    assert not math.isfinite(model.total(overdrawn))
    x, total = knapsack._improve(model, overdrawn)
    assert np.array_equal(x, overdrawn) and not math.isfinite(total)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_the_local_search_stops_where_it_has_been_and_keeps_its_best(monkeypatch):
    """The search ranks moves by the model's terms summed move by move, which can misjudge
    one (a sale stepped to 0 below min_trade moves a capped group by two shares, priced as
    one). On the bench's "all" workbook of 10 assets (seed 10) it stepped between two
    plans, back and forth, for its whole budget (220 rounds, 0.25 s of a 0.3 s plan) and
    ended on the worse one. A plan seen before now ends it, and it returns the best plan
    the model's total saw."""
    from etf_rebalancer.engine import plan as plan_module
    from etf_rebalancer.engine.market import MarketData
    from etf_rebalancer.planning.inputs import read_request
    from tests.engine.test_least_drift import _bench_workbook

    request = read_request(*_bench_workbook("all", 10, 10))
    problem = plan_module._formulate(request, MarketData(), request.as_of).problem
    calls = {"total": 0}
    real_total, real_improve = knapsack._Model.total, knapsack._improve
    runs = []

    def counted(self, x):
        calls["total"] += 1
        return real_total(self, x)

    def spy(model, x, deadline=None, rounds=None):
        calls["total"] = 0
        out, total = real_improve(model, x, deadline, rounds)
        runs.append((calls["total"], real_total(model, x), total, real_total(model, out)))
        return out, total

    monkeypatch.setattr(knapsack._Model, "total", counted)
    monkeypatch.setattr(knapsack, "_improve", spy)
    assert milp.cost_estimate(problem) is not None
    assert runs  # the rounded LP plan was polished
    for evaluated, start, returned, actual in runs:
        assert evaluated < 20  # rounds, each pricing its plan once
        assert actual == returned <= start
    assert runs[0][2] < runs[0][1]  # the polish found the better of the two plans


def test_the_local_search_goes_the_whole_way_along_a_good_move(monkeypatch):
    """A move that keeps lowering the model's total is made 2, 4, 8... shares at once: the
    bench's band-mode workbook of 25 assets (seed 8) starts 154 shares from one asset's
    band, and one share a round spent the whole budget (250 rounds, 78 ms of a 97 ms plan)
    short of a local optimum. The search now ends where no move helps."""
    from tests.engine.test_least_drift import _bench_workbook

    real_improve = knapsack._improve
    ended: list[bool] = []

    def spy(model, x, deadline=None, rounds=None):
        out, total = real_improve(model, x, deadline, rounds)
        again, _ = real_improve(model, out, None, 1)
        ended.append(bool(np.array_equal(again, out)))
        return out, total

    monkeypatch.setattr(knapsack, "_improve", spy)
    from etf_rebalancer.engine.plan import _PLAN_CACHE, plan_rebalance
    from etf_rebalancer.planning.inputs import read_request

    _PLAN_CACHE.clear()
    plan = plan_rebalance(read_request(*_bench_workbook("band", 25, 8)), time_limit=10.0)
    assert plan.method == "milp"
    assert ended and all(ended)
