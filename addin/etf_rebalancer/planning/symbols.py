"""Which quotes a workbook's formulas will ask for, read leniently (for Refresh and ``refresh``)."""

from __future__ import annotations

from typing import Any

from etf_rebalancer.cells import (
    CASH_TICKER,
    column_values,
    is_blank,
    normalise_ticker,
    read_key_values,
)
from etf_rebalancer.engine.market import QuoteNeeds
from etf_rebalancer.errors import InputError

__all__ = ["refresh_symbols"]


def refresh_symbols(
    holdings: Any, targets: Any, cash: Any = None, settings: Any = None
) -> QuoteNeeds:
    """Tickers and currencies a workbook's formulas will ask the quote cache for.

    Lenient on purpose: the Refresh button and ``etf-rebal refresh`` fetch what
    they can even when a range has an error, which the UDFs then report by row.

    Returns
    -------
    QuoteNeeds
        Holdings and targets tickers (without CASH) in order of appearance, the
        holdings' and cash pools' currencies other than the base, and the base
        (``USD`` when not set).
    """
    tickers: dict[str, None] = {}
    for value in column_values(holdings, "ticker") + column_values(targets, "ticker"):
        if is_blank(value):
            continue
        try:
            ticker = normalise_ticker(value)
        except InputError:
            continue
        if ticker != CASH_TICKER:
            tickers[ticker] = None
    base = "USD"
    if settings is not None:
        try:
            entry = read_key_values(settings).get("base_currency")
        except InputError:
            entry = None
        if entry is not None and isinstance(entry.value, str) and entry.value.strip():
            base = entry.value.strip().upper()
    currencies: dict[str, None] = {}
    for value in column_values(holdings, "currency") + column_values(cash, "currency"):
        if isinstance(value, str) and len(value.strip()) == 3 and value.strip().upper() != base:
            currencies[value.strip().upper()] = None
    return QuoteNeeds(tuple(tickers), tuple(currencies), base)
