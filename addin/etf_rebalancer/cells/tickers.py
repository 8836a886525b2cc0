"""Tickers as users type them: upper-case text, KRX codes typed as numbers, the cash row."""

from __future__ import annotations

import math
import re
from typing import Any

from etf_rebalancer.cells.labels import ko
from etf_rebalancer.errors import InputError

CASH_TICKER = "CASH"


_CASH_NAMES = {"CASH", "현금", "예수금"}


_KRX_CODE = re.compile(r"^[0-9][0-9A-Z]{5}$")


def is_krx_code(ticker: str) -> bool:
    """True for a six-character Korean exchange code such as ``069500`` or ``0030R0``."""
    return bool(_KRX_CODE.match(ticker)) and sum(c.isdigit() for c in ticker) >= 4


def normalise_ticker(value: Any, *, where: str = "") -> str:
    """Upper-case, trimmed ticker text; Korean codes typed as numbers get their zeros back.

    Excel stores ``069500`` typed into a General cell as the number 69500, so a
    whole number below 1,000,000 is read as a six-digit KRX code.
    """
    if isinstance(value, bool):
        raise InputError(
            f"Ticker must be text, got {value!r}{where}",
            f"티커는 텍스트여야 합니다: {value!r}{ko(where)}",
        )
    if isinstance(value, int | float):
        if not math.isfinite(value) or value != int(value) or not 0 < value < 1_000_000:
            raise InputError(
                f"Ticker must be text, got {value!r}{where}",
                f"티커는 텍스트여야 합니다: {value!r}{ko(where)}",
            )
        return f"{int(value):06d}"
    if not isinstance(value, str):
        raise InputError(
            f"Ticker must be text, got {value!r}{where}",
            f"티커는 텍스트여야 합니다: {value!r}{ko(where)}",
        )
    ticker = value.strip().upper()
    if ticker in _CASH_NAMES or value.strip() in _CASH_NAMES:
        return CASH_TICKER
    return ticker


# Listing suffixes whose currency is unambiguous (London is left out: pence vs pounds).
_SUFFIX_CURRENCY = {
    "KS": "KRW",
    "KQ": "KRW",
    "T": "JPY",
    "DE": "EUR",
    "F": "EUR",
    "PA": "EUR",
    "AS": "EUR",
    "MI": "EUR",
    "MC": "EUR",
    "BR": "EUR",
    "VI": "EUR",
    "HE": "EUR",
    "IR": "EUR",
    "LS": "EUR",
    "TO": "CAD",
    "AX": "AUD",
    "HK": "HKD",
    "SW": "CHF",
}


def listing_currency_from_suffix(ticker: str) -> str | None:
    """Currency implied by a Korean code or an unambiguous exchange suffix (``.T``, ``.DE``)."""
    if is_krx_code(ticker):
        return "KRW"
    if "." in ticker:
        return _SUFFIX_CURRENCY.get(ticker.rsplit(".", 1)[1])
    return None
