"""Ticker -> provider symbol mapping: KRX exchange suffixes, FX pair names, minor currency units."""

from __future__ import annotations

import re

from etf_rebalancer.cells import is_krx_code

__all__ = [
    "KRX_SUFFIXES",
    "candidates",
    "fx_symbol",
    "fx_ticker",
    "is_fx_ticker",
    "major_currency",
    "parse_fx_ticker",
]

# KOSPI first: most Korean ETFs list there; a KOSDAQ listing is found in the same batch.
KRX_SUFFIXES: tuple[str, ...] = (".KS", ".KQ")

# Yahoo quotes some exchanges in the currency's minor unit.
_MINOR_UNITS: dict[str, tuple[str, float]] = {
    "GBp": ("GBP", 0.01),  # London, pence
    "GBX": ("GBP", 0.01),
    "ILA": ("ILS", 0.01),  # Tel Aviv, agorot
    "ZAc": ("ZAR", 0.01),  # Johannesburg, cents
    "ZAC": ("ZAR", 0.01),
}

_CCY = re.compile(r"^[A-Z]{3}$")
_FX_TICKER = re.compile(r"^([A-Za-z]{3})\s*/\s*([A-Za-z]{3})$")


def major_currency(currency: str) -> tuple[str, float]:
    """Return ``(ISO code, factor)`` turning a price in ``currency`` into the major unit.

    >>> major_currency("GBp")
    ('GBP', 0.01)
    >>> major_currency("usd")
    ('USD', 1.0)
    """
    text = (currency or "").strip()
    if text in _MINOR_UNITS:
        return _MINOR_UNITS[text]
    return text.upper(), 1.0


def fx_symbol(from_currency: str, to_currency: str) -> str:
    """Yahoo's symbol for the price of one ``from_currency`` in ``to_currency``.

    Yahoo names USD-based pairs by the quote currency alone (``KRW=X`` is KRW
    per USD) and every other pair as ``EURUSD=X``.
    """
    base, quote = from_currency.upper(), to_currency.upper()
    if base == "USD":
        return f"{quote}=X"
    return f"{base}{quote}=X"


def fx_ticker(from_currency: str, to_currency: str) -> str:
    """The ticker an FX row carries on the Quotes sheet: ``USD/KRW``."""
    return f"{from_currency.upper()}/{to_currency.upper()}"


def parse_fx_ticker(ticker: str) -> tuple[str, str] | None:
    """``"USD/KRW"`` -> ``("USD", "KRW")``; ``None`` for anything else."""
    match = _FX_TICKER.match(ticker.strip())
    if not match:
        return None
    return match.group(1).upper(), match.group(2).upper()


def is_fx_ticker(ticker: str) -> bool:
    """True for a Quotes-sheet FX row (``USD/KRW``) or a Yahoo FX symbol (``KRW=X``)."""
    return parse_fx_ticker(ticker) is not None or ticker.upper().endswith("=X")


def is_currency(text: str) -> bool:
    """True for a three-letter upper-case code."""
    return bool(_CCY.match(text))


def candidates(ticker: str) -> tuple[str, ...]:
    """Provider symbols to try for a user ticker, best first.

    A Korean code (``069500``, ``0030R0``) may live on KOSPI (``.KS``) or KOSDAQ
    (``.KQ``): both are asked for in the same batch and the one that answers is
    remembered. A ``USD/KRW`` FX ticker maps to ``KRW=X``. Anything else is
    the provider's own symbol already (``QQQ``, ``VWCE.DE``, ``005930.KS``).
    """
    text = ticker.strip().upper()
    if is_krx_code(text):
        return tuple(text + suffix for suffix in KRX_SUFFIXES)
    pair = parse_fx_ticker(text)
    if pair:
        return (fx_symbol(*pair),)
    return (text,)
