"""Price-history ranges (``Date``, then one column per ticker), as ETF_HISTORY returns them."""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from etf_rebalancer.cells.headers import _ALIAS_LOOKUP, normalise_header
from etf_rebalancer.cells.labels import column, ko, where
from etf_rebalancer.cells.tickers import normalise_ticker
from etf_rebalancer.cells.values import (
    as_column,
    as_rows,
    date_column,
    is_blank,
    number_column,
)
from etf_rebalancer.errors import InputError

# How a failed formula reaches a UDF: our own cell errors, or Excel's error values
# as xlwings passes them (text such as "#N/A" when converted).
_UPSTREAM_ERRORS = ("Error:", "오류:", "#")


def read_price_table(values: Any, *, name: str = "prices") -> pd.DataFrame:
    """Read a price history range: a ``Date`` column, then one column per ticker.

    This is the shape ``ETF_HISTORY`` returns and users paste. Dates may be
    ``datetime``, Excel serial numbers or ISO text; rows are sorted by date.
    Blank price cells (a holiday on one exchange) stay ``NaN``: what to do with
    them is the caller's policy. Ticker headers are normalised like tickers
    elsewhere (``69500`` typed as a number is ``069500``).

    Each column is read at once (:func:`~etf_rebalancer.cells.values.number_column`,
    :func:`~etf_rebalancer.cells.values.date_column`); the answer, and for bad
    input the message, are those of reading row by row, cell by cell.

    Returns
    -------
    pandas.DataFrame
        ``DatetimeIndex`` named ``Date``, one float column per ticker, in range order.

    Raises
    ------
    InputError
        No ``Date`` column, no ticker column, a repeated ticker or date, a cell
        that is not a date/number, or a price that is not positive; the message
        names the row (header = row 1) and the ticker.
    """
    rows = as_rows(values)
    if not rows or all(is_blank(c) for c in rows[0]):
        raise InputError(
            f"{name} range is empty: it needs a header row Date, then one column per ticker",
            f"{ko(name)} 범위가 비어 있습니다: 머리글 날짜, 그리고 티커별 열이 필요합니다",
        )
    header = rows[0]
    # Two filled cells are enough to know the range is not one error cell.
    filled = list(islice((c for row in rows for c in row if not is_blank(c)), 2))
    if len(filled) == 1 and isinstance(filled[0], str) and filled[0].startswith(_UPSTREAM_ERRORS):
        # A price range that is one error cell is another formula's failure (ETF_HISTORY
        # offline, #N/A): pass its words on instead of asking for a Date header.
        raise InputError(
            f"{name} holds an error, not prices: {filled[0]}",
            f"{ko(name)} 범위에 가격 대신 오류가 있습니다: {filled[0]}",
        )
    date_col = next(
        (i for i, c in enumerate(header) if _ALIAS_LOOKUP.get(normalise_header(c)) == "date"), None
    )
    if date_col is None:
        got = ", ".join(repr(c) for c in header if not is_blank(c))
        raise InputError(
            f"{name} needs a column Date (header row has {got or 'nothing'})",
            f"{ko(name)} 범위에 날짜 열이 필요합니다 (머리글: {got or '없음'})",
        )
    columns: dict[str, int] = {}
    for col, cell in enumerate(header):
        if col == date_col or is_blank(cell):
            continue
        ticker = normalise_ticker(cell, where=where(name, None, column(col + 1), header=True))
        if ticker in columns:
            raise InputError(
                f"{name} has the ticker {ticker} twice "
                f"(columns {columns[ticker] + 1} and {col + 1})",
                f"{ko(name)}에 {ticker} 티커가 두 번 있습니다 "
                f"({columns[ticker] + 1}열, {col + 1}열)",
            )
        columns[ticker] = col
    if not columns:
        raise InputError(
            f"{name} needs at least one ticker column after Date",
            f"{ko(name)} 범위에 날짜 다음 티커 열이 하나 이상 필요합니다",
        )
    body = rows[1:]
    width = max([len(header), *map(len, body)])
    if any(len(row) != width for row in body):
        body = [list(row) + [None] * (width - len(row)) for row in body]
    cells = list(zip(*body, strict=True)) if body else [()] * width
    # Each column is read at once (values.number_column); a row is blank when all its cells are.
    tickers = list(columns)
    prices: list[np.ndarray] = []
    price_errors: list[dict[int, InputError]] = []
    blank = np.ones(len(body), dtype=bool)
    for ticker, col in columns.items():
        numbers, errors = number_column(cells[col], what="Price", where=_price_at(name, ticker))
        blank &= np.isnan(numbers)
        blank[list(errors)] = False
        prices.append(numbers)
        price_errors.append(errors)
    for col in range(width):
        if col not in columns.values() and blank.any():
            blank &= _blank_mask(cells[col])
    keep = np.flatnonzero(~blank)
    dates, date_errors = date_column(
        as_column(cells[date_col])[keep],
        what="Date",
        where=lambda i: where(name, int(keep[i]) + 2),
    )
    error = _first_error(
        name, keep, dates, date_errors, tickers, prices, price_errors, cells, columns
    )
    if error is not None:
        raise error
    matrix = np.column_stack([p[keep] for p in prices])
    frame = pd.DataFrame(
        matrix, index=pd.DatetimeIndex(dates, name="Date"), columns=tickers, dtype=float
    )
    return frame.sort_index()


def _price_at(name: str, ticker: str) -> Callable[[int], str]:
    """Where a price cell is, for messages: body position 0 is row 2 of the range."""
    return lambda position: where(name, position + 2, ticker)


def _not_positive(value: Any, place: str) -> InputError:
    return InputError(
        f"Price must be positive, got {value!r}{place}",
        f"가격은 0보다 커야 합니다: {value!r}{ko(place)}",
    )


def _blank_mask(values: tuple[Any, ...]) -> np.ndarray:
    """is_blank of each cell of a column that holds no prices (the Date column, notes)."""
    column = as_column(values)
    listed = column.tolist()
    # These kinds still count None as null: only a column without None has no blank.
    kind = infer_dtype(column, skipna=False)
    if kind in ("datetime", "date", "integer", "boolean") and not any(v is None for v in listed):
        return np.zeros(len(column), dtype=bool)
    return np.fromiter(map(is_blank, listed), dtype=bool, count=len(column))


def _first_error(
    name: str,
    keep: np.ndarray,
    dates: np.ndarray,
    date_errors: dict[int, InputError],
    tickers: list[str],
    prices: list[np.ndarray],
    price_errors: list[dict[int, InputError]],
    cells: list[tuple[Any, ...]],
    columns: dict[str, int],
) -> InputError | None:
    """The error that reading the range row by row, cell by cell, meets first.

    Positions count the non-blank rows (``keep``). Within a row the order is
    the one-cell path's: the date, a repeated date, then each price from left
    to right (not a number, or not positive).
    """
    found: dict[int, InputError] = dict(date_errors)
    valid = np.flatnonzero(~np.isnat(dates))
    stamps = pd.DatetimeIndex(dates[valid])
    repeats = np.flatnonzero(stamps.duplicated(keep="first"))
    if repeats.size:
        date = stamps[repeats[0]]
        later = int(valid[repeats[0]])
        earlier = int(valid[np.flatnonzero(stamps == date)[0]])
        rows = (int(keep[earlier]) + 2, int(keep[later]) + 2)
        found.setdefault(
            later,
            InputError(
                f"{name} has the date {date.date()} twice (rows {rows[0]} and {rows[1]})",
                f"{ko(name)}에 {date.date()} 날짜가 두 번 있습니다 ({rows[0]}행, {rows[1]}행)",
            ),
        )
    for ticker, numbers, errors in zip(tickers, prices, price_errors, strict=True):
        bad = np.flatnonzero(numbers[keep] <= 0)
        if errors:
            bad = np.union1d(bad, np.searchsorted(keep, sorted(errors)))
        if not bad.size:
            continue
        position = int(bad[0])  # only a ticker's first bad row can be the range's first error
        if position in found:
            continue  # the date (or a ticker further left) of that row comes first
        body_row = int(keep[position])
        found[position] = errors.get(body_row) or _not_positive(
            cells[columns[ticker]][body_row], where(name, body_row + 2, ticker)
        )
    return found[min(found)] if found else None
