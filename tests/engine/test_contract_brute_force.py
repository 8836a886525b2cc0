"""The engine against every whole-share plan, scored by the contract alone (tiny cases).

``contract_brute_force`` enumerates every plan of a tiny workbook and scores it
by the contract's own definitions (weights after costs, cash >= 0, bands, caps),
sharing no code with the engine. In every regime the engine's plan must:

- keep every cap (group Min/Max) that some plan keeps, breach none more than it must,
  and in band mode bring every asset (and cash, when it has a target) inside its band
  whenever some plan that breaches the caps no more does;
- in full mode, among the plans that keep what can be kept, leave the least drift:
  exactly the least when trading costs nothing, and otherwise no plan may beat it on
  drift without costing more (costs are weighed against drift, never ignored).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etf_rebalancer.engine.plan import plan_rebalance
from etf_rebalancer.planning.inputs import read_request
from tests.engine.contract_brute_force import Case, every_plan, score

PROFILE = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
TOL = 1e-9


@st.composite
def cases(draw: st.DrawFn, regime: str) -> Case:
    """A two- or three-asset workbook of one regime, small enough to enumerate."""
    n = draw(st.integers(2, 3))
    tickers = ["AAA", "BBB", "CCC"][:n]
    price = [float(draw(st.integers(20, 120))) for _ in range(n)]
    held = [draw(st.integers(0, 4)) for _ in range(n)]
    cuts = sorted(draw(st.lists(st.integers(0, 20), min_size=n, max_size=n)))
    bounds = [0, *cuts, 20]
    target = [(bounds[i + 1] - bounds[i]) / 20 for i in range(n)]
    currency = ["USD"] * n
    cash: dict[str, float] = {"USD": float(draw(st.integers(0, 300)))}
    fx: dict[str, float] = {}
    extra: dict[str, Any] = {}
    if regime in ("pools", "all"):
        # The last asset trades in KRW, with its own cash pool; fees and spread on.
        currency[-1] = "KRW"
        price[-1] = price[-1] * 1000
        fx["KRW"] = 0.001
        cash["KRW"] = float(draw(st.integers(0, 200))) * 1000
        extra.update(
            fee_rate=draw(st.sampled_from([0.0, 0.001, 0.01])),
            fee_min=draw(st.sampled_from([0.0, 1.0])),
            min_trade=draw(st.sampled_from([0.0, 30.0])),
            fx_spread=draw(st.sampled_from([0.0, 0.01])),
        )
    if regime in ("band", "all"):
        extra.update(mode="band", band=draw(st.sampled_from([0.1, 0.2, 0.5])))
    if regime in ("caps", "all"):
        cap = draw(st.sampled_from([0.1, 0.2, 0.3]))
        floor = draw(st.sampled_from([None, 0.2]))
        groups: dict[str, tuple[list[str], float | None, float | None]] = {
            "lev": ([tickers[0], tickers[1]], None, cap)
        }
        if floor is not None and n == 3:
            groups["core"] = ([tickers[2]], floor, None)
        extra["groups"] = groups
    if sum(h * p for h, p in zip(held, price, strict=True)) + sum(cash.values()) == 0:
        cash["USD"] = 100.0
    return Case(tickers, price, currency, held, target, cash, fx, **extra)


def ours(case: Case) -> np.ndarray:
    plan = plan_rebalance(read_request(*case.ranges()))
    net = dict(zip(plan.tickers, plan.buy - plan.sell, strict=True))
    return np.array([net.get(t, 0.0) for t in case.tickers])


def check(case: Case) -> None:
    plans = every_plan(case)
    mine = score(case, ours(case))
    assert len(mine.net) == 1, "the engine's plan overdraws cash or breaks min_trade"
    if plans.caps_kept.any():
        assert mine.caps_kept[0], "a cap is breached that some whole-share plan keeps"
    # Caps come first: compare with the plans that breach them least (0 when keepable).
    least = plans.cap_breach.min()
    assert mine.cap_breach[0] <= least + 1e-7, "a cap is breached more than it must be"
    keep = plans.cap_breach <= least + 1e-7
    if case.mode == "band":
        if (keep & plans.bands_kept).any():
            assert mine.bands_kept[0], "an asset is left outside its band needlessly"
        return
    drift, costs = plans.drift[keep], plans.costs[keep]
    if not np.any(costs > 0) and mine.costs[0] == 0:
        assert mine.drift[0] <= drift.min() + TOL, (mine.drift[0], drift.min())
    else:
        beaten = (drift < mine.drift[0] - TOL) & (costs <= mine.costs[0] + TOL)
        assert not beaten.any(), plans.net[keep][beaten][:3]


@PROFILE
@given(cases("one"))
def test_one_pool_least_drift(case):
    check(case)


@PROFILE
@given(cases("pools"))
def test_two_currency_pools_with_fees_never_beaten_on_drift_and_costs(case):
    check(case)


@PROFILE
@given(cases("band"))
def test_band_mode_inside_every_band_whenever_possible(case):
    check(case)


@PROFILE
@given(cases("caps"))
def test_group_caps_kept_and_least_drift_among_plans_keeping_them(case):
    check(case)


@PROFILE
@given(cases("all"))
def test_all_together(case):
    check(case)
