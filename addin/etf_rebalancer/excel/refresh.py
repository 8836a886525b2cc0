"""The Refresh button: fetch every quote a workbook needs, write the Quotes sheet, recalculate.

``main()`` is what the ribbon's ``RibbonMyAddin.RunMain`` runs
(``import etf_rebalancer; etf_rebalancer.main()``). The work is split so that
everything but the Book I/O is a pure function over lists of rows:
:func:`read_sheets` (Book -> rows), :func:`collect_needs` (rows -> tickers,
currencies, base currency), :func:`quote_rows` (quotes -> the Quotes table) and
:func:`refresh` which ties them together against a real ``xlwings.Book``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import xlwings as xw

from etf_rebalancer.cells import detect_language
from etf_rebalancer.cells.labels import localize_rows
from etf_rebalancer.engine.market import QuoteNeeds
from etf_rebalancer.errors import RebalancerError, WorkbookError
from etf_rebalancer.planning.symbols import refresh_symbols
from etf_rebalancer.workbook import layout

TITLE = "ETF Rebalancer"
INPUT_SHEETS = ("holdings", "targets", "cash", "settings", "groups", "accounts")
Progress = Callable[[str], None]  # what quotes.service.QuoteService.refresh reports


class QuoteSource(Protocol):
    """What the Refresh button needs from the quote layer (``quotes.service``)."""

    def refresh(
        self,
        tickers: Sequence[str],
        currencies: Sequence[str],
        base_currency: str | None,
        progress: Progress | None,
    ) -> Any:
        """Fetch everything in one batch (cache updated)."""

    def quote(self, ticker: str) -> tuple[Any, Any, Any, str, str]:
        """``(price, currency, time, status, source)`` of a ticker after the refresh."""

    def fx(self, from_currency: str, to_currency: str) -> tuple[Any, Any, str, str]:
        """``(rate, time, status, source)`` for one unit of ``from_currency``."""


class ServiceQuotes:
    """:class:`QuoteSource` over the quote layer's service (the process-wide one by default)."""

    def __init__(self, service: Any = None) -> None:
        if service is None:
            from etf_rebalancer.quotes.service import get_service

            service = get_service()
        self.service = service

    def refresh(self, tickers, currencies, base_currency, progress):
        return self.service.refresh(tickers, currencies, base_currency, progress)

    def quote(self, ticker):
        _, price, currency, time, status, source = self.service.sheet_row(ticker)
        return price, currency, time, status, source

    def fx(self, from_currency, to_currency):
        from etf_rebalancer.quotes.symbols import fx_ticker

        _, rate, _, time, status, source = self.service.sheet_row(
            fx_ticker(from_currency, to_currency)
        )
        return rate, time, status, source


# ---------------------------------------------------------------- pure parts


def collect_needs(sheets: Mapping[str, Any]) -> QuoteNeeds:
    """Tickers (holdings and targets) and currencies (holdings, cash) to fetch.

    Cells that are not tickers are skipped here: the UDFs report them, naming the row.
    """
    return refresh_symbols(
        sheets.get("holdings"), sheets.get("targets"), sheets.get("cash"), sheets.get("settings")
    )


def _cell(value: Any) -> Any:
    return "" if value is None else value


def quote_rows(source: QuoteSource, needs: QuoteNeeds, lang: str = "en") -> list[list[Any]]:
    """The Quotes table: header, one row per ticker, then one ``CCY/BASE`` row per FX rate.

    Rows come from the quote layer's one builder (``quotes.rows.quote_row``);
    blanks become ``""`` here, at the edge to Excel.
    """
    from etf_rebalancer.quotes.rows import quote_row, quotes_header

    rows: list[list[Any]] = [quotes_header(lang)]
    for ticker in needs.tickers:
        try:
            price, currency, time, status, origin = source.quote(ticker)
        except RebalancerError as error:
            price, currency, time, status, origin = None, None, None, error.localized(lang), ""
        rows.append([_cell(v) for v in quote_row(ticker, price, currency, time, status, origin)])
    if needs.base_currency:
        for currency in needs.currencies:
            pair = f"{currency}/{needs.base_currency}"
            try:
                rate, time, status, origin = source.fx(currency, needs.base_currency)
            except RebalancerError as error:
                rate, time, status, origin = None, None, error.localized(lang), ""
            row = quote_row(pair, rate, needs.base_currency, time, status, origin)
            rows.append([_cell(v) for v in row])
    return rows


# ---------------------------------------------------------------- Book I/O


def _status(book: xw.Book, text: str | bool) -> None:
    # Engines without a status bar (Office.js, the remote engine in tests) raise.
    with contextlib.suppress(NotImplementedError):
        book.app.status_bar = text


def _app_api(book: xw.Book) -> Any:
    """Excel's Application COM object; None on engines without one (Office.js, remote)."""
    try:
        return book.app.api
    except NotImplementedError:
        return None


def read_sheets(book: xw.Book) -> dict[str, list[list[Any]]]:
    """Values of the workbook's input sheets, by canonical name (English or Korean sheets)."""
    names = [sheet.name for sheet in book.sheets]
    out: dict[str, list[list[Any]]] = {}
    for canonical in INPUT_SHEETS:
        name = layout.find_sheet(names, canonical)
        if name is not None:
            values = book.sheets[name].used_range.options(ndim=2).value
            out[canonical] = values if isinstance(values, list) else [[values]]
    if "holdings" not in out:
        raise WorkbookError(
            "The workbook needs a Holdings sheet (or 보유종목) for Refresh",
            "새로고침하려면 보유종목(Holdings) 시트가 필요합니다",
        )
    return out


def _sheet(book: xw.Book, canonical: str, lang: str) -> xw.Sheet:
    name = layout.find_sheet([s.name for s in book.sheets], canonical)
    if name is not None:
        return book.sheets[name]
    return book.sheets.add(layout.sheet_name(canonical, lang), after=book.sheets[-1])


# Text starting with these is a formula (or DDE) when written through Range.Value.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: Any) -> Any:
    """A value to write into a cell so that text is never taken for a formula.

    Excel (and xlwings' ``Range.value``) turns a string starting with ``=``,
    ``+``, ``-`` or ``@`` into a formula. Names, statuses and error texts come
    from Yahoo or from the user's cells, so such text gets Excel's own text
    prefix, an apostrophe: the cell shows the text as it is, and never runs it.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_table(sheet: xw.Sheet, rows: list[list[Any]], top_left: str = "A1") -> None:
    """Write rows at ``top_left`` (text as text, see :func:`as_text`); blank what a longer
    table left below."""
    old = sheet.used_range
    anchor = sheet.range(top_left)
    anchor.value = [[as_text(value) for value in row] for row in rows]
    last_row = old.row + old.rows.count - 1
    first_stale = anchor.row + len(rows)
    if last_row >= first_stale:
        width = max(len(rows[0]), old.columns.count)
        sheet.range((first_stale, anchor.column), (last_row, anchor.column + width - 1)).value = [
            [None] * width for _ in range(last_row - first_stale + 1)
        ]


def write_quotes(book: xw.Book, rows: list[list[Any]], now: dt.datetime, lang: str) -> None:
    """The Quotes sheet: the table at A1 and the last-refresh label and time beside it."""
    sheet = _sheet(book, "quotes", lang)
    write_table(sheet, rows)
    label_column = len(rows[0]) + 2  # one empty column between the table and the label
    label = layout.LAST_REFRESH_LABEL[1 if lang == "ko" else 0]
    sheet.range((1, label_column)).value = [[label, now]]


Planner = Callable[
    [Mapping[str, Any], QuoteSource, dt.date], tuple[list[list[Any]], list[list[Any]]]
]


def engine_plan(
    sheets: Mapping[str, Any], source: QuoteSource, as_of: dt.date
) -> tuple[list, list]:
    """Orders and drift tables, as REBAL_ORDERS and REBAL_DRIFT compute them on ``as_of``."""
    from etf_rebalancer.planning import LiveQuotes, plan_ranges

    plan = plan_ranges(
        *(sheets.get(name) for name in INPUT_SHEETS),
        market=LiveQuotes(source.service),  # type: ignore[attr-defined]
        as_of=as_of,
    )
    return plan.order_rows(), plan.drift_rows()


def write_plan(book: xw.Book, orders: list[list[Any]], drift: list[list[Any]], lang: str) -> None:
    """The plan as values on its own sheet: orders at A1, the drift table two rows below.

    Never the Plan sheet itself: its REBAL_* formulas must survive for Windows
    users of the same workbook.
    """
    sheet = _sheet(book, "plan_values", lang)
    # The same words the REBAL_* formulas show in this workbook's language.
    orders, drift = localize_rows("orders", orders, lang), localize_rows("drift", drift, lang)
    width = max(len(orders[0]), len(drift[0]))
    pad = [[*row, *[None] * (width - len(row))] for row in orders]
    blank = [[None] * width]
    drift_rows = [[*row, *[None] * (width - len(row))] for row in drift]
    write_table(sheet, pad + blank + drift_rows)


BacktestRunner = Callable[
    [Mapping[str, Any], list[list[Any]], "list[list[Any]] | None", QuoteSource],
    tuple[list[list[Any]], list[list[Any]]],
]


def engine_backtest(
    sheets: Mapping[str, Any],
    backtest: list[list[Any]],
    prices: list[list[Any]] | None,
    source: QuoteSource,
) -> tuple[list[list[Any]], list[list[Any]]]:
    """Results and value series, as the Backtest sheet's PORTFOLIO_BACKTEST and _EQUITY give them.

    ``backtest`` is the Backtest sheet's values (settings table, history dates);
    ``prices`` a price table pasted on the Prices sheet, else the history of the
    benchmark and the targets comes from the quote layer, as ETF_HISTORY's would.
    """
    from etf_rebalancer.backtest.sheet import backtest_rows, sheet_inputs
    from etf_rebalancer.workbook.reader import backtest_sheet_inputs

    inputs = backtest_sheet_inputs(backtest)
    weights, settings, tickers = sheet_inputs(sheets.get("targets"), inputs["backtest_settings"])
    if prices is None:
        from etf_rebalancer.quotes.service import history_rows
        from etf_rebalancer.workbook.portfolios import BACKTEST_START

        start = inputs["history_start"]
        from etf_rebalancer.quotes.service import REFRESH_TIMEOUT

        service = source.service  # type: ignore[attr-defined]
        # The button is an explicit action: history may take the refresh's time, not a cell's.
        patience = getattr(service, "patience", None)
        with patience(REFRESH_TIMEOUT) if patience else contextlib.nullcontext():
            prices = history_rows(
                service,
                tickers,
                BACKTEST_START if start is None else start,
                inputs["history_end"],
                inputs["history_currency"],
            )
    # The language rule of the PORTFOLIO_* functions, so the values match the formulas'.
    return backtest_rows(
        prices, weights, settings, detect_language(prices, weights, settings=settings)
    )


def read_backtest(book: xw.Book) -> tuple[list[list[Any]], list[list[Any]] | None] | None:
    """The Backtest sheet's values and a price table pasted on the Prices sheet (if any).

    ``None`` without a Backtest sheet. A table the Prices sheet's ETF_HISTORY
    formula spilled is not "pasted": the history is fetched afresh instead (on
    hosts that cannot read formulas, any table found there is used).
    """
    from etf_rebalancer.workbook.reader import date_header, price_table

    names = [sheet.name for sheet in book.sheets]
    name = layout.find_sheet(names, "backtest")
    if name is None:
        return None
    values = book.sheets[name].used_range.options(ndim=2).value
    grid = values if isinstance(values, list) else [[values]]
    prices = None
    prices_name = layout.find_sheet(names, "prices")
    if prices_name is not None:
        used = book.sheets[prices_name].used_range
        cells = used.options(ndim=2).value
        cells = cells if isinstance(cells, list) else [[cells]]
        where = date_header(cells)
        if where is not None:
            prices = price_table(cells)
            try:
                formula = used[where[0], where[1]].formula
            except NotImplementedError:  # engines whose payload has values only
                formula = ""
            if str(formula).startswith("="):
                prices = None
    return grid, prices


def write_backtest(
    book: xw.Book, stats: list[list[Any]], equity: list[list[Any]], lang: str
) -> None:
    """The Backtest results as values on their own sheet: the table, then the value series."""
    sheet = _sheet(book, "backtest_values", lang)
    height = max(len(stats), len(equity))
    width = max(len(r) for r in equity)
    rows = []
    for i in range(height):
        left = list(stats[i]) if i < len(stats) else []
        right = list(equity[i]) if i < len(equity) else []
        rows.append(
            [*left, *[None] * (2 - len(left)), None, *right, *[None] * (width - len(right))]
        )
    write_table(sheet, rows)


def refresh(
    book: xw.Book | None = None,
    *,
    quotes: QuoteSource | None = None,
    values_only: bool | None = None,
    planner: Planner | None = None,
    backtester: BacktestRunner | None = None,
    now: Callable[[], dt.datetime] = dt.datetime.now,
    register: Callable[[Any], Any] | None = None,
) -> bool:
    """Refresh a workbook's quotes and recalculate; never raises into Excel.

    Parameters
    ----------
    book : xlwings.Book, optional
        Defaults to ``xw.Book.caller()`` (the workbook whose button was clicked).
    quotes : QuoteSource, optional
        Defaults to the process-wide quote service.
    values_only : bool, optional
        Also write the orders and drift tables as values to the Plan (values)
        sheet, and the Backtest sheet's results to Backtest (values); defaults
        to True on macOS, where xlwings UDFs do not run.
    planner : callable, optional
        Computes ``(orders, drift)``; defaults to the engine (:func:`engine_plan`).
    backtester : callable, optional
        Computes the Backtest sheet's ``(stats, equity)`` for the values-only
        path; defaults to :func:`engine_backtest`.
    now : callable
        Clock for the last-refresh time.
    register : callable, optional
        Called with Excel's ``Application`` (COM) before recalculating, to register
        the cell functions when they are missing; defaults to
        :func:`~etf_rebalancer.excel.register.ensure_registered` on Windows (where
        UDFs run) and to nothing elsewhere. A :class:`WorkbookError` it raises (Excel
        refused: the Trust Center setting to tick) is shown once the rest is done.

    Returns
    -------
    bool
        True when every step succeeded; on failure a message box says why.
    """
    book = book if book is not None else xw.Book.caller()
    if values_only is None:
        values_only = sys.platform == "darwin"
    if register is None and sys.platform == "win32":
        from etf_rebalancer.excel.register import ensure_registered

        register = ensure_registered
    lang = "en"
    unregistered: WorkbookError | None = None
    try:
        _status(book, "ETF Rebalancer: reading the workbook…")
        sheets = read_sheets(book)
        lang = detect_language(*(sheets.get(name) for name in INPUT_SHEETS))
        needs = collect_needs(sheets)
        source = quotes if quotes is not None else ServiceQuotes()
        total = len(needs.tickers) + len(needs.currencies)

        def progress(text: str) -> None:
            _status(book, f"ETF Rebalancer: {text}…")

        _status(book, f"ETF Rebalancer: fetching {total} quotes…")
        source.refresh(needs.tickers, needs.currencies, needs.base_currency, progress)
        write_quotes(book, quote_rows(source, needs, lang), now(), lang)
        if values_only:
            _status(book, "ETF Rebalancer: computing the orders…")
            orders, drift = (planner or engine_plan)(sheets, source, now().date())
            write_plan(book, orders, drift, lang)
            backtest = read_backtest(book)
            if backtest is not None:
                _status(book, "ETF Rebalancer: backtesting…")
                try:
                    stats, equity = (backtester or engine_backtest)(sheets, *backtest, source)
                except RebalancerError as error:
                    # The quotes and plan are written: report the backtest's problem
                    # where its results would be, as the formulas would.
                    prefix = "오류: " if lang == "ko" else "Error: "
                    stats, equity = [[prefix + error.localized(lang)]], [[None]]
                write_backtest(book, stats, equity, lang)
        if register is not None:
            _status(book, "ETF Rebalancer: registering the cell functions…")
            try:
                register(_app_api(book))
            except WorkbookError as error:
                unregistered = error  # the quotes are still worth writing: report at the end
        _status(book, "ETF Rebalancer: recalculating…")
        book.app.calculate()
        if unregistered is not None:
            book.app.alert(unregistered.localized(lang), title=TITLE, mode="critical")
            return False
        return True
    except Exception as error:  # the edge: a message box, never a traceback
        if isinstance(error, RebalancerError):
            text = error.localized(lang)
        else:
            text = f"unexpected {type(error).__name__}: {error}"
        prefix = "새로고침 실패: " if lang == "ko" else "Refresh failed: "
        book.app.alert(prefix + text, title=TITLE, mode="critical")
        return False
    finally:
        _status(book, False)


def main() -> None:
    """Ribbon entry point: refresh the workbook the button was clicked in."""
    refresh()
