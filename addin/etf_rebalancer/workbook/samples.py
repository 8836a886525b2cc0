"""A template's sample data: the Quotes rows, the ranges its tables hold, the plan they give.

These are what the builder caches as formula results, so a viewer that does not
recalculate shows a real plan for the sample prices. The plan comes from the one
planning path (:func:`etf_rebalancer.planning.plan_ranges` over a Quotes sheet);
the Holdings sheet's plain-Excel columns are computed here from their definition.
"""

from __future__ import annotations

from typing import Any

from etf_rebalancer.quotes.rows import quote_row
from etf_rebalancer.workbook.layout import ACCOUNT_COLUMNS, HEADERS
from etf_rebalancer.workbook.portfolios import (
    INSTRUMENTS,
    SAMPLE_DATE,
    SAMPLE_FX,
    SAMPLE_SOURCE,
    SAMPLE_STATUS,
    Portfolio,
)
from etf_rebalancer.workbook.texts import SETTING_HELP


def quote_rows(portfolio: Portfolio) -> list[list[Any]]:
    """Rows of the Quotes sheet (no header): one per ticker, then one per FX pair."""
    sample = (SAMPLE_DATE, SAMPLE_STATUS, SAMPLE_SOURCE)
    rows: list[list[Any]] = []
    for ticker in portfolio.tickers():
        inst = INSTRUMENTS[ticker]
        rows.append(list(quote_row(ticker, inst.sample_price, inst.currency, *sample)))
    base = portfolio.base_currency
    for ccy in portfolio.fx_currencies:
        if (ccy, base) in SAMPLE_FX:
            pair, rate = f"{ccy}/{base}", SAMPLE_FX[(ccy, base)]
        else:
            pair, rate = f"{base}/{ccy}", SAMPLE_FX[(base, ccy)]
        rows.append(list(quote_row(pair, rate, pair.split("/")[1], *sample)))
    return rows


def sample_fx(portfolio: Portfolio, currency: str) -> float:
    """Value of one unit of ``currency`` in the base currency at the sample rates."""
    base = portfolio.base_currency
    if currency == base:
        return 1.0
    if (currency, base) in SAMPLE_FX:
        return SAMPLE_FX[(currency, base)]
    return 1.0 / SAMPLE_FX[(base, currency)]


def sample_ranges(portfolio: Portfolio, lang: str) -> dict[str, list[list[Any]]]:
    """The raw ranges Excel hands ``REBAL_*`` for the template with its sample prices.

    The input columns of ``Holdings[#All]`` etc. offline (price column from the
    Quotes sheet), as lists of rows with the header first; the computed columns
    beside them are left out (the readers ignore them).
    """
    portfolio = portfolio.for_lang(lang)
    h = HEADERS
    holdings: list[list[Any]] = [list(h["holdings"][lang])]
    for item in portfolio.holdings:
        inst = INSTRUMENTS[item.ticker]
        holdings.append(
            [
                item.ticker,
                inst.name.get(lang),
                float(item.shares),
                inst.sample_price,
                inst.currency,
                item.account or None,
            ]
        )
    # A household template's extra columns (targets' Class, cash's Account) come after
    # the usual ones, and only when it has accounts.
    household = bool(portfolio.accounts)
    targets: list[list[Any]] = [
        [*h["targets"][lang], *(ACCOUNT_COLUMNS["targets"][lang] if household else ())]
    ]
    for t in portfolio.targets:
        row = [t.ticker, t.target, t.band, t.group or None, t.min, t.max]
        targets.append([*row, t.asset_class or None] if household else row)
    groups: list[list[Any]] = [list(h["groups"][lang])]
    groups += [[g.group, g.max, g.min] for g in portfolio.group_caps()]
    cash: list[list[Any]] = [
        [*h["cash"][lang], *(ACCOUNT_COLUMNS["cash"][lang] if household else ())]
    ]
    for ccy, amount, account in portfolio.cash_rows():
        cash.append([ccy, amount, account or None] if household else [ccy, amount])
    settings: list[list[Any]] = [list(h["settings"][lang])]
    settings += [[k, v, SETTING_HELP[k].get(lang)] for k, v in portfolio.settings]
    ranges = {
        "holdings": holdings,
        "targets": targets,
        "cash": cash,
        "settings": settings,
        "groups": groups,
    }
    if household:
        ranges["accounts"] = [list(h["accounts"][lang])] + [
            [a.name, a.type, a.max_risky] for a in portfolio.accounts
        ]
    return ranges


def sample_plan(portfolio: Portfolio, lang: str) -> dict[str, list[list[Any]]] | None:
    """Orders, summary and drift the engine computes for the sample prices.

    Written as the cached results of the Plan sheet's formulas, so the workbook
    shows a real plan before Excel recalculates (and in viewers that do not know
    the add-in's functions). ``None`` when there is nothing to plan.
    """
    portfolio = portfolio.for_lang(lang)
    if not portfolio.holdings and not portfolio.targets:
        return None
    from etf_rebalancer.planning import SheetQuotes, plan_ranges, plan_tables

    ranges = sample_ranges(portfolio, lang)
    quotes = [list(HEADERS["quotes"][lang]), *quote_rows(portfolio)]
    plan = plan_ranges(
        ranges["holdings"],
        ranges["targets"],
        ranges["cash"],
        ranges["settings"],
        ranges["groups"],
        ranges.get("accounts"),
        market=SheetQuotes(quotes),
        as_of=SAMPLE_DATE.date(),
    )
    return plan_tables(plan, lang)  # what the REBAL_* formulas answer in this language


def holdings_view(portfolio: Portfolio) -> dict[str, Any]:
    """What the Holdings sheet's plain-Excel columns compute for the sample prices.

    Per holding: value in the base currency, weight of the whole portfolio
    (holdings plus cash), target, drift and band status (``ok``/``over``/``under``),
    by the same definitions as the sheet's formulas; plus the totals beside them.
    """
    settings = dict(portfolio.settings)
    default_band = float(settings.get("band", 0.0))  # type: ignore[arg-type]
    relative = str(settings.get("band_type", "relative")) == "relative"
    targets = {t.ticker: t for t in portfolio.targets}
    values = [
        h.shares
        * INSTRUMENTS[h.ticker].sample_price
        * sample_fx(portfolio, INSTRUMENTS[h.ticker].currency)
        for h in portfolio.holdings
    ]
    cash = [amount * sample_fx(portfolio, ccy) for ccy, amount, _ in portfolio.cash_rows()]
    total = sum(values) + sum(cash)
    # A household template's weight is the ticker's over every account (as the sheet's SUMIFS).
    by_ticker: dict[str, float] = {}
    for h, value in zip(portfolio.holdings, values, strict=True):
        by_ticker[h.ticker] = by_ticker.get(h.ticker, 0.0) + value
    rows = []
    for h, value in zip(portfolio.holdings, values, strict=True):
        t = targets.get(h.ticker)
        target = t.target if t else 0.0
        mine = by_ticker[h.ticker] if portfolio.accounts else value
        weight = mine / total if total else 0.0
        drift = weight - target
        band = t.band if t is not None and t.band is not None else default_band
        width = band * target if relative else band
        status = "ok" if abs(drift) <= width + 1e-9 else ("over" if drift > 0 else "under")
        rows.append([value, weight, target, drift, status])
    return {
        "rows": rows,
        "cash": cash,
        "holdings_value": sum(values),
        "cash_value": sum(cash),
        "total": total,
        "targets_total": sum(t.target for t in portfolio.targets),
    }
