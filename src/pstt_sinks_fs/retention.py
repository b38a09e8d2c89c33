"""Retention: which earlier files of a schedule to delete (``keep_last`` / ``keep_days``).

A file belongs to a schedule when the run history says that schedule wrote it (and no other
schedule wrote the same path later). Files of other schedules and files PSTT did not write
are therefore never touched, whatever the file name template looks like. A file whose run
record has left the bounded history is kept.
"""

from __future__ import annotations

import time
from pathlib import Path

from pstt_core import HistoryView


def owned_files(history: HistoryView, root: Path, schedule_id: str) -> set[Path]:
    """Existing files under ``root`` last written by a successful run of ``schedule_id``
    (``history`` holds the filesystem runs only)."""
    writer: dict[str, str] = {}
    _total, records = history.query(status="success", limit=None)
    for rec in reversed(records):  # oldest first, so the latest writer of a path wins
        path = rec.get("path")
        if isinstance(path, str) and path:
            writer[path] = str(rec.get("schedule_id"))
    owned = set()
    for rel, sid in writer.items():
        if sid != schedule_id:
            continue
        path = (root / rel).resolve()
        if root in path.parents and path.is_file():
            owned.add(path)
    return owned


def expired_files(history: HistoryView, root: Path, schedule_id: str, current: Path, *,
                  keep_last: int | None, keep_days: int | None) -> list[Path]:
    """This schedule's files beyond the newest ``keep_last`` or older than ``keep_days``.

    ``current`` (the file just written) always counts as the newest and is never returned.
    """
    current = current.resolve()
    others = owned_files(history, root, schedule_id) - {current}
    mtimes = {p: p.stat().st_mtime for p in others}
    newest_first = sorted(others, key=lambda p: (mtimes[p], p.name), reverse=True)
    doomed: set[Path] = set()
    if keep_last:
        doomed.update(newest_first[keep_last - 1:])
    if keep_days:
        limit = time.time() - keep_days * 86400
        doomed.update(p for p in others if mtimes[p] < limit)
    return sorted(doomed)
