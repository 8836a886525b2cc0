"""A quick whole-share plan for when no optimiser result is at hand (and a first incumbent).

Every loop here is bounded by a fixed count (a bisection over share counts, a few
rounds of sales), so the fallback takes the same, small amount of work on every
machine, whatever the prices or fees.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .model import Problem, Solution

__all__ = ["greedy"]

#: Rounds of extra sales per asset while money to raise is short (each covers the
#: shortfall at the asset's net price, so one or two normally suffice).
RAISE_ROUNDS = 8


def greedy(problem: Problem) -> Solution:
    """A quick plan that keeps cash non-negative, toward the targets (or band edges).

    Sells what is over target (or over its Max) down to it, sells more (largest
    overweight first) while money to raise is short, then buys the most
    underweight assets with what cash allows, assuming every purchase pays the
    FX spread and the larger of the fee and ``fee_min`` (so it never overdraws).
    Orders below ``min_trade`` are dropped.
    """
    n = problem.n
    k = problem.shrink
    total = problem.value
    price = problem.price
    step = 1.0 if problem.whole else 1e-6

    def floor(x: np.ndarray | float) -> np.ndarray:
        return np.floor(np.asarray(x) / step + 1e-9) * step

    held_value = problem.held * price
    goal = problem.target * k * total
    cap = np.where(np.isfinite(problem.max_weight), problem.max_weight * k * total, np.inf)
    goal = np.minimum(goal, cap)
    if problem.mode == "band":
        goal = np.clip(held_value, problem.band_lo * k * total, problem.band_hi * k * total)
    sell = np.minimum(problem.sell_max, floor(np.maximum(held_value - goal, 0.0) / price))
    sell = np.where(sell * price < problem.min_trade, 0.0, sell)

    def order_fee(value: np.ndarray) -> np.ndarray:
        fee = problem.fee_rate * value
        if problem.fee_min > 0:
            fee = np.where(value > 0, np.maximum(fee, problem.fee_min), 0.0)
        return fee

    def budget(buy: np.ndarray, sell: np.ndarray) -> float:
        proceeds = sell * price
        net = proceeds * (1.0 - problem.sell_tax) - order_fee(proceeds)
        spend = buy * price * (1.0 + problem.fx_spread) + order_fee(buy * price)
        return float(problem.cash_start.sum() + net.sum() - spend.sum())

    buy = np.zeros(n)
    # Raise money: sell from the most overweight positions until the pools balance.
    order = np.argsort(-(held_value - sell * price - goal), kind="stable")
    for i in order:
        net_price = price[i] * max(1.0 - problem.sell_tax[i] - problem.fee_rate, 1e-3)
        for _ in range(RAISE_ROUNDS):
            short = -budget(buy, sell)
            if short <= 0 or sell[i] >= problem.sell_max[i]:
                break
            more = max(step, np.ceil(short / net_price / step) * step)
            sell[i] = min(problem.sell_max[i], sell[i] + more)
        else:
            if budget(buy, sell) < 0:
                sell[i] = problem.sell_max[i]
        if budget(buy, sell) >= 0:
            break
    reserve = problem.cash_target * k * total
    spare = budget(buy, sell) - reserve
    if spare > 0:
        deficit = goal - (problem.held - sell) * price
        for i in np.argsort(-deficit / np.maximum(goal, 1e-12), kind="stable"):
            if deficit[i] <= 0 or problem.buy_max[i] <= 0:
                continue
            unit = price[i] * (1.0 + problem.fx_spread + problem.fee_rate)
            most = min(float(floor(min(deficit[i], spare) / unit)), float(problem.buy_max[i]))

            def left_after(shares: float, i: int = i) -> float:
                trial = buy.copy()
                trial[i] = shares
                return budget(trial, sell)

            shares = _most_affordable(most, step, left_after, reserve)
            if shares > 0 and shares * price[i] >= problem.min_trade:
                buy[i] = shares
                spare = budget(buy, sell) - reserve
    return Solution(buy, np.asarray(sell, dtype=float), "greedy")


def _most_affordable(
    most: float, step: float, left_after: Callable[[float], float], reserve: float
) -> float:
    """The largest multiple of ``step`` up to ``most`` leaving at least ``reserve`` (bisection)."""
    hi = round(most / step)
    if hi <= 0:
        return 0.0
    if left_after(hi * step) >= reserve:
        return hi * step
    lo = 0  # lo always fits (buying nothing leaves the reserve: spare > 0)
    while hi - lo > 1:  # at most ~60 rounds, whatever the step
        mid = (lo + hi) // 2
        if left_after(mid * step) >= reserve:
            lo = mid
        else:
            hi = mid
    return lo * step
