"""Health endpoints without amplification: their checks connect to every database and
broker, so a result is kept for ``PSTT_HEALTH_CACHE_SEC`` seconds, at most one run of them is
in flight (concurrent callers wait for it and share its result), and it runs on its own
one-thread limiter — never on the thread pool that serves the API and pages.

:class:`SharedResult` is that mechanism for any blocking check (plugins use it through
``pstt_core.web``: ``GET /api/kafka/health``); :class:`HealthCache` is ``GET /api/health``'s.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio

from .data import redact

if TYPE_CHECKING:
    from ..facade import Pstt

# A blackholed database host can take minutes to time out; pages and probes must not wait.
HEALTH_TIMEOUT_SEC = 10.0


class SharedResult:
    """The last result of a blocking ``compute()`` (run in a thread), kept ``ttl`` seconds,
    with at most one computation in flight.

    :param timeout: seconds a computation may take; then ``on_timeout()`` is the result (the
        thread is abandoned, and finishes on its own). ``None``: no bound.
    """

    def __init__(self, compute: Callable[[], dict[str, Any]], ttl: float, *,
                 timeout: float | None = None,
                 on_timeout: Callable[[], dict[str, Any]] | None = None):
        self.compute, self.ttl = compute, ttl
        self.timeout, self.on_timeout = timeout, on_timeout
        self._result: dict[str, Any] | None = None
        self._at = float("-inf")
        # asyncio primitives belong to one event loop (a test client may use several)
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                               tuple[anyio.Lock, anyio.CapacityLimiter]]
        self._locks = weakref.WeakKeyDictionary()
        self.computed = 0  # how many times the checks ran (for /metrics and tests)

    def _fresh(self) -> dict[str, Any] | None:
        if self._result is not None and time.monotonic() - self._at < self.ttl:
            return self._result
        return None

    async def get(self) -> dict[str, Any]:
        cached = self._fresh()
        if cached is not None:
            return cached
        loop = asyncio.get_running_loop()
        if loop not in self._locks:
            self._locks[loop] = (anyio.Lock(), anyio.CapacityLimiter(1))
        lock, limiter = self._locks[loop]
        async with lock:
            cached = self._fresh()  # computed while this caller waited
            if cached is not None:
                return cached
            result = await self._compute(limiter)
            self._result, self._at = result, time.monotonic()
            return result

    async def _compute(self, limiter: anyio.CapacityLimiter) -> dict[str, Any]:
        self.computed += 1
        with anyio.move_on_after(self.timeout):
            return await anyio.to_thread.run_sync(self.compute, abandon_on_cancel=True,
                                                  limiter=limiter)
        assert self.on_timeout is not None, "a timeout needs on_timeout"
        return self.on_timeout()


class HealthCache(SharedResult):
    """The last result of ``pstt.health()`` (redacted) and the one computation in flight."""

    def __init__(self, pstt: Pstt, ttl: float):
        super().__init__(lambda: redact(pstt.health()), ttl, timeout=HEALTH_TIMEOUT_SEC,
                         on_timeout=_timed_out)
        self.pstt = pstt


def _timed_out() -> dict[str, Any]:
    return {"status": "unhealthy", "checks": [{
        "name": "health", "status": "unhealthy", "data": {},
        "duration_ms": HEALTH_TIMEOUT_SEC * 1000,
        "detail": f"the health checks did not finish within {HEALTH_TIMEOUT_SEC:g} s"}]}
