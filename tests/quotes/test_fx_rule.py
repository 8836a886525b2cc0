"""One FX rule: the Quotes sheet (offline) and the quote cache (online) cross the same way."""

from __future__ import annotations

import itertools

import pytest

from etf_rebalancer.cells.fx import cross_rate
from etf_rebalancer.engine.market import QuoteNeeds
from etf_rebalancer.planning.market import market_from_quotes
from etf_rebalancer.quotes.cache import CachedQuote, QuoteCache
from etf_rebalancer.quotes.service import QuoteService

HEADER = ["Ticker", "Price", "Currency", "Time", "Status", "Source"]
# Stored as quoted: USD/KRW 1400, EUR/USD 1.1, JPY/USD absent but USD/JPY 150, GBP/EUR 1.17.
PAIRS = {("USD", "KRW"): 1400.0, ("EUR", "USD"): 1.1, ("USD", "JPY"): 150.0, ("GBP", "EUR"): 1.17}


def _independent(ccy: str, base: str) -> float | None:
    """Value of one ``ccy`` in ``base`` by hand: the rates as a graph, USD as the hub."""
    usd = {"USD": 1.0, "KRW": 1 / 1400.0, "EUR": 1.1, "JPY": 1 / 150.0}
    if ccy == base:
        return 1.0
    if ccy in usd and base in usd:
        return usd[ccy] / usd[base]
    # GBP only reaches the others through EUR (one go-between at most).
    if {ccy, base} == {"GBP", "EUR"}:
        return 1.17 if ccy == "GBP" else 1 / 1.17
    if ccy == "GBP" and base == "USD":
        return 1.17 * 1.1
    if base == "GBP" and ccy == "USD":
        return 1 / (1.17 * 1.1)
    return None  # two go-betweens (GBP -> EUR -> USD -> KRW): not crossed


def _service(tmp_path) -> QuoteService:
    cache = QuoteCache(tmp_path / "q.sqlite")
    cache.put(
        [
            CachedQuote(f"{a}/{b}", f"{a}{b}=X", rate, b, fetched_at=1.0)
            for (a, b), rate in PAIRS.items()
        ]
    )
    return QuoteService(cache, None)


CURRENCIES = ["USD", "KRW", "EUR", "JPY", "GBP"]


@pytest.mark.parametrize(("ccy", "base"), list(itertools.permutations(CURRENCIES, 2)))
def test_offline_and_online_agree_with_a_hand_computed_rate(tmp_path, ccy, base):
    expected = _independent(ccy, base)
    rows = [HEADER, *([f"{a}/{b}", r, b, None, "", ""] for (a, b), r in PAIRS.items())]
    offline = market_from_quotes(
        rows, QuoteNeeds(tickers=(), currencies=(ccy,), base_currency=base)
    )
    service = _service(tmp_path)
    try:
        online = service.fx(ccy, base)[0]
    except Exception:
        online = None
    if expected is None:
        assert ccy in offline.failures and online is None
    else:
        assert offline.fx[ccy] == pytest.approx(expected)
        assert online == pytest.approx(expected)
    service.cache.close()


def test_usd_is_preferred_as_the_go_between():
    rates = {
        ("EUR", "USD"): 1.1,
        ("USD", "KRW"): 1400.0,
        ("EUR", "AUD"): 1.6,
        ("AUD", "KRW"): 900.0,
    }
    rate, legs = cross_rate(lambda a, b: rates.get((a, b)), "EUR", "KRW", via={"AUD"})
    assert legs == [("EUR", "USD"), ("USD", "KRW")]
    assert rate == pytest.approx(1540.0)
