"""One Excel cell at a time: blanks, numbers, weights, booleans and dates.

Everything here is pure: it takes what ``xlwings`` delivers (``float``/``str``/
``bool``/``None``/``datetime``) and returns Python values, or raises
:class:`~etf_rebalancer.errors.InputError` naming the value and where it is.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from etf_rebalancer.cells.labels import ko
from etf_rebalancer.errors import InputError

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def is_blank(value: Any) -> bool:
    """True for what Excel shows as an empty cell (None, '', whitespace, NaN)."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    return isinstance(value, float) and math.isnan(value)


def as_rows(values: Any) -> list[list[Any]]:
    """Coerce what a caller passed for a range into a list of rows.

    ``xlwings`` with ``ndim=2`` already gives a list of rows; plain Python callers
    may pass a single value, a flat list (one column) or a DataFrame.
    """
    if values is None:
        return []
    if isinstance(values, pd.DataFrame):
        return [list(values.columns), *values.astype(object).values.tolist()]
    if isinstance(values, str | int | float | bool | dt.datetime | dt.date):
        return [[values]]
    rows = list(values)
    if rows and not isinstance(rows[0], list | tuple):
        return [[v] for v in rows]
    return [list(r) for r in rows]


def parse_number(value: Any, *, what: str = "value", where: str = "") -> float | None:
    """Read a numeric cell; ``None`` for a blank cell.

    Accepts numbers and numeric text with thousands separators, currency signs
    (``$``, ``₩``, ``€``, ``¥``, ``원``) or a trailing ``%`` (returned divided by 100).
    Booleans, NaN, infinities and other text raise :class:`InputError`.
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise _bad_number(what, value, where)
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace(" ", "")
        percent = text.endswith("%")
        text = text.rstrip("%").strip("$₩€¥£원")
        try:
            number = float(text)
        except ValueError:
            raise _bad_number(what, value, where) from None
        if percent:
            number /= 100.0
    else:
        raise _bad_number(what, value, where)
    if not math.isfinite(number):
        raise _bad_number(what, value, where)
    return number


def _bad_number(what: str, value: Any, where: str) -> InputError:
    return InputError(
        f"{what} must be a number, got {value!r}{where}",
        f"{ko(what)} 값은 숫자여야 합니다: {value!r}{ko(where)}",
    )


def parse_weight(value: Any, *, what: str = "weight", where: str = "") -> tuple[float | None, bool]:
    """Read one weight cell; returns ``(number, explicit_percent)``.

    ``"25%"`` gives ``(0.25, True)``; ``25`` gives ``(25.0, False)`` and the column
    decides (see :func:`weights_to_fractions`) whether it meant 25% or 2500%.
    """
    if isinstance(value, str) and value.strip().endswith("%"):
        return parse_number(value, what=what, where=where), True
    return parse_number(value, what=what, where=where), False


def weights_to_fractions(
    cells: Sequence[tuple[float | None, bool]], *, sums_to_one: bool = False
) -> list[float | None]:
    """Turn a column of parsed weight cells into fractions.

    Text with ``%`` is already a fraction. Plain numbers are percents when any of
    them exceeds 1, or, for a column that should sum to 100% (``sums_to_one``),
    when they sum to about 100; otherwise they are fractions.
    """
    plain = [v for v, explicit in cells if v is not None and not explicit]
    explicit_total = sum(v for v, explicit in cells if v is not None and explicit)
    percents = any(abs(v) > 1.0 for v in plain)
    if sums_to_one and plain and not percents:
        percents = abs(sum(plain) + 100.0 * explicit_total - 100.0) < 0.5
    return [
        None if v is None else (v / 100.0 if percents and not explicit else v)
        for v, explicit in cells
    ]


_TRUE = {"true", "yes", "y", "1", "on", "예", "네", "참", "o"}


_FALSE = {"false", "no", "n", "0", "off", "아니오", "아니요", "거짓", "x"}


def parse_bool(value: Any, *, what: str, where: str = "") -> bool:
    """Read TRUE/FALSE, yes/no, 1/0, 예/아니오."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        folded = value.strip().casefold()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
    raise InputError(
        f"{what} must be TRUE or FALSE, got {value!r}{where}",
        f"{ko(what)} 값은 TRUE 또는 FALSE여야 합니다: {value!r}{ko(where)}",
    )


def parse_date(value: Any, *, what: str = "date", where: str = "") -> pd.Timestamp:
    """Read a date cell: ``datetime``/``date``, an Excel serial number, or ISO text."""
    if isinstance(value, bool) or is_blank(value):
        raise _bad_date(what, value, where)
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return pd.Timestamp(value).normalize()
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 1 <= value < 2_958_466:  # Excel's 9999-12-31
            raise _bad_date(what, value, where)
        return pd.Timestamp(_EXCEL_EPOCH + dt.timedelta(days=float(value))).normalize()
    if isinstance(value, str):
        try:
            return pd.Timestamp(value.strip()).normalize()
        except (ValueError, OverflowError):
            raise _bad_date(what, value, where) from None
    raise _bad_date(what, value, where)


def _bad_date(what: str, value: Any, where: str) -> InputError:
    return InputError(
        f"{what} must be a date, got {value!r}{where}",
        f"{ko(what)} 값은 날짜여야 합니다: {value!r}{ko(where)}",
    )
