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
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from etf_rebalancer.errors import InputError, QuoteError, RebalancerError, SolverError
from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.reader import (
    MissingSheetsError,
    NotAWorkbookError,
    WorkbookNotFoundError,
    WorkbookRanges,
    read_workbook,
)

EXIT_OK = 0
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

app = typer.Typer(
    help="ETF Rebalancer: exact whole-share orders from an Excel workbook.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
templates_app = typer.Typer(help="The template workbooks shipped in workbook_templates/.")
app.add_typer(templates_app, name="templates")

try:  # written by the Excel engineer; the CLI works without it
    from etf_rebalancer.excel.install import addin_app

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


def _fail(error: RebalancerError, lang: str) -> typer.Exit:
    code = next((c for kind, c in EXIT_CODES.items() if isinstance(error, kind)), 1)
    prefix = "오류: " if lang == "ko" else "Error: "
    err.print(prefix + error.localized(lang), markup=False, highlight=False)
    return typer.Exit(code)


def _read(path: Path, lang: str | None) -> WorkbookRanges:
    try:
        return read_workbook(path)
    except RebalancerError as error:
        raise _fail(error, lang or "en") from None


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
)


def _format_cell(header: str, value: Any, item: str = "") -> str:
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
        if folded == "shares":
            return f"{value:,.0f}" if value == int(value) else f"{value:,.4f}"
        return f"{value:,.2f}"
    return str(value)


def _rich_table(title: str, rows: Sequence[Sequence[Any]]) -> Table:
    header = [str(h) for h in rows[0]] if rows else []
    table = Table(title=title, title_justify="left", show_lines=False)
    for name in header:
        numeric = any(
            isinstance(r[i], int | float)
            for r in rows[1:]
            for i in [header.index(name)]
            if i < len(r) and not isinstance(r[i], bool)
        )
        table.add_column(name, justify="right" if numeric else "left")
    for row in rows[1:]:
        cells = list(row) + [None] * (len(header) - len(row))
        style = {"BUY": "green", "SELL": "red", "OVER": "red", "UNDER": "yellow"}
        item = str(cells[0]) if header and header[0] in ("Item", "항목", "Metric", "지표") else ""
        table.add_row(
            *(_format_cell(h, v, item) for h, v in zip(header, cells, strict=False)),
            style=next((style[c] for c in cells if isinstance(c, str) and c in style), None),
        )
    return table


def compute_plan(ranges: WorkbookRanges, offline: bool) -> Any:
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
    market = SheetQuotes(ranges.quotes) if offline else LiveQuotes()
    return plan_ranges(*ranges.request_args(), market=market, as_of=dt.date.today())


@app.command()
def plan(
    workbook: Annotated[Path, typer.Argument(help="The .xlsx workbook (a template or yours).")],
    offline: Annotated[
        bool, typer.Option("--offline", help="Use the workbook's Quotes sheet, fetch nothing.")
    ] = False,
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table (readable), csv or json.")
    ] = OutputFormat.table,
    what: Annotated[
        What | None,
        typer.Option(
            "--what",
            help="orders, summary, drift or all "
            "(default: orders and summary for table, orders for csv/json).",
        ),
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="en or ko (default: the workbook's language).")
    ] = None,
) -> None:
    """Print the orders (and summary) the workbook's REBAL_* formulas would show."""
    if lang not in (None, "en", "ko"):
        raise typer.BadParameter(f"must be en or ko, got {lang!r}", param_hint="--lang")
    ranges = _read(workbook, lang)
    lang = lang or ranges.lang
    try:
        result = compute_plan(ranges, offline)
    except RebalancerError as error:
        if isinstance(error, QuoteError) and not offline:
            err.print("(try --offline to use the workbook's Quotes sheet)", markup=False)
        raise _fail(error, lang) from None
    tables = {
        "orders": result.order_rows(),
        "summary": result.summary_rows(lang),
        "drift": result.drift_rows(),
    }
    if what is None:
        chosen = ["orders", "summary"] if output is OutputFormat.table else ["orders"]
    elif what is What.all:
        chosen = ["orders", "summary", "drift"]
    else:
        chosen = [what.value]
    if output is OutputFormat.table:
        titles = {
            "orders": ("Orders", "주문"),
            "summary": ("Summary", "요약"),
            "drift": ("Drift", "비중 이탈"),
        }
        for name in chosen:
            rows = tables[name]
            title = f"{titles[name][1 if lang == 'ko' else 0]} · {workbook.name}"
            if name == "orders" and len(rows) <= 1:
                out.print(title)
                out.print("No orders needed." if lang == "en" else "필요한 주문이 없습니다.")
                continue
            out.print(_rich_table(title, rows))
        return
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
    workbook: Annotated[Path, typer.Argument(help="The .xlsx workbook.")],
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Where to write (default: NAME.refreshed.xlsx)."),
    ] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", help="Update WORKBOOK itself, keeping NAME.bak.xlsx.")
    ] = False,
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
        err.print(
            f"--out is the workbook itself ({workbook.name}): use --in-place, which keeps "
            "a backup and refuses while Excel has the file open",
            markup=False,
        )
        raise typer.Exit(EXIT_UNSAFE_WRITE)
    ranges = _read(workbook, None)
    lang = ranges.lang
    if "quotes" not in ranges.sheets:
        raise _fail(
            MissingSheetsError(
                f"{workbook.name} has no Quotes (시세) sheet to write quotes into",
                f"{workbook.name}에 시세(Quotes) 시트가 없습니다",
            ),
            lang,
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
        raise _fail(
            QuoteError(
                f"No quote could be fetched, nothing written ({reasons})",
                f"시세를 하나도 받지 못해 아무것도 쓰지 않았습니다 ({reasons})",
            ),
            lang,
        )
    before = workbook.read_bytes()
    now = dt.datetime.now().replace(microsecond=0)
    try:
        after = replace_quotes(before, rows, now)
        _check_safe(before, after)
    except RebalancerError as error:
        raise _fail(error, lang) from None
    table = _rich_table("Quotes" if lang == "en" else "시세", [list(_quote_header(lang)), *rows])
    out.print(table)
    for notice in report.notices:
        err.print(notice.localized(lang), markup=False)
    target = (
        workbook if in_place else output or workbook.with_name(workbook.stem + ".refreshed.xlsx")
    )
    lock = target.with_name("~$" + target.name)
    if lock.exists():
        err.print(
            f"{target.name} is open in Excel ({lock.name} exists): close it first, "
            "or write a copy with --out",
            markup=False,
        )
        raise typer.Exit(EXIT_UNSAFE_WRITE)
    try:
        if in_place:
            backup = workbook.with_name(workbook.stem + ".bak.xlsx")
            shutil.copy2(workbook, backup)
        _write_atomically(target, after)
    except OSError as error:
        # The original is untouched (the new file is renamed over it only when complete).
        err.print(
            f"Could not write {target}: {error.strerror or error}; {workbook.name} is unchanged",
            markup=False,
        )
        raise typer.Exit(EXIT_UNSAFE_WRITE) from None
    if in_place:
        out.print(f"Updated {workbook} (backup: {backup.name})", markup=False)
    else:
        out.print(f"Wrote {target}", markup=False)
    failed = len(rows) - len(got)
    if failed:
        err.print(f"{failed} quote(s) failed; their rows keep no price", markup=False)


def _quote_header(lang: str) -> tuple[str, ...]:
    from etf_rebalancer.workbook import layout

    return layout.QUOTES_HEADER_KO if lang == "ko" else layout.QUOTES_HEADER


# ---------------------------------------------------------------- templates


def default_templates_dir() -> Path:
    """``workbook_templates/`` of a source checkout (the current folder otherwise)."""
    here = Path(__file__).resolve().parents[2] / "workbook_templates"
    return here if here.parent.joinpath("pyproject.toml").exists() else Path("workbook_templates")


@templates_app.command("build")
def templates_build(
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder (default: workbook_templates/).")
    ] = None,
) -> None:
    """Build every template workbook (English and Korean) from the seed portfolios."""
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
def templates_list() -> None:
    """List the template workbooks and what they hold."""
    from etf_rebalancer.workbook.portfolios import PORTFOLIOS, template_filename

    for portfolio in PORTFOLIOS:
        out.print(
            f"{template_filename(portfolio, 'en')} / {template_filename(portfolio, 'ko')}: "
            f"{portfolio.title.en} - {portfolio.description.en}",
            markup=False,
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


@app.command()
def backtest(
    workbook: Annotated[
        Path,
        typer.Argument(help="The workbook: its Targets are the mix, its Backtest sheet the rules."),
    ],
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            help="CSV of daily closes (Date, then one column per ticker) instead of "
            "the workbook's Prices sheet or fetched history.",
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use only history already in the quote cache.")
    ] = False,
    rebalance: Annotated[
        str | None, typer.Option(help="none, monthly, quarterly or annual.")
    ] = None,
    band: Annotated[float | None, typer.Option(help="Band trigger, e.g. 0.1.")] = None,
    fee_rate: Annotated[float | None, typer.Option(help="Fee as a fraction of each trade.")] = None,
    benchmark: Annotated[str | None, typer.Option(help="Single ETF to compare with.")] = None,
    start: Annotated[
        str | None, typer.Option(help="First date of fetched history (YYYY-MM-DD).")
    ] = None,
    end: Annotated[str | None, typer.Option(help="Last date of fetched history.")] = None,
    currency: Annotated[
        str | None,
        typer.Option(help="Convert fetched prices into this currency (default: the sheet's)."),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table (readable), csv or json.")
    ] = OutputFormat.table,
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

    ranges = _read(workbook, None)
    lang = ranges.lang
    overrides = {
        key: value
        for key, value in (
            ("rebalance", rebalance),
            ("band", band),
            ("fee_rate", fee_rate),
            ("benchmark", benchmark),
        )
        if value is not None
    }
    weights, settings, tickers = sheet_inputs(ranges.targets, ranges.backtest_settings, overrides)
    try:
        # Bad weights or settings are named before any history is fetched.
        read_config(settings)
        read_weights(weights)
        if prices is not None:
            price_rows = _read_price_csv(prices, lang)
            source = prices.name
        elif ranges.prices:
            price_rows = ranges.prices
            source = layout.sheet_name("prices", lang)
        else:
            from etf_rebalancer.quotes.service import get_service, history_rows
            from etf_rebalancer.workbook.portfolios import BACKTEST_START

            first = start or ranges.history_start or BACKTEST_START
            last = end or ranges.history_end
            currency = currency or ranges.history_currency
            service = get_service(offline=offline or None)
            price_rows = history_rows(service, tickers, first, last, currency)
            source = "ETF_HISTORY"
        rows = backtest_stats_rows(price_rows, weights, settings)
    except RebalancerError as error:
        if isinstance(error, QuoteError):
            err.print(
                "(온라인에서 한 번 실행해 시세 캐시를 채우거나 --prices 파일.csv 를 주세요)"
                if lang == "ko"
                else "(run once online to fill the quote cache, or pass --prices FILE.csv)",
                markup=False,
            )
        raise _fail(error, lang) from None
    if output is OutputFormat.table:
        out.print(_rich_table(f"Backtest · {workbook.name} · {source}", rows))
    elif output is OutputFormat.csv:
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
