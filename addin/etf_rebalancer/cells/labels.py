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
}

# ---------------------------------------------------------------- terminal (the CLI's tables)
# One block, appended for the CLI: Korean for the English labels its tables show
# when the library hands it English rows (headers, actions, statuses, backtest
# metrics). Text that is already Korean, numbers and tickers pass through.

#: English label -> Korean, for display.
DISPLAY_KO: dict[str, str] = {
    "Ticker": "티커",
    "Action": "매매",
    "Shares": "수량",
    "Price": "현재가",
    "Currency": "통화",
    "Amount": "금액",
    "Amount (base)": "기준통화 금액",
    "Weight Before": "현재 비중",
    "Weight After": "조정 후 비중",
    "Target": "목표비중",
    "Account": "계좌",
    "Value": "평가액",
    "Weight": "비중",
    "Drift": "이탈",
    "Band": "허용범위",
    "Status": "상태",
    "Item": "항목",
    "Metric": "지표",
    "Time": "시각",
    "Source": "출처",
    "BUY": "매수",
    "SELL": "매도",
    "OK": "적정",
    "OVER": "초과",
    "UNDER": "미달",
    "CASH": "현금",
    "full": "전체",
    "band": "밴드",
    "Total Return": "총수익률",
    "CAGR": "연평균 수익률 (CAGR)",
    "Volatility": "변동성",
    "Sharpe": "샤프 지수",
    "Max Drawdown": "최대 낙폭",
    "Rebalances": "리밸런싱 횟수",
    "Avg Correlation": "평균 상관계수",
    "Turnover (per year)": "연간 회전율",
    "Fees": "수수료",
    "Final Value": "최종 평가액",
    "Start": "시작일",
    "End": "종료일",
    "Correlation to Benchmark": "벤치마크와의 상관계수",
    "Notice": "알림",
}
#: Headers for narrow terminals: English header -> (English, Korean).
SHORT_HEADERS: dict[str, tuple[str, str]] = {
    "Currency": ("Ccy", "통화"),
    "Amount (base)": ("Amount (base)", "기준 금액"),
    "Weight Before": ("Weight before", "현재 비중"),
    "Weight After": ("Weight after", "조정 후"),
    "Target": ("Target", "목표"),
    "Price": ("Price", "가격"),
}


def display_label(text: str, lang: str) -> str:
    """``text`` as a ``lang`` table shows it (Korean for a known English label, else as is)."""
    if lang != "ko":
        return text
    if text in DISPLAY_KO:
        return DISPLAY_KO[text]
    if text.startswith("Benchmark ") and text[10:] in DISPLAY_KO:
        return "벤치마크 " + DISPLAY_KO[text[10:]]
    return text


def short_header(header: str, lang: str) -> str | None:
    """A shorter form of an English ``header`` for narrow terminals, or ``None``."""
    pair = SHORT_HEADERS.get(header)
    return None if pair is None else pair[1 if lang == "ko" else 0]
