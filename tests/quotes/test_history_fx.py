"""ETF_HISTORY's currency conversion: prices times each day's FX close (last known rate)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from etf_rebalancer.errors import InputError, QuoteError
from etf_rebalancer.quotes.base import History, Quote
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.memory import MemoryProvider
from etf_rebalancer.quotes.service import QuoteService, history_rows

DAYS = pd.to_datetime(["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07", "2025-01-08"])


def _history(symbol, currency, days, closes, adj=None):
    frame = pd.DataFrame(
        {"close": closes, "adjclose": adj if adj is not None else closes},
        index=pd.DatetimeIndex(days),
        dtype=float,
    )
    return History(symbol, currency, frame)


@pytest.fixture
def service(tmp_path):
    # 069500 skips 2025-01-06 (a KRX holiday here); USD/KRW has no 2025-01-07 bar and
    # starts before the window, so the first day has a rate.
    provider = MemoryProvider(
        {"069500.KS": Quote("069500.KS", 100.0, "KRW"), "QQQ": Quote("QQQ", 1.0, "USD")},
        {
            "QQQ": _history("QQQ", "USD", DAYS, [10, 11, 12, 13, 14], [9, 10, 11, 12, 13]),
            "069500.KS": _history("069500.KS", "KRW", DAYS.delete(2), [1000, 1010, 1030, 1040]),
            "KRW=X": _history(
                "KRW=X",
                "KRW",
                pd.to_datetime(
                    ["2024-12-31", "2025-01-02", "2025-01-03", "2025-01-06", "2025-01-08"]
                ),
                [1400, 1450, 1460, 1470, 1480],
            ),
            "KRWUSD=X": _history("KRWUSD=X", "USD", DAYS, [0.001] * 5),
        },
    )
    svc = QuoteService(QuoteCache(tmp_path / "q.sqlite"), provider)
    yield svc
    svc.cache.close()


def test_prices_are_converted_at_each_day_s_rate(service):
    rows = history_rows(service, [["QQQ", "069500"]], "2025-01-02", "2025-01-08", "KRW")
    assert rows[0] == ["Date", "QQQ", "069500"]
    got = {r[0].date().isoformat(): r[1:] for r in rows[1:]}
    assert got == {
        "2025-01-02": [9 * 1450.0, 1000.0],
        "2025-01-03": [10 * 1460.0, 1010.0],
        "2025-01-06": [11 * 1470.0, None],  # KRX closed: still blank
        "2025-01-07": [12 * 1470.0, 1030.0],  # no FX bar: the last known rate
        "2025-01-08": [13 * 1480.0, 1040.0],
    }
    close = history_rows(service, "QQQ", "2025-01-02", "2025-01-03", "close KRW")
    assert [r[1] for r in close[1:]] == [10 * 1450.0, 11 * 1460.0]
    usd = history_rows(service, [["069500"], ["QQQ"]], "2025-01-02", "2025-01-03", "usd")
    assert [r[1:] for r in usd[1:]] == [[1.0, 9.0], [pytest.approx(1.01), 10.0]]
    # Without a currency, nothing is converted (and no FX is fetched).
    plain = history_rows(service, "QQQ", "2025-01-02", "2025-01-03")
    assert [r[1] for r in plain[1:]] == [9.0, 10.0]


def test_a_missing_rate_names_the_pair_and_a_bad_field_says_what_is_allowed(service):
    with pytest.raises(QuoteError, match=r"USD/EUR \(to convert prices into EUR\)"):
        history_rows(service, "QQQ", "2025-01-02", "2025-01-08", "EUR")
    for field in ("close close", "KRW USD", "volume", 3.0):
        with pytest.raises(InputError, match="adjclose or close, and/or a currency"):
            history_rows(service, "QQQ", "2025-01-02", "2025-01-08", field)
    assert history_rows(service, "QQQ", dt.date(2025, 1, 2), "2025-01-02", "Adjusted Close")[1][
        1
    ] == pytest.approx(9.0)
