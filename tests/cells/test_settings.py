"""Key/value settings ranges: folded keys, FX keys, repeated and unknown keys."""

from __future__ import annotations

import pytest

from etf_rebalancer.cells import (
    read_key_values,
    unknown_keys_error,
)
from etf_rebalancer.errors import InputError


def test_settings_keys_are_folded_and_fx_keys_keep_their_currency():
    kv = read_key_values([["Key", "Value"], ["Base Currency", "KRW"], ["FX usd", 1400.0]])
    assert set(kv) == {"base_currency", "fx usd"}
    assert kv["fx usd"].row == 3


def test_duplicate_and_unknown_setting_keys_are_named():
    with pytest.raises(InputError, match=r"key 'mode' twice \(rows 1 and 2\)"):
        read_key_values([["mode", "full"], ["mode", "band"]])
    error = unknown_keys_error(read_key_values([["mood", "x"], ["FX EUR", 1.1]]), {"mode", "fx *"})
    assert error is not None
    assert "'mood' (row 1)" in str(error)
    assert "FX EUR" not in str(error)
