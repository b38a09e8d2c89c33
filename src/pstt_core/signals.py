"""SIGTERM and SIGINT in ``pstt run`` and ``pstt serve``: stop the runs, keep their records.

The first signal asks every run in progress to stop between batches (its sink settles and
its ``interrupted`` record states exact counts) and refuses new runs; the process then exits
with 128 + the signal number (143 for SIGTERM, 130 for Ctrl-C). A second signal while that
is going on has its default effect: a run cut off then is found by the journal at the next
start-up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .facade import Pstt

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def reason(signum: int) -> str:
    return f"interrupted by {signal.Signals(signum).name}"


def exit_code(signum: int) -> int:
    return 128 + signum


def interrupt_runs(pstt: Pstt, signum: int) -> None:
    pstt.runner.interrupt(reason(signum))


@contextlib.contextmanager
def stopping_runs_on_signals(pstt: Pstt) -> Iterator[list[int]]:
    """While the block runs, SIGTERM / SIGINT interrupt ``pstt``'s runs; yields the list of
    signals received (empty if none)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if received:  # the second one: its default effect
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        received.append(signum)
        interrupt_runs(pstt, signum)

    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
