"""Bodies of the quote UDFs: ``ETF_PRICE``, ``ETF_FX`` and ``ETF_HISTORY`` over a service.

Each takes the :class:`~etf_rebalancer.quotes.service.QuoteService` and the
cell's raw arguments, checks them ("must be X, got Y"), and answers from the
service (cache first; see :mod:`etf_rebalancer.quotes.service` for when it
fetches and :mod:`etf_rebalancer.quotes.breaker` for how long it may wait).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from etf_rebalancer.cells import (
    CASH_TICKER,
    as_rows,
    is_blank,
    normalise_header,
    normalise_ticker,
    parse_date,
)
from etf_rebalancer.errors import InputError, QuoteError
from etf_rebalancer.quotes.base import Failure, History
from etf_rebalancer.quotes.service import QuoteService
from etf_rebalancer.quotes.symbols import fx_ticker, is_currency, major_currency

__all__ = ["FIELDS", "fx_rate", "history_rows", "price_field"]

FIELDS = ("price", "currency", "previous_close", "change", "time", "name", "status")
_FIELD_ALIASES = {
    "": "price",
    "last": "price",
    "previousclose": "previous_close",
    "prevclose": "previous_close",
    "현재가": "price",
    "가격": "price",
    "통화": "currency",
    "전일종가": "previous_close",
    "등락률": "change",
    "시각": "time",
    "이름": "name",
    "종목명": "name",
    "상태": "status",
}
_HISTORY_FIELDS = {"adjclose": "adjclose", "adjustedclose": "adjclose", "close": "close"}


def price_field(service: QuoteService, ticker: Any, field: Any = "price") -> Any:
    """Body of ``ETF_PRICE(ticker, [field])``: one value from the cache.

    Returns
    -------
    float or str or datetime.datetime
        ``price`` and ``previous_close`` in the listing currency (pounds, not
        pence); ``change`` as a fraction of the previous close; ``time`` as a
        naive datetime in the computer's local time (Excel has no timezones);
        ``currency``, ``name`` and ``status`` as text.

    Raises
    ------
    InputError, QuoteError
        Blank or malformed ticker, unknown field, no price available.
    """
    if is_blank(ticker):
        raise InputError("ticker must be given, got an empty cell", "티커가 비어 있습니다")
    key = normalise_ticker(ticker, where=" (ETF_PRICE ticker)")
    if key == CASH_TICKER:
        raise InputError(
            "ticker must be a listed security, got CASH", "티커는 상장 종목이어야 합니다: 현금"
        )
    name = _price_field_name(field)
    if name == "status":
        row = service.lookup(key)
        if row is None:
            try:
                row = service.quote(key)
            except QuoteError as error:
                row = service.lookup(key)
                if row is None:
                    return f"error: {error.message}"
        return service.status(row)
    row = service.quote(key)
    if name == "price":
        return row.effective_price
    if name == "currency":
        return row.effective_currency or _no_value(key, "currency")
    if name == "name":
        return row.name or key
    if name == "previous_close":
        if row.previous_close is None:
            raise _no_value(key, "previous close")
        return row.previous_close
    if name == "change":
        price = row.effective_price
        if row.previous_close is None or not row.previous_close or price is None:
            raise _no_value(key, "previous close")
        return price / row.previous_close - 1.0
    # time
    stamp = row.override_at if row.override_price is not None else (row.as_of or row.fetched_at)
    if stamp is None:
        raise _no_value(key, "time")
    return _local(stamp)


def fx_rate(service: QuoteService, from_currency: Any, to_currency: Any) -> float:
    """Body of ``ETF_FX(from, to)``: units of ``to`` for one unit of ``from``."""
    base = _currency_argument(from_currency, "from_currency")
    quote = _currency_argument(to_currency, "to_currency")
    rate, _rows = service.fx(base, quote)
    return rate


def history_rows(
    service: QuoteService, tickers: Any, start: Any, end: Any = None, field: Any = "adjclose"
) -> list[list[Any]]:
    """Body of ``ETF_HISTORY``: ``Date`` then one column per ticker, oldest first.

    Days on which only some tickers traded (different exchanges' holidays) keep
    a blank (``None``) for the others. ``field`` is ``adjclose`` (default) or
    ``close``, optionally with a currency (``"KRW"``, ``"close USD"``): every
    price is then converted into it at that day's FX close (the pair's history,
    fetched in the same way), so a backtest of a mixed-currency mix carries the
    currency moves its investor does.
    """
    keys: list[str] = []
    for row_index, row in enumerate(as_rows(tickers), start=1):
        for cell in row:
            if is_blank(cell):
                continue
            key = normalise_ticker(cell, where=f" (tickers cell {row_index})")
            if key != CASH_TICKER:
                keys.append(key)
    keys = list(dict.fromkeys(keys))
    if not keys:
        raise InputError("tickers must name at least one ticker, got none", "티커가 없습니다")
    first = parse_date(start, what="start").date()
    if is_blank(end):
        last = dt.datetime.fromtimestamp(service.clock()).date()
    else:
        last = parse_date(end, what="end").date()
    if last < first:
        raise InputError(
            f"end must not be before start, got start {first} and end {last}",
            f"종료일이 시작일보다 앞설 수 없습니다: 시작 {first}, 종료 {last}",
        )
    column, target = _history_field(field)
    results = service.history(keys, first, last)
    failed = [(k, r) for k, r in results.items() if isinstance(r, Failure)]
    if failed:
        key, failure = failed[0]
        assert isinstance(failure, Failure)
        error = failure.error
        if key in error.message:
            raise error
        raise type(error)(f"{key}: {error.message}", f"{key}: {error.localized('ko')}")
    series = {k: r.frame[column] for k, r in results.items() if isinstance(r, History)}
    if target is not None:
        currencies = {
            k: major_currency(r.currency)[0] for k, r in results.items() if isinstance(r, History)
        }
        series = _convert(service, series, currencies, target, first, last)
    table = pd.DataFrame(series).sort_index()
    if table.empty:
        raise QuoteError(
            f"No prices for {', '.join(keys)} between {first} and {last}",
            f"{', '.join(keys)}: {first}~{last} 기간의 가격이 없습니다",
        )
    # Whole arrays at once (one Timestamp and one test per cell cost ~150 ms at 8,000 x 20).
    values = table[keys].to_numpy(dtype=float)
    cells = values.astype(object)
    cells[~np.isfinite(values)] = None
    dates = np.empty((len(table), 1), dtype=object)
    dates[:, 0] = pd.DatetimeIndex(table.index).to_pydatetime()
    return [["Date", *keys], *np.hstack([dates, cells]).tolist()]


# ---------------------------------------------------------------- helpers


def _no_value(key: str, what: str) -> QuoteError:
    return QuoteError(f"{key}: no {what} in the quote", f"{key}: 시세에 {what} 값이 없습니다")


def _price_field_name(field: Any) -> str:
    if is_blank(field):
        return "price"
    if not isinstance(field, str):
        raise InputError(
            f"field must be one of {', '.join(FIELDS)}, got {field!r}",
            f"field는 {', '.join(FIELDS)} 중 하나여야 합니다: {field!r}",
        )
    folded = normalise_header(field)
    for name in FIELDS:
        if folded == normalise_header(name):
            return name
    if folded in _FIELD_ALIASES:
        return _FIELD_ALIASES[folded]
    raise InputError(
        f"field must be one of {', '.join(FIELDS)}, got {field!r}",
        f"field는 {', '.join(FIELDS)} 중 하나여야 합니다: {field!r}",
    )


def _history_field(field: Any) -> tuple[str, str | None]:
    """``(column, currency)`` of ETF_HISTORY's ``field``: ``adjclose`` (default) or
    ``close``, optionally followed or replaced by a currency to convert into
    (``KRW``, ``close USD``)."""
    if is_blank(field):
        return "adjclose", None
    if isinstance(field, str) and normalise_header(field) in _HISTORY_FIELDS:
        return _HISTORY_FIELDS[normalise_header(field)], None  # "Adjusted Close"
    words = field.split() if isinstance(field, str) else []
    column: str | None = None
    currency: str | None = None
    valid = bool(words)
    for word in words:
        name = _HISTORY_FIELDS.get(normalise_header(word))
        if name and column is None:
            column = name
        elif currency is None and is_currency(word.upper()):
            currency = word.upper()
        else:
            valid = False
    if not valid:
        raise InputError(
            "field must be adjclose or close, and/or a currency to convert into "
            f"(such as KRW or close USD), got {field!r}",
            "field는 adjclose 또는 close, 그리고/또는 환산할 통화(예: KRW, close USD)여야 "
            f"합니다: {field!r}",
        )
    return column or "adjclose", currency


def _convert(
    service: QuoteService,
    series: dict[str, pd.Series],
    currencies: dict[str, str],
    target: str,
    first: dt.date,
    last: dt.date,
) -> dict[str, pd.Series]:
    """Each series times its currency's daily rate into ``target`` (the last rate known
    on that day: FX trades through other exchanges' holidays, not always the reverse)."""
    pairs = {c: fx_ticker(c, target) for c in set(currencies.values()) if c != target}
    if not pairs:
        return series
    # A week's lead, so a listing's first close has a rate even after an FX holiday.
    fx = service.history(list(pairs.values()), first - dt.timedelta(days=7), last)
    rates: dict[str, pd.Series] = {}
    for currency, pair in pairs.items():
        result = fx[pair]
        if isinstance(result, Failure):
            error = result.error
            raise type(error)(
                f"{pair} (to convert prices into {target}): {error.message}",
                f"{pair} ({target} 환산용): {error.localized('ko')}",
            )
        rates[currency] = result.frame["close"].dropna()
    out = {}
    for key, values in series.items():
        currency = currencies[key]
        if currency == target:
            out[key] = values
            continue
        rate = rates[currency]
        on_days = rate.reindex(rate.index.union(values.index)).ffill().reindex(values.index)
        out[key] = values * on_days
    return out


def _currency_argument(value: Any, what: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    iso = major_currency(text)[0] if text else ""
    if not is_currency(iso) and not is_currency(text):
        raise InputError(
            f"{what} must be a three-letter currency code such as USD or KRW, got {value!r}",
            f"{what} 값은 USD, KRW 같은 세 글자 통화 코드여야 합니다: {value!r}",
        )
    return text if text in ("GBp", "ILA", "ZAc") else text.upper()


def _local(stamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp).replace(microsecond=0)
