"""Read a rebalancing workbook from disk into the raw ranges the engine takes (openpyxl).

The result is what Excel would hand ``REBAL_ORDERS``: lists of rows, header
first, except that a cell holding a formula (the ``=ETF_PRICE`` price column)
counts as empty, so its value comes from the quote layer or, offline, from the
workbook's Quotes sheet (:class:`etf_rebalancer.planning.SheetQuotes`).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etf_rebalancer.cells import (
    is_blank,
    normalise_header,
)
from etf_rebalancer.errors import MissingSheetsError as MissingSheetsError
from etf_rebalancer.errors import NotAWorkbookError as NotAWorkbookError
from etf_rebalancer.errors import WorkbookNotFoundError as WorkbookNotFoundError
from etf_rebalancer.workbook import layout

REQUIRED_SHEETS = ("holdings", "targets")


OPTIONAL_SHEETS = ("cash", "settings", "groups", "accounts", "quotes")


@dataclass
class WorkbookRanges:
    """The raw ranges of one workbook (lists of rows, header first; ``None`` when absent)."""

    path: Path
    lang: str
    sheets: dict[str, str]  # canonical -> the workbook's sheet name
    holdings: list[list[Any]]
    targets: list[list[Any]]
    cash: list[list[Any]] | None = None
    settings: list[list[Any]] | None = None
    groups: list[list[Any]] | None = None
    quotes: list[list[Any]] | None = None
    # The Accounts sheet of a household workbook (account, type, max risky).
    accounts: list[list[Any]] | None = None
    formula_cells: dict[str, int] = field(default_factory=dict)
    # The Backtest sheet (absent in older or hand-made workbooks): its settings
    # table, the history dates it names, and a price table pasted on the Prices
    # sheet in place of the ETF_HISTORY formula.
    backtest_settings: list[list[Any]] | None = None
    history_start: Any = None
    history_end: Any = None
    history_currency: Any = None
    prices: list[list[Any]] | None = None

    def request_args(self) -> tuple[Any, ...]:
        """Arguments for ``planning.plan_ranges`` in the contract's order."""
        return (self.holdings, self.targets, self.cash, self.settings, self.groups, self.accounts)


def _cell_value(value: Any) -> Any:
    """A cell as Excel hands it to a UDF: formulas are missing, whole numbers are floats."""
    if isinstance(value, str) and value.startswith("="):
        return None
    if value is not None and not isinstance(value, str | int | float | bool | dt.datetime):
        # ArrayFormula, DataTableFormula: formulas too.
        if type(value).__name__.endswith("Formula"):
            return None
        if isinstance(value, dt.date | dt.time):
            return value
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _table_rows(ws: Any, canonical: str) -> tuple[list[list[Any]], int]:
    """Rows of the sheet's table (header first) and how many formula cells it had."""
    from openpyxl.utils.cell import range_boundaries

    tables = dict(ws.tables.items()) if hasattr(ws, "tables") else {}
    ref = tables.get(layout.TABLES.get(canonical, ""))
    if ref is None and tables:
        ref = next(iter(tables.values()))
    if ref is not None:
        ref = ref if isinstance(ref, str) else ref.ref
        min_col, min_row, max_col, max_row = range_boundaries(ref)
    else:
        # No Excel table: the header is the first non-empty row, and the range runs
        # from its first filled cell to the first blank header cell.
        min_row = min_col = max_col = None
        for row in ws.iter_rows():
            filled = [c for c in row if not is_blank(c.value)]
            if filled:
                min_row, min_col = filled[0].row, filled[0].column
                max_col = min_col
                while not is_blank(ws.cell(min_row, max_col + 1).value):
                    max_col += 1
                break
        if min_row is None:
            return [], 0
        max_row = ws.max_row
    rows: list[list[Any]] = []
    formulas = 0
    for row in ws.iter_rows(
        min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col, values_only=True
    ):
        cells = []
        for value in row:
            cell = _cell_value(value)
            if cell is None and value is not None:
                formulas += 1
            cells.append(cell)
        rows.append(cells)
    return rows, formulas


def read_workbook(path: str | Path) -> WorkbookRanges:
    """Read the holdings, targets, cash, settings, groups, accounts and Quotes ranges of a workbook.

    Raises
    ------
    WorkbookError
        When the file does not exist, is not an ``.xlsx`` workbook, or lacks the
        Holdings or Targets sheet (the message names the sheets it has).
    """
    path = Path(path)
    if not path.exists():
        raise WorkbookNotFoundError(
            f"Workbook not found: {path}",
            f"통합 문서를 찾을 수 없습니다: {path}",
        )
    if path.is_dir() or not zipfile.is_zipfile(path):
        raise NotAWorkbookError(
            f"Not an Excel workbook (.xlsx): {path}",
            f"엑셀 통합 문서(.xlsx)가 아닙니다: {path}",
        )
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, data_only=False)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise NotAWorkbookError(
            f"Cannot read the workbook {path}: {type(error).__name__}: {error}",
            f"통합 문서를 읽을 수 없습니다 {path}: {type(error).__name__}: {error}",
        ) from error
    names = list(wb.sheetnames)
    sheets = {
        canonical: found
        for canonical in (*REQUIRED_SHEETS, *OPTIONAL_SHEETS)
        if (found := layout.find_sheet(names, canonical)) is not None
    }
    lang = "ko" if any(sheets.get(c) == layout.sheet_name(c, "ko") for c in sheets) else "en"
    missing = [c for c in REQUIRED_SHEETS if c not in sheets]
    if missing:
        want = ", ".join(f"{layout.SHEETS[c][0]} ({layout.SHEETS[c][1]})" for c in missing)
        has = ", ".join(names)
        raise MissingSheetsError(
            f"{path.name} has no sheet {want}; its sheets are: {has}",
            f"{path.name}에 {want} 시트가 없습니다; 있는 시트: {has}",
        )
    ranges: dict[str, list[list[Any]] | None] = {}
    formula_cells: dict[str, int] = {}
    for canonical, name in sheets.items():
        rows, formulas = _table_rows(wb[name], canonical)
        ranges[canonical] = rows
        formula_cells[canonical] = formulas
    backtest = _backtest_inputs(wb)
    wb.close()
    return WorkbookRanges(
        path=path,
        lang=lang,
        sheets=sheets,
        holdings=ranges["holdings"] or [],
        targets=ranges["targets"] or [],
        cash=ranges.get("cash"),
        settings=ranges.get("settings"),
        groups=ranges.get("groups"),
        quotes=ranges.get("quotes"),
        accounts=ranges.get("accounts"),
        formula_cells=formula_cells,
        **backtest,
    )


def _named_value(wb: Any, name: str) -> Any:
    """The value of the one cell a workbook name points at (``None`` if absent or a formula)."""
    defined = wb.defined_names.get(name)
    if defined is None:
        return None
    for sheet, ref in defined.destinations:
        if sheet in wb.sheetnames:
            cell = wb[sheet][ref.replace("$", "").split(":")[0]]
            return _cell_value(cell.value)
    return None


def _backtest_inputs(wb: Any) -> dict[str, Any]:
    """The Backtest sheet's settings table, history dates and a pasted Prices table."""
    out: dict[str, Any] = {
        "history_start": _named_value(wb, layout.BACKTEST_NAMES["start"]),
        "history_end": _named_value(wb, layout.BACKTEST_NAMES["end"]),
        "history_currency": _named_value(wb, layout.BACKTEST_NAMES["currency"]),
    }
    for ws in wb.worksheets:
        if layout.TABLES["backtest"] in ws.tables:
            rows, _ = _table_rows(ws, "backtest")
            out["backtest_settings"] = [row[:2] for row in rows]
            break
    name = layout.find_sheet(list(wb.sheetnames), "prices")
    if name is not None:
        out["prices"] = _price_table(wb[name])
    return out


def _price_table(ws: Any) -> list[list[Any]] | None:
    rows = [[_cell_value(v) for v in row] for row in ws.iter_rows(values_only=True)]
    return price_table(rows)


_DATE_HEADERS = ("date", "날짜", "일자")


def price_table(grid: Sequence[Sequence[Any]]) -> list[list[Any]] | None:
    """A price table typed or pasted on the Prices sheet: from its ``Date`` header down.

    ``grid`` is the sheet's values (formulas as ``None``). The table starts at
    the first ``Date`` header among the first 20 rows and ends at the first
    empty row; ``None`` while the sheet holds the ``ETF_HISTORY`` formula
    (nothing stored) or an error value.
    """
    where = date_header(grid)
    if where is not None:
        r, first = where
        rows: list[list[Any]] = []
        for values in grid[r:]:
            cells = list(values[first:])
            while cells and is_blank(cells[-1]):
                cells.pop()
            if not cells:
                break
            rows.append(cells)
        return rows
    return None


def date_header(grid: Sequence[Sequence[Any]]) -> tuple[int, int] | None:
    """(row, column), 0-based, of the first ``Date`` header among a grid's first 20 rows."""
    for r, row in enumerate(grid[:20]):
        first = next((c for c, v in enumerate(row) if not is_blank(v)), None)
        if first is not None and normalise_header(row[first]) in _DATE_HEADERS:
            return r, first
    return None


def backtest_sheet_inputs(grid: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """The settings table and history dates of a Backtest sheet given as values.

    For hosts without table objects or workbook names (the Refresh button's
    Book): the table is found by its header (``Setting``/``설정`` beside a
    value column) and the dates by their labels (:data:`layout.HISTORY_LABELS`),
    each value in the cell right of its label.
    """
    from etf_rebalancer.cells import is_key_header

    out: dict[str, Any] = {
        "backtest_settings": None,
        "history_start": None,
        "history_end": None,
        "history_currency": None,
    }
    labels = {
        normalise_header(text): key for key, pair in layout.HISTORY_LABELS.items() for text in pair
    }
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            if is_blank(value):
                continue
            key = labels.get(normalise_header(value)) if isinstance(value, str) else None
            if key is not None:
                out[f"history_{key}"] = row[c + 1] if c + 1 < len(row) else None
            elif (
                out["backtest_settings"] is None
                and is_key_header(value)
                and c + 1 < len(row)
                and not is_blank(row[c + 1])  # the Value header; a section title stands alone
            ):
                table = [[value, row[c + 1]]]
                for below in grid[r + 1 :]:
                    if c >= len(below) or is_blank(below[c]):
                        break
                    table.append([below[c], below[c + 1] if c + 1 < len(below) else None])
                out["backtest_settings"] = table
    return out
