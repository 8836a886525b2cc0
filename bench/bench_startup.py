"""The first REBAL_ORDERS of a fresh process, as Excel's Python pays it: goal < 0.5 s after import.

Each run is a new interpreter in which matplotlib and the test/bench packages
cannot be imported (an Excel install holds only the runtime dependencies;
here xlwings would otherwise import matplotlib because bt brought it). It
times ``import etf_rebalancer.udfs``, then the first ``REBAL_ORDERS`` (prices
given, so no quote is fetched: what is timed is imports and the plan), then
the first ``PORTFOLIO_BACKTEST``. The best of five runs is reported, and the
heaviest imports of the first call (``python -X importtime``) are listed.

Run:  python bench/bench_startup.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ADDIN = Path(__file__).resolve().parents[1] / "addin"
RUNS = 5
GOAL = 0.5  # seconds for the first REBAL_ORDERS after import
ABSENT = ["matplotlib", "bt", "ffn", "pytest", "_pytest", "hypothesis", "pypfopt"]

SCRIPT = f"""
import json, sys, time
NAMES = set({ABSENT!r})
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in NAMES:
            raise ImportError(name)
        return None
sys.meta_path.insert(0, Absent())
t0 = time.perf_counter()
from etf_rebalancer import udfs
t1 = time.perf_counter()
holdings = [["Ticker", "Shares", "Price", "Currency"], ["QQQ", 10.0, 500.0, "USD"],
            ["SPY", 4.0, 450.0, "USD"]]
targets = [["Ticker", "Target"], ["QQQ", 50], ["SPY", 40], ["CASH", 10]]
orders = udfs.REBAL_ORDERS(holdings, targets, 1000.0)
t2 = time.perf_counter()
prices = [["Date", "QQQ"], [45293.0, 400.0], [45294.0, 404.0], [45295.0, 410.0]]
stats = udfs.PORTFOLIO_BACKTEST(prices, [["Ticker", "Weight"], ["QQQ", 1]])
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "orders": t2 - t1, "backtest": t3 - t2,
                  "ok": orders[0][0] == "Ticker" and stats[1][0] == "Total Return"}}))
"""


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ADDIN), "XLWINGS_LICENSE_KEY": "noncommercial"}


def run_once() -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env(), check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def heaviest_imports(count: int = 8) -> list[tuple[float, str]]:
    """The packages the first calls import, heaviest first (cumulative s, ``-X importtime``)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env(),
        check=True,
    )
    rows: list[tuple[float, str]] = []
    after_udfs = False
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].strip()
        if after_udfs and name.count(".") <= 1:
            rows.append((int(parts[1]) / 1e6, name))
        after_udfs = after_udfs or name == "etf_rebalancer.udfs"
    return sorted(rows, reverse=True)[:count]


def main() -> int:
    runs = [run_once() for _ in range(RUNS)]
    if not all(r["ok"] for r in runs):
        print("FAIL: a UDF answered an error")
        return 1
    best = {k: min(r[k] for r in runs) for k in ("import", "orders", "backtest")}
    print(f"fresh processes without {', '.join(ABSENT)}; best of {RUNS}")
    print(f"  import etf_rebalancer.udfs: {best['import']:.3f} s")
    print(f"  first REBAL_ORDERS:         {best['orders']:.3f} s   (goal < {GOAL} s)")
    print(f"  first PORTFOLIO_BACKTEST:   {best['backtest']:.3f} s")
    print("  heaviest imports of the first calls (cumulative, one -X importtime run):")
    for seconds, name in heaviest_imports():
        print(f"    {seconds:6.3f} s  {name.strip()}")
    ok = best["orders"] < GOAL
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
