"""Read the raw values Excel hands a UDF (lists of rows) into typed, validated tables.

Everything here is pure: it takes what ``xlwings`` delivers for an ``ndim=2``
range (a list of rows of ``float``/``str``/``bool``/``None``/``datetime``) and
returns pandas objects with canonical column names, or raises
:class:`~etf_rebalancer.errors.InputError` naming the range, row and value.
Row numbers in messages count the header as row 1, as the user sees the range.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from etf_rebalancer.errors import InputError

__all__ = [
    "ALIASES",
    "CASH_TICKER",
    "KeyValue",
    "as_rows",
    "detect_language",
    "is_blank",
    "is_krx_code",
    "normalise_header",
    "normalise_ticker",
    "parse_bool",
    "parse_date",
    "parse_number",
    "parse_weight",
    "read_key_values",
    "read_price_table",
    "read_table",
    "weights_to_fractions",
]

CASH_TICKER = "CASH"
_CASH_NAMES = {"CASH", "현금", "예수금"}

# Canonical column -> accepted header spellings (compared after normalise_header).
ALIASES: dict[str, tuple[str, ...]] = {
    "ticker": ("ticker", "symbol", "code", "티커", "종목코드", "종목", "코드", "심볼"),
    "name": ("name", "종목명", "이름"),
    "shares": ("shares", "quantity", "qty", "units", "수량", "보유수량", "주식수"),
    "price": ("price", "lastprice", "현재가", "가격", "주가"),
    "currency": ("currency", "ccy", "통화"),
    "account": ("account", "계좌"),
    "kind": ("type", "kind", "종류", "유형"),
    "target": ("target", "targetweight", "weight", "목표비중", "목표", "비중"),
    "band": ("band", "tolerance", "허용범위", "밴드", "허용오차"),
    "group": ("group", "theme", "그룹", "테마"),
    "min": ("min", "minweight", "최소", "최소비중"),
    "max": ("max", "maxweight", "cap", "최대", "최대비중", "상한"),
    "amount": ("amount", "value", "cash", "금액", "현금", "잔액"),
    "date": ("date", "날짜", "일자"),
    "key": ("key", "setting", "settings", "item", "설정", "항목", "키"),
}

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_KRX_CODE = re.compile(r"^[0-9][0-9A-Z]{5}$")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def normalise_header(value: Any) -> str:
    """Fold a header cell for matching: case, spaces, ``_``, ``-`` and ``.`` are ignored."""
    if value is None:
        return ""
    return re.sub(r"[\s_\-.()/%]+", "", str(value)).casefold()


_ALIAS_LOOKUP: dict[str, str] = {
    normalise_header(alias): canonical
    for canonical, aliases in ALIASES.items()
    for alias in aliases
}


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


def detect_language(*ranges: Any) -> str:
    """Return ``"ko"`` when any header or key cell of the ranges is written in Korean."""
    for values in ranges:
        try:
            rows = as_rows(values)
        except TypeError:
            continue
        if not rows:
            continue
        cells: Iterable[Any] = list(rows[0]) + [r[0] for r in rows[1:] if r]
        if any(isinstance(c, str) and _HANGUL.search(c) for c in cells):
            return "ko"
    return "en"


def is_krx_code(ticker: str) -> bool:
    """True for a six-character Korean exchange code such as ``069500`` or ``0030R0``."""
    return bool(_KRX_CODE.match(ticker)) and sum(c.isdigit() for c in ticker) >= 4


def normalise_ticker(value: Any, *, where: str = "") -> str:
    """Upper-case, trimmed ticker text; Korean codes typed as numbers get their zeros back.

    Excel stores ``069500`` typed into a General cell as the number 69500, so a
    whole number below 1,000,000 is read as a six-digit KRX code.
    """
    if isinstance(value, bool):
        raise InputError(
            f"Ticker must be text, got {value!r}{where}",
            f"티커는 텍스트여야 합니다: {value!r}{where}",
        )
    if isinstance(value, int | float):
        if not math.isfinite(value) or value != int(value) or not 0 < value < 1_000_000:
            raise InputError(
                f"Ticker must be text, got {value!r}{where}",
                f"티커는 텍스트여야 합니다: {value!r}{where}",
            )
        return f"{int(value):06d}"
    if not isinstance(value, str):
        raise InputError(
            f"Ticker must be text, got {value!r}{where}",
            f"티커는 텍스트여야 합니다: {value!r}{where}",
        )
    ticker = value.strip().upper()
    if ticker in _CASH_NAMES or value.strip() in _CASH_NAMES:
        return CASH_TICKER
    return ticker


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
        f"{what} 값은 TRUE 또는 FALSE여야 합니다: {value!r}{where}",
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
        f"{what} 값은 날짜여야 합니다: {value!r}{where}",
    )


def read_table(
    values: Any,
    *,
    name: str,
    required: Sequence[str],
    optional: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a range with a header row into a DataFrame of raw cell values.

    Parameters
    ----------
    values
        The range as Excel delivers it (list of rows, header first).
    name
        The argument name used in messages (``"holdings"``, ``"targets"``...).
    required, optional
        Canonical column names (keys of :data:`ALIASES`). Other columns are ignored.

    Returns
    -------
    pandas.DataFrame
        One column per found canonical name (object dtype, raw cells), plus
        ``row``: the 1-based row number inside the range (header is row 1).
        Blank rows are dropped.

    Raises
    ------
    InputError
        When the range is empty or a required column is missing (the message
        lists the header names that would be accepted).
    """
    rows = as_rows(values)
    if not rows or all(is_blank(c) for c in rows[0]):
        raise InputError(
            f"{name} range is empty: it needs a header row with {', '.join(_en(required))}",
            f"{name} 범위가 비어 있습니다: 머리글 {', '.join(_ko(required))} 이(가) 필요합니다",
        )
    width = max(len(r) for r in rows)
    header = [normalise_header(c) for c in rows[0]] + [""] * (width - len(rows[0]))
    wanted = {*required, *optional}
    positions: dict[str, int] = {}
    for col, cell in enumerate(header):
        canonical = _ALIAS_LOOKUP.get(cell)
        if canonical in wanted and canonical not in positions:
            positions[canonical] = col
    missing = [c for c in required if c not in positions]
    if missing:
        got = ", ".join(repr(c) for c in rows[0] if not is_blank(c)) or "nothing"
        raise InputError(
            f"{name} needs a column {' and '.join(_en(missing))} (header row has {got})",
            f"{name} 범위에 {', '.join(_ko(missing))} 열이 필요합니다 (머리글: {got})",
        )
    records = []
    for index, row in enumerate(rows[1:], start=2):
        padded = list(row) + [None] * (width - len(row))
        cells = {c: padded[p] for c, p in positions.items()}
        if all(is_blank(v) for v in cells.values()):
            continue
        cells["row"] = index
        records.append(cells)
    return pd.DataFrame.from_records(records, columns=[*positions, "row"]).astype(
        {c: object for c in positions}
    )


def _en(columns: Iterable[str]) -> list[str]:
    return [ALIASES[c][0].capitalize() for c in columns]


def _ko(columns: Iterable[str]) -> list[str]:
    return [next((a for a in ALIASES[c] if _HANGUL.search(a)), c) for c in columns]


@dataclass(frozen=True)
class KeyValue:
    """One setting as written: normalised key, raw key text, raw value and its row."""

    key: str
    label: str
    value: Any
    row: int


def read_key_values(values: Any, *, name: str = "settings") -> dict[str, KeyValue]:
    """Read a two-column key/value range (an optional header row is skipped).

    Keys are folded like headers (``Base Currency`` = ``base_currency``), except
    that the space in ``FX USD`` is kept as ``fx usd`` so the currency stays
    readable. Blank keys are skipped; a repeated key raises :class:`InputError`.
    """
    rows = as_rows(values)
    out: dict[str, KeyValue] = {}
    for index, row in enumerate(rows, start=1):
        if not row or is_blank(row[0]):
            continue
        label = str(row[0]).strip()
        value = row[1] if len(row) > 1 else None
        if index == 1 and is_key_header(label):
            continue  # a header row such as Key | Value or 설정 | 값
        key = setting_key(label)
        if key in out:
            raise InputError(
                f"{name} has the key {label!r} twice (rows {out[key].row} and {index})",
                f"{name}에 {label!r} 키가 두 번 있습니다 ({out[key].row}행, {index}행)",
            )
        out[key] = KeyValue(key, label, value, index)
    return out


def is_key_header(label: Any) -> bool:
    """True for the header of a settings range's key column (``Key``, ``Setting``, ``설정``)."""
    return _ALIAS_LOOKUP.get(normalise_header(label)) == "key"


def setting_key(label: str) -> str:
    """The key a settings label is read as: ``Fee Rate`` and ``fee-rate`` are ``fee_rate``."""
    fx = re.match(r"^\s*fx[\s_\-:]+([A-Za-z]{3})\s*$", label, flags=re.IGNORECASE)
    if fx:
        return f"fx {fx.group(1).casefold()}"
    return re.sub(r"[\s\-]+", "_", label.strip()).casefold()


def unknown_keys_error(
    settings: Mapping[str, KeyValue], allowed: Iterable[str], *, name: str = "settings"
) -> InputError | None:
    """Return an error naming every key not in ``allowed`` (``fx xxx`` keys match ``fx *``)."""
    allowed = set(allowed)
    bad = [
        kv
        for k, kv in settings.items()
        if k not in allowed and not (k.startswith("fx ") and "fx *" in allowed)
    ]
    if not bad:
        return None
    names = ", ".join(f"{kv.label!r} (row {kv.row})" for kv in bad)
    names_ko = ", ".join(f"{kv.label!r} ({kv.row}행)" for kv in bad)
    return InputError(
        f"Unknown {name} key {names}; allowed: {', '.join(sorted(allowed))}",
        f"알 수 없는 {name} 키 {names_ko}; 사용 가능: {', '.join(sorted(allowed))}",
    )


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
            f"{name} 범위가 비어 있습니다: 머리글 날짜, 그리고 티커별 열이 필요합니다",
        )
    header = rows[0]
    filled = [c for row in rows for c in row if not is_blank(c)]
    if len(filled) == 1 and isinstance(filled[0], str) and filled[0].startswith(_UPSTREAM_ERRORS):
        # A price range that is one error cell is another formula's failure (ETF_HISTORY
        # offline, #N/A): pass its words on instead of asking for a Date header.
        raise InputError(
            f"{name} holds an error, not prices: {filled[0]}",
            f"{name} 범위에 가격 대신 오류가 있습니다: {filled[0]}",
        )
    date_col = next(
        (i for i, c in enumerate(header) if _ALIAS_LOOKUP.get(normalise_header(c)) == "date"), None
    )
    if date_col is None:
        got = ", ".join(repr(c) for c in header if not is_blank(c)) or "nothing"
        raise InputError(
            f"{name} needs a column Date (header row has {got})",
            f"{name} 범위에 날짜 열이 필요합니다 (머리글: {got})",
        )
    columns: dict[str, int] = {}
    for col, cell in enumerate(header):
        if col == date_col or is_blank(cell):
            continue
        ticker = normalise_ticker(cell, where=f" ({name} header, column {col + 1})")
        if ticker in columns:
            raise InputError(
                f"{name} has the ticker {ticker} twice "
                f"(columns {columns[ticker] + 1} and {col + 1})",
                f"{name}에 {ticker} 티커가 두 번 있습니다 ({columns[ticker] + 1}열, {col + 1}열)",
            )
        columns[ticker] = col
    if not columns:
        raise InputError(
            f"{name} needs at least one ticker column after Date",
            f"{name} 범위에 날짜 다음 티커 열이 하나 이상 필요합니다",
        )
    dates: list[pd.Timestamp] = []
    data: list[list[float]] = []
    seen: dict[pd.Timestamp, int] = {}
    for index, row in enumerate(rows[1:], start=2):
        padded = list(row) + [None] * (len(header) - len(row))
        if all(is_blank(v) for v in padded):
            continue
        date = parse_date(padded[date_col], what="Date", where=f" ({name} row {index})")
        if date in seen:
            raise InputError(
                f"{name} has the date {date.date()} twice (rows {seen[date]} and {index})",
                f"{name}에 {date.date()} 날짜가 두 번 있습니다 ({seen[date]}행, {index}행)",
            )
        seen[date] = index
        prices: list[float] = []
        for ticker, col in columns.items():
            where = f" ({name} row {index}, {ticker})"
            price = parse_number(padded[col], what="Price", where=where)
            if price is not None and price <= 0:
                raise InputError(
                    f"Price must be positive, got {padded[col]!r}{where}",
                    f"가격은 0보다 커야 합니다: {padded[col]!r}{where}",
                )
            prices.append(math.nan if price is None else price)
        dates.append(date)
        data.append(prices)
    frame = pd.DataFrame(
        data, index=pd.DatetimeIndex(dates, name="Date"), columns=list(columns), dtype=float
    )
    return frame.sort_index()


def column_values(values: Any, canonical: str) -> list[Any]:
    """Cells below the header of the column named like ``canonical`` (empty if none)."""
    rows = as_rows(values)
    if not rows:
        return []
    index = next(
        (i for i, h in enumerate(rows[0]) if _ALIAS_LOOKUP.get(normalise_header(h)) == canonical),
        None,
    )
    if index is None:
        return []
    return [row[index] if index < len(row) else None for row in rows[1:]]


def refresh_symbols(
    holdings: Any, targets: Any, cash: Any = None, settings: Any = None
) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Tickers and currencies a workbook's formulas will ask the quote cache for.

    Lenient on purpose: the Refresh button and ``etf-rebal refresh`` fetch what
    they can even when a range has an error, which the UDFs then report by row.

    Returns
    -------
    tuple
        ``(tickers, currencies, base_currency)``: holdings and targets tickers
        (without CASH) in order of appearance, the holdings' and cash pools'
        currencies other than the base, and the base (``USD`` when not set).
    """
    tickers: dict[str, None] = {}
    for value in column_values(holdings, "ticker") + column_values(targets, "ticker"):
        if is_blank(value):
            continue
        try:
            ticker = normalise_ticker(value)
        except InputError:
            continue
        if ticker != CASH_TICKER:
            tickers[ticker] = None
    base = "USD"
    if settings is not None:
        try:
            entry = read_key_values(settings).get("base_currency")
        except InputError:
            entry = None
        if entry is not None and isinstance(entry.value, str) and entry.value.strip():
            base = entry.value.strip().upper()
    currencies: dict[str, None] = {}
    for value in column_values(holdings, "currency") + column_values(cash, "currency"):
        if isinstance(value, str) and len(value.strip()) == 3 and value.strip().upper() != base:
            currencies[value.strip().upper()] = None
    return tuple(tickers), tuple(currencies), base
