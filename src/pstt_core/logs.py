"""Daily log files ``logs/app_YYYYMMDD.log`` with retention, and secret redaction."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# The log directory of the home whose work is being logged (set around runs): with several
# homes in one process, a run's lines go to its own home's log only.
_current_dir: ContextVar[str | None] = ContextVar("pstt_log_dir", default=None)
_FILE_RE = re.compile(r"^app_(\d{8})\.log$")


class Redactor(logging.Filter):
    """Replaces known secret values (passwords, tokens) in every record with ``***``."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secrets: Iterable[str]) -> None:
        self._secrets |= {s for s in secrets if s and len(s) >= 3}
        if self._secrets:
            parts = sorted((re.escape(s) for s in self._secrets), key=len, reverse=True)
            self._pattern = re.compile("|".join(parts))

    def redact(self, text: str) -> str:
        return self._pattern.sub("***", text) if self._pattern else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is not None:
            message = record.getMessage()
            clean = self.redact(message)
            if clean != message:
                record.msg, record.args = clean, None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


class DailyFileHandler(logging.Handler):
    """Writes to ``<dir>/app_YYYYMMDD.log`` for the current local date; prunes old files."""

    def __init__(self, directory: Path, retention_days: int = 30):
        super().__init__()
        self.directory = directory
        self.key = str(directory.resolve())
        self.retention_days = retention_days
        self.users = 0  # Pstt instances sharing this handler (detached at zero)
        self._day: date | None = None
        self._stream: object = None
        self._lock2 = threading.Lock()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path_for(self, day: date) -> Path:
        return self.directory / f"app_{day:%Y%m%d}.log"

    def filter(self, record: logging.LogRecord) -> bool:
        owner = _current_dir.get()
        return (owner is None or owner == self.key) and bool(super().filter(record))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            today = datetime.now().date()
            with self._lock2:
                if self._day != today:
                    self._close_stream()
                    # error texts can quote data: owner-only (0600), whatever the umask
                    self._stream = open(self.path_for(today), "a", encoding="utf-8",  # noqa: SIM115
                                        opener=lambda p, f: os.open(p, f, 0o600))
                    self._day = today
                    prune(self.directory, self.retention_days, today)
                stream = self._stream
                stream.write(text + "\n")  # type: ignore[attr-defined]
                stream.flush()  # type: ignore[attr-defined]
        except Exception:
            self.handleError(record)

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()  # type: ignore[attr-defined]
            self._stream = None
        # The next record reopens the file: logging.config.dictConfig (uvicorn runs it)
        # closes every existing handler, including this one while it stays attached.
        self._day = None

    def close(self) -> None:
        with self._lock2:
            self._close_stream()
        super().close()


def prune(directory: Path, retention_days: int, today: date | None = None) -> list[Path]:
    today = today or datetime.now().date()
    limit = today - timedelta(days=retention_days)
    removed = []
    for path in directory.glob("app_*.log"):
        m = _FILE_RE.match(path.name)
        if not m:
            continue
        try:
            day = datetime.strptime(m.group(1), "%Y%m%d").date()
        except ValueError:
            continue
        if day < limit:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


_LEVEL_RE = re.compile(r"^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL)\s")


def tail(directory: Path, *, lines: int = 200, level: str | None = None,
         search: str | None = None, day: date | None = None) -> list[dict[str, str]]:
    """The last ``lines`` entries of a day's log (default today, else the newest file)."""
    order = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    floor = order.index(level.upper()) if level and level.upper() in order else 0
    path = directory / f"app_{(day or datetime.now().date()):%Y%m%d}.log"
    if not path.exists():
        files = sorted(directory.glob("app_*.log"))
        if not files:
            return []
        path = files[-1]
    out: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = _LEVEL_RE.match(line)
            if m:
                current = {"level": m.group(1), "text": line.rstrip("\n")}
                out.append(current)
            elif current is not None:  # continuation (traceback) lines stay with their entry
                current["text"] += "\n" + line.rstrip("\n")
    keep = [e for e in out if order.index(e["level"]) >= floor
            and (not search or search.lower() in e["text"].lower())]
    return keep[-lines:]


_configured: dict[str, DailyFileHandler] = {}
_configured_lock = threading.Lock()
redactor = Redactor()


def setup_logging(directory: Path, level: str = "info", retention_days: int = 30) -> DailyFileHandler:
    """Attach one daily handler per log directory to the ``pstt`` logger; each call is one
    more user of it, to be matched by :func:`release_logging`."""
    logger = logging.getLogger("pstt")
    logger.setLevel(getattr(logging, level.upper(), logging.INFO))
    key = str(directory.resolve())
    with _configured_lock:
        handler = _configured.get(key)
        if handler is None:
            handler = DailyFileHandler(directory, retention_days)
            handler.setFormatter(logging.Formatter(LOG_FORMAT))
            handler.addFilter(redactor)
            logger.addHandler(handler)
            _configured[key] = handler
        handler.retention_days = retention_days
        handler.users += 1
    return handler


def release_logging(directory: Path) -> None:
    """One user fewer of the directory's handler; the last one detaches and closes it."""
    key = str(directory.resolve())
    with _configured_lock:
        handler = _configured.get(key)
        if handler is None:
            return
        handler.users -= 1
        if handler.users > 0:
            return
        del _configured[key]
    _detach(handler)


def teardown_logging(directory: Path) -> None:
    """Detach and close the directory's handler whatever its users (tests, shutdown)."""
    with _configured_lock:
        handler = _configured.pop(str(directory.resolve()), None)
    if handler is not None:
        _detach(handler)


def _detach(handler: DailyFileHandler) -> None:
    logging.getLogger("pstt").removeHandler(handler)
    handler.close()


@contextmanager
def logging_to(directory: Path) -> Iterator[None]:
    """Within the block (in this thread), ``pstt`` records go to ``directory``'s log only."""
    token = _current_dir.set(str(directory.resolve()))
    try:
        yield
    finally:
        _current_dir.reset(token)
