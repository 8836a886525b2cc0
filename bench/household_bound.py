"""Where the household program's proof comes from (issue 13): bounds and plans side by side.

For the 4-account bench household (``bench_accounts.case``) this prints, in the
program's own objective units (``household.OBJECTIVE_SCALE``):

- the LP relaxation (with the hull cuts) and its time;
- the Lagrangian bound at the LP's duals: the rows that couple assets (cash pools, risky
  and group caps, the cash line; found from the matrix: a row touching two assets'
  columns or a column of no asset) priced into the objective, the rest solved exactly
  as one separable MILP;
- HiGHS on the program restricted to whole shares within ``w`` of the LP plan (a
  primal heuristic), and HiGHS on the whole program (what the household route runs).

The question it answers for the next step: whether the bound or the plan is what a
proof within ``DRIFT_GAP`` (0.002 here) is missing. It differs by workbook (highspy 1.16,
one thread, idle machine):

- seed 7 (bench_accounts' case): the Lagrangian bound at the LP duals is 8.5730 (LP
  8.5192; HiGHS's root bound after its cuts 8.5733) and the optimum 8.5746, so the bound
  proves it; the plans are what is slow. The LP plan with whole shares within one share
  of it scores 8.5759 (0.2 s), within three 8.5756; HiGHS needs 1.7 s for 8.5752.
- seed 1: the Lagrangian bound at the LP duals is 4.3320, the LP 4.3268, the optimum
  about 4.532 (HiGHS: 4.5330, bound 4.5316 after 5,455 nodes, 11 s): there the bound is
  what is missing, and the coupling rows (cash per account, the IRP's risky cap) hold
  the integrality gap, which pricing them cannot close.

Run:  python bench/household_bound.py [n] [seed]      (needs highspy)
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any

import bench_accounts  # this directory: run as a script, it is on sys.path
import highspy
import numpy as np
from scipy import sparse

from etf_rebalancer.engine import household, milp
from etf_rebalancer.engine.model import PIECE_WIDTHS
from etf_rebalancer.planning import SheetQuotes, plan_ranges


def _captured(n: int, seed: int) -> tuple[Any, dict[str, Any]]:
    """The household formulation and its MILP, as the plan path builds them."""
    seen: list[tuple[Any, dict[str, Any]]] = []
    original = household._Formulation.solve_program

    def spy(self: Any, model: dict[str, Any], relaxed: bool = False) -> Any:
        seen.append((self, model))
        return original(self, model, relaxed)

    household._Formulation.solve_program = spy  # type: ignore[method-assign]
    try:
        household._CACHE.clear()
        r = bench_accounts.case(n, seed)
        plan_ranges(
            r["holdings"], r["targets"], r["cash"], r["settings"], r["groups"], r["accounts"],
            market=SheetQuotes([["Ticker", "Price", "Currency"]]), as_of=dt.date(2026, 3, 2),
        )  # fmt: skip
    finally:
        household._Formulation.solve_program = original  # type: ignore[method-assign]
    return seen[0]


def _owners(formulation: Any, matrix: sparse.csr_array) -> np.ndarray:
    """Asset of each column (-1: none). Columns b, s, yb, ys, fee come per position, then
    the deviation pieces per line (assets, then cash); a column of no asset that sits
    only in rows of one asset (a Max slack) is that asset's."""
    npos, n = len(formulation.pos_asset), len(formulation.tickers)
    owner = np.full(matrix.shape[1], -1)
    for block in range(5):
        owner[block * npos : (block + 1) * npos] = formulation.pos_asset
    pieces = len(PIECE_WIDTHS) + 1
    line = np.repeat(np.arange(n + 1), pieces)
    line = np.where(line < n, line, -1)
    start = 5 * npos
    owner[start : start + 2 * len(line)] = np.tile(line, 2)
    by_col = matrix.tocsc()
    for col in np.flatnonzero(owner == -1):
        touched: set[int] = set()
        for row in by_col.indices[by_col.indptr[col] : by_col.indptr[col + 1]]:
            cols = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
            touched |= set(owner[cols].tolist()) - {-1}
        if len(touched) == 1:
            owner[col] = touched.pop()
    return owner


def _solve(
    c: np.ndarray, lb: np.ndarray, ub: np.ndarray, matrix: Any, lo: np.ndarray,
    hi: np.ndarray, integer: np.ndarray | None, seconds: float = 30.0, gap: float | None = None,
) -> tuple[highspy.Highs, float]:  # fmt: skip
    """HiGHS as the engine builds it (milp._highs), with HiGHS's own heuristics and no node
    budget: the whole program's run is the yardstick, not the engine's budgeted one."""
    ncol = len(c)
    kinds = np.zeros(ncol, dtype=np.uint8) if integer is None else integer
    model = {"c": c, "lb": lb, "ub": ub, "A": matrix, "lo": lo, "hi": hi, "integrality": kinds}
    highs = milp._highs(model, seconds)
    if gap is None:
        gap = household.DRIFT_GAP * household.OBJECTIVE_SCALE
    for key, value in (
        ("mip_abs_gap", gap),
        ("mip_rel_gap", 0.0),
        ("mip_max_nodes", 2**31 - 1),
        ("mip_heuristic_run_rens", True),
    ):
        highs.setOptionValue(key, value)
    started = time.perf_counter()
    milp._run_highs(highs)
    return highs, time.perf_counter() - started


def main(n: int, seed: int) -> None:
    formulation, model = _captured(n, seed)
    matrix = sparse.csr_array(model["A"])
    ncol = matrix.shape[1]
    c = np.asarray(model["c"], dtype=float) * household.OBJECTIVE_SCALE
    lb = np.broadcast_to(np.asarray(model["lb"], dtype=float), (ncol,)).copy()
    ub = np.broadcast_to(np.asarray(model["ub"], dtype=float), (ncol,)).copy()
    lo, hi = np.asarray(model["lo"], dtype=float), np.asarray(model["hi"], dtype=float)
    integer = np.asarray(model["integrality"])
    owner = _owners(formulation, matrix)
    row_owners = np.split(owner[matrix.indices], matrix.indptr[1:-1])
    coupling = np.array([r for r, o in enumerate(row_owners) if -1 in o or len(set(o)) > 1])
    print(f"4 accounts x {n} assets (seed {seed}): {ncol} columns, {matrix.shape[0]} rows, "
          f"{len(coupling)} couple assets")  # fmt: skip

    relaxed, seconds = _solve(c, lb, ub, matrix, lo, hi, None)
    lp_x = np.asarray(relaxed.getSolution().col_value)
    duals = np.asarray(relaxed.getSolution().row_dual)
    print(f"  LP relaxation           {relaxed.getInfo().objective_function_value:.5f}"
          f"  {seconds * 1e3:6.0f} ms")  # fmt: skip

    # L(y) = min (c - A_C' y) x over the other rows + sum_r y_r (lo_r if y_r > 0 else hi_r).
    priced = np.zeros(matrix.shape[0])
    priced[coupling] = duals[coupling]
    reduced = c - matrix.T @ priced
    constant = float(sum(y * (lo[r] if y > 0 else hi[r]) for r, y in enumerate(priced) if y))
    # Columns in coupling rows only get a finite box: the LP's duals keep their reduced
    # costs >= 0 where they are unbounded above, so the box never binds there.
    boxed = np.where(np.isinf(ub), 10.0, ub)
    rest = np.setdiff1d(np.arange(matrix.shape[0]), coupling)
    lagrange, seconds = _solve(
        reduced, lb, boxed, matrix[rest], lo[rest], hi[rest], integer, gap=1e-6
    )
    bound = float(lagrange.getInfo().mip_dual_bound) + constant
    found = float(lagrange.getInfo().objective_function_value) + constant
    print(f"  Lagrangian at LP duals  {bound:.5f}  {seconds * 1e3:6.0f} ms (one separable MILP;"
          f" its plan {found:.5f})")  # fmt: skip

    shares = np.flatnonzero((integer == 1) & (owner >= 0))
    for width in (1, 3):
        near_lb, near_ub = lb.copy(), ub.copy()
        near_lb[shares] = np.maximum(lb[shares], np.floor(lp_x[shares] + 1e-9) - width)
        near_ub[shares] = np.minimum(ub[shares], np.ceil(lp_x[shares] - 1e-9) + width)
        near, seconds = _solve(c, near_lb, near_ub, matrix, lo, hi, integer, seconds=10.0)
        print(f"  LP plan +-{width} share(s)     {near.getInfo().objective_function_value:.5f}"
              f"  {seconds * 1e3:6.0f} ms")  # fmt: skip
    whole, seconds = _solve(c, lb, ub, matrix, lo, hi, integer)
    info = whole.getInfo()
    print(f"  HiGHS, whole program    {info.objective_function_value:.5f}  {seconds * 1e3:6.0f}"
          f" ms, bound {info.mip_dual_bound:.5f}, {info.mip_node_count} nodes")  # fmt: skip
    print(f"  proof tolerance         {household.DRIFT_GAP * household.OBJECTIVE_SCALE:.5f}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(args[0] if args else 50, args[1] if len(args) > 1 else 7)
