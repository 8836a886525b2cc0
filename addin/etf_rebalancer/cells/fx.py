"""The one FX rule, online and offline: direct pair, its inverse, or a cross through one currency.

Both the quote service (cached ``USD/KRW``-style rows) and the Quotes-sheet
reader (``planning.market``) answer "value of one ``ccy`` in ``base``" with
:func:`cross_rate`, so a workbook planned offline and online crosses the same
way: USD first as the go-between (every pair Yahoo quotes has a USD leg),
then the other currencies known, in alphabetical order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = ["Pair", "cross_rate"]

Pair = tuple[str, str]
RateOf = Callable[[str, str], float | None]


def _leg(rate_of: RateOf, a: str, b: str) -> tuple[float, Pair] | None:
    if a == b:
        return 1.0, (a, b)
    direct = rate_of(a, b)
    if direct:
        return direct, (a, b)
    inverse = rate_of(b, a)
    if inverse:
        return 1.0 / inverse, (b, a)
    return None


def cross_rate(
    rate_of: RateOf, ccy: str, base: str, via: Iterable[str] = ()
) -> tuple[float, list[Pair]] | None:
    """Units of ``base`` for one ``ccy`` and the stored pairs it came from, or ``None``.

    Parameters
    ----------
    rate_of
        ``rate_of(a, b)``: the stored rate of pair ``a/b`` (units of ``b`` per
        ``a``), ``None`` or 0 when not stored.
    ccy, base
        Upper-case ISO codes.
    via
        Currencies that may serve as the go-between besides USD.

    >>> rates = {("USD", "KRW"): 1400.0, ("EUR", "USD"): 1.1}
    >>> cross_rate(lambda a, b: rates.get((a, b)), "EUR", "KRW")
    (1540.0000000000002, [('EUR', 'USD'), ('USD', 'KRW')])
    """
    if ccy == base:
        return 1.0, []
    one = _leg(rate_of, ccy, base)
    if one is not None:
        return one[0], [one[1]]
    for middle in ["USD", *sorted(set(via) - {"USD"})]:
        if middle in (ccy, base):
            continue
        first, second = _leg(rate_of, ccy, middle), _leg(rate_of, middle, base)
        if first is not None and second is not None:
            return first[0] * second[0], [first[1], second[1]]
    return None
