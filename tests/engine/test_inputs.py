"""Reading a rebalance request: aliases, weights, accounts, cash pools, settings, bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from etf_rebalancer.errors import InputError
from etf_rebalancer.planning.inputs import read_request

HOLDINGS = [["Ticker", "Shares", "Price", "Currency"], ["QQQ", 10.0, 500.0, "USD"]]
TARGETS = [["Ticker", "Target"], ["QQQ", 60.0], ["SPY", 40.0]]


def test_korean_headers_percent_text_and_codes_typed_as_numbers():
    request = read_request(
        [
            ["종목코드", "수량", "현재가", "통화"],
            [69500.0, 3.0, 35000.0, "KRW"],
            [None, None, None, None],
        ],
        [["티커", "목표비중"], ["069500", "70%"], ["현금", "30%"]],
        settings=[["base_currency", "KRW"]],
    )
    (asset,) = request.assets
    assert (asset.ticker, asset.shares, asset.price, asset.currency) == (
        "069500",
        3.0,
        35000.0,
        "KRW",
    )
    assert asset.target == pytest.approx(0.7)
    assert request.cash_target == pytest.approx(0.3)
    assert request.settings.base_currency == "KRW"


def test_fractions_and_percents_read_alike():
    a = read_request(HOLDINGS, [["Ticker", "Target"], ["QQQ", 0.6], ["SPY", 0.4]])
    b = read_request(HOLDINGS, TARGETS)
    assert [x.target for x in a.assets] == pytest.approx([x.target for x in b.assets])


def test_defaults_follow_the_contract():
    s = read_request(HOLDINGS, TARGETS).settings
    assert (s.base_currency, s.mode, s.buy_only, s.band_type, s.band) == (
        "USD",
        "full",
        False,
        "relative",
        0.0,
    )
    assert (s.whole_shares, s.min_trade, s.fee_rate, s.fee_min, s.fx_spread) == (True, 0, 0, 0, 0)


def test_settings_are_parsed():
    s = read_request(
        HOLDINGS,
        TARGETS,
        settings=[
            ["Key", "Value"],
            ["Mode", "band"],
            ["band", "5%"],
            ["band type", "absolute"],
            ["fee_rate", "0.015%"],
            ["FX KRW", 1 / 1400],
            ["buy_only", "예"],
        ],
    ).settings
    assert (s.mode, s.band, s.band_type, s.buy_only) == ("band", 0.05, "absolute", True)
    assert s.fee_rate == pytest.approx(0.00015)
    assert s.fx["KRW"] == pytest.approx(1 / 1400)


def test_accounts_sum_per_ticker():
    request = read_request(
        [["Ticker", "Shares", "Account"], ["QQQ", 3.0, "ISA"], ["QQQ", 2.0, "연금"]], TARGETS
    )
    assert {a.ticker: a.shares for a in request.assets} == {"QQQ": 5.0, "SPY": 0.0}


def test_cash_as_number_or_currency_range_and_cash_holding_rows():
    assert read_request(HOLDINGS, TARGETS, 1000.0).cash == {"USD": 1000.0}
    request = read_request(
        [*HOLDINGS, ["CASH", 500_000.0, None, "KRW"]],
        TARGETS,
        [["Currency", "Amount"], ["USD", 100.0], ["KRW", "1,000"]],
    )
    assert request.cash == {"KRW": 501_000.0, "USD": 100.0}
    assert read_request(HOLDINGS, TARGETS, [["USD", -300.0]]).cash == {"USD": -300.0}


def test_quote_needs_list_missing_prices_and_fx():
    request = read_request(
        [["Ticker", "Shares"], ["QQQ", 1.0], ["VWCE.DE", 2.0]],
        [["Ticker", "Target"], ["QQQ", 50], ["VWCE.DE", 50]],
        settings=[["FX JPY", 0.0067]],
    )
    needs = request.quote_needs()
    assert needs.tickers == ("QQQ", "VWCE.DE")
    assert needs.currencies == ("EUR",)  # VWCE.DE's currency follows from its suffix
    assert needs.base_currency == "USD"


def test_as_of_is_read_without_a_clock():
    assert read_request(HOLDINGS, TARGETS).as_of is None
    assert read_request(HOLDINGS, TARGETS, as_of="2026-03-02").as_of == dt.date(2026, 3, 2)


@pytest.mark.parametrize(
    ("holdings", "targets", "settings", "groups", "message"),
    [
        (
            HOLDINGS,
            [["Ticker", "Target"], ["QQQ", 60], ["SPY", 35]],
            None,
            None,
            r"Targets must sum to 100%, got 95\.00%",
        ),
        (
            [["Ticker", "Shares"], ["QQQ", -5.0]],
            TARGETS,
            None,
            None,
            r"Shares must be 0 or more, got -5\.0 \(holdings row 2, QQQ\)",
        ),
        (
            [["Ticker", "Shares"], ["QQQ", "ten"]],
            TARGETS,
            None,
            None,
            r"Shares must be a number, got 'ten' \(holdings row 2, QQQ\)",
        ),
        (
            [["Ticker", "Shares"], ["QQQ", 1.0], ["qqq", 2.0]],
            TARGETS,
            None,
            None,
            r"QQQ appears twice in holdings \(rows 2 and 3\)",
        ),
        (
            HOLDINGS,
            [["Ticker", "Target"], ["QQQ", 50], ["QQQ", 50]],
            None,
            None,
            r"QQQ appears twice in targets \(rows 2 and 3\)",
        ),
        (
            HOLDINGS,
            TARGETS,
            [["mode", "full"], ["rebalance", "monthly"]],
            None,
            r"Unknown settings key 'rebalance' \(row 2\)",
        ),
        (
            HOLDINGS,
            TARGETS,
            [["mode", "sometimes"]],
            None,
            r"mode must be full or band, got 'sometimes'",
        ),
        (
            HOLDINGS,
            TARGETS,
            [["fee_rate", 0.5]],
            None,
            r"fee_rate must be a fraction from 0 to 0\.1",
        ),
        (
            [["Ticker", "Shares", "Price"], ["QQQ", 1.0, 0.0]],
            TARGETS,
            None,
            None,
            r"Price must be more than 0, got 0\.0 \(holdings row 2, QQQ\)",
        ),
        (
            HOLDINGS,
            TARGETS,
            None,
            [["Group", "Max"], ["lev", 0.1], ["LEV", 0.2]],
            r"Group LEV appears twice",
        ),
        ([["Ticker", "Qty2"]], TARGETS, None, None, r"holdings needs a column Shares"),
    ],
)
def test_bad_input_names_the_ticker_row_or_key(holdings, targets, settings, groups, message):
    with pytest.raises(InputError, match=message):
        read_request(holdings, targets, None, settings, groups)


def test_errors_have_korean_text():
    with pytest.raises(InputError) as caught:
        read_request([["Ticker", "Shares"], ["QQQ", "x"]], TARGETS)
    assert caught.value.localized("ko") == "수량은 숫자여야 합니다: 'x' (보유종목 2행, QQQ)"
