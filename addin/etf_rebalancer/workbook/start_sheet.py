"""The Start sheet (first in every template) and the How-to sheet (last).

The Start sheet says what the workbook does, what it needs, how to install the
add-in, what to edit in which order, and whether the add-in is loaded: its
status cell is ``=IFERROR("Loaded, version "&ETF_VERSION()&T(NOW()), "Not
loaded: ...")``. ``T(NOW())`` is an empty text that makes the cell volatile, so
it is re-evaluated every time the file opens (a saved status would otherwise
describe the sender's Excel); nothing depends on it, so the recipient's cached
plan is kept. The cell below it holds the short text every add-in formula in
the workbook answers without the add-in (the name ``EtfAddinMissing``): one
place to change it.
"""

from __future__ import annotations

import unicodedata

from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook

from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.portfolios import Portfolio
from etf_rebalancer.workbook.styles import (
    COMPUTED_FILL,
    FALLBACK_FILL,
    FALLBACK_FONT,
    INPUT_FILL,
    INPUT_FONT,
    Formats,
    page_setup,
)
from etf_rebalancer.workbook.texts import (
    ACCOUNTS_STEP,
    LABELS,
    OTHER_SHEETS,
    SHEET_STEPS,
    START,
    help_lines,
)

TEXT_WIDTH = 96  # column B of the Start sheet, in characters


def _sheet_ref(name: str) -> str:
    return name if name.isascii() and name.isalnum() else "'" + name.replace("'", "''") + "'"


def _display_width(text: str) -> int:
    """Width in narrow characters: Hangul and other wide characters count twice."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def status_formula(lang: str) -> str:
    """The Start sheet's add-in status: the version when ETF_VERSION answers, else how to
    get the add-in (``#NAME?`` caught by IFERROR)."""
    loaded, missing = START["loaded"].get(lang), START["not_loaded"].get(lang)
    return f'=IFERROR("{loaded}"&ETF_VERSION()&T(NOW()),"{missing}")'


def write_start(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    """Add the Start sheet and the workbook names ``EtfAddinStatus`` / ``EtfAddinMissing``."""
    name = layout.sheet_name("start", lang)
    ws = wb.add_worksheet(name)
    page_setup(ws, landscape=False)
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, TEXT_WIDTH, fmt.get(text_wrap=True, valign="top"))
    ws.hide_gridlines(2)
    wrap = fmt.get(text_wrap=True, valign="top")
    heading = fmt.get(bold=True, font_size=12, bottom=1, font_color="#1F4E78")
    row = 0

    def text(value: str, cell_format=wrap) -> None:
        nonlocal row
        ws.write_string(row, 1, value, cell_format)
        lines = -(-_display_width(value) // int(TEXT_WIDTH * 0.95))
        if lines > 1:
            ws.set_row(row, 15 * lines)
        row += 1

    def section(title: str) -> None:
        nonlocal row
        row += 1
        ws.write_string(row, 0, title, heading)
        ws.write_blank(row, 1, None, heading)
        row += 1

    ws.write_string(
        row,
        0,
        f"{START['title'].get(lang)} · {portfolio.title.get(lang)}",
        fmt.get(bold=True, font_size=16),
    )
    row += 1
    section(START["what"].get(lang))
    text(START["what1"].get(lang))
    text(START["what2"].get(lang))
    text(portfolio.description.get(lang))

    section(START["status"].get(lang))
    ws.write_string(row, 0, START["status"].get(lang), fmt.get(bold=True))
    status = xl_rowcol_to_cell(row, 1, True, True)
    ws.write_formula(
        row,
        1,
        status_formula(lang),
        fmt.get(bold=True, text_wrap=True),
        START["not_loaded"].get(lang),
    )
    loaded = START["loaded"].get(lang)
    for criteria, colours in (
        (
            f'=LEFT({status},{len(loaded)})="{loaded}"',
            {"bg_color": "#C6EFCE", "font_color": "#006100"},
        ),
        (
            f'=LEFT({status},{len(loaded)})<>"{loaded}"',
            {"bg_color": "#FFC7CE", "font_color": "#9C0006"},
        ),
    ):
        ws.conditional_format(
            row, 1, row, 1, {"type": "formula", "criteria": criteria, "format": fmt.get(**colours)}
        )
    wb.define_name(layout.ADDIN_STATUS_NAME, f"={_sheet_ref(name)}!{status}")
    row += 1
    ws.write_string(row, 0, START["missing_label"].get(lang), fmt.get(font_color="#595959"))
    missing = xl_rowcol_to_cell(row, 1, True, True)
    ws.write_string(row, 1, LABELS["addin_missing"].get(lang), fmt.get(font_color="#595959"))
    wb.define_name(layout.ADDIN_MISSING_NAME, f"={_sheet_ref(name)}!{missing}")
    row += 1

    section(START["requirements"].get(lang))
    for key in ("req1", "req2", "req3"):
        text(START[key].get(lang))
    section(START["install"].get(lang))
    for key in ("install1", "install2", "install3"):
        text(START[key].get(lang))

    section(START["edit"].get(lang))
    link = fmt.get(font_color="#0563C1", underline=1)
    steps = list(SHEET_STEPS)
    if portfolio.accounts:  # after the cash step, where the sheet is
        steps.insert([c for c, _ in steps].index("cash") + 1, ACCOUNTS_STEP)
    for i, (canonical, what) in enumerate(steps, start=1):
        sheet = layout.sheet_name(canonical, lang)
        ws.write_url(row, 0, f"internal:{_sheet_ref(sheet)}!A1", link, f"{i}. {sheet}")
        text(what.get(lang))
    section(START["legend"].get(lang))
    for sample, colours, key in (
        ("069500", {"bg_color": INPUT_FILL, "font_color": INPUT_FONT}, "legend_input"),
        ("12.3%", {"bg_color": COMPUTED_FILL}, "legend_computed"),
        ("612.40", {"bg_color": FALLBACK_FILL, "font_color": FALLBACK_FONT}, "legend_fallback"),
    ):
        ws.write_string(row, 0, sample, fmt.get(border=1, align="center", **colours))
        text(START[key].get(lang))
    section(START["sheets"].get(lang))
    for canonical, what in OTHER_SHEETS:
        sheet = layout.sheet_name(canonical, lang)
        ws.write_url(row, 0, f"internal:{_sheet_ref(sheet)}!A1", link, sheet)
        text(what.get(lang))
    section(START["sharing"].get(lang))
    text(START["sharing1"].get(lang))
    row += 1
    text(START["built"].get(lang), fmt.get(italic=True, font_color="#808080"))
    ws.print_area(0, 0, row, 1)
    ws.activate()


def write_help(wb: Workbook, portfolio: Portfolio, lang: str, fmt: Formats) -> None:
    """Add the How-to sheet."""
    ws = wb.add_worksheet(layout.sheet_name("help", lang))
    page_setup(ws)
    ws.set_column(0, 0, 110, fmt.get(text_wrap=True, valign="top"))
    styles = {
        "title": fmt.get(bold=True, font_size=14),
        "heading": fmt.get(bold=True, font_size=11, top=1),
        "text": fmt.get(text_wrap=True, valign="top"),
    }
    for i, (style, value) in enumerate(help_lines(portfolio, lang)):
        ws.write_string(i, 0, value, styles[style])
        lines = -(-_display_width(value) // 100)  # the 110-wide column: ~100 characters a line
        if style == "text" and lines > 1:
            # Spreadsheet programs do not all grow a wrapped row when opening a file.
            ws.set_row(i, 15 * lines)
