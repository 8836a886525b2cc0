"""Quote-layer costs, all offline: warm-cache ETF_PRICE per call, HTTP requests per refresh
vs naive cells, ETF_HISTORY 8,000 x 20 from a warm cache, and how long a recalculation waits
when the network hangs.

Yahoo answers are replayed from tests/data/yahoo through a counting ``requests``
adapter; the hung network is a loopback server (127.0.0.1 only) that accepts
connections and never answers, and stops by itself. Every loop is bounded.
Run from the repository root: ``python bench/bench_quotes.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import timeit
from pathlib import Path

os.environ["YF_DISABLE_CURL_CFFI"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import warnings

import numpy as np
import pandas as pd
import yfinance as yf

from etf_rebalancer import udfs
from etf_rebalancer.quotes import service as service_module
from etf_rebalancer.quotes.breaker import BUDGET
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.functions import fx_rate, history_rows, price_field
from etf_rebalancer.quotes.naver import NaverProvider
from etf_rebalancer.quotes.routing import KrxFirst
from etf_rebalancer.quotes.service import QuoteService
from etf_rebalancer.quotes.yahoo import YahooProvider
from tests.quotes.loopback import HangingServer, loopback_session
from tests.quotes.replay import replay_session


def warm_price_call(folder: Path) -> float:
    """Microseconds per warm-cache ETF_PRICE call through the UDF, as Excel calls it."""
    os.environ["ETF_REBAL_CACHE_DIR"] = str(folder)
    os.environ["ETF_REBAL_OFFLINE"] = "1"
    service_module.reset_services()
    service = service_module.get_service()
    for n in range(50):
        service.set_override(f"SYM{n}", 100.0 + n, "USD")
    service.refresh([])
    tickers = [f"SYM{n}" for n in range(50)]

    def recalc() -> None:
        for ticker in tickers:
            udfs.ETF_PRICE(ticker)

    runs = 200
    seconds = min(timeit.repeat(recalc, number=runs, repeat=5))
    return seconds / (runs * len(tickers)) * 1e6


def refresh_requests(count: int, folder: Path) -> tuple[int, float]:
    session, adapter = replay_session()
    provider = YahooProvider(session, cache_dir=folder)
    service = QuoteService(QuoteCache(folder / f"bench-{count}.sqlite"), provider)
    started = time.perf_counter()
    report = service.refresh([f"SYM{n}" for n in range(count)])
    assert len(report.updated) == count, report.failures
    return len(adapter.log), time.perf_counter() - started


def naive_requests(count: int) -> tuple[int, float]:
    """What one ``yf.Ticker(t).fast_info['lastPrice']`` per cell costs."""
    session, adapter = replay_session()
    started = time.perf_counter()
    for n in range(count):
        yf.Ticker(f"SYM{n}", session=session).fast_info["lastPrice"]
    return len(adapter.log), time.perf_counter() - started


def warm_history(folder: Path, rows: int = 8_000, tickers: int = 20) -> tuple[float, int]:
    """Milliseconds for ETF_HISTORY of ``rows`` x ``tickers`` from a warm cache, through the UDF.

    The tickers arrive as Excel hands them (a 1 x n list of lists); the cache
    holds every day, so no provider is asked (offline service).
    """
    os.environ["ETF_REBAL_CACHE_DIR"] = str(folder)
    os.environ["ETF_REBAL_OFFLINE"] = "1"
    service_module.reset_services()
    service = service_module.get_service()
    days = pd.bdate_range("1995-01-02", periods=rows)
    rng = np.random.default_rng(7)
    names = [f"SYM{n}" for n in range(tickers)]
    for name in names:
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, rows)))
        frame = pd.DataFrame({"close": close, "adjclose": close}, index=days)
        service.cache.put_history(name, "USD", frame, days[0].date(), days[-1].date(), time.time())
    start, end = days[0].to_pydatetime(), days[-1].to_pydatetime()
    table = udfs.ETF_HISTORY([names], start, end)
    assert len(table) == rows + 1 and len(table[0]) == tickers + 1, table[:2]
    seconds = min(timeit.repeat(lambda: udfs.ETF_HISTORY([names], start, end), number=1, repeat=7))
    return seconds * 1000, len(table) - 1


def hung_network(folder: Path) -> tuple[float, float, int]:
    """Seconds a cold recalculation waits, and the next one, with connections that hang.

    Twelve cells (ETF_PRICE of KRX and US tickers, their status, ETF_FX and two
    ETF_HISTORY) against a loopback server that accepts and never answers.
    """
    cells = ["QQQ", "SPY", "VWCE.DE", "069500", "005930", "0030R0", "VUSA.L"]
    with HangingServer(lifetime=30) as server:
        provider = KrxFirst(
            NaverProvider(loopback_session(server.port)),
            YahooProvider(loopback_session(server.port), cache_dir=folder),
        )
        service = QuoteService(QuoteCache(folder / "hung.sqlite"), provider)

        def recalc() -> float:
            started = time.perf_counter()
            for ticker in cells:
                udfs._scalar("en", lambda t=ticker: price_field(service, t))
            udfs._scalar("en", lambda: price_field(service, "069500", "status"))
            udfs._scalar("en", lambda: fx_rate(service, "USD", "KRW"))
            udfs._table("en", lambda: history_rows(service, "QQQ", "2025-01-02", "2025-06-30"))
            udfs._table("en", lambda: history_rows(service, "069500", "2025-01-02"))
            return time.perf_counter() - started

        first = recalc()
        later = max(recalc() for _ in range(5))
        accepted = server.accepted
        service.cache.close()
    return first, later, accepted


def main() -> None:
    warnings.simplefilter("ignore")  # yfinance 1.7 on pandas 3.1 deprecation noise
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        micro = warm_price_call(folder / "warm")
        print(f"warm-cache ETF_PRICE: {micro:.1f} us per call (target <= 50 us)")
        print()
        print(f"{'symbols':>8} {'refresh reqs':>13} {'naive reqs':>11} {'ratio':>6}")
        for count in (5, 20, 50):
            ours, _ = refresh_requests(count, folder)
            naive, _ = naive_requests(count)
            print(f"{count:>8} {ours:>13} {naive:>11} {naive / ours:>5.1f}x")
        print()
        print("refresh reqs: cookie + crumb + one /v7/finance/quote per 50 symbols;")
        print("naive reqs: yf.Ticker(t).fast_info['lastPrice'] per cell (chart requests).")
        print()
        millis, rows = warm_history(folder / "history")
        print(f"ETF_HISTORY {rows:,} rows x 20 tickers, warm cache: {millis:.0f} ms (<= 100)")
        print()
        first, later, accepted = hung_network(folder / "hung")
        print(
            f"hung network (loopback, {accepted} connections accepted, none answered): "
            f"first recalculation {first:.2f} s (budget {BUDGET:g} s), "
            f"each later one {later * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
