"""What the summary says of a plan whose proof the work budget cut short."""

from __future__ import annotations

from bench.bench_engine import workbook
from etf_rebalancer.engine.plan import _PLAN_CACHE, plan_rebalance
from etf_rebalancer.errors import Notice
from etf_rebalancer.planning.inputs import read_request


def _budget_notice(regime: str, n: int, seed: int = 0) -> Notice:
    _PLAN_CACHE.clear()
    plan = plan_rebalance(read_request(*workbook(regime, n, seed)))
    assert plan.method == "milp-time-limit"
    (notice,) = [n for n in plan.notices if "work budget" in n.message]
    return notice


def test_full_mode_without_breach_states_its_gap_in_drift():
    notice = _budget_notice("caps", 200)  # caps plans up to 50 assets are proven now
    gap = float(notice.message.split("proven within ")[1].split(" ")[0])
    assert 0 < gap < 1e-4
    assert "최소 이탈도와의 차이" in notice.message_ko


def test_band_mode_gap_is_not_called_drift():
    # The LP route's gap in band mode weighs the distance outside bands x1,000: 18.7
    # here, which as "drift" would claim the plan might be 1,870 percentage points off.
    notice = _budget_notice("all", 500)
    assert "least drift" not in notice.message
    assert "weighted objective" in notice.message
    assert "최소 이탈도와의 차이" not in notice.message_ko
    assert "목적함수" in notice.message_ko
