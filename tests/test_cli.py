"""etf-rebal through typer's CliRunner: plans of every shipped template, errors, refresh."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from etf_rebalancer import cli
from etf_rebalancer.workbook.portfolios import PORTFOLIOS, STARTER, template_filename
from tests.workbook.snapshot import array_formula_cells

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "workbook_templates"
ORDERS_HEADER = (
    "Ticker,Action,Shares,Price,Currency,Amount,Amount (base),Weight Before,Weight After,Target"
)
PLANNED = [
    template_filename(p, lang) for p in PORTFOLIOS if p is not STARTER for lang in ("en", "ko")
]

runner = CliRunner()


def run(*args: str):
    return runner.invoke(cli.app, [str(a) for a in args])


@pytest.mark.parametrize("name", PLANNED)
def test_plan_offline_prints_orders_in_every_format(name):
    path = TEMPLATES / name
    table = run("plan", path, "--offline")
    assert table.exit_code == 0, table.output
    # The table speaks the workbook's language; csv/json keep the English contract.
    buy, sell = ("매수", "매도") if name.endswith("_ko.xlsx") else ("BUY", "SELL")
    assert buy in table.output or sell in table.output

    # A household template (accounts named) appends the contract's Account column.
    household = any(p.accounts for p in PORTFOLIOS if name.startswith(p.slug + "_"))
    header = ORDERS_HEADER + (",Account" if household else "")
    as_csv = run("plan", path, "--offline", "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.stdout.splitlines()[0] == header
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert len(rows) > 1 and all(r[1] in ("BUY", "SELL") for r in rows[1:])

    as_json = run("plan", path, "--offline", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert ",".join(data[0]) == header
    assert [r[0] for r in data[1:]] == [r[0] for r in rows[1:]]


@pytest.mark.parametrize("name", PLANNED)
def test_plan_is_what_the_workbook_formulas_show(name):
    """The CLI's orders equal the cached REBAL_ORDERS result the template carries."""
    data = json.loads(run("plan", TEMPLATES / name, "--offline", "-f", "json").stdout)
    wb = openpyxl.load_workbook(TEMPLATES / name, data_only=True)
    ws = wb.worksheets[1]  # the Plan sheet, after Start; its orders spill from B3
    shown = [[ws.cell(r, c).value for c in range(2, 12)] for r in range(3, 3 + len(data))]
    # json keeps the contract's English words; a Korean workbook's formulas show Korean ones.
    english = {"매수": "BUY", "매도": "SELL"}
    shown = [[r[0], english.get(r[1], r[1]), r[2]] for r in shown]
    assert [r[:3] for r in shown[1:]] == [[r[0], r[1], pytest.approx(r[2])] for r in data[1:]]


def test_plan_summary_and_drift_and_korean_text():
    out = run("plan", TEMPLATES / "korean-investor_ko.xlsx", "--offline", "--what", "all")
    assert out.exit_code == 0
    assert "요약" in out.output and "비중 이탈" in out.output and "샘플" in out.output
    summary = run(
        "plan", TEMPLATES / "tech-core_en.xlsx", "--offline", "-f", "csv", "--what", "summary"
    )
    assert summary.stdout.startswith("Item,Value\n")
    assert "SAMPLE" in summary.stdout


def test_missing_file_exits_3(tmp_path):
    out = run("plan", tmp_path / "nope.xlsx", "--offline")
    assert out.exit_code == cli.EXIT_NOT_FOUND
    assert "Workbook not found" in out.output


def test_not_a_workbook_exits_4(tmp_path):
    for content in (b"Ticker,Shares\nQQQ,1\n", b"PK\x03\x04 broken zip"):
        path = tmp_path / "bad.xlsx"
        path.write_bytes(content)
        out = run("plan", path, "--offline")
        assert out.exit_code == cli.EXIT_NOT_WORKBOOK, out.output
        assert "Not an Excel workbook" in out.output or "Cannot read" in out.output


def test_workbook_without_the_sheets_exits_5_naming_them(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.create_sheet("Targets")
    path = tmp_path / "other.xlsx"
    wb.save(path)
    out = run("plan", path, "--offline")
    assert out.exit_code == cli.EXIT_MISSING_SHEETS
    assert "Holdings (보유종목)" in out.output and "Sheet1" in out.output


def test_blank_starter_says_what_to_fill_in_its_language(tmp_path):
    # The shipped starter has one example row; emptied, it says what to fill in.
    import dataclasses

    from etf_rebalancer.workbook.templates import build_template

    blank = dataclasses.replace(STARTER, holdings=(), targets=(), korean=None)
    for lang in ("en", "ko"):
        (tmp_path / f"starter_{lang}.xlsx").write_bytes(build_template(blank, lang))
    en = run("plan", tmp_path / "starter_en.xlsx", "--offline")
    ko = run("plan", tmp_path / "starter_ko.xlsx", "--offline")
    assert en.exit_code == ko.exit_code == cli.EXIT_BAD_INPUT
    assert "no targets yet" in en.output and "목표비중이 아직 없습니다" in ko.output


def test_quote_missing_from_the_sheet_names_the_ticker(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Holdings"
    ws.append(["Ticker", "Shares"])
    ws.append(["QQQ", 3])
    targets = wb.create_sheet("Targets")
    targets.append(["Ticker", "Target"])
    targets.append(["QQQ", 100])
    quotes = wb.create_sheet("Quotes")
    quotes.append(["Ticker", "Price", "Currency", "Time", "Status", "Source"])
    quotes.append(["SPY", 600, "USD", None, "fresh", "x"])
    path = tmp_path / "w.xlsx"
    wb.save(path)
    out = run("plan", path, "--offline")
    assert out.exit_code != 0
    assert "QQQ" in out.output


def test_templates_build_writes_every_template(tmp_path):
    out = run("templates", "build", "--out", tmp_path)
    assert out.exit_code == 0
    assert sorted(p.name for p in tmp_path.glob("*.xlsx")) == sorted(
        p.name for p in TEMPLATES.glob("*.xlsx")
    )


# ---------------------------------------------------------------- refresh


@pytest.fixture
def fake_quotes(monkeypatch, tmp_path):
    """The real QuoteService over an in-memory provider (no network)."""
    from etf_rebalancer.quotes import service as service_module
    from etf_rebalancer.quotes.base import Quote
    from etf_rebalancer.quotes.cache import QuoteCache
    from etf_rebalancer.quotes.memory import MemoryProvider

    when = dt.datetime(2026, 11, 21, 21, 0, tzinfo=dt.UTC)
    provider = MemoryProvider(
        {
            "QQQ": Quote("QQQ", 640.0, "USD", time=when, kind="ETF"),
            "XAIX.DE": Quote("XAIX.DE", 150.0, "EUR", time=when, kind="ETF"),
            "KARS": Quote("KARS", 36.0, "USD", time=when, kind="ETF"),
            "EURUSD=X": Quote("EURUSD=X", 1.2, "USD", time=when, kind="CURRENCY"),
            **{
                t: Quote(t, price, "USD", time=when, kind="ETF")
                for t, price in (("QUAL", 190.0), ("MTUM", 240.0), ("VLUE", 130.0), ("USMV", 95.0))
            },
        }
    )
    service = service_module.QuoteService(QuoteCache(tmp_path / "q.sqlite"), provider)
    monkeypatch.setattr(service_module, "get_service", lambda offline=None: service)
    return provider


def _copy(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes((TEMPLATES / name).read_bytes())
    return path


def test_refresh_writes_a_copy_keeping_every_formula(tmp_path, fake_quotes):
    path = _copy(tmp_path, "ai-value-chain_en.xlsx")
    before = path.read_bytes()
    out = run("refresh", path)
    assert out.exit_code == 0, out.output
    copy = tmp_path / "ai-value-chain_en.refreshed.xlsx"
    assert path.read_bytes() == before
    after = copy.read_bytes()
    # The dynamic arrays, charts and all other parts survive untouched.
    assert (
        array_formula_cells(after)
        == array_formula_cells(before)
        == {
            "Plan": ["B3", "M3", "Q3"],
            "Backtest": ["E6", "H6", "L25"],
            "Prices": ["A4"],
        }
    )
    a, b = zipfile.ZipFile(io.BytesIO(before)), zipfile.ZipFile(io.BytesIO(after))
    changed = {n for n in a.namelist() if a.read(n) != b.read(n)}
    assert changed <= {"xl/worksheets/sheet10.xml", "xl/tables/table7.xml", "xl/workbook.xml"}
    quotes = openpyxl.load_workbook(copy)["Quotes"]
    rows = {r[0]: r for r in quotes.iter_rows(min_row=2, max_col=6, values_only=True)}
    assert rows["QQQ"][1] == 640.0 and rows["XAIX.DE"][2] == "EUR"
    assert rows["EUR/USD"][1] == pytest.approx(1.2)
    assert quotes.tables["Quotes"].ref == f"A1:F{quotes.max_row}"
    # ...and the offline plan now uses the refreshed prices.
    plan = run("plan", copy, "--offline", "-f", "csv", "--what", "summary")
    assert plan.exit_code == 0 and "SAMPLE" not in plan.stdout


def test_refresh_in_place_keeps_a_backup(tmp_path, fake_quotes):
    path = _copy(tmp_path, "ai-value-chain_ko.xlsx")
    before = path.read_bytes()
    out = run("refresh", path, "--in-place")
    assert out.exit_code == 0, out.output
    assert (tmp_path / "ai-value-chain_ko.bak.xlsx").read_bytes() == before
    after = path.read_bytes()
    assert after != before
    assert array_formula_cells(after) == array_formula_cells(before)
    anchor = openpyxl.load_workbook(path)["주문"]["B3"]
    assert anchor.value.text.startswith("=IFERROR(REBAL_ORDERS(")
    assert not list(tmp_path.glob(".*.tmp"))


def test_written_workbooks_keep_their_permissions(tmp_path, fake_quotes):
    """mkstemp's owner-only mode must not leak into the user's file or a new copy."""
    path = _copy(tmp_path, "ai-value-chain_en.xlsx")
    path.chmod(0o640)
    assert run("refresh", path, "--in-place").exit_code == 0
    assert path.stat().st_mode & 0o777 == 0o640
    umask = os.umask(0o022)
    try:
        assert run("refresh", path, "--out", tmp_path / "copy.xlsx").exit_code == 0
    finally:
        os.umask(umask)
    assert (tmp_path / "copy.xlsx").stat().st_mode & 0o777 == 0o644


def test_refresh_in_place_refuses_a_workbook_open_in_excel(tmp_path, fake_quotes):
    path = _copy(tmp_path, "ai-value-chain_en.xlsx")
    (tmp_path / "~$ai-value-chain_en.xlsx").write_bytes(b"")
    before = path.read_bytes()
    out = run("refresh", path, "--in-place")
    assert out.exit_code == cli.EXIT_UNSAFE_WRITE
    assert path.read_bytes() == before


def test_refresh_with_no_quote_at_all_writes_nothing(tmp_path, fake_quotes):
    fake_quotes.quotes.clear()
    path = _copy(tmp_path, "ai-value-chain_en.xlsx")
    out = run("refresh", path)
    assert out.exit_code == cli.EXIT_QUOTES
    assert not (tmp_path / "ai-value-chain_en.refreshed.xlsx").exists()


def test_backtest_runs_the_workbook_targets_on_a_price_csv(tmp_path):
    lines = ["Date,QQQ,XAIX.DE,KARS"]
    start = dt.date(2024, 1, 1)
    for i in range(300):
        day = start + dt.timedelta(days=i)
        if day.weekday() < 5:
            lines.append(f"{day},{400 + i},{100 + (i % 7)},{30 - i / 100}")
    prices = tmp_path / "p.csv"
    prices.write_text("\n".join(lines) + "\n")
    workbook = TEMPLATES / "ai-value-chain_en.xlsx"
    out = run("backtest", workbook, "--prices", prices, "--rebalance", "monthly")
    assert out.exit_code == 0, out.output
    assert "Total Return" in out.output and "Rebalances" in out.output
    missing = run("backtest", TEMPLATES / "ai-value-chain_en.xlsx", "--prices", tmp_path / "x.csv")
    assert missing.exit_code == cli.EXIT_NOT_FOUND
