"""The SQLite quote cache under a killed writer and a damaged file: nothing committed is lost.

A child process writes quotes through the real :class:`QuoteCache` in a loop
and is killed with SIGKILL in the middle of it (no cleanup, no checkpoint, the
WAL left behind). Every row the child reported as committed must be there,
intact, when the cache is opened again. A file overwritten with garbage or cut
short is moved aside and rebuilt with a Notice; the UDFs keep answering text.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from etf_rebalancer import udfs
from etf_rebalancer.quotes import service as service_module
from etf_rebalancer.quotes.cache import CachedQuote, QuoteCache
from etf_rebalancer.quotes.service import QuoteService, get_service, price_field

ROOT = Path(__file__).resolve().parents[2]

# The child writes one row per transaction (price = n, the loop counter, in every
# numeric field so a torn row would show), and prints n after each commit.
WRITER = textwrap.dedent(
    """
    import sys
    from etf_rebalancer.quotes.cache import CachedQuote, QuoteCache

    cache = QuoteCache(sys.argv[1])
    n = 0
    while True:
        n += 1
        cache.put([CachedQuote(f"T{n % 50}", f"T{n % 50}", price=float(n), currency="USD",
                               previous_close=float(n), as_of=float(n), fetched_at=float(n),
                               name=f"row {n}")])
        print(n, flush=True)
    """
)


def _kill_writer_mid_write(path: Path, after: int) -> int:
    """Start the writer, let it commit at least ``after`` rows, SIGKILL it; the last n it saw."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "addin")}
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    last = 0
    try:
        deadline = time.monotonic() + 60
        for line in child.stdout:
            last = int(line)
            if last >= after or time.monotonic() > deadline:
                break
        child.send_signal(signal.SIGKILL)  # mid-loop: most likely inside a transaction
        # It kept writing while we read: the pipe holds every commit it reported.
        for line in child.stdout:
            last = int(line)
    finally:
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    return last


@pytest.mark.parametrize("after", [300, 1000])
def test_rows_committed_before_a_kill_survive(tmp_path, after):
    path = tmp_path / "quotes.sqlite"
    last = _kill_writer_mid_write(path, after)
    assert last >= after
    wal = Path(str(path) + "-wal")
    assert wal.exists()  # killed with its write-ahead log still open, not checkpointed
    cache = QuoteCache(path)
    assert cache.notices == []  # a killed writer is not corruption
    rows = cache.all()
    assert len(rows) == 50
    for k in range(50):
        row = rows[f"T{k}"]
        n = row.price
        # Every committed write is there: each ticker holds its latest committed n or later.
        latest_committed = max(m for m in range(max(1, last - 49), last + 1) if m % 50 == k)
        assert n >= latest_committed, (k, n, latest_committed)
        assert n <= last + 1  # at most the one write in flight when the signal came
        assert (row.previous_close, row.as_of, row.fetched_at, row.name) == (n, n, n, f"row {n:g}")
    check = sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]
    assert check == "ok"
    cache.put([CachedQuote("AFTER", "AFTER", price=1.0, currency="USD")])  # still writable
    assert QuoteCache(path).get("AFTER").price == 1.0


def _damage_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = os.urandom(100)  # the 100-byte SQLite header
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3 + 7])


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xffnot a database\n" * 512)


def _empty_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page, len(data), page):  # every page after the first
        data[offset : offset + page] = b"\xa5" * min(page, len(data) - offset)
    path.write_bytes(bytes(data))


DAMAGE = {
    "header": _damage_header,
    "truncated": _truncate,
    "garbage": _garbage,
    "pages": _empty_pages,
}


def _seed(path: Path) -> None:
    cache = QuoteCache(path)
    rows = [
        CachedQuote(f"T{i}", f"T{i}", price=100.0 + i, currency="USD", fetched_at=time.time())
        for i in range(400)
    ]
    cache.put(rows)
    # Checkpoint so the rows live in the main file the damage hits.
    cache._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cache.close()


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_cache_is_rebuilt_with_a_message(tmp_path, damage, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir()
    path = folder / "quotes.sqlite"
    _seed(path)
    DAMAGE[damage](path)
    monkeypatch.setenv("ETF_REBAL_CACHE_DIR", str(folder))
    monkeypatch.setenv("ETF_REBAL_OFFLINE", "1")
    service_module.reset_services()
    try:
        # Cells never raise: the first answers on the damaged file are text.
        for _ in range(3):
            answer = udfs.ETF_PRICE("T1")
            assert isinstance(answer, str | float), answer
        service = get_service()
        # Damage SQLite notices on open or on first use; either way the file is rebuilt.
        service.cache.put([CachedQuote("QQQ", "QQQ", price=600.0, currency="USD")])
        service.cache.all()
        report = service.refresh(["QQQ"])  # the refresh reports the rebuild
        assert any("damaged" in n.message and "rebuilt" in n.message for n in report.notices), (
            report.notices
        )
        assert any("새로 만들었습니다" in n.localized("ko") for n in report.notices)
        assert any(p.name.startswith("quotes.sqlite.corrupt-") for p in folder.iterdir())
        assert udfs.ETF_PRICE("QQQ") == 600.0
        fresh = sqlite3.connect(path)
        assert fresh.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        service_module.reset_services()


def test_damage_while_open_rebuilds_on_next_use(tmp_path):
    path = tmp_path / "quotes.sqlite"
    _seed(path)
    cache = QuoteCache(path)
    service = QuoteService(cache, None)
    assert price_field(service, "T1") == 101.0
    # Another program overwrites the file while Excel has it open.
    cache.close()
    _garbage(path)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    cache._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    cache._next_check = 0.0  # the next read checks the file
    # The damaged file is found on the next read and rebuilt: the cell says why, never raises.
    answer = udfs._scalar("en", lambda: price_field(service, "T1"))
    assert answer.startswith("Error: No cached price for T1"), answer
    assert any("damaged" in n.message and "rebuilt" in n.message for n in cache.notices)
    cache.put([CachedQuote("QQQ", "QQQ", price=600.0, currency="USD")])
    assert price_field(service, "QQQ") == 600.0
    assert QuoteCache(path).get("QQQ").price == 600.0  # the rebuilt file is a working cache
