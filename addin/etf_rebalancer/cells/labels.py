"""Every label an output shows, in English and Korean: one table, one row per label.

Headers of the contract's tables (English: the public contract for English
workbooks and the CLI's csv/json), summary items and values, actions,
statuses, backtest metrics, and the words that say where a problem is. A new
label is one entry here with both languages.

The engine and the backtest produce canonical English rows; :func:`localize_rows`
turns them into the workbook's language at the edge. Messages name their place
with :func:`where`, whose result reads as English and carries its Korean twin
(:func:`ko`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

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
    "lp-rounded": ("LP relaxation, rounded (large household)", "LP 완화 후 반올림 (큰 가구)"),
}
#: Household (accounts) labels: the orders' Account column and the summary's risky rows.
ACCOUNT_LABELS: dict[str, tuple[str, str]] = {
    "account": ("Account", "계좌"),
    "risky_after": ("Risky weight after", "거래 후 위험자산 비중"),
    "risky_limit": ("Risky limit", "위험자산 한도"),
}

#: Column headers of every output table: English (the contract) -> Korean. The
#: Korean words are the input aliases of ``cells/headers.py`` where one exists
#: (티커, 수량, 현재가, 통화, 금액, 목표비중, 허용범위, 계좌, 종목명, 날짜), so a
#: Korean output pasted back as an input range is read the same way.
HEADER_LABELS: dict[str, str] = {
    "Ticker": "티커",
    "Name": "종목명",
    "Action": "매매구분",
    "Shares": "수량",
    "Price": "현재가",
    "Currency": "통화",
    "Amount": "금액",
    "Amount (base)": "금액(기준통화)",
    "Weight Before": "현재비중",
    "Weight After": "매매후비중",
    "Target": "목표비중",
    "Account": "계좌",
    "Value": "평가금액",
    "Weight": "현재비중",
    "Drift": "이탈도",
    "Band": "허용범위",
    "Status": "상태",
    "Item": "항목",
    "Metric": "지표",
    "Date": "날짜",
    "Portfolio": "포트폴리오",
    "Benchmark": "벤치마크",
}
#: Drift's Value is a holding's market value; the summary's Value column is just "값".
_SUMMARY_VALUE_KO = "값"

#: ``Action`` of an order.
ACTION_LABELS: dict[str, str] = {"BUY": "매수", "SELL": "매도"}
#: ``Status`` of a drift row.
STATUS_LABELS: dict[str, str] = {"OK": "적정", "OVER": "초과", "UNDER": "미달"}
#: The cash row's ticker in outputs (``현금`` is also read back as the cash row).
CASH_LABEL: tuple[str, str] = ("CASH", "현금")

#: Words a summary value may be written with.
VALUE_LABELS: dict[str, str] = {
    "full": "전체",
    "band": "밴드",
    "yes": "예",
    "no": "아니오",
    "relative": "상대",
    "absolute": "절대",
    "none": "없음",
    "monthly": "매월",
    "quarterly": "매분기",
    "annual": "매년",
}
#: Suffix of the summary's Mode when only buying.
BUY_ONLY_LABEL: tuple[str, str] = (" (buy only)", " (매수만)")

#: ``PORTFOLIO_BACKTEST`` metric names (``backtest.stats.METRICS`` and friends).
METRIC_LABELS: dict[str, str] = {
    "Total Return": "총수익률",
    "CAGR": "연평균 수익률",
    "Volatility": "변동성",
    "Sharpe": "샤프지수",
    "Max Drawdown": "최대 낙폭",
    "Rebalances": "리밸런싱 횟수",
    "Avg Correlation": "평균 상관계수",
    "Turnover (per year)": "연간 회전율",
    "Fees": "수수료",
    "Final Value": "최종 평가액",
    "Start": "시작일",
    "End": "종료일",
    "Benchmark Total Return": "벤치마크 총수익률",
    "Benchmark CAGR": "벤치마크 연평균 수익률",
    "Benchmark Volatility": "벤치마크 변동성",
    "Benchmark Sharpe": "벤치마크 샤프지수",
    "Benchmark Max Drawdown": "벤치마크 최대 낙폭",
    "Correlation to Benchmark": "벤치마크와의 상관계수",
    "Notice": "알림",
}

#: Range (argument) names as messages say them.
RANGE_LABELS: dict[str, str] = {
    "holdings": "보유종목",
    "targets": "목표비중",
    "cash": "현금",
    "settings": "설정",
    "groups": "그룹",
    "accounts": "계좌",
    "prices": "가격",
    "weights": "비중",
    "tickers": "티커",
    "as_of": "기준일",
}
#: Column and value names as messages say them (``what`` of the cell parsers).
WORD_LABELS: dict[str, str] = {
    **HEADER_LABELS,
    "Weight": "비중",
    "Value": "값",
    "Min": "최소",
    "Max": "최대",
    "Type": "종류",
    "Group": "그룹",
    "date": "날짜",
    "value": "값",
    "weight": "비중",
    "cash": "현금",
}


class Bilingual(str):
    """English text that also carries its Korean twin.

    It *is* the English ``str`` (so English messages built from it stay exactly
    what they were); :func:`ko` gives the Korean text.
    """

    ko: str

    def __new__(cls, english: str, korean: str | None = None) -> Bilingual:
        text = super().__new__(cls, english)
        text.ko = english if korean is None else korean
        return text

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        return (str(self), self.ko)

    def __add__(self, other: str) -> Bilingual:
        return Bilingual(str(self) + str(other), self.ko + ko(other))


def ko(text: Any) -> str:
    """The Korean form of ``text``: a :class:`Bilingual`'s twin, a known word's label, or itself."""
    if isinstance(text, Bilingual):
        return text.ko
    if not isinstance(text, str):
        return str(text)
    return RANGE_LABELS.get(text) or WORD_LABELS.get(text) or text


def where(name: str, row: int | None = None, *details: Any, header: bool = False) -> Bilingual:
    """A message's place: ``" (holdings row 3, QQQ)"`` / ``" (보유종목 3행, QQQ)"``.

    Parameters
    ----------
    name
        The range (argument) name, e.g. ``"holdings"``; Korean from :data:`RANGE_LABELS`.
    row
        Row number inside the range (header = 1), or ``None``.
    details
        More places: tickers, setting keys (as written), or :class:`Bilingual` texts
        such as :func:`column`.
    header
        The place is the range's header row.
    """
    english = [name]
    korean = [ko(name)]
    if header:
        english.append("header")
        korean.append("머리글")
    if row is not None:
        english.append(f"row {row}")
        korean.append(f"{row}행")
    tail_en = "".join(f", {d}" for d in details)
    tail_ko = "".join(f", {ko(d)}" for d in details)
    return Bilingual(
        f" ({' '.join(english)}{tail_en})",
        f" ({' '.join(korean)}{tail_ko})",
    )


def column(number: int) -> Bilingual:
    """``column 3`` / ``3열``."""
    return Bilingual(f"column {number}", f"{number}열")


def text(english: str, korean: str) -> Bilingual:
    """A free-standing bilingual text (e.g. ``" (cash argument)"``)."""
    return Bilingual(english, korean)


def label(english: str, lang: str) -> str:
    """One output label in ``lang``: a header, metric, action, status or value word."""
    if lang != "ko":
        return english
    for table in (HEADER_LABELS, METRIC_LABELS, ACTION_LABELS, STATUS_LABELS, VALUE_LABELS):
        if english in table:
            return table[english]
    return english


# The summary's Mode: "full", "band (buy only)", or the engine's Korean-suffixed form.
_MODE = re.compile(r"^(full|band)((?: \(buy only\)| \(매수만\))?)$")

#: Kinds of output table :func:`localize_rows` knows.
TABLE_KINDS = ("orders", "summary", "drift", "stats", "equity", "correl", "history")


def localize_rows(kind: str, rows: Sequence[Sequence[Any]], lang: str) -> list[list[Any]]:
    """An output table in the workbook's language; numbers and tickers are left as they are.

    Parameters
    ----------
    kind
        One of :data:`TABLE_KINDS`: ``orders`` (``REBAL_ORDERS``), ``summary``,
        ``drift``, ``stats`` (``PORTFOLIO_BACKTEST``), ``equity``, ``correl``,
        ``history`` (``ETF_HISTORY``).
    rows
        The canonical English rows (header first), as the engine and the
        backtest produce them. A one-cell error table passes through.
    lang
        ``"en"`` (rows returned as they are, copied) or ``"ko"``.

    Returns
    -------
    list of list
        A new table; the input is not modified.
    """
    if kind not in TABLE_KINDS:
        raise ValueError(f"unknown table kind {kind!r}; expected one of {TABLE_KINDS}")
    out = [list(r) for r in rows]
    if lang != "ko" or not out:
        return out
    header = out[0]
    if kind == "summary":
        # The summary's items are written in the workbook's language by the plan (its
        # warnings need their Notice objects); here only the header and values.
        if header == SUMMARY_HEADER:
            out[0] = list(SUMMARY_HEADER_KO)
        for row in out[1:]:
            if len(row) > 1 and isinstance(row[1], str):
                row[1] = _summary_value(row[1])
        return out
    if kind == "stats":
        for row in out:
            if row and isinstance(row[0], str):
                row[0] = METRIC_LABELS.get(row[0], row[0])
        if header and header[:2] == ["Metric", "Value"]:
            out[0] = ["지표", _SUMMARY_VALUE_KO, *header[2:]]
        return out
    if kind in ("correl", "history"):
        # Only the corner is a word; the other header cells are tickers.
        if header and header[0] in HEADER_LABELS:
            header[0] = HEADER_LABELS[header[0]]
        return out
    out[0] = [HEADER_LABELS.get(h, h) if isinstance(h, str) else h for h in header]
    if len(header) == 1:
        return out  # an error cell, not a table
    columns = {h: i for i, h in enumerate(header)}
    for row in out[1:]:
        if kind == "orders" and "Action" in columns:
            i = columns["Action"]
            row[i] = ACTION_LABELS.get(row[i], row[i])
        if kind == "drift":
            if "Status" in columns:
                i = columns["Status"]
                row[i] = STATUS_LABELS.get(row[i], row[i])
            if "Ticker" in columns and row[columns["Ticker"]] == CASH_LABEL[0]:
                row[columns["Ticker"]] = CASH_LABEL[1]
    return out


def _summary_value(value: str) -> str:
    match = _MODE.match(value)
    if match:
        return VALUE_LABELS[match.group(1)] + (BUY_ONLY_LABEL[1] if match.group(2) else "")
    return VALUE_LABELS.get(value, value)


__all__ = [
    "ACTION_LABELS",
    "BUY_ONLY_LABEL",
    "CASH_LABEL",
    "DRIFT_HEADER",
    "HEADER_LABELS",
    "METRIC_LABELS",
    "ORDER_HEADER",
    "QUOTES_HEADER",
    "QUOTES_HEADER_KO",
    "RANGE_LABELS",
    "SOLVER_LABELS",
    "STATUS_LABELS",
    "SUMMARY_HEADER",
    "SUMMARY_HEADER_KO",
    "SUMMARY_LABELS",
    "TABLE_KINDS",
    "VALUE_LABELS",
    "Bilingual",
    "column",
    "ko",
    "label",
    "localize_rows",
    "text",
    "where",
]


# ---------------------------------------------------------------- terminal (the CLI's tables)
# The CLI shows the library's tables; in Korean it translates any English label
# it is handed through the same tables as the functions' outputs.

#: Headers for narrow terminals: English header -> (English, Korean).
SHORT_HEADERS: dict[str, tuple[str, str]] = {
    "Action": ("Action", "매매"),
    "Currency": ("Ccy", "통화"),
    "Amount (base)": ("Amount (base)", "기준 금액"),
    "Weight Before": ("Weight before", "현재 비중"),
    "Weight After": ("Weight after", "조정 후"),
    "Target": ("Target", "목표"),
    "Price": ("Price", "가격"),
}
_DISPLAY_EXTRA = {"Time": "시각", "Source": "출처", CASH_LABEL[0]: CASH_LABEL[1]}


def display_label(text: str, lang: str) -> str:
    """``text`` as a ``lang`` table shows it (Korean for a known English label, else as is)."""
    if lang != "ko":
        return text
    if text in _DISPLAY_EXTRA:
        return _DISPLAY_EXTRA[text]
    return label(text, lang)


def short_header(header: str, lang: str) -> str | None:
    """A shorter form of an English ``header`` for narrow terminals, or ``None``."""
    pair = SHORT_HEADERS.get(header)
    return None if pair is None else pair[1 if lang == "ko" else 0]
