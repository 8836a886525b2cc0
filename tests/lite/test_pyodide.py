"""The embedded importer and the pure-Python modules under real Pyodide (if it is installed).

Needs ``node`` and the npm ``pyodide`` package (``ETF_REBAL_PYODIDE=/path/to/node_modules``;
``npm install pyodide@0.27.5``, the version Lite records). Pyodide's numpy, pandas and
scipy wheels are fetched from a CDN at run time, which this machine cannot reach, so
only what needs none of them runs here: ``main.py``'s module importer, the error
kinds and the engine's market types. The rest is run with CPython (``test_lite_run``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from etf_rebalancer.lite.bundle import build_files

PYODIDE = os.environ.get("ETF_REBAL_PYODIDE", "")
SCRIPT = Path(__file__).with_name("pyodide_run.mjs")

pytestmark = pytest.mark.skipif(
    not (PYODIDE and Path(PYODIDE, "pyodide").exists() and shutil.which("node")),
    reason="set ETF_REBAL_PYODIDE to a node_modules folder holding the npm pyodide package",
)


def test_embedded_importer_and_pure_modules_run_in_pyodide(tmp_path):
    main = build_files()["main.py"]
    prelude = main.split(
        "# ---------------------------------------------------------------- the Lite"
    )[0]
    check = prelude + (
        "\nimport sys\n"
        "from rebal_lite.errors import InputError, Notice\n"
        "from rebal_lite.engine.market import MarketData\n"
        "e = InputError('Price must be a number', '가격은 숫자여야 합니다')\n"
        "m = MarketData(prices={'QQQ': 1.0})\n"
        "import json\n"
        "json.dumps([sys.version_info[:2], e.localized('ko'), m.prices['QQQ'],\n"
        "            sys.modules['rebal_lite.errors'].__spec__.origin])\n"
    )
    source = tmp_path / "check.py"
    source.write_text(check, encoding="utf-8")
    script = tmp_path / "run.mjs"
    shutil.copy(SCRIPT, script)
    (tmp_path / "node_modules").symlink_to(Path(PYODIDE).resolve())
    done = subprocess.run(
        ["node", str(script), str(source)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    version, message, price, origin = json.loads(answer["result"])
    assert tuple(version) >= (3, 12)
    assert message == "가격은 숫자여야 합니다" and price == 1.0
    assert origin == "main.py:rebal_lite.errors"
