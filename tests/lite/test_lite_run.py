"""Each Lite edition's own code, run as Lite runs it, gives the desktop functions' answers.

The code is extracted from the committed ``workbook_templates/lite/*.xlsx`` and
run with CPython in a separate process where ``etf_rebalancer``, yfinance and
openpyxl cannot be imported (``lite_runner.py``). Calls go through xlwings' own
Office.js custom-function code (``custom_functions_meta`` registers,
``custom_functions_call`` converts and dispatches: what Lite runs in Pyodide),
with arguments shaped as Office.js sends them (empty cells ``None``, dates as
serial numbers). The expected answers come from ``etf_rebalancer.udfs`` in this
process on the same tables, the desktop UDFs pricing from the same Quotes table.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from etf_rebalancer import udfs
from etf_rebalancer.lite.template import extract_files
from etf_rebalancer.planning import SheetQuotes
from etf_rebalancer.workbook.reader import read_workbook
from tests.lite.conftest import DESKTOP_TEMPLATES, LITE, run_lite

_EPOCH = dt.datetime(1899, 12, 30)


def _serial(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return (value - _EPOCH) / dt.timedelta(days=1)
    if isinstance(value, dt.date):
        return float((value - _EPOCH.date()).days)
    return value


def officejs(rows: Any) -> Any:
    """A range as Office.js hands it to a custom function (dates as serial numbers)."""
    if rows is None:
        return None
    return [[_serial(c) for c in row] for row in rows]


def same(a: Any, b: Any) -> bool:
    """Equal tables: text exactly, numbers to 1e-9 (another numpy may round the last bit)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    a, b = _serial(a), _serial(b)
    if a in (None, "") and b in (None, ""):
        return True  # an empty cell either way (Lite's dispatch writes None as "")
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def synthetic_prices(tickers: list[str], days: int = 400) -> list[list[Any]]:
    """A deterministic daily price table (Date, one column per ticker) for the backtests."""
    rng = np.random.default_rng(17)
    dates = [dt.datetime(2023, 1, 2) + dt.timedelta(days=i) for i in range(days)]
    walks = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.01, size=(days, len(tickers))), axis=0))
    return [["Date", *tickers]] + [
        [d, *(round(float(p), 4) for p in row)] for d, row in zip(dates, walks, strict=True)
    ]


def _solver(summary: list[list[Any]]) -> Any:
    """The summary's solver row (``Solver`` / ``계산 방식``)."""
    return next((row[1] for row in summary if row and row[0] in ("Solver", "계산 방식")), None)


def _is_error(rows: Any) -> bool:
    return len(rows) == 1 and str(rows[0][0]).startswith(("Error", "오류"))


@pytest.fixture(scope="module")
def main_py(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one main.py every Lite edition carries (checked identical across them)."""
    mains = {extract_files(p.read_bytes())["main.py"] for p in sorted(LITE.glob("*.xlsx"))}
    assert len(mains) == 1, "every Lite edition carries the same generated main.py"
    path = tmp_path_factory.mktemp("lite") / "main.py"
    path.write_text(mains.pop(), encoding="utf-8")
    return path


def _cases() -> list[dict[str, Any]]:
    cases = []
    for desktop in DESKTOP_TEMPLATES:
        ranges = read_workbook(desktop)
        prices = ranges.prices
        if not prices:
            tickers = [str(r[0]) for r in ranges.targets[1:] if r and r[0] not in (None, "CASH")]
            prices = synthetic_prices(tickers)
        weights = [row[:2] for row in ranges.targets]
        bt_settings = [row[:2] for row in (ranges.backtest_settings or [["Setting", "Value"]])]
        cases.append(
            {
                "name": desktop.stem,
                "lang": ranges.lang,
                # The six desktop ranges (accounts: None unless a household workbook), Quotes.
                "plan": [*ranges.request_args(), ranges.quotes],
                "backtest": [prices, weights, bt_settings],
            }
        )
    return cases


@pytest.fixture(scope="module")
def lite_answers(main_py: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run every template's calls in one Lite process (one import of pandas and scipy)."""
    cases = _cases()
    calls = []
    for case in cases:
        plan_args = [officejs(a) if isinstance(a, list) else a for a in case["plan"]]
        bt_args = [officejs(a) for a in case["backtest"]]
        for name in ("REBAL_ORDERS", "REBAL_SUMMARY", "REBAL_DRIFT"):
            calls.append((name, plan_args))
        for name in ("PORTFOLIO_BACKTEST", "PORTFOLIO_EQUITY"):
            calls.append((name, bt_args))
        calls.append(("PORTFOLIO_CORREL", bt_args[:1]))
    answer = run_lite(main_py, {"calls": calls})
    return cases, answer


@pytest.fixture
def desktop_prices_from(monkeypatch: pytest.MonkeyPatch):
    """Make the desktop UDFs price from a Quotes table instead of the network."""
    import etf_rebalancer.planning as planning

    def use(quotes: Any) -> None:
        monkeypatch.setattr(planning, "LiveQuotes", lambda: SheetQuotes(quotes))

    return use


def test_the_lite_process_had_no_desktop_packages(lite_answers):
    _, answer = lite_answers
    assert answer["loaded"] == [] or set(answer["loaded"]) <= {"subprocess", "sqlite3"}
    assert not any(
        m.split(".")[0] in ("etf_rebalancer", "yfinance", "openpyxl") for m in answer["loaded"]
    )
    assert answer["lite_api"], "xlwings' Office.js custom-function API was not available"


@pytest.mark.skipif(
    not os.environ.get("ETF_REBAL_LITE_PYTHON"),
    reason="set ETF_REBAL_LITE_PYTHON to a Python 3.12+ (Pyodide's) with numpy/pandas/scipy",
)
def test_the_lite_process_runs_the_python_lite_ships(lite_answers):
    _, answer = lite_answers
    assert answer["python"] >= (3, 12)


def test_lite_registers_the_contract_functions_without_a_namespace(lite_answers):
    _, answer = lite_answers
    functions = {f["name"]: f for f in answer["meta"]["functions"]}
    assert set(functions) == {
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
    }
    for name in ("REBAL_ORDERS", "REBAL_SUMMARY", "REBAL_DRIFT", "PORTFOLIO_BACKTEST"):
        desktop = list(inspect.signature(getattr(udfs, name)).parameters)
        params = [p["name"] for p in functions[name]["parameters"]]
        # The contract's arguments in the contract's order; Lite adds the Quotes table last.
        assert params[: len(desktop)] == desktop
        assert params[len(desktop) :] == (["quotes"] if name.startswith("REBAL") else [])
        optional = [p.get("optional", False) for p in functions[name]["parameters"]]
        assert optional == [False, False] + [True] * (len(params) - 2)


@pytest.mark.parametrize("index", range(len(DESKTOP_TEMPLATES)))
def test_plan_functions_equal_the_desktop_udfs(index, lite_answers, desktop_prices_from):
    cases, answer = lite_answers
    case = cases[index]
    results = answer["results"][index * 6 : index * 6 + 6]
    *desktop, quotes = case["plan"]
    desktop_prices_from(quotes)
    orders = udfs.REBAL_ORDERS(*desktop)
    summary = udfs.REBAL_SUMMARY(*desktop)
    drift = udfs.REBAL_DRIFT(*desktop)
    scipy_version = tuple(int(x) for x in answer["versions"]["scipy"].split(".")[:2])
    if (
        scipy_version < (1, 15)
        and not _is_error(summary)
        and _solver(results[1]) != _solver(summary)
    ):
        pytest.xfail(
            "engine/milp.py builds the constraint matrix with int64 indices; scipy "
            f"{answer['versions']['scipy']} (Pyodide 0.27's) HiGHS wants C int: "
            "'Buffer dtype mismatch', so Lite falls back to the greedy plan"
        )
    assert same(results[0], orders), case["name"]
    assert same(results[2], drift), case["name"]
    if _is_error(orders):
        # An empty template: the same message, in the same one cell.
        assert same(results[1], summary)
        return
    # Lite's summary is the desktop's, then where each price came from and how old it is.
    lite_summary = results[1]
    assert same(lite_summary[: len(summary)], summary), case["name"]
    extra = lite_summary[len(summary) :]
    label = "가격 출처" if case["lang"] == "ko" else "Price source"
    assert extra and all(str(row[0]).startswith(label) for row in extra)
    assert all("sample" in str(row[1]) or "시세" in str(row[1]) for row in extra), extra


@pytest.mark.parametrize("index", range(len(DESKTOP_TEMPLATES)))
def test_backtest_functions_equal_the_desktop_udfs(index, lite_answers):
    cases, answer = lite_answers
    case = cases[index]
    results = answer["results"][index * 6 : index * 6 + 6]
    prices, weights, settings = case["backtest"]
    stats = udfs.PORTFOLIO_BACKTEST(prices, weights, settings)
    equity = udfs.PORTFOLIO_EQUITY(prices, weights, settings)
    correl = udfs.PORTFOLIO_CORREL(prices)
    assert same(results[3], stats), case["name"]
    assert same(results[4], equity), case["name"]
    assert same(results[5], correl), case["name"]


def test_most_templates_give_real_plans_and_backtests():
    # The equivalence above is only worth something on real answers.
    cases = _cases()
    real = 0
    for case in cases:
        *desktop, quotes = case["plan"]
        plan = SheetQuotes(quotes)
        from etf_rebalancer.planning import plan_ranges

        try:
            plan_ranges(*desktop, market=plan, as_of=dt.date.today())
        except Exception:
            continue
        if not _is_error(udfs.PORTFOLIO_BACKTEST(*case["backtest"])):
            real += 1
    assert real >= len(cases) - 2, f"only {real} of {len(cases)} templates plan and backtest"


def test_errors_come_back_as_one_cell_of_text(main_py):
    answer = run_lite(
        main_py,
        {
            "calls": [
                ("REBAL_ORDERS", [[["Ticker", "Shares"], ["QQQ", 1.0]], [["Ticker"], ["QQQ"]]]),
                ("PORTFOLIO_CORREL", [[["Date", "A"], ["x", 1.0]]]),
            ]
        },
    )
    for result in answer["results"]:
        assert len(result) == 1 and len(result[0]) == 1
        assert str(result[0][0]).startswith("Error: ")
