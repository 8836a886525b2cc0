"""Sheet names and table layouts shared by the template builder, the reader and the refresh macro.

A workbook is found by its sheet names (English or Korean), never by cell
addresses the user may move: each sheet holds one table whose header row is
the sheet's first non-empty row.
"""

from __future__ import annotations

from etf_rebalancer.cells.labels import QUOTES_HEADER as QUOTES_HEADER
from etf_rebalancer.cells.labels import QUOTES_HEADER_KO as QUOTES_HEADER_KO

# canonical sheet -> (English name, Korean name); the reader accepts either.
SHEETS: dict[str, tuple[str, str]] = {
    # First sheet of every template: what the workbook does, the add-in's status, links.
    "start": ("Start", "시작"),
    "holdings": ("Holdings", "보유종목"),
    "targets": ("Targets", "목표비중"),
    "groups": ("Groups", "그룹한도"),
    "cash": ("Cash", "현금"),
    # Household templates only: the accounts the holdings and cash name, with their types.
    "accounts": ("Accounts", "계좌"),
    "settings": ("Settings", "설정"),
    "quotes": ("Quotes", "시세"),
    "plan": ("Plan", "주문"),
    # Written by the Refresh button where UDFs cannot run (macOS): the plan as
    # values, beside (never over) the Plan sheet's live formulas.
    "plan_values": ("Plan (values)", "주문(값)"),
    "backtest": ("Backtest", "백테스트"),
    # Written by the Refresh button where UDFs cannot run (macOS), like plan_values.
    "backtest_values": ("Backtest (values)", "백테스트(값)"),
    "prices": ("Prices", "가격이력"),
    "help": ("How to use", "사용법"),
}

# Excel table names (ListObjects) used by the templates' structured references.
TABLES: dict[str, str] = {
    "holdings": "Holdings",
    "targets": "Targets",
    "groups": "Groups",
    "cash": "Cash",
    "accounts": "Accounts",
    "settings": "Settings",
    "quotes": "Quotes",
    "backtest": "BacktestSettings",  # on the Backtest sheet, below its title
    "prices": "PriceHistory",  # a price table stored on the Prices sheet (no ETF_HISTORY)
}

# The input tables' headers, by canonical sheet and language (the builder writes them,
# the Backtest sheet's formulas name them).
HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "holdings": {
        "en": ("Ticker", "Name", "Shares", "Price", "Currency", "Account"),
        "ko": ("티커", "종목명", "수량", "현재가", "통화", "계좌"),
    },
    "targets": {
        "en": ("Ticker", "Target", "Band", "Group", "Min", "Max"),
        "ko": ("티커", "목표비중", "허용범위", "그룹", "최소", "최대"),
    },
    "groups": {"en": ("Group", "Max", "Min"), "ko": ("그룹", "최대", "최소")},
    "cash": {"en": ("Currency", "Amount"), "ko": ("통화", "금액")},
    "accounts": {"en": ("Account", "Type", "Max Risky"), "ko": ("계좌", "유형", "위험자산한도")},
    "settings": {"en": ("Setting", "Value", "Description"), "ko": ("설정", "값", "설명")},
    "quotes": {"en": QUOTES_HEADER, "ko": QUOTES_HEADER_KO},
}
# Extra input columns of household templates (accounts named): the cash's account and
# the targets' asset class (what the account rules read).
ACCOUNT_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "cash": {"en": ("Account",), "ko": ("계좌",)},
    "targets": {"en": ("Class",), "ko": ("자산군",)},
}
# Columns the templates compute in plain Excel after the input columns (no add-in
# needed). Their headers match no input alias, so the readers ignore them.
COMPUTED_HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "holdings": {
        "en": ("Value (base)", "Weight now", "Target", "Drift", "Band status"),
        "ko": ("평가액(기준)", "현재비중", "목표", "이탈", "밴드 상태"),
    },
    "cash": {"en": ("Value (base)",), "ko": ("평가액(기준)",)},
}

# The header of a key/value settings table: the Settings sheet and the Backtest
# sheet's own table.
SETTINGS_HEADERS: dict[str, tuple[str, ...]] = HEADERS["settings"]
# The labels of the Backtest sheet's history inputs (the Refresh button finds them
# by these words where workbook names are unavailable).
HISTORY_LABELS: dict[str, tuple[str, str]] = {
    "start": ("History from", "이력 시작일"),
    "end": ("History to", "이력 종료일"),
    "currency": ("Prices in", "가격 통화"),
}

# Workbook names the Backtest and Prices sheets' formulas use (so cells can move);
# the CLI finds the history dates by the same names.
BACKTEST_NAMES: dict[str, str] = {
    "start": "BacktestStart",
    "end": "BacktestEnd",
    "currency": "BacktestCurrency",
    "tickers": "BacktestTickers",
}

# The Quotes sheet, written by the templates (dated sample prices) and by the
# Refresh button / `etf-rebal refresh` (live prices). FX rows use the ticker
# "USD/KRW" (price = KRW for one USD).
LAST_REFRESH_LABEL = ("Last refresh", "마지막 갱신")

# Workbook names of the Start sheet's cells: the one "add-in not loaded" text every
# add-in formula falls back to, and the status cell.
ADDIN_MISSING_NAME = "EtfAddinMissing"
ADDIN_STATUS_NAME = "EtfAddinStatus"


def sheet_name(canonical: str, lang: str = "en") -> str:
    """Name of a canonical sheet in ``lang`` (``"en"`` or ``"ko"``)."""
    english, korean = SHEETS[canonical]
    return korean if lang == "ko" else english


def find_sheet(names: list[str], canonical: str) -> str | None:
    """Return the workbook's name for a canonical sheet, matching either language."""
    wanted = {n.casefold() for n in SHEETS[canonical]}
    return next((n for n in names if n.strip().casefold() in wanted), None)
