"""Quote-layer costs: warm-cache ETF_PRICE time per call, HTTP requests per refresh vs naive cells.

Runs offline: Yahoo answers are replayed from tests/data/yahoo through a counting
``requests`` adapter. Run from the repository root: ``python bench/bench_quotes.py``.
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

import yfinance as yf

from etf_rebalancer import udfs
from etf_rebalancer.quotes import service as service_module
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.service import QuoteService
from etf_rebalancer.quotes.yahoo import YahooProvider
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


if __name__ == "__main__":
    main()
