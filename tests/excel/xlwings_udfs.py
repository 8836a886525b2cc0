"""Import xlwings' real UDF machinery (xlwings.udfs) off Windows, for tests.

``xlwings.udfs`` imports three Windows bindings at module level (``pythoncom``,
``pywintypes``, ``win32com.client``) and uses them only when Excel calls in
over COM. Minimal stand-ins for exactly those three modules are put in
``sys.modules``; everything else (the decorators, ``func_sig``, the conversion
pipeline, ``generate_vba_wrapper``, ``import_udfs``) is xlwings' own code.

What cannot run here: ``xlwings._xlwindows`` (ctypes.windll, win32api, the COM
engine's own cell cleaners) and therefore ``call_udf`` itself, which wraps
caller ranges in COM objects. The tests run the same ``conversion.read`` /
``conversion.write`` calls ``call_udf`` makes, with the remote engine's cell
cleaners standing in for the COM engine's.
"""

from __future__ import annotations

import datetime as dt
import importlib
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager

_WINDOWS_MODULES = ("pythoncom", "pywintypes", "win32com", "win32com.client")


def _stand_ins() -> dict[str, types.ModuleType]:
    pythoncom = types.ModuleType("pythoncom")
    pythoncom.CoInitialize = lambda: None  # type: ignore[attr-defined]

    pywintypes = types.ModuleType("pywintypes")

    class com_error(Exception):  # noqa: N801, N818 - pywin32's name
        pass

    pywintypes.com_error = com_error  # type: ignore[attr-defined]
    pywintypes.TimeType = dt.datetime  # type: ignore[attr-defined]

    win32com = types.ModuleType("win32com")
    client = types.ModuleType("win32com.client")

    def dispatch(obj):  # only reached for embedded-code workbooks, never here
        raise RuntimeError("COM Dispatch is not available off Windows")

    client.Dispatch = dispatch  # type: ignore[attr-defined]
    win32com.client = client  # type: ignore[attr-defined]
    return {
        "pythoncom": pythoncom,
        "pywintypes": pywintypes,
        "win32com": win32com,
        "win32com.client": client,
    }


@contextmanager
def real_xlwings_udfs() -> Iterator[types.ModuleType]:
    """Yield ``xlwings.udfs`` and an ``etf_rebalancer.udfs`` decorated by it.

    On exit the stand-ins are removed and ``etf_rebalancer.udfs`` is reloaded
    with xlwings' no-op Linux decorators again, as every other test expects.
    """
    import xlwings

    saved_modules = {name: sys.modules.get(name) for name in _WINDOWS_MODULES}
    saved_attrs = {name: getattr(xlwings, name) for name in ("func", "arg", "ret")}
    sys.modules.update(_stand_ins())
    sys.modules.pop("xlwings.udfs", None)
    try:
        xlwings_udfs = importlib.import_module("xlwings.udfs")
        xlwings.func = xlwings_udfs.xlfunc
        xlwings.arg = xlwings_udfs.xlarg
        xlwings.ret = xlwings_udfs.xlret
        import etf_rebalancer.udfs

        importlib.reload(etf_rebalancer.udfs)
        yield xlwings_udfs
    finally:
        for name, value in saved_attrs.items():
            setattr(xlwings, name, value)
        sys.modules.pop("xlwings.udfs", None)
        for name, module in saved_modules.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        import etf_rebalancer.udfs

        importlib.reload(etf_rebalancer.udfs)
