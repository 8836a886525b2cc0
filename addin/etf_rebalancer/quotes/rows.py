"""The one Quotes-sheet row builder: ``Ticker, Price, Currency, Time, Status, Source``.

The quote service (a refresh's rows, the CLI's ``refresh``), the Refresh
button (``excel.refresh``) and the template builder's sample rows all build
their rows here, so the column order and the blank-cell convention
(``None``) are written once, beside :data:`~etf_rebalancer.cells.labels.QUOTES_HEADER`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from etf_rebalancer.cells.labels import QUOTES_HEADER, QUOTES_HEADER_KO

__all__ = ["quote_row", "quotes_header", "quotes_table"]


def quote_row(
    ticker: str,
    price: float | None,
    currency: str | None,
    time: dt.datetime | None,
    status: str,
    source: str,
) -> tuple[Any, ...]:
    """One row in :data:`QUOTES_HEADER` order; unknown values are ``None`` (a blank cell)."""
    return (ticker, price, currency or None, time, status, source or "")


def quotes_header(lang: str = "en") -> list[str]:
    """The Quotes table's header in the workbook's language."""
    return list(QUOTES_HEADER_KO if lang == "ko" else QUOTES_HEADER)


def quotes_table(rows: Iterable[Sequence[Any]], lang: str = "en") -> list[list[Any]]:
    """Header, then ``rows`` (each from :func:`quote_row`)."""
    return [quotes_header(lang), *(list(r) for r in rows)]
