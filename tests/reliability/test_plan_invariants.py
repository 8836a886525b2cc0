"""Random well-formed workbooks through REBAL_*: every plan that comes back keeps its guarantees.

The inputs are what Excel hands the UDFs for a valid but arbitrary workbook:
several currencies with ``FX <CCY>`` settings (so no quote is ever needed),
English or Korean headers in any column order, blank rows, weights as
percents, fractions or ``"25%"`` text, an optional CASH row, bands, fees,
buy-only, band mode, whole or fractional shares, cash as a number or a
``Currency, Amount`` range. The checks are the contract's guarantees, read
from the cells the user sees: no sale above the shares held, whole shares
when asked, positive share counts, no cash pool below zero after trades and
fees, the money adds up, and REBAL_DRIFT/REBAL_SUMMARY are tables.

``HYPOTHESIS_PROFILE=fuzz`` runs 10,000 examples per function.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from etf_rebalancer import udfs
from etf_rebalancer.cells.labels import DRIFT_HEADER, ORDER_HEADER, localize_rows

US = ["QQQ", "SPY", "TLT", "GLD", "XLK", "TQQQ"]
KRX = ["069500", "360750", "0030R0"]
EU = ["VWCE.DE", "XAIX.DE"]

# Value of one unit of each currency in USD; FX settings are derived from it.
USD_VALUE = {"USD": 1.0, "KRW": 1 / 1400.0, "EUR": 1.16}
HEADERS = {
    "en": {
        "ticker": "Ticker",
        "shares": "Shares",
        "price": "Price",
        "currency": "Currency",
        "target": "Target",
        "band": "Band",
    },
    "ko": {
        "ticker": "티커",
        "shares": "수량",
        "price": "현재가",
        "currency": "통화",
        "target": "목표비중",
        "band": "허용범위",
    },
}
CASH_AFTER = ("Cash after", "리밸런싱 후 현금")
MONEY = {
    "value_before": ("Portfolio value before", "리밸런싱 전 평가액"),
    "cash_before": ("Cash before", "리밸런싱 전 현금"),
    "cash_after": ("Cash after", "리밸런싱 후 현금"),
    "raise": ("Cash raised (to withdraw)", "인출할 현금"),
    "bought": ("Bought", "매수 금액"),
    "sold": ("Sold", "매도 금액"),
    "fees": ("Fees", "수수료"),
    "tax": ("Transaction tax", "증권거래세"),
    "fx_cost": ("FX spread cost", "환전 비용"),
}


@dataclass
class Workbook:
    """Raw REBAL_* arguments plus what the checks need to know about them."""

    holdings: list[list[Any]]
    targets: list[list[Any]]
    cash: Any
    settings: list[list[Any]]
    held: dict[str, float]
    whole_shares: bool
    buy_only: bool
    cash_is_negative: bool

    def args(self) -> tuple[Any, ...]:
        return self.holdings, self.targets, self.cash, self.settings or None


def _listing(ticker: str) -> str:
    if ticker in KRX:
        return "KRW"
    if ticker in EU:
        return "EUR"
    return "USD"


def _permuted(draw: st.DrawFn, header: list[str], rows: list[list[Any]]) -> list[list[Any]]:
    """Columns in any order, blank rows anywhere (Excel ranges as users leave them)."""
    order = draw(st.permutations(range(len(header))))
    out = [[header[i] for i in order]]
    for row in rows:
        if draw(st.integers(0, 5)) == 0:
            out.append([None] * len(header))
        out.append([row[i] for i in order])
    return out


def _weight_cell(draw: st.DrawFn, percent: float, style: str) -> Any:
    if style == "fraction":
        return percent / 100.0
    if style == "text":
        return f"{percent:g}%"
    return percent


@st.composite
def workbooks(draw: st.DrawFn) -> Workbook:
    lang = draw(st.sampled_from(["en", "ko"]))
    names = HEADERS[lang]
    base = draw(st.sampled_from(["USD", "KRW", "EUR"]))
    tickers = draw(st.lists(st.sampled_from(US + KRX + EU), min_size=1, max_size=5, unique=True))
    extra = draw(st.lists(st.sampled_from(US + KRX), max_size=1, unique=True))
    held_only = [t for t in extra if t not in tickers]  # an unlisted holding: target 0
    whole = draw(st.booleans())
    held: dict[str, float] = defaultdict(float)
    rows = []
    for ticker in tickers + held_only:
        ccy = _listing(ticker)
        unit = {"USD": 1.0, "EUR": 1.0, "KRW": 1000.0}[ccy]
        price = draw(st.floats(min_value=0.5, max_value=2000.0)) * unit
        price = round(price, 0 if ccy == "KRW" else 2) or unit
        if whole:
            shares = float(draw(st.integers(min_value=0, max_value=3000)))
        else:
            shares = draw(
                st.one_of(
                    st.integers(0, 3000).map(float),
                    st.floats(min_value=0, max_value=3000).map(lambda x: round(x, 4)),
                )
            )
        held[ticker] += shares
        # KRX codes typed into a number-formatted cell arrive as floats (069500 -> 69500.0).
        cell = float(ticker) if ticker.isdigit() and draw(st.booleans()) else ticker
        rows.append([cell, shares, price, ccy])
    holdings = _permuted(
        draw, [names["ticker"], names["shares"], names["price"], names["currency"]], rows
    )

    target_rows = list(tickers)
    if draw(st.booleans()):
        target_rows.append("CASH" if lang == "en" else "현금")
    cuts = sorted(
        draw(
            st.lists(
                st.integers(0, 1000), min_size=len(target_rows) - 1, max_size=len(target_rows) - 1
            )
        )
    )
    bounds = [0, *cuts, 1000]
    percents = [(bounds[i + 1] - bounds[i]) / 10.0 for i in range(len(target_rows))]
    style = draw(st.sampled_from(["percent", "fraction", "text"]))
    with_band = draw(st.booleans())
    header = [names["ticker"], names["target"]] + ([names["band"]] if with_band else [])
    trows = []
    for ticker, percent in zip(target_rows, percents, strict=True):
        row = [ticker, _weight_cell(draw, percent, style)]
        if with_band:
            row.append(draw(st.sampled_from([None, 0.1, 0.25, "20%", 5.0])))
        trows.append(row)
    targets = _permuted(draw, header, trows)

    currencies_used = {_listing(t) for t in tickers + held_only}
    cash_kind = draw(st.sampled_from(["none", "number", "range", "negative"]))
    cash: Any = None
    if cash_kind == "number":
        cash = float(draw(st.integers(0, 2_000_000 if base == "KRW" else 20_000)))
    elif cash_kind == "negative":
        cash = -float(draw(st.integers(1, 5_000_000 if base == "KRW" else 5_000)))
    elif cash_kind == "range":
        pools = draw(st.lists(st.sampled_from(["USD", "KRW", "EUR"]), min_size=1, unique=True))
        cash = [["Currency", "Amount"] if lang == "en" else ["통화", "금액"]]
        for pool in pools:
            cash.append([pool, float(draw(st.integers(0, 5_000_000 if pool == "KRW" else 5000)))])
            currencies_used.add(pool)

    settings: list[list[Any]] = [["base_currency", base]]
    for ccy in sorted(currencies_used - {base}):
        settings.append([f"FX {ccy}", USD_VALUE[ccy] / USD_VALUE[base]])
    if not whole:
        settings.append(["whole_shares", draw(st.sampled_from([False, "FALSE", "아니오"]))])
    elif draw(st.booleans()):
        settings.append(["whole_shares", draw(st.sampled_from([True, "TRUE", "예"]))])
    buy_only = draw(st.booleans()) and cash_kind != "negative"
    if buy_only:
        settings.append(["buy_only", True])
    optional = {
        "mode": st.sampled_from(["full", "band"]),
        "band": st.sampled_from([0.05, 0.1, "20%"]),
        "band_type": st.sampled_from(["relative", "absolute"]),
        "fee_rate": st.sampled_from([0.0, 0.001, 0.0025, "0.1%"]),
        "fee_min": st.sampled_from([0.0, 1.0, 5.0]),
        "min_trade": st.sampled_from([0.0, 50.0, 500.0]),
        "fx_spread": st.sampled_from([0.0, 0.002, 0.01]),
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), unique=True)):
        settings.append([key, draw(optional[key])])
    if sum(held.values()) == 0 and cash_kind in ("none", "negative"):
        cash = 1000.0 if base != "KRW" else 1_000_000.0
        cash_kind = "number"
    return Workbook(
        holdings=holdings,
        targets=targets,
        cash=cash,
        settings=settings,
        held=dict(held),
        whole_shares=whole,
        buy_only=buy_only,
        cash_is_negative=cash_kind == "negative",
    )


def _ticker_key(value: Any) -> str:
    text = str(value)
    return text if not text.replace(".", "").isdigit() else f"{int(float(text)):06d}"


def _is_error(result: list[list[Any]]) -> bool:
    return len(result) == 1 and len(result[0]) == 1 and isinstance(result[0][0], str)


def _assert_explained(result: list[list[Any]]) -> None:
    text = result[0][0]
    assert text.startswith(("Error: ", "오류: ")), text
    assert "unexpected" not in text, f"a bug, not bad input: {text}"


def _money(summary: list[list[Any]]) -> dict[str, float]:
    labels = {label: key for key, pair in MONEY.items() for label in pair}
    return {labels[item]: value for item, value in summary[1:] if item in labels}


_KO_WORDS = {
    "매수": "BUY",
    "매도": "SELL",
    "적정": "OK",
    "초과": "OVER",
    "미달": "UNDER",
    "현금": "CASH",
}


def _canonical(kind: str, rows: list[list[Any]], workbook: Workbook) -> list[list[Any]]:
    """The answer in the contract's English words: a Korean-header workbook is answered in
    Korean (headers, actions, statuses, the cash row), with the same numbers."""
    if _is_error(rows) or not set(workbook.holdings[0]) & set(HEADERS["ko"].values()):
        return rows
    english = ORDER_HEADER if kind == "orders" else DRIFT_HEADER
    assert rows[0] == localize_rows(kind, [english], "ko")[0], rows[0]
    body = [[_KO_WORDS.get(c, c) if isinstance(c, str) else c for c in r] for r in rows[1:]]
    return [list(english), *body]


@given(workbook=workbooks())
def test_rebal_orders_keep_the_contract_guarantees(workbook: Workbook):
    orders = _canonical("orders", udfs.REBAL_ORDERS(*workbook.args()), workbook)
    if _is_error(orders):
        _assert_explained(orders)
        event(f"orders: error {orders[0][0][:40]}")
        return
    event("orders: table")
    assert orders[0] == ORDER_HEADER
    sold: dict[str, float] = defaultdict(float)
    for row in orders[1:]:
        ticker, action, shares, price, _ccy, amount, amount_base = row[:7]
        key = _ticker_key(ticker)
        assert action in ("BUY", "SELL"), row
        assert isinstance(shares, float | int) and shares > 0, row
        assert math.isfinite(amount) and math.isfinite(amount_base), row
        # Shares are shown to 10 decimals; the amount is computed from the exact count.
        assert amount == pytest.approx(shares * price, rel=1e-9, abs=price * 1e-9), row
        if workbook.whole_shares:
            assert shares == int(shares), f"fractional shares with whole_shares: {row}"
        if action == "SELL":
            assert not workbook.buy_only, f"a sale in buy-only mode: {row}"
            sold[key] += shares
    for key, shares in sold.items():
        assert shares <= workbook.held.get(key, 0.0) + 1e-9, (
            f"oversold {key}: {shares} > {workbook.held.get(key)}"
        )


@given(workbook=workbooks())
def test_rebal_summary_cash_never_below_zero_and_money_adds_up(workbook: Workbook):
    summary = udfs.REBAL_SUMMARY(*workbook.args())
    if _is_error(summary):
        _assert_explained(summary)
        return
    assert summary[0] in (["Item", "Value"], ["항목", "값"])
    assert all(len(row) == 2 and isinstance(row[0], str) for row in summary)
    cash_rows = [(item, v) for item, v in summary[1:] if str(item).startswith(CASH_AFTER)]
    assert cash_rows, summary
    base_scale = max(1.0, abs(_money(summary).get("cash_before", 0.0)))
    for item, value in cash_rows:  # the total and every currency pool
        assert value >= -1e-9 * base_scale, f"{item} = {value}"
    money = _money(summary)
    # Cash after = cash before + sales - purchases - costs - money raised (base currency).
    expected = (
        money["cash_before"]
        + money["sold"]
        - money["bought"]
        - money["fees"]
        - money["tax"]
        - money["fx_cost"]
        - money.get("raise", 0.0)
    )
    # The engine settles cash to 1e-9 of the portfolio's value (0.002 KRW on 2.2M KRW).
    scale = max(1.0, money["bought"], money["sold"], money["value_before"])
    assert money["cash_after"] == pytest.approx(expected, abs=2e-9 * scale)
    orders = _canonical("orders", udfs.REBAL_ORDERS(*workbook.args()), workbook)
    assert not _is_error(orders)
    bought = sum(r[6] for r in orders[1:] if r[1] == "BUY")
    sold = sum(r[6] for r in orders[1:] if r[1] == "SELL")
    assert bought == pytest.approx(money["bought"], abs=1e-9 * scale)
    assert sold == pytest.approx(money["sold"], abs=1e-9 * scale)


@given(workbook=workbooks())
def test_rebal_drift_is_a_table_of_the_whole_portfolio(workbook: Workbook):
    drift = _canonical("drift", udfs.REBAL_DRIFT(*workbook.args()), workbook)
    if _is_error(drift):
        _assert_explained(drift)
        return
    assert drift[0] == DRIFT_HEADER
    assert drift[-1][0] == "CASH"
    assert {_ticker_key(r[0]) for r in drift[1:-1]} >= {
        k for k, v in workbook.held.items() if v > 0
    }
    for row in drift[1:]:
        assert row[6] in ("OK", "OVER", "UNDER"), row
        assert all(math.isfinite(v) for v in row[1:6]), row
    if not workbook.cash_is_negative:
        assert sum(r[2] for r in drift[1:]) == pytest.approx(1.0, abs=1e-9)


def test_no_hair_of_a_share_becomes_an_order():
    """Found by the fuzz run: HiGHS left 2.9e-16 shares of a 0% target (fractional shares),
    shown as "BUY 0.0" worth 1e-13 USD despite min_trade 50."""
    holdings = [
        ["Ticker", "Shares", "Price", "Currency"],
        ["069500", 0.0, 410335.0, "KRW"],
        ["QQQ", 0.0, 0.5, "USD"],
        ["GLD", 1.0, 0.5, "USD"],
    ]
    targets = [["Ticker", "Target"], ["069500", 0.0], ["QQQ", 1.0]]
    settings = [
        ["base_currency", "USD"],
        ["FX KRW", 1 / 1400],
        ["whole_shares", False],
        ["band", 0.05],
        ["min_trade", 50.0],
    ]
    orders = udfs.REBAL_ORDERS(holdings, targets, 767.0, settings)
    assert [row[:3] for row in orders[1:]] == [["QQQ", "BUY", 1534.0]]
