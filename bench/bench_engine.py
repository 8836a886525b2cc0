"""Time and score our whole-share plan against PyPortfolioOpt's DiscreteAllocation, side by side.

Its own use case: invest cash from nothing in whole shares. At 50 assets our
drift (sum of |weight - target| over assets and cash, the quantity
``lp_portfolio`` minimises as dollars) must be no worse than the better of
``greedy_portfolio`` and ``lp_portfolio``, and our time at most half of
``lp_portfolio``'s. Then 500 assets must plan in under a second.

Data: seeded synthetic prices (log-uniform $15-$900) and Dirichlet targets;
the same values go to both libraries, weights and prices in the same order
(``lp_portfolio`` pairs them by position). Our time is the whole path a UDF
takes from raw Excel rows: ``read_request`` + ``plan_rebalance``.

How we solve it: a one-currency rebalance with no Min/Max, group caps,
``fee_min`` or ``min_trade`` goes to the exact search of
``engine/knapsack.py`` (Lagrangian bound + depth-first search over the few
share counts that could beat the incumbent); everything else, and anything
that search cannot finish in its budget, to the HiGHS MILP. ``[milp]`` after a
time means the plan is proven optimal either way; ``[milp-time-limit]`` means
the time ran out first; ``[greedy]`` that no optimiser produced a plan in time.

Run:  python bench/bench_engine.py
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import pandas as pd
from pypfopt import DiscreteAllocation

from etf_rebalancer.engine.plan import _PLAN_CACHE, plan_rebalance
from etf_rebalancer.planning.inputs import read_request

REPEATS = 5


def case(n: int, seed: int, budget: float) -> tuple[list[str], np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    tickers = [f"T{i:03d}" for i in range(n)]
    prices = np.round(np.exp(rng.uniform(np.log(15), np.log(900), n)), 2)
    weights = rng.dirichlet(np.ones(n))
    return tickers, prices, weights, budget


def drift(tickers: list[str], prices: np.ndarray, weights: np.ndarray, budget: float, alloc):
    shares = np.array([alloc.get(t, 0) for t in tickers], dtype=float)
    spent = float(shares @ prices)
    assert spent <= budget + 1e-6, "allocation overspends"
    return float(np.abs(shares * prices / budget - weights).sum() + (budget - spent) / budget)


def ours(tickers, prices, weights, budget, time_limit=None):
    holdings = [["Ticker", "Shares", "Price", "Currency"]] + [
        [t, 0.0, float(p), "USD"] for t, p in zip(tickers, prices, strict=True)
    ]
    targets = [["Ticker", "Target"]] + [
        [t, float(w)] for t, w in zip(tickers, weights, strict=True)
    ]
    request = read_request(holdings, targets, budget)
    plan = (
        plan_rebalance(request)
        if time_limit is None
        else plan_rebalance(request, time_limit=time_limit)
    )
    return {t: int(b) for t, b in zip(plan.tickers, plan.buy, strict=True)}, plan.method


def timed(function, repeats=REPEATS):
    times, result = [], None
    for _ in range(repeats):
        _PLAN_CACHE.clear()  # time a real solve every run, not the engine's plan cache
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> int:
    ok = True
    print("== 50 assets: invest cash from nothing, whole shares (median of 5 runs)")
    ratios_time, worse = [], 0
    for seed in range(5):
        tickers, prices, weights, budget = case(50, seed, 100_000.0)
        latest = pd.Series(prices, index=tickers)
        target = dict(zip(tickers, weights, strict=True))

        def greedy(latest=latest, target=target, budget=budget):
            return DiscreteAllocation(
                target, latest, total_portfolio_value=budget
            ).greedy_portfolio()

        def lp(latest=latest, target=target, budget=budget):
            return DiscreteAllocation(target, latest, total_portfolio_value=budget).lp_portfolio()

        t_greedy, (a_greedy, _) = timed(greedy)
        t_lp, (a_lp, _) = timed(lp)
        t_ours, (a_ours, method) = timed(
            lambda t=tickers, p=prices, w=weights, b=budget: ours(t, p, w, b)
        )
        d_greedy = drift(tickers, prices, weights, budget, a_greedy)
        d_lp = drift(tickers, prices, weights, budget, a_lp)
        d_ours = drift(tickers, prices, weights, budget, a_ours)
        best = min(d_greedy, d_lp)
        ratios_time.append(t_ours / t_lp)
        worse += d_ours > best + 1e-9
        print(
            f"seed {seed}: drift ours {d_ours:.6f} greedy {d_greedy:.6f} lp {d_lp:.6f} "
            f"(ours/best {d_ours / best:.4f}) | time ours {t_ours * 1e3:.1f} ms "
            f"greedy {t_greedy * 1e3:.1f} ms lp {t_lp * 1e3:.1f} ms "
            f"(ours/lp {t_ours / t_lp:.3f}) [{method}]"
        )
    worst_ratio = max(ratios_time)
    print(f"drift no worse than the better of greedy/lp: {5 - worse}/5 cases")
    print(f"time ours/lp_portfolio: worst {worst_ratio:.3f}, goal <= 0.5")
    ok &= worse == 0 and worst_ratio <= 0.5

    print("== 500 assets: invest cash from nothing, whole shares")
    tickers, prices, weights, budget = case(500, 42, 2_000_000.0)
    t_500, (a_500, method) = timed(lambda: ours(tickers, prices, weights, budget), repeats=3)
    print(
        f"time {t_500 * 1e3:.0f} ms (goal < 1000 ms) drift "
        f"{drift(tickers, prices, weights, budget, a_500):.6f} [{method}]"
    )
    ok &= t_500 < 1.0
    request = read_request(
        [["Ticker", "Shares", "Price", "Currency"]]
        + [[t, 0.0, float(p), "USD"] for t, p in zip(tickers, prices, strict=True)],
        [["Ticker", "Target"]] + [[t, float(w)] for t, w in zip(tickers, weights, strict=True)],
        budget,
    )
    _PLAN_CACHE.clear()
    started = time.perf_counter()
    quick = plan_rebalance(request, time_limit=0.8)
    print(
        f"with time_limit=0.8 s: {(time.perf_counter() - started) * 1e3:.0f} ms, drift "
        f"{quick.drift(after=True)[0]:.6f} [{quick.method}] "
        + "; ".join(n.message for n in quick.notices)
    )

    print("== 500 assets: rebalance held portfolio, 2 currencies, fees, band mode off")
    rng = np.random.default_rng(7)
    holdings = [["Ticker", "Shares", "Price", "Currency"]] + [
        [t, float(rng.integers(0, 200)), float(p), "USD" if i % 3 else "KRW"]
        for i, (t, p) in enumerate(zip(tickers, prices, strict=True))
    ]
    for row in holdings[1:]:
        if row[3] == "KRW":
            row[2] = round(row[2] * 1400)
    targets = [["Ticker", "Target"]] + [
        [t, float(w)] for t, w in zip(tickers, weights, strict=True)
    ]
    settings = [["FX KRW", 1 / 1400], ["fee_rate", 0.001], ["fx_spread", 0.002]]

    def held_plan():
        return plan_rebalance(read_request(holdings, targets, 50_000.0, settings))

    t_held, plan = timed(held_plan, repeats=3)
    print(
        f"time {t_held * 1e3:.0f} ms, orders {plan.order_count}, drift "
        f"{plan.drift(after=False)[0]:.4f} -> {plan.drift(after=True)[0]:.4f} [{plan.method}]"
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
