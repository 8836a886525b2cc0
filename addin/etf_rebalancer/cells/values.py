"""One Excel cell at a time: blanks, numbers, weights, booleans and dates.

Everything here is pure: it takes what ``xlwings`` delivers (``float``/``str``/
``bool``/``None``/``datetime``) and returns Python values, or raises
:class:`~etf_rebalancer.errors.InputError` naming the value and where it is.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

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
    # Rows that are lists already are shared, not copied (a price history is thousands of
    # rows): callers read them and never write to them.
    return [r if type(r) is list else list(r) for r in rows]


_NUMERIC_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# Thousands separators only in whole groups of three: "1,234,567.5", never "1,5" or "1.234,5".
_GROUPED_TEXT = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def _is_number(value: Any) -> bool:
    """A real number object (Python or numpy), not a boolean."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def parse_number(value: Any, *, what: str = "value", where: str = "") -> float | None:
    """Read a numeric cell; ``None`` for a blank cell.

    Accepts numbers and numeric text with thousands separators in groups of
    three (``"1,234,567.5"``), currency signs (``$``, ``₩``, ``€``, ``¥``, ``원``)
    or a trailing ``%`` (returned divided by 100). A comma that is not a
    thousands separator (``"1,5"``, ``"1.234,5"``, ``"0,1%"``) is refused: it may
    be a decimal comma, and guessing would be off by a factor of 1,000.
    Booleans, NaN, infinities and other text raise :class:`InputError`.
    """
    if is_blank(value):
        return None
    if _is_number(value):
        try:
            number = float(value)
        except OverflowError:
            raise _bad_number(what, value, where) from None
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        percent = text.endswith("%")
        text = text.rstrip("%").strip("$₩€¥£원")
        if "," in text:
            if not _GROUPED_TEXT.fullmatch(text):
                raise InputError(
                    f"{what} has a comma that is not a thousands separator: {value!r}{where}; "
                    "write decimals with a point",
                    f"{what} 값의 쉼표가 천 단위 구분이 아닙니다: {value!r}{where}; "
                    "소수점은 마침표로 쓰세요",
                )
            text = text.replace(",", "")
        if not _NUMERIC_TEXT.fullmatch(text):
            raise _bad_number(what, value, where)
        number = float(text)
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
        f"{what} 값은 숫자여야 합니다: {value!r}{where}",
    )


def parse_weight(value: Any, *, what: str = "weight", where: str = "") -> tuple[float | None, bool]:
    """Read one weight cell; returns ``(number, explicit_percent)``.

    ``"25%"`` gives ``(0.25, True)``; ``25`` gives ``(25.0, False)`` and the column
    decides (see :func:`weights_to_fractions`) whether it meant 25% or 2500%.
    """
    if isinstance(value, str) and value.strip().endswith("%"):
        return parse_number(value, what=what, where=where), True
    return parse_number(value, what=what, where=where), False


# Targets (planning) and weights (backtests) must sum to 100% within this: a sheet of
# percents rounded to 0.01 each passes, a forgotten row does not. One rule for every reader.
SUM_TOLERANCE = 0.001


def sums_to_100(total: float) -> bool:
    """True when a column of weights adding up to ``total`` (a fraction) means 100%.

    Both readers of a Targets table (planning and backtests) use this, and so
    does :func:`weights_to_fractions` when it decides whether plain numbers are
    percents.
    """
    # The 1e-9 absorbs float sums such as 33.3 + 33.3 + 33.3 = 99.89999999999999.
    return math.isfinite(total) and abs(total - 1.0) <= SUM_TOLERANCE + 1e-9


def check_band(fraction: float | None, value: Any, *, what: str = "Band", where: str = "") -> None:
    """The one rule for a band, wherever it is read: a weight of 0 or more.

    ``0`` is allowed everywhere and means no tolerance (plan every asset to its
    target; in a backtest, rebalance at every check). ``value`` is the cell as
    typed, for the message.

    Raises
    ------
    InputError
        The band is negative or not finite.
    """
    if fraction is not None and not (math.isfinite(fraction) and fraction >= 0):
        raise InputError(
            f"{what} must be 0 or more, got {value!r}{where}",
            f"{what} 값은 0 이상이어야 합니다: {value!r}{where}",
        )


def weights_to_fractions(
    cells: Sequence[tuple[float | None, bool]], *, sums_to_one: bool = False
) -> list[float | None]:
    """Turn a column of parsed weight cells into fractions.

    Text with ``%`` is already a fraction. Plain numbers are percents when any of
    them exceeds 1, or, for a column that should sum to 100% (``sums_to_one``),
    when they sum to 100 within :data:`SUM_TOLERANCE`; otherwise they are fractions.
    """
    plain = [v for v, explicit in cells if v is not None and not explicit]
    explicit_total = sum(v for v, explicit in cells if v is not None and explicit)
    percents = any(abs(v) > 1.0 for v in plain)
    if sums_to_one and plain and not percents:
        percents = sums_to_100(sum(plain) / 100.0 + explicit_total)
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
        f"{what} 값은 TRUE 또는 FALSE여야 합니다: {value!r}{where}",
    )


# Excel's calendar: serial 1 (1899-12-31 with the 1900 leap-year bug's epoch) to 9999-12-31.
_FIRST_DATE = pd.Timestamp("1899-12-31")
_LAST_DATE = pd.Timestamp("9999-12-31")
_LAST_SERIAL = 2_958_466  # 10000-01-01, the first serial past Excel's calendar
# Words pandas reads as "this moment": a price table must not depend on the clock.
_CLOCK_WORDS = {"now", "today", "tomorrow", "yesterday"}


def parse_date(value: Any, *, what: str = "date", where: str = "") -> pd.Timestamp:
    """Read a date cell: ``datetime``/``date``, an Excel serial number, or date text.

    The time of day is dropped (a serial's fraction too: ``45293.9`` is
    2024-01-02). Dates outside Excel's calendar (before 1899-12-31 or after
    9999-12-31), text pandas cannot read as a date, and words such as
    ``"today"`` raise :class:`InputError` naming the value and ``where``.
    A time zone in text or a ``datetime`` is dropped, keeping the local date.
    """
    if isinstance(value, bool) or is_blank(value):
        raise _bad_date(what, value, where)
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        stamp = _timestamp(value)
    elif _is_number(value):
        if not 1 <= value < _LAST_SERIAL or not math.isfinite(value):  # (NaN fails both)
            raise _bad_date(what, value, where)
        stamp = pd.Timestamp(_EXCEL_EPOCH + dt.timedelta(days=math.floor(value)))
    elif isinstance(value, str):
        text = value.strip()
        if text.casefold() in _CLOCK_WORDS:
            raise _bad_date(what, value, where)
        stamp = _timestamp(text)
    else:
        raise _bad_date(what, value, where)
    if stamp is None or not _FIRST_DATE <= stamp <= _LAST_DATE:
        raise _bad_date(what, value, where)
    return stamp


def _timestamp(value: Any) -> pd.Timestamp | None:
    """``value`` as a naive midnight ``Timestamp`` (unit us), or ``None`` if pandas cannot."""
    try:
        stamp = pd.Timestamp(value)
        if stamp is pd.NaT:
            return None
        if stamp.tzinfo is not None:
            stamp = stamp.tz_localize(None)
        return stamp.normalize().as_unit("us")
    except (ValueError, TypeError, OverflowError, ArithmeticError):
        # pandas raises DateParseError, OutOfBoundsDatetime (both ValueErrors),
        # OverflowError and others for odd text: all mean "not a date".
        return None


def _bad_date(what: str, value: Any, where: str) -> InputError:
    return InputError(
        f"{what} must be a date, got {value!r}{where}",
        f"{what} 값은 날짜여야 합니다: {value!r}{where}",
    )


# ---------------------------------------------------------------- whole columns
#
# A price history is thousands of cells; reading them one at a time costs ten
# times the backtest. The column readers below convert every cell whose type
# makes the answer certain (floats, ints, None; datetimes; serials; ISO text)
# with numpy/pandas at once and hand only the rest (other text, odd objects,
# infinities, dates out of range) to the one-cell functions above, so values
# and messages are those of the one-cell path (tests/cells check this).

Where = Callable[[int], str]


def _nowhere(position: int) -> str:
    return ""


_NUMBER_KINDS = frozenset({"floating", "integer", "mixed-integer-float", "empty"})
_PLAIN_NUMBER_TYPES = frozenset({float, int, type(None)})
_EPOCH_DAY = np.datetime64(_EXCEL_EPOCH.date(), "D")
_FIRST_DAY = np.datetime64(_FIRST_DATE.date(), "us")
_LAST_DAY = np.datetime64(_LAST_DATE.date(), "us")
_ISO_DATE = r"\d{4}-\d{2}-\d{2}"


def as_column(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """The cells of one column as a 1-D object array, each kept as it is (tuples stay cells)."""
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1:
        return values
    return np.fromiter(values, dtype=object, count=len(values))


def number_column(
    values: Sequence[Any] | np.ndarray, *, what: str = "value", where: Where = _nowhere
) -> tuple[np.ndarray, dict[int, InputError]]:
    """Read a column of number cells at once, as :func:`parse_number` reads each.

    Parameters
    ----------
    values
        The cells, top to bottom.
    what, where
        As for :func:`parse_number`; ``where(i)`` gives the place of cell ``i``
        and is only called for cells read one at a time.

    Returns
    -------
    tuple
        ``(numbers, errors)``: a float array, ``NaN`` for blank and refused
        cells, and for each refused cell's position the :class:`InputError`
        :func:`parse_number` raises for it (callers pick the first they meet).
    """
    column = as_column(values)
    numbers = np.full(len(column), np.nan)
    slow = ~_plain_numbers(column, numbers)
    errors: dict[int, InputError] = {}
    for i in np.flatnonzero(slow).tolist():
        try:
            number = parse_number(column[i], what=what, where=where(i))
        except InputError as error:
            errors[i] = error
        else:
            numbers[i] = math.nan if number is None else number
    return numbers, errors


def _plain_numbers(column: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write the cells that are plainly numbers or blank into ``out``; mask of those cells."""
    n = len(column)
    kind = infer_dtype(column, skipna=True)
    if kind in _NUMBER_KINDS:
        candidates = np.ones(n, dtype=bool)
    elif kind in ("mixed", "mixed-integer"):
        candidates = np.fromiter(
            (type(v) in _PLAIN_NUMBER_TYPES for v in column.tolist()), dtype=bool, count=n
        )
    else:
        return np.zeros(n, dtype=bool)  # text, booleans, dates...: one at a time
    subset = column[candidates]
    try:
        converted = subset.astype(float)
    except (TypeError, ValueError, OverflowError):
        return np.zeros(n, dtype=bool)  # pd.NA, NaT, an int past float range: one at a time
    good = np.isfinite(converted)
    gaps = np.flatnonzero(np.isnan(converted))
    if gaps.size:
        # NaN is a blank cell only when it came from None or a float NaN, as is_blank says.
        blank = [v is None or isinstance(v, float) for v in subset[gaps].tolist()]
        good[gaps[np.asarray(blank, dtype=bool)]] = True
    positions = np.flatnonzero(candidates)
    out[positions[good]] = converted[good]
    mask = np.zeros(n, dtype=bool)
    mask[positions[good]] = True
    return mask


def parse_numbers(
    values: Sequence[Any] | np.ndarray, *, what: str = "value", where: Where = _nowhere
) -> np.ndarray:
    """:func:`number_column`, raising the first refused cell's error (``NaN`` for blanks)."""
    numbers, errors = number_column(values, what=what, where=where)
    if errors:
        raise errors[min(errors)]
    return numbers


def date_column(
    values: Sequence[Any] | np.ndarray, *, what: str = "date", where: Where = _nowhere
) -> tuple[np.ndarray, dict[int, InputError]]:
    """Read a column of date cells at once, as :func:`parse_date` reads each.

    Returns
    -------
    tuple
        ``(dates, errors)``: a ``datetime64[us]`` array (midnight; ``NaT`` for
        refused cells, blanks included) and for each refused cell's position
        the :class:`InputError` :func:`parse_date` raises for it.
    """
    column = as_column(values)
    n = len(column)
    dates = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    kind = infer_dtype(column, skipna=False)
    if kind in ("mixed", "mixed-integer", "mixed-integer-float"):
        # Group the cells by type and read each group at once.
        types = [_date_group(v) for v in column.tolist()]
        done = np.zeros(n, dtype=bool)
        for group in ("datetime", "floating", "string"):
            members = np.flatnonzero([t == group for t in types])
            if members.size:
                sub = np.full(members.size, np.datetime64("NaT"), dtype="datetime64[us]")
                ok = _fast_dates(column[members], group, sub)
                dates[members[ok]] = sub[ok]
                done[members[ok]] = True
    else:
        done = _fast_dates(column, kind, dates)
    errors: dict[int, InputError] = {}
    for i in np.flatnonzero(~done).tolist():
        try:
            dates[i] = parse_date(column[i], what=what, where=where(i)).to_datetime64()
        except InputError as error:
            errors[i] = error
    return dates, errors


def _date_group(value: Any) -> str:
    kind = type(value)
    if kind is dt.datetime or kind is pd.Timestamp or kind is dt.date:
        return "datetime"
    if kind is float or kind is int:
        return "floating"
    if kind is str:
        return "string"
    return "other"


def _fast_dates(column: np.ndarray, kind: str, out: np.ndarray) -> np.ndarray:
    """Write the cells whose date is certain into ``out``; mask of those cells."""
    n = len(column)
    none = np.zeros(n, dtype=bool)
    try:
        if kind in ("datetime", "date"):
            index = pd.DatetimeIndex(column)
            if index.tz is not None:
                return none  # aware datetimes: one at a time, each keeps its local date
            stamps = index.normalize().as_unit("us").to_numpy()
        elif kind in ("floating", "integer"):
            serials = column.astype(float)
            ok = np.isfinite(serials) & (serials >= 1) & (serials < _LAST_SERIAL)
            days = np.floor(np.where(ok, serials, 1.0)).astype(np.int64)
            stamps = (_EPOCH_DAY + days).astype("datetime64[us]")
            stamps[~ok] = np.datetime64("NaT")
        elif kind == "string":
            text = pd.Series(column, dtype=object).str.strip()
            iso = text.str.fullmatch(_ISO_DATE).fillna(False).to_numpy(dtype=bool)
            parsed = pd.to_datetime(text.where(iso), format="%Y-%m-%d", errors="coerce")
            stamps = parsed.to_numpy(dtype="datetime64[us]")
        else:
            return none
    except (TypeError, ValueError, OverflowError):
        return none
    good = ~np.isnat(stamps) & (stamps >= _FIRST_DAY) & (stamps <= _LAST_DAY)
    out[good] = stamps[good]
    return good


def parse_dates(
    values: Sequence[Any] | np.ndarray, *, what: str = "date", where: Where = _nowhere
) -> np.ndarray:
    """:func:`date_column`, raising the first refused cell's error."""
    dates, errors = date_column(values, what=what, where=where)
    if errors:
        raise errors[min(errors)]
    return dates
