"""Never lose a Lite workbook's code: checks for every path that writes a workbook.

An openpyxl load-and-save drops ``xl/webextensions/`` (and with it ``main.py``);
:func:`check_code_kept` compares a write's result with its input and refuses
when a web-extension part, its relationship or its content types went missing
or changed; :func:`refuse_lossy_write` is what a writer that cannot keep them
(openpyxl) must call before it saves over a workbook.
"""

from __future__ import annotations

import io
import re
import zipfile

from etf_rebalancer.errors import WorkbookError
from etf_rebalancer.lite import webext

__all__ = ["carries_code", "check_code_kept", "code_parts", "refuse_lossy_write"]


def code_parts(workbook: bytes) -> dict[str, bytes]:
    """The parts that carry Lite code (``xl/webextensions/*``), by name."""
    with zipfile.ZipFile(io.BytesIO(workbook)) as package:
        return {n: package.read(n) for n in package.namelist() if n.startswith("xl/webextensions/")}


def carries_code(workbook: bytes) -> bool:
    """True when the workbook holds a web extension (xlwings Lite code or another add-in's)."""
    return bool(code_parts(workbook))


def _references(workbook: bytes) -> tuple[bool, set[str]]:
    with zipfile.ZipFile(io.BytesIO(workbook)) as package:
        rels = package.read("_rels/.rels").decode("utf-8")
        types = package.read("[Content_Types].xml").decode("utf-8")
    linked = webext.TASKPANES_REL_TYPE in rels
    overrides = set(re.findall(r'PartName="(/xl/webextensions/[^"]+)"', types))
    return linked, overrides


def check_code_kept(before: bytes, after: bytes) -> None:
    """Refuse ``after`` unless it keeps ``before``'s web-extension parts byte for byte.

    Raises
    ------
    WorkbookError
        Naming the parts that were dropped or changed.
    """
    old = code_parts(before)
    if not old:
        return
    new = code_parts(after)
    lost = sorted(n for n in old if new.get(n) != old[n])
    old_linked, old_types = _references(before)
    new_linked, new_types = _references(after)
    if old_linked and not new_linked:
        lost.append("_rels/.rels (task pane link)")
    lost += sorted(f"[Content_Types].xml {p}" for p in old_types - new_types)
    if lost:
        raise WorkbookError(
            "Refusing to write: the workbook's xlwings Lite code would be lost "
            f"({', '.join(lost)})",
            f"쓰기를 거부합니다: 통합 문서의 xlwings Lite 코드가 사라집니다 ({', '.join(lost)})",
        )


def refuse_lossy_write(workbook: bytes, writer: str = "openpyxl") -> None:
    """Raise before a writer that drops web extensions (``writer``) saves over ``workbook``.

    Raises
    ------
    WorkbookError
        When ``workbook`` carries a web extension.
    """
    if carries_code(workbook):
        raise WorkbookError(
            f"Refusing to save with {writer}: it would delete this workbook's xlwings Lite "
            "code (xl/webextensions); use `etf-rebal refresh`, which keeps it",
            f"{writer}(으)로 저장하지 않습니다: xlwings Lite 코드가 지워집니다. "
            "`etf-rebal refresh` 를 쓰세요",
        )
