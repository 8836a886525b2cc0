"""engine.fill: group sums brought to their bounds to the cent, checked by brute force.

The drift here is the contract's, written out in this file (weights of holdings plus
cash, |weight - target| summed, cash included); share counts are enumerated directly.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from etf_rebalancer.engine import fill, milp, model


def _problem(price, held, target, cash, groups, max_weight=None, min_weight=None):
    n = len(price)
    price = np.asarray(price, dtype=float)
    held = np.asarray(held, dtype=float)
    target = np.asarray(target, dtype=float)
    value = float(held @ price) + cash
    return milp.Problem(
        value=value,
        price=price,
        held=held,
        target=target,
        pool=np.zeros(n, dtype=int),
        sell_tax=np.zeros(n),
        buy_max=np.floor(cash / price) + 1000.0,
        sell_max=held.copy(),
        band_lo=target,
        band_hi=target,
        min_weight=np.full(n, math.nan) if min_weight is None else np.asarray(min_weight),
        max_weight=np.full(n, math.nan) if max_weight is None else np.asarray(max_weight),
        cash_start=np.array([cash]),
        cash_target=1.0 - float(target.sum()),
        cash_lo=0.0,
        cash_hi=1.0,
        groups=tuple((label, np.asarray(members), lo, hi) for label, members, lo, hi in groups),
    )


def _drift(problem, shares) -> float:
    """The contract's drift of holding ``shares`` (no costs): written here, not the engine's."""
    cash = float(problem.cash_start[0] - (shares - problem.held) @ problem.price)
    if cash < -1e-9:
        return math.inf
    total = float(shares @ problem.price) + cash
    weights = shares * problem.price / total
    return float(np.abs(weights - problem.target).sum() + abs(cash / total - problem.cash_target))


def _group_sum(problem, shares, members) -> float:
    return float(shares[members] @ problem.price[members])


def test_a_capped_group_is_filled_to_the_best_sum_whole_shares_allow():
    # Three members all well under target, capped together at 30% of $100k: every dollar
    # more in the group (from the cash, over its 0 target) lowers the drift by 2/value.
    price = [203.57, 418.99, 138.91, 51.17]
    held = [40, 20, 60, 200]
    target = [0.15, 0.15, 0.15, 0.10]
    problem = _problem(price, held, target, 0.0, [("lev", [0, 1, 2], None, 0.30)])
    problem = dataclasses.replace(
        problem, cash_start=np.array([100_000.0 - float(np.asarray(held) @ problem.price)])
    )
    problem = dataclasses.replace(problem, value=100_000.0, cash_target=0.45)
    cap_money = 0.30 * problem.value
    # A plan a few shares under the cap: $727 of slack.
    start = problem.held.copy()
    start[[0, 1, 2]] = [48, 24, 68]
    assert _group_sum(problem, start, [0, 1, 2]) < cap_money
    trade = start - problem.held
    buy, sell = np.maximum(trade, 0.0), np.maximum(-trade, 0.0)
    new_buy, new_sell = fill.filled_groups(problem, buy, sell)
    after = problem.held + new_buy - new_sell
    # Brute force over every plan within 30 shares of the start in each member.
    best = math.inf
    for d in itertools.product(range(-30, 31), repeat=3):
        shares = start.copy()
        shares[[0, 1, 2]] += d
        if _group_sum(problem, shares, [0, 1, 2]) > cap_money + 1e-9:
            continue
        best = min(best, _drift(problem, shares))
    assert _group_sum(problem, after, [0, 1, 2]) <= cap_money + 1e-9
    assert _drift(problem, after) <= best + 1e-12
    # To the cent: what is left under the cap is less than the cheapest share by far.
    assert cap_money - _group_sum(problem, after, [0, 1, 2]) < 0.05


def test_a_floor_is_approached_from_above_when_the_members_are_over_target():
    price = [97.13, 311.40, 45.05]
    target = [0.10, 0.10, 0.10]
    value = 100_000.0
    held = [150, 45, 310]  # $14.6k, $14.0k, $14.0k: all over target
    cash = value - float(np.dot(held, price))
    problem = _problem(price, held, target, cash, [("core", [0, 1, 2], 0.35, None)])
    problem = dataclasses.replace(problem, cash_target=0.70)  # cash under its target
    new_buy, new_sell = fill.filled_groups(problem, np.zeros(3), np.zeros(3))
    after = problem.held + new_buy - new_sell
    floor_money = 0.35 * value
    # Brute force over every holding of 80-150, 20-45 and 150-310 shares that keeps the
    # floor (vectorised: 71 x 26 x 161 plans).
    grid = (
        np.stack(
            np.meshgrid(np.arange(80, 151), np.arange(20, 46), np.arange(150, 311), indexing="ij"),
            axis=-1,
        )
        .reshape(-1, 3)
        .astype(float)
    )
    money = grid * problem.price
    kept = money.sum(axis=1) >= floor_money - 1e-9
    left = value - money.sum(axis=1)
    drift = np.abs(money / value - 0.10).sum(axis=1) + np.abs(left / value - 0.70)
    best = float(drift[kept].min())
    assert _group_sum(problem, after, [0, 1, 2]) >= floor_money - 1e-9
    assert _drift(problem, after) <= best + 1e-12
    assert _drift(problem, after) < _drift(problem, problem.held)


def test_nothing_to_fill_returns_the_plan_itself():
    problem = _problem([10.0, 20.0], [10, 10], [0.4, 0.4], 100.0, [])
    buy, sell = np.zeros(2), np.zeros(2)
    assert fill.filled_groups(problem, buy, sell) == (buy, sell)
    banded = dataclasses.replace(problem, mode="band", groups=(("g", np.array([0, 1]), None, 0.5),))
    got = fill.filled_groups(banded, buy, sell)
    assert got[0] is buy and got[1] is sell


def test_a_member_at_its_own_max_stays_there():
    price = [203.57, 418.99, 138.91]
    held = [40, 20, 60]
    target = [0.2, 0.2, 0.2]
    value = 100_000.0
    cash = value - float(np.dot(held, price))
    # Member 0 is at its Max (40 shares = 8.14%): filling must use the others.
    max_weight = np.array([40 * 203.57 / value + 1e-9, math.nan, math.nan])
    problem = _problem(price, held, target, cash, [("lev", [0, 1, 2], None, 0.30)], max_weight)
    new_buy, new_sell = fill.filled_groups(problem, np.zeros(3), np.zeros(3))
    after = problem.held + new_buy - new_sell
    assert after[0] <= 40
    assert model.breaches(problem, new_buy, new_sell)[0] <= 1e-12
    assert 0.30 * value - _group_sum(problem, after, [0, 1, 2]) < 0.05


@st.composite
def _cases(draw):
    n = draw(st.integers(3, 7))
    price = np.array([draw(st.floats(5.0, 900.0)).__round__(2) for _ in range(n)], dtype=float)
    held = np.array([draw(st.integers(0, 60)) for _ in range(n)], dtype=float)
    cash = draw(st.floats(100.0, 20_000.0))
    raw = np.array([draw(st.floats(0.01, 1.0)) for _ in range(n)])
    target = np.round(raw / raw.sum() * draw(st.floats(0.6, 1.0)), 6)
    labels = [draw(st.sampled_from(["a", "b", None])) for _ in range(n)]
    groups = []
    for label in ("a", "b"):
        members = [i for i in range(n) if labels[i] == label]
        if not members:
            continue
        weight = float(target[members].sum())
        if draw(st.booleans()):
            groups.append((label, members, None, round(weight * draw(st.floats(0.5, 1.1)), 4)))
        else:
            groups.append((label, members, round(weight * draw(st.floats(0.9, 1.5)), 4), None))
    problem = _problem(price, held, target, cash, groups)
    problem = dataclasses.replace(problem, fee_rate=draw(st.sampled_from([0.0, 0.0, 0.001])))
    trade = np.array([draw(st.integers(-int(h), 40)) for h in held], dtype=float)
    return problem, np.maximum(trade, 0.0), np.maximum(-trade, 0.0)


@given(_cases())
@settings(max_examples=150, deadline=None)
def test_filling_never_costs_drift_caps_or_cash(case):
    problem, buy, sell = case
    if not math.isfinite(model.objective(problem, buy, sell)):
        return  # an overdrawn start: nothing to compare with
    new_buy, new_sell = fill.filled_groups(problem, buy, sell)
    before, after = problem.held + buy - sell, problem.held + new_buy - new_sell
    assert np.all(after >= -1e-9) and np.all(new_sell <= problem.sell_max + 1e-9)
    assert np.all(new_buy <= problem.buy_max + 1e-9)
    assert _drift(problem, after) < math.inf  # cash never below zero
    assert model.breaches(problem, new_buy, new_sell)[0] <= (
        model.breaches(problem, buy, sell)[0] + model.BREACH_TOL
    )
    untied = model.objective(problem, new_buy, new_sell, tie_break=False)
    assert untied <= model.objective(problem, buy, sell, tie_break=False) + fill.SAVING
    no_costs = problem.fee_rate == 0
    if no_costs and model.breaches(problem, buy, sell)[0] == 0.0 and np.any(after != before):
        # No cap crossed and no costs: the untied objective is the drift.
        assert _drift(problem, after) <= _drift(problem, before) + 1e-12
    # The same inputs, the same plan.
    again = fill.filled_groups(problem, buy.copy(), sell.copy())
    assert np.array_equal(again[0], new_buy) and np.array_equal(again[1], new_sell)
