"""Every label an output shows, in English and Korean: one table, one row per label.

Headers of the contract's tables (English: the public contract for English
workbooks and the CLI's csv/json), summary items and values. A new label is one
entry here with both languages.
"""

from __future__ import annotations

#: ``REBAL_ORDERS`` header (English contract).
ORDER_HEADER = [
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
#: ``REBAL_SUMMARY`` header.
SUMMARY_HEADER = ["Item", "Value"]
SUMMARY_HEADER_KO = ["항목", "값"]
#: ``REBAL_DRIFT`` header (English contract).
DRIFT_HEADER = ["Ticker", "Value", "Weight", "Target", "Drift", "Band", "Status"]

#: The Quotes sheet's header (what Refresh writes and the offline plan reads).
QUOTES_HEADER: tuple[str, ...] = ("Ticker", "Price", "Currency", "Time", "Status", "Source")
QUOTES_HEADER_KO: tuple[str, ...] = ("티커", "현재가", "통화", "시각", "상태", "출처")

#: ``REBAL_SUMMARY`` items: key -> (English, Korean).
SUMMARY_LABELS: dict[str, tuple[str, str]] = {
    "base": ("Base currency", "기준 통화"),
    "mode": ("Mode", "방식"),
    "value_before": ("Portfolio value before", "리밸런싱 전 평가액"),
    "value_after": ("Portfolio value after", "리밸런싱 후 평가액"),
    "cash_before": ("Cash before", "리밸런싱 전 현금"),
    "cash_after": ("Cash after", "리밸런싱 후 현금"),
    "raise": ("Cash raised (to withdraw)", "인출할 현금"),
    "bought": ("Bought", "매수 금액"),
    "sold": ("Sold", "매도 금액"),
    "fees": ("Fees", "수수료"),
    "tax": ("Transaction tax", "증권거래세"),
    "fx_cost": ("FX spread cost", "환전 비용"),
    "convert": ("Convert", "환전"),
    "orders": ("Orders", "주문 수"),
    "turnover": ("Turnover", "회전율"),
    "drift_before": ("Drift before", "리밸런싱 전 이탈도"),
    "drift_after": ("Drift after", "리밸런싱 후 이탈도"),
    "max_before": ("Largest drift before", "리밸런싱 전 최대 이탈"),
    "max_after": ("Largest drift after", "리밸런싱 후 최대 이탈"),
    "solver": ("Solver", "계산 방식"),
    "warning": ("Warning", "경고"),
}
#: How the plan was solved, as the summary's Solver row says it.
SOLVER_LABELS: dict[str, tuple[str, str]] = {
    "milp": ("optimal (MILP)", "최적해 (MILP)"),
    "milp-time-limit": ("best found within the time limit (MILP)", "시간 제한 내 최선 (MILP)"),
    "greedy": ("greedy fallback", "그리디 대체 계산"),
    "none": ("nothing to trade", "거래 없음"),
    "milp-node-limit": ("best found within the node limit (MILP)", "노드 한도 내 최선 (MILP)"),
}
#: Household (accounts) labels: the orders' Account column and the summary's risky rows.
ACCOUNT_LABELS: dict[str, tuple[str, str]] = {
    "account": ("Account", "계좌"),
    "risky_after": ("Risky weight after", "거래 후 위험자산 비중"),
    "risky_limit": ("Risky limit", "위험자산 한도"),
}
