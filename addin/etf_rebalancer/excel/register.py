"""Register the add-in's cell functions in Excel for Windows, without the VBA editor.

xlwings exposes Python functions to Excel through VBA wrappers that its
``ImportPythonUDFs`` macro writes into a workbook's VBA project
(``xlwings.udfs.import_udfs``). The add-in ships xlwings' template VBA
byte-identical (see :mod:`.build`), so the wrappers are not in the file: they
are imported into the running add-in the first time the Refresh button finds
them missing, through that same xlwings function. Excel lets a program write
VBA only when "Trust access to the VBA project object model" is ticked; when it
refuses, the message names that setting.

Nothing here runs off Windows: on macOS xlwings UDFs do not exist, and the
Refresh button writes values instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from etf_rebalancer.errors import WorkbookError
from etf_rebalancer.excel.build import ADDIN_FILE_NAME, UDF_MODULES

#: The check: a function every registered add-in answers, text when loaded.
PROBE = "ETF_VERSION()"

TRUST_SETTING_EN = (
    "Excel refused to register the ETF Rebalancer functions. Tick File > Options > Trust "
    'Center > Trust Center Settings > Macro Settings > "Trust access to the VBA project '
    'object model", then press Refresh again.'
)
TRUST_SETTING_KO = (
    "엑셀이 ETF Rebalancer 함수 등록을 거부했습니다. 파일 > 옵션 > 보안 센터 > 보안 센터 설정 > "
    '매크로 설정 > "VBA 프로젝트 개체 모델에 안전하게 액세스할 수 있음"을 선택한 뒤 다시 '
    "새로고침을 누르세요."
)

ImportUdfs = Callable[[str, Any], None]


def functions_registered(app_api: Any) -> bool:
    """True when Excel evaluates :data:`PROBE` to text (the add-in's version).

    ``app_api`` is Excel's ``Application`` COM object (``xlwings.App.api``); an
    unregistered function evaluates to an error code (a number), not text.
    """
    try:
        value = app_api.Evaluate(PROBE)
    except Exception:  # COM refuses to evaluate: treat as not registered
        return False
    return isinstance(value, str)


def _xlwings_import_udfs() -> ImportUdfs:
    from xlwings import udfs  # Windows only: imports pywin32

    return udfs.import_udfs


def register_functions(addin_api: Any, import_udfs: ImportUdfs | None = None) -> None:
    """Import the VBA wrappers of :data:`UDF_MODULES` into the add-in workbook ``addin_api``.

    Raises
    ------
    WorkbookError
        When Excel does not allow access to the VBA project (the message names
        the Trust Center setting), or the import fails otherwise.
    """
    try:
        addin_api.VBProject.VBComponents  # noqa: B018 - the access Excel refuses untrusted
    except Exception as error:
        raise WorkbookError(TRUST_SETTING_EN, TRUST_SETTING_KO) from error
    try:
        (import_udfs or _xlwings_import_udfs())(UDF_MODULES, addin_api)
    except Exception as error:
        raise WorkbookError(
            f"{TRUST_SETTING_EN} ({type(error).__name__}: {error})",
            f"{TRUST_SETTING_KO} ({type(error).__name__}: {error})",
        ) from error


def ensure_registered(app_api: Any, import_udfs: ImportUdfs | None = None) -> bool:
    """Register the functions in the running add-in when Excel does not know them yet.

    Returns True when it registered them (False: they were there already).

    Raises
    ------
    WorkbookError
        As :func:`register_functions`; also when the add-in workbook is not open.
    """
    if functions_registered(app_api):
        return False
    try:
        addin = app_api.Workbooks(ADDIN_FILE_NAME)
    except Exception as error:
        raise WorkbookError(
            f"{ADDIN_FILE_NAME} is not open in Excel: run `etf-rebal addin install` and "
            "restart Excel",
            f"엑셀에 {ADDIN_FILE_NAME} 이(가) 열려 있지 않습니다: `etf-rebal addin install` 후 "
            "엑셀을 다시 시작하세요",
        ) from error
    register_functions(addin, import_udfs)
    return True
