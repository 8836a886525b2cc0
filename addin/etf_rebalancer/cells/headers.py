"""Ranges with a header row: English/Korean column aliases, table reading, language.

Row numbers in messages count the header as row 1, as the user sees the range.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from etf_rebalancer.cells.labels import ko
from etf_rebalancer.cells.values import as_rows, is_blank
from etf_rebalancer.errors import InputError

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
    # Accounts (household rebalancing). The accounts range's Type/유형 column is read
    # through "kind" above, so holdings' ETF/STOCK Type keeps its meaning.
    "asset_class": ("class", "assetclass", "자산군", "자산구분"),
    "max_risky": ("maxrisky", "riskymax", "riskcap", "위험자산한도", "위험자산비중한도"),
    "key": ("key", "setting", "settings", "item", "설정", "항목", "키"),
}


_HANGUL = re.compile(r"[\uac00-\ud7a3]")


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


#: Values of the ``language`` setting: English and Korean spellings.
LANGUAGES: dict[str, str] = {
    "en": "en",
    "english": "en",
    "영어": "en",
    "ko": "ko",
    "kr": "ko",
    "korean": "ko",
    "한국어": "ko",
    "한글": "ko",
}


def _is_language_key(label: Any) -> bool:
    return isinstance(label, str) and re.sub(r"[\s_\-]+", "", label).casefold() == "language"


def language_setting(settings: Any) -> str | None:
    """The ``language`` setting of a key/value range (``"en"``/``"ko"``), or ``None``.

    Unreadable values are left to the settings reader to refuse; here they count as unset.
    """
    try:
        rows = as_rows(settings)
    except TypeError:
        return None
    for row in rows:
        if len(row) > 1 and _is_language_key(row[0]) and isinstance(row[1], str):
            return LANGUAGES.get(row[1].strip().casefold())
    return None


def _has_hangul(cells: Iterable[Any]) -> bool:
    return any(isinstance(c, str) and _HANGUL.search(c) for c in cells)


def detect_language(*ranges: Any, settings: Any = None) -> str:
    """The language of a workbook's answer: ``"ko"`` or ``"en"``.

    The ``language`` setting decides when set (``ko``, or ``en`` to force English).
    Otherwise the answer is Korean when a header is: the first row of any range,
    and the key column of a settings range (``settings``, or any range whose
    first header cell is a key header such as ``Setting``/``설정``). Data cells
    never count: an English table listing Korean names is answered in English.
    """
    key_ranges = [settings] if settings is not None else []
    header_ranges = list(ranges)
    for values in ranges:
        rows = _rows_or_none(values)
        if rows and rows[0] and _ALIAS_LOOKUP.get(normalise_header(rows[0][0])) == "key":
            key_ranges.append(values)
    for values in key_ranges:
        chosen = language_setting(values)
        if chosen:
            return chosen
    for values in header_ranges:
        rows = _rows_or_none(values)
        if rows and _has_hangul(rows[0]):
            return "ko"
    for values in key_ranges:
        rows = _rows_or_none(values) or []
        if _has_hangul(r[0] for r in rows if r):
            return "ko"
    return "en"


def _rows_or_none(values: Any) -> list[list[Any]] | None:
    try:
        return as_rows(values)
    except TypeError:
        return None


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
            f"{ko(name)} 범위가 비어 있습니다: 머리글 {', '.join(_ko(required))} 이(가) 필요합니다",
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
        got = ", ".join(repr(c) for c in rows[0] if not is_blank(c))
        raise InputError(
            f"{name} needs a column {' and '.join(_en(missing))} "
            f"(header row has {got or 'nothing'})",
            f"{ko(name)} 범위에 {', '.join(_ko(missing))} 열이 필요합니다 "
            f"(머리글: {got or '없음'})",
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
