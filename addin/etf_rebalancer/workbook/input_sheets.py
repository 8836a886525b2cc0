"""The input sheets of a template: Holdings, Targets, Groups, Cash, Accounts, Settings, Quotes.

Each is one Excel Table with its header in row 1 (the reader and the Refresh
macro find it by sheet name). Cells a user types into are coloured as inputs;
what the sheet computes is grey. The Holdings sheet computes in plain Excel,
without the add-in: value in the base currency, weight, target, drift and band
status per holding, from the Price column (live, or the Quotes sheet's price)
and the Quotes sheet's FX rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xlsxwriter.utility import quote_sheetname, xl_col_to_name, xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.layout import ACCOUNT_COLUMNS, COMPUTED_HEADERS, HEADERS
from etf_rebalancer.workbook.portfolios import INSTRUMENTS, SAMPLE_DATE, Portfolio
from etf_rebalancer.workbook.samples import holdings_view, quote_rows
from etf_rebalancer.workbook.styles import (
    BOOLEAN_FORMAT,
    COMPUTED_FILL,
    DATE_FORMAT,
    FALLBACK_FILL,
    FALLBACK_FONT,
    FRACTION_FORMAT,
    INPUT_FILL,
    INPUT_FONT,
    NUMBER_FORMAT,
    PERCENT_FORMAT,
    SHARES_FORMAT,
    TEXT_FORMAT,
    Formats,
    page_setup,
)
from etf_rebalancer.workbook.texts import (
    ACCOUNT_NOTES,
    ACCOUNT_TYPE_LISTS,
    CLASS_LISTS,
    CURRENCIES,
    LABELS,
    SETTING_HELP,
    STATUS,
    VALIDATION_LISTS,
)

# Workbook names of the Holdings sheet's totals block (the computed columns use them).
NAMES = {
    "base": "BaseCurrency",
    "band": "DefaultBand",
    "band_type": "BandType",
    "total": "PortfolioTotal",
}
EXTRA_ROWS = 200  # validations and highlighting also cover rows the user adds
RED = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}


def _sheet_ref(name: str) -> str:
    return quote_sheetname(name) if name.isascii() else "'" + name.replace("'", "''") + "'"


def add_table(
    ws: Worksheet,
    name: str,
    headers: Sequence[str],
    rows: int,
    columns: list[dict[str, Any]] | None = None,
    header_format: Any = None,
) -> None:
    """Add a table with its header in row 1 and ``rows`` data rows (at least one)."""
    columns = columns or [{"header": h} for h in headers]
    if header_format is not None:
        # Explicit header look: not every spreadsheet program draws Excel table styles.
        for column in columns:
            column.setdefault("header_format", header_format)
    page_setup(ws)
    ws.add_table(
        0,
        0,
        max(rows, 1),
        len(columns) - 1,
        {"name": name, "style": "Table Style Medium 2", "columns": columns},
    )
    ws.freeze_panes(1, 0)
    ws.repeat_rows(0)


def _wrapped_height(text: str, width: float) -> float:
    """Row height (points) that shows ``text`` wrapped in a column ``width`` characters wide."""
    import unicodedata

    chars = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    lines = max(1, -(-chars // max(1, int(width * 1.05))))
    return 15.0 * lines


def write_notes(
    ws: Worksheet, col: int, title: str, lines: Sequence[str], fmt: Formats, width: int = 70
) -> None:
    """A titled column of wrapped notes beside a table.

    Each note is merged over as many rows as its wrapped text needs, so it is
    never cut and the table's rows keep their height.
    """
    if not lines:
        return
    ws.set_column(col, col, width)
    ws.write_string(0, col, title, fmt.get(bold=True))
    wrap = fmt.get(text_wrap=True, valign="top")
    row = 1
    for line in lines:
        rows = int(_wrapped_height(line, width) // 15)
        if rows > 1:
            ws.merge_range(row, col, row + rows - 1, col, line, wrap)
        else:
            ws.write_string(row, col, line, wrap)
        row += rows


def _row(table: str, column: str) -> str:
    # The stored form Excel itself writes for [@Column] (other programs parse only this one).
    return f"{table}[[#This Row],[{column}]]"


def _quotes_price(lang: str, ticker: str) -> str:
    """The Quotes sheet's price of ``ticker``, also for a KRX code typed as a number."""
    t, p = HEADERS["quotes"][lang][:2]
    q = layout.TABLES["quotes"]
    return (
        f"INDEX({q}[{p}],IFERROR(MATCH({ticker},{q}[{t}],0),"
        f'MATCH(TEXT({ticker},"000000"),{q}[{t}],0)))'
    )


def price_formula(lang: str) -> str:
    """The Holdings Price column: ETF_PRICE when it has a number, else the Quotes sheet."""
    me = _row(layout.TABLES["holdings"], HEADERS["holdings"][lang][0])
    fallback = _quotes_price(lang, me)
    missing = LABELS["no_price"].get(lang)
    return (
        f'=IF({me}="","",IF(ISNUMBER(ETF_PRICE({me})),ETF_PRICE({me}),'
        f'IFERROR({fallback},IFERROR(ETF_PRICE({me}),"{missing}"))))'
    )


def fx_formula(lang: str, currency: str) -> str:
    """Value of one unit of ``currency`` (a cell reference) in BaseCurrency, from the Quotes
    sheet's ``CCY/BASE`` row (or the inverse of ``BASE/CCY``)."""
    t, p = HEADERS["quotes"][lang][:2]
    q = layout.TABLES["quotes"]
    base = NAMES["base"]
    return (
        f'IF({currency}={base},1,IFERROR(INDEX({q}[{p}],MATCH({currency}&"/"&{base},'
        f'{q}[{t}],0)),1/INDEX({q}[{p}],MATCH({base}&"/"&{currency},{q}[{t}],0))))'
    )


def computed_formulas(lang: str, household: bool = False) -> list[str]:
    """Formulas of the Holdings sheet's computed columns (value, weight, target, drift, status).

    In a household template (``household``) a ticker may be held in several accounts:
    its weight is then the household's (the sum of its rows' values), as the targets are.
    """
    h = layout.TABLES["holdings"]
    ticker, _, shares, price, currency, _ = HEADERS["holdings"][lang]
    value, weight, target, drift, _ = COMPUTED_HEADERS["holdings"][lang]
    tt, tg, tb = HEADERS["targets"][lang][:3]
    targets = layout.TABLES["targets"]
    me = _row(h, ticker)
    match = f"MATCH({me},{targets}[{tt}],0)"
    band = (
        f'IFERROR(IF(INDEX({targets}[{tb}],{match})="",{NAMES["band"]},'
        f"INDEX({targets}[{tb}],{match})),{NAMES['band']})"
    )
    width = f'IF({NAMES["band_type"]}="absolute",{band},{band}*{_row(h, target)})'
    ok, over, under = (STATUS[k].get(lang) for k in ("ok", "over", "under"))
    d = _row(h, drift)
    mine = _row(h, value)
    if household:  # every row of the ticker, in any account (SUMIFS skips "no price")
        mine = f"SUMIFS({h}[{value}],{h}[{ticker}],{me})"
    return [
        f'=IF({me}="","",IFERROR({_row(h, shares)}*{_row(h, price)}*'
        f'{fx_formula(lang, _row(h, currency))},"{LABELS["no_price"].get(lang)}"))',
        f'=IF(ISNUMBER({_row(h, value)}),IFERROR({mine}/{NAMES["total"]},""),"")',
        f'=IF({me}="","",IFERROR(INDEX({targets}[{tg}],{match}),0))',
        f'=IF(ISNUMBER({_row(h, weight)}),{_row(h, weight)}-{_row(h, target)},"")',
        f'=IF(ISNUMBER({d}),IF(ABS({d})<={width}+1E-9,"{ok}",IF({d}>0,"{over}","{under}")),"")',
    ]


def write_holdings(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    name = layout.sheet_name("holdings", lang)
    ws = wb.add_worksheet(name)
    headers = HEADERS["holdings"][lang]
    computed = COMPUTED_HEADERS["holdings"][lang]
    n = len(portfolio.holdings)
    base = portfolio.base_currency
    view = holdings_view(portfolio)
    pct = fmt.computed(num_format=PERCENT_FORMAT)
    grey = fmt.computed()
    text_in = fmt.input(num_format=TEXT_FORMAT)
    shares_in = fmt.input(num_format=SHARES_FORMAT)
    formulas = [price_formula(lang), *computed_formulas(lang, bool(portfolio.accounts))]
    columns: list[dict[str, Any]] = [{"header": h} for h in (*headers, *computed)]
    columns[3]["formula"] = formulas[0]
    columns[3]["format"] = fmt.computed(num_format=NUMBER_FORMAT)
    col_formats = [fmt.money(base, bg_color=COMPUTED_FILL), pct, pct, pct, grey]
    for j, formula in enumerate(formulas[1:]):
        columns[6 + j]["formula"] = formula
        columns[6 + j]["format"] = col_formats[j]
    add_table(ws, layout.TABLES["holdings"], headers, n, columns, fmt.header)
    ws.set_column(0, 0, 11, fmt.get(num_format=TEXT_FORMAT))
    ws.set_column(1, 1, 40)
    ws.set_column(2, 2, 9, fmt.get(num_format=SHARES_FORMAT))
    ws.set_column(3, 3, 12)
    ws.set_column(4, 5, 10)
    ws.set_column(6, 6, 15)
    ws.set_column(7, 9, 10)
    ws.set_column(10, 10, 12)
    statuses = {"ok": STATUS["ok"], "over": STATUS["over"], "under": STATUS["under"]}
    for i, (item, row) in enumerate(zip(portfolio.holdings, view["rows"], strict=True), start=1):
        inst = INSTRUMENTS[item.ticker]
        ws.write_string(i, 0, item.ticker, text_in)
        ws.write_string(i, 1, inst.name.get(lang), fmt.input())
        ws.write_number(i, 2, item.shares, shares_in)
        price_format = fmt.money(inst.currency, bg_color=COMPUTED_FILL)
        ws.write_formula(i, 3, formulas[0], price_format, inst.sample_price)
        ws.write_string(i, 4, inst.currency, fmt.input())
        if item.account:
            ws.write_string(i, 5, item.account, fmt.input())
        else:
            ws.write_blank(i, 5, None, fmt.input())
        value, weight, target, drift, status = row
        cached = [value, weight, target, drift, statuses[status].get(lang)]
        for j, (formula, value_j) in enumerate(zip(formulas[1:], cached, strict=True)):
            ws.write_formula(i, 6 + j, formula, col_formats[j], value_j)
    last = max(n, 1) + EXTRA_ROWS
    ws.data_validation(1, 4, last, 4, {"validate": "list", "source": CURRENCIES})
    ws.conditional_format(
        1,
        3,
        last,
        3,
        {
            "type": "formula",
            "criteria": '=AND($A2<>"",NOT(ISNUMBER(ETF_PRICE($A2))))',
            "format": fmt.get(bg_color=FALLBACK_FILL, font_color=FALLBACK_FONT),
        },
    )
    ws.conditional_format(
        1,
        2,
        last,
        2,
        {
            "type": "formula",
            "criteria": "=AND(ISNUMBER($C2),MOD($C2,1)<>0)",
            "format": fmt.get(num_format=FRACTION_FORMAT),
        },
    )
    status_col = xl_col_to_name(10)
    bad = ",".join(f'${status_col}2="{STATUS[k].get(lang)}"' for k in ("over", "under"))
    ws.conditional_format(
        1, 6, last, 10, {"type": "formula", "criteria": f"=OR({bad})", "format": fmt.get(**RED)}
    )

    # Totals: the cells the computed columns refer to by name.
    label_col, value_col = 12, 13
    ws.set_column(label_col - 1, label_col - 1, 2)
    ws.set_column(label_col, label_col, 16)
    ws.set_column(value_col, value_col, 16)
    cash_name = layout.TABLES["cash"]
    cash_value = COMPUTED_HEADERS["cash"][lang][0]
    t_target = HEADERS["targets"][lang][1]
    s_key, s_value = HEADERS["settings"][lang][:2]
    settings = layout.TABLES["settings"]

    def setting(key: str, default: str) -> str:
        return (
            f'=IFERROR(INDEX({settings}[{s_value}],MATCH("{key}",{settings}[{s_key}],0)),{default})'
        )

    plan_settings = dict(portfolio.settings)
    bold = fmt.get(bold=True)
    money_grey = fmt.money(base, bg_color=COMPUTED_FILL)
    holdings_table = layout.TABLES["holdings"]
    rows: list[tuple[str, str | None, str, Any, Any]] = [
        ("base_currency", "base", setting("base_currency", '"USD"'), base, grey),
        ("default_band", "band", setting("band", "0"), plan_settings.get("band", 0.0), pct),
        (
            "band_type",
            "band_type",
            setting("band_type", '"relative"'),
            str(plan_settings.get("band_type", "relative")),
            grey,
        ),
        (
            "holdings_value",
            None,
            f"=SUM({holdings_table}[[{computed[0]}]])",
            view["holdings_value"],
            money_grey,
        ),
        ("cash_value", None, f"=SUM({cash_name}[[{cash_value}]])", view["cash_value"], money_grey),
    ]
    row = 1
    for key, name_key, formula, cached, cell_format in rows:
        ws.write_string(row, label_col, LABELS[key].get(lang), bold)
        ws.write_formula(row, value_col, formula, cell_format, cached)
        if name_key:
            cell = xl_rowcol_to_cell(row, value_col, True, True)
            wb.define_name(NAMES[name_key], f"={_sheet_ref(name)}!{cell}")
        row += 1
    hv = xl_rowcol_to_cell(row - 2, value_col, True, True)
    cv = xl_rowcol_to_cell(row - 1, value_col, True, True)
    ws.write_string(row, label_col, LABELS["total_value"].get(lang), bold)
    ws.write_formula(
        row,
        value_col,
        f"={hv}+{cv}",
        fmt.money(base, bg_color=COMPUTED_FILL, bold=True),
        view["total"],
    )
    total_ref = xl_rowcol_to_cell(row, value_col, True, True)
    wb.define_name(NAMES["total"], f"={_sheet_ref(name)}!{total_ref}")
    row += 1
    ws.write_string(row, label_col, LABELS["targets_total"].get(lang), bold)
    ws.write_formula(
        row, value_col, f"=SUM({layout.TABLES['targets']}[{t_target}])", pct, view["targets_total"]
    )
    total_cell = xl_rowcol_to_cell(row, value_col)
    ws.conditional_format(
        row,
        value_col,
        row,
        value_col,
        {
            "type": "formula",
            "criteria": f"=ABS({total_cell}-1)>0.001",
            "format": fmt.get(**RED),
        },
    )
    notes = [LABELS["computed_note"].get(lang), LABELS["price_note"].get(lang)]
    if portfolio.accounts:
        notes.append(LABELS["household_weight_note"].get(lang))
    write_notes(ws, value_col + 2, LABELS["notes"].get(lang), notes, fmt, width=60)
    ws.print_area(0, 0, max(n + 1, row + 1), value_col)


def write_targets(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    ws = wb.add_worksheet(layout.sheet_name("targets", lang))
    household = bool(portfolio.accounts)
    # A household template's Class column comes after the usual ones.
    headers = HEADERS["targets"][lang] + (ACCOUNT_COLUMNS["targets"][lang] if household else ())
    n = len(portfolio.targets)
    pct_in = fmt.input(num_format=PERCENT_FORMAT)
    add_table(ws, layout.TABLES["targets"], headers, n, None, fmt.header)
    ws.set_column(0, 0, 11, fmt.get(num_format=TEXT_FORMAT))
    ws.set_column(1, 2, 10, fmt.get(num_format=PERCENT_FORMAT))
    ws.set_column(3, 3, 12)
    ws.set_column(4, 5, 10, fmt.get(num_format=PERCENT_FORMAT))
    for i, t in enumerate(portfolio.targets, start=1):
        ws.write_string(i, 0, t.ticker, fmt.input(num_format=TEXT_FORMAT))
        ws.write_number(i, 1, t.target, pct_in)
        for col, value in ((2, t.band), (4, t.min), (5, t.max)):
            if value is not None:
                ws.write_number(i, col, value, pct_in)
            else:
                ws.write_blank(i, col, None, pct_in)
        if t.group:
            ws.write_string(i, 3, t.group, fmt.input())
        else:
            ws.write_blank(i, 3, None, fmt.input())
        if household and t.asset_class:
            ws.write_string(i, 6, t.asset_class, fmt.input())
        elif household:
            ws.write_blank(i, 6, None, fmt.input())
    last = max(n, 1) + EXTRA_ROWS
    if household:
        ws.set_column(6, 6, 11)
        ws.data_validation(1, 6, last, 6, {"validate": "list", "source": CLASS_LISTS[lang]})
    ws.data_validation(
        1,
        1,
        last,
        2,
        {
            "validate": "decimal",
            "criteria": "between",
            "minimum": 0,
            "maximum": 1,
            "error_message": "A weight between 0% and 100% / 0%~100% 사이의 비중",
        },
    )
    # The total beside the table, red unless it is 100%.
    total_row = max(n, 1) + 1
    target = HEADERS["targets"][lang][1]
    ws.write_string(total_row, 0, LABELS["targets_total"].get(lang), fmt.get(bold=True))
    total = sum(t.target for t in portfolio.targets)
    ws.write_formula(
        total_row,
        1,
        f"=SUM({layout.TABLES['targets']}[{target}])",
        fmt.computed(num_format=PERCENT_FORMAT, bold=True),
        total,
    )
    ok, bad = LABELS["targets_total_ok"].get(lang), LABELS["targets_total_bad"].get(lang)
    cell = xl_rowcol_to_cell(total_row, 1)
    ws.write_formula(
        total_row,
        2,
        f'=IF(ABS({cell}-1)<=0.001,"{ok}","{bad}")',
        fmt.computed(),
        ok if abs(total - 1) <= 0.001 else bad,
    )
    ws.conditional_format(
        total_row,
        1,
        total_row,
        2,
        {"type": "formula", "criteria": f"=ABS({cell}-1)>0.001", "format": fmt.get(**RED)},
    )
    notes = [note.get(lang) for note in portfolio.notes]
    if household:
        notes.append(LABELS["class_note"].get(lang))
    write_notes(ws, len(headers) + 1, LABELS["notes"].get(lang), notes, fmt)


def write_groups(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    ws = wb.add_worksheet(layout.sheet_name("groups", lang))
    headers = HEADERS["groups"][lang]
    caps = portfolio.group_caps()
    pct_in = fmt.input(num_format=PERCENT_FORMAT)
    add_table(ws, layout.TABLES["groups"], headers, len(caps), None, fmt.header)
    ws.set_column(0, 0, 14)
    ws.set_column(1, 2, 10, fmt.get(num_format=PERCENT_FORMAT))
    for i, g in enumerate(caps, start=1):
        ws.write_string(i, 0, g.group, fmt.input())
        for col, value in ((1, g.max), (2, g.min)):
            if value is not None:
                ws.write_number(i, col, value, pct_in)
            else:
                ws.write_blank(i, col, None, pct_in)
    note = [LABELS["groups_note"].get(lang)]
    write_notes(ws, len(headers) + 1, LABELS["notes"].get(lang), note, fmt)


def write_cash(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    ws = wb.add_worksheet(layout.sheet_name("cash", lang))
    household = bool(portfolio.accounts)
    # A household template's cash names its account (after Currency and Amount).
    headers = HEADERS["cash"][lang] + (ACCOUNT_COLUMNS["cash"][lang] if household else ())
    computed = COMPUTED_HEADERS["cash"][lang]
    base = portfolio.base_currency
    view = holdings_view(portfolio)
    c = layout.TABLES["cash"]
    formula = (
        f'=IF({_row(c, headers[0])}="","",IFERROR({_row(c, headers[1])}*'
        f'{fx_formula(lang, _row(c, headers[0]))},"{LABELS["no_price"].get(lang)}"))'
    )
    value_format = fmt.money(base, bg_color=COMPUTED_FILL)
    columns: list[dict[str, Any]] = [{"header": h} for h in (*headers, *computed)]
    value_col = len(headers)
    columns[value_col]["formula"] = formula
    columns[value_col]["format"] = value_format
    add_table(ws, c, headers, len(portfolio.cash), columns, fmt.header)
    ws.set_column(0, 0, 10)
    ws.set_column(1, 1, 16, fmt.get(num_format=NUMBER_FORMAT))
    if household:
        ws.set_column(2, 2, 14)
    ws.set_column(value_col, value_col, 16)
    for i, ((ccy, amount, account), cached) in enumerate(
        zip(portfolio.cash_rows(), view["cash"], strict=True), start=1
    ):
        ws.write_string(i, 0, ccy, fmt.input())
        ws.write_number(i, 1, amount, fmt.money(ccy, bg_color=INPUT_FILL, font_color=INPUT_FONT))
        if household and account:
            ws.write_string(i, 2, account, fmt.input(indent=1))
        elif household:
            ws.write_blank(i, 2, None, fmt.input(indent=1))
        ws.write_formula(i, value_col, formula, value_format, cached)
    ws.data_validation(1, 0, 50, 0, {"validate": "list", "source": CURRENCIES})
    if household:
        accounts = [a.name for a in portfolio.accounts]
        ws.data_validation(1, 2, 50, 2, {"validate": "list", "source": accounts})
        note = [LABELS["cash_account_note"].get(lang)]
        write_notes(ws, value_col + 2, LABELS["notes"].get(lang), note, fmt, width=60)


def write_accounts(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    """The Accounts sheet of a household template: each account's type and risky cap."""
    ws = wb.add_worksheet(layout.sheet_name("accounts", lang))
    headers = HEADERS["accounts"][lang]
    n = len(portfolio.accounts)
    add_table(ws, layout.TABLES["accounts"], headers, n, None, fmt.header)
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 12)
    ws.set_column(2, 2, 14, fmt.get(num_format=PERCENT_FORMAT))
    pct_in = fmt.input(num_format=PERCENT_FORMAT)
    for i, account in enumerate(portfolio.accounts, start=1):
        ws.write_string(i, 0, account.name, fmt.input())
        ws.write_string(i, 1, account.type, fmt.input())
        if account.max_risky is not None:
            ws.write_number(i, 2, account.max_risky, pct_in)
        else:
            ws.write_blank(i, 2, None, pct_in)
    last = max(n, 1) + 50
    ws.data_validation(1, 1, last, 1, {"validate": "list", "source": ACCOUNT_TYPE_LISTS[lang]})
    ws.data_validation(
        1,
        2,
        last,
        2,
        {
            "validate": "decimal",
            "criteria": "between",
            "minimum": 0,
            "maximum": 1,
            "error_message": "A weight between 0% and 100% / 0%~100% 사이의 비중",
        },
    )
    notes = [note.get(lang) for note in ACCOUNT_NOTES]
    write_notes(ws, len(headers) + 1, LABELS["notes"].get(lang), notes, fmt)


def write_settings(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    ws = wb.add_worksheet(layout.sheet_name("settings", lang))
    headers = HEADERS["settings"][lang]
    add_table(ws, layout.TABLES["settings"], headers, len(portfolio.settings), None, fmt.header)
    ws.set_column(0, 0, 15)
    ws.set_column(1, 1, 12)
    ws.set_column(2, 2, 70)
    base = portfolio.base_currency
    for i, (key, value) in enumerate(portfolio.settings, start=1):
        ws.write_string(i, 0, key)
        if isinstance(value, bool):
            ws.write_boolean(i, 1, value, fmt.input(align="right", num_format=BOOLEAN_FORMAT))
        elif isinstance(value, str):
            ws.write_string(i, 1, value, fmt.input(align="right"))
        elif key in ("band", "fee_rate", "fx_spread"):
            ws.write_number(i, 1, float(value), fmt.input(num_format="0.0##%"))  # type: ignore[arg-type]
        else:
            money_in = fmt.money(base, bg_color=INPUT_FILL, font_color=INPUT_FONT)
            ws.write_number(i, 1, float(value), money_in)  # type: ignore[arg-type]
        ws.write_string(i, 2, SETTING_HELP[key].get(lang))
        if key in VALIDATION_LISTS:
            ws.data_validation(i, 1, i, 1, {"validate": "list", "source": VALIDATION_LISTS[key]})


def write_quotes(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    ws = wb.add_worksheet(layout.sheet_name("quotes", lang))
    headers = HEADERS["quotes"][lang]
    rows = quote_rows(portfolio)
    add_table(ws, layout.TABLES["quotes"], headers, len(rows), None, fmt.header)
    ws.set_column(0, 0, 11, fmt.get(num_format=TEXT_FORMAT))
    ws.set_column(1, 1, 13, fmt.get(num_format=NUMBER_FORMAT))
    ws.set_column(2, 2, 9)
    ws.set_column(3, 3, 17, fmt.get(num_format=DATE_FORMAT))
    ws.set_column(4, 4, 10)
    ws.set_column(5, 5, 18)
    sample = fmt.get(font_color=FALLBACK_FONT, bg_color="#FFF2CC")
    for i, row in enumerate(rows, start=1):
        ticker, price, ccy, when, status, source = row
        ws.write_string(i, 0, ticker, fmt.get(num_format=TEXT_FORMAT))
        is_fx = "/" in ticker
        ws.write_number(i, 1, price, fmt.get(num_format="#,##0.0000") if is_fx else fmt.money(ccy))
        ws.write_string(i, 2, ccy)
        ws.write_datetime(i, 3, when, fmt.get(num_format=DATE_FORMAT))
        ws.write_string(i, 4, status, sample)
        ws.write_string(i, 5, source, sample)
    label_col = len(headers) + 1
    ws.set_column(label_col, label_col, 14)
    ws.set_column(label_col + 1, label_col + 1, 70, fmt.get(text_wrap=True, valign="top"))
    ws.write_string(
        0, label_col, layout.LAST_REFRESH_LABEL[1 if lang == "ko" else 0], fmt.get(bold=True)
    )
    ws.write_datetime(0, label_col + 1, SAMPLE_DATE, fmt.get(num_format=DATE_FORMAT, align="left"))
    banner = LABELS["sample_note"].get(lang)
    # Merged over as many rows as the wrapped (bold) text needs: never cut, and the
    # table's rows keep their height.
    rows_needed = int(_wrapped_height(banner, 60) // 15)
    ws.merge_range(
        2,
        label_col + 1,
        2 + rows_needed - 1,
        label_col + 1,
        banner,
        fmt.get(text_wrap=True, valign="top", bold=True, font_color="#9C0006", bg_color="#FFC7CE"),
    )
