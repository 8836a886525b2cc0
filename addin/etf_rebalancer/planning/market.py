"""Where a plan's missing quotes come from: the quote layer (live, cache first) or a Quotes sheet.

A :class:`MarketSource` answers a request's :class:`QuoteNeeds` with the
:class:`MarketData` the engine takes. Two exist: :class:`LiveQuotes` over the
quote service (the UDFs, the Refresh button, ``etf-rebal plan``) and
:class:`SheetQuotes` over a workbook's Quotes sheet (``--offline``, the
template builder's sample plans).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from etf_rebalancer.cells import (
    is_blank,
    is_krx_code,
    normalise_header,
    normalise_ticker,
    parse_date,
    parse_number,
)
from etf_rebalancer.cells.fx import cross_rate
from etf_rebalancer.cells.labels import QUOTES_HEADER, QUOTES_HEADER_KO
from etf_rebalancer.engine.market import MarketData, QuoteNeeds
from etf_rebalancer.errors import InputError, Notice, QuoteError
from etf_rebalancer.quotes.cache import CachedQuote
from etf_rebalancer.quotes.service import QuoteService
from etf_rebalancer.quotes.symbols import fx_ticker, major_currency

__all__ = [
    "LiveQuotes",
    "MarketSource",
    "QuoteRow",
    "SheetQuotes",
    "market_data_for",
    "market_from_quotes",
    "quote_table",
]


class MarketSource(Protocol):
    """Answers the quotes a plan lacks."""

    def market_for(self, needs: QuoteNeeds) -> MarketData:
        """Prices, currencies and FX for ``needs``; what cannot be had is in ``failures``."""
        ...


@dataclass(frozen=True)
class LiveQuotes:
    """The quote layer, cache first (``service`` defaults to the process-wide one).

    ``timeout`` (the CLI) lets the missing quotes take that long; without it
    (cells) the wait comes from the quote layer's shared breaker (about 1 s).
    """

    service: QuoteService | None = None
    timeout: float | None = None

    def market_for(self, needs: QuoteNeeds) -> MarketData:
        """Answer ``needs`` from the quote service (missing quotes in one batch)."""
        if self.service is None:
            from etf_rebalancer.quotes.service import get_service  # patchable in tests

            return market_data_for(needs, get_service(), timeout=self.timeout)
        return market_data_for(needs, self.service, timeout=self.timeout)


@dataclass(frozen=True)
class SheetQuotes:
    """A workbook's Quotes sheet (header first), the offline source."""

    rows: Sequence[Sequence[Any]] | None

    def market_for(self, needs: QuoteNeeds) -> MarketData:
        """Answer ``needs`` from the sheet's rows."""
        return market_from_quotes(self.rows, needs)


# ---------------------------------------------------------------- the quote layer


def market_data_for(
    needs: QuoteNeeds, service: QuoteService, *, timeout: float | None = None
) -> MarketData:
    """Build the :class:`MarketData` a plan needs, cache first, missing quotes in one batch.

    Parameters
    ----------
    needs
        Tickers lacking a price or currency, currencies lacking an FX rate, the base.
    service
        The quote service (usually ``quotes.registry.get_service()``).
    timeout
        Seconds the missing quotes may take (``None``: the breaker's allowance).

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
    service.ensure(
        [*needs.tickers, *(fx_ticker(major_currency(c)[0], base) for c in currencies)],
        timeout=timeout,
    )

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


# ---------------------------------------------------------------- Quotes sheet


@dataclass(frozen=True)
class QuoteRow:
    """One row of the Quotes sheet."""

    ticker: str
    price: float | None
    currency: str
    time: dt.datetime | None
    status: str
    source: str
    row: int


def _quote_columns(header: Sequence[Any]) -> dict[str, int]:
    keys = ("ticker", "price", "currency", "time", "status", "source")
    spellings: dict[str, str] = {}
    for key, en, ko in zip(keys, QUOTES_HEADER, QUOTES_HEADER_KO, strict=True):
        spellings[normalise_header(en)] = key
        spellings[normalise_header(ko)] = key
    spellings.update({"symbol": "ticker", "date": "time", "ccy": "currency"})
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        column = spellings.get(normalise_header(cell))
        if column and column not in columns:
            columns[column] = index
    return columns


def quote_table(rows: Sequence[Sequence[Any]] | None) -> list[QuoteRow]:
    """Parse the Quotes sheet's rows (header first) into :class:`QuoteRow` items.

    Raises
    ------
    InputError
        When the header lacks Ticker or Price, or a price is not a number.
    """
    if not rows:
        return []
    columns = _quote_columns(rows[0])
    missing = [k for k in ("ticker", "price") if k not in columns]
    if missing:
        raise InputError(
            f"Quotes sheet needs the columns {', '.join(QUOTES_HEADER[:3])} "
            f"(header row has {', '.join(str(c) for c in rows[0] if not is_blank(c))})",
            f"시세 시트에 {', '.join(QUOTES_HEADER_KO[:3])} 열이 필요합니다",
        )

    def cell(row: Sequence[Any], key: str) -> Any:
        index = columns.get(key)
        return row[index] if index is not None and index < len(row) else None

    out = []
    for number, row in enumerate(rows[1:], start=2):
        ticker = cell(row, "ticker")
        if is_blank(ticker):
            continue
        where = f" (Quotes row {number}, {ticker})"
        text = str(ticker).strip().upper()
        if "/" not in text:
            text = normalise_ticker(ticker, where=where)
        when = cell(row, "time")
        try:
            time = None if is_blank(when) else parse_date(when, what="Time", where=where)
        except InputError:
            time = None
        out.append(
            QuoteRow(
                ticker=text,
                price=parse_number(cell(row, "price"), what="Price", where=where),
                currency=str(cell(row, "currency") or "").strip().upper(),
                time=None if time is None else time.to_pydatetime(),
                status=str(cell(row, "status") or "").strip(),
                source=str(cell(row, "source") or "").strip(),
                row=number,
            )
        )
    return out


def _ticker_forms(ticker: str) -> list[str]:
    """The spellings one listing may have: ``069500``, ``069500.KS``, ``069500.KQ``."""
    forms = [ticker]
    stem, _, suffix = ticker.partition(".")
    if suffix in ("KS", "KQ") and is_krx_code(stem):
        forms.append(stem)
    elif is_krx_code(ticker):
        forms += [f"{ticker}.KS", f"{ticker}.KQ"]
    return forms


def market_from_quotes(rows: Sequence[Sequence[Any]] | None, needs: QuoteNeeds) -> MarketData:
    """Answer a request's :class:`QuoteNeeds` from the Quotes sheet (the offline path).

    FX rows are named ``CCY/BASE`` with the value of one ``CCY`` in ``BASE``;
    the inverse pair and one cross through a third currency (USD first) also
    work: :func:`etf_rebalancer.cells.fx.cross_rate`, the rule the live
    quotes use too. A ticker
    or currency the sheet lacks becomes a failure naming it; sample or old
    prices add a notice saying so.
    """
    quotes = quote_table(rows)
    by_ticker: dict[str, QuoteRow] = {}
    pairs: dict[tuple[str, str], float] = {}
    for quote in quotes:
        if "/" in quote.ticker:
            a, _, b = quote.ticker.partition("/")
            if quote.price:
                pairs[(a.strip(), b.strip())] = quote.price
        else:
            by_ticker.setdefault(quote.ticker, quote)
    prices: dict[str, float] = {}
    currencies: dict[str, str] = {}
    failures: dict[str, Notice] = {}
    used: list[QuoteRow] = []
    for ticker in needs.tickers:
        q = next((by_ticker[f] for f in _ticker_forms(ticker) if f in by_ticker), None)
        if q is None or q.price is None:
            failures[ticker] = Notice(
                f"{ticker} is not on the Quotes sheet (add a row, or run without --offline)",
                f"시세 시트에 {ticker}이(가) 없습니다 (행을 추가하거나 --offline 없이 실행하세요)",
            )
            continue
        used.append(q)
        prices[ticker] = q.price
        if q.currency:
            currencies[ticker] = q.currency
    fx: dict[str, float] = {}
    base = needs.base_currency.upper()
    for ccy in needs.currencies:
        # The quote layer's one FX rule (direct, inverse, or a cross), as online.
        via = {c for pair in pairs for c in pair}
        found = cross_rate(lambda a, b: pairs.get((a, b)), ccy.upper(), base, via)
        rate = found[0] if found is not None else None
        if rate is None:
            failures[ccy] = Notice(
                f"No FX rate {ccy}/{base} on the Quotes sheet (add a row {ccy}/{base})",
                f"시세 시트에 {ccy}/{base} 환율이 없습니다 ({ccy}/{base} 행을 추가하세요)",
            )
        else:
            fx[ccy] = rate
    notices: list[Notice] = []
    samples = [q for q in used if q.status.casefold() == "sample" or "sample" in q.source]
    if samples:
        dates = sorted({q.time.date().isoformat() for q in samples if q.time})
        when = f" written on {dates[-1]}" if dates else ""
        when_ko = f" ({dates[-1]} 작성)" if dates else ""
        notices.append(
            Notice(
                f"Prices are SAMPLE values from the Quotes sheet{when}, not live quotes: "
                "run `etf-rebal refresh` or drop --offline",
                f"가격은 시세 시트의 샘플 값{when_ko}이며 실시간이 아닙니다: "
                "`etf-rebal refresh` 를 실행하거나 --offline 을 빼세요",
            )
        )
    elif used:
        times = [q.time for q in used if q.time]
        if times:
            notices.append(
                Notice(
                    f"Prices from the Quotes sheet as of {min(times):%Y-%m-%d %H:%M}",
                    f"시세 시트 가격 기준 시각: {min(times):%Y-%m-%d %H:%M}",
                )
            )
    return MarketData(
        prices=prices,
        currencies=currencies,
        fx=fx,
        notices=tuple(notices),
        failures=failures,
    )
