"""One circuit breaker for the whole quote layer: ~1 s of waiting per recalculation, then none.

Excel recalculates many cells at once; with connections that hang (no DNS
failure, just silence) each cell that fetches would wait its own timeout. The
:class:`Breaker` gives every on-demand fetch (``ETF_PRICE``, ``ETF_FX``,
``ETF_HISTORY``, ``REBAL_*``) its wait from one shared allowance:

* a *burst* starts with the first wait and lasts :data:`BURST` seconds; all
  waits inside it share :data:`BUDGET` seconds;
* a fetch that runs out of time or finds no network *trips* the breaker: no
  cell waits at all until the back-off expires or the user presses Refresh
  (:meth:`Breaker.reset`); cells answer from the cache or with their message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from etf_rebalancer.errors import QuoteError

__all__ = ["BUDGET", "BURST", "Breaker"]

BUDGET = 1.0  # seconds of waiting one recalculation burst may spend on the network
BURST = 3.0  # seconds from a burst's first wait during which its budget is shared


class Breaker:
    """Shared waiting allowance and back-off for on-demand fetches; thread-safe.

    Parameters
    ----------
    budget, burst
        Seconds of waiting per burst, and a burst's length.
    clock
        Monotonic seconds (tests pass a fake).
    """

    def __init__(
        self,
        budget: float = BUDGET,
        burst: float = BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget
        self.burst = burst
        self.clock = clock
        self._lock = threading.Lock()
        self._burst_start = -float("inf")
        self._spent = 0.0
        self._open_until = 0.0
        self.reason: QuoteError | None = None

    @property
    def is_open(self) -> bool:
        """True while tripped: nobody waits."""
        return self.clock() < self._open_until

    def allowance(self) -> float:
        """Seconds a caller may wait now (0: answer at once)."""
        with self._lock:
            now = self.clock()
            if now < self._open_until:
                return 0.0
            if now - self._burst_start > self.burst:
                self._burst_start, self._spent = now, 0.0
            return max(0.0, self.budget - self._spent)

    def spend(self, seconds: float) -> None:
        """Record ``seconds`` waited in the current burst."""
        with self._lock:
            self._spent += max(0.0, seconds)

    def trip(self, seconds: float, reason: QuoteError | None = None) -> None:
        """Stop all waiting for ``seconds`` (a back-off); ``reason`` says why, for messages."""
        with self._lock:
            self._open_until = max(self._open_until, self.clock() + seconds)
            if reason is not None:
                self.reason = reason

    def reset(self) -> None:
        """Close the breaker and start a fresh budget (the user pressed Refresh)."""
        with self._lock:
            self._open_until = 0.0
            self._burst_start = -float("inf")
            self._spent = 0.0
            self.reason = None
