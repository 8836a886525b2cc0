"""Vectorised simulation of a target-weight portfolio: calendar or band rebalancing, fees.

Conventions are bt 1.4.1's (``bt.algos.RunMonthly`` etc. + ``WeighSpecified`` +
``Rebalance``), so every number can be checked against bt:

- The portfolio buys at the first date's close. ``monthly`` rebalances at the
  close of the first trading day of each new month (``quarterly``, ``annual``
  likewise); like bt's ``RunPeriod`` (``run_on_last_date=False``) the last
  date of the data never triggers a calendar rebalance.
- A rebalance trades every asset to target from the value at that close: the
  amount for asset *i* is ``(target_i - weight_i) * value``. With a fee rate
  ``f`` a purchase spends the amount *including* fees and a sale raises it
  *net* of fees (``shares = amount / (price * (1 ± f))``), so cash ends at
  the target cash weight; fees are ``f * |shares| * price``.
- Whole shares round every trade down to the next integer (``floor``: buy
  fewer, sell more), leftover cash earns nothing.
- A band trigger rebalances the whole portfolio to target when any weight
  leaves its band: ``|weight - target| > band`` (absolute band) or
  ``> band * target`` (relative). With ``rebalance="none"`` the band is
  checked at every close; with a calendar rule only on its dates.

bt prepends a row one day before the data (value = initial capital); here the
equity series starts at the first date's close, *after* the first purchase,
so the fees of that purchase appear in ``Fees`` but not in ``Total Return``.
bt's numbers with its first row dropped are ours (see tests/backtest).

Mixed calendars (a Korean ETF beside US ETFs): prices are aligned on the
union of the dates given; a blank cell (that exchange's holiday) takes the
asset's last close, so the asset shows no return that day and its move lands
on its next trading day. Rows before every held asset has its first price are
dropped (the backtest starts when the whole mix can be bought), and so are
rows where no asset has a price. An asset without a price on that first date
(its exchange closed) takes its last close from the rows dropped before it.

The loop runs over rebalance events, not days: between events holdings are
constant, so the value series is one matrix product, and a band is found by
computing the weights of a block of days at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from etf_rebalancer.backtest import stats as _stats
from etf_rebalancer.cells.values import check_band
from etf_rebalancer.errors import InputError, Notice

__all__ = [
    "BAND_TYPES",
    "REBALANCE_RULES",
    "BacktestConfig",
    "BacktestResult",
    "align_prices",
    "compare",
    "rebalance_candidates",
    "run_backtest",
]

REBALANCE_RULES = ("none", "monthly", "quarterly", "annual")
BAND_TYPES = ("relative", "absolute")
DEFAULT_INITIAL = 1_000_000.0  # bt's default capital, so values compare one to one
_MAX_FEE_RATE = 0.1


@dataclass(frozen=True)
class BacktestConfig:
    """How a backtest trades.

    Parameters
    ----------
    rebalance
        ``"none"``, ``"monthly"``, ``"quarterly"`` or ``"annual"``.
    band
        Default band (a fraction, 0 or more; 0 rebalances at every check);
        ``None`` for no band trigger.
    band_type
        ``"relative"`` (0.2 on a 0.25 target is 0.20-0.30) or ``"absolute"``.
    fee_rate
        Fee as a fraction of each trade's value (0.001 = 0.1%).
    initial
        Starting cash, in the prices' currency.
    whole_shares
        Trade whole shares only.
    benchmark
        Ticker of a price column held alone (buy and hold) for comparison.
    bands
        Per-ticker bands overriding ``band``.
    """

    rebalance: str = "monthly"
    band: float | None = None
    band_type: str = "relative"
    fee_rate: float = 0.0
    initial: float = DEFAULT_INITIAL
    whole_shares: bool = False
    benchmark: str | None = None
    bands: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rebalance not in REBALANCE_RULES:
            raise InputError(
                f"rebalance must be one of {', '.join(REBALANCE_RULES)}, got {self.rebalance!r}",
                f"rebalance 값은 {', '.join(REBALANCE_RULES)} 중 하나여야 합니다: "
                f"{self.rebalance!r}",
            )
        if self.band_type not in BAND_TYPES:
            raise InputError(
                f"band_type must be relative or absolute, got {self.band_type!r}",
                f"band_type 값은 relative 또는 absolute여야 합니다: {self.band_type!r}",
            )
        for where, band in [("band", self.band), *self.bands.items()]:
            check_band(band, band, what="band", where=f" ({where})")
        if not (math.isfinite(self.fee_rate) and 0 <= self.fee_rate < _MAX_FEE_RATE):
            raise InputError(
                f"fee_rate must be a fraction from 0 to 0.1 (e.g. 0.001 or 0.1%), "
                f"got {self.fee_rate!r}",
                f"fee_rate 값은 0~0.1 사이 비율이어야 합니다 (예: 0.001 또는 0.1%): "
                f"{self.fee_rate!r}",
            )
        if not (math.isfinite(self.initial) and self.initial > 0):
            raise InputError(
                f"initial must be a positive amount, got {self.initial!r}",
                f"initial 값은 0보다 큰 금액이어야 합니다: {self.initial!r}",
            )


@dataclass(frozen=True)
class BacktestResult:
    """What a backtest produced.

    Attributes
    ----------
    equity
        Portfolio value at each close (after that day's trades), named ``Portfolio``.
    benchmark
        The benchmark held alone from the same initial value, or ``None``.
    stats
        Metric name -> value, in the contract's row order (see ``stats.METRICS``).
    rebalance_dates
        Dates the portfolio traded to target; the first is the initial purchase.
    shares
        Shares held after each of those dates (rows) per ticker (columns).
    fees
        Fees paid on each of those dates.
    turnover
        One-way turnover of each rebalance: sum of |trade value| / 2 / value before.
    notices
        Warnings about the data (rows dropped before every asset had a price).
    """

    equity: pd.Series
    benchmark: pd.Series | None
    stats: dict[str, float | int | pd.Timestamp]
    rebalance_dates: pd.DatetimeIndex
    shares: pd.DataFrame
    fees: pd.Series
    turnover: pd.Series
    notices: tuple[Notice, ...] = ()


def align_prices(prices: pd.DataFrame, tickers: list[str]) -> tuple[pd.DataFrame, list[Notice]]:
    """Select ``tickers`` and apply the mixed-calendar policy (module docstring).

    Raises
    ------
    InputError
        A ticker has no column, no price at all, or fewer than two dates remain.
    """
    missing = [t for t in tickers if t not in prices.columns]
    if missing:
        raise InputError(
            f"prices has no column for {', '.join(missing)} (columns: "
            f"{', '.join(map(str, prices.columns)) or 'none'})",
            f"가격 범위에 {', '.join(missing)} 열이 없습니다",
        )
    frame = prices.loc[:, tickers].astype(float).sort_index()
    frame = frame.dropna(how="all")
    empty = [t for t in tickers if frame[t].isna().all()]
    if empty:
        raise InputError(
            f"prices has no price for {', '.join(empty)}",
            f"가격 범위에 {', '.join(empty)} 가격이 없습니다",
        )
    first_valid = frame.notna().to_numpy().argmax(axis=0)
    late = tickers[int(first_valid.argmax())]
    start = frame.index[int(first_valid.max())]
    notices = []
    if start != frame.index[0]:
        notices.append(
            Notice(
                f"Backtest starts {start.date()}, the first price of {late}",
                f"백테스트는 {late}의 첫 가격일 {start.date()}부터 시작합니다",
            )
        )
    # Fill before cutting: an asset whose exchange is closed on the start date still has
    # its last close from the dropped rows (a KRX holiday beside the US start).
    frame = frame.ffill().loc[start:]
    if len(frame) < 2:
        raise InputError(
            "prices needs at least two dates on which every asset has a price",
            "가격 범위에 모든 종목의 가격이 있는 날짜가 둘 이상 필요합니다",
        )
    if not np.isfinite(frame.to_numpy()).all() or (frame.to_numpy() <= 0).any():
        raise InputError("prices must be positive numbers", "가격은 0보다 큰 숫자여야 합니다")
    return frame, notices


def rebalance_candidates(dates: pd.DatetimeIndex, rule: str) -> np.ndarray:
    """Indices of the dates a calendar rule trades on (0 is the initial purchase).

    A date qualifies when its month (quarter, year) differs from the previous
    date's; the last date never does (bt's ``run_on_last_date=False``).
    """
    n = len(dates)
    if rule == "none" or n < 3:
        return np.array([0], dtype=np.int64)
    if rule == "monthly":
        key = dates.year * 12 + dates.month
    elif rule == "quarterly":
        key = dates.year * 4 + dates.quarter
    elif rule == "annual":
        key = dates.year
    else:
        raise InputError(f"rebalance rule {rule!r} is unknown", f"알 수 없는 rebalance: {rule!r}")
    k = np.asarray(key)
    change = np.flatnonzero(k[1:-1] != k[:-2]) + 1
    return np.concatenate([[0], change]).astype(np.int64)


def _normalise_weights(weights: Mapping[str, float]) -> dict[str, float]:
    clean = {}
    for ticker, weight in weights.items():
        if not math.isfinite(weight) or weight < 0:
            raise InputError(
                f"Weight must be a number from 0 to 1, got {weight!r} ({ticker})",
                f"비중은 0~1 사이 숫자여야 합니다: {weight!r} ({ticker})",
            )
        if weight > 0:
            clean[ticker] = float(weight)
    total = sum(clean.values())
    if not clean or total > 1 + 1e-9:
        raise InputError(
            f"Weights must add up to at most 100%, got {total:.4%}",
            f"비중 합계는 100% 이하여야 합니다: {total:.4%}",
        )
    return clean


def _band_limits(
    tickers: list[str], target: np.ndarray, config: BacktestConfig
) -> np.ndarray | None:
    if config.band is None and not config.bands:
        return None
    default = math.inf if config.band is None else config.band  # a band of 0 is a band
    bands = np.array([config.bands.get(t, default) for t in tickers], dtype=float)
    return bands * target if config.band_type == "relative" else bands


class _Ledger:
    """Holdings through time; ``trade`` applies bt's Rebalance at one close."""

    def __init__(self, target: np.ndarray, config: BacktestConfig) -> None:
        self.target = target
        self.fee_rate = config.fee_rate
        self.whole = config.whole_shares
        self.shares = np.zeros_like(target)
        self.cash = float(config.initial)
        self.events: list[int] = []
        self.held: list[np.ndarray] = []
        self.cash_after: list[float] = []
        self.fees: list[float] = []
        self.turnover: list[float] = []

    def trade(self, t: int, price: np.ndarray) -> None:
        value_held = self.shares * price
        value = float(value_held.sum()) + self.cash
        # bt: delta = target - current weight, amount = delta * value before trading.
        amount = (self.target - value_held / value) * value
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = amount / (price * (1.0 + self.fee_rate * np.sign(amount)))
        if self.whole:
            shares = np.floor(shares)
        shares = np.where(np.abs(amount) < 1e-16, 0.0, shares)
        shares = np.maximum(shares, -self.shares)  # never sell more than is held
        if self.events and not shares.any():
            return  # already on target (a one-asset mix): not a rebalance
        traded = shares * price
        fees = self.fee_rate * np.abs(traded)
        self.cash -= float(traded.sum() + fees.sum())
        self.shares = self.shares + shares
        self.events.append(t)
        self.held.append(self.shares.copy())
        self.cash_after.append(self.cash)
        self.fees.append(float(fees.sum()))
        self.turnover.append(float(np.abs(traded).sum()) / 2.0 / value)


def _first_breach(
    prices: np.ndarray,
    candidates: np.ndarray,
    ledger: _Ledger,
    limits: np.ndarray,
) -> int | None:
    """Position in ``candidates`` of the first date a weight is outside its band."""
    block = 32
    start = 0
    while start < len(candidates):
        stop = min(start + block, len(candidates))
        held = prices[candidates[start:stop]] * ledger.shares
        weights = held / (held.sum(axis=1) + ledger.cash)[:, None]
        # 1e-12: rounding after a rebalance is not drift (a band of 0 would see it every day).
        hit = np.flatnonzero((np.abs(weights - ledger.target) > limits + 1e-12).any(axis=1))
        if hit.size:
            return start + int(hit[0])
        start = stop
        block *= 4  # most breaches come soon after a rebalance; long calm spells grow fast
    return None


def _simulate(
    prices: np.ndarray,
    dates: pd.DatetimeIndex,
    target: np.ndarray,
    limits: np.ndarray | None,
    config: BacktestConfig,
) -> tuple[np.ndarray, _Ledger]:
    n = len(prices)
    ledger = _Ledger(target, config)
    ledger.trade(0, prices[0])
    if limits is None:
        for t in rebalance_candidates(dates, config.rebalance)[1:]:
            ledger.trade(int(t), prices[t])
    else:
        if config.rebalance == "none":
            candidates = np.arange(1, n, dtype=np.int64)
        else:
            candidates = rebalance_candidates(dates, config.rebalance)[1:]
        position = 0
        while position < len(candidates):
            hit = _first_breach(prices, candidates[position:], ledger, limits)
            if hit is None:
                break
            t = int(candidates[position + hit])
            ledger.trade(t, prices[t])
            position += hit + 1
    # Holdings are constant between events: one row-wise dot product gives every value.
    events = np.asarray(ledger.events)
    lengths = np.diff(np.append(events, n))
    held = np.repeat(np.asarray(ledger.held), lengths, axis=0)
    cash = np.repeat(np.asarray(ledger.cash_after), lengths)
    equity = np.einsum("ij,ij->i", prices, held) + cash
    return equity, ledger


def run_backtest(
    prices: pd.DataFrame, weights: Mapping[str, float], config: BacktestConfig | None = None
) -> BacktestResult:
    """Backtest a fixed-weight mix on daily closes.

    Parameters
    ----------
    prices
        Daily closes: ``DatetimeIndex``, one column per ticker; ``NaN`` where an
        exchange was closed (see the module docstring for the calendar policy).
    weights
        Ticker -> target weight (fractions, at most 1 in total; the rest is cash).
    config
        Rebalancing rule, band, fees, initial value, whole shares, benchmark.

    Returns
    -------
    BacktestResult

    Raises
    ------
    InputError
        Unknown ticker, bad weights, too little data.
    """
    config = config or BacktestConfig()
    mix = _normalise_weights(weights)
    tickers = list(mix)
    extra = [config.benchmark] if config.benchmark and config.benchmark not in mix else []
    aligned, notices = align_prices(prices, tickers + extra)
    return _run_aligned(aligned, mix, config, tuple(notices))


def _run_aligned(
    aligned: pd.DataFrame,
    mix: dict[str, float],
    config: BacktestConfig,
    notices: tuple[Notice, ...],
) -> BacktestResult:
    tickers = list(mix)
    dates = pd.DatetimeIndex(aligned.index)
    matrix = aligned[tickers].to_numpy(dtype=float)
    target = np.array([mix[t] for t in tickers], dtype=float)
    equity_values, ledger = _simulate(
        matrix, dates, target, _band_limits(tickers, target, config), config
    )
    equity = pd.Series(equity_values, index=dates, name="Portfolio")
    benchmark = None
    if config.benchmark:
        column = aligned[config.benchmark].to_numpy(dtype=float)
        benchmark = pd.Series(config.initial * column / column[0], index=dates, name="Benchmark")
    event_dates = dates[ledger.events]
    years = _stats.year_fraction(dates[0], dates[-1])
    stats = _stats.summary(
        equity_values,
        dates,
        rebalances=len(ledger.events) - 1,
        avg_correlation=_stats.average_correlation(matrix),
        turnover=sum(ledger.turnover[1:]) / years if years > 0 else math.nan,
        fees=sum(ledger.fees),
        benchmark=None if benchmark is None else benchmark.to_numpy(),
    )
    return BacktestResult(
        equity=equity,
        benchmark=benchmark,
        stats=stats,
        rebalance_dates=pd.DatetimeIndex(event_dates, name="Date"),
        shares=pd.DataFrame(np.asarray(ledger.held), index=event_dates, columns=tickers),
        fees=pd.Series(ledger.fees, index=event_dates, name="Fees"),
        turnover=pd.Series(ledger.turnover, index=event_dates, name="Turnover"),
        notices=notices,
    )


def compare(
    prices: pd.DataFrame,
    mixes: Mapping[str, Mapping[str, float]],
    config: BacktestConfig | None = None,
) -> pd.DataFrame:
    """Backtest several mixes over the same dates, e.g. ``{"Mix": {...}, "QQQ": {"QQQ": 1}}``.

    All mixes share one date range: the one on which every asset of every mix
    (and the benchmark) has a price, so their numbers are comparable.

    Returns
    -------
    pandas.DataFrame
        Metrics as rows (``stats.METRICS`` order), one column per mix.
    """
    config = config or BacktestConfig()
    if not mixes:
        raise InputError("compare needs at least one mix", "비교할 포트폴리오가 필요합니다")
    cleaned = {name: _normalise_weights(mix) for name, mix in mixes.items()}
    tickers = list(dict.fromkeys(t for mix in cleaned.values() for t in mix))
    if config.benchmark and config.benchmark not in tickers:
        tickers.append(config.benchmark)
    aligned, notices = align_prices(prices, tickers)
    columns = {
        name: _run_aligned(aligned, mix, config, tuple(notices)).stats
        for name, mix in cleaned.items()
    }
    return pd.DataFrame(columns)
