"""A real process's stdout holds only the table: no solver banner, no third-party lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_plan_csv_in_a_fresh_process_is_only_csv():
    # HiGHS prints a banner on a process's first solver object, below Python's sys.stdout.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "addin")}
    result = subprocess.run(
        [sys.executable, "-m", "etf_rebalancer.cli", "plan", "--offline", "-f", "csv",
         str(ROOT / "workbook_templates" / "korean-investor_en.xlsx")],
        capture_output=True, text=True, env=env, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Ticker,Action,Shares,"), lines[:3]
    assert len(lines) > 1 and all(line.count(",") == lines[0].count(",") for line in lines)
