"""Run a Lite workbook's extracted main.py the way xlwings Lite does, in a clean process.

Started by the tests as ``python lite_runner.py MAIN_PY`` with a pickled request on
stdin; answers a pickled dict on stdout. Before anything else it makes
``etf_rebalancer``, yfinance, openpyxl (and the other desktop-only packages)
unimportable, so the embedded code must stand on its own. Calls go through
xlwings' own Office.js custom-function machinery (``custom_functions_meta`` to
register, ``custom_functions_call`` to dispatch and convert), the code Lite runs
in Pyodide, when ``XLWINGS_ON_SERVER=true`` gives that API; plain calls otherwise.
"""

import asyncio
import importlib.abc
import pickle
import sys
import types

# highspy too: Pyodide has only scipy's HiGHS, so the embedded engine must plan without it.
BLOCKED = (
    "etf_rebalancer",
    "yfinance",
    "openpyxl",
    "curl_cffi",
    "requests",
    "xlsxwriter",
    "highspy",
)


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: Lite code must not import it")
        return None


sys.meta_path.insert(0, _Blocker())
# An installed etf_rebalancer on sys.path must not be found either.
sys.path[:] = [p for p in sys.path if "addin" not in p]


def main() -> None:
    request = pickle.load(sys.stdin.buffer)
    with open(sys.argv[1], encoding="utf-8") as handle:
        source = handle.read()
    module = types.ModuleType("main")
    module.__file__ = sys.argv[1]
    sys.modules["main"] = module
    exec(compile(source, "main.py", "exec"), module.__dict__)

    import numpy
    import pandas
    import scipy
    import xlwings

    answer: dict = {
        "python": tuple(sys.version_info[:3]),
        "xlwings": xlwings.__version__,
        "versions": {m.__name__: m.__version__ for m in (numpy, pandas, scipy)},
    }
    lite_api = hasattr(xlwings, "server") or "xlwings.server" in sys.modules
    try:
        from xlwings.server import custom_functions_call, custom_functions_meta

        answer["meta"] = custom_functions_meta(module)
    except ImportError:
        lite_api = False
    answer["lite_api"] = lite_api
    results = []
    for name, args in request.get("calls", []):
        if lite_api and request.get("officejs", True):
            data = {
                "func_name": name,
                "args": args,
                "version": xlwings.__version__,
                "client": "Office.js",
                "caller_address": "Plan!A3",
                "runtime": "1.3",  # Excel custom-functions runtime: plain serial dates
            }
            results.append(asyncio.run(custom_functions_call(data, module)))
        else:
            results.append(getattr(module, name)(*args))
    answer["results"] = results
    for name, args in request.get("plain", []):
        answer.setdefault("plain", []).append(getattr(module, name)(*args))
    answer["loaded"] = sorted(
        m for m in sys.modules if m.split(".")[0] in (*BLOCKED, "sqlite3", "subprocess")
    )
    sys.stdout.buffer.write(pickle.dumps(answer))


main()
