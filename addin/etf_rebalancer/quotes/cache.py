"""The quote cache: one SQLite file (WAL) per user, read through an in-memory snapshot.

UDFs read :meth:`QuoteCache.get`, a dictionary lookup in a snapshot of frozen
rows; writers commit a transaction and then swap the snapshot, so a reader on
another thread sees either the old row or the new one, never half of each.
Writes from another process (the CLI refreshing while Excel is open) are
noticed through ``PRAGMA data_version``, checked at most every half second.
A file that is not a database any more is moved aside and rebuilt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from etf_rebalancer.errors import Notice

__all__ = ["SCHEMA_VERSION", "CachedQuote", "HistoryCoverage", "QuoteCache"]

SCHEMA_VERSION = 1
_RELOAD_EVERY = 0.5  # seconds between checks for another process's writes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS quotes (
    ticker TEXT PRIMARY KEY,
    symbol TEXT NOT NULL,
    price REAL,
    currency TEXT NOT NULL DEFAULT '',
    previous_close REAL,
    as_of REAL,
    name TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    fetched_at REAL,
    error TEXT NOT NULL DEFAULT '',
    error_ko TEXT NOT NULL DEFAULT '',
    error_kind TEXT NOT NULL DEFAULT '',
    error_at REAL,
    override_price REAL,
    override_currency TEXT NOT NULL DEFAULT '',
    override_at REAL,
    delay TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS resolved (ticker TEXT PRIMARY KEY, symbol TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS wanted (ticker TEXT PRIMARY KEY, since REAL NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    symbol TEXT NOT NULL, day TEXT NOT NULL, close REAL, adjclose REAL,
    PRIMARY KEY (symbol, day)
);
CREATE TABLE IF NOT EXISTS history_coverage (
    symbol TEXT PRIMARY KEY, currency TEXT NOT NULL, start TEXT NOT NULL, end TEXT NOT NULL,
    fetched_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class CachedQuote:
    """One cached row: the last good price, its provenance, the last error and any override.

    Times are epoch seconds (UTC). ``price`` is ``None`` when no fetch ever
    succeeded; ``error`` is ``""`` when the last fetch succeeded.
    """

    ticker: str
    symbol: str
    price: float | None = None
    currency: str = ""
    previous_close: float | None = None
    as_of: float | None = None
    name: str = ""
    kind: str = ""
    source: str = ""
    fetched_at: float | None = None
    error: str = ""
    error_ko: str = ""
    error_kind: str = ""
    error_at: float | None = None
    override_price: float | None = None
    override_currency: str = ""
    override_at: float | None = None
    delay: str = ""  # "real-time", "delayed 20 min", "market closed" ... ("" = not said)

    @property
    def effective_price(self) -> float | None:
        """The manual override when set, else the fetched price."""
        return self.override_price if self.override_price is not None else self.price

    @property
    def effective_currency(self) -> str:
        """The override's currency when given, else the fetched currency."""
        if self.override_price is not None and self.override_currency:
            return self.override_currency
        return self.currency


_COLUMNS = tuple(f.name for f in fields(CachedQuote))


@dataclass(frozen=True)
class HistoryCoverage:
    """The date range of a symbol's cached history and when it was fetched."""

    symbol: str
    currency: str
    start: dt.date
    end: dt.date
    fetched_at: float


class QuoteCache:
    """SQLite-backed quote cache; safe to share between threads.

    Parameters
    ----------
    path
        The database file; its folder is created when missing.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.notices: list[Notice] = []
        self._lock = threading.RLock()
        self._rows: dict[str, CachedQuote] = {}
        self._resolved: dict[str, str] = {}
        # Each symbol's whole cached history, read once: a warm ETF_HISTORY is a slice.
        self._frames: dict[str, pd.DataFrame] = {}
        self._covers: dict[str, HistoryCoverage | None] = {}
        self._data_version = -1
        self._next_check = 0.0
        self._conn = self._open()

    # ------------------------------------------------------------ opening

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = self._connect()
        except sqlite3.DatabaseError as error:
            self._move_aside(error)
            conn = self._connect()
        self._conn = conn
        self._load()
        return conn

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=2.0, check_same_thread=False, isolation_level=None
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            check = conn.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check[0] if check else 'no answer'}")
            conn.executescript(_SCHEMA)
            _add_missing_columns(conn)
            row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"schema version {row[0]}, expected {SCHEMA_VERSION}")
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _move_aside(self, error: Exception) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            old = Path(str(self.path) + suffix)
            if old.exists():
                with contextlib.suppress(OSError):
                    os.replace(old, old.with_name(f"{old.name}.corrupt-{stamp}"))
                if old.exists():  # could not rename (locked on Windows): delete instead
                    with contextlib.suppress(OSError):
                        old.unlink()
        self.notices.append(
            Notice(
                f"The quote cache {self.path.name} was damaged ({error}) and has been rebuilt; "
                "press Refresh to fetch prices again",
                f"시세 캐시 {self.path.name} 파일이 손상되어({error}) 새로 만들었습니다; "
                "새로고침을 눌러 가격을 다시 받으세요",
            )
        )

    def _rebuild(self, error: Exception) -> None:
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._move_aside(error)
            self._conn = self._connect()
            self._load()

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """The connection under the lock; a database error mid-use rebuilds the file once."""
        with self._lock:
            try:
                yield self._conn
            except sqlite3.DatabaseError as error:
                if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
                    raise
                self._rebuild(error)
                raise

    def _load(self) -> None:
        conn = self._conn
        # The version first: a commit landing between it and the reads is loaded now
        # and seen again next time, never recorded as seen without being loaded.
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM quotes").fetchall()
        self._rows = {r[0]: CachedQuote(*r) for r in rows}
        self._resolved = dict(conn.execute("SELECT ticker, symbol FROM resolved").fetchall())
        self._frames, self._covers = {}, {}  # another process may have written history
        self._data_version = version
        self._next_check = time.monotonic() + _RELOAD_EVERY

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        with self._lock:
            self._next_check = now + _RELOAD_EVERY
            try:
                version = self._conn.execute("PRAGMA data_version").fetchone()[0]
                if version != self._data_version:
                    self._load()
            except sqlite3.DatabaseError as error:
                self._rebuild(error)

    def close(self) -> None:
        """Close the connection (the snapshot stays readable)."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()

    # ------------------------------------------------------------ quotes

    def get(self, ticker: str) -> CachedQuote | None:
        """The cached row for a ticker, or ``None``; a dictionary lookup, no I/O."""
        if time.monotonic() >= self._next_check:
            self._maybe_reload()
        return self._rows.get(ticker)

    def all(self) -> dict[str, CachedQuote]:
        """Every cached row by ticker (a copy)."""
        self._maybe_reload()
        return dict(self._rows)

    def put(self, rows: Iterable[CachedQuote]) -> None:
        """Write rows in one transaction, then publish them to readers."""
        batch = list(rows)
        if not batch:
            return
        placeholders = ", ".join("?" for _ in _COLUMNS)
        values = [tuple(getattr(r, c) for c in _COLUMNS) for r in batch]
        try:
            with self._db() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    # data_version moves only for other connections' commits: if it moved
                    # since our snapshot, that snapshot lacks their rows.
                    version = conn.execute("PRAGMA data_version").fetchone()[0]
                    conn.executemany(
                        f"INSERT OR REPLACE INTO quotes ({', '.join(_COLUMNS)}) "
                        f"VALUES ({placeholders})",
                        values,
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                if version != self._data_version:
                    # Another process wrote since we last looked (the CLI refreshing while
                    # Excel is open): reload, or recording the new version would hide it.
                    self._load()
                else:
                    # Swap a new dict in: readers hold either the old or the new mapping.
                    rows_now = dict(self._rows)
                    rows_now.update({r.ticker: r for r in batch})
                    self._rows = rows_now
                    # Our own commit leaves data_version alone; asking again now could
                    # take in a foreign commit made since, without its rows.
                    self._data_version = version
        except sqlite3.DatabaseError:
            # The file was rebuilt; keep this session's answers in memory at least.
            rows_now = dict(self._rows)
            rows_now.update({r.ticker: r for r in batch})
            self._rows = rows_now

    def delete(self, tickers: Iterable[str]) -> None:
        """Forget tickers' rows."""
        keys = list(tickers)
        with self._db() as conn:
            conn.executemany("DELETE FROM quotes WHERE ticker=?", [(k,) for k in keys])
            rows_now = {k: v for k, v in self._rows.items() if k not in set(keys)}
            self._rows = rows_now

    # ------------------------------------------------------------ resolution, wanted

    def resolved(self, ticker: str) -> str | None:
        """The provider symbol a ticker was found under before (``069500`` -> ``069500.KS``)."""
        return self._resolved.get(ticker)

    def remember(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Remember which provider symbol each ticker resolved to."""
        items = list(pairs)
        if not items:
            return
        with contextlib.suppress(sqlite3.DatabaseError), self._db() as conn:
            conn.executemany("INSERT OR REPLACE INTO resolved VALUES (?, ?)", items)
        resolved = dict(self._resolved)
        resolved.update(items)
        self._resolved = resolved

    def want(self, tickers: Iterable[str], now: float) -> None:
        """Note tickers a cell asked for and the cache lacked; the next fetch includes them."""
        items = [(t, now) for t in tickers]
        with contextlib.suppress(sqlite3.DatabaseError), self._db() as conn:
            conn.executemany("INSERT OR IGNORE INTO wanted VALUES (?, ?)", items)

    def wanted(self) -> list[str]:
        """Tickers asked for and not yet fetched, oldest first."""
        try:
            with self._db() as conn:
                rows = conn.execute("SELECT ticker FROM wanted ORDER BY since").fetchall()
        except sqlite3.DatabaseError:
            return []
        return [r[0] for r in rows]

    def unwant(self, tickers: Iterable[str]) -> None:
        """Drop tickers from the wanted list (fetched, or failed for good)."""
        with contextlib.suppress(sqlite3.DatabaseError), self._db() as conn:
            conn.executemany("DELETE FROM wanted WHERE ticker=?", [(t,) for t in tickers])

    # ------------------------------------------------------------ history

    def history_coverage(self, symbol: str) -> HistoryCoverage | None:
        """Which dates of ``symbol`` are cached, or ``None``."""
        self._maybe_reload()
        if symbol in self._covers:
            return self._covers[symbol]
        try:
            with self._db() as conn:
                row = conn.execute(
                    "SELECT symbol, currency, start, end, fetched_at FROM history_coverage "
                    "WHERE symbol=?",
                    (symbol,),
                ).fetchone()
        except sqlite3.DatabaseError:
            return None
        cover = (
            None
            if row is None
            else HistoryCoverage(
                row[0],
                row[1],
                dt.date.fromisoformat(row[2]),
                dt.date.fromisoformat(row[3]),
                row[4],
            )
        )
        self._covers[symbol] = cover
        return cover

    def put_history(
        self,
        symbol: str,
        currency: str,
        frame: pd.DataFrame,
        start: dt.date,
        end: dt.date,
        fetched_at: float,
    ) -> None:
        """Store daily closes for ``start..end`` and widen the coverage to include it."""
        old = self.history_coverage(symbol)
        slack = dt.timedelta(days=5)
        # Merge only ranges that touch; a gap would be reported as covered otherwise.
        if (
            old is not None
            and old.currency == currency
            and start <= old.end + slack
            and old.start <= end + slack
        ):
            start, end = min(start, old.start), max(end, old.end)
        values: list[tuple[Any, ...]] = [
            (symbol, day.date().isoformat(), _float(c), _float(a))
            for day, c, a in zip(frame.index, frame["close"], frame["adjclose"], strict=True)
        ]
        with contextlib.suppress(sqlite3.DatabaseError), self._db() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR REPLACE INTO history VALUES (?, ?, ?, ?)", values)
                conn.execute(
                    "INSERT OR REPLACE INTO history_coverage VALUES (?, ?, ?, ?, ?)",
                    (symbol, currency, start.isoformat(), end.isoformat(), fetched_at),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        self._frames.pop(symbol, None)
        self._covers.pop(symbol, None)

    def history(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Cached closes of ``symbol`` from ``start`` to ``end`` (``close``, ``adjclose``)."""
        self._maybe_reload()
        frame = self._frames.get(symbol)
        if frame is None:
            frame = self._read_history(symbol)
            self._frames[symbol] = frame
        return frame.loc[pd.Timestamp(start) : pd.Timestamp(end)]

    def _read_history(self, symbol: str) -> pd.DataFrame:
        try:
            with self._db() as conn:
                rows = conn.execute(
                    "SELECT day, close, adjclose FROM history WHERE symbol=? ORDER BY day",
                    (symbol,),
                ).fetchall()
        except sqlite3.DatabaseError:
            rows = []
        # Whole columns at once: one Timestamp per row cost 146 ms for 8,000 x 20.
        days, close, adjclose = zip(*rows, strict=True) if rows else ((), (), ())
        index = pd.DatetimeIndex(np.array(days, dtype="datetime64[D]").astype("datetime64[ns]"))
        return pd.DataFrame(
            {"close": np.array(close, dtype=float), "adjclose": np.array(adjclose, dtype=float)},
            index=index,
        )


# Columns added after schema 1 shipped: added in place (old readers name their
# columns, so they keep working), never a reason to rebuild a user's cache.
_ADDED_COLUMNS = {"delay": "TEXT NOT NULL DEFAULT ''"}


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    have = {row[1] for row in conn.execute("PRAGMA table_info(quotes)").fetchall()}
    for name, spec in _ADDED_COLUMNS.items():
        if name not in have:
            with contextlib.suppress(sqlite3.OperationalError):  # another process added it
                conn.execute(f"ALTER TABLE quotes ADD COLUMN {name} {spec}")


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number
