"""The web-extension parts where xlwings Lite keeps a workbook's Python: write, read, keep.

Learnt from real Lite workbooks in a public repository,
``amararun/xlwings-lite-apps-codes-docs`` (``yahoo-finance/YLENS_YAHOO_FINANCE_ANALYZER_Z.xlsx``,
``technical-analysis/TECHNICAL_ANALYSIS_PDF_HTML_V2_1025.xlsx``,
``web-scraper/INTELISCAPE_X_DYNAMIC_WEB_SCRAPER_v2_1125.xlsx``,
``database-ml/DATABASE_PULL_EDSACHARTS_TABLES_ML_MODEL_V3.xlsx``,
``llm-api-schema/LLM_API_CALL_SCHEMA_DETECT_EDA_MACHINE_LEARNING.xlsx``,
``mf-portfolio/XLWINGS_PORTFOLIO_ANALYZER.xlsm``), all saved by Lite 1.0.0.0-11 to -18:

- ``xl/webextensions/webextension1.xml``: one ``we:webextension`` whose
  ``we:reference`` names the store add-in (``id="wa200008175"``,
  ``version="1.0.0.0"``, ``storeType="OMEX"``, ``store`` = the saving Office's
  locale such as ``en-IN``) with an ``alternateReferences`` twin
  (``id="WA200008175"``, ``store="WA200008175"``), then ``we:properties``:
  ``main.py``, ``pyodideVersion``, ``addinVersion`` and ``requirements.txt``.
  Each value is a JSON string (``"..."``, ``\\n`` for newlines, ``\\/`` for
  ``/``, other characters literal) escaped into the XML attribute. A workbook
  with custom functions adds the ``extLst`` with ``containsCustomFunctions``
  and ``customFunctionIdList``.
- ``xl/webextensions/taskpanes.xml`` (the docked task pane, pointing at the
  extension through ``xl/webextensions/_rels/taskpanes.xml.rels``), referenced
  from ``_rels/.rels`` with the ``webextensiontaskpanes`` relationship type.
- ``[Content_Types].xml`` overrides for both parts.

Only ``main.py`` and ``requirements.txt`` hold files in every workbook seen; no
other file property occurs, so the package's modules travel inside ``main.py``
(see :mod:`.bundle`). Each part written here is the same bytes for the same
inputs.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from html import unescape

from etf_rebalancer.errors import WorkbookError

__all__ = [
    "ADDIN_ID",
    "CONTENT_TYPES",
    "PARTS",
    "decode_value",
    "encode_value",
    "read_properties",
    "taskpanes_xml",
    "webextension_xml",
]

#: The xlwings Lite add-in in Microsoft's store (AppSource asset id), as the cited files name it.
ADDIN_ID = "wa200008175"
#: What the cited workbooks record (Lite writes its own values when it saves).
PYODIDE_VERSION = "0.27.5"
ADDIN_VERSION = "1.0.0.0-18"

WEBEXTENSION = "xl/webextensions/webextension1.xml"
TASKPANES = "xl/webextensions/taskpanes.xml"
TASKPANES_RELS = "xl/webextensions/_rels/taskpanes.xml.rels"
#: Every part that carries the code; a write that drops or changes one loses it.
PARTS = (WEBEXTENSION, TASKPANES, TASKPANES_RELS)

CONTENT_TYPES = {
    "/" + TASKPANES: "application/vnd.ms-office.webextensiontaskpanes+xml",
    "/" + WEBEXTENSION: "application/vnd.ms-office.webextension+xml",
}
TASKPANES_REL_TYPE = "http://schemas.microsoft.com/office/2011/relationships/webextensiontaskpanes"
WEBEXTENSION_REL_TYPE = "http://schemas.microsoft.com/office/2011/relationships/webextension"

_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
_WE_NS = "http://schemas.microsoft.com/office/webextensions/webextension/2010/11"
_WETP_NS = "http://schemas.microsoft.com/office/webextensions/taskpanes/2010/11"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
_PKG_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


def encode_value(text: str) -> str:
    """A property value as Lite stores it: a JSON string, escaped for an XML attribute."""
    encoded = json.dumps(text, ensure_ascii=False).replace("/", "\\/")
    return (
        encoded.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def decode_value(attribute: str) -> str:
    """The text of a stored property value (the inverse of :func:`encode_value`)."""
    value = json.loads(unescape(attribute))
    if not isinstance(value, str):
        raise WorkbookError(
            f"web-extension property is not a text: {value!r}",
            f"웹 확장 속성 값이 텍스트가 아닙니다: {value!r}",
        )
    return value


def extension_guid(name: str) -> str:
    """A stable GUID for one template's extension (so that builds are byte-stable)."""
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "etf-rebalancer/lite/" + name)).upper() + "}"


def webextension_xml(files: Mapping[str, str], name: str, store: str = "en-US") -> bytes:
    """``webextension1.xml`` holding ``files`` (``main.py``, ``requirements.txt``).

    Parameters
    ----------
    files
        File name to text; ``main.py`` is required.
    name
        The template's name, which seeds the extension's GUID.
    store
        The store locale recorded in the reference (Office rewrites it with its own).
    """
    if "main.py" not in files:
        raise WorkbookError(
            "A Lite workbook needs a main.py", "Lite 통합 문서에는 main.py가 필요합니다"
        )
    props = [("main.py", files["main.py"])]
    props += [("pyodideVersion", PYODIDE_VERSION), ("addinVersion", ADDIN_VERSION)]
    props += [(k, v) for k, v in files.items() if k != "main.py"]
    properties = "".join(f'<we:property name="{k}" value="{encode_value(v)}"/>' for k, v in props)
    xml = (
        f'{_XML_DECL}<we:webextension xmlns:we="{_WE_NS}" id="{extension_guid(name)}">'
        f'<we:reference id="{ADDIN_ID}" version="1.0.0.0" store="{store}" storeType="OMEX"/>'
        f'<we:alternateReferences><we:reference id="{ADDIN_ID.upper()}" version="1.0.0.0" '
        f'store="{ADDIN_ID.upper()}" storeType="OMEX"/></we:alternateReferences>'
        f"<we:properties>{properties}</we:properties><we:bindings/>"
        f'<we:snapshot xmlns:r="{_R_NS}"/>'
        f'<we:extLst><a:ext xmlns:a="{_A_NS}" uri="{{D87F86FE-615C-45B5-9D79-34F1136793EB}}">'
        f"<we:containsCustomFunctions/></a:ext>"
        f'<a:ext xmlns:a="{_A_NS}" uri="{{7C84B067-C214-45C3-A712-C9D94CD141B2}}">'
        f"<we:customFunctionIdList/></a:ext></we:extLst></we:webextension>"
    )
    return xml.encode("utf-8")


def taskpanes_xml(visible: bool = True) -> bytes:
    """``taskpanes.xml``: Lite's pane docked right (shown on open, so that Lite starts)."""
    return (
        f'{_XML_DECL}<wetp:taskpanes xmlns:wetp="{_WETP_NS}">'
        f'<wetp:taskpane dockstate="right" visibility="{int(visible)}" width="438" row="3">'
        f'<wetp:webextensionref xmlns:r="{_R_NS}" r:id="rId1"/></wetp:taskpane></wetp:taskpanes>'
    ).encode()


def taskpanes_rels() -> bytes:
    """``taskpanes.xml.rels``: the pane's link to ``webextension1.xml``."""
    return (
        f'{_XML_DECL}<Relationships xmlns="{_PKG_RELS_NS}">'
        f'<Relationship Id="rId1" Type="{WEBEXTENSION_REL_TYPE}" Target="webextension1.xml"/>'
        f"</Relationships>"
    ).encode()


_PROPERTY = re.compile(r'<we:property\s+name="([^"]*)"\s+value="([^"]*)"\s*/>')


def read_properties(xml: bytes) -> dict[str, str]:
    """Every property of a ``webextension*.xml`` part, decoded (files and versions)."""
    text = xml.decode("utf-8")
    return {unescape(m.group(1)): decode_value(m.group(2)) for m in _PROPERTY.finditer(text)}
