"""Fixtures for the Lite editions: templates, their extracted code, a Python to run it in."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "workbook_templates"
LITE = TEMPLATES / "lite"
RUNNER = Path(__file__).with_name("lite_runner.py")
DESKTOP_TEMPLATES = sorted(TEMPLATES.glob("*.xlsx"))


def lite_python() -> str:
    """The interpreter that plays Pyodide's CPython: ``ETF_REBAL_LITE_PYTHON`` (3.12+ with
    numpy, pandas, scipy and xlwings, as Lite ships) or, without it, this one."""
    return os.environ.get("ETF_REBAL_LITE_PYTHON") or sys.executable


def run_lite(main_py: Path, request: dict[str, Any], *, lite_api: bool = True) -> dict[str, Any]:
    """Run ``main_py`` in a fresh process (etf_rebalancer, yfinance, openpyxl blocked)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    if lite_api:
        # xlwings' Office.js custom-function API (what Lite runs in Pyodide).
        env["XLWINGS_ON_SERVER"] = "true"
        env.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    done = subprocess.run(
        [lite_python(), "-I", str(RUNNER), str(main_py)],
        input=pickle.dumps(request),
        capture_output=True,
        env=env,
        cwd=main_py.parent,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(done.stderr.decode("utf-8", "replace")[-4000:])
    return pickle.loads(done.stdout)


# Captured at import (collection), before the suite's autouse guard replaces them.
_REAL_CONNECT = socket.socket.connect
_REAL_CREATE_CONNECTION = socket.create_connection


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Allow connections to 127.0.0.1 only (the suite's guard refuses every connection)."""

    def only_loopback(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1"):
            raise RuntimeError(f"tests may only connect to loopback, not {host}")
        return _REAL_CONNECT(self, address)

    monkeypatch.setattr(socket.socket, "connect", only_loopback)
    monkeypatch.setattr(socket, "create_connection", _REAL_CREATE_CONNECTION)


from tests.excel.conftest import remote_engine  # noqa: E402,F401 - xlwings' Book(json=...) engine
