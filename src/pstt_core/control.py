"""Stopping a run from outside it: its timeout (a watchdog) or a signal to the process.

A :class:`RunControl` belongs to one run. ``stop()`` records why and calls every canceller
the run registered (the database's cancel for a query that blocks before its first row);
the pipeline checks ``stopped`` between batches, so a sink is never cut off in the middle
of a write: it is closed or aborted normally and the record states exact counts.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

log = logging.getLogger("pstt.control")

TIMEOUT, INTERRUPT = "timeout", "interrupt"


class RunControl:
    """Why and whether a run must stop.

    :param timeout: seconds the whole run may take; a watchdog thread stops it then.
    """

    def __init__(self, timeout: float | None = None):
        self.timeout = timeout
        self.kind: str | None = None
        self.reason: str | None = None
        self._lock = threading.Lock()
        self._cancellers: list[Callable[[], None]] = []
        self._timer: threading.Timer | None = None

    @property
    def stopped(self) -> bool:
        return self.kind is not None

    def stop(self, kind: str, reason: str) -> None:
        """Ask the run to stop (the first reason wins) and cancel what it is waiting for."""
        with self._lock:
            if self.kind is not None:
                return
            self.kind, self.reason = kind, reason
            cancellers = list(self._cancellers)
        for cancel in cancellers:
            try:
                cancel()
            except Exception as exc:  # a failed cancel leaves the between-batch check
                log.warning("could not cancel the running statement: %s", exc)

    @contextlib.contextmanager
    def cancelling(self, cancel: Callable[[], None]) -> Iterator[None]:
        """Call ``cancel`` if the run is stopped while the block runs."""
        with self._lock:
            self._cancellers.append(cancel)
            already = self.kind is not None
        if already:
            cancel()
        try:
            yield
        finally:
            with self._lock:
                self._cancellers.remove(cancel)

    def remaining(self, elapsed: float, *, margin: float = 0.0) -> float | None:
        """Seconds left after ``elapsed`` (plus ``margin``: a database's own limit is a
        backstop that should lose the race against the watchdog), ``None`` if unbounded."""
        return None if self.timeout is None else max(self.timeout - elapsed, 0.001) + margin

    def start_watchdog(self) -> None:
        if self.timeout:
            self._timer = threading.Timer(
                self.timeout, self.stop, args=(TIMEOUT, f"timed out after {self.timeout:g} s"))
            self._timer.daemon = True
            self._timer.name = "pstt-run-watchdog"
            self._timer.start()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
