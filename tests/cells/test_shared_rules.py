"""Rules that two readers of the same table must apply alike (planning and backtests)."""

from __future__ import annotations

import pytest

from etf_rebalancer.backtest.sheet import read_config, read_weights, sheet_inputs
from etf_rebalancer.engine.market import MarketData
from etf_rebalancer.engine.plan import plan_rebalance
from etf_rebalancer.errors import InputError, Notice
from etf_rebalancer.planning.inputs import read_request
from etf_rebalancer.planning.market import market_from_quotes

HOLDINGS = [["Ticker", "Shares", "Price", "Currency"], ["QQQ", 10.0, 500.0, "USD"]]


def plans(targets: list[list[object]]) -> bool:
    try:
        read_request(HOLDINGS, targets)
    except InputError:
        return False
    return True


def backtests(targets: list[list[object]]) -> bool:
    weights, _, _ = sheet_inputs(targets, None)  # what the Backtest sheet hands its formula
    try:
        read_weights(weights)
    except InputError:
        return False
    return True


@pytest.mark.parametrize(
    "weights",
    [
        [60, 40],
        [33.3, 33.3, 33.3],
        [33.34, 33.33, 33.33],
        [50, 49.95],
        [50, 50.1],
        [50, 49.7],  # accepted by the backtest alone before
        [50, 50.4],
        [0.6, 0.4],
        [0.6, 0.399],
        [0.6, 0.398],
        ["60%", "39.9%"],
        ["60%", "39.5%"],
    ],
)
def test_one_targets_table_is_accepted_by_both_readers_or_by_neither(weights):
    tickers = ["QQQ", "SPY", "XLK"][: len(weights)]
    targets = [["Ticker", "Target"], *([t, w] for t, w in zip(tickers, weights, strict=True))]
    assert plans(targets) == backtests(targets)


def test_a_band_of_zero_is_allowed_by_both_readers():
    request = read_request(
        HOLDINGS, [["Ticker", "Target", "Band"], ["QQQ", 100, 0]], settings=[["band", 0]]
    )
    assert request.assets[0].band == 0.0 and request.settings.band == 0.0
    assert read_config([["band", 0]]).band == 0.0
    for reader in (
        lambda: read_request(HOLDINGS, [["Ticker", "Target", "Band"], ["QQQ", 100, -5]]),
        lambda: read_request(
            HOLDINGS, [["Ticker", "Target"], ["QQQ", 100]], settings=[["band", -1]]
        ),
        lambda: read_config([["band", -0.1]]),
    ):
        with pytest.raises(InputError, match="0 or more"):
            reader()


def test_a_group_with_min_above_max_is_refused_like_an_asset():
    targets = [["Ticker", "Target", "Group"], ["QQQ", 100, "tech"]]
    with pytest.raises(InputError, match=r"Min must not exceed Max, got 30.00% > 10.00%") as info:
        read_request(HOLDINGS, targets, groups=[["Group", "Max", "Min"], ["tech", 0.1, 0.3]])
    assert "(groups row 2, tech)" in str(info.value)
    with pytest.raises(InputError, match="Min must not exceed Max"):
        read_request(HOLDINGS, [["Ticker", "Target", "Min", "Max"], ["QQQ", 100, 0.3, 0.1]])


def test_the_missing_price_message_is_short_and_names_ticker_row_and_reason():
    request = read_request(HOLDINGS, [["Ticker", "Target"], ["QQQ", 50], ["SPY", 50]])
    header = ["Ticker", "Price", "Currency", "Time", "Status", "Source"]
    market = market_from_quotes([header], request.quote_needs())
    with pytest.raises(InputError) as info:
        plan_rebalance(request, market)
    text = str(info.value)
    assert "SPY" in text and "targets row 3" in text and "Quotes sheet" in text
    assert len(text) <= 110, (len(text), text)  # was 227 characters
    assert len(info.value.localized("ko")) <= 110
    offline = Notice(
        "No cached price for SPY and working offline: refresh prices when online, "
        "or type the price into the holdings"
    )
    with pytest.raises(InputError) as info:
        plan_rebalance(request, MarketData(failures={"SPY": offline}))
    assert len(str(info.value)) <= 150, str(info.value)
    assert "add Price and Currency" not in str(info.value)  # one piece of advice, not two
