"""The run journal: every run that starts is recorded, whatever happens to it.

Three operations carry the guarantee, and nothing else touches the files:

- :meth:`RunJournal.begin` writes a durable ``running`` record (export_id, schedule, start,
  trigger, pid, host) before the first row is delivered, and reserves room for the final
  record beside it;
- :meth:`RunJournal.complete` puts the final record in the history (then the counters), or,
  when the history cannot be written (full disk, a damaged file), keeps it in the journal
  and raises :class:`~pstt_core.errors.RecordNotWrittenError`: a run is never reported as
  done without its record;
- :meth:`RunJournal.recover` (start-up of ``serve``, ``run``, ``check``) turns the ``running``
  records of processes that are gone into ``interrupted`` ones and adds the kept records to
  the history once it can be written.

On disk: one JSON file per entry in ``exports/.journal/`` (``<export_id>.json``), padded to
:data:`RESERVE_BYTES` so that the final record can still be written in place when the disk
has filled up during the run. A ``running`` entry is alive while its process holds the
schedule's run lock (``.locks/run-<id>.lock``); a lock nobody holds means the process ended.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RecordNotWrittenError
from .history import parse_time
from .models import RunInfo, RunRecord, iso, utcnow
from .state import atomic_write_bytes, fsync_dir, try_lock_file, unlock_file

if TYPE_CHECKING:
    from .backend import Counters, RunHistory

log = logging.getLogger("pstt.journal")

# Room kept for each entry's final record (a record is a few hundred bytes; errors are short).
RESERVE_BYTES = 64 * 1024
# How often a running entry's counts are brought up to date (at most).
CHECKPOINT_SEC = 1.0
ORPHAN_ERROR = "process ended during the run"
RUNNING, PENDING = "running", "pending"


def _encode(entry: dict[str, Any]) -> bytes:
    data = json.dumps(entry, ensure_ascii=False, default=str).encode("utf-8")
    return data + b" " * (RESERVE_BYTES - len(data)) + b"\n" if len(data) < RESERVE_BYTES \
        else data + b"\n"


class JournalEntry:
    """The journal file of one run in progress."""

    def __init__(self, journal: RunJournal, path: Path, entry: dict[str, Any]):
        self.journal = journal
        self.path = path
        self.entry = entry
        self._last = time.monotonic()
        self._warned = False

    def checkpoint(self, rows: int, fields: dict[str, Any]) -> None:
        """Record what is confirmed so far (at most every :data:`CHECKPOINT_SEC`)."""
        now = time.monotonic()
        if now - self._last < CHECKPOINT_SEC:
            return
        self._last = now
        self.entry["record"].update(fields, rows=rows)
        self.entry["checkpoint_at"] = iso(utcnow())
        try:
            atomic_write_bytes(self.path, _encode(self.entry))
        except OSError as exc:  # the run goes on; its final record has its reserved room
            if not self._warned:
                self._warned = True
                log.warning("could not update the journal of run %s: %s",
                            self.entry["record"]["export_id"], exc)


class RunJournal:
    """Running and kept records of the runs of one home.

    :param directory: the journal directory (``exports/.journal``).
    :param locks: the home's lock directory (the runner's ``run-<id>.lock`` files).
    :param instance: this instance's id (``pstt_core.instance``), written on its records.
    :param observe: called with each record this journal adds to the history later (a kept
        one, or an orphan made ``interrupted``): the run's observers hear of it only then.
    """

    def __init__(self, directory: Path, history: RunHistory, metrics: Counters,
                 locks: Path, *, observe: Callable[[RunRecord], None] | None = None,
                 instance: Callable[[], str] | None = None):
        self.directory = directory
        self.instance = instance or (lambda: f"{socket.gethostname()}/{os.getpid()}")
        self.history = history
        self.metrics = metrics
        self.locks = locks
        self.observe = observe
        self.host = socket.gethostname()

    def _path(self, export_id: str) -> Path:
        return self.directory / f"{export_id}.json"

    # -- the three operations ---------------------------------------------------------
    def begin(self, run: RunInfo) -> JournalEntry:
        """Write the ``running`` record of ``run``; raises ``OSError`` when it cannot be
        written (then nothing may be delivered) and the history's error when that file is
        damaged (the final record could not be written either)."""
        self.history.check()
        record = RunRecord(export_id=run.export_id, schedule_id=run.schedule.id,
                           sharing_mode=run.schedule.sharing_mode, status=RUNNING,
                           started_at=iso(run.export_timestamp) or "",
                           schedule_name=run.schedule.name, trigger=run.trigger,
                           scheduled_at=iso(run.scheduled_at), instance=self.instance(),
                           extra=self.origin())
        entry = {"journal": RUNNING, "record": record.to_dict()}
        path = self._path(run.export_id)
        atomic_write_bytes(path, _encode(entry))
        return JournalEntry(self, path, entry)

    def complete(self, record: RunRecord) -> None:
        """Put the final record in the history, then count it; see the module docstring.
        Records kept earlier go in first, so the history stays in the order runs ended."""
        record.instance = record.instance or self.instance()
        self._merge_kept()
        try:
            self._put(record)
        except Exception as exc:
            kept = self._keep(record, exc)
            where = f"it is kept in {kept} and will be added to the history as soon as that " \
                    "can be written" if kept else "it could not be kept anywhere (see the log)"
            raise RecordNotWrittenError(
                f"run {record.export_id} of schedule {record.schedule_id} ended "
                f"({record.status}, {record.rows} rows delivered) but its record could not be "
                f"written to {self.history.location}: {exc}; {where}",
                record=record, kept_at=str(kept) if kept else None) from exc
        self._path(record.export_id).unlink(missing_ok=True)

    def recover(self) -> list[RunRecord]:
        """Records of ended processes become ``interrupted``; kept records join the history.
        Returns the records added to the history."""
        added = []
        for path, entry in self._entries():
            record = RunRecord.from_dict(entry["record"])
            if entry.get("journal") == RUNNING:
                lock = self._orphan_lock(record)
                if lock is None:
                    continue  # its process is still running it
                try:
                    self._interrupted(record, entry)
                    if self._add(path, record):
                        added.append(record)
                finally:
                    if lock >= 0:
                        unlock_file(lock)
            elif self._add(path, record):
                added.append(record)
        return added

    def kept(self) -> list[dict[str, Any]]:
        """Final records waiting for the history (with ``reason``: why it was not written)."""
        return [{**entry["record"], "kept_at": str(path), "reason": entry.get("reason")}
                for path, entry in self._entries() if entry.get("journal") == PENDING]

    def not_recorded(self, export_id: str) -> RecordNotWrittenError | None:
        """Why the record of run ``export_id`` is not in the history, if it is kept here."""
        for path, entry in self._entries():
            if entry.get("journal") == PENDING and entry["record"].get("export_id") == export_id:
                record = RunRecord.from_dict(entry["record"])
                return RecordNotWrittenError(
                    f"run {export_id} of schedule {record.schedule_id} ended ({record.status}, "
                    f"{record.rows} rows delivered) but its record is not in the history yet: "
                    f"it is kept in {path} ({entry.get('reason')})",
                    record=record, kept_at=str(path))
        return None

    def running(self) -> list[dict[str, Any]]:
        """Records of runs in progress, in any process on this home."""
        return [entry["record"] for _, entry in self._entries() if entry.get("journal") == RUNNING]

    # -- helpers ----------------------------------------------------------------------
    def origin(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "host": self.host}

    def _entries(self) -> list[tuple[Path, dict[str, Any]]]:
        out = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                entry = json.loads(path.read_bytes())
                if not isinstance(entry, dict) or not isinstance(entry.get("record"), dict):
                    raise ValueError("not a journal entry")
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as exc:  # never deleted: moved aside for a person
                aside = path.with_name(path.name + ".damaged")
                log.error("journal entry %s cannot be read (%s); moved to %s", path, exc, aside)
                with contextlib.suppress(OSError):
                    path.rename(aside)
                continue
            out.append((path, entry))
        return out

    def _orphan_lock(self, record: RunRecord) -> int | None:
        """The run lock of an ended run's schedule (held while it is converted; ``-1``
        where locks do not exist), or ``None`` while a process still runs it."""
        if record.extra.get("host") not in (None, self.host):
            return None  # another machine's run: only that machine knows whether it lives
        taken, fd = try_lock_file(self.locks / f"run-{record.schedule_id}.lock")
        if not taken:
            return None
        if fd is None and _alive(record.extra.get("pid")):
            return None  # no flock (Windows): trust the pid
        return -1 if fd is None else fd

    @staticmethod
    def _interrupted(record: RunRecord, entry: dict[str, Any]) -> None:
        record.status = "interrupted"
        at = entry.get("checkpoint_at")
        record.error = ORPHAN_ERROR + (f"; counts are those confirmed at {at}" if at else "")
        record.finished_at = at or record.started_at
        started = _seconds(record.started_at)
        finished = _seconds(record.finished_at)
        if started is not None and finished is not None:
            record.duration_sec = round(max(finished - started, 0.0), 3)

    def _put(self, record: RunRecord) -> bool:
        """History first, counters second (they follow the record); ``False`` if the
        history already had it (a merge that was cut short)."""
        added = self.history.put(record)
        if added:
            try:
                self.metrics.record(record)
            except Exception as exc:  # the record is written; only the counters lag
                log.error("run %s is recorded, but %s could not be updated: %s",
                          record.export_id, self.metrics.location, exc)
        return added

    def _add(self, path: Path, record: RunRecord) -> bool:
        try:
            added = self._put(record)
        except Exception as exc:
            log.warning("run %s stays in the journal: %s", record.export_id, exc)
            if record.status == "interrupted":
                self._keep(record, exc)
            return False
        path.unlink(missing_ok=True)
        if added:
            log.log(logging.ERROR if record.status == "interrupted" else logging.WARNING,
                    "run %s of schedule %s added to the history from the journal: %s%s",
                    record.export_id, record.schedule_id, record.status,
                    f" — {record.error}" if record.error else "")
            if self.observe is not None:
                self.observe(record)
        return added

    def _merge_kept(self) -> None:
        for path, entry in self._entries():
            if entry.get("journal") == PENDING:
                self._add(path, RunRecord.from_dict(entry["record"]))

    def _keep(self, record: RunRecord, reason: BaseException) -> Path | None:
        """Write ``record`` as a kept entry: a new file if possible, else in the room
        reserved by :meth:`begin`."""
        path = self._path(record.export_id)
        data = _encode({"journal": PENDING, "record": record.to_dict(),
                        "reason": f"{type(reason).__name__}: {reason}",
                        "history": self.history.location})
        try:
            atomic_write_bytes(path, data)
            return path
        except OSError:
            pass
        try:
            fd = os.open(path, os.O_WRONLY)  # the reserved file of this run
        except OSError as exc:
            log.error("the record of run %s could not be kept: %s; record: %s",
                      record.export_id, exc, json.dumps(record.to_dict(), default=str))
            return None
        try:
            os.write(fd, data)
            os.fsync(fd)
        except OSError as exc:
            log.error("the record of run %s could not be kept: %s; record: %s",
                      record.export_id, exc, json.dumps(record.to_dict(), default=str))
            return None
        finally:
            os.close(fd)
        fsync_dir(path.parent)
        return path


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _seconds(text: str | None) -> float | None:
    parsed = parse_time(text)
    return parsed.timestamp() if parsed else None
