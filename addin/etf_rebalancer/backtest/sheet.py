"""Raw Excel ranges in, rows out: the bodies of PORTFOLIO_BACKTEST, _EQUITY and _CORREL.

Ranges are read with :mod:`etf_rebalancer.cells`; the simulation is
:mod:`etf_rebalancer.backtest.core` (its docstring states the conventions and
the mixed-calendar policy). Errors are raised as ``InputError`` naming the
range, row, ticker or setting; ``udfs.py`` turns them into cell text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from etf_rebalancer.backtest.core import (
    BAND_TYPES,
    BacktestConfig,
    BacktestResult,
    run_backtest,
)
from etf_rebalancer.cells import (
    CASH_TICKER,
    KeyValue,
    check_band,
    column_values,
    is_blank,
    is_key_header,
    normalise_ticker,
    parse_bool,
    parse_number,
    parse_weight,
    read_key_values,
    read_price_table,
    read_table,
    setting_key,
    sums_to_100,
    unknown_keys_error,
    weights_to_fractions,
)
from etf_rebalancer.cells.headers import LANGUAGES
from etf_rebalancer.cells.labels import Bilingual, ko, localize_rows, where
from etf_rebalancer.errors import InputError

__all__ = [
    "SETTING_KEYS",
    "backtest_equity_rows",
    "backtest_rows",
    "backtest_stats_rows",
    "correlation_rows",
    "read_backtest_inputs",
    "read_config",
    "read_weights",
    "sheet_inputs",
]

SETTING_KEYS = (
    "rebalance",
    "band",
    "band_type",
    "fee_rate",
    "initial",
    "whole_shares",
    "benchmark",
    "language",
)

_RULES = {
    "none": "none",
    "never": "none",
    "buyandhold": "none",
    "없음": "none",
    "안함": "none",
    "monthly": "monthly",
    "month": "monthly",
    "매월": "monthly",
    "월": "monthly",
    "quarterly": "quarterly",
    "quarter": "quarterly",
    "분기": "quarterly",
    "매분기": "quarterly",
    "annual": "annual",
    "annually": "annual",
    "yearly": "annual",
    "year": "annual",
    "매년": "annual",
    "연": "annual",
}
_BAND_TYPES = {
    "relative": "relative",
    "상대": "relative",
    "absolute": "absolute",
    "절대": "absolute",
}


_WEIGHT = Bilingual("Weight", "비중")


def _fold(value: Any) -> str:
    return "".join(str(value).split()).replace("_", "").replace("-", "").casefold()


def _setting_where(kv: KeyValue) -> Bilingual:
    return where("settings", kv.row, kv.label)


def read_config(settings: Any, bands: Mapping[str, float] | None = None) -> BacktestConfig:
    """Read the ``settings`` range of PORTFOLIO_BACKTEST into a :class:`BacktestConfig`.

    Keys: ``rebalance`` (none/monthly/quarterly/annual; default monthly, or
    none when a band is set), ``band``, ``band_type``, ``fee_rate``,
    ``initial``, ``whole_shares``, ``benchmark``. Unknown keys raise
    :class:`InputError` naming them. ``bands`` are per-ticker bands (the
    weights range's ``Band`` column).
    """
    values = read_key_values(settings, name="settings") if settings is not None else {}
    error = unknown_keys_error(values, SETTING_KEYS, name="settings")
    if error:
        raise error
    options: dict[str, Any] = {}
    for key, kv in values.items():
        where = _setting_where(kv)
        if kv.value is None or (isinstance(kv.value, str) and not kv.value.strip()):
            continue
        if key == "rebalance":
            rule = _RULES.get(_fold(kv.value))
            if rule is None:
                raise InputError(
                    "rebalance must be none, monthly, quarterly or annual, "
                    f"got {kv.value!r}{where}",
                    "rebalance 값은 none(없음), monthly(매월), quarterly(매분기), "
                    f"annual(매년) 중 하나여야 합니다: {kv.value!r}{ko(where)}",
                )
            options["rebalance"] = rule
        elif key == "band_type":
            band_type = _BAND_TYPES.get(_fold(kv.value))
            if band_type is None:
                raise InputError(
                    f"band_type must be {' or '.join(BAND_TYPES)}, got {kv.value!r}{where}",
                    "band_type 값은 relative(상대) 또는 absolute(절대)여야 합니다: "
                    f"{kv.value!r}{ko(where)}",
                )
            options["band_type"] = band_type
        elif key == "band":
            options["band"] = _read_band(kv.value, where)
        elif key == "fee_rate":
            fee = parse_number(kv.value, what="fee_rate", where=where)
            if fee is None or not 0 <= fee < 0.1:
                raise InputError(
                    f"fee_rate must be a fraction from 0 to 0.1 (e.g. 0.001 or 0.1%), "
                    f"got {kv.value!r}{where}",
                    f"fee_rate 값은 0~0.1 사이 비율이어야 합니다 (예: 0.001 또는 0.1%): "
                    f"{kv.value!r}{ko(where)}",
                )
            options["fee_rate"] = fee
        elif key == "initial":
            initial = parse_number(kv.value, what="initial", where=where)
            if initial is None or initial <= 0:
                raise InputError(
                    f"initial must be a positive amount, got {kv.value!r}{where}",
                    f"initial 값은 0보다 큰 금액이어야 합니다: {kv.value!r}{ko(where)}",
                )
            options["initial"] = initial
        elif key == "whole_shares":
            options["whole_shares"] = parse_bool(kv.value, what="whole_shares", where=where)
        elif key == "benchmark":
            options["benchmark"] = normalise_ticker(kv.value, where=where)
        elif key == "language" and _fold(kv.value) not in LANGUAGES:
            # Read by the edge (detect_language); here only checked.
            raise InputError(
                f"language must be en or ko, got {kv.value!r}{where}",
                f"language 값은 en(영어) 또는 ko(한국어)여야 합니다: {kv.value!r}{ko(where)}",
            )
    if bands:
        options["bands"] = dict(bands)
    if ("band" in options or bands) and "rebalance" not in options:
        options["rebalance"] = "none"  # a band alone is checked at every close
    return BacktestConfig(**options)


def _read_band(value: Any, where: str) -> float:
    # The planner's rule (cells.check_band): a weight of 0 or more, percents above 1.
    number, explicit = parse_weight(value, what="band", where=where)
    if number is None:
        raise InputError(
            f"band must be a number such as 0.2 or 20%, got {value!r}{where}",
            f"band 값은 0.2 또는 20% 같은 숫자여야 합니다: {value!r}{ko(where)}",
        )
    fraction = number / 100.0 if number > 1 and not explicit else number
    check_band(fraction, value, what="band", where=where)
    return fraction


def read_weights(weights: Any) -> tuple[dict[str, float], dict[str, float]]:
    """Read the ``weights`` range (``Ticker``, ``Weight`` [, ``Band``]).

    Weights may be fractions, percents or ``"25%"`` text and must add up to
    100%; a ``CASH`` row (or weights summing to less, given as fractions) is
    held as cash. Returns ``(weights, bands)`` with weights as fractions.
    """
    table = read_table(weights, name="weights", required=("ticker", "target"), optional=("band",))
    if table.empty:
        raise InputError(
            "weights has no rows: add Ticker and Weight under the header",
            "비중 범위에 행이 없습니다: 머리글 아래에 티커와 비중을 입력하세요",
        )
    tickers: list[str] = []
    cells = []
    bands: dict[str, float] = {}
    seen: dict[str, int] = {}
    for record in table.to_dict("records"):
        row = int(record["row"])
        ticker = normalise_ticker(record["ticker"], where=where("weights", row))
        if ticker in seen:
            raise InputError(
                f"weights has {ticker} twice (rows {seen[ticker]} and {row})",
                f"비중 범위에 {ticker}이(가) 두 번 있습니다 ({seen[ticker]}행, {row}행)",
            )
        seen[ticker] = row
        place = where("weights", row, ticker)
        cell = parse_weight(record["target"], what=_WEIGHT, where=place)
        if cell[0] is None:
            raise InputError(f"Weight is missing{place}", f"비중이 비어 있습니다{ko(place)}")
        if cell[0] < 0:
            raise InputError(
                f"Weight must not be negative, got {record['target']!r}{place}",
                f"비중은 음수일 수 없습니다: {record['target']!r}{ko(place)}",
            )
        tickers.append(ticker)
        cells.append(cell)
        band = record.get("band")
        if not is_blank(band):
            bands[ticker] = _read_band(band, place)
    fractions = weights_to_fractions(cells, sums_to_one=True)
    mix = {t: float(w or 0.0) for t, w in zip(tickers, fractions, strict=True)}
    total = sum(mix.values())
    if not sums_to_100(total):  # the planner's tolerance: one Targets table, one rule
        raise InputError(
            f"Weights must add up to 100% (a CASH row holds cash), got {total:.2%}",
            f"비중 합계는 100%여야 합니다 (현금은 CASH 행으로): {total:.2%}",
        )
    if total > 1.0:
        mix = {t: w / total for t, w in mix.items()}  # rounding such as 33.34 + 33.33 + 33.34
    # Below 1 (within rounding) the rest stays in cash, as bt does with such weights.
    mix.pop(CASH_TICKER, None)
    if not any(w > 0 for w in mix.values()):
        raise InputError(
            "weights needs at least one ticker with a weight above 0",
            "비중 범위에 비중이 0보다 큰 종목이 하나 이상 필요합니다",
        )
    return mix, bands


def read_backtest_inputs(
    prices: Any, weights: Any, settings: Any
) -> tuple[pd.DataFrame, dict[str, float], BacktestConfig]:
    """Read the three ranges of PORTFOLIO_BACKTEST / PORTFOLIO_EQUITY."""
    mix, bands = read_weights(weights)
    config = read_config(settings, bands=bands)
    table = read_price_table(prices, name="prices")
    if config.benchmark and config.benchmark not in table.columns:
        raise InputError(
            f"benchmark {config.benchmark} is not a column of prices "
            f"(columns: {', '.join(table.columns)})",
            f"벤치마크 {config.benchmark} 열이 가격 범위에 없습니다",
        )
    return table, mix, config


def _cell(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, int | np.integer):
        return int(value)
    return value


def _run(prices: Any, weights: Any, settings: Any) -> BacktestResult:
    table, mix, config = read_backtest_inputs(prices, weights, settings)
    return run_backtest(table, mix, config)


def backtest_stats_rows(
    prices: Any, weights: Any, settings: Any = None, lang: str = "en"
) -> list[list[Any]]:
    """Rows ``Metric``, ``Value`` of PORTFOLIO_BACKTEST (order: ``stats.METRICS``).

    ``lang="ko"`` gives Korean metric names and notices; the numbers are the same.
    """
    return _stats_rows(_run(prices, weights, settings), lang)


def backtest_equity_rows(
    prices: Any, weights: Any, settings: Any = None, lang: str = "en"
) -> list[list[Any]]:
    """Rows ``Date``, ``Portfolio`` [, ``Benchmark``] of PORTFOLIO_EQUITY (Korean headers for
    ``lang="ko"``)."""
    return _equity_rows(_run(prices, weights, settings), lang)


def backtest_rows(
    prices: Any, weights: Any, settings: Any = None, lang: str = "en"
) -> tuple[list[list[Any]], list[list[Any]]]:
    """PORTFOLIO_BACKTEST's and PORTFOLIO_EQUITY's rows from one simulation (outside Excel,
    where both are wanted at once)."""
    result = _run(prices, weights, settings)
    return _stats_rows(result, lang), _equity_rows(result, lang)


def _stats_rows(result: BacktestResult, lang: str = "en") -> list[list[Any]]:
    rows: list[list[Any]] = [["Metric", "Value"]]
    rows += [[name, _cell(value)] for name, value in result.stats.items()]
    rows += [["Notice", notice.localized(lang)] for notice in result.notices]
    return localize_rows("stats", rows, lang)


def _equity_rows(result: BacktestResult, lang: str = "en") -> list[list[Any]]:
    frame = result.equity.to_frame()
    if result.benchmark is not None:
        frame["Benchmark"] = result.benchmark
    rows: list[list[Any]] = [["Date", *frame.columns]]
    for date, values in zip(frame.index, frame.to_numpy().tolist(), strict=True):
        rows.append([date.to_pydatetime(), *values])
    if lang == "ko":
        rows[0] = localize_rows("equity", rows[:1], lang)[0]  # the header; no copy of the rest
    return rows


def correlation_rows(prices: Any, lang: str = "en") -> list[list[Any]]:
    """Correlation matrix of daily simple returns, tickers as first row and column.

    Calendar policy as in the backtest: a blank cell after an asset's first
    price takes its last close (no return that day); before its first price
    it is left out, so each pair uses the days both have returns. ``lang="ko"``
    writes the corner as ``티커``.
    """
    table = read_price_table(prices, name="prices")
    table = table.dropna(how="all")
    if len(table) < 3:
        raise InputError(
            "prices needs at least three dates to correlate daily returns",
            "상관계수를 계산하려면 가격 범위에 날짜가 세 개 이상 필요합니다",
        )
    returns = table.ffill().pct_change(fill_method=None).iloc[1:]
    matrix = returns.corr().to_numpy(dtype=float)
    tickers = [str(t) for t in table.columns]
    rows: list[list[Any]] = [["Ticker", *tickers]]
    for ticker, line in zip(tickers, matrix.tolist(), strict=True):
        rows.append([ticker, *(_cell(v) for v in line)])
    if lang == "ko":
        rows[0] = localize_rows("correl", rows[:1], lang)[0]
    return rows


def sheet_inputs(
    targets: Any, settings: Any, overrides: Mapping[str, Any] | None = None
) -> tuple[list[list[Any]], list[list[Any]], list[Any]]:
    """What a workbook's Backtest sheet hands its formulas, outside Excel.

    Parameters
    ----------
    targets
        The Targets range (header first); its ``Ticker`` and ``Target`` columns
        are the weights, as ``Targets[[#All],[Ticker]:[Target]]`` gives them.
    settings
        The Backtest sheet's settings table (key, value; header first), or
        ``None`` for a workbook without one.
    overrides
        Keys to set or add (the CLI's options); ``rebalance`` defaults to
        ``quarterly`` as in the templates.

    Returns
    -------
    tuple
        ``(weights, settings, tickers)``: two ranges for ``PORTFOLIO_BACKTEST``
        and the tickers ``BacktestTickers`` lists (the benchmark, then the targets).
    """
    tickers = column_values(targets, "ticker")
    weights: list[list[Any]] = [["Ticker", "Weight"]]
    weights += [
        [t, w]
        for t, w in zip(tickers, column_values(targets, "target"), strict=True)
        if not is_blank(t)
    ]
    rows = [list(r[:2]) for r in (settings or [["Setting", "Value"]]) if r and not is_blank(r[0])]
    header, body = (rows[:1], rows[1:]) if rows and is_key_header(rows[0][0]) else ([], rows)
    index = {setting_key(str(r[0])): i for i, r in enumerate(body)}
    for key, value in (overrides or {}).items():
        if key in index:
            body[index[key]][1] = value
        else:
            index[key] = len(body)
            body.append([key, value])
    if "rebalance" not in index:
        body.append(["rebalance", "quarterly"])
    benchmark = body[index["benchmark"]][1] if "benchmark" in index else None
    history = ([] if is_blank(benchmark) else [benchmark]) + [t for t in tickers if not is_blank(t)]
    return weights, header + body, history
