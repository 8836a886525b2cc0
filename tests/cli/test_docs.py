"""docs/reference.md names every function, argument, setting key and output header, in both
languages, and nothing in the repository points at a contract outside it."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from etf_rebalancer import udfs
from etf_rebalancer.backtest import sheet as backtest_sheet
from etf_rebalancer.backtest.stats import BENCHMARK_METRICS, METRICS
from etf_rebalancer.cells import labels
from etf_rebalancer.planning import inputs

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")


def functions() -> dict[str, list[str]]:
    """The UDFs as users see them: UPPER_SNAKE names and their arguments, from udfs.py."""
    return {
        name: list(inspect.signature(fn).parameters)
        for name, fn in vars(udfs).items()
        if re.fullmatch(r"(ETF|REBAL|PORTFOLIO)_[A-Z]+", name) and callable(fn)
    }


def test_every_function_and_argument_is_described():
    found = functions()
    assert len(found) >= 9
    for name, args in found.items():
        signature = next((line for line in REFERENCE.splitlines() if f"`{name}(" in line), None)
        assert signature, name
        for arg in args:
            assert re.search(rf"\b{arg}\b", signature), (name, arg)
            assert f"`{arg}`" in REFERENCE, (name, arg)


@pytest.mark.parametrize(
    "keys", [inputs.SETTING_KEYS, backtest_sheet.SETTING_KEYS], ids=["rebal", "backtest"]
)
def test_every_setting_key_is_described(keys):
    for key in keys:
        shown = "`FX <CCY>`" if key == "fx *" else f"| `{key}` |"
        assert shown in REFERENCE, key


def test_every_output_header_is_there_in_english_and_korean():
    english = [*labels.ORDER_HEADER, *labels.DRIFT_HEADER, *labels.QUOTES_HEADER]
    english += [*METRICS, *BENCHMARK_METRICS, *labels.SUMMARY_HEADER]
    for label in english:
        assert label in REFERENCE, label
        korean = labels.display_label(label, "ko")
        assert korean in REFERENCE, (label, korean)
    for en, ko in labels.SUMMARY_LABELS.values():
        assert f"| {en} | {ko} |" in REFERENCE, en
    for action in ("BUY", "SELL", "OK", "OVER", "UNDER"):
        assert f"`{action}` / `{labels.display_label(action, 'ko')}`" in REFERENCE


def test_the_readme_links_the_reference_and_no_file_points_outside_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/reference.md" in readme
    checked = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    checked += list((ROOT / "addin" / "etf_rebalancer").rglob("*.py"))
    for path in checked:
        text = path.read_text(encoding="utf-8")
        assert "shared/CONTRACT.md" not in text, path
    for link in re.findall(r"\]\(([^)#]+)", REFERENCE):
        assert (ROOT / "docs" / link).exists(), link
