"""A JSON-able snapshot of a workbook's layout (sheets, tables, formulas, formats)."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import openpyxl


def array_formula_cells(data: bytes) -> dict[str, list[str]]:
    """Sheet name -> cells holding a dynamic-array formula (``t="array"`` with ``cm``)."""
    package = zipfile.ZipFile(io.BytesIO(data))
    workbook = package.read("xl/workbook.xml").decode()
    rels = package.read("xl/_rels/workbook.xml.rels").decode()
    targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels))
    out: dict[str, list[str]] = {}
    for name, rid in re.findall(r'<sheet name="([^"]+)" sheetId="\d+" r:id="(rId\d+)"', workbook):
        sheet = package.read("xl/" + targets[rid]).decode()
        cells = re.findall(r'<c r="([A-Z]+\d+)"[^>]*\bcm="1"[^>]*><f t="array"', sheet)
        if cells:
            out[name] = cells
    return out


def chart_series(data: bytes) -> dict[str, list[str]]:
    """Chart part -> the references of its series (``<c:f>``), in order."""
    package = zipfile.ZipFile(io.BytesIO(data))
    return {
        name: re.findall(r"<c:f>(.*?)</c:f>", package.read(name).decode())
        for name in sorted(package.namelist())
        if name.startswith("xl/charts/chart")
    }


def layout_snapshot(data: bytes) -> dict[str, Any]:
    """What a user would notice changing: sheets, tables, formulas, validations, formats."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    arrays = array_formula_cells(data)
    spill_sheets = set(arrays)
    snap: dict[str, Any] = {
        "sheets": wb.sheetnames,
        "array_formulas": arrays,
        "names": sorted([name, defined.attr_text] for name, defined in wb.defined_names.items())
        + sorted(
            [f"{ws.title}!{name}", defined.attr_text]
            for ws in wb.worksheets
            for name, defined in ws.defined_names.items()
        ),
        "chart_series": chart_series(data),
    }
    for ws in wb.worksheets:
        sheet: dict[str, Any] = {"freeze": ws.freeze_panes}
        sheet["tables"] = {
            name: {
                "ref": table.ref,
                "columns": [c.name for c in table.tableColumns],
                "formulas": {
                    c.name: c.calculatedColumnFormula.attr_text
                    for c in table.tableColumns
                    if c.calculatedColumnFormula is not None
                },
            }
            for name, table in ((n, ws.tables[n]) for n in ws.tables)
        }
        cells: dict[str, Any] = {}
        spilled = ws.title in spill_sheets
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if value is None:
                    continue
                if spilled and cell.row > 3 and not hasattr(value, "text"):
                    continue  # a spill's cached values: the engine's numbers, tested elsewhere
                if hasattr(value, "text"):  # ArrayFormula
                    value = {"array": value.text, "ref": value.ref}
                elif not isinstance(value, str | int | float | bool):
                    value = str(value)
                if isinstance(value, float):
                    value = round(value, 6)
                cells[cell.coordinate] = [value, cell.number_format]
        sheet["cells"] = cells
        sheet["validations"] = sorted(
            [str(v.sqref), v.type, v.formula1] for v in ws.data_validations.dataValidation
        )
        sheet["conditional"] = sorted(
            [str(rng.sqref), rule.type, list(rule.formula or [])]
            for rng in ws.conditional_formatting
            for rule in rng.rules
        )
        sheet["charts"] = len(ws._charts)
        snap[ws.title] = sheet
    return snap


def norm(value: Any) -> Any:
    """A cached number as XlsxWriter stores it (16 significant digits), for comparisons."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(f"{float(value):.12g}")
    return value
