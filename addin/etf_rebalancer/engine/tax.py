"""Korea's securities transaction tax on KRX stock sales, as a dated table.

The rate (transaction tax plus the rural special tax on KOSPI, one combined
figure for KOSPI and KOSDAQ) is charged on the sale amount of listed *stocks*;
ETFs and ETNs are exempt. The engine has no clock: callers pass the plan's
date, and ``None`` means the latest row of the table.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right

from etf_rebalancer.cells import is_krx_code

__all__ = [
    "KRX_ETF_BRANDS",
    "KRX_STOCK_SALE_TAX",
    "is_krx_listing",
    "krx_sale_tax_rate",
    "name_looks_like_etf",
]

#: (first day in force, rate on the sale amount), oldest first.
KRX_STOCK_SALE_TAX: tuple[tuple[dt.date, float], ...] = (
    (dt.date(2019, 6, 3), 0.0025),
    (dt.date(2021, 1, 1), 0.0023),
    (dt.date(2023, 1, 1), 0.0020),
    (dt.date(2024, 1, 1), 0.0018),
    (dt.date(2025, 1, 1), 0.0015),
    (dt.date(2026, 1, 1), 0.0020),
)

#: Brand prefixes of KRX-listed ETF names; a name starting with one is an ETF.
KRX_ETF_BRANDS: tuple[str, ...] = (
    "KODEX",
    "TIGER",
    "KBSTAR",
    "RISE",
    "ACE",
    "ARIRANG",
    "SOL",
    "HANARO",
    "KOSEF",
    "PLUS",
    "TIMEFOLIO",
    "KIWOOM",
    "WOORI",
    "BNK",
    "1Q",
    "TREX",
    "FOCUS",
    "UNICORN",
    "HK",
    "마이티",
    "DAISHIN343",
    "KOACT",
    "VITA",
    "파워",
    "에셋플러스",
    "마이다스",
    "TRUSTON",
    "히어로즈",
    "ITF",
)


def is_krx_listing(ticker: str) -> bool:
    """True for a Korean six-character code or a ``.KS``/``.KQ`` ticker."""
    code, _, suffix = ticker.partition(".")
    if suffix:
        return suffix in ("KS", "KQ")
    return is_krx_code(code)


def krx_sale_tax_rate(as_of: dt.date | None) -> float:
    """Rate of the securities transaction tax on a KRX stock sale made on ``as_of``.

    Parameters
    ----------
    as_of
        Trade date; ``None`` gives the latest rate in :data:`KRX_STOCK_SALE_TAX`.
        Dates before the table's first row get its first rate.
    """
    if as_of is None:
        return KRX_STOCK_SALE_TAX[-1][1]
    index = bisect_right([start for start, _ in KRX_STOCK_SALE_TAX], as_of) - 1
    return KRX_STOCK_SALE_TAX[max(index, 0)][1]


def name_looks_like_etf(name: str | None) -> bool:
    """True when a name starts with a KRX ETF brand (``KODEX 200``, ``TIGER 미국S&P500``)."""
    if not name:
        return False
    first = name.strip().upper().split(" ", 1)[0]
    for brand in KRX_ETF_BRANDS:
        # "KODEX200" counts, "ACEMAX" (a company) does not: the brand must end a Latin word.
        rest = first[len(brand) : len(brand) + 1]
        if first.startswith(brand) and not (rest.isascii() and rest.isalpha()):
            return True
    return "ETF" in name.upper()
