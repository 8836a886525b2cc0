"""Answer the engine's QuoteNeeds from the quote service: prices, currencies, FX, kinds, names."""

from __future__ import annotations

from etf_rebalancer.engine.market import MarketData, QuoteNeeds
from etf_rebalancer.errors import Notice, QuoteError
from etf_rebalancer.quotes.cache import CachedQuote
from etf_rebalancer.quotes.service import QuoteService
from etf_rebalancer.quotes.symbols import fx_ticker, major_currency

__all__ = ["market_data_for"]


def market_data_for(needs: QuoteNeeds, service: QuoteService) -> MarketData:
    """Build the :class:`MarketData` a plan needs, cache first, missing quotes in one batch.

    Parameters
    ----------
    needs
        Tickers lacking a price or currency, currencies lacking an FX rate, the base.
    service
        The quote service (usually ``quotes.service.get_service()``).

    Returns
    -------
    MarketData
        Prices (pounds, not pence), currencies, FX as the value of one unit in
        the base currency, kinds and names when known; stale and manual prices
        become notices; what could not be had is in ``failures`` by ticker or
        currency, never raised.
    """
    base = major_currency(needs.base_currency)[0]
    currencies = [c for c in dict.fromkeys(needs.currencies) if major_currency(c)[0] != base]
    service.ensure([*needs.tickers, *(fx_ticker(major_currency(c)[0], base) for c in currencies)])

    prices: dict[str, float] = {}
    ccys: dict[str, str] = {}
    kinds: dict[str, str] = {}
    names: dict[str, str] = {}
    notices: list[Notice] = []
    failures: dict[str, Notice] = {}
    for ticker in needs.tickers:
        try:
            row = service.quote(ticker)
        except QuoteError as error:
            failures[ticker] = Notice(error.message, error.message_ko)
            continue
        price = row.effective_price
        assert price is not None  # service.quote raises otherwise
        prices[ticker] = price
        if row.effective_currency:
            ccys[ticker] = row.effective_currency
        if row.kind:
            kinds[ticker] = row.kind
        if row.name:
            names[ticker] = row.name
        notices.extend(_freshness_notices(service, ticker, row))

    fx: dict[str, float] = {}
    for currency in currencies:
        try:
            rate, rows = service.fx(currency, base)
        except QuoteError as error:
            failures[currency] = Notice(error.message, error.message_ko)
            continue
        fx[currency] = rate
        for row in rows:
            notices.extend(_freshness_notices(service, row.ticker, row))
    return MarketData(
        prices=prices,
        currencies=ccys,
        fx=fx,
        kinds=kinds,
        names=names,
        notices=tuple(dict.fromkeys(notices)),
        failures=failures,
    )


def _freshness_notices(service: QuoteService, ticker: str, row: CachedQuote) -> list[Notice]:
    if row.override_price is not None:
        return [
            Notice(
                f"{ticker} uses a manual price ({row.override_price:g})",
                f"{ticker}: 수동 입력 가격 사용 ({row.override_price:g})",
            )
        ]
    if service.is_stale(row):
        status = service.status(row)
        return [
            Notice(
                f"{ticker} price is not fresh: {status}",
                f"{ticker} 가격이 최신이 아닙니다: {status}",
            )
        ]
    return []
