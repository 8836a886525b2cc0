"""Price-history ranges (``Date``, then one column per ticker), as ETF_HISTORY returns them."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from etf_rebalancer.cells.headers import _ALIAS_LOOKUP, normalise_header
from etf_rebalancer.cells.labels import column, ko, where
from etf_rebalancer.cells.tickers import normalise_ticker
from etf_rebalancer.cells.values import as_rows, is_blank, parse_date, parse_number
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
    filled = [c for row in rows for c in row if not is_blank(c)]
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
    dates: list[pd.Timestamp] = []
    data: list[list[float]] = []
    seen: dict[pd.Timestamp, int] = {}
    for index, row in enumerate(rows[1:], start=2):
        padded = list(row) + [None] * (len(header) - len(row))
        if all(is_blank(v) for v in padded):
            continue
        date = parse_date(padded[date_col], what="Date", where=where(name, index))
        if date in seen:
            raise InputError(
                f"{name} has the date {date.date()} twice (rows {seen[date]} and {index})",
                f"{ko(name)}에 {date.date()} 날짜가 두 번 있습니다 ({seen[date]}행, {index}행)",
            )
        seen[date] = index
        prices: list[float] = []
        for ticker, col in columns.items():
            place = where(name, index, ticker)
            price = parse_number(padded[col], what="Price", where=place)
            if price is not None and price <= 0:
                raise InputError(
                    f"Price must be positive, got {padded[col]!r}{place}",
                    f"가격은 0보다 커야 합니다: {padded[col]!r}{ko(place)}",
                )
            prices.append(math.nan if price is None else price)
        dates.append(date)
        data.append(prices)
    frame = pd.DataFrame(
        data, index=pd.DatetimeIndex(dates, name="Date"), columns=list(columns), dtype=float
    )
    return frame.sort_index()
