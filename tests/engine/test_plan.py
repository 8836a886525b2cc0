"""Plans with hand-checked answers: modes, constraints, currencies, Korea's tax, caps, fallback."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from etf_rebalancer.cells.labels import ORDER_HEADER
from etf_rebalancer.engine import knapsack, milp
from etf_rebalancer.engine import plan as plan_module
from etf_rebalancer.engine.market import MarketData
from etf_rebalancer.engine.plan import plan_rebalance
from etf_rebalancer.errors import InputError, Notice
from etf_rebalancer.planning.inputs import read_request

H = ["Ticker", "Shares", "Price", "Currency"]


def plan_of(holdings, targets, cash=None, settings=None, groups=None, **kw):
    return plan_rebalance(read_request(holdings, targets, cash, settings, groups), **kw)


def orders(plan):
    return [(r[0], r[1], r[2]) for r in plan.order_rows()[1:]]


def summary(plan, lang="en"):
    return {
        row[0]: row[1] for row in plan.summary_rows(lang)[1:] if row[0] not in ("Warning", "경고")
    }


def warnings(plan):
    return [n.message for n in plan.notices]


def test_full_mode_trades_exactly_to_target():
    plan = plan_of(
        [H, ["QQQ", 10.0, 100.0, "USD"], ["SPY", 0.0, 50.0, "USD"]],
        [["Ticker", "Target"], ["QQQ", 50], ["SPY", 50]],
    )
    assert plan.order_rows()[0] == ORDER_HEADER
    assert orders(plan) == [("QQQ", "SELL", 5.0), ("SPY", "BUY", 10.0)]
    row = plan.order_rows()[1]
    assert row == ["QQQ", "SELL", 5.0, 100.0, "USD", 500.0, 500.0, 1.0, 0.5, 0.5]
    assert summary(plan)["Drift after"] == 0.0
    assert summary(plan)["Drift before"] == pytest.approx(1.0)  # |1 - .5| + |0 - .5|
    assert summary(plan)["Solver"] == "optimal (MILP)"


def test_nothing_to_do_gives_the_header_alone():
    plan = plan_of(
        [H, ["QQQ", 5.0, 100.0, "USD"], ["SPY", 10.0, 50.0, "USD"]],
        [["Ticker", "Target"], ["QQQ", 50], ["SPY", 50]],
    )
    assert plan.order_rows() == [ORDER_HEADER]


def test_buy_only_over_cap_gives_the_best_plan_and_names_the_breach():
    plan = plan_of(
        [H, ["TQQQ", 20.0, 50.0, "USD"], ["QQQ", 10.0, 100.0, "USD"]],
        [["Ticker", "Target", "Max"], ["QQQ", 90, None], ["TQQQ", 10, 10]],
        1000.0,
        [["buy_only", True]],
    )
    assert orders(plan) == [("QQQ", "BUY", 10.0)]
    assert (
        "TQQQ is 33.33% after trading, above its Max 10.00% by 23.33 percentage points"
        in warnings(plan)
    )
    rows = plan.summary_rows()
    assert [
        "Warning",
        "TQQQ is 33.33% after trading, above its Max 10.00% by 23.33 percentage points",
    ] in rows


def test_band_mode_trades_to_the_band_edge_only():
    targets = [["Ticker", "Target", "Band"], ["A", 40, 10], ["B", 60, 10]]
    inside = plan_of(
        [H, ["A", 100.0, 10.0, "USD"], ["B", 150.0, 10.0, "USD"]],
        targets,
        settings=[["mode", "band"]],
    )
    assert orders(inside) == []
    outside = plan_of(
        [H, ["A", 120.0, 10.0, "USD"], ["B", 130.0, 10.0, "USD"]],
        targets,
        settings=[["mode", "band"]],
    )
    # A is 48% (band 36-44%): sell to the 44% edge, not to 40%; the cash goes to B.
    assert orders(outside) == [("A", "SELL", 10.0), ("B", "BUY", 10.0)]
    drift = {
        r[0]: r[6]
        for r in plan_of(
            [H, ["A", 120.0, 10.0, "USD"], ["B", 130.0, 10.0, "USD"]], targets
        ).drift_rows()[1:]
    }
    assert drift == {"A": "OVER", "B": "UNDER", "CASH": "OK"}


def test_drift_rows():
    plan = plan_of(
        [H, ["A", 120.0, 10.0, "USD"]],
        [["Ticker", "Target", "Band"], ["A", 80, 5], ["CASH", 20, None]],
        300.0,
    )
    assert plan.drift_rows() == [
        ["Ticker", "Value", "Weight", "Target", "Drift", "Band", "Status"],
        ["A", 1200.0, 0.8, 0.8, 0.0, 0.04, "OK"],
        ["CASH", 300.0, 0.2, 0.2, 0.0, 0.0, "OK"],
    ]


def test_krx_stock_sale_pays_the_dated_transaction_tax_etfs_do_not():
    holdings = [
        ["Ticker", "Shares", "Price", "Currency", "Type"],
        ["005930", 10.0, 70000.0, "KRW", "STOCK"],
        ["069500", 0.0, 35000.0, "KRW", "ETF"],
    ]
    targets = [["Ticker", "Target"], ["069500", 100]]
    settings = [["base_currency", "KRW"]]
    plan = plan_rebalance(
        read_request(holdings, targets, None, settings), as_of=dt.date(2026, 3, 2)
    )
    # 700,000 sold, 0.20% tax = 1,400 -> 698,600 buys 19 shares at 35,000.
    assert orders(plan) == [("005930", "SELL", 10.0), ("069500", "BUY", 19.0)]
    assert summary(plan)["Transaction tax"] == 1400.0
    assert summary(plan)["Cash after"] == pytest.approx(698_600 - 665_000)
    older = plan_rebalance(
        read_request(holdings, targets, None, settings), as_of=dt.date(2025, 6, 1)
    )
    assert summary(older)["Transaction tax"] == 1050.0  # 0.15% in 2025
    back = plan_of(
        [
            holdings[0],
            ["069500", 20.0, 35000.0, "KRW", "ETF"],
            ["005930", 0.0, 70000.0, "KRW", None],
        ],
        [["Ticker", "Target"], ["005930", 100]],
        None,
        settings,
    )
    assert summary(back)["Transaction tax"] == 0.0


def test_krx_kind_unknown_assumes_the_tax_and_says_so_etf_names_are_exempt():
    targets = [["Ticker", "Target"], ["360750", 100]]
    settings = [["base_currency", "KRW"]]
    plan = plan_of(
        [H, ["005930", 1.0, 70000.0, "KRW"], ["360750", 0.0, 20000.0, "KRW"]],
        targets,
        None,
        settings,
    )
    assert summary(plan)["Transaction tax"] == 140.0
    assert any("005930: instrument type unknown" in w for w in warnings(plan))
    named = plan_of(
        [
            ["Ticker", "Name", "Shares", "Price", "Currency"],
            ["091160", "KODEX 반도체", 1.0, 70000.0, "KRW"],
            ["360750", None, 0.0, 20000.0, "KRW"],
        ],
        targets,
        None,
        settings,
    )
    assert summary(named)["Transaction tax"] == 0.0
    kinds = MarketData(kinds={"005930": "EQUITY"})
    request = read_request(
        [H, ["005930", 1.0, 70000.0, "KRW"], ["360750", 0.0, 20000.0, "KRW"]],
        targets,
        None,
        settings,
    )
    quoted = plan_rebalance(request, kinds)
    assert not any("instrument type unknown" in w for w in warnings(quoted))


def test_currency_pools_convert_at_the_spread():
    plan = plan_of(
        [H, ["069500", 0.0, 35000.0, "KRW"]],
        [["Ticker", "Target"], ["069500", 100]],
        [["Currency", "Amount"], ["USD", 1000.0]],
        [["base_currency", "KRW"], ["FX USD", 1400], ["fx_spread", "1%"]],
    )
    # 1,000 USD -> 1,386,000 KRW after the 1% spread: 39 shares (1,365,000 KRW).
    assert orders(plan) == [("069500", "BUY", 39.0)]
    s = summary(plan)
    assert s["Convert USD→KRW"] == pytest.approx(1_365_000 / 0.99 / 1400)
    assert s["Cash after (KRW)"] == pytest.approx(0.0)
    assert s["Cash after (USD)"] == pytest.approx(1000 - 1_365_000 / 0.99 / 1400)
    assert s["FX spread cost"] == pytest.approx(1_365_000 / 0.99 * 0.01)


def test_weights_are_measured_in_the_base_currency():
    plan = plan_of(
        [H, ["SPY", 10.0, 100.0, "USD"], ["069500", 40.0, 35000.0, "KRW"]],
        [["Ticker", "Target"], ["SPY", 50], ["069500", 50]],
        None,
        [["FX KRW", 1 / 1400]],
    )
    # 1,000 USD and 1,400,000 KRW = 1,000 USD: already on target.
    assert orders(plan) == []
    assert [r[2] for r in plan.drift_rows()[1:3]] == [pytest.approx(0.5), pytest.approx(0.5)]


def test_negative_cash_is_money_to_raise():
    plan = plan_of(
        [H, ["A", 12.0, 100.0, "USD"], ["B", 8.0, 100.0, "USD"]],
        [["Ticker", "Target"], ["A", 50], ["B", 50]],
        -400.0,
    )
    assert orders(plan) == [("A", "SELL", 4.0)]
    s = summary(plan)
    assert s["Cash raised (to withdraw)"] == 400.0
    assert s["Cash after"] == 0.0
    with pytest.raises(InputError, match=r"Cannot raise 5,000\.00 USD"):
        plan_of([H, ["A", 1.0, 100.0, "USD"]], [["Ticker", "Target"], ["A", 100]], -5000.0)


def test_fee_min_is_charged_in_cash():
    plan = plan_of(
        [H, ["A", 0.0, 10.0, "USD"]],
        [["Ticker", "Target"], ["A", 100]],
        1000.0,
        [["fee_rate", 0.001], ["fee_min", 5]],
    )
    assert orders(plan) == [("A", "BUY", 99.0)]  # 990 + max(0.99, 5) = 995 <= 1000
    assert summary(plan)["Fees"] == 5.0
    assert summary(plan)["Cash after"] == pytest.approx(5.0)


def test_min_trade_skips_small_orders():
    holdings = [H, ["A", 50.0, 10.0, "USD"], ["B", 49.0, 10.0, "USD"]]
    targets = [["Ticker", "Target"], ["A", 50], ["B", 50]]
    assert orders(plan_of(holdings, targets, 10.0)) == [("B", "BUY", 1.0)]
    assert orders(plan_of(holdings, targets, 10.0, [["min_trade", 50]])) == []


def test_fractional_shares():
    plan = plan_of(
        [H, ["A", 0.0, 30.0, "USD"]],
        [["Ticker", "Target"], ["A", 100]],
        100.0,
        [["whole_shares", False]],
    )
    ((ticker, action, shares),) = orders(plan)
    assert (ticker, action) == ("A", "BUY")
    assert shares == pytest.approx(100 / 30, abs=1e-6)
    assert plan.cash_end.min() >= 0


def test_group_caps_hold():
    plan = plan_of(
        [H, ["TQQQ", 0.0, 10.0, "USD"], ["SOXL", 0.0, 10.0, "USD"], ["QQQ", 0.0, 10.0, "USD"]],
        [
            ["Ticker", "Target", "Group"],
            ["TQQQ", 15, "leveraged"],
            ["SOXL", 5, "Leveraged"],
            ["QQQ", 80, None],
        ],
        10_000.0,
        None,
        [["Group", "Max"], ["Leveraged", "10%"]],
    )
    weights, _ = plan.weights_after()
    lev = sum(w for t, w in zip(plan.tickers, weights, strict=True) if t in ("TQQQ", "SOXL"))
    assert lev == pytest.approx(0.10)
    assert not any("group" in w for w in warnings(plan))


def test_unlisted_holding_is_sold_and_reported():
    plan = plan_of(
        [H, ["XLK", 3.0, 100.0, "USD"], ["QQQ", 0.0, 100.0, "USD"]],
        [["Ticker", "Target"], ["QQQ", 100]],
    )
    assert orders(plan) == [("XLK", "SELL", 3.0), ("QQQ", "BUY", 3.0)]
    assert "XLK is held but not in targets: its target is taken as 0%" in warnings(plan)


def test_missing_price_names_the_ticker_and_the_reason():
    request = read_request(
        [H, ["QQQ", 1.0, 100.0, "USD"]], [["Ticker", "Target"], ["QQQ", 50], ["XYZ", 50]]
    )
    assert request.quote_needs().tickers == ("XYZ",)
    market = MarketData(failures={"XYZ": Notice("ticker not found on Yahoo")})
    with pytest.raises(
        InputError, match=r"No price for XYZ \(targets row 3\): ticker not found on Yahoo"
    ):
        plan_rebalance(request, market)
    quoted = plan_rebalance(
        request,
        MarketData(
            prices={"XYZ": 50.0},
            currencies={"XYZ": "USD"},
            notices=(Notice("XYZ price is 3 days old"),),
        ),
    )
    assert ["Warning", "XYZ price is 3 days old"] in quoted.summary_rows()


def test_missing_fx_names_the_currency():
    with pytest.raises(InputError, match=r"No FX rate for EUR in USD.*'FX EUR'"):
        plan_of([H, ["VWCE.DE", 1.0, 100.0, "EUR"]], [["Ticker", "Target"], ["VWCE.DE", 100]])


def test_greedy_fallback_is_reported(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("HiGHS unavailable")

    monkeypatch.setattr(milp, "_highs", broken)
    # One cash pool: the exact search would answer without HiGHS; exercise the fallback.
    monkeypatch.setattr(knapsack, "applies", lambda _problem: False)
    monkeypatch.setattr(plan_module, "_PLAN_CACHE", type(plan_module._PLAN_CACHE)())
    plan = plan_of(
        [H, ["QQQ", 10.0, 100.0, "USD"], ["SPY", 0.0, 50.0, "USD"]],
        [["Ticker", "Target"], ["QQQ", 50], ["SPY", 50]],
        37.0,
    )
    assert summary(plan)["Solver"] == "greedy fallback"
    assert any("greedy fallback" in w for w in warnings(plan))
    assert plan.cash_end.min() >= 0
    assert np.all(plan.sell <= plan.held)
    # V = 1,037, 518.5 each: sell floor(481.5 / 100) = 4 QQQ, buy floor(437 / 50) = 8 SPY.
    assert orders(plan) == [("QQQ", "SELL", 4.0), ("SPY", "BUY", 8.0)]
    assert plan.drift(after=True)[0] < plan.drift(after=False)[0]


def test_summary_in_korean():
    plan = plan_of([H, ["QQQ", 10.0, 100.0, "USD"]], [["Ticker", "Target"], ["QQQ", 100]])
    rows = plan.summary_rows("ko")
    assert rows[0] == ["항목", "값"]
    assert ["기준 통화", "USD"] in rows
    assert ["계산 방식", "거래 없음"] in rows


def test_repeat_calls_reuse_one_plan_as_independent_copies():
    args = ([H, ["QQQ", 10.0, 100.0, "USD"], ["SPY", 0.0, 50.0, "USD"]],
            [["Ticker", "Target"], ["QQQ", 50], ["SPY", 50]])  # fmt: skip
    first = plan_of(*args)
    first.buy[:] = 0  # a caller scribbling on its copy
    again = plan_of(*args)
    assert orders(again) == [("QQQ", "SELL", 5.0), ("SPY", "BUY", 10.0)]
