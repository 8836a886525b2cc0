"""UDF reads during refreshes and writes on other threads: never a torn quote, never a deadlock.

Reader threads call what ``ETF_PRICE`` calls (``price_field``/``service.quote``)
in a tight loop while, at the same time, one thread runs full refreshes through
the replayed Yahoo session, one writes rows whose every field encodes the write
number, and a second cache object on the same file (what the CLI in another
process is) writes too, with the reload check forced on every read. Each row a
reader sees must come from exactly one write; every thread must finish.
"""

from __future__ import annotations

import threading
import time

from etf_rebalancer import udfs
from etf_rebalancer.quotes import cache as cache_module
from etf_rebalancer.quotes.cache import CachedQuote, QuoteCache
from etf_rebalancer.quotes.service import price_field

CURRENCIES = ("USD", "EUR", "KRW")
REFRESHED = {"QQQ": (608.86, "USD", 1763150400.0), "SPY": (671.93, "USD")}


def _encoded(ticker: str, n: int) -> CachedQuote:
    """A row whose every field says which write it came from."""
    return CachedQuote(
        ticker,
        ticker,
        price=float(n),
        currency=CURRENCIES[n % 3],
        previous_close=float(n),
        as_of=1_700_000_000.0 + n,
        name=f"write {n}",
        fetched_at=1_700_000_000.0 + n,
    )


def _check_encoded(row: CachedQuote) -> None:
    n = int(row.price)
    assert row.price == row.previous_close == float(n), row
    assert row.currency == CURRENCIES[n % 3], row
    assert row.as_of == row.fetched_at == 1_700_000_000.0 + n, row
    assert row.name == f"write {n}", row


def test_reads_during_refresh_and_writes_are_consistent_and_finish(service, tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "_RELOAD_EVERY", 0.0)  # check the file on every read
    service.refresh(["QQQ", "SPY"])
    service.cache.put([_encoded("ENC", 0)])
    other = QuoteCache(tmp_path / "quotes.sqlite")  # another process's view of the same file
    other.put([_encoded("OTHER", 0)])
    service.cache._next_check = 0.0  # seen on the next read (normally within 0.5 s)
    assert service.lookup("OTHER") is not None

    stop = threading.Event()
    errors: list[BaseException] = []
    reads = [0]
    counts = {"refreshes": 0, "writes": 0, "other_writes": 0}
    lock = threading.Lock()

    def guarded(body):
        def run():
            try:
                body()
            except BaseException as error:  # reported by the main thread
                errors.append(error)
                stop.set()

        return run

    def reader():
        local = 0
        while not stop.is_set():
            row = service.quote("ENC")
            _check_encoded(row)
            other_row = service.lookup("OTHER")
            _check_encoded(other_row)
            qqq = service.quote("QQQ")
            assert (qqq.price, qqq.currency, qqq.as_of) == REFRESHED["QQQ"], qqq
            price = price_field(service, "ENC", "price")
            assert price == int(price) and price >= 0
            assert price_field(service, "SPY", "currency") == "USD"
            # A cell asking for a ticker nobody has: text, never a wait behind the refresh.
            text = udfs._scalar("en", lambda: price_field(service, "NOSUCH", "price"))
            assert isinstance(text, str)
            local += 6
        with lock:
            reads[0] += local

    def refresher():
        for _ in range(40):
            if stop.is_set():
                return
            report = service.refresh(["QQQ", "SPY", "VWCE.DE"])
            assert report.ok, report.failures
            counts["refreshes"] += 1

    def writer():
        for n in range(1, 1501):
            if stop.is_set():
                return
            service.cache.put([_encoded("ENC", n)])
            counts["writes"] += 1

    def other_writer():
        for n in range(1, 301):
            if stop.is_set():
                return
            other.put([_encoded("OTHER", n)])
            counts["other_writes"] += 1

    readers = [threading.Thread(target=guarded(reader), daemon=True) for _ in range(4)]
    workers = [
        threading.Thread(target=guarded(body), daemon=True)
        for body in (refresher, writer, other_writer)
    ]
    started = time.monotonic()
    for thread in readers + workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    stop.set()
    for thread in readers:
        thread.join(timeout=10)
    elapsed = time.monotonic() - started
    alive = [t for t in readers + workers if t.is_alive()]
    assert not alive, f"deadlock: {alive} still running after {elapsed:.1f} s"
    if errors:
        raise errors[0]
    assert counts == {"refreshes": 40, "writes": 1500, "other_writes": 300}
    assert reads[0] > 1000
    # The last write of each writer is what everyone sees now.
    assert service.quote("ENC").price == 1500.0
    service.cache._next_check = 0.0
    assert service.lookup("OTHER").price == 300.0
    print(
        f"\nconcurrency: {reads[0]} reads by 4 threads during {counts['refreshes']} refreshes, "
        f"{counts['writes']} + {counts['other_writes']} writes in {elapsed:.1f} s"
    )
    other.close()


def test_own_write_does_not_hide_another_process_write(tmp_path):
    """A write of ours right after another process's must not swallow theirs.

    ``PRAGMA data_version`` changes only for other connections' commits; recording
    it after our own commit, without reloading, once hid the other write until the
    next one (found by the test above: the CLI's refresh lost to Excel's next put).
    """
    path = tmp_path / "quotes.sqlite"
    ours, theirs = QuoteCache(path), QuoteCache(path)
    theirs.put([_encoded("CLI", 7)])  # the CLI refreshes in another process...
    ours.put([_encoded("CELL", 1)])  # ...and a cell's fetch writes before our next check
    ours._next_check = 0.0
    assert ours.get("CLI") is not None and ours.get("CLI").price == 7.0
    assert ours.get("CELL").price == 1.0
    theirs.put([_encoded("CLI", 8)])
    ours._next_check = 0.0
    assert ours.get("CLI").price == 8.0


def test_rebal_cells_on_threads_agree_and_never_fail():
    """REBAL_* from several threads at once, over more workbooks than the plan memo keeps."""
    from etf_rebalancer.engine import plan as plan_module

    def workbook(k: int):
        holdings = [
            ["Ticker", "Shares", "Price", "Currency"],
            ["QQQ", float(k), 600.0, "USD"],
            ["TLT", 10.0, 90.0 + k, "USD"],
            ["069500", 5.0, 40_000.0, "KRW"],
        ]
        targets = [["Ticker", "Target"], ["QQQ", 50.0], ["TLT", 30.0], ["069500", 20.0]]
        settings = [["base_currency", "USD"], ["FX KRW", 1 / 1400]]
        return holdings, targets, 5000.0 + k, settings

    books = [workbook(k) for k in range(plan_module._PLAN_CACHE_SIZE + 4)]
    expected = [udfs.REBAL_ORDERS(*b) for b in books]
    assert all(len(rows) > 1 and rows[0][0] == "Ticker" for rows in expected)
    errors: list[BaseException] = []
    results: list[tuple[int, list]] = []

    def caller(offset: int) -> None:
        try:
            for i in range(24):
                k = (i * 7 + offset) % len(books)
                function = (udfs.REBAL_ORDERS, udfs.REBAL_SUMMARY, udfs.REBAL_DRIFT)[i % 3]
                rows = function(*books[k])
                assert not str(rows[0][0]).startswith("Error"), rows
                if function is udfs.REBAL_ORDERS:
                    results.append((k, rows))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=caller, args=(n,), daemon=True) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not [t for t in threads if t.is_alive()], "deadlock"
    if errors:
        raise errors[0]
    assert all(rows == expected[k] for k, rows in results)
