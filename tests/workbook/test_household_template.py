"""The korean-investor templates are household workbooks: accounts, per-account orders, rules.

The checks read the shipped files (``workbook_templates/``, kept current by
``test_shipped_templates_are_current``) and judge the cached plan by the
contract's "Accounts" section written out here, not by the engine's own rule
table: a domestic listing is a KRX code, ISA/pension/IRP/DC buy only those,
pension/IRP/DC no leveraged/inverse, IRP/DC risky (every class but bond and
cash) at most 70% of the account after trades; cash never below zero per
account and currency; no sale beyond what the account holds.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from etf_rebalancer import cli
from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.portfolios import INSTRUMENTS, KOREAN_INVESTOR, SAMPLE_FX
from etf_rebalancer.workbook.reader import read_workbook

TEMPLATES = Path(__file__).resolve().parents[2] / "workbook_templates"
LANGS = ("en", "ko")
# The contract's type words (CONTRACT.md, "Accounts"), by canonical type.
TYPE_WORDS = {
    "general": {"general", "일반", "위탁"},
    "isa": {"isa"},
    "pension": {"pension", "연금저축"},
    "irp": {"irp"},
    "dc": {"dc", "퇴직연금"},
}
CLASS_WORDS = {
    "equity": {"equity", "주식", ""},
    "bond": {"bond", "채권"},
    "cash": {"cash", "현금성"},
    "leveraged": {"leveraged", "레버리지"},
    "inverse": {"inverse", "인버스"},
}
KRX = re.compile(r"^(\d{6}|\d{4}[0-9A-Z]\d)(\.K[SQ])?$")  # 069500, 0030R0, 069500.KS
ACCOUNTS = {
    "en": [("Brokerage", "general"), ("ISA", "isa"), ("Pension", "pension"), ("IRP", "irp")],
    "ko": [("위탁", "general"), ("ISA", "isa"), ("연금저축", "pension"), ("IRP", "irp")],
}
FEE_RATE, FX_SPREAD = 0.00015, 0.001  # the seed's settings (checked below)
USD_KRW = SAMPLE_FX[("USD", "KRW")]


def canonical(words: dict[str, set[str]], text: object) -> str:
    folded = "" if text is None else str(text).strip().casefold()
    return next(k for k, v in words.items() if folded in {w.casefold() for w in v})


def path(lang: str) -> Path:
    return TEMPLATES / f"korean-investor_{lang}.xlsx"


def table(ws, first_row: int, first_col: int, width: int) -> list[list[object]]:
    """A spill's cached rows from its anchor down to the first blank row."""
    rows = []
    r = first_row
    while ws.cell(r, first_col).value not in (None, ""):
        rows.append([ws.cell(r, first_col + j).value for j in range(width)])
        r += 1
    return rows


@pytest.fixture(scope="module", params=LANGS)
def shown(request):
    """(lang, reader ranges, cached orders, cached summary dict, Plan sheet formulas)."""
    lang = request.param
    values = openpyxl.load_workbook(path(lang), data_only=True)
    formulas = openpyxl.load_workbook(path(lang))
    plan = layout.sheet_name("plan", lang)
    orders = table(values[plan], 3, 2, 11)
    summary = {r[0]: r[1] for r in table(values[plan], 3, 14, 2)[1:]}
    cells = {c: formulas[plan][c].value.text for c in ("B3", "N3", "R3")}
    return lang, read_workbook(path(lang)), orders, summary, cells


def test_accounts_sheet_lists_the_four_accounts_with_their_types(shown):
    lang, ranges, *_ = shown
    wb = openpyxl.load_workbook(path(lang))
    sheet = layout.sheet_name("accounts", lang)
    assert sheet in wb.sheetnames
    # After Cash, before Settings.
    names = wb.sheetnames
    assert names.index(sheet) == names.index(layout.sheet_name("cash", lang)) + 1
    assert list(wb[sheet].tables) == ["Accounts"]
    header, *rows = ranges.accounts
    assert header == list(layout.HEADERS["accounts"][lang])
    assert [(r[0], canonical(TYPE_WORDS, r[1])) for r in rows] == ACCOUNTS[lang]
    # Every account the holdings and cash name is listed; the cash names one per row.
    listed = {r[0] for r in rows}
    account_col = layout.HEADERS["holdings"][lang].index(layout.HEADERS["accounts"][lang][0])
    assert {r[account_col] for r in ranges.holdings[1:]} == listed
    assert ranges.cash[0][2] == layout.ACCOUNT_COLUMNS["cash"][lang][0]
    assert {r[2] for r in ranges.cash[1:]} == listed
    # The Class column marks the bond ETF.
    assert ranges.targets[0][-1] == layout.ACCOUNT_COLUMNS["targets"][lang][0]
    classes = {r[0]: canonical(CLASS_WORDS, r[-1]) for r in ranges.targets[1:]}
    assert classes["114260"] == "bond" and classes["QQQ"] == "equity"
    # Korean template: Korean account names and type words, no English ones.
    if lang == "ko":
        assert not any(re.search(r"[a-z]", str(r[1])) for r in rows)


def test_rebal_formulas_take_the_accounts_table_as_sixth_range(shown):
    _lang, _ranges, _orders, _summary, cells = shown
    for cell, function in zip(cells, ("ORDERS", "SUMMARY", "DRIFT"), strict=True):
        text = cells[cell]
        inner = re.search(rf"REBAL_{function}\(([^()]*)\)", text)
        assert inner, text
        args = inner.group(1).split(",")
        assert args == [
            "Holdings[#All]",
            "Targets[#All]",
            "Cash[#All]",
            "Settings[#All]",
            "Groups[#All]",
            "Accounts[#All]",
        ]


def test_cached_orders_keep_every_account_rule(shown):
    lang, ranges, orders, summary, _cells = shown
    header, *rows = orders
    assert header[-1] == ("계좌" if lang == "ko" else "Account")
    assert rows, "the sample plan trades"
    kinds = {r[0]: canonical(TYPE_WORDS, r[1]) for r in ranges.accounts[1:]}
    classes = {r[0]: canonical(CLASS_WORDS, r[-1]) for r in ranges.targets[1:]}
    settings = {r[0]: r[1] for r in ranges.settings[1:]}
    assert (settings["fee_rate"], settings["fx_spread"], settings["fee_min"]) == (
        FEE_RATE,
        FX_SPREAD,
        0,
    )
    held: dict[tuple[str, str], float] = {}
    for r in ranges.holdings[1:]:
        held[(r[0], r[5])] = held.get((r[0], r[5]), 0.0) + r[2]
    buy_words, sell_words = {"BUY", "매수"}, {"SELL", "매도"}
    seen = set()
    after = dict(held)
    net = dict.fromkeys(kinds, 0.0)  # base-currency cash spent per account
    traded = dict.fromkeys(kinds, 0.0)
    fx = {"KRW": 1.0, "USD": USD_KRW}
    for ticker, action, shares, price, ccy, amount, amount_base, *_w, account in rows:
        assert account in kinds, account
        assert (ticker, account) not in seen  # one row per ticker and account
        seen.add((ticker, account))
        assert shares == int(shares) and shares > 0
        assert price == INSTRUMENTS[ticker].sample_price and ccy == INSTRUMENTS[ticker].currency
        assert amount == pytest.approx(shares * price)
        assert amount_base == pytest.approx(amount * fx[ccy])
        kind = kinds[account]
        if action in buy_words:
            if kind != "general":
                assert KRX.match(ticker), f"{ticker} bought in {kind} account {account}"
            if kind in ("pension", "irp", "dc"):
                assert classes.get(ticker, "equity") not in ("leveraged", "inverse")
            after[(ticker, account)] = after.get((ticker, account), 0.0) + shares
            net[account] += amount_base
        else:
            assert action in sell_words
            assert shares <= held.get((ticker, account), 0.0), f"oversold {ticker} in {account}"
            after[(ticker, account)] -= shares
            net[account] -= amount_base
        traded[account] += amount_base
    # The US-listed ETFs trade in the general account only; every account gets orders.
    us = {r[-1] for r in rows if not KRX.match(r[0])}
    assert us and {kinds[a] for a in us} == {"general"}
    # Cash per account and currency: never below zero, and what the orders leave.
    labels = (
        ("리밸런싱 전 현금", "리밸런싱 후 현금") if lang == "ko" else ("Cash before", "Cash after")
    )
    for account in kinds:
        before = after_cash = 0.0
        for ccy in fx:
            b = summary.get(f"{labels[0]} ({account}, {ccy})")
            a = summary.get(f"{labels[1]} ({account}, {ccy})")
            assert (b is None) == (a is None)
            if a is None:
                continue
            assert a >= 0, (account, ccy, a)
            before += b * fx[ccy]
            after_cash += a * fx[ccy]
        cash_rows = [r for r in ranges.cash[1:] if r[2] == account]
        assert before == pytest.approx(sum(r[1] * fx[r[0]] for r in cash_rows))
        convert = next((v for k, v in summary.items() if "→" in k and f"({account})" in k), 0.0)
        costs = FEE_RATE * traded[account] + FX_SPREAD * convert
        assert after_cash == pytest.approx(before - net[account] - costs, abs=1.0), account
    # IRP: risky (all but bond/cash classes) at most 70% of the account after trades.
    for account, kind in kinds.items():
        if kind not in ("irp", "dc"):
            continue
        value = {
            t: n * INSTRUMENTS[t].sample_price * fx[INSTRUMENTS[t].currency]
            for (t, a), n in after.items()
            if a == account
        }
        cash_after = sum(
            v * fx[c] for c in fx if (v := summary.get(f"{labels[1]} ({account}, {c})")) is not None
        )
        total = sum(value.values()) + cash_after
        risky = sum(v for t, v in value.items() if classes.get(t, "equity") not in ("bond", "cash"))
        assert risky / total <= 0.70 + 1e-9
        risky_label = "거래 후 위험자산 비중" if lang == "ko" else "Risky weight after"
        assert summary[f"{risky_label} ({account})"] == pytest.approx(risky / total)
        # "Near its cap": the sample IRP starts within ten points of 70%.
        before = {t: n * INSTRUMENTS[t].sample_price for (t, a), n in held.items() if a == account}
        cash_before = sum(r[1] for r in ranges.cash[1:] if r[2] == account)
        start = sum(v for t, v in before.items() if classes.get(t) != "bond")
        assert 0.60 <= start / (sum(before.values()) + cash_before) <= 0.70


def test_the_seed_is_the_household_the_issue_describes():
    for lang in LANGS:
        p = KOREAN_INVESTOR.for_lang(lang)
        kinds = {a.name: canonical(TYPE_WORDS, a.type) for a in p.accounts}
        where = {(h.ticker, kinds[h.account]) for h in p.holdings}
        assert {t for t, k in where if k == "general"} == {"QQQ", "SCHD"}
        for kind in ("isa", "pension", "irp"):
            assert {t for t, k in where if k == kind} <= {"069500", "360750", "114260"}
        assert {c for c, _, a in p.cash_rows() if kinds[a] == "general"} == {"USD", "KRW"}
        assert sum(t.target for t in p.targets) == pytest.approx(1.0)


@pytest.mark.parametrize("lang", LANGS)
def test_cli_prints_the_account_column(monkeypatch, lang):
    import io

    from rich.cells import cell_len
    from rich.console import Console

    buffer = io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=buffer, width=80, color_system=None))
    result = CliRunner().invoke(cli.app, ["plan", str(path(lang)), "--offline"])
    assert result.exit_code == 0, result.output
    text = buffer.getvalue()
    assert all(cell_len(line) <= 80 for line in text.splitlines())
    header = next(line for line in text.splitlines() if "QQQ" not in line and "SCHD" not in line
                  and ("티커" in line or "Ticker" in line))  # fmt: skip
    assert ("계좌" if lang == "ko" else "Account") in header
    for name, _kind in ACCOUNTS[lang]:
        assert any(line.rstrip().endswith(name) for line in text.splitlines()), name
    # csv keeps the contract's English header, Account last.
    csv = CliRunner().invoke(cli.app, ["plan", str(path(lang)), "--offline", "-f", "csv"])
    assert csv.stdout.splitlines()[0].endswith(",Target,Account")


def test_both_languages_get_the_same_household_plan():
    """The English and Korean workbooks hold the same household under other names (위탁 for
    Brokerage, 연금저축 for Pension): the same orders per account type and the same proven
    gap, so neither language gets a different search."""
    plans = {}
    for lang in LANGS:
        values = openpyxl.load_workbook(path(lang), data_only=True)
        plan = layout.sheet_name("plan", lang)
        _header, *rows = table(values[plan], 3, 2, 11)
        kinds = dict(ACCOUNTS[lang])
        plans[lang] = sorted((r[0], r[1] in {"BUY", "매수"}, r[2], kinds[r[-1]]) for r in rows)
        summary = [r[1] for r in table(values[plan], 3, 14, 2)[1:]]
        gaps = [re.findall(r"0\.\d{6}", str(v)) for v in summary]
        plans[lang].append(tuple(g for found in gaps for g in found))
    assert plans["en"] == plans["ko"]
    assert plans["en"][-1], "the summary states the proven gap"
