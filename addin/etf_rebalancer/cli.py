"""The ``etf-rebal`` command line: plan a workbook, refresh its quotes, build the templates.

``plan`` runs the same code the workbook's ``REBAL_*`` formulas run
(``planning.plan_ranges``) on the
workbook's own tables. Errors become one message in the workbook's language
and a distinct exit code (:data:`EXIT_CODES`); nothing here prints a traceback
for bad input.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType

from etf_rebalancer.cells.labels import display_label, short_header
from etf_rebalancer.errors import InputError, QuoteError, RebalancerError, SolverError
from etf_rebalancer.terminal import ESSENTIAL, Column, fit_table
from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.reader import (
    MissingSheetsError,
    NotAWorkbookError,
    WorkbookNotFoundError,
    WorkbookRanges,
    read_workbook,
)

EXIT_OK = 0
EXIT_FAILED = 1  # what `addin install` / `uninstall` answer when they cannot (e.g. on Linux)
EXIT_USAGE = 2  # typer/click's own code for bad arguments
EXIT_NOT_FOUND = 3
EXIT_NOT_WORKBOOK = 4
EXIT_MISSING_SHEETS = 5
EXIT_BAD_INPUT = 6
EXIT_QUOTES = 7
EXIT_UNSAFE_WRITE = 8
EXIT_INTERNAL = 9

EXIT_CODES: dict[type[BaseException], int] = {
    WorkbookNotFoundError: EXIT_NOT_FOUND,
    NotAWorkbookError: EXIT_NOT_WORKBOOK,
    MissingSheetsError: EXIT_MISSING_SHEETS,
    InputError: EXIT_BAD_INPUT,
    QuoteError: EXIT_QUOTES,
    SolverError: EXIT_INTERNAL,
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"etf-rebal {_package_version()}")
        raise typer.Exit()


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("etf-rebalancer")
    except PackageNotFoundError:  # run from a checkout without installing
        return "0+unknown"


app = typer.Typer(
    help="ETF Rebalancer: exact whole-share orders from an Excel workbook.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: flags without a type, values with a readable one (FILE, YYYY-MM-DD).
    rich_markup_mode=None,
)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """ETF Rebalancer: exact whole-share orders from an Excel workbook."""


templates_app = typer.Typer(
    help="The template workbooks shipped with the package.", rich_markup_mode=None
)
app.add_typer(templates_app, name="templates")

try:  # written by the Excel engineer; the CLI works without it
    from etf_rebalancer.excel.install import addin_app

    addin_app.rich_markup_mode = None  # the same plain help as the other commands
    app.add_typer(addin_app, name="addin")
except ImportError:  # pragma: no cover - depends on what is installed
    pass

# Piped output (csv into a file, the README's example) gets room for the whole table.
out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)


class OutputFormat(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class What(enum.StrEnum):
    orders = "orders"
    summary = "summary"
    drift = "drift"
    all = "all"


class Lang(enum.StrEnum):
    auto = "auto"
    en = "en"
    ko = "ko"


LangOption = Annotated[
    Lang,
    typer.Option(
        "--lang",
        help="Language of tables and messages: auto (the workbook's), en or ko. "
        "csv/json keep the English contract header unless ko.",
    ),
]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table (readable), csv or json.")
]
WorkbookArgument = Annotated[
    Path, typer.Argument(help="The .xlsx workbook.", metavar="WORKBOOK", show_default=False)
]


def _lang(lang: Lang, workbook_lang: str | None = None) -> str:
    """The language of tables and messages: the option's, else the workbook's."""
    return (workbook_lang or "en") if lang is Lang.auto else lang.value


def _data_lang(lang: Lang) -> str:
    """The language of csv/json: English (the contract) unless --lang ko."""
    return "ko" if lang is Lang.ko else "en"


def _say(lang: str, en: str, ko: str, *, stderr: bool = False) -> None:
    # soft_wrap: a message is one line however narrow the terminal (paths stay whole).
    console = err if stderr else out
    console.print(ko if lang == "ko" else en, markup=False, highlight=False, soft_wrap=True)


def _fail(error: RebalancerError, lang: str) -> typer.Exit:
    code = next((c for kind, c in EXIT_CODES.items() if isinstance(error, kind)), 1)
    prefix = "오류: " if lang == "ko" else "Error: "
    err.print(prefix + error.localized(lang), markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _read(path: Path, lang: Lang) -> WorkbookRanges:
    try:
        return read_workbook(path)
    except RebalancerError as error:
        raise _fail(error, _lang(lang)) from None


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _csv_text(rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else _json_value(v) for v in row])
    return buffer.getvalue()


_FRACTION_WORDS = (
    "weight",
    "target",
    "drift",
    "band",
    "turnover",
    "return",
    "cagr",
    "volatility",
    "drawdown",
    "비중",
    "이탈",
    "회전",
    "허용",
    "수익률",
    "변동성",
    "낙폭",
    "risky",  # household summaries: "Risky limit (IRP)"
    "위험자산",
)
#: Ratios that are neither money nor fractions (backtest rows).
_RATIO_WORDS = ("sharpe", "correlation", "샤프", "상관")
#: ISO 4217 currencies without minor units: amounts in them show no decimals.
_NO_DECIMALS = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI"}
    | {"VND", "VUV", "XAF", "XOF", "XPF"}
)
#: Money columns of the contract's tables (English headers).
_MONEY = frozenset({"price", "amount", "amount (base)", "value"})
# "(USD)", a household pool "(IRP, USD)", or a conversion "KRW→USD".
_POOL = re.compile(r"\((?:[^()]*, )?([A-Z]{3})\)$|\b([A-Z]{3})→")


def _money(value: float, currency: str | None) -> str:
    decimals = 0 if currency in _NO_DECIMALS else 2
    return f"{value:,.{decimals}f}"


def _format_cell(header: str, value: Any, item: str = "", currency: str | None = None) -> str:
    """A cell as the terminal shows it; ``currency`` formats money (KRW without decimals)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        folded = (item or header).casefold()
        if any(word in folded for word in _FRACTION_WORDS):
            return f"{value:.2%}"
        if folded in ("shares", "수량"):
            return f"{value:,.0f}" if value == int(value) else f"{value:,.4f}"
        if any(word in folded for word in _RATIO_WORDS):
            return f"{value:,.2f}"
        if item:  # a summary row: money in its pool's currency, else the base's
            pool = _POOL.search(item)
            return _money(value, (pool.group(1) or pool.group(2)) if pool else currency)
        return _money(value, currency) if folded in _MONEY else f"{value:,.2f}"
    return str(value)


#: Which columns a narrow terminal keeps longest, per table (English headers).
_PRIORITIES: dict[str, dict[str, int]] = {
    "orders": {
        "Ticker": ESSENTIAL,
        "Action": ESSENTIAL,
        "Shares": ESSENTIAL,
        "Account": ESSENTIAL,
        "Amount": 90,
        "Currency": 85,
        "Price": 80,
        "Weight After": 70,
        "Target": 60,
        "Amount (base)": 40,
        "Weight Before": 30,
    },
    "drift": {
        "Ticker": ESSENTIAL,
        "Weight": ESSENTIAL,
        "Target": ESSENTIAL,
        "Status": ESSENTIAL,
        "Drift": 90,
        "Band": 60,
        "Value": 40,
    },
    "summary": {"Item": ESSENTIAL, "Value": ESSENTIAL},
    "backtest": {"Metric": ESSENTIAL, "Value": ESSENTIAL},
    "quotes": {
        "Ticker": ESSENTIAL,
        "Price": ESSENTIAL,
        "Currency": 90,
        "Status": 80,
        "Time": 60,
        "Source": 40,
    },
}
_ROW_STYLES = {"BUY": "green", "SELL": "red", "OVER": "red", "UNDER": "yellow"}
#: Columns whose text cells are labels to show in the table's language.
_LABEL_COLUMNS = frozenset({"Action", "Status", "Metric", "Item"})


def _localized(rows: Sequence[Sequence[Any]], lang: str) -> list[list[Any]]:
    """``rows`` with their header and labels (actions, statuses, metrics, CASH) in ``lang``."""
    if not rows:
        return []
    header = [str(h) for h in rows[0]]
    labelled = {i for i, h in enumerate(header) if h in _LABEL_COLUMNS}
    body = []
    for row in rows[1:]:
        cells = list(row)
        for i, value in enumerate(cells):
            if isinstance(value, str) and (
                i in labelled or value == "CASH" or (i == 1 and cells[0] in ("Mode", "방식"))
            ):
                cells[i] = display_label(value, lang)
        body.append(cells)
    return [[display_label(h, lang) for h in header], *body]


def _table(
    kind: str,
    title: str,
    rows: Sequence[Sequence[Any]],
    lang: str,
    base: str | None = None,
) -> RenderableType:
    """One of the contract's tables (English rows) laid out for the terminal in ``lang``."""
    header = [str(h) for h in rows[0]] if rows else []
    body = [list(r) + [None] * (len(header) - len(r)) for r in rows[1:]]
    shown = _localized([header, *body], lang)
    ccy = header.index("Currency") if "Currency" in header else None
    itemised = bool(header) and header[0] in ("Item", "항목", "Metric", "지표")
    priorities = _PRIORITIES.get(kind, {})
    columns = []
    for i, name in enumerate(header):
        cells = []
        for row, labels in zip(body, shown[1:], strict=True):
            # Price and Amount in the listing currency; other money in the base's.
            currency = str(row[ccy]) if ccy is not None and name in ("Price", "Amount") else base
            item = str(row[0]) if itemised else ""
            value = row[i] if isinstance(row[i], int | float) else labels[i]
            cells.append(_format_cell(name, value, item, currency))
        columns.append(
            Column(
                header=shown[0][i],
                cells=cells,
                numeric=any(
                    isinstance(r[i], int | float) and not isinstance(r[i], bool) for r in body
                ),
                priority=priorities.get(name, 50),
                short=short_header(name, lang),
            )
        )
    styles = [
        next((_ROW_STYLES[c] for c in row if isinstance(c, str) and c in _ROW_STYLES), None)
        for row in body
    ]
    note = (
        "좁아서 숨긴 열: {names} (터미널을 넓히거나 --format csv 를 쓰세요)"
        if lang == "ko"
        else "Not shown (too narrow): {names}; widen the terminal or use --format csv"
    )
    return fit_table(title, columns, out.width, row_styles=styles, hidden_note=note)


def compute_plan(ranges: WorkbookRanges, offline: bool, market: Any = None) -> Any:
    """Plan a workbook's tables; quotes from its Quotes sheet (offline) or the quote layer."""
    from etf_rebalancer.planning import LiveQuotes, SheetQuotes, plan_ranges

    if not any(any(c is not None for c in row) for row in ranges.targets[1:]):
        raise InputError(
            f"{ranges.path.name} has no targets yet: fill in the Targets sheet "
            "(and Holdings), then run plan again",
            f"{ranges.path.name}에 목표비중이 아직 없습니다: 목표비중(과 보유종목) 시트를 "
            "채운 뒤 다시 실행하세요",
        )
    # The engine has no clock: the edge dates the plan (Korea's transaction tax table).
    if market is None:
        market = SheetQuotes(ranges.quotes) if offline else LiveQuotes(timeout=QUOTE_TIMEOUT)
    return plan_ranges(*ranges.request_args(), market=market, as_of=dt.date.today())


QUOTE_TIMEOUT = 15.0  # seconds `plan` lets missing quotes take (a command, not a cell)


class _RecordedQuotes:
    """The live quote layer, keeping the failures it met so each is reported once."""

    def __init__(self) -> None:
        from etf_rebalancer.planning import LiveQuotes

        self.live = LiveQuotes(timeout=QUOTE_TIMEOUT)
        self.failures: dict[str, Any] = {}

    def market_for(self, needs: Any) -> Any:
        market = self.live.market_for(needs)
        self.failures = dict(market.failures)
        return market


def _quotes_failed(failures: dict[str, Any], lang: str) -> typer.Exit:
    """Exit 7: one line per ticker (of this workbook) whose quote could not be had."""
    if lang == "ko":
        count = len(failures)
        err.print(f"오류: 이 통합문서의 {count}개 종목 시세를 받지 못했습니다:", markup=False)
    else:
        err.print(
            f"Error: quotes could not be fetched for {len(failures)} of this workbook's tickers:",
            markup=False,
        )
    for key, notice in failures.items():
        err.print(f"  {key}: {notice.localized(lang)}", markup=False, highlight=False)
    err.print(
        "(--offline 을 붙이면 통합문서의 시세 시트로 계획합니다)"
        if lang == "ko"
        else "(use --offline to plan with the workbook's Quotes sheet instead)",
        markup=False,
    )
    return typer.Exit(EXIT_QUOTES)


@app.command()
def plan(
    workbook: Annotated[
        Path,
        typer.Argument(
            help="The .xlsx workbook (a template or yours).", metavar="WORKBOOK", show_default=False
        ),
    ],
    offline: Annotated[
        bool, typer.Option("--offline", help="Use the workbook's Quotes sheet, fetch nothing.")
    ] = False,
    output: FormatOption = OutputFormat.table,
    what: Annotated[
        What | None,
        typer.Option(
            "--what",
            help="orders, summary, drift or all "
            "(default: orders and summary for table, orders for csv/json).",
        ),
    ] = None,
    lang: LangOption = Lang.auto,
) -> None:
    """Print the orders (and summary) the workbook's REBAL_* formulas would show."""
    ranges = _read(workbook, lang)
    shown = _lang(lang, ranges.lang)
    live = None if offline else _RecordedQuotes()
    try:
        result = compute_plan(ranges, offline, live)
    except RebalancerError as error:
        # A plan stopped by quotes the network did not give is exit 7, not "bad input".
        if live is not None and any(key in error.message for key in live.failures):
            raise _quotes_failed(live.failures, shown) from None
        if isinstance(error, QuoteError) and not offline:
            _say(
                shown,
                "(try --offline to use the workbook's Quotes sheet)",
                "(--offline 을 주면 통합 문서의 시세 시트를 씁니다)",
                stderr=True,
            )
        raise _fail(error, shown) from None
    if what is None:
        chosen = ["orders", "summary"] if output is OutputFormat.table else ["orders"]
    elif what is What.all:
        chosen = ["orders", "summary", "drift"]
    else:
        chosen = [what.value]
    if "summary" not in chosen or output is not OutputFormat.table:
        # The summary carries the plan's warnings (sample prices, breached caps): say
        # them on stderr too when no table shows them (a csv made from sample prices).
        for notice in result.notices:
            _say(
                shown,
                "Warning: " + notice.localized("en"),
                "경고: " + notice.localized("ko"),
                stderr=True,
            )
    if output is OutputFormat.table:
        tables = {
            "orders": result.order_rows(),
            "summary": result.summary_rows(shown),
            "drift": result.drift_rows(),
        }
        titles = {
            "orders": ("Orders", "주문"),
            "summary": ("Summary", "요약"),
            "drift": ("Drift", "비중 이탈"),
        }
        for name in chosen:
            rows = tables[name]
            title = f"{titles[name][1 if shown == 'ko' else 0]} · {workbook.name}"
            if name == "orders" and len(rows) <= 1:
                out.print(title, markup=False, highlight=False)
                _say(shown, "No orders needed.", "필요한 주문이 없습니다.")
                continue
            out.print(_table(name, title, rows, shown, base=result.base_currency))
        return
    data = _data_lang(lang)
    tables = {
        "orders": _localized(result.order_rows(), data),
        "summary": result.summary_rows(data),
        "drift": _localized(result.drift_rows(), data),
    }
    if output is OutputFormat.csv:
        text = "\n".join(_csv_text(tables[name]) for name in chosen)
        sys.stdout.write(text)
        return
    payload: Any
    if len(chosen) == 1:
        payload = [[_json_value(v) for v in row] for row in tables[chosen[0]]]
    else:
        payload = {n: [[_json_value(v) for v in row] for row in tables[n]] for n in chosen}
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=1) + "\n")


# ---------------------------------------------------------------- refresh


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and os.replace.

    The file keeps the permissions it had (a new one gets the umask's), not the
    owner-only mode ``mkstemp`` creates the temporary file with.
    """
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _check_safe(before: bytes, after: bytes) -> None:
    """Refuse a result that changed more than the Quotes sheet, its table and calcPr."""
    import zipfile

    from etf_rebalancer.workbook.quotes_sheet import changed_parts, find_quotes_parts

    parts = {}
    with zipfile.ZipFile(io.BytesIO(before)) as package:
        parts = {n: package.read(n) for n in package.namelist()}
    sheet, table, _ = find_quotes_parts(parts)
    allowed = {sheet, table, "xl/workbook.xml"}
    changed = changed_parts(before, after)
    if not changed <= allowed:
        raise RebalancerError(
            f"Refusing to write: parts other than the Quotes sheet changed ({sorted(changed)})",
            f"쓰기를 거부합니다: 시세 시트 외의 부분이 바뀌었습니다 ({sorted(changed)})",
        )


@app.command()
def refresh(
    workbook: WorkbookArgument,
    output: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Where to write (default: NAME.refreshed.xlsx).",
            metavar="FILE",
        ),
    ] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", help="Update WORKBOOK itself, keeping NAME.bak.xlsx.")
    ] = False,
    lang: LangOption = Lang.auto,
) -> None:
    """Fetch live quotes for the workbook and write them into its Quotes sheet.

    Only the Quotes sheet changes: formulas, charts and everything else are kept
    byte for byte (an openpyxl round trip would break the REBAL_* formulas).
    """
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

    from etf_rebalancer.planning.symbols import refresh_symbols
    from etf_rebalancer.quotes.service import get_service
    from etf_rebalancer.workbook.quotes_sheet import replace_quotes

    if in_place and output is not None:
        raise typer.BadParameter("use either --out or --in-place", param_hint="--in-place")
    if (
        output is not None
        and output.exists()
        and workbook.exists()
        and os.path.samefile(output, workbook)
    ):
        # --out WORKBOOK would skip the backup and the Excel-lock check.
        _say(
            _lang(lang),
            f"--out is the workbook itself ({workbook.name}): use --in-place, which keeps "
            "a backup and refuses while Excel has the file open",
            f"--out 이 통합 문서 자신입니다 ({workbook.name}): 백업을 남기고 Excel 에서 열려 "
            "있으면 거부하는 --in-place 를 쓰세요",
            stderr=True,
        )
        raise typer.Exit(EXIT_UNSAFE_WRITE)
    ranges = _read(workbook, lang)
    shown = _lang(lang, ranges.lang)
    if "quotes" not in ranges.sheets:
        raise _fail(
            MissingSheetsError(
                f"{workbook.name} has no Quotes (시세) sheet to write quotes into",
                f"{workbook.name}에 시세(Quotes) 시트가 없습니다",
            ),
            shown,
        )
    needs = refresh_symbols(ranges.holdings, ranges.targets, ranges.cash, ranges.settings)
    tickers, currencies, base = needs.tickers, needs.currencies, needs.base_currency
    service = get_service()
    total = len(tickers) + len(currencies)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("fetching quotes", total=total)

        def on_progress(text: str) -> None:
            progress.update(task, description=text)

        report = service.refresh(tickers, currencies, base, progress=on_progress)
        progress.update(task, completed=total)
    rows = [list(r) for r in report.rows]
    got = [r for r in rows if r[1] is not None]
    if not got:
        reasons = "; ".join(f"{k}: {e}" for k, e in list(report.failures.items())[:5])
        error = _fail(
            QuoteError(
                f"No quote could be fetched, nothing written ({reasons})",
                f"시세를 하나도 받지 못해 아무것도 쓰지 않았습니다 ({reasons})",
            ),
            shown,
        )
        _say(
            shown,
            "(offline, `etf-rebal plan --offline` plans with the Quotes sheet as it is)",
            "(오프라인이면 `etf-rebal plan --offline` 이 시세 시트를 그대로 써서 계획합니다)",
            stderr=True,
        )
        raise error
    before = workbook.read_bytes()
    now = dt.datetime.now().replace(microsecond=0)
    try:
        after = replace_quotes(before, rows, now)
        _check_safe(before, after)
    except RebalancerError as error:
        raise _fail(error, shown) from None
    title = "시세" if shown == "ko" else "Quotes"
    out.print(_table("quotes", title, [list(layout.QUOTES_HEADER), *rows], shown))
    for notice in report.notices:
        err.print(notice.localized(shown), markup=False)
    target = (
        workbook if in_place else output or workbook.with_name(workbook.stem + ".refreshed.xlsx")
    )
    lock = target.with_name("~$" + target.name)
    if lock.exists():
        _say(
            shown,
            f"{target.name} is open in Excel ({lock.name} exists): close it first, "
            "or write a copy with --out",
            f"{target.name} 이(가) Excel 에서 열려 있습니다 ({lock.name} 있음): 먼저 닫거나 "
            "--out 으로 사본을 쓰세요",
            stderr=True,
        )
        raise typer.Exit(EXIT_UNSAFE_WRITE)
    try:
        if in_place:
            backup = workbook.with_name(workbook.stem + ".bak.xlsx")
            shutil.copy2(workbook, backup)
        _write_atomically(target, after)
    except OSError as error:
        # The original is untouched (the new file is renamed over it only when complete).
        reason = error.strerror or error
        _say(
            shown,
            f"Could not write {target}: {reason}; {workbook.name} is unchanged",
            f"{target} 을(를) 쓰지 못했습니다: {reason}; {workbook.name} 은(는) 그대로입니다",
            stderr=True,
        )
        raise typer.Exit(EXIT_UNSAFE_WRITE) from None
    if in_place:
        _say(
            shown,
            f"Updated {workbook} (backup: {backup.name})",
            f"{workbook} 을(를) 갱신했습니다 (백업: {backup.name})",
        )
    else:
        _say(shown, f"Wrote {target}", f"{target} 에 썼습니다")
    failed = len(rows) - len(got)
    if failed:
        _say(
            shown,
            f"{failed} quote(s) failed; their rows keep no price",
            f"시세 {failed}개를 받지 못했습니다; 그 행에는 가격이 없습니다",
            stderr=True,
        )


# ---------------------------------------------------------------- templates


def _checkout() -> Path | None:
    """The source checkout this module runs from (an editable install), if any."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def default_templates_dir() -> Path:
    """``workbook_templates/`` of a source checkout (the current folder otherwise)."""
    root = _checkout()
    return root / "workbook_templates" if root else Path("workbook_templates")


def shipped_templates_dir() -> Path:
    """The templates to list and copy: the checkout's, else those inside the installed package.

    A wheel carries copies of ``workbook_templates/`` as package data (setup.py's
    build step), so ``templates copy`` works after a plain ``pip install``.
    """
    root = _checkout()
    if root is not None and (root / "workbook_templates").is_dir():
        return root / "workbook_templates"
    return Path(__file__).resolve().parent / "workbook_templates"


def shipped_templates() -> dict[str, Path]:
    """Every shipped template by name: ``tech-core_en``, and ``lite/tech-core_en`` for Lite."""
    folder = shipped_templates_dir()
    found = {p.stem: p for p in sorted(folder.glob("*.xlsx"))}
    found |= {f"lite/{p.stem}": p for p in sorted(folder.glob("lite/*.xlsx"))}
    return found


def _describe(name: str, lang: str) -> str:
    """One line on what a template holds, from its seed portfolio."""
    from etf_rebalancer.workbook.portfolios import PORTFOLIOS

    stem = name.removeprefix("lite/")
    portfolio = next((p for p in PORTFOLIOS if stem.startswith(p.slug + "_")), None)
    korean = stem.endswith("_ko") or "_ko_" in stem or "_ko." in stem
    edition = " · xlwings Lite" if name.startswith("lite/") else ""
    if portfolio is None:
        return ("(한국어)" if korean else "(English)") + edition
    title = portfolio.title.ko if lang == "ko" else portfolio.title.en
    what = portfolio.description.ko if lang == "ko" else portfolio.description.en
    language = "한국어" if korean else "English"
    return f"{title} ({language}{edition}): {what}"


@templates_app.command("build")
def templates_build(
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder (default: workbook_templates/).", metavar="DIR"),
    ] = None,
) -> None:
    """Rebuild every template workbook (English and Korean) from the seed portfolios."""
    from etf_rebalancer.workbook.portfolios import PORTFOLIOS, template_filename
    from etf_rebalancer.workbook.templates import build_template

    folder = out_dir or default_templates_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for portfolio in PORTFOLIOS:
        for lang in ("en", "ko"):
            path = folder / template_filename(portfolio, lang)
            data = build_template(portfolio, lang)
            _write_atomically(path, data)
            out.print(f"wrote {path}", markup=False)
            _write_lite_edition(path, data)


@templates_app.command("list")
def templates_list(lang: LangOption = Lang.auto) -> None:
    """List the shipped templates: name, what each holds, and where it is."""
    shown = _lang(lang)
    templates = shipped_templates()
    if not templates:
        _say(
            shown,
            f"No templates found in {shipped_templates_dir()}",
            f"{shipped_templates_dir()} 에 템플릿이 없습니다",
            stderr=True,
        )
        raise typer.Exit(EXIT_NOT_FOUND)
    for name, path in templates.items():
        line = f"{name}  {_describe(name, shown)}"
        out.print(line, markup=False, highlight=False, soft_wrap=True)
        out.print(f"    {path}", markup=False, highlight=False, soft_wrap=True)
    _say(
        shown,
        "Copy one to work on: etf-rebal templates copy NAME [DIR]",
        "작업할 사본 만들기: etf-rebal templates copy 이름 [폴더]",
    )


@templates_app.command("copy")
def templates_copy(
    name: Annotated[
        str,
        typer.Argument(
            help="A name from `templates list`, e.g. tech-core_en or lite/tech-core_ko.",
            metavar="NAME",
            show_default=False,
        ),
    ],
    folder: Annotated[
        Path,
        typer.Argument(help="Where to put the copy (default: here).", metavar="DIR"),
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Replace a file of the same name.")
    ] = False,
    lang: LangOption = Lang.auto,
) -> None:
    """Copy a shipped template into DIR, to fill in and plan (etf-rebal plan FILE)."""
    shown = _lang(lang, "ko" if name.removesuffix(".xlsx").endswith("_ko") else None)
    templates = shipped_templates()
    key = name.removesuffix(".xlsx")
    if key not in templates:
        names = ", ".join(templates)
        _say(
            shown,
            f"No template named {name!r}; the templates are: {names}",
            f"{name!r} 템플릿이 없습니다; 템플릿: {names}",
            stderr=True,
        )
        raise typer.Exit(EXIT_NOT_FOUND)
    source = templates[key]
    target = folder / source.name
    if target.exists() and not force:
        _say(
            shown,
            f"{target} already exists: pass --force to replace it, or name another folder",
            f"{target} 이(가) 이미 있습니다: 바꾸려면 --force, 아니면 다른 폴더를 주세요",
            stderr=True,
        )
        raise typer.Exit(EXIT_UNSAFE_WRITE)
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomically(target, source.read_bytes())
    _say(
        shown,
        f"Wrote {target}; try: etf-rebal plan {target} --offline",
        f"{target} 에 썼습니다; 실행 예: etf-rebal plan {target} --offline",
    )


def main() -> None:  # pragma: no cover - console entry point alias
    app()


# ---------------------------------------------------------------- backtest


def _read_price_csv(path: Path, lang: str) -> list[list[Any]]:
    if not path.exists():
        raise _fail(
            WorkbookNotFoundError(f"Price file not found: {path}", f"가격 파일이 없습니다: {path}"),
            lang,
        )
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows: list[list[Any]] = []
        for i, row in enumerate(csv.reader(handle)):
            if i == 0:
                rows.append(list(row))
                continue
            cells: list[Any] = [row[0] if row else None]
            for text in row[1:]:
                try:
                    cells.append(float(text) if text.strip() else None)
                except ValueError:
                    cells.append(text)  # read_price_table names the row and ticker
            rows.append(cells)
    return rows


class Rebalance(enum.StrEnum):
    none = "none"
    monthly = "monthly"
    quarterly = "quarterly"
    annual = "annual"


def _window(
    rows: list[list[Any]],
    start: dt.date | None,
    end: dt.date | None,
    lang: str,
) -> list[list[Any]]:
    """A price table cut to [start, end], saying when either lies outside the stored dates."""
    from etf_rebalancer.cells import parse_date

    if (start is None and end is None) or len(rows) < 2:
        return rows
    dated: list[tuple[dt.date | None, list[Any]]] = []
    for row in rows[1:]:
        try:
            dated.append((parse_date(row[0] if row else None).date(), row))
        except RebalancerError:
            dated.append((None, row))  # the backtest names the bad row
    days = [d for d, _ in dated if d is not None]
    if not days:
        return rows
    first, last = min(days), max(days)
    if start is not None and start < first:
        _say(
            lang,
            f"--start {start} is before the first stored price ({first}): "
            f"the backtest starts on {first}",
            f"--start {start} 은(는) 저장된 첫 가격({first})보다 이릅니다: {first} 부터 계산합니다",
            stderr=True,
        )
    if end is not None and end > last:
        _say(
            lang,
            f"--end {end} is after the last stored price ({last}): the backtest ends on {last}",
            f"--end {end} 은(는) 저장된 마지막 가격({last})보다 늦습니다: {last} 까지 계산합니다",
            stderr=True,
        )
    kept = [
        row
        for day, row in dated
        if day is None or ((start is None or day >= start) and (end is None or day <= end))
    ]
    return [rows[0], *kept]


def _say_if_later(rows: list[list[Any]], start: dt.date, lang: str) -> None:
    """Say when fetched history begins well after --start (a fund listed later)."""
    from etf_rebalancer.cells import parse_date

    try:
        first = parse_date(rows[1][0]).date() if len(rows) > 1 else None
    except RebalancerError:
        return
    if first is not None and (first - start).days > 7:  # not just a weekend or holiday
        _say(
            lang,
            f"--start {start}: the history found begins on {first}; the backtest starts there",
            f"--start {start}: 받은 가격 이력이 {first} 부터라서 그날부터 계산합니다",
            stderr=True,
        )


@app.command()
def backtest(
    workbook: Annotated[
        Path,
        typer.Argument(
            help="The workbook: its Targets are the mix, its Backtest sheet the rules.",
            metavar="WORKBOOK",
            show_default=False,
        ),
    ],
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            help="CSV of daily closes (Date, then one column per ticker) instead of "
            "the workbook's Prices sheet or fetched history.",
            metavar="CSV",
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use only history already in the quote cache.")
    ] = False,
    rebalance: Annotated[
        Rebalance | None, typer.Option(help="Calendar rule (default: the sheet's).")
    ] = None,
    band: Annotated[
        float | None,
        typer.Option(help="Band trigger as a weight fraction, e.g. 0.1.", metavar="FRACTION"),
    ] = None,
    fee_rate: Annotated[
        float | None, typer.Option(help="Fee as a fraction of each trade.", metavar="FRACTION")
    ] = None,
    benchmark: Annotated[
        str | None, typer.Option(help="Single ETF to compare with.", metavar="TICKER")
    ] = None,
    start: Annotated[
        dt.datetime | None,
        typer.Option(
            help="First date (of fetched history, or cut from stored prices).",
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
        ),
    ] = None,
    end: Annotated[
        dt.datetime | None,
        typer.Option(help="Last date.", formats=["%Y-%m-%d"], metavar="YYYY-MM-DD"),
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option(
            help="Convert fetched prices into this currency (default: the sheet's).",
            metavar="CCY",
        ),
    ] = None,
    output: FormatOption = OutputFormat.table,
    lang: LangOption = Lang.auto,
) -> None:
    """Print the table the workbook's Backtest sheet shows (PORTFOLIO_BACKTEST).

    Prices come from --prices, else a table pasted on the Prices sheet, else
    daily history for the benchmark and the targets, fetched like ETF_HISTORY
    (cache first) from the Backtest sheet's "History from" date.
    """
    from etf_rebalancer.backtest.sheet import (
        backtest_stats_rows,
        read_config,
        read_weights,
        sheet_inputs,
    )

    ranges = _read(workbook, lang)
    shown = _lang(lang, ranges.lang)
    overrides = {
        key: value
        for key, value in (
            ("rebalance", rebalance.value if rebalance else None),
            ("band", band),
            ("fee_rate", fee_rate),
            ("benchmark", benchmark),
        )
        if value is not None
    }
    first_day = start.date() if start else None
    last_day = end.date() if end else None
    weights, settings, tickers = sheet_inputs(ranges.targets, ranges.backtest_settings, overrides)
    money = ranges.history_currency if isinstance(ranges.history_currency, str) else None
    try:
        # Bad weights or settings are named before any history is fetched.
        read_config(settings)
        read_weights(weights)
        if prices is not None:
            price_rows = _window(_read_price_csv(prices, shown), first_day, last_day, shown)
            source = prices.name
            money = None
        elif ranges.prices:
            price_rows = _window(ranges.prices, first_day, last_day, shown)
            source = layout.sheet_name("prices", shown)
        else:
            from etf_rebalancer.quotes.service import get_service, history_rows
            from etf_rebalancer.workbook.portfolios import BACKTEST_START

            first = first_day or ranges.history_start or BACKTEST_START
            last = last_day or ranges.history_end
            currency = currency or ranges.history_currency
            money = currency if isinstance(currency, str) else None
            service = get_service(offline=offline or None)
            with service.patience(QUOTE_TIMEOUT):  # a command, not a cell
                price_rows = history_rows(service, tickers, first, last, currency)
            source = "ETF_HISTORY"
            if first_day is not None:
                _say_if_later(price_rows, first_day, shown)
        rows = backtest_stats_rows(price_rows, weights, settings)
    except RebalancerError as error:
        if isinstance(error, QuoteError):
            _say(
                shown,
                "(run once online to fill the quote cache, or pass --prices FILE.csv)",
                "(온라인에서 한 번 실행해 시세 캐시를 채우거나 --prices 파일.csv 를 주세요)",
                stderr=True,
            )
        raise _fail(error, shown) from None
    if output is OutputFormat.table:
        title = f"{'백테스트' if shown == 'ko' else 'Backtest'} · {workbook.name} · {source}"
        out.print(_table("backtest", title, rows, shown, base=money))
        return
    rows = _localized(rows, _data_lang(lang))
    if output is OutputFormat.csv:
        sys.stdout.write(_csv_text(rows))
    else:
        payload = [[_json_value(v) for v in row] for row in rows]
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=1) + "\n")


# ---------------------------------------------------------------- xlwings Lite (issue 17)

lite_app = typer.Typer(help="xlwings Lite editions: Python stored inside the workbook.")
app.add_typer(lite_app, name="lite")
quotes_app = typer.Typer(help="Serve the quote layer to xlwings Lite workbooks.")
app.add_typer(quotes_app, name="quotes")


def _write_lite_edition(desktop: Path, data: bytes) -> None:
    """The template build's Lite step: ``lite/NAME.xlsx`` beside each desktop template."""
    from etf_rebalancer.lite.commands import lite_edition_for

    path, lite = lite_edition_for(desktop, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, lite)
    out.print(f"wrote {path}", markup=False)


@lite_app.command("extract")
def lite_extract(
    workbook: Annotated[Path, typer.Argument(help="A Lite workbook (.xlsx).")],
    folder: Annotated[Path, typer.Argument(help="Folder to write main.py and the rest into.")],
) -> None:
    """Write the Python a Lite workbook carries (main.py, requirements.txt, modules) to FOLDER."""
    from etf_rebalancer.lite.commands import extract_to

    try:
        written = extract_to(workbook, folder)
    except RebalancerError as error:
        raise _fail(error, "en") from None
    except OSError as error:
        err.print(f"Could not read {workbook}: {error.strerror or error}", markup=False)
        raise typer.Exit(1) from None
    for path in written:
        out.print(f"wrote {path}", markup=False)


@quotes_app.command("serve")
def quotes_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port.")] = 8765,
    origin: Annotated[
        str, typer.Option(help="Origin allowed by CORS (xlwings Lite's by default).")
    ] = "https://addin.xlwings.org",
) -> None:
    """Serve quotes and FX as JSON for a Lite workbook's quote_endpoint setting."""
    from etf_rebalancer.quotes.server import make_server, serve

    server = make_server(host, port, origin=origin)
    url = f"http://{host}:{server.server_address[1]}"
    out.print(
        f"Serving quotes on {url} for {origin} (Ctrl+C stops); "
        f"set quote_endpoint = {url} in the workbook's Settings",
        markup=False,
    )
    try:
        serve(server)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":  # python -m etf_rebalancer.cli
    app()
