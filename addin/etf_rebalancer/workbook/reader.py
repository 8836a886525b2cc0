"""Read a rebalancing workbook from disk into the raw ranges the engine takes (openpyxl).

The result is what Excel would hand ``REBAL_ORDERS``: lists of rows, header
first, except that a cell holding a formula (the ``=ETF_PRICE`` price column)
counts as empty, so its value comes from the quote layer or, offline, from the
workbook's Quotes sheet (:func:`market_from_quotes`).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etf_rebalancer.engine.market import MarketData, QuoteNeeds
from etf_rebalancer.engine.ranges import (
    is_blank,
    is_krx_code,
    normalise_header,
    normalise_ticker,
    parse_date,
    parse_number,
)
from etf_rebalancer.errors import InputError, Notice, WorkbookError
from etf_rebalancer.workbook import layout

REQUIRED_SHEETS = ("holdings", "targets")


class WorkbookNotFoundError(WorkbookError):
    """The workbook file does not exist."""


class NotAWorkbookError(WorkbookError):
    """The file is not an ``.xlsx`` workbook, or one too damaged to read."""


class MissingSheetsError(WorkbookError):
    """The workbook lacks a sheet the command needs (the message names it)."""


OPTIONAL_SHEETS = ("cash", "settings", "groups", "quotes")


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
        """Arguments for ``engine.inputs.read_request`` in the contract's order."""
        return (self.holdings, self.targets, self.cash, self.settings, self.groups)


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
    """Read the holdings, targets, cash, settings, groups and Quotes ranges of a workbook.

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
    from etf_rebalancer.engine.ranges import is_key_header

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


# ---------------------------------------------------------------- Quotes sheet


@dataclass(frozen=True)
class QuoteRow:
    """One row of the Quotes sheet."""

    ticker: str
    price: float | None
    currency: str
    time: dt.datetime | None
    status: str
    source: str
    row: int


def _quote_columns(header: Sequence[Any]) -> dict[str, int]:
    keys = ("ticker", "price", "currency", "time", "status", "source")
    spellings: dict[str, str] = {}
    for key, en, ko in zip(keys, layout.QUOTES_HEADER, layout.QUOTES_HEADER_KO, strict=True):
        spellings[normalise_header(en)] = key
        spellings[normalise_header(ko)] = key
    spellings.update({"symbol": "ticker", "date": "time", "ccy": "currency"})
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        key = spellings.get(normalise_header(cell))
        if key and key not in columns:
            columns[key] = index
    return columns


def quote_table(rows: Sequence[Sequence[Any]] | None) -> list[QuoteRow]:
    """Parse the Quotes sheet's rows (header first) into :class:`QuoteRow` items.

    Raises
    ------
    InputError
        When the header lacks Ticker or Price, or a price is not a number.
    """
    if not rows:
        return []
    columns = _quote_columns(rows[0])
    missing = [k for k in ("ticker", "price") if k not in columns]
    if missing:
        raise InputError(
            f"Quotes sheet needs the columns {', '.join(layout.QUOTES_HEADER[:3])} "
            f"(header row has {', '.join(str(c) for c in rows[0] if not is_blank(c))})",
            f"시세 시트에 {', '.join(layout.QUOTES_HEADER_KO[:3])} 열이 필요합니다",
        )

    def cell(row: Sequence[Any], key: str) -> Any:
        index = columns.get(key)
        return row[index] if index is not None and index < len(row) else None

    out = []
    for number, row in enumerate(rows[1:], start=2):
        ticker = cell(row, "ticker")
        if is_blank(ticker):
            continue
        where = f" (Quotes row {number}, {ticker})"
        text = str(ticker).strip().upper()
        if "/" not in text:
            text = normalise_ticker(ticker, where=where)
        when = cell(row, "time")
        try:
            time = None if is_blank(when) else parse_date(when, what="Time", where=where)
        except InputError:
            time = None
        out.append(
            QuoteRow(
                ticker=text,
                price=parse_number(cell(row, "price"), what="Price", where=where),
                currency=str(cell(row, "currency") or "").strip().upper(),
                time=None if time is None else time.to_pydatetime(),
                status=str(cell(row, "status") or "").strip(),
                source=str(cell(row, "source") or "").strip(),
                row=number,
            )
        )
    return out


def _ticker_forms(ticker: str) -> list[str]:
    """The spellings one listing may have: ``069500``, ``069500.KS``, ``069500.KQ``."""
    forms = [ticker]
    stem, _, suffix = ticker.partition(".")
    if suffix in ("KS", "KQ") and is_krx_code(stem):
        forms.append(stem)
    elif is_krx_code(ticker):
        forms += [f"{ticker}.KS", f"{ticker}.KQ"]
    return forms


def _direct_rate(pairs: dict[tuple[str, str], float], ccy: str, base: str) -> float | None:
    if ccy == base:
        return 1.0
    if pairs.get((ccy, base)):
        return pairs[(ccy, base)]
    if pairs.get((base, ccy)):
        return 1.0 / pairs[(base, ccy)]
    return None


def _fx_rate(pairs: dict[tuple[str, str], float], ccy: str, base: str) -> float | None:
    """Value of one ``ccy`` in ``base``: direct, inverse, or crossed through one currency."""
    rate = _direct_rate(pairs, ccy, base)
    if rate is not None:
        return rate
    for via in sorted({c for pair in pairs for c in pair} - {ccy, base}):
        first, second = _direct_rate(pairs, ccy, via), _direct_rate(pairs, via, base)
        if first is not None and second is not None:
            return first * second
    return None


def market_from_quotes(rows: Sequence[Sequence[Any]] | None, needs: QuoteNeeds) -> MarketData:
    """Answer a request's :class:`QuoteNeeds` from the Quotes sheet (the offline path).

    FX rows are named ``CCY/BASE`` with the value of one ``CCY`` in ``BASE``;
    the inverse pair and one cross through a third currency also work. A ticker
    or currency the sheet lacks becomes a failure naming it; sample or old
    prices add a notice saying so.
    """
    quotes = quote_table(rows)
    by_ticker: dict[str, QuoteRow] = {}
    pairs: dict[tuple[str, str], float] = {}
    for q in quotes:
        if "/" in q.ticker:
            a, _, b = q.ticker.partition("/")
            if q.price:
                pairs[(a.strip(), b.strip())] = q.price
        else:
            by_ticker.setdefault(q.ticker, q)
    prices: dict[str, float] = {}
    currencies: dict[str, str] = {}
    failures: dict[str, Notice] = {}
    used: list[QuoteRow] = []
    for ticker in needs.tickers:
        q = next((by_ticker[f] for f in _ticker_forms(ticker) if f in by_ticker), None)
        if q is None or q.price is None:
            failures[ticker] = Notice(
                f"No price for {ticker} on the Quotes sheet (run without --offline, "
                "or add a row for it)",
                f"시세 시트에 {ticker} 가격이 없습니다 (--offline 없이 실행하거나 행을 추가하세요)",
            )
            continue
        used.append(q)
        prices[ticker] = q.price
        if q.currency:
            currencies[ticker] = q.currency
    fx: dict[str, float] = {}
    base = needs.base_currency.upper()
    for ccy in needs.currencies:
        rate = _fx_rate(pairs, ccy.upper(), base)
        if rate is None:
            failures[ccy] = Notice(
                f"No FX rate {ccy}/{base} on the Quotes sheet (add a row {ccy}/{base})",
                f"시세 시트에 {ccy}/{base} 환율이 없습니다 ({ccy}/{base} 행을 추가하세요)",
            )
        else:
            fx[ccy] = rate
    notices: list[Notice] = []
    samples = [q for q in used if q.status.casefold() == "sample" or "sample" in q.source]
    if samples:
        dates = sorted({q.time.date().isoformat() for q in samples if q.time})
        when = f" written on {dates[-1]}" if dates else ""
        when_ko = f" ({dates[-1]} 작성)" if dates else ""
        notices.append(
            Notice(
                f"Prices are SAMPLE values from the Quotes sheet{when}, not live quotes: "
                "run `etf-rebal refresh` or drop --offline",
                f"가격은 시세 시트의 샘플 값{when_ko}이며 실시간이 아닙니다: "
                "`etf-rebal refresh` 를 실행하거나 --offline 을 빼세요",
            )
        )
    elif used:
        times = [q.time for q in used if q.time]
        if times:
            notices.append(
                Notice(
                    f"Prices from the Quotes sheet as of {min(times):%Y-%m-%d %H:%M}",
                    f"시세 시트 가격 기준 시각: {min(times):%Y-%m-%d %H:%M}",
                )
            )
    return MarketData(
        prices=prices,
        currencies=currencies,
        fx=fx,
        notices=tuple(notices),
        failures=failures,
    )
