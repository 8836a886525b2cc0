"""The CLI's tables fit narrow terminals: nothing cut, numbers whole, Korean lined up."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from etf_rebalancer import cli
from etf_rebalancer.terminal import ESSENTIAL, Column, fit_table
from tests.test_cli import PLANNED, TEMPLATES

runner = CliRunner()


def render(monkeypatch, width: int, *args: str) -> str:
    """Run etf-rebal with its tables drawn on a console ``width`` cells wide."""
    buffer = io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=buffer, width=width, color_system=None))
    result = runner.invoke(cli.app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return buffer.getvalue()


def money(value: float, currency: str) -> str:
    """The contract's money, written out independently: KRW and JPY have no minor unit."""
    return f"{value:,.0f}" if currency in ("KRW", "JPY") else f"{value:,.2f}"


def check_fits(text: str, width: int) -> None:
    assert text.strip()
    for line in text.splitlines():
        assert cell_len(line) <= width, line
    assert "…" not in text


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("name", PLANNED)
def test_orders_fit_and_show_every_number_whole(monkeypatch, name, width):
    text = render(monkeypatch, width, "plan", TEMPLATES / name, "--offline", "--what", "all")
    check_fits(text, width)
    orders = json.loads(
        runner.invoke(cli.app, ["plan", str(TEMPLATES / name), "--offline", "-f", "json"]).stdout
    )
    lines = text.splitlines()
    tickers = {r[0] for r in orders[1:]}
    # The order rows in order (a household plan has one row per ticker and account).
    shown = [x for x in lines if x.split() and x.split()[0] in tickers][: len(orders) - 1]
    for line, (ticker, _action, shares, price, currency, amount, *rest) in zip(
        shown, orders[1:], strict=True
    ):
        cells = line.split()
        assert cells[0] == ticker, line
        if len(rest) == 5:  # the Account column, kept at every width
            assert cells[-1] == rest[-1], line
        # The columns a narrow terminal keeps longest: whole shares, the price and
        # the amount in the listing currency's format.
        assert f"{shares:,.0f}" in cells, line
        assert money(amount, currency) in cells, line
        if width >= 80:
            assert money(price, currency) in cells and currency in cells, line


def test_an_80_column_korean_plan_shows_every_order_column_but_one(monkeypatch):
    """The household plan's orders carry the Account column: at 80 columns only the
    least needed one (weight before) gives way, and the note names it."""
    text = render(monkeypatch, 80, "plan", TEMPLATES / "korean-investor_ko.xlsx", "--offline")
    check_fits(text, 80)
    header = next(line for line in text.splitlines() if "티커" in line)
    for label in ("매매", "수량", "가격", "통화", "금액", "기준 금액", "목표", "계좌"):
        assert label in header
    shares, amount, account = first_069500_order()
    row = rf"069500 +매수 +{shares} +56,350 +KRW +{amount} +{amount} +19\.98% +20\.00% +{account}"
    assert re.search(row, text), row
    note = text[text.index("좁아서 숨긴 열:") :].split(" (")[0]
    assert note == "좁아서 숨긴 열: 현재비중"


def test_a_60_column_plan_names_the_columns_it_leaves_out(monkeypatch):
    text = render(monkeypatch, 60, "plan", TEMPLATES / "korean-investor_ko.xlsx", "--offline")
    check_fits(text, 60)
    note = text[text.index("좁아서 숨긴 열:") :].split(" (")[0]
    assert "현재비중" in note and "금액(기준통화)" in note  # least needed go first
    shares, amount, account = first_069500_order()
    row = rf"069500 +매수 +{shares} +56,350 +KRW +{amount} +{account}"
    assert re.search(row, text), row


def first_069500_order() -> tuple[str, str, str]:
    """Shares, amount and account of the Korean sample's first 069500 purchase, from the
    plan's JSON (which account buys it is the optimiser's choice among equal plans)."""
    orders = json.loads(
        runner.invoke(
            cli.app, ["plan", str(TEMPLATES / "korean-investor_ko.xlsx"), "--offline", "-f", "json"]
        ).stdout
    )
    row = next(r for r in orders[1:] if r[0] == "069500" and r[1] in ("BUY", "매수"))
    return f"{row[2]:,.0f}", money(row[5], "KRW"), row[-1]


def test_wide_terminal_shows_the_whole_table_unchanged(monkeypatch):
    text = render(monkeypatch, 140, "plan", TEMPLATES / "tech-core_en.xlsx", "--offline")
    check_fits(text, 140)
    assert "Weight Before" in text and "Amount (base)" in text and "Not shown" not in text
    assert "│ TQQQ   │ SELL   │     15 │ 104.60 │ USD      │ 1,569.00 │" in text


@pytest.mark.parametrize("width", [80, 50])
@pytest.mark.parametrize("name", ["korean-investor_ko.xlsx", "tech-core_en.xlsx"])
def test_summary_wraps_warnings_but_not_numbers(monkeypatch, name, width):
    text = render(monkeypatch, width, "plan", TEMPLATES / name, "--offline", "--what", "summary")
    check_fits(text, width)
    summary = json.loads(
        runner.invoke(
            cli.app,
            ["plan", str(TEMPLATES / name), "--offline", "-f", "json", "--what", "summary"],
        ).stdout
    )
    base = summary[1][1]
    value_before = summary[3][1]
    assert money(value_before, base) in text
    assert "SAMPLE" in text or "샘플" in text


def test_backtest_and_drift_fit_80_columns(monkeypatch):
    text = render(monkeypatch, 80, "backtest", TEMPLATES / "us-factor-mix_ko.xlsx", "--lang", "ko")
    check_fits(text, 80)
    assert "총수익률" in text and "134.85%" in text and "벤치마크 최대 낙폭" in text
    drift = render(
        monkeypatch,
        80,
        "plan",
        TEMPLATES / "tech-subsectors_ko.xlsx",
        "--offline",
        "--what",
        "drift",
    )
    check_fits(drift, 80)
    assert "허용범위" in drift and "현금" in drift


def test_too_narrow_for_any_table_lists_each_row_vertically():
    columns = [
        Column("Ticker", ["069500", "QQQ"], priority=ESSENTIAL),
        Column("Action", ["BUY", "SELL"], priority=ESSENTIAL),
        Column("Shares", ["1,234,567", "2"], numeric=True, priority=ESSENTIAL),
        Column("Amount", ["69,541,000", "1,224.80"], numeric=True, priority=90),
    ]
    buffer = io.StringIO()
    console = Console(file=buffer, width=24, color_system=None)
    console.print(fit_table("Orders", columns, 24))
    text = buffer.getvalue()
    check_fits(text, 24)
    assert [line.split() for line in text.splitlines() if line.strip()][:5] == [
        ["Orders"],
        ["Ticker", "069500"],
        ["Action", "BUY"],
        ["Shares", "1,234,567"],
        ["Amount", "69,541,000"],
    ]


def test_wide_characters_count_double():
    """Korean labels are two cells each: a 40-cell table of them must still fit 40 cells."""
    columns = [
        Column("항목", ["리밸런싱 전 평가액", "리밸런싱 후 최대 이탈"], priority=ESSENTIAL),
        Column("값", ["17,696,645", "0.16%"], numeric=True, priority=ESSENTIAL),
        Column("비고", ["가나다라마바사아자차카타파하"] * 2, priority=10),
    ]
    for width in (40, 30):
        buffer = io.StringIO()
        Console(file=buffer, width=width, color_system=None).print(
            fit_table("요약", columns, width)
        )
        check_fits(buffer.getvalue(), width)
        assert "17,696,645" in buffer.getvalue()


@pytest.mark.parametrize(
    ("header", "value", "item", "currency", "shown"),
    [
        ("Price", 56350.0, "", "KRW", "56,350"),
        ("Amount", 1224.8, "", "USD", "1,224.80"),
        ("Amount (base)", 1778776.6, "", "KRW", "1,778,777"),
        ("Price", 1520.0, "", "JPY", "1,520"),
        ("Value", 1200.0, "Cash before (USD)", "KRW", "1,200.00"),
        ("Value", 1191646.18, "Convert KRW→USD", "KRW", "1,191,646"),
        ("Value", 23484.89, "Final Value", "KRW", "23,485"),
        ("Value", 0.63, "Sharpe", "KRW", "0.63"),  # a ratio, not money
        ("Value", 0.93, "Correlation to Benchmark", "KRW", "0.93"),
        ("Value", 0.2668, "Turnover", "KRW", "26.68%"),
        ("Shares", 18.0, "", None, "18"),
        ("Shares", 0.5, "", None, "0.5000"),
    ],
)
def test_money_is_formatted_in_its_own_currency(header, value, item, currency, shown):
    assert cli._format_cell(header, value, item, currency) == shown
