"""Write quotes into a workbook's Quotes sheet at the XML level, leaving all else intact.

An openpyxl load/save round trip drops dynamic-array formulas (Excel then
shows ``=@REBAL_ORDERS(...)``), charts and validations it does not model. So
this module edits the ``.xlsx`` package itself: it rewrites the Quotes sheet's
``<sheetData>``, the Quotes table's range and the workbook's ``calcPr`` (so
Excel recalculates the price column on open); every other part is copied byte
for byte. Bytes in, bytes out: only the CLI writes files.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import posixpath
import re
import zipfile
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape, unescape

from etf_rebalancer.errors import WorkbookError
from etf_rebalancer.workbook import layout

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_CELL = re.compile(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_ROW = re.compile(r"<row\b[^>]*?(?:/>|>.*?</row>)", re.S)


def _attr(attrs: str, name: str) -> str | None:
    match = re.search(rf'\b{name}="([^"]*)"', attrs)
    return unescape(match.group(1), {"&quot;": '"'}) if match else None


def _col_letters(ref: str) -> str:
    return re.match(r"[A-Z]+", ref).group(0)  # type: ignore[union-attr]


def _col_name(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def _col_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index - 1


def _resolve(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(base_dir, target))


def _rels(parts: dict[str, bytes], path: str) -> dict[str, str]:
    folder, name = posixpath.split(path)
    rels_path = posixpath.join(folder, "_rels", name + ".rels")
    if rels_path not in parts:
        return {}
    text = parts[rels_path].decode("utf-8")
    out = {}
    for match in re.finditer(r"<Relationship\b([^>]*)/?>", text):
        rid, target = _attr(match.group(1), "Id"), _attr(match.group(1), "Target")
        if rid and target:
            out[rid] = _resolve(folder, target)
    return out


def _shared_strings(parts: dict[str, bytes]) -> list[str]:
    data = parts.get("xl/sharedStrings.xml")
    if data is None:
        return []
    text = data.decode("utf-8")
    items = re.findall(r"<si>(.*?)</si>", text, re.S)
    return [
        "".join(unescape(t) for t in re.findall(r"<t[^>]*>(.*?)</t>", si, re.S)) for si in items
    ]


def _cell_text(attrs: str, inner: str | None, strings: list[str]) -> str | None:
    if inner is None:
        return None
    kind = _attr(attrs, "t")
    if kind == "s":
        value = re.search(r"<v>(\d+)</v>", inner)
        return strings[int(value.group(1))] if value else None
    if kind == "inlineStr":
        return "".join(unescape(t) for t in re.findall(r"<t[^>]*>(.*?)</t>", inner, re.S))
    value = re.search(r"<v>(.*?)</v>", inner, re.S)
    return unescape(value.group(1)) if value else None


def find_quotes_parts(parts: dict[str, bytes]) -> tuple[str, str, str | None]:
    """Paths of the Quotes sheet, its table (if any), and the sheet's name."""
    workbook = parts.get("xl/workbook.xml")
    if workbook is None:
        raise WorkbookError(
            "Not an Excel workbook: no xl/workbook.xml", "엑셀 통합 문서가 아닙니다"
        )
    text = workbook.decode("utf-8")
    sheets = {
        unescape(_attr(m.group(1), "name") or "", {"&quot;": '"'}): _attr(m.group(1), "r:id")
        for m in re.finditer(r"<sheet\b([^>]*)/>", text)
    }
    name = layout.find_sheet(list(sheets), "quotes")
    if name is None:
        en, ko = layout.SHEETS["quotes"]
        raise WorkbookError(
            f"The workbook has no {en} ({ko}) sheet to write quotes into; "
            f"its sheets are: {', '.join(sheets)}",
            f"시세를 쓸 {ko} 시트가 없습니다; 있는 시트: {', '.join(sheets)}",
        )
    sheet_path = _rels(parts, "xl/workbook.xml").get(sheets[name] or "")
    if sheet_path is None or sheet_path not in parts:
        raise WorkbookError(
            f"The {name} sheet's part is missing from the workbook",
            f"{name} 시트 파일이 통합 문서에 없습니다",
        )
    sheet_rels = _rels(parts, sheet_path)
    table_path = None
    for rid in re.findall(r'<tablePart\b[^>]*r:id="([^"]+)"', parts[sheet_path].decode("utf-8")):
        candidate = sheet_rels.get(rid)
        if candidate in parts:
            table_path = candidate
            break
    return sheet_path, table_path or "", name


def _number(value: float) -> str:
    return repr(float(value))


def _cell(ref: str, value: Any, style: str | None) -> str:
    s = f' s="{style}"' if style else ""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, dt.datetime | dt.date):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        if not isinstance(value, dt.datetime):
            value = dt.datetime(value.year, value.month, value.day)
        serial = (value - _EXCEL_EPOCH) / dt.timedelta(days=1)
        return f'<c r="{ref}"{s}><v>{_number(serial)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"{s}><v>{_number(value)}</v></c>'
    text = escape(str(value))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def replace_quotes(
    data: bytes,
    rows: Sequence[Sequence[Any]],
    refreshed_at: dt.datetime,
) -> bytes:
    """Return the workbook ``data`` with its Quotes sheet holding ``rows``.

    Parameters
    ----------
    data
        The ``.xlsx`` file.
    rows
        Quote rows without header, in ``layout.QUOTES_HEADER`` order
        (Ticker, Price, Currency, Time, Status, Source).
    refreshed_at
        Shown beside the table as the last refresh time.

    Returns
    -------
    bytes
        The new file. Only the Quotes sheet, its table part and ``xl/workbook.xml``'s
        ``calcPr`` differ from ``data``.

    Raises
    ------
    WorkbookError
        When ``data`` is not a workbook or has no Quotes sheet.
    """
    try:
        source = zipfile.ZipFile(io.BytesIO(data))
        infos = source.infolist()
        parts = {info.filename: source.read(info.filename) for info in infos}
    except (zipfile.BadZipFile, OSError, KeyError) as error:
        raise WorkbookError(
            f"Not a readable .xlsx file: {error}", f"읽을 수 있는 .xlsx 파일이 아닙니다: {error}"
        ) from error
    sheet_path, table_path, _ = find_quotes_parts(parts)
    sheet = parts[sheet_path].decode("utf-8")
    strings = _shared_strings(parts)

    # The table decides header names and width; without one, the layout's header.
    header: list[str] = list(layout.QUOTES_HEADER)
    first_col = 0
    if table_path:
        table = parts[table_path].decode("utf-8")
        header = [
            unescape(_attr(m.group(1), "name") or "", {"&quot;": '"'})
            for m in re.finditer(r"<tableColumn\b([^>]*?)/?>", table)
        ]
        ref = _attr(re.search(r"<table\b([^>]*)>", table).group(1), "ref") or "A1"  # type: ignore[union-attr]
        first_col = _col_index(_col_letters(ref.split(":")[0]))
    width = len(header)

    # Styles to keep: header cells, each column of the data rows (per currency for
    # prices, since the template formats $ and ₩ differently), the label cells.
    header_styles: dict[int, str | None] = {}
    column_styles: dict[int, str | None] = {}
    price_styles: dict[tuple[bool, str], str | None] = {}
    label_styles: list[str | None] = []
    for row_match in _ROW.finditer(sheet):
        row_xml = row_match.group(0)
        number = int(_attr(row_xml[: row_xml.index(">")], "r") or 0)
        cells = {}
        for cell in _CELL.finditer(row_xml):
            ref = _attr(cell.group(1), "r") or ""
            cells[_col_index(_col_letters(ref)) - first_col] = cell
        if number == 1:
            for col, cell in cells.items():
                if 0 <= col < width:
                    header_styles[col] = _attr(cell.group(1), "s")
                elif col >= width:
                    label_styles.append(_attr(cell.group(1), "s"))
            continue
        ticker = cells.get(0)
        if ticker is None:
            continue
        for col, cell in cells.items():
            if 0 <= col < width:
                column_styles.setdefault(col, _attr(cell.group(1), "s"))
        ticker_text = _cell_text(ticker.group(1), ticker.group(2), strings) or ""
        currency = cells.get(2)
        ccy = _cell_text(currency.group(1), currency.group(2), strings) if currency else ""
        if 1 in cells:
            price_styles.setdefault(("/" in ticker_text, ccy or ""), _attr(cells[1].group(1), "s"))

    def cell_ref(row: int, col: int) -> str:
        return f"{_col_name(first_col + col)}{row}"

    out_rows = []
    label_col = width + 1
    header_cells = "".join(
        _cell(cell_ref(1, c), h, header_styles.get(c)) for c, h in enumerate(header)
    )
    label = layout.LAST_REFRESH_LABEL[1 if any(re.search("[가-힣]", h) for h in header) else 0]
    label_style = label_styles[0] if label_styles else None
    stamp_style = label_styles[1] if len(label_styles) > 1 else column_styles.get(3)
    header_cells += _cell(cell_ref(1, label_col), label, label_style)
    header_cells += _cell(cell_ref(1, label_col + 1), refreshed_at, stamp_style)
    last_col = first_col + label_col + 1
    out_rows.append(f'<row r="1" spans="{first_col + 1}:{last_col + 1}">{header_cells}</row>')
    for index, values in enumerate(rows, start=2):
        values = list(values)[:width] + [None] * (width - len(values))
        row_cells = []
        for col, value in enumerate(values):
            style = column_styles.get(col)
            if col == 1:
                key = ("/" in str(values[0] or ""), str(values[2] or ""))
                style = price_styles.get(key, style)
            row_cells.append(_cell(cell_ref(index, col), value, style))
        out_rows.append(f'<row r="{index}">{"".join(row_cells)}</row>')
    last_row = max(2, len(rows) + 1)
    table_ref = f"{cell_ref(1, 0)}:{cell_ref(last_row, width - 1)}"

    new_data = "<sheetData>" + "".join(out_rows) + "</sheetData>"
    sheet, count = re.subn(
        r"<sheetData\s*/>|<sheetData>.*?</sheetData>", new_data, sheet, count=1, flags=re.S
    )
    if count != 1:
        raise WorkbookError(
            "The Quotes sheet has no cell data part", "시세 시트에 셀 데이터가 없습니다"
        )
    dimension = f'<dimension ref="{cell_ref(1, 0)}:{_col_name(last_col)}{last_row}"/>'
    sheet = re.sub(r"<dimension\b[^>]*/>", dimension, sheet, count=1)
    parts[sheet_path] = sheet.encode("utf-8")

    if table_path:
        table = parts[table_path].decode("utf-8")
        table = re.sub(r'(<table\b[^>]*?\bref=")[^"]*"', rf'\g<1>{table_ref}"', table, count=1)
        table = re.sub(r'(<autoFilter\b[^>]*?\bref=")[^"]*"', rf'\g<1>{table_ref}"', table, count=1)
        parts[table_path] = table.encode("utf-8")

    # Excel keeps cached results until something says recalculate: the price column
    # and the plan must follow the new quotes when the file is opened.
    workbook = parts["xl/workbook.xml"].decode("utf-8")
    if "<calcPr" in workbook:
        if "fullCalcOnLoad" in workbook:
            workbook = re.sub(r'fullCalcOnLoad="[^"]*"', 'fullCalcOnLoad="1"', workbook, count=1)
        else:
            workbook = re.sub(r"<calcPr\b", '<calcPr fullCalcOnLoad="1"', workbook, count=1)
    else:
        workbook = workbook.replace("</workbook>", '<calcPr fullCalcOnLoad="1"/></workbook>')
    parts["xl/workbook.xml"] = workbook.encode("utf-8")

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in infos:
            target.writestr(info, parts[info.filename])
    return out.getvalue()


def changed_parts(before: bytes, after: bytes) -> set[str]:
    """Names of the package parts whose content differs between two ``.xlsx`` files."""
    a, b = zipfile.ZipFile(io.BytesIO(before)), zipfile.ZipFile(io.BytesIO(after))
    names = set(a.namelist()) | set(b.namelist())
    return {
        n for n in names if n not in a.namelist() or n not in b.namelist() or a.read(n) != b.read(n)
    }
