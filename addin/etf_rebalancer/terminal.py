"""Tables for a terminal: fit a table into the console's width without ever cutting a number.

Rich shrinks every column of a table that is too wide and cuts the cells with
an ellipsis (``4,95…``), numbers included. :func:`fit_table` instead chooses a
layout that fits ``width`` cells (wide characters such as Korean count double,
as :func:`rich.cells.cell_len` measures them), trying in turn:

1. the plain boxed table;
2. shorter headers (``short``) wrapped onto two lines, text columns wrapped;
3. the same in a lighter box (no outer edge), with three cells between
   columns, then two;
4. hiding the least important columns (lowest ``priority``) one by one, with a
   note naming them;
5. a vertical layout: one small ``field  value`` block per row.

Numeric cells are never wrapped nor cut: a column is at least as wide as its
widest number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich import box
from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["ESSENTIAL", "Column", "fit_table"]

#: Columns at this priority or above are never hidden (the vertical layout comes first).
ESSENTIAL = 100
#: Cells between columns in the light box: roomy first, then tight.
_GAPS = (0, 3, 2)
#: A text column may wrap down to this width (longer words fold).
_TEXT_MIN = 12
#: A cell that is a number as the CLI formats it (1,014,300, -0.58%, 0.63, 2014-01-02).
_NUMBER = re.compile(r"^[-+]?[\d.,:%\s-]*\d[\d.,:%-]*$")


@dataclass(frozen=True)
class Column:
    """One column to show: its header, its cells already formatted as text, and how to fit it.

    Parameters
    ----------
    header
        The header to show when there is room.
    cells
        One text per row (``""`` for a blank cell).
    numeric
        Right-aligned. Cells that are numbers are never wrapped or cut, in
        any column; other text wraps at spaces.
    priority
        Columns with a lower priority are hidden first when the table cannot
        fit; :data:`ESSENTIAL` and above are never hidden.
    short
        A shorter header for narrow terminals (default: ``header``).
    """

    header: str
    cells: Sequence[str]
    numeric: bool = False
    priority: int = 50
    short: str | None = None

    def title(self, narrow: bool) -> str:
        return (self.short or self.header) if narrow else self.header

    def natural(self, narrow: bool) -> int:
        """Width with every cell and the header on one line."""
        header = self.title(narrow)
        lines = max(cell_len(header), 1) if not narrow else _longest_word(header)
        return max([lines, *(cell_len(c) for c in self.cells)])

    def minimum(self, narrow: bool) -> int:
        """The least width that cuts nothing: numbers whole, text wrapped at spaces."""
        header = _longest_word(self.title(narrow)) if narrow else cell_len(self.title(narrow))
        numbers = [cell_len(c) for c in self.cells if _NUMBER.match(c)]
        texts = [c for c in self.cells if not _NUMBER.match(c)]
        longest = max((_longest_word(c) for c in texts), default=0)
        natural = max((cell_len(c) for c in texts), default=0)
        # Text wraps at spaces; a word longer than 20 cells may fold rather than widen.
        text = min(natural, max(longest if longest <= 20 else 0, _TEXT_MIN))
        return max([header, text, *numbers])


@dataclass(frozen=True)
class _Layout:
    kept: list[int]
    widths: list[int]
    narrow: bool
    gap: int  # cells between columns in the light box; 0: the boxed table
    hidden: list[int] = field(default_factory=list)


def _longest_word(text: str) -> int:
    return max((cell_len(w) for w in text.split()), default=0)


def _chrome(n: int, gap: int) -> int:
    # Boxed: a divider before each column and after the last, one space of
    # padding either side. Light box: no outer edge, ``gap`` cells between columns.
    return gap * (n - 1) if gap else 3 * n + 1


def _plan_layout(columns: Sequence[Column], width: int) -> _Layout | None:
    everything = list(range(len(columns)))
    natural = [columns[i].natural(False) for i in everything]
    if sum(natural) + _chrome(len(natural), 0) <= width:
        return _Layout(everything, natural, narrow=False, gap=0)
    for gap in _GAPS:
        layout = _spread(columns, everything, width, gap)
        if layout:
            return layout
    # Hide the least important columns, keeping the table's own order.
    order = sorted(
        (i for i in everything if columns[i].priority < ESSENTIAL),
        key=lambda i: (columns[i].priority, -i),
    )
    kept = list(everything)
    for i in order:
        kept.remove(i)
        layout = _spread(columns, kept, width, gap=_GAPS[-1])
        if layout:
            hidden = [j for j in everything if j not in kept]
            return _Layout(layout.kept, layout.widths, True, layout.gap, hidden)
    return None


def _spread(columns: Sequence[Column], kept: list[int], width: int, gap: int) -> _Layout | None:
    """Minimum widths plus what is left, given to the columns that can use it."""
    widths = [columns[i].minimum(True) for i in kept]
    room = width - sum(widths) - _chrome(len(kept), gap)
    if room < 0:
        return None
    for k, i in enumerate(kept):
        extra = min(room, columns[i].natural(True) - widths[k])
        if extra > 0:
            widths[k] += extra
            room -= extra
    return _Layout(kept, widths, narrow=True, gap=gap)


def fit_table(
    title: str,
    columns: Sequence[Column],
    width: int,
    *,
    row_styles: Sequence[str | None] = (),
    hidden_note: str = "Not shown (too narrow): {names}; widen the terminal or use --format csv",
) -> RenderableType:
    """Lay ``columns`` out in at most ``width`` cells (see the module docstring for how).

    Parameters
    ----------
    title
        Shown above the table (left-aligned).
    columns
        The table's columns, in order; every column has one cell per row.
    width
        Cells available (the console's width).
    row_styles
        A rich style per row (``None``: plain).
    hidden_note
        Said below the table when columns are hidden; ``{names}`` lists them.

    Returns
    -------
    RenderableType
        A table, a table with a note, or the vertical layout.
    """
    rows = max((len(c.cells) for c in columns), default=0)
    styles = list(row_styles) + [None] * (rows - len(row_styles))
    layout = _plan_layout(columns, width)
    if layout is None:
        return _vertical(title, columns, styles)
    plain = not layout.narrow
    table = Table(
        box=box.SIMPLE_HEAD if layout.gap else box.HEAVY_HEAD,
        show_edge=not layout.gap,
        pad_edge=not layout.gap,
        # A light box's divider is one cell; padding makes up the rest of the gap.
        padding=(0, 1) if layout.gap in (0, 3) else (0, 1, 0, 0),
    )
    for i, w in zip(layout.kept, layout.widths, strict=True):
        column = columns[i]
        table.add_column(
            column.title(layout.narrow),
            justify="right" if column.numeric else "left",
            # Widths never go below the widest number, so numbers stay on one
            # line; headers and text wrap at spaces (a long word folds, no "…").
            overflow="fold",
            width=None if plain else w,
        )
    for r in range(rows):
        table.add_row(*(_cell(columns[i], r) for i in layout.kept), style=styles[r])
    # The title on its own line: a table title would wrap at the table's width.
    parts: list[RenderableType] = [Text(title, overflow="fold"), table]
    if layout.hidden:
        names = ", ".join(columns[i].header for i in layout.hidden)
        parts.append(Text(hidden_note.format(names=names), style="dim"))
    return Group(*parts)


def _cell(column: Column, row: int) -> str:
    return column.cells[row] if row < len(column.cells) else ""


def _vertical(title: str, columns: Sequence[Column], styles: Sequence[str | None]) -> Group:
    """One ``field  value`` block per row, for terminals too narrow for any table."""
    parts: list[RenderableType] = [Text(title)]
    rows = max((len(c.cells) for c in columns), default=0)
    for r in range(rows):
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=False, overflow="fold")
        grid.add_column(overflow="fold")
        for column in columns:
            grid.add_row(column.header, _cell(column, r))
        grid.style = styles[r] or ""
        parts += [Text(""), grid]
    return Group(*parts)
