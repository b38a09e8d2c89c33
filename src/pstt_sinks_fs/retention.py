"""Retention: which earlier files of a schedule to delete (``keep_last`` / ``keep_days``).

A file belongs to a schedule when that schedule published it last. The sink keeps its own
record of what it published (``env.state`` member ``published``: path → schedule id, pruned
of files that are gone), so retention holds whatever happens to the shared, bounded run
history; files published before that record existed are found in the history. Files of
other schedules and files PSTT did not write are never touched, whatever the file name
template looks like.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pstt_core import HistoryView, PluginState

LEDGER = "published"


def record_published(state: PluginState, root: Path, rel: str, schedule_id: str) -> None:
    """Note that ``schedule_id`` published ``rel`` (relative to ``root``) last; entries of
    files that no longer exist are dropped, so the record stays as small as the directory."""
    def change(current: Any) -> dict[str, str]:
        ledger = {str(k): str(v) for k, v in current.items()} if isinstance(current, dict) else {}
        ledger[rel] = schedule_id
        return {path: sid for path, sid in ledger.items() if (root / path).is_file()}

    state.update(LEDGER, change, {})


def owned_files(history: HistoryView, root: Path, schedule_id: str,
                state: PluginState | None = None) -> set[Path]:
    """Existing files under ``root`` last written by a successful run of ``schedule_id``
    (``history`` holds the filesystem runs only; the sink's own record, in ``state``, is
    newer than any history record)."""
    writer: dict[str, str] = {}
    _total, records = history.query(status="success", limit=None)
    for rec in reversed(records):  # oldest first, so the latest writer of a path wins
        path = rec.get("path")
        if isinstance(path, str) and path:
            writer[path] = str(rec.get("schedule_id"))
    ledger = state.get(LEDGER, {}) if state is not None else {}
    if isinstance(ledger, dict):
        writer.update({str(k): str(v) for k, v in ledger.items()})
    owned = set()
    for rel, sid in writer.items():
        if sid != schedule_id:
            continue
        path = (root / rel).resolve()
        if root in path.parents and path.is_file():
            owned.add(path)
    return owned


def expired_files(history: HistoryView, root: Path, schedule_id: str, current: Path, *,
                  keep_last: int | None, keep_days: int | None,
                  state: PluginState | None = None) -> list[Path]:
    """This schedule's files beyond the newest ``keep_last`` or older than ``keep_days``.

    ``current`` (the file just written) always counts as the newest and is never returned.
    """
    current = current.resolve()
    others = owned_files(history, root, schedule_id, state) - {current}
    mtimes = {p: p.stat().st_mtime for p in others}
    newest_first = sorted(others, key=lambda p: (mtimes[p], p.name), reverse=True)
    doomed: set[Path] = set()
    if keep_last:
        doomed.update(newest_first[keep_last - 1:])
    if keep_days:
        limit = time.time() - keep_days * 86400
        doomed.update(p for p in others if mtimes[p] < limit)
    return sorted(doomed)
