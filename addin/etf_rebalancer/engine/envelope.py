"""Convex-envelope cuts of each asset's own cost in the program of :mod:`.milp`.

Everything the program charges one asset for (its drift pieces, band and cap breaches,
turnover, tax, the fee with its ``fee_min`` and the order's cost) is a function ``f(x)``
of the net trade ``x`` alone, once the value after costs is fixed. On each side of 0 it
is convex (piecewise linear), but in whole shares, and across 0 with ``fee_min`` and
``min_trade``, it is not, and the LP relaxation sees none of that: its order binary is
``x / U`` (a fixed fee of ``fee_min x / U``) and its shares are fractional. On the
bench's "all" workbooks the LP bound sat at half the optimum, and the large-model route
(the LP relaxation, rounded) reported proven gaps of 0.7 to 9 in the program's units.

Each edge of the lower convex envelope of ``f`` over the trades the asset may make
(whole shares, ``min_trade``, its buy and sell limits) is a valid inequality

    sum_j c_j col_j  +  g kappa  -  beta x  >=  alpha

over the asset's columns (``c_j`` their objective costs): every plan's columns cost at
least ``f(x)``, which is at least the edge's line. ``kappa`` is the program's cost
variable: bounds that shrink with it are evaluated at ``kappa = 0``, which underestimates
the upper bounds' breaches and overestimates the lower bounds' by at most
``bound x kappa``; ``g`` adds that back.

Separation, not enumeration: an asset's envelope has up to ~30 edges, and all of them
made the 2,000-asset LP six times slower. The edges are found once per program (the
lower hull of ``f`` at its breakpoints: between consecutive ones ``f`` is linear, so
that is the hull of every share count); the envelope is the greatest of their lines,
and each LP point gets the edge highest at its trade where that exceeds what the
asset's columns pay there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Costs", "edges", "lower_hull", "separate"]

#: Assets per vectorised block (the pairs of breakpoints are ``K x K`` per asset).
BLOCK = 256


@dataclass(frozen=True)
class Costs:
    """Each asset's cost as a function of its net trade ``x`` (column units), model units.

    Arrays have one entry per asset: ``weight`` (of one column unit), ``base`` (the held
    weight), ``target``; ``widths`` (assets x pieces, the last infinite) and ``slopes``
    (pieces) of the drift; ``bounds``: ``(lo, hi, penalty)`` per kind of soft bound (NaN:
    none); ``tax`` per unit of weight sold; ``low``/``high`` the sell and buy limits;
    ``least`` the fewest units an order may have. Scalars: ``turnover`` and ``rate`` per
    unit of weight traded, ``fee_min`` and ``order`` per order.
    """

    weight: np.ndarray
    base: np.ndarray
    target: np.ndarray
    widths: np.ndarray
    slopes: np.ndarray
    bounds: tuple[tuple[np.ndarray, np.ndarray, float], ...]
    tax: np.ndarray
    low: np.ndarray
    high: np.ndarray
    least: np.ndarray
    turnover: float
    rate: float
    fee_min: float
    order: float

    def rows(self, take: np.ndarray) -> Costs:
        """The assets ``take`` only."""
        return Costs(
            self.weight[take], self.base[take], self.target[take], self.widths[take],
            self.slopes,
            tuple((lo[take], hi[take], p) for lo, hi, p in self.bounds),
            self.tax[take], self.low[take], self.high[take], self.least[take],
            self.turnover, self.rate, self.fee_min, self.order,
        )  # fmt: skip

    def cost(self, x: np.ndarray) -> np.ndarray:
        """``f(x)`` for net trades ``x`` (assets x points, column units)."""
        weight = self.weight[:, None]
        w = self.base[:, None] + weight * x
        left = np.abs(w - self.target[:, None])
        total = np.zeros(x.shape)
        for piece, slope in enumerate(self.slopes.tolist()):
            take = np.minimum(left, self.widths[:, piece : piece + 1])
            total += take * slope
            left = left - take
        for lo, hi, penalty in self.bounds:
            total += penalty * np.where(np.isfinite(hi[:, None]), np.maximum(w - hi[:, None], 0), 0)
            total += penalty * np.where(np.isfinite(lo[:, None]), np.maximum(lo[:, None] - w, 0), 0)
        traded = weight * np.abs(x)
        total += self.turnover * traded + self.tax[:, None] * weight * np.maximum(-x, 0.0)
        fixed = np.maximum(self.rate * traded, self.fee_min) + self.order
        return total + np.where(x != 0, fixed, 0.0)

    def points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every asset's breakpoints in whole units, within its limits (assets x K): where
        ``f`` may bend, rounded down and up, ``least`` and the limits on either side, one
        unit past the outermost bend, and 0; points outside the limits are replaced by 0
        (always a plan). Also where ``f`` is linear from on the right and on the left."""
        finite = np.where(np.isfinite(self.widths), self.widths, 0.0)
        ends = np.concatenate([np.zeros((len(self.weight), 1)), np.cumsum(finite, axis=1)], 1)
        cols = [self.target[:, None] + ends, self.target[:, None] - ends]
        for lo, hi, _ in self.bounds:
            cols += [lo[:, None], hi[:, None]]
        weights = np.concatenate(cols, axis=1)
        raw = (weights - self.base[:, None]) / self.weight[:, None]
        if self.rate > 0 and self.fee_min > 0:
            kink = (self.fee_min / (self.rate * self.weight))[:, None]
            raw = np.concatenate([raw, kink, -kink], axis=1)
        raw = np.where(np.isfinite(raw), raw, 0.0)
        # Past the outermost bend f is linear: a unit beyond it shows the slope there.
        reach = np.maximum(np.ceil(np.abs(raw).max(axis=1, initial=0.0)) + 1.0, self.least + 1)
        high = np.where(np.isfinite(self.high), self.high, reach)
        low = np.where(np.isfinite(self.low), self.low, reach)
        x = np.concatenate(
            [
                np.floor(raw), np.ceil(raw),
                np.stack([self.least, reach, reach - 1, high, -self.least, -reach, 1 - reach,
                          -low], 1),
            ],
            axis=1,
        )  # fmt: skip
        inside = ((x >= self.least[:, None]) & (x <= high[:, None])) | (
            (x <= -self.least[:, None]) & (x >= -low[:, None])
        )
        x = np.where(inside, x, 0.0)
        return np.concatenate([np.zeros((len(x), 1)), x], axis=1), reach, reach


def lower_hull(x: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The edges of the lower convex hull of points ``(x, f)``: intercepts and slopes."""
    order = np.lexsort((f, x))
    hull: list[tuple[float, float]] = []
    for xi, fi in zip(x[order].tolist(), f[order].tolist(), strict=True):
        if hull and xi == hull[-1][0]:
            continue  # the lower of two points at one x came first
        while len(hull) >= 2:
            (x1, f1), (x2, f2) = hull[-2], hull[-1]
            if (f2 - f1) * (xi - x1) >= (fi - f1) * (x2 - x1):
                hull.pop()  # the middle point lies on or above the chord
            else:
                break
        hull.append((xi, fi))
    xs = np.array([h[0] for h in hull])
    fs = np.array([h[1] for h in hull])
    beta = np.diff(fs) / np.diff(xs)
    return fs[:-1] - beta * xs[:-1], beta


def edges(costs: Costs) -> tuple[np.ndarray, np.ndarray]:
    """Every asset's envelope edges, as intercepts and slopes (assets x most edges; the
    padding is a line at minus infinity).

    Where a limit is infinite ``f`` runs on linearly past the points; an edge steeper
    than that run would pass above ``f`` out there, so it is left out.
    """
    found: list[tuple[np.ndarray, np.ndarray]] = []
    for start in range(0, len(costs.weight), BLOCK):
        block = costs.rows(np.arange(start, min(start + BLOCK, len(costs.weight))))
        px, right, left = block.points()
        pf = block.cost(px)
        tails = block.cost(np.stack([right - 1, right, 1 - left, -left], axis=1))
        right_slope = np.where(np.isinf(block.high), tails[:, 1] - tails[:, 0], np.inf)
        left_slope = np.where(np.isinf(block.low), tails[:, 2] - tails[:, 3], -np.inf)
        for i in range(len(px)):
            alpha, beta = lower_hull(px[i], pf[i])
            keep = (beta <= right_slope[i]) & (beta >= left_slope[i])
            found.append((alpha[keep], beta[keep]))
    most = max((len(a) for a, _ in found), default=0)
    alpha = np.full((len(found), max(most, 1)), -np.inf)
    beta = np.zeros((len(found), max(most, 1)))
    for i, (a, b) in enumerate(found):
        alpha[i, : len(a)], beta[i, : len(b)] = a, b
    return alpha, beta


def separate(
    lines: tuple[np.ndarray, np.ndarray], x: np.ndarray, paid: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The envelope cuts the LP point violates: assets, intercepts and slopes.

    ``lines`` are :func:`edges`; ``x`` is each asset's net trade at the LP point and
    ``paid`` what its columns cost there (``g kappa`` included). The envelope is the
    greatest of its edges' lines, so the edge highest at ``x`` is the cut, returned
    where it exceeds ``paid`` by more than ``tolerance``.
    """
    alpha, beta = lines
    values = alpha + beta * x[:, None]
    best = values.argmax(axis=1)
    rows = np.arange(len(x))
    height = values[rows, best]
    violated = np.flatnonzero(height > paid + tolerance)
    return violated, alpha[violated, best[violated]], beta[violated, best[violated]]
