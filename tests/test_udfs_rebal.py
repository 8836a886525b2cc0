"""REBAL_ORDERS / REBAL_SUMMARY / REBAL_DRIFT as plain calls with the values Excel delivers.

Holdings carry Price and Currency and settings carry FX rates, so no quote
layer is involved; the missing-price path is tested at the engine level
(tests/engine/test_plan.py).
"""

from __future__ import annotations

from etf_rebalancer import udfs

HOLDINGS = [
    ["Ticker", "Shares", "Price", "Currency", "Account"],
    ["QQQ", 10.0, 500.0, "USD", "ISA"],
    [None, None, None, None, None],
    ["069500", 100.0, 35000.0, "KRW", "연금"],
    ["TQQQ", 50.0, 80.0, "USD", "ISA"],
    ["QQQ", 2.0, 500.0, "USD", "연금"],
]
TARGETS = [
    ["Ticker", "Target", "Max", "Group"],
    ["QQQ", 50.0, None, None],
    ["069500", 40.0, None, None],
    ["TQQQ", 10.0, None, "leveraged"],
]
SETTINGS = [["FX KRW", 1 / 1400], ["fee_rate", "0.1%"], ["fx_spread", 0.002]]
CASH = [["Currency", "Amount"], ["USD", 2000.0], ["KRW", 1_000_000.0]]
GROUPS = [["Group", "Max"], ["leveraged", 0.05]]


def test_orders_table_has_the_contract_header_and_plain_values():
    rows = udfs.REBAL_ORDERS(HOLDINGS, TARGETS, CASH, SETTINGS, GROUPS)
    assert rows[0] == [
        "Ticker",
        "Action",
        "Shares",
        "Price",
        "Currency",
        "Amount",
        "Amount (base)",
        "Weight Before",
        "Weight After",
        "Target",
    ]
    actions = [(r[0], r[1]) for r in rows[1:]]
    assert actions[0] == ("TQQQ", "SELL")  # sells first
    assert {a for _, a in actions[1:]} == {"BUY"}
    for row in rows[1:]:
        assert all(type(v) in (str, float, int) for v in row)
        assert row[2] > 0 and row[2] == int(row[2])
        assert row[5] == row[2] * row[3]


def test_summary_reports_cash_fees_drift_and_the_group_cap():
    rows = udfs.REBAL_SUMMARY(HOLDINGS, TARGETS, CASH, SETTINGS, GROUPS)
    assert rows[0] == ["Item", "Value"]
    items = dict((r[0], r[1]) for r in rows[1:] if r[0] != "Warning")
    assert items["Cash after"] >= 0
    assert items["Fees"] > 0
    assert items["Drift after"] < items["Drift before"]
    assert items["Solver"] == "optimal (MILP)"
    weights = {r[0]: r[8] for r in udfs.REBAL_ORDERS(HOLDINGS, TARGETS, CASH, SETTINGS, GROUPS)[1:]}
    assert weights["TQQQ"] <= 0.05 + 1e-9


def test_drift_table():
    rows = udfs.REBAL_DRIFT(HOLDINGS, TARGETS, CASH, SETTINGS, GROUPS)
    assert rows[0] == ["Ticker", "Value", "Weight", "Target", "Drift", "Band", "Status"]
    assert [r[0] for r in rows[1:]] == ["069500", "QQQ", "TQQQ", "CASH"]
    assert {r[6] for r in rows[1:]} <= {"OK", "OVER", "UNDER"}
    assert abs(sum(r[2] for r in rows[1:]) - 1.0) < 1e-9


def test_korean_workbook_gets_korean_labels_and_errors():
    holdings = [["티커", "수량", "현재가", "통화"], ["069500", 10.0, 35000.0, "KRW"]]
    targets = [["티커", "목표비중"], ["069500", 100.0]]
    settings = [["base_currency", "KRW"]]
    rows = udfs.REBAL_SUMMARY(holdings, targets, 100_000.0, settings)
    assert rows[0] == ["항목", "값"]
    bad = udfs.REBAL_ORDERS([["티커", "수량"], ["069500", "열"]], targets, None, settings)
    assert bad == [["오류: 수량은 숫자여야 합니다: '열' (보유종목 2행, 069500)"]]


def test_bad_input_comes_back_as_one_cell_naming_the_problem():
    cases = [
        (
            (HOLDINGS, [["Ticker", "Target"], ["QQQ", 50.0], ["TQQQ", 45.0]]),
            "Targets must sum to 100%",
        ),
        (([["Ticker", "Shares"], ["QQQ", -1.0]], TARGETS), "(holdings row 2, QQQ)"),
        (([["Ticker", "Shares"], ["QQQ", 1.0], ["QQQ", 1.0]], TARGETS), "rows 2 and 3"),
        ((HOLDINGS, TARGETS, CASH, [["bogus", 1.0]]), "Unknown settings key 'bogus'"),
    ]
    for args, expected in cases:
        result = udfs.REBAL_ORDERS(*args)
        assert isinstance(result, list) and len(result) == 1 and len(result[0]) == 1
        assert result[0][0].startswith("Error: ")
        assert expected in result[0][0]


def test_buy_only_with_a_breached_cap_shows_it_in_the_summary():
    rows = udfs.REBAL_SUMMARY(
        [
            ["Ticker", "Shares", "Price", "Currency"],
            ["TQQQ", 20.0, 50.0, "USD"],
            ["QQQ", 10.0, 100.0, "USD"],
        ],
        [["Ticker", "Target", "Max"], ["QQQ", 90, None], ["TQQQ", 10, 10]],
        1000.0,
        [["buy_only", True]],
    )
    assert [
        "Warning",
        "TQQQ is 33.33% after trading, above its Max 10.00% by 23.33 percentage points",
    ] in rows
