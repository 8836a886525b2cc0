"""The dated table of account rules (engine/account_rules.py): a plan's date picks the row."""

from __future__ import annotations

import datetime as dt

from etf_rebalancer.engine.account_rules import ACCOUNT_RULES, account_type, rules_for


def test_the_retirement_risky_cap_follows_the_2015_amendment():
    # 퇴직연금감독규정: 40% -> 70%, in force 2015-07-09 (FSC resolution of 2015-07-08).
    for kind in ("irp", "dc"):
        assert rules_for(kind, dt.date(2015, 7, 8)).risky_cap == 0.40
        assert rules_for(kind, dt.date(2015, 7, 9)).risky_cap == 0.70
        assert rules_for(kind, None).risky_cap == 0.70


def test_isa_buys_domestic_listings_only_from_its_launch():
    assert not rules_for("isa", dt.date(2016, 3, 13)).domestic_only
    assert rules_for("isa", dt.date(2016, 3, 14)).domestic_only
    assert not rules_for("isa", None).may_buy(domestic=False, asset_class="equity")


def test_today_every_rule_is_in_force():
    today = dt.date(2026, 12, 1)
    assert rules_for("general", today).may_buy(domestic=False, asset_class="leveraged")
    for kind in ("pension", "irp", "dc"):
        rules = rules_for(kind, today)
        assert rules.may_buy(domestic=True, asset_class="equity")
        assert not rules.may_buy(domestic=True, asset_class="leveraged")
        assert not rules.may_buy(domestic=True, asset_class="inverse")
        assert not rules.may_buy(domestic=False, asset_class="equity")


def test_every_row_names_its_source_and_a_known_type():
    for row in ACCOUNT_RULES:
        assert row.source and account_type(row.account_type) == row.account_type
    # Oldest first within each (type, rule): rules_for lets a later row override.
    seen: dict[tuple[str, str], dt.date] = {}
    for row in ACCOUNT_RULES:
        key = (row.account_type, row.rule)
        assert row.start >= seen.get(key, dt.date.min)
        seen[key] = row.start
