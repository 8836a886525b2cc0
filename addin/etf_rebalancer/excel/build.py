"""Build the ribbon add-in (etf_rebalancer.xlam) from xlwings' own custom-add-in template.

The template is ``quickstart_addin_ribbon.xlam`` of the installed xlwings (the
version pinned in pyproject.toml). Three parts change, all at the XML level;
everything else, above all ``xl/vbaProject.bin``, is copied byte for byte:

- ``customUI/customUI.xml``: our tab ("ETF Rebalancer") with one large Refresh
  button on ``RibbonMyAddin.RunMain``. That VBA callback runs
  ``import <xlam base name>; <xlam base name>.main()``, so the file must be
  called ``etf_rebalancer.xlam`` for the button to run ``etf_rebalancer.main()``.
- the config sheet: the template ships it disabled as ``_myaddin.conf``; the VBA
  (``PROJECT_NAME = "myaddin"``) reads a sheet named ``myaddin.conf``, so it is
  renamed and filled with the keys that are the same for every user
  (``UDF Modules``...). The interpreter is deliberately *not* a row: a key
  present in the add-in's sheet, even empty, stops xlwings' lookup there, and
  the user config file ``myaddin.conf`` that ``etf-rebal addin install`` writes
  (with the user's own interpreter path) would never be read.
- ``docProps/core.xml``: the title Excel's Add-ins dialog shows.

The zip is written with fixed timestamps and stored (uncompressed) members, so
a rebuild is byte-identical whatever zlib the machine has.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
ADDIN_FILE_NAME = "etf_rebalancer.xlam"  # RunMain imports the module named like the file
VBA_PROJECT_NAME = "myaddin"  # PROJECT_NAME in the template's VBA; keeps it byte-identical
CONFIG_SHEET = f"{VBA_PROJECT_NAME}.conf"
RIBBON_CALLBACK = "RibbonMyAddin.RunMain"
UDF_MODULES = "etf_rebalancer.udfs"

CUSTOM_UI_PART = "customUI/customUI.xml"
CUSTOM_UI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
CONFIG_SHEET_PART = "xl/worksheets/sheet1.xml"
SHARED_STRINGS_PART = "xl/sharedStrings.xml"
WORKBOOK_PART = "xl/workbook.xml"
CORE_PART = "docProps/core.xml"
VBA_PART = "xl/vbaProject.bin"

# Rows of the add-in's config sheet: (key, value); booleans become Excel booleans.
CONFIG_ROWS: tuple[tuple[str, str | bool], ...] = (
    ("UDF Modules", UDF_MODULES),
    ("Debug UDFs", False),
    ("Use UDF Server", False),
    ("Show Console", False),
)

_ZIP_DATE = (2024, 1, 1, 0, 0, 0)

_SUPERTIP = (
    "Fetches every price and FX rate the workbook needs in one batch, writes the Quotes "
    "sheet and recalculates. 필요한 시세와 환율을 한 번에 받아 시세 시트를 쓰고 다시 계산합니다."
)

CUSTOM_UI_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<customUI xmlns="{CUSTOM_UI_NS}">
    <ribbon>
        <tabs>
            <tab id="etfRebalancerTab" label="ETF Rebalancer">
                <group id="etfRebalancerGroup" label="Portfolio">
                    <button id="etfRebalancerRefresh" label="Refresh" size="large"
                        onAction="{RIBBON_CALLBACK}" imageMso="RefreshAll"
                        screentip="Refresh quotes / 시세 새로고침"
                        supertip="{_SUPERTIP}" />
                </group>
            </tab>
        </tabs>
    </ribbon>
</customUI>
"""


def template_path() -> Path:
    """Path of ``quickstart_addin_ribbon.xlam`` in the installed xlwings package."""
    import xlwings

    return Path(xlwings.__file__).parent / TEMPLATE_NAME


def _config_sheet_data() -> tuple[str, str]:
    """Return ``(sheetData xml, sharedStrings xml)`` for :data:`CONFIG_ROWS`."""
    strings: list[str] = []
    references = 0

    def string_cell(ref: str, text: str) -> str:
        nonlocal references
        references += 1
        if text not in strings:
            strings.append(text)
        return f'<c r="{ref}" s="1" t="s"><v>{strings.index(text)}</v></c>'

    rows = []
    for number, (key, value) in enumerate(CONFIG_ROWS, start=1):
        cells = [string_cell(f"A{number}", key)]
        if isinstance(value, bool):
            cells.append(f'<c r="B{number}" s="1" t="b"><v>{int(value)}</v></c>')
        else:
            cells.append(string_cell(f"B{number}", value))
        rows.append(f'<row r="{number}" spans="1:2" ht="15.75">{"".join(cells)}</row>')
    sheet_data = f"<sheetData>{''.join(rows)}</sheetData>"
    items = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    sst = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{references}" uniqueCount="{len(strings)}">{items}</sst>'
    )
    return sheet_data, sst


def _replace_once(text: str, pattern: str, replacement: str, part: str) -> str:
    new, count = re.subn(pattern, lambda _: replacement, text, count=1, flags=re.S)
    if count != 1:
        raise ValueError(f"template part {part} has no {pattern!r}: not the expected template")
    return new


def _patched_parts(parts: dict[str, bytes]) -> dict[str, bytes]:
    out = dict(parts)
    out[CUSTOM_UI_PART] = CUSTOM_UI_XML.encode("utf-8")

    workbook = parts[WORKBOOK_PART].decode("utf-8")
    workbook = _replace_once(
        workbook, f'name="_{re.escape(CONFIG_SHEET)}"', f'name="{CONFIG_SHEET}"', WORKBOOK_PART
    )
    out[WORKBOOK_PART] = workbook.encode("utf-8")

    sheet_data, sst = _config_sheet_data()
    sheet = parts[CONFIG_SHEET_PART].decode("utf-8")
    sheet = _replace_once(sheet, r"<sheetData>.*?</sheetData>", sheet_data, CONFIG_SHEET_PART)
    sheet = _replace_once(
        sheet, r'<dimension ref="[^"]*"', f'<dimension ref="A1:B{len(CONFIG_ROWS)}"', "sheet"
    )
    out[CONFIG_SHEET_PART] = sheet.encode("utf-8")
    out[SHARED_STRINGS_PART] = sst.encode("utf-8")

    core = parts[CORE_PART].decode("utf-8")
    core = _replace_once(core, r"<dc:title\s*/>", "<dc:title>ETF Rebalancer</dc:title>", CORE_PART)
    out[CORE_PART] = core.encode("utf-8")
    return out


def build_xlam(template: Path | None = None) -> bytes:
    """Return the bytes of ``etf_rebalancer.xlam`` built from xlwings' ribbon template.

    Parameters
    ----------
    template : Path, optional
        The template ``.xlam``; defaults to the one shipped with the installed xlwings.

    Returns
    -------
    bytes
        A deterministic zip: same template in, same bytes out.
    """
    import io

    source = Path(template) if template is not None else template_path()
    with zipfile.ZipFile(source) as zin:
        names = zin.namelist()
        parts = {name: zin.read(name) for name in names}
    patched = _patched_parts(parts)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zout:
        for name in names:  # the template's member order, [Content_Types].xml included
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.create_system = 0  # MS-DOS, as Excel writes it; no Unix mode bits
            info.external_attr = 0
            info.compress_type = zipfile.ZIP_STORED
            zout.writestr(info, patched[name])
    return buffer.getvalue()


def committed_addin_path() -> Path:
    """Where the built add-in lives in the repository (``addin/etf_rebalancer.xlam``)."""
    return Path(__file__).resolve().parents[2] / ADDIN_FILE_NAME
