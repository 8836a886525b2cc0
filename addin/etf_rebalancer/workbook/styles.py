"""Cell formats and writers shared by the template sheets (XlsxWriter)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from xlsxwriter.utility import quote_sheetname, xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from etf_rebalancer.workbook.layout import ADDIN_MISSING_NAME

# Money in its own currency: KRW and JPY have no minor unit, the others show cents.
MONEY_FORMATS: dict[str, str] = {
    "USD": "$#,##0.00",
    "KRW": '"₩"#,##0',
    "EUR": '"€"#,##0.00',
    "GBP": '"£"#,##0.00',
    "JPY": '"¥"#,##0',
    "CHF": '"CHF "#,##0.00',
    "CAD": '"C$"#,##0.00',
    "AUD": '"A$"#,##0.00',
    "HKD": '"HK$"#,##0.00',
}
PERCENT_FORMAT = "0.0%"
# Whole shares as integers (never "52." as "#,##0.##" shows them); a conditional
# format gives fractional counts their decimals (FRACTION_FORMAT).
SHARES_FORMAT = "#,##0"
FRACTION_FORMAT = "#,##0.######"
NUMBER_FORMAT = "#,##0.00"
TEXT_FORMAT = "@"  # ticker columns: 069500 typed by a user stays 069500
# Colour code the Start sheet explains: what a user types, what the sheets compute,
# and prices that came from the Quotes sheet rather than the add-in.
INPUT_FILL = "#FFF9DB"
INPUT_FONT = "#1F3FBF"
COMPUTED_FILL = "#EDEDED"
FALLBACK_FILL = "#FCE4D6"
FALLBACK_FONT = "#9C5700"
# Cached numbers are written to 12 significant digits: the last bits of a float
# differ between machines (BLAS, libm), the shown digits do not.
CACHE_DIGITS = 12
DATE_FORMAT = "yyyy-mm-dd hh:mm"
# Excel shows a boolean cell as TRUE/FALSE whatever its format; LibreOffice shows
# 1/0 once the cell has any other format (alignment), unless it is this one.
BOOLEAN_FORMAT = '"TRUE";"TRUE";"FALSE"'


class Formats:
    """Formats of one workbook, created once per distinct set of properties."""

    def __init__(self, wb: Workbook) -> None:
        self.wb = wb
        self._cache: dict[tuple[tuple[str, Any], ...], Any] = {}
        self.header = self.get(bold=True, bg_color="#1F4E78", font_color="#FFFFFF", border=1)

    def get(self, **props: Any) -> Any:
        key = tuple(sorted(props.items()))
        if key not in self._cache:
            self._cache[key] = self.wb.add_format(props)
        return self._cache[key]

    def money(self, currency: str, **extra: Any) -> Any:
        return self.get(num_format=money_format(currency), **extra)

    def input(self, **extra: Any) -> Any:
        """A cell the user types into (the colour the Start sheet calls "input")."""
        return self.get(bg_color=INPUT_FILL, font_color=INPUT_FONT, **extra)

    def computed(self, **extra: Any) -> Any:
        """A cell the workbook computes (grey)."""
        return self.get(bg_color=COMPUTED_FILL, **extra)


def money_format(currency: str) -> str:
    """Number format of an amount in ``currency`` (two decimals for unknown currencies)."""
    return MONEY_FORMATS.get(str(currency).upper(), NUMBER_FORMAT)


def cached_number(value: float) -> float:
    """A cached result as written: rounded to :data:`CACHE_DIGITS` significant digits."""
    return float(f"{float(value):.{CACHE_DIGITS}g}")


def guarded(formula: str, anchor: str | None = None, missing: str = ADDIN_MISSING_NAME) -> str:
    """``=F(...)`` as ``=IFERROR(F(...),<missing>)``: without the add-in Excel evaluates an
    unknown function to ``#NAME?``; this answers with the Start sheet's short text instead.

    The add-in's functions return their own errors as text, so IFERROR catches only
    the missing add-in (and Excel's own errors in arguments), never a message.
    ``anchor``: the range the formula's saved result covers (``$B$3:$K$7``): the
    text only in its first cell and blanks in the others, for programs that keep
    a spill's saved size and would repeat a single value over all of it
    (LibreOffice, Excel 2019).
    """
    body = formula[1:] if formula.startswith("=") else formula
    if anchor is None or ":" not in anchor:
        return f"=IFERROR({body},{missing})"
    first = anchor.split(":")[0]
    only_here = f"(ROW({anchor})=ROW({first}))*(COLUMN({anchor})=COLUMN({first}))"
    return f'=IFERROR({body},IF({only_here},{missing},""))'


def page_setup(ws: Worksheet, *, landscape: bool = True, fit: bool = True) -> None:
    """A4 with narrow margins; ``fit``: one page wide (else the sheet's own breaks)."""
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_paper(9)  # A4
    if fit:
        ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)


def spill_names(
    wb: Workbook,
    sheet: str,
    first_row: int,
    key_col: int,
    columns: dict[str, int],
    rows: int = 1000,
) -> dict[str, str]:
    """Sheet-local names over the data rows of a spill, for chart series.

    Each name is ``OFFSET(first cell, 0, 0, MAX(1, COUNTA(key column)), 1)`` for
    one column (an offset from ``key_col``): as long as the spill is, whatever
    the template held. Returns name -> the reference a chart series takes.
    """
    where = quote_sheetname(sheet)
    key_first = xl_rowcol_to_cell(first_row, key_col, True, True)
    key_last = xl_rowcol_to_cell(first_row + rows - 1, key_col, True, True)
    count = f"MAX(1,COUNTA({where}!{key_first}:{key_last}))"
    out = {}
    for name, offset in columns.items():
        cell = xl_rowcol_to_cell(first_row, key_col + offset, True, True)
        wb.define_name(f"{where}!{name}", f"=OFFSET({where}!{cell},0,0,{count},1)")
        out[name] = f"={where}!{name}"
    return out


class CachedText(str):
    """A cached formula result that stays text however numeric it looks ("069500").

    XlsxWriter types an array formula's cached value by trying ``float(value)``;
    refusing the conversion keeps ``t="str"``, so a viewer that does not
    recalculate shows 069500, not 69500 (tests check the XML).
    """

    __slots__ = ()

    def __float__(self) -> float:
        raise ValueError("cached text")


def write_spill(
    ws: Worksheet,
    row: int,
    col: int,
    formula: str,
    rows: Sequence[Sequence[Any]],
    row_format: Callable[[Sequence[Any]], Any] | None = None,
    date_format: Any = None,
) -> None:
    """A dynamic-array formula at ``(row, col)`` with ``rows`` as its cached result.

    Excel saves a spill as the formula in its anchor (with the first value)
    and plain values in the other cells; so does this. ``row_format(values)``
    formats a whole data row (not the header), ``date_format`` the datetimes.
    """
    width = max(len(r) for r in rows)
    first = rows[0][0] if rows[0] else ""
    ws.write_dynamic_array_formula(
        row,
        col,
        row + len(rows) - 1,
        col + width - 1,
        formula,
        None,
        CachedText(first)
        if isinstance(first, str)
        else cached_number(first)
        if isinstance(first, int | float) and not isinstance(first, bool)
        else first,
    )
    # Written over the zeros XlsxWriter pads the range with (keeping column formats).
    for i, values in enumerate(rows):
        cell_format = row_format(values) if row_format and i else None
        for j, value in enumerate(values):
            if i == 0 and j == 0:
                continue
            r, c = row + i, col + j
            if value is None:
                ws.write_blank(r, c, None, cell_format)
            elif isinstance(value, dt.datetime):
                ws.write_datetime(r, c, value, date_format or cell_format)
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value, cell_format)
            elif isinstance(value, int | float):
                ws.write_number(r, c, cached_number(value), cell_format)
            else:
                ws.write_string(r, c, str(value), cell_format)
