"""A loopback server that accepts connections and never answers, and sessions pointed at it.

What a hung network looks like to a client: DNS works, the TCP connection is
accepted, then silence until the client's read timeout. Used by the breaker
tests and ``bench/bench_quotes.py``; binds 127.0.0.1 only and stops by itself
(``with HangingServer() as server: ...``, or after ``lifetime`` seconds).
"""

from __future__ import annotations

import _socket
import contextlib
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

# Captured at import (collection time), before the tests' network guard replaces them.
_CREATE_CONNECTION = socket.create_connection
_CONNECT = _socket.socket.connect
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def allow_loopback(monkeypatch) -> None:
    """Let a test connect to 127.0.0.1 only (the suite's guard refuses every socket)."""

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in _LOOPBACK:
            raise RuntimeError(f"tests may only connect to loopback, not {host!r}")
        return _CONNECT(self, address)

    def create_connection(address, *args, **kwargs):
        if address[0] not in _LOOPBACK:
            raise RuntimeError(f"tests may only connect to loopback, not {address[0]!r}")
        return _CREATE_CONNECTION(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)


class HangingServer:
    """Accept every connection on 127.0.0.1, read nothing back, answer nothing.

    Parameters
    ----------
    lifetime
        Seconds after which the server stops even if never closed.
    """

    def __init__(self, lifetime: float = 60.0) -> None:
        self.lifetime = lifetime
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="hanging-server", daemon=True)

    def __enter__(self) -> HangingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        ends = time.monotonic() + self.lifetime
        while not self._stop.is_set() and time.monotonic() < ends:
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            self._held.append(conn)  # keep it open: the client waits for an answer
        self._release()

    def _release(self) -> None:
        for conn in self._held:
            with contextlib.suppress(OSError):
                conn.close()
        self._held.clear()
        with contextlib.suppress(OSError):
            self._sock.close()

    def close(self) -> None:
        """Stop accepting and drop every held connection (the clients then fail at once)."""
        self._stop.set()
        self._thread.join(2)


class LoopbackAdapter(HTTPAdapter):
    """Send every request, whatever its host, to ``http://127.0.0.1:<port>`` (same path)."""

    def __init__(self, port: int) -> None:
        super().__init__(max_retries=0)
        self.port = port

    def send(self, request, **kwargs):
        parts = urlsplit(request.url or "")
        request.url = urlunsplit(("http", f"127.0.0.1:{self.port}", parts.path, parts.query, ""))
        return super().send(request, **kwargs)


def loopback_session(port: int) -> requests.Session:
    """A plain ``requests.Session`` whose traffic all goes to the loopback server."""
    session = requests.Session()
    adapter = LoopbackAdapter(port)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
