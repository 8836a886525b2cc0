"""A desktop template's xlwings Lite edition, by XML-level edits of its bytes (never openpyxl).

:func:`lite_edition` keeps every part of the desktop workbook (sheets, Excel
Tables, charts, names, cached values) and changes only what Lite needs:

- the formulas' custom-function calls are written as Office add-in custom
  functions are saved, ``_xldudf_NAME(`` (Office.js custom functions are stored
  with that prefix and shown as ``NAME`` once the add-in has registered them:
  OfficeDev/Excel-Custom-Functions#108, OfficeDev/office-js#5611 and #2568);
  Lite registers them without a namespace, so users still type ``=REBAL_ORDERS(``;
- ``REBAL_*`` calls get the Quotes table as their last argument, the price
  source of the Lite edition;
- the web-extension parts holding ``main.py`` and ``requirements.txt`` are
  added, with their relationship and content types.

The same desktop bytes always give the same Lite bytes.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections.abc import Mapping

from etf_rebalancer.errors import WorkbookError
from etf_rebalancer.lite import webext

__all__ = ["LITE_FUNCTIONS", "extract_files", "lite_edition", "rewrite_formula"]

#: The functions the Lite ``main.py`` registers (the desktop names).
LITE_FUNCTIONS = (
    "REBAL_ORDERS",
    "REBAL_SUMMARY",
    "REBAL_DRIFT",
    "PORTFOLIO_BACKTEST",
    "PORTFOLIO_EQUITY",
    "PORTFOLIO_CORREL",
    "ETF_PRICE",
    "ETF_FX",
    "ETF_HISTORY",
    "ETF_VERSION",
)
#: Functions that take the Quotes table as their last argument in Lite, and the
#: number of desktop arguments before it (holdings, targets, cash, settings, groups,
#: accounts).
_QUOTES_ARGUMENT = {"REBAL_ORDERS": 6, "REBAL_SUMMARY": 6, "REBAL_DRIFT": 6}
_PREFIX = "_xldudf_"
_CALL = re.compile(r"(?<![A-Za-z0-9_.\]])(" + "|".join(LITE_FUNCTIONS) + r")\(")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _arguments_end(formula: str, start: int) -> tuple[int, int]:
    """Index of the call's closing parenthesis and its number of top-level arguments."""
    depth, count, in_string, empty = 0, 1, False, True
    i = start
    while i < len(formula):
        ch = formula[i]
        if in_string:
            if ch == '"':
                in_string = False
        elif ch == '"':
            in_string, empty = True, False
        elif ch in "([{":
            depth += 1
            empty = False
        elif ch in ")]}":
            if depth == 0:
                return i, 0 if empty else count
            depth -= 1
        elif ch == "," and depth == 0:
            count += 1
        elif not ch.isspace():
            empty = False
        i += 1
    raise WorkbookError(f"Unbalanced formula: {formula}", f"괄호가 맞지 않는 수식: {formula}")


def rewrite_formula(formula: str, quotes_table: str | None = "Quotes") -> str:
    """One formula with Lite's custom-function names (and the Quotes argument).

    ``REBAL_ORDERS(Holdings[#All],Targets[#All])`` becomes
    ``_xldudf_REBAL_ORDERS(Holdings[#All],Targets[#All],,,,Quotes[#All])``.
    Text inside string literals is left alone.
    """
    out: list[str] = []
    pos = 0
    in_string = False
    i = 0
    while i < len(formula):
        ch = formula[i]
        if ch == '"':
            in_string = not in_string
            i += 1
            continue
        match = None if in_string else _CALL.match(formula, i)
        if match is None:
            i += 1
            continue
        name = match.group(1)
        out.append(formula[pos:i])
        out.append(_PREFIX + name + "(")
        pos = i = match.end()
        if name in _QUOTES_ARGUMENT and quotes_table:
            end, count = _arguments_end(formula, i)
            inner = rewrite_formula(formula[i:end], quotes_table)
            if count > _QUOTES_ARGUMENT[name]:
                raise WorkbookError(f"{name} has more arguments than Lite takes: {formula}")
            # Pad to the desktop arguments so that the Quotes table lands in its place.
            padding = "," * (_QUOTES_ARGUMENT[name] - max(count, 1))
            out.append(f"{inner}{padding},{quotes_table}[#All])")
            pos = i = end + 1
    out.append(formula[pos:])
    return "".join(out)


_FORMULA = re.compile(r"(<f\b[^>]*>)([^<]*)(</f>)")


def _rewrite_sheet(xml: str, quotes_table: str | None) -> str:
    def one(match: re.Match[str]) -> str:
        from html import escape, unescape

        text = unescape(match.group(2))
        new = rewrite_formula(text, quotes_table)
        if new == text:
            return match.group(0)
        return match.group(1) + escape(new, quote=False) + match.group(3)

    return _FORMULA.sub(one, xml)


def _add_relationship(rels: str) -> str:
    ids = {int(n) for n in re.findall(r'Id="rId(\d+)"', rels)}
    new_id = max(ids, default=0) + 1
    relationship = (
        f'<Relationship Id="rId{new_id}" Type="{webext.TASKPANES_REL_TYPE}" '
        f'Target="{webext.TASKPANES}"/>'
    )
    return rels.replace("</Relationships>", relationship + "</Relationships>")


def _add_content_types(types: str) -> str:
    overrides = "".join(
        f'<Override PartName="{part}" ContentType="{kind}"/>'
        for part, kind in webext.CONTENT_TYPES.items()
    )
    return types.replace("</Types>", overrides + "</Types>")


@functools.cache
def _files() -> tuple[tuple[str, str], ...]:
    from etf_rebalancer.lite.bundle import build_files

    return tuple(build_files().items())


def lite_edition(desktop: bytes, name: str, files: Mapping[str, str] | None = None) -> bytes:
    """The Lite edition of a desktop template (``.xlsx`` bytes in, bytes out).

    Parameters
    ----------
    desktop
        The desktop template as the builder wrote it.
    name
        The template's name (``starter_en``): seeds the extension's stable GUID.
    files
        The embedded files; default: :func:`etf_rebalancer.lite.bundle.build_files`.

    Raises
    ------
    WorkbookError
        When ``desktop`` is not a workbook or already carries a web extension.
    """
    try:
        source = zipfile.ZipFile(io.BytesIO(desktop))
        infos = source.infolist()
        parts = {info.filename: source.read(info.filename) for info in infos}
    except (zipfile.BadZipFile, OSError) as error:
        raise WorkbookError(f"Not a readable .xlsx file: {error}") from error
    if any(p in parts for p in webext.PARTS):
        raise WorkbookError(f"{name} already carries a web extension (is it a Lite edition?)")
    tables = "".join(
        parts[p].decode("utf-8") for p in parts if p.startswith("xl/tables/") and p.endswith(".xml")
    )
    quotes_table = "Quotes" if re.search(r'\bdisplayName="Quotes"', tables) else None
    for part, data in parts.items():
        if part.startswith("xl/worksheets/") and part.endswith(".xml"):
            parts[part] = _rewrite_sheet(data.decode("utf-8"), quotes_table).encode("utf-8")
    parts["_rels/.rels"] = _add_relationship(parts["_rels/.rels"].decode("utf-8")).encode("utf-8")
    parts["[Content_Types].xml"] = _add_content_types(
        parts["[Content_Types].xml"].decode("utf-8")
    ).encode("utf-8")
    added = {
        webext.TASKPANES: webext.taskpanes_xml(),
        webext.TASKPANES_RELS: webext.taskpanes_rels(),
        webext.WEBEXTENSION: webext.webextension_xml(dict(files or dict(_files())), name),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in infos:
            target.writestr(info, parts[info.filename])
        for part, data in added.items():
            info = zipfile.ZipInfo(part, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    return out.getvalue()


def extract_files(workbook: bytes) -> dict[str, str]:
    """The files a Lite workbook carries (``main.py``, ``requirements.txt``, ...).

    Raises
    ------
    WorkbookError
        When the workbook has no xlwings Lite code.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(workbook)) as package:
            names = [
                n
                for n in package.namelist()
                if re.fullmatch(r"xl/webextensions/webextension\d*\.xml", n)
            ]
            found: dict[str, str] = {}
            for part in sorted(names):
                properties = webext.read_properties(package.read(part))
                if "main.py" in properties:
                    found = properties
                    break
    except (zipfile.BadZipFile, OSError) as error:
        raise WorkbookError(f"Not a readable .xlsx file: {error}") from error
    if not found:
        raise WorkbookError(
            "No xlwings Lite code in this workbook (no web-extension main.py)",
            "이 통합 문서에는 xlwings Lite 코드가 없습니다",
        )
    return found
