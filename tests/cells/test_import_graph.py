"""What Excel's Python must import: the runtime dependencies, never plotting or test packages.

xlwings imports matplotlib when it happens to be installed (it is, here, for
bt), so looking at ``sys.modules`` is not enough: these tests run the UDFs in
a fresh process where matplotlib and the test/bench packages cannot be
imported at all, as in an Excel install made from the runtime dependencies,
and check the dependency closure and every import statement of the package.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import etf_rebalancer

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(etf_rebalancer.__file__).resolve().parent
# Plotting, and what only tests and benchmarks use.
NOT_FOR_EXCEL = {"matplotlib", "bt", "ffn", "pytest", "_pytest", "hypothesis", "pypfopt", "seaborn"}

SCRIPT = """
import json, sys
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in NAMES:
            raise ImportError(name + " is not installed in Excel's Python")
        return None
sys.meta_path.insert(0, Absent())
from etf_rebalancer import udfs
holdings = [["Ticker", "Shares", "Price", "Currency"], ["QQQ", 10.0, 500.0, "USD"]]
targets = [["Ticker", "Target"], ["QQQ", 60], ["CASH", 40]]
orders = udfs.REBAL_ORDERS(holdings, targets, 1000.0)
prices = [["Date", "QQQ"], [45293.0, 400.0], [45294.0, 404.0], [45295.0, 410.0]]
stats = udfs.PORTFOLIO_BACKTEST(prices, [["Ticker", "Weight"], ["QQQ", 1]])
loaded = sorted({m.split(".")[0] for m in sys.modules} & NAMES)
print(json.dumps({"orders": orders[:2], "stats": stats[1], "loaded": loaded}, default=str))
"""


def test_the_udfs_work_without_plotting_or_test_packages():
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent), "XLWINGS_LICENSE_KEY": "noncommercial"}
    script = f"NAMES = set({sorted(NOT_FOR_EXCEL)!r})\n" + SCRIPT
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["loaded"] == []
    assert answer["orders"][0][0] == "Ticker" and answer["orders"][1][:2] == ["QQQ", "SELL"]
    assert answer["stats"][0] == "Total Return" and answer["stats"][1] > 0


def _name(requirement: str) -> str:
    return re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_no_runtime_dependency_pulls_them_in():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    todo = [_name(r) for r in project["dependencies"]]
    closure: set[str] = set()
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [_name(r) for r in requires if "extra ==" not in r]
    assert "xlwings" in closure and "scipy" in closure  # the walk did run
    assert not closure & {"matplotlib", "bt", "ffn", "pytest", "hypothesis", "pyportfolioopt"}


def test_no_module_of_the_package_imports_them():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in NOT_FOR_EXCEL]
    assert offenders == []
